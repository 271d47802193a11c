"""One column of a table schema (:class:`ColumnSpec`) and its validated model-file form.

A spec records everything needed to turn a column into numbers and back: its *kind* (how
it is modelled), the pandas dtype it had (so decoding restores it), and the details each
kind needs (categories, decimals, bounds, datetime format and unit).  Model files may be
hostile, so :func:`spec_from_state` checks every field and raises ``ValueError`` on
anything malformed.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bayesgen.base.state_checks import check_keys, describe

__all__ = [
    "DATETIME_FORMATS",
    "DATETIME_UNITS",
    "DATETIME_UNIT_NAMES",
    "KINDS",
    "ColumnSpec",
    "dtype_family",
    "nullable_dtype",
    "plain_value",
    "restore_dtype",
    "sort_categories",
    "spec_from_state",
    "spec_to_state",
    "supported_dtype",
]

KINDS = ("continuous", "integer", "categorical", "datetime", "identifier")

#: text datetime formats tried in this order; the first one that parses every value (and,
#: among those, one that writes every value back unchanged) wins.  Day-first comes before
#: month-first, so a column whose days are all <= 12 is read day-first.
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%Y-%m",
)

#: encoded datetime units and their length in microseconds
DATETIME_UNITS = {
    "D": 86_400_000_000,
    "h": 3_600_000_000,
    "min": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
}
#: a unit in words, for messages and ``inspect``
DATETIME_UNIT_NAMES = {
    "D": "day",
    "h": "hour",
    "min": "minute",
    "s": "second",
    "ms": "millisecond",
    "us": "microsecond",
}

_INT_SIZES = "(8|16|32|64)"
_DTYPE_RE = re.compile(
    r"bool|boolean|category|object|str|string"
    rf"|u?int{_INT_SIZES}|U?Int{_INT_SIZES}|float(16|32|64)|Float(32|64)"
    r"|datetime64\[(s|ms|us|ns)(, [A-Za-z0-9_+\-/:]{1,64})?\]"
)
_TEXT_DTYPES = ("object", "str", "string")
_MAX_CATEGORIES = 10_000_000
_MAX_TEXT = 100_000


@dataclass
class ColumnSpec:
    """How one input column is modelled and restored.

    Attributes
    ----------
    name : str
    kind : str
        One of :data:`KINDS`.
    dtype : str
        ``str(series.dtype)`` of the training column; decoding restores it.
    categories : list or None
        Categorical columns: the categories in code order (text, numbers or booleans).
    ordered : bool
        Categorical column with an ordered pandas dtype.
    decimals : int or None
        Continuous columns: decimals seen (0-6); None means no rounding.
    bounds : list or None
        ``[lo, hi]`` for numeric and datetime columns (datetimes as encoded numbers):
        generated cells outside are drawn again, and decoded values are clipped to it.
        None means unbounded.
    datetime_format : str or None
        Datetime columns read from text: the strftime format of every value.
    datetime_unit : str or None
        Datetime columns: ``"D"`` (days since 1970-01-01) when every value is midnight,
        else ``"s"`` (or ``"ms"``/``"us"`` for fractional seconds).
    missing : bool
        The training column had missing cells.
    step : int or None
        Integer columns: every value seen is a multiple of it (the greatest common divisor
        of the values, kept when at least ``STEP_MIN_DISTINCT`` distinct values show it:
        grams weighed to 25 g); decoded values are rounded to a multiple.  None: any
        whole number.
    number_text : bool
        A numeric column whose cells were text (``"3.5"``); decoding writes text back.
    """

    name: str
    kind: str
    dtype: str
    categories: list | None = None
    ordered: bool = False
    decimals: int | None = None
    bounds: list | None = None
    datetime_format: str | None = None
    datetime_unit: str | None = None
    missing: bool = False
    number_text: bool = False
    step: int | None = None


#: distinct values a column needs before a common divisor of them is taken for its step
STEP_MIN_DISTINCT = 10


def common_step(values: np.ndarray) -> tuple[int, np.ndarray]:
    """The greatest common divisor of whole numbers (0 when all are 0) and up to
    ``STEP_MIN_DISTINCT`` of their distinct values: both merge across chunks (the gcd of
    the gcds; the union of the values)."""
    whole = np.abs(values).astype(np.int64)
    return int(np.gcd.reduce(whole)) if whole.size else 0, np.unique(values)[:STEP_MIN_DISTINCT]


def step_of(gcd: int, distinct: int) -> int | None:
    """The step a column keeps (see :class:`ColumnSpec`), or None."""
    return gcd if gcd >= 2 and distinct >= STEP_MIN_DISTINCT else None


def supported_dtype(dtype: str) -> bool:
    """Whether a dtype string (``str(series.dtype)``) is one a schema can restore."""
    return isinstance(dtype, str) and _DTYPE_RE.fullmatch(dtype) is not None


def dtype_family(dtype: str) -> str:
    """``"bool"``, ``"category"``, ``"text"``, ``"integer"``, ``"float"`` or ``"datetime"``."""
    if dtype in ("bool", "boolean"):
        return "bool"
    if dtype in _TEXT_DTYPES:
        return "text"
    if dtype == "category":
        return "category"
    if dtype.startswith("datetime64"):
        return "datetime"
    if dtype.lower().startswith(("int", "uint")):
        return "integer"
    return "float"


def restore_dtype(dtype: str):
    """The dtype to build a decoded column with.

    ``"str"`` is pandas 3's default text dtype; an older pandas reads the name as NumPy
    fixed-width text (which would turn missing cells into ``"nan"``), so use object there.
    """
    if dtype == "str" and not isinstance(pd.api.types.pandas_dtype("str"), pd.StringDtype):
        return np.dtype(object)
    return pd.api.types.pandas_dtype(dtype)


def nullable_dtype(dtype: str) -> str:
    """The dtype that can hold a missing cell: ``int64`` -> ``Int64``, ``bool`` -> ``boolean``."""
    if dtype == "bool":
        return "boolean"
    if dtype.startswith("int"):
        return "I" + dtype[1:]
    if dtype.startswith("uint"):
        return "UI" + dtype[2:]
    return dtype


def _category_rank(value) -> tuple:
    # booleans first, then numbers, then text: a total order even for mixed columns
    if isinstance(value, bool):
        return (0, value, "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    return (2, 0, value)


def sort_categories(values) -> list:
    """Distinct plain values (bool/int/float/str) in a stable, deterministic order."""
    return sorted(values, key=_category_rank)


def spec_to_state(spec: ColumnSpec) -> dict:
    """A plain, JSON-able dict of ``spec``."""
    return asdict(spec)


# -- validation of model-file states --------------------------------------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    if _is_int(value):
        return abs(value) < 2**1000  # beyond, float() overflows
    return isinstance(value, float) and math.isfinite(value)


def _check_dtype(dtype) -> None:
    _require(supported_dtype(dtype), f"unsupported column dtype {dtype!r}")
    if dtype.startswith("datetime64[") and "," in dtype:
        _require(".." not in dtype, f"bad time zone in dtype {dtype!r}")
        try:
            pd.api.types.pandas_dtype(dtype)
        except Exception:  # unknown time zone: a malformed file
            raise ValueError(f"unknown time zone in dtype {dtype!r}") from None


def _check_categories(categories, dtype: str, where: str) -> None:
    _require(isinstance(categories, list), f"{where}: categories must be a list")
    _require(0 < len(categories) <= _MAX_CATEGORIES, f"{where}: bad number of categories")
    for value in categories:
        ok = isinstance(value, (bool, str)) or _is_number(value)
        _require(ok, f"{where}: category {value!r} is not text, a number or a boolean")
        _require(not isinstance(value, str) or len(value) <= _MAX_TEXT, f"{where}: long text")
    _require(pd.Index(categories, dtype=object).is_unique, f"{where}: repeated categories")
    family = dtype_family(dtype)
    if family == "bool":
        _require(categories == [False, True], f"{where}: a bool column has [False, True]")
    if family == "integer":  # decoding must produce values the dtype holds
        info = np.iinfo(np.dtype(dtype.lower()))
        fits = all(_is_int(c) and info.min <= c <= info.max for c in categories)
        _require(fits, f"{where}: categories do not fit {dtype}")
    if family == "float":
        _require(all(_is_number(c) for c in categories), f"{where}: categories must be numbers")


def _check_bounds(bounds, where: str) -> None:
    if bounds is None:
        return
    ok = isinstance(bounds, list) and len(bounds) == 2 and all(_is_number(b) for b in bounds)
    _require(ok and bounds[0] <= bounds[1], f"{where}: bounds must be [lo, hi] numbers")


def _check_kind_fields(spec: ColumnSpec, where: str) -> None:
    family = dtype_family(spec.dtype)
    kind = spec.kind
    if kind == "categorical":
        _require(family != "datetime", f"{where}: a datetime dtype cannot be categorical")
        _check_categories(spec.categories, spec.dtype, where)
    else:
        _require(spec.categories is None, f"{where}: only categorical columns have categories")
    _require(not spec.ordered or family == "category", f"{where}: ordered needs a category dtype")
    if kind in ("continuous", "integer"):
        _require(family in ("integer", "float", "text"), f"{where}: {spec.dtype} is not numeric")
    _require(
        not spec.number_text or (kind in ("continuous", "integer") and family == "text"),
        f"{where}: number_text needs a numeric column stored as text",
    )
    dec = spec.decimals
    _require(
        dec is None or (kind == "continuous" and _is_int(dec) and 0 <= dec <= 6),
        f"{where}: decimals must be None or 0..6 for a continuous column",
    )
    step = spec.step
    _require(
        step is None or (kind == "integer" and _is_int(step) and 2 <= step <= 2**53),
        f"{where}: step must be None or a whole number of at least 2 for an integer column",
    )
    _require(
        spec.bounds is None or kind in ("continuous", "integer", "datetime"),
        f"{where}: only numeric and datetime columns have bounds",
    )
    _check_bounds(spec.bounds, where)
    _check_datetime_fields(spec, family, where)


def _check_datetime_fields(spec: ColumnSpec, family: str, where: str) -> None:
    if spec.kind != "datetime":
        _require(
            spec.datetime_format is None and spec.datetime_unit is None,
            f"{where}: only datetime columns have a datetime format or unit",
        )
        return
    _require(family in ("datetime", "text"), f"{where}: {spec.dtype} cannot hold datetimes")
    unit = spec.datetime_unit
    _require(isinstance(unit, str) and unit in DATETIME_UNITS, f"{where}: bad datetime unit")
    # a bound is shown as a moment (microseconds since 1970 as an int64), so it must be one
    reach = (2**63 - 1) // DATETIME_UNITS[unit] - 1
    _require(
        spec.bounds is None or all(abs(b) <= reach for b in spec.bounds),
        f"{where}: datetime bounds must lie within {reach:,} {unit} of 1970-01-01",
    )
    if family == "text":
        _require(spec.datetime_format in DATETIME_FORMATS, f"{where}: unknown datetime format")
    else:
        _require(spec.datetime_format is None, f"{where}: a datetime64 column has no format")


def spec_from_state(state, *, dropped: bool) -> ColumnSpec:
    """Rebuild a :class:`ColumnSpec` from :func:`spec_to_state` output, validating it.

    Parameters
    ----------
    state : dict
    dropped : bool
        The column is not modelled: only its name, kind, dtype and ``missing`` are kept.

    Raises
    ------
    ValueError
        On any malformed or inconsistent field.
    """
    # ``step`` is absent in files written before it was kept
    fields = tuple(f for f in ColumnSpec.__dataclass_fields__ if f != "step")
    check_keys(state, "column spec", fields, ("step",))
    # every field is plain JSON: comparing an array field would be elementwise
    _require(
        not any(isinstance(v, np.ndarray) for v in state.values()), "column spec holds an array"
    )
    spec = ColumnSpec(**state)
    _require(isinstance(spec.name, str) and len(spec.name) <= _MAX_TEXT, "bad column name")
    where = f"column {spec.name!r}"
    kind = spec.kind
    _require(isinstance(kind, str) and kind in KINDS, f"{where}: unknown kind {describe(kind)}")
    _require(isinstance(spec.dtype, str) and len(spec.dtype) <= 200, f"{where}: bad dtype")
    if not dropped:  # a dropped column may have any dtype: it is only ever displayed
        _check_dtype(spec.dtype)
    for flag in ("ordered", "missing", "number_text"):
        _require(isinstance(getattr(spec, flag), bool), f"{where}: {flag} must be a boolean")
    if dropped:
        bare = ColumnSpec(spec.name, spec.kind, spec.dtype, missing=spec.missing)
        _require(spec == bare, f"{where}: a dropped column keeps no details")
        return spec
    _require(spec.kind != "identifier", f"{where}: identifier columns must be dropped")
    _check_kind_fields(spec, where)
    return spec


def plain_value(value):
    """A numpy scalar as the matching Python value (JSON-able), other values unchanged."""
    return value.item() if isinstance(value, np.generic) else value
