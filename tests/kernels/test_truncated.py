"""Truncated Gaussians: box probabilities and samples against references."""

import numpy as np
import pytest
from scipy import stats

from bayesgen.kernels.truncated import box_probability, sample_box, truncated_normal


def test_box_probability_in_one_and_two_dimensions():
    m, S = np.zeros(1), np.eye(1)
    assert box_probability(m, S, np.array([1.0]), np.array([np.inf])) == stats.norm.sf(1.0)
    C = np.array([[1.0, 0.5], [0.5, 1.0]])
    p = box_probability(np.zeros(2), C, np.array([0.0, 0.0]), np.array([np.inf, np.inf]))
    # P(both positive) = 1/4 + arcsin(rho) / (2 pi)
    assert abs(p - (0.25 + np.arcsin(0.5) / (2 * np.pi))) < 1e-4


def test_gibbs_and_rejection_agree_with_filtered_draws():
    rng = np.random.default_rng(0)
    C = np.array([[1.0, 0.8], [0.8, 1.0]])
    lo, hi = np.array([2.0, 2.0]), np.array([np.inf, np.inf])
    ref = rng.multivariate_normal(np.zeros(2), C, 1_500_000)
    ref = ref[(ref >= 2.0).all(axis=1)]
    for probability in (None, 0.5):  # Gibbs (small box), then rejection forced
        Z = sample_box(np.zeros(2), C, lo, hi, 20_000, rng, probability=probability)
        assert (Z >= 2.0).all()
        se = ref.std(axis=0) * np.sqrt(1 / len(ref) + 1 / len(Z))
        assert np.all(np.abs(Z.mean(axis=0) - ref.mean(axis=0)) < 4 * se)


@pytest.mark.parametrize(
    "lo, hi",
    [(-1.0, 2.0), (3.0, 4.0), (-np.inf, -5.0), (30.0, np.inf), (-np.inf, np.inf), (0.5, 0.6)],
)
def test_truncated_normal_matches_scipy_moments_even_far_out(lo, hi):
    rng = np.random.default_rng(1)
    mean, sd = 0.3, 1.5
    z = truncated_normal(np.full(100_000, mean), sd, lo, hi, rng)
    assert np.all((z >= lo) & (z <= hi))
    ref = stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
    assert abs(z.mean() - ref.mean()) < 5 * ref.std() / np.sqrt(z.size) + 1e-9
    assert abs(z.std() / ref.std() - 1.0) < 0.02
