"""Model files of the classifier: rebuilding a BayesClassifier from a file's state.

A file may be hostile, so every value is checked, and the cheap checks come first: the
number of classes is the length of the list of class densities (objects the manifest had
to spell out), so a label array of any other length is refused before any pass over it;
labels are checked sorted and distinct in one linear pass (no sort, no ``np.unique``).
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.state_checks import (
    check_array,
    check_int,
    check_keys,
    check_probabilities,
    check_real,
    check_seed,
    state_error,
)
from bayesgen.densities.base import Density, check_fitted_density
from bayesgen.densities.shortcuts import parse_density_name
from bayesgen.kernels.missing_patterns import MissingPatterns
from bayesgen.tables import TableSchema
from bayesgen.tables.spec import KINDS

__all__ = ["classifier_from_state"]

_NAME = "BayesClassifier"
_STATE_KEYS = ("params", "classes", "class_count", "class_prior", "densities", "n_features_in")
# absent in files of models fitted on arrays (schema) or written before they were kept
_OPTIONAL_KEYS = ("schema", "missing_rate", "missing_patterns", "orders")
_MAX_NAME = 200  # characters of a density shortcut name
#: characters of a text label: far more than any class name, small enough that arrays of
#: labels stay small next to the rows they label
_MAX_LABEL = 1024
#: what ``column_types`` may declare a column as
_COLUMN_KINDS = (*KINDS, "drop")


def _check_params(params: dict) -> None:
    """The constructor parameters saved in the file (each may be absent: its default)."""
    density = params.get("density")
    if density is not None and not isinstance(density, Density):
        if not isinstance(density, str) or len(density) > _MAX_NAME:
            raise state_error(f"{_NAME} density", "None, a shortcut name or a density", density)
        parse_density_name(density)  # its error lists the known families
    check_real(params.get("reg_covar", 0.0), f"{_NAME} reg_covar", low=0)
    shrinkage = params.get("shrinkage")
    auto = isinstance(shrinkage, str) and shrinkage == "auto"
    number = isinstance(shrinkage, (int, float)) and not isinstance(shrinkage, bool)
    if not (shrinkage is None or auto or (number and 0 <= shrinkage <= 1)):
        expected = "None, 'auto' or a number in [0, 1]"
        raise state_error(f"{_NAME} shrinkage", expected, shrinkage)
    check_seed(params.get("random_state"), f"{_NAME} random_state")
    kinds = params.get("column_types")
    if kinds is not None and not (
        isinstance(kinds, dict)
        and all(isinstance(v, str) and v in _COLUMN_KINDS for v in kinds.values())
    ):
        expected = f"None or a mapping of column names to one of {list(_COLUMN_KINDS)}"
        raise state_error(f"{_NAME} column_types", expected, kinds)
    unknown = params.get("unknown", "error")
    if not (isinstance(unknown, str) and unknown in ("error", "missing")):
        raise state_error(f"{_NAME} unknown", "'error' or 'missing'", unknown)
    orders = params.get("orders", "keep")
    if not (isinstance(orders, str) and orders in ("keep", "ignore")):
        raise state_error(f"{_NAME} orders", "'keep' or 'ignore'", orders)


def _check_priors(priors, n_classes: int) -> None:
    """None, or one non-negative probability per class summing to 1 (as the user gave it:
    a list, a tuple or a float array)."""
    if priors is None:
        return
    name = f"{_NAME} priors"
    if isinstance(priors, (list, tuple)):
        if len(priors) != n_classes:
            raise state_error(name, f"None or {n_classes} probabilities, one per class", priors)
        values = [check_real(v, f"{name}[{i}]", low=0) for i, v in enumerate(priors)]
        priors = np.asarray(values, dtype=np.float64)
    check_probabilities(priors, name, n_classes)


def _narrow_text_labels(classes: np.ndarray, name: str) -> np.ndarray:
    """Text labels of at most :data:`_MAX_LABEL` characters, in a dtype as wide as the
    longest one.  Every array of labels the model hands out (``sample``, ``predict``) is as
    wide as ``classes_``: a file declaring '<U5000000' for the labels 'a', 'b' and 'c'
    (60 MB, deflated to 64 KB) would make ``sample(100)`` ask for 2 GB."""
    longest = int(np.char.str_len(classes).max())
    if longest == 0:
        raise state_error(name, "labels of at least one character", classes)
    if longest > _MAX_LABEL:
        raise ValueError(
            f"{name} must be labels of at most {_MAX_LABEL:,} characters; found one of {longest:,}"
        )
    return classes.astype(f"U{longest}", copy=False)


def _checked_classes(classes, densities) -> np.ndarray:
    """The labels: one per class density, sorted and distinct, checked in linear time."""
    if not isinstance(densities, list) or len(densities) < 2:
        expected = "a list of at least two class densities"
        raise state_error(f"{_NAME} densities", expected, densities)
    n_classes = len(densities)
    name = f"{_NAME} classes"
    classes = check_array(classes, name, kind="iUb", shape=(n_classes,))
    if classes.dtype.kind == "U":
        classes = _narrow_text_labels(classes, name)
    if not np.all(classes[1:] > classes[:-1]):
        raise ValueError(f"{name} must be sorted and distinct")
    return classes


def _check_densities(densities: list, n_features: int) -> None:
    for k, density in enumerate(densities):
        check_fitted_density(density, f"{_NAME} densities[{k}]", n_features)


def _checked_schema(schema, n_features: int):
    """The table schema of a model file (absent in files of models fitted on arrays)."""
    if schema is None:
        return None
    if not isinstance(schema, TableSchema):
        raise state_error(f"{_NAME} schema", "None or a TableSchema", schema)
    if schema.n_features != n_features:
        raise ValueError(
            f"{_NAME} schema must model {n_features} columns; found {schema.n_features}"
        )
    return schema


def _checked_missing_rate(rates, n_classes: int, n_features: int):
    if rates is None:
        return None
    name = f"{_NAME} missing_rate"
    rates = check_array(rates, name, shape=(n_classes, n_features))
    if not np.all((rates >= 0) & (rates <= 1)):
        raise ValueError(f"{name} must hold fractions in [0, 1]")
    return rates


def _checked_orders(orders, n_features: int, schema):
    """None, or pairs of distinct comparable features (files written before orders were
    kept have none)."""
    if orders is None:
        return None
    name = f"{_NAME} orders"
    orders = check_array(orders, name, kind="i", shape=(None, 2))
    if orders.shape[0] > n_features * (n_features - 1) // 2:
        raise ValueError(f"{name} must hold at most one pair per two features")
    if orders.size and not (
        np.all((orders >= 0) & (orders < n_features)) and np.all(orders[:, 0] != orders[:, 1])
    ):
        raise ValueError(f"{name} must be pairs of two different features in 0..{n_features - 1}")
    if not orders.size:
        return orders.astype(np.int64)
    groups = np.zeros(n_features, dtype=np.int64) if schema is None else schema.order_groups()[0]
    a, b = orders[:, 0], orders[:, 1]
    if np.any(groups[a] < 0) or np.any(groups[a] != groups[b]):
        raise ValueError(
            f"{name} must pair numeric columns with numeric ones and dates with dates "
            "(categorical columns have no order)"
        )
    pairs = np.sort(orders, axis=1)
    if np.unique(pairs, axis=0).shape[0] != pairs.shape[0]:
        raise ValueError(f"{name} must name each pair of columns once, in one direction")
    return orders.astype(np.int64)


def classifier_from_state(cls, state: dict):
    """Rebuild a fitted classifier of type ``cls`` from a model file's state.

    Raises
    ------
    ValueError
        Naming the field, what was expected and what was found (the loader turns it into
        :class:`ModelFileError`).
    """
    check_keys(state, f"{_NAME} state", _STATE_KEYS, _OPTIONAL_KEYS)
    params = check_keys(state["params"], f"{_NAME} params", (), cls._get_param_names())
    _check_params(params)
    densities = state["densities"]
    classes = _checked_classes(state["classes"], densities)
    n_classes = classes.shape[0]
    _check_priors(params.get("priors"), n_classes)
    n_features = check_int(state["n_features_in"], f"{_NAME} n_features_in", low=1)
    _check_densities(densities, n_features)
    counts = check_array(
        state["class_count"], f"{_NAME} class_count", kind="fi", shape=(n_classes,), finite=True
    )
    if np.any(counts < 0):
        raise ValueError(f"{_NAME} class_count must be non-negative")
    obj = cls(**params)
    obj.class_prior_ = check_probabilities(state["class_prior"], f"{_NAME} class_prior", n_classes)
    obj.schema_ = _checked_schema(state.get("schema"), n_features)
    obj.missing_rate_ = _checked_missing_rate(state.get("missing_rate"), n_classes, n_features)
    patterns = state.get("missing_patterns")
    obj.missing_patterns_ = (
        None
        if patterns is None
        else MissingPatterns.from_state(
            patterns, f"{_NAME} missing_patterns", n_classes, n_features
        )
    )
    obj.orders_ = _checked_orders(state.get("orders"), n_features, obj.schema_)
    obj.classes_ = classes
    obj.class_count_ = counts
    obj.densities_ = densities
    obj.n_features_in_ = n_features
    obj._stats = None
    with np.errstate(divide="ignore"):
        obj._log_prior = np.log(obj.class_prior_)
    return obj
