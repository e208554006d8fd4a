"""Pure-Python reference of the streaming `.npz` writer (the spec).

`NpzEngine` does the work of `NpzWriter` (the public class, with the
argument checks, names, errors and lock, is `fastcallbacks._npzwriter`'s,
bound to this engine at the end of this module). The compiled engine in
`fastcallbacks._core.npzwriter` writes the same bytes for the same calls
(stored members; deflated members may differ because the compressors
differ), but from a native background thread. This one writes
synchronously inside `add()`.

File layout while the writer is open::

    [placeholder|member 1]...[member k][hole][entry k]...[entry 1][end records][zeros]
                                              ^ tail (CD start)     ^ end_at    ^ page end = EOF

* Members are contiguous from offset 0. A stored member's local header
  carries an 0xA11E "data stream alignment" extra field padded so that its
  `.npy` header, and therefore its array data, starts at a multiple of 64.
  Before the first member, offset 0 holds `PLACEHOLDER` (an empty archive's
  end record) so that `np.load` recognizes a zip from the first bytes.
* The end records (zip64 record and locator when needed, end of central
  directory) stay at `end_at` while the file is open; the file ends with
  that page. `end_at` (`_npzformat.tail_reserve`) is, on Linux file systems
  with sparse files, the file system's size: the members, filling the hole
  from below, can never reach the directory.
* The central directory (CD) grows downwards from `end_at`: newest entry
  first (`np.load` lists an unclosed file's members newest first).

Invariant, at every instant (including inside any write a SIGKILL tears at
a page boundary, and any write ENOSPC or EFBIG cuts at any byte): the last
end-of-central-directory signature in the file's last 64 KiB is the one at
`end_at` (or `end_at + 76` with zip64 records), the CD it describes sits
right before it and lists exactly the committed members, each complete and
below the CD. Committing a member keeps it:

1. Its local header and data go into the hole at `data_end` (below the
   CD; nothing refers to them yet).
2. Its CD entry goes right below the CD start (still unreferenced).
3. The commit point: the end records are rewritten in place, with the new
   count, size and start. That write is at most 98 bytes inside one page
   already in the file: a kill cannot tear it (the kernel checks for fatal
   signals only between pages), it never extends the file (no EFBIG) and
   needs no new block (no ENOSPC on a file system that overwrites in place).

Any failed write leaves the previous state. When a member would reach the
CD (only where holes are not cheap), the CD and end records are copied
beyond the end of file ("relocation"): one write within one page for a CD
of up to a page minus the end records; a kill inside the write of a larger
one leaves a file only `npz.recover` repairs. A failed copy is truncated away.

`close()` writes the final CD (add order) and end records with the comment
`CLOSED_COMMENT` right after the last member, then truncates the file there
(one atomic `ftruncate`); if the hole is too small it closes in place.
"""

import errno
import os
import threading
import zlib

from .. import _npzformat
from .._npzwriter import bind
from ._npzlayout import Layout as _Layout

_PROBE = 64 << 10
DEFLATE_LEVEL = 1
DEFLATE_LIBRARY = "zlib " + zlib.ZLIB_RUNTIME_VERSION


def crc32(data, value=0):
    """CRC-32 (zip/gzip polynomial) of a bytes-like object, continuing `value`."""
    return zlib.crc32(data, value) & 0xFFFFFFFF


def _round_up(x, m):
    return -(-x // m) * m


def _pays(compressed, size):
    return compressed <= size * 7 // 8


_RELOCATE_MIN = 64 << 20   # a relocation leaves at least this much room


class NpzEngine:
    """The work of `NpzWriter` (see `fastcallbacks._npzwriter`, which checks
    the arguments, names the members and holds the lock): writes each
    member synchronously inside `_write`."""

    def __init__(self, path, compress, durable, queue_bytes, force_zip64, threads):
        self._compress = compress
        self._durable = durable
        self._error_no = 0
        self._writes = 0
        self._layout = _Layout(force_zip64)
        self._fd = -1
        self._finished = True
        lay = self._layout
        end_at, self._max_size = _npzformat.tail_reserve(path)
        self._fd, end_at = _npzformat.create_empty(path, lay.end_page, end_at, durable)
        lay.end_at = lay.tail = end_at
        lay.file_size = _npzformat.page_end(end_at)
        self._finished = False

    def _write(self, encoded, a, header, copy):
        if self._finished:
            raise ValueError("NpzEngine: finished")
        self._writes += 1
        try:
            self._write_member(encoded, header, _npzformat.raw_bytes(a))
        except OSError as e:
            self._fail(e)
            return self._error_no
        return 0

    def _sync(self):
        if self._durable and not self._finished:
            try:
                _datasync(self._fd)
            except OSError as e:
                self._fail(e)

    def _finish(self):
        if self._finished:
            return
        self._finished = True
        try:
            # Also after an error: the layout state holds only what is in
            # the file, and finishing is safe (a failed write changes
            # nothing that is committed).
            try:
                self._finish_file()
            except OSError as e:
                self._fail(e)
        finally:
            os.close(self._fd)
            self._fd = -1

    def _error(self):
        return self._error_no

    def _done(self):
        return self._writes

    def __del__(self):
        # Its NpzWriter was not closed: finish the file like the compiled
        # writer (errors are lost here; the file holds every committed member).
        if not getattr(self, "_finished", True):
            try:
                self._finish()
            except Exception:
                pass

    def _fail(self, e):
        if not self._error_no:
            self._error_no = e.errno or errno.EIO

    def _pwrite(self, data, offset):
        _npzformat.write_at(self._fd, data, offset)

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
        if start + size + len(entry) > lay.tail:
            self._relocate(start + size, len(entry))
        self._pwrite(local, start)
        if payload is None:
            self._pwrite(header, start + len(local))
            if len(data):
                self._pwrite(data, start + len(local) + len(header))
        else:
            self._pwrite(payload, start + len(local))
        lay.data_end = start + size
        self._commit_entry(entry)

    def _commit_entry(self, entry):
        # The entry goes right below the CD (unreferenced), then the end
        # records are rewritten in place: that small write inside one page
        # is the commit point.
        lay = self._layout
        at = lay.tail - len(entry)
        self._pwrite(entry, at)
        self._pwrite(lay.live_end(lay.count + 1, lay.cd_len + len(entry), at, lay.end_at),
                     lay.end_at)
        lay.entries.append(entry)
        lay.cd_len += len(entry)
        lay.count += 1
        lay.tail = at

    def _relocate(self, member_end, entry_len):
        # The member would reach the CD: copy the CD and end records beyond
        # the end of file, leaving room for more members.
        lay = self._layout
        size = lay.cd_len
        base = member_end + entry_len + max(_RELOCATE_MIN, member_end // 2)
        base = _round_up(max(base, lay.file_size), _npzformat.PAGE)
        if size + _npzformat.END_ROOM <= _npzformat.PAGE:
            end_at = base + size       # all in one page: one write a kill cannot tear
        else:
            end_at = _round_up(base + size, _npzformat.PAGE)
        eof = _npzformat.page_end(end_at)
        if eof > self._max_size:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
        end = lay.live_end(lay.count, size, end_at - size, end_at)
        blob = lay.live_cd() + end
        try:
            self._pwrite(blob + bytes(eof - end_at - len(end)), end_at - size)
        except OSError:
            try:
                os.ftruncate(self._fd, lay.file_size)   # the old tail is intact
            except OSError:
                pass
            raise
        lay.end_at = end_at
        lay.tail = end_at - size
        lay.file_size = eof

    def _finish_file(self):
        lay = self._layout
        cd = b"".join(lay.entries)
        pos = lay.data_end
        if lay.count == 0 and lay.force:
            pos = len(_npzformat.PLACEHOLDER)   # keep the file starting with a zip signature
        final = cd + lay.end_records(lay.count, lay.cd_len, pos, _npzformat.CLOSED_COMMENT)
        if pos + len(final) <= lay.tail:
            self._pwrite(final, pos)
            size = pos + len(final)
        else:
            # No room below the CD: close it where it is (newest first).
            end = lay.live_end(lay.count, lay.cd_len, lay.tail, lay.end_at,
                               _npzformat.CLOSED_COMMENT)
            self._pwrite(end, lay.end_at)
            size = lay.end_at + len(end)
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


def _datasync(fd):
    getattr(os, "fdatasync", os.fsync)(fd)


NpzWriter = bind(NpzEngine, __name__)
