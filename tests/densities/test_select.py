"""density="auto": choice by held-out likelihood or BIC, recorded in selection_."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

import bayesgen
from bayesgen import BayesClassifier
from bayesgen.densities import AutoDensity


def test_heldout_choice_prefers_the_true_family():
    rng = np.random.default_rng(0)
    # three well separated clusters: a mixture beats one Gaussian on held-out rows
    X = np.vstack([rng.normal(c, 0.3, size=(300, 2)) for c in (-4.0, 0.0, 4.0)])
    auto = AutoDensity(["gaussian", "diag", "mixture:3"], random_state=0).fit(X)
    assert auto.chosen_ == "mixture:3"
    chosen = [r for r in auto.selection_ if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["name"] == "mixture:3"
    scores = {r["name"]: r["score"] for r in auto.selection_}
    assert scores["mixture:3"] == max(scores.values())
    json.dumps(auto.selection_)  # JSON-able for `bayesgen inspect`
    # the winner is refitted on all rows
    assert auto.best_.n_features_in_ == 2
    np.testing.assert_allclose(auto.score_samples(X), auto.best_.score_samples(X))
    assert "mixture:3" in auto.selection_table()


def test_bic_criterion_and_independent_data():
    X = np.random.default_rng(1).normal(size=(400, 5))
    auto = AutoDensity(["gaussian", "diag"], criterion="bic", random_state=0).fit(X)
    assert auto.chosen_ == "diag"  # fewer parameters, same fit
    assert all(r["criterion"] == "bic" for r in auto.selection_)


def test_failed_candidates_are_recorded_not_chosen():
    X = np.random.default_rng(2).normal(size=(60, 3))
    auto = AutoDensity(["gaussian", "mixture:50"], random_state=0).fit(X)
    failed = [r for r in auto.selection_ if r["error"]]
    assert [r["name"] for r in failed] == ["mixture:50"]
    assert auto.chosen_ == "gaussian"


def test_same_seed_same_choice():
    X = load_digits().data[:200]
    a = AutoDensity(["diag", "lowrank:5", "lowrank:10"], random_state=3).fit(X)
    b = AutoDensity(["diag", "lowrank:5", "lowrank:10"], random_state=3).fit(X)

    def untimed(records):  # everything but the seconds each candidate took
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert untimed(a.selection_) == untimed(b.selection_)


def test_default_grid_on_digits_is_fast_and_round_trips(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y = X[:700] / 16.0, y[:700]
    model = BayesClassifier("auto", reg_covar=1e-2, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    assert all(d.chosen_ for d in model.densities_)
    path = tmp_path / "auto.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    assert [d.chosen_ for d in loaded.densities_] == [d.chosen_ for d in model.densities_]
    assert loaded.densities_[0].selection_ == model.densities_[0].selection_
    np.testing.assert_allclose(loaded.score_samples(X[:20]), model.score_samples(X[:20]))


def test_bad_candidates():
    X = np.zeros((20, 2))
    with pytest.raises(ValueError, match="unknown density"):
        AutoDensity(["nope"]).fit(X)
    with pytest.raises(ValueError, match="own candidates"):
        AutoDensity(["auto"]).fit(X)
    with pytest.raises(ValueError, match="criterion"):
        AutoDensity(criterion="aic").fit(X)


def _two_kinds_of_class(n=600, seed=0):
    """Class 0: independent features (a diagonal Gaussian is enough); class 1: strongly
    correlated ones (only a full covariance fits)."""
    rng = np.random.default_rng(seed)
    independent = rng.normal(size=(n, 4))
    C = np.full((4, 4), 0.9)
    np.fill_diagonal(C, 1.0)
    correlated = rng.multivariate_normal(np.zeros(4), C, size=n)
    return np.vstack([independent, correlated]), np.repeat([0, 1], n)


@pytest.mark.parametrize("per_class", [False, True])
def test_one_family_for_all_classes_unless_asked_per_class(tmp_path, per_class):
    X, y = _two_kinds_of_class()
    auto = AutoDensity(candidates=["diag", "gaussian"], per_class=per_class, random_state=0)
    model = BayesClassifier(density=auto).fit(X, y)
    alone = [
        AutoDensity(candidates=["diag", "gaussian"], random_state=0).fit(X[y == k]) for k in (0, 1)
    ]
    assert [a.chosen_ for a in alone] == ["diag", "gaussian"]  # the classes disagree
    chosen = [d.chosen_ for d in model.densities_]
    if per_class:
        assert chosen == ["diag", "gaussian"]
        return
    totals = {
        name: sum(a.total_log_likelihood(name) for a in alone) for name in ("diag", "gaussian")
    }
    assert chosen == [max(totals, key=totals.get)] * 2 == ["gaussian"] * 2
    # the refitted class is the same fit as choosing that family from the start
    forced = AutoDensity(candidates=["gaussian"], random_state=0).fit(X[y == 0])
    np.testing.assert_allclose(
        model.densities_[0].score_samples(X[:50]), forced.score_samples(X[:50]), rtol=1e-10
    )
    marks = [[r["chosen"] for r in d.selection_] for d in model.densities_]
    assert marks == [[False, True], [False, True]]
    path = tmp_path / "m.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    assert [d.chosen_ for d in loaded.densities_] == ["gaussian"] * 2
    assert all(r["rows"] == 600 for d in loaded.densities_ for r in d.selection_)
    with pytest.raises(ValueError, match="loaded from a file"):
        loaded.densities_[0].refit_as("diag", X[y == 0])


def _sign_of_correlation_classes(n=400, d=3, seed=0):
    """Skewed (log-normal) features with the same marginals in both classes; only the sign
    of the correlation of features 0 and 1 tells the classes apart."""
    rng = np.random.default_rng(seed)
    rows = []
    for sign in (1.0, -1.0):
        C = np.eye(d)
        C[0, 1] = C[1, 0] = 0.97 * sign
        rows.append(np.exp(0.8 * rng.multivariate_normal(np.zeros(d), C, size=n)))
    return np.vstack(rows), np.repeat([0, 1], n)


def test_a_family_that_cannot_classify_is_not_chosen_for_its_likelihood(monkeypatch):
    """'margins' (exact empirical marginals, no dependence) has the higher held-out
    likelihood, but its classifier is a coin toss: the shared choice takes 'gaussian', whose
    error is within the margin of the best, and every record carries its error rate."""
    from bayesgen.densities import DENSITY_SHORTCUTS, GaussianCopulaDensity

    def margins(*, reg_covar, shrinkage, random_state, size=None):
        return GaussianCopulaDensity(shrinkage=1.0, random_state=random_state)

    monkeypatch.setitem(DENSITY_SHORTCUTS, "margins", margins)
    X, y = _sign_of_correlation_classes()
    auto = AutoDensity(candidates=["margins", "gaussian"], random_state=0)
    model = BayesClassifier(density=auto).fit(X, y)
    totals = {
        name: sum(d.total_log_likelihood(name) for d in model.densities_)
        for name in ("margins", "gaussian")
    }
    assert totals["margins"] > totals["gaussian"]  # the likelihood alone would take it
    errors = {r["name"]: r["heldout_error"] for r in model.densities_[0].selection_}
    assert errors["margins"] > 0.35 and errors["gaussian"] < 0.3
    assert [d.chosen_ for d in model.densities_] == ["gaussian", "gaussian"]
    assert all(d.heldout_candidates() is None for d in model.densities_)  # released
    assert not any(d.keep_candidates for d in model.densities_)
    assert "held-out error" in model.densities_[0].selection_table()


def test_a_class_too_small_to_hold_rows_out_still_competes_in_the_error():
    """A class of 30 rows is scored by BIC (no rows held out) but its candidates, fitted
    on all its rows, still compete for the other class's held-out rows: the classifier's
    error rate is measured and recorded in both classes."""
    X, y = _sign_of_correlation_classes()
    small = np.flatnonzero(y == 1)[:30]
    keep = np.r_[np.flatnonzero(y == 0), small]
    model = BayesClassifier(AutoDensity(candidates=["diag", "gaussian"], random_state=0))
    model.fit(X[keep], y[keep])
    criteria = [d.selection_[0]["criterion"] for d in model.densities_]
    assert criteria == ["heldout", "bic"]
    for density in model.densities_:
        errors = {r["name"]: r["heldout_error"] for r in density.selection_}
        assert all(e is not None for e in errors.values()), errors
        assert 0.0 <= errors["gaussian"] <= errors["diag"]  # they differ in correlation only
        assert density.heldout_candidates() is None  # released
    assert model.densities_[1].chosen_ == "gaussian"


def test_with_classifiers_about_as_good_the_likelihood_decides():
    """Digits: every record has an error rate; the chosen family's is within 2 standard
    errors of the best, and no candidate within that margin has a higher total."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:900] / 16.0, y[:900]
    model = BayesClassifier(random_state=0).fit(X, y)
    records = model.densities_[0].selection_
    # a family competes where every class scored it (the largest mixtures fail on classes
    # of 90 rows: their components keep collapsing)
    everywhere = set.intersection(
        *({r["name"] for r in d.selection_ if r["score"] is not None} for d in model.densities_)
    )
    errors = {r["name"]: r["heldout_error"] for r in records if r["name"] in everywhere}
    assert len(errors) >= 5 and all(e is not None for e in errors.values())
    n_heldout = sum(round(0.2 * np.sum(y == k)) for k in np.unique(y))
    best = min(errors.values())
    p = (best * n_heldout + 1) / (n_heldout + 2)
    margin = 2 * np.sqrt(p * (1 - p) / n_heldout)
    eligible = [name for name, e in errors.items() if e <= best + margin + 1e-12]
    totals = {
        name: sum(d.total_log_likelihood(name) for d in model.densities_) for name in eligible
    }
    assert model.densities_[0].chosen_ == max(totals, key=totals.get)


def test_the_copula_is_fitted_on_the_lattice_values_and_scored_dequantised():
    """Its empirical marginals already spread each value over its cell: fitted to the rows
    as given (point masses at the pixel values), not to blurred ones; its score is the
    mean log-density of the dequantised held-out rows."""
    from bayesgen.densities.lattice import dequantised, fitted_as_given, lattice_log_density

    X = load_digits().data[:300] / 16.0
    auto = AutoDensity(candidates=["copula"], random_state=0).fit(X)
    assert fitted_as_given(auto.best_)
    snaps = auto.best_.marginals_.snap
    assert np.isin(snaps[~np.isnan(snaps)], np.arange(17) / 16.0).all()
    assert (~np.isnan(snaps)).sum() > 100  # the pixel values are point masses
    rng = np.random.default_rng(1)
    noise, steps = rng.random(X.shape), np.full(64, 1 / 16)
    np.testing.assert_allclose(
        lattice_log_density(auto.best_, X, noise, steps),
        auto.best_.score_samples(dequantised(X, noise, steps)),
    )


def test_a_pixel_transform_is_refused_on_a_finer_lattice():
    """Measurements to 0.1 read as pixel counts: one transform cell's probability spread
    over a 0.1 step would overstate the density 10x per feature, so the candidate fails
    with the reason and is never chosen."""
    from sklearn.datasets import load_iris

    X = load_iris().data[:50]
    auto = AutoDensity(candidates=["gaussian", "mppca:2x2+glogit"], random_state=0).fit(X)
    record = {r["name"]: r for r in auto.selection_}["mppca:2x2+glogit"]
    assert record["score"] is None and "finer than the cells" in record["error"]
    assert auto.chosen_ == "gaussian"
    on_pixels = AutoDensity(candidates=["mppca:2x2+glogit"], random_state=0)
    assert on_pixels.fit(load_digits().data[:200]).chosen_ == "mppca:2x2+glogit"


def test_pixel_transforms_are_skipped_on_values_that_are_not_pixels(tmp_path):
    from sklearn.datasets import load_wine

    from bayesgen.densities.select import SKIP_NOT_PIXELS

    X, y = load_wine(return_X_y=True)  # values up to 1680
    auto = AutoDensity(candidates=["gaussian", "mppca:2x2+glogit"], random_state=0)
    model = BayesClassifier(density=auto).fit(X, y)
    record = {r["name"]: r for r in model.densities_[0].selection_}["mppca:2x2+glogit"]
    assert record["skipped"] == SKIP_NOT_PIXELS and record["error"] is None
    assert "(not pixel values)" in model.densities_[0].selection_table()
    model.save(tmp_path / "m.bgm")
    assert (
        bayesgen.load(tmp_path / "m.bgm").densities_[0].selection_ == model.densities_[0].selection_
    )


def test_classes_on_different_value_ranges_fit_and_leave_nothing_behind():
    """One class in {0, 1}, another in 0..5: each class's pixel transform takes its own
    input scale, so it cannot score the other class's rows; those rows count as errors
    instead of failing the fit, and no kept candidate stays behind."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.integers(0, 2, size=(60, 3)), rng.integers(0, 6, size=(60, 3))])
    y = np.repeat([0, 1], 60).astype(float)
    model = BayesClassifier(random_state=0).fit(X.astype(float), y)
    assert model.score(X, y) > 0.6
    assert all(d.heldout_candidates() is None and not d.keep_candidates for d in model.densities_)
    records = {r["name"]: r for r in model.densities_[0].selection_}
    # (a family one class could not fit, its components collapsing, has no error rate)
    glogit = [
        r
        for name, r in records.items()
        if name.endswith("+glogit") and r["score"] and r["heldout_error"] is not None
    ]
    assert glogit and all(r["heldout_error"] >= 0.25 for r in glogit)


# classes of 40 digits: the chosen mixture may stop at max_iter, which warns (not tested here)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_loaded_default_model_names_auto_when_partial_fit_refuses(tmp_path):
    X, y = load_digits(return_X_y=True)
    model = BayesClassifier(random_state=0).fit(X[:400] / 16, y[:400])
    model.save(tmp_path / "m.bgm")
    loaded = bayesgen.load(tmp_path / "m.bgm")
    assert loaded.statistics_kind() is None
    with pytest.raises(bayesgen.FitError, match="'auto'"):
        loaded.partial_fit(X[:10] / 16, y[:10])


def test_all_candidates_skipped_names_the_reasons():
    with pytest.raises(bayesgen.FitError, match="skipped, not pixel values"):
        AutoDensity(candidates=["mppca:2x1+glogit"]).fit(-np.ones((30, 2)))


def test_shortcut_runs_set_the_mixture_average():
    from bayesgen.densities import make_density, parse_density_name
    from bayesgen.densities.shortcuts import with_runs

    assert parse_density_name("mppca:5x10*3+glogit") == ("mppca", (5, 10), "glogit", 3)
    assert parse_density_name("gaussian").runs is None
    assert make_density("mppca:5x10*3+glogit").base.n_average == 3
    assert make_density("mfacopula:2x2*2").dependence.n_average == 2
    assert make_density("diagmix:4*2").n_average == 2
    with pytest.raises(ValueError, match="not fitted by EM"):
        make_density("gaussian*3")
    with pytest.raises(ValueError, match="positive integer"):
        make_density("mppca:2x2*0")
    assert with_runs("mfa:3x5", 3) == "mfa:3x5*3"
    assert with_runs("mfa:3x5*2", 3) == "mfa:3x5*2"  # the string's own runs stay
    assert with_runs("copula", 3) == "copula"
    assert with_runs("mfa:3x5", 1) == "mfa:3x5"


def test_auto_refits_a_mixture_as_the_average_of_runs():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-4, 1, (150, 3)), rng.normal(4, 1, (150, 3))])
    auto = AutoDensity(candidates=["diagmix:2"], random_state=0).fit(X)
    assert auto.best_.n_average == 3 and auto.best_.weights_.shape == (6,)
    assert auto.chosen_ == "diagmix:2" and auto.delivered_name() == "diagmix:2*3"
    single = AutoDensity(candidates=["diagmix:2"], average_runs=1, random_state=0).fit(X)
    assert single.best_.weights_.shape == (2,) and single.delivered_name() == "diagmix:2"
    glogit = AutoDensity(candidates=["mppca:2x2+glogit"], random_state=0).fit(
        np.rint(rng.uniform(0, 255, (120, 4)))
    )
    assert glogit.delivered_name() == "mppca:2x2*3+glogit"
    with pytest.raises(ValueError, match="average_runs"):
        AutoDensity(candidates=["diag"], average_runs=0).fit(X)


def test_classifier_classes_are_refitted_on_all_their_rows():
    """The classes' refit waits for the shared choice, and then uses every row."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = np.repeat([0, 1], 200)
    X[y == 1] += 2.0
    model = BayesClassifier(AutoDensity(candidates=["diag", "gaussian"], random_state=0))
    model.fit(X, y)
    for k, density in enumerate(model.densities_):
        assert not density.refit_pending()
        np.testing.assert_allclose(density.mean(), X[y == k].mean(axis=0), rtol=1e-12)


def test_shared_choice_measures_the_error_under_the_users_prior():
    """With ``priors`` the candidates' classifiers predict with them and their error is
    the risk under them: a candidate that ignores a rare class loses it there."""
    from bayesgen.densities.select import _heldout_errors

    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(0, 1, (900, 2)), rng.normal(1.0, 1, (100, 2))])
    y = np.repeat([0, 1], [900, 100])
    two = ["diag", "gaussian"]
    shares = BayesClassifier(AutoDensity(candidates=two, random_state=0)).fit(X, y)
    even = BayesClassifier(AutoDensity(candidates=two, random_state=0), priors=[0.5, 0.5])
    even.fit(X, y)
    e_shares = shares.densities_[0].selection_[0]["heldout_error"]
    e_even = even.densities_[0].selection_[0]["heldout_error"]
    # the shares' classifier mostly says 0 (error at most about the rare class's share);
    # with even priors the risk is the mean of the two classes' errors, about
    # Phi(-sqrt(2) / 2) = 0.24
    assert 0.0 < e_shares < 0.13
    assert 0.13 < e_even < 0.38
    assert _heldout_errors([], [], np.ones(1)) == ({}, 0)


def test_a_candidate_alone_is_fitted_once_on_all_rows():
    """When the other candidates cannot take the rows (here: missing cells, which the
    Gaussian cannot fit), there is nothing to compare: the one left is fitted on all rows
    and scored by BIC, and the others are recorded as skipped."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    X[rng.random(X.shape) < 0.05] = np.nan
    auto = AutoDensity(candidates=["copula", "gaussian"], random_state=0).fit(X)
    records = {r["name"]: r for r in auto.selection_}
    assert records["gaussian"]["skipped"] == "missing cells"
    assert records["copula"]["criterion"] == "bic" and records["copula"]["rows"] == 300
    assert auto.chosen_ == "copula" and not auto.refit_pending()
    complete = np.nan_to_num(X)
    both = AutoDensity(candidates=["copula", "gaussian"], random_state=0).fit(complete)
    assert {r["criterion"] for r in both.selection_} == {"heldout"}


def test_the_table_grid_compares_every_candidate_on_rows_with_missing_cells():
    """The copulas with mixture dependence fit rows with missing cells (EM), so a table
    with empty cells compares the whole grid on held-out rows."""
    from bayesgen.densities.select import TABLE_CANDIDATES

    rng = np.random.default_rng(4)
    z = rng.normal(size=(600, 1))
    X = np.where(rng.random((600, 1)) < 0.5, z, -z) + 0.5 * rng.normal(size=(600, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    auto = AutoDensity(candidates=list(TABLE_CANDIDATES), random_state=0).fit(X)
    assert all(r["score"] is not None for r in auto.selection_), auto.selection_
    assert {r["criterion"] for r in auto.selection_} == {"heldout"}
    assert np.all(np.isfinite(auto.score_samples(X)))


def test_table_candidates_take_categories_and_missing_cells():
    """On a table the numbers-only candidates are skipped, and the grid of copulas takes
    missing cells (the fitted choice says what it takes)."""
    import pandas as pd

    from bayesgen.densities.select import TABLE_CANDIDATES

    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame(
        {"colour": rng.choice(["red", "blue"], n), "size": np.round(rng.normal(size=n), 2)}
    )
    label = rng.choice(["a", "b"], n)
    mixed = AutoDensity(candidates=["gaussian", "copula"], random_state=0)
    model = BayesClassifier(mixed).fit(frame, label)
    records = {r["name"]: r for r in model.densities_[0].selection_}
    assert records["gaussian"]["skipped"] == "categorical columns"
    assert model.densities_[0].chosen_ == "copula"
    assert AutoDensity(candidates=list(TABLE_CANDIDATES)).accepts_missing()
    assert AutoDensity().accepts_missing()  # the grid for arrays: mixtures and copulas fit them
    assert not AutoDensity(candidates=["gaussian", "diag"]).accepts_missing()


def test_saving_before_the_refit_is_refused():
    X = np.random.default_rng(0).normal(size=(200, 2))
    auto = AutoDensity(candidates=["diag", "gaussian"], keep_candidates=True, random_state=0)
    auto.fit(X)
    assert auto.refit_pending()
    with pytest.raises(ValueError, match="refit_as"):
        auto._get_state()
    auto.refit_as(auto.chosen_, X)
    assert not auto.refit_pending() and auto._get_state()["params"]["average_runs"] == 3


def test_on_rows_with_missing_cells_the_families_that_cannot_fit_them_are_skipped():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    auto = AutoDensity(candidates=["gaussian", "mfa:2x1", "copula"], random_state=0).fit(X)
    records = {r["name"]: r for r in auto.selection_}
    assert records["gaussian"]["skipped"] == "missing cells"
    assert records["mfa:2x1"]["score"] is not None and records["copula"]["score"] is not None
    assert auto.accepts_missing() and np.all(np.isfinite(auto.score_samples(X)))


def test_scikit_learn_is_told_which_fits_take_missing_cells():
    from bayesgen.densities import GaussianCopulaDensity, GaussianDensity

    def allows(estimator):
        return estimator.__sklearn_tags__().input_tags.allow_nan

    assert allows(GaussianCopulaDensity()) and allows(AutoDensity())
    assert not allows(GaussianDensity())
    # scoring takes missing cells, fitting does not: the tag follows fit
    assert not allows(GaussianCopulaDensity(dependence=GaussianDensity()))
    assert allows(BayesClassifier()) and not allows(BayesClassifier("gaussian"))
    assert not allows(AutoDensity(candidates=["gaussian", "diag"]))
