"""Finding every intact member of a damaged zip and writing them to a new
file: the work behind `npz.scan` and `npz.recover`.

Members are found by their local headers anywhere in the file (not only in
sequence from the start), with their sizes and CRC-32 taken from every
source that has them: the local header, any central-directory entry found
in the file that points at the header or has the same name (a directory
that no longer has an end record, an older copy), and a data descriptor
(bit 3 of the flags: sizes after the data). A member is kept only if its
data decodes to its size and has a CRC-32 that one of these records states,
and, when it starts like a `.npy`, if its header is valid and fits.
"""

import bisect
import errno
import os
import zlib

from . import _npyheader
from . import _npzread
from . import _tempfiles
from . import _ziprecords as zr
from ._npzformat import ALIGN

_MAX_HINTS = 8          # central entries tried per local header
_MAX_DESCRIPTORS = 64   # descriptor signatures tried after a stored bit-3 member
_MAX_RATIO = 1032       # deflate's largest expansion


class Member:
    """A complete member found by `npz.scan()`.

    `name` is the zip name (`raw_name` its UTF-8 bytes, as `recover`
    writes it), `offset` the position of its local header,
    `data_offset` and `end` the bounds of its (compressed) data, `method`
    0 (stored) or 8 (deflated), `crc`, `csize` and `usize` its CRC-32 and
    sizes.
    """

    __slots__ = ("name", "raw_name", "offset", "method", "crc", "csize", "usize", "end")

    def __init__(self, name, raw_name, offset, method, crc, csize, usize, end):
        self.name, self.raw_name, self.offset, self.method = name, raw_name, offset, method
        self.crc, self.csize, self.usize, self.end = crc, csize, usize, end

    @property
    def key(self):
        """The name without `.npy`, as `np.load(...).files` lists it (zipfile
        ends a name at a NUL character)."""
        name = self.zip_name
        return name[:-4] if name.endswith(".npy") else name

    @property
    def zip_name(self):
        """The name as zipfile lists it (ended at a NUL character)."""
        return self.name.split("\x00", 1)[0]

    @property
    def data_offset(self):
        return self.end - self.csize

    def __repr__(self):
        return f"Member({self.name!r}, offset={self.offset}, size={self.usize})"


class Budget:
    """Bytes the search may still read for candidates that do not check out.

    A hostile file can hold many local headers that each state a size
    reaching to its end; checking all of them would read the file once per
    header. Reads for such failures are charged here, and once the budget
    (a few times the data) is spent, only headers a directory entry points
    at are still checked. Members that check out are never charged.
    """

    def __init__(self, nbytes):
        self.left = nbytes

    def allows(self, nbytes):
        return self.left >= nbytes

    def charge(self, nbytes):
        self.left -= nbytes


def positions(buf, signature, start=0, end=None, extents=None):
    """Offsets of every occurrence of `signature` in `buf[start:end]`, looked
    for only inside `extents` (all of `buf` if None)."""
    end = len(buf) if end is None else end
    for lo, hi in extents if extents is not None else [(0, len(buf))]:
        lo, hi = max(lo, start), min(hi, end)
        pos = buf.find(signature, lo, hi) if lo < hi else -1
        while pos >= 0:
            yield pos
            pos = buf.find(signature, pos + 1, hi)


def _extent_end(extents, pos, size):
    """The end of the data extent holding `pos`."""
    if extents is None:
        return size
    i = bisect.bisect_right(extents, (pos, float("inf"))) - 1
    return extents[i][1] if i >= 0 and extents[i][0] <= pos < extents[i][1] else pos


def data_extents(fd, size):
    """`[(start, end)]` of the parts of a file that hold data.

    A writer killed while its file was sparse (end records far beyond the
    members) leaves a file of many GiB that is almost all hole; searching
    only the data keeps a scan proportional to what was written. Where the
    OS cannot tell (no SEEK_DATA), the whole file.
    """
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return [(0, size)]
    out, pos = [], 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, seek_data)
            except OSError as e:
                if e.errno == errno.ENXIO:   # only a hole from here on
                    break
                raise
            end = min(os.lseek(fd, start, seek_hole), size)
            if end <= start:
                break
            out.append((start, end))
            pos = end
    except OSError:
        return [(0, size)]
    return out


def has_zip_records(buf, extents=None):
    """Whether `buf` holds any zip record signature at all."""
    return any(next(positions(buf, s, extents=extents), None) is not None for s in
               (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06"))


def _check(buf, start, csize, method, usize):
    """`((crc, head, used), read)` of a member's data, with None instead of
    the triple if it does not decode to exactly `usize` bytes. `head` is its
    first 64 KiB decoded, `used` the compressed bytes it really takes (a
    deflate stream can end before the `csize` a damaged record states;
    zipfile reads such a member), `read` the bytes read to find out."""
    if start < 0 or csize < 0 or start + csize > len(buf):
        return None, 0
    value, head = 0, b""
    if method == zr.STORED:
        if csize != usize:
            return None, 0
        for p in range(start, start + csize, _npzread.CHUNK):
            out = buf[p:min(p + _npzread.CHUNK, start + csize)]
            head += out[:max((1 << 16) - len(head), 0)]
            value = zlib.crc32(out, value)
        return (value, head, csize), csize
    inflate = _npzread.Inflate(buf, start, csize, usize)
    try:
        for out in inflate:
            head += out[:max((1 << 16) - len(head), 0)]
            value = zlib.crc32(out, value)
    except zlib.error:
        return None, inflate.read
    if inflate.total != usize:
        return None, inflate.read
    return (value, head, inflate.used), inflate.read


def _npy_fits(head, usize):
    """False for data that starts like a `.npy` but whose header is invalid
    or declares more data than there is."""
    if not head.startswith(_npyheader.MAGIC):
        return True
    try:
        h = _npyheader.decode(head)
    except ValueError:
        return False
    return not h.dtype.hasobject and h.length + h.data_size <= usize


def _deflate_end(buf, start, limit):
    """`((csize, usize, crc), read)` of a deflate stream starting at `start`
    whose length is not recorded, with None instead of the triple if there
    is none; `read` is the bytes read to find out."""
    d = zlib.decompressobj(-15)
    pos, total, value = start, 0, 0
    try:
        while not d.eof:
            if d.unconsumed_tail:
                data = d.unconsumed_tail
            elif pos < len(buf):
                data = buf[pos:pos + _npzread.CHUNK]
                pos += len(data)
            else:
                return None, pos - start
            out = d.decompress(data, _npzread.CHUNK)
            total += len(out)
            if total > limit or (not out and not data):
                return None, pos - start
            value = zlib.crc32(out, value)
    except zlib.error:
        return None, pos - start
    return (pos - len(d.unused_data) - len(d.unconsumed_tail) - start, total, value), pos - start


def _descriptor_trials(buf, h, method, extents=None, budget=None):
    """Sizes and CRCs for a bit-3 member from its data descriptor."""
    start = h.data_start
    if method == zr.DEFLATED:
        found, read = _deflate_end(buf, start, _MAX_RATIO * (len(buf) - start) + 1024)
        if found is None:
            if budget is not None:
                budget.charge(read)
            return []
        csize, usize, crc = found
        for zip64 in (False, True):
            for d_crc, d_csize, d_usize in zr.descriptors_at(buf, start + csize, zip64):
                if (d_crc, d_csize, d_usize) == (crc, csize, usize):
                    return [(csize, usize, {crc})]
        return []
    trials = []
    for n, q in enumerate(positions(buf, b"PK\x07\x08", start,
                                    _extent_end(extents, start, len(buf)))):
        if n >= _MAX_DESCRIPTORS:
            break
        for zip64 in (False, True):
            for d_crc, d_csize, d_usize in zr.descriptors_at(buf, q, zip64):
                if d_csize == d_usize == q - start:
                    trials.append((d_csize, d_usize, {d_crc}))
    return trials


def _validate(buf, h, hints, listed=None, extents=None, budget=None):
    """The `Member` for local header `h` if its data checks out, else None.

    Method, sizes and CRC are tried from the local header and from each
    directory entry (zipfile reads a member by its directory entry, so a
    damaged local method or size field does not make it unreadable).
    `listed` is the name zipfile lists for this header, if any.
    """
    trials = []   # (method, csize, usize, CRCs, flags)
    if not h.flags & zr.FLAG_DESCRIPTOR and h.csize is not None and h.usize is not None:
        trials.append((h.method, h.csize, h.usize, {h.crc} | {e.crc for e in hints},
                       h.flags))
    for e in hints:
        trials.append((e.method, e.csize, e.usize, {e.crc, h.crc}, e.flags))
    if h.flags & zr.FLAG_DESCRIPTOR and (hints or budget is None or budget.left > 0):
        for method in dict.fromkeys([h.method] + [e.method for e in hints]):
            if method in (zr.STORED, zr.DEFLATED):
                trials += [(method, c, u, crcs, h.flags)
                           for c, u, crcs in _descriptor_trials(buf, h, method, extents,
                                                                budget)]
    tried = set()
    for method, csize, usize, crcs, flags in trials:
        if (flags & zr.FLAG_ENCRYPTED or method not in (zr.STORED, zr.DEFLATED)
                or (method, csize, usize) in tried or len(tried) >= 6):
            continue
        tried.add((method, csize, usize))
        if budget is not None and not hints and not budget.allows(min(csize, len(buf))):
            continue
        checked, read = _check(buf, h.data_start, csize, method, usize)
        if checked is None or checked[0] not in crcs or not _npy_fits(checked[1], usize):
            if budget is not None:
                budget.charge(read)
            continue
        crc, head, used = checked
        # The name: the one zipfile lists for this header; else the local
        # header's if it states this CRC or a directory entry agrees (it is
        # intact); else that of a directory entry pointing here with this CRC.
        named = [e for e in hints if e.crc == crc and e.local_offset == h.offset]
        local_ok = h.crc == crc or any(e.raw_name == h.raw_name for e in named)
        names = [listed] if listed else []
        for src in ([h] + named if local_ok or not named else named + [h]):
            names.append(zr.decode_name(src.raw_name, src.flags))
        name = next((n for n in names if n), None)
        if not name:
            return None
        return Member(name, name.encode("utf-8"), h.offset, method, crc, used, usize,
                      h.data_start + used)
    return None


def find_members(buf, prefer=None, extents=None):
    """Every intact member of `buf` (one per name), in file order.

    Args:
        buf: the file's bytes (an mmap).
        prefer: `{name: local header offset}` of the members a working
            directory lists; for a name found more than once, the member
            at that offset is kept (else the last one in the file).
        extents: the parts of the file that hold data (`data_extents`);
            records are looked for only there. Defaults to all of `buf`.
    """
    prefer = prefer or {}
    listed = {offset: name for name, offset in prefer.items()}
    by_offset, by_name = {}, {}
    for pos in positions(buf, b"PK\x01\x02", extents=extents):
        e = zr.central_entry_at(buf, pos)
        if e is not None:
            by_offset.setdefault(e.local_offset, []).append(e)
            by_name.setdefault(e.raw_name, []).append(e)
    chosen, covered = {}, 0
    data = sum(hi - lo for lo, hi in extents) if extents is not None else len(buf)
    budget = Budget(4 * data + (64 << 20))
    for pos in positions(buf, b"PK\x03\x04", extents=extents):
        if pos < covered and pos not in by_offset:
            continue   # inside the data of a member found already (a nested zip)
        h = zr.local_header_at(buf, pos)
        if h is None:
            continue
        hints = (by_offset.get(pos, [])[:_MAX_HINTS]
                 + [e for e in by_name.get(h.raw_name, [])[:_MAX_HINTS]
                    if e.local_offset != pos])
        m = _validate(buf, h, hints, listed.get(pos), extents, budget)
        if m is None:
            continue
        covered = max(covered, m.end)
        old = chosen.get(m.zip_name)
        if old is None or prefer.get(m.zip_name) != old.offset:
            chosen[m.zip_name] = m
    return sorted(chosen.values(), key=lambda m: m.offset)


def write_salvage(buf, members, path, mode, comment):
    """Writes `members` (copied from `buf`) as a fresh zip to a new temporary
    file next to `path` (`_tempfiles.create_temp`: created with O_EXCL, never
    following a link) with permission bits `mode`, and returns its name.
    Stored members' data is 64-byte aligned."""
    tmp, fd = _tempfiles.create_temp(path, ".recover")
    with _tempfiles.unlink_on_failure(tmp), os.fdopen(fd, "wb") as f:
        pos, cd = 0, bytearray()
        for m in members:
            align = ALIGN if m.method == zr.STORED else 0
            head = zr.local_header(m.raw_name, m.method, m.crc, m.csize, m.usize, pos,
                                   align)
            f.write(head)
            for p in range(m.data_offset, m.end, _npzread.CHUNK):
                f.write(buf[p:min(p + _npzread.CHUNK, m.end)])
            cd += zr.central_entry(m.raw_name, m.method, m.crc, m.csize, m.usize, pos)
            pos += len(head) + m.csize
        f.write(cd)
        f.write(zr.end_records(len(members), len(cd), pos, comment))
        f.flush()
        if hasattr(os, "fchmod"):
            os.fchmod(f.fileno(), mode & 0o7777)
        os.fsync(f.fileno())
    return tmp


def replace(tmp, path):
    """Moves `tmp` over `path` and flushes the directory entry."""
    os.replace(tmp, path)
    _tempfiles.fsync_dir(path)
