"""Fixtures of the stopping-criteria tests."""

import importlib

import pytest

from criteria_utils import FakeModel


@pytest.fixture(params=("cython", "python"))
def engine_module(request):
    """`fastcallbacks._core.criteria` or its reference twin, by name (a
    missing compiled core fails the "cython" tests loudly)."""
    package = {"cython": "fastcallbacks._core", "python": "fastcallbacks._reference"}
    module = importlib.import_module(f"{package[request.param]}.criteria")
    if request.param == "cython":
        assert not module.__file__.endswith(".py"), module.__file__
    return module


@pytest.fixture
def fake_model():
    return FakeModel()
