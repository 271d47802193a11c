"""Table schemas: detect each column's kind once, then encode tables to numbers and back.

A :class:`TableSchema` is learned from the training table (without its label column) and
stored with the model.  :meth:`TableSchema.encode` turns a table into a float64 matrix the
densities can model; :meth:`TableSchema.decode` turns generated rows back into a table
with the training dtypes, rounded like the training data and clipped to its ranges (the
classifier first redraws generated cells outside them, so clipping only catches round-off
and the rare cell still outside: :func:`bayesgen.classifier.tables.keep_orders`).

Detection rules (each column on its own; ``column_types``, ``drop`` and ``keep`` override)
------------------------------------------------------------------------------------------
* A column with no filled cell is an error (``drop=[name]`` to leave it out), not a drop.
* ``bool`` / ``boolean`` (and object columns of True/False) -> categorical ``[False, True]``.
* ``category`` -> categorical with the dtype's categories (all of them, used or not, so
  decoding restores the dtype exactly) and its ``ordered`` flag.  Categories must be text,
  numbers or booleans.
* ``datetime64`` (naive or time-zone aware) -> datetime.
* Numbers (int, uint, float, nullable Int/Float, object columns of numbers): all whole ->
  integer, else continuous.  Few distinct values stay numeric (declare them categorical).
  Continuous columns record their decimals (smallest d in 0..6 that rounding keeps; None
  beyond).  Both record the range seen as bounds.  An integer column that is filled, has
  at least 20 rows and is a permutation of consecutive integers (row numbers) is an
  identifier, dropped unless ``keep``-ed (then categorical).  Infinity is an error; whole
  numbers beyond 2**53 are an error (float64 cannot hold them exactly).
* Text (object, str, string):

  1. every filled cell a finite number (text or not) -> numeric as above, and text again
     when decoded, unless some cell has a leading zero (``"007"``: codes, kept as text);
  2. more than 90% numbers and the rest not -> error naming the first non-number (a typo
     or a missing-value marker such as ``"n/a"``);
  3. every cell parses with one format of ``DATETIME_FORMATS`` -> datetime read from text
     (written back in that format); more than 90% parse -> error naming the first one
     that does not;
  4. more than 50% distinct values and either more than 20 distinct values or a mean
     length above 30 characters -> identifier or free text, dropped unless ``keep``-ed;
  5. otherwise categorical, categories sorted (booleans, then numbers, then text).

  Cells must be text, numbers or booleans (bytes, dates or lists in an object column are
  an error naming the row), and text must be valid UTF-8.
* Other dtypes (timedelta, period, interval, complex, pyarrow-backed) are an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError
from bayesgen.base.persist import persistable
from bayesgen.base.state_checks import state_error
from bayesgen.base.suggest import close_matches
from bayesgen.kernels.orders import describe_orders
from bayesgen.tables.codec import as_decoded, decode_column, encode_column, outside_range
from bayesgen.tables.describe import describe_column
from bayesgen.tables.detect import bare_spec, detect_column
from bayesgen.tables.spec import (
    DATETIME_UNITS,
    KINDS,
    ColumnSpec,
    dtype_family,
    spec_from_state,
    spec_to_state,
    supported_dtype,
)

__all__ = ["TableSchema"]

_STATE_VERSION = 1
_MAX_REASON = 10_000
_GUESS = {"integer": "integer", "float": "continuous", "datetime": "datetime"}


def _names_hint(name, names) -> str:
    close = close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}the columns are {list(names)}"


def _check_frame(frame, what: str = "the table") -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame; got {type(frame).__name__}.")
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise DataError(
            f"column names must be text; got {bad[0]!r} ({type(bad[0]).__name__}). Rename "
            "them, e.g. frame.columns = frame.columns.astype(str)."
        )
    repeated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if repeated:
        raise DataError(f"{what} has repeated column names {repeated}; rename them.")


def _as_names(value, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):  # drop="x" means one column, not its letters
        return [value]
    try:
        return list(value)
    except TypeError:
        raise DataError(f"{what} must be a list of column names; got {value!r}.") from None


def _check_overrides(frame, column_types, drop, keep):
    """Validate the overrides against the table; returns them as (dict, set, set)."""
    column_types = {} if column_types is None else column_types
    if not isinstance(column_types, dict):
        raise DataError(f"column_types must be a dict name -> kind; got {column_types!r}.")
    drop, keep = _as_names(drop, "drop"), _as_names(keep, "keep")
    for what, names in (("column_types", column_types), ("drop", drop), ("keep", keep)):
        for name in names:
            if name not in frame.columns:
                raise DataError(
                    f"{what} names a column {name!r} that is not in the table; "
                    f"{_names_hint(name, frame.columns)}."
                )
    for name, kind in column_types.items():
        if kind not in KINDS:
            raise DataError(
                f"column_types gives column {name!r} the kind {kind!r}; kinds are {KINDS}."
            )
    clash = set(drop) & (set(keep) | set(column_types))
    if clash:
        raise DataError(
            f"column {sorted(clash)[0]!r} is in drop and also in keep or column_types; "
            "name it in only one of them."
        )
    return column_types, set(drop), set(keep)


def _check_not_empty(frame: pd.DataFrame, drop: set) -> None:
    empty = [c for c in frame.columns if c not in drop and frame[c].isna().all()]
    if not empty:
        return
    n = len(frame)
    if len(empty) == 1:
        raise DataError(
            f"column {empty[0]!r} is empty in all {n} rows; drop it with drop=[{empty[0]!r}]."
        )
    raise DataError(f"columns {empty} are empty in all {n} rows; drop them with drop={empty}.")


def _user_dropped(name: str, series: pd.Series) -> ColumnSpec:
    dtype = str(series.dtype)
    # a cheap guess from the dtype: a dropped column is not analysed
    kind = (
        _GUESS.get(dtype_family(dtype), "categorical") if supported_dtype(dtype) else "identifier"
    )
    return bare_spec(name, kind, dtype, series.isna().to_numpy())


@persistable("TableSchema")
class TableSchema:
    """The columns of a table and how each one is turned into numbers and back.

    Build one with :meth:`detect`.  ``columns`` lists every input column (except the
    label) in input order, including dropped ones; ``dropped`` maps each column that is
    not modelled to a one-line reason.

    Parameters
    ----------
    columns : list of ColumnSpec
    dropped : dict of str to str, optional
    """

    def __init__(self, columns: list[ColumnSpec], dropped: dict[str, str] | None = None):
        self.columns = list(columns)
        self.dropped = dict(dropped or {})
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("column names in a schema must be unique")
        unknown = set(self.dropped) - set(names)
        if unknown:
            raise ValueError(f"dropped names columns not in the schema: {sorted(unknown)}")
        for spec in self.columns:
            if spec.kind == "identifier" and spec.name not in self.dropped:
                raise ValueError(f"identifier column {spec.name!r} must be dropped")

    @classmethod
    def detect(
        cls,
        frame: pd.DataFrame,
        *,
        column_types: dict[str, str] | None = None,
        drop=(),
        keep=(),
    ) -> TableSchema:
        """Detect the schema of ``frame`` (the training table without its label column).

        Parameters
        ----------
        frame : pandas.DataFrame
        column_types : dict of str to str, optional
            Declared kinds (one of :data:`KINDS`) overriding detection, e.g.
            ``{"year": "categorical"}``.
        drop : list of str
            Columns to leave out.
        keep : list of str
            Columns to model (as categorical) even if they look like identifiers.

        Raises
        ------
        DataError
            A column is empty, holds values that cannot be modelled (naming the column,
            row and value), an override names an unknown column or kind, or no column is
            left to model.
        """
        _check_frame(frame)
        if len(frame) == 0:
            raise DataError("the table has no rows; pass at least one row to learn from.")
        column_types, drop, keep = _check_overrides(frame, column_types, drop, keep)
        _check_not_empty(frame, drop)
        columns, dropped = [], {}
        for name in frame.columns:
            if name in drop:
                spec, reason = _user_dropped(name, frame[name]), "dropped by the user (drop=)"
            else:
                spec, reason = detect_column(
                    name, frame[name], declared=column_types.get(name), keep=name in keep
                )
            columns.append(spec)
            if reason is not None:
                dropped[name] = reason
        schema = cls(columns, dropped)
        if not schema.feature_names:
            raise DataError(
                "no column is left to model: every column was dropped "
                f"({'; '.join(f'{k}: {v}' for k, v in dropped.items())})."
            )
        return schema

    @property
    def features(self) -> list[ColumnSpec]:
        """Specs of the modelled columns, in order."""
        return [c for c in self.columns if c.name not in self.dropped]

    @property
    def feature_names(self) -> list[str]:
        """Names of the modelled columns, in order (the columns of :meth:`encode`)."""
        return [c.name for c in self.features]

    @property
    def n_features(self) -> int:
        """Number of modelled columns."""
        return len(self.features)

    def __getitem__(self, name: str) -> ColumnSpec:
        """The spec of column ``name`` (modelled or dropped); KeyError if there is none."""
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def encode(self, frame: pd.DataFrame, *, unknown: str = "error") -> np.ndarray:
        """The modelled columns of ``frame`` as a float64 matrix of shape (n, d).

        Continuous and integer columns become numbers, categorical ones the code 0..K-1
        of their category, datetimes the number of days (or seconds) since 1970-01-01;
        missing cells become NaN.  Other columns of ``frame`` (the label, dropped ones)
        are ignored.

        Parameters
        ----------
        frame : pandas.DataFrame
        unknown : {"error", "missing"}, default="error"
            What a category not seen in training becomes: an error, or a missing cell.

        Raises
        ------
        DataError
            A modelled column is absent, a category is unseen, or a value does not parse
            (naming the column, row and value).
        """
        if unknown not in ("error", "missing"):
            raise DataError(f"unknown must be 'error' or 'missing'; got {unknown!r}.")
        _check_frame(frame)
        absent = [n for n in self.feature_names if n not in frame.columns]
        if absent:
            raise DataError(
                f"the table lacks the column(s) {absent} the model was trained on; "
                f"{_names_hint(absent[0], frame.columns)}."
            )
        out = np.empty((len(frame), self.n_features), dtype=np.float64)
        for j, spec in enumerate(self.features):
            out[:, j] = encode_column(spec, frame[spec.name], unknown)
        return out

    def decode(self, X) -> pd.DataFrame:
        """A table from encoded rows: the inverse of :meth:`encode`.

        Categorical codes go to the nearest category (clipped to 0..K-1), integers are
        rounded, continuous values rounded to their decimals, numbers and datetimes clipped
        to the bounds and datetimes rounded to their unit.  NaN becomes a missing cell.
        Columns get their training dtype (a column with a missing cell but an integer or
        bool dtype gets the nullable ``Int64``/``boolean`` form).

        Parameters
        ----------
        X : array-like of shape (n, d)

        Returns
        -------
        pandas.DataFrame
            The modelled columns, in order, with a fresh RangeIndex.
        """
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"decode needs a numeric array; could not convert it ({exc})."
            ) from None
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise DataError(
                f"decode needs an array of shape (n, {self.n_features}) for the columns "
                f"{self.feature_names}; got shape {X.shape}."
            )
        data = {spec.name: decode_column(spec, X[:, j]) for j, spec in enumerate(self.features)}
        return pd.DataFrame(data, columns=self.feature_names, index=pd.RangeIndex(len(X)))

    def order_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """Which modelled columns compare with each other, and in which unit.

        Numbers (continuous and integer columns) form group 0, dates group 1 (scaled to
        microseconds, so that a column stored in days compares with one in seconds);
        categorical columns are in no group (-1).  See :mod:`bayesgen.kernels.orders`.

        Returns
        -------
        groups : ndarray of int, shape (n_features,)
        scales : ndarray of float, shape (n_features,)
        """
        groups = np.full(self.n_features, -1, dtype=np.int64)
        scales = np.ones(self.n_features)
        for j, spec in enumerate(self.features):
            if spec.kind in ("continuous", "integer"):
                groups[j] = 0
            elif spec.kind == "datetime":
                groups[j], scales[j] = 1, float(DATETIME_UNITS[spec.datetime_unit])
        return groups, scales

    def as_decoded(self, values: np.ndarray, features) -> np.ndarray:
        """Encoded values of the modelled columns ``features`` (one column of ``values``
        each) as :meth:`decode` writes them (clipped to the bounds, rounded to decimals,
        steps or date units), still encoded; categorical codes unchanged.  A new array."""
        out = np.array(values, dtype=np.float64, copy=True)
        for c, j in enumerate(features):
            spec = self.features[int(j)]
            if spec.kind != "categorical":
                out[:, c] = as_decoded(spec, out[:, c])
        return out

    def outside_bounds(self, values: np.ndarray) -> np.ndarray:
        """Encoded rows' cells that decoding would clip onto a bound (values outside the
        range seen in training, or set by :meth:`set_bounds`, once rounded as written):
        bool, the shape of ``values``; never a categorical cell or a missing one."""
        out = np.zeros(values.shape, dtype=bool)
        for j, spec in enumerate(self.features):
            if spec.kind != "categorical":
                out[:, j] = outside_range(spec, values[:, j])
        return out

    def discrete_levels(self) -> dict[int, int]:
        """Feature index -> number of categories, for the categorical columns."""
        return {
            j: len(spec.categories)
            for j, spec in enumerate(self.features)
            if spec.kind == "categorical"
        }

    def set_bounds(self, name: str, bounds) -> None:
        """Widen (or narrow, or remove with None) the range of a column's generated values.

        A generated cell outside the range is drawn again given the rest of its row
        (:func:`~bayesgen.classifier.tables.keep_orders`), and one that keeps falling outside
        is clipped onto the nearer end; so a range much narrower than the class's values
        piles some values up there.  To sample inside a range exactly, condition on it
        (``sample(given={name: (lo, hi)})``)."""
        spec = self[name]
        if name in self.dropped or spec.kind not in ("continuous", "integer", "datetime"):
            raise DataError(f"column {name!r} is not a modelled numeric or datetime column.")
        if bounds is not None:
            lo, hi = (float(b) for b in bounds)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                raise DataError(f"bounds of {name!r} must be finite [lo, hi]; got {bounds!r}.")
            bounds = [lo, hi]
        spec.bounds = bounds

    def describe_orders(self, orders) -> list[str]:
        """Each order ``(a, b)`` of feature indices as ``'temp_min <= temp_max'`` (none for
        None)."""
        return describe_orders(self.feature_names, orders)

    def describe(self) -> list[str]:
        """One line per column: name, kind and details, or why it is dropped."""
        return [describe_column(spec, self.dropped.get(spec.name)) for spec in self.columns]

    def __repr__(self) -> str:
        return f"TableSchema({self.feature_names!r}, dropped={sorted(self.dropped)!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, TableSchema):
            return NotImplemented
        return self.columns == other.columns and self.dropped == other.dropped

    __hash__ = None

    def _get_state(self) -> dict:
        return {
            "version": _STATE_VERSION,
            "columns": [spec_to_state(spec) for spec in self.columns],
            "dropped": dict(self.dropped),
        }

    @classmethod
    def _from_state(cls, state: dict) -> TableSchema:
        if not isinstance(state, dict) or set(state) != {"version", "columns", "dropped"}:
            raise ValueError("a table schema state has the keys version, columns, dropped")
        version = state["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version != _STATE_VERSION:
            raise state_error("TableSchema version", f"the number {_STATE_VERSION}", version)
        dropped, columns = state["dropped"], state["columns"]
        ok = isinstance(dropped, dict) and all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= _MAX_REASON
            for k, v in dropped.items()
        )
        if not ok:
            raise ValueError("dropped must map column names to text reasons")
        if not isinstance(columns, list) or not columns:
            raise ValueError("columns must be a non-empty list")
        specs = []
        for item in columns:
            name = item.get("name") if isinstance(item, dict) else None
            name = name if isinstance(name, str) else None
            specs.append(spec_from_state(item, dropped=name in dropped))
        schema = cls(specs, dropped)
        if not schema.features:
            raise ValueError("a table schema needs at least one modelled column")
        return schema
