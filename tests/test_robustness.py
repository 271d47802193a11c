"""Robustness: fuzzed model files, the bad-input catalogue through the CLI, numerics.

Nothing may escape except bayesgen's documented error types (``BayesgenError`` and its
subclasses, ``FileNotFoundError``), the CLI exits 1 for bad data or model files and 2 for
usage errors, and no partial output is left behind.
"""

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayesgen
from bayesgen import BayesClassifier, BayesgenError, ModelFileError
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


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    replacement=json_values, where=st.sampled_from(["model", "arrays", "format_version", "root"])
)
def test_fuzz_manifest_structure(tmp_path, model_bytes, replacement, where):
    """A manifest with arbitrary JSON in any place is refused with ModelFileError."""
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members["manifest.json"])
    if where == "root":
        manifest = replacement
    else:
        manifest[where] = replacement
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    _load_bytes(tmp_path, out.getvalue())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.lists(st.integers(0, 50), min_size=1, max_size=6), replacement=json_values)
def test_fuzz_nested_state(tmp_path, model_bytes, path, replacement):
    """Replace a random node deep inside the object tree."""
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as z:
        members = {n: z.read(n) for n in z.namelist()}
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
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    path_ = tmp_path / "n.bgm"
    path_.write_bytes(out.getvalue())
    try:
        model = bayesgen.load(path_)
    except ModelFileError:
        return
    # if it loaded, it must still work or fail with a documented error
    try:
        model.predict_proba(np.zeros((2, 3)))
    except BayesgenError:
        pass


# ------------------------------------------------------------------ CLI catalogue


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


CSV_CASES = {
    "empty": ("", "no lines|empty"),
    "header only": ("label,a,b\n", "no data rows"),
    "ragged": ("label,a,b\n0,1,2\n1,3\n", "line 3"),
    "non-numeric": ("label,a,b\n0,1,2\n1,x,4\n", "line 3.*'a'|'a'.*line 3"),
    "nan": ("label,a,b\n0,1,2\n1,nan,4\n0,2,2\n", "NaN|nan|not finite|infinit"),
    "infinity": ("label,a,b\n0,1,2\n1,inf,4\n0,2,2\n", "inf"),
    "one class": ("label,a,b\n0,1,2\n0,3,4\n0,2,2\n", "one class"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_fit_bad_csv_exits_1_with_clear_message(tmp_path, capsys, case):
    text, pattern = CSV_CASES[case]
    data = tmp_path / "d.csv"
    data.write_text(text)
    out = tmp_path / "m.bgm"
    code, stdout, err = cli(capsys, "fit", data, "-o", out)
    assert code == 1, err
    assert __import__("re").search(pattern, err, flags=__import__("re").I), err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_fit_label_column_missing_lists_columns(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("a,b,c\n0,1,2\n1,3,4\n")
    code, _, err = cli(capsys, "fit", data, "--label-column", "target", "-o", tmp_path / "m.bgm")
    assert code == 1 and "target" in err and "'a'" in err


def test_fit_problem_classes_through_cli(tmp_path, capsys):
    """Single-sample class, constant features, more features than samples: fit through the
    ridge, or fail naming the class and the knob."""
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(30, 40)), np.zeros((30, 3))])
    y = np.array([0] * 15 + [1] * 14 + [2])
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    code, _, err = cli(capsys, "fit", path, "--reg-covar", "0.01", "-o", tmp_path / "m.bgm")
    assert code == 0, err
    code, _, err = cli(capsys, "fit", path, "--reg-covar", "0", "-o", tmp_path / "m0.bgm")
    assert code == 1 and "reg_covar" in err and "class" in err
    assert not (tmp_path / "m0.bgm").exists()


def test_sample_bad_numbers_are_usage_errors(tmp_path, capsys):
    for n in ("-1", "2.5", "ten"):
        code, _, err = cli(capsys, "sample", tmp_path / "m.bgm", "-n", n, "-o", tmp_path / "x.csv")
        assert code == 2, n


def test_newer_model_version_through_cli(tmp_path, capsys, model_bytes):
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 7
    members["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path / "new.bgm"
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    code, _, err = cli(capsys, "inspect", path)
    assert code == 1 and "format version 7" in err and "upgrade" in err


# ------------------------------------------------------------------ numerics


def test_float32_input_and_large_offsets_are_stable():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4)) * [1.0, 2.0, 0.5, 1.0]
    y = np.arange(2000) % 2
    X[y == 1] += 1.0
    reference = BayesClassifier().fit(X, y)
    shifted = BayesClassifier().fit(X + 1e8, y)
    for a, b in zip(reference.densities_, shifted.densities_, strict=False):
        np.testing.assert_allclose(a.covariance(), b.covariance(), rtol=1e-6)
    as32 = BayesClassifier().fit(X.astype(np.float32), y)
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
    model = BayesClassifier(reg_covar=1e-6 * scale**2).fit(X, y)
    probe = rng.normal(size=(20, 3)) * scale * 10
    proba = model.predict_proba(probe)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(model.predict(probe), model.classes_[proba.argmax(1)])
