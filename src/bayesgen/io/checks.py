"""Checks shared by the readers and writers: input files that exist and can be read, low-level
read errors turned into :class:`DataError`, feature matrices, image shapes and output paths.

Every message says what was expected, what was found and how to fix it.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import zlib
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError, data_row
from bayesgen.base.validation import check_image_shape
from bayesgen.io.data import KAGGLE_URL

# Deflate cannot compress by more than about 1032:1, so a gzip file of N bytes cannot hold
# more than ~1032 N bytes of data; a header claiming more is refused before allocating.
_MAX_DEFLATE_RATIO = 1100


def _kaggle_hint(path: Path) -> str:
    """Where to download a Kaggle Digit Recognizer file, and what to use without it."""
    return (
        f"This is the Kaggle 'Digit Recognizer' layout: download {path.name} from the "
        f"competition page {KAGGLE_URL} (Data tab; needs a Kaggle account that accepted the "
        f"competition rules) and save it as {path}. Without it, "
        "bayesgen.datasets.load_mnist() gives the bundled MNIST test set (10,000 digits)."
    )


def _missing_file_error(path: Path, what: str = "a data file") -> DataError:
    """The error for a missing input, with a hint where to get well-known files.

    Parameters
    ----------
    path : pathlib.Path
    what : str
        What was expected there, e.g. ``"a csv file"``.

    Returns
    -------
    DataError
        Not raised; the caller raises it.
    """
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
    """Raise :class:`DataError` unless ``path`` is a readable, non-empty file."""
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
    """True when the file starts with the gzip magic bytes (whatever its suffix)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _as_feature_matrix(X, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """float64 (n, d) matrix; 3-D input (n, h, w) is flattened and its shape returned.

    Unlike :func:`bayesgen.base.validation.as_float_matrix`, this takes images (3-D) and
    zero rows (an empty output file), and refuses text even when it would parse as numbers.

    Parameters
    ----------
    X : array-like of shape (n, d) or (n, h, w)
    where : str
        The source or target, for messages.

    Returns
    -------
    X : ndarray of shape (n, d), float64
    shape : tuple of int or None
        ``(h, w)`` for 3-D input.
    """
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
    """Raise :class:`DataError` naming the first non-finite cell by its row in the file.

    Unlike :func:`bayesgen.base.validation.check_finite`, the row counts from
    ``row_offset`` (the chunk's first row in the file) and the column is named.
    """
    if np.isfinite(X).all():
        return
    r, c = np.argwhere(~np.isfinite(X))[0]
    col = repr(names[c]) if names is not None else str(int(c))
    raise DataError(
        f"{where}: {data_row(row_offset + int(r))}, column {col} is {X[r, c]!r}; expected "
        "finite numbers (no NaN or infinity). Remove or impute the missing values first."
    )


def _resolve_image_shape(image_shape, d: int, default, where: str):
    """``image_shape`` (else ``default``) checked against ``d`` features, or None.

    Parameters
    ----------
    image_shape : tuple of int or None
        What the caller asked for.
    d : int
        Features per row.
    default : tuple of int or None
        What the source tells.
    where : str
        The source or target, prefixed to messages.

    Returns
    -------
    tuple of int or None
    """
    shape = default if image_shape is None else image_shape
    if shape is None:
        return None
    try:
        return check_image_shape(shape, d, image=False)
    except DataError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _check_output_path(path: Path) -> None:
    """Raise :class:`DataError` when ``path``'s folder is missing or ``path`` is a folder.

    Checked before anything is prepared, so a bad path fails first and leaves nothing.
    """
    parent = path.absolute().parent
    if not parent.is_dir():
        raise DataError(
            f"Cannot write {path}: the directory {parent} does not exist. Create it first "
            "(bayesgen does not create directories for output files)."
        )
    if path.is_dir():
        raise DataError(
            f"Cannot write {path}: a directory of that name exists. Choose a file name (with "
            "a suffix such as .csv) or remove the directory."
        )
