"""Mixtures per class: Gaussian mixtures and mixtures of factor analysers, fitted by EM.

Model
-----
``p(x) = sum_j w_j N(x | mu_j, Sigma_j)`` with ``Sigma_j`` full, diagonal, or low rank plus
diagonal (a mixture of factor analysers, Ghahramani and Hinton 1996).  Every component holds
a factored :class:`~bayesgen.kernels.covariance.Covariance`, so scoring and sampling never refactor.

EM in log space
---------------
* E-step: ``log r_ij = log w_j + log N(x_i | mu_j, Sigma_j) - logsumexp_j(...)``; the
  responsibilities are exponentials of log-probabilities, never normalised products of
  densities, so nothing underflows in high dimension.  The average of the logsumexp is the
  log-likelihood per row, recorded after every iteration in ``lower_bound_history_``.
* M-step: ``N_j = sum_i r_ij``, ``w_j = N_j / n``, ``mu_j = sum_i r_ij x_i / N_j`` and

  - full: ``Sigma_j = sum_i r_ij (x_i - mu_j)(x_i - mu_j)^T / N_j + reg_covar I``
  - diag: the diagonal of the same
  - factor analysers: one EM step of factor analysis on the weighted data in O(n d k),
    without forming a d x d matrix: with ``beta = W^T Sigma^{-1}`` (Woodbury),
    ``E[z|x] = beta (x - mu)``, ``G = sum_i r_i (x_i - mu) E[z|x_i]^T / N``,
    ``E[z z^T] = I - beta W + beta G``; then ``W <- G E[z z^T]^{-1}`` and
    ``psi <- diag(C) - rowsum(W * G) + reg_covar`` (``diag(C)`` the weighted variances).
    Each step is a generalised EM step, so the likelihood still never decreases.

  One small function per covariance type, chosen through a dict.

Initialisation is k-means++ seeding (:func:`sklearn.cluster.kmeans_plusplus`), optionally
refined by Lloyd iterations (``init="kmeans"``); the best of ``n_init`` runs is kept.

Empty and collapsing components
-------------------------------
A component whose weight falls below ``2 / n`` (fewer than two rows' worth of
responsibility), or whose covariance cannot be factored, is re-seeded: its mean moves to the
row the mixture explains worst, it takes a copy of the covariance of the heaviest component,
and the two share that component's weight.  ``n_reseeds_`` counts these events (a re-seed can
lower the likelihood once; otherwise EM never decreases it).  ``reg_covar`` is a floor on
every variance.

Sampling draws the component counts from a multinomial over the weights, then each
component's rows as ``mu_j + colorize_j(z)`` with its cached factor, and shuffles the rows.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from bayesgen.base.errors import FitError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.base.threads import one_blas_thread
from bayesgen.densities.base import Density
from bayesgen.kernels.conditioning import Conditioned, gaussian_conditional
from bayesgen.kernels.covariance import LOG_2PI, Covariance, DiagonalCovariance, FullCovariance
from bayesgen.kernels.lowrank import LowRankCovariance, ppca_from_covariance

__all__ = ["GaussianMixtureDensity", "MixtureOfFactorAnalysersDensity"]

_EPS = 10 * np.finfo(np.float64).eps
INIT_METHODS = ("k-means++", "kmeans", "random")


# -- M-step kernels, one per covariance type ----------------------------------------------


def _full_mstep(X, resp_j, nk, mean, reg_covar, previous) -> Covariance:
    diff = X - mean
    cov = (diff * resp_j[:, None]).T @ diff / nk
    cov.flat[:: cov.shape[0] + 1] += reg_covar
    return FullCovariance.from_matrix(cov)


def _diag_mstep(X, resp_j, nk, mean, reg_covar, previous) -> Covariance:
    diff = X - mean
    var = (resp_j @ (diff * diff)) / nk + reg_covar
    return DiagonalCovariance(np.maximum(var, max(reg_covar, 1e-300)))


def _lowrank_mstep(X, resp_j, nk, mean, reg_covar, previous, isotropic=False) -> Covariance:
    """One EM step of factor analysis on the weighted rows (module docstring), O(n d k)."""
    W = previous.W
    k = W.shape[1]
    diff = X - mean
    var = (resp_j @ (diff * diff)) / nk
    if k == 0:
        if isotropic:
            var = np.full_like(var, var.mean())
        return LowRankCovariance(W, np.maximum(var + reg_covar, max(reg_covar, 1e-300)))
    beta = previous.solve(W.T)  # (k, d): rows Sigma^{-1} w_i, i.e. W^T Sigma^{-1}
    Ez = diff @ beta.T  # (n, k)
    G = diff.T @ (Ez * resp_j[:, None]) / nk  # (d, k)  = C beta^T
    Ezz = np.eye(k) - beta @ W + beta @ G
    W_new = linalg.solve(Ezz, G.T, assume_a="pos", check_finite=False).T
    psi = var - np.einsum("ij,ij->i", W_new, G)
    if isotropic:  # mixture of probabilistic PCA: one noise variance per component
        psi = np.full_like(psi, max(float(psi.mean()), 0.0))
    psi = np.maximum(psi + reg_covar, max(reg_covar, 1e-12))
    return LowRankCovariance(W_new, psi)


def _ppca_mstep(X, resp_j, nk, mean, reg_covar, previous) -> Covariance:
    return _lowrank_mstep(X, resp_j, nk, mean, reg_covar, previous, isotropic=True)


_MSTEP = {
    "full": _full_mstep,
    "diag": _diag_mstep,
    "lowrank": _lowrank_mstep,
    "ppca": _ppca_mstep,
}


def _lowrank_log_pdf_all(X: np.ndarray, means: np.ndarray, covariances) -> np.ndarray:
    """``log N(x_i | mu_j, W_j W_j^T + Psi_j)`` for all rows and components, shape (n, K).

    Batched over components in three matrix products (no (n, d) temporary per component):
    ``sum_d (x - mu)^2 / psi = (x^2) psi^{-1} - 2 x (mu / psi) + sum mu^2 / psi``, and the
    Woodbury correction needs ``U_j^T Psi_j^{-1/2} (x - mu_j)`` for every j at once.
    """
    d = X.shape[1]
    inv_psi = np.stack([1.0 / c.psi for c in covariances])  # (K, d)
    maha = (X * X) @ inv_psi.T - 2.0 * (X @ (means * inv_psi).T)
    maha += np.einsum("kd,kd->k", means * means, inv_psi)
    blocks = [c._U * c._inv_sqrt_psi[:, None] for c in covariances]
    if sum(b.shape[1] for b in blocks):
        P = X @ np.concatenate(blocks, axis=1)
        start = 0
        for j, (c, b) in enumerate(zip(covariances, blocks, strict=True)):
            k = b.shape[1]
            if k:
                Pj = P[:, start : start + k] - means[j] @ b
                maha[:, j] -= (Pj * Pj) @ c._frac
            start += k
    np.maximum(maha, 0.0, out=maha)
    log_det = np.array([c.log_det for c in covariances])
    return -0.5 * (d * LOG_2PI + log_det + maha)


def _lowrank_mstep_all(X, X2, resp, nk, means, reg_covar, previous, isotropic):
    """The factor-analysis M-step of every component, batched (see ``_lowrank_mstep``).

    With ``beta_j = W_j^T Sigma_j^{-1}``: ``E[z|x] = beta_j x - beta_j mu_j`` and
    ``G_j = (X^T (r_j E[z|x]) - mu_j (sum_i r_ij E[z|x_i])^T) / N_j``, computed for all j with
    two matrix products.  Returns a list with None for components that failed to factor.
    """
    var = np.maximum((resp.T @ X2) / nk[:, None] - means * means, 0.0)  # (K, d)
    with one_blas_thread():  # small per-component operands (see bayesgen.base.threads)
        betas = [c.solve(c.W.T) for c in previous]  # (k_j, d)
    XB = X @ np.concatenate(betas, axis=0).T  # (n, sum k)
    Ew = np.empty_like(XB)
    start = 0
    spans = []
    for j, beta in enumerate(betas):
        k = beta.shape[0]
        Ew[:, start : start + k] = (XB[:, start : start + k] - means[j] @ beta.T) * resp[:, [j]]
        spans.append((start, k))
        start += k
    XtE = X.T @ Ew  # (d, sum k)
    with one_blas_thread():
        return _lowrank_components(
            previous, betas, spans, XtE, Ew, means, nk, var, reg_covar, isotropic
        )


def _lowrank_components(previous, betas, spans, XtE, Ew, means, nk, var, reg_covar, isotropic):
    """The per-component end of :func:`_lowrank_mstep_all` (small operands)."""
    out = []
    floor = max(reg_covar, 1e-12)
    for j, (c, beta, (start, k)) in enumerate(zip(previous, betas, spans, strict=True)):
        try:
            G = (
                XtE[:, start : start + k] - np.outer(means[j], Ew[:, start : start + k].sum(0))
            ) / nk[j]
            Ezz = np.eye(k) - beta @ c.W + beta @ G
            W_new = linalg.solve(Ezz, G.T, assume_a="pos", check_finite=False).T
            psi = var[j] - np.einsum("ij,ij->i", W_new, G)
            if isotropic:
                psi = np.full_like(psi, max(float(psi.mean()), 0.0))
            cov = LowRankCovariance(W_new, np.maximum(psi + reg_covar, floor))
            out.append(cov if np.isfinite(cov.log_det) else None)
        except (np.linalg.LinAlgError, ValueError):
            out.append(None)
    return out


# -- seeding ------------------------------------------------------------------------------


def _seed_int(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _sq_dist(X: np.ndarray, centres: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    d2 = x_sq[:, None] - 2.0 * (X @ centres.T) + np.einsum("ij,ij->i", centres, centres)
    return np.maximum(d2, 0.0)


def initial_responsibilities(
    X: np.ndarray,
    n_components: int,
    init: str,
    rng: np.random.Generator,
    *,
    lloyd_iter: int = 100,
) -> np.ndarray:
    """Hard (one-hot) initial responsibilities, shape (n, n_components).

    "k-means++": nearest k-means++ seed; "kmeans": then Lloyd iterations to convergence;
    "random": uniform random assignment.
    """
    from sklearn.cluster import kmeans_plusplus

    n = X.shape[0]
    if init == "random":
        labels = rng.integers(0, n_components, size=n)
    else:
        centres, _ = kmeans_plusplus(X, n_components, random_state=_seed_int(rng))
        x_sq = np.einsum("ij,ij->i", X, X)
        labels = np.argmin(_sq_dist(X, centres, x_sq), axis=1)
        if init == "kmeans":
            for _ in range(lloyd_iter):
                counts = np.bincount(labels, minlength=n_components)
                onehot = np.zeros((n, n_components))
                onehot[np.arange(n), labels] = 1.0
                sums = onehot.T @ X
                keep = counts > 0
                centres[keep] = sums[keep] / counts[keep, None]
                new = np.argmin(_sq_dist(X, centres, x_sq), axis=1)
                if np.array_equal(new, labels):
                    break
                labels = new
    resp = np.zeros((n, n_components))
    resp[np.arange(n), labels] = 1.0
    return resp


# -- the EM engine --------------------------------------------------------------------------


class _MixtureBase(Density):
    """EM for mixtures of Gaussians with any :class:`Covariance` per component."""

    _fitted_attributes = (
        "weights_",
        "means_",
        "covariances_",
        "converged_",
        "n_iter_",
        "lower_bound_",
        "lower_bound_history_",
        "n_reseeds_",
    )

    # subclasses set the covariance kind and how to start a component
    def _kind(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_common(self) -> None:
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must be a positive integer; got {k!r}")
        if not isinstance(self.reg_covar, numbers.Real) or not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")
        for name in ("max_iter", "n_init"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a non-negative number; got {self.tol!r}")
        if isinstance(self.init, str):
            if self.init not in INIT_METHODS:
                raise ValueError(
                    f"init must be one of {INIT_METHODS} or an array; got {self.init!r}"
                )

    # E-step ------------------------------------------------------------------------
    def _weighted_log_prob(self, X, weights, means, covariances) -> np.ndarray:
        out = np.empty((X.shape[0], len(covariances)))
        with np.errstate(divide="ignore"):
            log_w = np.log(weights)
        if all(isinstance(c, LowRankCovariance) for c in covariances):
            return _lowrank_log_pdf_all(X, means, covariances) + log_w
        for j, cov in enumerate(covariances):
            out[:, j] = cov.log_pdf(X - means[j]) + log_w[j]
        return out

    # M-step ------------------------------------------------------------------------
    def _m_step(self, X, resp, means_old, covariances_old, rng_state):
        n = X.shape[0]
        nk = resp.sum(axis=0) + _EPS
        weights = nk / n
        means = (resp.T @ X) / nk[:, None]
        kind = self._kind()
        mstep = _MSTEP[kind]
        covariances: list = []
        bad = []
        if (
            kind in ("lowrank", "ppca")
            and covariances_old is not None
            and all(c is not None and c.rank > 0 for c in covariances_old)
        ):
            X2 = getattr(self, "_X2_cache", None)
            if X2 is None or X2.shape != X.shape:
                X2 = X * X
            fitted = _lowrank_mstep_all(
                X, X2, resp, nk, means, self.reg_covar, covariances_old, kind == "ppca"
            )
            for j, cov in enumerate(fitted):
                if nk[j] < 2.0 or cov is None:
                    bad.append(j)
                    fitted[j] = None
            return weights, means, fitted, bad
        for j in range(resp.shape[1]):
            if nk[j] < 2.0:
                bad.append(j)
                covariances.append(None)
                continue
            previous = None if covariances_old is None else covariances_old[j]
            try:
                cov = mstep(X, resp[:, j], nk[j], means[j], self.reg_covar, previous)
                if not np.isfinite(cov.log_det):
                    raise np.linalg.LinAlgError("non-finite log-determinant")
            except np.linalg.LinAlgError:
                bad.append(j)
                cov = None
            covariances.append(cov)
        return weights, means, covariances, bad

    def _reseed(self, X, weights, means, covariances, bad, worst_order) -> int:
        """Re-seed components in ``bad`` at the worst-explained rows (module docstring)."""
        good = [j for j in range(len(covariances)) if j not in bad]
        if not good:
            raise FitError(
                f"every mixture component collapsed (reg_covar={self.reg_covar:g}); "
                "increase reg_covar or reduce n_components"
            )
        for rank, j in enumerate(bad):
            heavy = max(good, key=lambda g: weights[g])
            weights[heavy] /= 2.0
            weights[j] = weights[heavy]
            means[j] = X[worst_order[rank % len(worst_order)]]
            covariances[j] = covariances[heavy]
            good.append(j)
        weights /= weights.sum()
        return len(bad)

    def _first_covariances(self, X, resp):
        return None

    def _single_run(self, X, rng):
        n, d = X.shape
        K = self.n_components
        if isinstance(self.init, str):
            resp = initial_responsibilities(X, K, self.init, rng)
        else:
            resp = np.asarray(self.init, dtype=float)
            if resp.shape != (n, K) or not np.all(np.isfinite(resp)) or np.any(resp < 0):
                raise ValueError(
                    f"an array init must hold non-negative responsibilities of shape "
                    f"({n}, {K}); got shape {resp.shape}"
                )
        cov0 = self._first_covariances(X, resp)
        means0 = (resp.T @ X) / (resp.sum(0) + _EPS)[:, None]
        weights, means, covariances, bad = self._m_step(X, resp, means0, cov0, rng)
        n_reseeds = 0
        if bad:
            order = np.argsort(-np.einsum("ij,ij->i", X - X.mean(0), X - X.mean(0)))
            n_reseeds += self._reseed(X, weights, means, covariances, bad, order)
        history: list[float] = []
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - reported after the loop
            log_prob = self._weighted_log_prob(X, weights, means, covariances)
            log_norm = logsumexp(log_prob, axis=1)
            history.append(float(np.mean(log_norm)))
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol:
                converged = True
                break
            resp = np.exp(log_prob - log_norm[:, None])
            weights, means, covariances, bad = self._m_step(X, resp, means, covariances, rng)
            if bad:
                n_reseeds += self._reseed(X, weights, means, covariances, bad, np.argsort(log_norm))
        if not converged:  # score the final parameters
            log_norm = logsumexp(self._weighted_log_prob(X, weights, means, covariances), axis=1)
            history.append(float(np.mean(log_norm)))
        return dict(
            weights_=weights,
            means_=means,
            covariances_=covariances,
            converged_=converged,
            n_iter_=n_iter,
            lower_bound_=history[-1],
            lower_bound_history_=history,
            n_reseeds_=n_reseeds,
        )

    def _fit(self, X: np.ndarray) -> None:
        self._check_params()
        n = X.shape[0]
        if n < max(2, self.n_components):
            raise FitError(
                f"n_samples={n} rows cannot fit {self.n_components} mixture component(s); "
                "a mixture needs at least 2 rows and one row per component: reduce "
                "n_components or add data"
            )
        rng = check_random_state(self.random_state)
        best = None
        self._X2_cache = X * X if self._kind() in ("lowrank", "ppca") else None
        try:
            for _ in range(self.n_init):
                run = self._single_run(X, rng)
                if best is None or run["lower_bound_"] > best["lower_bound_"]:
                    best = run
        finally:
            del self._X2_cache
        for name, value in best.items():
            setattr(self, name, value)
        self.n_features_in_ = X.shape[1]
        self._cast_cache = {}

    # kernels -----------------------------------------------------------------------
    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return logsumexp(
            self._weighted_log_prob(X, self.weights_, self.means_, self.covariances_), axis=1
        )

    def predict_proba(self, X):
        """Component responsibilities ``p(j | x)``, shape (n_samples, n_components)."""
        self._check_fitted()
        X = self._validate_input(X, reset=False)
        log_prob = self._weighted_log_prob(X, self.weights_, self.means_, self.covariances_)
        return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))

    def _factors(self, dtype: np.dtype):
        if dtype == np.float64:
            return self.means_, self.covariances_
        cache = self.__dict__.setdefault("_cast_cache", {})
        if dtype not in cache:
            cache[dtype] = (self.means_.astype(dtype), [c.astype(dtype) for c in self.covariances_])
        return cache[dtype]

    def _sample(self, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        means, covs = self._factors(dtype)
        counts = rng.multinomial(n, self.weights_ / self.weights_.sum())
        out = np.empty((n, self.n_features_in_), dtype=dtype)
        start = 0
        for j, count in enumerate(counts):
            if count == 0:
                continue
            Z = rng.standard_normal((count, covs[j].latent_dim), dtype=dtype)
            block = covs[j].colorize(Z)
            block += means[j]
            out[start : start + count] = block
            start += count
        return out[rng.permutation(n)]

    def condition(self, x, observed) -> Conditioned:
        """Every component conditioned; weights become ``w_j N(x_o | mu_jo, Sigma_jo)``
        normalised in log space (see :meth:`Density.condition`)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights_)
        pieces = [
            gaussian_conditional(mu, cov, observed, x[observed])
            for mu, cov in zip(self.means_, self.covariances_, strict=False)
        ]
        return Conditioned(log_w, pieces, observed, x.copy())

    def mean(self) -> np.ndarray:
        """E[x] = sum_j w_j mu_j, shape (n_features,)."""
        self._check_fitted()
        return self.weights_ @ self.means_

    def covariance(self) -> np.ndarray:
        """Cov[x] = sum_j w_j (Sigma_j + mu_j mu_j^T) - E[x] E[x]^T, dense (d, d)."""
        self._check_fitted()
        m = self.mean()
        out = -np.outer(m, m)
        for w, mu, cov in zip(self.weights_, self.means_, self.covariances_, strict=False):
            out += w * (cov.dense() + np.outer(mu, mu))
        return out

    def n_parameters(self) -> int:
        """Weights (K - 1) plus, per component, the mean and the covariance parameters."""
        self._check_fitted()
        d = self.n_features_in_
        return int(len(self.weights_) - 1 + sum(d + c.n_parameters for c in self.covariances_))

    def _after_load(self) -> None:
        K = len(self.covariances_)
        if self.weights_.shape != (K,) or self.means_.shape != (K, self.n_features_in_):
            raise ValueError("weights, means and covariances disagree on the number of components")
        if not all(isinstance(c, Covariance) for c in self.covariances_):
            raise ValueError("mixture covariances must be covariance objects")
        if any(c.n_features != self.n_features_in_ for c in self.covariances_):
            raise ValueError("a component covariance has the wrong number of features")
        if np.any(self.weights_ < 0) or not np.isclose(self.weights_.sum(), 1.0):
            raise ValueError("mixture weights must be non-negative and sum to 1")
        self.covariances_ = list(self.covariances_)
        self.converged_ = bool(self.converged_)
        self.n_iter_ = int(self.n_iter_)
        self.n_reseeds_ = int(self.n_reseeds_)
        self.lower_bound_ = float(self.lower_bound_)
        self.lower_bound_history_ = [float(v) for v in self.lower_bound_history_]
        self._cast_cache = {}


@persistable("GaussianMixtureDensity")
class GaussianMixtureDensity(_MixtureBase):
    """Gaussian mixture ``sum_j w_j N(mu_j, Sigma_j)`` fitted by EM in log space.

    Parameters
    ----------
    n_components : int, default=3
    covariance_type : {"full", "diag"}, default="full"
    reg_covar : float, default=1e-6
        Added to every component's covariance diagonal (a floor on the variances).
    max_iter : int, default=100
    tol : float, default=1e-3
        Stop when the log-likelihood per row changes by less than this.
    n_init : int, default=1
        Independent initialisations; the run with the best likelihood is kept.
    init : {"k-means++", "kmeans", "random"} or ndarray of shape (n_samples, n_components)
        Initial responsibilities: nearest k-means++ seed, k-means (Lloyd) clusters, random
        assignment, or given responsibilities.
    random_state : None, int or numpy.random.Generator

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : list of Covariance
        Factored covariance of each component.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Log-likelihood per training row at the end.
    lower_bound_history_ : list of float
        The same after every E-step (non-decreasing unless a component was re-seeded).
    n_reseeds_ : int
        Number of empty or collapsed components that were re-seeded.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen.densities import GaussianMixtureDensity
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (200, 2)), rng.normal(3, 1, (200, 2))])
    >>> gm = GaussianMixtureDensity(2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0]).round(0)
    array([-3.,  3.])
    """

    def __init__(
        self,
        n_components=3,
        *,
        covariance_type="full",
        reg_covar=1e-6,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        init="k-means++",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init = init
        self.random_state = random_state

    def _kind(self) -> str:
        return self.covariance_type

    def _check_params(self) -> None:
        if self.covariance_type not in ("full", "diag"):
            raise ValueError(
                f"covariance_type must be 'full' or 'diag'; got {self.covariance_type!r}"
            )
        self._check_common()


@persistable("MixtureOfFactorAnalysersDensity")
class MixtureOfFactorAnalysersDensity(_MixtureBase):
    """Mixture of factor analysers: components ``N(mu_j, W_j W_j^T + Psi_j)``.

    Each component has ``rank`` factors, so a fit and a log-density cost O(n d k K) and no
    d x d matrix is formed after initialisation (each component starts from the probabilistic
    PCA of its initial cluster).

    Parameters
    ----------
    n_components : int, default=3
    rank : int, default=5
        Factors per component.
    noise : {"diagonal", "isotropic"}, default="diagonal"
        "diagonal": factor analysers (a noise variance per feature and component);
        "isotropic": mixture of probabilistic PCA (Tipping and Bishop 1999), one noise
        variance per component, a strong regulariser for images.
    reg_covar, max_iter, tol, n_init, init, random_state
        As in :class:`GaussianMixtureDensity`.

    Attributes
    ----------
    As :class:`GaussianMixtureDensity`; ``covariances_`` holds
    :class:`~bayesgen.kernels.lowrank.LowRankCovariance` objects.
    """

    def __init__(
        self,
        n_components=3,
        *,
        rank=5,
        noise="diagonal",
        reg_covar=1e-6,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        init="k-means++",
        random_state=None,
    ):
        self.n_components = n_components
        self.rank = rank
        self.noise = noise
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init = init
        self.random_state = random_state

    def _kind(self) -> str:
        return "ppca" if self.noise == "isotropic" else "lowrank"

    def _check_params(self) -> None:
        r = self.rank
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 0:
            raise ValueError(f"rank must be a non-negative integer; got {r!r}")
        if self.noise not in ("diagonal", "isotropic"):
            raise ValueError(f"noise must be 'diagonal' or 'isotropic'; got {self.noise!r}")
        self._check_common()

    def _first_covariances(self, X, resp):
        """PPCA of each initial (weighted) cluster: a d x d eigendecomposition, once."""
        d = X.shape[1]
        k = min(int(self.rank), d - 1)
        floor = max(float(self.reg_covar), 1e-12)
        total = np.var(X, axis=0).mean() + floor
        out = []
        for j in range(resp.shape[1]):
            r = resp[:, j]
            nk = r.sum()
            if nk < 2.0:
                out.append(LowRankCovariance(np.zeros((d, k)), np.full(d, total)))
                continue
            rows = r > 0
            mu = r[rows] @ X[rows] / nk
            diff = X[rows] - mu
            C = (diff * r[rows, None]).T @ diff / nk
            C.flat[:: d + 1] += self.reg_covar
            W, sigma2 = ppca_from_covariance(C, k)
            out.append(LowRankCovariance(W, np.full(d, max(sigma2, floor))))
        return out

    def n_parameters(self) -> int:
        """Weights, means, loadings (less rotations) and noise variances (1 if isotropic)."""
        self._check_fitted()
        d = self.n_features_in_
        total = len(self.weights_) - 1
        for cov in self.covariances_:
            k = cov.rank
            noise = 1 if self.noise == "isotropic" else d
            total += d + d * k - k * (k - 1) // 2 + noise
        return int(total)
