"""GaussianDensity: reference values, regularisation, sampling moments."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from bayesgen import FitError, GaussianDensity, NotFittedError


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    return rng.normal(size=(400, 4)) @ A + np.array([1.0, -2.0, 3.0, 10.0])


def test_full_matches_scipy(data):
    density = GaussianDensity(reg_covar=0.0).fit(data)
    cov = np.cov(data.T, bias=True)
    expected = multivariate_normal(data.mean(0), cov).logpdf(data)
    np.testing.assert_allclose(density.score_samples(data), expected, rtol=1e-10)
    np.testing.assert_allclose(density.covariance(), cov, rtol=1e-10)


def test_ddof_one_is_numpy_cov(data):
    density = GaussianDensity(reg_covar=0.0, ddof=1).fit(data)
    np.testing.assert_allclose(density.covariance(), np.cov(data.T), rtol=1e-10)


def test_diag_matches_independent_normals(data):
    density = GaussianDensity("diag", reg_covar=0.0).fit(data)
    expected = multivariate_normal(data.mean(0), np.diag(data.var(0))).logpdf(data)
    np.testing.assert_allclose(density.score_samples(data), expected, rtol=1e-10)
    assert density.n_parameters() == 8


def test_shrinkage_float_and_ridge(data):
    """Shrinkage damps the correlations (towards diag(C)); the ridge is added after."""
    density = GaussianDensity(reg_covar=0.5, shrinkage=0.3).fit(data)
    C = np.cov(data.T, bias=True)
    np.testing.assert_allclose(
        density.covariance(), 0.7 * C + 0.3 * np.diag(np.diag(C)) + 0.5 * np.eye(4)
    )


def test_auto_shrinkage_is_ledoit_wolf_of_the_standardised_data(data):
    from sklearn.covariance import LedoitWolf
    from sklearn.preprocessing import StandardScaler

    density = GaussianDensity(reg_covar=0.0, shrinkage="auto").fit(data)
    lw = LedoitWolf().fit(StandardScaler().fit_transform(data))
    sd = data.std(0)
    np.testing.assert_allclose(density.covariance(), lw.covariance_ * np.outer(sd, sd), rtol=1e-9)
    assert density.shrinkage_ == pytest.approx(lw.shrinkage_)


def test_constant_features_and_few_samples_fit_through_ridge():
    rng = np.random.default_rng(1)
    X = np.zeros((5, 30))
    X[:, :3] = rng.normal(size=(5, 3))
    density = GaussianDensity(reg_covar=1e-3).fit(X)
    assert np.all(np.isfinite(density.score_samples(X)))
    single = GaussianDensity(reg_covar=1e-2).fit(X[:1])
    np.testing.assert_allclose(single.covariance(), 1e-2 * np.eye(30))


def test_singular_without_ridge_names_the_knob():
    X = np.zeros((5, 3))
    with pytest.raises(FitError, match="reg_covar"):
        GaussianDensity(reg_covar=0.0).fit(X)
    with pytest.raises(FitError, match="ddof=0"):
        GaussianDensity(ddof=1).fit(X[:1])


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_moments_match_parameters(data, covariance_type, dtype):
    density = GaussianDensity(covariance_type).fit(data)
    n = 40_000
    S = density.sample(n, random_state=3, dtype=dtype)
    assert S.dtype == dtype and S.shape == (n, 4)
    cov = density.covariance()
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(S.mean(0) - density.mean_) < 5 * se_mean)
    # var of the sample covariance entry (i,j) is (C_ii C_jj + C_ij^2) / n
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(np.cov(S.T.astype(float)) - cov) < 5 * se_cov)


def test_sampling_is_reproducible(data):
    density = GaussianDensity().fit(data)
    np.testing.assert_array_equal(
        density.sample(5, random_state=1), density.sample(5, random_state=1)
    )
    assert not np.array_equal(density.sample(5), density.sample(5))
    gen = np.random.default_rng(7)
    first = density.sample(3, random_state=gen)
    second = density.sample(3, random_state=gen)
    assert not np.array_equal(first, second)


def test_partial_fit_equals_fit(data):
    whole = GaussianDensity(shrinkage="auto").fit(data)
    parts = GaussianDensity(shrinkage="auto")
    for chunk in np.array_split(data, 7):
        parts.partial_fit(chunk)
    np.testing.assert_allclose(parts.covariance(), whole.covariance(), rtol=1e-10)
    np.testing.assert_allclose(parts.mean_, whole.mean_, rtol=1e-12)


def test_not_fitted_and_bad_params(data):
    with pytest.raises(NotFittedError):
        GaussianDensity().sample(2)
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianDensity("banana").fit(data)
    with pytest.raises(ValueError, match="shrinkage"):
        GaussianDensity(shrinkage=2.0).fit(data)


def test_information_criteria(data):
    density = GaussianDensity().fit(data)
    ll = density.score_samples(data).sum()
    assert density.aic(data) == pytest.approx(-2 * ll + 2 * (4 + 10))
    assert density.bic(data) == pytest.approx(-2 * ll + (4 + 10) * np.log(400))
