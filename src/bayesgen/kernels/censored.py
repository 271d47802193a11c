"""Correlation of a Gaussian vector seen only through boxes: tied and missing normal scores.

A Gaussian copula's normal score ``z_ij`` is known exactly for a continuous value, known
only to lie in ``[lo_ij, hi_ij]`` for a tied one (a category, an integer level, the zeros
of a zero-inflated column: the interval of the CDF jump), and unknown for a missing cell
(``(-inf, inf)``).  The maximum-likelihood correlation given those boxes maximises

    prod_i  P(z_i in box_i),   z_i ~ N(0, R),

the rectangle (polychoric / polyserial) likelihood, which keeps a correlation that any
per-row guess inside the box attenuates (e.g. a 4-cylinder level holding 90 % of a class).

:func:`censored_correlation` maximises it by stochastic EM (Celeux and Diebolt 1985) with a
Gibbs E-step: each iteration sweeps every column that has boxed cells, drawing each such
cell from its univariate normal given the row's other scores,
``z_ij | z_i,-j ~ N(-z_i,-j P_-j,j / P_jj, 1 / P_jj)`` truncated to its box (``P = R^-1``),
then sets ``R`` to the correlation of ``E[z z^T]`` over the completed rows.  The chain
starts from a given correlation (a first-order estimate), runs a burn-in, then averages
the second moments of the following sweeps (averaging removes most of the Monte Carlo
noise of single draws).  Stochastic EM creeps where the boxes hide most of the
information (e.g. a category with 1 % of the rows), so there the fixed budget of sweeps
can stop between the start and the maximum-likelihood value.  Missing cells are assumed
missing at random.  A sweep costs ``O(n d^2)``.
"""

from __future__ import annotations

import numpy as np

from bayesgen.kernels.score_moments import as_correlation
from bayesgen.kernels.truncated import truncated_normal

__all__ = ["censored_correlation"]


def censored_correlation(
    lo: np.ndarray,
    hi: np.ndarray,
    start: np.ndarray,
    rng: np.random.Generator,
    *,
    initial: np.ndarray | None = None,
    burn_in: int = 20,
    sweeps: int = 40,
    ridge: float = 1e-6,
) -> np.ndarray:
    """Maximum-likelihood correlation of ``z ~ N(0, R)`` observed through boxes.

    Parameters
    ----------
    lo, hi : ndarray of shape (n, d)
        Each cell's box; ``lo == hi`` for a score known exactly, NaN in both for a missing
        cell (any value).
    start : ndarray of shape (n, d)
        A point inside every box to start the chain from (e.g. the distributional
        transform's scores); NaN where missing.
    rng : numpy.random.Generator
    initial : ndarray of shape (d, d), optional
        Starting correlation (default: that of ``start``, missing cells drawn from N(0, 1)).
    burn_in, sweeps : int
        Sweeps before averaging, and sweeps averaged.
    ridge : float
        Added to the diagonal before each inversion (a correlation near singular).

    Returns
    -------
    ndarray of shape (d, d)
        The correlation matrix (unit diagonal, positive definite).
    """
    n, d = lo.shape
    missing = np.isnan(lo)
    lo = np.where(missing, -np.inf, lo)
    hi = np.where(missing, np.inf, hi)
    boxed = hi > lo
    Z = np.clip(np.where(missing, 0.0, start), lo, hi)
    columns = [j for j in range(d) if boxed[:, j].any()]
    if not columns:
        return as_correlation(Z.T @ Z / n)
    rows = {j: np.flatnonzero(boxed[:, j]) for j in columns}
    # missing cells start from their prior, not from 0 (which would shrink R at first)
    Z[missing] = rng.standard_normal(int(missing.sum()))
    R = as_correlation(Z.T @ Z / n) if initial is None else as_correlation(initial)

    def sweep(R):
        P = np.linalg.inv(R + ridge * np.eye(d))
        for j in columns:
            r = rows[j]
            sd = 1.0 / np.sqrt(P[j, j])
            mean = -(Z[r] @ P[:, j] - Z[r, j] * P[j, j]) / P[j, j]
            Z[r, j] = truncated_normal(mean, sd, lo[r, j], hi[r, j], rng)
        moment = Z.T @ Z / n
        return as_correlation(moment), moment

    for _ in range(burn_in):
        R, _ = sweep(R)
    total = np.zeros((d, d))
    for _ in range(max(sweeps, 1)):
        R, moment = sweep(R)
        total += moment
    return as_correlation(total / max(sweeps, 1))
