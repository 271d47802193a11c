"""Model files crafted in a security review of the loader (issue 17), each refused with a
clear ModelFileError: text that is not Unicode, parser differentials (repeated JSON keys,
local zip headers that disagree with the directory, overlapping members), decompression
beyond a bounded ratio, labels that make every label array huge, and values that passed
the state checks but broke the model's methods.

Each test crafts one small file from a real saved model, sealed again with the manifest's
checksum as an attacker would.
"""

import hashlib
import io
import json
import struct
import zipfile

import numpy as np
import pandas as pd
import pytest

import bayesgen
from bayesgen import BayesClassifier, ModelFileError
from bayesgen.base.persist import manifest_checksum

_LABELS = np.array(["a", "b", "c"])


def _fit_save(path, X, y, density=None, metadata=None):
    BayesClassifier(density, random_state=0).fit(X, y).save(path, metadata=metadata)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("review")


@pytest.fixture(scope="module")
def saved(folder):
    """A Gaussian model of three text classes and three features."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    metadata = {"source": "train.csv", "source_format": "csv", "label_column": "label"}
    return _fit_save(folder / "gaussian.bgm", X, _LABELS[np.arange(60) % 3], None, metadata)


def _parts(path):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members.pop("manifest.json")), members


def _sealed(manifest) -> bytes:
    manifest = dict(manifest, manifest_sha256=manifest_checksum(manifest))
    return json.dumps(manifest).encode()


def _write(path, manifest, members, *, text=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("manifest.json", _sealed(manifest) if text is None else text)
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _set_array(manifest, members, key, blob, descr, shape):
    members[f"arrays/{key}.npy"] = blob
    manifest["arrays"][key] = {
        "dtype": descr,
        "shape": list(shape),
        "sha256": hashlib.sha256(blob).hexdigest(),
    }


def _state(manifest) -> dict:
    return manifest["model"]["state"]["__dict__"]


def _fitted(manifest, k=0) -> dict:
    return _state(manifest)["densities"][k]["state"]["__dict__"]["fitted"]["__dict__"]


def _refused(path, fragment):
    with pytest.raises(ModelFileError, match=fragment):
        bayesgen.load(path)


# -- text ------------------------------------------------------------------------------


def test_text_arrays_hold_only_unicode_characters(saved, tmp_path):
    """A '<U1' label array holding the code point 0xFFFFFFFF (sorted last, so the labels
    look sorted) made inspect and sample end in a SystemError traceback."""
    manifest, members = _parts(saved)
    key = _state(manifest)["classes"]["__ndarray__"]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<U1", "fortran_order": False, "shape": (3,)}
    )
    data = np.array([0x61, 0x62, 0xFFFFFFFF], dtype="<u4").tobytes()
    _set_array(manifest, members, key, header.getvalue() + data, "<U1", (3,))
    _refused(_write(tmp_path / "m.bgm", manifest, members), "not valid Unicode")


def test_lone_surrogates_in_the_manifest_are_refused(saved, tmp_path):
    """JSON can spell a lone surrogate (\\udfff), which no output can encode: the sample
    and inspect commands failed on it."""
    manifest, members = _parts(saved)
    manifest["metadata"]["source"] = "\udfff"
    _refused(_write(tmp_path / "m.bgm", manifest, members), "lone surrogate")


def test_repeated_json_keys_are_refused(saved, tmp_path):
    """Readers differ on which copy of a repeated key they keep."""
    manifest, members = _parts(saved)
    twice = b'"label_column": "=cmd()", "label_column": "label"'
    text = _sealed(manifest).replace(b'"label_column": "label"', twice)
    _refused(_write(tmp_path / "m.bgm", manifest, members, text=text), "'label_column' twice")


# -- the zip archive -------------------------------------------------------------------


def _local_header(buffer: bytes, name: str) -> int:
    at = buffer.find(b"PK\x03\x04")
    while buffer[at + 30 : at + 30 + len(name)] != name.encode():
        at = buffer.find(b"PK\x03\x04", at + 4)
    return at


def _central_entry(buffer: bytes, name: str) -> int:
    at = buffer.find(b"PK\x01\x02")
    while buffer[at + 46 : at + 46 + len(name)] != name.encode():
        at = buffer.find(b"PK\x01\x02", at + 4)
    return at


def test_local_headers_must_agree_with_the_directory(saved, tmp_path):
    """zipfile reads a member as the central directory says and a streaming reader as its
    local header says: a member deflated by one and stored by the other loaded."""
    manifest, members = _parts(saved)
    path = _write(tmp_path / "m.bgm", manifest, members, compression=zipfile.ZIP_DEFLATED)
    buffer = bytearray(path.read_bytes())
    struct.pack_into("<H", buffer, _local_header(buffer, "arrays/a1.npy") + 8, 0)  # stored
    path.write_bytes(buffer)
    _refused(path, "local header whose compression")


def test_overlapping_members_are_refused(saved, tmp_path):
    """A second directory entry for the bytes of another member (its local header agrees,
    name aside)."""
    manifest, members = _parts(saved)
    path = _write(tmp_path / "m.bgm", manifest, members)
    buffer = path.read_bytes()
    entry = _central_entry(buffer, "arrays/a1.npy")  # 46 bytes and the name, no extra field
    copy = buffer[entry : entry + 46] + b"arrays/b1.npy"
    end = buffer.rfind(b"PK\x05\x06")
    record = bytearray(buffer[end:])
    count, size = struct.unpack_from("<2xHI", record, 8)  # entries, directory bytes
    struct.pack_into("<HHI", record, 8, count + 1, count + 1, size + len(copy))
    path.write_bytes(buffer[:end] + copy + record)
    _refused(path, "overlap")


def test_members_cannot_claim_bytes_past_the_end_of_the_file(saved, tmp_path):
    """A compressed size beyond the file would let the ratio cap count bytes that are not
    there."""
    manifest, members = _parts(saved)
    path = _write(tmp_path / "m.bgm", manifest, members)
    buffer = bytearray(path.read_bytes())
    last = list(members)[-1]  # the last member written
    for at in (_local_header(buffer, last) + 18, _central_entry(buffer, last) + 20):
        struct.pack_into("<I", buffer, at, 0x7FFFFFF0)
    path.write_bytes(buffer)
    _refused(path, "more bytes than the file holds")


def test_a_zip64_locator_past_the_end_is_a_model_file_error(saved, tmp_path):
    path = tmp_path / "m.bgm"
    buffer = saved.read_bytes()
    end = buffer.rfind(b"PK\x05\x06")
    record = bytearray(buffer[end:])
    struct.pack_into("<I", record, 12, 0xFFFFFFFF)  # directory size: see the zip64 record
    locator = struct.pack("<IIQI", 0x07064B50, 0, 2**62, 1)
    path.write_bytes(buffer[:end] + locator + record)
    _refused(path, "points past the end of the file")


def test_decompression_is_bounded_by_a_ratio_of_the_file_size(saved, tmp_path):
    """A 100 KB file declaring an (unreferenced) 96 MiB array of zeros decompressed it in
    full; 1 MB files could fill 1 GiB."""
    manifest, members = _parts(saved)
    n = 96 * 2**20 // 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (n,)}
    )
    digest = hashlib.sha256(header.getvalue())
    zeros = bytes(2**20)
    for _ in range(96):
        digest.update(zeros)
    manifest["arrays"]["a99"] = {"dtype": "<f8", "shape": [n], "sha256": digest.hexdigest()}
    path = _write(tmp_path / "m.bgm", manifest, members)
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("arrays/a99.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as member:
            member.write(header.getvalue())
            for _ in range(96):
                member.write(zeros)
    assert path.stat().st_size < 200_000
    _refused(path, "max_compression_ratio")
    deflated = _write(tmp_path / "d.bgm", *_parts(saved), compression=zipfile.ZIP_DEFLATED)
    assert bayesgen.load(deflated) is not None  # honest deflated files are far below it


def test_dtypes_numpy_cannot_build_are_model_file_errors(saved, tmp_path):
    manifest, members = _parts(saved)
    manifest["arrays"]["a1"]["dtype"] = "<i16"
    _refused(_write(tmp_path / "m.bgm", manifest, members), "not a dtype numpy knows")


# -- labels and states -----------------------------------------------------------------


def test_label_arrays_are_as_wide_as_their_longest_label(saved, tmp_path):
    """'<U5000000' for the labels a, b, c (60 MB, deflated to 64 KB) made sample(100) ask
    for 2 GB; labels are narrowed on load, and a label may hold at most 1,024 characters."""
    manifest, members = _parts(saved)
    key = _state(manifest)["classes"]["__ndarray__"]
    _set_array(manifest, members, key, _npy(_LABELS.astype("<U100000")), "<U100000", (3,))
    model = bayesgen.load(_write(tmp_path / "wide.bgm", manifest, members))
    assert model.classes_.dtype == np.dtype("<U1")
    assert model.sample(5, random_state=0)[1].dtype == np.dtype("<U1")
    long = np.array(["a" * 1025, "b", "c"])
    _set_array(manifest, members, key, _npy(long), long.dtype.str, (3,))
    _refused(_write(tmp_path / "long.bgm", manifest, members), "at most 1,024 characters")


def test_datetime_bounds_must_fit_a_moment(folder, tmp_path):
    """Bounds of 1e300 seconds passed the number checks and made inspect end in an
    OverflowError traceback."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, 60), "D"),
            "x": rng.normal(size=60),
        }
    )
    saved = _fit_save(folder / "dates.bgm", frame, np.arange(60) % 2)
    manifest, members = _parts(saved)
    columns = _state(manifest)["schema"]["state"]["__dict__"]["columns"]
    spec = next(c["__dict__"] for c in columns if c["__dict__"]["kind"] == "datetime")
    spec["bounds"] = [-1e300, 1e300]
    _refused(_write(tmp_path / "m.bgm", manifest, members), "datetime bounds must lie within")


def test_logit_input_scale_must_be_a_normal_number(folder, tmp_path):
    """input_scale_ = 5e-324 is positive but makes log(input_scale_ / levels) a math
    domain error in predict_proba."""
    X = np.random.default_rng(0).uniform(0.05, 0.95, size=(60, 3))
    saved = _fit_save(folder / "logit.bgm", X, _LABELS[np.arange(60) % 3], "gaussian+logit")
    manifest, members = _parts(saved)
    _fitted(manifest)["transform_"]["state"]["__dict__"]["input_scale_"] = 5e-324
    _refused(_write(tmp_path / "m.bgm", manifest, members), "input_scale_ / levels")


def test_low_rank_factors_must_not_overflow_once_whitened(folder, tmp_path):
    """Finite W = 1e200 (or psi = 5e-324) loaded, then every log-density failed in the SVD
    with 'array must not contain infs or NaNs'."""
    X = np.random.default_rng(0).normal(size=(60, 4))
    saved = _fit_save(folder / "fa.bgm", X, _LABELS[np.arange(60) % 3], "fa:2")
    manifest, members = _parts(saved)
    state = _fitted(manifest)["covariance_"]["state"]["__dict__"]
    W = np.full((4, 2), 1e200)
    _set_array(manifest, members, state["W"]["__ndarray__"], _npy(W), "<f8", W.shape)
    _refused(_write(tmp_path / "m.bgm", manifest, members), "whitened")


def test_metadata_delimiters_are_printable(saved, tmp_path):
    """An ESC delimiter from the metadata was written between every two cells of the
    output CSV."""
    manifest, members = _parts(saved)
    manifest["metadata"]["delimiter"] = "\x1b"
    _refused(_write(tmp_path / "m.bgm", manifest, members), "delimiter")
