"""Copies of arrays into reused buffers, with the GIL released."""
from cpython.ref cimport Py_REFCNT, PyObject
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

cimport cython
cimport numpy as cnp
from cpython.pyport cimport PY_SSIZE_T_MAX
import os
import threading
import weakref

import numpy as np

from ._platform cimport (fc_thread_t, fc_mutex_t, fc_thread_fn, fc_thread_start, fc_thread_join,
                         fc_mutex_init, fc_mutex_destroy, fc_mutex_lock, fc_mutex_unlock)

cnp.import_array()


# ---------------------------------------------------------------------------
# fork: the buffers are a cache and the helper thread lives only inside
# capture_while, so a forked child keeps working. The hook (run in the child,
# by the thread that forked) counts forks and gives every live snapshot a new
# lock and an empty pool: a lock held by a thread that does not exist in the
# child is never waited for, and a set being filled by such a thread is
# never handed out.

cdef unsigned long _forks = 0
_live = weakref.WeakSet()


def _after_fork_in_child():
    global _forks
    _forks += 1
    for snap in list(_live):
        (<WeightSnapshot>snap)._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


cdef struct copy_t:
    char* dst
    const char* src
    size_t nbytes


# Copies at least this large are split between the calling thread and one
# helper thread: two cores copy ~1.5-1.8x faster than one here, and starting
# a thread (~50 us) is small next to a multi-megabyte copy.
cdef size_t PARALLEL_MIN_BYTES = 8 << 20


cdef struct half_t:
    const copy_t* jobs
    Py_ssize_t n


cdef void copy_all(const copy_t* jobs, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if jobs[i].nbytes:
            memcpy(jobs[i].dst, jobs[i].src, jobs[i].nbytes)


cdef void _copy_half(void* arg) noexcept nogil:
    cdef half_t* h = <half_t*>arg
    copy_all(h.jobs, h.n)


cdef Py_ssize_t split_jobs(copy_t* jobs, Py_ssize_t n, copy_t* second) noexcept nogil:
    """Moves the second half of the bytes of `jobs` into `second` (which has
    room for n + 1 jobs), splitting one job in two if needed; returns the
    number of jobs in `second`. `jobs` keeps the first half (jobs after the
    split point get nbytes 0)."""
    cdef size_t total = 0, half, seen = 0, keep
    cdef Py_ssize_t i, m = 0
    for i in range(n):
        total += jobs[i].nbytes
    half = total // 2
    for i in range(n):
        if seen >= half:
            second[m] = jobs[i]
            jobs[i].nbytes = 0
            m += 1
        elif seen + jobs[i].nbytes > half:
            keep = half - seen
            second[m].dst = jobs[i].dst + keep
            second[m].src = jobs[i].src + keep
            second[m].nbytes = jobs[i].nbytes - keep
            jobs[i].nbytes = keep
            m += 1
            seen = half
        else:
            seen += jobs[i].nbytes
    return m


cdef void copy_parallel(copy_t* jobs, Py_ssize_t n, copy_t* second) noexcept nogil:
    # Never fails: if the helper thread cannot start, this thread copies
    # both halves.
    cdef half_t h
    cdef fc_thread_t th
    h.jobs = second
    h.n = split_jobs(jobs, n, second)
    if fc_thread_start(&th, _copy_half, &h) != 0:
        copy_all(jobs, n)
        copy_all(second, h.n)
        return
    copy_all(jobs, n)
    fc_thread_join(th)


# capture_while: a helper thread copies while the caller runs Python code;
# then the caller takes the pieces still left. Pieces of at most 1 MiB are
# handed out under a lock.
cdef size_t PIECE = 1 << 20


cdef struct share_t:
    const copy_t* jobs
    Py_ssize_t n
    Py_ssize_t next_job
    size_t next_off
    fc_mutex_t mu


cdef bint take_piece(share_t* sh, copy_t* piece) noexcept nogil:
    cdef size_t k
    cdef const copy_t* job
    fc_mutex_lock(&sh.mu)
    while sh.next_job < sh.n and sh.next_off >= sh.jobs[sh.next_job].nbytes:
        sh.next_job += 1
        sh.next_off = 0
    if sh.next_job >= sh.n:
        fc_mutex_unlock(&sh.mu)
        return False
    job = &sh.jobs[sh.next_job]
    k = job.nbytes - sh.next_off
    if k > PIECE:
        k = PIECE
    piece.dst = job.dst + sh.next_off
    piece.src = job.src + sh.next_off
    piece.nbytes = k
    sh.next_off += k
    fc_mutex_unlock(&sh.mu)
    return True


cdef void copy_shared(void* arg) noexcept nogil:
    cdef share_t* sh = <share_t*>arg
    cdef copy_t piece
    while take_piece(sh, &piece):
        memcpy(piece.dst, piece.src, piece.nbytes)


cdef size_t _fill_jobs(copy_t* jobs, list srcs, tuple chosen):
    # One job per array (source -> its buffer); returns the total bytes.
    cdef Py_ssize_t i
    cdef cnp.ndarray b, s
    cdef size_t total = 0
    for i in range(len(srcs)):
        b = chosen[i]
        s = srcs[i]
        jobs[i].dst = <char*>cnp.PyArray_DATA(b)
        jobs[i].src = <const char*>cnp.PyArray_DATA(s)
        jobs[i].nbytes = cnp.PyArray_NBYTES(b)
        total += jobs[i].nbytes
    return total


cdef bint _unshared(tuple buffers):
    # A buffer set may be overwritten only if nothing but the set itself holds
    # its arrays (no list handed out earlier, no view, no other reference).
    cdef object a
    for a in buffers:
        if Py_REFCNT(a) > 2:  # the tuple and the loop variable
            return False
    return True


cdef Py_ssize_t _check_max_sets(max_sets) except -1:
    if isinstance(max_sets, bool) or not isinstance(max_sets, (int, np.integer)):
        raise TypeError(f"`max_sets` must be an int, got {max_sets!r}")
    if max_sets < 1:
        raise ValueError(f"`max_sets` must be >= 1, got {max_sets}")
    if max_sets > PY_SSIZE_T_MAX:
        raise OverflowError(f"`max_sets` must be <= {PY_SSIZE_T_MAX}, got {max_sets}")
    return max_sets


cdef copy_t* _alloc_jobs(Py_ssize_t n, Py_ssize_t per_array) except NULL:
    # Room for per_array * n + 1 jobs, the byte count checked for overflow.
    if n > (<Py_ssize_t>(PY_SSIZE_T_MAX // sizeof(copy_t)) - 1) // per_array:
        raise MemoryError(f"WeightSnapshot: too many arrays ({n})")
    cdef copy_t* jobs = <copy_t*>malloc(<size_t>(per_array * n + 1) * sizeof(copy_t))
    if jobs == NULL:
        raise MemoryError()
    return jobs


cdef class WeightSnapshot:
    """Snapshots of a list of arrays into buffers that are reused.

    `capture(arrays)` returns a new list of numpy arrays equal to `arrays`.
    The arrays of an earlier snapshot are overwritten only when nothing
    outside the snapshot still references them, so a list (or an array, or
    a view of one) that a caller holds never changes. In steady state a
    capture allocates nothing and copies with the GIL released.

    Every call owns the buffer set it fills until it returns: threads
    sharing one snapshot, or a `capture()` inside `capture_while`'s `fn`,
    each get a set of their own.

    Args:
        max_sets: Free buffer sets kept for reuse, an int of at least 1.
            Defaults to `2`.

    Example:

    ```python
    snap = WeightSnapshot()
    weights = [np.ones(3), np.zeros((2, 2))]
    best = snap.capture(weights)   # copies; `weights` may change now
    ```
    """

    cdef list _pool       # free tuples of owned arrays, most recently used first
    cdef Py_ssize_t _max_sets
    cdef readonly Py_ssize_t allocations
    cdef object _lock     # guards _pool, allocations and _epoch
    cdef Py_ssize_t _epoch   # bumped by clear(): sets taken earlier are not kept
    cdef object __weakref__

    def __init__(self, max_sets=2):
        self._max_sets = _check_max_sets(max_sets)
        self._pool = []
        self.allocations = 0
        self._lock = threading.Lock()
        self._epoch = 0
        _live.add(self)

    def __reduce__(self):
        # Buffers are a cache: a copy starts without them.
        return (WeightSnapshot, (self._max_sets,))

    cdef _forget(self):
        # In a forked child: see _after_fork_in_child.
        self._lock = threading.Lock()
        self._pool = []
        self._epoch += 1

    def clear(self):
        """Drop every buffer."""
        with self._lock:
            self._pool = []
            self._epoch += 1

    cdef tuple _take(self, list srcs):
        # A free buffer set for `srcs`, removed from the pool so that no
        # other call can fill it, or a new one; returns (set, epoch).
        cdef Py_ssize_t n = len(srcs), k, epoch = 0
        cdef tuple cand
        with self._lock:
            for k in range(len(self._pool)):
                cand = self._pool[k]
                if len(cand) == n and _unshared(cand) and all(
                    b.shape == s.shape and b.dtype == s.dtype
                    for b, s in zip(cand, srcs)
                ):
                    del self._pool[k]
                    return cand, self._epoch
            epoch = self._epoch
        cand = tuple([np.empty(s.shape, s.dtype) for s in srcs])
        with self._lock:
            self.allocations += 1
        return cand, epoch

    cdef _give(self, tuple chosen, Py_ssize_t epoch):
        # Back into the pool once filled (the caller already holds the list
        # it returns, so the set stays busy until that list is dropped).
        with self._lock:
            if epoch == self._epoch:
                self._pool.insert(0, chosen)
                del self._pool[self._max_sets:]

    def capture(self, arrays):
        """Copy `arrays` (a sequence of array-likes) and return the copies."""
        cdef list srcs = _sources(arrays)
        cdef tuple chosen
        cdef Py_ssize_t epoch = 0
        chosen, epoch = self._take(srcs)
        cdef Py_ssize_t n = len(srcs)
        # Room for the jobs and for the second half of a parallel copy.
        cdef copy_t* jobs = _alloc_jobs(n, 2)
        cdef size_t total = _fill_jobs(jobs, srcs, chosen)
        # srcs keeps every source alive while the copy runs.
        with nogil:
            if total >= PARALLEL_MIN_BYTES:
                copy_parallel(jobs, n, jobs + n)
            else:
                copy_all(jobs, n)
        free(jobs)
        out = list(chosen)
        self._give(chosen, epoch)
        return out

    def capture_while(self, arrays, fn):
        """`capture(arrays)` while `fn()` runs: returns `(copies, fn())`.

        A native thread starts copying, `fn` runs on the calling thread
        (GIL held), then the calling thread copies whatever is left with the
        GIL released. `fn` must not change the arrays. If `fn` raises, the
        copy still completes before the exception propagates. If `fn` forks,
        the child (where the native thread does not exist) copies everything
        itself and never waits for that thread.
        """
        cdef list srcs = _sources(arrays)
        cdef tuple chosen
        cdef Py_ssize_t epoch = 0
        chosen, epoch = self._take(srcs)
        cdef Py_ssize_t n = len(srcs)
        cdef copy_t* jobs = _alloc_jobs(n, 1)
        cdef share_t sh
        cdef fc_thread_t th
        cdef int started = 0
        cdef unsigned long forks = _forks
        _fill_jobs(jobs, srcs, chosen)
        sh.jobs = jobs
        sh.n = n
        sh.next_job = 0
        sh.next_off = 0
        fc_mutex_init(&sh.mu)
        try:
            with nogil:
                # If no thread can start, the calling thread copies it all
                # after fn().
                started = fc_thread_start(&th, copy_shared, &sh) == 0
            result = fn()
        except BaseException:
            self._finish_shared(&sh, jobs, n, started, th, forks)
            self._give(chosen, epoch)   # filled; nothing outside holds it
            raise
        self._finish_shared(&sh, jobs, n, started, th, forks)
        out = list(chosen)
        self._give(chosen, epoch)
        return out, result

    cdef _finish_shared(self, share_t* sh, copy_t* jobs, Py_ssize_t n, int started,
                        fc_thread_t th, unsigned long forks):
        # The caller's srcs keeps every source alive until both threads are done.
        if forks == _forks:
            with nogil:
                copy_shared(sh)
                if started:
                    fc_thread_join(th)
            fc_mutex_destroy(&sh.mu)
            free(jobs)
        else:
            # Forked inside fn: the helper thread is the parent's. Its mutex
            # may be held for good and its pieces may be half copied here,
            # so copy everything again without it; the mutex is not
            # destroyed and the jobs are not freed (the child never frees
            # what that thread might have used).
            with nogil:
                copy_all(jobs, n)


cdef list _sources(arrays):
    # C order, but unlike ascontiguousarray keeps 0-d arrays 0-d.
    cdef list srcs = [np.asarray(a, order="C") for a in arrays]
    for a in srcs:
        if a.dtype.hasobject:
            raise TypeError("WeightSnapshot cannot copy object arrays")
    return srcs
