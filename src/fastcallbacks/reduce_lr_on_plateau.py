"""ReduceLROnPlateau: lower the learning rate when a metric stops improving."""

import warnings

import keras
import numpy as np

from . import _compat
from . import _keras_internals as _ki
from ._actions import IMPROVED as _IMPROVED
from ._actions import REDUCE as _REDUCE
from ._callback_state import ReduceLROnPlateauState
from ._keras_internals import print_msg
from ._weights import to_float
from .monitor_callback import (
    MonitorCallback,
    PatienceAttributes,
    _ceil_count,
    _check_count,
)
from .distributed import guarded as _distributed_guard


def _per_optimizer(optimizer):
    """Whether the learning rates are read and reduced per optimizer of
    `optimizer.optimizers` (Keras 3.15 and later) or on `optimizer`."""
    return _compat.REDUCE_LR_PER_OPTIMIZER and hasattr(optimizer, "optimizers")


@keras.saving.register_keras_serializable(package="fastcallbacks")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule multiplied by a factor, floored at `min_lr`.

    What `ReduceLROnPlateau(schedule_mode="scale")` installs on an optimizer
    whose learning rate is a `LearningRateSchedule`.
    """

    def __init__(self, schedule, scale=1.0, min_lr=0.0):
        self.schedule = schedule
        self.scale = float(scale)
        self.min_lr = float(min_lr)

    def __call__(self, step):
        lr = self.schedule(step)
        if self.scale == 1.0:
            return lr
        return keras.ops.maximum(lr * self.scale, self.min_lr)

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "scale": self.scale,
            "min_lr": self.min_lr,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)


@_distributed_guard
class ReduceLROnPlateau(ReduceLROnPlateauState, PatienceAttributes, MonitorCallback):
    """Reduce the learning rate when a metric has stopped improving.

    A drop-in replacement for `keras.callbacks.ReduceLROnPlateau`: the same
    arguments, defaults, attributes, warnings, errors, `learning_rate` log
    key and decisions, made by the compiled core.

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        factor: Factor by which the learning rate is reduced,
            `new_lr = lr * factor`. Defaults to `0.1`; must be < 1.
        patience: Number of epochs with no improvement after which the
            learning rate is reduced. Defaults to `10`.
        verbose: Verbosity mode, 0 (quiet) or 1 (a message per reduction).
            Defaults to `0`.
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`: the
            direction is taken from the compiled metric of that name.
        min_delta: Threshold for measuring a new optimum. Defaults to `1e-4`.
        cooldown: Number of epochs to wait before resuming normal operation
            after a reduction. Defaults to `0`.
        min_lr: Lower bound on the learning rate. Defaults to `0.0`.
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
        schedule_mode: (not in Keras) What to do with an optimizer whose
            learning rate is a `LearningRateSchedule`: `"raise"` (as Keras:
            `TypeError` at the first reduction) or `"scale"`, which multiplies
            the schedule's output by the accumulated factor, floored at
            `min_lr`; keyword-only. Defaults to `"raise"`.
        **kwargs: Accepted and ignored, as Keras does.

    Example:

    >>> reduce_lr = fastcallbacks.ReduceLROnPlateau(monitor="val_loss",
    ...                                             factor=0.2, patience=5,
    ...                                             min_lr=0.001)
    >>> model.fit(x_train, y_train, callbacks=[reduce_lr])
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        *,
        window=1,
        smoothing="mean",
        threshold_mode="abs",
        check_finite=False,
        schedule_mode="raise",
        **kwargs,
    ):
        super().__init__(
            monitor,
            mode,
            min_delta=min_delta,
            window=window,
            smoothing=smoothing,
            threshold_mode=threshold_mode,
            check_finite=check_finite,
            _on_patience="reduce",
        )
        if factor >= 1.0:
            raise ValueError(
                "ReduceLROnPlateau does not support a factor >= 1.0. "
                f"Received factor={factor}"
            )
        if schedule_mode not in ("raise", "scale"):
            raise ValueError(
                "`schedule_mode` must be 'raise' or 'scale', got "
                f"{schedule_mode!r}"
            )
        _check_count("patience", patience)
        _check_count("cooldown", cooldown)
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0  # Cooldown counter.
        self.wait = 0
        self.schedule_mode = schedule_mode
        self.stop_reason = None

    # -- attributes backed by the core -----------------------------------------

    @property
    def cooldown_counter(self):
        # Keras's own counter (2.5, 1.5, ... for a fractional cooldown); the
        # core counts the same epochs in whole numbers.
        return self._cooldown_counter

    @cooldown_counter.setter
    def cooldown_counter(self, value):
        self._cooldown_counter = value
        self._tracker.cooldown_counter = _ceil_count(value, nan=0)

    def _count_down(self):
        # What Keras does to its counter before each decision.
        if self._cooldown_counter > 0:
            self._cooldown_counter -= 1

    @property
    def cooldown(self):
        return self._cooldown

    @cooldown.setter
    def cooldown(self, value):
        self._cooldown = value
        self._tracker.cooldown = _ceil_count(value, nan=0)

    def in_cooldown(self):
        return self.cooldown_counter > 0

    # -- hooks -------------------------------------------------------------------

    def _reset(self):
        """Resets wait counter, cooldown counter, and best value (the best
        value only where Keras does, 3.15 and later)."""
        self._reset_monitor(keep_best=not _compat.REDUCE_LR_RESETS_BEST)
        self.cooldown_counter = 0
        self.wait = 0
        self.stop_reason = None

    def on_train_begin(self, logs=None):
        self._reset()

    def _reduce_optimizer_lr(self, optimizer, epoch, name=""):
        old_lr = to_float(optimizer.learning_rate)
        if old_lr > np.float32(self.min_lr):
            new_lr = old_lr * self.factor
            new_lr = max(new_lr, self.min_lr)
            if self.schedule_mode == "scale" and isinstance(
                getattr(optimizer, "_learning_rate", None),
                keras.optimizers.schedules.LearningRateSchedule,
            ):
                self._scale_schedule(optimizer)
            else:
                optimizer.learning_rate = new_lr
            if self.verbose > 0:
                name_str = f" {name}" if name else ""
                print_msg(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing"
                    f"{name_str} learning rate to {new_lr}."
                )
            return True
        return False

    def _scale_schedule(self, optimizer):
        schedule = _ki.optimizer_learning_rate(optimizer)
        if not isinstance(schedule, ScaledSchedule):
            schedule = ScaledSchedule(schedule, 1.0, self.min_lr)
            _ki.set_optimizer_learning_rate(optimizer, schedule)
        schedule.scale *= self.factor
        schedule.min_lr = float(self.min_lr)
        # A compiled train step captured the old factor: retrace it.
        if getattr(self.model, "train_function", None) is not None:
            self.model.make_train_function(force=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            # Delay setup until the model's metrics are all built.
            self._set_monitor_op()
        logs = logs or {}
        optimizer = self.model.optimizer
        per_optimizer = _per_optimizer(optimizer)
        if per_optimizer:
            for opt in optimizer.optimizers:
                logs[f"learning_rate_{opt.name}"] = to_float(opt.learning_rate)
        else:
            logs["learning_rate"] = to_float(optimizer.learning_rate)
        current = logs.get(self.monitor)

        if current is None:
            warnings.warn(
                "Learning rate reduction is conditioned on metric "
                f"`{self.monitor}` which is not available. Available metrics "
                f"are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        if self.check_finite and not self._is_finite(current):
            self.stop_reason = "non_finite"
            self.model.stop_training = True
            return
        value = self._monitored(current)
        self._count_down()
        action = self._update(value, epoch)
        if action == _IMPROVED:
            self._best = value
        elif action == _REDUCE:
            reduced = False
            if per_optimizer:
                for opt in optimizer.optimizers:
                    if self._reduce_optimizer_lr(opt, epoch, f"{opt.name}"):
                        reduced = True
            elif self._reduce_optimizer_lr(optimizer, epoch):
                reduced = True
            if reduced:
                self._tracker.start_cooldown()
                self._cooldown_counter = self.cooldown
