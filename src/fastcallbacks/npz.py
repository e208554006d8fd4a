"""Reading, checking and repairing the `.npz` files that `NpzWriter` writes.

* `NpzWriter`: the streaming writer (compiled core, or the pure-Python
  reference when `fastcallbacks.implementation() == "python"`).
* `load(path, mmap=False)`: a read-only mapping of member name to array;
  with `mmap=True` stored members are memory-mapped instead of read
  (`np.load` cannot map npz members). Works on any `.npz`, including those
  of `np.savez`, but only aligned stored members map without a copy.
* `status(path)`: `"closed"` (finished by `close()`), `"open"` (loadable,
  but the writer was killed or is still running) or `"damaged"`.
* `recover(path)`: repairs a damaged file so that it lists every intact
  member (checked by CRC-32); never makes a file worse.
* `scan(path)` / `read_member(path, member)`: the intact members of any
  file, damaged or not, read without changing it.

Every reader raises `OSError`, `ValueError` or `zipfile.BadZipFile` on
damaged or hostile input, and never allocates more than a member's declared
size (deflated data is decoded in chunks, with that size as a cap).
"""

import mmap as _mmap
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from . import _impl
from . import _npyheader
from . import _npzformat
from . import _npzread
from . import _npzsalvage
from . import _tempfiles
from . import _ziprecords as zr
from ._npzsalvage import Member

__all__ = ["NpzWriter", "NpzMap", "load", "status", "recover", "scan", "read_member", "Member"]


def __getattr__(name):
    if name == "NpzWriter":
        return _impl.npzwriter.NpzWriter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _member_header(readexact, name, size):
    """The `.npy` header of member `name` (`size` bytes decoded), read with
    `readexact`; ValueError for object data or a header that declares more
    data than the member holds."""
    header = _npyheader.read(readexact)
    if header.dtype.hasobject:
        raise ValueError(f"{name!r} holds object data, which is never loaded")
    if header.length + header.data_size > size:
        raise ValueError(f"{name!r}: the .npy header declares more data than the member "
                         "holds")
    return header


def _key(name):
    return name[:-4] if name.endswith(".npy") else name


class NpzMap(Mapping):
    """Read-only mapping of member name (without `.npy`) to numpy array.

    Returned by `load()`. Arrays are read when accessed; with `mmap=True`,
    stored members are read-only views of one shared memory map of the file
    (valid after `close()` for as long as the arrays are referenced).
    Deflated members are always decompressed into memory, never into more
    than the member's declared size.

    Damaged input raises `zipfile.BadZipFile` (the zip structure, including
    a bad CRC-32) or `ValueError` (the `.npy` content), when the file is
    opened or when a member is read; I/O errors raise `OSError`.
    """

    def __init__(self, path, mmap=False):
        self.path = os.fspath(path)
        self._file = _npzread.open_regular(self.path)
        try:
            try:
                self._zip = zipfile.ZipFile(self._file)
            except Exception as e:
                raise _npzread.as_bad_zip(e, f"{self.path!r} is not a readable npz") from e
            self._infos = {}
            for info in self._zip.infolist():
                self._infos[_key(info.filename)] = info
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
        try:
            if self._map is not None and info.compress_type == zipfile.ZIP_STORED:
                return self._mapped(info)
            with self._zip.open(info) as f:
                return self._read(f, info)
        except Exception as e:
            raise _npzread.as_bad_zip(e, f"member {info.filename!r}") from e

    @staticmethod
    def _read(f, info):
        def readexact(n):
            data = bytearray()
            while len(data) < n:
                more = f.read(n - len(data))
                if not more:
                    break
                data += more
            return bytes(data)

        header = _member_header(readexact, info.filename, info.file_size)
        a = _npyheader.empty_array(header)
        if header.data_size:
            flat = a.ravel(order="K").view(np.uint8)
            view, got = memoryview(flat), 0
            while got < header.data_size:
                n = f.readinto(view[got:got + _npzread.CHUNK])
                if not n:
                    raise ValueError(f"{info.filename!r}: EOF in the array data")
                got += n
            view.release()
        while f.read(_npzread.CHUNK):   # to the end: zipfile checks the CRC-32
            pass
        return a

    def _mapped(self, info):
        mm = self._map
        h = zr.local_header_at(mm, info.header_offset)
        if h is None or zr.decode_name(h.raw_name, info.flag_bits) != info.orig_filename:
            raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
        start = h.data_start
        if start + info.file_size > len(mm):
            raise zipfile.BadZipFile(f"{info.filename!r} runs past the end of the file")
        header = _npyheader.decode(mm[start:start + min(info.file_size, 1 << 20)])
        if header.dtype.hasobject:
            raise ValueError(f"{info.filename!r} holds object data, which is never loaded")
        if header.length + header.data_size > info.file_size:
            raise zipfile.BadZipFile(f"size mismatch in {info.filename!r}")
        if header.count == 0 or header.dtype.itemsize == 0:
            empty = _npyheader.empty_array(header)
            empty.flags.writeable = False
            return empty
        flat = np.frombuffer(mm, dtype=header.dtype, count=header.count,
                             offset=start + header.length)
        return flat.reshape(header.shape, order="F" if header.fortran_order else "C")
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
            Defaults to `False`.

    Raises:
        OSError: the file cannot be opened or read.
        ValueError: it is not a regular file, or a member's `.npy` content
            is invalid.
        zipfile.BadZipFile: it is not a zip file, or its structure is
            damaged.
    """
    if not isinstance(mmap, (bool, np.bool_)):
        raise TypeError(f"load: `mmap` must be a bool, got {mmap!r}")
    return NpzMap(path, mmap=bool(mmap))


def status(path):
    """Whether `np.load(path)` can open the file and list its members.

    Returns `"closed"` (finished by `NpzWriter.close()` or written by
    `recover()`), `"open"` (loadable, but the writer was killed or is still
    running, or another program wrote it) or `"damaged"` (`np.load` cannot
    open it, or a listed member's local header is missing). Only the zip
    structure is checked, not the members' data (`recover` and the
    `inspect` command check that).

    Raises OSError if the file cannot be opened, and ValueError if it is not
    a regular file.
    """
    with _npzread.open_regular(path) as f:
        if not _npzread.starts_like_npz(f.read(4)):
            return "damaged"
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as z:
                size = os.fstat(f.fileno()).st_size
                for info in z.infolist():
                    if not 0 <= info.header_offset <= size - zr.LOCAL.size:
                        return "damaged"
                    f.seek(info.header_offset)
                    if f.read(4) != b"PK\x03\x04":
                        return "damaged"
                return "closed" if z.comment == _npzformat.CLOSED_COMMENT else "open"
        except Exception as e:
            if _npzread.is_io_error(e):
                raise
            return "damaged"


def scan(path):
    """Finds every intact member of a file, damaged or not, without
    changing it: the members `recover()` keeps.

    Members are found by their local headers anywhere in the file, with
    sizes and CRC-32 from the local header, any central-directory entry
    still in the file, or a data descriptor; a member is kept only if its
    data decodes to its size with a matching CRC-32.

    Returns `(members, end)`: the `Member`s in file order (one per name)
    and the offset where the data of the last one ends (0 if none).
    Raises OSError if the file cannot be read, ValueError if it is not a
    regular file.
    """
    with _npzread.open_regular(path) as f:
        if not os.fstat(f.fileno()).st_size:
            return [], 0
        prefer = _zip_offsets(f)
        extents = _npzsalvage.data_extents(f.fileno(), os.fstat(f.fileno()).st_size)
        with _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as mm:
            members = _npzsalvage.find_members(mm, prefer, extents)
    return members, max((m.end for m in members), default=0)


def _zip_offsets(f):
    """`{name: local header offset}` from the directory zipfile reads, if any."""
    try:
        f.seek(0)
        with zipfile.ZipFile(f) as z:
            return {i.filename: i.header_offset for i in z.infolist()}
    except Exception as e:
        if _npzread.is_io_error(e):
            raise
        return {}


def _member_chunks(f, member):
    with _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as mm:
        yield from _npzread.decoded_chunks(mm, member.data_offset, member.csize,
                                           member.method, member.usize, member.crc)


def read_member(path, member):
    """The array of a member found by `scan()`, read without changing the
    file (a copy: works on damaged files that `load` cannot open).

    Raises zipfile.BadZipFile if the member's data changed since `scan()`
    (CRC-32 or sizes) and ValueError if it is not a valid `.npy`.
    """
    with _npzread.open_regular(path) as f:
        r = _npzread.ChunkReader(_member_chunks(f, member))
        header = _member_header(r.readexact, member.name, member.usize)
        a = _npyheader.empty_array(header)
        flat = a.ravel(order="K").view(np.uint8)
        got = 0
        for piece in r.rest():
            take = min(len(piece), header.data_size - got)
            flat[got:got + take] = np.frombuffer(piece, np.uint8, count=take)
            got += take
        return a


def recover(path):
    """Repairs a damaged `.npz` in place; never makes a file worse.

    * If `np.load` opens the file and reads every member, nothing is
      changed and the member names are returned.
    * If the file holds no zip record at all (not an npz), or no intact
      member can be found, ValueError is raised and the file is left as is.
    * Otherwise the intact members (see `scan`) are copied to a new file
      next to it, with a fresh directory, and that file replaces the
      original only if `np.load` reads from it every member it could read
      before, with the same bytes, and the original did not change
      meanwhile; if not, ValueError is raised and the file is left as is.
      Do not recover a file that a running writer still has open.

    Returns the names of the members (without `.npy`). Raises OSError for
    I/O errors and ValueError as above.
    """
    path = os.fspath(path)
    opens, names, before = _npzread.loadable_members(path)
    if opens and len(before) == len(names):
        return [_key(n) for n in names]
    with _npzread.open_regular(path) as f:
        st = os.fstat(f.fileno())
        if not st.st_size:
            raise ValueError(f"recover: {path!r} is empty, not an npz file; left unchanged")
        prefer = _zip_offsets(f)
        extents = _npzsalvage.data_extents(f.fileno(), st.st_size)
        with _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as mm:
            if not _npzsalvage.has_zip_records(mm, extents):
                raise ValueError(f"recover: {path!r} is not an npz (zip) file; left unchanged")
            members = _npzsalvage.find_members(mm, prefer, extents)
            if not members:
                raise ValueError(f"recover: no intact member found in {path!r}; left unchanged")
            lost = sorted(set(before) - {m.zip_name for m in members})
            if lost:
                raise ValueError(f"recover: the salvage of {path!r} would lose {lost!r}; "
                                 "left unchanged")
            tmp = _npzsalvage.write_salvage(mm, members, path, st.st_mode, _npzformat.CLOSED_COMMENT)
    with _tempfiles.unlink_on_failure(tmp):
        _, _, after = _npzread.loadable_members(tmp)
        lost = sorted(n for n, digest in before.items() if after.get(n) != digest)
        if lost:
            raise ValueError(f"recover: the salvage of {path!r} would lose {lost!r}; "
                             "left unchanged")
        now = os.stat(path)
        if (now.st_ino, now.st_size, now.st_mtime_ns) != (st.st_ino, st.st_size,
                                                           st.st_mtime_ns):
            raise ValueError(f"recover: {path!r} changed while it was being recovered "
                             "(is a writer still running?); left unchanged")
        _npzsalvage.replace(tmp, path)
    return [m.key for m in members]
