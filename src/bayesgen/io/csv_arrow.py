"""Whole-file CSV reading with pyarrow's multi-threaded parser, and the table-to-numpy
conversions the chunked pyarrow routes share.

A route here returns None (or raises :class:`~bayesgen.io.csv_plan._Fallback`) on anything
unusual -- quotes that may hide newlines, hexadecimal that pyarrow's integer parser would
accept, a blank label, non-finite values -- so that the exact python reader
(:mod:`~bayesgen.io.csv_text`) judges it and reports it by line.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from bayesgen.base.threads import lane_budget, run_lanes_over
from bayesgen.io.csv_plan import _CsvPlan, _Fallback, _kaggle_values_ok
from bayesgen.io.deps import _pyarrow_csv
from bayesgen.io.labels import _LabelTexts

#: bytes pyarrow's CSV reader parses per task: its default (1 MiB) spends more time setting
#: up and joining the columns of wide files (Kaggle's 785) than parsing (benchmarks/README.md)
_ARROW_BLOCK_BYTES = 4 << 20

#: values from which parsed columns are copied out on several threads
_PARALLEL_COPY_MIN = 1 << 20


def _arrow_csv_options(plan: _CsvPlan, ftype, newlines: bool, block_size=None):
    """pyarrow's read, parse and convert options for ``plan``'s file.

    Columns are named ``c0, c1, ...`` (header names may repeat or be odd); the label column
    is text, the others ``ftype``; nothing may be null, so an empty cell fails the parse.

    Returns
    -------
    names, read_options, parse_options, convert_options
    """
    pa, pacsv = _pyarrow_csv()
    names = [f"c{i}" for i in range(len(plan.columns))]
    types = {n: ftype for n in names}
    types[names[plan.label_idx]] = pa.string()
    read = pacsv.ReadOptions(
        column_names=names,
        skip_rows=1,
        block_size=_ARROW_BLOCK_BYTES if block_size is None else block_size,
    )
    parse = pacsv.ParseOptions(delimiter=plan.delimiter, newlines_in_values=newlines)
    convert = pacsv.ConvertOptions(
        column_types=types,
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return names, read, parse, convert


def _copy_batches(feat, X: np.ndarray, divide_by) -> None:
    """Copy a table's record batches into the rows of ``X`` (pyarrow >= 14), in parallel."""
    batches = [batch for batch in feat.to_batches() if batch.num_rows]
    starts = np.concatenate([[0], np.cumsum([batch.num_rows for batch in batches])])

    def copy_out(i) -> None:
        # column-major: pyarrow copies column by column (faster than its row-major
        # interleave), numpy transposes into the rows (without the GIL)
        columns = np.asarray(batches[i].to_tensor(row_major=False))
        rows = X[starts[i] : starts[i + 1]]
        if divide_by is None:
            rows[...] = columns
        else:
            np.divide(columns, divide_by, out=rows)

    # batches on every core for big tables; for small ones starting threads costs more
    big = X.size >= _PARALLEL_COPY_MIN
    run_lanes_over(
        range(len(batches)), lambda: copy_out, min(lane_budget(), len(batches)) if big else 1
    )


def _copy_columns(feat, X: np.ndarray, divide_by) -> None:
    """Copy a table's columns into ``X`` one by one (pyarrow < 14 has no ``to_tensor``)."""
    n, d = X.shape
    XT = np.empty((d, n), dtype=X.dtype)
    for j, col in enumerate(feat.columns):
        off = 0
        for chunk in col.chunks:
            m = len(chunk)
            XT[j, off : off + m] = chunk.to_numpy(zero_copy_only=False)
            off += m
    X[...] = XT.T
    if divide_by is not None:
        X /= divide_by


def _arrow_table_features(table, names, label_idx, dtype, divide_by=None) -> np.ndarray:
    """(n, d) matrix of the non-label columns of a table (all of one type), in ``dtype``;
    with ``divide_by``, divided by it on the way (one pass, no intermediate matrix).

    Raises
    ------
    _Fallback
        A cell is null.
    """
    pa, _ = _pyarrow_csv()
    n = table.num_rows
    feature_cols = [nm for i, nm in enumerate(names) if i != label_idx]
    feat = table.select(feature_cols)
    if any(col.null_count for col in feat.columns):
        raise _Fallback
    X = np.empty((n, len(feature_cols)), dtype=dtype)
    if hasattr(pa.RecordBatch, "to_tensor"):  # pyarrow >= 14
        _copy_batches(feat, X, divide_by)
    else:
        _copy_columns(feat, X, divide_by)
    return X


def _arrow_labels(table, names, label_idx) -> _LabelTexts:
    """The label column of a table as distinct stripped texts plus one code per row.

    Raises
    ------
    _Fallback
        A label is blank (the python reader names its line).
    """
    column = table.column(names[label_idx])
    column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    encoded = column.dictionary_encode()  # distinct texts and one index per row, in C++
    stripped = [t.strip() for t in encoded.dictionary.to_pylist()]
    if not all(stripped):
        raise _Fallback
    uniques = list(dict.fromkeys(stripped))  # " 5" and "5" are one label
    position = {t: i for i, t in enumerate(uniques)}
    remap = np.array([position[t] for t in stripped], dtype=np.intp)
    return _LabelTexts(uniques, remap[encoded.indices.to_numpy(zero_copy_only=False)])


class _ScannedFile:
    """A binary file read by pyarrow that notes what, after the header line, would change
    how it must be parsed: a quote (a quoted field may hold a newline) or an ``x``/``X``
    (pyarrow's integer parser takes hexadecimal)."""

    closed = False

    def __init__(self, fh):
        self._fh = fh
        self.in_header = True
        self.newline = False  # lines ended by carriage returns alone go to the python reader
        self.quote = False
        self.hex = False

    def read(self, size=-1):
        """Read like the wrapped file, noting quotes and ``x`` after the header."""
        block = self._fh.read(size)
        start = 0
        if not self.newline and block.find(b"\n") >= 0:
            self.newline = True
        if self.in_header:
            cut = _header_end(block)
            if cut < 0:
                return block
            self.in_header, start = False, cut + 1
        if not self.quote and block.find(b'"', start) >= 0:
            self.quote = True
        if not self.hex and (block.find(b"x", start) >= 0 or block.find(b"X", start) >= 0):
            self.hex = True
        return block

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _header_end(data) -> int:
    """Position of the byte ending the first line (``\n`` or a lone ``\r``), or -1: pyarrow
    ends a line at either, so the data (and what must be checked in it) start after it."""
    newline, cr = data.find(b"\n"), data.find(b"\r")
    if cr < 0 or (0 <= newline <= cr + 1):
        return newline
    return cr


def _scanned_parse(plan: _CsvPlan):
    """Parse the file as uint8 pixels while scanning each block it reads.

    Returns
    -------
    (table, clean) or None
        ``table`` is None when the parse failed; ``clean`` is True when no block held a
        quote or an ``x`` after the header and lines end with ``\\n``.  None when the file
        cannot be read.
    """
    pa, _ = _pyarrow_csv()
    scanned = None
    try:
        with open(plan.path, "rb") as fh:
            scanned = _ScannedFile(fh)
            table = _arrow_parse(pa.PythonFile(scanned, mode="r"), plan, np.uint8, False)
    except OSError:
        return None
    except (pa.ArrowException, ValueError, TypeError):
        table = None
    clean = scanned.newline and not (scanned.in_header or scanned.quote or scanned.hex)
    return table, clean


def _csv_read_arrow(plan: _CsvPlan, kaggle):
    """Whole-file read with pyarrow; returns ``(X, texts, is_kaggle)`` or None to fall back."""
    uint8_failed = False
    if plan.kaggle_header and not plan.gz:
        # A Kaggle file, decimal pixels expected: pyarrow reads the file itself, so its
        # reads overlap the parse, while every block is scanned; a quote or an 'x' after
        # the header, or a failed parse, and the file is read again below as bytes, where
        # those cases are handled.
        parsed = _scanned_parse(plan)
        if parsed is None:
            return None
        table, clean = parsed
        if table is not None and clean:
            return _arrow_result(table, plan, np.uint8, kaggle)
        # the same bytes, parsed the same way, would fail the same way
        uint8_failed = table is None and clean
        del table, parsed
    return _read_bytes(plan, kaggle, uint8_failed)


def _read_bytes(plan: _CsvPlan, kaggle, uint8_failed: bool):
    """Whole-file read of the file's bytes (decompressed); see :func:`_csv_read_arrow`.

    Parameters
    ----------
    plan : _CsvPlan
    kaggle : bool or None
    uint8_failed : bool
        The scanned uint8 parse of the same bytes already failed.
    """
    pa, _ = _pyarrow_csv()
    try:
        with open(plan.path, "rb") as fh:
            data = fh.read()
        if plan.gz:
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None
    start = _header_end(data) + 1
    if start <= 0 or data.find(b"\n") < 0:
        return None
    newlines = data.find(b'"', start) >= 0
    attempts = [np.float64]
    # pyarrow's integer parser also accepts hex ("0x1f"), which a CSV of decimal pixels never
    # holds; only take the (faster) uint8 route when no 'x' appears in the data.
    if (
        plan.kaggle_header
        and data.find(b"x", start) < 0
        and data.find(b"X", start) < 0
        and not (uint8_failed and not newlines)
    ):
        attempts.insert(0, np.uint8)
    for dtype in attempts:
        try:
            table = _arrow_parse(pa.BufferReader(data), plan, dtype, newlines)
        except (pa.ArrowException, ValueError, TypeError):
            continue
        del data
        return _arrow_result(table, plan, dtype, kaggle)
    return None


def _arrow_parse(source, plan: _CsvPlan, dtype, newlines: bool):
    """The whole file as a pyarrow table, features typed uint8 or float64."""
    pa, pacsv = _pyarrow_csv()
    ftype = pa.uint8() if dtype is np.uint8 else pa.float64()
    _, read, parse, convert = _arrow_csv_options(plan, ftype, newlines)
    return pacsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert)


def _arrow_result(table, plan: _CsvPlan, dtype, kaggle):
    """``(X, texts, is_kaggle)`` of a parsed table, or None for the python reader to judge."""
    if table.num_rows == 0:
        return None
    names = table.column_names
    try:
        texts = _arrow_labels(table, names, plan.label_idx)
        # uint8 pixels become [0, 1] doubles as they are copied out
        X = _arrow_table_features(
            table, names, plan.label_idx, np.float64, divide_by=255.0 if dtype is np.uint8 else None
        )
    except _Fallback:
        return None
    del table
    if dtype is np.uint8:
        return X, texts, True
    if not np.isfinite(X).all():
        return None
    candidate = plan.kaggle_header
    is_kaggle = candidate and _kaggle_values_ok(X)
    if candidate and kaggle and not is_kaggle:
        return None  # the python reader reports the offending line
    if is_kaggle:
        X /= 255.0
    return X, texts, is_kaggle
