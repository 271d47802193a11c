"""Gaussians restricted to a box: probabilities and samples of ``z ~ N(m, S)`` given
``lo <= z <= hi`` (some bounds infinite).

Sampling is exact by rejection when the box holds enough of the mass, otherwise by Gibbs
sampling (Geweke 1991): each of ``n`` independent chains starts from independent draws of
the truncated marginals and runs ``sweeps`` sweeps; one sweep draws every coordinate from
its univariate truncated normal given the others,
``z_t | z_-t ~ N(m_t - (Q_t,-t (z_-t - m_-t)) / Q_tt, 1 / Q_tt)`` truncated to
``[lo_t, hi_t]``, with ``Q = S^-1``.  One coordinate needs no chain: its truncated normal is
drawn exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = [
    "GIBBS_SWEEPS",
    "REJECTION_MIN_PROBABILITY",
    "box_probability",
    "sample_box",
    "truncated_normal",
]

#: sweeps of each Gibbs chain (the chains start from draws of the truncated marginals)
GIBBS_SWEEPS = 50
#: box probability from which rejection (exact) is used instead of Gibbs
REJECTION_MIN_PROBABILITY = 0.05


def box_probability(mean: np.ndarray, cov: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """``P(lo <= z <= hi)`` for ``z ~ N(mean, cov)``: exact in one dimension, Genz's
    quasi-Monte Carlo integration (:func:`scipy.stats.multivariate_normal.cdf`) above."""
    k = mean.shape[0]
    if k == 0:
        return 1.0
    if k == 1:
        sd = float(np.sqrt(cov[0, 0]))
        a, b = (lo[0] - mean[0]) / sd, (hi[0] - mean[0]) / sd
        return float(max(stats.norm.sf(a) - stats.norm.sf(b), 0.0))
    dist = stats.multivariate_normal(mean=mean, cov=cov, allow_singular=True)
    value = dist.cdf(hi, lower_limit=lo, rng=np.random.default_rng(0))
    return float(min(max(value, 0.0), 1.0))


def truncated_normal(mean, sd, lo, hi, rng: np.random.Generator) -> np.ndarray:
    """Draws of ``N(mean, sd^2)`` restricted to ``[lo, hi]``, elementwise (broadcast).

    Inverse CDF in log space: with ``a, b`` the standardised bounds, reflected so that
    ``a < 0`` (the lower tail, where ``log Phi`` is accurate),
    ``log u = log Phi(b) + log(r + U (1 - r))`` with ``r = Phi(a) / Phi(b)`` and ``U``
    uniform, then ``z = Phi^{-1}(u)``: exact, and accurate 30 standard deviations out.
    """
    mean, sd, lo, hi = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mean, sd, lo, hi))
    )
    a, b = (lo - mean) / sd, (hi - mean) / sd
    flip = a > 0.0  # the whole interval above the mean: draw its mirror image
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    log_b = special.log_ndtr(b)
    ratio = np.exp(special.log_ndtr(a) - log_b)
    u = np.maximum(rng.random(a.shape), np.finfo(float).tiny)  # never log(0)
    z = special.ndtri_exp(log_b + np.log(ratio + u * (1.0 - ratio)))
    z = np.clip(z, a, b)
    return mean + sd * np.where(flip, -z, z)


def sample_box(
    mean: np.ndarray,
    cov: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    n: int,
    rng: np.random.Generator,
    *,
    probability: float | None = None,
    sweeps: int = GIBBS_SWEEPS,
) -> np.ndarray:
    """``n`` draws of ``z ~ N(mean, cov)`` restricted to ``[lo, hi]``, shape (n, k).

    Parameters
    ----------
    probability : float, optional
        :func:`box_probability` when already known (it picks rejection or Gibbs).
    sweeps : int
        Gibbs sweeps per chain (module docstring).
    """
    k = mean.shape[0]
    if k == 0 or n == 0:
        return np.empty((n, k))
    if k == 1:
        sd = np.full(n, np.sqrt(cov[0, 0]))
        return truncated_normal(np.full(n, mean[0]), sd, lo[0], hi[0], rng)[:, None]
    p = box_probability(mean, cov, lo, hi) if probability is None else probability
    if p >= REJECTION_MIN_PROBABILITY:
        return _rejection(mean, cov, lo, hi, n, rng, p)
    return _gibbs(mean, cov, lo, hi, n, rng, sweeps)


def _rejection(mean, cov, lo, hi, n, rng, p) -> np.ndarray:
    L = np.linalg.cholesky(cov + 1e-12 * np.eye(cov.shape[0]))
    kept: list[np.ndarray] = []
    have = 0
    while have < n:
        batch = int(min(max(2 * (n - have) / max(p, 1e-3), 64), 1_000_000))
        Z = mean + rng.standard_normal((batch, mean.shape[0])) @ L.T
        Z = Z[np.all((Z >= lo) & (Z <= hi), axis=1)]
        kept.append(Z)
        have += Z.shape[0]
    return np.concatenate(kept)[:n]


def _gibbs(mean, cov, lo, hi, n, rng, sweeps) -> np.ndarray:
    Q = np.linalg.inv(cov)
    k = mean.shape[0]
    sd_marginal = np.sqrt(np.diag(cov))
    Z = np.column_stack(
        [
            truncated_normal(np.full(n, mean[t]), np.full(n, sd_marginal[t]), lo[t], hi[t], rng)
            for t in range(k)
        ]
    )
    sd = 1.0 / np.sqrt(np.diag(Q))
    for _ in range(max(1, int(sweeps))):
        for t in range(k):
            others = np.arange(k) != t
            shift = (Z[:, others] - mean[others]) @ Q[t, others] / Q[t, t]
            Z[:, t] = truncated_normal(mean[t] - shift, np.full(n, sd[t]), lo[t], hi[t], rng)
    return Z
