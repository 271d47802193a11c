"""Chunked CSV reading with pyarrow, in bounded memory.

Two routes, tried in turn by :func:`bayesgen.io.csv_reader._csv_chunks`:

* :func:`_csv_block_chunks` cuts the file after newlines into blocks of whole lines and
  parses each block with all cores (as uint8 for Kaggle-layout pixels);
* :func:`_csv_arrow_chunks` uses pyarrow's streaming reader, for files whose lines cannot be
  cut safely (quotes, carriage returns).

Both hand on chunks of exactly ``chunk_rows`` rows and can start from any data row, so that
one route (or the exact python reader) can take over where another gave way.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from bayesgen.base.threads import usable_cores
from bayesgen.io.csv_arrow import (
    _ARROW_BLOCK_BYTES,
    _arrow_csv_options,
    _arrow_labels,
    _arrow_table_features,
)
from bayesgen.io.csv_plan import _CsvPlan, _Fallback
from bayesgen.io.deps import _pyarrow_csv
from bayesgen.io.labels import _LabelTexts

#: bytes of whole lines parsed at once by :func:`_csv_block_chunks`
_CSV_BLOCK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"


def _csv_arrow_chunks(plan: _CsvPlan, chunk_rows: int, *, skip: int = 0):
    """Yield ``(X_raw, texts)`` chunks of exactly ``chunk_rows`` rows via pyarrow's streaming
    reader, from data row ``skip`` on; raise _Fallback on anything the exact python reader
    should judge (see :func:`_rechunked` for how rows are skipped and cut).
    """
    pa, pacsv = _pyarrow_csv()
    names, read, parse, convert = _arrow_csv_options(
        plan, pa.float64(), newlines=False, block_size=1 << 20
    )

    def tables():
        try:
            stream = pa.input_stream(str(plan.path), compression="gzip" if plan.gz else None)
        except (pa.ArrowException, OSError, ValueError):
            raise _Fallback from None
        with stream:
            try:
                reader = pacsv.open_csv(
                    stream, read_options=read, parse_options=parse, convert_options=convert
                )
            except (pa.ArrowException, OSError, ValueError, TypeError):
                raise _Fallback from None
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowException, OSError, ValueError, TypeError, EOFError, zlib.error):
                    raise _Fallback from None
                yield pa.Table.from_batches([batch]), False

    return _rechunked(tables(), chunk_rows, skip, names, plan)


def _rechunked(tables, chunk_rows: int, skip: int, names, plan):
    """Cut a stream of parsed ``(table, as_uint8)`` pieces into ``(X_raw, texts)`` chunks of
    exactly ``chunk_rows`` rows, after dropping the first ``skip`` rows.

    Rows are skipped as parsed rows (blank lines are not rows), not as lines, so every route
    counts them alike when one resumes where another gave way.  Pieces wait as pyarrow
    tables, sliced without copies; a chunk becomes numpy only when it is handed out.
    """
    pending, pending_rows = [], 0
    try:
        for table, as_uint8 in tables:
            if skip:
                dropped = min(skip, table.num_rows)
                table, skip = table.slice(dropped), skip - dropped
            if table.num_rows:
                pending.append((table, as_uint8))
                pending_rows += table.num_rows
            while pending_rows >= chunk_rows:
                chunk, pending = _first_rows(pending, chunk_rows)
                pending_rows -= chunk_rows
                yield _table_chunk(chunk, names, plan)
        if pending_rows:
            yield _table_chunk(pending, names, plan)
    finally:
        tables.close()  # the file closes when the consumer stops early, too


def _after_header(fh, block_bytes: int) -> bytes:
    """Read past the header line; return the bytes read after it.

    Raises _Fallback when the header is not ended by ``\\n`` (e.g. carriage returns only)
    within many blocks.
    """
    buf = fh.read(block_bytes)
    while buf.find(b"\n") < 0 and len(buf) < max(8 * block_bytes, 1 << 20):
        more = fh.read(block_bytes)
        if not more:
            break
        buf += more
    newline, cr = buf.find(b"\n"), buf.find(b"\r")
    if newline < 0 or 0 <= cr < newline - 1:
        raise _Fallback
    return buf[newline + 1 :]


def _csv_line_blocks(plan: _CsvPlan, block_bytes: int):
    """Yield the data after the header line in blocks of whole lines (raw bytes).

    Raises _Fallback where a cut after a newline cannot be trusted: a header not ended by
    ``\\n`` (e.g. carriage returns only), no newline for many blocks, a quote (a quoted
    field may hold a newline) or a block opening with a byte-order mark.
    """
    try:
        fh = gzip.open(plan.path, "rb") if plan.gz else open(plan.path, "rb")
    except OSError:
        raise _Fallback from None
    with fh:
        try:
            carry = _after_header(fh, block_bytes)
            while True:
                data = fh.read(block_bytes)
                buf = carry + data if carry else data
                if not data:
                    if buf:  # a last line without a newline (pyarrow judges what it holds)
                        if b'"' in buf or buf.startswith(_BOM):
                            raise _Fallback
                        yield buf
                    return
                cut = buf.rfind(b"\n")
                if cut < 0:
                    if len(buf) > 8 * block_bytes:
                        raise _Fallback
                    carry = buf
                    continue
                block, carry = buf[: cut + 1], buf[cut + 1 :]
                # pyarrow would drop a byte-order mark opening a block: leave it to the others
                if b'"' in block or block.startswith(_BOM):
                    raise _Fallback
                yield block
        except (OSError, EOFError, zlib.error):
            raise _Fallback from None


def _csv_block_chunks(plan: _CsvPlan, chunk_rows: int, *, pixels: bool = False, skip: int = 0):
    """Yield ``(X_raw, texts)`` chunks of exactly ``chunk_rows`` rows, from data row ``skip``
    on, parsing blocks of whole lines with pyarrow's multi-threaded ``read_csv``.

    The file is cut after newlines into blocks of about ``_CSV_BLOCK_BYTES`` (see
    :func:`_csv_line_blocks`), so each block parses with all cores, like a whole-file read,
    and memory stays bounded.  With ``pixels=True`` (Kaggle-layout files) a block is parsed
    as uint8 -- decimal integers 0..255 -- unless it holds an ``x`` (pyarrow's integer
    parser accepts hexadecimal) or fails to, and then as doubles; ``X_raw`` is uint8 while
    every block of a chunk was.  Raises _Fallback on anything the exact python reader
    should judge.
    """
    pa, pacsv = _pyarrow_csv()
    names, _, parse, as_doubles = _arrow_csv_options(plan, pa.float64(), newlines=False)
    as_pixels = _arrow_csv_options(plan, pa.uint8(), newlines=False)[3]
    # a block has no header line; at least one parse task per core for each block
    task = min(_ARROW_BLOCK_BYTES, max(1 << 20, _CSV_BLOCK_BYTES // usable_cores()))
    read = pacsv.ReadOptions(column_names=names, block_size=task)

    def parsed(block, convert):
        return pacsv.read_csv(
            pa.BufferReader(block), read_options=read, parse_options=parse, convert_options=convert
        )

    def tables():
        for block in _csv_line_blocks(plan, _CSV_BLOCK_BYTES):
            table, as_uint8 = None, False
            if pixels and block.find(b"x") < 0 and block.find(b"X") < 0:
                try:
                    table, as_uint8 = parsed(block, as_pixels), True
                except (pa.ArrowException, ValueError, TypeError):
                    table = None
            if table is None:
                try:
                    table = parsed(block, as_doubles)
                except (pa.ArrowException, ValueError, TypeError):
                    raise _Fallback from None
            del block
            yield table, as_uint8

    return _rechunked(tables(), chunk_rows, skip, names, plan)


def _first_rows(pending, rows):
    """Split a list of ``(table, as_uint8)`` after ``rows`` rows (zero-copy slices)."""
    head, rest, need = [], [], rows
    for table, as_uint8 in pending:
        if need <= 0:
            rest.append((table, as_uint8))
        elif table.num_rows <= need:
            head.append((table, as_uint8))
            need -= table.num_rows
        else:
            head.append((table.slice(0, need), as_uint8))
            rest.append((table.slice(need), as_uint8))
            need = 0
    return head, rest


def _table_chunk(parts, names, plan):
    """``(B, texts)`` of consecutive table pieces; uint8 beside float64 pieces becomes
    float64 (pixel counts, exact)."""
    chunks = [_arrow_chunk(table, names, plan, as_uint8) for table, as_uint8 in parts]
    if len(chunks) == 1:
        return chunks[0]
    dtype = np.result_type(*(B.dtype for B, _ in chunks))
    B = np.concatenate([B.astype(dtype, copy=False) for B, _ in chunks])
    return B, _LabelTexts.concat([texts for _, texts in chunks])


def _arrow_chunk(table, names, plan, pixels=False):
    """``(B, texts)`` of one table piece; _Fallback on a non-finite value."""
    texts = _arrow_labels(table, names, plan.label_idx)
    B = _arrow_table_features(table, names, plan.label_idx, np.uint8 if pixels else np.float64)
    if not pixels and not np.isfinite(B).all():
        raise _Fallback
    return B, texts
