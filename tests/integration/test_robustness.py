"""Robustness: fuzzed model files, a newer model file through the CLI, numerics.

Nothing may escape except bayesgen's documented error types (``BayesgenError`` and its
subclasses, ``FileNotFoundError``), the CLI exits 1 for bad model files, and no partial
output is left behind.  The CLI's bad-input catalogue is in tests/cli/test_cli_errors.py.
"""

import hashlib
import io
import json
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayesgen
from bayesgen import BayesClassifier, BayesgenError, ModelFileError
from bayesgen.base.persist import manifest_checksum
from bayesgen.cli import main


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.array(["a", "b", "c"])[np.arange(120) % 3]
    path = tmp_path_factory.mktemp("m") / "m.bgm"
    BayesClassifier(shrinkage="auto").fit(X, y).save(path)
    return path.read_bytes()


def _load_bytes(tmp_path, data: bytes):
    path = tmp_path / "fuzz.bgm"
    path.write_bytes(data)
    try:
        return bayesgen.load(path)
    except ModelFileError:
        return None


def _members(model_bytes: bytes) -> dict:
    """A model file's members: name -> bytes."""
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zipped(members: dict) -> bytes:
    """The members written back as a model file (a fresh zip, members stored)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    return out.getvalue()


def _reseal(manifest: dict) -> None:
    """Recompute the manifest's checksum, as an attacker can (it is not keyed), so the
    fuzzed values reach the structural and object checks behind it."""
    if isinstance(manifest, dict) and "manifest_sha256" in manifest:
        manifest["manifest_sha256"] = manifest_checksum(manifest)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_model_file_bytes(tmp_path, model_bytes, data):
    """Flip, cut or splice bytes: loading fails cleanly with ModelFileError (or loads)."""
    blob = bytearray(model_bytes)
    op = data.draw(st.sampled_from(["flip", "truncate", "insert", "garbage"]))
    if op == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= data.draw(st.integers(1, 255))
    elif op == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    elif op == "insert":
        i = data.draw(st.integers(0, len(blob)))
        blob[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        blob = bytearray(data.draw(st.binary(max_size=2048)))
    _load_bytes(tmp_path, bytes(blob))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "__ndarray__",
                    "__object__",
                    "state",
                    "__dict__",
                    "__tuple__",
                    "__float__",
                    "params",
                    "x",
                ]
            ),
            children,
            max_size=3,
        )
    ),
    max_leaves=12,
)


_DESCRS = ["<f8", ">f8", "<f4", "<f2", "<i8", "|b1", "<U1", "<U0", "|S8", "|O", "|V8",
           "<M8[D]", "<c16", "[('a', '<f8')]", "('<f8', (2,))"]  # fmt: skip


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_npy_headers(tmp_path, model_bytes, data):
    """Rewrite one array member's .npy header (dtype, shape, order) and, as an attacker
    can, its checksum and the manifest's: refused with ModelFileError, or loaded with the
    values that were saved."""
    members = _members(model_bytes)
    manifest = json.loads(members["manifest.json"])
    key = data.draw(st.sampled_from(sorted(manifest["arrays"])))
    blob = members[f"arrays/{key}.npy"]
    header_len = int.from_bytes(blob[8:10], "little")
    body = blob[10 + header_len :]
    descr = data.draw(st.sampled_from(_DESCRS))
    shape = data.draw(st.lists(st.integers(0, 2**40), max_size=3).map(tuple))
    order = data.draw(st.booleans())
    text = f"{{'descr': {descr!r}, 'fortran_order': {order}, 'shape': {shape}, }}"
    if data.draw(st.booleans()):
        text = text.replace(repr(descr), descr)  # also a descr that is not a string
    header = text.encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    new = blob[:8] + len(header).to_bytes(2, "little") + header + body
    members[f"arrays/{key}.npy"] = new
    entry = manifest["arrays"][key]
    entry["sha256"] = hashlib.sha256(new).hexdigest()
    if data.draw(st.booleans()):  # the manifest agrees with the forged header
        entry["dtype"], entry["shape"] = descr, list(shape)
    _reseal(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    loaded = _load_bytes(tmp_path, _zipped(members))
    if loaded is not None:
        original = _load_bytes(tmp_path, model_bytes)
        np.testing.assert_array_equal(original.classes_, loaded.classes_)
        for a, b in zip(original.densities_, loaded.densities_, strict=True):
            np.testing.assert_array_equal(a.mean_, b.mean_)


#: fields of a zip local header and central-directory entry: (offset in the record,
#: struct format) -- flags, method, CRC, compressed and uncompressed size, name length and
#: (central only) the local header's offset
_LOCAL_FIELDS = {"flags": (6, "<H"), "method": (8, "<H"), "crc": (14, "<I"),
                 "csize": (18, "<I"), "usize": (22, "<I"), "nlen": (26, "<H")}  # fmt: skip
_CENTRAL_FIELDS = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<I"),
                   "csize": (20, "<I"), "usize": (24, "<I"), "nlen": (28, "<H"),
                   "offset": (42, "<I")}  # fmt: skip


def _record_offsets(blob: bytes) -> tuple[list[int], list[int]]:
    """Offsets of every member's local header and central-directory entry."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        local = [info.header_offset for info in z.infolist()]
        central, at = [], z.start_dir
        for info in z.infolist():
            central.append(at)
            at += 46 + len(info.filename.encode()) + len(info.extra) + len(info.comment)
    return local, central


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_zip_headers(tmp_path, model_bytes, data):
    """Lie in a member's local header or central-directory entry (method, flags, CRC,
    sizes, name length, offset): loading is refused with ModelFileError, or, when the lie
    is harmless, the model loads with exactly the arrays that were saved."""
    blob = bytearray(model_bytes)
    local, central = _record_offsets(model_bytes)
    which = data.draw(st.sampled_from(["local", "central"]))
    fields = _LOCAL_FIELDS if which == "local" else _CENTRAL_FIELDS
    name = data.draw(st.sampled_from(sorted(fields)))
    start = data.draw(st.sampled_from(local if which == "local" else central))
    offset, fmt = fields[name]
    top = 2 ** (8 * struct.calcsize(fmt)) - 1
    value = data.draw(st.one_of(st.sampled_from([0, 1, 8, 12, 14, 99, top]), st.integers(0, top)))
    struct.pack_into(fmt, blob, start + offset, value)
    loaded = _load_bytes(tmp_path, bytes(blob))
    if loaded is not None:
        original = _load_bytes(tmp_path, model_bytes)
        for a, b in zip(original.densities_, loaded.densities_, strict=True):
            np.testing.assert_array_equal(a.mean_, b.mean_)
        np.testing.assert_array_equal(original.classes_, loaded.classes_)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    replacement=json_values, where=st.sampled_from(["model", "arrays", "format_version", "root"])
)
def test_fuzz_manifest_structure(tmp_path, model_bytes, replacement, where):
    """A manifest with arbitrary JSON in any place is refused with ModelFileError."""
    members = _members(model_bytes)
    manifest = json.loads(members["manifest.json"])
    if where == "root":
        manifest = replacement
    else:
        manifest[where] = replacement
        _reseal(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    _load_bytes(tmp_path, _zipped(members))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.lists(st.integers(0, 50), min_size=1, max_size=6), replacement=json_values)
def test_fuzz_nested_state(tmp_path, model_bytes, path, replacement):
    """Replace a random node deep inside the object tree."""
    members = _members(model_bytes)
    manifest = json.loads(members["manifest.json"])
    node = manifest["model"]
    for step in path:
        children = list(node.values()) if isinstance(node, dict) else node
        if not isinstance(children, list) or not children:
            break
        child = children[step % len(children)]
        if not isinstance(child, (dict, list)):
            key = (
                list(node)[step % len(children)] if isinstance(node, dict) else step % len(children)
            )
            node[key] = replacement
            break
        node = child
    _reseal(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    path_ = tmp_path / "n.bgm"
    path_.write_bytes(_zipped(members))
    try:
        model = bayesgen.load(path_)
    except ModelFileError:
        return
    # if it loaded, it must still work or fail with a documented error
    try:
        model.predict_proba(np.zeros((2, 3)))
    except BayesgenError:
        pass


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_newer_model_version_through_cli(tmp_path, capsys, model_bytes):
    members = _members(model_bytes)
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 7
    members["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path / "new.bgm"
    path.write_bytes(_zipped(members))
    code, _, err = cli(capsys, "inspect", path)
    assert code == 1 and "format version 7" in err and "upgrade" in err


def test_float32_input_and_large_offsets_are_stable():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4)) * [1.0, 2.0, 0.5, 1.0]
    y = np.arange(2000) % 2
    X[y == 1] += 1.0
    reference = BayesClassifier("gaussian").fit(X, y)
    shifted = BayesClassifier("gaussian").fit(X + 1e8, y)
    for a, b in zip(reference.densities_, shifted.densities_, strict=False):
        np.testing.assert_allclose(a.covariance(), b.covariance(), rtol=1e-6)
    as32 = BayesClassifier("gaussian").fit(X.astype(np.float32), y)
    np.testing.assert_allclose(
        as32.predict_proba(X.astype(np.float32)), reference.predict_proba(X), atol=1e-5
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    scale=st.floats(1e-3, 1e3),
    n_classes=st.integers(2, 5),
)
def test_posteriors_sum_to_one_and_argmax_is_predict(seed, scale, n_classes):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40 * n_classes, 3)) * scale
    y = np.arange(X.shape[0]) % n_classes
    X += y[:, None] * scale
    model = BayesClassifier("gaussian", reg_covar=1e-6 * scale**2).fit(X, y)
    probe = rng.normal(size=(20, 3)) * scale * 10
    proba = model.predict_proba(probe)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(model.predict(probe), model.classes_[proba.argmax(1)])
