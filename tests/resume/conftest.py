"""Fixtures of the BackupAndRestore suite (compiled core; the `keras`
marker and the backend come from the root conftest)."""

import pytest


@pytest.fixture(autouse=True)
def impl(core_impl):
    """The core implementation of this test (see the root conftest)."""
    return core_impl
