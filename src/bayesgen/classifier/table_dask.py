"""A Dask DataFrame with mixed columns fitted in two passes of Dask reductions.

The same two passes as :mod:`bayesgen.classifier.table_stream`, each a tree of exact
merges over the partitions (:func:`bayesgen.kernels.dask_reduce.tree_reduce`): pass 1
summarises every partition (:class:`~bayesgen.tables.summaries.TableSummary`, the schema
detected on the first partition, which is computed once on its own), pass 2 reduces the
normal scores of every partition.  Only summaries and d x d moments travel between
workers; the result equals a fit over the same rows read in chunks.  Imported only for
Dask input, so dask stays optional.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.classifier.table_stream import (
    add_chunk_moments,
    merge_moment_lists,
    plain_chunk_labels,
)
from bayesgen.kernels.dask_reduce import frame_partitions, tree_reduce
from bayesgen.tables.summaries import ClassSummaries, TableSummary

__all__ = ["DaskPasses"]


def _split(frame, labels, label_column):
    """A partition's features and labels (from its label column, or as given)."""
    if label_column is not None:
        return frame.drop(columns=[label_column]), frame[label_column]
    return frame, labels


def _part_summary(frame, labels, label_column, empty: TableSummary, part: int) -> TableSummary:
    features, y = _split(frame, labels, label_column)
    summary = empty.empty_copy()
    try:
        return summary.add(features, plain_chunk_labels(y))
    except RowDataError as exc:  # the partition's place is known only after this pass
        raise exc.within(f"the first row of partition {part} of the Dask DataFrame") from None


def _merge_summaries(a: TableSummary, b: TableSummary) -> TableSummary:
    merged = a.empty_copy().merge(a)
    return merged.merge(b)


def _part_rows(frame) -> int:
    return len(frame)


def _part_moments(frame, labels, label_column, densities, summaries, offset: int) -> list:
    features, y = _split(frame, labels, label_column)
    rows = offset + np.arange(len(features), dtype=np.int64)
    return add_chunk_moments([None] * len(densities), densities, summaries, features, y, rows)


class DaskPasses:
    """Two passes of Dask reductions over a DataFrame's partitions.

    Parameters
    ----------
    X : dask.dataframe.DataFrame
    y : str, dask Series or dask array
        The label column's name, or labels with the partitions of ``X``.
    cap, bins : int
        Of the numeric summaries.
    """

    def __init__(self, X, y, *, cap: int = 4096, bins: int = 4096):
        self.parts, _ = frame_partitions(X, y)
        if not self.parts:
            raise DataError("X has no rows; fit needs labelled rows")
        self.cap, self.bins = cap, bins
        self.offsets = None

    def first_pass(self, column_types=None, drop=()) -> ClassSummaries:
        import dask

        head, head_labels, label_column = self.parts[0]
        (frame,) = dask.compute(head)
        features, _ = _split(frame, head_labels, label_column)
        start = TableSummary.start(
            features, column_types=column_types, drop=drop, cap=self.cap, bins=self.bins
        )
        summarise = dask.delayed(_part_summary, pure=True)
        count = dask.delayed(_part_rows, pure=True)
        level = [summarise(xp, yp, col, start, p) for p, (xp, yp, col) in enumerate(self.parts)]
        lengths = [count(xp) for xp, _, _ in self.parts]
        summary, lengths = dask.compute(tree_reduce(level, _merge_summaries), lengths)
        self.offsets = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        return summary.finish()

    def second_pass(self, densities: list, summaries: ClassSummaries) -> list:
        import dask

        moments = dask.delayed(_part_moments, pure=True)
        level = [
            moments(xp, yp, col, densities, summaries, int(offset))
            for (xp, yp, col), offset in zip(self.parts, self.offsets, strict=True)
        ]
        (result,) = dask.compute(tree_reduce(level, merge_moment_lists))
        return result
