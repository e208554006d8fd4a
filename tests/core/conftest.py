"""Fixtures for the core tests: every test runs on both implementations."""

import pytest

from .impls import IMPLS, load_impl


@pytest.fixture(params=IMPLS)
def impl(request):
    return load_impl(request.param)

