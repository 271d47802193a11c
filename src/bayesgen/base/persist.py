"""Safe model files: arrays plus a JSON manifest in a zip archive, never pickle.

Layout of a model file (a plain zip archive, members stored uncompressed by default)::

    manifest.json          format name and version, library version, the object tree
    arrays/a0.npy ...      one ``.npy`` file per array (read with ``allow_pickle=False``)

The object tree is JSON.  Arrays are referenced as ``{"__ndarray__": "a0"}``; library
objects as ``{"__object__": "GaussianDensity", "state": {...}}`` where the name must be in
an allow-list of registered classes, each of which rebuilds itself from plain data through
its own ``_from_state``.  Nothing in a file can name a function to call, so loading a file
cannot run code.  The manifest records every array's dtype, shape and SHA-256, and (from
format version 2) the SHA-256 of its own canonical JSON, which covers the metadata; loading
checks all of them, so a truncated or tampered file fails with :class:`ModelFileError`.

Loading costs what the manifest declares, within :class:`~bayesgen.base.load_limits.LoadLimits`
checked before anything is decompressed (:mod:`bayesgen.base.model_archive` reads the
archive), and every failure while loading is a :class:`ModelFileError`.  Writes go through
the atomic writer (:mod:`bayesgen.base.atomic`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from bayesgen.base.atomic import atomic_write
from bayesgen.base.errors import DataError, ModelFileError
from bayesgen.base.load_limits import LoadLimits, check_cap, check_declared
from bayesgen.base.model_archive import (
    ALLOWED_DTYPE_KINDS,
    MANIFEST,
    array_member,
    array_spec,
    check_members,
    open_archive,
    parse_manifest,
    read_array,
    read_manifest_bytes,
)
from bayesgen.base.model_metadata import check_metadata

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load_object",
    "manifest_checksum",
    "persistable",
    "read_manifest",
    "save_object",
]

FORMAT_NAME = "bayesgen-model"
FORMAT_VERSION = 2  # 2: the manifest carries the checksum of its own canonical JSON
_CHECKSUM = "manifest_sha256"
_TOP_KEYS = {"format", "format_version", "library_version", "metadata", "arrays", "model"}

_REGISTRY: dict[str, type] = {}


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
        if array.dtype.kind not in ALLOWED_DTYPE_KINDS:
            raise TypeError(
                f"cannot store an array of dtype {array.dtype} in a model file; "
                "labels must be numbers or strings"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        self._by_id[id(array)] = key
        return key


class _Decoder:
    """Rebuilds the object tree.  It recurses, but only as deep as the manifest nests, which
    :func:`~bayesgen.base.load_limits.check_declared` has bounded."""

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
            return {k: self.decode(v, f"{where}.{k[:40]}") for k, v in items.items()}
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
    # C order always (the loader refuses Fortran order); asarray keeps a 0-d array 0-d
    np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def manifest_checksum(manifest: dict) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of ``manifest`` without its
    checksum field: what format version 2 stores as ``manifest_sha256``."""
    body = {key: value for key, value in manifest.items() if key != _CHECKSUM}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def save_object(obj, path, *, library_version: str, metadata: dict | None = None) -> None:
    """Write a persistable object to ``path`` atomically.

    Parameters
    ----------
    obj : persistable object
    path : str or os.PathLike
    library_version : str
    metadata : dict, optional
        Plain JSON stored in the manifest and covered by its checksum; the keys that
        ``bayesgen fit`` writes must have their documented types.

    Raises
    ------
    DataError
        ``metadata`` is not plain JSON or breaks the schema of the ``bayesgen fit`` keys.
    """
    metadata = {} if metadata is None else metadata
    check_metadata(metadata, max_depth=LoadLimits().max_json_depth - 1, error=DataError)
    encoder = _Encoder()
    tree = encoder.encode(obj)
    blobs = {key: _npy_bytes(arr) for key, arr in encoder.arrays.items()}
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": library_version,
        "metadata": metadata,
        "arrays": {
            key: {
                "dtype": np.lib.format.dtype_to_descr(arr.dtype),
                "shape": list(arr.shape),
                "sha256": _sha256(blobs[key]),
            }
            for key, arr in encoder.arrays.items()
        },
        "model": tree,
    }
    manifest[_CHECKSUM] = manifest_checksum(manifest)
    manifest_bytes = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(MANIFEST, manifest_bytes)
            for key, blob in blobs.items():
                archive.writestr(array_member(key), blob)

    atomic_write(path, write)


def _check_version(manifest) -> int:
    if not isinstance(manifest, dict):
        raise ModelFileError(f"malformed model file: {MANIFEST} does not hold a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"not a bayesgen model file: format is {str(manifest.get('format'))[:80]!r}, "
            f"expected {FORMAT_NAME!r}"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(
            f"malformed model file: format_version must be a positive integer; found "
            f"{str(version)[:80]!r}"
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"model file has format version {version}, but this bayesgen reads versions up "
            f"to {FORMAT_VERSION} (file written by bayesgen "
            f"{str(manifest.get('library_version', '?'))[:40]!r}); upgrade bayesgen to load it"
        )
    return version


def _check_checksum(manifest: dict, version: int) -> None:
    stored = manifest.get(_CHECKSUM)
    if stored is None and version < 2:
        return  # version 1 files carry no checksum of the manifest
    if stored != manifest_checksum(manifest):
        raise ModelFileError(
            f"model file is damaged or was modified: {MANIFEST} does not match its "
            f"{_CHECKSUM} (found {str(stored)[:80]!r})"
        )


def _validate_manifest(manifest, limits: LoadLimits) -> dict:
    """Check the manifest against the format and ``limits``; return the array specs
    (key -> dtype, shape).  Sizes and depth are checked before the checksum and the
    metadata are walked."""
    version = _check_version(manifest)
    unexpected = sorted(set(manifest) - _TOP_KEYS - {_CHECKSUM})
    if unexpected or "model" not in manifest:
        raise ModelFileError(
            f"malformed model file: {MANIFEST} must hold the keys {sorted(_TOP_KEYS)}; "
            f"found {sorted(manifest)[:20]}"
        )
    arrays = manifest.get("arrays")
    if not isinstance(arrays, dict):
        raise ModelFileError(f"malformed model file: {MANIFEST}: 'arrays' is not a mapping")
    check_cap("arrays", len(arrays), limits, "max_arrays")
    specs = {key: array_spec(key, info) for key, info in arrays.items()}
    check_declared(manifest, specs, limits)
    _check_checksum(manifest, version)
    check_metadata(
        manifest.get("metadata", {}),
        max_depth=limits.max_json_depth,
        where=f"{MANIFEST}: metadata",
    )
    return specs


@contextlib.contextmanager
def _loading(path: Path):
    """Turn any failure while loading into a :class:`ModelFileError` that names the file."""
    try:
        yield
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(f"{str(path)!r}: the model is nested too deeply to load") from None
    except MemoryError:
        raise ModelFileError(
            f"{str(path)!r}: not enough memory to load the model it declares"
        ) from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {str(path)!r}: {exc}") from None
    except Exception as exc:  # anything else a malformed file triggers is still a bad file
        raise ModelFileError(
            f"{str(path)!r} is not a valid bayesgen model file ({type(exc).__name__}: {exc})"
        ) from None


def _arguments(path, limits: LoadLimits | None) -> tuple[Path, LoadLimits]:
    if limits is None:
        limits = LoadLimits()
    elif not isinstance(limits, LoadLimits):
        raise TypeError(f"limits must be a LoadLimits or None; got {type(limits).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    return path, limits


def _open_checked(path: Path, limits: LoadLimits):
    """Open a model file and check everything that costs no decompression of arrays:
    members, manifest, caps, checksum, metadata.  Returns (manifest, specs, archive)."""
    archive = open_archive(path, limits)
    try:
        try:
            raw = read_manifest_bytes(archive, limits)
        except KeyError:
            raise ModelFileError(
                f"{str(path)!r} has no {MANIFEST}; it is not a bayesgen model file"
            ) from None
        manifest = parse_manifest(raw, limits)
        del raw
        specs = _validate_manifest(manifest, limits)
        check_members(archive, specs, limits)
    except BaseException:
        archive.close()
        raise
    return manifest, specs, archive


def read_manifest(path, limits: LoadLimits | None = None) -> dict:
    """The validated manifest of a model file; reads no array.

    Raises
    ------
    ModelFileError
        Anything wrong with the file, including declared sizes above ``limits``.
    FileNotFoundError
        No file at ``path``.
    """
    path, limits = _arguments(path, limits)
    with _loading(path):
        manifest, _specs, archive = _open_checked(path, limits)
        archive.close()
    return manifest


def load_object(path, limits: LoadLimits | None = None):
    """Read an object written by :func:`save_object`; never executes code from the file.

    Parameters
    ----------
    path : str or os.PathLike
    limits : LoadLimits, optional
        Caps on what the file may declare (default: ``LoadLimits()``).

    Returns
    -------
    object, dict
        The rebuilt object and the manifest.

    Raises
    ------
    ModelFileError
        The file is truncated, tampered with, malformed, declares more than ``limits``
        allow, or is from a newer format version.
    FileNotFoundError
        No file at ``path``.
    """
    path, limits = _arguments(path, limits)
    with _loading(path):
        manifest, specs, archive = _open_checked(path, limits)
        with archive:
            arrays = {
                key: read_array(archive, key, spec, manifest["arrays"][key]["sha256"])
                for key, spec in specs.items()
            }
        obj = _Decoder(arrays).decode(manifest["model"])
    return obj, manifest
