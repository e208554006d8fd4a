"""A user who installed fastcallbacks without a Keras backend (issue 17
item 1): one short ImportError naming the selected backend and both ways of
installing it, never Keras's long traceback.

The environment is a real venv (made with `venv --without-pip`) whose
site-packages links every package of the test environment except the
Keras backends (TensorFlow, JAX, torch): importing them fails there exactly
as after `pip install fastcallbacks` without extras, whichever backend the
test environment itself runs (the torch CI leg has torch). Building it takes well under a
second (links, no download).
"""

import os
import subprocess
import sys
import sysconfig
import venv

import pytest

import fastcallbacks  # noqa: E402

# Where the tested fastcallbacks is imported from: src/ in a checkout built in
# place (put on PYTHONPATH), or site-packages when installed (linked into the
# venv below with everything else, so no PYTHONPATH: that would bring
# TensorFlow back).
_IMPORTED_FROM = os.path.dirname(os.path.dirname(os.path.abspath(fastcallbacks.__file__)))
SRC = None if os.path.realpath(_IMPORTED_FROM) == os.path.realpath(sysconfig.get_paths()["purelib"]) \
    else _IMPORTED_FROM
_DROPPED = ("tensorflow", "tensorflow_cpu", "tensorflow-", "tensorflow_io", "tf_keras",
            "torch", "jax")


@pytest.fixture(scope="module")
def python_without_tf(tmp_path_factory):
    root = tmp_path_factory.mktemp("venv-no-tf")
    venv.EnvBuilder(with_pip=False, system_site_packages=False, symlinks=True).create(root)
    python = os.path.join(root, "bin", "python")
    target = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    source = sysconfig.get_paths()["purelib"]
    for name in os.listdir(source):
        if name.lower().startswith(_DROPPED) or os.path.exists(os.path.join(target, name)):
            continue
        os.symlink(os.path.join(source, name), os.path.join(target, name))
    home = tmp_path_factory.mktemp("keras-home")
    return python, str(home)


def _run(python_home, code=None, args=(), backend=None):
    python, home = python_home
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "PYTHONPATH", "PYTHONHOME")}
    env.update(KERAS_HOME=home, TF_CPP_MIN_LOG_LEVEL="3")
    if SRC:
        env["PYTHONPATH"] = SRC
    if backend:
        env["KERAS_BACKEND"] = backend
    cmd = [python, "-c", code] if code is not None else [python, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def _assert_short_message(stderr, backend):
    assert f"{backend!r} is not installed" in stderr, stderr
    assert f'pip install "fastcallbacks[{backend}]"' in stderr
    assert f'pip install ".[{backend}]"' in stderr
    assert "JAX" in stderr and "torch" in stderr
    assert "keras/src" not in stderr  # not Keras's traceback


@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_the_venv_really_lacks_the_backends(python_without_tf, backend):
    proc = _run(python_without_tf, f"import {backend}")
    assert proc.returncode == 1 and f"No module named {backend!r}" in proc.stderr


def test_importing_a_callback_raises_one_short_import_error(python_without_tf):
    proc = _run(python_without_tf, "from fastcallbacks import EarlyStopping")
    assert proc.returncode == 1
    _assert_short_message(proc.stderr, "tensorflow")
    assert "KERAS_BACKEND is not set" in proc.stderr
    # Python 3.13 underlines the failing call with a line of ~ and ^ marks.
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip(" ~^")]
    assert lines[-1].startswith("ImportError: fastcallbacks needs a Keras backend"), lines
    assert len(lines) <= 8, proc.stderr


def test_the_message_names_the_backend_keras_backend_selects(python_without_tf):
    proc = _run(python_without_tf, "import fastcallbacks; fastcallbacks.ModelCheckpoint",
                backend="torch")
    assert proc.returncode == 1
    _assert_short_message(proc.stderr, "torch")
    assert "KERAS_BACKEND=torch selects it" in proc.stderr


def test_example_prints_one_line(python_without_tf):
    proc = _run(python_without_tf, args=("-m", "fastcallbacks", "example"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m fastcallbacks example: error: fastcallbacks needs")
    _assert_short_message(proc.stderr, "tensorflow")


def test_what_needs_no_backend_still_works(python_without_tf):
    proc = _run(python_without_tf,
                "import fastcallbacks, numpy as np; fastcallbacks.checkpoint.verify; "
                "fastcallbacks.npz.status; fastcallbacks.RingMonitor(3).push(1.0); print('ok')")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_other_missing_modules_are_not_disguised():
    from fastcallbacks import _backend

    assert _backend.missing_backend_error(ModuleNotFoundError("x", name="h5py")) is None
    e = _backend.missing_backend_error(ModuleNotFoundError("x", name="jaxlib.xla"))
    assert isinstance(e, ImportError) and "'jax' is not installed" in str(e)


def test_demo_names_its_extra_both_ways(python_without_tf, tmp_path):
    proc = _run(python_without_tf, args=("-m", "fastcallbacks", "demo", "--quick",
                                         "--out", str(tmp_path / "run")))
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m fastcallbacks demo: error: Keras or its backend"), last
    assert 'pip install "fastcallbacks[demo]"' in last and 'pip install ".[demo]"' in last
    assert "Traceback" not in proc.stderr
