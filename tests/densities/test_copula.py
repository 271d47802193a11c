"""Gaussian copula with empirical / parametric marginals; point masses."""

import numpy as np
import pytest
from scipy import stats

import bayesgen
from bayesgen import BayesClassifier, FitError
from bayesgen.densities import GaussianCopulaDensity

R_TRUE = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.2], [0.3, 0.2, 1.0]])


def _latent(n=4000, seed=0):
    return np.random.default_rng(seed).multivariate_normal(np.zeros(3), R_TRUE, size=n)


def test_continuous_marginals_recover_the_copula_correlation():
    Z = _latent()
    X = np.column_stack([np.exp(Z[:, 0]), Z[:, 1] ** 3, stats.norm.cdf(Z[:, 2])])
    density = GaussianCopulaDensity(shrinkage=0.0, random_state=0).fit(X)
    np.testing.assert_allclose(density.correlation_.dense(), R_TRUE, atol=0.05)
    S = density.sample(50_000, random_state=1)
    # the marginals of samples follow the training marginals (two-sample KS)
    for j in range(3):
        assert stats.ks_2samp(S[:, j], X[:, j]).statistic < 0.03
    # and the dependence: Spearman correlation is preserved
    rho_x = stats.spearmanr(X).statistic
    rho_s = stats.spearmanr(S[:10_000]).statistic
    np.testing.assert_allclose(rho_s, rho_x, atol=0.05)


def test_point_mass_fraction_is_reproduced():
    Z = _latent()
    X = np.maximum(Z - 0.85, 0.0)  # about 80% exact zeros per feature
    X[:, 2] = np.round(255 * stats.norm.cdf(Z[:, 2])) / 255  # 8-bit pixel-like feature
    X[:, 2] = np.where(Z[:, 2] < 0.8, 0.0, X[:, 2])
    density = GaussianCopulaDensity(random_state=0).fit(X)
    n = 40_000
    S = density.sample(n, random_state=1)
    for j in range(3):
        p = np.mean(X[:, j] == 0)
        se = np.sqrt(p * (1 - p) / n + p * (1 - p) / X.shape[0])
        assert abs(np.mean(S[:, j] == 0) - p) < 4 * se
    # pixel-like feature: samples stay on its lattice and in its range
    assert np.all(S[:, 2] >= 0) and np.all(S[:, 2] <= 1)
    np.testing.assert_allclose(S[:, 2] * 255, np.round(S[:, 2] * 255), atol=1e-9)
    # log-densities are finite everywhere, including at the point masses
    assert np.all(np.isfinite(density.score_samples(X)))


def test_marginal_density_integrates_to_one_and_matches_the_mean():
    # zero-inflated, recorded to 3 decimals (too many levels for a lattice: binned + atom)
    x = np.round(np.maximum(np.random.default_rng(2).normal(0.3, 1.0, size=(3000, 1)), 0.0), 3)
    density = GaussianCopulaDensity(random_state=0).fit(x)
    # a grid fine enough for the narrow bin that holds the point mass at 0
    grid = np.unique(np.r_[np.linspace(-2, 6, 400_001), np.linspace(-0.01, 0.01, 400_001)])
    grid = grid[:, None]
    p = np.exp(density.score_samples(grid))
    assert np.trapezoid(p, grid[:, 0]) == pytest.approx(1.0, abs=2e-3)
    S = density.sample(100_000, random_state=0)
    assert S.mean() == pytest.approx(density.mean()[0], abs=4 * S.std() / np.sqrt(1e5) + 2e-3)
    assert density.mean()[0] == pytest.approx(x.mean(), abs=0.01)


def test_one_feature_copula_is_its_marginal():
    x = np.random.default_rng(3).gamma(2.0, size=(2000, 1))
    density = GaussianCopulaDensity(random_state=0).fit(x)
    S = density.normal_scores(x)
    assert abs(S.mean()) < 0.05 and abs(S.std() - 1) < 0.05


def test_parametric_marginals():
    pytest.importorskip("bayesgen.univariate")
    Z = _latent(n=1500)
    X = np.column_stack([np.exp(Z[:, 0]), Z[:, 1], np.maximum(Z[:, 2], 0.0)])
    density = GaussianCopulaDensity("parametric", shrinkage=0.0, random_state=0).fit(X)
    # features 0 and 1 are continuous and get a scipy family; feature 2 has a point mass
    np.testing.assert_array_equal(density.parametric_["features"], [0, 1])
    assert density.parametric_["families"][0] in ("lognorm", "gamma")
    np.testing.assert_allclose(density.correlation_.dense()[0, 1], 0.6, atol=0.07)
    S = density.sample(20_000, random_state=0)
    assert abs(np.mean(S[:, 2] == 0) - np.mean(X[:, 2] == 0)) < 0.03
    assert np.all(np.isfinite(density.score_samples(X)))


@pytest.mark.parametrize("marginals", ["empirical", "parametric"])
def test_classifier_round_trip(tmp_path, marginals):
    if marginals == "parametric":
        pytest.importorskip("bayesgen.univariate")
    Z = _latent(n=600)
    X = np.column_stack([np.exp(Z[:, 0]), Z[:, 1], np.maximum(Z[:, 2], 0.0)])
    y = (Z[:, 0] + 0.5 * np.random.default_rng(1).normal(size=600) > 0).astype(int)
    model = (
        BayesClassifier("copula", random_state=0)
        if marginals == "empirical"
        else BayesClassifier(GaussianCopulaDensity(marginals, random_state=0))
    )
    model.fit(X, y)
    assert model.score(X, y) > 0.7
    path = tmp_path / "c.bgm"
    if marginals == "empirical":
        model.save(path)
        loaded = bayesgen.load(path)
    else:  # a density object as the classifier's parameter: save the fitted densities
        from bayesgen.base.persist import save_object

        for density in model.densities_:
            save_object(density, path, library_version=bayesgen.__version__)
            reloaded = bayesgen.load(path)
            np.testing.assert_allclose(
                reloaded.score_samples(X[:30]), density.score_samples(X[:30])
            )
        return
    np.testing.assert_allclose(loaded.score_samples(X[:30]), model.score_samples(X[:30]))
    np.testing.assert_array_equal(
        loaded.sample(8, random_state=0)[0], model.sample(8, random_state=0)[0]
    )
    np.testing.assert_allclose(loaded.class_means(), model.class_means())


def test_bad_parameters():
    X = _latent(n=50)
    with pytest.raises(ValueError, match="marginals"):
        GaussianCopulaDensity("kde").fit(X)
    with pytest.raises(ValueError, match="shrinkage"):
        GaussianCopulaDensity(shrinkage=2.0).fit(X)


def test_mixture_dependence_on_normal_scores(tmp_path):
    from bayesgen.conditional import sample_conditional
    from bayesgen.densities import MixtureOfFactorAnalysersDensity

    rng = np.random.default_rng(4)
    # two clusters in the latent scores: a Gaussian copula cannot represent them
    Z = np.vstack([rng.normal(-1.5, 0.4, size=(1500, 3)), rng.normal(1.5, 0.4, size=(1500, 3))])
    X = np.maximum(Z, 0.0)  # half exact zeros
    mix = GaussianCopulaDensity(
        dependence=MixtureOfFactorAnalysersDensity(2, rank=1, random_state=0), random_state=0
    ).fit(X)
    gauss = GaussianCopulaDensity(random_state=0).fit(X)
    assert mix.correlation_ is None and mix.dependence_ is not None
    X_new = np.maximum(
        np.vstack([rng.normal(-1.5, 0.4, size=(500, 3)), rng.normal(1.5, 0.4, size=(500, 3))]), 0.0
    )
    assert mix.score(X_new) > gauss.score(X_new)
    S = mix.sample(20_000, random_state=1)
    p = np.mean(X == 0, axis=0)
    np.testing.assert_allclose(np.mean(S == 0, axis=0), p, atol=0.02)
    # conditional on a positive first feature: the others come from the upper cluster
    # (within a component the scores are only roughly Gaussian: not all of them).  The
    # Gaussian copula gets most of them too since its correlation is no longer attenuated
    # by the ties at zero, so only the mixture's own share is checked here.
    given = (np.array([1.5, 0.0, 0.0]), np.array([True, False, False]))
    rows = sample_conditional(mix, *given, n_samples=4000, random_state=0)
    assert np.mean(rows[:, 1] > 0) > 0.8
    model = BayesClassifier("mfacopula:2x1", random_state=0).fit(X, (Z[:, 0] > 0).astype(int))
    path = tmp_path / "mc.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    np.testing.assert_allclose(loaded.score_samples(X[:20]), model.score_samples(X[:20]))


def _ks_critical(n1: int, n2: int, alpha: float = 0.001) -> float:
    """Two-sample KS critical value (asymptotic); conservative for discrete data."""
    c = np.sqrt(-0.5 * np.log(alpha / 2))
    return float(c * np.sqrt((n1 + n2) / (n1 * n2)))


@pytest.mark.parametrize("loader", ["wine", "iris"])
def test_small_rounded_tables_keep_their_marginals(loader):
    # a few dozen rows with two-decimal values: every column's samples must be
    # indistinguishable from the fitted rows at the sampling floor (no uniform-looking
    # marginal from a lattice of mostly unseen levels)
    from scipy.stats import ks_2samp
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{loader}")(return_X_y=True)
    for label in np.unique(y):
        Xc = X[y == label]
        S = GaussianCopulaDensity(random_state=0).fit(Xc).sample(20_000, random_state=1)
        bound = _ks_critical(Xc.shape[0], S.shape[0])
        for j in range(X.shape[1]):
            assert ks_2samp(Xc[:, j], S[:, j]).statistic < bound, (label, j)
        if loader == "iris":  # lattice features: samples are the observed values exactly
            for j in range(X.shape[1]):
                assert np.isin(S[:, j], Xc[:, j]).mean() > 0.9, (label, j)


def test_large_rounded_table_keeps_its_marginals():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    X = np.column_stack(
        [
            np.round(rng.gamma(2.0, 3.0, 20_000), 1),
            np.round(rng.normal(50, 10, 20_000), 2),
            rng.poisson(3, 20_000).astype(float),
        ]
    )
    S = GaussianCopulaDensity(random_state=0).fit(X).sample(20_000, random_state=1)
    bound = _ks_critical(X.shape[0], S.shape[0])
    for j in range(X.shape[1]):
        assert ks_2samp(X[:, j], S[:, j]).statistic < bound, j


def _mixed_rows(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.multivariate_normal(np.zeros(3), R_TRUE, size=n)
    codes = (Z[:, 2] > 0.3).astype(float) + (Z[:, 2] > 1.0)
    return np.column_stack([np.exp(Z[:, 0]), Z[:, 1], codes]), rng


def test_missing_cells_em_matches_the_complete_data_correlation():
    X, rng = _mixed_rows()
    complete = GaussianCopulaDensity(random_state=0, categories={2: 3}).fit(X)
    M = X.copy()
    M[rng.random(X.shape) < 0.3] = np.nan  # missing completely at random
    incomplete = GaussianCopulaDensity(random_state=0, categories={2: 3}).fit(M)
    np.testing.assert_allclose(
        incomplete.correlation_.dense(), complete.correlation_.dense(), atol=0.05
    )
    assert np.all(np.isfinite(incomplete.score_samples(M)))


def test_missing_cell_is_marginalised_exactly():
    # log p(x_o) of a row with x_1 missing equals log of the integral of p(x_o, x_1) dx_1
    X, _ = _mixed_rows(n=3000, seed=4)
    X = X[:, :2]
    density = GaussianCopulaDensity(random_state=0).fit(X)
    grid = np.linspace(X[:, 1].min() - 3, X[:, 1].max() + 3, 40_001)
    for x0 in (0.5, 1.0, 3.0):
        rows = np.column_stack([np.full(grid.shape, x0), grid])
        integral = np.trapezoid(np.exp(density.score_samples(rows)), grid)
        marginal = density.score_samples(np.array([[x0, np.nan]]))[0]
        assert abs(marginal - np.log(integral)) < 0.01


def test_categorical_feature_samples_its_fitted_probabilities():
    X, _ = _mixed_rows()
    density = GaussianCopulaDensity(random_state=0, categories={2: 3}).fit(X)
    S = density.sample(20_000, random_state=2)
    assert set(np.unique(S[:, 2])) <= {0.0, 1.0, 2.0}
    fitted = np.diff(density.marginals_._feature(2)[1])
    fitted = fitted / fitted.sum()
    observed = np.bincount(S[:, 2].astype(int), minlength=3) / S.shape[0]
    se = np.sqrt(fitted * (1 - fitted) / S.shape[0])
    assert np.all(np.abs(observed - fitted) < 4 * se + 1e-3)


def test_categories_parameter_is_checked():
    X, _ = _mixed_rows(n=200)
    with pytest.raises(ValueError, match="codes 0..1"):
        GaussianCopulaDensity(categories={2: 2}).fit(X)
    with pytest.raises(ValueError, match="categories must map"):
        GaussianCopulaDensity(categories="x").fit(X)
    M = X.copy()
    M[:, 1] = np.nan
    with pytest.raises(bayesgen.FitError, match="feature 1 has no observed value"):
        GaussianCopulaDensity().fit(M)


def test_ties_do_not_attenuate_the_latent_correlation():
    # a feature cut into four levels beside a continuous one: the copula's correlation is
    # that of the latent Gaussian, not the one shrunk by the within-cell noise of the ties
    rng = np.random.default_rng(7)
    Z = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=20_000)
    levels = np.digitize(Z[:, 0], [-0.8, 0.0, 0.8]).astype(float)
    X = np.column_stack([levels, np.exp(Z[:, 1])])
    density = GaussianCopulaDensity(random_state=0, shrinkage=0.0).fit(X)
    assert abs(density.correlation_.dense()[0, 1] - 0.8) < 0.03


def test_dominant_levels_keep_their_correlations_in_samples():
    # three integer columns with 90 % of the rows on one level (e.g. four cylinders) beside
    # two continuous ones, all strongly related: samples must keep the Pearson
    # correlations, which scores drawn inside each level's jump weaken (and a first-order
    # correction for that does not restore: mean error 0.04-0.06 over seeds 0-4)
    rng = np.random.default_rng(0)
    C = np.full((5, 5), 0.85)
    np.fill_diagonal(C, 1.0)
    X = rng.multivariate_normal(np.zeros(5), C, size=2000)
    X[:, :3] = np.digitize(X[:, :3], [1.2816, 1.75]) * 2.0 + 4.0
    S = GaussianCopulaDensity(random_state=0, shrinkage=0.0).fit(X).sample(40_000, random_state=1)
    error = np.abs(np.corrcoef(X.T) - np.corrcoef(S.T))[np.triu_indices(5, 1)]
    assert error.mean() < 0.025


def test_alpha_zero_keeps_unseen_levels_out_of_samples():
    # no smoothing: levels 2, 5 and 6 are unseen, yet the fit works and never samples them
    X = np.array([[1.0], [1.0], [3.0], [3.0], [4.0], [7.0]] * 5)
    density = GaussianCopulaDensity(alpha=0.0, random_state=0).fit(X)
    S = density.sample(20_000, random_state=1)
    assert set(np.unique(S)) <= {1.0, 3.0, 4.0, 7.0}
    assert np.all(np.isfinite(density.score_samples(np.array([[2.0], [5.0]]))))


@pytest.mark.parametrize("mixture", [True, False])
def test_dependence_scores_rows_with_missing_cells_exactly(mixture):
    """A copula with a dependence density integrates the missing cells out: the density of
    (x0, NaN) is the integral of the density over x1, and rows grouped by their pattern
    (a mixture) or scored one by one (any other density) agree with the conditional's
    marginal row by row."""
    from bayesgen.densities import GaussianDensity, MixtureOfFactorAnalysersDensity

    rng = np.random.default_rng(0)
    n = 2000
    group = rng.random(n) < 0.5
    a = rng.normal(size=n)
    X = np.column_stack([a, np.where(group, a, -a) + 0.4 * rng.normal(size=n), rng.normal(size=n)])
    dependence = (
        MixtureOfFactorAnalysersDensity(2, rank=2, random_state=0) if mixture else GaussianDensity()
    )
    density = GaussianCopulaDensity(dependence=dependence, random_state=0).fit(X)
    rows = np.array(
        [[0.3, np.nan, 0.1], [np.nan, np.nan, -0.5], [1.2, 0.4, np.nan], [0.3, -1.0, 2.0]]
    )
    scores = density.score_samples(rows)
    by_row = [density.condition(r, ~np.isnan(r)).log_marginal for r in rows]
    np.testing.assert_allclose(scores, by_row, rtol=1e-9, atol=1e-9)
    grid = np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 40_001)
    full = np.column_stack([np.full_like(grid, 0.3), grid, np.full_like(grid, 0.1)])
    integral = np.trapezoid(np.exp(density.score_samples(full)), grid)
    assert np.log(integral) == pytest.approx(scores[0], abs=2e-3)


def test_mixture_dependence_is_fitted_on_rows_with_missing_cells():
    """Two groups of rows with opposite correlations and 10 % empty cells: the copula with a
    mixture dependence is fitted by EM on the observed scores, keeps both groups (a
    Gaussian dependence sees no correlation) and scores the incomplete rows above the
    Gaussian copula."""
    from bayesgen.densities import GaussianDensity, MixtureOfFactorAnalysersDensity

    rng = np.random.default_rng(2)
    n = 3000
    a = rng.normal(size=n)
    b = np.where(rng.random(n) < 0.5, a, -a) + 0.3 * rng.normal(size=n)
    X = np.column_stack([a, b])
    X[rng.random(X.shape) < 0.1] = np.nan
    mixture = MixtureOfFactorAnalysersDensity(2, rank=1, random_state=0)
    density = GaussianCopulaDensity(dependence=mixture, random_state=0).fit(X)
    gaussian = GaussianCopulaDensity(random_state=0).fit(X)
    assert density.score(X) > gaussian.score(X) + 0.2
    S = density.sample(20_000, random_state=1)
    assert not np.isnan(S).any()
    assert np.corrcoef(np.abs(S[:, 0]), np.abs(S[:, 1]))[0, 1] > 0.6
    with pytest.raises(FitError, match="needs complete rows"):
        GaussianCopulaDensity(dependence=GaussianDensity()).fit(X)


def test_the_dependence_is_fitted_on_at_most_its_row_cap(monkeypatch):
    """At most ``DEPENDENCE_MAX_ROWS`` evenly spaced rows (all of them below the cap), and
    all rows when the kept ones miss every observed cell of a nearly empty column (the
    dependence needs one observed value per column)."""
    from bayesgen.densities import MixtureOfFactorAnalysersDensity
    from bayesgen.densities import copula as copula_module

    seen = []

    class Recording(MixtureOfFactorAnalysersDensity):
        def fit(self, X, y=None):
            seen.append(np.asarray(X).shape[0])
            return super().fit(X)

    monkeypatch.setattr(copula_module, "DEPENDENCE_MAX_ROWS", 100)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1000, 3))
    dependence = Recording(n_components=1, rank=1, random_state=0)
    for rows in (X, X[:80]):
        GaussianCopulaDensity(dependence=dependence, random_state=0).fit(rows)
    X[:, 2] = np.nan
    X[[5, 15, 25, 35], 2] = rng.normal(size=4)  # between the rows 0, 10, 20, ... kept
    GaussianCopulaDensity(dependence=dependence, random_state=0).fit(X)
    assert seen == [100, 80, 1000]


def test_fewer_rows_than_features_with_a_missing_cell():
    """The EM of the scores' correlation meets a singular moment (n < d): it keeps its
    correlation invertible, and the fit scores every row."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3)) @ rng.normal(size=(3, 60)) + rng.normal(size=(40, 60))
    X[5, 7] = np.nan
    density = GaussianCopulaDensity(random_state=0).fit(X)
    assert np.all(np.isfinite(density.score_samples(X)))
    assert np.all(np.linalg.eigvalsh(density.correlation_.dense()) > 0)


def test_the_latent_view_maps_rows_to_latent_and_back():
    """``to_latent`` inverts ``to_data``: continuous values return exactly, and a tied
    value's latent coordinate falls inside the interval its point mass owns."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=400), rng.choice([0.0, 1.0, 2.0], 400)])
    latent = GaussianCopulaDensity().fit(X).latent_gaussian()
    rows = X[:50]
    np.testing.assert_allclose(latent.to_data(latent.to_latent(rows)), rows, atol=1e-9)
    Z = latent.to_latent(rows, rng)
    np.testing.assert_allclose(latent.to_data(Z), rows, atol=1e-9)
    for value in (0.0, 1.0, 2.0):
        a, b = latent.interval(1, value, value)
        inside = Z[rows[:, 1] == value, 1]
        assert ((inside >= a) & (inside <= b)).all()
