"""Pure-Python WeightSnapshot (reference of fastcallbacks._core.snapshot)."""

import sys
import threading

import numpy as np


def _unshared(buffers):
    # Overwritable only if nothing but the set holds its arrays: the tuple,
    # the loop variable and getrefcount's own argument.
    return all(sys.getrefcount(a) <= 3 for a in buffers)


class WeightSnapshot:
    """Snapshots of a list of arrays into buffers that are reused.

    `capture(arrays)` returns a new list of numpy arrays equal to `arrays`.
    The arrays of an earlier snapshot are overwritten only when nothing
    outside the snapshot still references them, so a list (or an array, or
    a view of one) that a caller holds never changes.
    """

    def __init__(self, max_sets=2):
        if max_sets < 1:
            raise ValueError(f"`max_sets` must be >= 1, got {max_sets}")
        self._pool = []
        self._max_sets = max_sets
        self.allocations = 0
        self._lock = threading.Lock()

    def __reduce__(self):
        # Buffers are a cache: a copy starts without them.
        return (WeightSnapshot, (self._max_sets,))

    def clear(self):
        """Drop every buffer."""
        self._pool = []

    def _take_free(self, srcs):
        for k in range(len(self._pool)):
            cand = self._pool[k]
            if len(cand) == len(srcs) and _unshared(cand) and all(
                b.shape == s.shape and b.dtype == s.dtype for b, s in zip(cand, srcs)
            ):
                del self._pool[k]
                return cand
        return None

    def capture(self, arrays):
        """Copy `arrays` (a sequence of array-likes) and return the copies."""
        # C order, but unlike ascontiguousarray keeps 0-d arrays 0-d.
        srcs = [np.asarray(a, order="C") for a in arrays]
        for a in srcs:
            if a.dtype.hasobject:
                raise TypeError("WeightSnapshot cannot copy object arrays")
        chosen = self._take_free(srcs)
        if chosen is None:
            chosen = tuple(np.empty(s.shape, s.dtype) for s in srcs)
            self.allocations += 1
        self._pool.insert(0, chosen)
        del self._pool[self._max_sets:]
        with self._lock:
            for b, s in zip(chosen, srcs):
                np.copyto(b, s)
        return list(chosen)

    def capture_while(self, arrays, fn):
        """`capture(arrays)` while `fn()` runs: returns `(copies, fn())`.

        The compiled core copies in a native thread while `fn` runs; here
        the copy simply comes first. `fn` must not change the arrays. If
        `fn` raises, the copy is complete before the exception propagates.
        """
        copies = self.capture(arrays)
        return copies, fn()
