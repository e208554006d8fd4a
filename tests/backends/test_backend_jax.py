"""The JAX backend end to end: `tests/other_backends.py` (parity of
EarlyStopping/ReduceLROnPlateau/TerminateOnNaN with Keras in `fit`, the
per-step check on the async dispatch path, schedule scaling, ModelCheckpoint
files against Keras's, ActivationLogger against predict, StopWhen and
PlateauSchedule with VariableL2 in fit) in a subprocess,
since Keras picks its backend once per process. The script runs on the
suite's backend where that is not TensorFlow (the torch leg), and on JAX
under TensorFlow (CI installs jax through the `test` extra).

The script runs once, on the compiled core: tests/core proves the reference
bit-identical to it, and the reference's own path through the callbacks is
covered on TensorFlow by the `reference_smoke` tests (run the script by hand
with FASTCALLBACKS_PURE_PYTHON=1 to see it on another backend)."""

import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "other_backends.py")


def _script_backend():
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    return "jax" if backend == "tensorflow" else backend


def test_other_backends_script_passes(tmp_path):
    backend = _script_backend()
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu",
               FASTCALLBACKS_REQUIRE_EXT="1", TF_CPP_MIN_LOG_LEVEL="3",
               # JAX's compilation cache, empty at the start, in this test's
               # folder: the script's Keras/fastcallbacks fit pairs build the
               # same model, so the second one's train and test steps reuse
               # the first one's XLA executables (the same computation,
               # compiled once) instead of compiling them again: about a third
               # of the script's time. Nothing else changes.
               JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax-cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")
    env.pop("FASTCALLBACKS_PURE_PYTHON", None)
    p = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True,
                       timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "seeding quiet" in p.stdout, out[-3000:]   # the demo's seeding was checked
    assert f"backend {backend} impl cython" in p.stdout, out[-3000:]
    for line in ("parity ok", "checkpoint ok .keras async", "activation logger ok", "host arrays ok",
                 "criteria ok", "ALL OK"):
        assert line in p.stdout, out[-3000:]
