"""Fixtures of the ModelCheckpoint suite.

Every test in this directory runs on the compiled core; those marked
`reference_smoke` also on the pure-Python reference (see the root conftest).
The `keras` marker and the backend come from the root conftest.
"""

import pytest


@pytest.fixture(autouse=True)
def impl(core_impl):
    """The core implementation of this test (see the root conftest)."""
    return core_impl
