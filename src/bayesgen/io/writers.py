"""The public writers: :func:`write_labelled` (samples in the layout of the data they
imitate) and :func:`open_chunked_writer` / :class:`ChunkedWriter` (many chunks of rows, in
bounded memory).  The format comes from the registry (:mod:`bayesgen.io.registry`).

Every write is atomic (:mod:`bayesgen.base.atomic`): the data go to a temporary file beside
the target, which replaces the target only once it is complete, so a failure never leaves a
half-written file nor clobbers the previous one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from bayesgen.base import atomic
from bayesgen.base.errors import DataError
from bayesgen.io.checks import (
    _as_feature_matrix,
    _check_finite,
    _check_output_path,
    _resolve_image_shape,
)
from bayesgen.io.data import LabelledData, _WriteOptions
from bayesgen.io.delimiter import output_delimiter
from bayesgen.io.labels import _labels_from_array
from bayesgen.io.limits import check_output_size
from bayesgen.io.registry import FileFormat, write_format

__all__ = ["ChunkedWriter", "open_chunked_writer", "write_labelled"]


def _rows_and_width(X) -> tuple[int, int]:
    """Rows and values per row of ``X`` (2-D, or 3-D images), read from its shape only."""
    shape = np.shape(X)
    return (int(shape[0]) if shape else 0), int(np.prod(shape[1:], dtype=np.int64))


def _write_labels(y, n: int, where: str) -> np.ndarray:
    """Labels to write (int64 or unicode), one per row of ``X``."""
    y = _labels_from_array(np.asarray(y), where)
    if len(y) != n:
        raise DataError(
            f"{where}: X has {n} rows but y has {len(y)} labels; expected one label per row."
        )
    return y


def _write_options(
    path, fmt, like, image_shape, pixel_scale, label_column, feature_names, keep_formulas, sep=None
):
    """The output layout: what the caller passed, else what ``like`` tells, else defaults.

    Returns
    -------
    _WriteOptions
    """
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
    return _WriteOptions(
        fmt=fmt,
        image_shape=tuple(int(s) for s in image_shape) if image_shape is not None else None,
        pixel_scale=float(pixel_scale) if pixel_scale is not None else None,
        label_column=label_column,
        feature_names=list(feature_names) if feature_names is not None else None,
        delimiter=output_delimiter(
            path, sep or (like_obj.delimiter if like_obj is not None else None)
        ),
        explicit_names=explicit,
        keep_formulas=bool(keep_formulas),
    )


def _feature_names_for(opts: _WriteOptions, d: int, where: str) -> list[str]:
    """The feature column names: given ones, ``like``'s when they fit, else ``x0, x1, ...``."""
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
        keep_formulas=False,
        delimiter=None,
    ):
        self.path = Path(os.fspath(path))
        entry = write_format(self.path, format, like)
        if entry.sink is None:
            raise DataError(
                f"Chunked writing supports CSV, NPZ and Parquet files; {self.path} would be "
                f"written as {entry.name!r}. Use write_labelled for images, or another suffix."
            )
        _check_output_path(self.path)
        self.opts = _write_options(
            self.path,
            entry.name,
            like,
            image_shape,
            pixel_scale,
            label_column,
            feature_names,
            keep_formulas,
            delimiter,
        )
        self.format = entry.name
        self.n_rows = 0
        self._d = None
        self._label_kind = None
        self._names = None
        self._closed = False
        if entry.needs is not None:
            entry.needs()
        self._tmp = atomic.temp_sibling(self.path)
        try:
            self._sink = entry.sink(self._tmp, self.path, self.opts)
        except BaseException:
            atomic.discard(self._tmp)
            raise

    def _settle_layout(self, d: int, shape3, where: str) -> None:
        """Fix the width, image shape and column names on the first chunk."""
        self._d = d
        if self.opts.image_shape is None and shape3 is not None:
            self.opts.image_shape = shape3
        if self.opts.image_shape is not None:
            self.opts.image_shape = _resolve_image_shape(self.opts.image_shape, d, None, where)
        self._names = _feature_names_for(self.opts, d, where)

    def _check_label_kind(self, y: np.ndarray, where: str) -> None:
        """Refuse a chunk whose labels are not of the first chunk's kind (int or str)."""
        kind = "str" if y.dtype.kind == "U" else "int"
        if self._label_kind is None:
            self._label_kind = kind
        elif kind != self._label_kind:
            raise DataError(
                f"{where}: this chunk has {kind} labels but earlier chunks had "
                f"{self._label_kind} labels; convert all labels to one type."
            )

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
            self._settle_layout(X.shape[1], shape3, where)
        elif X.shape[1] != self._d:
            raise DataError(
                f"{where}: this chunk has {X.shape[1]} features but earlier chunks had "
                f"{self._d}; every chunk must have the same columns."
            )
        self._check_label_kind(y, where)
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
            atomic.commit(self._tmp, self.path)
        except BaseException:
            self._sink.discard()
            atomic.discard(self._tmp)
            raise

    def abort(self) -> None:
        """Discard everything written; ``path`` is left as it was."""
        if self._closed:
            return
        self._closed = True
        self._sink.discard()
        atomic.discard(self._tmp)

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
    keep_formulas=False,
    delimiter=None,
) -> ChunkedWriter:
    """Open a :class:`ChunkedWriter` that streams rows to ``path`` with bounded memory.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.csv``/``.tsv`` (optionally ``.gz``), ``.npz`` or ``.parquet`` file.  Its
        directory must exist.
    like, image_shape, pixel_scale, label_column, feature_names, format, keep_formulas,
    delimiter
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
        keep_formulas=keep_formulas,
        delimiter=delimiter,
    )


def _write_whole(
    entry: FileFormat,
    path: Path,
    X,
    y,
    *,
    like,
    image_shape,
    pixel_scale,
    label_column,
    feature_names,
):
    """Write samples in a format written whole (images), after checking them; the
    arguments are :func:`write_labelled`'s."""
    where = str(path)
    X, shape3 = _as_feature_matrix(X, where)
    y = _write_labels(y, X.shape[0], where)
    if X.shape[0] == 0:
        raise DataError(f"{where}: no samples to write; X has 0 rows.")
    check_output_size(path, X.shape[0], X.shape[1], format=entry.name)
    _check_finite(X, where)
    opts = _write_options(
        path,
        entry.name,
        like,
        image_shape or shape3,
        pixel_scale,
        label_column,
        feature_names,
        keep_formulas=False,
    )
    if opts.image_shape is None:
        raise DataError(
            f"{where}: writing images needs the image shape; pass image_shape=(height, width) "
            "or like=<the LabelledData the samples imitate>."
        )
    shape = _resolve_image_shape(opts.image_shape, X.shape[1], None, where)
    if len(shape) != 2:
        raise DataError(f"{where}: image_shape must be (height, width); got {shape}.")
    entry.write(path, X, y, shape, 255.0 if opts.pixel_scale is not None else None)


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
    keep_formulas=False,
    delimiter=None,
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
    keep_formulas : bool, default=False
        CSV: write text cells (header, string labels) as they are.  By default a cell that
        a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
        tab or a carriage return, and not a plain number such as ``-1.5``) gets a leading
        ``'`` (:func:`~bayesgen.io.csv_writer.formula_safe`).
    delimiter : str, optional
        CSV: the field separator.  A tab for a ``.tsv`` name; otherwise this one, else
        ``like``'s (a :class:`LabelledData` read from a ``;`` file writes ``;``), else a
        comma.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    DataError
        Bad data or path, or an output that cannot fit its format (more images than a grid
        or folder takes, a file larger than the free disk space:
        :func:`~bayesgen.io.limits.check_output_size`).
    """
    path = Path(os.fspath(path))
    entry = write_format(path, format, like)
    if entry.sink is None:
        _write_whole(
            entry,
            path,
            X,
            y,
            like=like,
            image_shape=image_shape,
            pixel_scale=pixel_scale,
            label_column=label_column,
            feature_names=feature_names,
        )
        return path
    n_rows, n_features = _rows_and_width(X)
    check_output_size(path, n_rows, n_features, format=entry.name)
    with open_chunked_writer(
        path,
        like=like,
        image_shape=image_shape,
        pixel_scale=pixel_scale,
        label_column=label_column,
        feature_names=feature_names,
        format=entry.name,
        keep_formulas=keep_formulas,
        delimiter=delimiter,
    ) as writer:
        writer.write(X, y)
    return path
