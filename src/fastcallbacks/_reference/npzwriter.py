"""Pure-Python reference of the streaming `.npz` writer (the spec).

The compiled writer in `fastcallbacks._core.npzwriter` writes the same bytes
for the same calls (stored members; deflated members may differ because the
compressors differ), but from a native background thread. This one writes
synchronously inside `add()`.

File layout at any moment (every step below keeps it a valid zip)::

    [member 1][member 2]...[member k][hole][central directory][end record][slack]

* Members are contiguous from offset 0. A stored member's local header
  carries an 0xA11E "data stream alignment" extra field padded so that its
  `.npy` header, and therefore its array data, starts at a multiple of 64.
* The central directory (CD) and end-of-central-directory records ("the
  tail") sit after a hole of unreferenced bytes; `slack` is zeros after the
  end record (zip readers ignore trailing bytes without a signature).
* Adding a member that fits in the hole: write it there, then append its CD
  entry and a new end record in one small write over the old end record.
* Adding one that does not fit ("tail move", the shadow-tail scheme): first
  write a copy of the current tail beyond the member's extent and beyond the
  current end of file, then the member, then append its entry as above.
  The copy is placed `min(16 * len(CD), 64 MiB)` bytes further on, so tail
  moves get rarer as the directory grows (amortized O(1) per member).
* The last end record in the file therefore always describes a directory of
  complete members only: a kill at any moment leaves a loadable file.
  Appends never extend the file while they overwrite the end record (the
  slack is extended first, separately), so a full disk never tears it.
* `close()` writes the final tail right after the last member when it fits
  in the hole (otherwise in place), marks it with the archive comment
  `CLOSED_COMMENT`, and truncates the file.
"""

import os
import struct
import threading
import zlib

import numpy as np

from .. import _forks
from .. import _npzformat as fmt

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR = struct.Struct("<IIQI")
_DOS_DATE = (0 << 9) | (1 << 5) | 1   # 1980-01-01
_DOS_TIME = 0
_EXTERNAL_ATTR = 0o100600 << 16       # regular file, rw-------
_MAX_RESERVE = 64 << 20
_PROBE = 64 << 10
DEFLATE_LEVEL = 1
DEFLATE_LIBRARY = "zlib " + zlib.ZLIB_RUNTIME_VERSION


def crc32(data, value=0):
    """CRC-32 (zip/gzip polynomial) of a bytes-like object, continuing `value`."""
    return zlib.crc32(data, value) & 0xFFFFFFFF


def _round_up(x, m):
    return -(-x // m) * m


def _slack_end(x):
    # End of file after a tail ending at x: at least 1 KiB of zeros, up to
    # a page boundary.
    return _round_up(x + 1024, fmt.PAGE)


def _pays(compressed, size):
    return compressed <= size * 7 // 8


class _Layout:
    """Zip record encoders and the writer's position state (no I/O)."""

    def __init__(self, force_zip64):
        self.force = force_zip64
        self.data_end = 0     # end of the last member
        self.tail = 0         # offset of the central directory
        self.cd = bytearray()
        self.count = 0
        self.file_size = 0

    def local_header(self, name, method, crc, csize, usize, offset):
        zip64 = self.force or csize > fmt.ZIP64_LIMIT or usize > fmt.ZIP64_LIMIT
        extra = b""
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, usize, csize)
            csize = usize = 0xFFFFFFFF
        if method == 0:
            pad = -(offset + 30 + len(name) + len(extra) + 6) % fmt.ALIGN
            extra += struct.pack("<HHH", 0xA11E, 2 + pad, fmt.ALIGN) + bytes(pad)
        flags = 0x800 if not name.isascii() else 0
        return _LOCAL.pack(0x04034B50, 45 if zip64 else 20, flags, method, _DOS_TIME,
                           _DOS_DATE, crc, csize, usize, len(name), len(extra)) + name + extra

    def central_entry(self, name, method, crc, csize, usize, offset):
        big = [self.force or usize > fmt.ZIP64_LIMIT, self.force or csize > fmt.ZIP64_LIMIT,
               self.force or offset > fmt.ZIP64_LIMIT]
        values = [usize, csize, offset]
        extra = b""
        if any(big):
            fields = [v for v, b in zip(values, big) if b]
            extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields)
            usize, csize, offset = (0xFFFFFFFF if b else v for v, b in zip(values, big))
        version = 45 if extra else 20
        flags = 0x800 if not name.isascii() else 0
        return _CENTRAL.pack(0x02014B50, (3 << 8) | version, version, flags, method,
                             _DOS_TIME, _DOS_DATE, crc, csize, usize, len(name),
                             len(extra), 0, 0, 0, _EXTERNAL_ATTR, offset) + name + extra

    def end_records(self, count, cd_size, cd_offset, comment=b""):
        zip64 = (self.force or count >= fmt.COUNT_LIMIT or cd_size > fmt.ZIP64_LIMIT
                 or cd_offset > fmt.ZIP64_LIMIT)
        if not zip64:
            return _END.pack(0x06054B50, 0, 0, count, count, cd_size, cd_offset,
                             len(comment)) + comment
        end64_at = cd_offset + cd_size
        return (_END64.pack(0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
                + _LOCATOR.pack(0x07064B50, 0, end64_at, 1)
                + _END.pack(0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                            len(comment)) + comment)

    def place_tail(self, at, step3):
        """Moves a tail position forward so its small writes stay within a page."""
        cd_len = len(self.cd)
        if cd_len + step3 <= fmt.PAGE:
            if at % fmt.PAGE + cd_len + step3 > fmt.PAGE:
                at = _round_up(at, fmt.PAGE)
        elif step3 <= fmt.PAGE:
            end = at + cd_len
            if end % fmt.PAGE + step3 > fmt.PAGE:
                at += _round_up(end, fmt.PAGE) - end
        return at


class NpzWriter:
    """Writes numpy arrays into a `.npz` file, one member at a time.

    The file is a standard zip of `.npy` members that `np.load` and
    `zipfile` read; `np.load(path)[name]` returns what `add(name, array)`
    wrote. Every member is committed (listed in the file's directory) as soon
    as it is written, so the file stays loadable if the process is killed at
    any moment. Stored members are 64-byte aligned, so
    `fastcallbacks.npz.load(path, mmap=True)` can memory-map them.

    Args:
        path: file to create (an existing file is replaced).
        compress: deflate members (level 1), keeping a member stored when
            deflating does not save at least 1/8 of its size.
        durable: `commit()` and `close()` also flush the file to the storage
            device (fdatasync), so committed members survive a power loss
            (possibly needing `fastcallbacks.npz.recover`).
        queue_bytes: bytes of copied arrays the background writer may hold
            before `add()` waits (the reference writes synchronously and only
            validates it).
        force_zip64: use zip64 records even where they are not needed.

    Example:

    ```python
    with NpzWriter("acts.npz") as w:
        w.add("dense/epoch_0000", np.zeros((32, 10), "float32"))
    np.load("acts.npz")["dense/epoch_0000"].shape   # (32, 10)
    ```
    """

    def __init__(self, path, *, compress=False, durable=False,
                 queue_bytes=fmt.DEFAULT_QUEUE_BYTES, force_zip64=False, threads=None):
        path, queue_bytes = fmt.check_options(path, compress, durable, queue_bytes,
                                              force_zip64)
        self._threads = fmt.check_threads(threads)
        self._path = path
        self._compress = bool(compress)
        self._durable = bool(durable)
        self._queue_bytes = queue_bytes
        self._names = set()
        self._members = []
        self._error = None
        self._reported = False
        self._layout = _Layout(bool(force_zip64))
        self._fd = -1
        self._closed = False
        self._lock = threading.RLock()
        # fork: in a child every call raises (the file is the parent's).
        self._born = _forks.count
        try:
            self._fd = fmt.create_empty(path, self._start(), self._durable)
        except OSError as e:
            self._closed = True
            raise OSError(e.errno, e.strerror, path) from None

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
        """Threads that deflate when `compress=True` (the compiled writer's
        setting; this reference deflates inside `add()`)."""
        return self._threads

    @property
    def pending(self):
        """Members added but not yet written (always 0: `add()` writes)."""
        self._check_process()
        return 0

    # -- public API ----------------------------------------------------------
    def add(self, name, array, *, copy=True):
        """Queues `array` as member `name + ".npy"` (read back as `name`).

        Args:
            name: non-empty str, unique in the file; may contain `/`.
            array: anything `np.asarray` turns into a non-object array.
                Non-contiguous arrays are copied to C order first.
            copy: True copies the array's bytes before returning (so the
                caller may change the array at once) and lets the write
                overlap the caller's work; False copies nothing and returns
                only once the member has been written. Either way, changing
                the array after `add()` returns cannot alter the member.

        Raises:
            TypeError / ValueError: for a bad name or array (nothing queued).
            OSError: if writing an earlier member failed (with the path).
            RuntimeError: in a child forked after the writer was created.
        """
        self._check_process()
        with self._lock:
            self._add(name, array, copy)

    def _add(self, name, array, copy):
        self._check_open()
        if not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"NpzWriter.add: `copy` must be a bool, got {copy!r}")
        encoded = fmt.member_name(name, self._names)
        a, fortran = fmt.member_array(array)
        header = fmt.npy_header(a, fortran)
        self._raise_error()
        self._names.add(name)
        self._members.append(name)
        data = fmt.raw_bytes(a)
        try:
            self._write_member(encoded, header, data)
        except OSError as e:
            self._fail(e)
            self._raise_error()

    def commit(self):
        """Waits until every added member is written and listed in the file.

        With `durable=True` the file is also flushed to the device.
        """
        self._check_process()
        with self._lock:
            self._commit()

    def _commit(self):
        self._check_open()
        self._raise_error()
        if self._durable:
            try:
                _datasync(self._fd)
            except OSError as e:
                self._fail(e)
                self._raise_error()

    def close(self):
        """Writes the final directory and closes the file (idempotent).

        Raises OSError (with the path) if a write failed and no earlier call
        has reported it.
        """
        self._check_process()
        with self._lock:
            self._close()

    def _close(self):
        if self._closed:
            return
        self._closed = True
        try:
            if self._error is None:
                try:
                    self._finish()
                except OSError as e:
                    self._fail(e)
        finally:
            os.close(self._fd)
            self._fd = -1
        if self._error is not None and not self._reported:
            self._raise_error()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return f"<NpzWriter {self._path!r} {state}, {len(self._members)} members>"

    # -- internals -----------------------------------------------------------
    def _check_process(self):
        # Before the lock: a lock of a forked copy may be held for good.
        if self._born != _forks.count:
            raise _forks.created_elsewhere(f"NpzWriter({self._path!r})")

    def _check_open(self):
        if self._closed:
            raise ValueError(f"NpzWriter: {self._path!r} is closed")

    def _fail(self, e):
        if self._error is None:
            self._error = (e.errno or 5, e.strerror or str(e))

    def _raise_error(self):
        if self._error is not None:
            self._reported = True
            raise OSError(self._error[0], self._error[1], self._path)

    def _pwrite(self, data, offset):
        _pwrite(self._fd, data, offset)

    def _start(self):
        """The bytes of the empty archive the file starts as."""
        lay = self._layout
        tail = lay.end_records(0, 0, 0)
        lay.file_size = _slack_end(len(tail))
        return tail + bytes(lay.file_size - len(tail))

    def _write_member(self, name, header, data):
        lay = self._layout
        usize = len(header) + len(data)
        method, payload, crc = 0, None, crc32(data, crc32(header))
        if self._compress:
            payload = _deflate(header, data)
            if payload is not None:
                method = 8
        csize = usize if payload is None else len(payload)
        start = lay.data_end
        local = lay.local_header(name, method, crc, csize, usize, start)
        size = len(local) + csize
        entry = lay.central_entry(name, method, crc, csize, usize, start)
        if start + size > lay.tail:
            self._move_tail(start + size, len(entry))
        self._pwrite(local, start)
        if payload is None:
            self._pwrite(header, start + len(local))
            if len(data):
                self._pwrite(data, start + len(local) + len(header))
        else:
            self._pwrite(payload, start + len(local))
        lay.data_end = start + size
        self._append_entry(entry)

    def _move_tail(self, member_end, entry_len):
        lay = self._layout
        cd_len = len(lay.cd)
        base = max(member_end, lay.file_size)
        at = base + min(16 * cd_len, _MAX_RESERVE)
        # Length of the append that follows the member (entry + end records);
        # the end records' size depends on the final offset, so take the
        # larger (zip64) form when unsure.
        step3 = entry_len + len(lay.end_records(fmt.COUNT_LIMIT, 0, 0))
        at = lay.place_tail(at, step3)
        tail = bytes(lay.cd) + lay.end_records(lay.count, cd_len, at)
        end = _slack_end(at + len(tail))
        self._pwrite(tail + bytes(end - at - len(tail)), at)
        lay.tail = at
        lay.file_size = max(lay.file_size, end)

    def _append_entry(self, entry):
        lay = self._layout
        cd_len = len(lay.cd) + len(entry)
        end = lay.end_records(lay.count + 1, cd_len, lay.tail)
        at = lay.tail + len(lay.cd)
        need = at + len(entry) + len(end)
        if need > lay.file_size:
            # Extend the slack first, in a separate write: if the disk is
            # full, the end record that is there stays intact.
            new_size = _slack_end(need)
            self._pwrite(bytes(new_size - lay.file_size), lay.file_size)
            lay.file_size = new_size
        self._pwrite(entry + end, at)
        lay.cd += entry
        lay.count += 1

    def _finish(self):
        lay = self._layout
        cd_len = len(lay.cd)
        final = bytes(lay.cd) + lay.end_records(lay.count, cd_len, lay.data_end,
                                                fmt.CLOSED_COMMENT)
        if lay.data_end + len(final) <= lay.tail:
            self._pwrite(final, lay.data_end)
            size = lay.data_end + len(final)
        else:
            end = lay.end_records(lay.count, cd_len, lay.tail, fmt.CLOSED_COMMENT)
            self._pwrite(end, lay.tail + cd_len)
            size = lay.tail + cd_len + len(end)
        os.ftruncate(self._fd, size)
        if self._durable:
            _datasync(self._fd)


def _deflate(header, data):
    """Raw deflate of header + data, or None when it does not pay."""
    usize = len(header) + len(data)
    if usize > 4 * _PROBE:
        # Only members much larger than the probe (it is deflated twice).
        probe = bytes(header) + bytes(data[:max(0, _PROBE - len(header))])
        c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
        if not _pays(len(c.compress(probe) + c.flush()), len(probe)):
            return None
    c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    out = c.compress(header) + c.compress(data) + c.flush()
    return out if _pays(len(out), usize) else None


def _pwrite(fd, data, offset):
    view = memoryview(data).cast("B")
    while len(view):
        if hasattr(os, "pwrite"):
            n = os.pwrite(fd, view, offset)
        else:  # pragma: no cover - Windows
            os.lseek(fd, offset, os.SEEK_SET)
            n = os.write(fd, view)
        view = view[n:]
        offset += n


def _datasync(fd):
    getattr(os, "fdatasync", os.fsync)(fd)
