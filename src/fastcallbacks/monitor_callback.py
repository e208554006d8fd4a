"""Shared base of the callbacks that watch one metric."""

import decimal
import math
import numbers
import operator
import warnings

import keras
import numpy as np
from keras import ops

from . import _impl
from . import _actions
from ._keras_internals import is_metric_container as _is_metric_container
from ._keras_internals import metric_direction as _metric_direction

_SMOOTHING = ("mean", "median", "min", "max", "ema")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def _check_count(name, value):
    """A patience-like count: any real number >= 0 (or NaN), as Keras
    compares it."""
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            raise ValueError(f"`{name}` must be a number >= 0, got {value}")
    elif not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0, got {value}")
    return value


# A count the core can never reach: what Keras's `wait >= patience` does with
# `patience` = +inf, NaN (never true) or an int beyond any epoch count.
_NEVER = 2**63 - 1


def _ceil_count(value, nan=_NEVER):
    """The whole count the core uses for a Keras count `value`.

    Keras compares `wait >= patience` and counts a cooldown down while it is
    `> 0`, so a fractional count acts as its ceiling, a count <= 0 as 0, +inf
    or a count beyond int64 as a count never reached, and NaN as `nan` (a
    patience never reached; a cooldown counter that is never `> 0`: 0).
    """
    if value != value:
        return nan
    if value >= _NEVER:
        return _NEVER
    if value <= 0:
        return 0
    return int(math.ceil(value))


def _plain_float(value):
    """Whether the core decides on `value` exactly as Keras does.

    Only a Python float: Keras's `ops.less`/`ops.greater` turn it into a
    float32 tensor, which the core's float32 rounding reproduces. Anything
    else (ints, numpy scalars, arrays, tensors, strings, ...) takes Keras's
    own path, `monitor_op(value - min_delta, best)`.
    """
    return type(value) is float


def _plain_number(value):
    """Whether `value` (a `min_delta` or a `baseline`) enters Keras's
    comparison exactly as the core's float64 copy of it does."""
    if type(value) is float:
        return True
    # An int of at most 24 bits is exact in float32 and float64 alike (and
    # a Python int's tensor is int32, promoted to float32 next to a float).
    return type(value) is int and abs(value) <= 2**24


def _scalar(value):
    """`value` as a float, for the beyond-Keras statistics: size-1 arrays
    and tensors are accepted, larger ones raise what Keras's comparison
    raises."""
    if type(value) is float:
        return value
    try:
        if getattr(value, "ndim", 0) != 0:
            # Not float() on an array of one element: deprecated (a
            # DeprecationWarning from NumPy 1.25 to 2.3, a TypeError after).
            raise TypeError
        return float(value)
    except TypeError:
        array = np.asarray(value)
        if array.size != 1:
            raise ValueError(
                "The truth value of an array with more than one element is "
                "ambiguous. Use a.any() or a.all()"
            ) from None
        return float(array.reshape(()))


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
        self._tracker.patience = _ceil_count(value)


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
        window = _check_int("window", window, 1)
        if window > _impl.ring.MAX_CAPACITY:
            # As RingMonitor's `capacity`: too large to address, not wrong.
            raise OverflowError(
                f"`window` must be <= {_impl.ring.MAX_CAPACITY}, got {window}"
            )
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
        min_delta = abs(min_delta)  # Keras's TypeError for a non-number
        self._plain = True  # min_delta (and baseline) as the core holds them
        self._tracker = _impl.tracker.BestTracker(
            mode="min",
            min_delta=0.0,
            patience=0,
            threshold_mode=threshold_mode,
            on_patience=_on_patience,
        )
        self._ring = _impl.ring.RingMonitor(window) if window > 1 else None
        self.min_delta = min_delta
        self.best = baseline

    # -- Keras attributes backed by the core ---------------------------------

    @property
    def best(self):
        return self._best

    @best.setter
    def best(self, value):
        # Kept as given (Keras keeps the logged object); the core holds a
        # copy only when it decides on it (see `_update`).
        self._best = value
        self._tracker.best = value if _plain_float(value) else None

    @property
    def min_delta(self):
        return self._min_delta

    @min_delta.setter
    def min_delta(self, value):
        # Keras keeps min_delta signed (negated once the direction resolves
        # to "min") and compares `monitor_op(current - min_delta, best)`; the
        # core adds its delta in the improving direction, so convert.
        self._min_delta = value
        # `current - min_delta` is the same double for a Python float or an
        # int within float range; anything else takes Keras's path.
        plain = type(value) is float or (
            type(value) is int and value.bit_length() <= 1000
        )
        self._plain_delta = plain
        self._set_fast()
        if not plain:
            return
        if self._tracker.mode == "min" and self._monitor_op is not None:
            self._tracker.min_delta = -float(value)
        else:
            self._tracker.min_delta = float(value)

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
            direction = auto_direction(self.monitor, model)
            if direction is not None:
                self.monitor_op = ops.greater if direction == "max" else ops.less
            if self.monitor_op is None:
                raise auto_mode_error(self.__class__.__name__, self.monitor)
        if self.monitor_op == ops.less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        if (
            not self._generic_op
            and self._plain_delta
            and _plain_float(monitor_value)
            and _plain_float(reference_value)
        ):
            return self._tracker.is_better(monitor_value, reference_value)
        # Keras's own expression (its result goes through `if`, as in Keras).
        return self.monitor_op(monitor_value - self.min_delta, reference_value)

    def _set_fast(self):
        # Whether the core decides on a Python float value with a Python
        # float (or no) best: `min_delta`, `baseline` and `monitor_op` are
        # ones whose effect the core reproduces exactly.
        self._fast = not self._generic_op and self._plain and self._plain_delta

    def _update(self, value, step):
        """One decision; returns its action code (`fastcallbacks._actions`).

        The core decides on Python floats; any other value (a size-1 array
        from a metric such as `F1Score`, a tensor, an int, a string, ...)
        follows Keras's own code, `monitor_op(value - min_delta, best)` in
        Keras's order, so that it decides, or raises, as Keras does.
        """
        if self._fast and type(value) is float:
            best = self._best
            if best is None or type(best) is float:
                return self._tracker.update(value, step)
        t = self._tracker
        if step < t.start_from:
            return _actions.SKIP
        baseline = getattr(self, "_baseline", None)
        if t.on_patience == "stop":
            # EarlyStopping counts before comparing (saturating, as the core).
            t.wait = min(t.wait + 1, _NEVER)
            if self._is_improvement(value, self._best):
                self.best = value
                t.best_step = step
                if baseline is None or self._is_improvement(value, baseline):
                    t.wait = 0
                return _actions.IMPROVED
            if t.wait >= t.patience and step > 0:
                return _actions.STOP
            return _actions.WAIT
        if t.cooldown_counter > 0:
            t.cooldown_counter -= 1
            t.wait = 0
        if self._is_improvement(value, self._best):
            self.best = value
            t.best_step = step
            t.wait = 0
            return _actions.IMPROVED
        if t.cooldown_counter > 0:
            return _actions.COOLDOWN
        t.wait = min(t.wait + 1, _NEVER)
        if t.wait >= t.patience:
            return _actions.REDUCE
        return _actions.WAIT

    # -- helpers for subclasses --------------------------------------------------

    def _monitored(self, current):
        """The value the decision is made on: raw, or the window statistic."""
        if self._ring is None:
            if self.threshold_mode == "rel":
                return _scalar(current)  # the core's relative rule
            return current
        return self._ring.push_stat(_scalar(current), self.smoothing)

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
        # Arrays of one element go to NumPy below: `math.isfinite` on them
        # is deprecated (a DeprecationWarning from NumPy 1.25 to 2.3).
        if getattr(value, "ndim", 0) == 0:
            try:
                return math.isfinite(value)
            except (TypeError, ValueError, OverflowError):
                pass
        try:  # arrays and tensors of one (or more) numbers
            array = np.asarray(value)
            if array.dtype.kind not in "fc":
                return True
            return bool(np.isfinite(array).all())
        except Exception:  # not a number at all: not our call to make
            return True


def auto_direction(monitor, model):
    """"min", "max" or None: the direction Keras's MonitorCallback gives
    `monitor` in mode "auto" (the loss, else the last compiled metric of that
    name with a known direction)."""
    metric_name = monitor.removeprefix("val_")
    mode = "min" if metric_name == "loss" else None
    if hasattr(model, "metrics"):
        found = []
        for m in model.metrics:
            if _is_metric_container(m):
                found.extend(m.metrics)
        for m in found:
            direction = _metric_direction(m)
            if m.name == metric_name and direction is not None:
                mode = "max" if direction == "up" else "min"
    return mode


def auto_mode_error(owner, monitor):
    """Keras's ValueError for a monitor whose direction it cannot tell."""
    return ValueError(
        f"{owner} callback received monitor={monitor}, but Keras isn't able to "
        "automatically determine whether that metric should be maximized or "
        "minimized. Pass `mode='max'` in order to monitor based on the highest "
        "metric value, or pass `mode='min'` in order to use the lowest value."
    )
