"""ModelCheckpoint's background saver across os.fork() (issue 12, item 5).

Before, a child forked after an async save queued its next save for the
parent's saver thread, which does not exist in the child, and waited for
it forever. Now the child starts over with its own saver; the parent's save
in flight at the fork is the parent's to finish. Runs in a subprocess
(`fork_worker.py`, numpy backend) with time limits: one worker for both
core implementations, each scenario in a process forked for it.
"""

import os
import subprocess
import sys

import pytest

import fastcallbacks

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

WORKER = os.path.join(os.path.dirname(__file__), "fork_worker.py")
# The child imports the fastcallbacks this process imported (the source
# tree in development, the installed wheel under cibuildwheel).
SRC = os.path.dirname(os.path.dirname(fastcallbacks.__file__))


def _fork_backend():
    """Keras's numpy backend (the hooks run without fit; no backend thread
    pools in the forking process), which imports JAX; without JAX (a
    torch-only environment) the suite's backend, unless that is TensorFlow,
    whose runtime does not survive a fork."""
    import importlib.util

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if importlib.util.find_spec("jax") is not None or backend == "tensorflow":
        return "numpy"
    return backend


_RUN = {}


def _worker_run(tmp_path_factory):
    """One worker interpreter (one Keras import) runs the scenario for both
    core implementations, each in a process forked for it; returns the
    outcome, the printed files and the directory of each implementation."""
    if not _RUN:
        root = tmp_path_factory.mktemp("fork")
        dirs = {impl: root / impl for impl in ("cython", "python")}
        for d in dirs.values():
            d.mkdir()
        env = dict(os.environ, KERAS_BACKEND=_fork_backend(),
                   PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("FASTCALLBACKS_PURE_PYTHON", None)
        try:
            proc = subprocess.run([sys.executable, WORKER,
                                   *(f"{impl}={d}" for impl, d in dirs.items())],
                                  capture_output=True, text=True, timeout=240, env=env)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker hung")
        assert proc.returncode == 0, proc.stderr[-3000:]
        lines = {}
        for line in proc.stdout.splitlines():
            impl, role, rest = (line.split(" ", 2) + [""])[:3]
            lines[impl, role] = rest
        _RUN.update({impl: (lines, d, proc.stderr) for impl, d in dirs.items()})
    return _RUN


@pytest.mark.reference_smoke
def test_async_saver_across_fork(impl, tmp_path_factory):
    lines, tmp_path, stderr = _worker_run(tmp_path_factory)[impl]
    status = lines.get((impl, "status"))
    if status == "hung":
        pytest.fail("the parent hung")
    assert status == "ok", (status or "no status").replace("\\n", "\n") + stderr[-3000:]
    saved = {name for name in os.listdir(tmp_path) if name.endswith(".weights.h5")}
    # Epochs 0, 1, 3 by the parent, 2 by the child (files are 1-based).
    assert saved == {"m1.weights.h5", "m2.weights.h5", "m3.weights.h5", "m4.weights.h5"}
    assert "m3.weights.h5" in lines[impl, "child"].split()
