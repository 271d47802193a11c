"""Conditional sampling: Schur complement, Woodbury, mixtures; moments vs closed form."""

import numpy as np
import pytest

from bayesgen import BayesClassifier, DataError, GaussianDensity
from bayesgen.conditional import (
    class_posterior_given_observed,
    gaussian_conditional,
    sample_conditional,
)
from bayesgen.densities import (
    FactorAnalysisDensity,
    GaussianCopulaDensity,
    GaussianMixtureDensity,
    TransformedDensity,
)

OBS = np.array([True, False, True, False, False])
X_OBS = np.array([1.0, np.nan, -0.5, np.nan, np.nan])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    return rng.multivariate_normal(rng.normal(size=5), A @ A.T + np.eye(5), size=2000)


def _closed_form(mean, S, obs, x):
    o, m = obs, ~obs
    gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
    return mean[m] + gain @ (x[o] - mean[o]), S[np.ix_(m, m)] - gain @ S[np.ix_(o, m)]


def _check_moments(rows, mean, cov):
    n = rows.shape[0]
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(rows.mean(0) - mean) < 5 * se)
    se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n)
    assert np.all(np.abs(np.cov(rows.T) - cov) < 5 * se_cov)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianDensity(),
        lambda: GaussianDensity("diag"),
        lambda: FactorAnalysisDensity(2, method="fa"),
        lambda: FactorAnalysisDensity(2),
    ],
    ids=["full", "diag", "fa", "ppca"],
)
def test_gaussian_families_match_the_closed_form(data, make):
    density = make().fit(data)
    mean_c, cov_c = _closed_form(density.mean_, density.covariance(), OBS, X_OBS)
    piece = gaussian_conditional(density.mean_, density.covariance_, OBS, X_OBS[OBS])
    np.testing.assert_allclose(piece.mean, mean_c, atol=1e-10)
    np.testing.assert_allclose(piece.covariance(), cov_c, atol=1e-10)
    rows = sample_conditional(density, X_OBS, OBS, n_samples=50_000, random_state=0)
    assert rows.shape == (50_000, 5)
    assert np.all(rows[:, OBS] == X_OBS[OBS])
    _check_moments(rows[:, ~OBS], mean_c, cov_c)


def test_marginal_likelihood_of_the_observed_part(data):
    from scipy.stats import multivariate_normal

    density = FactorAnalysisDensity(2, method="fa").fit(data)
    S = density.covariance()
    piece = gaussian_conditional(density.mean_, density.covariance_, OBS, X_OBS[OBS])
    expected = multivariate_normal(density.mean_[OBS], S[np.ix_(OBS, OBS)]).logpdf(X_OBS[OBS])
    assert piece.log_marginal == pytest.approx(expected)


def test_mixture_uses_posterior_component_weights(data):
    both = np.vstack([data, data + 10.0])
    gm = GaussianMixtureDensity(2, random_state=0).fit(both)
    rows = sample_conditional(gm, X_OBS, OBS, n_samples=60_000, random_state=1)
    # closed form: mixture of the component conditionals with posterior weights
    from scipy.stats import multivariate_normal

    logw = np.array(
        [
            np.log(w)
            + multivariate_normal(mu[OBS], cov.dense()[np.ix_(OBS, OBS)]).logpdf(X_OBS[OBS])
            for w, mu, cov in zip(gm.weights_, gm.means_, gm.covariances_, strict=True)
        ]
    )
    post = np.exp(logw - logw.max())
    post /= post.sum()
    parts = [
        _closed_form(mu, cov.dense(), OBS, X_OBS)
        for mu, cov in zip(gm.means_, gm.covariances_, strict=True)
    ]
    mean = sum(p * m for p, (m, _) in zip(post, parts, strict=True))
    second = sum(p * (c + np.outer(m, m)) for p, (m, c) in zip(post, parts, strict=True))
    cov = second - np.outer(mean, mean)
    _check_moments(rows[:, ~OBS], mean, cov)


def test_classifier_with_and_without_label(data):
    y = (data[:, 0] > np.median(data[:, 0])).astype(int)
    model = BayesClassifier("gaussian").fit(data, y)
    rows, labels = sample_conditional(model, X_OBS, OBS, y=1, n_samples=7, random_state=0)
    assert rows.shape == (7, 5) and np.all(labels == 1)
    post = class_posterior_given_observed(model, X_OBS, OBS)[0]
    _, drawn = sample_conditional(model, X_OBS, OBS, n_samples=20_000, random_state=0)
    assert abs(np.mean(drawn == 1) - post[1]) < 0.02
    batch, lab = sample_conditional(model, np.vstack([X_OBS, X_OBS]), OBS, y=[0, 1], random_state=0)
    assert batch.shape == (2, 1, 5) and lab.tolist() == [[0], [1]]


def test_copula_and_transformed_conditionals_stay_in_range():
    rng = np.random.default_rng(0)
    P = np.clip(
        np.round(
            rng.multivariate_normal(
                [120, 130, 90], [[900, 700, 300], [700, 900, 300], [300, 300, 900]], 3000
            )
        ),
        0,
        255,
    )
    mask = np.array([True, False, False])
    for density in (
        GaussianCopulaDensity(random_state=0).fit(P / 255),
        TransformedDensity(random_state=0).fit(P / 255),
    ):
        low = sample_conditional(
            density, np.array([30, 0, 0]) / 255, mask, n_samples=4000, random_state=0
        )
        high = sample_conditional(
            density, np.array([220, 0, 0]) / 255, mask, n_samples=4000, random_state=0
        )
        assert low.min() >= 0 and high.max() <= 1
        # strong positive dependence: feature 1 follows the observed feature 0
        assert high[:, 1].mean() > low[:, 1].mean() + 0.2


def test_bad_inputs(data):
    density = GaussianDensity().fit(data)
    with pytest.raises(DataError, match="boolean"):
        sample_conditional(density, X_OBS, OBS.astype(int))
    with pytest.raises(DataError, match="features"):
        sample_conditional(density, X_OBS[:3], OBS[:3])
