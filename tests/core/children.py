"""Forked children that report integers through a pipe (the SIGKILL and
disk-full trials of test_npzwriter.py, test_npzlayout.py and
test_npz_append.py).

The children are forked by a small fork server (this file run as a
script: Python, numpy and the fastcallbacks under test, no Keras), started
once per test process, not by the test process itself: a pytest worker
that collected the Keras suites has TensorFlow loaded, and forking it costs
about 60 ms and its child's exit as much again (10 ms from the server).
The child is what it was: a forked process running `target(*args, fd,
**kwargs)` (a module-level function, looked up by module and name) that
reports through a pipe the test process reads, killed with SIGKILL by the
test, and reaped through `wait(pid)`.
"""

import atexit
import importlib
import os
import pickle
import select
import socket
import struct
import subprocess
import sys
import time

_TIMEOUT = 300.0   # a server that stops answering fails the test instead of hanging it
_server = None


def _start_server():
    import fastcallbacks

    parent, child = socket.socketpair()
    env = dict(os.environ)
    # The fastcallbacks this process imported (source tree or installed wheel).
    src = os.path.dirname(os.path.dirname(fastcallbacks.__file__))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(child.fileno())],
                            pass_fds=[child.fileno()], env=env)
    child.close()
    parent.settimeout(_TIMEOUT)

    def stop():
        parent.close()   # the server exits at end of input
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    atexit.register(stop)
    return parent, proc


def _request(message, fds=()):
    global _server
    if _server is None or _server[1].poll() is not None:
        _server = _start_server()
    sock = _server[0]
    data = pickle.dumps(message)
    socket.send_fds(sock, [struct.pack("<I", len(data)) + data], list(fds))
    reply = _recv_exact(sock, 8)
    if len(reply) < 8:
        raise RuntimeError("the fork server died")
    return struct.unpack("<q", reply)[0]


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def fork(target, *args, **kwargs):
    """Runs `target(*args, write_fd, **kwargs)` in a forked child; returns
    (pid, read_fd). `target` is a module-level function; the arguments are
    pickled.

    The child exits with 0, or 1 if `target` raised. Reap it with `wait`.
    """
    r, wfd = os.pipe()
    try:
        # The server imports the core modules this process has first, so
        # that the child starts as warm as a fork of this process would (not
        # the Keras callbacks: they import Keras).
        warm = sorted(name for name in list(sys.modules)
                      if name.startswith(("fastcallbacks._core.", "fastcallbacks._reference.")))
        pid = _request(("fork", target.__module__, target.__qualname__,
                        sys.modules[target.__module__].__file__, args, kwargs, warm), [wfd])
    finally:
        os.close(wfd)
    return pid, r


def wait(pid):
    """Waits for a child of `fork` to end; returns its wait status."""
    return _request(("wait", pid))


def read_ints(fd):
    """Every whole little-endian int32 the child wrote before the pipe closed."""
    data = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return _ints(data)


def read_first_ints(fd, count, timeout=120):
    """The child's first `count` int32s, or fewer if the pipe closes or
    `timeout` seconds pass; the pipe stays open for `read_ints`."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < 4 * count:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 4 * count - len(data)) if ready else b""
        if not chunk:
            break
        data += chunk
    return _ints(data)


def _ints(data):
    return [v for (v,) in struct.iter_unpack("<i", data[: len(data) // 4 * 4])]


# -- the server ---------------------------------------------------------------------------


def _function(module, qualname, path):
    if module not in sys.modules:
        # Importable under the test process's name: the folder that many
        # levels above the file on the path (`core.test_npzwriter`: tests/).
        root = os.path.dirname(os.path.abspath(path))
        for _ in range(module.count(".")):
            root = os.path.dirname(root)
        if root not in sys.path:
            sys.path.insert(0, root)
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _serve(sock):
    while True:
        head, fds, _, _ = socket.recv_fds(sock, 4, 1)
        if not head:
            return
        head += _recv_exact(sock, 4 - len(head))
        (size,) = struct.unpack("<I", head)
        message = pickle.loads(_recv_exact(sock, size))
        if message[0] == "wait":
            _, status = os.waitpid(message[1], 0)
            sock.sendall(struct.pack("<q", status))
            continue
        _, module, qualname, path, args, kwargs, warm = message
        for name in warm:
            if name not in sys.modules:
                try:
                    importlib.import_module(name)
                except Exception:   # pragma: no cover - reported by the child's use
                    pass
        target = _function(module, qualname, path)   # imported before the fork
        (wfd,) = fds
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0
            try:
                sock.close()
                target(*args, wfd, **kwargs)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(wfd)
        sock.sendall(struct.pack("<q", pid))


if __name__ == "__main__":
    _serve(socket.socket(fileno=int(sys.argv[1])))
