"""Benchmarks: run with `pytest --benchmark` from the repository root.

Every figure is meant to be read as a ratio to an anchor measured in the
same run (Keras's own callback, the pure-Python reference, numpy).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


@pytest.fixture(params=["cython", "python"])
def impl(request):
    from fastcallbacks import _impl

    previous = _impl.use(request.param)
    yield request.param
    _impl.use(previous)


@pytest.fixture
def path(tmp_path):
    """A file name for one benchmark's writes, removed afterwards."""
    p = tmp_path / "bench.npz"
    yield str(p)
    if p.exists():
        p.unlink()
