"""Dask block reduction: per-class sufficient statistics of dask collections.

Imported only when the input is a dask collection (recognised by the module name of its
type), so dask stays an optional dependency.  Model-free: the classifier turns the result
into class densities with :meth:`~bayesgen.BayesClassifier.fit_from_statistics`.

Every block is reduced to per-class statistics (one task per block), then merged pairwise
as a binary tree (Chan's exact update, :meth:`GaussianStats.merge`), so the result equals
the in-memory statistics to rounding whatever the partitioning.  Only the statistics
travel: d x d per class per block.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.base.validation import check_finite, is_dask
from bayesgen.kernels.class_stats import class_stats, stats_are_finite

__all__ = ["frame_partitions", "reduce_class_statistics", "tree_reduce"]


def _dask_kind(obj) -> str | None:
    """ "DataFrame", "Series", "Array" (or another dask class name); None for non-dask."""
    if not is_dask(obj):
        return None
    for cls in type(obj).__mro__:
        if cls.__name__ in ("DataFrame", "Series", "Array"):
            return cls.__name__
    return type(obj).__name__


def _is_dask_frame(obj) -> bool:
    return _dask_kind(obj) == "DataFrame"


def _is_dask_series(obj) -> bool:
    return _dask_kind(obj) == "Series"


def reduce_class_statistics(X, y, *, diagonal: bool, fourth: bool = False):
    """Per-class statistics of dask data, reduced as a tree.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features) or dask.dataframe.DataFrame
    y : dask array, dask Series, numpy array, or (with a dask DataFrame) a column name
        Labels.  A column name takes the labels from that column of ``X`` and the features
        from all the other columns.
    diagonal : bool
        Per-feature scatter only (diagonal covariances).
    fourth : bool, default=False
        Also the fourth-order moments (statistics kind "fourth").

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Sorted labels.
    stats : list of GaussianStats
        One per class.
    n_features : int
    feature_names : ndarray of str or None
        Column names of a DataFrame ``X``.
    """
    import dask

    parts, feature_names = _blocks(X, y)
    if not parts:
        raise DataError("X has no rows; fit needs labelled rows")
    level = [
        dask.delayed(_block_stats, pure=True)(xb, yb, diagonal, fourth, label, b)
        for b, (xb, yb, label) in enumerate(parts)
    ]
    (stats,) = dask.compute(tree_reduce(level, _merge))
    if not stats["classes"]:
        raise DataError("X has no rows; fit needs labelled rows")
    labels = sorted(stats["classes"])
    per_class = [stats["classes"][label] for label in labels]
    return np.array(labels), per_class, stats["n_features"], feature_names


def tree_reduce(items: list, merge):
    """The delayed result of merging ``items`` (dask delayed objects) pairwise as a binary
    tree, left to right, with ``merge(a, b)``: depth ``log2(len(items))``, and only merged
    results travel between workers."""
    import dask

    level = list(items)
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=False)
        merged = [dask.delayed(merge, pure=True)(a, b) for a, b in pairs]
        if len(level) % 2:
            merged.append(level[-1])
        level = merged
    return level[0]


def frame_partitions(X, y):
    """The partitions of a dask DataFrame ``X`` with their labels, as delayed objects.

    Parameters
    ----------
    X : dask.dataframe.DataFrame
    y : str, dask Series or dask array
        A column name of ``X`` (labels from that column, features from the others), or
        labels with the partitions of ``X``.

    Returns
    -------
    parts : list of (features, labels or None, label column or None)
        With a label column, ``labels`` is None: split it off each partition.
    feature_names : ndarray of str or None
    """
    return _frame_blocks(X, y)


def _blocks(X, y):
    """``[(features_block, labels_block, description)]`` as dask delayed objects."""
    if _is_dask_frame(X):
        return _frame_blocks(X, y)
    if X.ndim != 2:
        raise DataError(
            f"X must be 2-D (n_samples, n_features); got a dask array with shape {X.shape}"
        )
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    row_chunks = X.chunks[0]
    x_parts = list(X.to_delayed().ravel())
    y_parts = _label_blocks(y, row_chunks)
    starts = np.concatenate([[0], np.cumsum(row_chunks)[:-1]])
    parts = zip(x_parts, y_parts, starts, strict=True)
    return [(xb, yb, f"rows {int(s)}..") for xb, yb, s in parts], None


def _label_blocks(y, row_chunks):
    """Labels cut to the row chunks of X, as a list of delayed objects (or arrays)."""
    import dask

    n = int(sum(row_chunks))
    if _is_dask_series(y):
        y = y.to_dask_array(lengths=True)
    if is_dask(y):
        if y.ndim != 1 or y.shape[0] != n:
            raise DataError(f"y must be 1-D with one label per row of X ({n}); got shape {y.shape}")
        return list(y.rechunk((tuple(row_chunks),)).to_delayed().ravel())
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"y must be 1-D with one label per row of X ({n}); got shape {y.shape}")
    cuts = np.cumsum(row_chunks)[:-1]
    return [dask.delayed(part) for part in np.split(y, cuts)]


def _frame_blocks(X, y):
    columns = list(X.columns)
    if isinstance(y, (str, int)) and not isinstance(y, bool) and not is_dask(y):
        if y not in columns:
            raise DataError(
                f"label column {y!r} is not a column of X; its columns are "
                f"{', '.join(map(repr, columns[:10]))}{' ...' if len(columns) > 10 else ''}"
            )
        features = [c for c in columns if c != y]
        parts = [(p, None, y) for p in X.to_delayed()]
        return parts, _feature_names(features)
    if _is_dask_series(y):
        if y.npartitions != X.npartitions:
            raise DataError(
                f"y has {y.npartitions} partitions but X has {X.npartitions}; give y with "
                "the partitions of X (e.g. a column of the same dataframe)"
            )
        ys = y.to_delayed()
    elif is_dask(y):
        ys = list(y.to_delayed().ravel())
        if len(ys) != X.npartitions:
            raise DataError(
                f"y has {len(ys)} chunks but X has {X.npartitions} partitions; rechunk y to "
                "the partition lengths of X"
            )
    else:
        raise DataError(
            "with a dask DataFrame, y must be the name of its label column, a dask Series "
            "or a dask array; for in-memory labels, compute X first"
        )
    parts = [(p, yb, None) for p, yb in zip(X.to_delayed(), ys, strict=True)]
    return parts, _feature_names(columns)


def _feature_names(columns):
    if columns and all(isinstance(c, str) for c in columns):
        return np.asarray(columns, dtype=object)
    return None


def _as_features(block) -> np.ndarray:
    if hasattr(block, "to_numpy"):
        try:
            block = block.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"the feature columns must be numeric; converting them failed ({exc})"
            ) from None
    X = np.ascontiguousarray(block, dtype=np.float64)
    if X.ndim != 2:
        raise DataError(f"feature blocks must be 2-D; got shape {X.shape}")
    return X


def _block_stats(xb, yb, diagonal: bool, fourth: bool, label_column, block: int = 0) -> dict:
    """Per-class statistics of one block: ``{"classes": {label: stats}, "n_features": d}``;
    a bad cell is named by its row in block number ``block``."""
    if label_column is not None and yb is None:
        yb = xb[label_column]
        xb = xb.drop(columns=[label_column])
    X = _as_features(xb)
    y = np.asarray(yb.to_numpy() if hasattr(yb, "to_numpy") else yb)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(
            f"a block has {X.shape[0]} rows of features but {y.shape[0] if y.ndim else 1} "
            "labels; X and y must have the same rows"
        )
    if y.dtype == object:
        try:
            y = y.astype(str) if all(isinstance(v, str) for v in y) else y.astype(np.int64)
        except (TypeError, ValueError):
            raise DataError("labels must be all integers or all strings") from None
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(
                "labels must be class labels (integers or strings); got non-integer floats"
            )
    out = {"classes": {}, "n_features": X.shape[1]}
    if X.shape[0] == 0:
        return out
    labels, inverse = np.unique(y, return_inverse=True)
    stats = class_stats(X, inverse.reshape(-1), labels.shape[0], diagonal=diagonal, fourth=fourth)
    if not stats_are_finite(stats):
        try:
            check_finite(X)
        except RowDataError as exc:
            raise exc.within(f"the first row of block {block} of the Dask data") from None
    for label, part in zip(labels, stats, strict=True):
        out["classes"][label.item() if isinstance(label, np.generic) else label] = part
    return out


def _merge(a: dict, b: dict) -> dict:
    """Exact union of two blocks' statistics (inputs untouched)."""
    if a["n_features"] != b["n_features"]:
        raise DataError(
            f"blocks have {a['n_features']} and {b['n_features']} features; every block "
            "must have the same columns"
        )
    classes = dict(a["classes"])
    for label, stats in b["classes"].items():
        classes[label] = stats if label not in classes else classes[label].merge(stats)
    return {"classes": classes, "n_features": a["n_features"]}
