"""Reading and writing NPZ archives (``.npz``) holding arrays ``X`` and ``y``.

Pickles are never loaded (object arrays are refused), and a member whose header claims more
data than the archive can hold is refused before numpy allocates it.  Chunked reading
streams rows straight from the (possibly compressed) members; chunked writing stores each
chunk as a temporary ``.npy`` part and assembles the archive at the end.
"""

from __future__ import annotations

import dataclasses
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from bayesgen.base import atomic
from bayesgen.base.errors import DataError
from bayesgen.io.checks import (
    _MAX_DEFLATE_RATIO,
    _as_feature_matrix,
    _check_finite,
    _resolve_image_shape,
)
from bayesgen.io.data import LabelledData, _ReadOptions, _WriteOptions
from bayesgen.io.labels import _labels_from_array

#: optional members bayesgen writes beside ``X`` and ``y``
_META_KEYS = ("feature_names", "image_shape", "pixel_scale", "label_column")

#: what numpy and the zip module raise for a damaged or unsupported archive
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


def _meta_scalar(meta: dict, key: str, kind: str):
    """The 0-d metadata array ``key`` when its dtype kind is ``kind``, else None."""
    value = meta.get(key)
    if value is not None and value.shape == () and value.dtype.kind == kind:
        return value
    return None


def _meta_image_shape(meta: dict, d: int):
    """The stored image shape when it is a 1-D integer array holding ``d`` values."""
    s = meta.get("image_shape")
    if s is not None and s.ndim == 1 and s.dtype.kind in "iu" and s.size and int(np.prod(s)) == d:
        return tuple(int(v) for v in s)
    return None


def _npz_to_data(X, y, meta, path, image_shape, row_offset=0) -> LabelledData:
    """The :class:`LabelledData` of arrays read from an archive; metadata that does not fit
    the arrays is ignored.

    Parameters
    ----------
    X, y : ndarray
        Features (2-D, or 3-D images) and labels.
    meta : dict of str to ndarray
        The archive's members named in ``_META_KEYS``.
    path : pathlib.Path
    image_shape : tuple of int or None
        What the caller asked for.
    row_offset : int, default=0
        Row of the file the arrays start at (chunked reads; 0 also refuses zero rows).
    """
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
    default = shape3 if shape3 is not None else _meta_image_shape(meta, d)
    scale = _meta_scalar(meta, "pixel_scale", "f")
    scale = float(scale) if scale is not None else None
    label = _meta_scalar(meta, "label_column", "U")
    return LabelledData(
        X=X,
        y=y,
        feature_names=names,
        image_shape=_resolve_image_shape(image_shape, d, default, where),
        source_format="npz",
        pixel_scale=scale if scale is not None and np.isfinite(scale) else None,
        label_column=str(label) if label is not None else None,
    )


def _npz_error(path, exc) -> DataError:
    """The :class:`DataError` for an exception raised while reading an archive."""
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
    """Raise :class:`DataError` unless the archive has members ``X`` and ``y``."""
    missing = [k for k in ("X", "y") if k not in keys]
    if missing:
        raise DataError(
            f"{path} has arrays {sorted(keys)}, but arrays named 'X' (features) and 'y' (labels) "
            f"are expected; missing {missing}. Save with numpy.savez(path, X=X, y=y)."
        )


def _check_npz_magic(path) -> None:
    """Refuse a single ``.npy`` array and anything that does not start like a zip archive."""
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


def _check_npz_claims(path) -> None:
    """Refuse NPZ files that are not zip archives, and members whose .npy header claims more
    data than the member can hold, before numpy allocates the claimed array."""
    _check_npz_magic(path)
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
    """Refuse a member claiming more bytes than its compressed size can expand to."""
    ratio = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: _MAX_DEFLATE_RATIO}.get(
        info.compress_type
    )
    if ratio is not None and info.file_size > max(info.compress_size, 1) * ratio + 1024:
        raise DataError(
            f"{path}: the member {info.filename!r} claims {info.file_size} bytes but stores "
            f"only {info.compress_size}; the archive is corrupt. Re-create it."
        )


def _read_npz(path, *, image_shape):
    """The whole archive as :class:`LabelledData`."""
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


def _open_members(zf, keys, path):
    """``(meta, fx, fy)``: the metadata arrays and the open ``X`` and ``y`` members."""
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
    return meta, fx, fy


def _stream_headers(zf, keys, fx, fy, path):
    """The stream headers (see :func:`_npy_stream_header`) of the ``X`` and ``y`` members."""
    try:
        hx = _npy_stream_header(fx, path, "X", zf.getinfo(keys["X"]).file_size)
        hy = _npy_stream_header(fy, path, "y", zf.getinfo(keys["y"]).file_size)
    except DataError:
        raise
    except _NPZ_ERRORS as exc:
        raise _npz_error(path, exc) from None
    return hx, hy


def _stream_rows(fx, fy, hx, hy, meta, path, chunk_rows, image_shape):
    """Yield chunks read row by row from the open ``X`` and ``y`` members."""
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


def _iter_npz(path, chunk_rows, *, image_shape):
    """The archive in chunks of ``chunk_rows`` rows, streamed from the members when they
    are plain C-order arrays of matching length."""
    _check_npz_claims(path)
    try:
        zf = zipfile.ZipFile(path)
    except _NPZ_ERRORS as exc:
        raise _npz_error(path, exc) from None
    with zf:
        keys = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
        _npz_members(path, keys)
        meta, fx, fy = _open_members(zf, keys, path)
        with fx, fy:
            hx, hy = _stream_headers(zf, keys, fx, fy, path)
            if hx is None or hy is None or len(hy[1]) != 1 or hx[1][0] != hy[1][0]:
                # Unusual layout: load whole and slice (still exactly read_labelled's result).
                data = _read_npz(path, image_shape=image_shape)
                for start in range(0, data.n_samples, chunk_rows):
                    stop = start + chunk_rows
                    yield dataclasses.replace(data, X=data.X[start:stop], y=data.y[start:stop])
                return
            yield from _stream_rows(fx, fy, hx, hy, meta, path, chunk_rows, image_shape)


def read_npz_file(path, options: _ReadOptions) -> LabelledData:
    """Read a whole NPZ archive (uses ``image_shape`` of ``options``)."""
    return _read_npz(path, image_shape=options.image_shape)


def iter_npz_file(path, chunk_rows: int, options: _ReadOptions):
    """Read an NPZ archive in chunks of ``chunk_rows`` rows (see :func:`read_npz_file`)."""
    yield from _iter_npz(path, chunk_rows, image_shape=options.image_shape)


class _NpzSink:
    """Chunks go to temporary .npy parts; ``finish`` assembles the final archive.

    Parameters
    ----------
    tmp : pathlib.Path
        The temporary archive, moved into place by the caller.
    final : pathlib.Path
        The target; the parts live in a temporary folder beside it.
    opts : _WriteOptions
    """

    def __init__(self, tmp: Path, final: Path, opts: _WriteOptions):
        self.tmp, self.final, self.opts = tmp, final, opts
        self.parts = atomic.temp_sibling(final, directory=True)
        self.x_parts: list[Path] = []
        self.y_parts: list[Path] = []
        self.rows = 0
        self.d = None
        self.names = None
        self.y_dtype = None

    def write(self, X, y, names):
        """Store a chunk as two ``.npy`` parts."""
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

    def _meta(self) -> dict:
        """The metadata members (written after ``X`` and ``y``)."""
        meta = {"label_column": np.array(self.opts.label_column)}
        if self.names is not None and self.opts.feature_names is not None:
            meta["feature_names"] = np.array(self.names, dtype=str)
        if self.opts.image_shape is not None:
            meta["image_shape"] = np.array(self.opts.image_shape, dtype=np.int64)
        if self.opts.pixel_scale is not None:
            meta["pixel_scale"] = np.array(self.opts.pixel_scale, dtype=np.float64)
        return meta

    def finish(self):
        """Write the archive (the caller moves it into place); the parts are removed."""
        try:
            with zipfile.ZipFile(
                self.tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True
            ) as zf:
                self._member(zf, "X", np.dtype(np.float64), (self.rows, self.d), self.x_parts)
                self._member(zf, "y", self.y_dtype, (self.rows,), self.y_parts)
                for key, arr in self._meta().items():
                    with zf.open(f"{key}.npy", "w") as fh:
                        np.lib.format.write_array(fh, arr, allow_pickle=False)
        finally:
            atomic.discard(self.parts)

    @staticmethod
    def _member(zf, key, dtype, shape, parts):
        """Write one ``.npy`` member from its parts, without loading them all at once."""
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
        """Remove the parts after a failure (the caller removes the archive)."""
        atomic.discard(self.parts)
