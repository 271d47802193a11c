"""The labelled data set every reader returns and every writer takes, and the options that
say how to read and write one."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

__all__ = ["KAGGLE_URL", "LabelledData"]

KAGGLE_URL = "https://www.kaggle.com/c/digit-recognizer"
_KAGGLE_SHAPE = (28, 28)
_KAGGLE_COLUMNS = ["label"] + [f"pixel{i}" for i in range(784)]
_KAGGLE_TEST_COLUMNS = _KAGGLE_COLUMNS[1:]


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
    delimiter : str
        The field separator of a CSV source (written back by the writers given it as
        ``like``); a comma for other sources.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str] | None = None
    image_shape: tuple[int, ...] | None = None
    source_format: str = "csv"
    pixel_scale: float | None = None
    label_column: str | None = None
    delimiter: str = ","

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


@dataclass(frozen=True)
class _ReadOptions:
    """The options of :func:`~bayesgen.io.read_labelled` and :func:`~bayesgen.io.iter_chunks`,
    handed to every format's reader (each uses the ones that apply to it).

    ``raw_pixels`` asks the CSV chunk reader for ``(chunk, divisor)`` pairs (see
    :func:`~bayesgen.io.iter_chunks`).
    """

    label_column: object = None
    image_shape: object = None
    labels_path: object = None
    delimiter: str | None = None
    kaggle: bool | None = None
    label_dtype: object = None
    raw_pixels: bool = False


@dataclass
class _WriteOptions:
    """The layout of an output file, settled before the first row is written.

    ``explicit_names`` tells whether the caller passed ``feature_names`` (a wrong count is
    then an error) or they came from ``like`` (a wrong count falls back to ``x0, x1, ...``);
    ``keep_formulas`` writes CSV text cells as they are, without
    :func:`~bayesgen.io.csv_writer.formula_safe`.
    """

    fmt: str
    image_shape: tuple | None
    pixel_scale: float | None
    label_column: str
    feature_names: list[str] | None
    delimiter: str
    explicit_names: bool = False
    keep_formulas: bool = False


def _single(gen) -> LabelledData:
    """The first item of a chunk generator, closing it (whole-file reads yield one chunk)."""
    with contextlib.closing(gen):
        return next(gen)


def _to_uint8_pixels(X: np.ndarray, scale: float | None) -> np.ndarray:
    """Raw 0-255 integers for image/Kaggle output (round and clip).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    scale : float or None
        Multiplier back to raw pixel values; None maps [0, 1] to 0-255 and min-max scales
        any other range.

    Returns
    -------
    ndarray of uint8, shape (n, d)
    """
    if scale is not None:
        v = X * scale
    else:
        lo, hi = float(X.min()), float(X.max())
        if lo >= 0.0 and hi <= 1.0:
            v = X * 255.0
        else:
            v = (X - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(X)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)
