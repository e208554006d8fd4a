"""PlateauSchedule: change any `keras.Variable` when a metric plateaus."""

import math
import numbers
import warnings

import keras
import numpy as np

from ._actions import IMPROVED as _IMPROVED
from ._actions import REDUCE as _REDUCE
from ._keras_internals import print_msg
from ._weights import to_float
from .reduce_lr_on_plateau import ReduceLROnPlateau


class PlateauSchedule(ReduceLROnPlateau):
    """Multiply a variable by `factor` when a monitored metric plateaus.

    ReduceLROnPlateau's rule (patience, cooldown, `min_delta`, `mode`, the
    decisions made by the same compiled tracker) applied to any
    `keras.Variable`, in either direction: a `factor` below 1 lowers the
    variable down to `min_value`, a `factor` above 1 raises it up to
    `max_value`. The variable is assigned in place, so a compiled train step
    that reads it (e.g. the strength of
    `fastcallbacks.regularizers.VariableL2`) sees the new value at the next
    step without a retrace. On JAX the variable must belong to the model
    (as `VariableL2`'s does) for the train step to read it.

    Args:
        variable: The `keras.Variable` to change (a scalar).
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        factor: Factor the variable is multiplied by at a plateau (> 0, not
            1). Defaults to `0.1`.
        patience: Number of epochs with no improvement after which the
            variable is changed. Defaults to `10`.
        verbose: Verbosity mode, 0 or 1 (a message per change). Defaults
            to `0`.
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`.
        min_delta: Threshold for measuring a new optimum. Defaults to `1e-4`.
        cooldown: Number of epochs to wait before resuming normal operation
            after a change. Defaults to `0`.
        min_value: Lower bound when `factor < 1`. Defaults to `0.0`.
        max_value: Upper bound when `factor > 1`. Defaults to `None` (no
            bound).
        log_as: Log key under which the variable's value is added to the
            epoch logs (e.g. `"l2"`), or `None`. Defaults to `None`.

    Example:

    >>> reg = fastcallbacks.regularizers.VariableL2(1e-4)
    >>> model = keras.Sequential([keras.layers.Dense(8, kernel_regularizer=reg)])
    >>> schedule = fastcallbacks.PlateauSchedule(
    ...     reg.l2, monitor="val_loss", factor=10.0, patience=2, max_value=1e-1)
    """

    def __init__(self, variable, monitor="val_loss", factor=0.1, patience=10, verbose=0,
                 mode="auto", min_delta=1e-4, cooldown=0, min_value=0.0, max_value=None,
                 log_as=None):
        if not isinstance(variable, keras.Variable):
            raise TypeError(f"`variable` must be a keras.Variable, got {variable!r}")
        if tuple(variable.shape) != ():
            raise ValueError(f"`variable` must be a scalar, got shape {tuple(variable.shape)}")
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            raise TypeError(f"`factor` must be a number, got {factor!r}")
        if not (factor > 0 and factor != 1 and math.isfinite(factor)):
            raise ValueError(f"`factor` must be > 0, finite and not 1, got {factor}")
        if max_value is not None and factor > 1 and not max_value > 0:
            raise ValueError(f"`max_value` must be > 0, got {max_value}")
        if log_as is not None and not isinstance(log_as, str):
            raise TypeError(f"`log_as` must be a str or None, got {log_as!r}")
        super().__init__(monitor, 0.5, patience, verbose, mode, min_delta, cooldown,
                         min_value)
        self.factor = factor
        self.variable = variable
        self.min_value = min_value
        self.max_value = max_value
        self.log_as = log_as
        self._restored = None

    def _change(self, epoch):
        """Multiplies the variable by `factor` within its bound; returns
        whether it changed (as ReduceLROnPlateau, nothing happens once the
        bound is reached)."""
        old = to_float(self.variable)
        if self.factor < 1:
            if not old > np.float32(self.min_value):
                return False
            new = max(old * self.factor, self.min_value)
        else:
            bound = math.inf if self.max_value is None else self.max_value
            if not old < np.float32(bound):
                return False
            new = min(old * self.factor, bound)
        self.variable.assign(new)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: PlateauSchedule changing "
                      f"{self.variable.path} to {new}.")
        return True

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._restored is not None:
            self._apply(self._restored)

    def on_epoch_end(self, epoch, logs=None):
        self._restored = None
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        if self.log_as is not None:
            logs[self.log_as] = to_float(self.variable)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"PlateauSchedule is conditioned on metric `{self.monitor}` which "
                f"is not available. Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        value = self._monitored(current)
        self._count_down()
        action = self._update(value, epoch)
        if action == _IMPROVED:
            self._best = value
        elif action == _REDUCE and self._change(epoch):
            self._tracker.start_cooldown()
            self._cooldown_counter = self.cooldown

    # -- state (for BackupAndRestore and multi-process agreement) ---------------------

    def get_state(self):
        """This callback's state as a JSON-able dict (the variable's value
        included)."""
        t = self._tracker
        best = self._best
        return {
            "value": to_float(self.variable),
            "best": None if best is None else float(best),
            "best_step": int(t.best_step),
            "wait": int(t.wait),
            "cooldown_counter": self._cooldown_counter,
        }

    def set_state(self, state):
        """Restores what `get_state()` returned, including the variable, for
        the `fit` in progress or (called before `fit` or in
        `on_train_begin`) the next one."""
        self._restored = dict(state)
        self._apply(self._restored)

    def _apply(self, state):
        self.variable.assign(float(state["value"]))
        self.best = state["best"]
        self._tracker.best_step = state["best_step"]
        self.wait = state["wait"]
        self.cooldown_counter = state["cooldown_counter"]
