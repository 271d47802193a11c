"""A pandas table in, the same kind of table out: mixed columns, missing cells, impute."""

import numpy as np
import pandas as pd
import pytest

from bayesgen import BayesClassifier, DataError, load
from bayesgen.densities.select import TABLE_CANDIDATES


def _table(n=600, seed=0):
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    shift = pd.Series(label).map({"a": 0.0, "b": 2.0, "c": 4.0}).to_numpy()
    colour = np.where(rng.random(n) < 0.2 + 0.2 * (label == "b"), "red", "blue")
    frame = pd.DataFrame(
        {
            "length": np.round(rng.normal(10 + shift, 1.0), 1),
            "count": rng.poisson(3 + shift).astype("int64"),
            "colour": pd.Series(colour, dtype="category"),
            "flag": rng.random(n) < 0.3,
        }
    )
    frame.loc[rng.random(n) < 0.1, "length"] = np.nan
    return frame, label


def test_samples_keep_columns_dtypes_categories_and_rounding():
    frame, label = _table()
    model = BayesClassifier(random_state=0).fit(frame, label)
    # the default on a table: auto among the copulas, one family for all classes
    assert model.densities_[0].candidates == list(TABLE_CANDIDATES)
    assert model.densities_[0].delivered_name() in TABLE_CANDIDATES
    S, y = model.sample(4000, random_state=1)
    assert list(S.columns) == list(frame.columns)
    assert S.dtypes.to_dict() == frame.dtypes.to_dict()
    assert set(S["colour"].dropna()) <= {"red", "blue"}
    assert S["colour"].cat.categories.tolist() == frame["colour"].cat.categories.tolist()
    assert np.allclose(S["length"].dropna() * 10, np.round(S["length"].dropna() * 10))
    lo, hi = frame["count"].min(), frame["count"].max()
    assert S["count"].between(lo, hi).all()
    assert set(np.unique(y)) == {"a", "b", "c"}


def test_missing_cells_are_reproduced_per_class_or_not_at_all():
    frame, label = _table(n=2000, seed=1)
    model = BayesClassifier(random_state=0).fit(frame, label)
    S, y = model.sample(20_000, random_state=2)
    for k, cls in enumerate(model.classes_):
        rate = model.missing_rate_[k, 0]
        assert rate == pytest.approx(frame["length"][label == cls].isna().mean())
        got = S["length"][y == cls].isna().mean()
        n = int(np.sum(y == cls))
        assert abs(got - rate) < 4 * np.sqrt(rate * (1 - rate) / n) + 1e-9
    complete, _ = model.sample(500, random_state=3, missing="none")
    assert not complete.isna().any().any()


def test_cells_missing_together_are_generated_together(tmp_path):
    frame, label = _table(n=2000, seed=4)
    frame["length"] = frame["length"].fillna(frame["length"].mean())
    gone = np.random.default_rng(5).random(len(frame)) < 0.15
    frame.loc[gone, ["length", "count"]] = np.nan  # two measurements lost together
    model = BayesClassifier(random_state=0).fit(frame, label)
    model.save(tmp_path / "m.bgm")
    S, y = load(tmp_path / "m.bgm").sample(20_000, random_state=6)
    assert (S["length"].isna() == S["count"].isna()).all()
    for cls in model.classes_:
        rate = frame["length"][label == cls].isna().mean()
        got, n = S["length"][y == cls].isna().mean(), int(np.sum(y == cls))
        assert abs(got - rate) < 4 * np.sqrt(rate * (1 - rate) / n)
    # on a condition, the pattern is drawn given that the column is filled
    S, _ = model.sample(2000, random_state=7, given={"length": (9.0, None)})
    assert not S[["length", "count"]].isna().any().any()


def test_a_model_file_without_patterns_blanks_cells_independently(tmp_path):
    frame, label = _table(n=1000, seed=5)
    frame["length"] = frame["length"].fillna(frame["length"].mean())
    gone = np.random.default_rng(6).random(len(frame)) < 0.3
    frame.loc[gone, ["length", "count"]] = np.nan  # lost together in the data
    model = BayesClassifier(random_state=0).fit(frame, label)
    model.missing_patterns_ = None  # as in files written before patterns were kept
    model.save(tmp_path / "m.bgm")
    loaded = load(tmp_path / "m.bgm")
    assert loaded.missing_patterns_ is None
    S, _ = loaded.sample(20_000, random_state=8)
    a, b = S["length"].isna(), S["count"].isna()
    assert abs(a.mean() - 0.3) < 0.03 and abs(b.mean() - 0.3) < 0.03
    assert abs((a & b).mean() - a.mean() * b.mean()) < 0.02  # independent, not together


def test_categorical_frequencies_match_the_fitted_class_marginals():
    frame, label = _table(n=3000, seed=2)
    model = BayesClassifier(random_state=0).fit(frame, label)
    S, _ = model.sample(20_000, y="b", random_state=4)
    j = model.schema_.feature_names.index("colour")
    masses = np.diff(model.densities_[1].marginals_._feature(j)[1])
    p_red = masses[1] / masses.sum()  # categories sorted: blue, red
    got = (S["colour"] == "red").mean()
    assert abs(got - p_red) < 4 * np.sqrt(p_red * (1 - p_red) / len(S)) + 1e-3


def test_model_file_round_trip_keeps_the_schema(tmp_path):
    frame, label = _table()
    model = BayesClassifier(random_state=0).fit(frame, label)
    model.save(tmp_path / "m.bgm")
    loaded = load(tmp_path / "m.bgm")
    assert loaded.schema_ == model.schema_
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    a, _ = model.sample(50, random_state=5)
    b, _ = loaded.sample(50, random_state=5)
    pd.testing.assert_frame_equal(a, b)


def test_predict_marginalises_missing_cells():
    frame, label = _table(seed=3)
    model = BayesClassifier(random_state=0).fit(frame, label)
    proba = model.predict_proba(frame)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)
    # a row with its only informative cell missing falls back towards the prior
    blank = frame.iloc[:1].copy()
    blank[["length", "count"]] = np.nan
    blank["length"] = blank["length"].astype(float)
    assert np.isfinite(model.score_samples(blank)).all()


def test_impute_fills_only_missing_cells():
    frame, label = _table(seed=4)
    model = BayesClassifier(random_state=0).fit(frame, label)
    filled = model.impute(frame, random_state=0)
    assert not filled.isna().any().any()
    kept = frame.notna()
    for column in frame.columns:
        assert (filled[column][kept[column]] == frame[column][kept[column]]).all()
    draws = model.impute(frame, y=label, draws=3, random_state=1)
    assert len(draws) == 3
    gaps = frame["length"].isna()
    assert not np.allclose(draws[0]["length"][gaps], draws[1]["length"][gaps])


def test_impute_takes_nan_among_the_labels_as_unknown():
    frame, label = _table(n=400, seed=9)
    model = BayesClassifier(random_state=0).fit(frame, label)
    holed = frame[frame.isna().any(axis=1)].head(6)
    known = np.array([np.nan, "a", None, "b", np.nan, "c"], dtype=object)
    filled = model.impute(holed, y=known, random_state=0)
    assert not filled.isna().any().any()  # before: "label(s) nan not known to the model"
    nullable = pd.Series(list(known), dtype="string")  # pandas' NA for the unknown ones
    assert not model.impute(holed, y=nullable, random_state=0).isna().any().any()


def test_impute_gives_back_the_columns_the_model_left_out():
    """An identifier column is left out of the model; the completed rows keep it (and the
    input's column order), so they join back to the input."""
    frame, label = _table(seed=5)
    frame.insert(1, "row_id", [f"r{i:04d}" for i in range(len(frame))])
    model = BayesClassifier(random_state=0).fit(frame, label)
    assert "row_id" not in model.schema_.feature_names
    filled = model.impute(frame, random_state=0)
    assert list(filled.columns) == list(frame.columns)
    assert (filled["row_id"] == frame["row_id"]).all()
    assert not filled.drop(columns=["row_id"]).isna().any().any()


def test_density_that_cannot_take_the_table_is_refused_by_name():
    frame, label = _table()
    with pytest.raises(DataError, match=r"categorical columns \('colour', 'flag'\).*copula"):
        BayesClassifier(density="gaussian").fit(frame, label)


def test_unseen_category_at_predict_names_column_and_value():
    frame, label = _table()
    model = BayesClassifier(random_state=0).fit(frame, label)
    other = frame.head(3).copy()
    other["colour"] = pd.Series(["green", "red", "blue"], dtype="category")
    with pytest.raises(DataError, match="colour.*green"):
        model.predict(other)


def test_a_numbers_only_frame_is_a_table_with_its_dtypes_and_decimals():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "length": np.round(rng.gamma(3.0, 10.0, n), 1),  # skewed, one decimal
            "count": rng.poisson(4.0, n).astype(np.int64),
            "share": np.round(rng.uniform(0, 1, n), 3),
        }
    )
    y = np.where(frame["length"] > 30, "long", "short")
    model = BayesClassifier(random_state=0).fit(frame, y)
    assert model.schema_ is not None
    X, labels = model.sample(5000, random_state=1)
    assert isinstance(X, pd.DataFrame) and list(X.columns) == list(frame.columns)
    assert (X.dtypes == frame.dtypes).all()
    assert np.allclose(X["length"], np.round(X["length"], 1))
    assert np.allclose(X["share"], np.round(X["share"], 3))
    # the copula keeps the skewed marginal: pooled KS against the data near its floor
    from scipy import stats

    assert stats.ks_2samp(X["length"], frame["length"]).statistic < 0.06
    # plain rows in the schema's column order are accepted, as by scikit-learn models
    np.testing.assert_array_equal(
        model.predict(frame.to_numpy()[:50]), model.predict(frame.iloc[:50])
    )


def test_a_frame_with_numbered_columns_is_a_matrix():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(200, 3)))
    y = (frame[0] > 0).astype(int).to_numpy()
    model = BayesClassifier(random_state=0).fit(frame, y)
    assert model.schema_ is None
    assert isinstance(model.sample(10, random_state=0)[0], np.ndarray)


def test_an_explicit_numeric_family_keeps_a_named_frame_a_matrix():
    # no schema, so no column is judged an identifier and left out (here "row")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"row": np.arange(200.0), "a": rng.normal(size=200)})
    y = (frame["a"] > 0).astype(int).to_numpy()
    model = BayesClassifier(density="gaussian").fit(frame, y)
    assert model.schema_ is None and model.n_features_in_ == 2
    assert list(model.feature_names_in_) == ["row", "a"]


@pytest.mark.parametrize("empty", [0.0, 0.1])
def test_default_takes_mixture_dependence_where_the_classes_need_it(empty):
    """Within each class two groups of rows with opposite correlation: one Gaussian
    dependence sees none, a mixture on the normal scores both; auto takes it, with or
    without empty cells (EM fits the mixture on the observed cells), and the samples keep
    the two groups' signs."""
    rng = np.random.default_rng(7)
    n = 1200
    group = rng.random(n) < 0.5
    a = rng.normal(size=n)
    b = np.where(group, 1.0, -1.0) * a + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame({"a": np.round(a, 3), "b": np.round(b, 3)})
    frame.loc[rng.random(n) < empty, "b"] = np.nan
    label = np.where(rng.random(n) < 0.5, "x", "y")
    model = BayesClassifier(random_state=0).fit(frame, label)
    chosen = {d.chosen_ for d in model.densities_}
    assert chosen <= set(TABLE_CANDIDATES[1:]), model.densities_[0].selection_table()
    S, _ = model.sample(20_000, y="x", random_state=1, missing="none")
    same_sign = np.mean(np.sign(S["a"]) == np.sign(S["b"]))
    # two crossing lines: |corr(a, b)| small, but |b| follows |a| closely
    assert abs(np.corrcoef(S["a"], S["b"])[0, 1]) < 0.3
    assert np.corrcoef(np.abs(S["a"]), np.abs(S["b"]))[0, 1] > 0.6
    assert 0.4 < same_sign < 0.6


def test_a_column_empty_in_one_class_is_refused_by_name():
    frame, label = _table(seed=6)
    frame.loc[np.asarray(label) == "b", "length"] = np.nan
    with pytest.raises(DataError, match=r"column 'length' has no value in class 'b'"):
        BayesClassifier(random_state=0).fit(frame, label)
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.repeat([0, 1], 30)
    X[y == 1, 2] = np.nan
    with pytest.raises(DataError, match=r"column 'column 2' has no value in class 1"):
        BayesClassifier("copula").fit(X, y)


def test_a_density_that_cannot_fit_empty_cells_names_the_column():
    from bayesgen.densities import GaussianCopulaDensity, GaussianDensity

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["width", "depth"])
    frame.loc[3, "depth"] = np.nan
    density = GaussianCopulaDensity(dependence=GaussianDensity())
    with pytest.raises(DataError, match=r"needs complete rows, but data row 4, 'depth' is empty"):
        BayesClassifier(density).fit(frame, np.repeat([0, 1], 20))


def test_impute_leaves_observed_cells_exactly_as_given():
    """A value outside the training range, or with more decimals than training had, is
    data: impute fills the empty cells and neither clips nor rounds the others."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": np.round(rng.normal(10, 2, 300), 1), "c": rng.choice(["u", "v"], 300)}
    )
    model = BayesClassifier(random_state=0).fit(frame, rng.choice(["a", "b"], 300))
    rows = frame.iloc[:3].copy()
    rows.loc[0, "x"] = 1234.5678  # far outside the range, 4 decimals
    rows.loc[1, "c"] = np.nan
    rows.loc[2, "x"] = np.nan
    done = model.impute(rows, random_state=0)
    assert done.loc[0, "x"] == 1234.5678 and done.loc[0, "c"] == rows.loc[0, "c"]
    assert done.loc[1, "c"] in ("u", "v") and done.loc[1, "x"] == rows.loc[1, "x"]
    assert np.isfinite(done.loc[2, "x"]) and done.loc[2, "c"] == rows.loc[2, "c"]
    assert list(done.dtypes) == list(rows.dtypes)


def test_impute_conditions_on_tied_cells_jointly():
    """Two correlated 0/1 columns and a number: imputing the number given c1 = c2 = 1
    gives the model's own conditional, E[low | c1 = c2 = 1] of its joint draws (the
    tied cells' latent values drawn together, not at their cells' centres)."""
    rng = np.random.default_rng(0)
    n = 4000
    z = rng.multivariate_normal(np.zeros(3), [[1, 0.9, 0.8], [0.9, 1, 0.8], [0.8, 0.8, 1]], n)
    frame = pd.DataFrame(
        {
            "c1": (z[:, 0] > 0.8).astype(int),
            "c2": (z[:, 1] > 0.8).astype(int),
            "low": z[:, 2] * 3 + 10,
        }
    )
    model = BayesClassifier("copula", random_state=0, column_types={})
    model.fit(frame, rng.choice(["a", "b"], n))
    joint = model.densities_[0].sample(400_000, random_state=1)
    both = (joint[:, 0] == 1) & (joint[:, 1] == 1)
    rows = pd.DataFrame({"c1": [1] * 20_000, "c2": [1] * 20_000, "low": [np.nan] * 20_000})
    done = model.impute(rows, y="a", random_state=2)
    assert abs(done["low"].mean() - joint[both, 2].mean()) < 0.1  # cell centres: 0.6 off
    assert abs(done["low"].std() - joint[both, 2].std()) < 0.1


def test_unknown_categories_can_be_missing_cells():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["u", "v"], 300)})
    model = BayesClassifier(random_state=0).fit(frame, rng.choice(["a", "b"], 300))
    rows = frame.iloc[:4].copy()
    rows.loc[rows.index[1], "c"] = "w"  # never seen in training
    with pytest.raises(DataError, match="'c': data row 2 holds 'w'.*unknown='missing'"):
        model.predict_proba(rows)
    model.set_params(unknown="missing")
    blank = rows.copy()
    blank.loc[blank.index[1], "c"] = np.nan
    np.testing.assert_allclose(model.predict_proba(rows), model.predict_proba(blank))
    done = model.impute(rows, random_state=0)
    assert done["c"].iloc[1] in ("u", "v") and done["c"].iloc[0] == rows["c"].iloc[0]
    with pytest.raises(DataError, match="not known.*data row 3"):
        model.impute(blank, y=["a", None, "zzz", "b"])
    with pytest.raises(DataError, match="unknown must be 'error' or 'missing'"):
        model.set_params(unknown="drop").predict(rows)


@pytest.mark.parametrize("density", ["auto", "copula", "mfacopula:2x2"])
def test_a_family_that_takes_tables_treats_a_named_frame_of_numbers_as_one(density):
    """``density="auto"`` is the default's model, and the copulas give back a DataFrame
    kept in each column's range and decimals, as the default does."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"length": np.round(rng.gamma(2.0, 1.0, 300), 1), "count": rng.poisson(3, 300)}
    )
    y = np.where(rng.random(300) < 0.3, "rare", "common")
    model = BayesClassifier(density, random_state=0).fit(frame, y)
    assert model.schema_ is not None
    X, _ = model.sample(5_000, random_state=1)
    assert isinstance(X, pd.DataFrame) and list(X.dtypes) == list(frame.dtypes)
    for name in frame.columns:
        assert X[name].between(frame[name].min(), frame[name].max()).all()
    assert np.allclose(X["length"], X["length"].round(1))
    if density == "auto":
        default = BayesClassifier(random_state=0).fit(frame, y)
        assert [d.chosen_ for d in model.densities_] == [d.chosen_ for d in default.densities_]
        np.testing.assert_allclose(model.predict_proba(frame), default.predict_proba(frame))
