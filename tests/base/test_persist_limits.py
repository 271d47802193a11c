"""Loading a model file costs what its manifest declares, within LoadLimits, and every
malformed file is a ModelFileError that says what is wrong and where.

Each test crafts one small file from a real saved model; caps are lowered through
LoadLimits so that no test needs a big file.
"""

import hashlib
import io
import json
import struct
import zipfile

import numpy as np
import pytest

import bayesgen
from bayesgen import BayesClassifier, DataError, LoadLimits, ModelFileError
from bayesgen.base.persist import FORMAT_VERSION, load_object, manifest_checksum, read_manifest


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.arange(60) % 2
    path = tmp_path_factory.mktemp("model") / "m.bgm"
    BayesClassifier("gaussian").fit(X + y[:, None], y).save(path, metadata={"n_rows": 60})
    return path


def _parts(path):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members.pop("manifest.json")), members


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write(path, manifest, members, *, seal=True, compression=None, extra=()):
    """Write a model file; ``compression`` maps a member name to its zip method."""
    if seal:
        manifest = dict(manifest, manifest_sha256=manifest_checksum(manifest))
    compression = compression or {}
    with zipfile.ZipFile(path, "w") as archive:
        entries = [("manifest.json", json.dumps(manifest).encode()), *members.items(), *extra]
        for name, data in entries:
            archive.writestr(name, data, compress_type=compression.get(name, zipfile.ZIP_STORED))
    return path


def _craft(saved, tmp_path, edit=None, **options):
    manifest, members = _parts(saved)
    if edit is not None:
        edit(manifest, members)
    return _write(tmp_path / "crafted.bgm", manifest, members, **options)


def _replace_array(manifest, members, key, blob):
    members[f"arrays/{key}.npy"] = blob
    manifest["arrays"][key]["sha256"] = hashlib.sha256(blob).hexdigest()


def _refused(path, fragment, limits=None):
    with pytest.raises(ModelFileError, match=fragment):
        bayesgen.load(path, limits=limits)


# -- honest files ---------------------------------------------------------------------


def test_honest_model_round_trips_under_default_limits(saved):
    model = bayesgen.load(saved)
    assert isinstance(model, BayesClassifier)
    manifest = read_manifest(saved)
    assert manifest["format_version"] == FORMAT_VERSION == 2
    assert manifest["manifest_sha256"] == manifest_checksum(manifest)
    assert bayesgen.read_metadata(saved) == {"n_rows": 60}


def test_raised_limits_load_what_the_defaults_refuse(saved):
    _refused(saved, "LoadLimits.max_array_bytes", LoadLimits(max_array_bytes=100))
    assert bayesgen.load(saved, limits=LoadLimits(max_array_bytes=10_000)) is not None


def test_a_tied_array_referenced_twice_is_decoded_once(tmp_path, monkeypatch):
    from bayesgen.base import persist

    X = np.random.default_rng(1).normal(size=(40, 3))
    path = tmp_path / "tied.bgm"
    model = BayesClassifier("tied").fit(X, np.arange(40) % 2)
    model.save(path)
    assert json.dumps(read_manifest(path)["model"]).count('"a4"') == 2
    reads = []
    original = persist.read_array
    monkeypatch.setattr(
        persist, "read_array", lambda a, key, *r: reads.append(key) or original(a, key, *r)
    )
    np.testing.assert_array_equal(bayesgen.load(path).score_samples(X), model.score_samples(X))
    assert sorted(reads) == sorted(set(reads)) and "a4" in reads


def test_version_1_files_without_a_checksum_still_load(tmp_path, saved):
    def as_version_1(manifest, members):
        manifest["format_version"] = 1
        manifest.pop("manifest_sha256")

    path = _craft(saved, tmp_path, as_version_1, seal=False)
    assert isinstance(bayesgen.load(path), BayesClassifier)


# -- the archive ----------------------------------------------------------------------


def test_duplicate_member_names_are_refused(tmp_path, saved):
    manifest, members = _parts(saved)
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _write(tmp_path / "dup.bgm", manifest, members, extra=[("manifest.json", b"{}")])
    _refused(path, "'manifest.json' twice")


def test_members_the_manifest_does_not_list_are_refused(tmp_path, saved):
    manifest, members = _parts(saved)
    path = _write(tmp_path / "x.bgm", manifest, members, extra=[("arrays/zz.npy", b"")])
    _refused(path, "unexpected member 'arrays/zz.npy'")


@pytest.mark.parametrize(
    ("method", "name"), [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "lzma")]
)
def test_only_stored_and_deflated_members_are_read(tmp_path, saved, method, name):
    path = _craft(saved, tmp_path, compression={"arrays/a0.npy": method})
    _refused(path, f"'arrays/a0.npy' is compressed with {name}")


def test_deflated_members_load(tmp_path, saved):
    manifest, members = _parts(saved)
    deflated = dict.fromkeys([*members, "manifest.json"], zipfile.ZIP_DEFLATED)
    path = _write(tmp_path / "d.bgm", manifest, members, compression=deflated)
    assert isinstance(bayesgen.load(path), BayesClassifier)


def test_encrypted_members_are_refused(tmp_path, saved):
    data = bytearray(_craft(saved, tmp_path).read_bytes())
    at = data.find(b"PK\x01\x02")  # the central directory entry of the first member
    data[at + 8] |= 0x1
    (tmp_path / "enc.bgm").write_bytes(bytes(data))
    _refused(tmp_path / "enc.bgm", "'manifest.json' is encrypted")


def test_a_big_central_directory_is_refused_before_it_is_parsed(tmp_path, saved):
    manifest, members = _parts(saved)
    extra = [(f"arrays/z{i}.npy", b"") for i in range(40)]
    path = _write(tmp_path / "many.bgm", manifest, members, extra=extra)
    _refused(path, "declares zip directory bytes", LoadLimits(max_arrays=5))


def test_a_damaged_member_names_the_member(tmp_path, saved):
    data = bytearray(saved.read_bytes())
    at = data.find(b"\x93NUMPY")  # the first array's data, stored: its CRC no longer matches
    data[at + 100] ^= 0xFF
    (tmp_path / "crc.bgm").write_bytes(bytes(data))
    _refused(tmp_path / "crc.bgm", "member 'arrays/a0.npy' cannot be read.*CRC")


# -- sizes ----------------------------------------------------------------------------


def test_trailing_bytes_after_a_valid_array_are_refused(tmp_path, saved):
    def pad(manifest, members):
        blob = members["arrays/a3.npy"] + bytes(100_000)  # deflates to a few hundred bytes
        _replace_array(manifest, members, "a3", blob)

    path = _craft(saved, tmp_path, pad, compression={"arrays/a3.npy": zipfile.ZIP_DEFLATED})
    assert path.stat().st_size < 10_000
    _refused(path, "'arrays/a3.npy' declares 100,152 bytes.*trailing bytes")


def test_a_truncated_array_is_refused(tmp_path, saved):
    def cut(manifest, members):
        _replace_array(manifest, members, "a3", members["arrays/a3.npy"][:-8])

    _refused(_craft(saved, tmp_path, cut), "'arrays/a3.npy' declares 144 bytes.*truncated")


def test_header_must_match_the_manifest(tmp_path, saved):
    def retype(manifest, members):  # same size, other dtype
        _replace_array(manifest, members, "a3", _npy(np.arange(3, dtype="<i8")))

    _refused(_craft(saved, tmp_path, retype), "holds an array of shape \\[3\\], dtype <i8")


def test_fortran_order_is_refused(tmp_path, saved):
    def transpose(manifest, members):
        _replace_array(manifest, members, "a4", _npy(np.asfortranarray(np.eye(3) + np.eye(3)[0])))

    _refused(_craft(saved, tmp_path, transpose), "fortran order: True")


def test_a_huge_npy_header_claim_is_refused(tmp_path, saved):
    def claim(manifest, members):
        blob = members["arrays/a3.npy"]
        header = blob[10:128]
        forged = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1) + header[:-2] + blob[128:]
        _replace_array(manifest, members, "a3", forged)

    _refused(_craft(saved, tmp_path, claim), "'arrays/a3.npy' is not a valid .npy array")


@pytest.mark.parametrize(
    ("dtype", "fragment"),
    [
        ("<U0", "not a valid dtype of non-zero size"),
        ("|V8", "must be a bool, integer, float or unicode dtype"),
        ("|O", "must be a bool, integer, float or unicode dtype"),
        ("[('a', '<f8')]", "must be a bool, integer, float or unicode dtype"),
    ],
)
def test_forbidden_dtypes_are_refused_from_the_manifest(tmp_path, saved, dtype, fragment):
    def retype(manifest, members):
        manifest["arrays"]["a3"]["dtype"] = dtype

    _refused(_craft(saved, tmp_path, retype), f"arrays.a3.dtype.* {fragment}")


# -- caps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_array_bytes", 100),
        ("max_elements", 10),
        ("max_arrays", 3),
        ("max_objects", 2),
        ("max_json_nodes", 50),
        ("max_json_depth", 5),
        ("max_manifest_bytes", 1000),
        ("max_referenced_bytes", 100),
    ],
)
def test_each_cap_is_checked_and_says_how_to_raise_it(tmp_path, saved, field, value):
    with pytest.raises(ModelFileError) as caught:
        bayesgen.load(saved, limits=LoadLimits(**{field: value}))
    message = str(caught.value)
    assert "model file declares" in message and "above the limit of" in message
    assert f"LoadLimits({field}=...)" in message
    assert ("BAYESGEN_MAX_MODEL_BYTES" in message) == (field != "max_json_depth")


def test_many_references_to_one_array_are_refused_before_any_object_is_built(
    tmp_path, saved, monkeypatch
):
    """400 densities sharing one covariance array: 400 x its size, refused up front."""
    built = []
    from bayesgen.kernels.covariance import FullCovariance

    original = FullCovariance._from_state.__func__
    monkeypatch.setattr(
        FullCovariance, "_from_state", classmethod(lambda c, s: built.append(1) or original(c, s))
    )

    def repeat(manifest, members):
        state = manifest["model"]["state"]["__dict__"]
        state["densities"] = state["densities"][:1] * 400

    path = _craft(saved, tmp_path, repeat)
    limits = LoadLimits(max_referenced_bytes=20_000)  # 400 references to a 72-byte factor
    _refused(path, "array bytes summed over every reference: ", limits)
    assert not built


# -- JSON -----------------------------------------------------------------------------


def test_a_manifest_nested_100000_deep_is_refused(tmp_path, saved):
    def nest(manifest, members):
        manifest["metadata"] = {"deep": "@"}

    path = _craft(saved, tmp_path, nest, seal=False)
    manifest, members = _parts(path)
    text = json.dumps(manifest).replace('"@"', "[" * 100_000 + "]" * 100_000)
    with zipfile.ZipFile(tmp_path / "deep.bgm", "w") as archive:
        archive.writestr("manifest.json", text, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            archive.writestr(name, data)
    _refused(tmp_path / "deep.bgm", "nested too deeply to parse")


def test_a_model_tree_deeper_than_the_cap_is_refused(tmp_path, saved):
    def nest(manifest, members):
        deep = 1
        for _ in range(150):
            deep = [deep]
        manifest["model"] = deep

    _refused(_craft(saved, tmp_path, nest), "nested this many levels deep: 15[0-9]")


def test_a_flood_of_empty_mappings_is_refused_before_parsing(tmp_path, saved):
    def flood(manifest, members):
        manifest["metadata"] = {"x": [{}] * 5000}

    limits = LoadLimits(max_json_nodes=2000)
    _refused(_craft(saved, tmp_path, flood), "at most, counting brackets and commas", limits)


def test_a_manifest_that_is_not_json_is_refused(tmp_path, saved):
    _, members = _parts(saved)
    with zipfile.ZipFile(tmp_path / "bad.bgm", "w") as archive:
        archive.writestr("manifest.json", b"\xff{not json")
        for name, data in members.items():
            archive.writestr(name, data)
    _refused(tmp_path / "bad.bgm", "manifest.json is not valid JSON")


# -- metadata and the checksum --------------------------------------------------------


def test_edited_metadata_breaks_the_checksum(tmp_path, saved):
    def edit(manifest, members):
        manifest["metadata"]["feature_names"] = ["=HYPERLINK(1)", "b", "c"]

    _refused(_craft(saved, tmp_path, edit, seal=False), "does not match its manifest_sha256")


def test_version_2_requires_the_checksum(tmp_path, saved):
    def drop(manifest, members):
        manifest.pop("manifest_sha256")

    _refused(_craft(saved, tmp_path, drop, seal=False), "does not match its manifest_sha256")


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ({"image_shape": "28x28"}, "image_shape'\\] must be \\[height, width\\]"),
        ({"n_rows": "many"}, "n_rows'\\] must be a non-negative integer"),
        ({"feature_names": "abc"}, "feature_names'\\] must be a list of texts"),
        ({"pixel_scale": -1}, "pixel_scale'\\] must be a finite positive number"),
        ({"delimiter": ",,"}, "delimiter'\\] must be one character"),
        ({"decimal": ";"}, "decimal'\\] must be '.' or ','"),
        ({"label_dtype": "object"}, "label_dtype'\\] must be 'category'"),
        ({"source_format": "csv\x1b]"}, "source_format'\\] must be a format name"),
        ({"table": 1}, "table'\\] must be true or false"),
        ([1, 2], "metadata must be a mapping"),
    ],
)
def test_metadata_follows_its_schema(tmp_path, saved, metadata, fragment):
    def edit(manifest, members):
        manifest["metadata"] = metadata

    path = _craft(saved, tmp_path, edit)
    _refused(path, fragment)
    with pytest.raises(ModelFileError, match=fragment):
        bayesgen.read_metadata(path)


def test_saving_refuses_metadata_that_would_not_load(tmp_path):
    model = BayesClassifier().fit(np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2)
    with pytest.raises(DataError, match="n_rows'\\] must be a non-negative integer"):
        model.save(tmp_path / "m.bgm", metadata={"n_rows": -1})
    with pytest.raises(DataError, match="must be finite"):
        model.save(tmp_path / "m.bgm", metadata={"mine": [float("nan")]})
    with pytest.raises(DataError, match="not text"):
        model.save(tmp_path / "m.bgm", metadata={"mine": {1: "a"}})
    model.save(tmp_path / "m.bgm", metadata={"mine": {"nested": [1, 2.5, None, True]}})
    assert bayesgen.read_metadata(tmp_path / "m.bgm")["mine"]["nested"] == [1, 2.5, None, True]


# -- every failure is a ModelFileError ------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda m: m["arrays"].update(a3=[1]), "arrays.a3 must be a mapping"),
        (lambda m: m["arrays"]["a3"].update(shape=[-1]), "arrays.a3.shape must be a list"),
        (lambda m: m.update(surprise=1), "must hold the keys"),
        (lambda m: m.update(format_version="2"), "format_version must be a positive integer"),
        (lambda m: m.update(model={"__object__": "BayesClassifier", "state": [1]}), "state"),
        (lambda m: m.update(model={"__ndarray__": "a99"}), "array 'a99' is missing"),
    ],
)
def test_malformed_manifests_are_model_file_errors(tmp_path, saved, edit, fragment):
    _refused(_craft(saved, tmp_path, lambda m, _: edit(m)), fragment)


def test_an_unexpected_exception_while_rebuilding_is_a_model_file_error(
    tmp_path, saved, monkeypatch
):
    from bayesgen.kernels.covariance import FullCovariance

    def broken(cls, state):
        raise IndexError("index 999 is out of bounds")

    monkeypatch.setattr(FullCovariance, "_from_state", classmethod(broken))
    _refused(saved, "invalid FullCovariance at model.*index 999")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_object(tmp_path / "missing.bgm")
    _refused(tmp_path, "is not a regular file")


# -- the command line's override ------------------------------------------------------


def test_environment_variable_scales_the_limits():
    limits = LoadLimits.from_env({"BAYESGEN_MAX_MODEL_BYTES": "8GiB"})
    assert limits.max_array_bytes == 8 * 2**30
    assert limits.max_referenced_bytes == 4 * LoadLimits().max_referenced_bytes
    assert limits.max_json_depth == LoadLimits().max_json_depth
    assert LoadLimits.from_env({"BAYESGEN_MAX_MODEL_BYTES": "1500"}).max_array_bytes == 1500
    assert LoadLimits.from_env({}) == LoadLimits()
    for bad in ("lots", "1.5GB", "0", "-3", "4 gigs"):
        with pytest.raises(DataError, match="BAYESGEN_MAX_MODEL_BYTES"):
            LoadLimits.from_env({"BAYESGEN_MAX_MODEL_BYTES": bad})


def test_command_line_reads_the_environment_variable(saved, monkeypatch):
    from bayesgen.cli.common import UsageError, load_model

    monkeypatch.setenv("BAYESGEN_MAX_MODEL_BYTES", "100")
    with pytest.raises(ModelFileError, match="BAYESGEN_MAX_MODEL_BYTES"):
        load_model(str(saved))
    monkeypatch.setenv("BAYESGEN_MAX_MODEL_BYTES", "a lot")
    with pytest.raises(UsageError, match="BAYESGEN_MAX_MODEL_BYTES.*'a lot'"):
        load_model(str(saved))
    monkeypatch.delenv("BAYESGEN_MAX_MODEL_BYTES")
    model, metadata = load_model(str(saved))
    assert metadata == {"n_rows": 60}


def test_limits_are_validated():
    with pytest.raises(DataError, match="max_objects must be a positive integer"):
        LoadLimits(max_objects=0)
