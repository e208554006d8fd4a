"""Forked children that report integers through a pipe (the SIGKILL and
disk-full trials of test_npzwriter.py and test_npzlayout.py)."""

import os
import struct


def fork(target, *args):
    """Runs `target(*args, write_fd)` in a forked child; returns (pid, read_fd).

    The child exits with 0, or 1 if `target` raised.
    """
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            target(*args, wfd)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, r


def read_ints(fd):
    """Every whole little-endian int32 the child wrote before the pipe closed."""
    data = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return [v for (v,) in struct.iter_unpack("<i", data[: len(data) // 4 * 4])]
