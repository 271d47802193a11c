"""Second moments of normal scores with missing entries, mergeable across chunks.

A Gaussian copula fitted in passes (:meth:`Density.fit_from_summaries`) gets its
dependence from the normal scores ``s = Phi^{-1}(F(x))`` of every chunk, reduced to
:class:`ScoreMoments` and merged as they come.

Estimator with missing cells: the *pairwise-complete* correlation.  For every pair of
features ``(i, j)`` only the rows where both are observed count::

    R_ij = sum s_i s_j / sqrt(sum s_i^2 * sum s_j^2)      (sums over those rows)

It is consistent when cells are missing completely at random (MCAR).  Unlike the
in-memory fit's EM (exact under missing at random, MAR, but one pass over the data per
iteration) it needs a single pass; under MAR that is not MCAR it is biased.  A matrix
assembled pair by pair need not be positive definite: it is shrunk towards the identity
(by 0, 10, 30, 60 or 100 %) until its smallest eigenvalue exceeds 1e-6.  Without missing
cells it is the correlation of the scores, as in memory.

:func:`cell_uniforms` gives the uniforms of the distributional transform (a tied cell's
CDF value drawn within its point mass) as a function of (seed, row, feature) only, so the
moments do not depend on how rows are cut into chunks or partitions.

Row sample for the exact estimator: the moments may also carry some rows' intervals of
scores (``lo``, ``hi``: a point for an exact score, the CDF jump of a tied one) and their
transformed scores, chosen by the caller with a hash of the row number (so the sample,
too, does not depend on the chunks); merging joins the samples.
:func:`bayesgen.kernels.censored.censored_correlation` turns them into the
maximum-likelihood correlation given ties and missing cells.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ScoreMoments",
    "as_correlation",
    "cell_uniforms",
    "correlation_shrinkage",
    "positive_definite_correlation",
]

_SHRINK_STEPS = (0.0, 0.1, 0.3, 0.6, 1.0)


class ScoreMoments:
    """Pairwise-complete sums of products of scores (NaN = missing); exact merge.

    Attributes
    ----------
    cross : ndarray (d, d)
        ``sum s_i s_j`` over rows where both are observed.
    square : ndarray (d, d)
        ``square[i, j] = sum s_i^2`` over rows where both ``i`` and ``j`` are observed.
    pairs : ndarray (d, d)
        Rows where both are observed.
    n : int
        Rows.
    """

    def __init__(self, d: int):
        self.cross = np.zeros((d, d))
        self.square = np.zeros((d, d))
        self.pairs = np.zeros((d, d))
        self.n = 0
        self.sample = None  # (rows, lo, hi, start) of the sampled rows, or None

    @classmethod
    def of(cls, S: np.ndarray, *, sample=None) -> ScoreMoments:
        """The moments of the rows of ``S`` (n, d), with an optional row ``sample``
        ``(rows, lo, hi, start)``: the sampled rows' numbers (m,) and arrays of shape
        (m, d) (module docstring)."""
        n, d = S.shape
        out = cls(d)
        out.n = n
        out.sample = sample
        observed = ~np.isnan(S)
        if observed.all():
            out.cross = S.T @ S
            out.square = np.repeat(np.diag(out.cross)[:, None], d, axis=1)
            out.pairs[:] = n
            return out
        F = np.where(observed, S, 0.0)
        both = observed.astype(np.float64)
        out.cross = F.T @ F
        out.square = (F * F).T @ both
        out.pairs = both.T @ both
        return out

    def merge(self, other: ScoreMoments) -> ScoreMoments:
        """The moments of both parts' rows (inputs untouched)."""
        out = ScoreMoments(self.cross.shape[0])
        out.cross = self.cross + other.cross
        out.square = self.square + other.square
        out.pairs = self.pairs + other.pairs
        out.n = self.n + other.n
        out.sample = _join_samples(self.sample, other.sample)
        return out

    def correlation(self) -> np.ndarray:
        """The pairwise-complete correlation, made positive definite when cells were
        missing (see the module docstring); 0 for pairs never observed together."""
        d = self.cross.shape[0]
        scale = np.sqrt(self.square * self.square.T)
        R = np.divide(self.cross, scale, out=np.zeros((d, d)), where=scale > 0)
        np.fill_diagonal(R, 1.0)
        if np.all(self.pairs == self.n):
            return R
        return positive_definite_correlation(R)


def _join_samples(a, b):
    """Two parts' row samples as one (None: no sample)."""
    if a is None or b is None:
        return a if b is None else b
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b, strict=True))


def as_correlation(moment: np.ndarray) -> np.ndarray:
    """A second-moment (or covariance) matrix rescaled to a unit diagonal; a zero variance
    leaves its row and column at 0 off the diagonal."""
    sd = np.sqrt(np.maximum(np.diag(moment), 1e-300))
    R = moment / sd[:, None] / sd[None, :]
    np.fill_diagonal(R, 1.0)
    return R


def correlation_shrinkage(R: np.ndarray, pairs) -> float:
    """Intensity ``lam`` of ``(1 - lam) R + lam I`` for a correlation matrix of Gaussian
    scores, estimated from the data alone.

    The Schafer and Strimmer (2005) intensity towards the identity, with the Gaussian
    variance of a sample correlation, ``Var(r_ij) ~ (1 - r_ij^2)^2 / n_ij``, in place of
    its empirical one (the scores are normal by construction, and a copula's fit may only
    have the correlations, e.g. when they come from tied or missing cells)::

        lam = sum_{i<j} (1 - r_ij^2)^2 / n_ij  /  sum_{i<j} r_ij^2,   clipped to [0, 1]

    ``n_ij`` is the number of rows where both features are observed; pairs seen together
    in fewer than 2 rows say nothing and are left out of both sums.  With every row
    complete it is ``mean((1 - r^2)^2) / (n mean(r^2))``: large for a small class (10 rows
    of scikit-learn's tables: 0.3-0.6), vanishing for thousands of rows.

    Parameters
    ----------
    R : ndarray of shape (d, d)
        Correlation matrix (unit diagonal).
    pairs : float or ndarray of shape (d, d)
        Rows behind each entry (a number when every row is complete).

    Returns
    -------
    float in [0, 1]
    """
    d = R.shape[0]
    if d < 2:
        return 0.0
    upper = np.triu_indices(d, 1)
    n = np.broadcast_to(np.asarray(pairs, dtype=float), R.shape)[upper]
    seen = n >= 2
    r2 = R[upper][seen] ** 2
    spread = float(np.sum((1.0 - r2) ** 2 / n[seen]))
    signal = float(np.sum(r2))
    if signal <= 0.0:
        return 1.0 if spread > 0.0 else 0.0
    return min(1.0, spread / signal)


def positive_definite_correlation(R: np.ndarray) -> np.ndarray:
    """``R`` shrunk towards the identity until its smallest eigenvalue exceeds 1e-6."""
    eye = np.eye(R.shape[0])
    for shrink in _SHRINK_STEPS:
        candidate = (1.0 - shrink) * R + shrink * eye
        if np.linalg.eigvalsh(candidate)[0] > 1e-6:
            return candidate
    return eye  # pragma: no cover - shrink=1 is the identity


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def cell_uniforms(key: int, rows: np.ndarray, d: int) -> np.ndarray:
    """Uniforms in (0, 1) of shape (len(rows), d): a hash (SplitMix64) of the key, the
    row number and the feature, so each cell gets the same number however rows are cut.

    Parameters
    ----------
    key : int
        64-bit seed (e.g. from ``seed_sequence(random_state).generate_state``).
    rows : ndarray of int
        The rows' numbers in the data.
    d : int
        Features.
    """
    rows = np.asarray(rows, dtype=np.uint64)
    cell = rows[:, None] * np.uint64(d) + np.arange(d, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        z = cell * _GOLDEN + np.uint64(key)
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
