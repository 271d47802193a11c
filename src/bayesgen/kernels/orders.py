"""Orders between columns that every training row keeps, such as ``temp_min <= temp_max``.

A density of each column's values and their dependence (a copula, a mixture) has no
notion of one column never exceeding another: fitted to weather rows whose minimum
temperature is never above the maximum, it still draws such rows now and then.  This
module finds those orders in the data and the generated rows that break them.

A pair of comparable features ``(a, b)`` (same group: numbers with numbers, dates with
dates, in a common unit) is a *kept order* ``x_a <= x_b`` when

* ``x_a <= x_b`` in every row where both cells are filled, and ``x_a < x_b`` in some;
* at least :data:`MIN_ROWS` rows have both cells filled;
* the rows would break it often if the two columns were paired at random: at least
  :data:`MIN_EXPECTED_BREAKS` breaks expected among the rows with both cells filled, each
  breaking with probability ``q = P(A > B)`` for ``A`` and ``B`` drawn independently from
  the two columns' values.  Observing none then has probability about
  ``exp(-MIN_EXPECTED_BREAKS)`` (5e-5) when the pairing does not enforce the order, so
  a kept order is the data's law, not an accident of two ranges that barely overlap
  (disjoint ranges give ``q = 0``: that order already follows from the range each column
  keeps).

On scikit-learn's breast-cancer table every ``mean X <= worst X`` passes with 10 to 150
expected breaks, while orders such as ``mean smoothness <= radius error`` (tails that
barely overlap, under one expected break) are left out; those were the ones that new rows
of the table broke.

The counts are mergeable (:class:`OrderCounter`), so chunked and Dask fits find the same
orders as a fit in memory.  Each group compares at most :data:`MAX_GROUP_FEATURES`
features (its first ones), which bounds the work at ``n * 32 * 31 / 2`` comparisons.
"""

from __future__ import annotations

import numpy as np

from bayesgen.kernels.column_summary import NumericSummary

__all__ = [
    "MAX_GROUP_FEATURES",
    "MIN_EXPECTED_BREAKS",
    "MIN_ROWS",
    "OrderCounter",
    "breaks_orders",
    "broken_orders",
    "describe_orders",
]

#: rows with both cells filled before an order counts as kept
MIN_ROWS = 20

#: breaks expected among those rows, were the two columns paired at random, before an
#: order that none of them breaks counts as the data's law
MIN_EXPECTED_BREAKS = 10.0

#: features compared per group (numbers, or dates): the first ones, in column order
MAX_GROUP_FEATURES = 32


def _candidate_pairs(groups: np.ndarray) -> np.ndarray:
    """All pairs ``i < j`` of features in the same group (group ``-1``: none)."""
    pairs = []
    for g in np.unique(groups[groups >= 0]):
        members = np.flatnonzero(groups == g)[:MAX_GROUP_FEATURES]
        i, j = np.triu_indices(members.shape[0], k=1)
        pairs.append(np.column_stack([members[i], members[j]]))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.vstack(pairs).astype(np.int64)


class OrderCounter:
    """Mergeable counts behind the kept orders of a table.

    Parameters
    ----------
    groups : ndarray of int, shape (n_features,)
        The group of each feature; features compare only within a group, and ``-1``
        (e.g. a categorical column) with none.
    scales : ndarray of float, shape (n_features,)
        Multiplies each feature into its group's common unit (dates stored in days and in
        seconds compare as microseconds).

    Attributes
    ----------
    pairs : ndarray of shape (m, 2)
        The candidate pairs ``(i, j)``, ``i < j``.
    both, above, below : ndarray of shape (m,)
        Rows with both cells filled, rows with ``x_i > x_j``, rows with ``x_i < x_j``.
    values : dict of int to NumericSummary
        Each compared feature's filled values (all rows), in its group's unit: what the
        breaks expected under a random pairing are computed from.
    """

    def __init__(self, groups, scales):
        self.groups = np.asarray(groups, dtype=np.int64)
        self.scales = np.asarray(scales, dtype=np.float64)
        self.pairs = _candidate_pairs(self.groups)
        m = self.pairs.shape[0]
        self.both, self.above, self.below = np.zeros(m), np.zeros(m), np.zeros(m)
        self.values = {int(f): NumericSummary() for f in np.unique(self.pairs)}

    def add(self, X: np.ndarray) -> OrderCounter:
        """Count the rows of ``X`` (features in the model's encoding; NaN = missing)."""
        if self.pairs.shape[0] == 0 or X.shape[0] == 0:
            return self
        used = np.unique(self.pairs)
        Z = X[:, used] * self.scales[used]
        column = {f: c for c, f in enumerate(used)}
        for f, c in column.items():
            self.values[int(f)] = self.values[int(f)].merge(NumericSummary.of(Z[:, c]))
        for i in np.unique(self.pairs[:, 0]):
            sel = np.flatnonzero(self.pairs[:, 0] == i)
            a = Z[:, [column[i]]]
            b = Z[:, [column[j] for j in self.pairs[sel, 1]]]
            self.both[sel] += np.count_nonzero(~np.isnan(a) & ~np.isnan(b), axis=0)
            self.above[sel] += np.count_nonzero(a > b, axis=0)
            self.below[sel] += np.count_nonzero(a < b, axis=0)
        return self

    def merge(self, other: OrderCounter) -> OrderCounter:
        """Add another part's counts (same features); returns self."""
        if not np.array_equal(self.pairs, other.pairs):
            raise ValueError("order counters of different features cannot be merged")
        self.both += other.both
        self.above += other.above
        self.below += other.below
        for f, summary in other.values.items():
            self.values[f] = self.values[f].merge(summary)
        return self

    def orders(self) -> np.ndarray:
        """The kept orders ``(a, b)``, meaning ``x_a <= x_b``, shape (p, 2)."""
        enough = self.both >= MIN_ROWS
        rising = np.flatnonzero(enough & (self.above == 0) & (self.below > 0))
        falling = np.flatnonzero(enough & (self.below == 0) & (self.above > 0))
        candidates = [(t, *self.pairs[t]) for t in rising]
        candidates += [(t, *self.pairs[t][::-1]) for t in falling]
        kept = [
            (a, b)
            for t, a, b in candidates
            if self.both[t] * self.random_break_rate(a, b) >= MIN_EXPECTED_BREAKS
        ]
        if not kept:
            return np.empty((0, 2), dtype=np.int64)
        kept = np.array(kept, dtype=np.int64)
        return kept[np.lexsort((kept[:, 1], kept[:, 0]))]

    def random_break_rate(self, a: int, b: int) -> float:
        """``P(A > B)`` for ``A`` and ``B`` drawn independently from the values of
        features ``a`` and ``b``: how often a random pairing breaks ``x_a <= x_b``."""
        A, B = self.values[int(a)].weighted(), self.values[int(b)].weighted()
        total = A.weights.sum() * B.weights.sum()
        if total <= 0:
            return 0.0
        below = np.r_[0.0, np.cumsum(B.weights)]  # weight of B's values below each A value
        return float(A.weights @ below[np.searchsorted(B.values, A.values, side="left")] / total)


def describe_orders(names, orders) -> list[str]:
    """Each order ``(a, b)`` of feature indices in words, ``'temp_min <= temp_max'``, with
    ``names[j]`` the name of feature ``j``; none for None."""
    if orders is None:
        return []
    return [f"{names[a]} <= {names[b]}" for a, b in np.asarray(orders, dtype=np.int64)]


def broken_orders(X: np.ndarray, orders: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Which kept orders each row of ``X`` breaks: ``x_a > x_b`` with both cells filled.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    orders : ndarray of int, shape (p, 2)
        From :meth:`OrderCounter.orders`.
    scales : ndarray of shape (n_features,)
        As for :class:`OrderCounter`.

    Returns
    -------
    ndarray of bool, shape (n, p)
    """
    orders = np.asarray(orders, dtype=np.int64).reshape(-1, 2)
    a, b = orders[:, 0], orders[:, 1]
    return X[:, a] * scales[a] > X[:, b] * scales[b]


def breaks_orders(X: np.ndarray, orders: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Rows of ``X`` that break some kept order (see :func:`broken_orders`), shape (n,)."""
    return broken_orders(X, orders, scales).any(axis=1)
