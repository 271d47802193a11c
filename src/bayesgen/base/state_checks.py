"""Checks of the state an object is rebuilt from when a model file is loaded.

A model file may be hostile, so every ``_from_state`` checks what it receives (keys, types,
dtypes, shapes, finiteness, ranges) before it does any costly work with it (factorising,
sorting, sampling caches).  One helper per kind of check, each raising :class:`ValueError`
that names the field, what was expected and what was found; the loader
(:mod:`bayesgen.base.persist`) turns it into :class:`~bayesgen.base.errors.ModelFileError`.

Every check is O(size of the value it is given), so a file's cost to load stays
proportional to its size.
"""

from __future__ import annotations

import numbers
from itertools import islice

import numpy as np

__all__ = [
    "check_array",
    "check_bool",
    "check_choice",
    "check_indices",
    "check_instance",
    "check_int",
    "check_keys",
    "check_positive",
    "check_probabilities",
    "check_real",
    "check_real_list",
    "check_seed",
    "describe",
    "state_error",
]

#: dtype kinds an array check may ask for; floats are float32/float64 only (what the
#: numerical kernels and LAPACK take)
_KIND_WORDS = {"f": "float", "i": "integer", "U": "text", "b": "boolean"}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SHOWN = 60  # characters of a found value quoted in a message


def describe(value) -> str:
    """A short description of a value found in a state, for error messages."""
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, int) and value.bit_length() > 64:  # its digits are no help
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, (bool, numbers.Number)):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    if isinstance(value, str):
        return f"the text {value[:_SHOWN]!r}" + ("..." if len(value) > _SHOWN else "")
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"


def state_error(name: str, expected: str, value) -> ValueError:
    """``ValueError("<name> must be <expected>; found <value described>")``."""
    return ValueError(f"{name} must be {expected}; found {describe(value)}")


def check_keys(state, name: str, required=(), optional=()) -> dict:
    """``state`` is a mapping with every key of ``required`` and no key outside both lists."""
    if not isinstance(state, dict):
        raise state_error(name, "a mapping", state)
    missing = [key for key in required if key not in state]
    if missing:
        raise ValueError(f"{name} lacks {missing}; expected the keys {sorted(required)}")
    allowed = set(required) | set(optional)
    unknown = [str(key)[:_SHOWN] for key in islice((k for k in state if k not in allowed), 5)]
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {unknown}; allowed keys are {sorted(allowed)}")
    return state


def _shape_text(shape) -> str:
    parts = ["any" if s is None else str(s) for s in shape]
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


def check_array(value, name: str, *, kind: str = "f", shape=None, finite: bool = False):
    """An array of dtype kind ``kind`` and ``shape`` (None entries: any length).

    Parameters
    ----------
    value : object
    name : str
    kind : str
        One or more of "f" (float32 or float64), "i" (signed or unsigned integers),
        "U" (text), "b" (boolean).
    shape : tuple of int or None, optional
        The expected shape; its length fixes the number of dimensions.
    finite : bool, default=False
        Every value must be finite (float arrays).

    Returns
    -------
    ndarray
        ``value`` itself, or a copy in the machine's byte order.
    """
    words = " or ".join(_KIND_WORDS[k] for k in kind)
    expected = _a(f"{words} array") + ("" if shape is None else f" of shape {_shape_text(shape)}")
    if not isinstance(value, np.ndarray):
        raise state_error(name, expected, value)
    dtype = value.dtype
    kinds = {"u": "i"}.get(dtype.kind, dtype.kind)
    if kinds not in kind or (kinds == "f" and dtype.newbyteorder("=") not in _FLOATS):
        raise state_error(name, expected, value)
    if shape is not None and (
        value.ndim != len(shape)
        or any(
            want is not None and have != want for have, want in zip(value.shape, shape, strict=True)
        )
    ):
        raise state_error(name, expected, value)
    if not dtype.isnative:
        value = value.astype(dtype.newbyteorder("="))
    if finite and kinds == "f" and not np.isfinite(value).all():
        raise ValueError(f"{name} must hold finite values; found NaN or infinity")
    return value


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a boolean) in ``[low, high]``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        bounds = _bounds_text(low, high, "integer")
        raise state_error(name, bounds, value)
    return int(value)


def _a(words: str) -> str:
    """``words`` with its indefinite article."""
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _bounds_text(low, high, what: str, *, open_low: bool = False) -> str:
    if low is not None and high is not None:
        return f"{_a(what)} in {'(' if open_low else '['}{low}, {high}]"
    if low is not None:
        return f"{_a(what)} {'>' if open_low else '>='} {low}"
    if high is not None:
        return f"{_a(what)} <= {high}"
    return _a(what)


def check_real(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    finite: bool = True,
) -> float:
    """A real number (not a boolean) in ``[low, high]`` (``(low, high]`` with ``open_low``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        # an integer beyond float's range (JSON allows it) is not a usable number
        number = float(value) if not isinstance(value, int) or value.bit_length() < 1024 else None
        ok = number is not None and not (finite and not np.isfinite(number))
        ok = ok and (low is None or (number > low if open_low else number >= low))
        ok = ok and (high is None or number <= high)
    if not ok:
        what = "finite number" if finite else "number"
        raise state_error(name, _bounds_text(low, high, what, open_low=open_low), value)
    return number


def check_bool(value, name: str) -> bool:
    """``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise state_error(name, "true or false", value)
    return bool(value)


def check_choice(value, name: str, choices) -> str:
    """A string from ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise state_error(name, f"one of {list(choices)}", value)
    return value


def check_instance(value, name: str, cls, what: str):
    """An instance of ``cls`` (described as ``what`` in the message)."""
    if not isinstance(value, cls):
        raise state_error(name, what, value)
    return value


def check_seed(value, name: str = "random_state"):
    """None or a non-negative integer (what a model file can hold of a ``random_state``)."""
    if value is not None:
        check_int(value, name, low=0)
    return value


def check_indices(value, name: str, n: int) -> np.ndarray:
    """A 1-D array of distinct integers in ``[0, n)``, as int64.

    Distinctness is counted (O(length + n)), never sorted.
    """
    index = check_array(value, name, kind="i", shape=(None,))
    if index.size and (index.min() < 0 or index.max() >= n):
        bad = index[(index < 0) | (index >= n)][0]
        raise ValueError(f"{name} must hold indices in [0, {n}); found {bad.item()}")
    index = index.astype(np.int64, copy=False)
    if index.size and np.bincount(index, minlength=n).max() > 1:
        raise ValueError(f"{name} must hold distinct indices; found a repeated one")
    return index


def check_positive(values: np.ndarray, name: str) -> np.ndarray:
    """A non-empty array of finite, strictly positive values (variances, scales)."""
    good = np.isfinite(values) & (values > 0)
    if not values.size or not good.all():
        found = "an empty array" if not values.size else f"{values[~good][0].item()!r}"
        raise ValueError(f"{name} must be finite and positive; found {found}")
    return values


def check_probabilities(value, name: str, n: int) -> np.ndarray:
    """``n`` finite non-negative floats that sum to 1 (a prior or mixture weights)."""
    p = check_array(value, name, kind="f", shape=(n,), finite=True)
    total = float(p.sum(dtype=np.float64))
    if not p.size or p.min() < 0 or not np.isclose(total, 1.0):
        low = f"a smallest value of {p.min():g} and " if p.size else ""
        raise ValueError(f"{name} must be non-negative and sum to 1; found {low}a sum of {total:g}")
    return p


def check_real_list(value, name: str, *, finite: bool = False) -> list[float]:
    """A list of real numbers (a fit's history), as floats."""
    if not isinstance(value, list):
        raise state_error(name, "a list of numbers", value)
    return [check_real(v, f"{name}[{i}]", finite=finite) for i, v in enumerate(value)]
