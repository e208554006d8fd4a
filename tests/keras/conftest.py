"""Fixtures of the Keras parity suite.

Every test in this directory runs on the compiled core; those marked
`reference_smoke` also on the pure-Python reference. The `keras` marker,
the backend and the `impl` fixture come from the root conftest.
"""

import pytest

from parity_utils import ModelPair


@pytest.fixture(scope="module")
def model_pair():
    return ModelPair()
