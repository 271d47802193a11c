"""Covariance representations agree with dense linear algebra and scipy."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from bayesgen._covariance import DiagonalCovariance, FullCovariance


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
