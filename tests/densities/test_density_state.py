"""Densities rebuilt from a model file's state: exact round trips, and every malformed
field refused with a ValueError naming it (the loader turns it into ModelFileError)."""

import copy

import numpy as np
import pytest

from bayesgen.densities import (
    AutoDensity,
    FactorAnalysisDensity,
    GaussianCopulaDensity,
    GaussianDensity,
    GaussianMixtureDensity,
    LogitTransform,
    MixtureOfFactorAnalysersDensity,
    TransformedDensity,
)
from bayesgen.kernels.covariance import DiagonalCovariance
from bayesgen.univariate import MARGINAL_FAMILIES


def _data(n=400, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    X[:, 1] = np.exp(X[:, 1] / 3)
    return X


def _unit_data(n=300, d=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, d)) / 255


FITTED = {
    "gaussian": lambda: GaussianDensity(shrinkage=0.1).fit(_data()),
    "diag": lambda: GaussianDensity("diag").fit(_data()),
    "fa": lambda: FactorAnalysisDensity(2, method="fa").fit(_data()),
    "gmm": lambda: GaussianMixtureDensity(2, random_state=0).fit(_data()),
    "gmm-diag": lambda: GaussianMixtureDensity(2, covariance_type="diag", random_state=0).fit(
        _data()
    ),
    "mfa": lambda: MixtureOfFactorAnalysersDensity(2, rank=1, random_state=0).fit(_data()),
    "copula": lambda: GaussianCopulaDensity(random_state=0).fit(_data()),
    "parametric": lambda: GaussianCopulaDensity("parametric", random_state=0).fit(_data()),
    "dependence": lambda: GaussianCopulaDensity(
        dependence=GaussianMixtureDensity(2, random_state=0), random_state=0
    ).fit(_data()),
    "auto": lambda: AutoDensity(["diag", "gaussian"], criterion="bic", random_state=0).fit(_data()),
    "logit": lambda: TransformedDensity(GaussianDensity(), random_state=0).fit(_unit_data()),
}


@pytest.fixture(scope="module")
def fitted():
    return {name: make() for name, make in FITTED.items()}


def _state(density) -> dict:
    return copy.deepcopy(density._get_state())


def _load(density, edit=None):
    state = _state(density)
    if edit is not None:
        edit(state)
    return type(density)._from_state(state)


@pytest.mark.parametrize("name", sorted(FITTED))
def test_every_family_round_trips_exactly(fitted, name):
    density = fitted[name]
    loaded = _load(density)
    X = _unit_data() if name == "logit" else _data(seed=1)
    np.testing.assert_array_equal(loaded.score_samples(X), density.score_samples(X))
    np.testing.assert_array_equal(
        loaded.sample(20, random_state=3), density.sample(20, random_state=3)
    )
    assert loaded.get_params(deep=False).keys() == density.get_params(deep=False).keys()


def _set(path, value):
    """An edit that sets ``state[path[0]][path[1]]... = value``."""

    def edit(state):
        node = state
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _drop(path):
    def edit(state):
        node = state
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _with(path, change):
    """An edit that replaces the value at ``path`` by ``change(value)``."""

    def edit(state):
        node = state
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = change(node[path[-1]])

    return edit


P = ("fitted", "parametric_")


def _params_row(family, values):
    def change(table):
        width = max(table.shape[1], len(values))
        out = np.full((table.shape[0], width), np.nan)
        out[:, : table.shape[1]] = table
        out[0] = np.nan
        out[0, : len(values)] = values
        return out

    def edit(state):
        _with((*P, "params"), change)(state)
        state["fitted"]["parametric_"]["families"] = state["fitted"]["parametric_"][
            "families"
        ].astype("<U20")
        state["fitted"]["parametric_"]["families"][0] = family

    return edit


BAD = [
    # the shared density state
    ("gaussian", _drop(("fitted",)), r"GaussianDensity state lacks \['fitted'\]"),
    ("gaussian", _set(("params", "surprise"), 1), r"params has unknown key\(s\) \['surprise'\]"),
    ("gaussian", _set(("params", "reg_covar"), np.ones(3)), "parameter reg_covar must be a num"),
    ("gaussian", _set(("params", "covariance_type"), "nope"), "covariance_type must be one of"),
    ("gmm", _set(("params", "random_state"), -1), r"random_state must be an integer >= 0"),
    ("gaussian", _drop(("fitted", "mean_")), r"lacks \['mean_'\]"),
    ("gaussian", _set(("fitted", "n_features_in_"), "4"), "n_features_in_ must be an integer"),
    ("gaussian", _set(("fitted", "n_features_in_"), 5), "n_features_in_ must equal"),
    ("gaussian", _set(("fitted", "mean_"), np.zeros(3)), r"mean_ must be a float array of shape"),
    ("gaussian", _with(("fitted", "mean_"), lambda m: m * np.nan), "mean_ must hold finite"),
    ("gaussian", _set(("fitted", "shrinkage_"), "0.1"), r"shrinkage_ must be a finite number in"),
    (
        "gaussian",
        _set(("fitted", "covariance_"), DiagonalCovariance(np.ones(4))),
        "covariance_ must be a FullCovariance",
    ),
    ("fa", _set(("fitted", "n_iter_"), 1.5), "n_iter_ must be an integer >= 0"),
    ("fa", _set(("fitted", "lower_bound_history_"), [1.0, "x"]), r"history_\[1\] must be"),
    ("fa", _set(("params", "max_iter"), 0), "max_iter must be an integer >= 1"),
    # mixtures
    ("gmm", _with(("fitted", "weights_"), lambda w: w * 2), "weights_ must be non-negative and"),
    ("gmm", _with(("fitted", "weights_"), lambda w: w[:1]), r"weights_ must be a float array of"),
    ("gmm", _with(("fitted", "means_"), lambda m: m[:, :2]), r"means_ must be a float array"),
    # fewer components than asked are a fit that dropped some; the weights must agree
    ("gmm", _with(("fitted", "covariances_"), lambda c: c[:1]), r"weights_ must be a float"),
    ("gmm", _set(("params", "n_components"), 1), r"at most n_components \* n_average = 1"),
    ("gmm", _set(("fitted", "covariances_"), []), "covariances_ must be a non-empty list"),
    ("gmm-diag", _with(("fitted", "covariances_"), lambda c: c[::-1] * 1), None),
    ("mfa", _with(("fitted", "covariances_"), lambda c: [c[0], "x"]), r"covariances_\[1\] must"),
    ("gmm", _set(("params", "dtype"), {"names": ["a"], "formats": ["f8"]}), "dtype must be one"),
    ("gmm", _set(("params", "init"), np.ones((5, 3))), r"init must be a float array of shape"),
    ("gmm", _set(("params", "init"), -np.ones((5, 2))), "init must hold non-negative"),
    ("gmm", _set(("params", "init"), "nope"), "init must be one of"),
    # copula: families, arity, feature indices, marginals, correlation
    ("parametric", _params_row("studentized_range", [3.0, 2.0, 0.0, 1.0]), "family must be one of"),
    ("parametric", _params_row("norm", [0, 1, 2, 3, 1]), r"takes exactly 2 parameters; found 5"),
    ("parametric", _params_row("t", [1.0, 0.0]), r"takes exactly 3 parameters; found 2"),
    ("parametric", _params_row("norm", [0.0, -1.0]), "positive scale; found"),
    ("parametric", _params_row("t", [-2.0, 0.0, 1.0]), "outside the domain of t"),
    ("parametric", _params_row("norm", [np.nan, 0.0, 1.0]), "before the NaN padding"),
    ("parametric", _with((*P, "features"), lambda f: f + 999), r"indices in \[0, 4\); found 999"),
    ("parametric", _with((*P, "features"), lambda f: f * 0), "distinct indices"),
    ("parametric", _with((*P, "features"), lambda f: f * 0.5), "features must be an integer"),
    ("parametric", _with((*P, "families"), lambda f: f[:1]), r"families must be a text array"),
    ("parametric", _drop((*P, "params")), r"parametric_ lacks \['params'\]"),
    ("copula", _set(("params", "categories"), {"7": 3}), r"categories must name features in"),
    ("copula", _drop(("fitted", "marginals_", "cdf")), r"marginals_ lacks \['cdf'\]"),
    ("copula", _with(("fitted", "marginals_", "cdf"), lambda c: c * 2), "CDF values must lie"),
    ("copula", _with(("fitted", "marginals_", "edges"), lambda e: e[::-1] * 1), "non-increasing"),
    (
        "copula",
        _with(("fitted", "marginals_", "edge_offsets"), lambda o: o.astype(float)),
        "edge_offsets must be an integer array",
    ),
    ("copula", _set(("fitted", "correlation_"), None), "correlation_ must be a FullCovariance"),
    (
        "copula",
        _with(("fitted", "correlation_"), lambda c: type(c)(2 * c.cholesky)),
        "unit diagonal",
    ),
    (
        "dependence",
        _set(("fitted", "correlation_"), FITTED["copula"]().correlation_),
        "either a correlation_ or a dependence_",
    ),
    ("dependence", _set(("fitted", "dependence_"), GaussianDensity()), "must be a fitted density"),
    ("copula", _set(("params", "dependence"), "x"), "dependence must be a bayesgen density"),
    # auto: the selection records
    ("auto", _drop(("fitted", "selection_", 0, "criterion")), r"selection_\[0\] lacks \['criter"),
    ("auto", _set(("fitted", "selection_", 0, "criterion"), "aic"), "criterion must be one of"),
    ("auto", _set(("fitted", "selection_", 1, "score"), "1.0"), r"selection_\[1\] score must be"),
    ("auto", _set(("fitted", "selection_", 0, "params"), {"a": [1]}), "params must be a mapping"),
    ("auto", _set(("fitted", "selection_", 0, "chosen"), 1), "chosen must be true or false"),
    ("auto", _set(("fitted", "selection_", 0, "error"), "boom"), "either a score or an error"),
    ("auto", _set(("fitted", "selection_"), []), "selection_ must be a non-empty list"),
    ("auto", _set(("fitted", "chosen_"), "copula"), "must mark exactly the chosen_ candidate"),
    ("auto", _set(("fitted", "chosen_"), np.array(["diag"])), "chosen_ must be a candidate's"),
    ("auto", _set(("fitted", "best_"), "diag"), "best_ must be a fitted bayesgen density"),
    ("auto", _set(("params", "candidates"), ["nope"]), "unknown density 'nope'"),
    # transformed densities
    ("logit", _set(("fitted", "base_"), GaussianDensity()), "base_ must be a fitted density"),
    ("logit", _set(("fitted", "transform_"), LogitTransform()), "transform_ must be fitted"),
    ("logit", _set(("params", "transform"), "bogus"), "transform must be None, a LogitTransform"),
]


def _case_id(case):
    return f"{case[0]}-{case[2]}"[:60] if case[2] else case[0]


@pytest.mark.parametrize(("name", "edit", "message"), BAD, ids=[_case_id(c) for c in BAD])
def test_malformed_density_states_are_refused(fitted, name, edit, message):
    if message is None:  # a swap that keeps the state valid: it must still load
        _load(fitted[name], edit)
        return
    with pytest.raises(ValueError, match=message):
        _load(fitted[name], edit)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"params": {}, "input_scale_": float("inf")}, "input_scale_ must be a finite number"),
        ({"params": {}, "input_scale_": "255"}, "input_scale_ must be a finite number"),
        ({"params": {"dequantize": "yes"}, "input_scale_": 255.0}, "dequantize must be true"),
        ({"params": {"lam": 0.7}, "input_scale_": 255.0}, r"lam must be a number in \[0, 0.5\)"),
        ({"params": {"scale": 1}, "input_scale_": 255.0}, r"unknown key\(s\) \['scale'\]"),
        ({"params": {}}, r"lacks \['input_scale_'\]"),
    ],
)
def test_malformed_logit_transform_states_are_refused(state, message):
    with pytest.raises(ValueError, match=message):
        LogitTransform._from_state(state)


def test_unfitted_templates_have_their_parameters_checked():
    state = GaussianCopulaDensity(dependence=GaussianDensity())._get_state()
    assert isinstance(GaussianCopulaDensity._from_state(state).dependence, GaussianDensity)
    state["params"]["n_bins"] = "many"
    with pytest.raises(ValueError, match="n_bins must be an integer"):
        GaussianCopulaDensity._from_state(state)
    state = GaussianDensity()._get_state()
    state["params"]["covariance_type"] = ["full"]
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        GaussianDensity._from_state(state)


def test_the_family_list_is_the_one_the_copula_fits_from(fitted):
    assert set(fitted["parametric"].parametric_["families"]) <= set(MARGINAL_FAMILIES)
    assert "studentized_range" not in MARGINAL_FAMILIES


def test_a_legal_family_with_the_wrong_arity_fails_at_load_not_at_sampling(fitted):
    """Before: a 5-parameter norm loaded and sampling raised a TypeError."""
    edit = _params_row("norm", [0.0, 1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="norm"):
        _load(fitted["parametric"], edit)


JUNK = [
    None,
    "x",
    -1,
    2**70,
    2**2000,
    float("inf"),
    1.5,
    float("nan"),
    True,
    [],
    [1, "a"],
    {"a": 1},
    np.zeros(0),
    np.array(["a", "b"]),
    np.ones((2, 2)),
    np.array([1, 2]),
    DiagonalCovariance(np.ones(4)),
    GaussianDensity(),
]


def _paths(node, path=()):
    """The path of every value inside a state (mappings and lists, depth first)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, (dict, list)):
            yield from _paths(value, (*path, key))


@pytest.mark.parametrize("name", sorted(FITTED))
def test_any_value_anywhere_in_a_state_is_a_value_error_or_loads(fitted, name):
    """No KeyError, TypeError, AttributeError or IndexError escapes ``_from_state``."""
    density = fitted[name]
    for path in list(_paths(_state(density))):
        for junk in JUNK:
            try:
                _load(density, _set(path, copy.deepcopy(junk)))
            except ValueError:
                pass


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("logit", "transform_"),
        ("gaussian", "covariance_"),
        ("diag", "covariance_"),
        ("fa", "covariance_"),
    ],
)
def test_any_value_anywhere_in_a_nested_object_state_is_a_value_error_or_loads(fitted, name, part):
    obj = getattr(fitted[name], part)
    for path in list(_paths(_state(obj))):
        for junk in JUNK:
            try:
                _load(obj, _set(path, copy.deepcopy(junk)))
            except ValueError:
                pass
