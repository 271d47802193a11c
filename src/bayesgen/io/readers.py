"""The public readers: :func:`read_labelled` (the whole data set) and :func:`iter_chunks`
(the same rows in chunks of bounded size).  The format comes from the registry
(:mod:`bayesgen.io.registry`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.io.checks import _check_input_file, _missing_file_error
from bayesgen.io.data import LabelledData, _ReadOptions
from bayesgen.io.labels import _check_classes
from bayesgen.io.registry import FileFormat, read_format

__all__ = ["iter_chunks", "read_labelled"]


def _prepare_read(path, format, what="a data file") -> tuple[Path, FileFormat]:
    """The path and its format, after checking that there is something to read there."""
    path = Path(os.fspath(path))
    if format is None and not path.exists():
        raise _missing_file_error(path, what)
    entry = read_format(path, format)
    if entry.directory:
        if not path.is_dir():
            if not path.exists():
                raise _missing_file_error(path, "an image folder")
            raise DataError(
                f"{path} is a file; the {entry.name} format expects a directory with one "
                "sub-folder per class."
            )
    else:
        _check_input_file(path, f"a {entry.name} file")
    return path, entry


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
        CSV only: field separator (by default found from the first lines,
        :func:`~bayesgen.io.delimiter.csv_delimiter`).
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
    path, entry = _prepare_read(path, format)
    options = _ReadOptions(
        label_column=label_column,
        image_shape=image_shape,
        labels_path=labels_path,
        delimiter=delimiter,
        kaggle=kaggle,
        label_dtype=label_dtype,
    )
    data = entry.read(path, options)
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
    path, entry = _prepare_read(path, format)
    if entry.needs is not None:
        entry.needs()
    options = _ReadOptions(
        label_column=label_column,
        image_shape=image_shape,
        labels_path=labels_path,
        delimiter=delimiter,
        kaggle=kaggle,
        label_dtype=label_dtype,
        raw_pixels=_raw_pixels,
    )
    chunks = _iter_chunks(entry, path, chunk_rows, options)
    if _raw_pixels and not entry.raw_pixel_chunks:
        return ((chunk, None) for chunk in chunks)
    return chunks


def _iter_chunks(entry: FileFormat, path: Path, chunk_rows: int, options: _ReadOptions):
    """The format's chunks; a generator, so that nothing is opened before the first ``next``."""
    yield from entry.chunks(path, chunk_rows, options)
