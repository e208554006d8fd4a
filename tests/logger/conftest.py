"""Fixtures of the ActivationLogger suite (real `model.fit` on a Keras backend).

Every test runs once per core implementation (`cython`, `python`) and is
marked `keras`. The backend is TensorFlow unless `KERAS_BACKEND` says
otherwise; both variables must be set before Keras is imported.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pathlib  # noqa: E402

import pytest  # noqa: E402

from fastcallbacks import _impl  # noqa: E402

_HERE = pathlib.Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in pathlib.Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.keras)


@pytest.fixture(params=("cython", "python"))
def impl(request):
    """Selects the NpzWriter implementation the logger writes with."""
    previous = _impl.use(request.param)
    try:
        expected = "fastcallbacks._core.npzwriter" if request.param == "cython" \
            else "fastcallbacks._reference.npzwriter"
        assert _impl.npzwriter.__name__ == expected
        yield request.param
    finally:
        _impl.use(previous)
