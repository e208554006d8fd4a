"""`python -m fastcallbacks example`: the README's first command."""

import os
import subprocess
import sys

import pytest


@pytest.fixture(autouse=True, params=["cython"])
def impl(request):
    # A subprocess: the implementation is the one the environment selects.
    return request.param


def _run(*args):
    # The backend the suite runs on (the root conftest defaults it to
    # TensorFlow): the example is backend-neutral.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "fastcallbacks", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_example_runs_the_book_callbacks_and_stops_early():
    proc = _run("example")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "Epoch 1/10" in out
    assert "learning_rate" in out  # written by ReduceLROnPlateau
    summary = [line for line in out.splitlines() if line.startswith("epochs run:")]
    assert len(summary) == 1, out[-2000:]
    assert "reason: patience" in summary[0]
    epochs_run = int(summary[0].split(";")[0].split(":")[1])
    assert 2 <= epochs_run < 10


def test_example_rejects_bad_arguments():
    proc = _run("example", "--epochs", "0")
    assert proc.returncode == 2
    assert "--epochs" in proc.stderr
    proc = _run("nonsense")
    assert proc.returncode == 2
