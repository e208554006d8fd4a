"""Copies of arrays into reused buffers, with the GIL released."""
from cpython.ref cimport Py_REFCNT, PyObject
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

cimport cython
cimport numpy as cnp
import numpy as np

cnp.import_array()


cdef struct copy_t:
    char* dst
    const char* src
    size_t nbytes


cdef void copy_all(const copy_t* jobs, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if jobs[i].nbytes:
            memcpy(jobs[i].dst, jobs[i].src, jobs[i].nbytes)


cdef bint _unshared(tuple buffers):
    # A buffer set may be overwritten only if nothing but the set itself holds
    # its arrays (no list handed out earlier, no view, no other reference).
    cdef object a
    for a in buffers:
        if Py_REFCNT(a) > 2:  # the tuple and the loop variable
            return False
    return True


cdef class WeightSnapshot:
    """Snapshots of a list of arrays into buffers that are reused.

    `capture(arrays)` returns a new list of numpy arrays equal to `arrays`.
    The arrays of an earlier snapshot are overwritten only when nothing
    outside the snapshot still references them, so a list (or an array, or
    a view of one) that a caller holds never changes. In steady state a
    capture allocates nothing and copies with the GIL released.
    """

    cdef list _pool       # tuples of owned arrays, most recently used first
    cdef Py_ssize_t _max_sets
    cdef readonly Py_ssize_t allocations
    cdef cython.pymutex _lock

    def __init__(self, max_sets=2):
        if max_sets < 1:
            raise ValueError(f"`max_sets` must be >= 1, got {max_sets}")
        self._pool = []
        self._max_sets = max_sets
        self.allocations = 0

    def __reduce__(self):
        # Buffers are a cache: a copy starts without them.
        return (WeightSnapshot, (self._max_sets,))

    def clear(self):
        """Drop every buffer."""
        self._pool = []

    def capture(self, arrays):
        """Copy `arrays` (a sequence of array-likes) and return the copies."""
        # C order, but unlike ascontiguousarray keeps 0-d arrays 0-d.
        srcs = [np.asarray(a, order="C") for a in arrays]
        for a in srcs:
            if a.dtype.hasobject:
                raise TypeError("WeightSnapshot cannot copy object arrays")
        cdef Py_ssize_t n = len(srcs), i, k
        cdef tuple chosen = None
        cdef tuple cand
        for k in range(len(self._pool)):
            cand = self._pool[k]
            if len(cand) == n and _unshared(cand) and all(
                b.shape == s.shape and b.dtype == s.dtype
                for b, s in zip(cand, srcs)
            ):
                chosen = cand
                del self._pool[k]
                break
        if chosen is None:
            chosen = tuple(np.empty(s.shape, s.dtype) for s in srcs)
            self.allocations += 1
        self._pool.insert(0, chosen)
        del self._pool[self._max_sets:]

        cdef copy_t* jobs = <copy_t*>malloc(max(n, 1) * sizeof(copy_t))
        if jobs == NULL:
            raise MemoryError()
        cdef cnp.ndarray b, s
        try:
            for i in range(n):
                b = chosen[i]
                s = srcs[i]
                jobs[i].dst = <char*>cnp.PyArray_DATA(b)
                jobs[i].src = <const char*>cnp.PyArray_DATA(s)
                jobs[i].nbytes = cnp.PyArray_NBYTES(b)
            # srcs keeps every source alive while the copy runs.
            with nogil, self._lock:
                copy_all(jobs, n)
        finally:
            free(jobs)
        return list(chosen)
