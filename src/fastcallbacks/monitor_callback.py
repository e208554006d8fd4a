"""Shared base of the callbacks that watch one metric."""

import math
import numbers
import operator
import warnings

import keras
import numpy as np
from keras import ops

from . import _impl
from ._reference import tracker as _actions

try:  # where Keras keeps the containers of compiled metrics
    from keras.src.trainers.compile_utils import CompileMetrics, MetricsList

    _METRIC_CONTAINERS = (CompileMetrics, MetricsList)
except ImportError:  # pragma: no cover - layout changed
    _METRIC_CONTAINERS = None

try:
    from keras.src.utils.io_utils import print_msg
except ImportError:  # pragma: no cover - layout changed
    print_msg = print

_SMOOTHING = ("mean", "median", "min", "max", "ema")


def _is_metric_container(m):
    if _METRIC_CONTAINERS is not None:
        return isinstance(m, _METRIC_CONTAINERS)
    return type(m).__name__ in ("CompileMetrics", "MetricsList")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def _check_count(name, value):
    """A patience-like count: any real number >= 0, as Keras compares it."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0, got {value}")
    return value


def _ceil_count(value):
    # Keras compares `wait >= patience` and counts a cooldown down to <= 0, so
    # a fractional count acts as its ceiling.
    return int(math.ceil(value))


# Comparison functions whose direction (and precision) the core knows.
# Keras 3 sets ops.less/ops.greater (float32 tensors); Keras 2 code assigns
# np.less/np.greater (float64).
_KNOWN_OPS = {
    id(ops.less): ("min", True),
    id(ops.greater): ("max", True),
    id(np.less): ("min", False),
    id(np.greater): ("max", False),
    id(operator.lt): ("min", False),
    id(operator.gt): ("max", False),
}


class PatienceAttributes:
    """`wait` and `patience` of a MonitorCallback, kept in its core tracker."""

    @property
    def wait(self):
        return self._tracker.wait

    @wait.setter
    def wait(self, value):
        self._tracker.wait = value

    @property
    def patience(self):
        return self._patience

    @patience.setter
    def patience(self, value):
        self._patience = value
        self._tracker.patience = _ceil_count(max(value, 0))


class MonitorCallback(keras.callbacks.Callback):
    """Base class of callbacks that watch one metric and track its best value.

    The same arguments and attributes as Keras's internal `MonitorCallback`
    (`monitor`, `mode`, `best`, `min_delta`, `monitor_op`), with the
    decisions made by the compiled core (`fastcallbacks._core.tracker`).

    Args:
        monitor: Name of the metric to watch. Defaults to `"val_loss"`.
        mode: `"auto"`, `"min"` or `"max"`. With `"auto"` the direction is
            looked up among the compiled metrics at the first epoch end,
            exactly as Keras does.
        baseline: Initial best value, or `None`.
        min_delta: Smallest change that counts as an improvement.
        window: Number of recent values the monitored value is computed
            from (beyond Keras). Defaults to 1 (the raw value).
        smoothing: Statistic over the window: `"mean"`, `"median"`, `"min"`,
            `"max"` or `"ema"`. Defaults to `"mean"`.
        threshold_mode: `"abs"` (Keras) or `"rel"`: `min_delta` is then a
            fraction of the best value.
        check_finite: If True, stop training as soon as the monitored metric
            is NaN or infinite. Defaults to False.
    """

    def __init__(
        self,
        monitor="val_loss",
        mode="auto",
        baseline=None,
        min_delta=0,
        *,
        window=1,
        smoothing="mean",
        threshold_mode="abs",
        check_finite=False,
        _on_patience="stop",
    ):
        super().__init__()
        if mode not in ["auto", "min", "max"]:
            warnings.warn(
                f"{self.__class__.__name__} mode '{mode}' is unknown, fallback "
                "to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        _check_int("window", window, 1)
        if smoothing not in _SMOOTHING:
            raise ValueError(
                f"`smoothing` must be one of {_SMOOTHING}, got {smoothing!r}"
            )
        if threshold_mode not in ("abs", "rel"):
            raise ValueError(
                f"`threshold_mode` must be 'abs' or 'rel', got {threshold_mode!r}"
            )
        self.monitor = monitor
        self.mode = mode
        self._monitor_op = None
        self._generic_op = False
        self.window = window
        self.smoothing = smoothing
        self.threshold_mode = threshold_mode
        self.check_finite = bool(check_finite)
        self._tracker = _impl.tracker.BestTracker(
            mode="min",
            min_delta=abs(min_delta),
            patience=0,
            threshold_mode=threshold_mode,
            on_patience=_on_patience,
        )
        self._ring = _impl.ring.RingMonitor(window) if window > 1 else None
        self.min_delta = abs(min_delta)
        self.best = baseline

    # -- Keras attributes backed by the core ---------------------------------

    @property
    def best(self):
        return self._best

    @best.setter
    def best(self, value):
        self._best = value
        self._tracker.best = None if value is None else float(value)

    @property
    def min_delta(self):
        return self._min_delta

    @min_delta.setter
    def min_delta(self, value):
        # Keras keeps min_delta signed (negated once the direction resolves
        # to "min") and compares `monitor_op(current - min_delta, best)`; the
        # core adds its delta in the improving direction, so convert.
        self._min_delta = value
        if self._tracker.mode == "min" and self._monitor_op is not None:
            self._tracker.min_delta = -value
        else:
            self._tracker.min_delta = value

    @property
    def monitor_op(self):
        return self._monitor_op

    @monitor_op.setter
    def monitor_op(self, op):
        # An op assigned by hand decides, as in Keras (resolution only runs
        # while it is None).
        self._monitor_op = op
        if op is None:
            return
        known = _KNOWN_OPS.get(id(op))
        self._generic_op = known is None
        if known is not None:
            self._tracker.mode, self._tracker.float32 = known
        self.min_delta = self._min_delta

    # -- direction ---------------------------------------------------------------

    def _set_monitor_op(self, model=None):
        # `model`: the training thread passes nothing (Keras reads
        # `self.model`); a batch hook on Keras's dispatch thread passes the
        # raw model, since `self.model` syncs the JAX state.
        if model is None:
            model = self.model
        if self.mode == "min":
            self.monitor_op = ops.less
        elif self.mode == "max":
            self.monitor_op = ops.greater
        else:
            metric_name = self.monitor.removeprefix("val_")
            if metric_name == "loss":
                self.monitor_op = ops.less
            if hasattr(model, "metrics"):
                found = []
                for m in model.metrics:
                    if _is_metric_container(m):
                        found.extend(m.metrics)
                for m in found:
                    if m.name == metric_name and hasattr(m, "_direction"):
                        if m._direction == "up":
                            self.monitor_op = ops.greater
                        else:
                            self.monitor_op = ops.less
            if self.monitor_op is None:
                raise ValueError(
                    f"{self.__class__.__name__} callback received "
                    f"monitor={self.monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass "
                    "`mode='min'` in order to use the lowest value."
                )
        if self.monitor_op == ops.less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        if self._generic_op:
            return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
        return self._tracker.is_better(monitor_value, reference_value)

    def _update(self, value, step):
        """One decision of the core; returns its action code."""
        if not self._generic_op:
            return self._tracker.update(value, step)
        # A comparison function the core does not know (assigned by hand):
        # the same rule as the core, with Keras's `_is_improvement`.
        t = self._tracker
        if step < t.start_from:
            return _actions.SKIP
        if t.cooldown_counter > 0:
            t.cooldown_counter -= 1
            t.wait = 0
        if t.best is None or self._is_improvement(value, t.best):
            t.best = value
            t.best_step = step
            if t.baseline is None or self._is_improvement(value, t.baseline):
                t.wait = 0
            else:
                t.wait += 1
            return _actions.IMPROVED
        if t.cooldown_counter > 0:
            return _actions.COOLDOWN
        t.wait += 1
        if t.wait >= t.patience:
            if t.on_patience == "reduce":
                return _actions.REDUCE
            if step > 0:
                return _actions.STOP
        return _actions.WAIT

    # -- helpers for subclasses --------------------------------------------------

    def _monitored(self, current):
        """The value the decision is made on: raw, or the window statistic."""
        if self._ring is None:
            return current
        return self._ring.push_stat(current, self.smoothing)

    def _reset_monitor(self, keep_best=False):
        """Restarts the core for a new `fit()`; `keep_best` carries `best`
        over, as Keras before 3.15 did."""
        best = self._best
        self._tracker.reset()
        if self._ring is not None:
            self._ring.clear()
        self._best = None
        if keep_best:
            self.best = best

    @staticmethod
    def _is_finite(value):
        try:
            return math.isfinite(value)
        except TypeError:
            return True
