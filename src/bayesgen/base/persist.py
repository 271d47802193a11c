"""Safe model files: arrays plus a JSON manifest in a zip archive, never pickle.

Layout of a model file (a plain zip archive, members stored uncompressed by default)::

    manifest.json          format name and version, library version, the object tree
    arrays/a0.npy ...      one ``.npy`` file per array (read with ``allow_pickle=False``)

The object tree is JSON.  Arrays are referenced as ``{"__ndarray__": "a0"}``; library
objects as ``{"__object__": "GaussianDensity", "state": {...}}`` where the name must be in
an allow-list of registered classes, each of which rebuilds itself from plain data through
its own ``_from_state``.  Nothing in a file can name a function to call, so loading a file
cannot run code.  The manifest records every array's dtype, shape and SHA-256; loading
checks all three, so a truncated or tampered file fails with :class:`ModelFileError`.

Writes are atomic: the archive is written to a temporary file in the destination folder and
moved over the destination with :func:`os.replace` only once complete.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from bayesgen.base.errors import ModelFileError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "persistable", "save_object", "load_object"]

FORMAT_NAME = "bayesgen-model"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_MAX_MANIFEST_BYTES = 64 * 2**20
_ALLOWED_DTYPE_KINDS = "biufU"  # bool, ints, floats, unicode strings; never objects

_REGISTRY: dict[str, type] = {}

#: what the zip module raises for a damaged archive: bad structure, truncation, a bad
#: deflate stream, or a zip version / compression method it does not implement
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, NotImplementedError)


def persistable(name: str):
    """Class decorator: allow ``cls`` in model files under ``name``.

    The class implements ``_get_state(self) -> dict`` returning JSON-able values, numpy
    arrays, and other persistable objects (nested in lists and dicts), and
    ``_from_state(cls, state) -> instance`` which must validate what it receives.
    """

    def decorate(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise RuntimeError(f"persistable name {name!r} registered twice")
        _REGISTRY[name] = cls
        cls._persist_name = name
        return cls

    return decorate


# -- encoding -------------------------------------------------------------------------


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._by_id: dict[int, str] = {}

    def encode(self, value):
        if isinstance(value, np.ndarray):
            return {"__ndarray__": self._add_array(value)}
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"model state keys must be strings; got {key!r}")
                out[key] = self.encode(item)
            return {"__dict__": out}
        name = getattr(type(value), "_persist_name", None)
        if name is not None and _REGISTRY.get(name) is type(value):
            return {"__object__": name, "state": self.encode(value._get_state())}
        raise TypeError(
            f"cannot store a {type(value).__name__} in a model file; only numbers, strings, "
            "numpy arrays and bayesgen objects can be saved"
        )

    def _add_array(self, array: np.ndarray) -> str:
        key = self._by_id.get(id(array))
        if key is not None:  # shared arrays (e.g. a tied covariance) are stored once
            return key
        if array.dtype.kind not in _ALLOWED_DTYPE_KINDS:
            raise TypeError(
                f"cannot store an array of dtype {array.dtype} in a model file; "
                "labels must be numbers or strings"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        self._by_id[id(array)] = key
        return key


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def decode(self, value, where="model"):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict) or len(value) not in (1, 2):
            raise ModelFileError(f"malformed model file: unexpected value at {where}")
        if "__ndarray__" in value and len(value) == 1:
            key = value["__ndarray__"]
            if not isinstance(key, str) or key not in self.arrays:
                raise ModelFileError(f"malformed model file: array {key!r} is missing")
            return self.arrays[key]
        if "__float__" in value and len(value) == 1:
            text = value["__float__"]
            if not isinstance(text, str) or text not in ("nan", "inf", "-inf"):
                raise ModelFileError(f"malformed model file: bad float {text!r} at {where}")
            return float(text)
        if "__tuple__" in value and len(value) == 1:
            items = value["__tuple__"]
            if not isinstance(items, list):
                raise ModelFileError(f"malformed model file: bad tuple at {where}")
            return tuple(self.decode(v, where) for v in items)
        if "__dict__" in value and len(value) == 1:
            items = value["__dict__"]
            if not isinstance(items, dict):
                raise ModelFileError(f"malformed model file: bad mapping at {where}")
            return {k: self.decode(v, f"{where}.{k}") for k, v in items.items()}
        if "__object__" in value and "state" in value:
            name = value["__object__"]
            cls = _REGISTRY.get(name) if isinstance(name, str) else None
            if cls is None:
                raise ModelFileError(
                    f"model file names an unknown object type {name!r} at {where}; "
                    f"known types: {sorted(_REGISTRY)}"
                )
            state = self.decode(value["state"], f"{where}<{name}>")
            if not isinstance(state, dict):
                raise ModelFileError(f"malformed model file: state of {name} is not a mapping")
            try:
                return cls._from_state(state)
            except ModelFileError:
                raise
            except Exception as exc:  # any failure to rebuild means a bad file
                raise ModelFileError(
                    f"model file holds an invalid {name} at {where}: {exc}"
                ) from None
        raise ModelFileError(f"malformed model file: unexpected mapping at {where}")


# -- files ----------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes_via(path: Path, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"output folder {str(parent)!r} does not exist; create it first or choose another path"
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would have
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def save_object(obj, path, *, library_version: str, metadata: dict | None = None) -> None:
    """Write a persistable object to ``path`` atomically.

    Parameters
    ----------
    obj : persistable object
    path : str or os.PathLike
    library_version : str
    metadata : dict, optional
        Extra JSON-able information stored in the manifest (not used when loading).
    """
    encoder = _Encoder()
    tree = encoder.encode(obj)
    blobs = {key: _npy_bytes(arr) for key, arr in encoder.arrays.items()}
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": library_version,
        "metadata": metadata or {},
        "arrays": {
            key: {
                "dtype": np.lib.format.dtype_to_descr(np.ascontiguousarray(arr).dtype),
                "shape": list(arr.shape),
                "sha256": _sha256(blobs[key]),
            }
            for key, arr in encoder.arrays.items()
        },
        "model": tree,
    }
    manifest_bytes = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_MANIFEST, manifest_bytes)
            for key, blob in blobs.items():
                archive.writestr(f"arrays/{key}.npy", blob)

    atomic_write_bytes_via(Path(path), write)


def _validate_manifest(manifest) -> None:
    if not isinstance(manifest, dict):
        raise ModelFileError("malformed model file: the manifest is not a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"not a bayesgen model file: format is {manifest.get('format')!r}, "
            f"expected {FORMAT_NAME!r}"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError("malformed model file: format_version is not an integer")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"model file has format version {version}, but this bayesgen "
            f"reads versions up to {FORMAT_VERSION} (file written by bayesgen "
            f"{manifest.get('library_version', '?')}); upgrade bayesgen to load it"
        )
    if version < 1:
        raise ModelFileError(f"malformed model file: format_version {version} is not valid")
    arrays = manifest.get("arrays")
    if not isinstance(arrays, dict):
        raise ModelFileError("malformed model file: 'arrays' is missing or not a mapping")
    for key, info in arrays.items():
        ok = (
            isinstance(info, dict)
            and isinstance(info.get("dtype"), str)
            and isinstance(info.get("shape"), list)
            and all(isinstance(s, int) and s >= 0 for s in info["shape"])
            and isinstance(info.get("sha256"), str)
        )
        if not ok:
            raise ModelFileError(f"malformed model file: entry for array {key!r} is invalid")
    if "model" not in manifest:
        raise ModelFileError("malformed model file: 'model' is missing")


def read_manifest(path) -> tuple[dict, zipfile.ZipFile]:
    """Open a model file and return its validated manifest and the open archive."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    try:
        archive = zipfile.ZipFile(path, "r")
    except _ZIP_ERRORS as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a readable bayesgen model file ({exc}); it may be "
            "truncated or not a model file at all — save the model again"
        ) from None
    try:
        info = archive.getinfo(_MANIFEST)
        if info.file_size > _MAX_MANIFEST_BYTES:
            raise ModelFileError("malformed model file: the manifest is implausibly large")
        manifest = json.loads(archive.read(_MANIFEST).decode("utf-8"))
    except KeyError:
        archive.close()
        raise ModelFileError(
            f"{str(path)!r} has no manifest.json; it is not a bayesgen model file"
        ) from None
    except ModelFileError:
        archive.close()
        raise
    except _ZIP_ERRORS as exc:
        archive.close()
        raise ModelFileError(f"{str(path)!r}: cannot read the manifest ({exc})") from None
    try:
        _validate_manifest(manifest)
    except ModelFileError:
        archive.close()
        raise
    return manifest, archive


def load_object(path):
    """Read an object written by :func:`save_object`; never executes code from the file.

    Returns
    -------
    object, dict
        The rebuilt object and the manifest.

    Raises
    ------
    ModelFileError
        The file is truncated, tampered with, or from a newer format version.
    """
    manifest, archive = read_manifest(path)
    arrays = {}
    with archive:
        for key, info in manifest["arrays"].items():
            member = f"arrays/{key}.npy"
            try:
                blob = archive.read(member)
            except KeyError:
                raise ModelFileError(
                    f"model file is incomplete: array {key!r} is missing"
                ) from None
            except _ZIP_ERRORS as exc:
                raise ModelFileError(
                    f"model file is damaged: array {key!r} cannot be read ({exc})"
                ) from None
            if _sha256(blob) != info["sha256"]:
                raise ModelFileError(
                    f"model file is damaged or was modified: checksum of array {key!r} "
                    "does not match its manifest"
                )
            try:
                array = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise ModelFileError(f"array {key!r} is not a valid .npy array ({exc})") from None
            if array.dtype.kind not in _ALLOWED_DTYPE_KINDS:
                raise ModelFileError(f"array {key!r} has a forbidden dtype {array.dtype}")
            if list(array.shape) != info["shape"] or (
                np.lib.format.dtype_to_descr(array.dtype) != info["dtype"]
            ):
                raise ModelFileError(
                    f"array {key!r} has shape {list(array.shape)} and dtype {array.dtype}, "
                    f"but the manifest says shape {info['shape']} and dtype {info['dtype']}"
                )
            arrays[key] = array
    obj = _Decoder(arrays).decode(manifest["model"])
    return obj, manifest
