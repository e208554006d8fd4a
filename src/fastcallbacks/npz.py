"""Reading, checking and repairing the `.npz` files that `NpzWriter` writes.

* `NpzWriter`: the streaming writer (compiled core, or the pure-Python
  reference when `fastcallbacks.implementation() == "python"`).
* `load(path, mmap=False)`: a read-only mapping of member name to array;
  with `mmap=True` stored members are memory-mapped instead of read
  (`np.load` cannot map npz members). Works on any `.npz`, including those
  of `np.savez`, but only aligned stored members map without a copy.
* `status(path)`: `"closed"` (finished by `close()`), `"open"` (loadable,
  but the writer was killed or is still running) or `"damaged"`.
* `recover(path)`: rewrites the directory of a damaged or unfinished file
  so that it lists every complete member (checked by CRC-32).
"""

import io
import mmap as _mmap
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping

import numpy as np
from numpy.lib import format as npformat

from . import _impl
from . import _npzformat as fmt

__all__ = ["NpzWriter", "NpzMap", "load", "status", "recover", "scan", "read_member", "Member"]

_LOCAL = struct.Struct("<IHHHHHIIIHH")


def __getattr__(name):
    if name == "NpzWriter":
        return _impl.npzwriter.NpzWriter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _crc32(data, value=0):
    return _impl.npzwriter.crc32(data, value)


def _read_npy_header(buf):
    """(shape, fortran_order, dtype, header_length) of a `.npy` stream start."""
    import io

    fp = io.BytesIO(buf)
    version = npformat.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = npformat.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = npformat.read_array_header_2_0(fp)
    else:
        shape, fortran, dtype = npformat._read_array_header(fp, version)
    return shape, fortran, dtype, fp.tell()


class NpzMap(Mapping):
    """Read-only mapping of member name (without `.npy`) to numpy array.

    Returned by `load()`. Arrays are read when accessed; with `mmap=True`,
    stored members are read-only views of one shared memory map of the file
    (valid after `close()` for as long as the arrays are referenced).
    Deflated members are always decompressed into memory.
    """

    def __init__(self, path, mmap=False):
        self.path = os.fspath(path)
        self._file = open(self.path, "rb")
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._infos = {}
            for info in self._zip.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                self._infos[key] = info
            self._map = None
            if mmap and os.fstat(self._file.fileno()).st_size:
                self._map = _mmap.mmap(self._file.fileno(), 0, access=_mmap.ACCESS_READ)
        except BaseException:
            self._file.close()
            raise
        self.mmap = mmap

    @property
    def files(self):
        """Member names, in file order (like `np.load(...).files`)."""
        return list(self._infos)

    def __len__(self):
        return len(self._infos)

    def __iter__(self):
        return iter(self._infos)

    def __contains__(self, key):
        return key in self._infos

    def __getitem__(self, key):
        info = self._infos[key]
        if self._map is not None and info.compress_type == zipfile.ZIP_STORED:
            return self._mapped(info)
        with self._zip.open(info) as f:
            return npformat.read_array(f, allow_pickle=False)

    def _mapped(self, info):
        mm = self._map
        off = info.header_offset
        sig, *_, nlen, elen = _LOCAL.unpack_from(mm, off)
        if sig != 0x04034B50:
            raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
        start = off + 30 + nlen + elen
        head = mm[start:start + min(info.file_size, 1 << 20)]
        shape, fortran, dtype, hlen = _read_npy_header(head)
        if dtype.hasobject:
            raise ValueError(f"{info.filename!r} holds object data, which is never loaded")
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize + hlen != info.file_size:
            raise zipfile.BadZipFile(f"size mismatch in {info.filename!r}")
        if count == 0 or dtype.itemsize == 0:
            empty = np.empty(shape, dtype, order="F" if fortran else "C")
            empty.flags.writeable = False
            return empty
        flat = np.frombuffer(mm, dtype=dtype, count=count, offset=start + hlen)
        return flat.reshape(shape, order="F" if fortran else "C")

    def close(self):
        """Closes the file (mapped arrays stay valid)."""
        self._map = None
        self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"<NpzMap {self.path!r}, {len(self)} members, mmap={self.mmap}>"


def load(path, *, mmap=False):
    """Opens an `.npz` for reading; see `NpzMap`.

    Args:
        path: the file.
        mmap: map stored members instead of reading them (read-only arrays,
            no copy; aligned for any dtype when written by `NpzWriter`).
    """
    if not isinstance(mmap, (bool, np.bool_)):
        raise TypeError(f"load: `mmap` must be a bool, got {mmap!r}")
    return NpzMap(path, mmap=bool(mmap))


def status(path):
    """`"closed"`, `"open"` (loadable, no closed mark) or `"damaged"`."""
    try:
        with zipfile.ZipFile(os.fspath(path)) as z:
            return "closed" if z.comment == fmt.CLOSED_COMMENT else "open"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return "damaged"


class Member:
    """A complete member found by `scan()`."""

    __slots__ = ("name", "raw_name", "offset", "method", "crc", "csize", "usize", "end")

    def __init__(self, name, raw_name, offset, method, crc, csize, usize, end):
        self.name, self.raw_name, self.offset, self.method = name, raw_name, offset, method
        self.crc, self.csize, self.usize, self.end = crc, csize, usize, end

    @property
    def key(self):
        return self.name[:-4] if self.name.endswith(".npy") else self.name

    def __repr__(self):
        return f"Member({self.name!r}, offset={self.offset}, size={self.usize})"


def _zip64_sizes(extra, csize, usize):
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            fields = extra[pos + 4:pos + 4 + size]
            k = 0
            if usize == 0xFFFFFFFF and k + 8 <= len(fields):
                usize = struct.unpack_from("<Q", fields, k)[0]
                k += 8
            if csize == 0xFFFFFFFF and k + 8 <= len(fields):
                csize = struct.unpack_from("<Q", fields, k)[0]
            break
        pos += 4 + size
    return csize, usize


def scan(path):
    """Walks the local headers from the start of the file.

    Returns `(members, end)`: every complete member in order (its CRC-32
    checks out) up to the first missing, torn or corrupt one, and the
    offset where that walk stopped.
    """
    with open(os.fspath(path), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return [], 0
        with _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as mm:
            members, pos = [], 0
            while pos + 30 <= size:
                (sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen,
                 elen) = _LOCAL.unpack_from(mm, pos)
                if sig != 0x04034B50 or flags & 0x8 or method not in (0, 8):
                    break
                name_end = pos + 30 + nlen
                csize, usize = _zip64_sizes(mm[name_end:name_end + elen], csize, usize)
                start = name_end + elen
                end = start + csize
                if end > size or (method == 0 and csize != usize):
                    break
                view = memoryview(mm)[start:end]
                try:
                    if method == 0:
                        ok = _crc32(view) == crc
                    else:
                        raw = zlib.decompress(view, -15)
                        ok = len(raw) == usize and _crc32(raw) == crc
                except zlib.error:
                    ok = False
                finally:
                    view.release()
                if not ok:
                    break
                raw_name = bytes(mm[pos + 30:name_end])
                name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
                members.append(Member(name, raw_name, pos, method, crc, csize, usize, end))
                pos = end
            return members, pos


def read_member(path, member):
    """The array of a member found by `scan()`, read without changing the
    file (a copy: works on damaged files that `load` cannot open)."""
    with open(os.fspath(path), "rb") as f:
        f.seek(member.end - member.csize)
        raw = f.read(member.csize)
    if member.method == 8:
        raw = zlib.decompress(raw, -15)
    return npformat.read_array(io.BytesIO(raw), allow_pickle=False)


def recover(path):
    """Repairs `path` in place so that it lists every complete member.

    Walks the local headers (see `scan`), writes a fresh directory right
    after the last complete member and truncates the file there. Works on
    files left by a killed writer, on torn directories, and on any zip whose
    members were written sequentially with their sizes in the local headers
    (which includes `np.savez` output). Returns the recovered member names
    (without `.npy`).
    """
    from ._reference.npzwriter import _Layout

    path = os.fspath(path)
    members, end = scan(path)
    lay = _Layout(False)
    cd = bytearray()
    for m in members:
        cd += lay.central_entry(m.raw_name, m.method, m.crc, m.csize, m.usize, m.offset)
    tail = bytes(cd) + lay.end_records(len(members), len(cd), end, fmt.CLOSED_COMMENT)
    with open(path, "r+b") as f:
        f.seek(end)
        f.write(tail)
        f.truncate(end + len(tail))
        f.flush()
        os.fsync(f.fileno())
    return [m.key for m in members]
