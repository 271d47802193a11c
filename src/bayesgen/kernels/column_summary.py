"""Mergeable summaries of one column's observed values, for marginals fitted in passes.

A table too big for memory is fitted from summaries gathered chunk by chunk (or block by
block on a Dask cluster) and merged as they come.  Each summary has a bounded size,
whatever the number of rows, and the merge is exact and independent of the order in
which the parts come: the summary of a union is a function of the union only.

:class:`NumericSummary`
    Numbers (continuous, integer, dates as numbers).  While the column has at most ``cap``
    distinct values (4096 by default) it holds every distinct value with its count, which
    is all the in-memory marginal uses: the marginal fitted from it is the same.  Beyond,
    it becomes a histogram on a fixed dyadic grid: bins ``[k w, (k + 1) w)`` with
    ``w = 2**e``, ``e`` the smallest exponent for which the range seen fits in ``bins``
    bins (so ``w <= 2 (max - min) / (bins - 1)``); each bin keeps its count, its smallest
    and largest value and the count of its smallest value.  When the range grows, ``e``
    grows and bins merge in pairs, which the dyadic grid makes exact.
:class:`CategoryCounts`
    Category codes: a count per category.

Error of the grid, relative to the in-memory marginal
-----------------------------------------------------
The in-memory marginal groups the sorted values into bins of about equal counts whose
edges lie half-way between neighbouring distinct values.  From a grid, a bin's values are
known to within the bin: its smallest value (with its exact count, so point masses at
whole or dyadic numbers such as 0 survive as point masses), its largest, and the rest
placed at their midpoint.  The fitted CDF therefore differs from the in-memory one by at
most the mass of one grid bin at any point (a quarter of a percent for a column spread
evenly over a quarter of the grid; more for a heavy bin of a skewed column, see
:meth:`NumericSummary.max_bin_mass`), and sampled values move by at most one bin width
``w``.  A column with a few heavy values among many distinct ones keeps those values as
point masses only when each is the smallest value of its bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ROUND_OFF", "CategoryCounts", "NumericSummary", "WeightedColumn"]

#: distinct values closer than this share of a column's magnitude are one value written
#: with round-off (float64 arithmetic leaves about 1e-16; data never differ by 1e-12)
ROUND_OFF = 1e-12

#: bin indices stay well inside int64 (and float64 holds them exactly)
_MAX_INDEX = 2.0**52


@dataclass
class WeightedColumn:
    """One column's observed values as sorted distinct points with weights.

    What a marginal is fitted from (:meth:`EmpiricalMarginals.fit_weighted`).

    Attributes
    ----------
    values : ndarray of shape (m,)
        Strictly increasing.
    weights : ndarray of shape (m,)
        Rows at each value (whole numbers).
    atoms : ndarray of bool, shape (m,), or None
        True where the point is one exact value of the data; None means every point is
        (the distinct values themselves, which allows a lattice).  A point that stands
        for several values of a histogram bin is never a point mass.
    spread : float or None
        Standard deviation of the values; None computes it from the points.
    gap : float or None
        Smallest gap between distinct values; None computes it from the points.
    """

    values: np.ndarray
    weights: np.ndarray
    atoms: np.ndarray | None = None
    spread: float | None = None
    gap: float | None = None

    @classmethod
    def of(cls, x: np.ndarray) -> WeightedColumn:
        """The distinct observed (non-NaN) values of ``x`` and their counts."""
        u, c = np.unique(x[~np.isnan(x)], return_counts=True)
        return cls(u, c.astype(np.float64))

    @property
    def exact(self) -> bool:
        """Whether the points are the data's distinct values."""
        return self.atoms is None

    @property
    def count(self) -> int:
        return int(round(float(self.weights.sum())))

    def std(self) -> float:
        """``spread``, else the weighted standard deviation of the points."""
        if self.spread is not None:
            return float(self.spread)
        n = self.weights.sum()
        if n <= 0:
            return 0.0
        mean = float(self.weights @ self.values) / n
        return math.sqrt(max(float(self.weights @ (self.values - mean) ** 2) / n, 0.0))

    def without_round_off(self, relative: float = ROUND_OFF) -> WeightedColumn:
        """The points with round-off merged: distinct values closer than ``relative`` times
        the column's magnitude (``0.41`` and ``0.41000000000000003``, as arithmetic writes
        them) count as one, the most frequent of them (its weight the sum).  A grid's
        points (not exact values) are returned as they are."""
        u, w = self.values, self.weights
        if not self.exact or u.shape[0] < 2:
            return self
        tol = relative * max(float(np.abs(u).max()), float(np.diff(u).max()))
        starts = np.flatnonzero(np.r_[True, np.diff(u) > tol])
        if starts.shape[0] == u.shape[0]:
            return self
        group = np.cumsum(np.r_[True, np.diff(u) > tol]) - 1
        order = np.lexsort((-w, group))  # by group, the heaviest point of each first
        heaviest = order[np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]]
        return WeightedColumn(u[heaviest], np.add.reduceat(w, starts), spread=self.spread)

    def smallest_gap(self) -> float | None:
        """``gap``, else the smallest gap between the points (None for one point)."""
        if self.gap is not None:
            return float(self.gap)
        if self.values.shape[0] < 2:
            return None
        return float(np.diff(self.values).min())


@dataclass
class CategoryCounts:
    """Rows per category code ``0 .. K-1`` (exact; mergeable by addition)."""

    counts: np.ndarray

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        k = max(self.counts.shape[0], other.counts.shape[0])
        out = np.zeros(k)
        out[: self.counts.shape[0]] += self.counts
        out[: other.counts.shape[0]] += other.counts
        return CategoryCounts(out)

    def weighted(self) -> WeightedColumn:
        codes = np.flatnonzero(self.counts > 0)
        return WeightedColumn(codes.astype(np.float64), self.counts[codes].astype(np.float64))

    def n_stored(self) -> int:
        return int(self.counts.shape[0])


class NumericSummary:
    """Mergeable summary of a numeric column: exact distinct values, or a dyadic grid.

    See the module docstring for the two modes and the error of the grid.  Build one with
    :meth:`of`, combine with :meth:`merge`; both leave their inputs untouched.

    Parameters
    ----------
    cap : int, default=4096
        Most distinct values kept exactly.
    bins : int, default=4096
        Most bins of the grid.

    Attributes
    ----------
    exponent : int or None
        The grid's bin width is ``2**exponent``; None while the values are exact.
    lo, hi, count, at_lo : ndarray
        One entry per distinct value (exact: ``lo == hi``, ``at_lo == count``) or per
        non-empty bin: smallest value, largest value, count, count of the smallest value.
    n, mean, m2 : float
        Observed values, their mean and centred sum of squares (Chan's merge).
    """

    def __init__(self, cap: int = 4096, bins: int = 4096):
        if cap < 1 or bins < 2:
            raise ValueError(f"cap must be >= 1 and bins >= 2; got {cap} and {bins}")
        self.cap, self.bins = int(cap), int(bins)
        self.exponent: int | None = None
        empty = np.zeros(0)
        self.lo, self.hi, self.count, self.at_lo = empty, empty, empty, empty
        self.n, self.mean, self.m2 = 0.0, 0.0, 0.0
        self.unit = 1.0

    @classmethod
    def of(cls, x: np.ndarray, cap: int = 4096, bins: int = 4096) -> NumericSummary:
        """The summary of the finite values ``x`` (NaN cells are left out)."""
        x = np.asarray(x, dtype=np.float64)
        x = x[~np.isnan(x)]
        out = cls(cap, bins)
        if x.shape[0] == 0:
            return out
        u, c = np.unique(x, return_counts=True)
        c = c.astype(np.float64)
        out.n = float(x.shape[0])
        out.mean = float(c @ u) / out.n
        out.m2 = float(c @ (u - out.mean) ** 2)
        out._set(u, u, c, c, None)
        if u.shape[0] > cap:
            out._regrid()
        return out

    @property
    def exact(self) -> bool:
        """Whether every distinct value is kept (the column has at most ``cap`` of them)."""
        return self.exponent is None

    def n_stored(self) -> int:
        """Entries held (distinct values or bins): at most ``max(cap, bins)``."""
        return int(self.count.shape[0])

    def max_bin_mass(self) -> float:
        """Largest share of the values whose place inside a grid bin is not known (a bin's
        rows other than its smallest value; 0 when exact): the most by which the fitted
        CDF can differ from the in-memory one."""
        if self.exact or self.n == 0:
            return 0.0
        spread = self.hi > self.lo
        inside = self.count[spread] - self.at_lo[spread]
        return float(inside.max() / self.n) if spread.any() else 0.0

    def _set(self, lo, hi, count, at_lo, exponent) -> None:
        self.lo, self.hi, self.count, self.at_lo = lo, hi, count, at_lo
        self.exponent = exponent

    def merge(self, other: NumericSummary) -> NumericSummary:
        """The summary of the union of both parts' values."""
        if self.unit != 1.0 or other.unit != 1.0:
            raise ValueError("summaries read in other units (in_units) cannot be merged")
        out = NumericSummary(self.cap, self.bins)
        out.n = self.n + other.n
        if out.n == 0:
            return out
        delta = other.mean - self.mean
        out.mean = self.mean + delta * other.n / out.n
        out.m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / out.n
        parts = (self.lo, self.hi, self.count, self.at_lo)
        others = (other.lo, other.hi, other.count, other.at_lo)
        lo, hi, count, at_lo = (np.concatenate(pair) for pair in zip(parts, others, strict=True))
        if self.exact and other.exact:
            out._set(*_group(lo, lo, hi, count, at_lo), None)
            if out.count.shape[0] > out.cap:
                out._regrid()
            return out
        out._set(lo, hi, count, at_lo, None)
        out._regrid()
        return out

    def _regrid(self) -> None:
        """Group the entries by bin of the grid that fits the range in ``bins`` bins."""
        e = _grid_exponent(float(self.lo.min()), float(self.hi.max()), self.bins)
        key = np.floor(np.ldexp(self.lo, -e))
        self._set(*_group(key, self.lo, self.hi, self.count, self.at_lo), e)

    def in_units(self, unit: float) -> NumericSummary:
        """This summary read in units of ``unit`` (e.g. microseconds to days: 86400e6):
        :meth:`weighted` divides the values by it, as an in-memory encoding would."""
        out = NumericSummary(self.cap, self.bins)
        out.n, out.mean, out.m2 = self.n, self.mean, self.m2
        out._set(self.lo, self.hi, self.count, self.at_lo, self.exponent)
        out.unit = float(unit)
        return out

    def weighted(self) -> WeightedColumn:
        """The values (divided by ``unit``) as weighted points (see the module docstring
        for a grid's)."""
        if self.exact:
            return WeightedColumn(self.lo / self.unit, self.count.copy())
        return _grid_points(self, self.unit)


def _grid_exponent(lo: float, hi: float, bins: int) -> int:
    """Smallest ``e`` with ``floor(hi / 2**e) - floor(lo / 2**e) < bins``.

    The condition is monotone in ``e`` (halving bin indices never widens their span), so
    the result depends on the range only.  ``e`` is raised further when the bin indices of
    values far from zero would pass 2**52 (a range tiny next to its magnitude).
    """

    def fits(e: int) -> bool:
        top = max(abs(lo), abs(hi))
        if math.ldexp(top, -e) >= _MAX_INDEX:
            return False
        return math.floor(math.ldexp(hi, -e)) - math.floor(math.ldexp(lo, -e)) < bins

    width = (hi - lo) / (bins - 1)
    e = math.frexp(width)[1] if width > 0 else math.frexp(max(abs(hi), 1e-300))[1] - 52
    while fits(e - 1):
        e -= 1
    while not fits(e):
        e += 1
    return e


def _group(key, lo, hi, count, at_lo):
    """Entries with the same ``key`` merged: min/max/sum, and the count of the group's
    smallest value (only entries whose ``lo`` is that smallest value contribute)."""
    order = np.lexsort((lo, key))
    key, lo, hi, count, at_lo = key[order], lo[order], hi[order], count[order], at_lo[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    group_lo = lo[starts]  # sorted by lo within a group: the first is the smallest
    member = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, key.shape[0]]))
    at_min = np.where(lo == group_lo[member], at_lo, 0.0)
    return (
        group_lo,
        np.maximum.reduceat(hi, starts),
        np.add.reduceat(count, starts),
        np.add.reduceat(at_min, starts),
    )


def _grid_points(summary: NumericSummary, divisor: float) -> WeightedColumn:
    """A grid's bins as points: the smallest value with its exact count; the rest at the
    bin's midpoint, except its largest value (one row), which is exact."""
    lo, hi = summary.lo / divisor, summary.hi / divisor
    count, at_lo = summary.count, summary.at_lo
    single = hi == lo
    rest = np.where(single, 0.0, count - at_lo)
    first = np.where(single, count, at_lo)
    mid_weight = np.maximum(rest - 1.0, 0.0)
    points = [
        (lo, first, np.ones_like(single)),
        (0.5 * (lo + hi), mid_weight, np.zeros_like(single)),
        (hi, np.minimum(rest, 1.0), np.ones_like(single)),
    ]
    values = np.concatenate([p[0] for p in points])
    weights = np.concatenate([p[1] for p in points])
    atoms = np.concatenate([p[2] for p in points]).astype(bool)
    keep = weights > 0
    values, weights, atoms = values[keep], weights[keep], atoms[keep]
    order = np.argsort(values, kind="stable")
    values, weights, atoms = values[order], weights[order], atoms[order]
    # a midpoint can round onto an end value of a very narrow bin: merge equal points
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    values = values[starts]
    weights = np.add.reduceat(weights, starts)
    atoms = np.logical_and.reduceat(atoms, starts)
    n = summary.n
    spread = math.sqrt(max(summary.m2 / n, 0.0)) / divisor if n > 0 else 0.0
    return WeightedColumn(values, weights, atoms, spread, _grid_gap(lo, hi, count))


def _grid_gap(lo, hi, count) -> float | None:
    """A gap between distinct values no larger than the smallest between bins and the
    mean spacing inside the densest bin (the exact smallest gap is not kept)."""
    gaps = []
    if lo.shape[0] > 1:
        gaps.append(float((lo[1:] - hi[:-1]).min()))
    inside = (hi > lo) & (count >= 2)
    if inside.any():
        gaps.append(float(((hi - lo)[inside] / (count[inside] - 1)).min()))
    positive = [g for g in gaps if g > 0]
    return min(positive) if positive else None
