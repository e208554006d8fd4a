"""Pure-Python RingMonitor (reference of fastcallbacks._core.ring)."""

import math
import sys
import threading

import numpy as np

_STATS = ("mean", "median", "min", "max", "ema", "last")

# Largest capacity: the byte size of a full window must fit a Py_ssize_t.
MAX_CAPACITY = sys.maxsize // 8


class RingMonitor:
    """Fixed-capacity window over the most recent values of a metric.

    Args:
        capacity: Number of values kept (the window size), at least 1 and
            at most `MAX_CAPACITY` (`sys.maxsize // 8`). Memory grows with
            the values pushed, up to the capacity, so a large capacity costs
            nothing until the window fills.
        alpha: Weight of the newest value in the exponential moving average,
            in (0, 1]. Defaults to `2 / (capacity + 1)`.

    `stat(name)` returns the window's `"mean"`, `"median"`, `"min"`, `"max"`,
    `"ema"` or `"last"` value; NaN in the window makes
    `"mean"`, `"median"`, `"min"` and `"max"` NaN; `"last"` is the newest value;
    `"ema"` runs over every value pushed, so after a NaN it stays NaN until
    `clear()`. An empty window gives NaN for every statistic.
    """

    def __init__(self, capacity, alpha=None):
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"`capacity` must be an int, got {capacity!r}")
        if capacity < 1:
            raise ValueError(f"`capacity` must be >= 1, got {capacity}")
        if capacity > MAX_CAPACITY:
            raise OverflowError(
                f"`capacity` must be <= {MAX_CAPACITY} (sys.maxsize // 8), got {capacity}")
        if alpha is None:
            alpha = 2.0 / (capacity + 1.0)
        alpha = float(alpha)
        if not (0.0 < alpha <= 1.0):
            raise ValueError(f"`alpha` must be in (0, 1], got {alpha}")
        self._lock = threading.Lock()
        self._capacity = capacity
        self._alpha = alpha
        self._beta = 1.0 - alpha
        # Grows with the values pushed (appended until the window first
        # fills), never past the capacity.
        self._buf = []
        self._clear()

    def _clear(self):
        self._head = 0
        self._count = 0
        self._total = 0
        self._nonfinite = 0
        self._ema = math.nan

    capacity = property(lambda self: self._capacity, doc="Maximum number of values in the window.")
    alpha = property(lambda self: self._alpha, doc="EMA weight of the newest value.")
    total = property(lambda self: self._total, doc="Values pushed since the last clear().")
    nonfinite = property(lambda self: self._nonfinite, doc="NaN/inf values pushed since the last clear().")

    def __len__(self):
        return self._count

    def clear(self):
        """Forget every value."""
        with self._lock:
            self._clear()

    def _push(self, x):
        if self._head == len(self._buf):
            self._buf.append(x)
        else:
            self._buf[self._head] = x
        self._head += 1
        if self._head == self._capacity:
            self._head = 0
        if self._count < self._capacity:
            self._count += 1
        if not math.isfinite(x):
            self._nonfinite += 1
        # EMA over every value ever pushed (not only the window).
        if self._total == 0:
            self._ema = x
        else:
            self._ema = self._alpha * x + self._beta * self._ema
        self._total += 1

    def push(self, value):
        """Append one value (anything `float()` accepts)."""
        x = float(value)
        with self._lock:
            self._push(x)

    def extend(self, values):
        """Append every value of a 1-D array-like, oldest first."""
        xs = np.ascontiguousarray(values, dtype=np.float64).reshape(-1).tolist()
        with self._lock:
            for x in xs:
                self._push(x)

    def _window(self):
        start = self._head - self._count
        return [self._buf[(start + i) % self._capacity] for i in range(self._count)]

    def _stat(self, kind):
        if kind not in _STATS:
            raise ValueError(
                f"Unknown statistic {kind!r}; expected one of {sorted(_STATS)}"
            )
        w = self._window()
        n = len(w)
        if n == 0:
            return math.nan
        if kind == "ema":
            return self._ema
        if kind == "last":
            return w[-1]
        if kind == "mean":
            s = 0.0
            for x in w:
                s += x
            if all(math.isfinite(x) for x in w) and not math.isfinite(s):
                # The sum overflowed: average the scaled values instead.
                s = 0.0
                for x in w:
                    s += x / n
                return s
            return s / n
        if any(math.isnan(x) for x in w):
            return math.nan
        if kind == "median":
            w.sort()
            if n % 2 == 1:
                return w[n // 2]
            a, b = w[n // 2 - 1], w[n // 2]
            m = (a + b) * 0.5
            if math.isinf(m) and math.isfinite(a) and math.isfinite(b):
                m = a * 0.5 + b * 0.5
            return m
        m = w[0]
        for x in w[1:]:
            if (x > m) if kind == "max" else (x < m):
                m = x
        return m

    def stat(self, kind="mean"):
        """Window statistic: "mean", "median", "min", "max", "ema" or "last"."""
        with self._lock:
            return self._stat(kind)

    def push_stat(self, value, kind="mean"):
        """`push(value)` then `stat(kind)`, in one locked step."""
        if kind not in _STATS:
            raise ValueError(
                f"Unknown statistic {kind!r}; expected one of {sorted(_STATS)}"
            )
        x = float(value)
        with self._lock:
            self._push(x)
            return self._stat(kind)

    def mean(self):
        return self.stat("mean")

    def median(self):
        return self.stat("median")

    def min(self):
        return self.stat("min")

    def max(self):
        return self.stat("max")

    def ema(self):
        return self.stat("ema")

    def last(self):
        return self.stat("last")

    def values(self):
        """The window as a new float64 array, oldest first."""
        with self._lock:
            return np.array(self._window(), dtype=np.float64)

    # Pickling and copy.deepcopy (e.g. a tuner cloning callbacks): the
    # window is stored oldest first, with the counters and the EMA.
    def __reduce__(self):
        return (RingMonitor, (self._capacity, self._alpha), self.__getstate__())

    def __getstate__(self):
        with self._lock:
            return (self._window(), self._total, self._nonfinite, self._ema)

    def __setstate__(self, state):
        values, total, nonfinite, ema = state
        n = len(values)
        if n > self._capacity:
            raise ValueError("state holds more values than the capacity")
        with self._lock:
            self._clear()
            self._buf = [float(x) for x in values]
            self._count = n
            self._head = n % self._capacity
            self._total = int(total)
            self._nonfinite = int(nonfinite)
            self._ema = float(ema)

    def __repr__(self):
        return (f"RingMonitor(capacity={self._capacity}, len={self._count}, "
                f"total={self._total})")
