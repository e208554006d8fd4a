from ._common cimport float64_t, int64_t
cimport cython

cdef struct tracker_t:
    int mode                # MODE_MIN or MODE_MAX
    float64_t min_delta     # magnitude, >= 0
    bint relative           # min_delta is a fraction of |reference|
    bint f32                # compare after rounding both sides to float32
    bint stop               # patience exhausted -> ACTION_STOP, else ACTION_REDUCE
    int64_t patience
    int64_t cooldown
    int64_t start_from
    bint has_baseline
    float64_t baseline
    bint has_best
    float64_t best
    int64_t best_step
    int64_t wait
    int64_t cooldown_counter

cdef bint tracker_is_better(const tracker_t* t, float64_t value, float64_t ref) noexcept nogil
cdef int tracker_update(tracker_t* t, float64_t value, int64_t step) noexcept nogil

cdef class BestTracker:
    cdef tracker_t _t
    cdef cython.pymutex _lock
