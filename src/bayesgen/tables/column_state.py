"""What a streamed pass learns about one column beyond its first chunk.

A table fitted in chunks decides each column's kind on its first chunk
(:meth:`TableSchema.detect`); every later chunk must fit that kind, and widens what the
schema records so that it covers all chunks:

* categorical: categories first seen in a later chunk are added (the final order is the
  in-memory one: sorted, or for a pandas category dtype the first chunk's categories then
  new ones as they appear);
* numeric: the bounds, the decimals seen (the largest count over chunks, ``None`` if any
  chunk has more than 6) and whether every value is whole (an undeclared integer column
  with a fraction in a later chunk becomes continuous);
* datetime: the bounds and the unit (the finest any chunk needs; values are gathered in
  microseconds and converted at the end);
* every column: whether a cell is missing, and its dtype (a chunk in which the column is
  entirely empty says nothing about it; integer and float chunks give float64, as one read
  of the whole file would; True/False chunks and chunks with empty cells give object).

Everything here merges exactly (:meth:`ColumnState.merge`), so the blocks of a Dask
DataFrame can be reduced in any tree.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError
from bayesgen.tables.codec import category_codes, encode_column
from bayesgen.tables.dates import choose_unit, encode_datetime
from bayesgen.tables.detect import count_decimals
from bayesgen.tables.spec import (
    DATETIME_UNITS,
    STEP_MIN_DISTINCT,
    ColumnSpec,
    common_step,
    dtype_family,
    plain_value,
    sort_categories,
    step_of,
)

__all__ = ["ColumnState"]

_UNITS = tuple(DATETIME_UNITS)  # coarsest first: D, h, min, s, ms, us
_MAX_EXACT = 2.0**53
_NO_DECIMALS = 7  # "more than 6 decimals" (count_decimals says None), above any count


class ColumnState:
    """One modelled column's details gathered over chunks (see the module docstring).

    Parameters
    ----------
    spec : ColumnSpec
        The column as detected on the first chunk.
    declared : str or None
        The kind the user declared (``column_types``); an undeclared numeric column is
        an integer column only if every chunk holds whole numbers.
    """

    def __init__(self, spec: ColumnSpec, declared: str | None = None):
        self.spec = spec
        self.declared = declared
        self.dtype = spec.dtype
        self.seen = False
        self.missing = False
        self.lo, self.hi = np.inf, -np.inf
        self.decimals = 0
        self.whole = True
        self.gcd, self.distinct = 0, np.zeros(0)  # the step (tables.spec.common_step)
        self.unit = 0  # index into _UNITS
        self.values = list(spec.categories or [])
        self._index = None

    # -- encoding of a chunk ---------------------------------------------------------
    def encode(self, series: pd.Series) -> np.ndarray:
        """The chunk's cells as numbers (categories as codes into :attr:`values`, which
        grows; dates in microseconds); NaN for missing cells.  Updates the state."""
        missing = series.isna().to_numpy()
        if missing.all():
            self.missing = self.missing or missing.shape[0] > 0
            return np.full(missing.shape[0], np.nan)
        self.missing = self.missing or bool(missing.any())
        self.seen = True
        self.dtype = _merged_dtype(self.dtype, str(series.dtype))
        if self.spec.kind == "categorical":
            return self._codes(series)
        if self.spec.kind == "datetime":
            x = encode_datetime(dataclasses.replace(self.spec, datetime_unit="us"), series)
            seen = x[~missing]
            self.unit = max(self.unit, _UNITS.index(choose_unit(seen.astype(np.int64))))
        else:
            x = encode_column(self.spec, series, "error")
            seen = x[~missing]
            self._numbers(seen, str(series.dtype))
        self.lo, self.hi = min(self.lo, float(seen.min())), max(self.hi, float(seen.max()))
        return x

    def _numbers(self, seen: np.ndarray, dtype: str) -> None:
        if np.abs(seen).max() > _MAX_EXACT and self.spec.kind == "integer":
            raise DataError(
                f"column {self.spec.name!r} holds whole numbers beyond 2**53 (e.g. "
                f"{seen.max():.0f}), which cannot be modelled exactly; declare it "
                f"column_types={{{self.spec.name!r}: 'categorical'}} or drop it."
            )
        self.whole = self.whole and bool(np.all(seen == np.rint(seen)))
        if self.whole:
            self._take_step(*common_step(seen))
        found = count_decimals(seen, dtype)
        self.decimals = max(self.decimals, _NO_DECIMALS if found is None else found)

    def _take_step(self, gcd: int, distinct: np.ndarray) -> None:
        self.gcd = int(np.gcd(self.gcd, gcd))
        self.distinct = np.union1d(self.distinct, distinct)[:STEP_MIN_DISTINCT]

    def _codes(self, series: pd.Series) -> np.ndarray:
        codes, uniques = category_codes(series, self._lookup())
        if (codes == -1).any():
            known = self._lookup().get_indexer(uniques)
            self.values.extend(plain_value(v) for v in uniques[known < 0])
            self._index = None
            codes, _ = category_codes(series, self._lookup())
        return np.where(codes >= 0, codes, np.nan)

    def _lookup(self) -> pd.Index:
        if self._index is None:
            # an object index matches by value across types (2007 == 2007.0)
            self._index = pd.Index(self.values, dtype=object)
        return self._index

    # -- merging -----------------------------------------------------------------------
    def merge(self, other: ColumnState) -> np.ndarray | None:
        """Take in ``other``'s chunks; returns, for a categorical column, where each of
        ``other``'s category codes went (its counts must be moved there), else None."""
        self.missing = self.missing or other.missing
        if other.seen:
            self.dtype = _merged_dtype(self.dtype, other.dtype)
            self.seen = True
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
        self.decimals = max(self.decimals, other.decimals)
        self.whole = self.whole and other.whole
        self._take_step(other.gcd, other.distinct)
        self.unit = max(self.unit, other.unit)
        if self.spec.kind != "categorical":
            return None
        theirs = np.asarray(other.values, dtype=object)
        where = self._lookup().get_indexer(theirs)
        if (where < 0).any():
            self.values.extend(v for v, w in zip(other.values, where, strict=True) if w < 0)
            self._index = None
            where = self._lookup().get_indexer(theirs)
        return where

    # -- the final spec ----------------------------------------------------------------
    def final_order(self) -> np.ndarray | None:
        """For a categorical column, where each gathered category goes in the final
        category order (see :meth:`spec_categories`); None for other columns."""
        if self.spec.kind != "categorical":
            return None
        categories = self.spec_categories()
        return pd.Index(categories, dtype=object).get_indexer(np.asarray(self.values, dtype=object))

    def spec_categories(self) -> list:
        """The categories in their final order: sorted as detection sorts them, or for a
        pandas category dtype the first chunk's then new ones as they came; numbers as
        floats when the column ends up float (as one read of the whole file gives)."""
        values = self.values
        if dtype_family(self.dtype) == "float":
            values = [v if isinstance(v, (bool, str)) else float(v) for v in values]
        if self.spec.dtype == "category":
            return list(values)
        return sort_categories(values)

    @property
    def unit_name(self) -> str:
        return _UNITS[self.unit]

    def spec_covering_all(self) -> ColumnSpec:
        """The first chunk's spec widened to every chunk seen."""
        spec = dataclasses.replace(self.spec, dtype=self.dtype, missing=self.missing)
        if spec.kind == "categorical":
            spec.categories = self.spec_categories()
            return spec
        if spec.kind == "datetime":
            unit = DATETIME_UNITS[self.unit_name]
            spec.datetime_unit = self.unit_name
            spec.bounds = [self.lo / unit, self.hi / unit]
            return spec
        spec.bounds = [self.lo, self.hi]
        if self.declared is None:
            spec.kind = "integer" if self.whole else "continuous"
        decimals = None if self.decimals == _NO_DECIMALS else self.decimals
        spec.decimals = decimals if spec.kind == "continuous" else None
        whole = spec.kind == "integer" and self.whole
        spec.step = step_of(self.gcd, self.distinct.shape[0]) if whole else None
        return spec


def _merged_dtype(first: str, other: str) -> str:
    """The dtype one read of the whole column would give (see the module docstring)."""
    if first == other:
        return first
    families = {dtype_family(first), dtype_family(other)}
    if families <= {"integer", "float"}:
        return "float64"
    if families == {"bool", "text"}:
        return "object"
    return first
