"""`python -m fastcallbacks example`: the README's first command."""

import os
import subprocess
import sys


def _run(*args):
    # The backend the suite runs on (the root conftest defaults it to
    # TensorFlow): the example is backend-neutral.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "fastcallbacks", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


# TensorFlow's C++ start-up notes (oneDNN, absl) go to the native stderr
# whatever TF_CPP_MIN_LOG_LEVEL says; this stands in for them, written to
# file descriptor 2 when `tensorflow` is imported.
NATIVE_NOISE = """
import importlib.abc, os, sys
class _Noise(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "tensorflow":
            os.write(2, b"NATIVE-NOISE\\n")
        return None
sys.meta_path.insert(0, _Noise())
from fastcallbacks.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_example_runs_the_book_callbacks_and_stops_early():
    # The suite's backend (the root conftest defaults it to TensorFlow).
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", NATIVE_NOISE, "example"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Quiet like the demo: the native start-up output is hidden. (TF's
    # noise; on the other backends Keras only probes for the module, which
    # the stand-in cannot tell from an import.)
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        assert "NATIVE-NOISE" not in proc.stderr, proc.stderr[-3000:]
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
