"""The exact pure-python CSV reader: the csv module splits lines, numpy converts numbers.

It reads whatever the csv module accepts (quoted fields with newlines, carriage returns,
ragged files that must be reported by line number) and is the judge the pyarrow routes hand
over to when they meet something unusual; it is also the only reader without pyarrow.
"""

from __future__ import annotations

import csv

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.io.checks import _reading
from bayesgen.io.csv_plan import (
    _CsvPlan,
    _header_only,
    _is_number,
    _kaggle_values_ok,
    _kaggle_violation,
    _open_text,
)

#: rows converted at once by the whole-file python reader
_SLOW_BLOCK_ROWS = 4096


def _csv_text_blocks(plan: _CsvPlan, block_rows: int, skip_rows: int = 0):
    """Yield ``(X_raw, label_texts, line_numbers)`` blocks parsed by the csv module.

    Parameters
    ----------
    plan : _CsvPlan
    block_rows : int
        Rows per block (the last may be shorter).
    skip_rows : int, default=0
        Data rows (not lines: blank lines are not rows) to skip first, where another route
        stopped.
    """
    ncol = len(plan.columns)
    li = plan.label_idx
    where = plan.where
    with _reading(plan.path, "CSV"), _open_text(plan.path, plan.gz) as fh:
        reader = csv.reader(fh, delimiter=plan.delimiter)
        for row in reader:
            if row:
                break
        labels: list[str] = []
        rows: list[list[str]] = []
        lines: list[int] = []
        seen = 0
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) != ncol:
                raise DataError(
                    f"{where}: line {line} has {len(row)} fields, but the header has {ncol} "
                    f"columns; every line needs one {plan.delimiter!r}-separated value per "
                    "column. Fix that line (a missing value or a stray delimiter?)."
                )
            seen += 1
            if seen <= skip_rows:
                continue
            label = row[li].strip()
            if not label:
                raise DataError(
                    f"{where}: line {line} has an empty label in column "
                    f"{plan.columns[li]!r}; every sample needs a label. Fill it in or drop "
                    "the line."
                )
            labels.append(label)
            rows.append(row[:li] + row[li + 1 :] if li else row[1:])
            lines.append(line)
            if len(rows) >= block_rows:
                yield _convert_text_rows(plan, rows, lines), labels, lines
                labels, rows, lines = [], [], []
        if rows:
            yield _convert_text_rows(plan, rows, lines), labels, lines


def _loadtxt_rows(plan: _CsvPlan, rows: list[list[str]]) -> np.ndarray | None:
    """The rows' values via ``np.loadtxt``, or None when a cell is not a plain number."""
    d = len(plan.feature_names)
    joined = [plan.delimiter.join(row) for row in rows]
    try:
        # digit groups ("1_0") are no CSV number, and loadtxt would skip a blank line and
        # shift the rows: both go to the cell-by-cell check
        if all("_" not in line and line.strip() for line in joined):
            B = np.loadtxt(
                joined,
                delimiter=plan.delimiter,
                dtype=np.float64,
                comments=None,
                ndmin=2,
                quotechar=None,
            )
            if B.size == len(rows) * d:
                return B.reshape(len(rows), d)
    except ValueError:
        pass
    return None


def _not_a_number_error(plan: _CsvPlan, rows: list[list[str]], lines: list[int]) -> DataError:
    """The error naming the first cell of ``rows`` that is not a number."""
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if not _is_number(cell):
                found = "an empty cell" if not cell.strip() else repr(cell[:40])
                return DataError(
                    f"{plan.where}: line {lines[r]}, column {plan.feature_names[c]!r}: "
                    f"expected a number, found {found}. Fix the value, drop the line, or "
                    "choose the right label column with label_column=."
                )
    return DataError(
        f"{plan.where}: lines {lines[0]}-{lines[-1]} could not be parsed as numbers; "
        "expected one number per feature column. Check for quoted or multi-line values."
    )


def _convert_text_rows(plan: _CsvPlan, rows: list[list[str]], lines: list[int]) -> np.ndarray:
    """The feature cells of ``rows`` as a float64 matrix, or :class:`DataError` naming the
    line and column of the first cell that is not a finite number."""
    B = _loadtxt_rows(plan, rows)
    if B is None:
        raise _not_a_number_error(plan, rows, lines)
    bad = ~np.isfinite(B)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{plan.where}: line {lines[r]}, column {plan.feature_names[c]!r} is "
            f"{rows[r][c].strip()!r}; expected a finite number (no NaN or infinity). Remove or "
            "impute the missing values before loading."
        )
    return B


def _csv_read_slow(plan: _CsvPlan, kaggle):
    """Whole-file read with the python reader; returns ``(X, texts, is_kaggle)``.

    Kaggle-layout pixels are scaled by 1/255 unless a value is not a pixel (an error when
    ``kaggle`` is True).
    """
    blocks, texts = [], []
    valid = plan.kaggle_header
    for B, labels, lines in _csv_text_blocks(plan, _SLOW_BLOCK_ROWS):
        if valid and not _kaggle_values_ok(B):
            if kaggle:
                raise _kaggle_violation(plan, B, lines, 0)
            valid = False
        blocks.append(B)
        texts.extend(labels)
    if not blocks:
        raise _header_only(plan)
    X = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    if valid:
        X /= 255.0
    return X, texts, valid
