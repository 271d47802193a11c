"""Model files of the classifier: rebuilding a BayesClassifier from a file's state, where
every value is checked (a file may be hostile)."""

from __future__ import annotations

import numpy as np

from bayesgen.densities.base import Density

__all__ = ["classifier_from_state"]


def _check_params(params: dict) -> None:
    if params.get("density") is not None and not isinstance(params["density"], (str, Density)):
        raise ValueError("density parameter must be a name or a density")
    value = params.get("reg_covar")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError("reg_covar must be a non-negative number")
    kinds = params.get("column_types")
    if kinds is not None and not (
        isinstance(kinds, dict) and all(isinstance(v, str) for v in kinds.values())
    ):
        raise ValueError("column_types must be None or a dict of column name -> kind")
    shrinkage = params.get("shrinkage")
    if (
        shrinkage is not None
        and shrinkage != "auto"
        and (not isinstance(shrinkage, (int, float)) or isinstance(shrinkage, bool))
    ):
        raise ValueError("shrinkage must be None, 'auto' or a number")


def _check_classes(classes, densities, n_features) -> None:
    if not isinstance(classes, np.ndarray) or classes.dtype.kind not in "biuU":
        raise ValueError("classes must be an array of integer or string labels")
    if not isinstance(n_features, int) or isinstance(n_features, bool) or n_features < 1:
        raise ValueError("n_features_in must be a positive integer")
    if classes.ndim != 1 or classes.shape[0] < 2:
        raise ValueError("classes must be a 1-D array of at least two labels")
    if np.unique(classes).shape[0] != classes.shape[0] or np.any(np.sort(classes) != classes):
        raise ValueError("classes must be sorted and distinct")
    if not isinstance(densities, list) or len(densities) != classes.shape[0]:
        raise ValueError("there must be one density per class")
    for density in densities:
        if not isinstance(density, Density):
            raise ValueError("class densities must be bayesgen densities")
        if density.n_features_in_ != n_features:
            raise ValueError(
                f"a class density has {density.n_features_in_} features, expected {n_features}"
            )


def _check_prior(state: dict, classes: np.ndarray) -> None:
    for key in ("class_count", "class_prior"):
        value = state[key]
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise ValueError(f"{key} must be a float array")
    counts, prior = state["class_count"], state["class_prior"]
    if counts.shape != classes.shape or prior.shape != classes.shape:
        raise ValueError("class counts and priors must have one entry per class")
    if not np.all(np.isfinite(prior)) or np.any(prior < 0) or not np.isclose(prior.sum(), 1.0):
        raise ValueError("class prior must be non-negative and sum to 1")


def _checked_schema(schema, n_features: int):
    """The table schema of a model file (absent in files of models fitted on arrays)."""
    if schema is None:
        return None
    from bayesgen.tables import TableSchema

    if not isinstance(schema, TableSchema) or len(schema.feature_names) != n_features:
        raise ValueError("the table schema does not match the model's features")
    return schema


def _checked_missing_rate(rates, classes: np.ndarray, n_features: int):
    if rates is None:
        return None
    if (
        not isinstance(rates, np.ndarray)
        or rates.shape != (classes.shape[0], n_features)
        or not np.all((rates >= 0) & (rates <= 1))
    ):
        raise ValueError("missing rates must be an array of fractions, one per class and feature")
    return rates


def classifier_from_state(cls, state: dict):
    """Rebuild a fitted classifier of type ``cls`` from a model file's state.

    Raises
    ------
    ValueError
        Naming the first inconsistency (the loader turns it into :class:`ModelFileError`).
    """
    params = dict(state["params"])
    _check_params(params)
    obj = cls(**params)
    classes, densities = state["classes"], state["densities"]
    n_features = state["n_features_in"]
    _check_classes(classes, densities, n_features)
    _check_prior(state, classes)
    obj.schema_ = _checked_schema(state.get("schema"), n_features)
    obj.missing_rate_ = _checked_missing_rate(state.get("missing_rate"), classes, n_features)
    obj.classes_ = classes
    obj.class_count_ = state["class_count"]
    obj.densities_ = densities
    obj.n_features_in_ = int(n_features)
    obj._stats = None
    obj.priors = None if params.get("priors") is None else params["priors"]
    obj.class_prior_ = state["class_prior"]
    with np.errstate(divide="ignore"):
        obj._log_prior = np.log(obj.class_prior_)
    return obj
