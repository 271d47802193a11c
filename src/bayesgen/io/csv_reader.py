"""Reading CSV files (``.csv``, ``.tsv``, optionally gzip-compressed), whole or in chunks.

The fastest route that can read a file exactly is chosen: pyarrow (:mod:`~bayesgen.io.
csv_arrow`, :mod:`~bayesgen.io.csv_arrow_chunks`) when installed and the header is one plain
line, else -- or wherever pyarrow meets something unusual -- the pure-python reader
(:mod:`~bayesgen.io.csv_text`).  Every route gives the same arrays.

The Kaggle "Digit Recognizer" layout (``label,pixel0,...,pixel783`` with integer pixels
0-255) is recognised and its pixels are scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.io.csv_arrow import _csv_read_arrow
from bayesgen.io.csv_arrow_chunks import _csv_arrow_chunks, _csv_block_chunks
from bayesgen.io.csv_plan import (
    _csv_data,
    _csv_plan,
    _CsvPlan,
    _Fallback,
    _header_only,
    _kaggle_values_ok,
    _kaggle_violation,
)
from bayesgen.io.csv_text import _csv_read_slow, _csv_text_blocks
from bayesgen.io.data import LabelledData, _ReadOptions
from bayesgen.io.delimiter import sniff_csv
from bayesgen.io.deps import _pyarrow_csv
from bayesgen.io.labels import _INT_RE, _all_integers, _label_kind_option, _labels_from_text


def _read_csv(path, *, label_column, delimiter, kaggle, label_dtype, image_shape):
    """The whole CSV file as :class:`LabelledData` (pyarrow if it can, else python)."""
    plan = _csv_plan(path, label_column, delimiter, kaggle)
    result = None
    if plan.simple and _pyarrow_csv() is not None:
        result = _csv_read_arrow(plan, kaggle)
    if result is None:
        result = _csv_read_slow(plan, kaggle)
    X, texts, is_kaggle = result
    y = _labels_from_text(texts, label_dtype, plan.where)
    return _csv_data(plan, X, y, is_kaggle, image_shape)


class _CsvChunkState:
    """Decisions taken on the first chunk (Kaggle scaling, label type) and enforced later."""

    def __init__(self, plan, kaggle, label_dtype, image_shape, raw_pixels=False):
        self.plan = plan
        self.kaggle = kaggle
        self.is_kaggle = None
        self.label_kind = _label_kind_option(label_dtype)
        self.image_shape = image_shape
        self.raw_pixels = raw_pixels  # Kaggle pixels handed on unscaled (iter_chunks notes)
        self.rows = 0

    def finish(self, B, texts, lines) -> LabelledData:
        """The chunk of raw values ``B`` and label ``texts``, scaled and typed as decided.

        ``lines`` are the rows' line numbers (python reader) or None, for messages.
        """
        plan = self.plan
        if B.dtype == np.uint8:  # parsed as decimal pixels 0..255: Kaggle values by type
            if self.is_kaggle is False:
                B = B.astype(np.float64)  # earlier chunks were not pixels: keep their scale
            else:
                self.is_kaggle = True
                if self.raw_pixels:
                    return self._data(B, texts)
                return self._data(np.divide(B, 255.0, dtype=np.float64), texts)
        if self.is_kaggle is None:
            ok = plan.kaggle_header and _kaggle_values_ok(B)
            if plan.kaggle_header and self.kaggle and not ok:
                raise _kaggle_violation(plan, B, lines, self.rows)
            self.is_kaggle = ok
        elif self.is_kaggle and not _kaggle_values_ok(B):
            err = _kaggle_violation(plan, B, lines, self.rows)
            raise DataError(
                f"{err} (The first chunks were read as Kaggle layout and scaled by 1/255; "
                "pass kaggle=False to read every chunk unscaled.)"
            )
        return self._data(B / 255.0 if self.is_kaggle and not self.raw_pixels else B, texts)

    def _data(self, X, texts) -> LabelledData:
        """The chunk with its labels typed as on the first chunk (an error if they cannot be)."""
        plan = self.plan
        if self.label_kind is None:
            self.label_kind = "int" if _all_integers(texts) else "str"
        elif self.label_kind == "int" and not _all_integers(texts):
            bad = next(t for t in texts if not _INT_RE.fullmatch(t))
            raise DataError(
                f"{plan.where}: the labels of the first chunks were integers, but a later "
                f"chunk has the label {bad!r}. Pass label_dtype='str' to read all labels as "
                "text."
            )
        y = _labels_from_text(texts, self.label_kind, plan.where)
        self.rows += len(texts)
        return _csv_data(plan, X, y, bool(self.is_kaggle), self.image_shape)


def _iter_csv(
    path, chunk_rows, *, label_column, delimiter, kaggle, label_dtype, image_shape, raw_pixels=False
):
    """The CSV chunks; with ``raw_pixels``, ``(chunk, divisor)`` pairs (iter_chunks notes)."""
    plan = _csv_plan(path, label_column, delimiter, kaggle)
    state = _CsvChunkState(plan, kaggle, label_dtype, image_shape, raw_pixels=raw_pixels)
    for chunk in _csv_chunks(plan, state, chunk_rows):
        yield (chunk, 255.0 if state.is_kaggle else None) if raw_pixels else chunk


def _csv_chunks(plan: _CsvPlan, state: _CsvChunkState, chunk_rows: int):
    """The chunks of the file by the fastest route that holds, each route going on from the
    row where the one before gave way."""
    emitted = 0
    if plan.simple and _pyarrow_csv() is not None:
        # blocks of whole lines parsed with all cores (uint8 pixels for Kaggle-layout
        # files); where lines cannot be cut safely (quotes, carriage returns), pyarrow's
        # streaming reader goes on from the row reached; then the exact python reader
        routes = [
            lambda: _csv_block_chunks(plan, chunk_rows, pixels=plan.kaggle_header, skip=emitted),
            lambda: _csv_arrow_chunks(plan, chunk_rows, skip=emitted),
        ]
        for route in routes:
            gen = route()
            try:
                while True:
                    try:
                        B, texts = next(gen)
                    except StopIteration:
                        if emitted:
                            return
                        break
                    except _Fallback:
                        break
                    emitted += len(texts)
                    yield state.finish(B, texts, None)
            finally:
                gen.close()
    for B, texts, lines in _csv_text_blocks(plan, chunk_rows, skip_rows=emitted):
        emitted += len(texts)
        yield state.finish(B, texts, lines)
    if not emitted:
        raise _header_only(plan)


def _csv_arguments(path, options: _ReadOptions, kaggle_layout: bool) -> dict:
    """The CSV readers' keyword arguments from the common read options.

    ``kaggle_layout`` (format ``"kaggle-csv"``) insists on the Kaggle layout unless
    ``kaggle`` was given.
    """
    kaggle = options.kaggle
    dialect = sniff_csv(path, options.delimiter)
    if dialect.decimal == ",":
        raise DataError(
            f"{path}: its numbers are written with a decimal comma (3,5); this reader of "
            "numbers-only files takes decimal points. The table commands (fit, sample, "
            "split, resample, evaluate) read it as a table; for this one, re-save the file "
            "with decimal points."
        )
    return {
        "label_column": options.label_column,
        "delimiter": dialect.delimiter,
        "kaggle": True if kaggle_layout and kaggle is None else kaggle,
        "label_dtype": options.label_dtype,
        "image_shape": options.image_shape,
    }


def read_csv_file(path, options: _ReadOptions, *, kaggle_layout: bool = False) -> LabelledData:
    """Read a whole CSV file.

    Parameters
    ----------
    path : pathlib.Path
    options : _ReadOptions
        Uses ``label_column``, ``delimiter``, ``kaggle``, ``label_dtype``, ``image_shape``.
    kaggle_layout : bool, default=False
        Read as format ``"kaggle-csv"``.

    Returns
    -------
    LabelledData
    """
    return _read_csv(path, **_csv_arguments(path, options, kaggle_layout))


def iter_csv_file(path, chunk_rows: int, options: _ReadOptions, *, kaggle_layout: bool = False):
    """Read a CSV file in chunks of ``chunk_rows`` rows (see :func:`read_csv_file`).

    Yields
    ------
    LabelledData
        Or ``(LabelledData, divisor)`` pairs when ``options.raw_pixels``.
    """
    yield from _iter_csv(
        path,
        chunk_rows,
        raw_pixels=options.raw_pixels,
        **_csv_arguments(path, options, kaggle_layout),
    )
