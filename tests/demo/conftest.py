"""Fixtures of the demo suite: `python -m fastcallbacks demo` / `plot` end to end.

Every test here is marked `keras` (the demo trains a Keras model on
TensorFlow). Both variables must be set before Keras is imported.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

_HERE = pathlib.Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in pathlib.Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.keras)


def run_cli(*args, timeout=180, pre=None):
    """Runs `python -m fastcallbacks ARGS` (or `pre` code, then main(ARGS))."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    if pre is None:
        cmd = [sys.executable, "-m", "fastcallbacks", *map(str, args)]
    else:
        code = (pre + "\nimport sys\nfrom fastcallbacks.__main__ import main\n"
                f"sys.exit(main({[str(a) for a in args]!r}))\n")
        cmd = [sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """One `demo --quick` run shared by the tests: (run directory, process)."""
    out = tmp_path_factory.mktemp("demo") / "run"
    proc = run_cli("demo", "--quick", "--out", out)
    assert proc.returncode == 0, f"demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out, proc


@pytest.fixture(scope="session")
def cli():
    """`run_cli` for the tests (conftest modules cannot be imported by name)."""
    return run_cli
