"""BayesClassifier: references against scikit-learn, invariants, sampling, partial_fit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal
from sklearn.datasets import load_wine
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.naive_bayes import GaussianNB

from bayesgen import (
    AutoDensity,
    BayesClassifier,
    DataError,
    FitError,
    GaussianDensity,
    NotFittedError,
)


def _blobs(n=600, d=3, k=3, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    centres = rng.normal(0, 3, size=(k, d))
    scales = rng.normal(size=(k, d, d)) * 0.6 + np.eye(d)
    X = np.einsum("nd,nde->ne", rng.normal(size=(n, d)), scales[y]) + centres[y]
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def test_matches_qda_without_regularisation():
    X, y = _blobs()
    qda = QuadraticDiscriminantAnalysis(reg_param=0.0, store_covariance=True).fit(X, y)
    # scikit-learn switched QDA from the unbiased to the MLE covariance (1.9); follow it
    mle = np.allclose(qda.covariance_[0], np.cov(X[y == 0].T, bias=True))
    ours = BayesClassifier(GaussianDensity(reg_covar=0.0, ddof=0 if mle else 1)).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), qda.predict_proba(X), atol=1e-8)
    np.testing.assert_array_equal(ours.predict(X), qda.predict(X))


def test_matches_gaussian_nb():
    X, y = _blobs(seed=1)
    nb = GaussianNB(var_smoothing=1e-9).fit(X, y)
    ridge = 1e-9 * np.var(X, axis=0).max()
    ours = BayesClassifier("diag", reg_covar=ridge).fit(X, y)
    np.testing.assert_allclose(ours.predict_log_proba(X), nb.predict_log_proba(X), atol=1e-7)
    np.testing.assert_allclose(ours.class_prior_, nb.class_prior_)


def test_tied_matches_lda():
    X, y = _blobs(seed=2)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    ours = BayesClassifier("tied", reg_covar=0.0).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), lda.predict_proba(X), atol=1e-8)
    # one covariance object shared by all classes
    assert len({id(d.covariance_) for d in ours.densities_}) == 1


def test_class_log_likelihood_matches_scipy():
    X, y = _blobs(seed=3)
    model = BayesClassifier("gaussian", reg_covar=0.0).fit(X, y)
    ll = model.class_log_likelihood(X[:20])
    for k, label in enumerate(model.classes_):
        Xk = X[y == label]
        ref = multivariate_normal(Xk.mean(0), np.cov(Xk.T, bias=True)).logpdf(X[:20])
        np.testing.assert_allclose(ll[:, k], ref, rtol=1e-9)


def test_invariants_posteriors_and_evidence():
    X, y = _blobs(seed=4, labels=["cat", "dog", "emu"])
    model = BayesClassifier("gaussian").fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(1)])
    joint = model.predict_joint_log_proba(X)
    np.testing.assert_allclose(model.score_samples(X), np.log(np.exp(joint).sum(1)), rtol=1e-10)
    assert model.classes_.tolist() == ["cat", "dog", "emu"]
    assert model.score(X, y) > 0.8


def test_extreme_points_do_not_underflow():
    X, y = _blobs(seed=5)
    model = BayesClassifier("gaussian").fit(X, y)
    far = np.full((2, 3), 1e4)
    proba = model.predict_proba(far)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(1), 1)
    assert np.all(np.isfinite(model.score_samples(far)))


def test_sample_labels_follow_learned_prior():
    X, y = _blobs(n=1000, seed=6)
    model = BayesClassifier("gaussian").fit(X, y)
    n = 30_000
    _, ys = model.sample(n, random_state=0)
    freq = np.array([(ys == c).mean() for c in model.classes_])
    se = np.sqrt(model.class_prior_ * (1 - model.class_prior_) / n)
    assert np.all(np.abs(freq - model.class_prior_) < 5 * se)
    _, yu = model.sample(n, prior="uniform", random_state=0)
    assert np.all(np.abs(np.bincount(yu) / n - 1 / 3) < 5 * np.sqrt(2 / 9 / n))
    _, yp = model.sample(100, prior=[0, 0, 1], random_state=0)
    assert set(yp) == {2}


def test_sample_moments_per_class():
    X, y = _blobs(n=900, seed=7)
    model = BayesClassifier("gaussian").fit(X, y)
    for k, label in enumerate(model.classes_):
        Xs, ys = model.sample(20_000, y=label, random_state=k)
        assert np.all(ys == label)
        density = model.densities_[k]
        cov = density.covariance()
        se = np.sqrt(np.diag(cov) / 20_000)
        assert np.all(np.abs(Xs.mean(0) - density.mean_) < 5 * se)
        np.testing.assert_allclose(np.cov(Xs.T), cov, atol=0.1 * np.abs(cov).max())


def test_sample_explicit_labels_and_shuffle():
    X, y = _blobs(seed=8)
    model = BayesClassifier("gaussian").fit(X, y)
    wanted = np.array([2, 0, 0, 1, 2])
    Xs, ys = model.sample(y=wanted, random_state=1)
    np.testing.assert_array_equal(ys, wanted)
    assert Xs.shape == (5, 3)
    _, drawn = model.sample(200, random_state=2)
    assert not np.all(np.diff(drawn) >= 0), "rows drawn from the prior should be shuffled"
    a = model.sample(50, random_state=9)
    b = model.sample(50, random_state=9)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = model.sample(50)
    d = model.sample(50)
    assert not np.array_equal(c[0], d[0])
    X0, y0 = model.sample(0, random_state=0)
    assert X0.shape == (0, 3) and y0.shape == (0,)


def test_sample_bad_requests():
    X, y = _blobs(seed=9)
    model = BayesClassifier("gaussian").fit(X, y)
    with pytest.raises(DataError, match="known labels"):
        model.sample(3, y=7)
    with pytest.raises(DataError, match="non-negative integer"):
        model.sample(-1)
    with pytest.raises(DataError, match="non-negative integer"):
        model.sample(2.5)
    with pytest.raises(DataError, match="n_samples=3"):
        model.sample(3, y=[0, 1])
    with pytest.raises(DataError):
        model.sample(3, prior=[1, 0])


def test_feature_mismatch_gives_both_numbers():
    X, y = _blobs(seed=10)
    model = BayesClassifier("gaussian").fit(X, y)
    with pytest.raises(DataError, match="X has 2 features.*expecting 3"):
        model.predict(X[:, :2])


def test_bad_fit_input():
    X, y = _blobs(seed=11)
    with pytest.raises(DataError, match="only one class"):
        BayesClassifier("gaussian").fit(X, np.zeros(len(y)))
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataError, match="data row 5, column index 1"):
        BayesClassifier("gaussian").fit(bad, y)
    with pytest.raises(NotFittedError):
        BayesClassifier("gaussian").predict(X)


def test_singular_class_error_names_class_and_knob():
    X, y = _blobs(seed=12)
    X = np.hstack([X, np.zeros((len(X), 2))])
    with pytest.raises(FitError, match=r"class 0 has \d+ rows and 5 features.*reg_covar"):
        BayesClassifier("gaussian", reg_covar=0.0).fit(X, y)


def test_single_sample_class_fits_through_ridge():
    X, y = _blobs(seed=13)
    X = np.vstack([X, [[50.0, 50.0, 50.0]]])
    y = np.append(y, 9)
    model = BayesClassifier("gaussian", reg_covar=1e-2).fit(X, y)
    assert model.predict([[50.0, 50.0, 50.0]])[0] == 9


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_batches=st.integers(1, 6),
    kind=st.sampled_from(["gaussian", "diag", "tied"]),
)
def test_partial_fit_over_random_batches_equals_fit(seed, n_batches, kind):
    X, y = _blobs(n=300, seed=seed)
    X = X + 1e4  # a large offset must not cost precision
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    cuts = np.sort(rng.choice(np.arange(1, len(X)), size=n_batches - 1, replace=False))
    whole = BayesClassifier(kind, shrinkage=None if kind == "diag" else "auto").fit(X, y)
    parts = BayesClassifier(kind, shrinkage=None if kind == "diag" else "auto")
    for idx in np.split(order, cuts):
        parts.partial_fit(X[idx], y[idx], classes=[0, 1, 2])
    np.testing.assert_allclose(parts.class_prior_, whole.class_prior_, rtol=1e-12)
    for a, b in zip(parts.densities_, whole.densities_, strict=False):
        np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-10)
        np.testing.assert_allclose(a.covariance(), b.covariance(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(parts.score_samples(X), whole.score_samples(X), rtol=1e-10)


def test_partial_fit_rejects_unknown_labels_and_missing_classes():
    X, y = _blobs(seed=14)
    model = BayesClassifier("gaussian").partial_fit(X[y < 2], y[y < 2])
    with pytest.raises(DataError, match="not known"):
        model.partial_fit(X, y)
    model = BayesClassifier("gaussian").partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert model.class_prior_[2] == 0
    with pytest.raises(DataError, match="no training rows"):
        model.sample(3, y=2)
    model.partial_fit(X[y == 2], y[y == 2])
    assert model.class_prior_[2] > 0


def test_permuting_labels_permutes_outputs():
    X, y = _blobs(seed=15)
    perm = np.array([2, 0, 1])
    a = BayesClassifier("gaussian").fit(X, y)
    b = BayesClassifier("gaussian").fit(X, perm[y])
    np.testing.assert_allclose(b.predict_proba(X)[:, perm], a.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(b.predict(X), perm[a.predict(X)])


def test_explicit_priors():
    X, y = _blobs(seed=16)
    model = BayesClassifier("gaussian", priors=[0.2, 0.3, 0.5]).fit(X, y)
    np.testing.assert_allclose(model.class_prior_, [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="one entry per class"):
        BayesClassifier("gaussian", priors=[0.5, 0.5]).fit(X, y)


def test_class_statistics_do_not_depend_on_the_number_of_lanes(monkeypatch):
    import bayesgen.kernels.class_stats as classifier_module

    rng = np.random.default_rng(21)
    X = rng.normal(size=(3000, 400)) + 5.0
    y_index = rng.integers(0, 7, size=3000)
    y_index[y_index == 3] = 2  # an empty class
    results = []
    for cores in (1, 2, 5):
        monkeypatch.setattr(classifier_module, "lane_budget", lambda cores=cores: cores)
        results.append(classifier_module.class_stats(X, y_index, 7, diagonal=False))
    for stats in results[1:]:
        assert stats[3] is None
        for a, b in zip(stats, results[0], strict=True):
            if a is None:
                continue
            assert a.count == b.count
            np.testing.assert_allclose(a.mean, b.mean, rtol=1e-13)
            np.testing.assert_allclose(a.scatter, b.scatter, rtol=1e-11, atol=1e-9)
    for k in (0, 1, 2, 4, 5, 6):
        rows = X[y_index == k]
        np.testing.assert_allclose(
            results[1][k].scatter, np.cov(rows.T, bias=True) * rows.shape[0], rtol=1e-9, atol=1e-8
        )


def test_the_default_on_arrays_chooses_one_family_for_every_class():
    X, y = load_wine(return_X_y=True)
    model = BayesClassifier(random_state=0).fit(X, y)
    assert all(isinstance(d, AutoDensity) for d in model.densities_)
    assert len({d.chosen_ for d in model.densities_}) == 1
    assert model.density is None and model.score(X, y) > 0.9


def test_the_default_takes_the_gaussian_where_auto_cannot_run():
    """Fits from sufficient statistics and fits with ``shrinkage`` take the tutorial's
    Gaussian: equal to ``density="gaussian"``."""
    X, y = load_wine(return_X_y=True)
    X = X / X.std(axis=0)
    reference = BayesClassifier("gaussian").fit(X, y)
    batched = BayesClassifier().partial_fit(X[:90], y[:90], classes=[0, 1, 2])
    batched.partial_fit(X[90:], y[90:])
    np.testing.assert_allclose(batched.score_samples(X), reference.score_samples(X), rtol=1e-9)
    shrunk = BayesClassifier(shrinkage=0.1).fit(X, y)
    same = BayesClassifier("gaussian", shrinkage=0.1).fit(X, y)
    np.testing.assert_allclose(shrunk.score_samples(X), same.score_samples(X), rtol=1e-12)


def test_partial_fit_after_a_default_fit_names_auto():
    X, y = load_wine(return_X_y=True)
    model = BayesClassifier(random_state=0).fit(X, y)
    with pytest.raises(FitError, match="'auto'"):
        model.partial_fit(X, y)


def test_a_refit_that_fails_leaves_the_previous_model_whole():
    """The refit sets the new classes and prior before it meets a class it cannot fit
    (class "b" has one row, too few for a two-component mixture); the model must stay the
    one fitted before, not new classes beside old densities."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(50, 2)), rng.normal(3.0, 1.0, size=(50, 2))])
    y = np.repeat([0, 1], 50)
    model = BayesClassifier("mixture:2", random_state=0).fit(X, y)
    before = model.predict_proba(X)
    bad_y = np.r_[np.repeat(["a", "b"], [97, 1]), ["c", "c"]]
    with pytest.raises(FitError):
        model.fit(X, bad_y)
    assert list(model.classes_) == [0, 1]
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_a_partial_fit_that_fails_leaves_the_statistics_as_they_were():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = np.repeat([0, 1], 20)
    model = BayesClassifier("gaussian").partial_fit(X, y)
    means = [d.mean().copy() for d in model.densities_]
    bad = X.copy()
    bad[5, 1] = np.inf
    with pytest.raises(DataError):
        model.partial_fit(bad, y)
    for density, mean in zip(model.densities_, means, strict=True):
        np.testing.assert_array_equal(density.mean(), mean)
    model.partial_fit(X, y)  # the statistics still merge: twice the same rows
    assert model._stats[0].count == 40


def test_a_gaussian_model_imputes_rows_it_cannot_score():
    """Scoring needs complete rows for a Gaussian, but imputing is what the missing cells
    are there for: the conditional of the missing cells given the observed ones."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    X[:, 1] = 3.0 * X[:, 0] + 0.1 * rng.normal(size=400)
    y = np.repeat([0, 1], 200)
    model = BayesClassifier("gaussian").fit(X, y)
    holes = X[:50].copy()
    holes[:, 1] = np.nan
    filled = model.impute(holes, y=y[:50], random_state=0)
    np.testing.assert_array_equal(filled[:, [0, 2]], X[:50][:, [0, 2]])
    np.testing.assert_allclose(filled[:, 1], 3.0 * X[:50, 0], atol=0.5)
    with pytest.raises(DataError, match="NaN"):
        model.predict(holes)


def test_a_fit_from_statistics_that_fails_leaves_the_previous_model_whole():
    """The public accumulate-then-finalise path (streaming, Dask) rolls back too: three
    classes against a prior of two fail after the classes were set."""
    from bayesgen.kernels.class_stats import class_stats

    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 2))
    model = BayesClassifier("gaussian", priors=[0.5, 0.5]).fit(X[:60], np.repeat([0, 1], 30))
    before = model.predict_proba(X)
    stats = class_stats(X, np.repeat([0, 1, 2], 30), 3, diagonal=False, fourth=False)
    with pytest.raises((ValueError, DataError)):
        model.fit_from_statistics(np.array([0, 1, 2]), stats)
    assert list(model.classes_) == [0, 1]
    np.testing.assert_array_equal(model.predict_proba(X), before)
