"""os.fork() with a writer or snapshot thread busy (issue 12, item 5).

Before: in the child an NpzWriter's `commit()` waited forever, interpreter
exit hung in pthread_cond_destroy, and `add()` + `close()` returned success
without writing. Now every call on a writer created before the fork raises
RuntimeError in the child, its exit never hangs, and the parent's writer is
unaffected. A WeightSnapshot keeps working in the child (its buffers are a
cache). Each scenario runs in a subprocess (`fork_worker.py`) with a time
limit; the worker also bounds its wait for the child.
"""

import os
import subprocess
import sys

import pytest

import fastcallbacks

from .impls import IMPLS

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

WORKER = os.path.join(os.path.dirname(__file__), "fork_worker.py")
# The child imports the fastcallbacks this process imported (the source
# tree in development, the installed wheel under cibuildwheel).
SRC = os.path.dirname(os.path.dirname(fastcallbacks.__file__))


def run_scenario(impl, scenario, tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, WORKER, impl, scenario, str(tmp_path)],
                              capture_output=True, text=True, timeout=150, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{scenario}: the parent hung")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (
        f"{scenario}: status {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("action", ["exit", "drop", "commit", "close", "add", "pending", "exit_with",
                                    "exit_idle", "drop_idle", "commit_idle"])
def test_npz_writer_across_fork(impl, action, tmp_path):
    run_scenario(impl, f"npz:{action}", tmp_path)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("action", ["thread", "fn"])
def test_snapshot_across_fork(impl, action, tmp_path):
    run_scenario(impl, f"snapshot:{action}", tmp_path)
