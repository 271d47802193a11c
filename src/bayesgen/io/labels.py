"""Labels as files hold them: choosing the label column, turning label texts or typed label
arrays into int64 or unicode labels, and the distinct-texts-plus-codes form the pyarrow
readers hand on."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import format_label
from bayesgen.io.data import LabelledData

_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")


class _LabelTexts:
    """The label texts of many rows as their distinct values and one code per row.

    What the pyarrow routes hand on instead of a list of strings: a label column has few
    distinct values, so checking and converting them (:func:`_labels_from_text`) costs
    per distinct value, not per row.  Iterating gives the rows' texts, like a list.
    """

    __slots__ = ("uniques", "codes")

    def __init__(self, uniques: list[str], codes: np.ndarray):
        self.uniques = uniques
        self.codes = codes

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __iter__(self):
        uniques = self.uniques
        return (uniques[c] for c in self.codes.tolist())

    @classmethod
    def concat(cls, parts) -> _LabelTexts:
        """The rows of ``parts`` one after the other."""
        position: dict[str, int] = {}
        codes = []
        for part in parts:
            remap = np.array(
                [position.setdefault(t, len(position)) for t in part.uniques], dtype=np.intp
            )
            codes.append(remap[part.codes])
        joined = np.concatenate(codes) if codes else np.empty(0, dtype=np.intp)
        return cls(list(position), joined)


def _all_integers(texts) -> bool:
    """Every text an integer label (``_INT_RE``)."""
    values = texts.uniques if isinstance(texts, _LabelTexts) else texts
    return all(_INT_RE.fullmatch(t) for t in values)


def _labels_from_text(texts: Sequence[str], label_dtype, where: str) -> np.ndarray:
    """Labels read as text: int64 when every label is an integer, else unicode strings.

    Parameters
    ----------
    texts : sequence of str or _LabelTexts
    label_dtype : {None, 'auto', 'int', 'str', int, str}
    where : str
        The source, for messages.

    Returns
    -------
    ndarray of shape (n,), int64 or unicode
    """
    if isinstance(texts, _LabelTexts):
        return _labels_from_text(texts.uniques, label_dtype, where)[texts.codes]
    kind = _label_kind_option(label_dtype)
    if kind is None:
        kind = "int" if all(_INT_RE.fullmatch(t) for t in texts) else "str"
    if kind == "int":
        for t in texts:
            if not _INT_RE.fullmatch(t):
                raise DataError(
                    f"{where}: label_dtype='int' expects integer labels, but found {t!r}. "
                    "Pass label_dtype='str' to keep labels as text."
                )
        return np.array([int(t) for t in texts], dtype=np.int64)
    return np.array(list(texts), dtype=str)


def _label_kind_option(label_dtype) -> str | None:
    """``'int'``, ``'str'`` or None (infer) for a ``label_dtype`` argument."""
    if label_dtype is None or label_dtype == "auto":
        return None
    if label_dtype is int or label_dtype == "int":
        return "int"
    if label_dtype is str or label_dtype == "str":
        return "str"
    raise DataError(
        f"label_dtype must be None, 'int' or 'str'; got {label_dtype!r}. "
        "None infers integers when every label is an integer."
    )


def _float_labels(y: np.ndarray, where: str) -> np.ndarray:
    """Float labels that are whole numbers as int64 (a class label, not a target value)."""
    if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)):
        bad = y[~(np.isfinite(y) & (y == np.round(y)))][0].item()
        raise DataError(
            f"{where}: labels must be class labels (integers or strings), but found the "
            f"non-integer value {bad!r}. Convert the labels to int or str; bayesgen "
            "classifies, it does not regress."
        )
    return y.astype(np.int64)


def _object_labels(y: np.ndarray, where: str) -> np.ndarray:
    """Object labels as int64 or unicode, when they are all integers or all strings."""
    values = y.tolist()
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    raise DataError(
        f"{where}: labels mix types ({sorted({type(v).__name__ for v in values})}); "
        "expected all integers or all strings. Convert them with np.asarray(y, dtype=str)."
    )


def _labels_from_array(y: np.ndarray, where: str) -> np.ndarray:
    """Typed labels (NPZ, Parquet, writers) as int64 or unicode strings.

    Parameters
    ----------
    y : array-like of shape (n,)
    where : str
        The source or target, for messages.

    Returns
    -------
    ndarray of shape (n,), int64 or unicode
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(
            f"{where}: labels must be one-dimensional (n_samples,); found shape {y.shape}. "
            "Flatten them with y.ravel()."
        )
    kind = y.dtype.kind
    if kind in "iub":
        return y.astype(np.int64, copy=False)
    if kind == "U":
        return y
    if kind == "S":
        try:
            return np.char.decode(y, "utf-8")
        except UnicodeDecodeError:
            raise DataError(
                f"{where}: byte-string labels are not valid UTF-8; expected integers or text. "
                "Decode them before saving."
            ) from None
    if kind == "f":
        return _float_labels(y, where)
    if kind == "O":
        return _object_labels(y, where)
    raise DataError(
        f"{where}: labels of dtype {y.dtype} are not supported; expected integers or strings."
    )


def _check_classes(data: LabelledData, require_classes, where: str) -> None:
    """Raise :class:`DataError` when ``data`` has fewer than ``require_classes`` labels."""
    if require_classes is None:
        return
    classes = np.unique(data.y)
    if len(classes) < int(require_classes):
        found = ", ".join(format_label(c) for c in classes[:5])
        raise DataError(
            f"{where}: found {len(classes)} distinct label(s) ({found}) but at least "
            f"{int(require_classes)} classes are needed to learn a classifier. Check the label "
            "column (label_column=...) or add samples of the other classes."
        )


def _select_label_column(columns: list[str], label_column, where: str) -> int:
    """Index of the label column among ``columns``.

    Parameters
    ----------
    columns : list of str
        The header.
    label_column : str, int or None
        A name, an index (negative counts from the end), or None: the column named
        ``label``, else the first column.
    where : str
        The source, for messages.

    Returns
    -------
    int
        A non-negative index.
    """
    if label_column is None:
        if "label" in columns:
            if columns.count("label") > 1:
                raise DataError(
                    f"{where}: the header has {columns.count('label')} columns named 'label'; "
                    "expected one. Rename the duplicates or pass label_column=<index>."
                )
            return columns.index("label")
        return 0
    if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        idx = int(label_column)
        if not -len(columns) <= idx < len(columns):
            raise DataError(
                f"{where}: label_column={idx} is out of range; the file has {len(columns)} "
                f"columns (indices 0 to {len(columns) - 1})."
            )
        return idx % len(columns)
    if not isinstance(label_column, str):
        raise DataError(
            f"label_column must be a column name, an integer index or None; got {label_column!r}."
        )
    count = columns.count(label_column)
    if count == 0:
        shown = ", ".join(repr(c) for c in columns[:12])
        more = f", ... ({len(columns)} in all)" if len(columns) > 12 else ""
        raise DataError(
            f"{where}: no label column named {label_column!r}. Available columns: {shown}{more}. "
            "Pass one of those as label_column=, or an integer index."
        )
    if count > 1:
        raise DataError(
            f"{where}: {count} columns are named {label_column!r}; expected one. Rename the "
            "duplicates or pass label_column=<index>."
        )
    return columns.index(label_column)
