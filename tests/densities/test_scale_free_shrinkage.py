"""Covariance shrinkage towards diag(C): scale-free, exact from statistics, safe on images."""

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.datasets import load_digits, load_wine
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from bayesgen import BayesClassifier, GaussianDensity

SCALES = np.logspace(-4, 4, 13)  # wine has 13 features


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


@pytest.mark.parametrize("density", ["gaussian", "tied"])
@pytest.mark.parametrize("shrinkage", ["auto", 0.3])
def test_rescaling_features_rescales_the_fit_and_keeps_predictions(wine, density, shrinkage):
    """Without the (absolute) ridge, a model of X * scales is the model of X in new units."""
    X, y = wine
    a = BayesClassifier(density, shrinkage=shrinkage, reg_covar=0.0).fit(X, y)
    b = BayesClassifier(density, shrinkage=shrinkage, reg_covar=0.0).fit(X * SCALES, y)
    np.testing.assert_allclose(
        b.predict_proba(X * SCALES), a.predict_proba(X), rtol=1e-7, atol=1e-12
    )
    np.testing.assert_array_equal(b.predict(X * SCALES), a.predict(X))
    for da, db in zip(a.densities_, b.densities_, strict=True):
        assert db.shrinkage_ == pytest.approx(da.shrinkage_, rel=1e-9)
        np.testing.assert_allclose(
            db.covariance(), da.covariance() * np.outer(SCALES, SCALES), rtol=1e-8, atol=0
        )
    if shrinkage == "auto":
        assert 0.0 < a.densities_[0].shrinkage_ < 1.0


def test_auto_shrinkage_no_longer_ruins_features_in_different_units(wine):
    """Shrinking towards (tr(C)/d) I scored 0.500 here (against 0.955 without shrinkage)."""
    X, y = wine
    assert cross_val_score(BayesClassifier(shrinkage="auto"), X, y, cv=5).mean() > 0.95


def test_tied_auto_is_ledoit_wolf_of_the_standardised_residuals(wine):
    X, y = wine
    model = BayesClassifier("tied", shrinkage="auto", reg_covar=0.0).fit(X, y)
    residuals = X - np.array([X[y == k].mean(0) for k in range(3)])[y]
    expected = ledoit_wolf_shrinkage(StandardScaler().fit_transform(residuals))
    assert model.densities_[0].shrinkage_ == pytest.approx(expected, rel=1e-9)
    C = np.cov(residuals.T, bias=True)
    np.testing.assert_allclose(
        model.densities_[0].covariance(),
        (1 - expected) * C + expected * np.diag(np.diag(C)),
        rtol=1e-9,
    )


@pytest.mark.parametrize("shrinkage", ["auto", 0.5, 1.0])
def test_zero_variance_pixels_get_the_ridge(shrinkage):
    """Image classes have blank pixels (variance 0): they keep variance reg_covar exactly, are
    left out of the Ledoit-Wolf intensity, and nothing becomes singular or non-finite."""
    X, y = load_digits(return_X_y=True)
    model = BayesClassifier(shrinkage=shrinkage, reg_covar=1e-3).fit(X, y)
    assert np.isfinite(model.score_samples(X)).all()
    assert model.score(X, y) > 0.9
    for k, density in enumerate(model.densities_):
        blank = X[y == k].var(0) == 0
        assert blank.any()
        np.testing.assert_allclose(np.diag(density.covariance())[blank], 1e-3, rtol=1e-12)
        assert 0.0 <= density.shrinkage_ <= 1.0


def test_partial_fit_with_auto_equals_fit(wine):
    X, y = wine
    whole = BayesClassifier(shrinkage="auto").fit(X, y)
    parts = BayesClassifier(shrinkage="auto")
    for rows in np.array_split(np.random.default_rng(0).permutation(len(y)), 5):
        parts.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    for a, b in zip(whole.densities_, parts.densities_, strict=True):
        assert b.shrinkage_ == pytest.approx(a.shrinkage_, rel=1e-9)
        np.testing.assert_allclose(b.covariance(), a.covariance(), rtol=1e-9)


def test_a_diagonal_covariance_is_its_own_target(wine):
    X, _ = wine
    plain = GaussianDensity("diag").fit(X)
    for shrinkage in ("auto", 0.7):
        shrunk = GaussianDensity("diag", shrinkage=shrinkage).fit(X)
        assert shrunk.shrinkage_ == 0.0
        np.testing.assert_array_equal(shrunk.covariance(), plain.covariance())


def test_statistics_kind_asks_for_fourth_moments_only_for_auto():
    assert GaussianDensity(shrinkage="auto").statistics_kind() == "fourth"
    assert GaussianDensity("tied", shrinkage="auto").statistics_kind() == "fourth"
    assert GaussianDensity(shrinkage=0.2).statistics_kind() == "full"
    assert GaussianDensity("diag", shrinkage="auto").statistics_kind() == "diagonal"
