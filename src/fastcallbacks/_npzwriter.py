"""`NpzWriter`, the public class, in front of either npz engine.

The engines (`NpzEngine` in the compiled `fastcallbacks._core.npzwriter`,
which writes from a native thread, and in its pure-Python twin
`fastcallbacks._reference.npzwriter`, which writes inside `add()`) only do
the work: create the file, write and commit members, finish the file, and
remember the first failed write's errno. This class owns everything else,
once: argument checks, member names, properties, errors naming the path,
the lock, the fork check, the context manager, `repr` and the refusal to
pickle. Each engine module exports `NpzWriter = bind(NpzEngine, __name__)`.

An engine is used by exactly one `NpzWriter`, under its lock, with checked
arguments; its methods are private:

* `NpzEngine(path, compress, durable, queue_bytes, force_zip64, threads)`
  creates the empty archive (OSError without the path on failure);
* `_write(encoded_name, array, npy_header, copy)` queues (compiled) or
  writes (reference) one member; returns an errno to raise now (a failed
  write the caller waited for), else 0; MemoryError when nothing was queued;
* `_sync()` waits until every queued member is committed (and flushed with
  `durable`); `_finish()` writes the final directory and closes the file
  (once; later calls do nothing);
* `_error()` the errno of the first failed write, else 0; `_done()` the
  members written so far.
"""

import os
import threading

import numpy as np

from . import _forks, _npzappend, _tempfiles
from . import _npzformat


class NpzWriter:
    """Writes numpy arrays into a `.npz` file, one member at a time.

    The file is a standard zip of `.npy` members that `np.load` and
    `zipfile` read; `np.load(path)[name]` returns what `add(name, array)`
    wrote. `add()` validates and returns; the compiled core writes the
    member from a native background thread (it never takes the GIL),
    computing its CRC-32 with the library in `DEFLATE_LIBRARY` chunk by
    chunk; the pure-Python reference writes inside `add()`. Every member is
    committed, that is listed in the file's directory, as soon as it is
    written, so a kill at any moment leaves a file that `np.load` opens with
    every complete member. Stored members are 64-byte aligned, so
    `fastcallbacks.npz.load(path, mmap=True)` can memory-map them.

    While open, the file is sparse with its directory far out (its apparent
    size is up to the file system's size) and `np.load` lists its members
    newest first; `close()` moves the directory after the last member (add
    order) and truncates the file to its real size. The file gets the
    permissions `open()` would give it (`0o666` less the umask).

    Errors of the background writes are raised as `OSError(errno, strerror,
    path)` by the next `add()` or `commit()`, or by `close()`.

    Args:
        path: The file to write, a str or `os.PathLike`.
        mode: `"w"` creates the file (an existing file is replaced); `"a"`
            continues an existing file (not in Keras or numpy: zipfile's
            name for it): its members are kept, in their order, and new ones
            follow. A file a killed writer left is continued too (one that
            `np.load` cannot open is first repaired with
            `fastcallbacks.npz.recover`, or ValueError is raised and it is
            left as it is); without a file, `"a"` creates one. Continuing
            copies the kept members into a new file that replaces the old
            one only once they are all committed, so a kill at any moment
            leaves the old file or the continued one. Do not continue a file
            that a running writer has open. Defaults to `"w"`.
        keep: With `mode="a"`, a callable that takes a member's name (its
            key, without `.npy`) and returns whether to keep it (not in
            Keras or numpy), e.g. to drop what a killed run wrote after its
            last backup. Defaults to `None`: keep every member.
        compress: Whether to deflate members at level 1 (with the library
            the build linked: ISA-L, libdeflate or zlib, see
            `DEFLATE_LIBRARY`), keeping a member stored when deflating does
            not save at least 1/8 of its size. Defaults to `False`.
        durable: Whether `commit()` and `close()` also flush the file to the
            storage device (fdatasync), so that committed members survive a
            power loss (possibly needing `fastcallbacks.npz.recover`).
            Defaults to `False`.
        queue_bytes: Bytes of copied arrays the background writer may hold;
            `add()` waits (GIL released) while the queue is full (the
            reference writes synchronously and only checks it). Defaults to
            `64 << 20` (64 MiB).
        force_zip64: Whether to use zip64 records even where they are not
            needed. Defaults to `False`.
        threads: Threads that deflate when `compress=True`: 1 is the writer
            thread itself; with more, that many helpers deflate queued
            members in parallel and the writer only writes. Defaults to
            `None`: one per core, at most `MAX_HELPERS`.

    Example:

    ```python
    with NpzWriter("acts.npz") as w:
        w.add("dense/epoch_0000", np.zeros((32, 10), "float32"))
    np.load("acts.npz")["dense/epoch_0000"].shape   # (32, 10)
    ```
    """

    _engine_type = None   # set by `bind`
    _engine = None

    def __init__(self, path, mode="w", *, keep=None, compress=False, durable=False,
                 queue_bytes=_npzformat.DEFAULT_QUEUE_BYTES, force_zip64=False, threads=None):
        if self._engine is not None:
            raise RuntimeError("NpzWriter.__init__ called twice")
        if self._engine_type is None:
            raise TypeError("NpzWriter: use fastcallbacks.NpzWriter (an implementation's "
                            "class), not the unbound façade")
        path, queue_bytes = _npzformat.check_options(path, compress, durable, queue_bytes,
                                              force_zip64)
        threads = _npzformat.check_threads(threads)
        _npzappend.check_mode(mode, keep)
        self._path = path
        self._mode = mode
        self._compress = bool(compress)
        self._durable = bool(durable)
        self._queue_bytes = queue_bytes
        self._threads = threads
        self._names = set()
        self._members = []
        self._reported = False
        self._closed = True
        self._lock = threading.Lock()
        # fork: in a child every call raises (the file and the writer thread
        # are the parent's).
        self._born = _forks.count
        existing = _npzappend.open_existing(path, keep) if mode == "a" else None
        # Appending writes a new file under a temporary name first.
        target = path if existing is None else _tempfiles.temp_path(path, ".npz")
        try:
            self._engine = self._engine_type(target, self._compress, self._durable,
                                             queue_bytes, bool(force_zip64), threads)
        except OSError as e:
            if existing is not None:
                existing.close()
            raise OSError(e.errno, e.strerror, path) from None
        except BaseException:
            if existing is not None:
                existing.close()
            raise
        self._closed = False
        if existing is not None:
            _npzappend.carry_over(self, existing, target, path, self._durable)

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
    def mode(self):
        """`"w"` (a new file) or `"a"` (continuing an existing one)."""
        return self._mode

    @property
    def compress(self):
        """Whether members are deflated (when that pays)."""
        return self._compress

    @property
    def durable(self):
        """Whether `commit()` and `close()` flush the file to the device."""
        return self._durable

    @property
    def queue_bytes(self):
        """Bytes of copied arrays the background writer may hold."""
        return self._queue_bytes

    @property
    def members(self):
        """Names passed to `add()` so far, in order."""
        return tuple(self._members)

    @property
    def threads(self):
        """Threads that deflate when `compress=True` (1: the writer thread
        itself; the reference deflates inside `add()`)."""
        return self._threads

    @property
    def pending(self):
        """Members added but not yet written (never blocks; 0 once closed)."""
        self._check_process()
        if self._closed:
            return 0
        return max(len(self._members) - self._engine._done(), 0)

    # -- public API ----------------------------------------------------------
    def add(self, name, array, *, copy=True):
        """Queues `array` as member `name + ".npy"` (read back as `name`).

        Args:
            name: The member's key: a non-empty str, unique in the file; it
                may contain `/`.
            array: Anything `np.asarray` turns into an array that is not an
                object array. Non-contiguous arrays are copied to C order
                first.
            copy: Whether to copy the array's bytes (GIL released) before
                returning, so that the caller may change the array at once
                and the write overlaps the caller's work; `False` copies
                nothing and returns only once the member has been written
                (GIL released while waiting). Either way, changing the array
                after `add()` returns cannot alter the member. Defaults to
                `True`.

        Raises:
            TypeError: For a bad name or array (nothing is queued).
            ValueError: For a bad or repeated name, or a closed writer.
            OSError: If writing an earlier member failed (with the path).
            RuntimeError: In a child forked after the writer was created.
        """
        self._check_process()
        with self._lock:
            self._check_open()
            if not isinstance(copy, (bool, np.bool_)):
                raise TypeError(f"NpzWriter.add: `copy` must be a bool, got {copy!r}")
            encoded = _npzformat.member_name(name, self._names)
            a, fortran = _npzformat.member_array(array)
            header = _npzformat.npy_header(a, fortran)
            self._raise_error()
            self._names.add(name)
            self._members.append(name)
            try:
                err = self._engine._write(encoded, a, header, bool(copy))
            except MemoryError:
                self._names.discard(name)
                self._members.pop()
                raise
            if err:
                self._raise_error()

    def commit(self):
        """Waits until every added member is written and listed in the file.

        With `durable=True` the file is also flushed to the device.

        Raises:
            ValueError: If the writer is closed.
            OSError: If a write failed (with the path).
            RuntimeError: In a child forked after the writer was created.
        """
        self._check_process()
        with self._lock:
            self._check_open()
            self._raise_error()
            self._engine._sync()
            self._raise_error()

    def close(self):
        """Writes the final directory and closes the file (idempotent).

        Raises:
            OSError: If a write failed and no earlier call has reported it
                (with the path).
            RuntimeError: In a child forked after the writer was created.
        """
        self._check_process()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._engine._finish()
            if not self._reported:
                self._raise_error()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return f"<NpzWriter {self._path!r} {state}, {len(self._members)} members>"

    def __reduce__(self):
        raise TypeError("NpzWriter cannot be pickled (it owns an open file)")

    # -- internals -----------------------------------------------------------
    def _check_process(self):
        # Before the lock: a lock of a forked copy may be held for good.
        if self._born != _forks.count:
            raise _forks.created_elsewhere(f"NpzWriter({self._path!r})")

    def _check_open(self):
        if self._closed:
            raise ValueError(f"NpzWriter: {self._path!r} is closed")

    def _abandon(self):
        # A failed start (mode="a"): finish the engine's file, quietly.
        with self._lock:
            self._closed = True
            self._engine._finish()

    def _raise_error(self):
        err = self._engine._error()
        if err:
            self._reported = True
            raise OSError(err, os.strerror(err), self._path)


def bind(engine_type, module):
    """`NpzWriter` with `engine_type` doing the work, named as a class of
    `module` (the engine's module)."""
    return type("NpzWriter", (NpzWriter,),
                {"_engine_type": engine_type, "__module__": module,
                 "__qualname__": "NpzWriter", "__doc__": NpzWriter.__doc__})
