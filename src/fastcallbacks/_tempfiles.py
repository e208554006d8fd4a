"""Temporary files of checkpoint saves: names, creation, safe reads, cleanup.

Every temporary file is created here with `O_CREAT | O_EXCL` (and
`O_NOFOLLOW` where the OS has it) under a name with 96 random bits, and is
then written only through the descriptor that created it: a symlink or a
file planted at a temporary name makes the creation fail; it is never
followed. Libraries that open files by name (h5py, Keras's saver) get a
name that reaches the created file itself (`/proc/self/fd/<fd>` on Linux)
or a file in a fresh private (0700) directory.

Names are `.<name>.fctmp-<host>-<pid>-<random><suffix>`: hidden, and they
say which host and process made them, so that `remove_stale_temps` deletes
only the leftovers of killed processes of this host. Readers of names and
of files found in a directory never raise on garbage: they skip the entry
and warn once per entry.
"""

import contextlib
import errno
import functools
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import threading
import warnings

_TMP_MARK = ".fctmp-"
_NAME_MAX = 255
# Largest pid a temporary name may carry: pid_t is a 32-bit int.
_PID_MAX = 2**31 - 1
_WRITE_FLAGS = (
    os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
_READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


# -- warnings ------------------------------------------------------------------

_warned = set()
_warned_lock = threading.Lock()


def warn_once(path, reason):
    """A `UserWarning` that `path` was skipped, once per path and reason
    in a process."""
    key = (os.fspath(path), reason)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(f"fastcallbacks skipped {os.fspath(path)!r}: {reason}", UserWarning,
                  stacklevel=3)


# -- names ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _host_tag():
    # Names the host in temporary file names (8 hex digits of a hash of its
    # name), so that a shared directory tells whose process made a file.
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temp_path(path, suffix=""):
    """A fresh temporary name next to `path` (same directory, so that
    `os.replace` is atomic), hidden, ending with `suffix`:
    `.<name>.fctmp-<host>-<pid>-<random><suffix>`. `<name>` is shortened
    where the whole name would not fit a directory entry."""
    directory, base = os.path.split(os.fspath(path))
    tail = f"{_TMP_MARK}{_host_tag()}-{os.getpid()}-{secrets.token_hex(12)}{suffix}"
    room = _NAME_MAX - 1 - len(os.fsencode(tail))
    while base and len(os.fsencode(base)) > room:
        base = base[: max(0, min(len(base) - 1, room))]
    return os.path.join(directory, f".{base}{tail}")


def is_temp_name(name):
    """Whether `name` (a base name) is one of our temporary files."""
    return name.startswith(".") and _TMP_MARK in name


_PID_FIELD = re.compile(r"[0-9]{1,10}", re.ASCII)


def temp_owner(name):
    """The pid in temporary name `name` if this host made it; None for a
    name of another host (or not a temporary name); raises ValueError for a
    name of this host whose pid field is garbage."""
    tag = f"{_TMP_MARK}{_host_tag()}-"
    if not is_temp_name(name) or tag not in name:
        return None
    field = name.rsplit(tag, 1)[1].split("-", 1)[0]
    if not _PID_FIELD.fullmatch(field) or not 0 < int(field) <= _PID_MAX:
        raise ValueError(f"its process id {field[:40]!r} is not a process id")
    return int(field)


# -- creation ------------------------------------------------------------------


def create_temp(path, suffix=""):
    """Creates a new empty temporary file next to `path`; returns
    `(name, fd)`, the descriptor open for reading and writing. Never opens
    an existing file or follows a symlink."""
    for _ in range(16):
        name = temp_path(path, suffix)
        try:
            return name, os.open(name, _WRITE_FLAGS, 0o666)
        except FileExistsError:  # planted, or (2**-96) a collision
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(path))


def _read_umask():
    # The umask is process-wide and os.umask() can only read it by setting
    # it; setting it back is racy with other threads creating files. Linux
    # (4.7+) reports it in /proc/self/status, which changes nothing.
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    return None


def _umask_at_import():
    # Elsewhere read it once, here, while the package is being imported
    # (before it starts any thread of its own).
    mask = _read_umask()
    if mask is None:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_IMPORT_UMASK = _umask_at_import()


def default_mode():
    """The permission bits `open()` gives a new file: `0o666` less the
    process's umask (read from /proc/self/status where the OS has it, so a
    umask changed after import is honoured there; elsewhere the umask read
    once when fastcallbacks was imported)."""
    mask = _read_umask()
    return 0o666 & ~(_IMPORT_UMASK if mask is None else mask)


def apply_default_mode(fd_or_path):
    """Gives a file the mode `open()` would have given it (`default_mode()`).

    Files made from a private temporary file (`tempfile.mkstemp` creates
    them 0600) get the usual permissions this way before they replace the
    user's file. Takes an open descriptor (`os.fchmod`) or a path
    (`os.chmod`, following no symlink where the OS allows); does nothing on
    Windows, where modes are not permission bits. Returns the mode set
    (None on Windows).
    """
    if os.name == "nt":
        return None
    mode = default_mode()
    if isinstance(fd_or_path, int):
        os.fchmod(fd_or_path, mode)
    elif os.chmod in os.supports_follow_symlinks:
        os.chmod(fd_or_path, mode, follow_symlinks=False)
    else:  # pragma: no cover - no lchmod
        os.chmod(fd_or_path, mode)
    return mode


def remove_quietly(path):
    """Unlinks `path`, ignoring every OSError (already gone, not ours)."""
    try:
        os.unlink(path)
    except OSError:
        pass


@contextlib.contextmanager
def unlink_on_failure(path):
    """Removes the temporary file `path` (quietly) if the block raises, then
    lets the exception go on: a failed write never leaves its temp behind."""
    try:
        yield path
    except BaseException:
        remove_quietly(path)
        raise


def fsync_dir(path):
    """Flushes the directory entry of `path` (its directory) to the device;
    quietly does nothing where directories cannot be opened (Windows)."""
    try:
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def create_temp_dir(path):
    """Creates a private (0700) temporary directory next to `path`;
    returns `(name, fd)`, fd a descriptor of the directory itself (None on
    Windows, where directories cannot be opened)."""
    for _ in range(16):
        name = temp_path(path, ".d")
        try:
            os.mkdir(name, 0o700)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(path))
    if os.name == "nt":
        return name, None
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(name, flags | os.O_CLOEXEC)
    except OSError:
        remove_temp_dir(name)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise FileExistsError(errno.EEXIST, "temporary directory replaced", name)
        os.fchmod(fd, 0o700)  # whatever the umask
    except BaseException:
        os.close(fd)
        raise
    return name, fd


def remove_temp_dir(name):
    """Removes a temporary directory made by `create_temp_dir` (quietly)."""
    try:
        os.rmdir(name)
    except OSError:
        shutil.rmtree(name, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _proc_fd():
    return os.path.isdir("/proc/self/fd")


def fd_path(fd, name):
    """A path that opens what `fd` is open on, whatever is at `name` now:
    `/proc/self/fd/<fd>` where the OS has it (Linux), else `name`."""
    if fd is not None and _proc_fd():
        path = f"/proc/self/fd/{fd}"
        try:
            if os.path.samestat(os.stat(path), os.fstat(fd)):
                return path
        except OSError:
            pass
    return os.fspath(name)


# -- safe reads ----------------------------------------------------------------


def open_regular(path, follow=True):
    """A descriptor of the regular file `path`, open for reading. Opened
    non-blocking (a FIFO never blocks) and, with `follow=False`, without
    following a symlink; raises OSError for anything but a regular file."""
    flags = _READ_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_small(path, limit):
    """The bytes of the regular file `path` (symlinks not followed);
    OSError for anything else, ValueError when it is over `limit` bytes."""
    fd = open_regular(path, follow=False)
    try:
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ValueError(f"larger than {limit} bytes")
    finally:
        os.close(fd)
    return b"".join(chunks)


# -- cleanup -------------------------------------------------------------------


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # e.g. PermissionError: it exists
        return True
    return True


def remove_stale_temps(directory):
    """Deletes temporary files that killed saves left in `directory`.

    A save that is killed leaves its hidden temporary file or directory
    (`.<name>.fctmp-…`; the checkpoint itself is never partial). Only
    entries made on this host by a process that no longer runs are
    removed: those of other hosts (a shared file system) and of live
    processes are never touched. A name of this host that does not hold a
    valid process id is skipped with a `UserWarning` (once). On Windows
    nothing is removed (a process id cannot be probed there without side
    effects). `ModelCheckpoint` calls this on the directory it saves into
    at the start of `fit()`.

    Returns:
        The list of removed paths.
    """
    if os.name == "nt":
        return []
    removed = []
    try:
        entries = list(os.scandir(directory))
    except (OSError, ValueError):
        return removed
    for entry in entries:
        try:
            pid = temp_owner(os.fsdecode(entry.name))
        except ValueError as e:
            warn_once(entry.path, str(e))
            continue
        if pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:  # gone already, or not ours to delete
            continue
        removed.append(entry.path)
    return removed
