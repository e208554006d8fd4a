from ._common cimport float64_t, intp_t, int64_t
cimport cython

cdef struct ring_t:
    float64_t* buf      # capacity slots; the newest value sits at head - 1
    float64_t* scratch  # the window's non-NaN values, sorted (stable), for the median
    intp_t nsorted      # values in scratch
    intp_t nnan         # NaN values in the window (not in scratch)
    bint sorted_valid   # scratch is up to date; single pushes keep it so
    intp_t capacity
    intp_t alloc        # slots allocated in buf and scratch: they grow up to capacity
    intp_t head         # next slot to write
    intp_t count        # valid values, <= capacity
    int64_t total       # values pushed since the last clear
    int64_t nonfinite   # NaN/inf values pushed since the last clear
    float64_t alpha     # EMA weight of the newest value
    float64_t beta      # 1 - alpha
    float64_t ema

cdef void ring_push(ring_t* r, float64_t x) noexcept nogil
cdef void ring_extend(ring_t* r, const float64_t* xs, intp_t n) noexcept nogil
cdef float64_t ring_stat(ring_t* r, int kind) noexcept nogil

cdef class RingEngine:
    cdef ring_t _r
    cdef cython.pymutex _lock
    cdef void _clear(self) noexcept nogil
    cdef int _reserve(self, intp_t n) noexcept nogil
