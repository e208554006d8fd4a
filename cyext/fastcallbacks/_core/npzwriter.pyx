"""Streaming `.npz` engine: a native background thread writes the members.

`NpzEngine` does the work of `NpzWriter`; the public class (argument
checks, names, errors, lock, fork check) is `fastcallbacks._npzwriter`'s,
bound to this engine below.

Same file layout, byte for byte, as the reference
`fastcallbacks._reference.npzwriter` (read its module docstring for the
layout and why a kill at any moment leaves a loadable file). Here the
writer thread is a plain OS thread that never takes the GIL: it only sees
memory this module allocated, or the caller's array while the caller is
blocked in `add(copy=False)`.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t, INT64_MAX
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset

cimport cython
cimport numpy as cnp
import os

import numpy as np

from .. import _npzformat
from .._npzwriter import bind as _bind

from ._platform cimport (
    fc_mutex_t, fc_cond_t, fc_thread_t, fc_thread_fn, fc_mutex_init, fc_mutex_destroy,
    fc_mutex_lock, fc_mutex_unlock, fc_cond_init, fc_cond_destroy, fc_cond_wait,
    fc_cond_broadcast, fc_thread_start, fc_thread_join, fc_pwrite_all, fc_truncate,
    fc_datasync, fc_preallocate, fc_big_alloc, fc_big_free)

cnp.import_array()

# The module is split by concern into include files (textual, one C module):
include "_npzdecl.pxi"      # deflate library, constants, job_t and writer_t
include "_npzrecords.pxi"   # zip record encoders (kernels)
include "_npzthread.pxi"    # writer thread and deflating helpers
include "_npzcaller.pxi"    # caller side: queueing, copies, stop and free


_CLOSED_COMMENT = _npzformat.CLOSED_COMMENT

# fork: the writer thread does not exist in a child. A writer created before
# the fork counts as another process's: every call raises RuntimeError there
# (never waiting for that thread or writing into the parent's file), and
# freeing it only closes the child's copy of the descriptor.
cdef unsigned long _forks_seen = 0


def _count_fork():
    global _forks_seen
    _forks_seen += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)


@cython.auto_pickle(False)
cdef class NpzEngine:
    """The work of `NpzWriter` (see `fastcallbacks._npzwriter`, which checks
    the arguments, names the members and holds the lock): queues members
    for the native writer thread."""

    cdef writer_t* _w
    cdef bint _compress, _finished
    cdef int _threads
    cdef bytes _comment
    cdef unsigned long _born     # _forks_seen when created

    def __cinit__(self, *args, **kwargs):
        self._w = NULL
        self._finished = True
        self._born = _forks_seen

    def __init__(self, path, compress, durable, queue_bytes, force_zip64, threads):
        if self._w != NULL:
            raise RuntimeError("NpzEngine.__init__ called twice")
        if not 1 <= threads <= MAX_HELPERS or not 1 <= queue_bytes <= INT64_MAX:
            raise ValueError("NpzEngine: threads or queue_bytes out of range")
        self._threads = threads
        self._compress = bool(compress)
        self._comment = _CLOSED_COMMENT
        cdef writer_t* w = <writer_t*>malloc(sizeof(writer_t))
        cdef int k, nhelpers = 0
        if w == NULL:
            raise MemoryError()
        memset(w, 0, sizeof(writer_t))
        fc_mutex_init(&w.mu)
        fc_cond_init(&w.work)
        fc_cond_init(&w.progress)
        fc_cond_init(&w.zdone)
        fc_cond_init(&w.copied)
        w.fd = -1
        w.compress = self._compress
        w.durable = bool(durable)
        w.force = bool(force_zip64)
        w.limit = queue_bytes
        w.comment = <const uint8_t*><char*>self._comment
        w.comment_len = len(self._comment)
        if w.compress:
            w.comp = fc_deflater_new()
            if w.comp == NULL:
                free_writer(w)
                raise MemoryError()
            # `threads` deflate: the writer alone, or that many helpers
            # while the writer only writes.
            nhelpers = self._threads if self._threads > 1 else 0
            for k in range(nhelpers):
                w.hcomp[k] = fc_deflater_new()
                if w.hcomp[k] == NULL:
                    free_writer(w)
                    raise MemoryError()
        w.close_job = new_job(JOB_CLOSE, 0)
        if w.close_job == NULL:
            free_writer(w)
            raise MemoryError()
        self._w = w
        cdef int rc
        # The empty zip (placeholder, end records far beyond), created
        # atomically so that a kill never leaves an empty or torn file behind.
        end_at, w.max_size = _npzformat.tail_reserve(path)
        force = w.force
        w.fd, end_at = _npzformat.create_empty(path, lambda at: _empty_tail(at, force),
                                        end_at, w.durable)
        w.end_at = w.tail = end_at
        w.file_size = page_end(end_at)
        with nogil:
            rc = fc_thread_start(&w.thread, writer_main, w)
        if rc:
            os.close(w.fd)
            w.fd = -1
            raise OSError(rc, os.strerror(rc))
        w.running = True
        if w.compress:
            # Helpers deflate queued members ahead of the writer. With two or
            # more running the writer only writes; otherwise (threads=1, or
            # threads that failed to start) it deflates too.
            for k in range(nhelpers):
                with nogil:
                    rc = fc_thread_start(&w.helpers[k], helper_main, w)
                if rc:
                    break
                w.nhelpers += 1
        self._finished = False

    def __dealloc__(self):
        cdef writer_t* w = self._w
        if w == NULL:
            return
        if self._born != _forks_seen:
            # A copy in a forked child: no writer thread to stop, and its
            # locks may be held for good; the memory is left as it is.
            self._w = NULL
            if w.fd >= 0:
                try:
                    os.close(w.fd)
                except OSError:
                    pass
            return
        # Not closed by the caller: finish the file (errors are lost here;
        # the file still holds every member written).
        stop_writer(w)
        if w.fd >= 0:
            try:
                os.close(w.fd)
            except OSError:
                pass
        self._w = NULL
        free_writer(w)

    cdef _usable(self):
        # Never touch a writer that is finished, or another process's.
        if self._finished or self._born != _forks_seen:
            raise ValueError("NpzEngine: finished, or created in another process")

    def _done(self):
        cdef int64_t done
        self._usable()
        fc_mutex_lock(&self._w.mu)
        done = self._w.members_done
        fc_mutex_unlock(&self._w.mu)
        return done

    def _error(self):
        if self._w == NULL:
            return 0
        return current_error(self._w)

    def _write(self, bytes encoded, a, bytes header, copy):
        self._usable()
        if not isinstance(a, np.ndarray) or not (a.flags.c_contiguous or a.flags.f_contiguous):
            raise TypeError("NpzEngine._write: a contiguous ndarray is needed")
        cdef cnp.ndarray arr = <cnp.ndarray>a
        cdef writer_t* w = self._w
        cdef size_t name_len = len(encoded), header_len = len(header)
        cdef size_t data_len = <size_t>cnp.PyArray_NBYTES(arr)
        cdef const char* src = <const char*>cnp.PyArray_DATA(arr)
        cdef const char* name_p = encoded
        cdef const char* header_p = header
        # Deflate needs header + data contiguous, so compressing copies too.
        cdef bint do_copy = bool(copy) or self._compress
        cdef int64_t cost = data_len if do_copy else 0
        cdef size_t extra = name_len + header_len + (data_len if do_copy else 0)
        cdef job_t* job
        cdef uint64_t seq
        cdef int err = 0
        # The GIL is released only where this call may block or copy a lot:
        # a thread that gives it up waits up to the switch interval (5 ms) to
        # get it back whenever another thread runs Python code, which would
        # cost far more than copying a few MiB with it held.
        cdef bint hold = do_copy and data_len <= GIL_COPY
        # Large stored copies are queued first and written while copied.
        cdef bint stream = do_copy and not self._compress and data_len >= STREAM_MIN
        if cost and not (hold and try_room(w, cost)):
            with nogil:
                wait_for_room(w, cost)
        if hold or not do_copy:
            job = fill_job(w, extra, cost, name_p, name_len, header_p, header_len,
                           src, data_len, do_copy, stream)
        else:
            with nogil:
                job = fill_job(w, extra, cost, name_p, name_len, header_p, header_len,
                               src, data_len, do_copy, stream)
        if job == NULL:
            fc_mutex_lock(&w.mu)
            w.queued -= cost
            fc_mutex_unlock(&w.mu)
            raise MemoryError(f"NpzWriter.add: cannot allocate {extra} bytes")
        seq = submit(w, job)
        if stream:
            if hold:
                stream_copy(w, job, src)
            else:
                with nogil:
                    stream_copy(w, job, src)
        if not do_copy:
            # The caller's buffer is read by the writer thread: wait.
            with nogil:
                err = wait_done(w, seq)
        return err

    def _sync(self):
        self._usable()
        cdef writer_t* w = self._w
        cdef job_t* job = new_job(JOB_SYNC, 0)
        if job == NULL:
            raise MemoryError()
        with nogil:
            wait_done(w, submit(w, job))

    def _finish(self):
        cdef writer_t* w = self._w
        cdef int fd
        if self._finished or self._born != _forks_seen:
            return
        self._finished = True
        with nogil:
            stop_writer(w)
        fd = w.fd
        w.fd = -1
        os.close(fd)


NpzWriter = _bind(NpzEngine, __name__)


def crc32(data, unsigned int value=0):
    """CRC-32 (zip/gzip polynomial) of a bytes-like object, continuing `value`.

    Runs the CRC-32 of the deflate library the module was built with (see
    `DEFLATE_LIBRARY`) with the GIL released.
    """
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef uint32_t crc = value
    if n == 0:
        return value
    with nogil:
        crc = fc_crc32(crc, &view[0], n)
    return crc
