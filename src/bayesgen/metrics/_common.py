"""Pieces every metric family shares: the result base class, JSON conversion, seeds, checks.

Nothing here is a metric.  The names carry no leading underscore because sibling modules
import them; the module itself is private, and only :func:`to_jsonable` is re-exported by
:mod:`bayesgen.metrics`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import format_label

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MetricResult",
    "as_labels",
    "describe_seed",
    "label_index",
    "same_width",
    "seed_from",
    "subsample",
    "to_jsonable",
]

#: Default number of rows of the first operand processed at once by the blocked kernels.
DEFAULT_BATCH_SIZE = 1024
#: Largest seed handed to scikit-learn estimators (they require a 32-bit signed int).
_MAX_SEED = 2**31 - 1


def to_jsonable(obj):
    """Convert a metric result, or any nesting of containers holding them, to JSON values.

    Parameters
    ----------
    obj : object
        A metric result (anything with the ``to_dict`` of :class:`MetricResult`), another
        dataclass instance, a dict, list or tuple, a numpy array or scalar, or a plain
        Python value.

    Returns
    -------
    object
        ``None``, bool, int, float, str, list or dict (with str keys) only, so that
        ``json.dumps(to_jsonable(obj), allow_nan=False)`` succeeds:

        * metric results become their :meth:`MetricResult.to_dict` (per-sample arrays
          left out); other dataclasses become a dict of every field;
        * dict keys become ``str(key)``; tuples become lists;
        * numpy arrays become nested lists and numpy scalars Python scalars;
        * non-finite floats (NaN, +-inf) become ``None``, since JSON has no such numbers;
        * anything else becomes ``str(obj)``.
    """
    if isinstance(obj, MetricResult):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()] if obj.ndim else to_jsonable(obj.item())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    return str(obj)


class MetricResult:
    """Mixin: ``to_dict`` for the frozen result dataclasses (JSON-able, big arrays skipped)."""

    def to_dict(self) -> dict:
        """Return the result as a JSON-able dict (numpy values become Python values).

        Non-finite floats become ``None``; per-sample arrays (fields declared with
        ``metadata={"json": False}``) are left out so the dict stays small.
        """
        return {
            f.name: to_jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("json", True)
        }


def describe_seed(random_state):
    """Record a ``random_state`` argument in a JSON-able, honest way.

    An int (or None) is recorded as itself; a Generator or other stream is recorded by its
    type only, because its position in the stream cannot be written down and replayed.
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    return f"{type(random_state).__name__} (stream position not recorded)"


def seed_from(rng: np.random.Generator) -> int:
    """Draw an int seed in ``[0, 2**31 - 1)`` for scikit-learn estimators from ``rng``."""
    return int(rng.integers(0, _MAX_SEED))


def same_width(A: np.ndarray, B: np.ndarray, na: str, nb: str) -> None:
    """Raise :class:`DataError` unless ``A`` and ``B`` have the same number of columns."""
    if A.shape[1] != B.shape[1]:
        raise DataError(
            f"{na} has {A.shape[1]} features but {nb} has {B.shape[1]}; both must live in the "
            "same space (transform both with the same feature space)."
        )


def as_labels(y, name: str, n: int | None = None) -> np.ndarray:
    """``y`` as a 1-D label array (a single row or column is flattened), ``n`` long if given."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        arr = arr.ravel() if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise DataError(f"{name} must be 1-D (n_samples,); got shape {np.shape(y)}.")
    if n is not None and arr.shape[0] != n:
        raise DataError(
            f"{name} has {arr.shape[0]} labels but the data has {n} rows; pass one label per row."
        )
    return arr


def label_index(values: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    """Positions of ``values`` inside ``labels`` (vectorised); DataError for unknown labels.

    A binary search over the sorted labels finds each value's candidate position; a value
    whose candidate differs from it is not among ``labels``.
    """
    sorter = np.argsort(labels, kind="stable")
    pos = np.searchsorted(labels, values, sorter=sorter)
    pos = np.clip(pos, 0, len(labels) - 1)
    idx = sorter[pos]
    bad = labels[idx] != values
    if np.any(bad):
        raise DataError(
            f"{name} contains labels not in `labels` (e.g. {format_label(values[bad][0])}); "
            f"expected one of {labels.tolist()[:20]}. Pass labels=None to use every label seen."
        )
    return idx


def subsample(n: int, m: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of a random subset of size ``min(n, m)`` (all rows, in order, if m >= n)."""
    if m is None or m >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=m, replace=False))
