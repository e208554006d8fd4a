"""Pure-Python ring engine (reference of fastcallbacks._core.ring).

`RingEngine` does the work of `RingMonitor`; the public class, with the
argument checks, properties and pickling, is `fastcallbacks._ringmonitor`'s,
bound to this engine below.
"""

import math
import threading

import numpy as np

from .._ringmonitor import MAX_CAPACITY, STATS, bind, unknown_stat


class RingEngine:
    """The work of `RingMonitor` (see `fastcallbacks._ringmonitor`), its
    arguments already checked there."""

    def __init__(self, capacity, alpha):
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"RingEngine: capacity {capacity} out of range")
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
    nonfinite = property(lambda self: self._nonfinite,
                         doc="NaN or infinite values pushed since the last clear().")

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
        if kind not in STATS:
            raise unknown_stat(kind)
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
        if kind not in STATS:
            raise unknown_stat(kind)
        x = float(value)
        with self._lock:
            self._push(x)
            return self._stat(kind)

    def values(self):
        """The window as a new float64 array, oldest first."""
        with self._lock:
            return np.array(self._window(), dtype=np.float64)

    def _get_state(self):
        with self._lock:
            return (self._window(), self._total, self._nonfinite, self._ema)

    def _set_state(self, values, total, nonfinite, ema):
        with self._lock:
            self._clear()
            self._buf = list(values)
            self._count = len(values)
            self._head = self._count % self._capacity
            self._total = total
            self._nonfinite = nonfinite
            self._ema = ema


RingMonitor = bind(RingEngine, __name__)
