"""Error types raised by bayesgen.

Every error the library raises on purpose derives from :class:`BayesgenError`, so a caller
(and the command line) can tell a documented failure from a bug.  Messages follow one rule:
say what was expected, what was found and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "BayesgenError",
    "ComponentCollapseWarning",
    "DataError",
    "FitError",
    "ModelFileError",
    "NotFittedError",
]


class BayesgenError(Exception):
    """Base class of every error bayesgen raises on purpose."""


class DataError(BayesgenError, ValueError):
    """Input data is missing, malformed or inconsistent with the model."""


class FitError(BayesgenError, ValueError):
    """A model could not be fitted; the message names the parameter to change."""


class ModelFileError(BayesgenError, ValueError):
    """A model file is truncated, tampered with, malformed, declares more than the load
    limits allow, or is from an unsupported format version."""


try:  # keep scikit-learn's type so sklearn's own checks recognise it
    from sklearn.exceptions import NotFittedError as _SkNotFitted
except ImportError:  # pragma: no cover - scikit-learn is a hard dependency
    _SkNotFitted = ValueError


class NotFittedError(BayesgenError, _SkNotFitted):
    """A method that needs a fitted model was called before ``fit``."""


try:
    from sklearn.exceptions import ConvergenceWarning as _SkConvergence
except ImportError:  # pragma: no cover - scikit-learn is a hard dependency
    _SkConvergence = UserWarning


class ComponentCollapseWarning(_SkConvergence):
    """Mixture components kept collapsing onto too few rows and were dropped (each after
    a few re-seeds): the fit has fewer components than asked for, more than the rows
    support.  A :class:`sklearn.exceptions.ConvergenceWarning`, so filters on that apply."""
