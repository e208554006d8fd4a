"""StopWhen: stop training when a (composite) stopping criterion holds."""

import time
import warnings

import keras
import numpy as np

from . import _impl
from . import criteria as _criteria
from ._keras_internals import print_msg
from ._weights import host_arrays
from .monitor_callback import _check_int, _scalar, auto_direction, auto_mode_error

_LAYER_GET_WEIGHTS = keras.layers.Layer.get_weights


def resolve_mode(model, monitor, owner):
    """The direction ("min" or "max") of `monitor` in mode "auto", found as
    Keras's MonitorCallback finds it (the loss, else the compiled metric of
    that name); raises Keras's ValueError when it cannot tell."""
    mode = auto_direction(monitor, model)
    if mode is None:
        raise auto_mode_error(owner, monitor)
    return mode


class StopWhen(keras.callbacks.Callback):
    """Stop training when a stopping criterion holds.

    The criterion is any tree of `fastcallbacks.criteria` (`Patience`,
    `Threshold`, `Divergence`, `NonFinite`, `TimeLimit`, Prechelt's `GL`,
    `PQ` and `UP`, combined with `any_of` and `all_of`). At every check all
    of them are updated in one call into the compiled core.

    Args:
        criterion: The criterion (a `fastcallbacks.criteria.Criterion`). One
            criterion object can be used by one callback at a time.
        restore_best_weights: Whether to restore, at the end of training,
            the weights of the check at which the first monitored quantity
            (the first `monitor` of the criterion) was best. Defaults to
            `False`.
        start_from_epoch: Number of epochs to wait before the criteria see
            any value. Defaults to `0`.
        verbose: Verbosity mode, 0 or 1. Defaults to `0`.
        check_every_n_steps: Check every N training steps, on training
            metrics (no `val_` monitor), instead of at epoch ends; the
            criteria's t then counts checks. Defaults to `None` (at epoch
            ends).

    After training, `stop_reason` names the criterion that fired (e.g.
    `"GL(alpha=5.0)"`; for an `any_of`, the member that held), or is `None`;
    `stopped_epoch` is the epoch it fired at.

    Example:

    >>> from fastcallbacks.criteria import GL, UP, any_of
    >>> callback = fastcallbacks.StopWhen(any_of(GL(5.0), UP(3)))
    >>> model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[callback])
    """

    def __init__(self, criterion, *, restore_best_weights=False, start_from_epoch=0,
                 verbose=0, check_every_n_steps=None):
        super().__init__()
        if not isinstance(criterion, _criteria.Criterion):
            raise TypeError(
                f"`criterion` must be a fastcallbacks.criteria criterion, got {criterion!r}")
        self.start_from_epoch = _check_int("start_from_epoch", start_from_epoch, 0)
        if check_every_n_steps is not None:
            _check_int("check_every_n_steps", check_every_n_steps, 1)
            validation = [m for m in criterion.monitors if m.startswith("val_")]
            if validation:
                raise ValueError(
                    "`check_every_n_steps` needs training metrics: batch logs "
                    f"never contain validation metrics, got {validation[0]!r}")
            self.on_train_batch_end = self._on_train_batch_end_check
            self.async_safe = not restore_best_weights
        _criteria.claim(criterion, self)
        self.criterion = criterion
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.check_every_n_steps = check_every_n_steps
        self.monitors = tuple(criterion.monitors)
        self.stop_reason = None
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self._core = _impl.criteria   # bound at construction, as the other callbacks
        self._engine = None
        self._names = None
        self._snapshots = None
        self._restored = None
        self._engine_state = None
        self._t0 = time.monotonic()
        self._epoch = 0
        self._steps = 0
        self._checks = 0

    # -- the engine ----------------------------------------------------------------

    def _build(self, model):
        order = _criteria._walk(self.criterion)
        modes = {}
        for c in order:
            mode = getattr(c, "mode", None)
            if mode is not None:
                modes[id(c)] = (mode if mode != "auto"
                                else resolve_mode(model, c.monitor, type(self).__name__))
        specs, monitors, order = _criteria.flatten(self.criterion, modes)
        best = None
        if monitors:
            # The best weights follow the first monitor, in the direction
            # (and with the min_delta) of the first criterion that reads it.
            first = next(c for c in order if c.monitors and not c._children())
            best = (0, modes.get(id(first), "min"), getattr(first, "min_delta", 0.0))
        self._engine = self._core.CriteriaEngine(specs, len(monitors), best)
        self._names = [c.name for c in order]

    def _values(self, logs):
        logs = logs or {}
        values = []
        for name in self.monitors:
            value = logs.get(name)
            if value is None:
                warnings.warn(
                    f"StopWhen conditioned on metric `{name}` which is not "
                    "available. Available metrics are: "
                    f"{','.join(list(logs.keys()))}",
                    stacklevel=3,
                )
                return None
            values.append(value if type(value) is float else _scalar(value))
        return values

    # -- hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self._engine is not None:
            self._engine.reset()
        self.stop_reason = None
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self._t0 = time.monotonic()
        self._steps = 0
        self._checks = 0
        self._engine_state = None
        if self._restored is not None:
            self._apply(self._restored)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.check_every_n_steps is not None or epoch < self.start_from_epoch:
            return
        values = self._values(logs)
        if values is not None:
            self._decide(values, epoch, epoch, self.model)

    def _on_train_batch_end_check(self, batch, logs=None):
        self._steps += 1
        if self._steps % self.check_every_n_steps:
            return
        values = self._values(logs)
        if values is None:
            return
        check = self._checks
        self._checks += 1
        if check < self.start_from_epoch:
            return
        self._decide(values, check, self._epoch, self._model)

    def _decide(self, values, step, epoch, model):
        if self._engine is None:
            self._build(model)
        if self._engine_state is not None:
            self._engine.set_state(self._engine_state)
            self._engine_state = None
        self._restored = None
        if self.restore_best_weights and self.best_weights is None:
            self._snapshot()
            self.best_epoch = epoch
        fired, improved = self._engine.update(values, step, time.monotonic() - self._t0)
        if improved:
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._snapshot()
        if fired >= 0:
            self.stopped_epoch = epoch
            self.stop_reason = self._names[fired]
            if getattr(self, "async_safe", False):
                self._model.stop_training = True  # no JAX state sync here
            else:
                self.model.stop_training = True

    def _snapshot(self):
        model = self.model
        if getattr(type(model), "get_weights", None) is _LAYER_GET_WEIGHTS:
            arrays = host_arrays(model.weights)
        else:
            self.best_weights = model.get_weights()
            return
        if self._snapshots is None:
            self._snapshots = _impl.snapshot.WeightSnapshot()
        self.best_weights = None
        self.best_weights = self._snapshots.capture(arrays)

    def on_train_end(self, logs=None):
        if self.stop_reason is not None and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: StopWhen stopping: "
                      f"{self.stop_reason}")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg("Restoring model weights from the end of the best "
                          f"epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    # -- state (for BackupAndRestore and multi-process agreement) ---------------------

    def get_state(self):
        """This callback's state: a JSON-able dict whose `engine` entry
        holds numpy arrays (`None` before the first check) and whose
        `best_weights` is a list of arrays or `None`."""
        return {
            "criterion": _criteria.serialize(self.criterion),
            "engine": None if self._engine is None else self._engine.get_state(),
            "elapsed": time.monotonic() - self._t0,
            "stop_reason": self.stop_reason,
            "stopped_epoch": int(self.stopped_epoch),
            "best_epoch": int(self.best_epoch),
            "steps": self._steps,
            "checks": self._checks,
            "best_weights": (None if self.best_weights is None
                             else [np.array(a) for a in self.best_weights]),
        }

    def set_state(self, state):
        """Restores what `get_state()` returned, for the `fit` in progress
        or (called before `fit` or in `on_train_begin`) the next one."""
        if state.get("criterion") != _criteria.serialize(self.criterion):
            raise ValueError("`state` was saved by a StopWhen with another criterion")
        self._restored = dict(state)
        self._apply(self._restored)

    def _apply(self, state):
        if state.get("engine") is not None:
            if self._engine is not None:
                self._engine.set_state(state["engine"])
            else:
                self._engine_state = state["engine"]
        self._t0 = time.monotonic() - float(state["elapsed"])
        self.stop_reason = state["stop_reason"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_epoch = state["best_epoch"]
        self._steps = state["steps"]
        self._checks = state["checks"]
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else [np.array(a) for a in weights]
