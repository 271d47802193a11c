"""Tables in the classifier: a DataFrame in, a DataFrame out.

A pandas DataFrame is coded once by a :class:`bayesgen.tables.TableSchema` (detected at
``fit``, stored with the model): numbers stay numbers, categories become codes ``0..K-1``,
dates become day counts, empty cells become NaN.  The class densities work on that matrix;
samples are decoded back to the input's columns and dtypes.  Missing cells are modelled
in two parts: each class density marginalises them (missing at random), and samples get
missing cells again, each row a pattern of empty columns drawn from its class's patterns
(:mod:`bayesgen.kernels.missing_patterns`), so per-column rates and the cells missing
together are the training rows'.  Orders between columns that every training row keeps
(``temp_min <= temp_max``, :mod:`bayesgen.kernels.orders`) and the range of each column
hold in samples too: the cells that break one, or fall outside the range, are redrawn
given the rest of their row (:func:`keep_orders`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.base.validation import format_label
from bayesgen.kernels.orders import OrderCounter, broken_orders, describe_orders

__all__ = [
    "add_missing_cells",
    "check_density_fits_table",
    "encode_rows",
    "find_orders",
    "is_frame",
    "keep_orders",
    "missing_rates",
    "takes_categories",
    "NumberColumns",
]

#: rounds of redrawing the rows that still break a kept order before giving up
MAX_ORDER_REDRAWS = 100
#: candidates drawn at once for each row still to repair after the first round: the first
#: that keeps every order and range is taken (rejection sampling in fewer rounds: each
#: round costs one conditional per pattern of cells to redraw, whatever the rows)
REDRAW_CANDIDATES = 8
#: rounds after which a row that still breaks an order has every free cell redrawn
WHOLE_ROW_AFTER = 20


def is_frame(X) -> bool:
    """True for a pandas DataFrame (recognised without importing pandas)."""
    return type(X).__name__ == "DataFrame" and (type(X).__module__ or "").startswith("pandas")


def encode_rows(schema, X, *, unknown: str = "error") -> np.ndarray:
    """Rows of a DataFrame as the model's matrix (see :meth:`TableSchema.encode`).

    A table of numbers only also takes a plain array (or list) of rows, its columns in the
    schema's order, as scikit-learn estimators fitted on a DataFrame do.
    """
    numbers_only = all(f.kind in ("continuous", "integer") for f in schema.features)
    if not is_frame(X) and numbers_only:
        rows = np.asarray(X, dtype=float)
        if rows.ndim == 2 and rows.shape[1] == len(schema.features):
            X = pd.DataFrame(rows, columns=schema.feature_names)
    if not is_frame(X):
        raise DataError(
            "this model was fitted on a table; pass a pandas DataFrame with the columns "
            f"{schema.feature_names}"
        )
    return schema.encode(X, unknown=unknown)


def takes_categories(density) -> bool:
    """Whether a class density models categorical columns (it has a ``categories``
    parameter: the copulas, with any dependence)."""
    params = density.get_params(deep=False) if hasattr(density, "get_params") else {}
    return "categories" in params


def check_density_fits_table(density, schema, X: np.ndarray, density_name, names) -> None:
    """Refuse a class density that cannot take this table, saying which one can.

    Categorical columns need a density with a ``categories`` parameter (the copula);
    missing cells need one whose :meth:`Density.fits_missing` is True.  ``names``: the
    columns' names, for the message.
    """
    levels = {} if schema is None else schema.discrete_levels()
    if levels and not takes_categories(density):
        names = ", ".join(repr(schema.feature_names[j]) for j in sorted(levels))
        raise DataError(
            f"density {density_name!r} takes numbers only, but the table has categorical "
            f"columns ({names}); use density='copula' (or the default, which chooses among "
            "copulas) or drop them"
        )
    fits = getattr(density, "fits_missing", None)
    if np.isnan(X).any() and not (callable(fits) and fits()):
        row, col = np.argwhere(np.isnan(X))[0]
        raise RowDataError(
            f"density {density_name!r} needs complete rows, but ",
            row,
            f", {names[col]!r} is empty; use the default (auto among copulas), "
            "density='copula' or a mixture such as 'mfacopula', which fit missing cells, or "
            "drop or fill those rows",
        )


def missing_rates(counters) -> np.ndarray:
    """Fraction of missing cells per class and column, shape (n_classes, n_features), from
    each class's :class:`~bayesgen.kernels.missing_patterns.PatternCounter`."""
    missing = np.stack([c.missing for c in counters]).astype(np.float64)
    rows = np.array([c.rows for c in counters], dtype=np.float64)
    return missing / np.maximum(rows, 1.0)[:, None]


def check_every_class_sees_every_column(rates: np.ndarray, classes, names) -> None:
    """Refuse a column with no value in some class (``rates``: :func:`missing_rates`),
    naming the column and the class: no class density can model a column it never saw."""
    empty = np.argwhere(rates >= 1.0)
    if empty.size:
        k, j = empty[0]
        raise DataError(
            f"column {names[j]!r} has no value in class {format_label(classes[k])}: every "
            "class needs at least one value in each column. Drop the column, or give that "
            "class some values in it"
        )


def add_missing_cells(
    X: np.ndarray, index: np.ndarray, rates: np.ndarray, patterns, rng, observed=()
) -> np.ndarray:
    """Blank cells of generated rows: each row takes a missing-value pattern of its class
    (``patterns``, a :class:`~bayesgen.kernels.missing_patterns.MissingPatterns`; None in
    files written before patterns were kept: then each cell independently at its class's
    rate).  Columns in ``observed`` (the conditions of ``given=``) are never blanked: the
    pattern is drawn given that they are filled."""
    if not np.any(rates > 0):
        return X
    observed = list(observed)
    if patterns is None:
        rates = rates.copy()
        rates[:, observed] = 0.0
        blank = rng.random(X.shape) < rates[index]
    else:
        blank = patterns.blank(index, rates, rng, observed=observed)
    X = X.astype(np.float64, copy=False)
    X[blank] = np.nan
    return X


class NumberColumns:
    """The columns of an array of numbers seen as a table's for its orders: every feature
    a number (one group, unit 1), written as it is drawn, named ``feature j`` (or by its
    name).  Has the three methods of :class:`~bayesgen.tables.TableSchema` that
    :func:`find_orders` and :func:`keep_orders` use."""

    def __init__(self, n_features: int, names=None):
        self.n_features = int(n_features)
        self.names = [f"feature {j}" for j in range(n_features)] if names is None else list(names)

    def order_groups(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.n_features, dtype=np.int64), np.ones(self.n_features)

    def as_decoded(self, values: np.ndarray, features) -> np.ndarray:
        return np.array(values, dtype=np.float64, copy=True)

    def describe_orders(self, orders) -> list[str]:
        return describe_orders(self.names, orders)

    def outside_bounds(self, values: np.ndarray) -> np.ndarray:
        return np.zeros(values.shape, dtype=bool)  # arrays have no bounds


def find_orders(columns, X: np.ndarray) -> np.ndarray:
    """The orders every row of the encoded table ``X`` keeps (see
    :mod:`bayesgen.kernels.orders`), shape (p, 2): ``(a, b)`` means ``x_a <= x_b``.
    ``columns``: a :class:`~bayesgen.tables.TableSchema` or :class:`NumberColumns`."""
    return OrderCounter(*columns.order_groups()).add(X).orders()


def keep_orders(X: np.ndarray, schema, orders, redraw, fixed=(), observed=None) -> np.ndarray:
    """Redraw the cells of generated rows that break a kept order or fall outside their
    column's range, given the rest of the row.

    A row that breaks ``x_a <= x_b`` gets the cells of that order drawn again from their
    conditional given its other cells and its class, ``p(x_a, x_b | x_rest, y)``
    (:func:`~bayesgen.classifier.conditional.redraw_cells`), until every order holds;
    orders that share a column (``mean <= worst`` and ``error <= mean``) are redrawn
    together, as one chain.  Its other cells and its label stay, so a row follows
    ``p(x_rest | y) p(x_chain | x_rest, y, orders kept)``: the columns outside the orders
    keep the class density's distribution exactly (this is not the class density
    restricted to the orders, which would shift them too).  A row still broken after
    :data:`WHOLE_ROW_AFTER` rounds (cells pinned by the rest of the row) has all its free
    cells redrawn.  Redrawing whole rows from the start, i.e. the density restricted to
    the orders, shifted the marginals (on breast-cancer, whose copula breaks its 15 orders
    in a quarter of the rows, the mean per-column KS against held-out rows went from 0.081
    to 0.097; with cells 0.083).  The check is on the values as decoding writes them (rounded to
    decimals, steps and date units), so the written table keeps the orders.  Scores
    (``predict_proba``, ``score_samples``) stay those of the class densities.

    A generated cell (not one :meth:`impute` fills: its row's data may lie outside the
    range) outside its column's range (:meth:`~bayesgen.tables.TableSchema.outside_bounds`:
    the range seen in training, or one set with ``set_bounds``) is redrawn the same way:
    the cell follows its conditional given the rest of the row truncated to the range, and
    the rest of the row keeps the class density's distribution (as for the orders, this
    is not the density restricted to the range, which would also move the other columns
    of a correlated row).  Clipping it instead, as decoding does with a cell still outside
    after :data:`MAX_ORDER_REDRAWS` rounds, piled a small class's tail draws onto the ends
    of the range (a class of three rows put a fifth of its rows at the earliest date of
    the whole table).  The redraws cost time: sampling a table took 1.8-2.9 times as long
    (breast-cancer, wine; ``benchmarks/bounds.py``) as with clipping.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
        Encoded rows; changed in place and returned.
    schema : TableSchema or NumberColumns
    orders : ndarray of int, shape (p, 2)
    redraw : callable
        ``redraw(rows, cells)`` gives new values for ``X[rows]`` in which the cells marked
        in ``cells`` (bool, shape ``(len(rows), n_features)``) are drawn from their
        conditional given the others, under the row's class.
    fixed : sequence of int
        Columns never redrawn (the conditions of ``given=``); a row that breaks an order
        between two of them cannot be repaired, and is warned about.
    observed : ndarray of bool, shape (n, n_features), optional
        Cells never redrawn because they are data (the observed cells of :meth:`impute`);
        an order between two of them is the data's own business and is not checked.

    Warns
    -----
    UserWarning
        When rows still break an order after :data:`MAX_ORDER_REDRAWS` rounds, or break
        one between two ``fixed`` columns (conditions that leave the order no room); those
        rows are kept as drawn.  When cells are still outside their range after as many
        rounds (a range set much narrower than the class's values): they are clipped onto
        its ends when decoded.
    """
    orders = np.asarray(orders, dtype=np.int64).reshape(-1, 2)
    if X.shape[0] == 0:
        return X
    conditions = np.zeros(X.shape[1], dtype=bool)
    conditions[list(fixed)] = True
    data = np.zeros(X.shape, dtype=bool) if observed is None else np.asarray(observed, bool)
    check = _OrderCheck(schema, orders, conditions, data)

    def outside(values: np.ndarray) -> np.ndarray:
        """Generated cells that decoding would clip (impute's filled cells, beside data
        that may itself lie outside the range, are not held to it)."""
        if observed is not None:
            return np.zeros(values.shape, dtype=bool)
        return schema.outside_bounds(values) & ~conditions

    def violations(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Rows that still break a repairable order or have a cell outside its range."""
        return check.broken(values, rows)[0].any(axis=1) | outside(values).any(axis=1)

    chains = _chains(orders, X.shape[1])
    stuck = np.zeros(X.shape[0], dtype=bool)
    named = np.zeros(orders.shape[0], dtype=bool)  # the orders the stuck rows break
    clipped = 0  # cells still outside their range at the end
    todo = np.arange(X.shape[0])
    for round_ in range(MAX_ORDER_REDRAWS + 1):
        broken, hopeless = check.broken(X[todo], todo)
        stuck[todo] |= hopeless.any(axis=1)
        named |= hopeless.any(axis=0)
        out = outside(X[todo])
        rows = broken.any(axis=1) | out.any(axis=1)
        todo, broken, out = todo[rows], broken[rows], out[rows]
        if todo.size == 0:
            break
        if round_ == MAX_ORDER_REDRAWS:
            stuck[todo] |= broken.any(axis=1)
            named |= broken.any(axis=0)
            clipped = int(out.sum())
            break
        if round_ < WHOLE_ROW_AFTER:
            cells = ((broken.astype(np.int64) @ chains) > 0) | out
        else:
            cells = np.ones((todo.size, X.shape[1]), dtype=bool)
        # one draw per row first (most rows need no more), then several at once
        k = 1 if round_ == 0 else REDRAW_CANDIDATES
        X[todo] = _first_kept(redraw, todo, cells & ~conditions & ~data[todo], violations, k)
    if stuck.any():
        warnings.warn(
            f"{int(stuck.sum())} generated rows still break an order every training row "
            f"keeps ({'; '.join(schema.describe_orders(orders[named]))}): the conditions leave it "
            f"no room (both columns conditioned) or almost none (still broken after "
            f"{MAX_ORDER_REDRAWS} redraws). Those rows are kept as drawn.",
            UserWarning,
            stacklevel=3,
        )
    if clipped:
        warnings.warn(
            f"{clipped} generated cells fell outside their column's range in "
            f"{MAX_ORDER_REDRAWS + 1} rounds of draws and are clipped onto its ends: the "
            "class density spreads far beyond the range (a Gaussian of a few rows in many "
            "dimensions), or the range was set much narrower than the class's values (to "
            "sample inside a range, condition on it: given={column: (lo, hi)}).",
            UserWarning,
            stacklevel=3,
        )
    return X


def _first_kept(redraw, rows: np.ndarray, cells: np.ndarray, violations, k: int) -> np.ndarray:
    """New values of ``rows``: ``k`` draws of their ``cells`` each, and per row the first
    that keeps every order and range (else the first, redrawn in the next round): the
    same distribution as drawing until one does."""
    if k == 1:
        return redraw(rows, cells)
    repeated = np.repeat(rows, k)
    drawn = redraw(repeated, np.repeat(cells, k, axis=0))
    bad = violations(drawn, repeated).reshape(rows.size, k)
    pick = np.argmin(bad, axis=1)  # the first False; 0 when every candidate fails
    return drawn.reshape(rows.size, k, -1)[np.arange(rows.size), pick]


class _OrderCheck:
    """Which kept orders generated rows break, as decoding writes them: those that a redraw
    can repair, and those between two conditions of ``given=`` (hopeless); an order
    between two data cells (of :meth:`impute`) is the data's own business and not checked."""

    def __init__(self, schema, orders, conditions, data):
        self.schema, self.orders = schema, orders
        _, self.scales = schema.order_groups()
        self.used = np.unique(orders)
        self.local = np.searchsorted(self.used, orders)
        a, b = orders[:, 0], orders[:, 1]
        self.hopeless = conditions[a] & conditions[b]
        self.unchecked = data[:, a] & data[:, b]

    def broken(self, X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(repairable, hopeless)`` broken orders of the rows ``X`` (positions ``rows``),
        bool arrays of shape ``(len(rows), n_orders)``."""
        if self.orders.shape[0] == 0:
            none = np.zeros((X.shape[0], 0), dtype=bool)
            return none, none
        values = self.schema.as_decoded(X[:, self.used], self.used)
        broken = broken_orders(values, self.local, self.scales[self.used])
        broken &= ~self.unchecked[rows]
        return broken & ~self.hopeless, broken & self.hopeless


def _chains(orders: np.ndarray, n_features: int) -> np.ndarray:
    """For each order, the columns of its chain (all the orders linked to it through shared
    columns): a bool matrix of shape (p, n_features)."""
    parent = np.arange(n_features)

    def root(j):
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    for a, b in orders:
        parent[root(a)] = root(b)
    roots = np.array([root(j) for j in range(n_features)])
    involved = np.zeros(n_features, dtype=bool)
    involved[np.unique(orders)] = True
    return (roots[None, :] == roots[orders[:, 0]][:, None]) & involved[None, :]
