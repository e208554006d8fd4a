"""Fixtures of the ModelCheckpoint suite.

Every test in this directory runs twice, once per core implementation
(`cython`, `python`); the `keras` marker and the backend come from the
root conftest.
"""

import pytest


@pytest.fixture(autouse=True)
def impl(core_impl):
    """Every test runs once per core implementation (see the root conftest)."""
    return core_impl
