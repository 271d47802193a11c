"""Writing CSV files chunk by chunk: the label column first, then the features as floats
that read back exactly (or Kaggle's integer pixels).  Rows are formatted by pyarrow when it
is installed, else by the csv module.

Text cells that a spreadsheet would run as a formula are written with a leading ``'``
(:func:`formula_safe`) unless the caller keeps formulas.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import re
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.io.data import _to_uint8_pixels, _WriteOptions
from bayesgen.io.deps import _pyarrow_csv

__all__ = ["formula_safe"]

#: What a spreadsheet (Excel, LibreOffice, Google Sheets) reads as the start of a formula
#: or command (DDE: ``=cmd|...``), OWASP's list.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain number, which a spreadsheet reads as a number however it starts ("-1.5", "+3").
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def formula_safe(cell: str) -> str:
    """A text cell that a spreadsheet shows as text instead of running it as a formula.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'`` (OWASP's advice against CSV injection), unless it is a plain number such
    as ``-1.5`` or ``+3``; every other cell is returned unchanged.

    Examples
    --------
    >>> formula_safe("=SUM(A1:A9)")
    "'=SUM(A1:A9)"
    >>> formula_safe("-1.5"), formula_safe("cat")
    ('-1.5', 'cat')
    """
    if cell.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class _CsvSink:
    """Rows appended to an open (optionally gzip-compressed) temporary CSV file.

    Parameters
    ----------
    tmp : pathlib.Path
        The temporary file, moved into place by the caller.
    final : pathlib.Path
        The target (its name says whether to compress, and messages name it).
    opts : _WriteOptions
    """

    def __init__(self, tmp: Path, final: Path, opts: _WriteOptions):
        self.opts = opts
        self.final = final
        raw = open(tmp, "wb")
        self.fh = (
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
            if final.name.lower().endswith(".gz")
            else raw
        )
        self._raw = raw
        self.header_done = False

    def write(self, X, y, names):
        """Append rows (the header before the first)."""
        opts = self.opts
        kaggle = opts.fmt == "kaggle-csv"
        if y.dtype.kind == "U":
            bad = [s for s in y.tolist() if not s or s != s.strip()]
            if bad:
                raise DataError(
                    f"{self.final}: the label {bad[0]!r} is empty or has surrounding "
                    "whitespace, which CSV readers strip; clean the labels before writing."
                )
        if not self.header_done:
            cols = (
                ["label"] + [f"pixel{j}" for j in range(X.shape[1])]
                if kaggle
                else [opts.label_column] + names
            )
            if not opts.keep_formulas:
                cols = [formula_safe(c) for c in cols]
            buf = io.StringIO()
            csv.writer(buf, delimiter=opts.delimiter, lineterminator="\n").writerow(cols)
            self.fh.write(buf.getvalue().encode("utf-8"))
            self.header_done = True
        values = _to_uint8_pixels(X, opts.pixel_scale) if kaggle else X
        if y.dtype.kind == "U" and not opts.keep_formulas:
            y = np.array([formula_safe(s) for s in y.tolist()], dtype=str)
        self.fh.write(_format_csv_rows(values, y, opts.delimiter))

    def finish(self):
        """Close the file (the caller moves it into place)."""
        self.fh.close()
        self._raw.close()

    def discard(self):
        """Close the file after a failure (the caller removes it)."""
        with contextlib.suppress(Exception):
            self.fh.close()
        self._raw.close()


def _format_csv_rows(values: np.ndarray, y: np.ndarray, delimiter: str) -> bytes:
    """CSV text (bytes) of label + values rows; floats keep full (round-trip) precision."""
    mods = _pyarrow_csv()
    if mods is not None:
        pa, pacsv = mods
        VT = np.ascontiguousarray(values.T)
        cols = [pa.array(y.tolist(), type=pa.string()) if y.dtype.kind == "U" else pa.array(y)]
        cols += [pa.array(VT[j]) for j in range(VT.shape[0])]
        table = pa.Table.from_arrays(cols, names=[f"c{i}" for i in range(len(cols))])
        out = pa.BufferOutputStream()
        pacsv.write_csv(
            table,
            out,
            write_options=pacsv.WriteOptions(
                include_header=False, delimiter=delimiter, quoting_style="needed"
            ),
        )
        return out.getvalue().to_pybytes()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    for label, row in zip(y.tolist(), values.tolist(), strict=True):
        writer.writerow([label, *row])
    return buf.getvalue().encode("utf-8")
