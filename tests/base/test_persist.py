"""Model files: exact round trip, no pickle, clear errors for damaged files."""

import json
import os
import zipfile

import numpy as np
import pytest

import bayesgen
from bayesgen import BayesClassifier, GaussianDensity, ModelFileError
from bayesgen.base.persist import manifest_checksum


@pytest.fixture(params=["gaussian", "diag", "tied"])
def model(request):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 300)]
    return BayesClassifier(request.param, shrinkage=0.1).fit(X + (y == "b")[:, None], y), X


def test_round_trip_is_exact(model, tmp_path):
    model, X = model
    path = tmp_path / "m.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    a = model.sample(10, random_state=3)
    b = loaded.sample(10, random_state=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert loaded.get_params() == model.get_params()


def test_file_has_no_pickle(model, tmp_path):
    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
        for name in names:
            if name.endswith(".npy"):
                header = z.read(name)[:128]
                assert b"|O" not in header
    assert manifest["format"] == "bayesgen-model"
    assert manifest["library_version"] == bayesgen.__version__


def test_tied_covariance_stored_once(tmp_path):
    X = np.random.default_rng(1).normal(size=(200, 30))
    y = np.arange(200) % 4
    path = tmp_path / "t.bgm"
    BayesClassifier("tied").fit(X, y).save(path)
    with zipfile.ZipFile(path) as z:
        assert len([n for n in z.namelist() if n.endswith(".npy")]) < 4 + 8


def _rewrite(path, out, *, manifest_edit=None, array_edit=None, seal=True):
    """Copy a model file with edits; ``seal`` recomputes the manifest's checksum, as a
    crafted file would, so that the edit reaches the checks behind it."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members["manifest.json"])
    if manifest_edit:
        manifest_edit(manifest)
    if seal:
        manifest["manifest_sha256"] = manifest_checksum(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    if array_edit:
        array_edit(members)
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)


def test_truncated_file(model, tmp_path):
    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.bgm").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        bayesgen.load(tmp_path / "cut.bgm")


def test_tampered_array_is_detected(model, tmp_path):
    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)

    def flip(members):
        name = next(n for n in members if n.endswith(".npy"))
        blob = bytearray(members[name])
        blob[-1] ^= 0xFF
        members[name] = bytes(blob)

    _rewrite(path, tmp_path / "bad.bgm", array_edit=flip)
    with pytest.raises(ModelFileError, match="checksum"):
        bayesgen.load(tmp_path / "bad.bgm")


def test_newer_format_version(model, tmp_path):
    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)

    def bump(m):
        m["format_version"] = 99

    _rewrite(path, tmp_path / "new.bgm", manifest_edit=bump)
    with pytest.raises(ModelFileError, match="upgrade bayesgen"):
        bayesgen.load(tmp_path / "new.bgm")


def test_unknown_object_type_cannot_run_code(model, tmp_path):
    """A crafted file naming an arbitrary callable is refused, and nothing runs."""
    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)
    marker = tmp_path / "pwned"

    def evil(m):
        m["model"] = {
            "__object__": "os.system",
            "state": {"__dict__": {"cmd": f"touch {marker}"}},
        }

    _rewrite(path, tmp_path / "evil.bgm", manifest_edit=evil)
    with pytest.raises(ModelFileError, match="unknown object type"):
        bayesgen.load(tmp_path / "evil.bgm")
    assert not marker.exists()


def test_pickled_npy_member_is_refused(model, tmp_path):
    """Even an object array slipped in with a matching checksum is not unpickled."""
    import hashlib
    import io

    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    blob = buf.getvalue()

    def inject(members):
        members["arrays/a0.npy"] = blob

    def fix(m):
        m["arrays"]["a0"]["sha256"] = hashlib.sha256(blob).hexdigest()

    _rewrite(path, tmp_path / "obj.bgm", manifest_edit=fix, array_edit=inject)
    with pytest.raises(ModelFileError):
        bayesgen.load(tmp_path / "obj.bgm")


def test_not_a_model_file(tmp_path):
    (tmp_path / "x.bgm").write_text("hello")
    with pytest.raises(ModelFileError):
        bayesgen.load(tmp_path / "x.bgm")
    with pytest.raises(FileNotFoundError):
        bayesgen.load(tmp_path / "missing.bgm")


def test_atomic_save_keeps_old_file_on_failure(model, tmp_path, monkeypatch):
    model, _ = model
    path = tmp_path / "m.bgm"
    model.save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bgm"]


def test_missing_output_folder(model, tmp_path):
    model, _ = model
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save(tmp_path / "nope" / "m.bgm")


def test_density_round_trip(tmp_path):
    X = np.random.default_rng(2).normal(size=(100, 3))
    from bayesgen.base.persist import load_object, save_object

    d = GaussianDensity(shrinkage="auto").fit(X)
    save_object(d, tmp_path / "d.bgm", library_version="test")
    loaded, manifest = load_object(tmp_path / "d.bgm")
    np.testing.assert_array_equal(loaded.score_samples(X), d.score_samples(X))


@pytest.mark.parametrize(
    "template",
    [
        lambda: GaussianDensity(shrinkage=0.2),
        lambda: bayesgen.FactorAnalysisDensity(n_components=2),
        lambda: bayesgen.GaussianMixtureDensity(n_components=2, random_state=0),
        lambda: bayesgen.GaussianCopulaDensity(),
        lambda: bayesgen.TransformedDensity(
            GaussianDensity(), bayesgen.LogitTransform(dequantize=False)
        ),
    ],
)
def test_classifier_with_density_object_round_trips(template, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.uniform(0.05, 0.95, size=(200, 4))
    y = np.arange(200) % 2
    X[y == 1] = X[y == 1] ** 2
    model = BayesClassifier(template()).fit(X, y)
    model.save(tmp_path / "o.bgm")
    loaded = bayesgen.load(tmp_path / "o.bgm")
    np.testing.assert_allclose(loaded.score_samples(X), model.score_samples(X), rtol=1e-12)
    assert type(loaded.density) is type(model.density)
    params = loaded.density.get_params(deep=False).keys()
    assert params == model.density.get_params(deep=False).keys()


@pytest.mark.parametrize("name", ["iris_gaussian", "iris_copula"])
def test_model_files_written_before_the_package_layout_still_load(name):
    # written by bayesgen 0.1.0 when every module was flat (bayesgen._gaussian, ...)
    from pathlib import Path

    from sklearn.datasets import load_iris

    from bayesgen import load

    path = Path(__file__).parent / "data" / f"{name}_before_layout.bgm"
    model = load(path)
    X, y = load_iris(return_X_y=True)
    assert (model.predict(X) == y).mean() > 0.95
    assert model.sample(5, random_state=0)[0].shape == (5, 4)
