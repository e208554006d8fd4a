"""Training on several processes: agreed stops and agreed failures.

`AgreeOnStop` combines every process's `model.stop_training` (and any error
a fastcallbacks hook raised on one process) through the engine's own
collective, so that all processes stop, or fail, at the same point instead
of one of them waiting forever in the next training step.
`enable_keras_multiworker()` is the opt-in fix that lets Keras 3 `fit` run
under TensorFlow's `MultiWorkerMirroredStrategy`. See `docs/distributed.md`.
"""

import functools
import os
import sys
import threading
import weakref

import keras
import numpy as np

from . import _collective, _roles
from ._mwmsfix import enable_keras_multiworker  # noqa: F401  (public here)

__all__ = ["AgreeOnStop", "DistributedFailure", "enable_keras_multiworker",
           "process_count", "process_index", "is_writer"]

process_count = _roles.process_count
process_index = _roles.process_index
is_writer = _roles.is_writer

_MESSAGE_BYTES = 240    # of each process's error text sent to the others
_HEAD = 4               # [1 (weight), stop, failed, message length]


class DistributedFailure(RuntimeError):
    """A fastcallbacks hook failed on one process; raised on every process.

    Attributes:
        failures: `{process_index: "Callback.hook: ErrorType: message"}` for
            each process that failed.
    """

    def __init__(self, message, failures):
        super().__init__(message)
        self.failures = dict(failures)


# -- per-model state -----------------------------------------------------------------

class _State:
    __slots__ = ("agreer", "pending", "count", "__weakref__")

    def __init__(self):
        self.agreer = None      # weakref to the AgreeOnStop of the running fit
        self.pending = []       # (text, exception) raised by guarded hooks here
        self.count = None       # processes training the model, once asked

    def agreeing(self):
        return self.agreer is not None and self.agreer() is not None


_STATES = {}
_STATES_LOCK = threading.Lock()


def _state(model, create=False):
    if model is None:
        return None
    key = id(model)
    with _STATES_LOCK:
        entry = _STATES.get(key)
        if entry is not None and entry[0]() is not model:
            entry = None
        if entry is None:
            if not create:
                return None
            state = _State()
            try:
                ref = weakref.ref(model, lambda _r, k=key: _STATES.pop(k, None))
            except TypeError:  # pragma: no cover - a model without weakrefs
                return None
            _STATES[key] = entry = (ref, state)
        return entry[1]


def _raw_model(callback):
    # `Callback.model` syncs the JAX state into the model on every access;
    # the bookkeeping here needs only the object.
    return getattr(callback, "_model", None)


def guarded(cls):
    """Class decorator: errors in `cls`'s hooks become agreed failures.

    When an `AgreeOnStop` takes part in the running `fit` (several
    processes), an exception in one of these hooks is kept and reported by
    the next agreement, which raises `DistributedFailure` on every process;
    otherwise it is raised at once, as without the decorator.
    """
    for name in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                 "on_batch_end", "on_train_batch_end", "_on_train_batch_end_save",
                 "_on_train_batch_end_check"):
        fn = getattr(cls, name, None)
        if fn is None or getattr(fn, "_fastcallbacks_guarded", False):
            continue
        if fn is getattr(keras.callbacks.Callback, name, None):
            continue   # Keras's no-op default: keep it (async batch dispatch)
        setattr(cls, name, _guard(fn, name))
    return cls


def _guard(fn, hook):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except Exception as e:
            state = _state(_raw_model(self))
            if state is None or not state.agreeing():
                raise
            state.pending.append((f"{type(self).__name__}.{hook}: {type(e).__name__}: {e}", e))
            return None

    wrapper._fastcallbacks_guarded = True
    return wrapper


def auto_agree(callback, hook):
    """Called by fastcallbacks's stopping callbacks at the end of `hook`.

    With several processes and no `AgreeOnStop` in the running `fit`, agrees
    `stop_training` here, so that a stop (and `restore_best_weights` after
    it) happens on every process at the same epoch.
    """
    model = _raw_model(callback)
    state = _state(model, create=True)
    if state is None:
        return
    if state.count is None:   # a model's processes do not change (~80 us to ask)
        state.count = _roles.process_count(model)
    if state.count <= 1:
        return
    if state.agreeing():
        return   # AgreeOnStop, last in the list, agrees for everyone
    if _collective.engine_name(model) is None:
        return
    _agree(model, None, hook, f"{type(callback).__name__}.{hook}", timeout=None)


# -- the agreement ---------------------------------------------------------------------

def _encode(text):
    data = text.encode("utf-8", "replace")[:_MESSAGE_BYTES]
    row = np.zeros(_MESSAGE_BYTES, dtype=np.float64)
    row[:len(data)] = np.frombuffer(data, dtype=np.uint8)
    return row, len(data)


def _decode(row, length):
    data = np.rint(row[:int(length)]).astype(np.uint8).tobytes()
    return data.decode("utf-8", "replace")


class _Watchdog:
    """Ends the process if an agreement waits longer than `timeout` seconds.

    Engines do not time out a collective whose peer is alive but elsewhere
    (a hung process, a deadlock in user code): the process would wait
    forever. `os._exit` is the only bound available from Python then.
    """

    def __init__(self, timeout, where):
        self._timer = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._fire, args=(timeout, where))
            self._timer.daemon = True

    @staticmethod
    def _fire(timeout, where):  # pragma: no cover - runs in a killed process
        sys.stderr.write(
            f"fastcallbacks.AgreeOnStop: process waited {timeout:g} s in the agreement at "
            f"{where}: a peer has left or hangs; exiting with status 70\n")
        sys.stderr.flush()
        os._exit(70)

    def __enter__(self):
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc):
        if self._timer is not None:
            self._timer.cancel()


def _agree(model, state, hook, where, timeout):
    """One agreement: every process sends its stop flag and its first error."""
    pending = list(state.pending) if state is not None else []
    if state is not None:
        state.pending.clear()
    stop = bool(getattr(model, "stop_training", False))
    text = pending[0][0] if pending else ""
    if len(pending) > 1:
        text += f" (and {len(pending) - 1} more)"
    message, length = _encode(text)
    row = np.concatenate([[1.0, float(stop), float(bool(pending)), float(length)], message])
    with _Watchdog(timeout, where):
        rows = _collective.gather_rows(model, row)
    failures = {i: _decode(r[_HEAD:], r[3]) for i, r in enumerate(rows) if r[2] > 0.5}
    if failures:
        me = _roles.process_index(model)
        lines = "; ".join(f"process {i}: {t}" for i, t in sorted(failures.items()))
        error = DistributedFailure(
            f"fastcallbacks: training failed on {len(failures)} of {len(rows)} processes "
            f"(agreed at {hook}, seen by process {me}): {lines}", failures)
        if pending:
            raise error from pending[0][1]
        raise error
    if rows[:, 1].max() > 0.5:
        model.stop_training = True
    return rows


class AgreeOnStop(keras.callbacks.Callback):
    """Makes every process stop (or fail) at the same point.

    With several processes training one model (JAX `jax.distributed`,
    TensorFlow's `MultiWorkerMirroredStrategy`, `torch.distributed`), a
    process that leaves the training loop alone leaves the others waiting
    in their next collective: they hang, or abort some time later. At every
    epoch end (and every `every_n_steps` training batches if given) this
    callback combines the `model.stop_training` flags of all processes
    through the engine's own collective: if any process asks to stop, all
    stop after the same epoch (or batch). An exception raised on one process
    by a fastcallbacks hook (including a background save failing on the
    writer) is reported by the next agreement instead: every process then
    raises `DistributedFailure`, naming the failing process and its error.

    Put it **last** in the callback list: Keras runs callbacks in order,
    and the agreement must see the flags set by all the others in the same
    hook. Every process must use the same callback list. With one process
    it does nothing.

    Args:
        every_n_steps: Also agree every this many training batches;
            keyword-only. Defaults to `None` (epoch ends only).
        timeout: Seconds one agreement may wait for the other processes
            before this process exits with status 70 and a message on
            stderr (engines do not time out a collective whose peer is alive
            but stuck); keyword-only. Defaults to `None` (no bound).

    Example:

    ```python
    callbacks = [fastcallbacks.EarlyStopping(patience=3, restore_best_weights=True),
                 fastcallbacks.ModelCheckpoint("best.keras", save_best_only=True),
                 fastcallbacks.AgreeOnStop()]
    model.fit(x, y, validation_data=(vx, vy), epochs=50, callbacks=callbacks)
    ```
    """

    def __init__(self, *, every_n_steps=None, timeout=None):
        super().__init__()
        if every_n_steps is not None and (
                isinstance(every_n_steps, bool) or not isinstance(every_n_steps, (int, np.integer))
                or every_n_steps < 1):
            raise ValueError(
                f"AgreeOnStop: `every_n_steps` must be None or an int >= 1, got {every_n_steps!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, (int, float, np.integer, np.floating)) or not timeout > 0):
            raise ValueError(
                f"AgreeOnStop: `timeout` must be None or a number > 0, got {timeout!r}")
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)
        self.timeout = None if timeout is None else float(timeout)
        self.agreements = 0   # how many collectives this process took part in
        self._active = False
        if self.every_n_steps is not None:
            # Bound on the instance only: without it the class keeps
            # Keras's default batch hook (asynchronous dispatch on JAX).
            self.on_train_batch_end = self._on_train_batch_end_agree

    def set_model(self, model):
        super().set_model(model)
        self._active = _roles.process_count(model) > 1
        if self._active:
            state = _state(model, create=True)
            state.agreer = weakref.ref(self)
            state.pending.clear()   # left by a fit that ended in another error

    def _run(self, hook):
        if not self._active:
            return
        model = _raw_model(self)
        self.agreements += 1
        try:
            _agree(model, _state(model, create=True), hook,
                   f"AgreeOnStop.{hook} (agreement {self.agreements})", self.timeout)
        except DistributedFailure:
            self._release()   # fit ends here: no on_train_end
            raise

    def on_train_begin(self, logs=None):
        self._run("on_train_begin")

    def on_epoch_end(self, epoch, logs=None):
        self._run("on_epoch_end")

    def _on_train_batch_end_agree(self, batch, logs=None):
        if (batch + 1) % self.every_n_steps == 0:
            self._run("on_train_batch_end")

    def on_train_end(self, logs=None):
        try:
            self._run("on_train_end")
        finally:
            self._release()

    def _release(self):
        state = _state(_raw_model(self))
        if state is not None and state.agreer is not None and state.agreer() is self:
            state.agreer = None
