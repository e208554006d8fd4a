"""Crashes and full disks: SIGKILL at random moments during saves (many
trials, in subprocesses), and a background save that hits the file-size
limit. One worker interpreter per core implementation (that of the `impl`
parameter) runs all the scenarios; each test asserts its own."""

import errno
import json
import os
import subprocess
import sys

import keras
import numpy as np

from fastcallbacks import checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
TRIALS = 5


def _env(impl):
    env = dict(os.environ)
    # The backend the suite runs on (the root conftest defaults it to TF).
    env["KERAS_BACKEND"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.pop("FASTCALLBACKS_PURE_PYTHON", None)
    if impl == "python":
        env["FASTCALLBACKS_PURE_PYTHON"] = "1"
    return env


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _model():
    return keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(512), keras.layers.Dense(256)]
    )


_RUNS = {}


def _worker_run(impl, tmp_path_factory):
    """One interpreter (one Keras import) per core implementation runs the
    sync and async kill trials and then the file-size-limit scenario; each
    test below asserts its own part: (trials, their directory, the fault
    report, its directory)."""
    if impl not in _RUNS:
        root = tmp_path_factory.mktemp(f"faults-{impl}")
        kill_dir, fault_dir = root / "kill", root / "fault"
        kill_dir.mkdir()
        fault_dir.mkdir()
        p = subprocess.run(
            [sys.executable, os.path.join(HERE, "kill_worker.py"), str(kill_dir),
             "sync,async", str(TRIALS), "0", str(fault_dir)],
            env=_env(impl), capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        lines = _json_lines(p.stdout)
        trials = [line for line in lines if "fault" not in line]
        faults = [line["fault"] for line in lines if "fault" in line]
        _RUNS[impl] = (trials, kill_dir, faults, fault_dir)
    return _RUNS[impl]


# Not reference_smoke: the core's only part in these saves is WeightSnapshot
# (the async copy; the .weights.h5 writing, commit and digest are Python
# code shared by both cores), which tests/core/test_snapshot.py proves exact
# on both implementations and tests/core/test_fork.py across fork; the
# reference's async saver runs in test_checkpoint_fork.py (reference_smoke).
def test_sigkill_during_saves_leaves_only_complete_checkpoints(tmp_path_factory, impl):
    trials, tmp_path, _, _ = _worker_run(impl, tmp_path_factory)
    assert len(trials) == 2 * TRIALS
    model = _model()
    for t in trials:
        assert t["killed"], t
        assert t["problems"] == [], t
        assert t["files"] >= 2 and t["newest"] is not None, t
        # Keras loads the newest complete file and the fixed one.
        directory = tmp_path / f"{t['mode']}-{t['trial']}"
        newest = directory / "tpl" / f"s{t['newest'] + 1:06d}.weights.h5"
        assert checkpoint.latest_good(directory / "tpl") == str(newest)
        model.load_weights(str(newest))
        assert all(np.all(w == t["newest"]) for w in model.get_weights())
        fixed = directory / "fixed" / "last.weights.h5"
        model.load_weights(str(fixed))
        values = {float(np.unique(w)[0]) for w in model.get_weights()}
        assert len(values) == 1 and all(np.unique(w).size == 1 for w in model.get_weights())
        # Whatever temporary files the kill left, the next fit's clean-up
        # (the killed process is gone) removes all of them, and only them.
        for sub in ("tpl", "fixed"):
            before = set(os.listdir(directory / sub))
            removed = checkpoint.remove_stale_temps(directory / sub)
            after = set(os.listdir(directory / sub))
            assert not [n for n in after if checkpoint.is_temp_name(n)], after
            assert before - after == {os.path.basename(r) for r in removed}


def test_file_size_limit_during_async_save(tmp_path_factory, impl):
    _, _, reports, tmp_path = _worker_run(impl, tmp_path_factory)
    (report,) = reports
    for where, target in (("next_hook", "last.weights.h5"), ("train_end", "other.weights.h5")):
        kind, code, message = report[where]
        assert kind == "OSError" and code == errno.EFBIG, report
        assert str(tmp_path / target) in message and "File too large" in message
    # The previous good checkpoint is intact; no partial or temporary file.
    # (no sidecar by default: the file verifies by its structure)
    assert report["files"] == ["last.weights.h5"]
    assert report["verifies"] and report["value"] == 1.0
    assert report["latest_good"] == str(tmp_path / "last.weights.h5")
