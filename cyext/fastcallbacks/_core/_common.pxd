# Shared C-level declarations of the fastcallbacks core (header only).
from libc.stdint cimport int64_t

ctypedef double float64_t
ctypedef Py_ssize_t intp_t

# Direction of a monitored quantity.
cdef enum:
    MODE_MIN = 0
    MODE_MAX = 1

# Window statistics of a RingMonitor.
cdef enum:
    STAT_MEAN = 0
    STAT_MEDIAN = 1
    STAT_MIN = 2
    STAT_MAX = 3
    STAT_EMA = 4
    STAT_LAST = 5

# Action codes returned by tracker_update().
cdef enum:
    ACTION_SKIP = 0
    ACTION_IMPROVED = 1
    ACTION_WAIT = 2
    ACTION_COOLDOWN = 3
    ACTION_STOP = 4
    ACTION_REDUCE = 5


cdef inline float64_t round_f32(float64_t x) noexcept nogil:
    # Round to the nearest float32 (IEEE 754, C99 Annex F): out-of-range
    # values become +-inf, which is what a float32 tensor would hold.
    return <float64_t>(<float>x)
