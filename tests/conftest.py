"""Shared pytest fixtures for the bayesgen test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """Where the read-only reference data live: $BAYESGEN_SHARED_DATA, else ../shared/data
    beside the checkout."""
    env = os.environ.get("BAYESGEN_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared reference data directory; skips the test when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared reference data not found at {path} (set BAYESGEN_SHARED_DATA)")
    return path
