"""Input checks and label formatting shared by every layer (one implementation of each)."""

from __future__ import annotations

import re

import numpy as np

from bayesgen.base.errors import DataError, RowDataError

__all__ = [
    "ImageShapeError",
    "as_float_matrix",
    "check_finite",
    "check_image_shape",
    "check_n_samples",
    "check_positive_int",
    "check_sample_dtype",
    "format_label",
    "is_dask",
    "label_text",
    "safe_text",
]


def is_dask(obj) -> bool:
    """True for dask collections, recognised by module name (dask is never imported here)."""
    module = type(obj).__module__ or ""
    return module.split(".", 1)[0] in ("dask", "dask_expr")


#: Characters a terminal acts on instead of showing: the C0 controls (ESC starts a colour,
#: a screen clear, a window title or a link; CR and LF start a line), DEL and the C1
#: controls (0x9b and 0x9d are one-byte ESC [ and ESC ]); and the Unicode marks that
#: reorder or break the text around them (bidi embeddings, overrides, isolates and marks,
#: the line and paragraph separators).
_UNSAFE_CHARS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text) -> str:
    r"""``text`` with every character a terminal would act on written as a visible escape.

    Text taken from a model or data file (labels, column names, metadata) may hold escape
    sequences that clear the screen, set the window title or hide a link, line breaks that
    fake a line of output, or bidi overrides that show text in another order.  Each such
    character becomes an escape such as ``\x1b``, ``\n`` or ``\u202e``; everything else,
    other scripts' letters included, is kept.

    Parameters
    ----------
    text : object
        Converted with :class:`str`.

    Returns
    -------
    str
        One line of text without control characters.

    Examples
    --------
    >>> safe_text("a\x1b[2Jb\nc")
    'a\\x1b[2Jb\\nc'
    >>> safe_text("\u202eabc")
    '\\u202eabc'
    """
    return _UNSAFE_CHARS.sub(_escaped, str(text))


def label_text(label, *, raw: bool = False) -> str:
    """A class label as plain text for files, figures, tables and terminals: ``7``, ``cat``.

    Control characters and bidi marks are shown escaped (:func:`safe_text`), so a label
    cannot act on a terminal; ``raw=True`` keeps them, for output that escapes them itself
    (JSON).
    """
    if isinstance(label, np.generic):
        label = label.item()
    return str(label) if raw else safe_text(label)


def format_label(label) -> str:
    """A class label as users wrote it, for messages: ``7`` or ``'cat'``, not
    ``np.int64(7)``; control characters and bidi marks are shown escaped."""
    if isinstance(label, np.generic):
        label = label.item()
    return safe_text(repr(label))


def check_finite(X: np.ndarray, name: str = "X", *, allow_nan: bool = False) -> None:
    """Raise :class:`DataError` naming the first non-finite cell of ``X``.

    With ``allow_nan``, NaN (a missing cell) passes and only infinities are refused.
    """
    if not X.size:
        return
    bad_cells = np.isinf(X) if allow_nan else ~np.isfinite(X)
    if bad_cells.any():
        bad = np.argwhere(bad_cells)[0]
        value = X[tuple(bad)]
        if X.ndim != 2:
            raise DataError(
                f"Input {name} contains NaN or infinity ({value} at index {bad[0]}); every "
                "value must be a finite number."
            )
        after = f", column index {bad[1]}"
        if allow_nan:
            fix = "Replace the infinite values or mark them missing (NaN)."
        else:
            fix = (
                "Remove or impute those rows, or use a density that fits missing cells "
                "(density='copula', or a mixture such as 'mfa' or 'mfacopula')."
            )
        raise RowDataError(
            f"Input {name} contains NaN or infinity ({value} at ",
            bad[0],
            f"{after}); every value must be a finite number. {fix}",
        )


def check_n_samples(n_samples) -> int:
    """Validate a requested number of samples (a non-negative integer)."""
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)):
        if isinstance(n_samples, (float, np.floating)) and float(n_samples).is_integer():
            n_samples = int(n_samples)
        else:
            raise DataError(
                f"n_samples must be a non-negative integer; got {n_samples!r}. "
                "Pass a whole number such as 100."
            )
    if n_samples < 0:
        raise DataError(
            f"n_samples must be a non-negative integer; got {n_samples}. Pass 0 or more."
        )
    return int(n_samples)


def as_float_matrix(
    X, name: str, *, promote_1d: bool = False, require_finite: bool = True
) -> np.ndarray:
    """``X`` as a float64 array of shape (n, d), or a :class:`DataError` saying why not.

    Parameters
    ----------
    X : array-like
    name : str
        How the message calls the input (``"X_gen"``, ``"the --real file"``).
    promote_1d : bool, default=False
        Read a 1-D input as one row (figures of a single image) instead of refusing it;
        with it an empty input is allowed too.
    require_finite : bool, default=True
        Refuse NaN and infinity (naming the first such cell).
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} must be a numeric array of shape (n_samples, n_features); could not "
            f"convert it to float ({exc}). Pass a numeric numpy array."
        ) from None
    if promote_1d and arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise DataError(
            f"{name} must be 2-D (n_samples, n_features); got an array with shape "
            f"{arr.shape}. Reshape it, e.g. X.reshape(len(X), -1)."
        )
    if not promote_1d and (arr.shape[0] == 0 or arr.shape[1] == 0):
        raise DataError(f"{name} is empty (shape {arr.shape}); pass at least one row and column.")
    if require_finite:
        check_finite(arr, name)
    return arr


class ImageShapeError(DataError, TypeError):
    """``image_shape`` is not a tuple of integers (a :class:`DataError` and a TypeError)."""


def check_image_shape(image_shape, n_features: int, *, image: bool = True) -> tuple[int, ...]:
    """Validate that ``image_shape`` can hold rows of ``n_features`` values.

    Parameters
    ----------
    image_shape : tuple of int
    n_features : int
    image : bool, default=True
        Also require a picture: ``(height, width)`` or ``(height, width, 3|4)``.

    Returns
    -------
    tuple of int

    Raises
    ------
    ImageShapeError
        When it is not a sequence of integers.
    DataError
        When the sizes are not positive, not an image, or their product is not
        ``n_features``.
    """
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ImageShapeError(
            f"image_shape must be a tuple of integers such as (28, 28); got {image_shape!r}."
        ) from None
    if not shape or any(s <= 0 for s in shape):
        raise DataError(f"image_shape must have positive sizes; got {image_shape!r}.")
    if image and (len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4))):
        raise DataError(
            f"image_shape must be (height, width) or (height, width, 3|4) for RGB(A); "
            f"got {image_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise DataError(
            f"image_shape {shape} holds {int(np.prod(shape))} values but each row has "
            f"{n_features} features; pass the shape the rows were flattened from "
            "(e.g. (28, 28) for 784 features)."
        )
    return shape


def check_positive_int(value, name: str, default: int) -> int:
    """``value`` as a positive int (``default`` when None), or a :class:`DataError`."""
    if value is None:
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_sample_dtype(dtype) -> np.dtype:
    """The dtype of generated rows: float32 or float64, or a :class:`DataError`."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise DataError(f"dtype must be numpy.float32 or numpy.float64; got {dtype}")
    return dtype
