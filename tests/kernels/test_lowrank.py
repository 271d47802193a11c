"""Low-rank plus diagonal covariance and FactorAnalysisDensity (PPCA and FA)."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis

import bayesgen
from bayesgen import BayesClassifier
from bayesgen.densities import FactorAnalysisDensity, LowRankCovariance


@pytest.fixture
def lowrank():
    rng = np.random.default_rng(0)
    d, k = 12, 3
    return LowRankCovariance(rng.normal(size=(d, k)), rng.uniform(0.2, 2.0, d))


def _factor_data(n=3000, d=10, k=3, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, k))
    psi = rng.uniform(0.1, 1.0, d)
    return rng.normal(size=(n, k)) @ W.T + rng.normal(size=(n, d)) * np.sqrt(psi) + 5.0


def test_lowrank_matches_dense(lowrank):
    rng = np.random.default_rng(1)
    S = lowrank.dense()
    np.testing.assert_allclose(S, lowrank.W @ lowrank.W.T + np.diag(lowrank.psi))
    X = rng.normal(size=(40, 12))
    expected = multivariate_normal(np.zeros(12), S).logpdf(X)
    np.testing.assert_allclose(lowrank.log_pdf(X), expected, rtol=1e-11)
    np.testing.assert_allclose(lowrank.log_det, np.linalg.slogdet(S)[1], rtol=1e-12)
    maha = np.einsum("ij,ji->i", X, np.linalg.solve(S, X.T))
    np.testing.assert_allclose(lowrank.mahalanobis(X), maha, rtol=1e-10)
    W = lowrank.whiten(X)
    assert W.shape == X.shape
    np.testing.assert_allclose(np.einsum("ij,ij->i", W, W), maha, rtol=1e-10)
    np.testing.assert_allclose(lowrank.solve(X), np.linalg.solve(S, X.T).T, atol=1e-12)
    np.testing.assert_allclose(lowrank.variances(), np.diag(S))


def test_lowrank_colorize_has_the_covariance(lowrank):
    assert lowrank.latent_dim == 12 + 3
    Z = np.random.default_rng(2).standard_normal((200_000, lowrank.latent_dim))
    X = lowrank.colorize(Z)
    S = lowrank.dense()
    se = np.sqrt((S**2 + np.outer(np.diag(S), np.diag(S))) / Z.shape[0])
    assert np.all(np.abs(np.cov(X.T) - S) < 5 * se)


def test_lowrank_rank_zero_is_diagonal():
    cov = LowRankCovariance(np.zeros((4, 0)), np.array([1.0, 2.0, 3.0, 4.0]))
    X = np.ones((2, 4))
    np.testing.assert_allclose(cov.mahalanobis(X), [1 + 1 / 2 + 1 / 3 + 1 / 4] * 2)
    assert cov.latent_dim == 4 and cov.n_parameters == 4


def test_lowrank_float32_copy(lowrank):
    X = np.random.default_rng(3).normal(size=(5, 12))
    c32 = lowrank.astype(np.float32)
    assert c32.W.dtype == np.float32
    np.testing.assert_allclose(
        c32.mahalanobis(X.astype(np.float32)), lowrank.mahalanobis(X), rtol=1e-4
    )


def test_ppca_equals_sklearn_pca_score_samples():
    X = _factor_data()
    pca = PCA(n_components=3).fit(X)
    # PCA's probabilistic model is PPCA with the (n - 1) covariance
    ours = FactorAnalysisDensity(3, method="ppca", reg_covar=0.0, ddof=1).fit(X)
    np.testing.assert_allclose(ours.score_samples(X), pca.score_samples(X), rtol=1e-9)
    np.testing.assert_allclose(ours.noise_variance_, pca.noise_variance_)


def test_ppca_is_the_maximum_likelihood_low_rank_model():
    X = _factor_data(seed=1)
    ours = FactorAnalysisDensity(3, reg_covar=0.0).fit(X)
    C = np.cov(X.T, bias=True)
    vals = np.linalg.eigvalsh(C)[::-1]
    np.testing.assert_allclose(ours.noise_variance_[0], vals[3:].mean())
    np.testing.assert_allclose(ours.lower_bound_, ours.score(X), rtol=1e-10)


def test_fa_matches_sklearn_factor_analysis():
    rng = np.random.default_rng(4)  # a well-conditioned problem: both converge quickly
    W, psi = rng.normal(size=(10, 3)), rng.uniform(0.5, 1.0, 10)
    X = rng.normal(size=(1000, 3)) @ W.T + rng.normal(size=(1000, 10)) * np.sqrt(psi)
    # both fitted to convergence (sklearn's tol is on the total log-likelihood)
    sk = FactorAnalysis(3, tol=1e-6, max_iter=5000).fit(X)
    ours = FactorAnalysisDensity(3, method="fa", reg_covar=0.0, tol=1e-10, max_iter=5000).fit(X)
    assert ours.converged_
    assert ours.score(X) == pytest.approx(sk.score(X), abs=1e-5)
    np.testing.assert_allclose(ours.score_samples(X), sk.score_samples(X), atol=2e-3)
    np.testing.assert_allclose(ours.covariance(), sk.get_covariance(), atol=2e-3)
    history = np.asarray(ours.lower_bound_history_)
    assert np.all(np.diff(history) >= -1e-12)


def test_sample_moments_match_the_model():
    X = _factor_data(seed=3)
    density = FactorAnalysisDensity(2, method="fa").fit(X)
    S = density.sample(100_000, random_state=0)
    cov = density.covariance()
    se = np.sqrt(np.diag(cov) / S.shape[0])
    assert np.all(np.abs(S.mean(0) - density.mean()) < 5 * se)
    np.testing.assert_allclose(np.cov(S.T), cov, atol=0.05 * np.abs(cov).max())
    S32 = density.sample(10, random_state=0, dtype=np.float32)
    assert S32.dtype == np.float32


def test_n_parameters():
    X = _factor_data(d=10)
    assert FactorAnalysisDensity(3).fit(X).n_parameters() == 10 + 30 - 3 + 1
    assert FactorAnalysisDensity(3, method="fa").fit(X).n_parameters() == 10 + 30 - 3 + 10


def test_classifier_round_trip_and_partial_fit(tmp_path):
    X, y = load_digits(return_X_y=True)
    model = BayesClassifier("lowrank:8", reg_covar=1e-3).fit(X, y)
    assert model.score(X, y) > 0.9
    path = tmp_path / "lowrank.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    np.testing.assert_allclose(loaded.score_samples(X[:50]), model.score_samples(X[:50]))
    np.testing.assert_array_equal(
        loaded.sample(5, random_state=1)[0], model.sample(5, random_state=1)[0]
    )
    # statistics-based: partial_fit over batches equals fit
    batched = BayesClassifier("lowrank:8", reg_covar=1e-3)
    for part in np.array_split(np.arange(len(y)), 3):
        batched.partial_fit(X[part], y[part], classes=np.unique(y))
    np.testing.assert_allclose(
        batched.score_samples(X[:50]), model.score_samples(X[:50]), rtol=1e-8
    )


def test_constant_features_fit_through_reg_covar():
    X = np.zeros((50, 6))
    X[:, :2] = np.random.default_rng(0).normal(size=(50, 2))
    for method in ("ppca", "fa"):
        density = FactorAnalysisDensity(2, method=method, reg_covar=1e-4).fit(X)
        assert np.all(np.isfinite(density.score_samples(X)))


def test_bad_parameters():
    X = _factor_data(n=50)
    with pytest.raises(ValueError, match="method"):
        FactorAnalysisDensity(2, method="pca").fit(X)
    with pytest.raises(ValueError, match="n_components"):
        FactorAnalysisDensity(-1).fit(X)
