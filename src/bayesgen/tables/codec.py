"""Per-column encoding to float64 and decoding back to the training dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesgen.base.errors import RowDataError
from bayesgen.tables.dates import date_range, decode_datetime, encode_datetime, whole_units
from bayesgen.tables.spec import (
    ColumnSpec,
    dtype_family,
    nullable_dtype,
    plain_value,
    restore_dtype,
)

__all__ = ["as_decoded", "category_codes", "decode_column", "encode_column", "range_text"]

#: decoded whole numbers stay within +-2**53, where float64 holds every integer exactly
_MAX_EXACT = 2.0**53
#: beyond this magnitude rounding to decimals is meaningless (and 10**d scaling overflows)
_ROUND_LIMIT = 1e15
_PREVIEW = 10


def encode_column(spec: ColumnSpec, series: pd.Series, unknown: str) -> np.ndarray:
    """One column as float64 values, NaN for missing cells (see ``TableSchema.encode``)."""
    if spec.kind == "categorical":
        return _encode_categorical(spec, series, unknown)
    if spec.kind == "datetime":
        return encode_datetime(spec, series)
    return _encode_number(spec, series)


def decode_column(spec: ColumnSpec, x: np.ndarray) -> pd.Series:
    """One column from float64 values back to the training dtype (see ``TableSchema.decode``)."""
    if spec.kind == "categorical":
        return _decode_categorical(spec, x)
    if spec.kind == "datetime":
        return decode_datetime(spec, x)
    return _decode_number(spec, x)


def range_text(spec: ColumnSpec, lo: float, hi: float) -> str:
    """``[lo, hi]`` of encoded values in the column's own terms (dates as dates in its
    format, not as their codes), for messages."""
    if spec.kind != "datetime":
        return f"[{lo:g}, {hi:g}]"
    first, last = decode_column(spec, np.array([lo, hi], dtype=float))
    return f"[{first}, {last}]"


def _preview(categories: list) -> str:
    shown = ", ".join(repr(c) for c in categories[:_PREVIEW])
    more = f" and {len(categories) - _PREVIEW} more" if len(categories) > _PREVIEW else ""
    return f"[{shown}{more}]"


def category_codes(series: pd.Series, categories: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's position in ``categories`` (an object index): -1 for a value not
    there, -2 for a missing cell; and the distinct values.

    The cells are factorized first, so only their distinct values are looked up (an
    object index matches by value across types: 2007 == 2007.0, np.str_ == str).

    Returns
    -------
    codes : ndarray of int64, shape (n,)
    uniques : ndarray of object
        The column's distinct filled values, in order of appearance.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    where = np.r_[categories.get_indexer(uniques), -2] if uniques.size else np.array([-2])
    return where[codes], uniques


def _as_booleans(series: pd.Series) -> pd.Series:
    """Text ``true`` / ``false`` (any case) as the booleans a boolean column holds: a row
    read from a CSV file has them as text."""
    text = (np.dtypes.ObjectDType, pd.StringDtype, pd.CategoricalDtype)
    if not isinstance(series.dtype, text):
        return series
    words = {"true": True, "false": False}
    return series.astype(object).map(
        lambda v: words.get(v.strip().lower(), v) if isinstance(v, str) else v
    )


def _encode_categorical(spec: ColumnSpec, series: pd.Series, unknown: str) -> np.ndarray:
    if spec.categories and all(isinstance(c, (bool, np.bool_)) for c in spec.categories):
        series = _as_booleans(series)
    codes, _ = category_codes(series, pd.Index(spec.categories, dtype=object))
    unseen = codes == -1
    if unseen.any() and unknown == "error":
        row = int(np.flatnonzero(unseen)[0])
        value = plain_value(series.iloc[row])
        raise RowDataError(
            f"column {spec.name!r}: ",
            row,
            f" holds {value!r}, a category not seen in training; known categories: "
            f"{_preview(spec.categories)}. Fix the cell, or pass unknown='missing' "
            "(model.set_params(unknown='missing')) to treat unseen categories as missing "
            "cells.",
        )
    return np.where(codes >= 0, codes, np.nan)


def _encode_number(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):
        out = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        out = np.full(len(series), np.nan)
        filled = pd.Series(series.to_numpy(dtype=object)[~missing], dtype=object)
        out[~missing] = pd.to_numeric(filled, errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    bad = ~np.isfinite(out) & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = plain_value(series.iloc[row])
        raise RowDataError(
            f"column {spec.name!r}: ",
            row,
            f" holds {value!r}, which is not a finite number. Fix the cell or make it a "
            "missing value.",
        )
    return out


def _codes(x: np.ndarray, missing: np.ndarray, n_categories: int) -> np.ndarray:
    """Nearest valid code of each value (clipped to 0..K-1); 0 where missing."""
    return np.clip(np.rint(np.where(missing, 0.0, x)), 0, n_categories - 1).astype(np.int64)


def _decode_categorical(spec: ColumnSpec, x: np.ndarray) -> pd.Series:
    missing = np.isnan(x)
    codes = _codes(x, missing, len(spec.categories))
    family = dtype_family(spec.dtype)
    if family == "category":
        codes[missing] = -1
        dtype = pd.CategoricalDtype(spec.categories, ordered=spec.ordered)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
    if family == "bool" and not missing.any():
        return pd.Series(codes.astype(bool), dtype=spec.dtype)
    values = np.empty(len(spec.categories), dtype=object)
    values[:] = spec.categories
    values = values[codes]
    values[missing] = np.nan
    return _with_dtype(values, spec.dtype, missing)


def _with_dtype(values: np.ndarray, dtype: str, missing: np.ndarray) -> pd.Series:
    """``values`` as a series of ``dtype``, or of its nullable form when a cell is missing."""
    if missing.any():
        dtype = nullable_dtype(dtype)
    if dtype_family(dtype) == "bool" and missing.any():
        values = pd.array(list(values), dtype="boolean")  # NaN -> <NA>
    return pd.Series(values, dtype=restore_dtype(dtype))


def _value_range(spec: ColumnSpec) -> tuple[float, float]:
    """Where decoded numbers may lie: the bounds, within what the dtype holds."""
    family = dtype_family(spec.dtype)
    if family == "integer" or spec.kind == "integer":
        lo, hi = -_MAX_EXACT, _MAX_EXACT
        if family == "integer":
            info = np.iinfo(np.dtype(spec.dtype.lower()))
            lo, hi = max(lo, info.min), min(hi, info.max)
    elif family == "float" and spec.dtype.lower() in ("float16", "float32"):
        big = float(np.finfo(np.dtype(spec.dtype.lower())).max)
        lo, hi = -big, big
    else:
        big = float(np.finfo(np.float64).max)
        lo, hi = -big, big
    if spec.bounds is not None:
        lo, hi = max(lo, spec.bounds[0]), min(hi, spec.bounds[1])
    return float(lo), float(hi)


def _round(spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
    if spec.kind == "integer":
        step = spec.step or 1
        return np.rint(values / step) * step
    if spec.decimals is None:
        return values
    small = np.abs(values) < _ROUND_LIMIT
    return np.where(small, np.round(np.where(small, values, 0.0), spec.decimals), values)


def as_decoded(spec: ColumnSpec, x: np.ndarray) -> np.ndarray:
    """Encoded numbers or dates as :func:`decode_column` writes them, still encoded:
    clipped to the bounds and rounded to the column's decimals, step or date unit (NaN
    stays NaN)."""
    if spec.kind == "datetime":
        return whole_units(spec, x)
    lo, hi = _value_range(spec)
    # rounding can step just past a bound that is not itself round: clip once more; and
    # + 0.0 turns the -0.0 that rounding a small negative value gives into 0.0
    return np.clip(_round(spec, np.clip(x, lo, hi)), lo, hi) + 0.0


def outside_range(spec: ColumnSpec, x: np.ndarray) -> np.ndarray:
    """Where encoded numbers or dates, rounded as decoding writes them, fall outside the
    column's range (:func:`as_decoded` would clip them); False for NaN."""
    if spec.kind == "datetime":
        (lo, hi), rounded = date_range(spec), np.rint(x)
    else:
        (lo, hi), rounded = _value_range(spec), _round(spec, x)
    with np.errstate(invalid="ignore"):
        return (rounded < lo) | (rounded > hi)


def _decode_number(spec: ColumnSpec, x: np.ndarray) -> pd.Series:
    missing = np.isnan(x)
    values = as_decoded(spec, np.where(missing, 0.0, x))
    family = dtype_family(spec.dtype)
    if family == "text":
        return _numbers_as_objects(spec, values, missing)
    if family == "integer":
        if not missing.any():
            return pd.Series(values.astype(spec.dtype.lower()), dtype=spec.dtype)
        return pd.Series(np.where(missing, np.nan, values), dtype=nullable_dtype(spec.dtype))
    return pd.Series(np.where(missing, np.nan, values), dtype=spec.dtype)


def _numbers_as_objects(spec: ColumnSpec, values: np.ndarray, missing: np.ndarray):
    """Numbers for a column whose dtype is text: text when the cells were text."""
    if spec.kind == "integer":
        numbers = values.astype(np.int64)
        cells = numbers.astype(str) if spec.number_text else numbers
    elif spec.number_text and spec.decimals is not None:
        cells = np.char.mod(f"%.{spec.decimals}f", values)
    else:
        cells = values.astype(str) if spec.number_text else values
    out = cells.astype(object)
    out[missing] = np.nan
    return pd.Series(out, dtype=restore_dtype(spec.dtype))
