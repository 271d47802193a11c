"""Orders between columns that every training row keeps, such as ``temp_min <= temp_max``.

A density of each column's values and their dependence (a copula, a mixture) has no
notion of one column never exceeding another: fitted to weather rows whose minimum
temperature is never above the maximum, it still draws such rows now and then.  This
module finds those orders in the data and the generated rows that break them.

A pair of comparable features ``(a, b)`` (same group: numbers with numbers, dates with
dates, in a common unit) is a *kept order* ``x_a <= x_b`` when

* ``x_a <= x_b`` in every row where both cells are filled, and ``x_a < x_b`` in some;
* at least :data:`MIN_ROWS` rows have both cells filled;
* the two ranges overlap (``max x_a > min x_b``): otherwise every value of ``a`` is below
  every value of ``b`` and the order already follows from the range each column keeps.

The counts are mergeable (:class:`OrderCounter`), so chunked and Dask fits find the same
orders as a fit in memory.  Each group compares at most :data:`MAX_GROUP_FEATURES`
features (its first ones), which bounds the work at ``n * 32 * 31 / 2`` comparisons.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_GROUP_FEATURES", "MIN_ROWS", "OrderCounter", "breaks_orders"]

#: rows with both cells filled before an order counts as kept
MIN_ROWS = 20

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
    low, high : ndarray of shape (n_features,)
        Each feature's smallest and largest filled value, in its group's unit.
    """

    def __init__(self, groups, scales):
        self.groups = np.asarray(groups, dtype=np.int64)
        self.scales = np.asarray(scales, dtype=np.float64)
        self.pairs = _candidate_pairs(self.groups)
        m, d = self.pairs.shape[0], self.groups.shape[0]
        self.both, self.above, self.below = np.zeros(m), np.zeros(m), np.zeros(m)
        self.low, self.high = np.full(d, np.inf), np.full(d, -np.inf)

    def add(self, X: np.ndarray) -> OrderCounter:
        """Count the rows of ``X`` (features in the model's encoding; NaN = missing)."""
        if self.pairs.shape[0] == 0 or X.shape[0] == 0:
            return self
        used = np.unique(self.pairs)
        Z = X[:, used] * self.scales[used]
        # fmin and fmax skip NaN (an all-empty column leaves its range as it was)
        self.low[used] = np.fmin(self.low[used], np.fmin.reduce(Z, axis=0))
        self.high[used] = np.fmax(self.high[used], np.fmax.reduce(Z, axis=0))
        column = {f: c for c, f in enumerate(used)}
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
        self.low = np.fmin(self.low, other.low)
        self.high = np.fmax(self.high, other.high)
        return self

    def orders(self) -> np.ndarray:
        """The kept orders ``(a, b)``, meaning ``x_a <= x_b``, shape (p, 2)."""
        enough = self.both >= MIN_ROWS
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        rising = enough & (self.above == 0) & (self.below > 0) & (self.high[i] > self.low[j])
        falling = enough & (self.below == 0) & (self.above > 0) & (self.high[j] > self.low[i])
        kept = np.vstack([self.pairs[rising], self.pairs[falling][:, ::-1]])
        return kept[np.lexsort((kept[:, 1], kept[:, 0]))].astype(np.int64)


def breaks_orders(X: np.ndarray, orders: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Rows of ``X`` with ``x_a > x_b`` for some kept order ``(a, b)`` (both cells filled).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    orders : ndarray of int, shape (p, 2)
        From :meth:`OrderCounter.orders`.
    scales : ndarray of shape (n_features,)
        As for :class:`OrderCounter`.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    broken = np.zeros(X.shape[0], dtype=bool)
    for a, b in np.asarray(orders, dtype=np.int64):
        broken |= X[:, a] * scales[a] > X[:, b] * scales[b]
    return broken
