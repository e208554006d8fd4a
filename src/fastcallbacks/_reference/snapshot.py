"""Pure-Python WeightSnapshot (reference of fastcallbacks._core.snapshot)."""

import os
import sys
import threading
import weakref

import numpy as np

# fork: a forked child gives every live snapshot a new lock and an empty
# pool (a lock held by a thread that does not exist in the child is never
# waited for), as the compiled core does.
_live = weakref.WeakSet()


def _after_fork_in_child():
    for snap in list(_live):
        snap._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _unshared(buffers):
    # Overwritable only if nothing but the set holds its arrays: the tuple,
    # the loop variable and getrefcount's own argument.
    return all(sys.getrefcount(a) <= 3 for a in buffers)


def _check_max_sets(max_sets):
    if isinstance(max_sets, bool) or not isinstance(max_sets, (int, np.integer)):
        raise TypeError(f"`max_sets` must be an int, got {max_sets!r}")
    if max_sets < 1:
        raise ValueError(f"`max_sets` must be >= 1, got {max_sets}")
    if max_sets > sys.maxsize:
        raise OverflowError(f"`max_sets` must be <= {sys.maxsize}, got {max_sets}")
    return int(max_sets)


def _sources(arrays):
    # C order, but unlike ascontiguousarray keeps 0-d arrays 0-d.
    srcs = [np.asarray(a, order="C") for a in arrays]
    for a in srcs:
        if a.dtype.hasobject:
            raise TypeError("WeightSnapshot cannot copy object arrays")
    return srcs


class WeightSnapshot:
    """Snapshots of a list of arrays into buffers that are reused.

    `capture(arrays)` returns a new list of numpy arrays equal to `arrays`.
    The arrays of an earlier snapshot are overwritten only when nothing
    outside the snapshot still references them, so a list (or an array, or
    a view of one) that a caller holds never changes.

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

    def __init__(self, max_sets=2):
        self._max_sets = _check_max_sets(max_sets)
        self._pool = []  # free sets, most recently used first
        self.allocations = 0
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by clear(): sets taken earlier are not kept
        _live.add(self)

    def __reduce__(self):
        # Buffers are a cache: a copy starts without them.
        return (WeightSnapshot, (self._max_sets,))

    def _forget(self):
        self._lock = threading.Lock()
        self._pool = []
        self._epoch += 1

    def clear(self):
        """Drop every buffer."""
        with self._lock:
            self._pool = []
            self._epoch += 1

    def _take(self, srcs):
        # A free set for `srcs`, removed from the pool so that no other call
        # can fill it, or a new one; returns (set, epoch).
        with self._lock:
            for k in range(len(self._pool)):
                cand = self._pool[k]
                if len(cand) == len(srcs) and _unshared(cand) and all(
                    b.shape == s.shape and b.dtype == s.dtype for b, s in zip(cand, srcs)
                ):
                    del self._pool[k]
                    return cand, self._epoch
            epoch = self._epoch
        cand = tuple(np.empty(s.shape, s.dtype) for s in srcs)
        with self._lock:
            self.allocations += 1
        return cand, epoch

    def _give(self, chosen, epoch):
        with self._lock:
            if epoch == self._epoch:
                self._pool.insert(0, chosen)
                del self._pool[self._max_sets:]

    def capture(self, arrays):
        """Copy `arrays` (a sequence of array-likes) and return the copies."""
        srcs = _sources(arrays)
        chosen, epoch = self._take(srcs)
        for b, s in zip(chosen, srcs):
            np.copyto(b, s)
        out = list(chosen)
        self._give(chosen, epoch)
        return out

    def capture_while(self, arrays, fn):
        """`capture(arrays)` while `fn()` runs: returns `(copies, fn())`.

        The compiled core copies in a native thread while `fn` runs; here
        the copy simply comes first. `fn` must not change the arrays. If
        `fn` raises, the copy is complete before the exception propagates.
        """
        copies = self.capture(arrays)
        return copies, fn()
