"""Gaussian conditioning: the density of unobserved features given the observed ones.

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

Many rows at once (EM with missing cells, scoring rows with empty cells) go through the
precision ``P = Sigma^{-1}`` instead (:func:`complete_rows`): only the block ``P_mm`` of each
row's missing cells is inverted, for all rows with the same number of missing cells in one
batched call, so the cost does not grow with the number of missing-value patterns.

For a mixture, every component is conditioned and the component weights become posterior
weights ``w_j N(x_o | mu_jo, Sigma_jo) / sum_l (...)`` (in log space).  A Gaussian copula is
conditioned on the normal scores of the observed features (cell centres for point masses)
and mapped back through the marginals; a logit-transformed density is conditioned in logit
space.  Given a fitted :class:`~bayesgen.BayesClassifier` and no label, the class is drawn
from ``p(y | x_o)``, which uses the same marginal likelihoods.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from bayesgen.kernels.covariance import LOG_2PI, Covariance, DiagonalCovariance
from bayesgen.kernels.lowrank import LowRankCovariance
from bayesgen.kernels.truncated import truncated_normal

__all__ = [
    "Conditioned",
    "GaussianPiece",
    "gaussian_conditional",
    "Completion",
    "MissingLayout",
    "complete_rows",
    "completed_scatter",
    "missing_layout",
    "observed_log_pdf",
    "refine_tied",
    "sample_mixture_conditional",
]


class Completion(NamedTuple):
    """Rows with missing cells completed under a Gaussian (:func:`complete_rows`).

    Attributes
    ----------
    log_pdf : ndarray of shape (n,)
        ``log N(x_o | mu_o, Sigma_oo)`` (0 for a row with nothing observed).
    filled : ndarray of shape (n, d)
        ``E[x | x_o]``: the observed cells as they are, the missing ones
        ``mu_m + Sigma_mo Sigma_oo^{-1} (x_o - mu_o)``.
    groups : list of (ndarray, ndarray, ndarray)
        Per number ``k >= 1`` of missing cells: the rows (r,), their missing features
        (r, k) and ``Cov[x_m | x_o] = Sigma_mm - Sigma_mo Sigma_oo^{-1} Sigma_om`` (r, k, k).
    """

    log_pdf: np.ndarray
    filled: np.ndarray
    groups: list


class MissingLayout(NamedTuple):
    """Where the cells are missing, grouped by their number per row
    (:func:`missing_layout`); EM reuses it at every iteration.

    Attributes
    ----------
    missing : ndarray of bool, shape (n, d)
    groups : list of (ndarray, ndarray)
        Per number ``k >= 1`` of missing cells: the rows (r,) and their missing features
        (r, k), in increasing order.
    """

    missing: np.ndarray
    groups: list


def missing_layout(missing: np.ndarray) -> MissingLayout:
    """The :class:`MissingLayout` of a mask of missing cells (n, d)."""
    counts = missing.sum(axis=1)
    groups = []
    for k in np.unique(counts[counts > 0]):
        rows = np.flatnonzero(counts == k)
        groups.append((rows, np.nonzero(missing[rows])[1].reshape(rows.size, k)))
    return MissingLayout(missing, groups)


def complete_rows(
    mean: np.ndarray, covariance: np.ndarray, X: np.ndarray, layout: MissingLayout | None = None
) -> Completion:
    """The E-step of EM for a Gaussian with missing cells (NaN): each row's ``log p(x_o)``,
    ``E[x | x_o]`` and ``Cov[x_m | x_o]``.

    Through the precision ``P = Sigma^{-1}``, so that only the small block of the missing
    cells is factorised, for all rows with the same number of missing cells at once
    (batched): with ``delta = x - mu`` and its missing cells set to 0, ``b = (P delta)_m``,

        Cov[x_m | x_o] = P_mm^{-1},      E[x_m | x_o] = mu_m - P_mm^{-1} b,
        (x_o - mu_o)^T Sigma_oo^{-1} (x_o - mu_o) = delta^T P delta - b^T P_mm^{-1} b,
        log |Sigma_oo| = log |Sigma| + log |P_mm|

    (the Schur complements of the partitioned inverse).  The whole ``Sigma`` must be
    positive definite (not only each ``Sigma_oo``), and going through ``P`` loses about
    ``cond(Sigma) * eps`` relative (1e-11 in the log-density at a condition number of
    1e6): ample for covariances with a ridge (``reg_covar``) or correlations of scores.

    Parameters
    ----------
    mean : ndarray of shape (d,)
    covariance : ndarray of shape (d, d)
        Dense, positive definite.
    X : ndarray of shape (n, d)
    layout : MissingLayout, optional
        ``missing_layout(np.isnan(X))``, when already at hand.

    Returns
    -------
    Completion
    """
    d = X.shape[1]
    L = linalg.cholesky(covariance, lower=True)
    P = linalg.cho_solve((L, True), np.eye(d))
    if layout is None:
        layout = missing_layout(np.isnan(X))
    missing = layout.missing
    delta = np.where(missing, 0.0, X - mean)
    Pd = delta @ P
    maha = np.einsum("ij,ij->i", delta, Pd)
    log_det = np.full(X.shape[0], 2.0 * np.sum(np.log(np.diag(L))))
    filled = np.where(missing, mean, X)
    groups = []
    for rows, m in layout.groups:
        P_mm = P[m[:, :, None], m[:, None, :]]
        cond_cov = np.linalg.inv(P_mm)
        b = np.take_along_axis(Pd[rows], m, axis=1)
        shift = np.einsum("rij,rj->ri", cond_cov, b)
        filled[rows[:, None], m] -= shift
        maha[rows] -= np.einsum("ri,ri->r", b, shift)
        log_det[rows] += np.linalg.slogdet(P_mm)[1]
        groups.append((rows, m, cond_cov))
    observed = d - missing.sum(axis=1)
    log_pdf = np.where(observed > 0, -0.5 * (maha + log_det + observed * LOG_2PI), 0.0)
    return Completion(log_pdf, filled, groups)


def observed_log_pdf(mean: np.ndarray, covariance: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``log N(x_o | mean_o, covariance_oo)`` of each row's observed cells (NaN = missing),
    0 for a row with no observed cell: the ``log_pdf`` of :func:`complete_rows`."""
    return complete_rows(mean, covariance, X).log_pdf


def completed_scatter(
    completion: Completion, weights: np.ndarray, center: np.ndarray
) -> np.ndarray:
    """The M-step's expected scatter ``sum_i w_i E[(x_i - c)(x_i - c)^T | x_io]``: the
    completed rows' scatter about ``center`` plus each row's conditional covariance of its
    missing cells times its weight.

    Parameters
    ----------
    completion : Completion
    weights : ndarray of shape (n,)
    center : ndarray of shape (d,)

    Returns
    -------
    ndarray of shape (d, d)
    """
    centred = completion.filled - center
    out = (centred * weights[:, None]).T @ centred
    d = out.shape[0]
    for rows, m, cond_cov in completion.groups:
        cells = m[:, :, None] * d + m[:, None, :]  # flat (i, j) of each conditional entry
        np.add.at(
            out.reshape(-1), cells.reshape(-1), (weights[rows, None, None] * cond_cov).ravel()
        )
    return out


class GaussianPiece:
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
) -> GaussianPiece:
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
        return GaussianPiece(log_marg, mean[m].copy(), DiagonalCovariance(var[m]))
    if isinstance(cov, LowRankCovariance):
        W, psi = cov.W, cov.psi
        if o.size == 0:
            return GaussianPiece(0.0, mean[m].copy(), LowRankCovariance(W[m], psi[m]))
        cov_o = LowRankCovariance(W[o], psi[o])
        log_marg = float(cov_o.log_pdf(r[None, :])[0])
        k = W.shape[1]
        if k == 0:
            return GaussianPiece(log_marg, mean[m].copy(), LowRankCovariance(W[m], psi[m]))
        solved = cov_o.solve(r[None, :])[0]  # Sigma_oo^{-1} r
        cond_mean = mean[m] + W[m] @ (W[o].T @ solved)
        # M = (I + W_o^T Psi_o^{-1} W_o)^{-1}, via its Cholesky factor
        Bo = W[o] / psi[o][:, None]
        inner = np.eye(k) + W[o].T @ Bo
        c = linalg.cholesky(inner, lower=True, check_finite=False)
        # M^{1/2} (any square root): L^{-T} with inner = L L^T gives L^{-T} L^{-1} = inner^{-1}
        root = linalg.solve_triangular(c, np.eye(k), lower=True, trans="T", check_finite=False)
        return GaussianPiece(log_marg, cond_mean, LowRankCovariance(W[m] @ root, psi[m]))
    if o.size == 0:
        chol = linalg.cholesky(cov.dense(), lower=True, check_finite=False)
        return GaussianPiece(0.0, mean.copy(), None, chol)
    L, A, chol, half_log_det = _dense_conditional_factors(cov, observed, o, m)
    white = linalg.solve_triangular(L, r, lower=True, check_finite=False)
    log_marg = -0.5 * float(o.size * LOG_2PI + 2.0 * half_log_det + white @ white)
    if m.size == 0:
        return GaussianPiece(log_marg, np.zeros(0), None, np.zeros((0, 0)))
    cond_mean = mean[m] + A.T @ white
    return GaussianPiece(log_marg, cond_mean, None, chol)


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


class Conditioned:
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


def sample_mixture_conditional(components, Z: np.ndarray, free: np.ndarray, rng) -> np.ndarray:
    """Draw ``z[free]`` for every row of ``Z`` from a Gaussian mixture conditioned on the
    row's other coordinates, all rows at once (they share the mask ``free``).

    For ``z ~ sum_c w_c N(mu_c, S_c)`` and observed ``z_o``, the conditional is the mixture
    of ``N(mu_cf + A_c^T L_c^{-1} (z_o - mu_co), S_cff - A_c^T A_c)`` (``L_c`` the
    Cholesky factor of ``S_coo``, ``A_c = L_c^{-1} S_cof``) with weights proportional to
    ``w_c N(z_o | mu_co, S_coo)``: each row picks a component from its own weights, then
    draws from that component's conditional.

    Parameters
    ----------
    components : list of (log_weight, mean (d,), covariance (d, d))
        The mixture (one entry for a Gaussian); :meth:`LatentGaussian.components`.
    Z : ndarray of shape (n, d)
        Rows whose coordinates outside ``free`` are conditioned on.
    free : ndarray of bool, shape (d,)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n, free.sum())
    """
    o, f = np.flatnonzero(~free), np.flatnonzero(free)
    n = Z.shape[0]
    log_post, means, roots = [], [], []
    for log_w, mu, cov in components:
        cov = np.asarray(cov, dtype=float)
        if o.size:
            L = linalg.cholesky(cov[np.ix_(o, o)], lower=True, check_finite=False)
            white = linalg.solve_triangular(L, (Z[:, o] - mu[o]).T, lower=True, check_finite=False)
            A = linalg.solve_triangular(L, cov[np.ix_(o, f)], lower=True, check_finite=False)
            log_marg = -0.5 * (np.sum(white * white, axis=0) + o.size * LOG_2PI)
            log_marg -= np.sum(np.log(np.diag(L)))
            mean = mu[f] + white.T @ A
            conditional = cov[np.ix_(f, f)] - A.T @ A
        else:
            log_marg, mean, conditional = np.zeros(n), np.broadcast_to(mu[f], (n, f.size)), cov
            conditional = conditional[np.ix_(f, f)]
        log_post.append(log_w + log_marg)
        means.append(mean)
        roots.append(_psd_root(conditional))
    pick = _draw_components(np.array(log_post), rng)
    noise = rng.standard_normal((n, f.size))
    out = np.empty((n, f.size))
    for c in np.unique(pick):
        rows = pick == c
        out[rows] = means[c][rows] + noise[rows] @ roots[c].T
    return out


def _psd_root(cov: np.ndarray) -> np.ndarray:
    """A square root ``R`` with ``R R^T = cov`` for a covariance that rounding may have left
    a hair from positive definite (eigenvalues below 0 clipped)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        return vectors * np.sqrt(np.clip(values, 0.0, None))


#: Gibbs sweeps over the tied coordinates of a row before its free cells are drawn
TIED_SWEEPS = 10


def refine_tied(components, Z, lo, hi, observed, rng, sweeps: int = TIED_SWEEPS):
    """Draw the tied observed coordinates of each row of ``Z`` given the row's others.

    A tied cell (a category, a point mass) fixes only an interval ``[lo, hi]`` of its
    latent coordinate, and the coordinates of several tied cells of one row are dependent:
    their joint given the observed point coordinates is the mixture's Gaussian truncated
    to the box.  Gibbs sampling (Geweke 1991), started from ``Z``: each sweep draws every
    row's component from ``w_c N(z_o | mu_co, S_coo)`` and then each tied coordinate from
    its univariate truncated conditional under that component, with ``Q = S_coo^-1``:
    ``N(mu_t - Q_t,-t (z_-t - mu_-t) / Q_tt, 1 / Q_tt)`` on ``[lo_t, hi_t]``.  The free
    (unobserved) coordinates are integrated out: only ``S_coo`` enters.

    Parameters
    ----------
    components : list of (log_weight, mean (d,), covariance (d, d))
    Z : ndarray of shape (n, d)
        Latent rows; the tied coordinates inside their intervals.  Changed in place.
    lo, hi : ndarray of shape (n, d)
        Intervals of the tied cells, NaN elsewhere.
    observed : ndarray of bool, shape (d,)
        The coordinates conditioned on (shared by the rows).
    rng : numpy.random.Generator
    sweeps : int

    Returns
    -------
    ndarray of shape (n, d)
    """
    o = np.flatnonzero(observed)
    tied = ~np.isnan(lo[:, o])
    if not tied.any():
        return Z
    parts = []
    for log_w, mu, cov in components:
        S = np.asarray(cov, dtype=float)[np.ix_(o, o)]
        L = linalg.cholesky(S, lower=True, check_finite=False)
        parts.append((log_w, mu[o], L, linalg.cho_solve((L, True), np.eye(o.size))))
    for _ in range(max(1, int(sweeps))):
        pick = _pick_components(parts, Z[:, o], rng)
        for c, (_, mu, _, Q) in enumerate(parts):
            mine = pick == c
            for t in np.flatnonzero((tied & mine[:, None]).any(axis=0)):
                rows = np.flatnonzero(mine & tied[:, t])
                others = np.arange(o.size) != t
                shift = (Z[np.ix_(rows, o[others])] - mu[others]) @ Q[t, others] / Q[t, t]
                Z[rows, o[t]] = truncated_normal(
                    mu[t] - shift, 1.0 / np.sqrt(Q[t, t]), lo[rows, o[t]], hi[rows, o[t]], rng
                )
    return Z


def _pick_components(parts, Zo: np.ndarray, rng) -> np.ndarray:
    """A component per row, drawn from ``w_c N(z_o | mu_c, S_c)`` normalised."""
    if len(parts) == 1:
        return np.zeros(Zo.shape[0], dtype=np.int64)
    log_post = []
    for log_w, mu, L, _ in parts:
        white = linalg.solve_triangular(L, (Zo - mu).T, lower=True, check_finite=False)
        log_post.append(log_w - 0.5 * np.sum(white * white, axis=0) - np.sum(np.log(np.diag(L))))
    return _draw_components(np.array(log_post), rng)


def _draw_components(log_post: np.ndarray, rng) -> np.ndarray:
    """A component per row from unnormalised log weights of shape (components, n)."""
    if log_post.shape[0] == 1:  # a Gaussian: nothing to draw (and no random number used)
        return np.zeros(log_post.shape[1], dtype=np.int64)
    post = np.exp(log_post - logsumexp(log_post, axis=0))
    pick = (np.cumsum(post, axis=0) < rng.random(log_post.shape[1])).sum(axis=0)
    return np.minimum(pick, log_post.shape[0] - 1)
