"""Pure-Python BestTracker (reference of fastcallbacks._core.tracker)."""

import math
import struct
import threading

from .._actions import COOLDOWN, IMPROVED, REDUCE, SKIP, STOP, WAIT  # noqa: F401


def round_f32(x):
    """Round a float to the nearest float32; out-of-range values become +-inf."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _int64(name, value):
    """int(value), within the int64 range the compiled core stores."""
    value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise OverflowError(f"`{name}` must be within int64 range, got {value}")
    return value


def _nonneg_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            as_int = int(value)
        except (TypeError, ValueError, OverflowError):
            raise TypeError(f"`{name}` must be an int, got {value!r}") from None
        if as_int != value:
            raise TypeError(f"`{name}` must be an int, got {value!r}")
        value = as_int
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0, got {value}")
    return _int64(name, value)


def _mode(mode):
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}")
    return mode


class BestTracker:
    """Tracks the best value of a metric and how long it has not improved.

    One call per value: `update(value, step)` compares `value` with the best
    so far as Keras's EarlyStopping and ReduceLROnPlateau do, updates `best`,
    `best_step`, `wait` and `cooldown_counter`, and returns one of the action
    codes `SKIP`, `IMPROVED`, `WAIT`, `COOLDOWN`, `STOP` or `REDUCE` (see
    `fastcallbacks._actions`). `start_cooldown()` starts a cooldown (after a
    reduction); `reset()` forgets the best value and the counters.

    Args:
        mode: `"min"` (lower is better) or `"max"`. Defaults to `"min"`.
        min_delta: Smallest change that counts as an improvement; its sign
            is ignored. Defaults to `0.0`.
        patience: Non-improving updates tolerated before `STOP` or
            `REDUCE`. Defaults to `0`.
        baseline: A value to beat: until an update beats it, none counts as
            an improvement. Defaults to `None` (no baseline).
        start_from: Updates with `step < start_from` are ignored (`SKIP`).
            Defaults to `0`.
        cooldown: Updates after `start_cooldown()` during which `wait`
            stays 0 (`COOLDOWN`). Defaults to `0`.
        threshold_mode: `"abs"`, or `"rel"`: `min_delta` is then a fraction
            of the best value. Defaults to `"abs"`.
        on_patience: `"stop"` (EarlyStopping: `STOP`, never at step 0) or
            `"reduce"` (ReduceLROnPlateau: `REDUCE`). Defaults to `"stop"`.
        float32: Whether to compare after rounding both sides to float32,
            as Keras does when it compares Python floats with backend ops.
            Defaults to `True`.

    Example:

    ```python
    t = BestTracker(mode="min", patience=2)
    [t.update(v, step) for step, v in enumerate([0.5, 0.4, 0.45, 0.46])]
    # [IMPROVED, IMPROVED, WAIT, STOP]
    ```
    """

    def __init__(self, mode="min", min_delta=0.0, patience=0, baseline=None,
                 start_from=0, cooldown=0, threshold_mode="abs",
                 on_patience="stop", float32=True):
        if threshold_mode not in ("abs", "rel"):
            raise ValueError(
                f"`threshold_mode` must be 'abs' or 'rel', got {threshold_mode!r}")
        if on_patience not in ("stop", "reduce"):
            raise ValueError(
                f"`on_patience` must be 'stop' or 'reduce', got {on_patience!r}")
        self._lock = threading.Lock()
        self._mode = _mode(mode)
        self._min_delta = abs(float(min_delta))
        self._relative = threshold_mode == "rel"
        self._f32 = bool(float32)
        self._stop = on_patience == "stop"
        self._patience = _nonneg_int("patience", patience)
        self._cooldown = _nonneg_int("cooldown", cooldown)
        self._start_from = _nonneg_int("start_from", start_from)
        self._baseline = None if baseline is None else float(baseline)
        self._best = None
        self._best_step = -1
        self._wait = 0
        self._cooldown_counter = 0

    # -- decisions -------------------------------------------------------------

    def is_better(self, value, reference):
        """Whether `value` improves on `reference` under this tracker's rule."""
        value = float(value)
        reference = float(reference)
        delta = self._min_delta
        if self._relative:
            # A relative threshold needs a finite, non-zero-delta reference.
            delta = delta * abs(reference) if (delta != 0.0 and math.isfinite(reference)) else 0.0
        # Keras: monitor_op(value - min_delta, reference), min_delta negated in
        # min mode, evaluated on float32 tensors.
        lhs = value - (-delta) if self._mode == "min" else value - delta
        if self._f32:
            lhs = round_f32(lhs)
            reference = round_f32(reference)
        return lhs < reference if self._mode == "min" else lhs > reference

    def update(self, value, step):
        """Feed the newest value observed at `step`; return an action code."""
        value = float(value)
        step = _int64("step", step)
        with self._lock:
            if step < self._start_from:
                return SKIP
            if self._cooldown_counter > 0:
                self._cooldown_counter -= 1
                self._wait = 0
            if self._best is None or self.is_better(value, self._best):
                # The first value always counts as an improvement, even NaN.
                self._best = value
                self._best_step = step
                # Patience restarts only once the baseline is beaten too.
                if self._baseline is None or self.is_better(value, self._baseline):
                    self._wait = 0
                elif self._wait < INT64_MAX:
                    self._wait += 1
                return IMPROVED
            if self._cooldown_counter > 0:
                return COOLDOWN
            if self._wait < INT64_MAX:  # saturates (a `wait` assigned at the limit)
                self._wait += 1
            if self._wait >= self._patience:
                if not self._stop:
                    return REDUCE
                if step > 0:
                    return STOP
            return WAIT

    def start_cooldown(self):
        """Enter cooldown and restart patience (after a reduction)."""
        with self._lock:
            self._cooldown_counter = self._cooldown
            self._wait = 0

    def reset(self):
        """Forget the best value and restart patience and cooldown."""
        with self._lock:
            self._best = None
            self._best_step = -1
            self._wait = 0
            self._cooldown_counter = 0

    # -- state -----------------------------------------------------------------

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, value):
        self._mode = _mode(value)

    @property
    def min_delta(self):
        return self._min_delta

    @min_delta.setter
    def min_delta(self, value):
        # Signed on purpose: a negative delta loosens the threshold, which is
        # what Keras does with a min_delta assigned after the direction is
        # resolved. The constructor takes the magnitude.
        self._min_delta = float(value)

    threshold_mode = property(lambda self: "rel" if self._relative else "abs")
    on_patience = property(lambda self: "stop" if self._stop else "reduce")
    @property
    def float32(self):
        return self._f32

    @float32.setter
    def float32(self, value):
        self._f32 = bool(value)

    start_from = property(lambda self: self._start_from)

    @property
    def patience(self):
        return self._patience

    @patience.setter
    def patience(self, value):
        self._patience = _nonneg_int("patience", value)

    @property
    def cooldown(self):
        return self._cooldown

    @cooldown.setter
    def cooldown(self, value):
        self._cooldown = _nonneg_int("cooldown", value)

    @property
    def baseline(self):
        return self._baseline

    @baseline.setter
    def baseline(self, value):
        self._baseline = None if value is None else float(value)

    @property
    def best(self):
        """Best value so far, or None before the first update."""
        return self._best

    @best.setter
    def best(self, value):
        self._best = None if value is None else float(value)

    @property
    def best_step(self):
        """Step of the best value, or -1."""
        return self._best_step

    @best_step.setter
    def best_step(self, value):
        self._best_step = _int64("best_step", value)

    @property
    def wait(self):
        return self._wait

    @wait.setter
    def wait(self, value):
        self._wait = _int64("wait", value)

    @property
    def cooldown_counter(self):
        return self._cooldown_counter

    @cooldown_counter.setter
    def cooldown_counter(self, value):
        self._cooldown_counter = _int64("cooldown_counter", value)

    # Pickling and copy.deepcopy (e.g. a tuner cloning callbacks).
    def __reduce__(self):
        config = (self._mode, self._min_delta, self._patience, self._baseline,
                  self._start_from, self._cooldown, self.threshold_mode,
                  self.on_patience, self._f32)
        return (BestTracker, config, self.__getstate__())

    def __getstate__(self):
        return (self._best, self._best_step, self._wait, self._cooldown_counter)

    def __setstate__(self, state):
        best, best_step, wait, cooldown_counter = state
        with self._lock:
            self._best = None if best is None else float(best)
            self._best_step = _int64("best_step", best_step)
            self._wait = _int64("wait", wait)
            self._cooldown_counter = _int64("cooldown_counter", cooldown_counter)

    def __repr__(self):
        return (f"BestTracker(mode={self.mode!r}, best={self.best!r}, "
                f"wait={self._wait}, cooldown_counter={self._cooldown_counter})")
