"""Conditional generation: sample the unobserved features given the observed ones.

For a Gaussian ``N(mu, Sigma)`` split into observed (o) and missing (m) features, the exact
conditional is Gaussian (Schur complement)::

    mu_m|o    = mu_m + Sigma_mo Sigma_oo^{-1} (x_o - mu_o)
    Sigma_m|o = Sigma_mm - Sigma_mo Sigma_oo^{-1} Sigma_om

computed with one Cholesky factor ``Sigma_oo = L L^T`` and triangular solves
(``A = L^{-1} Sigma_om``, ``Sigma_m|o = Sigma_mm - A^T A``); no inverse is formed.

For a low-rank plus diagonal covariance ``Sigma = W W^T + Psi`` the conditional stays low rank
plus diagonal and costs O(d k^2) (Woodbury)::

    M         = (I_k + W_o^T Psi_o^{-1} W_o)^{-1}  = I_k - W_o^T Sigma_oo^{-1} W_o
    mu_m|o    = mu_m + W_m W_o^T Sigma_oo^{-1} (x_o - mu_o)
    Sigma_m|o = Psi_m + (W_m M^{1/2}) (W_m M^{1/2})^T

For a mixture, every component is conditioned and the component weights become posterior
weights ``w_j N(x_o | mu_jo, Sigma_jo) / sum_l (...)`` (in log space).  A Gaussian copula is
conditioned on the normal scores of the observed features (cell centres for point masses)
and mapped back through the marginals; a logit-transformed density is conditioned in logit
space.  Given a fitted :class:`~bayesgen.BayesClassifier` and no label, the class is drawn
from ``p(y | x_o)``, which uses the same marginal likelihoods.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import check_finite, check_n_samples
from bayesgen.kernels.covariance import LOG_2PI, Covariance, DiagonalCovariance
from bayesgen.kernels.lowrank import LowRankCovariance

__all__ = ["gaussian_conditional", "sample_conditional"]


class _GaussianPiece:
    """A conditioned Gaussian over the missing features: mean, colorize, log p(x_o)."""

    def __init__(
        self,
        log_marginal: float,
        mean: np.ndarray,
        cov: Covariance | None,
        chol: np.ndarray | None = None,
    ):
        self.log_marginal = log_marginal
        self.mean = mean
        self.cov = cov
        self.chol = chol

    def covariance(self) -> np.ndarray:
        if self.chol is not None:
            return self.chol @ self.chol.T
        return self.cov.dense()

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        m = self.mean.shape[0]
        if self.chol is not None:
            return self.mean + rng.standard_normal((n, m)) @ self.chol.T
        return self.mean + self.cov.colorize(rng.standard_normal((n, self.cov.latent_dim)))


def gaussian_conditional(
    mean: np.ndarray, cov: Covariance, observed: np.ndarray, x_obs: np.ndarray
) -> _GaussianPiece:
    """Condition ``N(mean, cov)`` on ``x[observed] = x_obs`` (module docstring).

    Parameters
    ----------
    mean : ndarray of shape (d,)
    cov : Covariance
    observed : bool ndarray of shape (d,)
    x_obs : ndarray of shape (n_observed,)

    Returns
    -------
    piece
        ``.mean`` (n_missing,), ``.covariance()`` dense (n_missing, n_missing),
        ``.log_marginal`` = log N(x_obs | mean_o, Sigma_oo), ``.sample(n, rng)``.
    """
    o = np.flatnonzero(observed)
    m = np.flatnonzero(~observed)
    r = x_obs - mean[o]
    if isinstance(cov, DiagonalCovariance):
        var = cov.variances_
        log_marg = -0.5 * float(o.size * LOG_2PI + np.sum(np.log(var[o])) + np.sum(r * r / var[o]))
        return _GaussianPiece(log_marg, mean[m].copy(), DiagonalCovariance(var[m]))
    if isinstance(cov, LowRankCovariance):
        W, psi = cov.W, cov.psi
        if o.size == 0:
            return _GaussianPiece(0.0, mean[m].copy(), LowRankCovariance(W[m], psi[m]))
        cov_o = LowRankCovariance(W[o], psi[o])
        log_marg = float(cov_o.log_pdf(r[None, :])[0])
        k = W.shape[1]
        if k == 0:
            return _GaussianPiece(log_marg, mean[m].copy(), LowRankCovariance(W[m], psi[m]))
        solved = cov_o.solve(r[None, :])[0]  # Sigma_oo^{-1} r
        cond_mean = mean[m] + W[m] @ (W[o].T @ solved)
        # M = (I + W_o^T Psi_o^{-1} W_o)^{-1}, via its Cholesky factor
        Bo = W[o] / psi[o][:, None]
        inner = np.eye(k) + W[o].T @ Bo
        c = linalg.cholesky(inner, lower=True, check_finite=False)
        # M^{1/2} (any square root): L^{-T} with inner = L L^T gives L^{-T} L^{-1} = inner^{-1}
        root = linalg.solve_triangular(c, np.eye(k), lower=True, trans="T", check_finite=False)
        return _GaussianPiece(log_marg, cond_mean, LowRankCovariance(W[m] @ root, psi[m]))
    if o.size == 0:
        chol = linalg.cholesky(cov.dense(), lower=True, check_finite=False)
        return _GaussianPiece(0.0, mean.copy(), None, chol)
    L, A, chol, half_log_det = _dense_conditional_factors(cov, observed, o, m)
    white = linalg.solve_triangular(L, r, lower=True, check_finite=False)
    log_marg = -0.5 * float(o.size * LOG_2PI + 2.0 * half_log_det + white @ white)
    if m.size == 0:
        return _GaussianPiece(log_marg, np.zeros(0), None, np.zeros((0, 0)))
    cond_mean = mean[m] + A.T @ white
    return _GaussianPiece(log_marg, cond_mean, None, chol)


_CACHE_SIZE = 4


def _dense_conditional_factors(cov: Covariance, observed, o, m):
    """Factors of a dense conditional that depend only on the mask, not on the row.

    ``Sigma_oo = L L^T``, ``A = L^{-1} Sigma_om`` and the Cholesky factor of
    ``Sigma_m|o = Sigma_mm - A^T A`` are computed once per (covariance, mask) and cached on
    the covariance object (which never changes after construction), so completing many
    rows with the same mask costs one factorisation, not one per row.
    """
    cache = cov.__dict__.setdefault("_conditional_cache", {})
    key = np.packbits(observed).tobytes()
    if key in cache:
        return cache[key]
    S = cov.dense()
    L = linalg.cholesky(S[np.ix_(o, o)], lower=True, check_finite=False)
    half_log_det = float(np.sum(np.log(np.diag(L))))
    if m.size == 0:
        factors = (L, np.zeros((o.size, 0)), np.zeros((0, 0)), half_log_det)
    else:
        A = linalg.solve_triangular(L, S[np.ix_(o, m)], lower=True, check_finite=False)
        cond_cov = S[np.ix_(m, m)] - A.T @ A
        cond_cov = 0.5 * (cond_cov + cond_cov.T)
        jitter = 0.0
        scale = float(np.mean(np.diag(cond_cov)))
        for _ in range(6):
            try:
                chol = linalg.cholesky(
                    cond_cov + jitter * np.eye(m.size), lower=True, check_finite=False
                )
                break
            except linalg.LinAlgError:  # round-off on a (numerically) singular conditional
                jitter = max(jitter * 10.0, 1e-12 * max(scale, 1e-300))
        else:  # pragma: no cover - pathological
            raise np.linalg.LinAlgError("the conditional covariance is not positive definite")
        factors = (L, A, chol, half_log_det)
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = factors
    return factors


# -- per-family conditioners: (log p(x_o), sampler of full rows) --------------------------


class _Conditioned:
    """Mixture of conditioned Gaussian pieces in some space, with a map back to x."""

    def __init__(self, log_weights, pieces, observed, x_full, to_x=None, log_extra=0.0):
        self.log_weights = np.asarray(log_weights, dtype=float)
        self.pieces = pieces
        self.observed = observed
        self.x_full = x_full  # values in the space the pieces live in
        self.to_x = to_x
        lw = self.log_weights + np.array([p.log_marginal for p in pieces])
        self.log_marginal = float(logsumexp(lw)) + log_extra
        self.posterior = np.exp(lw - logsumexp(lw))

    def sample(self, n: int, rng: np.random.Generator, x_original: np.ndarray) -> np.ndarray:
        counts = rng.multinomial(n, self.posterior / self.posterior.sum())
        missing = ~self.observed
        rows = np.repeat(self.x_full[None, :], n, axis=0)
        start = 0
        order = rng.permutation(n)
        for piece, count in zip(self.pieces, counts, strict=False):
            if count:
                block = piece.sample(int(count), rng)
                idx = order[start : start + count]
                rows[np.ix_(idx, np.flatnonzero(missing))] = block
                start += count
        if self.to_x is not None:
            rows = self.to_x(rows)
        rows[:, self.observed] = x_original[self.observed]
        return rows


def _condition(density, x: np.ndarray, observed: np.ndarray) -> _Conditioned:
    from bayesgen.densities.copula import GaussianCopulaDensity
    from bayesgen.densities.factor import FactorAnalysisDensity
    from bayesgen.densities.gaussian import GaussianDensity
    from bayesgen.densities.mixture import _MixtureBase
    from bayesgen.densities.select import AutoDensity
    from bayesgen.densities.transform import TransformedDensity

    if isinstance(density, AutoDensity):
        return _condition(density.best_, x, observed)
    if isinstance(density, (GaussianDensity, FactorAnalysisDensity)):
        piece = gaussian_conditional(density.mean_, density.covariance_, observed, x[observed])
        return _Conditioned([0.0], [piece], observed, x.copy())
    if isinstance(density, _MixtureBase):
        with np.errstate(divide="ignore"):
            log_w = np.log(density.weights_)
        pieces = [
            gaussian_conditional(mu, cov, observed, x[observed])
            for mu, cov in zip(density.means_, density.covariances_, strict=False)
        ]
        return _Conditioned(log_w, pieces, observed, x.copy())
    if isinstance(density, TransformedDensity):
        tf = density.transform_
        y = tf.to_unit(x[None, :])
        z = tf.forward(y)[0]
        inner = _condition(density.base_, z, observed)
        # log p(x_o): base marginal in z plus the log-Jacobian of the observed features
        s = tf.lam + (1.0 - 2.0 * tf.lam) * y[0, observed]
        jac = (
            float(np.sum(math.log1p(-2.0 * tf.lam) - np.log(s) - np.log1p(-s))) if tf.logit else 0.0
        )
        jac += observed.sum() * math.log(tf.input_scale_ / tf.levels)
        base_to_x = inner.to_x

        def to_x(rows, base_to_x=base_to_x):
            if base_to_x is not None:
                rows = base_to_x(rows)
            return tf.from_unit(tf.inverse(rows))

        return _Conditioned(inner.log_weights, inner.pieces, observed, z, to_x=to_x, log_extra=jac)
    if isinstance(density, GaussianCopulaDensity):
        s = density._scores(x[None, :])[0][0]
        o = np.flatnonzero(observed)
        # log p(x_o) = sum_o log f_j + log N(s_o | 0, R_oo) - sum_o log phi(s_j)
        log_f_obs = _copula_observed_log_f(density, x, observed)
        extra = log_f_obs + 0.5 * float(s[o] @ s[o]) + 0.5 * o.size * LOG_2PI
        if density.dependence_ is not None:  # any density of the scores
            inner = _condition(density.dependence_, s, observed)
            log_weights, pieces = inner.log_weights, inner.pieces
            extra += inner.log_marginal - float(
                logsumexp(inner.log_weights + np.array([p.log_marginal for p in inner.pieces]))
            )
            inner_to_x = inner.to_x
        else:
            log_weights = [0.0]
            pieces = [
                gaussian_conditional(np.zeros(s.shape[0]), density.correlation_, observed, s[o])
            ]
            inner_to_x = None

        def to_x(rows):
            if inner_to_x is not None:
                rows = inner_to_x(rows)
            out = density.marginals_.inverse(rows)
            from scipy.special import ndtr

            for i, j in enumerate(density.parametric_["features"]):
                out[:, j] = density._frozen(i).ppf(ndtr(rows[:, j]))
            return out

        return _Conditioned(log_weights, pieces, observed, s.copy(), to_x=to_x, log_extra=extra)
    raise DataError(
        f"conditional sampling is not available for {type(density).__name__}; use a "
        "Gaussian, low-rank, mixture, copula or transformed density"
    )


def _copula_observed_log_f(density, x, observed) -> float:
    skip = np.flatnonzero(~observed)
    _, log_f = density.marginals_.transform(
        x[None, :], None, skip=np.union1d(skip, density.parametric_["features"]).astype(int)
    )
    total = float(log_f[0])
    for i, j in enumerate(density.parametric_["features"]):
        if observed[j]:
            total += float(density._frozen(i).logpdf(x[j]))
    return total


def _check_inputs(x_observed, observed_mask, n_features):
    x = np.asarray(x_observed, dtype=np.float64)
    mask = np.asarray(observed_mask)
    if mask.dtype != bool:
        raise DataError(
            f"observed_mask must be a boolean array (True = observed); got dtype {mask.dtype}"
        )
    one = x.ndim == 1
    X = np.atleast_2d(x)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataError(
            f"x_observed must have {n_features} features (shape ({n_features},) or "
            f"(n, {n_features})); got shape {x.shape}"
        )
    M = np.broadcast_to(mask, X.shape) if mask.shape in ((n_features,), X.shape) else None
    if M is None:
        raise DataError(
            f"observed_mask must have shape ({n_features},) or {X.shape}; got {mask.shape}"
        )
    check_finite(np.where(M, X, 0.0), "x_observed")
    return X, np.ascontiguousarray(M), one


def sample_conditional(
    model_or_density, x_observed, observed_mask, *, y=None, n_samples=1, random_state=None
):
    """Sample the unobserved features from their exact conditional distribution.

    Parameters
    ----------
    model_or_density : BayesClassifier or Density
        A fitted classifier (then ``y`` picks the class density; if None, the class is drawn
        from ``p(y | x_observed)``) or a fitted density.
    x_observed : array-like of shape (n_features,) or (n_rows, n_features)
        Rows whose entries under ``observed_mask`` are the observed values (the others are
        ignored and may be anything finite or NaN).
    observed_mask : bool array-like of shape (n_features,) or like ``x_observed``
        True where the feature is observed.
    y : label or array-like of labels, optional
        Class of each row (classifier only).
    n_samples : int, default=1
        Completions per row.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), or (n_rows, n_samples, n_features) for 2-D
        ``x_observed``
        Completed rows: observed entries copied, the rest sampled.
    labels : ndarray, only for a classifier
        The class used for each completion, same leading shape as ``X`` without features.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen import GaussianDensity
    >>> from bayesgen.conditional import sample_conditional
    >>> X = np.random.default_rng(0).multivariate_normal([0, 0], [[1, .9], [.9, 1]], 500)
    >>> density = GaussianDensity().fit(X)
    >>> rows = sample_conditional(density, [2.0, np.nan], [True, False], n_samples=3,
    ...                           random_state=0)
    >>> rows.shape, bool((rows[:, 0] == 2.0).all())
    ((3, 2), True)
    """
    from bayesgen.classifier.estimator import BayesClassifier

    n = check_n_samples(n_samples)
    rng = check_random_state(random_state)
    is_model = isinstance(model_or_density, BayesClassifier)
    target = model_or_density
    if not hasattr(target, "n_features_in_"):
        raise NotFittedError(f"This {type(target).__name__} is not fitted yet; call fit first.")
    d = int(target.n_features_in_)
    X, M, one = _check_inputs(x_observed, observed_mask, d)
    X = np.where(M, X, 0.0)
    out = np.empty((X.shape[0], n, d))
    labels = []
    if is_model:
        target._check_fitted()
        if y is None:
            ys = [None] * X.shape[0]
        elif np.ndim(y) == 0:
            ys = [y] * X.shape[0]
        else:
            ys = list(np.asarray(y).ravel())
            if len(ys) != X.shape[0]:
                raise DataError(f"y has {len(ys)} labels for {X.shape[0]} rows")
    for i in range(X.shape[0]):
        if not is_model:
            target._check_fitted()
            out[i] = _condition(target, X[i], M[i]).sample(n, rng, X[i])
            continue
        if ys[i] is not None:
            k = int(target._label_index([target.parse_label(ys[i])])[0])
            out[i] = _condition(target.densities_[k], X[i], M[i]).sample(n, rng, X[i])
            labels.append(np.full(n, target.classes_[k]))
            continue
        conds = [_condition(dens, X[i], M[i]) for dens in target.densities_]
        joint = target._log_prior + np.array([c.log_marginal for c in conds])
        post = np.exp(joint - logsumexp(joint))
        ks = rng.choice(len(conds), size=n, p=post / post.sum())
        for k in np.unique(ks):
            rows = ks == k
            out[i, rows] = conds[k].sample(int(rows.sum()), rng, X[i])
        labels.append(target.classes_[ks])
    result = out[0] if one else out
    if not is_model:
        return result
    lab = np.stack(labels)
    return result, (lab[0] if one else lab)


def class_posterior_given_observed(model, x_observed, observed_mask) -> np.ndarray:
    """``p(y | x_o)`` for each row, using only the observed features, shape (n, n_classes)."""
    d = int(model.n_features_in_)
    X, M, _ = _check_inputs(x_observed, observed_mask, d)
    X = np.where(M, X, 0.0)
    out = np.empty((X.shape[0], len(model.classes_)))
    for i in range(X.shape[0]):
        joint = model._log_prior + np.array(
            [_condition(dens, X[i], M[i]).log_marginal for dens in model.densities_]
        )
        out[i] = np.exp(joint - logsumexp(joint))
    return out
