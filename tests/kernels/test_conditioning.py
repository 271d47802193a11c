"""The E-step of a Gaussian with missing cells, against the partitioned Gaussian directly."""

import numpy as np
import pytest
from scipy import stats

from bayesgen.kernels.conditioning import (
    complete_rows,
    completed_scatter,
    missing_layout,
    observed_log_pdf,
)


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
