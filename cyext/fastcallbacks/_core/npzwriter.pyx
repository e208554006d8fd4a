"""Streaming `.npz` writer: a native background thread writes the members.

Same file layout, byte for byte, as the reference
`fastcallbacks._reference.npzwriter` (read its module docstring for the
layout and why a kill at any moment leaves a loadable file). Here the
writer thread is a plain OS thread that never takes the GIL: it only sees
memory this module allocated, or the caller's array while the caller is
blocked in `add(copy=False)`.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset

cimport cython
cimport numpy as cnp
import os

import numpy as np

from .. import _forks
from .. import _npzformat as fmt

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


_CLOSED_COMMENT = fmt.CLOSED_COMMENT

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


cdef class NpzWriter:
    """Writes numpy arrays into a `.npz` file from a native background thread.

    The file is a standard zip of `.npy` members that `np.load` and
    `zipfile` read; `np.load(path)[name]` returns what `add(name, array)`
    wrote. `add()` validates and returns; a native thread (not a Python
    thread: it never takes the GIL) writes the member, computing its CRC-32
    (with the library in `DEFLATE_LIBRARY`) chunk by chunk. Every member is
    committed, that is listed in the file's directory, as soon as it is
    written, so a kill at any moment leaves a file that `np.load` opens
    with every complete member.
    Stored members are 64-byte aligned for `fastcallbacks.npz.load(path,
    mmap=True)`.

    While open, the file is sparse with its directory far out (its apparent
    size is up to the file system's size) and `np.load` lists its members
    newest first; `close()` moves the directory after the last member (add
    order) and truncates the file to its real size.

    Args:
        path: file to create (an existing file is replaced).
        compress: deflate members at level 1 (with the library the build
            linked: ISA-L, libdeflate or zlib, see `DEFLATE_LIBRARY`),
            keeping a member stored when that does not save at least 1/8
            of its size.
        durable: `commit()` and `close()` also flush the file to the storage
            device (fdatasync), so committed members survive a power loss
            (possibly needing `fastcallbacks.npz.recover`).
        queue_bytes: copied bytes the writer may hold; `add()` waits
            (GIL released) while the queue is full.
        force_zip64: use zip64 records even where they are not needed.

    Errors of the background writes are raised as `OSError(errno, strerror,
    path)` by the next `add()`/`commit()`, or by `close()`.

    Example:

    ```python
    with NpzWriter("acts.npz") as w:
        w.add("dense/epoch_0000", np.zeros((32, 10), "float32"))
    np.load("acts.npz")["dense/epoch_0000"].shape   # (32, 10)
    ```
    """

    cdef writer_t* _w
    cdef object _path
    cdef set _names
    cdef list _members
    cdef bint _closed, _reported
    cdef bint _compress, _durable
    cdef Py_ssize_t _queue_bytes
    cdef int _threads
    cdef bytes _comment
    cdef cython.pymutex _lock
    cdef unsigned long _born     # _forks_seen when created

    def __cinit__(self):
        self._w = NULL
        self._closed = True
        self._born = _forks_seen

    def __init__(self, path, *, compress=False, durable=False,
                 queue_bytes=fmt.DEFAULT_QUEUE_BYTES, force_zip64=False, threads=None):
        if self._w != NULL:
            raise RuntimeError("NpzWriter.__init__ called twice")
        path, queue_bytes = fmt.check_options(path, compress, durable, queue_bytes,
                                              force_zip64)
        self._threads = fmt.check_threads(threads)
        self._path = path
        self._compress = bool(compress)
        self._durable = bool(durable)
        self._queue_bytes = queue_bytes
        self._names = set()
        self._members = []
        self._reported = False
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
        w.durable = self._durable
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
        end_at, w.max_size = fmt.tail_reserve(path)
        force = w.force
        try:
            w.fd, end_at = fmt.create_empty(path, lambda at: _empty_tail(at, force),
                                            end_at, self._durable)
        except OSError as e:
            raise OSError(e.errno, e.strerror, path) from None
        w.end_at = w.tail = end_at
        w.file_size = page_end(end_at)
        with nogil:
            rc = fc_thread_start(&w.thread, writer_main, w)
        if rc:
            os.close(w.fd)
            w.fd = -1
            raise OSError(rc, os.strerror(rc), path)
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
        self._closed = False

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

    # -- properties ----------------------------------------------------------
    @property
    def path(self):
        """The file being written."""
        return self._path

    @property
    def closed(self):
        """True once `close()` has run."""
        return self._closed

    @property
    def compress(self):
        return self._compress

    @property
    def durable(self):
        return self._durable

    @property
    def queue_bytes(self):
        return self._queue_bytes

    @property
    def members(self):
        """Names passed to `add()` so far, in order."""
        return tuple(self._members)

    @property
    def threads(self):
        """Threads that deflate when `compress=True`: 1 is the writer thread
        itself; with more, that many helpers deflate queued members in
        parallel and the writer only writes (default: one per core, at
        most 4)."""
        return self._threads

    @property
    def pending(self):
        """Members added but not yet written (never blocks; 0 once closed)."""
        cdef int64_t done
        self._check_process()
        if self._closed:
            return 0
        fc_mutex_lock(&self._w.mu)
        done = self._w.members_done
        fc_mutex_unlock(&self._w.mu)
        return max(len(self._members) - done, 0)

    # -- public API ----------------------------------------------------------
    def add(self, name, array, *, copy=True):
        """Queues `array` as member `name + ".npy"` (read back as `name`).

        Args:
            name: non-empty str, unique in the file; may contain `/`.
            array: anything `np.asarray` turns into a non-object array.
                Non-contiguous arrays are copied to C order first.
            copy: True copies the array's bytes (GIL released) before
                returning, so the caller may change the array at once, and
                the write overlaps the caller's work; False copies nothing
                and returns only once the member has been written (GIL
                released while waiting). Either way, changing the array after
                `add()` returns cannot alter the member.

        Raises:
            TypeError / ValueError: for a bad name or array (nothing queued).
            OSError: if writing an earlier member failed (with the path).
            RuntimeError: in a child forked after the writer was created.
        """
        self._check_process()
        with self._lock:
            self._add(name, array, copy)

    cdef _add(self, name, array, copy):
        self._check_open()
        if not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"NpzWriter.add: `copy` must be a bool, got {copy!r}")
        cdef bytes encoded = fmt.member_name(name, self._names)
        a, fortran = fmt.member_array(array)
        cdef bytes header = fmt.npy_header(a, fortran)
        self._raise_error()
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
        self._names.add(name)
        self._members.append(name)
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
        if job != NULL:
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
        else:
            fc_mutex_lock(&w.mu)
            w.queued -= cost
            fc_mutex_unlock(&w.mu)
        if job == NULL:
            self._names.discard(name)
            self._members.pop()
            raise MemoryError(f"NpzWriter.add: cannot allocate {extra} bytes")
        if err:
            self._raise_error()

    def commit(self):
        """Waits until every added member is written and listed in the file.

        With `durable=True` the file is also flushed to the device.
        """
        self._check_process()
        with self._lock:
            self._check_open()
            self._raise_error()
            self._wait(JOB_SYNC)
            self._raise_error()

    cdef _wait(self, int kind):
        cdef writer_t* w = self._w
        cdef job_t* job = new_job(kind, 0)
        if job == NULL:
            raise MemoryError()
        with nogil:
            wait_done(w, submit(w, job))

    def close(self):
        """Writes the final directory and closes the file (idempotent).

        Raises OSError (with the path) if a write failed and no earlier call
        has reported it.
        """
        cdef writer_t* w
        cdef int fd
        self._check_process()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            w = self._w
            with nogil:
                stop_writer(w)
            fd = w.fd
            w.fd = -1
            os.close(fd)
            if w.err and not self._reported:
                self._raise_error()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return f"<NpzWriter {self._path!r} {state}, {len(self._members)} members>"

    def __reduce__(self):
        raise TypeError("NpzWriter cannot be pickled (it owns an open file)")

    # -- internals -----------------------------------------------------------
    cdef _check_process(self):
        # Before any lock: a lock of a forked copy may be held for good.
        if self._born != _forks_seen:
            raise _forks.created_elsewhere(f"NpzWriter({self._path!r})")

    cdef _check_open(self):
        if self._closed:
            raise ValueError(f"NpzWriter: {self._path!r} is closed")

    cdef _raise_error(self):
        cdef int err = current_error(self._w)
        if err:
            self._reported = True
            raise OSError(err, os.strerror(err), self._path)


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
