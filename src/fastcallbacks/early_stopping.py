"""EarlyStopping: stop training when a monitored metric stops improving."""

import warnings

import keras
import numpy as np

from . import _compat, _impl
from ._actions import IMPROVED as _IMPROVED
from ._actions import STOP as _STOP
from ._callback_state import EarlyStoppingState
from ._keras_internals import print_msg
from ._weights import host_arrays
from .monitor_callback import (
    MonitorCallback,
    PatienceAttributes,
    _check_count,
    _check_int,
    _plain_number,
)
from .distributed import auto_agree, guarded as _distributed_guard

_LAYER_GET_WEIGHTS = keras.layers.Layer.get_weights



@_distributed_guard
class EarlyStopping(EarlyStoppingState, PatienceAttributes, MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    A drop-in replacement for `keras.callbacks.EarlyStopping`: the same
    arguments, defaults, attributes, warnings, errors and decisions, made by
    the compiled core. `restore_best_weights` copies the weights into reused
    buffers (the GIL released) instead of allocating a new list per
    improvement.

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        min_delta: Minimum change that counts as an improvement. Defaults
            to `0`.
        patience: Number of epochs with no improvement after which training
            is stopped. Defaults to `0`.
        verbose: Verbosity mode, 0 or 1. Defaults to `0`.
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`: the
            direction is taken from the compiled metric of that name.
        baseline: Value the monitored quantity must beat before patience
            restarts. Defaults to `None`.
        restore_best_weights: Whether to restore the weights of the best
            epoch at the end of training. Defaults to `False`.
        start_from_epoch: Number of epochs to wait before monitoring.
            Defaults to `0`.
        window: (not in Keras) Number of most recent values the decision is
            made on, through `smoothing`; keyword-only. Defaults to `1` (the
            raw value, as Keras).
        smoothing: (not in Keras) Statistic of the last `window` values the
            decision is made on: `"mean"`, `"median"`, `"min"`, `"max"` or
            `"ema"`; keyword-only. Defaults to `"mean"`.
        threshold_mode: (not in Keras) `"abs"` (as Keras) or `"rel"`, which
            makes `min_delta` a fraction of the best value; keyword-only.
            Defaults to `"abs"`.
        check_finite: (not in Keras) Whether to stop training as soon as the
            monitored value is NaN or infinite; keyword-only. Defaults to
            `False`.
        stopping_threshold: (not in Keras) Stop training as soon as the
            monitored value is better than this; keyword-only. Defaults to
            `None` (no threshold).
        divergence_threshold: (not in Keras) Stop training as soon as the
            monitored value is worse than this; keyword-only. Defaults to
            `None` (no threshold).
        check_every_n_steps: (not in Keras) Check a training metric (e.g.
            `"loss"`) every N training steps instead of at epoch ends;
            `patience` and `start_from_epoch` then count checks, not epochs;
            keyword-only. Defaults to `None` (at epoch ends, as Keras).

    After training, `stop_reason` says why this callback stopped it: `None`,
    `"patience"`, `"stopping_threshold"`, `"divergence"` or `"non_finite"`.

    Example:

    >>> callback = fastcallbacks.EarlyStopping(monitor="loss", patience=3)
    >>> model.fit(x, y, epochs=10, callbacks=[callback])
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
        *,
        window=1,
        smoothing="mean",
        threshold_mode="abs",
        check_finite=False,
        stopping_threshold=None,
        divergence_threshold=None,
        check_every_n_steps=None,
    ):
        super().__init__(
            monitor,
            mode,
            min_delta=min_delta,
            window=window,
            smoothing=smoothing,
            threshold_mode=threshold_mode,
            check_finite=check_finite,
            _on_patience="stop",
        )
        _check_count("patience", patience)
        if check_every_n_steps is not None:
            _check_int("check_every_n_steps", check_every_n_steps, 1)
            if monitor.startswith("val_"):
                raise ValueError(
                    "`check_every_n_steps` needs a training metric: batch logs "
                    f"never contain validation metrics, got monitor={monitor!r}"
                )
            # Bound on the instance only: the class keeps Keras's default
            # batch hooks, so async dispatch stays on when this is unused.
            self.on_train_batch_end = self._on_train_batch_end_check
            # The check only reads the logs and sets `stop_training`, so it
            # may run on Keras's dispatch thread (JAX, torch). A weight
            # snapshot needs the backend state synced into the model, which
            # only the training thread may do: then stay synchronous.
            self.async_safe = not restore_best_weights
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        self.stopping_threshold = stopping_threshold
        self.divergence_threshold = divergence_threshold
        self.check_every_n_steps = check_every_n_steps
        self.stop_reason = None
        self._snapshots = None
        self._epoch = 0
        self._steps = 0
        self._checks = 0

    # -- attributes backed by the core -----------------------------------------

    @property
    def baseline(self):
        return self._baseline

    @baseline.setter
    def baseline(self, value):
        # Kept as given; the core holds a copy when it can decide with it
        # exactly as Keras's `monitor_op(current - min_delta, baseline)`.
        self._baseline = value
        self._plain = value is None or _plain_number(value)
        self._tracker.baseline = float(value) if self._plain and value is not None else None
        self._set_fast()

    # -- hooks -------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used across `model.fit()` calls.
        self._reset_monitor(keep_best=not _compat.EARLY_STOPPING_RESETS_BEST)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self.stop_reason = None
        self._steps = 0
        self._checks = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_end(epoch, logs)
        # Several processes without AgreeOnStop: agree the stop here, so that
        # all stop (and restore the best weights) at the same epoch.
        auto_agree(self, "on_epoch_end")

    def _epoch_end(self, epoch, logs):
        if self._monitor_op is None:
            # Delay setup until the model's metrics are all built.
            self._set_monitor_op()
        if self.check_every_n_steps is not None:
            return
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self._decide(current, epoch, epoch)

    def _on_train_batch_end_check(self, batch, logs=None):
        self._steps += 1
        if self._steps % self.check_every_n_steps:
            return
        if self._monitor_op is None:
            self._set_monitor_op(self._model)
        current = (logs or {}).get(self.monitor)
        if current is None:
            self.get_monitor_value(logs)  # warns
            return
        check = self._checks
        self._checks += 1
        if check < self.start_from_epoch:
            return
        self._decide(current, check, self._epoch)

    def _decide(self, current, step, epoch):
        """Runs one check; returns after stopping training if it must."""
        if self.check_finite and not self._is_finite(current):
            return self._stop(epoch, "non_finite")
        value = self._monitored(current)
        if self.restore_best_weights and self.best_weights is None:
            # If best weights were never set, the current weights are the best.
            self._snapshot()
            self.best_epoch = epoch
        action = self._update(value, step)
        if action == _IMPROVED:
            self._best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._snapshot()
        elif action == _STOP:
            return self._stop(epoch, "patience")
        if self.stopping_threshold is not None and self._beats(
            value, self.stopping_threshold
        ):
            return self._stop(epoch, "stopping_threshold")
        if self.divergence_threshold is not None and self._beats(
            self.divergence_threshold, value
        ):
            return self._stop(epoch, "divergence")

    def _beats(self, a, b):
        # Strictly better in the resolved direction, plain float comparison.
        return a < b if self._tracker.mode == "min" else a > b

    def _stop(self, epoch, reason):
        self.stopped_epoch = epoch
        self.stop_reason = reason
        if getattr(self, "async_safe", False):
            # Possibly on the dispatch thread: `self.model` would sync the
            # JAX training state from here, so set the flag on the model
            # object directly.
            self._model.stop_training = True
        else:
            self.model.stop_training = True

    def _snapshot(self):
        model = self.model
        if getattr(type(model), "get_weights", None) is _LAYER_GET_WEIGHTS:
            arrays = host_arrays(model.weights)
        else:
            # A model that defines its own get_weights (or a duck-typed
            # stand-in): use what it returns, as Keras does.
            arrays = model.get_weights()
            if not isinstance(arrays, (list, tuple)) or not all(
                isinstance(a, np.ndarray) for a in arrays
            ):
                self.best_weights = arrays
                return
        if self._snapshots is None:
            self._snapshots = _impl.snapshot.WeightSnapshot()
        # Drop our own reference first so the buffers can be reused when
        # nobody else holds them.
        self.best_weights = None
        self.best_weights = self._snapshots.capture(arrays)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.verbose > 0 and self.stop_reason not in (None, "patience"):
            print_msg(f"Early stopping reason: {self.stop_reason}")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(
                    "Restoring model weights from "
                    "the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        monitor_value = logs.get(self.monitor)
        if monitor_value is None:
            warnings.warn(
                (
                    f"Early stopping conditioned on metric `{self.monitor}` "
                    "which is not available. "
                    f"Available metrics are: {','.join(list(logs.keys()))}"
                ),
                stacklevel=2,
            )
        return monitor_value

