"""Number of statistically different bins: settings checks (bayesgen.metrics.bins)."""

from __future__ import annotations

import numpy as np
import pytest

import bayesgen.metrics as M
from bayesgen import DataError


def test_ndb_rejects_bad_settings():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(DataError):
        M.ndb(X, X, n_bins=11)
    with pytest.raises(ValueError):
        M.ndb(X, X, n_bins=3, alpha=1.5)
