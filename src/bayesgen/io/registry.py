"""The file formats bayesgen reads and writes: one table from each format's name to its
readers (whole file and chunked), its writer and the file names it goes by.

:func:`~bayesgen.io.read_labelled`, :func:`~bayesgen.io.iter_chunks`,
:func:`~bayesgen.io.write_labelled` and :class:`~bayesgen.io.ChunkedWriter` find a format
here, by name or from the path, and call what the entry holds; they never switch on format
names themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bayesgen.base.errors import DataError
from bayesgen.io.csv_plan import _CSV_SUFFIXES
from bayesgen.io.csv_reader import iter_csv_file, read_csv_file
from bayesgen.io.csv_writer import _CsvSink
from bayesgen.io.deps import _require_parquet
from bayesgen.io.idx import iter_idx_file, read_idx_file
from bayesgen.io.images import (
    iter_image_folder,
    read_image_folder,
    write_image_folder,
    write_png_grid,
)
from bayesgen.io.npz import _NpzSink, iter_npz_file, read_npz_file
from bayesgen.io.parquet import _ParquetSink, iter_parquet_file, read_parquet_file

__all__ = [
    "FORMATS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "FileFormat",
    "read_format",
    "write_format",
]

#: Formats understood by :func:`read_labelled` (values of ``LabelledData.source_format``).
READ_FORMATS = ("kaggle-csv", "csv", "parquet", "npz", "idx", "image-folder")
#: Formats written by :func:`write_labelled`.
WRITE_FORMATS = ("kaggle-csv", "csv", "npz", "parquet", "png", "image-folder")


def _never(path: Path, like: str | None = None) -> bool:
    """No file name says this format (it is only chosen by name)."""
    return False


def _named(*suffixes: str) -> Callable[..., bool]:
    """A test of a path's name, in any case, against ``suffixes``."""

    def test(path: Path, like: str | None = None) -> bool:
        return path.name.lower().endswith(suffixes)

    return test


_is_csv_name = _named(*_CSV_SUFFIXES)


def _is_idx_name(path: Path) -> bool:
    """MNIST's names (``t10k-images-idx3-ubyte.gz``) and plain ``.idx`` files."""
    name = path.name.lower()
    return bool(re.search(r"idx[0-9]", name)) or name.endswith(
        ("-ubyte", "-ubyte.gz", ".idx", ".idx.gz")
    )


def _is_folder(path: Path) -> bool:
    """An existing folder (read as an image folder)."""
    return path.is_dir()


def _writes_kaggle_csv(path: Path, like: str | None) -> bool:
    """A CSV name, imitating data read from a Kaggle-layout file."""
    return _is_csv_name(path) and like == "kaggle-csv"


def _writes_folder(path: Path, like: str | None) -> bool:
    """An existing folder, or a name without a suffix."""
    return path.is_dir() or not path.suffix


@dataclass(frozen=True)
class FileFormat:
    """One file format: how to recognise it, read it and write it.

    Attributes
    ----------
    name : str
        As in :data:`READ_FORMATS` and :data:`WRITE_FORMATS`.
    read : callable or None
        ``read(path, options) -> LabelledData``: the whole file.
    chunks : callable or None
        ``chunks(path, chunk_rows, options)``: a generator of :class:`LabelledData`
        (problems inside the file raise while iterating).
    sink : type or None
        Chunked writer: ``sink(tmp, path, write_options)`` with ``write(X, y, names)``,
        ``finish()`` and ``discard()``.
    write : callable or None
        Writer of formats written whole (images): ``write(path, X, y, image_shape, scale)``.
    reads : callable
        ``reads(path)``: the name (or a folder) says this format.  Tried in
        :data:`READ_FORMATS` order.
    writes : callable
        ``writes(path, like_format)``: write ``path`` in this format when imitating data of
        ``like_format``.  Tried in :data:`WRITE_FORMATS` order.
    directory : bool
        Read from a folder, not a file.
    needs : callable or None
        Raises :class:`~bayesgen.io.MissingDependencyError` at the call (before any
        iterating or writing) when an optional dependency is missing.
    raw_pixel_chunks : bool
        ``chunks`` hands on ``(chunk, divisor)`` pairs of raw pixels when asked
        (``_raw_pixels`` of :func:`~bayesgen.io.iter_chunks`).
    """

    name: str
    read: Callable | None = None
    chunks: Callable | None = None
    sink: type | None = None
    write: Callable | None = None
    reads: Callable[[Path], bool] = _never
    writes: Callable[[Path, str | None], bool] = _never
    directory: bool = False
    needs: Callable[[], object] | None = None
    raw_pixel_chunks: bool = False


#: Every format by name; readers and writers look formats up here only.
FORMATS: dict[str, FileFormat] = {
    entry.name: entry
    for entry in (
        FileFormat(
            "kaggle-csv",
            read=partial(read_csv_file, kaggle_layout=True),
            chunks=partial(iter_csv_file, kaggle_layout=True),
            sink=_CsvSink,
            writes=_writes_kaggle_csv,
            raw_pixel_chunks=True,
        ),
        FileFormat(
            "csv",
            read=read_csv_file,
            chunks=iter_csv_file,
            sink=_CsvSink,
            reads=_is_csv_name,
            writes=_is_csv_name,
            raw_pixel_chunks=True,
        ),
        FileFormat(
            "parquet",
            read=read_parquet_file,
            chunks=iter_parquet_file,
            sink=_ParquetSink,
            reads=_named(".parquet", ".pq"),
            writes=_named(".parquet", ".pq"),
            needs=_require_parquet,
        ),
        FileFormat(
            "npz",
            read=read_npz_file,
            chunks=iter_npz_file,
            sink=_NpzSink,
            reads=_named(".npz"),
            writes=_named(".npz"),
        ),
        FileFormat("idx", read=read_idx_file, chunks=iter_idx_file, reads=_is_idx_name),
        FileFormat("png", write=write_png_grid, writes=_named(".png")),
        FileFormat(
            "image-folder",
            read=read_image_folder,
            chunks=iter_image_folder,
            write=write_image_folder,
            reads=_is_folder,
            writes=_writes_folder,
            directory=True,
        ),
    )
}


def read_format(path: Path, format: str | None) -> FileFormat:
    """The format to read ``path`` in: ``format`` when given, else the first entry of
    :data:`READ_FORMATS` whose name test accepts ``path``.

    Raises
    ------
    DataError
        An unknown ``format``, or a name no format goes by.
    """
    if format is not None:
        if format not in READ_FORMATS:
            raise DataError(
                f"Unknown format {format!r}; supported formats are {', '.join(READ_FORMATS)}."
            )
        return FORMATS[format]
    for name in READ_FORMATS:
        if FORMATS[name].reads(path):
            return FORMATS[name]
    raise DataError(
        f"Cannot tell the format of {path} from its name. Supported inputs: .csv/.tsv (also "
        ".gz), .parquet/.pq, .npz, MNIST IDX files (*-images-idx3-ubyte[.gz]) and a directory "
        "with one sub-folder of images per class. Rename the file or pass format= (one of "
        f"{', '.join(READ_FORMATS)})."
    )


def _like_format(like) -> str | None:
    """The source format of the data being imitated (a :class:`LabelledData` or a name)."""
    if like is None:
        return None
    if isinstance(like, str):
        return like
    return getattr(like, "source_format", None)


def write_format(path: Path, format: str | None, like) -> FileFormat:
    """The format to write ``path`` in: ``format`` when given, else the first entry of
    :data:`WRITE_FORMATS` whose name test accepts ``path`` (imitating ``like``).

    Raises
    ------
    DataError
        An unknown ``format``, or a name no format goes by.
    """
    if format is not None:
        if format not in WRITE_FORMATS:
            raise DataError(
                f"Unknown output format {format!r}; supported: {', '.join(WRITE_FORMATS)}."
            )
        return FORMATS[format]
    like_format = _like_format(like)
    for name in WRITE_FORMATS:
        if FORMATS[name].writes(path, like_format):
            return FORMATS[name]
    raise DataError(
        f"Cannot tell the output format of {path} from its name. Use .csv/.tsv (optionally "
        ".gz), .npz, .parquet, .png (a grid image), or a directory name without suffix (one "
        f"PNG per sample in class sub-folders); or pass format= (one of "
        f"{', '.join(WRITE_FORMATS)})."
    )
