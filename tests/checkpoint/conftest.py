"""Fixtures of the ModelCheckpoint suite.

Every test in this directory runs twice, once per core implementation
(`cython`, `python`), and is marked `keras`. The backend is TensorFlow unless
`KERAS_BACKEND` says otherwise; both must be set before Keras is imported.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pathlib  # noqa: E402

import pytest  # noqa: E402

import fastcallbacks  # noqa: E402
from fastcallbacks import _impl  # noqa: E402

_HERE = pathlib.Path(__file__).resolve().parent

IMPLS = ("cython", "python")


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session: mark only the tests of this folder.
    for item in items:
        if _HERE in pathlib.Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.keras)


@pytest.fixture(autouse=True, params=IMPLS)
def impl(request):
    """Selects the core implementation the callbacks of a test are built on
    (callbacks bind their core at construction: build them in the test)."""
    previous = _impl.use(request.param)
    try:
        if request.param == "cython":
            for module in (_impl.tracker, _impl.snapshot):
                assert not module.__file__.endswith(".py"), module.__file__
        assert fastcallbacks.implementation() == request.param
        yield request.param
    finally:
        _impl.use(previous)
