"""Argument checks and `.npy` headers shared by both NpzWriter implementations.

Both the compiled writer and its pure-Python reference call these with the
GIL held before any byte is queued, so they validate, name and describe a
member identically.
"""

import errno
import os
import sys

import numpy as np

from . import _npyheader, _tempfiles

# Zip layout constants (PKWARE APPNOTE 6.3.x).
ALIGN = 64                    # data of stored members starts at a multiple of this
PAGE = 4096                   # tail writes are laid out on page boundaries
ZIP64_LIMIT = 0x7FFFFFFF      # like CPython's zipfile: beyond this, zip64 fields
COUNT_LIMIT = 0xFFFF          # member counts from here on need the zip64 end record
CLOSED_COMMENT = b"fastcallbacks-npz closed"
DEFAULT_QUEUE_BYTES = 64 << 20


def check_options(path, compress, durable, queue_bytes, force_zip64):
    """Validates the constructor arguments; returns `(path, queue_bytes)`."""
    import os

    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"NpzWriter: `path` must be a str or os.PathLike, got {type(path).__name__}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    for flag, value in (("compress", compress), ("durable", durable),
                        ("force_zip64", force_zip64)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"NpzWriter: `{flag}` must be a bool, got {value!r}")
    if isinstance(queue_bytes, bool) or not isinstance(queue_bytes, (int, np.integer)):
        raise TypeError(f"NpzWriter: `queue_bytes` must be an int, got {queue_bytes!r}")
    if queue_bytes < 1:
        raise ValueError(f"NpzWriter: `queue_bytes` must be >= 1, got {queue_bytes}")
    if queue_bytes > 2**63 - 1:
        raise OverflowError(
            f"NpzWriter: `queue_bytes` must be <= 2**63 - 1, got {queue_bytes}")
    return path, int(queue_bytes)


# Deflating threads at most when the compiled core is not built (pure-Python
# installs); otherwise `fastcallbacks._core.npzwriter.MAX_HELPERS` decides.
_PURE_PYTHON_MAX_THREADS = 4


def max_threads():
    """Returns the most deflating threads an NpzWriter uses: `MAX_HELPERS` of
    the compiled writer (the size of its helper arrays), or 4 when the
    compiled core is not available."""
    try:
        from ._core.npzwriter import MAX_HELPERS
    except ImportError:
        return _PURE_PYTHON_MAX_THREADS
    return int(MAX_HELPERS)


def check_threads(threads):
    """Validates `threads`; returns the number of deflating threads to use
    (None: one per core, at most `max_threads()`)."""
    import os

    limit = max_threads()
    if threads is None:
        return min(max(os.cpu_count() or 1, 1), limit)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"NpzWriter: `threads` must be an int or None, got {threads!r}")
    if threads < 1:
        raise ValueError(f"NpzWriter: `threads` must be >= 1, got {threads}")
    return min(int(threads), limit)


def member_name(name, names):
    """The zip member name (UTF-8 bytes, `.npy` appended) for key `name`."""
    if not isinstance(name, str):
        raise TypeError(f"NpzWriter.add: `name` must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("NpzWriter.add: `name` must not be empty")
    if "\x00" in name:
        raise ValueError(f"NpzWriter.add: `name` must not contain NUL characters: {name!r}")
    if name in names:
        raise ValueError(f"NpzWriter.add: a member named {name!r} was already added")
    # np.load looks a key up as a zip member name first ("x.npy" is the
    # member of key "x"), so keys "x" and "x.npy" in one file would return
    # each other's arrays.
    for other in (name + ".npy", name[:-4] if name.endswith(".npy") else None):
        if other not in names:
            continue
        raise ValueError(
            f"NpzWriter.add: `name` {name!r} clashes with member {other!r} already "
            "added (np.load would return one for the other)")
    try:
        encoded = (name + ".npy").encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"NpzWriter.add: `name` is not valid Unicode: {name!r}") from None
    if len(encoded) > 0xFFFF:
        raise ValueError(
            f"NpzWriter.add: `name` is too long ({len(encoded)} bytes in UTF-8, "
            "at most 65531)")
    return encoded


def member_array(array):
    """The array to write, C- or Fortran-contiguous, and its fortran flag.

    Raises TypeError for input that the `.npy` format cannot hold without
    pickling (object arrays) or without losing the dtype (numpy's
    variable-width strings, extension float types such as bfloat16 that numpy
    would store as raw void).
    """
    if isinstance(array, np.ndarray):
        a = array
    else:
        try:
            a = np.asarray(array)
        except Exception as e:
            raise TypeError(
                f"NpzWriter.add: `array` cannot be converted to a numpy array: {e}"
            ) from None
    dt = a.dtype
    if dt.kind == "T":
        raise TypeError(
            "NpzWriter.add: numpy StringDType arrays are not supported by the .npy "
            "format; convert with astype('U') first")
    if dt.hasobject:
        raise TypeError(
            "NpzWriter.add: object arrays cannot be written (the .npy format "
            "would pickle them and np.load refuses pickles by default)")
    if dt.kind == "V" and dt.names is None and dt.subdtype is None and dt.type is not np.void:
        raise TypeError(
            f"NpzWriter.add: dtype {dt} would be stored as raw bytes ({dt.str}) and "
            "lose its type; convert it first (for example astype('float32'))")
    if a.flags.c_contiguous:
        return a, False
    if a.flags.f_contiguous:
        return a, True
    return np.ascontiguousarray(a), False


def raw_bytes(a):
    """The bytes of a contiguous array, in memory order, as a uint8 vector.

    Works for every dtype, including those the buffer protocol refuses
    (datetime64, timedelta64).
    """
    return a.ravel(order="K").view(np.uint8)


_header_cache = {}


def npy_header(a, fortran):
    """The `.npy` header bytes numpy's `np.save` writes for `a`.

    The oldest format version that holds it (1.0, else 2.0, else 3.0 for
    field names outside latin-1; see `_npyheader`). Its length is a multiple
    of 64, so the data that follows stays aligned.
    """
    key = (a.dtype, a.shape, fortran)
    try:
        return _header_cache[key]
    except (KeyError, TypeError):
        pass
    header = _npyheader.encode(a.dtype, a.shape, fortran)
    if len(_header_cache) > 4096:
        _header_cache.clear()
    _header_cache[key] = header
    return header


def write_at(fd, data, offset):
    """Writes all of `data` at `offset` of `fd` (pwrite, repeated)."""
    view = memoryview(data).cast("B")
    while len(view):
        if hasattr(os, "pwrite"):
            n = os.pwrite(fd, view, offset)
        else:  # pragma: no cover - Windows
            os.lseek(fd, offset, os.SEEK_SET)
            n = os.write(fd, view)
        view = view[n:]
        offset += n


# The live layout (see `fastcallbacks._reference.npzwriter`) keeps the end
# records at a fixed offset far beyond the members, in a sparse file where
# the file system makes holes cheap.
PLACEHOLDER = b"PK\x05\x06" + bytes(18)   # an empty archive's end record
END_ROOM = 98 + len(CLOSED_COMMENT)        # end records + comment, in one page
MODERATE_END = 64 << 20       # end-record offset where holes may not be cheap
MAX_END = 1 << 43             # at most 8 TiB (ext4 files hold 16 TiB)
SPARSE_FILE_SYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "bcachefs",
    "nfs", "nfs4", "overlay", "jfs", "ocfs2", "gfs2", "ceph", "virtiofs"})


def _mount_type(directory):
    """The Linux file-system type holding `directory` (None if unknown)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    path = os.path.realpath(directory)
    best, kind = -1, None
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        mount = fields[4]
        for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"),
                           ("\\134", "\\")):
            mount = mount.replace(code, char)
        inside = path == mount or path.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > best:
            best, kind = len(mount), right.split()[0]
    return kind


def file_size_limit():
    """The process's file-size limit (RLIMIT_FSIZE) in bytes, or None."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else int(soft)


def tail_reserve(path):
    """Where a new writer puts its end records; returns `(end_at, max_size)`.

    On Linux file systems with sparse files the end records go at the file
    system's size (at most `MAX_END`): the members, which fill the hole
    below, can then never reach the directory, so the directory never has
    to move (moving a directory of several pages cannot be done in one
    write that a kill cannot tear). Elsewhere `MODERATE_END`. Both are
    capped by the file-size limit `max_size` (RLIMIT_FSIZE; 2**63 - 1 when
    unlimited).
    """
    directory = os.path.dirname(os.path.abspath(path))
    end_at = MODERATE_END
    if sys.platform.startswith("linux") and _mount_type(directory) in SPARSE_FILE_SYSTEMS:
        try:
            st = os.statvfs(directory)
            size = st.f_blocks * st.f_frsize
        except OSError:
            size = 0
        end_at = min(max(size, MODERATE_END), MAX_END)
    limit = file_size_limit()
    max_size = (1 << 63) - 1 if limit is None else limit
    if limit is not None:
        end_at = min(end_at, limit - PAGE)
    end_at = end_at // PAGE * PAGE
    if end_at < PAGE:
        end_at = 64           # page 0, after the placeholder (a tiny limit)
    return end_at, max_size


def page_end(offset):
    """End of the page holding `offset`: the file's size while its end
    records are at `offset`."""
    return offset // PAGE * PAGE + PAGE


def create_empty(path, end_page, end_at, durable):
    """Creates `path` as an empty archive atomically; returns `(fd, end_at)`.

    The file holds `PLACEHOLDER` at offset 0 (so that `np.load` recognizes a
    zip before the first member is written) and `end_page(end_at)` (the end
    records and zeros up to the page end) at `end_at`; the bytes between are
    a hole. If the file system refuses that size (EFBIG), `end_at` is halved
    until it fits. The bytes go to a temporary file in the same directory,
    which then replaces `path`: a kill at any moment leaves either no file
    (or the old one) or a complete empty archive. The file is reopened by
    name afterwards, which also works on Windows, where an open file cannot
    be renamed.
    """
    tmp, fd = _tempfiles.create_temp(path, ".tmp")
    with _tempfiles.unlink_on_failure(tmp):
        try:
            while True:
                try:
                    os.ftruncate(fd, 0)
                    write_at(fd, PLACEHOLDER, 0)
                    write_at(fd, end_page(end_at), end_at)
                    break
                except OSError as e:
                    if e.errno != errno.EFBIG or end_at < 2 * PAGE:
                        raise
                    end_at = max(end_at // 2 // PAGE * PAGE, PAGE)
            # The mode open() would give it, whatever created it.
            _tempfiles.apply_default_mode(fd)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    return os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0)), end_at
