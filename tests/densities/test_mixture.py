"""Gaussian mixtures and mixtures of factor analysers fitted by EM."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

import bayesgen
from bayesgen import BayesClassifier, FitError
from bayesgen.base.errors import ComponentCollapseWarning
from bayesgen.base.persist import save_object
from bayesgen.densities import GaussianMixtureDensity, MixtureOfFactorAnalysersDensity
from bayesgen.densities.mixture import initial_responsibilities

# many fits here run EM to tol=1e-8 or a few iterations on purpose; the warning itself is
# tested in test_a_fit_stopped_at_max_iter_warns_and_says_why
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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
    with warnings.catch_warnings():  # tol=1e-8 may stop at max_iter: tested below
        warnings.simplefilter("ignore", ConvergenceWarning)
        density.fit(blobs)
    history = np.asarray(density.lower_bound_history_)
    assert density.n_reseeds_ == 0
    assert np.all(np.diff(history) >= -1e-10)
    assert density.n_iter_ >= 1 and isinstance(density.converged_, bool)
    assert density.lower_bound_ == pytest.approx(density.score(blobs))
    proba = density.predict_proba(blobs[:20])
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_a_fit_stopped_at_max_iter_warns_and_says_why(blobs):
    density = GaussianMixtureDensity(3, max_iter=2, tol=1e-12, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2 .*raise max_iter"):
        density.fit(blobs)
    assert not density.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixtureDensity(3, random_state=0).fit(blobs)  # converges: silent


def test_components_that_keep_collapsing_are_dropped_and_the_file_keeps_them_out(blobs, tmp_path):
    """Twelve components on 30 rows: those that collapse again after MAX_RESEEDS re-seeds
    are dropped (before, they were re-seeded at every iteration and EM never settled)."""
    crowded = MixtureOfFactorAnalysersDensity(12, rank=1, random_state=0)
    with pytest.warns(ComponentCollapseWarning, match="kept collapsing .* reduce n_components"):
        crowded.fit(blobs[:30])
    K = len(crowded.weights_)
    assert 1 <= K < 12 and crowded.converged_
    assert crowded.n_reseeds_ <= 12 * bayesgen.densities.mixture.MAX_RESEEDS
    assert len(crowded.covariances_) == crowded.means_.shape[0] == K
    np.testing.assert_allclose(crowded.weights_.sum(), 1.0)
    save_object(crowded, tmp_path / "m.bgm", library_version=bayesgen.__version__)
    loaded = bayesgen.load(tmp_path / "m.bgm")
    np.testing.assert_allclose(loaded.score_samples(blobs), crowded.score_samples(blobs))
    assert loaded.sample(50, random_state=0).shape == (50, blobs.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixtureDensity(3, random_state=0).fit(blobs)  # converges: silent


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


@pytest.mark.parametrize(
    "name", ["mixture:2", "diagmix:3", "mfa:2x3", "mfa:2x3+logit", "mppca:2x3*2"]
)
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


# -- the E-step kernels against the dense per-component log-density ----------------------


def _dense_log_pdf(X, means, covs):
    """(K, n), as the kernels."""
    from scipy.stats import multivariate_normal

    return np.vstack(
        [multivariate_normal(m, c).logpdf(X) for m, c in zip(means, covs, strict=True)]
    )


@pytest.fixture(scope="module")
def kernel_case():
    rng = np.random.default_rng(3)
    n, d, K = 300, 7, 3
    X = rng.normal(size=(n, d)) * 2.0
    means = rng.normal(size=(K, d))
    var = rng.uniform(0.3, 3.0, size=(K, d))
    B = rng.normal(size=(K, d, d))
    full = [b @ b.T / d + 0.5 * np.eye(d) for b in B]
    W = rng.normal(size=(K, d, 2))
    W[1, :, 1] = 0.0  # a zero factor is fine
    psi = rng.uniform(0.2, 1.5, size=(K, d))
    return X, means, var, full, W, psi


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_estep_kernels_equal_the_dense_log_pdf(kernel_case, dtype, rtol):
    from bayesgen.kernels.mixture_estep import (
        diag_log_pdf,
        full_log_pdf,
        inverse_factor,
        lowrank_log_pdf,
        stack_squares,
        woodbury_factor,
    )

    X, means, var, full, W, psi = kernel_case
    Xw = X.astype(dtype)
    XX = stack_squares(Xw)
    assert XX.dtype == dtype

    ref = _dense_log_pdf(X, means, [np.diag(v) for v in var])
    got = diag_log_pdf(XX, means, var)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=rtol)

    inv = [inverse_factor(np.linalg.cholesky(c)).astype(dtype) for c in full]
    np.testing.assert_allclose(inv[0] @ np.linalg.cholesky(full[0]), np.eye(7), atol=1e-6)
    log_dets = [np.linalg.slogdet(c)[1] for c in full]
    np.testing.assert_allclose(
        full_log_pdf(Xw, means, inv, log_dets), _dense_log_pdf(X, means, full), rtol=rtol
    )

    dense = [w @ w.T + np.diag(p) for w, p in zip(W, psi, strict=True)]
    pairs = [woodbury_factor(w, p) for w, p in zip(W, psi, strict=True)]
    factors, log_dets = [f for f, _ in pairs], np.array([ld for _, ld in pairs])
    np.testing.assert_allclose(log_dets, [np.linalg.slogdet(c)[1] for c in dense], rtol=1e-12)
    got = lowrank_log_pdf(XX, means, psi, factors, log_dets)
    np.testing.assert_allclose(got, _dense_log_pdf(X, means, dense), rtol=rtol)


@pytest.mark.parametrize(
    "density",
    [
        GaussianMixtureDensity(3, covariance_type="diag", random_state=0, tol=1e-8),
        GaussianMixtureDensity(3, random_state=0, tol=1e-8),
        MixtureOfFactorAnalysersDensity(3, rank=2, random_state=0, tol=1e-8),
        MixtureOfFactorAnalysersDensity(3, rank=2, noise="isotropic", random_state=0),
    ],
    ids=["diag", "full", "mfa", "mppca"],
)
def test_fitted_scores_equal_the_dense_mixture(blobs, density):
    from scipy.special import logsumexp

    density.fit(blobs)
    dense = [c.dense() for c in density.covariances_]
    log_prob = _dense_log_pdf(blobs, density.means_, dense) + np.log(density.weights_)[:, None]
    ref = logsumexp(log_prob, axis=0)
    np.testing.assert_allclose(density.score_samples(blobs), ref, rtol=1e-10)


# -- float32, constant features, initialisation ----------------------------------------------


_SAME_ITERATIONS = dict(random_state=0, max_iter=30, tol=0.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda dt: GaussianMixtureDensity(3, covariance_type="diag", dtype=dt, **_SAME_ITERATIONS),
        lambda dt: GaussianMixtureDensity(3, dtype=dt, **_SAME_ITERATIONS),
        lambda dt: MixtureOfFactorAnalysersDensity(3, rank=2, dtype=dt, **_SAME_ITERATIONS),
        lambda dt: MixtureOfFactorAnalysersDensity(
            3, rank=2, noise="isotropic", dtype=dt, **_SAME_ITERATIONS
        ),
    ],
    ids=["diag", "full", "mfa", "mppca"],
)
def test_float32_fit_is_close_to_float64(blobs, make):
    a = make("float64").fit(blobs)
    b = make(np.float32).fit(blobs)
    history = np.asarray(b.lower_bound_history_)
    assert np.all(np.diff(history[:-1]) >= -1e-4)  # the last entry is the float64 score
    assert b.lower_bound_ == pytest.approx(b.score(blobs))
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, abs=1e-4)
    np.testing.assert_allclose(np.sort(b.weights_), np.sort(a.weights_), atol=1e-3)
    assert b.means_.dtype == np.float64


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianMixtureDensity(3, covariance_type="diag", random_state=0, tol=1e-8),
        lambda: GaussianMixtureDensity(3, random_state=0, tol=1e-8),
        lambda: MixtureOfFactorAnalysersDensity(3, rank=2, random_state=0, tol=1e-8),
    ],
    ids=["diag", "full", "mfa"],
)
def test_constant_features_add_their_closed_form_share(blobs, make):
    """A constant feature has variance reg_covar in every component and changes nothing else."""
    wide = np.insert(blobs, [0, 2, 2], [0.0, 7.5, -1.0], axis=1)
    narrow, padded = make().fit(blobs), make().fit(wide)
    reg = padded.reg_covar
    share = -0.5 * 3 * (np.log(2 * np.pi) + np.log(reg))
    assert padded.lower_bound_ == pytest.approx(narrow.lower_bound_ + share, rel=1e-9)
    np.testing.assert_allclose(padded.weights_, narrow.weights_, rtol=1e-7)
    np.testing.assert_allclose(np.delete(padded.means_, [0, 3, 4], axis=1), narrow.means_)
    np.testing.assert_allclose(padded.means_[:, [0, 3, 4]], [[0.0, 7.5, -1.0]] * 3)
    for c in padded.covariances_:
        np.testing.assert_allclose(c.variances()[[0, 3, 4]], reg, rtol=1e-9)
    new = wide[:5].copy()
    new[:, 0] = 1e-3  # off the training value: scored with the variance reg_covar
    assert np.all(np.isfinite(padded.score_samples(new)))
    assert np.all(padded.score_samples(new) < padded.score_samples(wide[:5]))


def test_isotropic_noise_with_constant_features(blobs):
    wide = np.hstack([blobs, np.zeros((blobs.shape[0], 2))])
    density = MixtureOfFactorAnalysersDensity(3, rank=2, noise="isotropic", random_state=0)
    density.fit(wide)
    assert np.all(np.diff(density.lower_bound_history_) >= -1e-10)
    assert density.lower_bound_ == pytest.approx(density.score(wide))
    for c in density.covariances_:  # one noise variance for every feature
        np.testing.assert_allclose(c.psi, c.psi[0])


def test_kmeans_init_is_the_default_and_clusters():
    rng = np.random.default_rng(0)
    centres = 8.0 * np.eye(6)
    truth = rng.integers(0, 6, size=1200)
    X = centres[truth] + rng.normal(size=(1200, 6))
    assert GaussianMixtureDensity().init == "kmeans"
    resp = initial_responsibilities(X, 6, "kmeans", np.random.default_rng(0))
    labels = resp.argmax(1)
    # every true cluster lands in one k-means cluster
    for k in range(6):
        assert np.unique(labels[truth == k]).size == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_held_out_likelihood_at_least_sklearns(covariance_type):
    """Same data, K, covariance type and iterations as scikit-learn's GaussianMixture.

    Eight separated clusters of unequal sizes, on which a k-means start now and then
    merges two of them: over five seeds, the mean held-out log-likelihood is at least
    scikit-learn's.
    """
    rng = np.random.default_rng(7)
    K, d = 8, 4
    centres = rng.normal(scale=6.0, size=(K, d))
    sizes = rng.integers(50, 400, size=K)
    scales = [rng.normal(size=(d, d)) * 0.5 + np.eye(d) for _ in range(K)]

    def draw():
        parts = [
            rng.normal(size=(s, d)) @ A + c for s, A, c in zip(sizes, scales, centres, strict=True)
        ]
        return rng.permutation(np.vstack(parts))

    X, held = draw(), draw()
    common = dict(covariance_type=covariance_type, max_iter=100, tol=1e-6, reg_covar=1e-6)
    ours = [GaussianMixtureDensity(K, random_state=s, **common).fit(X) for s in range(5)]
    theirs = [GaussianMixture(K, random_state=s, **common).fit(X) for s in range(5)]
    assert np.mean([m.score(held) for m in ours]) >= np.mean([m.score(held) for m in theirs])


def test_dtype_is_checked_and_saved(tmp_path):
    from sklearn.datasets import load_digits

    with pytest.raises(ValueError, match="dtype"):
        GaussianMixtureDensity(2, dtype="int8").fit(np.eye(4))
    X, y = load_digits(return_X_y=True)
    model = BayesClassifier(
        GaussianMixtureDensity(2, covariance_type="diag", dtype=np.float32, random_state=0),
        reg_covar=1e-2,
    ).fit(X[:300] / 16.0, y[:300])
    model.save(tmp_path / "m.bgm")
    loaded = bayesgen.load(tmp_path / "m.bgm")
    assert loaded.densities_[0].dtype == "float32"
    np.testing.assert_allclose(
        loaded.score_samples(X[:10] / 16.0), model.score_samples(X[:10] / 16.0)
    )


# -- averaged runs (n_average) -----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: GaussianMixtureDensity(3, covariance_type="diag", **kw),
        lambda **kw: MixtureOfFactorAnalysersDensity(2, rank=2, noise="isotropic", **kw),
    ],
)
def test_average_is_the_runs_with_equal_weights(blobs, make):
    """n_average=2 keeps the two runs a shared generator gives, each at half its weights."""
    X_fit, X_out = blobs[::2], blobs[1::2]
    rng = np.random.default_rng(3)
    first, second = make(random_state=rng).fit(X_fit), make(random_state=rng).fit(X_fit)
    both = make(n_average=2, random_state=np.random.default_rng(3)).fit(X_fit)
    np.testing.assert_allclose(both.weights_, np.r_[first.weights_, second.weights_] / 2)
    np.testing.assert_allclose(both.means_, np.vstack([first.means_, second.means_]))
    assert both.weights_.sum() == pytest.approx(1.0)
    # the density is the mean of the runs' densities at every point, held out or not,
    # so its log-likelihood is at least the runs' mean (Jensen)
    runs = np.stack([first.score_samples(X_out), second.score_samples(X_out)])
    averaged = both.score_samples(X_out)
    np.testing.assert_allclose(averaged, np.logaddexp(*runs) - np.log(2.0), rtol=1e-9)
    assert np.all(averaged >= runs.mean(axis=0) - 1e-9)
    assert both.lower_bound_ == pytest.approx(np.mean(both.score_samples(X_fit)))
    assert both.predict_proba(X_out[:5]).shape == (5, both.weights_.shape[0])


def test_average_samples_follow_the_weights(blobs):
    density = GaussianMixtureDensity(3, n_average=3, random_state=0).fit(blobs)
    assert density.weights_.shape == (9,)
    S = density.sample(30_000, random_state=1)
    np.testing.assert_allclose(S.mean(axis=0), density.mean(), atol=0.1)
    np.testing.assert_allclose(np.cov(S.T), density.covariance(), rtol=0.05, atol=0.1)


def test_average_refuses_bad_settings(blobs):
    with pytest.raises(ValueError, match="n_average must be a positive integer"):
        GaussianMixtureDensity(2, n_average=0).fit(blobs)
    resp = initial_responsibilities(blobs, 2, "k-means++", np.random.default_rng(1))
    with pytest.raises(ValueError, match="array init starts every run"):
        GaussianMixtureDensity(2, init=resp, n_average=2).fit(blobs)


def test_rows_with_missing_cells_score_the_mixture_of_component_marginals(blobs):
    from scipy import stats
    from scipy.special import logsumexp

    density = GaussianMixtureDensity(3, random_state=0).fit(blobs)
    rows = blobs[:6].copy()
    rows[0, 1] = rows[1, [0, 3]] = rows[2, :] = np.nan
    got = density.score_samples(rows)
    for row, value in zip(rows, got, strict=True):
        seen = ~np.isnan(row)
        parts = (
            [
                np.log(w)
                + stats.multivariate_normal(m[seen], c.dense()[np.ix_(seen, seen)]).logpdf(
                    row[seen]
                )
                for w, m, c in zip(
                    density.weights_, density.means_, density.covariances_, strict=True
                )
            ]
            if seen.any()
            else [0.0]
        )
        assert value == pytest.approx(logsumexp(parts) if seen.any() else 0.0, rel=1e-10)
    np.testing.assert_allclose(got[3:], density.score_samples(rows[3:]), rtol=1e-10)
    with pytest.raises(ValueError, match="features"):
        density.score_samples(rows[:, :2])


# -- missing cells ---------------------------------------------------------------------------


def test_em_with_missing_cells_reaches_the_closed_form_estimate():
    """One Gaussian, one feature missing on 40 % of the rows (monotone pattern): the
    maximum-likelihood estimate has a closed form (Anderson 1957): the observed feature's
    mean and variance from all rows, the regression of the other on it from the complete
    rows.  EM on the observed cells must reach it."""
    rng = np.random.default_rng(0)
    n = 2000
    x1 = rng.normal(size=n)
    x2 = 0.8 * x1 + 0.6 * rng.normal(size=n) + 1.0
    X = np.column_stack([x1, x2])
    hidden = rng.random(n) < 0.4
    X[hidden, 1] = np.nan
    fitted = GaussianMixtureDensity(1, reg_covar=0.0, tol=1e-13, max_iter=1000).fit(X)
    done = ~hidden
    C = np.cov(x1[done], x2[done], bias=True)
    slope = C[0, 1] / C[0, 0]
    mu1, var1 = x1.mean(), x1.var()
    mu2 = x2[done].mean() + slope * (mu1 - x1[done].mean())
    var2 = C[1, 1] - slope**2 * C[0, 0] + slope**2 * var1
    expected = np.array([[var1, slope * var1], [slope * var1, var2]])
    np.testing.assert_allclose(fitted.means_[0], [mu1, mu2], atol=1e-6)
    np.testing.assert_allclose(fitted.covariances_[0].dense(), expected, atol=1e-6)


def _two_groups_with_holes(seed=0, n=3000, d=6, rate=0.15):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 2))
    L = rng.normal(size=(2, d))
    side = rng.random(n)[:, None] < 0.5
    X = np.where(side, Z @ L, 3.0 - Z @ L) + 0.3 * rng.normal(size=(n, d))
    holes = X.copy()
    holes[rng.random(X.shape) < rate] = np.nan
    return X, holes


_KINDS = [
    (GaussianMixtureDensity, {"covariance_type": "diag"}),
    (GaussianMixtureDensity, {"covariance_type": "full"}),
    (MixtureOfFactorAnalysersDensity, {"rank": 2}),
    (MixtureOfFactorAnalysersDensity, {"rank": 2, "noise": "isotropic"}),
]


@pytest.mark.parametrize(("cls", "params"), _KINDS)
def test_em_with_missing_cells_never_decreases_and_beats_mean_filling(cls, params):
    """Exact EM: the observed-data log-likelihood never decreases; and it ends above the
    same family fitted to the rows with each hole filled with its column's mean (scored on
    the same observed cells), which is what EM improves on."""
    X, holes = _two_groups_with_holes()
    fitted = cls(2, random_state=0, **params).fit(holes)
    history = np.array(fitted.lower_bound_history_)
    assert np.all(np.diff(history) > -1e-9), history
    assert fitted.lower_bound_ == pytest.approx(fitted.score(holes), rel=1e-9)
    filled = np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)
    by_filling = cls(2, random_state=0, **params).fit(filled)
    assert fitted.score(holes) > by_filling.score(holes) + 0.1
    # and lands near the fit on the complete rows: the parameters are estimated, not biased
    complete = cls(2, random_state=0, **params).fit(X)
    order = np.argsort(fitted.means_[:, 0]), np.argsort(complete.means_[:, 0])
    np.testing.assert_allclose(fitted.means_[order[0]], complete.means_[order[1]], atol=0.1)


def test_a_feature_with_no_observed_value_is_refused():
    X = np.random.default_rng(0).normal(size=(50, 3))
    X[:, 1] = np.nan
    with pytest.raises(FitError, match="feature 1 has no observed value"):
        GaussianMixtureDensity(2).fit(X)


def test_missing_cells_and_constant_features_together():
    """A constant feature beside a feature with holes stays out of EM (module docstring,
    "Work data"): the fit equals the fit without it, plus the constant feature's share of
    each row's log-density, ``log N(0 | 0, reg_covar)``."""
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=400), np.zeros(400), rng.normal(size=400)])
    X[rng.random(400) < 0.2, 0] = np.nan
    params = {"rank": 1, "random_state": 0, "reg_covar": 1e-4}
    fitted = MixtureOfFactorAnalysersDensity(2, **params).fit(X)
    without = MixtureOfFactorAnalysersDensity(2, **params).fit(X[:, [0, 2]])
    np.testing.assert_allclose(fitted.means_[:, [0, 2]], without.means_, atol=1e-8)
    constant_term = -0.5 * np.log(2 * np.pi * 1e-4)
    np.testing.assert_allclose(
        fitted.score_samples(X), without.score_samples(X[:, [0, 2]]) + constant_term, rtol=1e-8
    )


def test_wide_rows_with_missing_cells_are_refused_with_the_way_out():
    from bayesgen.densities.mixture import MISSING_MAX_FEATURES

    X = np.random.default_rng(0).normal(size=(50, MISSING_MAX_FEATURES + 1))
    X[3, 7] = np.nan
    with pytest.raises(FitError, match=r"at most \d+ features.*first column 7.*copula"):
        MixtureOfFactorAnalysersDensity(2, rank=1).fit(X)
