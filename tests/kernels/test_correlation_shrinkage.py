"""The data-driven shrinkage of a copula's correlation (kernels.score_moments)."""

from __future__ import annotations

import numpy as np
import pytest

from bayesgen.densities import GaussianCopulaDensity
from bayesgen.kernels.score_moments import correlation_shrinkage


def _equicorrelated(d: int, rho: float) -> np.ndarray:
    R = np.full((d, d), rho)
    np.fill_diagonal(R, 1.0)
    return R


def _sample_correlation(X: np.ndarray) -> np.ndarray:
    return np.corrcoef(X, rowvar=False)


def test_shrinking_by_the_estimate_moves_small_samples_closer_to_the_truth():
    """Gaussian rows of a known correlation: over repetitions, the shrunk estimate is
    closer (Frobenius) than the raw one when rows are few, the intensity falls with the
    rows, and is about 1 for independent features."""
    rng = np.random.default_rng(0)
    truth = _equicorrelated(12, 0.3)
    means = {}
    for n in (15, 60, 2000):
        gains, intensities = [], []
        for _ in range(40):
            X = rng.multivariate_normal(np.zeros(12), truth, size=n)
            R = _sample_correlation(X)
            lam = correlation_shrinkage(R, n)
            shrunk = (1 - lam) * R + lam * np.eye(12)
            gains.append(np.linalg.norm(R - truth) - np.linalg.norm(shrunk - truth))
            intensities.append(lam)
        means[n] = np.mean(intensities)
        assert np.mean(gains) > 0, n
    assert means[15] > means[60] > means[2000] and means[2000] < 0.02
    independent = rng.normal(size=(15, 12))
    assert correlation_shrinkage(_sample_correlation(independent), 15) > 0.7


def test_counts_per_pair_and_edge_cases():
    R = _equicorrelated(3, 0.5)
    full = correlation_shrinkage(R, 20)
    assert 0 < full < 1
    # one pair seen in 5 rows only: more uncertainty, more shrinkage
    pairs = np.full((3, 3), 20.0)
    pairs[0, 1] = pairs[1, 0] = 5.0
    assert correlation_shrinkage(R, pairs) > full
    assert correlation_shrinkage(np.eye(1), 10) == 0.0
    assert correlation_shrinkage(np.eye(4), 10) == 1.0  # nothing to keep


def test_the_copula_of_a_small_class_stays_proper():
    """15 rows of 20 correlated features: with no shrinkage the correlation is singular up
    to the ridge and held-out rows score hugely negative (about -1e6 nats); "auto" shrinks
    and scores them better than the fixed 0.05 too."""
    rng = np.random.default_rng(1)
    truth = _equicorrelated(20, 0.5)
    X = rng.multivariate_normal(np.zeros(20), truth, size=15)
    held = rng.multivariate_normal(np.zeros(20), truth, size=500)

    def held_out(shrinkage):
        fitted = GaussianCopulaDensity(shrinkage=shrinkage, random_state=0).fit(X)
        return fitted.score_samples(held).mean()

    auto = held_out("auto")
    assert held_out(0.0) < auto - 1000
    assert auto > held_out(0.05)
    with pytest.raises(ValueError, match="'auto' or a number"):
        GaussianCopulaDensity(shrinkage="ledoit").fit(X)


def test_pairs_never_seen_together_do_not_force_shrinkage():
    """Features 0-2 and 3-5 never observed in the same rows: those pairs say nothing, so
    the well-determined correlations inside each block keep the intensity small."""
    R = np.eye(6)
    R[:3, :3] = R[3:, 3:] = 0.6
    np.fill_diagonal(R, 1.0)
    pairs = np.zeros((6, 6))
    pairs[:3, :3] = pairs[3:, 3:] = 500
    assert correlation_shrinkage(R, pairs) < 0.01
