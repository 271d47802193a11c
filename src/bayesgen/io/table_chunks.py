"""A table file read chunk by chunk, with its label column split off each chunk.

What :func:`bayesgen.io.read_table` does, for files bigger than memory: the label column
is chosen on the first chunk by the same rules (a ``label``-like name, else the first or
last column that looks like class labels), and every chunk comes with its labels and its
rows' numbers in the file.  CSV chunks are parsed by pandas as one read of the whole file
would be, except that each chunk infers its own number types; columns read as text in
the first chunk are read as text in every chunk (so a chunk whose categories all look
like numbers does not turn them into numbers).  Parquet files are read by row batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError, data_row
from bayesgen.io.delimiter import CsvDialect
from bayesgen.io.tables import (
    _check_field_counts,
    _check_header_names,
    _check_label_values,
    _check_utf8,
    _choose_label,
    label_dtype,
    label_values,
    table_format,
)

__all__ = ["TableChunk", "iter_table_chunks"]


@dataclass
class TableChunk:
    """One chunk of a table file.

    Attributes
    ----------
    X : pandas.DataFrame
        The feature columns.
    y : numpy.ndarray
        The labels (integers or text), one per row of ``X``.
    rows : numpy.ndarray of int64
        Each row's number among the file's data rows (0 = the first after the header).
    label_column, chosen, columns, format, delimiter, decimal, label_dtype
        As in :class:`~bayesgen.io.tables.TableData` (how the label column was chosen,
        every column of the file in order, ``"csv"`` or ``"parquet"``, the separator, the
        decimal mark, ``"category"`` for a category label).
    dropped_rows : int
        Rows of this chunk left out because their label was empty.
    """

    X: object
    y: np.ndarray
    rows: np.ndarray
    label_column: str
    chosen: str
    columns: list
    format: str
    delimiter: str
    decimal: str
    label_dtype: str | None = None
    dropped_rows: int = 0


def iter_table_chunks(
    path,
    chunk_rows: int,
    *,
    label_column=None,
    drop_missing_labels=False,
    delimiter=None,
    check_fields=True,
) -> Iterator[TableChunk]:
    """Yield a CSV or Parquet table in chunks of ``chunk_rows`` rows.

    Parameters
    ----------
    path : str or os.PathLike
    chunk_rows : int
    label_column : str or int, optional
        See :func:`bayesgen.io.read_table`.
    drop_missing_labels : bool, default=False
        Leave out rows whose label is empty (otherwise the first is an error).
    delimiter : str, optional
        CSV field separator; by default the one the first lines agree on
        (:func:`~bayesgen.io.delimiter.csv_delimiter`).
    check_fields : bool, default=True
        First refuse a CSV record with more or fewer fields than the header, naming its
        line, as :func:`~bayesgen.io.read_table` does (one quick pass over the bytes;
        pandas would pad a short record with empty cells).

    Raises
    ------
    DataError
        A missing or malformed file, non-UTF-8 text (naming its line), no plausible label
        column, an empty label.
    """
    path = Path(path)
    fmt, dialect = table_format(path, delimiter)
    layout = {"format": fmt, "delimiter": dialect.delimiter, "decimal": dialect.decimal}
    if fmt == "parquet":
        frames = _parquet_frames(path, chunk_rows)
    else:
        if check_fields:
            _check_field_counts(path, dialect.delimiter)
        _check_header_names(path, dialect.delimiter)
        frames = _csv_frames(path, dialect, chunk_rows)
    where = repr(str(path))
    name = chosen = None
    offset = 0
    for frame in frames:
        frame.columns = [str(c) for c in frame.columns]
        if name is None:
            if frame.shape[0] == 0:
                raise DataError(f"{where} has a header but no rows")
            name, chosen = _choose_label(frame, label_column, where)
            _check_label_values(frame, name, where, first_chunk=True)
        rows = offset + np.arange(frame.shape[0], dtype=np.int64)
        offset += frame.shape[0]
        yield _chunk(frame, rows, name, chosen, layout, drop_missing_labels, where)


def _chunk(frame, rows, name, chosen, layout, drop_missing_labels, where) -> TableChunk:
    missing = frame[name].isna().to_numpy()
    dropped = 0
    if missing.any():
        if not drop_missing_labels:
            first = int(rows[np.flatnonzero(missing)[0]])
            raise DataError(
                f"{where}: rows have an empty label in column {name!r} (the first at "
                f"{data_row(first)}); fill them, or drop those rows with drop_missing_labels=True"
            )
        frame, rows = frame.loc[~missing], rows[~missing]
        dropped = int(missing.sum())
    labels = label_values(frame[name])
    kind = label_dtype(frame[name])
    return TableChunk(
        X=frame.drop(columns=[name]).reset_index(drop=True),
        y=labels,
        rows=rows,
        label_column=name,
        chosen=chosen,
        columns=[str(c) for c in frame.columns],
        dropped_rows=dropped,
        label_dtype=kind,
        **layout,
    )


def _csv_frames(path: Path, dialect: CsvDialect, chunk_rows: int):
    """pandas chunks of a CSV file; text columns of the first chunk stay text."""
    import pandas as pd

    sep, decimal = dialect.delimiter, dialect.decimal
    try:
        codes = dict.fromkeys(dialect.codes, str)
        head = pd.read_csv(path, sep=sep, decimal=decimal, nrows=chunk_rows, dtype=codes)
        text = {
            c: head[c].dtype
            for c in head.columns
            if pd.api.types.is_object_dtype(head[c].dtype)
            or pd.api.types.is_string_dtype(head[c].dtype)
        }
        del head
        reader = pd.read_csv(path, sep=sep, decimal=decimal, chunksize=chunk_rows, dtype=text)
        with reader:
            yield from reader
    except pd.errors.EmptyDataError:
        raise DataError(f"{str(path)!r} is empty; expected a header line and rows") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{str(path)!r} is not a well-formed CSV file: {exc}") from None
    except UnicodeDecodeError:
        _check_utf8(path)  # names the line
        raise DataError(f"{str(path)!r} is not UTF-8 text") from None


def _parquet_frames(path: Path, chunk_rows: int):
    """pandas frames of a Parquet file's row batches (dtypes as ``pd.read_parquet``'s)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{str(path)!r} is not a readable Parquet file: {exc}") from None
    schema = handle.schema_arrow

    def frames():
        for batch in handle.iter_batches(batch_size=chunk_rows):
            yield pa.Table.from_batches([batch], schema=schema).to_pandas()

    return frames()
