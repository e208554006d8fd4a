"""How `BackupAndRestore` finds and runs after the other callbacks of its
`fit()`: the `CallbackList` calling it, the tail it appends to that list,
the callbacks whose state is backed up, the variables outside Keras's
weights file."""

import sys
import warnings

import keras

from . import _callback_state


class _Tail(keras.callbacks.Callback):
    """Runs after every other callback of the list (appended to it at
    on_train_begin): where states are restored and backups taken."""

    def __init__(self, owner):
        super().__init__()
        self._owner = owner

    def on_train_begin(self, logs=None):
        self._owner._apply_restore()

    def on_epoch_end(self, epoch, logs=None):
        self._owner._after_epoch(epoch)

    def _batch_end(self, batch, logs=None):
        self._owner._after_batch(batch)


def _find_callback_list(callback):
    """The `CallbackList` running `callback`'s hook (from the calling
    frames), or None when the hook is called directly."""
    frame = sys._getframe(2)
    for _ in range(8):
        if frame is None:
            return None
        obj = frame.f_locals.get("self")
        if isinstance(obj, keras.callbacks.CallbackList) and any(
            c is callback for c in obj.callbacks
        ):
            return obj
        frame = frame.f_back
    return None


def _skipped(cb, owner):
    from .backup_and_restore import BackupAndRestore
    from .distributed import AgreeOnStop

    # AgreeOnStop has nothing to restore: each fit agrees afresh.
    return cb is owner or isinstance(
        cb, (BackupAndRestore, _Tail, AgreeOnStop, keras.callbacks.ProgbarLogger))


def _members(callbacks, owner):
    """(key, protocol object) of each callback whose state is backed up."""
    out = []
    seen = {}
    for cb in callbacks:
        if _skipped(cb, owner):
            continue
        name = type(cb).__name__
        # The key: class name and rank among the callbacks of that class.
        key = f"{name}#{seen.get(name, 0)}"
        seen[name] = seen.get(name, 0) + 1
        if isinstance(cb, keras.callbacks.History):
            out.append((key, _callback_state.HistoryState(cb)))
        elif _callback_state.takes_part(cb):
            out.append((key, cb))
    return out


def _warn_outsiders(callbacks, owner):
    names = [type(cb).__name__ for cb in callbacks
             if not _skipped(cb, owner) and not isinstance(cb, keras.callbacks.History)
             and not _callback_state.takes_part(cb)]
    if names:
        warnings.warn(
            "BackupAndRestore does not back up the state of these callbacks (they "
            f"define no get_state()/set_state()): {', '.join(names)}. After a resume "
            "they start afresh.", UserWarning, stacklevel=4)


def _seed_variables(model):
    """The model's variables that are not weights (seed generators' states)."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _assign(variables, arrays):
    if len(variables) != len(arrays):
        return  # another model: nothing to match them with
    for v, a in zip(variables, arrays):
        v.assign(a)
