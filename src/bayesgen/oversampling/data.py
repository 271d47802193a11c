"""What an over-sampler takes and gives back: rows and labels in the caller's own types.

``fit_resample`` accepts what imbalanced-learn's samplers accept and returns the same
types: a DataFrame gives a DataFrame (same columns, order and dtypes, index reset), a list
a list, an array an array of its dtype; labels keep their type too (a Series its name and
dtype, one-hot labels stay one-hot).  In between, the rows are what
:class:`~bayesgen.BayesClassifier` takes:

* a table (a DataFrame with text, category, boolean or date columns, or with missing
  cells), and an array of text or with NaN cells, which is modelled as a table with
  columns ``x0, x1, ...``;
* a numeric DataFrame or array without gaps as a table of numbers (an array's columns
  named ``x0, x1, ...``), every column declared a number (``integer`` when it holds whole
  numbers, else ``continuous``), so that none is judged an identifier and left out, and
  synthetic values stay in each column's range and decimals.

Synthetic rows come back in the input's dtypes: integer columns rounded and kept in the
range the column spans, float32 kept, categories and dates as in the input.  A column the
table schema leaves out (an identifier or free text such as a name) is empty in synthetic
rows; when its dtype cannot hold an empty cell it becomes the nullable form (``Int64``,
``boolean``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.utils.multiclass import type_of_target

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.tables import is_table

__all__ = ["Features", "Targets", "prepare_features", "prepare_targets"]


# ---------------------------------------------------------------------------- labels
@dataclass
class Targets:
    """The labels as one column, and how to give resampled labels back in the input's type.

    Attributes
    ----------
    y : ndarray of shape (n_samples,)
        The labels (argmax of one-hot rows).
    kind : {"array", "list", "series", "frame", "onehot"}
    dtype, name, columns, classes
        What the restoring needs (``classes`` for one-hot labels).
    """

    y: np.ndarray
    kind: str
    dtype: object = None
    name: object = None
    columns: object = None
    classes: np.ndarray | None = None

    def restore(self, y_res: np.ndarray):
        """Resampled labels ``y_res`` (shape (n_res,)) in the input's type."""
        if self.kind == "onehot":
            return (y_res[:, None] == self.classes[None, :]).astype(self.dtype)
        if self.kind == "list":
            return y_res.tolist()
        if self.kind == "series":
            return pd.Series(y_res, name=self.name, dtype=self.dtype)
        if self.kind == "frame":
            return pd.DataFrame({self.columns[0]: y_res}).astype({self.columns[0]: self.dtype})
        return y_res


def prepare_targets(y) -> Targets:
    """Read ``y`` (array, list, Series, one-column DataFrame or one-hot matrix).

    Raises
    ------
    DataError
        Continuous labels, multilabel or multioutput targets, missing labels.
    """
    if y is None:
        raise DataError(
            "BayesOverSampler requires y to be passed, but the target y is None; give one "
            "class label per row."
        )
    kind, dtype, name, columns = "array", None, None, None
    if isinstance(y, pd.DataFrame):
        kind, columns = "frame", list(y.columns)
        if y.shape[1] == 1:
            dtype = y.dtypes.iloc[0]
            y = y.iloc[:, 0]
        else:
            y = y.to_numpy()
    if isinstance(y, pd.Series):
        kind = kind if kind == "frame" else "series"
        dtype, name = y.dtype, y.name
        y = y.to_numpy()
    elif isinstance(y, list):
        kind = "list"
    y = np.asarray(y)
    missing = pd.isna(y) if y.dtype.kind in "fcOU" else np.zeros(y.shape, dtype=bool)
    if np.any(missing):
        row = int(np.argwhere(missing)[0][0])
        raise RowDataError("y has no label in ", row, " (a missing value); give every row a label.")
    try:
        target = type_of_target(y, input_name="y")
        np.unique(y)
    except (TypeError, ValueError) as exc:  # labels of types that cannot be sorted
        raise DataError(
            f"the labels in y cannot be compared with each other ({exc}); give labels of one "
            "type, e.g. y.astype(str)."
        ) from None
    if target == "multilabel-indicator":
        if np.any(y.sum(axis=1) != 1):
            raise DataError(
                "y has several labels per row. Multilabel and multioutput targets are not "
                "supported: give one class per row (or one-hot rows with exactly one 1)."
            )
        classes = np.arange(y.shape[1])
        return Targets(y.argmax(axis=1), "onehot", dtype=y.dtype, classes=classes)
    if target not in ("binary", "multiclass"):
        raise DataError(
            f"Unknown label type: {target!r}. An over-sampler needs class labels (discrete "
            "values, one per row); it cannot balance a continuous or multioutput target."
        )
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    return Targets(y, kind, dtype=dtype, name=name, columns=columns)


# ---------------------------------------------------------------------------- rows
@dataclass
class Features:
    """The rows as the model takes them, and how to join synthetic rows to the originals.

    Attributes
    ----------
    model_input : DataFrame or ndarray
        What :class:`~bayesgen.BayesClassifier` is fitted on.
    original : DataFrame or ndarray
        The input rows in their own types (DataFrames with a fresh index).
    kind : {"frame", "array", "list"}
    names : list of str
        The column names the model sees (internal ``x0, x1, ...`` for arrays).
    feature_names : ndarray of str or None
        The input's column names when they are all text (``feature_names_in_``).
    dtype : numpy dtype or None
        The dtype of an array input that is modelled as a table (text, NaN cells).
    column_types : dict or None
        The kinds declared for the columns of numbers-only rows (``column_types`` of the
        model, unless the caller gives some); None for other tables.
    """

    model_input: object
    original: object
    kind: str
    names: list
    feature_names: np.ndarray | None
    dtype: object = None
    column_types: dict | None = None

    @property
    def n_features(self) -> int:
        return len(self.names)

    def combine(self, synthetic):
        """Originals first, then ``synthetic`` (the model's sample output), as the input."""
        if isinstance(self.original, pd.DataFrame):
            new = _synthetic_frame(synthetic, self.names)
            new.columns = self.original.columns
            out = _concat_frames(self.original, new)
            if self.kind == "frame":
                return out
            array = out.to_numpy(dtype=self.dtype)
            return array.tolist() if self.kind == "list" else array
        new = _cast_numbers(np.asarray(synthetic), self.original)
        out = np.concatenate([self.original, new]) if len(new) else self.original.copy()
        return out.tolist() if self.kind == "list" else out


def prepare_features(X, n_samples: int) -> Features:
    """Read ``X`` (DataFrame, array, list); see the module docstring.

    Raises
    ------
    DataError
        Sparse input, not two-dimensional, or a row count that differs from ``y``'s.
    """
    if sparse.issparse(X):
        raise DataError(
            "X is a sparse matrix; BayesOverSampler models dense rows. Convert it with "
            "X.toarray() (or reduce the dimension first, e.g. TruncatedSVD)."
        )
    kind = "list" if isinstance(X, list) else "array"
    if isinstance(X, pd.DataFrame):
        kind = "frame"
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise DataError(
                f"X must be two-dimensional (rows x features); got shape {X.shape}. "
                "Reshape one feature with X.reshape(-1, 1)."
            )
    if X.shape[0] != n_samples:
        raise DataError(f"X has {X.shape[0]} rows but y has {n_samples} labels; they must match.")
    if X.shape[1] == 0:
        raise DataError(
            f"X has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required: an "
            "over-sampler needs at least one column."
        )
    if kind == "frame":
        return _frame_features(X)
    names = [f"x{j}" for j in range(X.shape[1])]
    numeric = X.dtype.kind in "iuf"
    if numeric and not (X.dtype.kind == "f" and np.isnan(X).any()):
        return _number_features(X.astype(np.float64), X, kind, names, None)
    # text, booleans or missing cells: a table with columns x0, x1, ...
    frame = pd.DataFrame(X, columns=names)
    return Features(frame, frame, kind, names, None, dtype=X.dtype)


def _frame_features(X: pd.DataFrame) -> Features:
    original = X.reset_index(drop=True)
    text_names = all(isinstance(c, str) for c in X.columns)
    names = list(X.columns) if text_names else [f"x{j}" for j in range(X.shape[1])]
    feature_names = np.asarray(X.columns, dtype=object) if text_names else None
    if len(set(names)) != len(names):
        raise DataError(f"X has repeated column names; rename them ({list(X.columns)}).")
    if is_table(X):
        model_input = original.copy(deep=False)
        model_input.columns = names
        return Features(model_input, original, "frame", names, feature_names)
    # numbers without gaps (sparse columns densified)
    values = original.to_numpy(dtype=np.float64)
    return _number_features(values, original, "frame", names, feature_names)


def _number_features(values: np.ndarray, original, kind, names, feature_names) -> Features:
    """Numbers without gaps as a table whose columns are all declared numbers."""
    whole = np.all(values == np.rint(values), axis=0)
    kinds = {n: "integer" if w else "continuous" for n, w in zip(names, whole, strict=True)}
    frame = pd.DataFrame(values, columns=names)
    return Features(frame, original, kind, names, feature_names, column_types=kinds)


def _synthetic_frame(synthetic, names: list) -> pd.DataFrame:
    """The model's output as a DataFrame with every input column, in order; columns the
    model left out (identifiers, free text) are empty."""
    if not isinstance(synthetic, pd.DataFrame):
        return pd.DataFrame(np.asarray(synthetic, dtype=np.float64), columns=names)
    n = len(synthetic)
    data = {
        name: synthetic[name] if name in synthetic.columns else pd.Series([None] * n)
        for name in names
    }
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(n))


def _concat_frames(original: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``original`` then ``new``, every column in the original's dtype (or the nullable
    form of it when ``new`` has empty cells the dtype cannot hold)."""
    columns = {}
    for j in range(original.shape[1]):
        old, add = original.iloc[:, j], new.iloc[:, j]
        old, add = _same_dtype(old, add)
        columns[j] = pd.concat([old, add], ignore_index=True)
    out = pd.DataFrame(columns)
    out.columns = original.columns
    return out


def _same_dtype(old: pd.Series, add: pd.Series) -> tuple[pd.Series, pd.Series]:
    dtype = old.dtype
    if add.dtype == dtype:
        return old, add
    if isinstance(dtype, pd.SparseDtype):
        return old, add.astype(dtype)
    if not add.isna().any() and _integer_or_bool(dtype) and add.dtype.kind in "iufb":
        return old, _cast_series(add, old)
    if add.isna().any() and _integer_or_bool(dtype):
        bits = dtype.itemsize * 8
        nullable = {"b": "boolean", "i": f"Int{bits}", "u": f"UInt{bits}"}[dtype.kind]
        return old.astype(nullable), add.astype(nullable)
    try:
        return old, add.astype(dtype)
    except (TypeError, ValueError):  # pragma: no cover - pandas finds a common dtype
        return old, add


def _integer_or_bool(dtype) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "iub"


def _cast_series(add: pd.Series, old: pd.Series) -> pd.Series:
    values = _cast_numbers(add.to_numpy(dtype=np.float64)[:, None], old.to_numpy()[:, None])
    return pd.Series(values[:, 0], dtype=old.dtype)


def _cast_numbers(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Synthetic numbers in the dtype of ``like``: integers rounded and kept within each
    column's observed range, booleans by rounding, floats cast."""
    kind = like.dtype.kind
    if kind in "iu":
        lo, hi = like.min(axis=0), like.max(axis=0)
        return np.clip(np.rint(values), lo, hi).astype(like.dtype)
    if kind == "b":
        return np.rint(values).clip(0, 1).astype(bool)
    return values.astype(like.dtype, copy=False)
