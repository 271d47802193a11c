"""Datetime columns: finding a text column's format, encoding to numbers, decoding back.

A datetime is encoded as a count of its unit since 1970-01-01 00:00 UTC: the coarsest of
days (``"D"``), hours (``"h"``), minutes (``"min"``), seconds (``"s"``), milliseconds and
microseconds that every training value is a whole number of (a log written to the
minute is encoded, and generated, in minutes: no seconds the data never had).  Time-zone
aware columns encode the UTC instant and decode into the original zone.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.tables.spec import (
    DATETIME_FORMATS,
    DATETIME_UNITS,
    ColumnSpec,
    dtype_family,
    plain_value,
    restore_dtype,
)

__all__ = [
    "choose_unit",
    "decode_datetime",
    "encode_datetime",
    "find_format",
    "microseconds",
    "period_span",
]

#: a year ("1975"), a month ("1975-06") or a day ("1975-06-30") standing for the whole period
_PERIOD = re.compile(r"^\s*(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?)?\s*$")

#: a day, optionally with a time of day and no zone, in ISO 8601
_ISO_DAY = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"

_PROBE = 20
#: the range decoded datetimes are clipped to (microseconds since the epoch): years
#: 1..9999 in general, the narrower range of nanosecond timestamps for ns columns
_US_RANGE = (
    int(np.datetime64("0001-01-01T00:00:00", "us").astype(np.int64)),
    int(np.datetime64("9999-12-31T23:59:59.999999", "us").astype(np.int64)),
)
_NS_RANGE = (pd.Timestamp.min.value // 1000 + 1, pd.Timestamp.max.value // 1000)


def parse_text(values: pd.Series, fmt: str) -> pd.Series:
    """``values`` parsed with ``fmt``; NaT where a value does not match it."""
    return pd.to_datetime(values, format=fmt, errors="coerce")


def find_format(texts: pd.Series) -> str | None:
    """The format of :data:`DATETIME_FORMATS` that parses most of ``texts`` (distinct strings).

    Among formats parsing the same share, one that writes every value back unchanged
    wins, then the earlier one.  None when no format parses half of the first few values.
    """
    probe = texts.iloc[:_PROBE]
    best, best_key = None, (0.0, False)
    for fmt in DATETIME_FORMATS:
        if parse_text(probe, fmt).notna().mean() < 0.5:
            continue  # cheap rejection keeps free-text columns fast
        parsed = parse_text(texts, fmt)
        share = float(parsed.notna().mean())
        exact = share == 1.0 and bool((parsed.dt.strftime(fmt) == texts).all())
        if (share, exact) > best_key:
            best, best_key = fmt, (share, exact)
    return best


def microseconds(series: pd.Series) -> np.ndarray:
    """Microseconds since the epoch (UTC) of a datetime64 series; missing cells hold 0."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = series.isna().to_numpy()
    us = series.astype("datetime64[us]").to_numpy().view(np.int64).copy()
    us[missing] = 0
    return us


def choose_unit(us: np.ndarray) -> str:
    """The coarsest unit that represents every value of ``us`` exactly."""
    for unit in list(DATETIME_UNITS)[:-1]:  # coarsest first; each divides the one before
        if np.all(us % DATETIME_UNITS[unit] == 0):
            return unit
    return "us"


def _bad_date(name: str, row: int, value, fmt: str | None) -> RowDataError:
    expected = (
        f"the format {fmt!r} seen in training or in ISO 8601 (2019-05-31)"
        if fmt
        else "an ISO 8601 date"
    )
    return RowDataError(
        f"column {name!r}: ",
        row,
        f" holds {value!r}, which is not a date in {expected}. Fix the cell or make it a "
        "missing value.",
    )


def _as_datetimes(spec: ColumnSpec, series: pd.Series, missing: np.ndarray) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    fmt = spec.datetime_format or "ISO8601"
    parsed = parse_text(series.astype(object), fmt)
    bad = parsed.isna().to_numpy() & ~missing
    if bad.any() and fmt != "ISO8601":
        # a day (and time) in ISO 8601, 2019-05-05, on a column written 05/05/2019: what
        # --given takes too, and unambiguous (a bare year or a time zone is not taken)
        texts = series[bad].astype(str)
        iso = texts.str.fullmatch(_ISO_DAY)
        parsed[bad] = parse_text(texts.where(iso), "ISO8601")
        bad = parsed.isna().to_numpy() & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad_date(spec.name, row, plain_value(series.iloc[row]), spec.datetime_format)
    return parsed


def period_span(spec: ColumnSpec, text) -> tuple[float, float] | None:
    """A year (``"1975"`` or ``1975``), a month (``"1975-06"``) or, on a column with times
    of day, a day (``"1975-06-30"``) as the first and last instants of that period in the
    column's units (both ends included); None for any other value.

    For conditions written as people say them ("cars from 1975", "readings of 10 March")
    on a column whose dates carry finer units; a value that parses in the column's own
    format is a date, not a period.
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, (bool, np.bool_)):
        text = str(text)
    match = _PERIOD.match(text) if isinstance(text, str) else None
    if match is None or (match["day"] is not None and spec.datetime_unit == "D"):
        return None
    year, month, day = int(match["year"]), match["month"], match["day"]
    dtype = pd.api.types.pandas_dtype(spec.dtype) if spec.dtype.startswith("datetime64") else None
    zone = getattr(dtype, "tz", None)  # the period in the column's own time zone
    try:
        start = pd.Timestamp(year, int(month or 1), int(day or 1), tz=zone)
    except ValueError:  # month 13, 30 February: not a period
        return None
    length = pd.DateOffset(days=1) if day else pd.DateOffset(months=1 if month else 12)
    end = start + length
    unit = DATETIME_UNITS[spec.datetime_unit]
    first = microseconds(pd.Series([start]))[0] / unit
    after = microseconds(pd.Series([end]))[0] / unit
    return float(np.ceil(first)), float(np.ceil(after) - 1)


def encode_datetime(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    """Numbers of ``spec.datetime_unit`` since the epoch; NaN for missing cells.

    Raises
    ------
    DataError
        A text value does not parse (naming column, row and value).
    """
    missing = series.isna().to_numpy()
    parsed = _as_datetimes(spec, series, missing)
    try:
        us = microseconds(parsed)
    except (OverflowError, ValueError) as exc:
        raise DataError(f"column {spec.name!r}: a datetime is out of range ({exc})") from None
    out = us / DATETIME_UNITS[spec.datetime_unit]
    out[missing] = np.nan
    return out


def date_range(spec: ColumnSpec) -> tuple[float, float]:
    """Where encoded dates of the column may lie: its bounds, within what the dtype holds."""
    unit = DATETIME_UNITS[spec.datetime_unit]
    lo_us, hi_us = _NS_RANGE if spec.dtype.startswith("datetime64[ns") else _US_RANGE
    lo, hi = -(-lo_us // unit), hi_us // unit  # whole units inside the range
    if spec.bounds is not None:
        lo, hi = max(lo, spec.bounds[0]), min(hi, spec.bounds[1])
    return float(lo), float(hi)


def whole_units(spec: ColumnSpec, x: np.ndarray) -> np.ndarray:
    """Encoded dates as :func:`decode_datetime` writes them: clipped to the bounds and
    rounded to whole units (NaN stays NaN)."""
    lo, hi = date_range(spec)
    return np.rint(np.clip(x, lo, hi))


def decode_datetime(spec: ColumnSpec, x: np.ndarray) -> pd.Series:
    """Inverse of :func:`encode_datetime`: values rounded to the unit, clipped to the bounds."""
    missing = np.isnan(x)
    units = whole_units(spec, np.where(missing, 0.0, x)).astype(np.int64)
    stamps = (units * DATETIME_UNITS[spec.datetime_unit]).astype("datetime64[us]")
    stamps[missing] = np.datetime64("NaT")
    series = pd.Series(stamps)
    if dtype_family(spec.dtype) == "text":
        text = series.dt.strftime(spec.datetime_format).astype(object)
        text[missing] = np.nan
        return text.astype(restore_dtype(spec.dtype))
    target = restore_dtype(spec.dtype)
    if isinstance(target, pd.DatetimeTZDtype):
        series = series.dt.tz_localize("UTC").dt.tz_convert(target.tz)
    return series.astype(target)
