"""Covariance representations agree with dense linear algebra and scipy."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from bayesgen.kernels.covariance import DiagonalCovariance, FullCovariance


def _spd(d, seed=0):
    A = np.random.default_rng(seed).normal(size=(d, d))
    return A @ A.T + d * np.eye(d)


def test_full_matches_scipy_logpdf():
    C = _spd(6)
    X = np.random.default_rng(1).normal(size=(50, 6)) * 3
    cov = FullCovariance.from_matrix(C)
    np.testing.assert_allclose(cov.log_pdf(X), multivariate_normal(np.zeros(6), C).logpdf(X))
    assert cov.log_det == pytest.approx(np.linalg.slogdet(C)[1])
    np.testing.assert_allclose(cov.dense(), C)
    np.testing.assert_allclose(cov.variances(), np.diag(C))


def test_whiten_inverts_colorize():
    C = _spd(5, 2)
    cov = FullCovariance.from_matrix(C)
    Z = np.random.default_rng(3).normal(size=(20, 5))
    np.testing.assert_allclose(cov.whiten(cov.colorize(Z)), Z, atol=1e-10)
    np.testing.assert_allclose(
        cov.mahalanobis(cov.colorize(Z)), np.einsum("ij,ij->i", Z, Z), rtol=1e-9
    )


def test_diagonal_matches_scipy_and_uses_standard_deviations():
    var = np.array([0.5, 2.0, 9.0])
    cov = DiagonalCovariance(var)
    X = np.random.default_rng(4).normal(size=(30, 3))
    np.testing.assert_allclose(
        cov.log_pdf(X), multivariate_normal(np.zeros(3), np.diag(var)).logpdf(X)
    )
    np.testing.assert_allclose(cov.colorize(np.ones((1, 3)))[0], np.sqrt(var))
    assert cov.n_parameters == 3


def test_not_positive_definite_is_refused():
    with pytest.raises(np.linalg.LinAlgError):
        FullCovariance.from_matrix(np.zeros((3, 3)))


def test_float32_copy_agrees():
    cov = FullCovariance.from_matrix(_spd(4))
    c32 = cov.astype(np.float32)
    assert c32.cholesky.dtype == np.float32
    np.testing.assert_allclose(c32.dense(), cov.dense(), rtol=1e-5)


def _with_isolated(d=12, isolated=(0, 3, 4, 7, 11), seed=5):
    """An SPD matrix whose ``isolated`` features have no covariance with any other."""
    C = _spd(d, seed)
    for j in isolated:
        C[j, :] = 0.0
        C[:, j] = 0.0
        C[j, j] = 0.5 + j
    return C


@pytest.mark.parametrize("isolated", [(0, 3, 4, 7, 11), tuple(range(12)), (5, 6), (4,)])
def test_isolated_features_are_exact(isolated):
    C = _with_isolated(isolated=isolated)
    cov = FullCovariance.from_matrix(C)
    split = len(isolated) >= 0.1 * 12
    assert cov.n_isolated == (len(isolated) if split else 0)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 12)) * 2
    np.testing.assert_allclose(cov.log_pdf(X), multivariate_normal(np.zeros(12), C).logpdf(X))
    np.testing.assert_allclose(cov.log_pdf(X.copy(), overwrite=True), cov.log_pdf(X))
    np.testing.assert_allclose(cov.dense(), C, atol=1e-12)
    np.testing.assert_allclose(cov.variances(), np.diag(C))
    L = np.linalg.cholesky(C)
    np.testing.assert_allclose(cov.cholesky, L, atol=1e-12)
    Z = rng.normal(size=(30, 12))
    np.testing.assert_allclose(cov.colorize(Z), Z @ L.T, atol=1e-12)
    np.testing.assert_allclose(cov.colorize_inplace(Z.copy()), Z @ L.T, atol=1e-12)
    np.testing.assert_allclose(cov.whiten(Z @ L.T), Z, atol=1e-10)
    # built from the factor (model files, float32 copies) the same features are found
    again = FullCovariance._from_state(cov._get_state())
    assert again.n_isolated == cov.n_isolated
    assert again.log_det == pytest.approx(np.linalg.slogdet(C)[1])
    c32 = cov.astype(np.float32)
    Z32 = Z.astype(np.float32)
    np.testing.assert_allclose(c32.colorize_inplace(Z32.copy()), Z @ L.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_colour_flat_puts_each_normal_in_its_feature(dtype):
    """The engine's layout: the first m*k normals are the coupled features row by row,
    the rest the isolated ones; the result is Z L^T for that Z, in the features' order."""
    isolated = [0, 3, 4, 7, 11]
    coupled = [j for j in range(12) if j not in isolated]
    cov = FullCovariance.from_matrix(_with_isolated(isolated=isolated)).astype(dtype)
    L = cov.cholesky.astype(np.float64)
    rng = np.random.default_rng(8)
    for m in (7, 1, 30, 7):  # the layout is cached per chunk size and rebuilt when it changes
        flat = rng.normal(size=m * 12).astype(dtype)
        Z = np.empty((m, 12))
        Z[:, coupled] = flat[: m * 7].reshape(m, 7)
        Z[:, isolated] = flat[m * 7 :].reshape(m, 5)
        got = cov.colour_flat(flat.copy(), m, np.empty((m, 12), dtype=dtype))
        assert got.shape == (m, 12) and got.dtype == dtype
        tol = 1e-4 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, Z @ L.T, rtol=tol, atol=tol)
    whole = FullCovariance.from_matrix(_spd(6, 3))
    flat = rng.normal(size=4 * 6)
    np.testing.assert_allclose(
        whole.colour_flat(flat.copy(), 4, np.empty((4, 6))),
        flat.reshape(4, 6) @ whole.cholesky.T,
        atol=1e-12,
    )


def test_isolated_feature_without_variance_is_refused():
    C = _with_isolated()
    C[3, 3] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        FullCovariance.from_matrix(C)


def test_gaussian_on_blank_pixels_splits_and_matches_scipy():
    """Constant columns inside a class (blank border pixels) become isolated features."""
    from bayesgen import BayesClassifier

    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 10))
    X[:, :4] = 0.0  # blank in every row
    y = np.repeat([0, 1], 150)
    model = BayesClassifier("gaussian", reg_covar=1e-3).fit(X, y)
    for density in model.densities_:
        assert density.covariance_.n_isolated == 4
        ref = multivariate_normal(density.mean_, density.covariance()).logpdf(X)
        np.testing.assert_allclose(density.score_samples(X), ref, rtol=1e-10)
    S, labels = model.sample(20_000, random_state=0)
    for k in (0, 1):
        rows = S[labels == k]
        cov = model.densities_[k].covariance()
        # sample variances of the blank pixels: the ridge, chi-squared spread
        np.testing.assert_allclose(rows[:, :4].var(0), np.diag(cov)[:4], rtol=0.06)
        np.testing.assert_allclose(np.cov(rows.T), cov, atol=0.06)
