"""The ring engine: a window of metric values and its statistics.

`RingEngine` does the work of `RingMonitor`; the public class (argument
checks, properties, pickling) is `fastcallbacks._ringmonitor`'s, bound to
this engine at the end of this module.
"""
from libc.math cimport isnan, isfinite, isinf, NAN
from libc.stdlib cimport realloc, free, qsort
from libc.string cimport memcpy, memmove

cimport cython
from cpython.pyport cimport PY_SSIZE_T_MAX
from ._common cimport (float64_t, intp_t, int64_t, STAT_MEAN, STAT_MEDIAN,
                       STAT_MIN, STAT_MAX, STAT_EMA, STAT_LAST)

import numpy as np

from .._ringmonitor import MAX_CAPACITY, bind as _bind, unknown_stat as _unknown_stat

# The byte size of a full window must fit a Py_ssize_t.
assert MAX_CAPACITY == (<intp_t>PY_SSIZE_T_MAX) // <intp_t>sizeof(float64_t)

# Slots allocated at first; buffers then double up to the capacity, so a
# huge capacity costs only the memory of the values actually pushed.
cdef intp_t FIRST_ALLOC = 16

_STATS = {"mean": STAT_MEAN, "median": STAT_MEDIAN, "min": STAT_MIN,
          "max": STAT_MAX, "ema": STAT_EMA, "last": STAT_LAST}


# ---------------------------------------------------------------------------
# Kernels: never raise, never touch Python objects.

cdef void _sorted_remove(ring_t* r, float64_t x) noexcept nogil:
    # x is the oldest value of the window; among values equal to it (only
    # 0.0 and -0.0 differ while comparing equal) it is the first, since
    # equal values are kept in arrival order.
    cdef intp_t lo = 0, hi = r.nsorted, mid
    if isnan(x):
        r.nnan -= 1
        return
    while lo < hi:  # bisect_left
        mid = (lo + hi) >> 1
        if r.scratch[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    memmove(&r.scratch[lo], &r.scratch[lo + 1], (r.nsorted - lo - 1) * sizeof(float64_t))
    r.nsorted -= 1


cdef void _sorted_insert(ring_t* r, float64_t x) noexcept nogil:
    cdef intp_t lo = 0, hi = r.nsorted, mid
    if isnan(x):
        r.nnan += 1
        return
    while lo < hi:  # bisect_right: after equal values, a stable order
        mid = (lo + hi) >> 1
        if x < r.scratch[mid]:
            hi = mid
        else:
            lo = mid + 1
    memmove(&r.scratch[lo + 1], &r.scratch[lo], (r.nsorted - lo) * sizeof(float64_t))
    r.scratch[lo] = x
    r.nsorted += 1


cdef void ring_push(ring_t* r, float64_t x) noexcept nogil:
    if r.sorted_valid:
        # Keep the sorted copy current: O(log n) search + a short memmove
        # beats re-sorting the window for every median.
        if r.count == r.capacity:
            _sorted_remove(r, r.buf[r.head])
        _sorted_insert(r, x)
    r.buf[r.head] = x
    r.head += 1
    if r.head == r.capacity:
        r.head = 0
    if r.count < r.capacity:
        r.count += 1
    if not isfinite(x):
        r.nonfinite += 1
    # EMA over every value ever pushed (not only the window).
    if r.total == 0:
        r.ema = x
    else:
        r.ema = r.alpha * x + r.beta * r.ema
    r.total += 1


cdef void ring_extend(ring_t* r, const float64_t* xs, intp_t n) noexcept nogil:
    cdef intp_t i
    # Bulk data: drop the sorted copy; the next median rebuilds it once.
    r.sorted_valid = False
    for i in range(n):
        ring_push(r, xs[i])


cdef inline float64_t _at(ring_t* r, intp_t i) noexcept nogil:
    # i-th value of the window, oldest first.
    cdef intp_t j = r.head - r.count + i
    if j < 0:
        j += r.capacity
    return r.buf[j]


cdef int _cmp_double(const void* a, const void* b) noexcept nogil:
    cdef float64_t x = (<const float64_t*>a)[0]
    cdef float64_t y = (<const float64_t*>b)[0]
    return (x > y) - (x < y)


cdef float64_t _mean(ring_t* r) noexcept nogil:
    cdef intp_t i, n = r.count
    cdef float64_t s = 0.0, x
    cdef bint finite = True
    for i in range(n):
        x = _at(r, i)
        s += x
        if not isfinite(x):
            finite = False
    if finite and not isfinite(s):
        # The sum overflowed although every value is finite: average the
        # scaled values instead.
        s = 0.0
        for i in range(n):
            s += _at(r, i) / n
        return s
    return s / n


cdef void _sorted_rebuild(ring_t* r) noexcept nogil:
    cdef intp_t i, j, n = 0, negative = 0, zeros = 0
    cdef float64_t x
    r.nnan = 0
    for i in range(r.count):
        x = _at(r, i)
        if isnan(x):
            r.nnan += 1
            continue
        if x < 0.0:
            negative += 1
        elif x == 0.0:
            zeros += 1
        r.scratch[n] = x
        n += 1
    qsort(r.scratch, n, sizeof(float64_t), _cmp_double)
    if zeros > 1:
        # qsort need not be stable; the reference's sort is. -0.0 and 0.0 are
        # the only equal values that differ, so put the zeros (which sit at
        # [negative, negative + zeros)) back in window order.
        j = negative
        for i in range(r.count):
            x = _at(r, i)
            if x == 0.0:
                r.scratch[j] = x
                j += 1
    r.nsorted = n
    r.sorted_valid = True


cdef float64_t _median(ring_t* r) noexcept nogil:
    cdef intp_t n
    cdef float64_t a, b, m
    if not r.sorted_valid:
        _sorted_rebuild(r)
    if r.nnan > 0:
        return NAN
    n = r.nsorted
    if n % 2 == 1:
        return r.scratch[n // 2]
    a = r.scratch[n // 2 - 1]
    b = r.scratch[n // 2]
    m = (a + b) * 0.5
    if isinf(m) and isfinite(a) and isfinite(b):
        m = a * 0.5 + b * 0.5
    return m


cdef float64_t _extreme(ring_t* r, bint want_max) noexcept nogil:
    cdef intp_t i
    cdef float64_t x, m = _at(r, 0)
    if isnan(m):
        return NAN
    for i in range(1, r.count):
        x = _at(r, i)
        if isnan(x):
            return NAN
        if (x > m) if want_max else (x < m):
            m = x
    return m


cdef float64_t ring_stat(ring_t* r, int kind) noexcept nogil:
    # NaN for an empty window; NaN inside the window propagates (as numpy).
    if r.count == 0:
        return NAN
    if kind == STAT_MEAN:
        return _mean(r)
    if kind == STAT_MEDIAN:
        return _median(r)
    if kind == STAT_MIN:
        return _extreme(r, False)
    if kind == STAT_MAX:
        return _extreme(r, True)
    if kind == STAT_EMA:
        return r.ema
    return _at(r, r.count - 1)


# ---------------------------------------------------------------------------

cdef _no_memory(intp_t n, intp_t capacity):
    raise MemoryError(
        f"RingMonitor: cannot allocate a window of {min(n, capacity)} values")


@cython.auto_pickle(False)
cdef class RingEngine:
    """The work of `RingMonitor` (see `fastcallbacks._ringmonitor`), its
    arguments already checked there."""

    def __cinit__(self, *args, **kwargs):
        self._r.buf = NULL
        self._r.scratch = NULL
        self._r.alloc = 0
        self._r.capacity = 1

    def __init__(self, capacity, alpha):
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"RingEngine: capacity {capacity} out of range")
        cdef intp_t cap = capacity
        with self._lock:
            # Buffers already allocated (a second __init__) are kept while
            # they fit the new capacity; they are grown on demand anyway.
            if self._r.alloc > cap:
                free(self._r.buf)
                free(self._r.scratch)
                self._r.buf = NULL
                self._r.scratch = NULL
                self._r.alloc = 0
            self._r.capacity = cap
            self._r.alpha = alpha
            self._r.beta = 1.0 - alpha
            self._clear()

    def __dealloc__(self):
        free(self._r.buf)
        free(self._r.scratch)

    cdef int _reserve(self, intp_t n) noexcept nogil:
        # Grows buf and scratch (keeping their contents) to hold at least
        # min(n, capacity) values; -1 if memory runs out (nothing is lost:
        # the buffers stay valid at their old size). Called with the lock
        # held. Before the window first fills nothing has wrapped, so the
        # values sit at [0, count) and realloc keeps them in place.
        cdef intp_t want, cap = self._r.capacity
        cdef float64_t* p
        if n > cap:
            n = cap
        if n <= self._r.alloc:
            return 0
        want = self._r.alloc if self._r.alloc > FIRST_ALLOC else FIRST_ALLOC
        while want < n:
            want = cap if want > cap // 2 else want * 2
        if want > cap:
            want = cap
        # want <= capacity <= MAX_CAPACITY: the byte sizes cannot overflow.
        p = <float64_t*>realloc(self._r.buf, <size_t>want * sizeof(float64_t))
        if p == NULL:
            return -1
        self._r.buf = p
        p = <float64_t*>realloc(self._r.scratch, <size_t>want * sizeof(float64_t))
        if p == NULL:
            return -1
        self._r.scratch = p
        self._r.alloc = want
        return 0

    cdef void _clear(self) noexcept nogil:
        self._r.sorted_valid = False
        self._r.nsorted = 0
        self._r.nnan = 0
        self._r.head = 0
        self._r.count = 0
        self._r.total = 0
        self._r.nonfinite = 0
        self._r.ema = NAN

    @property
    def capacity(self):
        """Maximum number of values in the window."""
        return self._r.capacity

    @property
    def alpha(self):
        """EMA weight of the newest value."""
        return self._r.alpha

    @property
    def total(self):
        """Values pushed since creation or the last `clear()`."""
        return self._r.total

    @property
    def nonfinite(self):
        """NaN or infinite values pushed since creation or the last `clear()`."""
        return self._r.nonfinite

    def __len__(self):
        return self._r.count

    def clear(self):
        """Forget every value."""
        with self._lock:
            self._clear()

    def push(self, value):
        """Append one value (anything `float()` accepts)."""
        cdef float64_t x = float(value)  # as the reference: strings too
        cdef int rc = 0
        with self._lock:
            if self._r.count >= self._r.alloc:
                rc = self._reserve(self._r.count + 1)
            if rc == 0:
                ring_push(&self._r, x)
        if rc:
            _no_memory(self._r.count + 1, self._r.capacity)

    def extend(self, values):
        """Append every value of a 1-D array-like, oldest first."""
        cdef const float64_t[::1] xs = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        cdef intp_t n = xs.shape[0]
        cdef int rc = 0
        if n == 0:
            return
        with nogil, self._lock:
            # count + n cannot overflow: both are below 2**62.
            rc = self._reserve(self._r.count + n)
            if rc == 0:
                ring_extend(&self._r, &xs[0], n)
        if rc:
            _no_memory(self._r.count + n, self._r.capacity)

    def stat(self, kind="mean"):
        """Window statistic: "mean", "median", "min", "max", "ema" or "last"."""
        cdef int code
        try:
            code = _STATS[kind]
        except (KeyError, TypeError):
            raise _unknown_stat(kind) from None
        cdef float64_t out
        with self._lock:
            out = ring_stat(&self._r, code)
        return out

    def push_stat(self, value, kind="mean"):
        """`push(value)` then `stat(kind)`, in one locked step."""
        cdef int code
        try:
            code = _STATS[kind]
        except (KeyError, TypeError):
            raise _unknown_stat(kind) from None
        cdef float64_t x = float(value)  # as the reference: strings too
        cdef float64_t out = NAN
        cdef int rc = 0
        with self._lock:
            if self._r.count >= self._r.alloc:
                rc = self._reserve(self._r.count + 1)
            if rc == 0:
                ring_push(&self._r, x)
                out = ring_stat(&self._r, code)
        if rc:
            _no_memory(self._r.count + 1, self._r.capacity)
        return out

    def values(self):
        """The window as a new float64 array, oldest first."""
        cdef intp_t i
        cdef float64_t[::1] o
        with self._lock:
            out = np.empty(self._r.count, dtype=np.float64)
            o = out
            for i in range(self._r.count):
                o[i] = _at(&self._r, i)
        return out

    def _get_state(self):
        """(values oldest first, total, nonfinite, ema)."""
        cdef intp_t i
        with self._lock:
            values = [_at(&self._r, i) for i in range(self._r.count)]
            return (values, self._r.total, self._r.nonfinite, self._r.ema)

    def _set_state(self, values, total, nonfinite, ema):
        """Replaces the window and counters (values oldest first)."""
        cdef list xs = [float(v) for v in values]
        cdef int64_t n_total = total, n_nonfinite = nonfinite
        cdef float64_t e = ema
        cdef intp_t i, n = len(xs)
        cdef int rc
        if n > self._r.capacity:
            raise ValueError("state holds more values than the capacity")
        with self._lock:
            self._clear()
            rc = self._reserve(n)
            if rc == 0:
                for i in range(n):
                    self._r.buf[i] = xs[i]
                self._r.count = n
                self._r.head = n % self._r.capacity
                self._r.total = n_total
                self._r.nonfinite = n_nonfinite
                self._r.ema = e
        if rc:
            _no_memory(n, self._r.capacity)


RingMonitor = _bind(RingEngine, __name__)
