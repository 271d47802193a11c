"""Read labelled data sets from disk and write generated ones back.

Readers
-------
:func:`read_labelled` loads a whole data set into a :class:`LabelledData`; :func:`iter_chunks`
yields the same rows as a sequence of smaller :class:`LabelledData` so that a file bigger than
memory can be fed to ``partial_fit``.  Concatenating the chunks gives exactly the arrays that
:func:`read_labelled` returns.  Supported inputs:

* CSV (``.csv``, ``.tsv``, optionally ``.gz``-compressed) with a header line.  The label column is
  chosen by name or index (default: a column named ``label``, else the first column).  The
  Kaggle "Digit Recognizer" layout (``label,pixel0,...,pixel783`` with integer pixels 0-255) is
  recognised and its pixels are scaled to [0, 1].
* Parquet (``.parquet``, ``.pq``; needs pyarrow: ``pip install bayesgen[parquet]``).
* NPZ (``.npz``) holding arrays ``X`` and ``y``; pickles are never loaded.
* MNIST IDX files (``*-images-idx3-ubyte[.gz]``), paired automatically with their labels file.
* A folder of images with one sub-folder per class (PNG/JPEG, needs Pillow).

Tables (:func:`is_table_file`: text, boolean or date columns, empty cells, or numbers in
at most :data:`~bayesgen.io.tables.MATRIX_COLUMNS` columns) are read
by :func:`read_table` into a pandas DataFrame plus labels, and written back by
:func:`write_table` in the input's layout (see :mod:`bayesgen.io.tables`); :func:`csv_text`
gives the text of such a table.

Writers
-------
:func:`write_labelled` writes generated samples in the layout they came from (Kaggle CSV,
generic CSV, NPZ, Parquet, a PNG grid, or a folder of PNG files per class);
:func:`open_chunked_writer` streams many chunks of rows to a CSV, NPZ or Parquet file with
bounded memory.  Every write is atomic: the data go to a temporary file beside the target,
which replaces the target only once it is complete, so a failure never leaves a half-written
file nor clobbers the previous one.  :func:`check_output_size` refuses, before any work, an
output that cannot fit its format (see :mod:`bayesgen.io.limits`); the writers call it too.
CSV text cells that a spreadsheet would run as a formula get a leading ``'`` unless
``keep_formulas=True`` (:func:`~bayesgen.io.csv_writer.formula_safe`).

Every problem with the input is reported as :class:`bayesgen.base.errors.DataError` whose message
says what was expected, what was found and how to fix it.

Layout
------
One module per format and job: :mod:`~bayesgen.io.registry` maps every format name to its
readers and writer; :mod:`~bayesgen.io.readers` and :mod:`~bayesgen.io.writers` hold the
public functions above; the formats live in :mod:`~bayesgen.io.csv_reader` (with
:mod:`~bayesgen.io.csv_plan`, :mod:`~bayesgen.io.csv_text`, :mod:`~bayesgen.io.csv_arrow`,
:mod:`~bayesgen.io.csv_arrow_chunks`), :mod:`~bayesgen.io.csv_writer`,
:mod:`~bayesgen.io.parquet`, :mod:`~bayesgen.io.npz`, :mod:`~bayesgen.io.idx` and
:mod:`~bayesgen.io.images`.  This package imports nothing of bayesgen outside
:mod:`bayesgen.base`.
"""

from __future__ import annotations

import sys
import types

from bayesgen.base.errors import BayesgenError as BayesgenError
from bayesgen.base.errors import DataError as DataError
from bayesgen.io import csv_arrow_chunks
from bayesgen.io.data import KAGGLE_URL as KAGGLE_URL
from bayesgen.io.data import LabelledData
from bayesgen.io.delimiter import csv_delimiter
from bayesgen.io.deps import MissingDependencyError
from bayesgen.io.limits import check_output_size
from bayesgen.io.readers import iter_chunks, read_labelled
from bayesgen.io.registry import READ_FORMATS, WRITE_FORMATS
from bayesgen.io.tables import (
    TableData,
    csv_text,
    header_names,
    is_table_file,
    read_frame,
    read_frame_and_layout,
    read_table,
    table_for_output,
    write_table,
)
from bayesgen.io.writers import ChunkedWriter, open_chunked_writer, write_labelled

__all__ = [
    "ChunkedWriter",
    "LabelledData",
    "MissingDependencyError",
    "READ_FORMATS",
    "TableData",
    "WRITE_FORMATS",
    "check_output_size",
    "csv_delimiter",
    "csv_text",
    "header_names",
    "iter_chunks",
    "open_chunked_writer",
    "is_table_file",
    "read_frame",
    "read_frame_and_layout",
    "read_labelled",
    "read_table",
    "table_for_output",
    "write_labelled",
    "write_table",
]


class _Package(types.ModuleType):
    """This package's module type: private settings that moved into a submodule, still read
    and set as ``bayesgen.io.<name>`` (tests/streaming/test_streaming.py patches
    ``_CSV_BLOCK_BYTES``).  Setting one here sets it where it is used, so such a patch keeps
    taking effect; a property (a data descriptor) so that pytest's monkeypatch restores it by
    setting, not deleting.  Drop a property once no caller uses the old place."""

    @property
    def _CSV_BLOCK_BYTES(self) -> int:
        """:data:`bayesgen.io.csv_arrow_chunks._CSV_BLOCK_BYTES`."""
        return csv_arrow_chunks._CSV_BLOCK_BYTES

    @_CSV_BLOCK_BYTES.setter
    def _CSV_BLOCK_BYTES(self, value: int) -> None:
        csv_arrow_chunks._CSV_BLOCK_BYTES = value


sys.modules[__name__].__class__ = _Package
