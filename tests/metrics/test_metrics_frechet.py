"""Frechet distance between fitted Gaussians (bayesgen.metrics.frechet)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

import bayesgen.metrics as M


def _random_spd(d, rng):
    A = rng.normal(size=(d, d))
    return A @ A.T / d + 0.1 * np.eye(d)


def test_frechet_gaussian_matches_scipy_sqrtm_formula():
    rng = np.random.default_rng(4)
    d = 6
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    C1, C2 = _random_spd(d, rng), _random_spd(d, rng)
    covmean = linalg.sqrtm(C1 @ C2).real
    ref = (m1 - m2) @ (m1 - m2) + np.trace(C1 + C2 - 2 * covmean)
    assert M.frechet_distance_gaussian(m1, C1, m2, C2) == pytest.approx(ref, rel=1e-8)
    # symmetric in its arguments
    assert M.frechet_distance_gaussian(m2, C2, m1, C1) == pytest.approx(ref, rel=1e-8)


def test_frechet_zero_for_identical_moments_even_singular():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 30))  # n < d: singular sample covariance
    res = M.frechet_distance(X, X.copy(), feature_space="pca-50")
    assert res.value == pytest.approx(0.0, abs=1e-8)
    assert res.name == "Frechet distance (pca-50)"
    assert "FID" not in res.name
    C = _random_spd(5, rng)
    assert M.frechet_distance_gaussian(np.ones(5), C, np.ones(5), C) == pytest.approx(0, abs=1e-10)


def test_frechet_sample_estimate_matches_closed_form():
    rng = np.random.default_rng(6)
    n, d = 40000, 4
    s1, s2 = np.array([1.0, 2.0, 0.5, 1.5]), np.array([2.0, 1.0, 0.5, 3.0])  # std devs
    mu2 = np.array([1.0, -1.0, 0.0, 0.5])
    X1 = rng.standard_normal((n, d)) * s1
    X2 = mu2 + rng.standard_normal((n, d)) * s2
    closed = mu2 @ mu2 + np.sum((s1 - s2) ** 2)  # commuting (diagonal) covariances
    assert M.frechet_distance_gaussian(np.zeros(d), np.diag(s1**2), mu2, np.diag(s2**2)) == (
        pytest.approx(closed, rel=1e-10)
    )
    assert float(M.frechet_distance(X1, X2)) == pytest.approx(closed, rel=0.03)


def test_frechet_increases_monotonically_with_shift():
    rng = np.random.default_rng(7)
    n, d = 2000, 5
    real = rng.standard_normal((n, d))
    base = rng.standard_normal((n, d))
    vals = [float(M.frechet_distance(real, base + s)) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(vals, vals[1:], strict=False))
    # a pure mean shift s along every axis adds about d * s^2
    assert vals[-1] == pytest.approx(d * 4.0, rel=0.1)
