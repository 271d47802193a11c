"""A BayesClassifier rebuilt from a model file: every field checked, cheap checks first.

Unit tests edit the state of a real model and call ``_from_state`` (independent of the
file format); end-to-end tests edit a saved file and load it with ``bayesgen.load``.
"""

import copy
import hashlib
import io
import json
import time
import zipfile

import numpy as np
import pytest

import bayesgen
from bayesgen import BayesClassifier, ModelFileError
from bayesgen.base import persist
from bayesgen.densities import AutoDensity, GaussianCopulaDensity, GaussianDensity


def _data(n=240, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.array(["a", "b", "c"])[np.arange(n) % 3]
    X[:, 1] = np.exp(X[:, 1] + (y == "b"))
    return X, y


@pytest.fixture(scope="module")
def model():
    X, y = _data()
    return BayesClassifier(shrinkage=0.1, priors=[0.2, 0.3, 0.5], random_state=0).fit(X, y)


def _load(model, edit):
    state = copy.deepcopy(model._get_state())
    edit(state)
    return BayesClassifier._from_state(state)


def _param(name, value):
    def edit(state):
        state["params"][name] = value

    return edit


def _field(name, value):
    def edit(state):
        state[name] = value

    return edit


BAD = [
    (_field("surprise", 1), r"state has unknown key\(s\) \['surprise'\]"),
    (lambda s: s.pop("class_prior"), r"state lacks \['class_prior'\]"),
    (_param("surprise", 1), r"params has unknown key\(s\) \['surprise'\]"),
    (_param("density", "nope"), "unknown density 'nope'"),
    (_param("density", ["gaussian"]), "density must be None, a shortcut name or a density"),
    (_param("reg_covar", -1.0), "reg_covar must be a finite number >= 0"),
    (_param("reg_covar", "1e-3"), "reg_covar must be a finite number >= 0; found the text"),
    (_param("shrinkage", 2.0), r"shrinkage must be None, 'auto' or a number in \[0, 1\]"),
    (_param("random_state", "0"), "random_state must be an integer >= 0"),
    (_param("column_types", {"a": "weird"}), "column_types must be None or a mapping"),
    (_param("priors", [0.5, 0.5]), "priors must be None or 3 probabilities"),
    (_param("priors", [0.5, 0.5, 0.5]), "priors must be non-negative and sum to 1"),
    (_param("priors", [-0.5, 1.0, 0.5]), r"priors\[0\] must be a finite number >= 0"),
    (_param("priors", [{"a": 1}, 0.5, 0.5]), r"priors\[0\] must be a finite number >= 0"),
    (_param("priors", np.array(["a", "b", "c"])), "priors must be a float array of shape"),
    (_param("priors", "uniform"), "priors must be a float array"),
    (_field("classes", np.array(["b", "a", "c"])), "classes must be sorted and distinct"),
    (_field("classes", np.array(["a", "a", "c"])), "classes must be sorted and distinct"),
    (_field("classes", np.array([0.0, 1.0, 2.0])), "classes must be an integer or text or"),
    (_field("classes", np.array([["a", "b", "c"]])), r"of shape \(3,\); found a <U1 array"),
    (_field("classes", np.array(["a", "b"])), r"of shape \(3,\); found a <U1 array of shape \(2,"),
    (_field("densities", "x"), "densities must be a list of at least two class densities"),
    (_field("n_features_in", 5), "must have 5 features; found 4"),
    (_field("n_features_in", True), "n_features_in must be an integer >= 1"),
    (lambda s: s["densities"].__setitem__(1, GaussianDensity()), r"densities\[1\] must be a fit"),
    (lambda s: s["densities"].__setitem__(2, "gaussian"), r"densities\[2\] must be a fitted"),
    (_field("class_count", np.array([1.0, -2.0, 3.0])), "class_count must be non-negative"),
    (_field("class_count", np.ones(4)), r"class_count must be a float or integer array"),
    (_field("class_prior", np.array([0.5, 0.5, 0.5])), "class_prior must be non-negative and sum"),
    (_field("class_prior", np.array([np.nan, 0.5, 0.5])), "class_prior must hold finite values"),
    (_field("missing_rate", np.full((3, 4), 2.0)), r"missing_rate must hold fractions in \[0, 1\]"),
    (_field("missing_rate", np.zeros((3, 5))), r"missing_rate must be a float array of shape"),
    (_field("schema", "columns"), "schema must be None or a TableSchema"),
]


@pytest.mark.parametrize(("edit", "message"), BAD, ids=[m[:50] for _, m in BAD])
def test_malformed_classifier_states_are_refused(model, edit, message):
    with pytest.raises(ValueError, match=message):
        _load(model, edit)


def test_valid_priors_round_trip_as_given(model):
    for priors in ([0.2, 0.3, 0.5], (0.2, 0.3, 0.5), np.array([0.2, 0.3, 0.5]), None):
        loaded = _load(model, _param("priors", priors))
        assert loaded.priors is priors


def test_a_huge_zero_width_label_array_is_refused_before_any_pass_over_it(model, monkeypatch):
    """5 x 10^8 labels of dtype '<U0' (no bytes at all): refused by its length alone."""
    labels = np.ndarray((5 * 10**8,), dtype=np.dtype("<U0"), buffer=b"")

    def refuse(*args, **kwargs):
        raise AssertionError("the labels were sorted")

    for name in ("unique", "sort", "argsort"):
        monkeypatch.setattr(np, name, refuse)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"classes must be .* of shape \(3,\); found a <U0"):
        _load(model, _field("classes", labels))
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ValueError, match="labels of at least one character"):
        _load(model, _field("classes", np.ndarray((3,), dtype=np.dtype("<U0"), buffer=b"")))


def test_loading_sorts_nothing(model, monkeypatch):
    state = copy.deepcopy(model._get_state())

    def refuse(*args, **kwargs):
        raise AssertionError("the labels were sorted")

    monkeypatch.setattr(np, "unique", refuse)
    monkeypatch.setattr(np, "sort", refuse)
    loaded = BayesClassifier._from_state(state)
    np.testing.assert_array_equal(loaded.classes_, model.classes_)


# -- end to end: crafted files through bayesgen.load ---------------------------------------


def _array_member(key: str) -> str:
    try:
        from bayesgen.base.model_archive import array_member
    except ImportError:  # the layout before the archive module
        return f"arrays/{key}.npy"
    return array_member(key)


class _File:
    """A saved model file opened for editing: its manifest and array members."""

    def __init__(self, model, path):
        model.save(path)
        self.path = path
        with zipfile.ZipFile(path) as archive:
            self.members = {n: archive.read(n) for n in archive.namelist()}
        self.manifest = json.loads(self.members["manifest.json"])

    def array(self, key: str) -> np.ndarray:
        return np.load(io.BytesIO(self.members[_array_member(key)]), allow_pickle=False)

    def put(self, key: str, array: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        blob = buffer.getvalue()
        self.members[_array_member(key)] = blob
        self.manifest["arrays"][key] = {
            "dtype": np.lib.format.dtype_to_descr(array.dtype),
            "shape": list(array.shape),
            "sha256": hashlib.sha256(blob).hexdigest(),
        }

    def write(self):
        if "manifest_sha256" in self.manifest:  # format 2 checksums its own manifest
            self.manifest["manifest_sha256"] = persist.manifest_checksum(self.manifest)
        self.members["manifest.json"] = json.dumps(self.manifest).encode()
        out = self.path.with_name("crafted.bgm")
        with zipfile.ZipFile(out, "w") as archive:
            for name, blob in self.members.items():
                archive.writestr(name, blob)
        return out


def _states(node, name):
    """Every ``state`` of a ``name`` object in the manifest's model tree (not templates)."""
    if isinstance(node, dict):
        if node.get("__object__") == name and node["state"]["__dict__"].get("fitted", 1):
            yield node["state"]["__dict__"]
        for value in node.values():
            yield from _states(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _states(value, name)


def _load_crafted(path, message):
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=message):
        bayesgen.load(path)
    assert time.perf_counter() - start < 5.0


@pytest.fixture(scope="module")
def parametric_model():
    X, y = _data()
    return BayesClassifier(GaussianCopulaDensity("parametric", random_state=0)).fit(X, y)


def _edit_parametric(file, families, params, features=None):
    state = next(_states(file.manifest["model"], "GaussianCopulaDensity"))
    keys = state["fitted"]["__dict__"]["parametric_"]["__dict__"]
    file.put(keys["families"]["__ndarray__"], np.array(families))
    file.put(keys["params"]["__ndarray__"], np.array(params, dtype=float))
    if features is not None:
        file.put(keys["features"]["__ndarray__"], np.array(features, dtype=np.int64))


def test_a_slow_scipy_family_is_refused(parametric_model, tmp_path):
    """Before: the file loaded and ``sample -n 1000`` ran for minutes."""
    file = _File(parametric_model, tmp_path / "m.bgm")
    features = file.array(
        next(_states(file.manifest["model"], "GaussianCopulaDensity"))["fitted"]["__dict__"][
            "parametric_"
        ]["__dict__"]["features"]["__ndarray__"]
    )
    m = features.shape[0]
    _edit_parametric(file, ["studentized_range"] * m, [[3.0, 10.0, 0.0, 1.0]] * m)
    _load_crafted(file.write(), r"family must be one of \['norm', 't'.*studentized_range")


def test_a_feature_index_out_of_range_is_refused(parametric_model, tmp_path):
    """Before: IndexError while loading."""
    file = _File(parametric_model, tmp_path / "m.bgm")
    _edit_parametric(file, ["norm"], [[0.0, 1.0]], features=[999])
    _load_crafted(file.write(), r"features must hold indices in \[0, 4\); found 999")


def test_a_family_with_five_parameters_is_refused(parametric_model, tmp_path):
    """Before: the file loaded and sampling raised a TypeError."""
    file = _File(parametric_model, tmp_path / "m.bgm")
    _edit_parametric(file, ["norm"], [[0.0, 1.0, 2.0, 3.0, 1.0]], features=[0])
    _load_crafted(file.write(), r"norm\(loc=0, scale=1\) takes exactly 2 parameters; found 5")


def test_a_selection_record_without_criterion_is_refused(tmp_path):
    """Before: KeyError while loading."""
    X, y = _data()
    auto = AutoDensity(["diag", "gaussian"], criterion="bic", random_state=0)
    file = _File(BayesClassifier(auto).fit(X, y), tmp_path / "m.bgm")
    state = next(_states(file.manifest["model"], "AutoDensity"))
    record = state["fitted"]["__dict__"]["selection_"][0]["__dict__"]
    del record["criterion"]
    _load_crafted(file.write(), r"selection_\[0\] lacks \['criterion'\]")


def test_objects_stored_as_priors_are_refused(model, tmp_path):
    """Before: ten references to a covariance stored in ``priors`` loaded."""
    file = _File(model, tmp_path / "m.bgm")
    covariance = next(_states(file.manifest["model"], "FullCovariance"))
    obj = {"__object__": "FullCovariance", "state": {"__dict__": covariance}}
    file.manifest["model"]["state"]["__dict__"]["params"]["__dict__"]["priors"] = [obj] * 10
    _load_crafted(file.write(), "priors must be None or 3 probabilities")


def test_a_lowrank_model_loads_without_any_svd(tmp_path, monkeypatch):
    X, y = _data()
    model = BayesClassifier("lowrank:2").fit(X, y)
    model.save(tmp_path / "m.bgm")
    svd = np.linalg.svd

    def refuse(*args, **kwargs):
        raise AssertionError("an SVD ran while loading")

    monkeypatch.setattr(np.linalg, "svd", refuse)
    loaded = bayesgen.load(tmp_path / "m.bgm")
    monkeypatch.setattr(np.linalg, "svd", svd)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_every_density_of_a_saved_classifier_round_trips(parametric_model, model, tmp_path):
    X, _ = _data(seed=1)
    for fitted in (parametric_model, model):
        fitted.save(tmp_path / "m.bgm")
        loaded = bayesgen.load(tmp_path / "m.bgm")
        np.testing.assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))
        a, b = loaded.sample(30, random_state=2), fitted.sample(30, random_state=2)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


JUNK = [None, "x", -1, 2**70, 2**2000, float("nan"), True, [], [1, "a"], {"a": 1}, np.zeros(0)]
JUNK += [np.array(["a", "b"]), np.ones((2, 2)), np.array([1, 2]), GaussianDensity()]


def _paths(node, path=()):
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, (dict, list)):
            yield from _paths(value, (*path, key))


def _replace(state, path, value):
    for key in path[:-1]:
        state = state[key]
    state[path[-1]] = value


def test_any_value_anywhere_in_a_classifier_state_is_a_value_error_or_loads(model):
    import pandas as pd

    X, y = _data(n=90, d=3)
    frame = pd.DataFrame({"a": X[:, 0], "b": y, "c": np.arange(90) % 4})
    for fitted in (model, BayesClassifier().fit(frame, y)):
        for obj in (fitted, fitted.densities_[0], getattr(fitted, "schema_", None)):
            if obj is None:
                continue
            base = obj._get_state()
            for path in list(_paths(base)):
                for junk in JUNK:
                    state = copy.deepcopy(base)
                    _replace(state, path, copy.deepcopy(junk))
                    try:
                        type(obj)._from_state(state)
                    except ValueError:
                        pass
