"""The two passes of a table fit over the chunks of a CSV or Parquet file.

:class:`FilePasses` reads the file twice with :func:`bayesgen.io.table_chunks.iter_table_chunks`
(see :mod:`bayesgen.classifier.table_stream` for what each pass computes) and keeps what
the command line reports: the label column and how it was chosen, the file's columns,
the rows left out for an empty label.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bayesgen.base.errors import DataError, data_row
from bayesgen.base.validation import format_label
from bayesgen.classifier.table_stream import ChunkPasses
from bayesgen.io.table_chunks import iter_table_chunks
from bayesgen.io.tables import TableData

__all__ = ["FilePasses"]


class FilePasses(ChunkPasses):
    """Both passes over a table file, chunk by chunk.

    Parameters
    ----------
    path : str or os.PathLike
    chunk_rows : int
    label_column, delimiter, drop_missing_labels
        As for :func:`bayesgen.io.read_table`.
    classes : set, optional
        Every label expected; another label is an error naming it.
    wrap : callable, optional
        Applied to each pass's iterator of chunks (e.g. a background reader).
    progress : callable, optional
        Called with ``(rows, chunks)`` after every chunk of either pass.

    Attributes
    ----------
    like : TableData or None
        The file's layout (zero rows) once the first chunk is read; ``dropped_rows`` is
        the total over the file after the first pass.
    """

    def __init__(
        self,
        path,
        chunk_rows: int,
        *,
        label_column=None,
        delimiter=None,
        drop_missing_labels: bool = False,
        classes=None,
        wrap: Callable | None = None,
        progress: Callable | None = None,
    ):
        super().__init__(self._open, progress)
        self.path, self.chunk_rows = path, int(chunk_rows)
        self.options = {
            "label_column": label_column,
            "delimiter": delimiter,
            "drop_missing_labels": drop_missing_labels,
        }
        self.classes, self.wrap = classes, wrap
        self.like = None
        self._reads = 0

    def _open(self):
        self._reads += 1
        first_read = self._reads == 1
        chunks = iter_table_chunks(
            self.path, self.chunk_rows, check_fields=first_read, **self.options
        )
        for chunk in chunks if self.wrap is None else self.wrap(chunks):
            if self.like is None:
                self.like = _layout(chunk, self.path)
            if first_read:
                self.like.dropped_rows += chunk.dropped_rows
                self._check_labels(chunk.y, chunk.rows)
            yield chunk.X, chunk.y, chunk.rows

    def _check_labels(self, labels: np.ndarray, rows: np.ndarray) -> None:
        if self.classes is None:
            return
        values = labels.tolist()
        unknown = sorted({v for v in values if v not in self.classes}, key=str)
        if unknown:
            shown = ", ".join(format_label(u) for u in unknown[:5])
            first = next(i for i, v in enumerate(values) if v not in self.classes)
            raise DataError(
                f"label(s) {shown} (the first at {data_row(rows[first])}) are not in "
                f"classes=...; known labels are "
                f"{', '.join(format_label(c) for c in sorted(self.classes, key=str))}"
            )


def _layout(chunk, path) -> TableData:
    """The file's layout as a zero-row TableData (what samples are written like)."""
    return TableData(
        X=chunk.X.iloc[:0],
        y=chunk.y[:0],
        label_column=chunk.label_column,
        columns=chunk.columns,
        chosen=chunk.chosen,
        path=str(path),
        format=chunk.format,
        delimiter=chunk.delimiter,
        decimal=chunk.decimal,
        label_dtype=chunk.label_dtype,
    )
