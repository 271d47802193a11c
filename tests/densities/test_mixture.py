"""Gaussian mixtures and mixtures of factor analysers fitted by EM."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

import bayesgen
from bayesgen import BayesClassifier, FitError
from bayesgen.densities import GaussianMixtureDensity, MixtureOfFactorAnalysersDensity
from bayesgen.densities.mixture import initial_responsibilities


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4)) + c for c in (0.0, 6.0, -6.0)]
    return np.vstack(parts)


def _sklearn_same_start(X, resp, covariance_type, reg):
    nk = resp.sum(0)
    mu = resp.T @ X / nk[:, None]
    if covariance_type == "full":
        covs = np.stack(
            [
                ((X - mu[j]) * resp[:, j, None]).T @ (X - mu[j]) / nk[j] + reg * np.eye(X.shape[1])
                for j in range(len(nk))
            ]
        )
        prec = np.linalg.inv(covs)
    else:
        prec = 1.0 / np.stack([resp[:, j] @ (X - mu[j]) ** 2 / nk[j] + reg for j in range(len(nk))])
    return GaussianMixture(
        len(nk),
        covariance_type=covariance_type,
        weights_init=nk / nk.sum(),
        means_init=mu,
        precisions_init=prec,
        tol=1e-10,
        max_iter=1000,
        reg_covar=reg,
    ).fit(X)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_matches_sklearn_from_the_same_start(blobs, covariance_type):
    resp = initial_responsibilities(blobs, 3, "k-means++", np.random.default_rng(1))
    ours = GaussianMixtureDensity(
        3, covariance_type=covariance_type, init=resp, tol=1e-10, max_iter=1000
    ).fit(blobs)
    sk = _sklearn_same_start(blobs, resp, covariance_type, 1e-6)
    assert ours.converged_
    assert ours.score(blobs) == pytest.approx(sk.score(blobs), abs=1e-7)
    np.testing.assert_allclose(ours.score_samples(blobs), sk.score_samples(blobs), atol=1e-5)
    order = np.argsort(ours.means_[:, 0])
    np.testing.assert_allclose(
        ours.weights_[order], sk.weights_[np.argsort(sk.means_[:, 0])], atol=1e-6
    )


@pytest.mark.parametrize(
    "density",
    [
        GaussianMixtureDensity(3, random_state=0, tol=1e-8),
        GaussianMixtureDensity(4, covariance_type="diag", random_state=0, tol=1e-8),
        MixtureOfFactorAnalysersDensity(3, rank=2, random_state=0, tol=1e-8, max_iter=150),
        MixtureOfFactorAnalysersDensity(3, rank=2, noise="isotropic", random_state=0, max_iter=150),
    ],
    ids=["full", "diag", "mfa", "mppca"],
)
def test_em_never_decreases_and_reports(blobs, density):
    density.fit(blobs)
    history = np.asarray(density.lower_bound_history_)
    assert density.n_reseeds_ == 0
    assert np.all(np.diff(history) >= -1e-10)
    assert density.n_iter_ >= 1 and isinstance(density.converged_, bool)
    assert density.lower_bound_ == pytest.approx(density.score(blobs))
    proba = density.predict_proba(blobs[:20])
    np.testing.assert_allclose(proba.sum(1), 1.0)


@pytest.mark.parametrize(
    "density",
    [
        GaussianMixtureDensity(3, random_state=0),
        MixtureOfFactorAnalysersDensity(3, rank=2, random_state=0),
    ],
    ids=["gmm", "mfa"],
)
def test_sample_moments_match_mixture_moments(blobs, density):
    density.fit(blobs)
    S = density.sample(200_000, random_state=0)
    cov = density.covariance()
    se_mean = np.sqrt(np.diag(cov) / S.shape[0])
    assert np.all(np.abs(S.mean(0) - density.mean()) < 5 * se_mean)
    se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / S.shape[0])
    # mixtures have heavier fourth moments than a Gaussian: allow a wider band
    assert np.all(np.abs(np.cov(S.T) - cov) < 10 * se_cov)
    # every component contributes in proportion to its weight
    labels = np.argmax(density.predict_proba(S[:20_000]), axis=1)
    np.testing.assert_allclose(
        np.bincount(labels, minlength=3) / 20_000, density.weights_, atol=0.03
    )


def test_same_seed_same_fit_and_samples(blobs):
    a = GaussianMixtureDensity(3, random_state=5).fit(blobs)
    b = GaussianMixtureDensity(3, random_state=5).fit(blobs)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.sample(7, random_state=1), b.sample(7, random_state=1))
    assert a.sample(4, random_state=0, dtype=np.float32).dtype == np.float32


def test_empty_component_is_reseeded(blobs):
    resp = initial_responsibilities(blobs, 3, "k-means++", np.random.default_rng(1))
    resp = np.hstack([resp, np.zeros((blobs.shape[0], 1))])  # a 4th, empty component
    density = GaussianMixtureDensity(4, init=resp, random_state=0).fit(blobs)
    assert density.n_reseeds_ >= 1
    assert np.all(density.weights_ > 0)
    assert np.all(np.isfinite(density.score_samples(blobs)))


def test_too_few_rows_and_bad_parameters(blobs):
    with pytest.raises(FitError, match="n_components"):
        GaussianMixtureDensity(10).fit(blobs[:5])
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixtureDensity(2, covariance_type="tied").fit(blobs)
    with pytest.raises(ValueError, match="init"):
        GaussianMixtureDensity(2, init="nope").fit(blobs)
    with pytest.raises(ValueError, match="noise"):
        MixtureOfFactorAnalysersDensity(2, noise="nope").fit(blobs)


def test_n_parameters(blobs):
    gm = GaussianMixtureDensity(3).fit(blobs)
    assert gm.n_parameters() == 2 + 3 * (4 + 10)
    mfa = MixtureOfFactorAnalysersDensity(2, rank=1, random_state=0).fit(blobs)
    assert mfa.n_parameters() == 1 + 2 * (4 + 4 + 4)


@pytest.mark.parametrize("name", ["mixture:2", "diagmix:3", "mfa:2x3", "mfa:2x3+logit"])
def test_classifier_round_trip(tmp_path, name):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    model = BayesClassifier(name, reg_covar=1e-2, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.8
    path = tmp_path / "m.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    np.testing.assert_allclose(loaded.score_samples(X[:30]), model.score_samples(X[:30]))
    np.testing.assert_array_equal(
        loaded.sample(6, random_state=2)[0], model.sample(6, random_state=2)[0]
    )
