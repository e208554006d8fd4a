"""Two real training processes on 127.0.0.1, bounded in time.

`run_pair(engine)` starts `worker.py` twice (process 0 and 1) on free
loopback ports, waits at most `LIMIT` seconds, ends any process still
running by its PID (and the test fails), and returns both reports.
"""

import json
import os
import importlib
import signal
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# The folder the tested fastcallbacks is imported from (src/ in a checkout built
# in place, site-packages when installed, as in CI).
SRC = os.path.dirname(os.path.dirname(os.path.abspath(importlib.import_module("fastcallbacks").__file__)))
LIMIT = 360   # seconds for a whole launch pair (~30-65 s on a quiet 2-core machine)


def free_ports(n):
    """`n` consecutive free TCP ports on 127.0.0.1 (bound, then released)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free consecutive loopback ports")


@pytest.fixture(scope="module")
def run_pair(tmp_path_factory):
    started = []

    def run(engine):
        out = tmp_path_factory.mktemp(f"pair_{engine}")
        os.makedirs(out / "files")
        # jax: one coordinator port; tf: one port per worker.
        port = free_ports(2)
        env = dict(os.environ)
        env.update(PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""),
                   TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
                   JAX_PLATFORMS="cpu", XLA_FLAGS="", OMP_NUM_THREADS="1",
                   TF_NUM_INTEROP_THREADS="1", TF_NUM_INTRAOP_THREADS="1",
                   PYTHONWARNINGS="ignore")
        env.pop("KERAS_BACKEND", None)
        procs = []
        for index in (0, 1):
            log = open(out / f"log_{index}.txt", "wb")
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "worker.py"), engine, str(index),
                 str(port), str(out)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            procs.append(proc)
            started.append(proc)
        codes, hung = [], []
        for proc in procs:
            try:
                codes.append(proc.wait(timeout=LIMIT))
            except subprocess.TimeoutExpired:
                hung.append(proc.pid)
                _kill(proc)
                codes.append(proc.wait())
        reports = []
        for index in (0, 1):
            path = out / f"report_{index}.json"
            reports.append(json.loads(path.read_text()) if path.exists() else None)
        logs = [(out / f"log_{i}.txt").read_text(errors="replace")[-4000:] for i in (0, 1)]
        return {"out": out, "codes": codes, "hung": hung, "reports": reports, "logs": logs}

    yield run
    for proc in started:      # leftovers, by PID
        if proc.poll() is None:
            _kill(proc)
            proc.wait()


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the worker leads its own session
    except (ProcessLookupError, PermissionError):
        proc.kill()
