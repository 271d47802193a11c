"""The E-step of a Gaussian with missing cells, against the partitioned Gaussian directly."""

import numpy as np
import pytest
from scipy import stats

from bayesgen.kernels.conditioning import (
    complete_rows,
    completed_scatter,
    gaussian_conditional,
    missing_layout,
    observed_log_pdf,
    refine_tied,
    sample_mixture_conditional,
)
from bayesgen.kernels.covariance import FullCovariance


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    d = 5
    A = rng.normal(size=(d, d))
    cov = A @ A.T + 0.5 * np.eye(d)
    mean = rng.normal(size=d)
    X = rng.multivariate_normal(mean, cov, size=60)
    X[rng.random(X.shape) < 0.3] = np.nan
    X[0] = np.nan  # nothing observed
    X[1, :] = X[2, :]  # two rows with the same pattern
    return mean, cov, X


def test_completion_is_the_schur_complement_row_by_row(case):
    mean, cov, X = case
    done = complete_rows(mean, cov, X)
    by_row = {}
    for rows, m, cond_cov in done.groups:
        for r, miss, c in zip(rows, m, cond_cov, strict=True):
            by_row[int(r)] = (miss, c)
    for i, x in enumerate(X):
        seen = ~np.isnan(x)
        o, m = np.flatnonzero(seen), np.flatnonzero(~seen)
        if o.size:
            expected = stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(x[o])
            assert done.log_pdf[i] == pytest.approx(expected, rel=1e-10)
        else:
            assert done.log_pdf[i] == 0.0
        if m.size == 0:
            np.testing.assert_array_equal(done.filled[i], x)
            assert i not in by_row
            continue
        B = (
            cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
            if o.size
            else np.zeros((m.size, 0))
        )
        np.testing.assert_allclose(done.filled[i, m], mean[m] + B @ (x[o] - mean[o]), rtol=1e-9)
        np.testing.assert_array_equal(done.filled[i, o], x[o])
        miss, cond_cov = by_row[i]
        np.testing.assert_array_equal(miss, m)
        expected = cov[np.ix_(m, m)] - B @ cov[np.ix_(o, m)]
        np.testing.assert_allclose(cond_cov, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(observed_log_pdf(mean, cov, X), done.log_pdf)
    again = complete_rows(mean, cov, X, missing_layout(np.isnan(X)))
    np.testing.assert_array_equal(again.filled, done.filled)


def test_expected_scatter_adds_each_rows_conditional_covariance(case):
    mean, cov, X = case
    done = complete_rows(mean, cov, X)
    w = np.random.default_rng(1).random(X.shape[0])
    center = np.nanmean(X, axis=0)
    got = completed_scatter(done, w, center)
    expected = np.zeros_like(cov)
    for i, x in enumerate(X):
        dev = done.filled[i] - center
        expected += w[i] * np.outer(dev, dev)
        m = np.flatnonzero(np.isnan(x))
        o = np.flatnonzero(~np.isnan(x))
        if m.size:
            B = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)]) if o.size else 0.0
            cond = cov[np.ix_(m, m)] - (B @ cov[np.ix_(o, m)] if o.size else 0.0)
            expected[np.ix_(m, m)] += w[i] * cond
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def _random_covariance(rng, d):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.3 * np.eye(d)


def test_batched_mixture_conditional_draws_follow_each_rows_conditional():
    """One Gaussian: every row's draws have the Schur-complement mean and covariance of
    ``gaussian_conditional`` for that row."""
    rng = np.random.default_rng(0)
    d = 5
    mean, cov = rng.standard_normal(d), _random_covariance(rng, d)
    free = np.array([False, True, False, True, False])
    rows = rng.standard_normal((2, d))
    draws = 40_000
    Z = np.repeat(rows, draws, axis=0)
    out = sample_mixture_conditional([(0.0, mean, cov)], Z, free, rng)
    for i, row in enumerate(rows):
        piece = gaussian_conditional(mean, FullCovariance.from_matrix(cov), ~free, row[~free])
        got = out[i * draws : (i + 1) * draws]
        np.testing.assert_allclose(got.mean(axis=0), piece.mean, atol=0.02)
        np.testing.assert_allclose(np.cov(got.T), piece.covariance(), atol=0.02)


def test_batched_mixture_conditional_weights_components_by_the_observed_cells():
    """Two well separated components: a row observed near one draws from that one, with
    the posterior weight ``w_c N(z_o | mu_co, S_coo)`` normalised."""
    rng = np.random.default_rng(1)
    cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    components = [
        (np.log(0.3), np.array([-2.0, -2.0]), cov),
        (np.log(0.7), np.array([2.0, 2.0]), cov),
    ]
    free = np.array([False, True])
    Z = np.zeros((100_000, 2))  # observed z_0 = 0: both components plausible
    out = sample_mixture_conditional(components, Z, free, rng)[:, 0]
    like = np.array([0.3 * stats.norm(-2, 1).pdf(0), 0.7 * stats.norm(2, 1).pdf(0)])
    post = like / like.sum()
    # component c given z_0 = 0: mean mu_c1 + 0.5 (0 - mu_c0) = mu_c1 / 2, variance 0.75
    expected = post[0] * stats.norm(-1, np.sqrt(0.75)).cdf(0) + post[1] * stats.norm(
        1, np.sqrt(0.75)
    ).cdf(0)
    assert abs(np.mean(out < 0) - expected) < 0.01
    assert sample_mixture_conditional(components, Z[:3], np.array([True, True]), rng).shape == (
        3,
        2,
    )


def test_tied_coordinates_are_drawn_from_the_truncated_gaussian_given_the_others():
    """Two tied coordinates in boxes and one point coordinate: after the Gibbs sweeps the
    tied pair follows the Gaussian given the point, truncated to the box (reference:
    rejection from the exact conditional)."""
    rng = np.random.default_rng(4)
    cov = np.array([[1.0, 0.8, 0.5], [0.8, 1.0, 0.4], [0.5, 0.4, 1.0]])
    mean = np.zeros(3)
    n = 40_000
    lo = np.tile([0.0, 0.5, np.nan], (n, 1))
    hi = np.tile([np.inf, 2.0, np.nan], (n, 1))
    Z = np.column_stack([rng.uniform(0, 3, n), rng.uniform(0.5, 2.0, n), np.full(n, 0.3)])
    out = refine_tied([(0.0, mean, cov)], Z, lo, hi, np.ones(3, dtype=bool), rng)
    piece = gaussian_conditional(
        mean, FullCovariance.from_matrix(cov), np.array([False, False, True]), np.array([0.3])
    )
    draws = rng.multivariate_normal(piece.mean, piece.covariance(), 2_000_000)
    kept = draws[(draws[:, 0] >= 0) & (draws[:, 1] >= 0.5) & (draws[:, 1] <= 2.0)]
    np.testing.assert_allclose(out[:, :2].mean(axis=0), kept.mean(axis=0), atol=0.02)
    np.testing.assert_allclose(np.cov(out[:, :2].T), np.cov(kept.T), atol=0.02)
    assert (out[:, 2] == 0.3).all()
