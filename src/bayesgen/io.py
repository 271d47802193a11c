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

Writers
-------
:func:`write_labelled` writes generated samples in the layout they came from (Kaggle CSV,
generic CSV, NPZ, Parquet, a PNG grid, or a folder of PNG files per class);
:func:`open_chunked_writer` streams many chunks of rows to a CSV, NPZ or Parquet file with
bounded memory.  Every write is atomic: the data go to a temporary file beside the target,
which replaces the target only once it is complete, so a failure never leaves a half-written
file nor clobbers the previous one.

Every problem with the input is reported as :class:`bayesgen.base.errors.DataError` whose message
says what was expected, what was found and how to fix it.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gzip
import io
import json
import math
import os
import re
import secrets
import shutil
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesgen.base.errors import BayesgenError, DataError
from bayesgen.base.threads import lane_budget, run_lanes_over, usable_cores

__all__ = [
    "ChunkedWriter",
    "LabelledData",
    "MissingDependencyError",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "iter_chunks",
    "open_chunked_writer",
    "read_labelled",
    "write_labelled",
]

#: Formats understood by :func:`read_labelled` (values of ``LabelledData.source_format``).
READ_FORMATS = ("kaggle-csv", "csv", "parquet", "npz", "idx", "image-folder")
#: Formats written by :func:`write_labelled`.
WRITE_FORMATS = ("kaggle-csv", "csv", "npz", "parquet", "png", "image-folder")

KAGGLE_URL = "https://www.kaggle.com/c/digit-recognizer"
_KAGGLE_SHAPE = (28, 28)
_KAGGLE_COLUMNS = ["label"] + [f"pixel{i}" for i in range(784)]
_KAGGLE_TEST_COLUMNS = _KAGGLE_COLUMNS[1:]

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
# Deflate cannot compress by more than about 1032:1, so a gzip file of N bytes cannot hold
# more than ~1032 N bytes of data; a header claiming more is refused before allocating.
_MAX_DEFLATE_RATIO = 1100
_READ_SLICE = 1 << 24
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_META_KEYS = ("feature_names", "image_shape", "pixel_scale", "label_column")
_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")
_SLOW_BLOCK_ROWS = 4096

#: Set to False (tests do) to exercise the pure-python CSV code path even if pyarrow exists.
_USE_PYARROW = True


class MissingDependencyError(BayesgenError, ImportError):
    """An optional dependency needed for a file format is not installed."""


@dataclass(frozen=True, eq=False)
class LabelledData:
    """A labelled data set read from (or to be written to) disk.

    Unpacks like a pair: ``X, y = read_labelled(path)``.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
        Feature matrix; image pixels are scaled to [0, 1] when ``pixel_scale`` is set.
    y : ndarray of shape (n_samples,)
        Labels, int64 or unicode strings.
    feature_names : list of str or None
        Column names of the features, when the source has them.
    image_shape : tuple of int or None
        ``(height, width)`` when every row is a flattened grayscale image, e.g. ``(28, 28)``.
    source_format : str
        One of :data:`READ_FORMATS` (``"sklearn"`` for scikit-learn's bundled digits).
    pixel_scale : float or None
        The divisor that mapped raw pixel values to [0, 1] (255.0 for 0-255 pixels), so that
        ``X * pixel_scale`` recovers raw pixel values; None when the values are unscaled.
    label_column : str or None
        Name of the label column in the source, when it has one.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str] | None = None
    image_shape: tuple[int, ...] | None = None
    source_format: str = "csv"
    pixel_scale: float | None = None
    label_column: str | None = None

    def __iter__(self):
        return iter((self.X, self.y))

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    @property
    def classes(self) -> np.ndarray:
        """Sorted distinct labels, shape (n_classes,)."""
        return np.unique(self.y)

    def __repr__(self) -> str:
        shape = f", image_shape={self.image_shape}" if self.image_shape else ""
        scale = f", pixel_scale={self.pixel_scale}" if self.pixel_scale else ""
        return (
            f"LabelledData(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"n_classes={len(self.classes)}, source_format={self.source_format!r}{shape}{scale})"
        )


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _pyarrow_csv():
    """Return ``(pyarrow, pyarrow.csv)`` or None when pyarrow is unavailable or disabled."""
    if not _USE_PYARROW:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    return pa, pacsv


def _require_parquet():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading or writing Parquet files needs the optional dependency pyarrow, which is "
            "not installed. Install it with `pip install bayesgen[parquet]` (or "
            "`pip install pyarrow`), or use CSV/NPZ instead."
        ) from exc
    return pa, pq


def _require_pillow():
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading or writing image files needs the optional dependency Pillow, which is not "
            "installed. Install it with `pip install bayesgen[plot]` (or `pip install pillow`)."
        ) from exc
    return Image, ImageDraw


def _kaggle_hint(path: Path) -> str:
    return (
        f"This is the Kaggle 'Digit Recognizer' layout: download {path.name} from the "
        f"competition page {KAGGLE_URL} (Data tab; needs a Kaggle account that accepted the "
        f"competition rules) and save it as {path}. Without it, "
        "bayesgen.datasets.load_mnist() gives the bundled MNIST test set (10,000 digits)."
    )


def _missing_file_error(path: Path, what: str = "a data file") -> DataError:
    where = path.absolute()
    msg = f"Expected {what} at {where}, but nothing exists there."
    if not where.parent.exists():
        msg += f" (Its directory {where.parent} does not exist either.)"
    name = path.name.lower()
    if name in ("train.csv", "test.csv") or "digit-recognizer" in str(where).lower():
        msg += " " + _kaggle_hint(path)
    elif "ubyte" in name or "mnist" in str(where).lower():
        msg += (
            " Only the MNIST test split is bundled with bayesgen "
            "(bayesgen.datasets.load_mnist(split='test')); for other splits download the IDX "
            "files (e.g. train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz) and pass "
            "their directory."
        )
    else:
        msg += " Check the path (it is relative to the current working directory)."
    return DataError(msg)


def _check_input_file(path: Path, what: str) -> None:
    if not path.exists():
        raise _missing_file_error(path, what)
    if path.is_dir():
        raise DataError(
            f"Expected {what} at {path}, but it is a directory. Pass the path of the file "
            "itself (a directory is only read as an image folder, with one sub-folder per "
            "class)."
        )
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise DataError(
            f"Cannot read {what} {path}: {exc.strerror or exc}. Check that the file is "
            "readable by this user."
        ) from None
    if size == 0:
        raise DataError(
            f"{path} is empty (0 bytes); expected {what}. The file was probably truncated "
            "while downloading or writing; re-create it."
        )


@contextlib.contextmanager
def _reading(path: Path, kind: str):
    """Translate low-level errors raised while reading ``path`` into DataError."""
    try:
        yield
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); expected a {kind} "
            "file. Is it a binary file with the wrong suffix? Re-save the file as UTF-8."
        ) from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise DataError(
            f"{path} is a corrupt or truncated gzip file ({exc}); expected a complete "
            f"gzip-compressed {kind} file. Re-download or re-compress it."
        ) from None
    except csv.Error as exc:
        raise DataError(
            f"{path} is not valid CSV ({exc}); expected comma-separated text with a header "
            "line. Fix the quoting on that line or re-export the file."
        ) from None
    except OSError as exc:
        raise DataError(
            f"Cannot read the {kind} file {path}: {exc.strerror or exc}. Check that it exists "
            "and is readable."
        ) from None


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


class _LabelTexts:
    """The label texts of many rows as their distinct values and one code per row.

    What the pyarrow routes hand on instead of a list of strings: a label column has few
    distinct values, so checking and converting them (:func:`_labels_from_text`) costs
    per distinct value, not per row.  Iterating gives the rows' texts, like a list.
    """

    __slots__ = ("uniques", "codes")

    def __init__(self, uniques: list[str], codes: np.ndarray):
        self.uniques = uniques
        self.codes = codes

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __iter__(self):
        uniques = self.uniques
        return (uniques[c] for c in self.codes.tolist())

    @classmethod
    def concat(cls, parts) -> _LabelTexts:
        """The rows of ``parts`` one after the other."""
        position: dict[str, int] = {}
        codes = []
        for part in parts:
            remap = np.array(
                [position.setdefault(t, len(position)) for t in part.uniques], dtype=np.intp
            )
            codes.append(remap[part.codes])
        joined = np.concatenate(codes) if codes else np.empty(0, dtype=np.intp)
        return cls(list(position), joined)


def _all_integers(texts) -> bool:
    """Every text an integer label (``_INT_RE``)."""
    values = texts.uniques if isinstance(texts, _LabelTexts) else texts
    return all(_INT_RE.fullmatch(t) for t in values)


def _labels_from_text(texts: Sequence[str], label_dtype, where: str) -> np.ndarray:
    """Labels read as text: int64 when every label is an integer, else unicode strings."""
    if isinstance(texts, _LabelTexts):
        return _labels_from_text(texts.uniques, label_dtype, where)[texts.codes]
    kind = _label_kind_option(label_dtype)
    if kind is None:
        kind = "int" if all(_INT_RE.fullmatch(t) for t in texts) else "str"
    if kind == "int":
        for t in texts:
            if not _INT_RE.fullmatch(t):
                raise DataError(
                    f"{where}: label_dtype='int' expects integer labels, but found {t!r}. "
                    "Pass label_dtype='str' to keep labels as text."
                )
        return np.array([int(t) for t in texts], dtype=np.int64)
    return np.array(list(texts), dtype=str)


def _label_kind_option(label_dtype) -> str | None:
    if label_dtype is None or label_dtype == "auto":
        return None
    if label_dtype is int or label_dtype == "int":
        return "int"
    if label_dtype is str or label_dtype == "str":
        return "str"
    raise DataError(
        f"label_dtype must be None, 'int' or 'str'; got {label_dtype!r}. "
        "None infers integers when every label is an integer."
    )


def _labels_from_array(y: np.ndarray, where: str) -> np.ndarray:
    """Typed labels (NPZ, Parquet, writers): int64 or unicode strings."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(
            f"{where}: labels must be one-dimensional (n_samples,); found shape {y.shape}. "
            "Flatten them with y.ravel()."
        )
    kind = y.dtype.kind
    if kind in "iub":
        return y.astype(np.int64, copy=False)
    if kind == "U":
        return y
    if kind == "S":
        try:
            return np.char.decode(y, "utf-8")
        except UnicodeDecodeError:
            raise DataError(
                f"{where}: byte-string labels are not valid UTF-8; expected integers or text. "
                "Decode them before saving."
            ) from None
    if kind == "f":
        if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)):
            bad = y[~(np.isfinite(y) & (y == np.round(y)))][0].item()
            raise DataError(
                f"{where}: labels must be class labels (integers or strings), but found the "
                f"non-integer value {bad!r}. Convert the labels to int or str; bayesgen "
                "classifies, it does not regress."
            )
        return y.astype(np.int64)
    if kind == "O":
        values = y.tolist()
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            return np.array(values, dtype=np.int64)
        if all(isinstance(v, str) for v in values):
            return np.array(values, dtype=str)
        raise DataError(
            f"{where}: labels mix types ({sorted({type(v).__name__ for v in values})}); "
            "expected all integers or all strings. Convert them with np.asarray(y, dtype=str)."
        )
    raise DataError(
        f"{where}: labels of dtype {y.dtype} are not supported; expected integers or strings."
    )


def _as_feature_matrix(X, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """float64 (n, d) matrix; 3-D input (n, h, w) is flattened and its shape returned."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(
            f"{where}: features must be numeric; found dtype {X.dtype}. Convert them to "
            "numbers (and keep the labels in y)."
        )
    shape = None
    if X.ndim == 3:
        shape = (int(X.shape[1]), int(X.shape[2]))
        X = X.reshape(X.shape[0], -1)
    elif X.ndim != 2:
        raise DataError(
            f"{where}: features must be a 2-D array (n_samples, n_features) or 3-D images "
            f"(n_samples, height, width); found shape {X.shape}. Reshape with "
            "X.reshape(len(X), -1)."
        )
    if X.shape[1] == 0:
        raise DataError(f"{where}: the data have no feature columns; expected at least one.")
    return np.asarray(X, dtype=np.float64), shape


def _check_finite(X: np.ndarray, where: str, row_offset: int = 0, names=None) -> None:
    if np.isfinite(X).all():
        return
    r, c = np.argwhere(~np.isfinite(X))[0]
    col = repr(names[c]) if names is not None else str(int(c))
    raise DataError(
        f"{where}: row {row_offset + int(r)} (0-based), column {col} is {X[r, c]!r}; expected "
        "finite numbers (no NaN or infinity). Remove or impute the missing values first."
    )


def _resolve_image_shape(image_shape, d: int, default, where: str):
    shape = default if image_shape is None else image_shape
    if shape is None:
        return None
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise DataError(
            f"image_shape must be a tuple of ints such as (28, 28); got {image_shape!r}."
        ) from None
    if any(s <= 0 for s in shape) or math.prod(shape) != d:
        raise DataError(
            f"{where}: image_shape {shape} holds {math.prod(shape)} pixels, but each row has "
            f"{d} features. Pass an image_shape whose product is {d}, or None."
        )
    return shape


def _check_classes(data: LabelledData, require_classes, where: str) -> None:
    if require_classes is None:
        return
    classes = np.unique(data.y)
    if len(classes) < int(require_classes):
        found = ", ".join(repr(c.item()) for c in classes[:5])
        raise DataError(
            f"{where}: found {len(classes)} distinct label(s) ({found}) but at least "
            f"{int(require_classes)} classes are needed to learn a classifier. Check the label "
            "column (label_column=...) or add samples of the other classes."
        )


def _select_label_column(columns: list[str], label_column, where: str) -> int:
    if label_column is None:
        if "label" in columns:
            if columns.count("label") > 1:
                raise DataError(
                    f"{where}: the header has {columns.count('label')} columns named 'label'; "
                    "expected one. Rename the duplicates or pass label_column=<index>."
                )
            return columns.index("label")
        return 0
    if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        idx = int(label_column)
        if not -len(columns) <= idx < len(columns):
            raise DataError(
                f"{where}: label_column={idx} is out of range; the file has {len(columns)} "
                f"columns (indices 0 to {len(columns) - 1})."
            )
        return idx % len(columns)
    if not isinstance(label_column, str):
        raise DataError(
            f"label_column must be a column name, an integer index or None; got {label_column!r}."
        )
    count = columns.count(label_column)
    if count == 0:
        shown = ", ".join(repr(c) for c in columns[:12])
        more = f", ... ({len(columns)} in all)" if len(columns) > 12 else ""
        raise DataError(
            f"{where}: no label column named {label_column!r}. Available columns: {shown}{more}. "
            "Pass one of those as label_column=, or an integer index."
        )
    if count > 1:
        raise DataError(
            f"{where}: {count} columns are named {label_column!r}; expected one. Rename the "
            "duplicates or pass label_column=<index>."
        )
    return columns.index(label_column)


def _detect_read_format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in READ_FORMATS:
            raise DataError(
                f"Unknown format {format!r}; supported formats are {', '.join(READ_FORMATS)}."
            )
        return format
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".npz"):
        return "npz"
    if re.search(r"idx[0-9]", name) or name.endswith(("-ubyte", "-ubyte.gz", ".idx", ".idx.gz")):
        return "idx"
    if path.is_dir():
        return "image-folder"
    raise DataError(
        f"Cannot tell the format of {path} from its name. Supported inputs: .csv/.tsv (also "
        ".gz), .parquet/.pq, .npz, MNIST IDX files (*-images-idx3-ubyte[.gz]) and a directory "
        "with one sub-folder of images per class. Rename the file or pass format= (one of "
        f"{', '.join(READ_FORMATS)})."
    )


def _default_delimiter(path: Path, delimiter: str | None) -> str:
    if delimiter is not None:
        if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
            raise DataError(f"delimiter must be a single character; got {delimiter!r}.")
        return delimiter
    return "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


class _Fallback(Exception):
    """The pyarrow fast path met something unusual; the exact python reader takes over."""


@dataclass
class _CsvPlan:
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
        return str(self.path)


def _open_text(path: Path, gz: bool):
    binary = gzip.open(path, "rb") if gz else open(path, "rb")
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _is_number(text: str) -> bool:
    if "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_plan(path: Path, label_column, delimiter: str, kaggle) -> _CsvPlan:
    where = str(path)
    gz = _is_gzip(path)
    with _reading(path, "CSV"), _open_text(path, gz) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = None
        for row in reader:
            if row:
                header = row
                break
        line = reader.line_num
    if header is None:
        raise DataError(
            f"{where} contains no lines; expected a header line with the column names (such as "
            "label,pixel0,...) followed by one line per sample."
        )
    columns = [c.strip() for c in header]
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
    return bool(np.all((B >= 0) & (B <= 255) & (B == np.floor(B))))


def _kaggle_violation(plan: _CsvPlan, B: np.ndarray, lines, row_offset: int) -> DataError:
    bad = ~((B >= 0) & (B <= 255) & (B == np.floor(B)))
    r, c = np.argwhere(bad)[0]
    loc = f"line {lines[r]}" if lines is not None else f"data row {row_offset + int(r) + 1}"
    return DataError(
        f"{plan.where}: {loc}, column {plan.feature_names[c]!r} is {B[r, c]!r}, but the Kaggle "
        "Digit Recognizer layout needs integer pixel values 0-255. Pass kaggle=False to read "
        "the file as a plain CSV without scaling, or fix the value."
    )


def _csv_text_blocks(plan: _CsvPlan, block_rows: int, skip_rows: int = 0):
    """Yield ``(X_raw, label_texts, line_numbers)`` blocks parsed by the csv module."""
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


def _convert_text_rows(plan: _CsvPlan, rows: list[list[str]], lines: list[int]) -> np.ndarray:
    d = len(plan.feature_names)
    B = None
    joined = [plan.delimiter.join(row) for row in rows]
    try:
        if all("_" not in line and line.strip() for line in joined):
            B = np.loadtxt(
                joined,
                delimiter=plan.delimiter,
                dtype=np.float64,
                comments=None,
                ndmin=2,
                quotechar=None,
            )
            if B.size != len(rows) * d:
                B = None
            else:
                B = B.reshape(len(rows), d)
    except ValueError:
        B = None
    if B is None:
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                if not _is_number(cell):
                    found = "an empty cell" if not cell.strip() else repr(cell[:40])
                    raise DataError(
                        f"{plan.where}: line {lines[r]}, column {plan.feature_names[c]!r}: "
                        f"expected a number, found {found}. Fix the value, drop the line, or "
                        "choose the right label column with label_column=."
                    )
        raise DataError(
            f"{plan.where}: lines {lines[0]}-{lines[-1]} could not be parsed as numbers; "
            "expected one number per feature column. Check for quoted or multi-line values."
        )
    bad = ~np.isfinite(B)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{plan.where}: line {lines[r]}, column {plan.feature_names[c]!r} is "
            f"{rows[r][c].strip()!r}; expected a finite number (no NaN or infinity). Remove or "
            "impute the missing values before loading."
        )
    return B


#: bytes pyarrow's CSV reader parses per task: its default (1 MiB) spends more time setting
#: up and joining the columns of wide files (Kaggle's 785) than parsing; 4 MiB read the
#: 42,000-row Kaggle file in 0.40 s instead of 0.65 s on 2 cores (benchmarks/README.md)
_ARROW_BLOCK_BYTES = 4 << 20


def _arrow_csv_options(plan: _CsvPlan, ftype, newlines: bool, block_size=None):
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


#: values from which parsed columns are copied out on several threads
_PARALLEL_COPY_MIN = 1 << 20


def _arrow_table_features(table, names, label_idx, dtype, divide_by=None) -> np.ndarray:
    """(n, d) matrix of the non-label columns of a table (all of one type), in ``dtype``;
    with ``divide_by``, divided by it on the way (one pass, no intermediate matrix)."""
    pa, _ = _pyarrow_csv()
    n = table.num_rows
    feature_cols = [nm for i, nm in enumerate(names) if i != label_idx]
    feat = table.select(feature_cols)
    if any(col.null_count for col in feat.columns):
        raise _Fallback
    X = np.empty((n, len(feature_cols)), dtype=dtype)
    if hasattr(pa.RecordBatch, "to_tensor"):  # pyarrow >= 14
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

        # batches on every core: 0.037 s against 0.075 s for the Kaggle file on 2 cores
        big = X.size >= _PARALLEL_COPY_MIN
        run_lanes_over(
            range(len(batches)), lambda: copy_out, min(lane_budget(), len(batches)) if big else 1
        )
        return X
    XT = np.empty((len(feature_cols), n), dtype=dtype)
    for j, col in enumerate(feat.columns):
        off = 0
        for chunk in col.chunks:
            m = len(chunk)
            XT[j, off : off + m] = chunk.to_numpy(zero_copy_only=False)
            off += m
    X[...] = XT.T
    if divide_by is not None:
        X /= divide_by
    return X


def _arrow_labels(table, names, label_idx) -> _LabelTexts:
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


def _csv_read_arrow(plan: _CsvPlan, kaggle):
    """Whole-file read with pyarrow; returns ``(X, texts, is_kaggle)`` or None to fall back."""
    pa, pacsv = _pyarrow_csv()
    if plan.kaggle_header and not plan.gz:
        # A Kaggle file, decimal pixels expected: pyarrow reads the file itself (its reads
        # overlap the parse: 0.29 s against 0.32 s for the 42,000-row file) while every
        # block is scanned; a quote or an 'x' after the header, or a failed parse, and the
        # file is read again below as bytes, where those cases are handled.
        dtype = np.uint8
        table = scanned = None
        try:
            with open(plan.path, "rb") as fh:
                scanned = _ScannedFile(fh)
                table = _arrow_parse(pa.PythonFile(scanned, mode="r"), plan, dtype, False)
        except OSError:
            return None
        except (pa.ArrowException, ValueError, TypeError):
            table = None
        clean = scanned.newline and not (scanned.in_header or scanned.quote or scanned.hex)
        if table is not None and clean:
            return _arrow_result(table, plan, dtype, kaggle)
        # the same bytes, parsed the same way, would fail the same way
        uint8_failed = table is None and clean
        del table
    else:
        uint8_failed = False
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


def _csv_read_slow(plan: _CsvPlan, kaggle):
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


def _header_only(plan: _CsvPlan) -> DataError:
    return DataError(
        f"{plan.where} has a header line ({len(plan.columns)} columns) but no data rows; "
        "expected one line per sample after the header. The file may have been truncated."
    )


def _csv_data(plan: _CsvPlan, X, y, is_kaggle, image_shape) -> LabelledData:
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
    )


def _read_csv(path, *, label_column, delimiter, kaggle, label_dtype, image_shape):
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


#: bytes of whole lines parsed at once by :func:`_csv_block_chunks`
_CSV_BLOCK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"


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
            buf = fh.read(block_bytes)
            while buf.find(b"\n") < 0 and len(buf) < max(8 * block_bytes, 1 << 20):
                more = fh.read(block_bytes)
                if not more:
                    break
                buf += more
            newline, cr = buf.find(b"\n"), buf.find(b"\r")
            if newline < 0 or 0 <= cr < newline - 1:
                raise _Fallback
            carry = buf[newline + 1 :]
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
    texts = _arrow_labels(table, names, plan.label_idx)
    B = _arrow_table_features(table, names, plan.label_idx, np.uint8 if pixels else np.float64)
    if not pixels and not np.isfinite(B).all():
        raise _Fallback
    return B, texts


def _iter_csv(
    path, chunk_rows, *, label_column, delimiter, kaggle, label_dtype, image_shape, raw_pixels=False
):
    """The CSV chunks; with ``raw_pixels``, ``(chunk, divisor)`` pairs (iter_chunks notes)."""
    plan = _csv_plan(path, label_column, delimiter, kaggle)
    state = _CsvChunkState(plan, kaggle, label_dtype, image_shape, raw_pixels=raw_pixels)
    for chunk in _csv_chunks(plan, state, chunk_rows):
        yield (chunk, 255.0 if state.is_kaggle else None) if raw_pixels else chunk


def _csv_chunks(plan: _CsvPlan, state: _CsvChunkState, chunk_rows: int):
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


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------


def _parquet_file(path: Path):
    pa, pq = _require_parquet()
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{path} is not a readable Parquet file ({exc}); expected a Parquet file written by "
            "pyarrow, pandas or bayesgen. Re-export it."
        ) from None


def _parquet_meta(schema) -> dict:
    meta = schema.metadata or {}
    raw = meta.get(b"bayesgen")
    if not raw:
        return {}
    try:
        out = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return out if isinstance(out, dict) else {}


def _parquet_plan(pf, path: Path, label_column):
    schema = pf.schema_arrow
    names = list(schema.names)
    if len(names) < 2:
        raise DataError(
            f"{path} has {len(names)} column(s); expected a label column and at least one "
            "feature column."
        )
    label_idx = _select_label_column(names, label_column, str(path))
    import pyarrow as pa

    for i, field in enumerate(schema):
        if i == label_idx:
            continue
        t = field.type
        if not (
            pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
            or pa.types.is_decimal(t)
        ):
            raise DataError(
                f"{path}: feature column {field.name!r} has type {t}; expected numbers. "
                "Convert it to numbers, drop it, or choose it as label_column=."
            )
    return names, label_idx, _parquet_meta(schema)


def _parquet_table_to_data(table, names, label_idx, meta, path, image_shape, row_offset):
    import pyarrow as pa
    import pyarrow.compute as pc

    where = str(path)
    n = table.num_rows
    feature_names = [nm for i, nm in enumerate(names) if i != label_idx]
    XT = np.empty((len(feature_names), n), dtype=np.float64)
    for j, nm in enumerate(feature_names):
        col = table.column(nm)
        if col.null_count:
            r = pc.index(pc.is_null(col), True).as_py()
            raise DataError(
                f"{where}: row {row_offset + r} (0-based), column {nm!r} is missing (null); "
                "expected a number in every cell. Impute or drop the missing values."
            )
        off = 0
        for chunk in col.chunks:
            m = len(chunk)
            if pa.types.is_decimal(chunk.type):
                chunk = chunk.cast(pa.float64())
            XT[j, off : off + m] = chunk.to_numpy(zero_copy_only=False)
            off += m
    X = np.ascontiguousarray(XT.T)
    _check_finite(X, where, row_offset, feature_names)
    lab = table.column(names[label_idx])
    if lab.null_count:
        r = pc.index(pc.is_null(lab), True).as_py()
        raise DataError(
            f"{where}: row {row_offset + r} (0-based) has no label (null in column "
            f"{names[label_idx]!r}); every sample needs a label."
        )
    if pa.types.is_dictionary(lab.type):
        lab = lab.cast(lab.type.value_type)
    if pa.types.is_string(lab.type) or pa.types.is_large_string(lab.type):
        y = np.array(lab.to_pylist(), dtype=str)
    else:
        y = _labels_from_array(lab.to_numpy(zero_copy_only=False), where)
    d = X.shape[1]
    default = meta.get("image_shape")
    try:
        shape = _resolve_image_shape(image_shape, d, default, where)
    except DataError:
        if image_shape is not None:
            raise
        shape = None
    scale = meta.get("pixel_scale")
    return LabelledData(
        X=X,
        y=y,
        feature_names=feature_names,
        image_shape=shape,
        source_format="parquet",
        pixel_scale=float(scale) if isinstance(scale, (int, float)) else None,
        label_column=names[label_idx],
    )


def _read_parquet(path, *, label_column, image_shape):
    pa, _ = _require_parquet()

    pf = _parquet_file(path)
    names, label_idx, meta = _parquet_plan(pf, path, label_column)
    if pf.metadata.num_rows == 0:
        raise DataError(f"{path} holds no rows; expected at least one labelled sample.")
    try:
        table = pf.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the Parquet data ({exc}); re-export it.") from None
    return _parquet_table_to_data(table, names, label_idx, meta, path, image_shape, 0)


def _iter_parquet(path, chunk_rows, *, label_column, image_shape):
    pa, _ = _require_parquet()

    pf = _parquet_file(path)
    names, label_idx, meta = _parquet_plan(pf, path, label_column)
    if pf.metadata.num_rows == 0:
        raise DataError(f"{path} holds no rows; expected at least one labelled sample.")
    schema = pf.schema_arrow
    pending, pending_rows, offset = [], 0, 0
    batches = pf.iter_batches(batch_size=chunk_rows)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(
                f"{path}: cannot read the Parquet data ({exc}); re-export it."
            ) from None
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= chunk_rows:
            table = pa.Table.from_batches(pending, schema=schema)
            head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
            yield _parquet_table_to_data(head, names, label_idx, meta, path, image_shape, offset)
            offset += chunk_rows
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows:
        table = pa.Table.from_batches(pending, schema=schema)
        yield _parquet_table_to_data(table, names, label_idx, meta, path, image_shape, offset)


# --------------------------------------------------------------------------------------------
# NPZ
# --------------------------------------------------------------------------------------------


def _npz_to_data(X, y, meta, path, image_shape, row_offset=0) -> LabelledData:
    where = str(path)
    X, shape3 = _as_feature_matrix(X, where)
    y = _labels_from_array(y, where)
    if len(y) != X.shape[0]:
        raise DataError(
            f"{where}: X has {X.shape[0]} rows but y has {len(y)} labels; expected one label "
            "per row. Re-save matching arrays."
        )
    if X.shape[0] == 0 and row_offset == 0:
        raise DataError(f"{where} holds no rows; expected at least one labelled sample.")
    d = X.shape[1]
    names = None
    fn = meta.get("feature_names")
    if fn is not None and fn.ndim == 1 and fn.dtype.kind == "U" and len(fn) == d:
        names = [str(s) for s in fn]
    _check_finite(X, where, row_offset, names)
    default = shape3
    if default is None and meta.get("image_shape") is not None:
        s = meta["image_shape"]
        if s.ndim == 1 and s.dtype.kind in "iu" and s.size and int(np.prod(s)) == d:
            default = tuple(int(v) for v in s)
    scale = meta.get("pixel_scale")
    scale = (
        float(scale)
        if scale is not None and scale.shape == () and scale.dtype.kind == "f"
        else None
    )
    label = meta.get("label_column")
    label = (
        str(label) if label is not None and label.shape == () and label.dtype.kind == "U" else None
    )
    return LabelledData(
        X=X,
        y=y,
        feature_names=names,
        image_shape=_resolve_image_shape(image_shape, d, default, where),
        source_format="npz",
        pixel_scale=scale if scale is not None and np.isfinite(scale) else None,
        label_column=label,
    )


_NPZ_ERRORS = (
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    KeyError,
    struct.error,
    NotImplementedError,
)


def _npz_error(path, exc) -> DataError:
    text = str(exc)
    if "pickle" in text.lower() or "object arrays" in text.lower():
        return DataError(
            f"{path} contains object arrays, which are stored as pickles; bayesgen never loads "
            "pickles (they can run arbitrary code). Re-save X as a numeric array and y as "
            "integers or strings (np.asarray(y, dtype=str))."
        )
    return DataError(
        f"{path} is not a readable NPZ file ({type(exc).__name__}: {text}); expected an archive "
        "written by numpy.savez with arrays 'X' and 'y'. Re-create it."
    )


def _npz_members(path, keys) -> None:
    missing = [k for k in ("X", "y") if k not in keys]
    if missing:
        raise DataError(
            f"{path} has arrays {sorted(keys)}, but arrays named 'X' (features) and 'y' (labels) "
            f"are expected; missing {missing}. Save with numpy.savez(path, X=X, y=y)."
        )


def _check_npz_claims(path) -> None:
    """Refuse NPZ files that are not zip archives, and members whose .npy header claims more
    data than the member can hold, before numpy allocates the claimed array."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(
            f"{path} holds a single array (.npy format), not an NPZ archive; expected arrays "
            "'X' and 'y'. Save with numpy.savez(path, X=X, y=y)."
        )
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise DataError(
            f"{path} is not a readable NPZ file (it does not start like a zip archive); "
            "expected an archive written by numpy.savez with arrays 'X' and 'y'. Re-create it."
        )
    try:
        with zipfile.ZipFile(path) as zf:
            for key in ("X", "y"):
                name = f"{key}.npy"
                if name not in zf.namelist():
                    continue
                info = zf.getinfo(name)
                _check_member_size(path, info)
                with zf.open(name) as fh:
                    _npy_stream_header(fh, path, key, info.file_size)
    except DataError:
        raise
    except _NPZ_ERRORS as exc:
        raise _npz_error(path, exc) from None


def _check_member_size(path, info) -> None:
    ratio = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: _MAX_DEFLATE_RATIO}.get(
        info.compress_type
    )
    if ratio is not None and info.file_size > max(info.compress_size, 1) * ratio + 1024:
        raise DataError(
            f"{path}: the member {info.filename!r} claims {info.file_size} bytes but stores "
            f"only {info.compress_size}; the archive is corrupt. Re-create it."
        )


def _read_npz(path, *, image_shape):
    _check_npz_claims(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise _npz_error(path, exc) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(
            f"{path} holds a single array (.npy format), not an NPZ archive; expected arrays "
            "'X' and 'y'. Save with numpy.savez(path, X=X, y=y)."
        )
    with npz:
        _npz_members(path, npz.files)
        try:
            X = npz["X"]
            y = npz["y"]
            meta = {k: npz[k] for k in _META_KEYS if k in npz.files}
        except _NPZ_ERRORS as exc:
            raise _npz_error(path, exc) from None
    return _npz_to_data(X, y, meta, path, image_shape)


def _npy_stream_header(fh, path, name, file_size):
    """Read a .npy header from an open zip member; return (dtype, shape) for C-order data
    that can be streamed, or None when the array must be loaded whole."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        return None
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    if fortran or len(shape) == 0:
        return None
    need = math.prod(shape) * dtype.itemsize
    if need > file_size:
        raise DataError(
            f"{path}: array {name!r} claims shape {shape} ({need} bytes) but its member holds "
            f"only {file_size} bytes; the file is truncated or corrupt. Re-create it."
        )
    return dtype, shape


def _iter_npz(path, chunk_rows, *, image_shape):
    _check_npz_claims(path)
    try:
        zf = zipfile.ZipFile(path)
    except _NPZ_ERRORS as exc:
        raise _npz_error(path, exc) from None
    with zf:
        keys = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
        _npz_members(path, keys)
        try:
            meta = {}
            for k in _META_KEYS:
                if k in keys:
                    with zf.open(keys[k]) as fh:
                        meta[k] = np.lib.format.read_array(fh, allow_pickle=False)
            fx = zf.open(keys["X"])
            fy = zf.open(keys["y"])
        except _NPZ_ERRORS as exc:
            raise _npz_error(path, exc) from None
        with fx, fy:
            try:
                hx = _npy_stream_header(fx, path, "X", zf.getinfo(keys["X"]).file_size)
                hy = _npy_stream_header(fy, path, "y", zf.getinfo(keys["y"]).file_size)
            except DataError:
                raise
            except _NPZ_ERRORS as exc:
                raise _npz_error(path, exc) from None
            if hx is None or hy is None or len(hy[1]) != 1 or hx[1][0] != hy[1][0]:
                # Unusual layout: load whole and slice (still exactly read_labelled's result).
                data = _read_npz(path, image_shape=image_shape)
                for start in range(0, data.n_samples, chunk_rows):
                    stop = start + chunk_rows
                    yield _replace(data, X=data.X[start:stop], y=data.y[start:stop])
                return
            (dx, sx), (dy, _) = hx, hy
            n = sx[0]
            if n == 0:
                raise DataError(f"{path} holds no rows; expected at least one labelled sample.")
            row_x = math.prod(sx[1:]) * dx.itemsize
            for start in range(0, n, chunk_rows):
                k = min(chunk_rows, n - start)
                try:
                    bx = fx.read(k * row_x)
                    by = fy.read(k * dy.itemsize)
                except _NPZ_ERRORS as exc:
                    raise _npz_error(path, exc) from None
                if len(bx) != k * row_x or len(by) != k * dy.itemsize:
                    raise DataError(f"{path}: the archive is truncated; re-create it.")
                X = np.frombuffer(bx, dtype=dx).reshape((k,) + tuple(sx[1:]))
                y = np.frombuffer(by, dtype=dy)
                X = np.array(X, dtype=np.float64) if X.dtype.kind in "biuf" else X
                yield _npz_to_data(X, y.copy(), meta, path, image_shape, start)


def _replace(data: LabelledData, **changes) -> LabelledData:
    return dataclasses.replace(data, **changes)


# --------------------------------------------------------------------------------------------
# MNIST IDX
# --------------------------------------------------------------------------------------------


class _IdxReader:
    """Validated sequential reader of one IDX file (gzip-compressed or raw)."""

    def __init__(self, path: Path, magic: int):
        self.path = path
        self.kind = "images" if magic == _IDX_IMAGES_MAGIC else "labels"
        self._raw = open(path, "rb")
        try:
            self._setup(magic)
        except BaseException:
            self.close()
            raise

    def _setup(self, magic):
        path, raw = self.path, self._raw
        size = os.fstat(raw.fileno()).st_size
        gz = raw.read(2) == b"\x1f\x8b"
        isize = None
        if gz and size >= 18:
            raw.seek(-4, os.SEEK_END)
            isize = struct.unpack("<I", raw.read(4))[0]
        raw.seek(0)
        self._fh = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        head = self._read_exact(4, "the 4-byte magic number")
        found = int.from_bytes(head, "big")
        ndim = 3 if magic == _IDX_IMAGES_MAGIC else 1
        if found != magic:
            other = {
                _IDX_IMAGES_MAGIC: " (that is an IDX images file)",
                _IDX_LABELS_MAGIC: " (that is an IDX labels file)",
            }.get(found, "")
            raise DataError(
                f"{path}: expected the IDX {self.kind} magic number {magic} "
                f"(0x{magic:08x}: unsigned bytes, {ndim} dimension(s)) but found {found} "
                f"(0x{found:08x}){other}. The file is not an MNIST {self.kind} file or is "
                "corrupt; check which file you passed, or re-download it."
            )
        dims = struct.unpack(f">{ndim}I", self._read_exact(4 * ndim, "the dimension sizes"))
        self.count = dims[0]
        self.item_shape = tuple(dims[1:])
        self.item_size = math.prod(self.item_shape)
        claimed = self.count * self.item_size
        header = 4 + 4 * ndim
        desc = (
            f"{self.count} images of {dims[1]}x{dims[2]} pixels"
            if ndim == 3
            else f"{self.count} labels"
        )
        if self.count == 0 or self.item_size == 0:
            raise DataError(
                f"{path}: the IDX header declares {desc}; expected at least one non-empty "
                "item. The file is empty or corrupt."
            )
        if gz:
            if claimed > max(size, 1) * _MAX_DEFLATE_RATIO:
                raise DataError(
                    f"{path}: the IDX header declares {desc} ({claimed} bytes), more than a "
                    f"{size}-byte gzip file can hold; the header is corrupt. Re-download it."
                )
            if isize is not None and (header + claimed) % 2**32 != isize:
                raise DataError(
                    f"{path}: the IDX header declares {desc} ({header + claimed} bytes with "
                    f"the header), but the gzip trailer says the file decompresses to {isize} "
                    "bytes; the file is truncated or corrupt. Re-download it."
                )
        else:
            avail = size - header
            if claimed > avail:
                raise DataError(
                    f"{path}: the IDX header declares {desc} ({claimed} bytes) but only "
                    f"{avail} bytes of data follow; the file is truncated or its header is "
                    "corrupt. Re-download it."
                )
            if claimed < avail:
                raise DataError(
                    f"{path}: the IDX header declares {desc} ({claimed} bytes) but "
                    f"{avail - claimed} unexpected bytes follow the data; the file is corrupt "
                    "or not an IDX file. Re-download it."
                )
        self.remaining = self.count

    def _read_exact(self, n: int, what: str) -> bytes:
        data = self._fh.read(n)
        if len(data) != n:
            raise DataError(
                f"{self.path} ends before {what} of its IDX header ({len(data)} of {n} bytes); "
                "the file is truncated or not an IDX file. Re-download it."
            )
        return data

    def read(self, k: int) -> np.ndarray:
        """Read the next ``k`` items as a uint8 array of shape (k, item_size)."""
        k = min(k, self.remaining)
        buf = np.empty(k * self.item_size, dtype=np.uint8)
        view = memoryview(buf)
        pos = 0
        while pos < len(buf):
            got = self._fh.readinto(view[pos : pos + _READ_SLICE])
            if not got:
                raise DataError(
                    f"{self.path} is truncated: its header declares {self.count} {self.kind} "
                    f"but the data stop after byte {pos} of item "
                    f"{self.count - self.remaining + pos // self.item_size}. Re-download it."
                )
            pos += got
        self.remaining -= k
        return buf.reshape(k, self.item_size)

    def check_end(self) -> None:
        if self._fh.read(1):
            raise DataError(
                f"{self.path}: unexpected bytes after the {self.count} {self.kind} its header "
                "declares; the file is corrupt or not an IDX file. Re-download it."
            )

    def close(self) -> None:
        fh = getattr(self, "_fh", None)
        if fh is not None and fh is not self._raw:
            fh.close()
        self._raw.close()


def _idx_partner(path: Path, want: str) -> list[Path]:
    """Candidate paths of the labels file for an images file (or the reverse)."""
    name = path.name
    if want == "labels":
        new = name.replace("images", "labels").replace("idx3", "idx1")
    else:
        new = name.replace("labels", "images").replace("idx1", "idx3")
    if new == name:
        return []
    base = new[:-3] if new.endswith(".gz") else new
    return [path.with_name(base + ".gz"), path.with_name(base)]


def _idx_magic(path: Path) -> int | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            src = gzip.GzipFile(fileobj=fh, mode="rb") if head == b"\x1f\x8b" else fh
            data = src.read(4)
    except (OSError, EOFError, zlib.error):
        return None
    return int.from_bytes(data, "big") if len(data) == 4 else None


def _idx_pair(path: Path, labels_path) -> tuple[Path, Path]:
    if labels_path is not None:
        labels_path = Path(labels_path)
        _check_input_file(labels_path, "an MNIST IDX labels file")
        return path, labels_path
    images = path
    if "labels" in path.name or _idx_magic(path) == _IDX_LABELS_MAGIC:
        cands = _idx_partner(path, "images")
        found = [c for c in cands if c.is_file()]
        if not found:
            raise DataError(
                f"{path} is an IDX labels file; expected the images file next to it "
                f"({', '.join(c.name for c in cands) or 'no name could be derived'}) in "
                f"{path.parent}. Pass the images file as path and this file as labels_path=."
            )
        return found[0], path
    cands = _idx_partner(images, "labels")
    found = [c for c in cands if c.is_file()]
    if not found:
        tried = ", ".join(str(c) for c in cands) or "(no name could be derived from the file name)"
        raise DataError(
            f"No labels file found for the IDX images file {images}; looked for {tried}. "
            "MNIST ships images and labels as separate files (e.g. t10k-images-idx3-ubyte.gz "
            "and t10k-labels-idx1-ubyte.gz); put both in one directory or pass labels_path=."
        )
    return images, found[0]


def _idx_chunks(images: Path, labels: Path, chunk_rows: int, image_shape, whole: bool):
    with _reading(images, "IDX"):
        ri = _IdxReader(images, _IDX_IMAGES_MAGIC)
        try:
            with _reading(labels, "IDX"):
                rl = _IdxReader(labels, _IDX_LABELS_MAGIC)
            try:
                if ri.count != rl.count:
                    raise DataError(
                        f"{images} holds {ri.count} images but {labels} holds {rl.count} "
                        "labels; expected one label per image. Check that the two files belong "
                        "together (train with train, t10k with t10k)."
                    )
                shape = _resolve_image_shape(image_shape, ri.item_size, ri.item_shape, str(images))
                step = ri.count if whole else chunk_rows
                while ri.remaining:
                    with _reading(images, "IDX"):
                        pix = ri.read(step)
                        if not ri.remaining:
                            ri.check_end()
                    with _reading(labels, "IDX"):
                        lab = rl.read(step)
                        if not rl.remaining:
                            rl.check_end()
                    X = np.divide(pix, 255.0, dtype=np.float64)
                    yield LabelledData(
                        X=X,
                        y=lab.reshape(-1).astype(np.int64),
                        feature_names=None,
                        image_shape=shape,
                        source_format="idx",
                        pixel_scale=255.0,
                        label_column=None,
                    )
            finally:
                rl.close()
        finally:
            ri.close()


# --------------------------------------------------------------------------------------------
# image folder
# --------------------------------------------------------------------------------------------


def _natural_key(p: Path):
    stem = p.stem
    return (0, int(stem), p.name) if stem.isdigit() else (1, 0, p.name)


def _image_folder_listing(path: Path):
    try:
        subdirs = sorted(
            (p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise DataError(f"Cannot list the directory {path}: {exc.strerror or exc}.") from None
    files, classes = [], []
    for sub in subdirs:
        imgs = sorted(
            (
                f
                for f in sub.iterdir()
                if f.is_file()
                and not f.name.startswith(".")
                and f.suffix.lower() in _IMAGE_SUFFIXES
            ),
            key=_natural_key,
        )
        if imgs:
            classes.append(sub.name)
            files.extend((f, sub.name) for f in imgs)
    if not files:
        loose = [f.name for f in path.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES]
        extra = f" It has {len(loose)} image file(s) at the top level." if loose else ""
        raise DataError(
            f"{path} holds no images in class sub-folders; expected one sub-folder per class "
            f"(named after the label) containing PNG or JPEG files, e.g. {path}/3/0.png.{extra}"
        )
    return files


def _image_folder_chunks(path: Path, chunk_rows: int, image_shape, label_dtype, whole: bool):
    Image, _ = _require_pillow()
    files = _image_folder_listing(path)
    y_all = _labels_from_text([c for _, c in files], label_dtype, str(path))
    size = None
    step = len(files) if whole else chunk_rows
    shape = None
    for start in range(0, len(files), step):
        part = files[start : start + step]
        block = None
        for i, (f, _) in enumerate(part):
            try:
                with Image.open(f) as im:
                    arr = np.asarray(im.convert("L"), dtype=np.uint8)
            except Exception as exc:  # Pillow raises many types for broken files
                raise DataError(
                    f"Cannot read the image {f} ({type(exc).__name__}: {exc}); expected a PNG "
                    "or JPEG file. Delete or re-create it."
                ) from None
            if size is None:
                size = arr.shape
                shape = _resolve_image_shape(image_shape, arr.size, size, str(path))
            elif arr.shape != size:
                raise DataError(
                    f"{f} is {arr.shape[1]}x{arr.shape[0]} pixels, but the first image "
                    f"{files[0][0]} is {size[1]}x{size[0]}; all images must share one size. "
                    "Resize them first."
                )
            if block is None:
                block = np.empty((len(part), arr.size), dtype=np.uint8)
            block[i] = arr.reshape(-1)
        yield LabelledData(
            X=np.divide(block, 255.0, dtype=np.float64),
            y=y_all[start : start + step],
            feature_names=None,
            image_shape=shape,
            source_format="image-folder",
            pixel_scale=255.0,
            label_column=None,
        )


# --------------------------------------------------------------------------------------------
# public readers
# --------------------------------------------------------------------------------------------


def _single(gen):
    with contextlib.closing(gen):
        return next(gen)


def _prepare_read(path, format, what="a data file"):
    path = Path(os.fspath(path))
    if format is None and not path.exists():
        raise _missing_file_error(path, what)
    fmt = _detect_read_format(path, format)
    if fmt == "image-folder":
        if not path.is_dir():
            if not path.exists():
                raise _missing_file_error(path, "an image folder")
            raise DataError(
                f"{path} is a file; the image-folder format expects a directory with one "
                "sub-folder per class."
            )
    else:
        _check_input_file(path, f"a {fmt} file")
    return path, fmt


def read_labelled(
    path,
    *,
    label_column=None,
    image_shape=None,
    format=None,
    labels_path=None,
    delimiter=None,
    kaggle=None,
    label_dtype=None,
    require_classes=None,
) -> LabelledData:
    """Read a labelled data set from a file or an image folder.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv``/``.tsv`` (optionally ``.gz``), ``.parquet``/``.pq`` or ``.npz`` file, an MNIST
        IDX images file (``*-images-idx3-ubyte[.gz]``; its labels file is found beside it), or a
        directory with one sub-folder of images per class.
    label_column : str, int or None, default=None
        CSV/Parquet: name or index of the label column. None uses a column named ``label``,
        else the first column.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` to record for the rows (checked against the number of features);
        None keeps what the source tells (28x28 for Kaggle and MNIST files).
    format : str or None, default=None
        Force a format (one of :data:`READ_FORMATS`) instead of guessing from the name.
    labels_path : str or os.PathLike or None, default=None
        IDX only: the labels file, when it cannot be found from the images file's name.
    delimiter : str or None, default=None
        CSV only: field separator (default ``,``; tab for ``.tsv``).
    kaggle : bool or None, default=None
        CSV only: None detects the Kaggle Digit Recognizer layout (header ``label,pixel0..
        pixel783`` and integer pixels 0-255) and scales its pixels to [0, 1]; True insists on
        that treatment (pixels must be integers 0-255); False reads the values unscaled.
    label_dtype : {None, 'int', 'str'}, default=None
        CSV and image folders: None gives int64 labels when every label is an integer, else
        strings.
    require_classes : int or None, default=None
        If set, raise :class:`DataError` when fewer distinct labels are found.

    Returns
    -------
    LabelledData
        ``X`` (n_samples, n_features) float64 and ``y`` (n_samples,) with metadata.

    Raises
    ------
    DataError
        The file is missing, unreadable or malformed; the message says what to fix.
    MissingDependencyError
        Parquet without pyarrow, or images without Pillow.
    """
    path, fmt = _prepare_read(path, format)
    if fmt in ("csv", "kaggle-csv"):
        data = _read_csv(
            path,
            label_column=label_column,
            delimiter=_default_delimiter(path, delimiter),
            kaggle=True if fmt == "kaggle-csv" and kaggle is None else kaggle,
            label_dtype=label_dtype,
            image_shape=image_shape,
        )
    elif fmt == "parquet":
        data = _read_parquet(path, label_column=label_column, image_shape=image_shape)
    elif fmt == "npz":
        data = _read_npz(path, image_shape=image_shape)
    elif fmt == "idx":
        images, labels = _idx_pair(path, labels_path)
        data = _single(_idx_chunks(images, labels, 0, image_shape, whole=True))
    else:
        data = _single(_image_folder_chunks(path, 0, image_shape, label_dtype, whole=True))
    _check_classes(data, require_classes, str(path))
    return data


def iter_chunks(
    path,
    chunk_rows: int = 10_000,
    *,
    label_column=None,
    image_shape=None,
    format=None,
    labels_path=None,
    delimiter=None,
    kaggle=None,
    label_dtype=None,
    _raw_pixels=False,
) -> Iterator[LabelledData]:
    """Read a labelled data set in chunks of at most ``chunk_rows`` rows.

    Memory stays bounded by the chunk size (CSV via pyarrow's streaming reader or a pure
    python reader, Parquet by row batches, IDX and NPZ straight from the compressed stream),
    so a file larger than memory can be fed to ``partial_fit``.  The chunks concatenated equal
    :func:`read_labelled`'s result exactly.

    Parameters
    ----------
    path : str or os.PathLike
        As for :func:`read_labelled`.
    chunk_rows : int, default=10000
        Rows per chunk (the last chunk may be shorter).
    label_column, image_shape, format, labels_path, delimiter, kaggle, label_dtype
        As for :func:`read_labelled`.  For CSV, the Kaggle scaling and the label type are
        decided on the first chunk; a later chunk that contradicts them raises
        :class:`DataError` (pass ``kaggle=False`` or ``label_dtype='str'``).

    Returns
    -------
    iterator of LabelledData
        The chunks, each with ``X`` of shape (chunk_rows, n_features).  A missing file or a
        bad argument raises at the call; problems inside the file raise while iterating.

    Notes
    -----
    ``_raw_pixels=True`` (for :func:`bayesgen.streaming.fit_file`) yields ``(chunk,
    divisor)`` pairs instead: a Kaggle-layout CSV's pixels come as read (uint8 where every
    value parsed as one, else exact integers in float64) with ``divisor=255.0``, what the
    chunk would otherwise have been divided by; any other file gives ``divisor=None`` and
    the usual chunk.  Statistics of raw pixels rescale exactly, and a uint8 chunk is an
    eighth of the memory traffic of its float64 copy.
    """
    if (
        not isinstance(chunk_rows, (int, np.integer))
        or isinstance(chunk_rows, bool)
        or chunk_rows < 1
    ):
        raise DataError(f"chunk_rows must be a positive integer; got {chunk_rows!r}.")
    chunk_rows = int(chunk_rows)
    path, fmt = _prepare_read(path, format)
    if fmt == "parquet":
        _require_parquet()
    chunks = _iter_chunks(
        path,
        fmt,
        chunk_rows,
        label_column=label_column,
        image_shape=image_shape,
        labels_path=labels_path,
        delimiter=delimiter,
        kaggle=kaggle,
        label_dtype=label_dtype,
        raw_pixels=_raw_pixels,
    )
    if _raw_pixels and fmt not in ("csv", "kaggle-csv"):
        return ((chunk, None) for chunk in chunks)
    return chunks


def _iter_chunks(
    path,
    fmt,
    chunk_rows,
    *,
    label_column,
    image_shape,
    labels_path,
    delimiter,
    kaggle,
    label_dtype,
    raw_pixels=False,
):
    if fmt in ("csv", "kaggle-csv"):
        yield from _iter_csv(
            path,
            chunk_rows,
            label_column=label_column,
            delimiter=_default_delimiter(path, delimiter),
            kaggle=True if fmt == "kaggle-csv" and kaggle is None else kaggle,
            label_dtype=label_dtype,
            image_shape=image_shape,
            raw_pixels=raw_pixels,
        )
    elif fmt == "parquet":
        yield from _iter_parquet(
            path, chunk_rows, label_column=label_column, image_shape=image_shape
        )
    elif fmt == "npz":
        yield from _iter_npz(path, chunk_rows, image_shape=image_shape)
    elif fmt == "idx":
        images, labels = _idx_pair(path, labels_path)
        yield from _idx_chunks(images, labels, chunk_rows, image_shape, whole=False)
    else:
        yield from _image_folder_chunks(path, chunk_rows, image_shape, label_dtype, whole=False)


# --------------------------------------------------------------------------------------------
# atomic writing helpers
# --------------------------------------------------------------------------------------------


def _check_output_path(path: Path, directory_ok: bool = False) -> None:
    parent = path.absolute().parent
    if not parent.is_dir():
        raise DataError(
            f"Cannot write {path}: the directory {parent} does not exist. Create it first "
            "(bayesgen does not create directories for output files)."
        )
    if path.is_dir() and not directory_ok:
        raise DataError(
            f"Cannot write {path}: a directory of that name exists. Choose a file name (with "
            "a suffix such as .csv) or remove the directory."
        )


def _temp_sibling(path: Path, directory: bool = False) -> Path:
    """Create an empty temporary file (or directory) next to ``path``; mode honours umask."""
    path = path.absolute()
    for _ in range(100):
        cand = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            if directory:
                os.mkdir(cand, 0o777)
            else:
                os.close(os.open(cand, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise DataError(
                f"Cannot create a temporary file in {path.parent} to write {path.name}: "
                f"{exc.strerror or exc}. Check that the directory is writable."
            ) from None
        return cand
    raise DataError(f"Cannot create a temporary file next to {path}.")  # pragma: no cover


def _remove(p: Path | None) -> None:
    if p is None:
        return
    with contextlib.suppress(OSError):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


# --------------------------------------------------------------------------------------------
# write formats
# --------------------------------------------------------------------------------------------


def _like_format(like) -> str | None:
    if like is None:
        return None
    if isinstance(like, str):
        return like
    return getattr(like, "source_format", None)


def _resolve_write_format(path: Path, format, like) -> str:
    if format is not None:
        if format not in WRITE_FORMATS:
            raise DataError(
                f"Unknown output format {format!r}; supported: {', '.join(WRITE_FORMATS)}."
            )
        return format
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "kaggle-csv" if _like_format(like) == "kaggle-csv" else "csv"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".png"):
        return "png"
    if path.is_dir() or not path.suffix:
        return "image-folder"
    raise DataError(
        f"Cannot tell the output format of {path} from its name. Use .csv/.tsv (optionally "
        ".gz), .npz, .parquet, .png (a grid image), or a directory name without suffix (one "
        f"PNG per sample in class sub-folders); or pass format= (one of "
        f"{', '.join(WRITE_FORMATS)})."
    )


def _write_labels(y, n: int, where: str) -> np.ndarray:
    y = _labels_from_array(np.asarray(y), where)
    if len(y) != n:
        raise DataError(
            f"{where}: X has {n} rows but y has {len(y)} labels; expected one label per row."
        )
    return y


@dataclass
class _WriteOptions:
    fmt: str
    image_shape: tuple | None
    pixel_scale: float | None
    label_column: str
    feature_names: list[str] | None
    delimiter: str
    explicit_names: bool = False


def _write_options(path, fmt, like, image_shape, pixel_scale, label_column, feature_names):
    like_obj = like if isinstance(like, LabelledData) else None
    if image_shape is None and like_obj is not None:
        image_shape = like_obj.image_shape
    if pixel_scale is None and like_obj is not None:
        pixel_scale = like_obj.pixel_scale
    if fmt == "kaggle-csv" and pixel_scale is None:
        pixel_scale = 255.0
    if label_column is None:
        label_column = (like_obj.label_column if like_obj is not None else None) or "label"
    if not isinstance(label_column, str) or not label_column:
        raise DataError(f"label_column must be a non-empty string; got {label_column!r}.")
    if feature_names is None and like_obj is not None:
        feature_names = like_obj.feature_names
        explicit = False
    else:
        explicit = feature_names is not None
    name = path.name.lower()
    delimiter = "\t" if name.endswith((".tsv", ".tsv.gz")) else ","
    opts = _WriteOptions(
        fmt=fmt,
        image_shape=tuple(int(s) for s in image_shape) if image_shape is not None else None,
        pixel_scale=float(pixel_scale) if pixel_scale is not None else None,
        label_column=label_column,
        feature_names=list(feature_names) if feature_names is not None else None,
        delimiter=delimiter,
        explicit_names=explicit,
    )
    return opts


def _feature_names_for(opts: _WriteOptions, d: int, where: str) -> list[str]:
    names = opts.feature_names
    if names is not None and len(names) != d:
        if opts.explicit_names:
            raise DataError(
                f"{where}: {len(names)} feature_names given for {d} features; pass one name "
                "per column."
            )
        names = None
    if names is None:
        names = [f"x{j}" for j in range(d)]
    names = [str(s) for s in names]
    if len(set(names)) != d or opts.label_column in names:
        raise DataError(
            f"{where}: column names must be unique and differ from the label column "
            f"{opts.label_column!r}; pass distinct feature_names."
        )
    return names


def _to_uint8_pixels(X: np.ndarray, scale: float | None) -> np.ndarray:
    """Raw 0-255 integers for image/Kaggle output (round and clip)."""
    if scale is not None:
        v = X * scale
    else:
        lo, hi = float(X.min()), float(X.max())
        if lo >= 0.0 and hi <= 1.0:
            v = X * 255.0
        else:
            v = (X - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(X)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


class _CsvSink:
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
            buf = io.StringIO()
            csv.writer(buf, delimiter=opts.delimiter, lineterminator="\n").writerow(cols)
            self.fh.write(buf.getvalue().encode("utf-8"))
            self.header_done = True
        values = _to_uint8_pixels(X, opts.pixel_scale) if kaggle else X
        self.fh.write(_format_csv_rows(values, y, opts.delimiter))

    def finish(self):
        self.fh.close()
        self._raw.close()

    def discard(self):
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


class _NpzSink:
    """Chunks go to temporary .npy parts; ``finish`` assembles the final archive."""

    def __init__(self, tmp: Path, final: Path, opts: _WriteOptions):
        self.tmp, self.final, self.opts = tmp, final, opts
        self.parts = _temp_sibling(final, directory=True)
        self.x_parts: list[Path] = []
        self.y_parts: list[Path] = []
        self.rows = 0
        self.d = None
        self.names = None
        self.y_dtype = None

    def write(self, X, y, names):
        i = len(self.x_parts)
        px, py = self.parts / f"X{i}.npy", self.parts / f"y{i}.npy"
        np.save(px, np.ascontiguousarray(X), allow_pickle=False)
        np.save(py, y, allow_pickle=False)
        self.x_parts.append(px)
        self.y_parts.append(py)
        self.rows += X.shape[0]
        self.d = X.shape[1]
        self.names = names
        self.y_dtype = y.dtype if self.y_dtype is None else np.promote_types(self.y_dtype, y.dtype)

    def finish(self):
        try:
            with zipfile.ZipFile(
                self.tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True
            ) as zf:
                self._member(zf, "X", np.dtype(np.float64), (self.rows, self.d), self.x_parts)
                self._member(zf, "y", self.y_dtype, (self.rows,), self.y_parts)
                meta = {"label_column": np.array(self.opts.label_column)}
                if self.names is not None and self.opts.feature_names is not None:
                    meta["feature_names"] = np.array(self.names, dtype=str)
                if self.opts.image_shape is not None:
                    meta["image_shape"] = np.array(self.opts.image_shape, dtype=np.int64)
                if self.opts.pixel_scale is not None:
                    meta["pixel_scale"] = np.array(self.opts.pixel_scale, dtype=np.float64)
                for key, arr in meta.items():
                    with zf.open(f"{key}.npy", "w") as fh:
                        np.lib.format.write_array(fh, arr, allow_pickle=False)
        finally:
            _remove(self.parts)

    @staticmethod
    def _member(zf, key, dtype, shape, parts):
        with zf.open(f"{key}.npy", "w", force_zip64=True) as fh:
            header = {
                "descr": np.lib.format.dtype_to_descr(dtype),
                "fortran_order": False,
                "shape": shape,
            }
            np.lib.format.write_array_header_2_0(fh, header)
            for p in parts:
                arr = np.load(p, allow_pickle=False).astype(dtype, copy=False)
                fh.write(np.ascontiguousarray(arr).data)

    def discard(self):
        _remove(self.parts)


class _ParquetSink:
    def __init__(self, tmp: Path, final: Path, opts: _WriteOptions):
        self.pa, self.pq = _require_parquet()
        self.tmp, self.final, self.opts = tmp, final, opts
        self.writer = None
        self.schema = None

    def write(self, X, y, names):
        pa = self.pa
        if self.writer is None:
            meta = {"label_column": self.opts.label_column}
            if self.opts.image_shape is not None:
                meta["image_shape"] = list(self.opts.image_shape)
            if self.opts.pixel_scale is not None:
                meta["pixel_scale"] = self.opts.pixel_scale
            label_type = pa.string() if y.dtype.kind == "U" else pa.int64()
            fields = [pa.field(self.opts.label_column, label_type)]
            fields += [pa.field(nm, pa.float64()) for nm in names]
            self.schema = pa.schema(fields, metadata={b"bayesgen": json.dumps(meta).encode()})
            self.writer = self.pq.ParquetWriter(str(self.tmp), self.schema)
        XT = np.ascontiguousarray(X.T)
        label = pa.array(y.tolist(), type=pa.string()) if y.dtype.kind == "U" else pa.array(y)
        cols = [label] + [pa.array(XT[j]) for j in range(XT.shape[0])]
        self.writer.write_table(pa.Table.from_arrays(cols, schema=self.schema))

    def finish(self):
        self.writer.close()

    def discard(self):
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()


_SINKS = {"csv": _CsvSink, "kaggle-csv": _CsvSink, "npz": _NpzSink, "parquet": _ParquetSink}


class ChunkedWriter:
    """Append chunks of labelled rows to a CSV, NPZ or Parquet file; publish atomically.

    Create it with :func:`open_chunked_writer` and use it as a context manager.  Rows go to a
    temporary file beside ``path``; on a successful exit the temporary file replaces ``path``
    in one step, on an exception it is removed and any previous ``path`` stays untouched.
    """

    def __init__(
        self,
        path,
        *,
        like=None,
        image_shape=None,
        pixel_scale=None,
        label_column=None,
        feature_names=None,
        format=None,
    ):
        self.path = Path(os.fspath(path))
        fmt = _resolve_write_format(self.path, format, like)
        if fmt not in _SINKS:
            raise DataError(
                f"Chunked writing supports CSV, NPZ and Parquet files; {self.path} would be "
                f"written as {fmt!r}. Use write_labelled for images, or another suffix."
            )
        _check_output_path(self.path)
        self.opts = _write_options(
            self.path, fmt, like, image_shape, pixel_scale, label_column, feature_names
        )
        self.format = fmt
        self.n_rows = 0
        self._d = None
        self._label_kind = None
        self._names = None
        self._closed = False
        if fmt == "parquet":
            _require_parquet()
        self._tmp = _temp_sibling(self.path)
        try:
            self._sink = _SINKS[fmt](self._tmp, self.path, self.opts)
        except BaseException:
            _remove(self._tmp)
            raise

    def write(self, X, y) -> None:
        """Append rows.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features) or (n_rows, height, width)
            Features (finite numbers); every chunk must have the same number of features.
        y : array-like of shape (n_rows,)
            Labels, integers or strings (the same kind in every chunk).
        """
        if self._closed:
            raise DataError(f"The writer for {self.path} is closed; open a new one.")
        where = str(self.path)
        X, shape3 = _as_feature_matrix(X, where)
        y = _write_labels(y, X.shape[0], where)
        if X.shape[0] == 0 and self._d is not None:
            return
        _check_finite(X, where, self.n_rows)
        if self._d is None:
            self._d = X.shape[1]
            if self.opts.image_shape is None and shape3 is not None:
                self.opts.image_shape = shape3
            if self.opts.image_shape is not None:
                self.opts.image_shape = _resolve_image_shape(
                    self.opts.image_shape, self._d, None, where
                )
            self._names = _feature_names_for(self.opts, self._d, where)
        elif X.shape[1] != self._d:
            raise DataError(
                f"{where}: this chunk has {X.shape[1]} features but earlier chunks had "
                f"{self._d}; every chunk must have the same columns."
            )
        kind = "str" if y.dtype.kind == "U" else "int"
        if self._label_kind is None:
            self._label_kind = kind
        elif kind != self._label_kind:
            raise DataError(
                f"{where}: this chunk has {kind} labels but earlier chunks had "
                f"{self._label_kind} labels; convert all labels to one type."
            )
        self._sink.write(X, y, self._names)
        self.n_rows += X.shape[0]

    def close(self) -> None:
        """Finish the file and move it into place (called on a successful ``with`` exit)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._d is None:
                raise DataError(
                    f"Nothing was written, so {self.path} was not created; write at least one "
                    "chunk (an empty chunk of the right width gives an empty file)."
                )
            self._sink.finish()
            os.replace(self._tmp, self.path)
        except BaseException:
            self._sink.discard()
            _remove(self._tmp)
            raise

    def abort(self) -> None:
        """Discard everything written; ``path`` is left as it was."""
        if self._closed:
            return
        self._closed = True
        self._sink.discard()
        _remove(self._tmp)

    def __enter__(self) -> ChunkedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.abort()
            return False
        self.close()
        return False

    def __del__(self):  # a writer dropped without close() leaves no temporary file behind
        with contextlib.suppress(Exception):
            if not self._closed:
                self.abort()


def open_chunked_writer(
    path,
    *,
    like=None,
    image_shape=None,
    pixel_scale=None,
    label_column=None,
    feature_names=None,
    format=None,
) -> ChunkedWriter:
    """Open a :class:`ChunkedWriter` that streams rows to ``path`` with bounded memory.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.csv``/``.tsv`` (optionally ``.gz``), ``.npz`` or ``.parquet`` file.  Its
        directory must exist.
    like, image_shape, pixel_scale, label_column, feature_names, format
        As for :func:`write_labelled`.

    Returns
    -------
    ChunkedWriter
        Use as ``with open_chunked_writer(path, like=data) as w: w.write(X, y)``; the file
        appears only when the ``with`` block ends without an exception.
    """
    return ChunkedWriter(
        path,
        like=like,
        image_shape=image_shape,
        pixel_scale=pixel_scale,
        label_column=label_column,
        feature_names=feature_names,
        format=format,
    )


def _grid_png(tmp: Path, X, y, shape, scale):
    Image, ImageDraw = _require_pillow()
    pix = _to_uint8_pixels(X, scale).reshape((-1,) + shape)
    n, h, w = pix.shape
    f = max(1, -(-32 // max(h, w)))
    th, tw = h * f, w * f
    strip = 12
    pad = 2
    ncols = max(1, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    canvas = np.full((nrows * (th + strip + pad) + pad, ncols * (tw + pad) + pad), 255, np.uint8)
    origins = []
    for i in range(n):
        r, c = divmod(i, ncols)
        y0 = pad + r * (th + strip + pad) + strip
        x0 = pad + c * (tw + pad)
        canvas[y0 : y0 + th, x0 : x0 + tw] = np.repeat(np.repeat(pix[i], f, 0), f, 1)
        origins.append((x0, y0 - strip))
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for (x0, y0), label in zip(origins, y.tolist(), strict=True):
        draw.text((x0 + 1, y0), str(label)[: max(1, tw // 6)], fill=0)
    img.save(tmp, format="PNG")


def _check_folder_label(label: str, where: str) -> None:
    if (
        not label
        or label in (".", "..")
        or label.startswith(".")
        or any(ch in label for ch in "/\\\0")
        or label != label.strip()
    ):
        raise DataError(
            f"{where}: the label {label!r} cannot be a folder name; image-folder output needs "
            "labels without slashes, leading dots or surrounding spaces. Rename the classes."
        )


def _write_image_folder(path: Path, X, y, shape, scale):
    where = str(path)
    parent = path.absolute().parent
    if not parent.is_dir():
        raise DataError(
            f"Cannot write {path}: its parent directory {parent} does not exist. Create it "
            "first (bayesgen only creates the output folder itself)."
        )
    if path.exists():
        if not path.is_dir():
            raise DataError(f"Cannot write the image folder {path}: a file of that name exists.")
        if any(path.iterdir()):
            raise DataError(
                f"Cannot write the image folder {path}: it exists and is not empty. Choose a "
                "new folder name or delete the old one (bayesgen never deletes folders)."
            )
    labels = [str(v) for v in y.tolist()]
    for lab in set(labels):
        _check_folder_label(lab, where)
    Image, _ = _require_pillow()
    pix = _to_uint8_pixels(X, scale).reshape((-1,) + shape)
    tmp = _temp_sibling(path, directory=True)
    try:
        for lab in set(labels):
            (tmp / lab).mkdir()
        for i, lab in enumerate(labels):
            Image.fromarray(pix[i]).save(tmp / lab / f"{i}.png", format="PNG")
        _publish_dir(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _publish_dir(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)  # POSIX: atomically replaces a missing or empty directory


def write_labelled(
    path,
    X,
    y,
    *,
    like=None,
    image_shape=None,
    pixel_scale=None,
    label_column=None,
    feature_names=None,
    format=None,
) -> Path:
    """Write labelled samples, in the layout of the data they imitate.

    The format follows the name of ``path`` (or ``format``):

    * ``.csv``/``.tsv`` (optionally ``.gz``): when ``like`` came from a Kaggle Digit Recognizer
      file, the Kaggle layout (``label,pixel0,...``, integer pixels 0-255: ``X * pixel_scale``
      rounded and clipped); otherwise the label column first, then the features as floats
      that read back exactly.
    * ``.npz``: arrays ``X``, ``y`` (string labels as unicode) plus metadata, no pickle.
    * ``.parquet``: label column then float64 feature columns (needs pyarrow).
    * ``.png``: one grid image of all samples with their labels (needs Pillow).
    * a directory (an existing empty one, or a name without suffix): one PNG per sample,
      ``<dir>/<label>/<index>.png`` (needs Pillow).

    The write is atomic: a temporary file (or folder) beside ``path`` is moved into place only
    once complete; on failure it is removed and an existing ``path`` is left intact.

    Parameters
    ----------
    path : str or os.PathLike
        Output file or folder; its parent directory must exist.
    X : array-like of shape (n_samples, n_features) or (n_samples, height, width)
        Finite features (in [0, 1] for scaled images).
    y : array-like of shape (n_samples,)
        Labels, integers or strings.
    like : LabelledData or str or None, default=None
        The data (or its ``source_format``) being imitated: supplies the layout, image shape,
        pixel scale, label column and feature names unless given explicitly.
    image_shape : tuple of int or None, default=None
        ``(height, width)``; needed for image output when ``like`` does not tell.
    pixel_scale : float or None, default=None
        Multiplier back to raw pixel values (255 for 0-255 pixels); Kaggle output defaults to
        255.  For image output, a set scale means X is in [0, 1] and out-of-range values are
        clipped; with none, X in [0, 1] is used as is and other ranges are min-max scaled.
    label_column : str or None, default=None
        Name of the label column (CSV, Parquet); default ``like``'s, else ``"label"``.
    feature_names : sequence of str or None, default=None
        Names of the feature columns (CSV, Parquet); default ``like``'s, else ``x0, x1, ...``
        (``pixel0, ...`` for images).
    format : str or None, default=None
        Force one of :data:`WRITE_FORMATS`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(os.fspath(path))
    fmt = _resolve_write_format(path, format, like)
    if fmt in _SINKS:
        with open_chunked_writer(
            path,
            like=like,
            image_shape=image_shape,
            pixel_scale=pixel_scale,
            label_column=label_column,
            feature_names=feature_names,
            format=fmt,
        ) as writer:
            writer.write(X, y)
        return path
    where = str(path)
    X, shape3 = _as_feature_matrix(X, where)
    y = _write_labels(y, X.shape[0], where)
    if X.shape[0] == 0:
        raise DataError(f"{where}: no samples to write; X has 0 rows.")
    _check_finite(X, where)
    opts = _write_options(
        path, fmt, like, image_shape or shape3, pixel_scale, label_column, feature_names
    )
    if opts.image_shape is None:
        raise DataError(
            f"{where}: writing images needs the image shape; pass image_shape=(height, width) "
            "or like=<the LabelledData the samples imitate>."
        )
    shape = _resolve_image_shape(opts.image_shape, X.shape[1], None, where)
    if len(shape) != 2:
        raise DataError(f"{where}: image_shape must be (height, width); got {shape}.")
    if fmt == "png":
        _check_output_path(path)
        tmp = _temp_sibling(path)
        try:
            _grid_png(tmp, X, y, shape, 255.0 if opts.pixel_scale is not None else None)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
    else:
        _write_image_folder(path, X, y, shape, 255.0 if opts.pixel_scale is not None else None)
    return path
