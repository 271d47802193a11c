"""Measures between tables of mixed columns: fidelity, association and Gower distance.

The functions work on *encoded* columns (float64, NaN for a missing cell): numbers and
datetimes as numbers, categories as integer codes ``0..K-1``.  Every measure uses the
observed cells only -- one column's observed cells for the marginal measures, the rows
where both columns are observed (pairwise-complete rows) for the associations, and the
columns observed in both rows for the Gower distance -- so missing values never turn into
numbers.  :func:`bayesgen.metrics.evaluate_table` drives them.

Measures
--------
* :func:`ks_statistic`: two-sample Kolmogorov-Smirnov statistic ``sup_x |F_a(x) - F_b(x)|``
  (the statistic of :func:`scipy.stats.ks_2samp`), for numeric and datetime columns;
* :func:`total_variation`: ``0.5 * sum_c |p_a(c) - p_b(c)|`` between the category
  frequencies of two categorical columns;
* :func:`cramers_v`: ``sqrt(chi2 / (n (min(r, c) - 1)))`` of the contingency table of two
  categorical columns (no bias correction);
* :func:`correlation_ratio`: ``eta = sqrt(SS_between / SS_total)`` of a number grouped by
  a category;
* :func:`association_matrix`: all pairs, Pearson (or Spearman) correlation for two
  numbers, Cramér's V for two categories, eta for one of each;
* :func:`gower_nearest`: for each query row the Gower distance to its nearest reference
  row, computed in blocks of query rows (no Python loop over rows).

A constant column (one category, or zero variance) carries no measurable association: its
associations are 0.  With fewer than two pairwise-complete rows an association is NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "association_matrix",
    "correlation_ratio",
    "cramers_v",
    "gower_nearest",
    "ks_statistic",
    "total_variation",
]

#: Target number of float64 cells of one (query block x reference) distance array: 16 MiB.
_BLOCK_CELLS = 2**21
_CORRELATIONS = ("pearson", "spearman")


def _observed(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    return x[~np.isnan(x)]


def _codes(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.int64)


def ks_statistic(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic between the observed values of ``a`` and ``b``.

    ``D = max_x |F_a(x) - F_b(x)|`` over the pooled values, with the empirical CDFs counted
    ``<= x`` (ties handled exactly, as :func:`scipy.stats.ks_2samp`).

    Parameters
    ----------
    a, b : array-like of shape (n_a,), (n_b,)
        Numbers; NaN cells are left out.

    Returns
    -------
    float
        In ``[0, 1]``; NaN when either side has no observed value.
    """
    a, b = np.sort(_observed(a)), np.sort(_observed(b))
    if a.size == 0 or b.size == 0:
        return float("nan")
    pooled = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, pooled, side="right") / a.size
    cdf_b = np.searchsorted(b, pooled, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def total_variation(a, b) -> float:
    """Total variation distance between the category frequencies of ``a`` and ``b``.

    ``TV = 0.5 * sum_c |p_a(c) - p_b(c)|`` with ``p`` the share of *observed* cells in
    category ``c`` (missing cells are measured separately, as a missing-value rate).

    Parameters
    ----------
    a, b : array-like of shape (n_a,), (n_b,)
        Category codes (non-negative whole numbers); NaN cells are left out.

    Returns
    -------
    float
        In ``[0, 1]``; NaN when either side has no observed value.
    """
    a, b = _codes(_observed(a)), _codes(_observed(b))
    if a.size == 0 or b.size == 0:
        return float("nan")
    k = int(max(a.max(), b.max())) + 1
    p = np.bincount(a, minlength=k) / a.size
    q = np.bincount(b, minlength=k) / b.size
    return float(0.5 * np.abs(p - q).sum())


def pattern_total_variation(A, B) -> float:
    """Total variation distance between the missing-value patterns of the rows of two
    tables: ``0.5 * sum_m |p_A(m) - p_B(m)|`` over the sets ``m`` of empty columns.

    Per-column missing rates can all match while the cells missing together do not (rows
    that lose several cells at once, generated as rows that lose one); this sees both.

    Parameters
    ----------
    A, B : ndarray of shape (n_a, d), (n_b, d)
        Encoded rows, NaN = missing cell.

    Returns
    -------
    float
        In ``[0, 1]``; NaN when either table has no row.
    """
    if len(A) == 0 or len(B) == 0:
        return float("nan")
    # each row's pattern as one category code, shared by both tables
    both = np.concatenate([np.isnan(A), np.isnan(B)])
    _, codes = np.unique(np.packbits(both, axis=1), axis=0, return_inverse=True)
    codes = codes.ravel()
    return total_variation(codes[: len(A)], codes[len(A) :])


def _complete(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def cramers_v(a, b) -> float:
    """Cramér's V between two categorical columns, on their pairwise-complete rows.

    With ``O`` the ``r x c`` contingency table of the categories that occur (empty rows and
    columns left out), ``E_ij = O_i. O_.j / n`` and ``chi2 = sum (O - E)^2 / E``::

        V = sqrt(chi2 / (n * (min(r, c) - 1)))

    (no small-sample bias correction).  0 when either column has one category only.

    Parameters
    ----------
    a, b : array-like of shape (n,)
        Category codes; NaN cells are missing.

    Returns
    -------
    float
        In ``[0, 1]``; NaN with fewer than two complete rows.
    """
    a, b = _complete(a, b)
    n = a.size
    if n < 2:
        return float("nan")
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    r, c = int(ia.max()) + 1, int(ib.max()) + 1
    if min(r, c) < 2:
        return 0.0
    table = np.bincount(ia * c + ib, minlength=r * c).reshape(r, c).astype(np.float64)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return float(np.sqrt(min(1.0, chi2 / (n * (min(r, c) - 1)))))


def correlation_ratio(categories, values) -> float:
    """Correlation ratio (eta) of a number grouped by a category, on pairwise-complete rows.

    ``eta^2 = sum_k n_k (mean_k - mean)^2 / sum_i (x_i - mean)^2``: the share of the
    number's variance explained by the category (0 = same mean in every category, 1 = the
    category fixes the value).  0 when the number is constant.

    Parameters
    ----------
    categories : array-like of shape (n,)
        Category codes; NaN cells are missing.
    values : array-like of shape (n,)
        Numbers; NaN cells are missing.

    Returns
    -------
    float
        In ``[0, 1]``; NaN with fewer than two complete rows.
    """
    cat, x = _complete(categories, values)
    if x.size < 2:
        return float("nan")
    _, group = np.unique(cat, return_inverse=True)
    counts = np.bincount(group).astype(np.float64)
    means = np.bincount(group, weights=x) / counts
    mean = x.mean()
    total = float(np.sum((x - mean) ** 2))
    if total <= 0.0:
        return 0.0
    between = float(np.sum(counts * (means - mean) ** 2))
    return float(np.sqrt(min(1.0, between / total)))


def _correlation(a, b, method: str) -> float:
    """Pearson (or Spearman: Pearson of the ranks) correlation on pairwise-complete rows."""
    a, b = _complete(a, b)
    if a.size < 2:
        return float("nan")
    if method == "spearman":
        a, b = rankdata(a), rankdata(b)
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    if denom <= 0.0:
        return 0.0
    return float(np.clip(np.sum(a * b) / denom, -1.0, 1.0))


def association_matrix(X, categorical, *, correlation: str = "pearson") -> np.ndarray:
    """Pairwise associations of the columns of an encoded table.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Encoded table (NaN = missing cell).
    categorical : array-like of bool, shape (d,)
        Which columns hold category codes.
    correlation : {"pearson", "spearman"}, default="pearson"
        Association of two numeric columns.

    Returns
    -------
    ndarray of shape (d, d)
        Symmetric; ones on the diagonal.  Two numbers: correlation in ``[-1, 1]``; two
        categories: Cramér's V; one of each: eta (both in ``[0, 1]``).  Each pair uses the
        rows where both columns are observed.
    """
    if correlation not in _CORRELATIONS:
        raise ValueError(f"correlation must be one of {_CORRELATIONS}; got {correlation!r}")
    X = np.asarray(X, dtype=np.float64)
    cat = np.asarray(categorical, dtype=bool)
    d = X.shape[1]
    out = np.eye(d)
    for i in range(d):
        for j in range(i + 1, d):
            if cat[i] and cat[j]:
                v = cramers_v(X[:, i], X[:, j])
            elif cat[i]:
                v = correlation_ratio(X[:, i], X[:, j])
            elif cat[j]:
                v = correlation_ratio(X[:, j], X[:, i])
            else:
                v = _correlation(X[:, i], X[:, j], correlation)
            out[i, j] = out[j, i] = v
    return out


def exact_copies(Q, R) -> np.ndarray:
    """Whether each row of ``Q`` equals some row of ``R`` in every cell, a missing cell
    equal only to a missing cell.

    The Gower distance skips cells missing in either row, so distance 0 does not make a
    copy: a row with two cells filled is at distance 0 from every row that shares them.

    Parameters
    ----------
    Q, R : ndarray of shape (n_q, d), (n_r, d)
        Encoded rows, NaN = missing.

    Returns
    -------
    ndarray of bool, shape (n_q,)
    """

    def keys(M) -> list[bytes]:
        M = np.asarray(M, dtype=np.float64)
        # a missing cell as infinity (encoded cells are finite), -0.0 as 0.0
        M = np.where(np.isnan(M), np.inf, M + 0.0)
        return [row.tobytes() for row in M]

    known = set(keys(R))
    return np.array([key in known for key in keys(Q)], dtype=bool)


def gower_nearest(Q, R, categorical, ranges, *, block_cells: int = _BLOCK_CELLS) -> np.ndarray:
    """Gower distance from each row of ``Q`` to its nearest row of ``R``.

    For rows ``q`` and ``r`` and the set ``J`` of columns observed in both::

        d(q, r) = (1 / |J|) sum_{j in J} delta_j,
        delta_j = min(1, |q_j - r_j| / range_j)   for a number (range_j > 0),
        delta_j = [q_j != r_j]                     for a category (or a constant number).

    ``d`` is in ``[0, 1]``; with no column observed in both rows it is undefined and the
    pair is skipped (a query row with no such pair at all gets NaN).  The distances are
    computed for a block of query rows against all of ``R`` at once, one column at a time,
    so memory stays near ``block_cells`` doubles per array.

    Parameters
    ----------
    Q : array-like of shape (n_q, d)
        Query rows (encoded; NaN = missing).
    R : array-like of shape (n_r, d)
        Reference rows.
    categorical : array-like of bool, shape (d,)
    ranges : array-like of shape (d,)
        Range of each numeric column (``max - min`` of the reference data, usually);
        ignored for categorical columns.
    block_cells : int
        Target size of one ``(block, n_r)`` array.

    Returns
    -------
    ndarray of shape (n_q,)
    """
    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if Q.ndim != 2 or R.ndim != 2 or Q.shape[1] != R.shape[1]:
        raise ValueError(f"Q and R must be 2-D with the same width; got {Q.shape}, {R.shape}")
    cat = np.asarray(categorical, dtype=bool)
    ranges = np.asarray(ranges, dtype=np.float64)
    # a constant number is compared like a category: equal (0) or not (1)
    mismatch = cat | ~(ranges > 0)
    inv = np.where(mismatch, 0.0, 1.0 / np.where(ranges > 0, ranges, 1.0))
    obs_q, obs_r = ~np.isnan(Q), ~np.isnan(R)
    gappy = obs_q.sum(axis=0) < len(Q)
    gappy |= obs_r.sum(axis=0) < len(R)
    out = np.empty(len(Q))
    if len(R) == 0:
        out[:] = np.nan
        return out
    step = max(1, block_cells // len(R))
    for start in range(0, len(Q), step):
        out[start : start + step] = _nearest_block(
            Q[start : start + step], R, obs_q[start : start + step], obs_r, mismatch, inv, gappy
        )
    return out


def _nearest_block(Qb, R, obs_q, obs_r, mismatch, inv, gappy) -> np.ndarray:
    """Nearest Gower distances of one block of query rows (a private kernel: trusts input)."""
    total = np.zeros((len(Qb), len(R)))
    weight = np.zeros((len(Qb), len(R))) if gappy.any() else None
    for j in range(Qb.shape[1]):
        q, r = Qb[:, j, None], R[None, :, j]
        if mismatch[j]:
            delta = (q != r).astype(np.float64)
        else:
            delta = np.abs(q - r)
            delta *= inv[j]
            np.minimum(delta, 1.0, out=delta)
        if gappy[j]:
            both = obs_q[:, j, None] & obs_r[None, :, j]
            delta[~both] = 0.0
            weight += both
        total += delta
    if weight is None:
        return total.min(axis=1) / Qb.shape[1]
    n_full = Qb.shape[1] - int(gappy.sum())
    weight += n_full
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(weight > 0, total / weight, np.inf)
    nearest = dist.min(axis=1)
    nearest[~np.isfinite(nearest)] = np.nan
    return nearest
