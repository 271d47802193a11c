"""Reading MNIST IDX files (``*-images-idx3-ubyte[.gz]`` with ``*-labels-idx1-ubyte[.gz]``).

An images file is paired with its labels file by name.  Headers are checked against the
file size (or the gzip trailer) before anything is allocated, and pixels are scaled to
[0, 1].  :func:`read_idx` reads a known pair; the format registry reads a pair found from
one path.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.io.checks import _MAX_DEFLATE_RATIO, _check_input_file, _reading, _resolve_image_shape
from bayesgen.io.data import LabelledData, _ReadOptions, _single

__all__ = ["read_idx"]

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
#: bytes read per call, so that a huge item count never asks for one huge read
_READ_SLICE = 1 << 24


class _IdxReader:
    """Validated sequential reader of one IDX file (gzip-compressed or raw).

    Parameters
    ----------
    path : pathlib.Path
    magic : int
        ``_IDX_IMAGES_MAGIC`` or ``_IDX_LABELS_MAGIC``: what the file must be.
    """

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
        """Read and check the header: the magic number, the sizes, and that the data the
        sizes claim fit the file."""
        size = os.fstat(self._raw.fileno()).st_size
        gz, isize = self._open_stream(size)
        self._check_magic(magic)
        ndim = 3 if magic == _IDX_IMAGES_MAGIC else 1
        dims = struct.unpack(f">{ndim}I", self._read_exact(4 * ndim, "the dimension sizes"))
        self.count = dims[0]
        self.item_shape = tuple(dims[1:])
        self.item_size = math.prod(self.item_shape)
        desc = (
            f"{self.count} images of {dims[1]}x{dims[2]} pixels"
            if ndim == 3
            else f"{self.count} labels"
        )
        if self.count == 0 or self.item_size == 0:
            raise DataError(
                f"{self.path}: the IDX header declares {desc}; expected at least one non-empty "
                "item. The file is empty or corrupt."
            )
        header = 4 + 4 * ndim
        if gz:
            self._check_gzip_claim(desc, header, size, isize)
        else:
            self._check_raw_claim(desc, header, size)
        self.remaining = self.count

    def _open_stream(self, size: int):
        """Open the data stream; returns ``(gz, isize)``, the gzip trailer's size or None."""
        raw = self._raw
        gz = raw.read(2) == b"\x1f\x8b"
        isize = None
        if gz and size >= 18:
            raw.seek(-4, os.SEEK_END)
            isize = struct.unpack("<I", raw.read(4))[0]
        raw.seek(0)
        self._fh = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        return gz, isize

    def _check_magic(self, magic: int) -> None:
        """Read the magic number; refuse the file when it is not ``magic``."""
        found = int.from_bytes(self._read_exact(4, "the 4-byte magic number"), "big")
        if found == magic:
            return
        ndim = 3 if magic == _IDX_IMAGES_MAGIC else 1
        other = {
            _IDX_IMAGES_MAGIC: " (that is an IDX images file)",
            _IDX_LABELS_MAGIC: " (that is an IDX labels file)",
        }.get(found, "")
        raise DataError(
            f"{self.path}: expected the IDX {self.kind} magic number {magic} "
            f"(0x{magic:08x}: unsigned bytes, {ndim} dimension(s)) but found {found} "
            f"(0x{found:08x}){other}. The file is not an MNIST {self.kind} file or is "
            "corrupt; check which file you passed, or re-download it."
        )

    def _check_gzip_claim(self, desc: str, header: int, size: int, isize) -> None:
        """Refuse a header claiming more than the gzip file can hold, or than its trailer says."""
        claimed = self.count * self.item_size
        if claimed > max(size, 1) * _MAX_DEFLATE_RATIO:
            raise DataError(
                f"{self.path}: the IDX header declares {desc} ({claimed} bytes), more than a "
                f"{size}-byte gzip file can hold; the header is corrupt. Re-download it."
            )
        if isize is not None and (header + claimed) % 2**32 != isize:
            raise DataError(
                f"{self.path}: the IDX header declares {desc} ({header + claimed} bytes with "
                f"the header), but the gzip trailer says the file decompresses to {isize} "
                "bytes; the file is truncated or corrupt. Re-download it."
            )

    def _check_raw_claim(self, desc: str, header: int, size: int) -> None:
        """Refuse a header whose data size is not exactly what follows it."""
        claimed = self.count * self.item_size
        avail = size - header
        if claimed > avail:
            raise DataError(
                f"{self.path}: the IDX header declares {desc} ({claimed} bytes) but only "
                f"{avail} bytes of data follow; the file is truncated or its header is "
                "corrupt. Re-download it."
            )
        if claimed < avail:
            raise DataError(
                f"{self.path}: the IDX header declares {desc} ({claimed} bytes) but "
                f"{avail - claimed} unexpected bytes follow the data; the file is corrupt "
                "or not an IDX file. Re-download it."
            )

    def _read_exact(self, n: int, what: str) -> bytes:
        """The next ``n`` header bytes; :class:`DataError` naming ``what`` when the file ends."""
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
        """Raise :class:`DataError` when bytes follow the declared items."""
        if self._fh.read(1):
            raise DataError(
                f"{self.path}: unexpected bytes after the {self.count} {self.kind} its header "
                "declares; the file is corrupt or not an IDX file. Re-download it."
            )

    def close(self) -> None:
        """Close the file (and its gzip stream)."""
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
    """The magic number of an IDX file, or None when it cannot be read."""
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
    """``(images, labels)`` for a path to either file of a pair.

    Parameters
    ----------
    path : pathlib.Path
        The images file, or the labels file (its images file is found beside it).
    labels_path : path-like or None
        The labels file, when its name cannot be derived.
    """
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
    """Yield :class:`LabelledData` chunks of ``chunk_rows`` rows of an images/labels pair
    (one chunk of every row when ``whole``)."""
    with _reading(images, "IDX"):
        ri = _IdxReader(images, _IDX_IMAGES_MAGIC)
        try:
            with _reading(labels, "IDX"):
                rl = _IdxReader(labels, _IDX_LABELS_MAGIC)
            try:
                yield from _paired_chunks(ri, rl, chunk_rows, image_shape, whole)
            finally:
                rl.close()
        finally:
            ri.close()


def _paired_chunks(ri: _IdxReader, rl: _IdxReader, chunk_rows: int, image_shape, whole: bool):
    """The chunks of two open readers holding one label per image."""
    images, labels = ri.path, rl.path
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


def read_idx(images, labels, image_shape=None) -> LabelledData:
    """Read an MNIST IDX images file and its labels file.

    Parameters
    ----------
    images : str or os.PathLike
        The images file (``*-images-idx3-ubyte``, optionally ``.gz``).
    labels : str or os.PathLike
        The labels file (``*-labels-idx1-ubyte``, optionally ``.gz``).
    image_shape : tuple of int or None, default=None
        ``(height, width)`` to record; None keeps the file's (28x28 for MNIST).

    Returns
    -------
    LabelledData
        ``X`` float64 pixels in [0, 1] (raw value / 255), ``y`` int64 labels,
        ``pixel_scale=255.0``, ``source_format="idx"``.

    Raises
    ------
    DataError
        A file is truncated or corrupt, or the two hold different numbers of items.
    """
    return _single(_idx_chunks(Path(images), Path(labels), 0, image_shape, whole=True))


def read_idx_file(path, options: _ReadOptions) -> LabelledData:
    """Read the pair ``path`` belongs to (uses ``labels_path`` and ``image_shape``)."""
    images, labels = _idx_pair(path, options.labels_path)
    return read_idx(images, labels, options.image_shape)


def iter_idx_file(path, chunk_rows: int, options: _ReadOptions):
    """Read the pair ``path`` belongs to in chunks of ``chunk_rows`` rows."""
    images, labels = _idx_pair(path, options.labels_path)
    yield from _idx_chunks(images, labels, chunk_rows, options.image_shape, whole=False)
