"""What every CSV route needs to know before parsing rows: the header, the label column, the
delimiter and whether the file has Kaggle's Digit Recognizer layout.

The routes (:mod:`~bayesgen.io.csv_text`, :mod:`~bayesgen.io.csv_arrow`,
:mod:`~bayesgen.io.csv_arrow_chunks`) all start from one :class:`_CsvPlan`, so they agree on
which column is the label and report problems alike.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError, data_row
from bayesgen.io.checks import _is_gzip, _reading, _resolve_image_shape
from bayesgen.io.data import (
    _KAGGLE_COLUMNS,
    _KAGGLE_SHAPE,
    _KAGGLE_TEST_COLUMNS,
    KAGGLE_URL,
    LabelledData,
)
from bayesgen.io.labels import _select_label_column

#: what a CSV file may be called; ``.tsv`` files default to tab-separated
_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")


class _Fallback(Exception):
    """The pyarrow fast path met something unusual; the exact python reader takes over."""


@dataclass
class _CsvPlan:
    """The header of a CSV file and how its columns are read."""

    path: Path
    delimiter: str
    columns: list[str]
    label_idx: int
    feature_names: list[str]
    kaggle_header: bool
    simple: bool  # header is exactly the first physical line: the pyarrow path may be used
    gz: bool

    @property
    def where(self) -> str:
        """The file, for messages."""
        return str(self.path)


def _open_text(path: Path, gz: bool):
    """The file as UTF-8 text (a byte-order mark dropped), newlines left to the csv module."""
    binary = gzip.open(path, "rb") if gz else open(path, "rb")
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _is_number(text: str) -> bool:
    """True for what ``float()`` parses, except digit groups (``1_0``), which CSV never means."""
    if "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_header(path: Path, delimiter: str, gz: bool) -> tuple[list[str] | None, int]:
    """The first non-blank row and the physical line that ends it."""
    with _reading(path, "CSV"), _open_text(path, gz) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = None
        for row in reader:
            if row:
                header = row
                break
        return header, reader.line_num


def _check_header(where: str, header: list[str], columns: list[str], delimiter: str, label_column):
    """Refuse a header that cannot be a labelled data set's (one column, no labels, numbers)."""
    if len(columns) < 2:
        hint = ""
        for other in (";", "\t", ",", "|"):
            if other != delimiter and other in header[0]:
                hint = f" The header contains {other!r}: pass delimiter={other!r}."
                break
        raise DataError(
            f"{where}: the header has a single column ({columns[0][:40]!r}); expected a label "
            f"column and at least one feature column separated by {delimiter!r}.{hint}"
        )
    if label_column is None and columns == _KAGGLE_TEST_COLUMNS:
        raise DataError(
            f"{where} looks like Kaggle's test.csv: it has pixel0..pixel783 but no 'label' "
            "column, so it cannot train a classifier. Use train.csv from "
            f"{KAGGLE_URL}, which has the labels."
        )
    if all(_is_number(c) for c in columns):
        raise DataError(
            f"{where}: the first line ({','.join(columns[:4])}, ...) holds numbers, but a header "
            "line with column names is expected. Add a header such as "
            "label,x0,x1,... as the first line."
        )


def _csv_plan(path: Path, label_column, delimiter: str, kaggle) -> _CsvPlan:
    """Read and check the header of a CSV file.

    Parameters
    ----------
    path : pathlib.Path
    label_column : str, int or None
        See :func:`~bayesgen.io.read_labelled`.
    delimiter : str
        One character.
    kaggle : bool or None
        None: the Kaggle layout is recognised by its header; True or False forces it.

    Returns
    -------
    _CsvPlan
    """
    where = str(path)
    gz = _is_gzip(path)
    header, line = _read_header(path, delimiter, gz)
    if header is None:
        raise DataError(
            f"{where} contains no lines; expected a header line with the column names (such as "
            "label,pixel0,...) followed by one line per sample."
        )
    columns = [c.strip() for c in header]
    _check_header(where, header, columns, delimiter, label_column)
    label_idx = _select_label_column(columns, label_column, where)
    features = columns[:label_idx] + columns[label_idx + 1 :]
    kaggle_header = columns == _KAGGLE_COLUMNS and label_idx == 0
    return _CsvPlan(
        path=path,
        delimiter=delimiter,
        columns=columns,
        label_idx=label_idx,
        feature_names=features,
        kaggle_header=kaggle_header if kaggle is None else bool(kaggle),
        simple=(line == 1),
        gz=gz,
    )


def _kaggle_values_ok(B: np.ndarray) -> bool:
    """True when every value is an integer pixel 0-255 (Kaggle's layout)."""
    return bool(np.all((B >= 0) & (B <= 255) & (B == np.floor(B))))


def _kaggle_violation(plan: _CsvPlan, B: np.ndarray, lines, row_offset: int) -> DataError:
    """The error naming the first value of ``B`` that is not a Kaggle pixel.

    ``lines`` are the rows' line numbers when known (python reader), else the row is
    counted from ``row_offset``.
    """
    bad = ~((B >= 0) & (B <= 255) & (B == np.floor(B)))
    r, c = np.argwhere(bad)[0]
    loc = f"line {lines[r]}" if lines is not None else data_row(row_offset + int(r))
    return DataError(
        f"{plan.where}: {loc}, column {plan.feature_names[c]!r} is {B[r, c]!r}, but the Kaggle "
        "Digit Recognizer layout needs integer pixel values 0-255. Pass kaggle=False to read "
        "the file as a plain CSV without scaling, or fix the value."
    )


def _header_only(plan: _CsvPlan) -> DataError:
    """The error for a file with a header and no rows."""
    return DataError(
        f"{plan.where} has a header line ({len(plan.columns)} columns) but no data rows; "
        "expected one line per sample after the header. The file may have been truncated."
    )


def _csv_data(plan: _CsvPlan, X, y, is_kaggle, image_shape) -> LabelledData:
    """The :class:`LabelledData` of parsed rows (Kaggle files: 28x28 images, scale 255)."""
    d = X.shape[1]
    default = _KAGGLE_SHAPE if is_kaggle and d == 784 else None
    return LabelledData(
        X=X,
        y=y,
        feature_names=list(plan.feature_names),
        image_shape=_resolve_image_shape(image_shape, d, default, plan.where),
        source_format="kaggle-csv" if is_kaggle else "csv",
        pixel_scale=255.0 if is_kaggle else None,
        label_column=plan.columns[plan.label_idx],
        delimiter=plan.delimiter,
    )
