"""Checkpoint integrity: sidecar checksums, `verify`, `latest_good`.

With `checksum=True` (not the default: a default ModelCheckpoint writes
exactly Keras's files), every file `fastcallbacks.ModelCheckpoint` writes
gets a sidecar `<file>.checksum.json` holding its size and SHA-256. Files
without one are verified structurally (`_ckptcheck`). A file and its
sidecar are both written atomically (temporary file in the same directory, flush, fsync,
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

import concurrent.futures
import errno
import hashlib
import json
import os
import threading
import time

from . import _ckptcheck, _tempfiles
from ._tempfiles import (  # noqa: F401 - part of this module's interface
    _TMP_MARK,
    _host_tag,
    create_temp,
    is_temp_name,
    remove_stale_temps,
    temp_path,
)

__all__ = ["verify", "latest_good", "remove_stale_temps", "SIDECAR_SUFFIX"]

SIDECAR_SUFFIX = ".checksum.json"
_FORMAT = "fastcallbacks-checksum-1"
_CHUNK = 1 << 20
# From this size the digest is taken on a second thread while the file is
# fsynced (both release the GIL; below it, starting a thread costs more
# than it saves).
_PARALLEL_DIGEST_MIN = 8 << 20
# Sidecars are ~200 bytes; a larger file named like one is not ours.
_SIDECAR_MAX = 1 << 16
# A sidecar's `time_ns` is `time.time_ns()`: an int64.
_TIME_NS_MAX = 2**63


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
    with _open_regular(path) as f:
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
    with _open_regular(path) as f:
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


def _in_background(fn, *args):
    """Starts `fn(*args)` on a new daemon thread; returns its
    `concurrent.futures.Future`.

    `future.result()` waits and returns the result or raises the exception
    of `fn`; `concurrent.futures.wait([future])` only waits. A thread of its
    own (not a shared executor) per call: nothing outlives the call that a
    forked child could inherit half-used.
    """
    future = concurrent.futures.Future()

    def run():
        if not future.set_running_or_notify_cancel():  # pragma: no cover
            return
        try:
            result = fn(*args)
        except BaseException as e:  # handed to the caller by result()
            future.set_exception(e)
        else:
            future.set_result(result)

    threading.Thread(target=run, name="fastcallbacks-digest", daemon=True).start()
    return future


def _wait(future):
    concurrent.futures.wait([future])


def _open_regular(path):
    """`path` open for reading (unbuffered) if it is a regular file; a FIFO
    or a device never blocks or is read (OSError)."""
    return open(_tempfiles.open_regular(path), "rb", buffering=0)


def sidecar_path(path):
    """The sidecar file of checkpoint `path`."""
    return os.fspath(path) + SIDECAR_SUFFIX


def _read_sidecar(path, warn=False):
    """The valid entries of the sidecar of `path`, or None where it is
    missing or unreadable. Never raises and never blocks on what it finds
    there (a FIFO, a directory, a symlink, garbage, deep JSON): with
    `warn`, such a sidecar, or an invalid entry in it, is reported once
    with a `UserWarning`."""
    name = sidecar_path(path)
    try:
        data = json.loads(_tempfiles.read_small(name, _SIDECAR_MAX).decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as e:
        if warn:
            _tempfiles.warn_once(name, f"not a readable sidecar ({type(e).__name__}: {e})")
        return None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(entries, list):
        if warn:
            _tempfiles.warn_once(name, f"not a sidecar of format {_FORMAT}")
        return None
    valid = [e for e in entries if _valid_entry(e)]
    if warn and len(valid) != len(entries):
        _tempfiles.warn_once(name, f"invalid entries ignored: {len(entries) - len(valid)}")
    return valid


def _valid_entry(e):
    def is_int(v, stop):
        return type(v) is int and 0 <= v < stop

    return (
        isinstance(e, dict)
        and is_int(e.get("size"), 2**64)
        and isinstance(e.get("sha256"), str)
        and len(e["sha256"]) == 64
        and is_int(e.get("time_ns", 0), _TIME_NS_MAX)
    )


# -- atomic writes -------------------------------------------------------------


def fsync_path(path):
    # Windows flushes only through a descriptor opened for writing.
    # Never follows a symlink or blocks on a FIFO (a temporary name).
    if os.name == "nt":
        flags = os.O_RDWR | getattr(os, "O_BINARY", 0)
    else:
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
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
    tmp, fd = create_temp(path)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except IsADirectoryError as e:
            # Not "the checkpoint path is a directory" (Keras's message).
            raise FileExistsError(
                errno.EEXIST, "a directory is in the way of the checksum sidecar", path
            ) from e
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


def commit(tmp, path, checksum=True, delete=None, pending_digest=None):
    """Moves the complete file `tmp` to `path` atomically, with its sidecar.

    `tmp` must be in the directory of `path` and already flushed. The file
    is fsynced here. Returns the sidecar entry (or None without checksum).

    `delete`, a callable taking a path: where a large file that `path`
    held goes to be deleted (e.g. a background thread). File systems free
    a file's blocks inside the `os.replace` that drops its last name
    (~30 ms for 120 MB on ext4 here); with `delete` the old file first
    gets a second, temporary name, so the replace only drops a name.

    `pending_digest`, a `concurrent.futures.Future` of `(size, sha256 hex)`
    of `tmp` (or of None): a digest already being taken (see
    `_ckptwriter.write_weights_h5`), collected after the fsync instead of
    reading the file again.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path)
    displaced = []
    try:
        if not checksum:
            if pending_digest is not None:
                _wait(pending_digest)
            fsync_path(tmp)
            _replace(tmp, path, delete, displaced)
            fsync_dir(directory)
            return None
        size, sha = _fsync_and_digest(tmp, pending_digest)
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


def _fsync_and_digest(path, pending_digest=None):
    """fsync `path` and return `file_digest(path)`. `pending_digest`: a
    Future already taking it (its result None: hash the file here).
    Otherwise a large file is read (from the page cache) on a second thread
    while the disk writes it: the save then costs the longer of the two,
    not both."""
    digest = pending_digest
    if digest is None and os.path.getsize(path) >= _PARALLEL_DIGEST_MIN:
        digest = _in_background(file_digest, path)
    try:
        fsync_path(path)
    except BaseException:
        if digest is not None:
            _wait(digest)  # it reads the file; the fsync error is reported
        raise
    value = digest.result() if digest is not None else None
    return value if value is not None else file_digest(path)


def remove_checkpoint(path):
    """Deletes a checkpoint and its sidecar (missing files are ignored)."""
    _remove_quietly(path)
    _remove_quietly(sidecar_path(path))


# -- public API --------------------------------------------------------------


def _matching_entry(path):
    entries = _read_sidecar(path, warn=True)
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


def _has_sidecar(path):
    return os.path.lexists(sidecar_path(path))


def verify(path):
    """Whether the checkpoint at `path` is complete and unchanged.

    With a sidecar (`<path>.checksum.json`, written by
    `fastcallbacks.ModelCheckpoint(..., checksum=True)`): True only if the
    file's size and SHA-256 match it; a sidecar that is not one (garbage,
    a FIFO, a directory, a symlink) fails, with a `UserWarning`. Without a
    sidecar (the default `checksum=False`), a structural check: True if
    the file is a `.keras` zip whose members all pass their CRC-32 and
    whose weights read, or an HDF5 file (`.h5`, `.weights.h5`) whose every
    dataset reads. That catches a cut or damaged file, not one replaced by
    other valid weights (only the checksum does); any other suffix fails.

    Example:

    >>> fastcallbacks.checkpoint.verify("ckpt/best.keras")
    True
    """
    path = os.fspath(path)
    if not _has_sidecar(path):
        return _ckptcheck.structurally_sound(path)
    return _matching_entry(path) is not None


def latest_good(directory):
    """The newest checkpoint in `directory` that verifies, or None.

    Candidates are the files with a sidecar and the `.keras`, `.h5` and
    `.weights.h5` files without one (see `verify`); temporary files left
    by an interrupted save never are. "Newest" is the save time recorded
    in the sidecar, else the file's modification time (then the name
    breaks ties). Files are checked newest first until one verifies. A
    sidecar that is not one (garbage, invalid entries, a FIFO, a
    directory, a symlink) is skipped with a `UserWarning`, once per file.
    """
    directory = os.fspath(directory)
    try:
        names = set(os.listdir(directory))
    except FileNotFoundError:
        return None
    candidates = []
    for name in names:
        if is_temp_name(name):
            continue
        if name.endswith(SIDECAR_SUFFIX):
            data_name = name[: -len(SIDECAR_SUFFIX)]
        elif _ckptcheck.checkable(name) and name + SIDECAR_SUFFIX not in names:
            data_name = name
        else:
            continue
        path = os.path.join(directory, data_name)
        if is_temp_name(data_name) or not os.path.isfile(path):
            continue
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        if data_name == name:  # no sidecar: its modification time
            candidates.append((mtime, mtime, data_name, path))
            continue
        entries = _read_sidecar(path, warn=True)
        if not entries:
            continue
        recorded = max(int(e.get("time_ns", 0)) for e in entries)
        candidates.append((recorded, mtime, data_name, path))
    # Sorted by the newest time a sidecar lists (an upper bound: during a
    # replacement it also lists the new file's time); the time of the entry
    # that actually matches decides, so stop once no candidate can beat it.
    best = None
    for recorded, mtime, data_name, path in sorted(candidates, reverse=True):
        if best is not None and recorded < best[0]:
            break
        if not _has_sidecar(path):
            key = (mtime, mtime, data_name, path) if _ckptcheck.structurally_sound(path) else None
        else:
            entry = _matching_entry(path)
            key = None if entry is None else (int(entry.get("time_ns", 0)), mtime, data_name, path)
        if key is not None and (best is None or key > best):
            best = key
    return None if best is None else best[3]
