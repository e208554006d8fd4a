"""Fixtures of the Keras parity suite.

Every test in this directory runs on the compiled core; those marked
`reference_smoke` also on the pure-Python reference (see the root conftest).
The `keras` marker and the backend come from the root conftest.
"""

import pytest

from parity_utils import ModelPair


@pytest.fixture(autouse=True)
def impl(core_impl):
    """The core implementation of this test (see the root conftest)."""
    return core_impl


@pytest.fixture(scope="module")
def model_pair():
    return ModelPair()
