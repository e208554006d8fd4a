"""Bounded, exception-safe reading of `.npz` members, for the readers in
`fastcallbacks.npz` and the `inspect` command.

Every function here treats the file as hostile: sizes are checked against
the file and against each other before anything is allocated, compressed
data is decoded in chunks with a cap at the member's declared size, and
statistics are computed chunk by chunk. Damage is reported as
`zipfile.BadZipFile` (the zip structure) or `ValueError` (the `.npy`
content); I/O errors stay `OSError`.
"""

import errno
import hashlib
import os
import stat
import zipfile
import zlib

import numpy as np

from . import _npyheader
from . import _ziprecords as zr

CHUNK = 1 << 20            # bytes decoded or hashed at a time
_NUMPY_BUFFER = 1 << 18    # numpy's read size for arrays in a zip member

def as_bad_zip(e, what):
    """`e` as one of the documented exceptions (OSError and ValueError stay)."""
    if isinstance(e, (OSError, ValueError)):
        return e
    out = zipfile.BadZipFile(f"{what}: {type(e).__name__}: {e}")
    out.__cause__ = e
    return out


def open_regular(path):
    """Opens `path` for reading without blocking on a FIFO or device.

    Returns a binary file object. Raises OSError if it cannot be opened and
    ValueError if it is not a regular file.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblock)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{os.fspath(path)!r} is not a regular file")
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_io_error(e):
    """True for an OSError that comes from the device, not from the bytes."""
    return isinstance(e, OSError) and e.errno not in (errno.EINVAL, None)


def starts_like_npz(head):
    """Whether `np.load` would open a file starting with `head` as an npz."""
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


# -- decoding ------------------------------------------------------------------

class Inflate:
    """Iterates the decoded chunks of the raw deflate data
    `buf[start:start+csize]`, never more than `chunk` bytes at a time.

    Like zipfile it stops at `usize` decoded bytes, and accepts data that
    ends without an end mark once all of `csize` is used. Raises zlib.error
    for data that does not decode. Meanwhile and afterwards: `total` is the
    bytes decoded, `read` the compressed bytes read, and, once done, `used`
    the compressed bytes the stream took (less than `csize` when the
    stream ends early).
    """

    def __init__(self, buf, start, csize, usize, chunk=CHUNK):
        self._buf, self._start, self._csize = buf, start, csize
        self._usize, self._chunk = usize, chunk
        self.total = self.read = 0
        self.used = None

    def __iter__(self):
        buf, start, chunk, usize = self._buf, self._start, self._chunk, self._usize
        d = zlib.decompressobj(-15)
        pos, end = start, start + self._csize
        while not d.eof:
            if d.unconsumed_tail:
                data = d.unconsumed_tail
            elif pos < end:
                data = buf[pos:min(pos + chunk, end)]
                pos += len(data)
                self.read = pos - start
            else:
                data = b""
            out = d.decompress(data, chunk)
            if not out and not data:
                break   # all of csize used without an end mark: zipfile accepts it
            out = out[:usize - self.total]   # like zipfile: never past the size
            self.total += len(out)
            if out:
                yield out
            if self.total == usize:
                break
        # Ended early: only the stream. Otherwise all of csize, as read.
        self.used = (pos - start - len(d.unused_data)) if d.eof else self._csize


def decoded_chunks(buf, start, csize, method, usize, crc=None, chunk=CHUNK):
    """Yields the decoded bytes of a member's data `buf[start:start+csize]`.

    Like zipfile, decoding stops at `usize` bytes (never holding more than
    `chunk` decoded bytes at a time). Raises zipfile.BadZipFile if the data
    runs past `buf`, does not decode, decodes to fewer than `usize` bytes,
    or, when `crc` is given, does not have that CRC-32.
    """
    if start < 0 or csize < 0 or start + csize > len(buf):
        raise zipfile.BadZipFile("the member's data runs past the end of the file")
    value, total = 0, 0
    if method == zr.STORED:
        if csize != usize:
            raise zipfile.BadZipFile("a stored member whose sizes differ")
        for p in range(start, start + csize, chunk):
            out = buf[p:min(p + chunk, start + csize)]
            if crc is not None:
                value = zlib.crc32(out, value)
            yield out
        total = usize
    elif method == zr.DEFLATED:
        inflate = Inflate(buf, start, csize, usize, chunk)
        try:
            for out in inflate:
                if crc is not None:
                    value = zlib.crc32(out, value)
                yield out
        except zlib.error as e:
            raise zipfile.BadZipFile(f"the member's deflate data is corrupt: {e}") from None
        total = inflate.total
    else:
        raise zipfile.BadZipFile(f"unsupported compression method {method}")
    if total != usize:
        raise zipfile.BadZipFile("the member is shorter than its size")
    if crc is not None and value != crc:
        raise zipfile.BadZipFile("bad CRC-32 in the member's data")


class ChunkReader:
    """`readexact(n)` and the rest in pieces, over an iterator of chunks."""

    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = bytearray()

    def unread(self, data):
        """Puts `data` back in front of the stream."""
        self._buf[:0] = data

    def readexact(self, n):
        while len(self._buf) < n:
            more = next(self._it, None)
            if more is None:
                break
            self._buf += more
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def rest(self, multiple=1):
        """The remaining bytes in pieces whose lengths are multiples of
        `multiple` (a shorter last piece only if the stream ends there)."""
        for more in self._it:
            self._buf += more
            n = len(self._buf) // multiple * multiple
            if n >= CHUNK or (n and len(self._buf) > 4 * CHUNK):
                yield bytes(self._buf[:n])
                del self._buf[:n]
        if self._buf:
            yield bytes(self._buf)
            self._buf = bytearray()


def zip_chunks(f, chunk=CHUNK):
    """The bytes of an open zip member (zipfile.ZipExtFile) in chunks; reads
    to the end, so zipfile checks the CRC."""
    while True:
        out = f.read(chunk)
        if not out:
            return
        yield out


# -- statistics ----------------------------------------------------------------

class Stats:
    """Mean, standard deviation and fraction of zeros of a numeric array,
    accumulated chunk by chunk (Chan et al.'s pairwise update)."""

    def __init__(self, complex_):
        self.n, self.total, self.m2, self.zeros = 0, 0.0, 0.0, 0
        self.mean = 0j if complex_ else 0.0
        self.dtype = np.complex128 if complex_ else np.float64

    def add(self, a):
        if not a.size:
            return
        self.zeros += int(np.count_nonzero(a == 0))
        v = a.astype(self.dtype)
        nb = v.size
        total_b = v.sum()
        mean_b = total_b / nb
        d = v - mean_b
        m2_b = float(np.sum((d * np.conj(d)).real))
        n = self.n + nb
        delta = mean_b - self.mean
        with np.errstate(invalid="ignore", over="ignore"):
            self.m2 += m2_b + abs(delta) ** 2 * self.n * nb / n
            self.mean = self.mean + delta * nb / n
        self.total = self.total + total_b
        self.n = n

    def row(self):
        """`(mean, std, zeros)` formatted like the inspect table."""
        if not self.n:
            return ("-", "-", "-")
        with np.errstate(invalid="ignore", over="ignore"):
            mean = self.total / self.n
            std = (self.m2 / self.n) ** 0.5
        return (f"{float(abs(mean) if isinstance(mean, complex) else mean):.4g}",
                f"{float(std):.4g}", f"{self.zeros / self.n:.3f}")


def describe_stream(chunks, size):
    """`(shape, dtype, nbytes, mean, std, zeros)` strings of a member given
    as decoded chunks, without holding more than a few chunks in memory.

    A member that is not `.npy` is described as `bytes`. Raises ValueError
    or zipfile.BadZipFile if the member is damaged.
    """
    r = ChunkReader(chunks)
    head = r.readexact(len(_npyheader.MAGIC))
    if head != _npyheader.MAGIC:
        for _ in r.rest():
            pass
        return ("-", "bytes", str(size), "-", "-", "-")
    r.unread(head)
    header = _npyheader.read(r.readexact)
    if header.length + header.data_size > size:
        raise ValueError("the .npy header declares more data than the member holds")
    dt = header.dtype
    numeric = dt.kind in "biufc" and dt.names is None and dt.subdtype is None
    stats = Stats(dt.kind == "c")
    got = 0
    for piece in r.rest(dt.itemsize if numeric else 1):
        take = min(len(piece), header.data_size - got)
        if numeric and take > 0:
            stats.add(np.frombuffer(piece, dt, count=take // dt.itemsize))
        got += len(piece)
    shape = "x".join(map(str, header.shape)) or "()"
    return (shape, str(dt), str(header.data_size), *(stats.row() if numeric else ("-",) * 3))


# -- what np.load can read -----------------------------------------------------

def _read_like_np_load(zf, info, digest):
    """Reads one member with the same zipfile reads as `np.load` (so that the
    CRC is checked exactly when `np.load` checks it), feeding `digest`;
    raises on a member `np.load` cannot read. Holds at most one of numpy's
    read sizes in memory."""
    with zf.open(info) as f:
        magic = f.read(len(_npyheader.MAGIC))
    with zf.open(info) as f:
        if magic != _npyheader.MAGIC:
            for out in zip_chunks(f):
                digest.update(out)
            return

        def readexact(n):   # numpy's _read_bytes: read until n bytes or EOF
            data = f.read(n)
            if len(data) < n:
                parts = [data]
                while data and sum(map(len, parts)) < n:
                    data = f.read(n - sum(map(len, parts)))
                    parts.append(data)
                data = b"".join(parts)
            digest.update(data)
            return data

        header = _npyheader.read(readexact)
        if header.dtype.hasobject:
            raise ValueError("object arrays are not loaded")
        if header.length + header.data_size > info.file_size:
            raise ValueError("the .npy header declares more data than the member holds")
        itemsize = header.dtype.itemsize
        if itemsize:
            per_read = _NUMPY_BUFFER // min(_NUMPY_BUFFER, itemsize)
            count = header.count
            for i in range(0, count, per_read):
                n = min(per_read, count - i) * itemsize
                if len(readexact(n)) != n:
                    raise ValueError("EOF in the array data")


def loadable_members(path):
    """What `np.load(path)` can read.

    Returns `(opens, names, readable)`: whether `np.load` opens the file as an
    npz, the member names in directory order (zip names, duplicates
    removed), and `{zip name: digest}` of the members it reads without an
    error. Raises OSError only for an I/O error of the device.
    """
    with open_regular(path) as f:
        if not starts_like_npz(f.read(4)):
            return False, [], {}
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except Exception as e:
            if is_io_error(e):
                raise
            return False, [], {}
        with zf:
            names = list(dict.fromkeys(zf.namelist()))
            readable = {}
            for name in names:
                digest = hashlib.sha256()
                try:
                    _read_like_np_load(zf, zf.getinfo(name), digest)
                except Exception as e:
                    if is_io_error(e):
                        raise
                    continue
                readable[name] = digest.digest()
            return True, names, readable
