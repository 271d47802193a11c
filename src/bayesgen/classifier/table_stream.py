"""Tables bigger than memory: the classifier fitted in two passes over chunks.

Used by :meth:`BayesClassifier.fit_from_passes`, with the chunks of a file
(:class:`ChunkPasses`, behind :func:`bayesgen.streaming.fit_file`) or the partitions of a
Dask DataFrame (:class:`bayesgen.classifier.table_dask.DaskPasses`):

1. **Pass 1** reduces every chunk to per-class, per-column summaries
   (:class:`bayesgen.tables.summaries.TableSummary`; memory bounded by classes x columns
   x 4096 values) and fixes the schema, which then covers every chunk.  Each class
   density fits its marginals from its summaries (:meth:`Density.fit_from_summaries`):
   the in-memory marginals exactly while every numeric column has at most 4096 distinct
   values in the class; a column with more is fitted from a 4096-bin grid (its CDF within
   one bin's mass of the in-memory one), and the smallest gap between values, which sets
   the width of every point mass's cell, is then estimated from the grid.  Category
   counts, missing-cell rates, class counts and the prior are exact.
2. **Pass 2** encodes every chunk with that schema and reduces each class's rows to
   mergeable moments of their normal scores (:meth:`Density.score_moments`).  For the
   copula with at most ``BOXED_MAX_FEATURES`` columns they carry a sample of about
   ``BOXED_MAX_ROWS`` rows per class, chosen by a hash of the row number, from which the
   correlation is estimated as in memory (given each tied or missing cell's interval);
   wider tables get the pairwise-complete correlation of the moments, consistent when
   cells are missing completely at random.

Memory is one chunk plus the summaries and those row samples (rows x columns x 3 floats
per class); the model does not depend on the chunk size (up to the order of
floating-point sums).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError, FitError, RowDataError, data_row
from bayesgen.base.validation import format_label
from bayesgen.tables.summaries import ClassSummaries, TableSummary

__all__ = [
    "ChunkPasses",
    "add_chunk_moments",
    "check_two_pass_density",
    "finish_dependence",
    "merge_moment_lists",
    "plain_chunk_labels",
    "start_densities",
]


def plain_chunk_labels(y) -> np.ndarray:
    """One chunk's labels as integers or text (what a whole read would give)."""
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError("labels must be class labels (integers or text); got fractions")
        return y.astype(np.int64)
    if y.dtype.kind in "iub":
        return y
    if pd.isna(y).any():
        raise DataError("some labels are empty; fill them or drop those rows")
    return y.astype(str)


class ChunkPasses:
    """Two passes over chunks of a table; each call of ``open_chunks`` reads them anew.

    Parameters
    ----------
    open_chunks : callable
        Returns an iterable of ``(frame, labels, rows)``: the chunk's feature columns (a
        DataFrame), its labels, and its rows' numbers in the data (int array; they fix the
        random tie-breaking of each row, so the model does not depend on the chunks).
    progress : callable, optional
        Called with ``(rows, chunks)`` after every chunk of either pass (rows counted
        over both passes).
    cap, bins : int
        Of the numeric summaries (see :class:`~bayesgen.kernels.column_summary.NumericSummary`).
    """

    def __init__(
        self,
        open_chunks: Callable[[], Iterable],
        progress: Callable | None = None,
        *,
        cap: int = 4096,
        bins: int = 4096,
    ):
        self.open_chunks = open_chunks
        self.progress = progress
        self.cap, self.bins = cap, bins
        self._rows = self._chunks = 0

    @property
    def rows_read(self) -> int:
        """Rows read so far, over both passes."""
        return self._rows

    @property
    def chunks_read(self) -> int:
        """Chunks read so far, over both passes."""
        return self._chunks

    def _tick(self, n: int) -> None:
        self._rows += n
        self._chunks += 1
        if self.progress is not None:
            self.progress(self._rows, self._chunks)

    def first_pass(self, column_types=None, drop=()) -> ClassSummaries:
        """Pass 1: the schema covering every chunk and per-class column summaries."""
        summary = None
        for frame, labels, rows in self.open_chunks():
            if summary is None:
                summary = TableSummary.start(
                    frame, column_types=column_types, drop=drop, cap=self.cap, bins=self.bins
                )
            summary.add(frame, plain_chunk_labels(labels), rows=rows)
            self._tick(len(frame))
        if summary is None:
            raise DataError("the table has no rows; fit needs labelled rows")
        return summary.finish()

    def second_pass(self, densities: list, summaries: ClassSummaries) -> list:
        """Pass 2: per class, the merged :meth:`Density.score_moments` of its rows."""
        moments: list = [None] * len(densities)
        for frame, labels, rows in self.open_chunks():
            add_chunk_moments(moments, densities, summaries, frame, labels, rows)
            self._tick(len(frame))
        return moments


def add_chunk_moments(moments: list, densities, summaries, frame, labels, rows) -> list:
    """Merge one chunk's per-class score moments into ``moments`` (in place; returned)."""
    rows = np.asarray(rows, dtype=np.int64)
    try:
        X = summaries.schema.encode(frame)
    except RowDataError as exc:  # only if the data changed between the passes
        raise exc.at_rows(rows) from None
    index = _class_index(summaries.classes, plain_chunk_labels(labels), rows)
    order = np.argsort(index, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(index, minlength=len(densities)))]
    for k, density in enumerate(densities):
        take = order[bounds[k] : bounds[k + 1]]
        if take.size == 0:
            continue
        part = density.score_moments(X[take], rows[take])
        moments[k] = part if moments[k] is None else moments[k].merge(part)
    return moments


def merge_moment_lists(a: list, b: list) -> list:
    """Per-class moments of two parts merged (None: no rows of that class)."""
    return [y if x is None else x if y is None else x.merge(y) for x, y in zip(a, b, strict=True)]


def _class_index(classes: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    index = np.clip(np.searchsorted(classes, labels), 0, classes.shape[0] - 1)
    unknown = classes[index] != labels
    if np.any(unknown):
        first = int(np.flatnonzero(unknown)[0])
        raise DataError(
            f"label {format_label(labels[first])} at {data_row(rows[first])} was not in the "
            "first pass over the data; did the data change while it was being fitted?"
        )
    return index


def start_densities(template, summaries: ClassSummaries) -> list:
    """Pass 1's class densities: marginals fitted from each class's summaries."""
    out = []
    for k, label in enumerate(summaries.classes):
        try:
            out.append(template.fit_from_summaries(summaries.columns[k], int(summaries.rows[k])))
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            if isinstance(exc, DataError):
                raise
            raise FitError(
                f"class {format_label(label)} has {int(summaries.rows[k])} rows: {exc}"
            ) from None
    return out


def finish_dependence(densities: list, moments: list, classes) -> list:
    """Pass 2 finished: each class density's dependence from its merged moments."""
    out = []
    for density, moment, label in zip(densities, moments, classes, strict=True):
        if moment is None:
            raise DataError(
                f"class {format_label(label)} had rows in the first pass over the data but "
                "none in the second; did the data change while it was being fitted?"
            )
        try:
            out.append(density.fit_dependence(moment))
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            raise FitError(f"class {format_label(label)}: {exc}") from None
    return out


def check_two_pass_density(template, name) -> None:
    """Refuse a class density that cannot be fitted from column summaries."""
    kind = template.summary_kind() if hasattr(template, "summary_kind") else None
    if kind != "columns":
        raise FitError(
            f"density {name!r} cannot be fitted in two passes over a table bigger than "
            "memory (a file read in chunks or a Dask DataFrame); use the default "
            "(density=None, a Gaussian copula with empirical marginals), or read the table "
            "into memory and call fit"
        )
