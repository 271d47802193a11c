"""Fixtures of the bayesgen.io tests."""

from __future__ import annotations

import pytest

from bayesgen.io import deps


@pytest.fixture(params=["pyarrow", "python"])
def engine(request, monkeypatch):
    """Run a CSV test with pyarrow's fast path and with the pure-python reader/writer."""
    if request.param == "pyarrow":
        pytest.importorskip("pyarrow")
    monkeypatch.setattr(deps, "_USE_PYARROW", request.param == "pyarrow")
    return request.param
