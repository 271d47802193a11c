"""Held-out log-likelihood units (bayesgen.metrics.likelihood)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import bayesgen.metrics as M
from bayesgen import DataError


def test_bits_per_dim_uniform_density_is_8_bits_on_pixel_scale():
    d = 784
    rep = M.log_likelihood_report(np.zeros(50), d, pixel_scale=256)  # uniform on [0,1]^d
    assert rep.bits_per_dim == pytest.approx(0.0, abs=1e-12)
    assert rep.bits_per_dim_8bit == pytest.approx(8.0, abs=1e-12)
    assert rep.mean_log_likelihood_8bit == pytest.approx(-d * math.log(256))
    assert "bits per dimension" in rep.units["bits_per_dim_8bit"]
    rep255 = M.log_likelihood_report(np.zeros(5), d, pixel_scale=255)
    assert rep255.bits_per_dim_8bit == pytest.approx(math.log2(255))
    plain = M.log_likelihood_report(np.zeros(5), d)
    assert plain.bits_per_dim_8bit is None and plain.pixel_scale is None
    json.dumps(rep.to_dict(), allow_nan=False)


def test_log_likelihood_matches_gaussian_entropy():
    rng = np.random.default_rng(1)
    d, n = 10, 20000
    X = rng.standard_normal((n, d))
    logp = -0.5 * (d * np.log(2 * np.pi) + (X**2).sum(1))
    rep = M.log_likelihood_report(logp, d)
    expected = -0.5 * d * np.log(2 * np.pi * np.e)  # minus the differential entropy
    assert abs(rep.mean_log_likelihood - expected) < 5 * rep.sem_log_likelihood
    assert rep.log_likelihood_per_dim == pytest.approx(rep.mean_log_likelihood / d)
    assert rep.bits_per_dim == pytest.approx(-rep.mean_log_likelihood / (d * np.log(2)))


def test_log_likelihood_rejects_bad_input():
    with pytest.raises(DataError):
        M.log_likelihood_report([0.0, np.nan], 3)
    with pytest.raises(DataError):
        M.log_likelihood_report([0.0], 3, pixel_scale=-1)


def test_dequantised_bits_per_dim_matches_scipy_for_gaussian_classes():
    """With the same noise, ``x + (u - 1/2) / 16`` scored by each class's Gaussian
    (scipy), mixed with the prior: the same number, on the 0..16 pixel scale."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal
    from sklearn.datasets import load_digits

    from bayesgen import BayesClassifier
    from bayesgen.metrics.likelihood import dequantised_bits_per_dim

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = BayesClassifier("gaussian", reg_covar=1e-2).fit(X[:1200], y[:1200])
    held = X[1200:]
    bits = dequantised_bits_per_dim(model, held, 17, random_state=3)
    Xq = held + (np.random.default_rng(3).random(held.shape) - 0.5) / 16
    columns = [
        multivariate_normal(d.mean_, d.covariance_.dense()).logpdf(Xq) for d in model.densities_
    ]
    log_p = logsumexp(np.column_stack(columns) + np.log(model.class_prior_), axis=1)
    expected = -(log_p.mean() - 64 * np.log(16)) / (64 * np.log(2))
    assert bits == pytest.approx(expected, rel=1e-9)
    assert 0 < bits < np.log2(17)  # better than uniform over the 17 values
    with pytest.raises(DataError, match="k / 16"):
        dequantised_bits_per_dim(model, held + 0.01, 17)
    with pytest.raises(DataError, match="non-empty"):
        dequantised_bits_per_dim(model, held[:0], 17)
