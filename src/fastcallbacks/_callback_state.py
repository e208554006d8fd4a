"""The callback state protocol of `fastcallbacks.BackupAndRestore`.

A callback takes part in backups by defining two methods:

- `get_state()`: returns a dict with `str` keys whose values are `None`,
  `bool`, `int`, `float`, `str`, NumPy arrays and NumPy scalars, or lists
  and dicts (with `str` keys) of these. Arrays are written as they are when
  the backup is written (in the background with `async_save=True`), so the
  callback must not change them in place afterwards (replace them instead).
- `set_state(state)`: receives what `get_state()` returned in the run that
  wrote the backup (tuples come back as lists, arrays as NumPy arrays).

`set_state` is called once per `fit()`, after every callback's
`on_train_begin` (so a reset there does not undo it), and what is saved for
epoch k is the state after every callback's `on_epoch_end(k)`.

This module holds the encoding (JSON plus arrays, no pickle) and the
protocol of this package's callbacks, as mixins.
"""

import json
import numbers

import numpy as np

_ARRAY = "__fc_ndarray__"
_SCALAR = "__fc_npscalar__"


# -- encoding ----------------------------------------------------------------------


def encode(state, where):
    """(JSON text, arrays) for a state; `where` names its owner in errors."""
    arrays = []

    def walk(value, path):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"{where}: state {path} is an object array")
            arrays.append(value)
            return {_ARRAY: len(arrays) - 1}
        if isinstance(value, np.generic):
            arrays.append(np.asarray(value))
            return {_SCALAR: len(arrays) - 1}
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return value
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise TypeError(f"{where}: state {path} has a key that is not a str: {k!r}")
                out[k] = walk(v, f"{path}[{k!r}]")
            return out
        raise TypeError(
            f"{where}: state {path} is a {type(value).__name__}; get_state() may "
            "return None, bool, int, float, str, NumPy arrays and scalars, and "
            "lists and dicts of these"
        )

    if not isinstance(state, dict):
        raise TypeError(f"{where}: get_state() must return a dict, got {type(state).__name__}")
    return json.dumps(walk(state, "")), arrays


def decode(text, arrays):
    """The state `encode` made `(text, arrays)` of."""

    def walk(value):
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            if len(value) == 1 and _ARRAY in value:
                return arrays[value[_ARRAY]]
            if len(value) == 1 and _SCALAR in value:
                return arrays[value[_SCALAR]][()]
            return {k: walk(v) for k, v in value.items()}
        return value

    return walk(json.loads(text))


def takes_part(callback):
    return callable(getattr(callback, "get_state", None)) and callable(
        getattr(callback, "set_state", None)
    )


# -- shared pieces -------------------------------------------------------------------


def _value(v):
    # `best` as the callback holds it (a Python float from the logs, or
    # whatever a metric logged).
    if v is None or isinstance(v, (float, int, str, np.ndarray, np.generic)):
        return v
    return np.asarray(v)


def _monitor_state(cb):
    t = cb._tracker
    state = {
        "best": _value(cb._best),
        "wait": int(t.wait),
        "best_step": int(t.best_step),
        "cooldown_counter": int(t.cooldown_counter),
    }
    if cb._ring is not None:
        values, total, nonfinite, ema = cb._ring.__getstate__()
        state["ring"] = {
            "values": np.asarray(values, dtype=np.float64),
            "total": int(total),
            "nonfinite": int(nonfinite),
            "ema": float(ema),
        }
    return state


def _set_monitor_state(cb, state):
    cb.best = state["best"]
    t = cb._tracker
    t.wait = state["wait"]
    t.best_step = state["best_step"]
    t.cooldown_counter = state["cooldown_counter"]
    ring = state.get("ring")
    if cb._ring is not None and ring is not None:
        cb._ring.__setstate__(
            ([float(x) for x in ring["values"]], ring["total"], ring["nonfinite"], ring["ema"])
        )


# -- the package's callbacks -----------------------------------------------------------


class EarlyStoppingState:
    """`get_state`/`set_state` of `fastcallbacks.EarlyStopping`."""

    def get_state(self):
        """The state `fastcallbacks.BackupAndRestore` saves: `wait`, `best`,
        `best_epoch`, `stopped_epoch`, the best-weights snapshot and the
        window of the smoothing (not in Keras)."""
        state = _monitor_state(self)
        weights = self.best_weights
        if weights is not None and not all(isinstance(a, np.ndarray) for a in weights):
            weights = [np.asarray(a) for a in weights]
        state.update(
            best_epoch=int(self.best_epoch),
            stopped_epoch=int(self.stopped_epoch),
            stop_reason=self.stop_reason,
            best_weights=None if weights is None else list(weights),
            steps=int(self._steps),
            checks=int(self._checks),
        )
        return state

    def set_state(self, state):
        """Restores what `get_state` returned (not in Keras)."""
        _set_monitor_state(self, state)
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.stop_reason = state["stop_reason"]
        self.best_weights = state["best_weights"]
        self._steps = state["steps"]
        self._checks = state["checks"]


class ReduceLROnPlateauState:
    """`get_state`/`set_state` of `fastcallbacks.ReduceLROnPlateau`. The
    learning rate itself is an optimizer variable, saved with the weights."""

    def get_state(self):
        """The state `fastcallbacks.BackupAndRestore` saves: `wait`,
        `cooldown_counter`, `best`, and the factor accumulated on a schedule
        by `schedule_mode="scale"` (not in Keras)."""
        state = _monitor_state(self)
        state["keras_cooldown_counter"] = self._cooldown_counter
        state["stop_reason"] = self.stop_reason
        state["scales"] = [None if s is None else [s.scale, s.min_lr] for s in self._schedules()]
        return state

    def set_state(self, state):
        """Restores what `get_state` returned (not in Keras)."""
        _set_monitor_state(self, state)
        self._cooldown_counter = state["keras_cooldown_counter"]
        self.stop_reason = state["stop_reason"]
        from . import _keras_internals as _ki
        from .reduce_lr_on_plateau import ScaledSchedule

        changed = False
        for opt, saved in zip(self._optimizers(), state["scales"]):
            if saved is None:
                continue
            schedule = _ki.optimizer_learning_rate(opt)
            if not isinstance(schedule, ScaledSchedule):
                schedule = ScaledSchedule(schedule, 1.0, saved[1])
                _ki.set_optimizer_learning_rate(opt, schedule)
            schedule.scale, schedule.min_lr = float(saved[0]), float(saved[1])
            changed = True
        if changed and getattr(self.model, "train_function", None) is not None:
            self.model.make_train_function(force=True)

    def _optimizers(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return []
        return list(getattr(optimizer, "optimizers", None) or [optimizer])

    def _schedules(self):
        from . import _keras_internals as _ki
        from .reduce_lr_on_plateau import ScaledSchedule

        out = []
        for opt in self._optimizers():
            schedule = _ki.optimizer_learning_rate(opt)
            out.append(schedule if isinstance(schedule, ScaledSchedule) else None)
        return out


class ModelCheckpointState:
    """`get_state`/`set_state` of `fastcallbacks.ModelCheckpoint`."""

    def get_state(self):
        """The state `fastcallbacks.BackupAndRestore` saves: `best`, the
        `save_freq` counters and the files `save_top_k`/`max_to_keep` keep
        (not in Keras). Waits for a background save first, so that every
        file the state lists is complete."""
        self.flush()
        state = _monitor_state(self)
        state.update(
            batches_seen=self._batches_seen_since_last_saving,
            last_batch_seen=self._last_batch_seen,
            current_epoch=getattr(self, "_current_epoch", 0),
            sequence=int(self._sequence),
            kept=[[path, int(seq), _value(value)] for path, (seq, value) in self._kept.items()],
        )
        return state

    def set_state(self, state):
        """Restores what `get_state` returned (not in Keras)."""
        from . import _retention

        _set_monitor_state(self, state)
        self._batches_seen_since_last_saving = state["batches_seen"]
        self._last_batch_seen = state["last_batch_seen"]
        self._current_epoch = state["current_epoch"]
        self._sequence = state["sequence"]
        with _retention._lock:
            self._kept = {path: (seq, value) for path, seq, value in state["kept"]}


class StatelessState:
    """`get_state`/`set_state` of a callback with nothing to restore."""

    def get_state(self):
        """An empty dict: nothing to restore (not in Keras)."""
        return {}

    def set_state(self, state):
        """Nothing to restore (not in Keras)."""


class HistoryState:
    """Keras's `History`, adapted: its record of the epochs before the
    backup is restored, so that `fit()`'s return value is the whole run."""

    def __init__(self, history):
        self.history = history

    def get_state(self):
        return {"epoch": list(self.history.epoch),
                "history": {k: list(v) for k, v in self.history.history.items()}}

    def set_state(self, state):
        self.history.epoch = list(state["epoch"])
        self.history.history = {k: list(v) for k, v in state["history"].items()}
