"""os.fork() with a writer or snapshot thread busy (issue 12, item 5).

Before: in the child an NpzWriter's `commit()` waited forever, interpreter
exit hung in pthread_cond_destroy, and `add()` + `close()` returned success
without writing. Now every call on a writer created before the fork raises
RuntimeError in the child, its exit never hangs, and the parent's writer is
unaffected. A WeightSnapshot keeps working in the child (its buffers are a
cache). Each scenario runs in a process of its own, forked from one driver
per implementation (`fork_worker.py`, started once for the module: one
interpreter start instead of one per scenario) with a time limit; the
scenario also bounds its wait for the child.
"""

import json
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


NPZ_ACTIONS = ["exit", "drop", "commit", "close", "add", "pending", "exit_with",
               "exit_idle", "drop_idle", "commit_idle"]
SNAPSHOT_ACTIONS = ["thread", "fn"]
SCENARIOS = [f"npz:{a}" for a in NPZ_ACTIONS] + [f"snapshot:{a}" for a in SNAPSHOT_ACTIONS]


@pytest.fixture(scope="module")
def fork_results(tmp_path_factory):
    """{impl: {scenario: "ok" or what failed}}, each implementation's driver
    run once, when its first test asks."""
    results = {}

    def get(impl):
        if impl not in results:
            results[impl] = _run_driver(impl, tmp_path_factory.mktemp(f"fork-{impl}"))
        return results[impl]
    return get


def _run_driver(impl, directory):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, WORKER, impl, str(directory), *SCENARIOS],
                              capture_output=True, text=True, env=env,
                              timeout=150 * len(SCENARIOS))
    except subprocess.TimeoutExpired:
        return {s: f"{s}: the driver hung" for s in SCENARIOS}
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return {s: f"driver status {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
                for s in SCENARIOS}


def run_scenario(fork_results, impl, scenario):
    result = fork_results(impl)[scenario]
    assert result == "ok", result


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("action", NPZ_ACTIONS)
def test_npz_writer_across_fork(impl, action, fork_results):
    run_scenario(fork_results, impl, f"npz:{action}")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("action", SNAPSHOT_ACTIONS)
def test_snapshot_across_fork(impl, action, fork_results):
    run_scenario(fork_results, impl, f"snapshot:{action}")
