"""Pass 1 of a table fitted in chunks: its schema and per-class column summaries.

:class:`TableSummary` is started on the first chunk, whose columns decide each column's
kind (:meth:`TableSchema.detect`; a column empty in the whole first chunk is an error:
choose larger chunks or drop it), then takes every chunk (the first one included) with
its labels.  Per class it keeps the rows, the counts of its missing-value patterns
(:class:`~bayesgen.kernels.missing_patterns.PatternCounter`) and one mergeable
summary per column (:mod:`bayesgen.kernels.column_summary`): exact counts per category
for categorical columns, and for numbers and dates the distinct values with their counts
up to ``cap`` of them, a fixed dyadic grid beyond.  The details the schema records
(categories, bounds, decimals, date units, dtypes) are widened to cover every chunk
(:mod:`bayesgen.tables.column_state`); a category first seen in a late chunk is added.

Memory does not grow with the rows: per class and column at most ``max(cap, bins)``
stored values (4096 by default), plus the categories.  Summaries of separate parts merge
exactly (:meth:`TableSummary.merge`), so a Dask DataFrame is reduced block by block.
:meth:`TableSummary.finish` gives the schema covering every chunk, and per class the
summaries in the final category codes, the rows and the missing-cell counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError, RowDataError
from bayesgen.kernels.column_summary import CategoryCounts, NumericSummary
from bayesgen.kernels.missing_patterns import PatternCounter
from bayesgen.kernels.orders import OrderCounter
from bayesgen.tables.column_state import ColumnState
from bayesgen.tables.schema import TableSchema
from bayesgen.tables.spec import DATETIME_UNITS

__all__ = ["ClassSummaries", "TableSummary"]


@dataclass
class ClassSummaries:
    """What pass 1 learned, per class, in the final schema's terms.

    Attributes
    ----------
    schema : TableSchema
        Covers every chunk.
    classes : ndarray
        Sorted labels.
    columns : list of list
        Per class, one summary per modelled column (``CategoryCounts`` in the final codes,
        or ``NumericSummary`` in the encoded unit).
    rows : ndarray of shape (n_classes,)
    patterns : list of PatternCounter
        Per class, the counts of its missing-value patterns (and of its missing cells per
        column, ``missing``).
    orders : ndarray of int, shape (p, 2)
        The orders between columns that every row keeps (all classes together; see
        :mod:`bayesgen.kernels.orders`).
    """

    schema: TableSchema
    classes: np.ndarray
    columns: list
    rows: np.ndarray
    patterns: list
    orders: np.ndarray


class _ClassPart:
    """One class's rows, missing counts and column summaries (provisional codes)."""

    def __init__(self, n_features: int):
        self.rows = 0
        self.patterns = PatternCounter(n_features)
        self.columns: list = [None] * n_features

    def add(self, X: np.ndarray, categorical: list[bool], cap: int, bins: int) -> None:
        self.rows += X.shape[0]
        gaps = np.isnan(X)
        self.patterns.add(gaps)
        for j, is_category in enumerate(categorical):
            x = X[:, j][~gaps[:, j]]
            if is_category:
                part = CategoryCounts(np.bincount(x.astype(np.int64)).astype(np.float64))
            else:
                part = NumericSummary.of(x, cap, bins)
            self.columns[j] = part if self.columns[j] is None else self.columns[j].merge(part)

    def merge(self, other: _ClassPart, moves: list) -> None:
        """Take in ``other`` (same features); ``moves[j]`` relocates its category codes."""
        self.rows += other.rows
        self.patterns.merge(other.patterns)
        for j, part in enumerate(other.columns):
            if part is None:
                continue
            if moves[j] is not None:
                part = _moved(part, moves[j])
            self.columns[j] = part if self.columns[j] is None else self.columns[j].merge(part)


def _moved(counts: CategoryCounts, where: np.ndarray) -> CategoryCounts:
    """Counts whose code ``i`` is code ``where[i]`` in another numbering."""
    size = int(where.max()) + 1 if where.size else 0
    out = np.zeros(max(size, 1))
    k = counts.counts.shape[0]
    np.add.at(out, where[:k], counts.counts)
    return CategoryCounts(out)


class TableSummary:
    """Mergeable pass-1 summary of a labelled table read in chunks.

    Build with :meth:`start` on the first chunk, then :meth:`add` every chunk.

    Parameters
    ----------
    schema : TableSchema
        Detected on the first chunk.
    declared : dict of str to str, optional
        The kinds the user declared (``column_types``).
    cap, bins : int
        Passed to each :class:`~bayesgen.kernels.column_summary.NumericSummary`.
    """

    def __init__(self, schema: TableSchema, declared=None, *, cap=4096, bins=4096):
        declared = declared or {}
        self.schema = schema
        self.states = [ColumnState(spec, declared.get(spec.name)) for spec in schema.features]
        self.categorical = [spec.kind == "categorical" for spec in schema.features]
        self.cap, self.bins = int(cap), int(bins)
        self.parts: dict = {}
        self.dropped_missing = {name: False for name in schema.dropped}
        groups, _ = schema.order_groups()
        # chunks code dates in microseconds (ColumnState), so every scale is 1 here
        self.orders = OrderCounter(groups, np.ones(groups.shape[0]))

    @classmethod
    def start(cls, frame, *, column_types=None, drop=(), keep=(), cap=4096, bins=4096):
        """An empty summary whose schema is detected on ``frame`` (the first chunk)."""
        skip = set(drop or ())
        empty = [c for c in frame.columns if c not in skip and frame[c].isna().all()]
        if empty:
            raise DataError(
                f"column {empty[0]!r} is empty in all {len(frame)} rows of the first chunk, "
                "from which a streamed fit decides each column's kind; read larger chunks "
                f"(chunk_rows) or drop the column (drop=[{empty[0]!r}])."
            )
        schema = TableSchema.detect(frame, column_types=column_types, drop=drop, keep=keep)
        for name, reason in schema.dropped.items():  # counts of the chunk, not of the file
            schema.dropped[name] = re.sub(
                r" in (\d+) rows\b", r" in \1 rows of the first chunk", reason
            )
        return cls(schema, column_types, cap=cap, bins=bins)

    def empty_copy(self) -> TableSummary:
        """A summary with the same schema and no rows (for one part of the data)."""
        declared = {s.spec.name: s.declared for s in self.states if s.declared}
        return TableSummary(self.schema, declared, cap=self.cap, bins=self.bins)

    def encode(self, frame) -> np.ndarray:
        """A chunk's modelled columns as numbers, widening the column states."""
        absent = [n for n in self.schema.feature_names if n not in frame.columns]
        if absent:
            raise DataError(f"a chunk lacks the column(s) {absent} of the first chunk")
        for name in self.dropped_missing:
            if name in frame.columns and not self.dropped_missing[name]:
                self.dropped_missing[name] = bool(frame[name].isna().any())
        out = np.empty((len(frame), len(self.states)))
        for j, state in enumerate(self.states):
            out[:, j] = state.encode(frame[state.spec.name])
        return out

    def add(self, frame, labels, *, rows=None) -> TableSummary:
        """Take in one chunk: ``frame`` (its feature columns) and one label per row.

        ``rows`` (each row's position in the data; by default its position in ``frame``)
        only numbers rows in messages.
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"a chunk must be a pandas DataFrame; got {type(frame).__name__}")
        labels = np.asarray(labels)
        if labels.shape != (len(frame),):
            raise DataError(f"a chunk has {len(frame)} rows but {labels.shape[0]} labels")
        try:
            X = self.encode(frame)
        except RowDataError as exc:
            raise (exc if rows is None else exc.at_rows(rows)) from None
        if X.shape[0] == 0:
            return self
        self.orders.add(X)
        classes, inverse = np.unique(labels, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.r_[0, np.cumsum(np.bincount(inverse.reshape(-1)))]
        for k, label in enumerate(classes):
            key = label.item() if isinstance(label, np.generic) else label
            part = self.parts.setdefault(key, _ClassPart(len(self.states)))
            part.add(X[order[bounds[k] : bounds[k + 1]]], self.categorical, self.cap, self.bins)
        return self

    def merge(self, other: TableSummary) -> TableSummary:
        """Take in another part's summary (same first-chunk schema); returns self."""
        moves = [mine.merge(theirs) for mine, theirs in zip(self.states, other.states, strict=True)]
        self.orders.merge(other.orders)
        for name, seen in other.dropped_missing.items():
            self.dropped_missing[name] = self.dropped_missing.get(name, False) or seen
        for label, part in other.parts.items():
            if label not in self.parts:
                self.parts[label] = _ClassPart(len(self.states))
            self.parts[label].merge(part, moves)
        return self

    def n_stored(self) -> int:
        """Values held by all column summaries: bounded by classes x columns x cap."""
        return sum(c.n_stored() for part in self.parts.values() for c in part.columns if c)

    def finish(self) -> ClassSummaries:
        """The schema covering every chunk and the per-class summaries in its codes."""
        if not self.parts:
            raise DataError("the table has no rows; fit needs labelled rows")
        specs = {s.spec.name: s.spec_covering_all() for s in self.states}
        columns = []
        for spec in self.schema.columns:
            if spec.name in specs:
                columns.append(specs[spec.name])
            else:
                missing = self.dropped_missing.get(spec.name, spec.missing)
                columns.append(type(spec)(spec.name, spec.kind, spec.dtype, missing=missing))
        schema = TableSchema(columns, self.schema.dropped)
        classes = _sorted_labels(self.parts)
        final = [self._finisher(state) for state in self.states]
        per_class = [
            [
                finish(summary)
                for finish, summary in zip(final, self.parts[label].columns, strict=True)
            ]
            for label in classes
        ]
        rows = np.array([self.parts[label].rows for label in classes], dtype=np.float64)
        patterns = [self.parts[label].patterns for label in classes]
        return ClassSummaries(
            schema, np.array(classes), per_class, rows, patterns, self.orders.orders()
        )

    def _finisher(self, state: ColumnState):
        """The function turning one class's summary of this column into its final form:
        category counts in the final codes, dates in the final unit (None: no values)."""
        if state.spec.kind == "categorical":
            where, size = state.final_order(), len(state.spec_categories())

            def categories(summary):
                counts = np.zeros(size)
                if summary is not None:
                    np.add.at(counts, where[: summary.n_stored()], summary.counts)
                return CategoryCounts(counts)

            return categories
        unit = DATETIME_UNITS[state.unit_name] if state.spec.kind == "datetime" else 1.0

        def numbers(summary):
            summary = summary or NumericSummary(self.cap, self.bins)
            return summary.in_units(unit) if unit != 1.0 else summary

        return numbers


def _sorted_labels(parts: dict) -> list:
    labels = list(parts)
    kinds = {isinstance(v, str) for v in labels}
    if len(kinds) > 1:
        raise DataError(
            "the labels mix text and numbers across chunks; give the label column one type"
        )
    try:
        return sorted(labels)
    except TypeError:
        raise DataError("labels must be all integers or all text") from None
