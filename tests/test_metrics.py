"""Tests for bayesgen.metrics: known cases, floors, batching and the evaluate() report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import linalg
from scipy.spatial.distance import cdist
from sklearn.datasets import load_digits

import bayesgen.metrics as M
from bayesgen.base.errors import DataError, NotFittedError

# ----------------------------------------------------------------------------------------------
# fixtures and helpers
# ----------------------------------------------------------------------------------------------


def _mixture(n, rng, *, d=8, n_classes=5, sep=6.0, drop=None):
    """Well-separated isotropic Gaussian clusters; class c centred at sep * e_c."""
    classes = np.arange(n_classes)
    if drop is not None:
        classes = classes[classes != drop]
    y = rng.choice(classes, size=n)
    centres = np.zeros((n_classes, d))
    centres[np.arange(n_classes), np.arange(n_classes) % d] = sep
    return centres[y] + rng.standard_normal((n, d)), y


class FakeModel:
    """Per-class diagonal Gaussian with the bayesgen model API (sample/predict/score_samples)."""

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.classes_ = np.unique(y)
        self.means_ = np.array([X[y == c].mean(0) for c in self.classes_])
        self.vars_ = np.array([X[y == c].var(0) for c in self.classes_]) + 1e-2
        self.class_prior_ = np.array([np.mean(y == c) for c in self.classes_])
        return self

    def _joint(self, X):
        X = np.asarray(X, dtype=float)
        ll = -0.5 * (
            np.log(2 * np.pi * self.vars_).sum(1)[None, :]
            + (((X[:, None, :] - self.means_[None]) ** 2) / self.vars_[None]).sum(-1)
        )
        return ll + np.log(self.class_prior_)[None, :]

    def score_samples(self, X):
        from scipy.special import logsumexp

        return logsumexp(self._joint(X), axis=1)

    def predict(self, X):
        return self.classes_[np.argmax(self._joint(X), axis=1)]

    def sample(self, n_samples, *, y=None, prior="learned", random_state=None):
        rng = np.random.default_rng(random_state)
        idx = rng.choice(len(self.classes_), size=n_samples, p=self.class_prior_)
        X = self.means_[idx] + rng.standard_normal((n_samples, self.means_.shape[1])) * np.sqrt(
            self.vars_[idx]
        )
        return X, self.classes_[idx]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    tr, te = perm[:1300], perm[1300:]
    return X[tr], y[tr], X[te], y[te]


# ----------------------------------------------------------------------------------------------
# 1. log-likelihood units
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# 2. classification report
# ----------------------------------------------------------------------------------------------


def test_classification_report_confusion_matrix():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    rep = M.classification_report(y_true, y_pred, labels=[0, 1, 2, 3])
    np.testing.assert_array_equal(
        rep.confusion, [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    )
    assert rep.accuracy == pytest.approx(4 / 6)
    np.testing.assert_allclose(rep.per_class_accuracy[:3], [0.5, 2 / 3, 1.0])
    assert np.isnan(rep.per_class_accuracy[3])
    np.testing.assert_array_equal(rep.support, [2, 3, 1, 0])
    d = rep.to_dict()
    assert d["per_class_accuracy"][3] is None  # NaN -> null in JSON
    json.dumps(d, allow_nan=False)
    with pytest.raises(DataError):
        M.classification_report(y_true, y_pred, labels=[0, 1])


def test_classification_report_string_labels():
    rep = M.classification_report(["b", "a", "b"], ["b", "b", "b"])
    assert rep.labels.tolist() == ["a", "b"]
    np.testing.assert_array_equal(rep.confusion, [[0, 1], [0, 2]])


# ----------------------------------------------------------------------------------------------
# batched kernels
# ----------------------------------------------------------------------------------------------


def test_batched_distances_equal_unbatched(monkeypatch):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(53, 6))
    B = rng.normal(size=(41, 6))
    full = cdist(A, B, "sqeuclidean")
    np.testing.assert_allclose(M.pairwise_sq_distances(A, B), full, atol=1e-10)
    monkeypatch.setattr(M, "_COL_BLOCK", 9)  # exercise blocking in both directions
    d, i = M.nearest_neighbour_distances(A, B, batch_size=7)
    np.testing.assert_array_equal(i, np.argmin(full, axis=1))
    np.testing.assert_allclose(d, np.sqrt(full.min(axis=1)), atol=1e-12)
    r = rng.uniform(0.5, 2.5, size=len(B))
    counts = M.count_in_balls(A, B, r, batch_size=5)
    np.testing.assert_array_equal(counts, (full <= r[None, :] ** 2).sum(axis=1))
    d1, _ = M.nearest_neighbour_distances(A, B, batch_size=10_000)
    np.testing.assert_allclose(d, d1, atol=1e-12)


def test_knn_radii_match_brute_force():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(M.knn_radii(X, 3), np.sort(D, axis=1)[:, 2], atol=1e-10)
    with pytest.raises(DataError):
        M.knn_radii(X[:3], 3)


def test_width_mismatch_and_nan_are_data_errors():
    with pytest.raises(DataError, match="features"):
        M.nearest_neighbour_distances(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(DataError, match="NaN"):
        M.frechet_distance(np.array([[np.nan, 1.0]]), np.zeros((2, 2)))


# ----------------------------------------------------------------------------------------------
# 5. Frechet distance
# ----------------------------------------------------------------------------------------------


def _random_spd(d, rng):
    A = rng.normal(size=(d, d))
    return A @ A.T / d + 0.1 * np.eye(d)


def test_frechet_gaussian_matches_scipy_sqrtm_formula():
    rng = np.random.default_rng(4)
    d = 6
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    C1, C2 = _random_spd(d, rng), _random_spd(d, rng)
    covmean = linalg.sqrtm(C1 @ C2).real
    ref = (m1 - m2) @ (m1 - m2) + np.trace(C1 + C2 - 2 * covmean)
    assert M.frechet_distance_gaussian(m1, C1, m2, C2) == pytest.approx(ref, rel=1e-8)
    # symmetric in its arguments
    assert M.frechet_distance_gaussian(m2, C2, m1, C1) == pytest.approx(ref, rel=1e-8)


def test_frechet_zero_for_identical_moments_even_singular():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 30))  # n < d: singular sample covariance
    res = M.frechet_distance(X, X.copy(), feature_space="pca-50")
    assert res.value == pytest.approx(0.0, abs=1e-8)
    assert res.name == "Frechet distance (pca-50)"
    assert "FID" not in res.name
    C = _random_spd(5, rng)
    assert M.frechet_distance_gaussian(np.ones(5), C, np.ones(5), C) == pytest.approx(0, abs=1e-10)


def test_frechet_sample_estimate_matches_closed_form():
    rng = np.random.default_rng(6)
    n, d = 40000, 4
    s1, s2 = np.array([1.0, 2.0, 0.5, 1.5]), np.array([2.0, 1.0, 0.5, 3.0])  # std devs
    mu2 = np.array([1.0, -1.0, 0.0, 0.5])
    X1 = rng.standard_normal((n, d)) * s1
    X2 = mu2 + rng.standard_normal((n, d)) * s2
    closed = mu2 @ mu2 + np.sum((s1 - s2) ** 2)  # commuting (diagonal) covariances
    assert M.frechet_distance_gaussian(np.zeros(d), np.diag(s1**2), mu2, np.diag(s2**2)) == (
        pytest.approx(closed, rel=1e-10)
    )
    assert float(M.frechet_distance(X1, X2)) == pytest.approx(closed, rel=0.03)


def test_frechet_increases_monotonically_with_shift():
    rng = np.random.default_rng(7)
    n, d = 2000, 5
    real = rng.standard_normal((n, d))
    base = rng.standard_normal((n, d))
    vals = [float(M.frechet_distance(real, base + s)) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(vals, vals[1:], strict=False))
    # a pure mean shift s along every axis adds about d * s^2
    assert vals[-1] == pytest.approx(d * 4.0, rel=0.1)


# ----------------------------------------------------------------------------------------------
# 6/7. identical distributions sit at the floor; a missing class is caught
# ----------------------------------------------------------------------------------------------


def test_identical_distributions_sit_at_the_floor():
    rng = np.random.default_rng(8)
    n = 1500
    A, _ = _mixture(n, rng)
    B, _ = _mixture(n, rng)
    G, _ = _mixture(n, rng)
    pr, prf = M.precision_recall(A, G), M.precision_recall(A, B)
    dc, dcf = M.density_coverage(A, G), M.density_coverage(A, B)
    fd, fdf = float(M.frechet_distance(A, G)), float(M.frechet_distance(A, B))
    assert pr.k == 3 and dc.k == 5
    assert abs(pr.precision - prf.precision) < 0.05
    assert abs(pr.recall - prf.recall) < 0.05
    assert abs(dc.coverage - dcf.coverage) < 0.05
    assert abs(dc.density - 1.0) < 0.15 and abs(dcf.density - 1.0) < 0.15
    # estimation noise only (about 0.1 here): far below a 0.5 shift on every axis (2.0)
    assert fd < 0.6 and fdf < 0.6
    assert float(M.frechet_distance(A, G + 0.5)) > 3 * max(fd, fdf)
    # NDB: about alpha * K bins flagged, averaged over independent draws
    fractions = []
    for seed in range(4):
        r = np.random.default_rng(100 + seed)
        res = M.ndb(_mixture(2000, r)[0], _mixture(2000, r)[0], n_bins=20, random_state=seed)
        fractions.append(res.ndb_fraction)
        assert res.js_divergence < 0.02
    assert np.mean(fractions) < 0.15


def test_missing_class_is_flagged_by_ndb_and_coverage():
    rng = np.random.default_rng(9)
    n = 2000
    A, _ = _mixture(n, rng)
    B, _ = _mixture(n, rng)
    G, yg = _mixture(n, rng, drop=0)
    assert 0 not in yg
    res, floor = M.ndb(A, G, n_bins=20, random_state=0), M.ndb(A, B, n_bins=20, random_state=0)
    assert res.n_different > floor.n_different
    empty = res.proportions_other == 0  # bins of the missing cluster
    assert empty.any() and np.all(res.different[empty])
    assert np.all(res.z[empty] > 0)
    assert res.js_divergence > 5 * floor.js_divergence
    dc, dcf = M.density_coverage(A, G), M.density_coverage(A, B)
    assert dc.coverage < dcf.coverage - 0.1  # one cluster in five (~0.2) is uncovered
    pr, prf = M.precision_recall(A, G), M.precision_recall(A, B)
    assert pr.recall < prf.recall - 0.1
    assert pr.precision > prf.precision - 0.05  # what is generated is still realistic
    json.dumps(res.to_dict(), allow_nan=False)


def test_ndb_rejects_bad_settings():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(DataError):
        M.ndb(X, X, n_bins=11)
    with pytest.raises(ValueError):
        M.ndb(X, X, n_bins=3, alpha=1.5)


# ----------------------------------------------------------------------------------------------
# 8. memorisation
# ----------------------------------------------------------------------------------------------


def test_memorisation_flags_exact_copies():
    rng = np.random.default_rng(10)
    T = rng.normal(size=(400, 20))
    H = rng.normal(size=(200, 20))
    fresh = rng.normal(size=(200, 20))
    copy_rows = rng.choice(len(T), size=15, replace=False)
    G = fresh.copy()
    G[:15] = T[copy_rows]
    res = M.memorisation(G, T, H, batch_size=64)
    assert res.n_exact_copies == 15
    np.testing.assert_array_equal(res.exact_copy_indices, np.arange(15))
    assert res.holdout_exact_copies == 0
    np.testing.assert_array_equal(res.gen_distances[:15], 0.0)
    # fresh draws sit at the held-out floor; a pure copier does not
    ok = M.memorisation(fresh, T, H)
    assert 0.85 < ok.median_ratio < 1.15 and ok.n_exact_copies == 0
    copier = M.memorisation(T[:100] + 1e-9, T, H)
    assert copier.n_exact_copies == 100 and copier.median_ratio < 1e-6
    d = res.to_dict()
    assert "gen_distances" not in d
    json.dumps(d, allow_nan=False)


# ----------------------------------------------------------------------------------------------
# 3/4. reference classifier, label fidelity, TSTR, feature spaces
# ----------------------------------------------------------------------------------------------


def test_label_fidelity_and_tstr_on_digits(digits):
    Xtr, ytr, Xte, yte = digits
    ref = M.fit_reference_classifier(Xtr, ytr, "logistic", random_state=0)
    # real held-out rows used as "generated": fidelity equals its own floor
    lf = M.label_fidelity(Xte, yte, ref, X_holdout=Xte, y_holdout=yte)
    assert lf.accuracy == lf.floor_accuracy > 0.9
    assert lf.generated.confusion.sum() == len(Xte)
    # wrong labels: fidelity collapses to chance
    wrong = (yte + 1) % 10
    assert M.label_fidelity(Xte, wrong, ref).accuracy < 0.1
    # TSTR: real data as "synthetic" matches TRTR; shuffled labels do not
    half = len(Xtr) // 2
    t = M.tstr(Xtr[:half], ytr[:half], Xtr[half:], ytr[half:], Xte, yte, random_state=0)
    assert t.n_train == half and 0.9 < t.ratio < 1.1
    shuffled = np.random.default_rng(0).permutation(ytr[:half])
    bad = M.tstr(Xtr[:half], shuffled, Xtr[half:], ytr[half:], Xte, yte, random_state=0)
    assert bad.ratio < 0.5
    json.dumps(t.to_dict(), allow_nan=False)


def test_reference_standardisation_floor_ignores_noise_in_constant_features():
    rng = np.random.default_rng(11)
    n = 1500
    X, y = _mixture(n, rng, d=4, n_classes=3, sep=4.0)
    X = np.hstack([X, 1e-4 * rng.standard_normal((n, 30))])  # near-constant real features
    G, yg = _mixture(n, rng, d=4, n_classes=3, sep=4.0)
    G = np.hstack([G, 0.05 * rng.standard_normal((n, 30))])  # small off-manifold noise
    Xh, yh = _mixture(n, rng, d=4, n_classes=3, sep=4.0)
    Xh = np.hstack([Xh, 1e-4 * rng.standard_normal((n, 30))])
    ref = M.fit_reference_classifier(X, y, random_state=0)
    scale = ref[0].scale_
    assert np.all(scale[4:] >= 0.1 * np.sqrt(np.mean(ref[0].var_)) - 1e-12)
    lf = M.label_fidelity(G, yg, ref, X_holdout=Xh, y_holdout=yh)
    assert lf.accuracy > lf.floor_accuracy - 0.03
    plain = M.fit_reference_classifier(X, y, random_state=0, std_floor=0)
    assert M.label_fidelity(G, yg, plain).accuracy < 0.7  # noise dominates without it


def test_feature_spaces(digits):
    Xtr, ytr, Xte, _ = digits
    pca = M.make_feature_space("pca-50").fit(Xtr, random_state=0)
    assert pca.name == "pca-50" and pca.transform(Xte).shape == (len(Xte), 50)
    small = M.PCAFeatures(100).fit(Xtr[:, :10])
    assert small.name == "pca-10"
    with pytest.raises(NotFittedError):
        M.PCAFeatures(5).transform(Xte)
    assert M.make_feature_space("input").name == "input"
    with pytest.raises(ValueError):
        M.make_feature_space("inception")
    mlp = M.fit_reference_classifier(Xtr, ytr, "mlp", random_state=0, hidden_units=32)
    feats = M.ClassifierFeatures(mlp)
    H = feats.transform(Xte)
    assert feats.name == "mlp-hidden-32" and H.shape == (len(Xte), 32) and H.min() >= 0
    net = mlp[-1]
    logits = H @ net.coefs_[-1] + net.intercepts_[-1]
    np.testing.assert_array_equal(net.classes_[np.argmax(logits, 1)], mlp.predict(Xte))
    with pytest.raises(NotFittedError):
        M.ClassifierFeatures(M.PCAFeatures())


# ----------------------------------------------------------------------------------------------
# evaluate()
# ----------------------------------------------------------------------------------------------


def _check_report(rep):
    d = rep.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "FID" not in text
    s = d["settings"]
    for key in (
        "n",
        "feature_space",
        "k_precision_recall",
        "k_density_coverage",
        "random_state",
        "reference_training",
        "ndb_bins",
    ):
        assert key in s
    assert s["k_precision_recall"] == 3 and s["k_density_coverage"] == 5
    table = rep.format_table()
    assert "real-vs-real floor" in table and "Frechet distance (" in table
    return d, table


def test_evaluate_end_to_end_with_fake_model(digits):
    Xtr, ytr, Xte, yte = digits
    model = FakeModel().fit(Xtr, ytr)
    rep = M.evaluate(model, Xte, yte, X_train=Xtr, y_train=ytr, random_state=0, pixel_scale=16 / 16)
    d, table = _check_report(rep)
    s = d["settings"]
    assert s["feature_space"] == "pca-50" and s["n"] == len(Xtr) // 2
    assert s["reference_training"] == "X_train" and s["random_state"] == 0
    assert rep.frechet.name == "Frechet distance (pca-50)"
    assert rep.frechet.n_real == rep.frechet.n_gen == s["n"]
    assert rep.classification.accuracy > 0.8
    # a diagonal Gaussian generator is visibly worse than real data on several metrics
    assert rep.frechet.value > rep.frechet_floor.value
    assert rep.memorisation is not None and rep.memorisation.n_exact_copies == 0
    assert rep.tstr.trtr_accuracy > 0.9
    assert "held-out bits/dim (pixel values 0-" in table
    # same seed, same report
    rep2 = M.evaluate(model, Xte, yte, X_train=Xtr, y_train=ytr, random_state=0, pixel_scale=1.0)
    assert rep2.to_dict() == d


def test_evaluate_without_train_and_with_mlp_space(digits):
    Xtr, ytr, Xte, yte = digits
    model = FakeModel().fit(Xtr, ytr)
    rep = M.evaluate(model, Xte, yte, n_samples=400, feature_space="mlp-hidden-16", random_state=1)
    d, _ = _check_report(rep)
    s = d["settings"]
    assert s["feature_space"] == "mlp-hidden-16"
    assert "half of X_test" in s["reference_training"]
    assert s["n"] == len(Xte) // 2 and s["n_generated"] == 400
    assert rep.memorisation is None and any("memorisation" in n for n in rep.notes)


def test_evaluate_with_bayes_classifier(digits):
    import bayesgen

    if not hasattr(bayesgen, "BayesClassifier"):
        pytest.skip("bayesgen.BayesClassifier not available yet")
    Xtr, ytr, Xte, yte = digits
    model = bayesgen.BayesClassifier(density="gaussian", reg_covar=1e-1).fit(Xtr, ytr)
    rep = M.evaluate(model, Xte, yte, X_train=Xtr, y_train=ytr, random_state=0)
    _check_report(rep)
    assert rep.classification.accuracy > 0.8
    assert rep.log_likelihood is not None
