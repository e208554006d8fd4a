"""Checkpoint integrity: sidecar checksums, `verify`, `latest_good`.

Every file `fastcallbacks.ModelCheckpoint` writes gets a sidecar
`<file>.checksum.json` holding its size and SHA-256. Both are written
atomically (temporary file in the same directory, flush, fsync,
`os.replace`, fsync of the directory), in an order that keeps the pair
consistent whatever moment the process is killed at:

1. the new sidecar lists the digest of the new file *and* of the file it
   replaces, then replaces the old sidecar;
2. the new file replaces the old one;
3. the sidecar is rewritten with the new digest only.

A kill between two steps leaves a file that one of the listed digests
matches, so `verify` never rejects a complete file and never accepts a
partial one. This module needs neither Keras nor a backend.
"""

import errno
import functools
import hashlib
import json
import os
import socket
import threading
import time
import uuid

__all__ = ["verify", "latest_good", "remove_stale_temps", "SIDECAR_SUFFIX"]

SIDECAR_SUFFIX = ".checksum.json"
_FORMAT = "fastcallbacks-checksum-1"
_CHUNK = 1 << 20
# From this size the digest is taken on a second thread while the file is
# fsynced (both release the GIL; a thread costs ~0.1 ms).
_PARALLEL_DIGEST_MIN = 8 << 20
_TMP_MARK = ".fctmp-"


# -- hashing -------------------------------------------------------------------


def file_digest(path):
    """(size, sha256 hex) of the file at `path`, read in 1 MiB chunks.

    hashlib and file reads release the GIL for buffers this large, so a
    background writer does not stall the training thread here.
    """
    h = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            size += n
    return size, h.hexdigest()


def _file_digest_with(path, regions):
    """`file_digest(path)` for a file whose `regions` ((offset, array),
    disjoint) hold those arrays' bytes, or are being written with them: the
    arrays are hashed from memory and only the rest is read from the file.
    None where the regions do not fit the file (then hash the file)."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        pos = 0
        for offset, a in sorted(regions, key=lambda r: r[0]):
            if offset < pos or offset + a.nbytes > size:
                return None
            _hash_range(h, f, pos, offset)
            view = memoryview(a).cast("B")
            for i in range(0, len(view), _CHUNK):
                h.update(view[i : i + _CHUNK])
            pos = offset + a.nbytes
        _hash_range(h, f, pos, size)
    return size, h.hexdigest()


def _hash_range(h, f, start, stop):
    f.seek(start)
    while start < stop:
        chunk = f.read(min(_CHUNK, stop - start))
        if not chunk:
            raise OSError(errno.EIO, "file shorter than its regions", f.name)
        h.update(chunk)
        start += len(chunk)


class _Background:
    """`fn(*args)` on a daemon thread. Calling the object waits for it and
    returns its result or raises its exception; `join()` only waits."""

    def __init__(self, fn, *args):
        self._result = None
        self._thread = threading.Thread(
            target=self._run, args=(fn, args), name="fastcallbacks-digest", daemon=True)
        self._thread.start()

    def _run(self, fn, args):
        try:
            self._result = (True, fn(*args))
        except BaseException as e:  # handed to the caller by __call__
            self._result = (False, e)

    def join(self):
        self._thread.join()

    def __call__(self):
        self._thread.join()
        ok, value = self._result
        if not ok:
            raise value
        return value


def sidecar_path(path):
    """The sidecar file of checkpoint `path`."""
    return os.fspath(path) + SIDECAR_SUFFIX


def _read_sidecar(path):
    try:
        with open(sidecar_path(path), "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return None
    entries = data.get("entries")
    if not isinstance(entries, list):
        return None
    return [
        e
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("size"), int)
        and isinstance(e.get("sha256"), str)
    ]


# -- atomic writes -------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _host_tag():
    # Names the host in temporary file names (8 hex digits of a hash of its
    # name), so that a shared directory tells whose process made a file.
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temp_path(path, suffix=""):
    """A unique temporary name next to `path` (same directory, so that
    `os.replace` is atomic), hidden, ending with `suffix`:
    `.<name>.fctmp-<host>-<pid>-<random><suffix>`."""
    path = os.fspath(path)
    directory, base = os.path.split(path)
    name = f".{base}{_TMP_MARK}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:12]}{suffix}"
    return os.path.join(directory, name)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists
        return True
    return True


def remove_stale_temps(directory):
    """Deletes temporary files that killed saves left in `directory`.

    A save that is killed leaves its hidden temporary file
    (`.<name>.fctmp-…`; the checkpoint itself is never partial). Only files
    made on this host by a process that no longer runs are removed: files
    of other hosts (a shared file system) and of live processes are never
    touched. On Windows nothing is removed (a process id cannot be probed
    there without side effects). `ModelCheckpoint` calls this on the
    directory it saves into at the start of `fit()`.

    Returns:
        The list of removed paths.
    """
    if os.name == "nt":
        return []
    tag = f"{_TMP_MARK}{_host_tag()}-"
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not is_temp_name(name) or tag not in name:
            continue
        pid = name.rsplit(tag, 1)[1].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        try:
            os.unlink(entry.path)
        except OSError:  # gone already, or not ours to delete
            continue
        removed.append(entry.path)
    return removed


def is_temp_name(name):
    """Whether `name` (a base name) is one of our temporary files."""
    return name.startswith(".") and _TMP_MARK in name


def fsync_path(path):
    # Windows flushes only through a descriptor opened for writing.
    flags = os.O_RDWR | getattr(os, "O_BINARY", 0) if os.name == "nt" else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory):
    if os.name == "nt":  # directories cannot be opened or fsynced there
        return
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - e.g. some network filesystems
        pass
    finally:
        os.close(fd)


def _write_atomic(path, data):
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _sidecar_bytes(entries):
    return json.dumps({"format": _FORMAT, "entries": entries}).encode("utf-8")


def commit(tmp, path, checksum=True, delete=None, digest=None):
    """Moves the complete file `tmp` to `path` atomically, with its sidecar.

    `tmp` must be in the directory of `path` and already flushed. The file
    is fsynced here. Returns the sidecar entry (or None without checksum).

    `delete`, a callable taking a path: where a large file that `path`
    held goes to be deleted (e.g. a background thread). File systems free
    a file's blocks inside the `os.replace` that drops its last name
    (~30 ms for 120 MB on ext4 here); with `delete` the old file first
    gets a second, temporary name, so the replace only drops a name.

    `digest`, a `_Background` returning `(size, sha256 hex)` of `tmp` (or
    None): a digest already being taken (see `_ckptwriter.write_weights_h5`),
    collected after the fsync instead of reading the file again.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path)
    displaced = []
    try:
        if not checksum:
            if digest is not None:
                digest.join()
            fsync_path(tmp)
            _replace(tmp, path, delete, displaced)
            fsync_dir(directory)
            return None
        size, sha = _fsync_and_digest(tmp, digest)
        entry = {"size": size, "sha256": sha, "time_ns": time.time_ns()}
        previous = _read_sidecar(path) or []
        # Step 1: the sidecar accepts the new file and the one it replaces.
        _write_atomic(sidecar_path(path), _sidecar_bytes([entry] + previous[:1]))
        # Step 2: the file itself.
        _replace(tmp, path, delete, displaced)
        fsync_dir(directory)
        # Step 3: only the new digest.
        _write_atomic(sidecar_path(path), _sidecar_bytes([entry]))
        fsync_dir(directory)
        return entry
    finally:
        # Handed over last: freeing the blocks holds the file system's
        # journal, which the fsyncs above would otherwise wait for.
        for name in displaced:
            delete(name)


# Files from this size are handed to `commit`'s `delete` when replaced.
_DEFER_DELETE_MIN = 8 << 20


def _replace(tmp, path, delete, displaced):
    name = _second_name(path) if delete is not None else None
    try:
        os.replace(tmp, path)
    except BaseException:
        if name is not None:
            _remove_quietly(name)
        raise
    if name is not None:
        displaced.append(name)


def _second_name(path):
    """Hard-links a large file at `path` to a temporary name (a leftover is
    removed by `remove_stale_temps`) and returns that name; None for a
    small or missing file, or where hard links are not supported."""
    try:
        if os.stat(path).st_size < _DEFER_DELETE_MIN:
            return None
    except OSError:
        return None
    name = temp_path(path, ".old")
    try:
        os.link(path, name)
    except (OSError, AttributeError, NotImplementedError):
        return None
    return name


def _fsync_and_digest(path, digest=None):
    """fsync `path` and return `file_digest(path)`. `digest`: a `_Background`
    already taking it (its None: hash the file here). Otherwise a large
    file is read (from the page cache) on a second thread while the disk
    writes it: the save then costs the longer of the two, not both."""
    if digest is None and os.path.getsize(path) >= _PARALLEL_DIGEST_MIN:
        digest = _Background(file_digest, path)
    try:
        fsync_path(path)
    except BaseException:
        if digest is not None:
            digest.join()  # it reads the file; the fsync error is reported
        raise
    value = digest() if digest is not None else None
    return value if value is not None else file_digest(path)


def remove_checkpoint(path):
    """Deletes a checkpoint and its sidecar (missing files are ignored)."""
    _remove_quietly(path)
    _remove_quietly(sidecar_path(path))


# -- public API --------------------------------------------------------------


def _matching_entry(path):
    entries = _read_sidecar(path)
    if not entries:
        return None
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    candidates = [e for e in entries if e["size"] == size]
    if not candidates:
        return None
    try:
        _, digest = file_digest(path)
    except OSError:
        return None
    for e in candidates:
        if e["sha256"] == digest:
            return e
    return None


def verify(path):
    """Whether the checkpoint at `path` is complete and unchanged.

    True only if the file exists, has a sidecar (`<path>.checksum.json`,
    written by `fastcallbacks.ModelCheckpoint`) and its size and SHA-256
    match the sidecar. A file without a sidecar does not verify.

    Example:

    >>> fastcallbacks.checkpoint.verify("ckpt/best.keras")
    True
    """
    return _matching_entry(os.fspath(path)) is not None


def latest_good(directory):
    """The newest checkpoint in `directory` that verifies, or None.

    "Newest" is the save time recorded in the sidecar (then the file's
    modification time and name break ties). Only files with a sidecar are
    considered; temporary files left by an interrupted save never are.
    Files are hashed newest first until one verifies.
    """
    directory = os.fspath(directory)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    candidates = []
    for name in names:
        if not name.endswith(SIDECAR_SUFFIX) or is_temp_name(name):
            continue
        data_name = name[: -len(SIDECAR_SUFFIX)]
        path = os.path.join(directory, data_name)
        if is_temp_name(data_name) or not os.path.isfile(path):
            continue
        entries = _read_sidecar(path)
        if not entries:
            continue
        recorded = max(int(e.get("time_ns", 0)) for e in entries)
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        candidates.append((recorded, mtime, data_name, path))
    # Sorted by the newest time a sidecar lists (an upper bound: during a
    # replacement it also lists the new file's time); the time of the entry
    # that actually matches decides, so stop once no candidate can beat it.
    best = None
    for recorded, mtime, data_name, path in sorted(candidates, reverse=True):
        if best is not None and recorded < best[0]:
            break
        entry = _matching_entry(path)
        if entry is None:
            continue
        key = (int(entry.get("time_ns", 0)), mtime, data_name, path)
        if best is None or key > best:
            best = key
    return None if best is None else best[3]
