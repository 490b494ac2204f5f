"""Fixtures of the compose stack's tests (make test-compose, make test-cluster)."""

from __future__ import annotations

import pytest

from tests.compose.stack import Say, progress


@pytest.fixture(scope="module")
def say(pytestconfig: pytest.Config) -> Say:
    """Progress lines shown as the stack comes up, past pytest's capture."""
    return progress(pytestconfig)
