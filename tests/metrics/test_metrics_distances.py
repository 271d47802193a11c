"""Blocked distance kernels equal their unbatched versions (bayesgen.metrics.distances).

The module itself is imported: the test shrinks its private column block size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import bayesgen.metrics.distances as M
from bayesgen import DataError


def test_batched_distances_equal_unbatched(monkeypatch):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(53, 6))
    B = rng.normal(size=(41, 6))
    full = cdist(A, B, "sqeuclidean")
    np.testing.assert_allclose(M.pairwise_sq_distances(A, B), full, atol=1e-10)
    monkeypatch.setattr(M, "_COL_BLOCK", 9)  # exercise blocking in both directions
    d, i = M.nearest_neighbour_distances(A, B, batch_size=7)
    np.testing.assert_array_equal(i, np.argmin(full, axis=1))
    np.testing.assert_allclose(d, np.sqrt(full.min(axis=1)), atol=1e-12)
    r = rng.uniform(0.5, 2.5, size=len(B))
    counts = M.count_in_balls(A, B, r, batch_size=5)
    np.testing.assert_array_equal(counts, (full <= r[None, :] ** 2).sum(axis=1))
    d1, _ = M.nearest_neighbour_distances(A, B, batch_size=10_000)
    np.testing.assert_allclose(d, d1, atol=1e-12)


def test_knn_radii_match_brute_force():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(M.knn_radii(X, 3), np.sort(D, axis=1)[:, 2], atol=1e-10)
    with pytest.raises(DataError):
        M.knn_radii(X[:3], 3)
