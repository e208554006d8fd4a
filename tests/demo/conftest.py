"""Fixtures of the demo suite: `python -m fastcallbacks demo` / `plot` end to end.

Every test here is marked `keras` by the root conftest (the demo trains a
Keras model on TensorFlow).
"""

import os
import subprocess
import sys

import pytest


def run_cli(*args, timeout=180, pre=None):
    """Runs `python -m fastcallbacks ARGS` (or `pre` code, then main(ARGS))."""
    # The backend the suite runs on (the root conftest defaults it to TF).
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if pre is None:
        cmd = [sys.executable, "-m", "fastcallbacks", *map(str, args)]
    else:
        code = (pre + "\nimport sys\nfrom fastcallbacks.__main__ import main\n"
                f"sys.exit(main({[str(a) for a in args]!r}))\n")
        cmd = [sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def cli():
    """`run_cli` for the tests (conftest modules cannot be imported by name)."""
    return run_cli
