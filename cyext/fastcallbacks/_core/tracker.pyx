"""Patience / best-value tracking with Keras semantics."""
from libc.math cimport fabs, isfinite
from libc.stdint cimport INT64_MAX, INT64_MIN

cimport cython
from ._common cimport (float64_t, int64_t, round_f32, MODE_MIN, MODE_MAX,
                       ACTION_SKIP, ACTION_IMPROVED, ACTION_WAIT,
                       ACTION_COOLDOWN, ACTION_STOP, ACTION_REDUCE)

SKIP = ACTION_SKIP
IMPROVED = ACTION_IMPROVED
WAIT = ACTION_WAIT
COOLDOWN = ACTION_COOLDOWN
STOP = ACTION_STOP
REDUCE = ACTION_REDUCE


# ---------------------------------------------------------------------------
# Kernels

cdef bint tracker_is_better(const tracker_t* t, float64_t value, float64_t ref) noexcept nogil:
    # Keras: monitor_op(value - min_delta, ref) with min_delta negated in min
    # mode, evaluated on float32 tensors.
    cdef float64_t delta = t.min_delta
    cdef float64_t lhs
    if t.relative:
        # A relative threshold needs a finite, non-zero-delta reference.
        delta = delta * fabs(ref) if (delta != 0.0 and isfinite(ref)) else 0.0
    if t.mode == MODE_MIN:
        lhs = value - (-delta)
    else:
        lhs = value - delta
    if t.f32:
        lhs = round_f32(lhs)
        ref = round_f32(ref)
    if t.mode == MODE_MIN:
        return lhs < ref
    return lhs > ref


cdef int tracker_update(tracker_t* t, float64_t value, int64_t step) noexcept nogil:
    if step < t.start_from:
        return ACTION_SKIP
    if t.cooldown_counter > 0:
        t.cooldown_counter -= 1
        t.wait = 0
    if not t.has_best or tracker_is_better(t, value, t.best):
        # The first value always counts as an improvement, even NaN.
        t.has_best = True
        t.best = value
        t.best_step = step
        # Patience restarts only once the baseline is beaten too.
        if not t.has_baseline or tracker_is_better(t, value, t.baseline):
            t.wait = 0
        elif t.wait < INT64_MAX:
            t.wait += 1
        return ACTION_IMPROVED
    if t.cooldown_counter > 0:
        return ACTION_COOLDOWN
    if t.wait < INT64_MAX:  # saturates (a `wait` assigned at the limit)
        t.wait += 1
    if t.wait >= t.patience:
        if not t.stop:
            return ACTION_REDUCE
        if step > 0:
            return ACTION_STOP
    return ACTION_WAIT


# ---------------------------------------------------------------------------

cdef int _mode_code(mode) except -1:
    if mode == "min":
        return MODE_MIN
    if mode == "max":
        return MODE_MAX
    raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}")


cdef int64_t _int64(name, value) except? -1:
    # int(value), checked against the int64 range here (GIL held) so that
    # the error names the argument.
    value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise OverflowError(f"`{name}` must be within int64 range, got {value}")
    return value


cdef int64_t _nonneg_int(name, value) except? -1:
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


cdef class BestTracker:
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
        cdef tracker_t t
        t.mode = _mode_code(mode)
        t.min_delta = fabs(<float64_t>float(min_delta))
        t.relative = threshold_mode == "rel"
        t.f32 = bool(float32)
        t.stop = on_patience == "stop"
        t.patience = _nonneg_int("patience", patience)
        t.cooldown = _nonneg_int("cooldown", cooldown)
        t.start_from = _nonneg_int("start_from", start_from)
        t.has_baseline = baseline is not None
        t.baseline = float(baseline) if baseline is not None else 0.0
        t.has_best = False
        t.best = 0.0
        t.best_step = -1
        t.wait = 0
        t.cooldown_counter = 0
        with self._lock:
            self._t = t

    # -- decisions -----------------------------------------------------------

    def update(self, value, step):
        """Feed the newest value observed at `step`; return an action code."""
        cdef float64_t x = float(value)
        cdef int64_t s = _int64("step", step)
        cdef int action
        with self._lock:
            action = tracker_update(&self._t, x, s)
        return action

    def is_better(self, value, reference):
        """Whether `value` improves on `reference` under this tracker's rule."""
        cdef float64_t x = float(value), r = float(reference)
        return tracker_is_better(&self._t, x, r)

    def start_cooldown(self):
        """Enter cooldown and restart patience (after a reduction)."""
        with self._lock:
            self._t.cooldown_counter = self._t.cooldown
            self._t.wait = 0

    def reset(self):
        """Forget the best value and restart patience and cooldown."""
        with self._lock:
            self._t.has_best = False
            self._t.best = 0.0
            self._t.best_step = -1
            self._t.wait = 0
            self._t.cooldown_counter = 0

    # -- state -----------------------------------------------------------------

    @property
    def mode(self):
        return "min" if self._t.mode == MODE_MIN else "max"

    @mode.setter
    def mode(self, value):
        cdef int code = _mode_code(value)
        self._t.mode = code

    @property
    def min_delta(self):
        return self._t.min_delta

    @min_delta.setter
    def min_delta(self, value):
        # Signed on purpose: a negative delta loosens the threshold, which is
        # what Keras does with a min_delta assigned after the direction is
        # resolved. The constructor takes the magnitude.
        self._t.min_delta = float(value)

    @property
    def threshold_mode(self):
        return "rel" if self._t.relative else "abs"

    @property
    def on_patience(self):
        return "stop" if self._t.stop else "reduce"

    @property
    def float32(self):
        return self._t.f32

    @float32.setter
    def float32(self, value):
        self._t.f32 = bool(value)

    @property
    def patience(self):
        return self._t.patience

    @patience.setter
    def patience(self, value):
        self._t.patience = _nonneg_int("patience", value)

    @property
    def cooldown(self):
        return self._t.cooldown

    @cooldown.setter
    def cooldown(self, value):
        self._t.cooldown = _nonneg_int("cooldown", value)

    @property
    def start_from(self):
        return self._t.start_from

    @property
    def baseline(self):
        return self._t.baseline if self._t.has_baseline else None

    @baseline.setter
    def baseline(self, value):
        with self._lock:
            self._t.has_baseline = value is not None
            self._t.baseline = float(value) if value is not None else 0.0

    @property
    def best(self):
        """Best value so far, or None before the first update."""
        return self._t.best if self._t.has_best else None

    @best.setter
    def best(self, value):
        with self._lock:
            self._t.has_best = value is not None
            self._t.best = float(value) if value is not None else 0.0

    @property
    def best_step(self):
        """Step of the best value, or -1."""
        return self._t.best_step

    @best_step.setter
    def best_step(self, value):
        self._t.best_step = _int64("best_step", value)

    @property
    def wait(self):
        return self._t.wait

    @wait.setter
    def wait(self, value):
        self._t.wait = _int64("wait", value)

    @property
    def cooldown_counter(self):
        return self._t.cooldown_counter

    @cooldown_counter.setter
    def cooldown_counter(self, value):
        self._t.cooldown_counter = _int64("cooldown_counter", value)

    # Pickling and copy.deepcopy (e.g. a tuner cloning callbacks).
    def __reduce__(self):
        config = (self.mode, self._t.min_delta, self._t.patience, self.baseline,
                  self._t.start_from, self._t.cooldown, self.threshold_mode,
                  self.on_patience, bool(self._t.f32))
        return (BestTracker, config, self.__getstate__())

    def __getstate__(self):
        return (self.best, self._t.best_step, self._t.wait, self._t.cooldown_counter)

    def __setstate__(self, state):
        best, best_step, wait, cooldown_counter = state
        with self._lock:
            self._t.has_best = best is not None
            self._t.best = best if best is not None else 0.0
            self._t.best_step = _int64("best_step", best_step)
            self._t.wait = _int64("wait", wait)
            self._t.cooldown_counter = _int64("cooldown_counter", cooldown_counter)

    def __repr__(self):
        return (f"BestTracker(mode={self.mode!r}, best={self.best!r}, "
                f"wait={self._t.wait}, cooldown_counter={self._t.cooldown_counter})")
