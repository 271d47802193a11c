"""Bins of one empirical marginal, from the column's distinct values and their counts.

The rules (lattices, point masses, equal-count bins, categories) are described in
:mod:`bayesgen.densities.marginals`.  Every function takes the column as weighted points
(:class:`~bayesgen.kernels.column_summary.WeightedColumn`), so a marginal fitted from
the rows in memory and one fitted from a streamed summary of exactly the same distinct
values are the same.
"""

from __future__ import annotations

import numpy as np

from bayesgen.kernels.column_summary import WeightedColumn

__all__ = ["category_bins", "feature_bins"]


def _lattice_step(u: np.ndarray, n: int, resolution: float, n_bins: int):
    """The step of the lattice the distinct values ``u`` lie on, or None.

    Tried: the data's resolution (so that a pixel seen only at 0 and 2/255 still gets the
    1/255 grid), then the feature's own smallest gap.  A grid is accepted only when the data
    support it: every value on it, at most ``4 n_bins`` levels, and either at least half the
    levels between the smallest and largest value observed or at least four rows per level
    with values that use the grid's step (8-bit pixels of a few thousand images: most
    levels are rare but the grid is real; whole numbers 4, 6, 8 are not a 0.1 grid).  A
    feature with two-decimal values but a few dozen rows (scikit-learn's wine table) is
    therefore NOT a lattice of hundreds of mostly empty cells, which smoothing would turn
    into a near-uniform marginal.
    """
    m = u.shape[0]
    if m <= 1:
        return resolution
    for r in (resolution, float(np.diff(u).min())):
        steps = (u - u[0]) / r
        span = int(round(float(steps[-1]))) + 1
        on_grid = np.allclose(steps, np.round(steps), rtol=0, atol=1e-6)
        if not on_grid or span > 4 * n_bins:
            continue
        # many rows support a sparse grid only when the values use its step: whole numbers
        # 4, 6, 8 (in a table whose other columns have one decimal) are not a 0.1 grid
        # with 38 empty levels, which smoothing would fill with 4.1, 7.0, ...
        coarser = np.gcd.reduce(np.round(steps).astype(np.int64)) > 1
        if 2 * m >= span or (n >= 4 * span and not coarser):
            return r
    return None


def _decimals(values: np.ndarray, most: int = 8) -> int | None:
    """The fewest decimals (up to ``most``) that write every value exactly, or None."""
    scale = np.maximum(np.abs(values), 1.0)
    for d in range(most + 1):
        scaled = values * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * scale * 10.0**d):
            return d
    return None


#: the least pseudo-count of a cell (also with ``alpha=0``): an unseen level or category
#: keeps a vanishing mass, so the CDF increases strictly and the cell scores finitely
MIN_PSEUDO_COUNT = 1e-6


def _lattice_bins(u, c, n: int, r: float, alpha: float):
    """One cell ``[v - r/2, v + r/2]`` per lattice level ``v`` between the extremes.

    Unseen levels keep a little mass so that they score finitely: add-``alpha`` smoothing
    whose total shrinks with ``n`` (``alpha`` per level when ``n >= 10 span``, less below),
    so a few dozen rows are not swamped by pseudo-counts.  A level never seen gets at most
    its share of the Good-Turing estimate of the unseen mass, ``(N_1 + 1) / n`` (``N_1``:
    the rows of levels seen once; the 1 keeps the estimate off zero): gaps the data leave
    empty although every level beside them is frequent keep only a trace.  Observed levels are
    the observed values themselves (no ``min + k r`` round-off in samples); unseen ones are
    rounded to the decimals of the observed values when those have few.
    """
    steps = np.round((u - u[0]) / r).astype(np.int64) if u.shape[0] > 1 else np.zeros(1, int)
    span = int(steps[-1]) + 1
    levels = u[0] + r * np.arange(span)
    decimals = _decimals(np.r_[u, r])
    if decimals is not None:  # a decimal grid (0.1, 0.25, 1): unseen levels printed as such
        levels = np.round(levels, decimals)
    levels[steps] = u
    counts = np.zeros(span)
    counts[steps] = c
    pseudo = np.full(span, max(alpha * min(1.0, n / (10.0 * span)), MIN_PSEUDO_COUNT))
    unseen = np.ones(span, dtype=bool)
    unseen[steps] = False
    if unseen.any():
        # Good-Turing: the levels not seen hold about as much mass as those seen once, so a
        # column seen only at 0, 5, 10, 20 and 50, each many times, does not give 15 or 35
        once = float(c[c <= 1.0].sum())
        # N_1 + 1: a class whose levels were all seen twice or more (a hundred rows of
        # pixels) still leaves its unseen levels a little mass, as pixels need
        share = (once + 1.0) / np.count_nonzero(unseen)
        pseudo[unseen] = np.clip(share, MIN_PSEUDO_COUNT, pseudo[unseen])
    half = r / 2
    edges = np.r_[levels[0] - half, 0.5 * (levels[:-1] + levels[1:]), levels[-1] + half]
    return edges, (counts + pseudo) / (n + pseudo.sum()), levels


def category_bins(column: WeightedColumn, n_levels: int, alpha: float):
    """Cells of a categorical feature coded ``0 .. n_levels - 1``: one per category.

    The exact treatment of a discrete margin: category ``k`` owns the CDF interval
    ``(F(k - 1), F(k)]``, whose normal scores are the latent interval of the copula.
    Categories absent from these rows keep a little mass so that a row with them scores
    finitely (a class is never impossible), but far less than a lattice level: Perks'
    pseudo-count ``1 / K`` per category (one pseudo-row in all, shrunk further below
    ``10 K`` rows), so a class rarely samples a category it never had.
    """
    codes = np.arange(n_levels, dtype=float)
    counts = np.zeros(n_levels)
    inside = column.values < n_levels
    counts[column.values[inside].astype(np.int64)] = column.weights[inside]
    n = column.count
    a = min(alpha, 1.0 / n_levels) * min(1.0, n / (10.0 * n_levels)) if n else 1.0
    a = max(a, MIN_PSEUDO_COUNT)
    edges = np.r_[codes - 0.5, n_levels - 0.5]
    return edges, (counts + a) / (n + a * n_levels), codes


def feature_bins(column: WeightedColumn, resolution: float, n_bins: int, alpha: float):
    """Bins of one feature: (edges (m+1,), masses (m,), snap values (m,), NaN = none).

    Only points that are exact values of the data (``column.atoms``) can be point masses,
    and only the distinct values themselves (``column.exact``) can form a lattice.
    """
    u, c = column.values, column.weights
    n = column.count
    m = u.shape[0]
    atom = np.ones(m, dtype=bool) if column.atoms is None else column.atoms
    step = _lattice_step(u, n, resolution, n_bins) if column.exact else None
    if step is not None:
        return _lattice_bins(u, c, n, step, alpha)
    half = resolution / 2
    target = n / n_bins
    heavy = atom & (c >= max(2.0, target))
    # group consecutive non-heavy values into runs of ~target counts; heavy values alone
    segment = np.cumsum(heavy)  # changes at every heavy value
    light_cum = np.cumsum(np.where(heavy, 0, c)) - np.where(heavy, 0, c)
    key = np.where(heavy, -1, np.floor(light_cum / target)).astype(np.int64)
    group_key = np.where(heavy, segment * (n + 2), segment * (n + 2) + key + 1)
    starts = np.flatnonzero(np.r_[True, group_key[1:] != group_key[:-1]])
    counts = np.add.reduceat(c, starts).astype(float)
    ends = np.r_[starts[1:], m] - 1
    lo_first, hi_last = u[starts], u[ends]
    snap = np.where((starts == ends) & (c[starts] >= 2) & atom[starts], u[starts], np.nan)
    k = counts.shape[0]
    edges = np.empty(k + 1)
    if k == 1:
        edges[0], edges[1] = lo_first[0] - half, hi_last[0] + half
    else:
        edges[1:-1] = 0.5 * (hi_last[:-1] + lo_first[1:])
        edges[0] = lo_first[0] - max(0.5 * (edges[1] - lo_first[0]), half)
        edges[-1] = hi_last[-1] + max(0.5 * (hi_last[-1] - edges[-2]), half)
    # a point mass next to a run of distinct values keeps a cell of the data's resolution on
    # that side (it is a point, not an interval): the run's bin reaches up to it
    for i in np.flatnonzero(~np.isnan(snap)):
        if i == 0 or np.isnan(snap[i - 1]):
            edges[i] = snap[i] - half
        if i == k - 1 or np.isnan(snap[i + 1]):
            edges[i + 1] = snap[i] + half
    return edges, counts / n, snap
