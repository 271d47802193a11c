"""Detection of one column's kind and details (the rules are listed in ``schema.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.tables.dates import choose_unit, find_format, microseconds, parse_text
from bayesgen.tables.spec import (
    DATETIME_FORMATS,
    DATETIME_UNITS,
    ColumnSpec,
    common_step,
    dtype_family,
    plain_value,
    sort_categories,
    step_of,
    supported_dtype,
)

__all__ = ["bare_spec", "count_decimals", "detect_column"]

#: whole numbers beyond this lose precision as float64 (the encoded form)
_MAX_EXACT = 2.0**53
_ID_MIN_ROWS = 20
_TYPO_SHARE = 0.9
_MISSING_MARKERS = {"", "na", "n/a", "nan", "null", "none", "-", "?", "missing", "#n/a"}
_NUMBER_OBJECTS = ("integer", "floating", "mixed-integer-float", "decimal")
_PLAIN_TYPES = (str, bool, int, float, np.bool_, np.integer, np.floating)


def bare_spec(name: str, kind: str, dtype: str, missing: np.ndarray) -> ColumnSpec:
    """The spec kept for a column that is not modelled (no details)."""
    return ColumnSpec(name, kind, dtype, missing=bool(missing.any()))


def _refuse(name: str, holds: str, declared: str) -> DataError:
    return DataError(
        f"column {name!r} holds {holds}, so it cannot be modelled as {declared!r}; "
        "declare another kind in column_types or convert the column first."
    )


def _where(rows: np.ndarray, bad: np.ndarray) -> int:
    """Row number in the frame of the first True of ``bad`` (indexing the filled cells)."""
    return int(rows[np.flatnonzero(bad)[0]])


def count_decimals(values: np.ndarray, dtype: str) -> int | None:
    """Smallest d in 0..6 such that rounding to d decimals keeps every value; else None.

    A value passes when rounding reproduces it exactly in its stored precision, or (for
    float64 noise such as ``0.1 + 0.2``) when it lies within ``min(1e-6, 1e-9 * |x 10^d|)``
    of a d-decimal number, a tolerance far below the d-th decimal at any magnitude.
    """
    values = np.unique(values)
    narrow = dtype.lower() in ("float16", "float32")  # Float32 (nullable) stores float32 too
    storage = np.dtype(dtype.lower()) if narrow else np.dtype(np.float64)
    stored = values.astype(storage)
    for d in range(7):
        if np.array_equal(np.round(values, d).astype(storage), stored):
            return d
        if storage == np.float64:
            scaled = values * 10.0**d
            tol = np.minimum(1e-6, 1e-9 * np.maximum(1.0, np.abs(scaled)))
            if np.all(np.abs(scaled - np.rint(scaled)) <= tol):
                return d
    return None


def _categorical(name, dtype, filled: np.ndarray, missing) -> ColumnSpec:
    categories = sort_categories(plain_value(v) for v in pd.unique(filled))
    return ColumnSpec(
        name, "categorical", dtype, categories=categories, missing=bool(missing.any())
    )


def _looks_like_row_id(seen: np.ndarray, n_rows: int) -> bool:
    # row numbers: every row filled, all distinct, no gaps (0..n-1, 1..n, shuffled or not)
    return (
        len(seen) == n_rows >= _ID_MIN_ROWS
        and seen.max() - seen.min() == n_rows - 1
        and len(np.unique(seen)) == n_rows
    )


def _check_finite(name: str, values: np.ndarray, rows: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise RowDataError(
            f"column {name!r}: ",
            _where(rows, bad),
            f" holds {values[bad][0]}; only finite numbers can be modelled. Replace it with "
            "a number or a missing value.",
        )


def _numeric(name, dtype, values, filled, missing, declared, keep, number_text):
    """Spec of a numeric column; ``values`` are the filled cells as float64."""
    rows = np.flatnonzero(~missing)
    _check_finite(name, values, rows)
    whole = bool(np.all(values == np.rint(values)))
    kind = declared or ("integer" if whole else "continuous")
    spec = ColumnSpec(name, kind, dtype, missing=bool(missing.any()), number_text=bool(number_text))
    spec.bounds = [float(values.min()), float(values.max())]
    if kind == "continuous":
        spec.decimals = count_decimals(values, dtype)
        return spec, None
    if np.abs(values).max() > _MAX_EXACT:
        raise DataError(
            f"column {name!r} holds whole numbers beyond 2**53 (e.g. {values.max():.0f}), "
            "which cannot be modelled exactly; declare it "
            f"column_types={{{name!r}: 'categorical'}} or drop it."
        )
    if whole:
        gcd, distinct = common_step(values)
        spec.step = step_of(gcd, distinct.shape[0])
    if declared is None and _looks_like_row_id(values, len(missing)):
        if keep:
            return _categorical(name, dtype, filled, missing), None
        reason = (
            f"integers {values.min():.0f}..{values.max():.0f}, one per row, look like row "
            f"numbers; keep it with column_types={{{name!r}: 'integer'}}"
        )
        return bare_spec(name, "identifier", dtype, missing), reason
    return spec, None


def _from_numbers(name, series, dtype, missing, declared, keep):
    if declared == "datetime":
        raise _refuse(name, "numbers", "datetime")
    filled = series[~missing]
    if declared == "categorical":
        return _categorical(name, dtype, filled.to_numpy(dtype=object), missing), None
    values = filled.to_numpy(dtype=np.float64)
    return _numeric(
        name, dtype, values, filled.to_numpy(dtype=object), missing, declared, keep, False
    )


def _from_bool(name, dtype, missing, declared):
    if declared not in (None, "categorical"):
        raise _refuse(name, "True/False values", declared)
    return ColumnSpec(
        name, "categorical", dtype, categories=[False, True], missing=bool(missing.any())
    ), None


def _from_category(name, series, missing, declared):
    if declared not in (None, "categorical"):
        raise _refuse(name, "a pandas category dtype", declared)
    categories = [plain_value(c) for c in series.cat.categories]
    for value in categories:
        ok = isinstance(value, (bool, str, int, float)) and (
            not isinstance(value, float) or np.isfinite(value)
        )
        if not ok:
            raise DataError(
                f"column {name!r} has categories of type {type(value).__name__} "
                f"({value!r}); categories must be text, numbers or booleans. Convert them, "
                f"e.g. frame[{name!r}] = frame[{name!r}].astype(str)."
            )
    spec = ColumnSpec(
        name,
        "categorical",
        "category",
        categories=categories,
        ordered=bool(series.cat.ordered),
        missing=bool(missing.any()),
    )
    return spec, None


def _datetime_spec(name, dtype, stamps: pd.Series, missing, fmt=None) -> ColumnSpec:
    us = microseconds(stamps)[~missing]
    unit = choose_unit(us)
    encoded = us // DATETIME_UNITS[unit]
    return ColumnSpec(
        name,
        "datetime",
        dtype,
        datetime_format=fmt,
        datetime_unit=unit,
        bounds=[float(encoded.min()), float(encoded.max())],
        missing=bool(missing.any()),
    )


def _from_datetime(name, series, dtype, missing, declared):
    if declared not in (None, "datetime"):
        holds = "datetimes (convert them to text first to model them as categories)"
        raise _refuse(name, holds, declared)
    try:
        return _datetime_spec(name, dtype, series, missing), None
    except (OverflowError, ValueError) as exc:
        raise DataError(f"column {name!r}: a datetime is out of range ({exc})") from None


def detect_column(name: str, series: pd.Series, *, declared=None, keep=False):
    """Detect one column (with at least one filled cell).

    Parameters
    ----------
    name : str
    series : pandas.Series
    declared : str or None
        The kind the user declared in ``column_types``.
    keep : bool
        Keep the column (as categorical) even if it looks like an identifier.

    Returns
    -------
    ColumnSpec, str or None
        The spec and, for a column not modelled, the one-line reason.
    """
    dtype = str(series.dtype)
    if not supported_dtype(dtype):
        raise DataError(
            f"column {name!r} has dtype {dtype}, which tables do not support; convert it "
            "to numbers, text, bool, category or datetime64 (e.g. "
            "frame.convert_dtypes(dtype_backend='numpy_nullable') for pyarrow columns)."
        )
    missing = series.isna().to_numpy()
    family = dtype_family(dtype)
    if declared == "identifier":
        return bare_spec(name, "identifier", dtype, missing), "declared an identifier"
    if family == "bool":
        return _from_bool(name, dtype, missing, declared)
    if family == "category":
        return _from_category(name, series, missing, declared)
    if family == "datetime":
        return _from_datetime(name, series, dtype, missing, declared)
    if family == "text":
        return _from_objects(name, series, dtype, missing, declared, keep)
    return _from_numbers(name, series, dtype, missing, declared, keep)


# -- text and other object columns ----------------------------------------------------


@dataclass
class _Cells:
    """The filled cells of an object column, factorized so analyses run on distinct values."""

    filled: np.ndarray  # object, one entry per filled cell
    rows: np.ndarray  # row number in the frame of each filled cell
    codes: np.ndarray  # index into ``uniques`` of each filled cell
    uniques: np.ndarray  # the distinct values, object

    def first(self, bad_unique: np.ndarray) -> tuple[int, object]:
        """Row and value of the first filled cell whose distinct value is flagged."""
        i = int(np.flatnonzero(bad_unique[self.codes])[0])
        return int(self.rows[i]), plain_value(self.filled[i])


def _utf8(text) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_utf8(name: str, cells: _Cells) -> None:
    texts = pd.Series(cells.uniques, dtype=object)
    try:
        texts.str.encode("utf-8")  # fast path: one vectorised pass
        return
    except AttributeError:  # no text at all (pandas refuses .str)
        return
    except UnicodeEncodeError:
        pass
    bad = texts.map(lambda v: isinstance(v, str) and not _utf8(v)).to_numpy(dtype=bool)
    row, value = cells.first(bad)
    raise RowDataError(
        f"column {name!r}: ",
        row,
        f" holds text that is not valid UTF-8 ({value!r}); read the file with its real "
        "encoding (e.g. encoding='latin-1') or fix the cell.",
    )


def _check_plain_types(name: str, filled: np.ndarray, rows: np.ndarray, sort: str) -> None:
    """Refuse cells that are not text, numbers or booleans (bytes, dates, lists ...)."""
    if sort in ("string", "boolean", *_NUMBER_OBJECTS):
        return
    plain = np.array([isinstance(v, _PLAIN_TYPES) for v in filled], dtype=bool)
    if plain.all():
        return
    value = plain_value(filled[~plain][0])
    hint = (
        ".str.decode('utf-8') (or the file's encoding)"
        if isinstance(value, bytes)
        else " = pd.to_datetime(...) for dates, .astype(str) for other values"
    )
    raise RowDataError(
        f"column {name!r}: ",
        _where(rows, ~plain),
        f" holds {value!r}, a {type(value).__name__} value; table cells must be text, "
        f"numbers, booleans or datetimes. Convert the column, e.g. frame[{name!r}]{hint}.",
    )


def _parse_numbers(filled: np.ndarray, is_str: np.ndarray) -> np.ndarray:
    """Each filled cell as a finite float, NaN where it is not a number (booleans are not)."""
    numbers = pd.to_numeric(pd.Series(filled, dtype=object), errors="coerce")
    numbers = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    if not is_str.all():
        is_bool = np.array([isinstance(v, (bool, np.bool_)) for v in filled], dtype=bool)
        numbers[is_bool] = np.nan
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def _not_number(name: str, cells: _Cells, bad: np.ndarray, n_numbers=None) -> DataError:
    row, value = cells.first(bad)
    if n_numbers is None:
        before = f"column {name!r}: "
    else:
        before = (
            f"column {name!r} holds numbers in {n_numbers} of {len(cells.filled)} filled "
            "cells, but "
        )
    marker = ""
    if isinstance(value, str) and value.strip().lower() in _MISSING_MARKERS:
        marker = (
            f" {value!r} looks like a missing-value marker: read the file with "
            f"na_values=[{value!r}] or replace it with a missing value."
        )
    return RowDataError(
        before,
        row,
        f" holds {value!r}, which is not a number. Fix that cell (write a number or "
        f"leave it empty), or declare column_types={{{name!r}: 'categorical'}} to model the "
        f"column as categories.{marker}",
    )


def _from_objects(name, series, dtype, missing, declared, keep):
    rows = np.flatnonzero(~missing)
    filled = series.to_numpy(dtype=object)[~missing]
    sort = pd.api.types.infer_dtype(filled, skipna=False)
    _check_plain_types(name, filled, rows, sort)
    if sort == "boolean":
        return _from_bool(name, dtype, missing, declared)
    codes, uniques = pd.factorize(filled)
    cells = _Cells(filled, rows, codes, np.asarray(uniques, dtype=object))
    if sort in ("string", "mixed", "mixed-integer"):
        _check_utf8(name, cells)
    if declared == "categorical":
        return _categorical(name, dtype, cells.uniques, missing), None
    if sort in _NUMBER_OBJECTS:
        if declared == "datetime":
            raise _refuse(name, "numbers", "datetime")
        values = filled.astype(np.float64)
        return _numeric(name, dtype, values, filled, missing, declared, keep, False)
    if sort == "string":
        is_str = np.ones(len(cells.uniques), dtype=bool)
    else:
        is_str = np.array([isinstance(v, str) for v in cells.uniques], dtype=bool)
    return _from_text(name, dtype, cells, missing, declared, keep, is_str)


def _from_text(name, dtype, cells: _Cells, missing, declared, keep, is_str):
    """A column of text (perhaps mixed with numbers); ``is_str`` flags the distinct values."""
    numbers = _parse_numbers(cells.uniques, is_str)
    is_number = np.isfinite(numbers)
    texts = pd.Series(cells.uniques[is_str], dtype=object)
    # "007" and "0042" are codes (zip codes, ids), not numbers: keep them as text
    codes = bool(texts.str.match(r"\s*[+-]?0\d").any())
    numeric = declared in ("continuous", "integer") or (
        declared is None and not codes and is_number.all()
    )
    if numeric and not is_number.all():
        raise _not_number(name, cells, ~is_number)
    if numeric:
        values = numbers[cells.codes]
        return _numeric(
            name, dtype, values, cells.filled, missing, declared, keep, bool(is_str.any())
        )
    if declared == "datetime":
        return _text_datetime(name, dtype, cells, missing, strict=True), None
    n_numbers = int(is_number[cells.codes].sum())
    if not codes and n_numbers > _TYPO_SHARE * len(cells.filled):
        raise _not_number(name, cells, ~is_number, n_numbers)
    if is_str.all():
        spec = _text_datetime(name, dtype, cells, missing, strict=False)
        if spec is not None:
            return spec, None
    return _categorical_or_identifier(name, dtype, cells, missing, is_str, keep)


def _text_datetime(name, dtype, cells: _Cells, missing, *, strict):
    """Spec of a text datetime column, None when it is not one (unless ``strict``)."""
    texts = pd.Series(cells.uniques, dtype=object)
    fmt = find_format(texts)
    if fmt is None:
        if not strict:
            return None
        raise RowDataError(
            f"column {name!r} was declared a datetime, but no known format parses "
            f"{plain_value(cells.filled[0])!r} (",
            cells.rows[0],
            f"); known formats: {', '.join(DATETIME_FORMATS)}. Convert it with "
            f"pd.to_datetime(frame[{name!r}], format=...).",
        )
    parsed = parse_text(texts, fmt)
    bad = parsed.isna().to_numpy()
    if bad.any() and (strict or bad[cells.codes].mean() < 1 - _TYPO_SHARE):
        row, value = cells.first(bad)
        raise RowDataError(
            f"column {name!r} holds dates in the format {fmt!r}, but ",
            row,
            f" holds {value!r}, which does not parse. Fix that cell (or leave it empty), or "
            f"declare column_types={{{name!r}: 'categorical'}}.",
        )
    if bad.any():
        return None
    stamps = np.full(len(missing), np.datetime64("NaT"), dtype="datetime64[us]")
    stamps[~missing] = parsed.astype("datetime64[us]").to_numpy()[cells.codes]
    return _datetime_spec(name, dtype, pd.Series(stamps), missing, fmt)


def _categorical_or_identifier(name, dtype, cells: _Cells, missing, is_str, keep):
    n_distinct, n_filled = len(cells.uniques), len(cells.filled)
    share = n_distinct / n_filled
    lengths = np.zeros(n_distinct)
    lengths[is_str] = pd.Series(cells.uniques[is_str], dtype=object).str.len().to_numpy()
    text_cells = is_str[cells.codes]
    mean_length = lengths[cells.codes][text_cells].mean() if text_cells.any() else 0.0
    looks_like_id = share > 0.5 and (n_distinct > 20 or mean_length > 30)
    if looks_like_id and not keep:
        reason = (
            f"text with {n_distinct} distinct values in {n_filled} rows looks like an "
            f"identifier or free text; keep it with column_types={{{name!r}: 'categorical'}} "
            "or drop it"
        )
        return bare_spec(name, "identifier", dtype, missing), reason
    return _categorical(name, dtype, cells.uniques, missing), None
