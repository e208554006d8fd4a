"""Fixtures of the ActivationLogger suite (real `model.fit` on a Keras backend).

Tests that take `impl` run on the compiled core; those marked
`reference_smoke` also on the pure-Python reference (see the root conftest).
The `keras` marker and the backend come from the root conftest.
"""

import pytest


@pytest.fixture
def impl(core_impl):
    """The NpzWriter implementation the logger writes with."""
    return core_impl
