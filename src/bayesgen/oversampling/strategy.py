"""``sampling_strategy`` as imbalanced-learn reads it, resolved without imbalanced-learn.

An over-sampler is told how many rows each class should *end up* with; the resolution
turns that into how many rows to *add* per class, ``{class: n_new}``, in sorted class
order.  With ``n_c`` the rows of class ``c`` and ``M`` the rows of the majority class (the
first largest class in sorted order, as imbalanced-learn breaks ties; the minority likewise
is the first smallest):

================  ==============================================================
"auto"            same as "not majority"
"not majority"    ``M - n_c`` for every class but the majority
"not minority"    ``M - n_c`` for every class but the minority
"minority"        ``M - n_minority`` for the minority class only
"all"             ``M - n_c`` for every class (0 for the majority)
float ``r``       binary y only: ``int(M r - n_c)`` for the class that is not the
                  majority; ``r`` in (0, 1] is the ratio minority / majority
                  after resampling and must ask for at least one new row
dict              ``{class: target rows}``: ``target - n_c`` for the classes named
callable          ``f(y) -> dict``, read as a dict
================  ==============================================================

"majority" and lists (imbalanced-learn's forms for under-sampling and cleaning) are
refused.  The numbers equal :func:`imblearn.utils.check_sampling_strategy` with
``sampling_type="over-sampling"`` for every form (the tests compare them); the errors are
:class:`~bayesgen.DataError` and name the class.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import format_label

__all__ = ["STRATEGY_NAMES", "resolve_sampling_strategy"]

#: the text forms of ``sampling_strategy`` an over-sampler takes
STRATEGY_NAMES = ("auto", "minority", "not minority", "not majority", "all")


def _counts(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes, counts = np.unique(y, return_counts=True)
    if classes.shape[0] < 2:
        shown = ", ".join(format_label(c) for c in classes[:1])
        raise DataError(
            f"y has only one class ({shown}); an over-sampler needs at least 2 classes to "
            "balance (got 1 class)."
        )
    return classes, counts


def _from_name(name: str, classes: np.ndarray, counts: np.ndarray) -> dict:
    """The text forms: every chosen class grows to the majority's size."""
    majority, minority = int(np.argmax(counts)), int(np.argmin(counts))
    chosen = {
        "auto": lambda k: k != majority,
        "not majority": lambda k: k != majority,
        "not minority": lambda k: k != minority,
        "minority": lambda k: k == minority,
        "all": lambda k: True,
    }[name]
    top, labels = int(counts[majority]), classes.tolist()
    return {labels[k]: top - int(counts[k]) for k in range(classes.shape[0]) if chosen(k)}


def _from_ratio(ratio: float, classes: np.ndarray, counts: np.ndarray) -> dict:
    """A float: binary only, minority / majority after resampling."""
    if not 0.0 < ratio <= 1.0:
        raise DataError(
            "When 'sampling_strategy' is a float, it should be in the range (0, 1] (the "
            f"ratio minority / majority after resampling). Got {ratio} instead."
        )
    if classes.shape[0] != 2:
        shown = ", ".join(format_label(c) for c in classes)
        raise DataError(
            "'sampling_strategy' can be a float only when y is binary; y has "
            f"{classes.shape[0]} classes ({shown}). For multi-class data, use a dict "
            "{class: target number of rows}."
        )
    majority = int(np.argmax(counts))
    top = int(counts[majority])
    labels = classes.tolist()
    out = {labels[k]: int(top * ratio - counts[k]) for k in range(2) if k != majority}
    for label, n_new in out.items():
        if n_new <= 0:
            raise DataError(
                f"sampling_strategy={ratio} asks class {format_label(label)} for "
                f"{int(top * ratio)} rows, but it has {int(counts[classes == label][0])} "
                "already, so no row would be generated. Please increase the ratio "
                f"(class {format_label(label)} is at {counts[classes == label][0] / top:.3g} "
                "of the majority)."
            )
    return out


def _from_dict(targets: dict, classes: np.ndarray, counts: np.ndarray) -> dict:
    """``{class: target rows}``: new rows ``target - n_c``; never fewer than ``n_c``."""
    known = dict(zip(classes.tolist(), counts.tolist(), strict=True))
    unknown = [key for key in targets if key not in known]
    if unknown:
        shown = ", ".join(format_label(c) for c in classes)
        raise DataError(
            f"sampling_strategy names the class {format_label(unknown[0])}, which is not "
            f"present in the data; the classes of y are {shown}."
        )
    out = {}
    for label, target in targets.items():
        if isinstance(target, bool) or not isinstance(target, numbers.Integral):
            raise DataError(
                f"sampling_strategy asks class {format_label(label)} for {target!r} rows; "
                "give a whole number of rows per class."
            )
        if target < 0:
            raise DataError(
                "The number of samples in a class cannot be negative. 'sampling_strategy' "
                f"asks class {format_label(label)} for {target} rows."
            )
        have = known[label]
        if target < have:
            raise DataError(
                "With over-sampling methods, the number of samples in a class should be "
                "greater or equal to the original number of samples. Originally, there is "
                f"{have} samples and {target} samples are asked (class {format_label(label)})."
            )
        out[label] = int(target) - have
    return out


def resolve_sampling_strategy(sampling_strategy, y) -> OrderedDict:
    """How many rows an over-sampler adds to each class.

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable
        See the module docstring ("auto", "minority", "not minority", "not majority",
        "all"; a float in (0, 1] for binary y; ``{class: target rows}``; ``f(y) -> dict``).
    y : ndarray of shape (n_samples,)
        Class labels (one column; at least two classes).

    Returns
    -------
    OrderedDict
        ``{class: number of new rows}``, classes in sorted order; classes left out get no
        new rows.

    Raises
    ------
    DataError
        One class only, an unknown form or name, a class that is not in ``y``, a target
        below a class's current rows, a float on multi-class data or one that asks for
        no new row.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array(["a"] * 6 + ["b"] * 3 + ["c"] * 1)
    >>> dict(resolve_sampling_strategy("auto", y))
    {'b': 3, 'c': 5}
    >>> dict(resolve_sampling_strategy({"c": 4}, y))
    {'c': 3}
    """
    y = np.asarray(y)
    classes, counts = _counts(y)
    strategy = sampling_strategy
    if callable(strategy) and not isinstance(strategy, (str, dict)):
        strategy = strategy(y)
        if not isinstance(strategy, dict):
            raise DataError(
                "a callable sampling_strategy must return a dict {class: target number of "
                f"rows}}; it returned {type(strategy).__name__}."
            )
    if isinstance(strategy, str):
        if strategy not in STRATEGY_NAMES:
            hint = (
                " ('majority' is an under-sampling strategy: an over-sampler cannot shrink "
                "the majority class)"
                if strategy == "majority"
                else ""
            )
            raise DataError(
                f"When 'sampling_strategy' is a string, it needs to be one of "
                f"{list(STRATEGY_NAMES)}. Got {strategy!r} instead{hint}."
            )
        resolved = _from_name(strategy, classes, counts)
    elif isinstance(strategy, dict):
        resolved = _from_dict(strategy, classes, counts)
    elif isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        resolved = _from_ratio(float(strategy), classes, counts)
    else:
        raise DataError(
            f"sampling_strategy must be one of {list(STRATEGY_NAMES)}, a float in (0, 1], "
            "a dict {class: target number of rows} or a callable y -> dict; got "
            f"{sampling_strategy!r} (lists are for cleaning methods, not over-samplers)."
        )
    return OrderedDict(sorted(resolved.items()))
