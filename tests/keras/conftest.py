"""Fixtures of the Keras parity suite.

Every test in this directory runs twice, once per core implementation
(`cython`, `python`); the `keras` marker and the backend come from the
root conftest.
"""

import pytest

from parity_utils import ModelPair


@pytest.fixture(autouse=True)
def impl(core_impl):
    """Every test runs once per core implementation (see the root conftest)."""
    return core_impl


@pytest.fixture(scope="module")
def model_pair():
    return ModelPair()
