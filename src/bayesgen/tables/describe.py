"""One-line descriptions of schema columns (for ``bayesgen inspect``)."""

from __future__ import annotations

import numpy as np

from bayesgen.tables.spec import DATETIME_UNIT_NAMES, DATETIME_UNITS, ColumnSpec

__all__ = ["describe_column"]

_SHOWN = 5


def _number(value: float, decimals: int | None = None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _moment(value: float, unit: str) -> str:
    stamp = np.datetime64(int(round(value)) * DATETIME_UNITS[unit], "us")
    text = str(stamp.astype("datetime64[D]" if unit == "D" else "datetime64[us]"))
    return text.removesuffix(".000000")


def _category(value) -> str:
    """A category as listed: quoted when it holds a comma or a bracket, or starts or ends
    with a space, so that ``[Legal, Compliance]`` is not read as two categories."""
    text = str(value)
    if not text or text != text.strip() or any(ch in text for ch in ",[]'\""):
        return repr(text)
    return text


def _categories(spec: ColumnSpec) -> str:
    shown = ", ".join(_category(c) for c in spec.categories[:_SHOWN])
    more = ", ..." if len(spec.categories) > _SHOWN else ""
    ordered = ", ordered" if spec.ordered else ""
    count = len(spec.categories)
    return f"{count} categor{'y' if count == 1 else 'ies'} [{shown}{more}]{ordered}"


def _details(spec: ColumnSpec) -> list[str]:
    if spec.kind == "categorical":
        return [_categories(spec)]
    parts = []
    if spec.kind == "continuous":
        dec = spec.decimals
        parts.append("full precision" if dec is None else f"{dec} decimal{'s' * (dec != 1)}")
    if spec.kind == "datetime":
        if spec.datetime_format:
            parts.append(f"text format {spec.datetime_format!r}")
        parts.append(f"in {DATETIME_UNIT_NAMES[spec.datetime_unit]}s since 1970-01-01")
    if spec.step:
        parts.append(f"multiples of {spec.step}")
    if spec.number_text:
        parts.append("numbers written as text")
    if spec.bounds is None:
        parts.append("unbounded")
    elif spec.kind == "datetime":
        lo, hi = (_moment(b, spec.datetime_unit) for b in spec.bounds)
        parts.append(f"range {lo} .. {hi}")
    else:
        lo, hi = (_number(b, spec.decimals) for b in spec.bounds)
        parts.append(f"range [{lo}, {hi}]")
    return parts


def describe_column(spec: ColumnSpec, reason: str | None) -> str:
    """``name: kind (dtype), details, missing: yes|no`` or ``name: dropped (...): reason``."""
    if reason is not None:
        return f"{spec.name}: dropped ({spec.kind}, {spec.dtype}): {reason}"
    details = ", ".join(_details(spec))
    missing = "yes" if spec.missing else "no"
    return f"{spec.name}: {spec.kind} ({spec.dtype}), {details}, missing: {missing}"
