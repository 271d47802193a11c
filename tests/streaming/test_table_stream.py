"""Tables fitted in two passes over chunks (files, Dask DataFrames) against the in-memory fit."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesgen import BayesClassifier, DataError, FitError, load, streaming
from bayesgen.cli import main
from bayesgen.io import read_table


def _table(n=6000, seed=0, missing=0.05):
    """Mixed columns, dependent through a latent normal, cells missing at random."""
    rng = np.random.default_rng(seed)
    y = rng.choice(["north", "south"], n, p=[0.6, 0.4])
    shift = (y == "south")[:, None] * 0.8
    Z = (
        rng.standard_normal((n, 4))
        @ np.array([[1, 0.7, 0.4, 0.3], [0, 0.7, 0.2, 0.1], [0, 0, 0.8, 0.2], [0, 0, 0, 0.9]])
        + shift
    )
    frame = pd.DataFrame(
        {
            "length": np.round(20 + 3 * Z[:, 0], 2),
            "weight": np.round(np.exp(Z[:, 1]), 3),
            "legs": np.clip(np.round(2 + Z[:, 2]), 0, 5).astype(int),
            "colour": np.array(["blue", "green", "red"])[np.digitize(Z[:, 3], [-0.5, 0.5])],
            "seen": pd.Series(pd.date_range("2020-01-01", periods=400, freq="D"))
            .iloc[rng.integers(0, 400, n)]
            .dt.strftime("%Y-%m-%d")
            .to_numpy(),
            "label": y,
        }
    )
    for name in ("length", "weight", "colour"):
        frame.loc[rng.random(n) < missing, name] = np.nan
    return frame


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "mixed.csv"
    _table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def in_memory(table_csv):
    data = read_table(table_csv, label_column="label")
    # a streamed table is fitted with the copula: compared with the copula in memory
    return BayesClassifier("copula", random_state=0).fit(data.X, data.y)


def _fit_file(path, chunk_rows, **kwargs):
    model = BayesClassifier(random_state=0, **kwargs)
    return streaming.fit_file(model, path, chunk_rows=chunk_rows, label_column="label")


def _pattern_set(patterns):
    """Patterns of equal frequency may come in another order from chunks."""
    if patterns is None:
        return None
    return {
        (int(k), m.tobytes(), round(float(p), 12))
        for k, m, p in zip(patterns.owner, patterns.masks, patterns.probability, strict=True)
    }


def _assert_same_marginals(a, b, atol=0.0):
    assert a.schema_ == b.schema_
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_array_equal(a.class_count_, b.class_count_)
    np.testing.assert_array_equal(a.missing_rate_, b.missing_rate_)
    assert _pattern_set(a.missing_patterns_) == _pattern_set(b.missing_patterns_)
    for p, q in zip(a.densities_, b.densities_, strict=True):
        for key, value in p.marginals_.state().items():
            np.testing.assert_allclose(value, q.marginals_.state()[key], rtol=0, atol=atol)


def test_a_file_sorted_by_class_streams(table_csv, tmp_path):
    """Its first chunk holds one class: no reason to refuse the label column."""
    frame = pd.read_csv(table_csv).sort_values("label", kind="stable")
    path = tmp_path / "sorted.csv"
    frame.to_csv(path, index=False)
    model = _fit_file(path, 200)
    np.testing.assert_array_equal(model.classes_, np.unique(frame["label"]))
    one = tmp_path / "one.csv"
    frame[frame["label"] == frame["label"].iloc[0]].to_csv(one, index=False)
    with pytest.raises(DataError, match="only one class"):
        _fit_file(one, 200)


def test_streamed_table_equals_in_memory_fit(table_csv, in_memory):
    streamed = _fit_file(table_csv, 500)
    # exact: schema, counts, missing rates, category probabilities and every marginal
    # (each class has fewer than 4096 distinct values per column)
    _assert_same_marginals(streamed, in_memory, atol=1e-12)
    # close: the dependence (the same estimator on other random draws)
    for p, q in zip(streamed.densities_, in_memory.densities_, strict=True):
        R, S = p.correlation_.dense(), q.correlation_.dense()
        assert np.abs(R - S).max() < 0.06
    Xs, ys = streamed.sample(20_000, random_state=1)
    Xm, ym = in_memory.sample(20_000, random_state=1)
    for name in ("length", "weight", "legs"):
        assert stats.ks_2samp(Xs[name].dropna(), Xm[name].dropna()).statistic < 0.03
    for name in streamed.schema_.feature_names:
        assert Xs[name].dtype == Xm[name].dtype


def test_the_model_does_not_depend_on_the_chunk_size(table_csv):
    one = _fit_file(table_csv, 10**6)
    many = _fit_file(table_csv, 333)
    _assert_same_marginals(one, many)
    for p, q in zip(one.densities_, many.densities_, strict=True):
        np.testing.assert_allclose(p.correlation_.dense(), q.correlation_.dense(), atol=1e-12)


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_continuous_table_correlation_against_em(tmp_path, missing):
    frame = _table(n=5000, seed=1, missing=missing)[["length", "weight", "label"]]
    noise = np.random.default_rng(2).normal(0, 1e-3, (len(frame), 2))
    frame[["length", "weight"]] += noise  # no tied values: no random tie-breaking
    path = tmp_path / "continuous.parquet"
    frame.to_parquet(path)
    streamed = _fit_file(path, 700, column_types={})
    memory = BayesClassifier("copula", random_state=0, column_types={}).fit(
        frame.drop(columns=["label"]), frame["label"].to_numpy()
    )
    _assert_same_marginals(streamed, memory, atol=1e-12)
    for p, q in zip(streamed.densities_, memory.densities_, strict=True):
        R, S = p.correlation_.dense(), q.correlation_.dense()
        if missing == 0:  # the same estimator
            np.testing.assert_allclose(R, S, atol=1e-12)
        else:  # the same estimator with missing cells, on other random draws
            assert 1e-6 < np.abs(R - S).max() < 0.01


def test_a_category_first_seen_in_a_late_chunk(tmp_path):
    frame = _table(n=2000, seed=3)
    frame.loc[1900:, "colour"] = "violet"
    path = tmp_path / "late.csv"
    frame.to_csv(path, index=False)
    streamed = _fit_file(path, 250)
    data = read_table(path, label_column="label")
    memory = BayesClassifier("copula", random_state=0).fit(data.X, data.y)
    assert streamed.schema_["colour"].categories == ["blue", "green", "red", "violet"]
    _assert_same_marginals(streamed, memory, atol=1e-12)
    X, _ = streamed.sample(5000, random_state=0)
    assert 0 < (X["colour"] == "violet").mean() < 0.15


def test_columns_with_many_values_are_close_to_the_in_memory_marginals(tmp_path):
    rng = np.random.default_rng(4)
    n = 20_000
    frame = pd.DataFrame(
        {
            "x": rng.lognormal(size=n),
            "zeros": np.where(rng.random(n) < 0.4, 0.0, rng.normal(5, 1, n)),
            "label": rng.choice([1, 2], n),
        }
    )
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)
    streamed = _fit_file(path, 3000, column_types={})
    memory = BayesClassifier("copula", random_state=0, column_types={}).fit(
        frame[["x", "zeros"]], frame["label"].to_numpy()
    )
    probes = frame[["x", "zeros"]].quantile(np.linspace(0.01, 0.99, 99))
    for p, q in zip(streamed.densities_, memory.densities_, strict=True):
        Fp = stats.norm.cdf(p.normal_scores(probes.to_numpy()))
        Fq = stats.norm.cdf(q.normal_scores(probes.to_numpy()))
        assert np.abs(Fp - Fq).max() < 0.01
    X, _ = streamed.sample(10_000, y=1, random_state=0)
    share = (frame["zeros"][frame["label"] == 1] == 0).mean()
    assert abs((X["zeros"] == 0).mean() - share) < 0.02  # the point mass survives the grid


def test_table_stream_errors(tmp_path, table_csv):
    with pytest.raises(FitError, match="cannot be fitted in two passes"):
        _fit_file(table_csv, 500, density="mixture")
    with pytest.raises(DataError, match="'south'.*not in classes"):
        streaming.fit_file(
            BayesClassifier(), table_csv, label_column="label", classes=["north", "east"]
        )
    frame = _table(n=300)
    frame["length"] = frame["length"].astype(object)
    frame.loc[250, "length"] = "tall"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"'length': data row 251 holds 'tall'"):
        _fit_file(bad, 100)
    lines = table_csv.read_text().splitlines()
    lines[4000] = lines[4000].rsplit(",", 1)[0]  # a record with a field too few
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 4001: 5 fields, but the header has 6"):
        _fit_file(short, 500, column_types={})


def test_chunks_keep_text_columns_as_text_and_drop_empty_labels(tmp_path):
    frame = _table(n=1200, seed=5)
    frame["colour"] = frame["colour"].astype(object)
    frame.loc[1000:, "colour"] = frame.loc[1000:, "colour"].map(
        {"blue": "1", "green": "2", "red": "3"}
    )  # the last chunk's categories look like numbers
    frame["label"] = frame["label"].astype(object)
    frame.loc[[10, 700], "label"] = np.nan
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="empty label.*data row 11"):
        _fit_file(path, 200)
    seen = []
    model = streaming.fit_file(
        BayesClassifier(random_state=0),
        path,
        chunk_rows=200,
        label_column="label",
        drop_missing_labels=True,
        progress=seen.append,
    )
    assert seen[-1].like.dropped_rows == 2 and model.class_count_.sum() == 1198
    data = read_table(path, label_column="label", drop_missing_labels=True)
    assert model.schema_ == BayesClassifier().fit(data.X, data.y).schema_
    assert model.schema_["colour"].categories == ["1", "2", "3", "blue", "green", "red"]


def test_fit_file_progress_and_layout(table_csv):
    seen = []
    model = BayesClassifier(random_state=0)
    streaming.fit_file(model, table_csv, chunk_rows=1000, progress=seen.append)
    assert seen[-1].done and seen[-1].rows == 2 * 6000
    assert seen[-1].like.label_column == "label" and seen[-1].like.columns[-1] == "label"


def test_command_line_streams_a_table_with_chunk_rows(tmp_path, table_csv, in_memory, capsys):
    out = tmp_path / "m.bgm"
    code = main(
        [
            "fit",
            str(table_csv),
            "--label-column",
            "label",
            "--chunk-rows",
            "400",
            "--seed",
            "0",
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "label column: 'label'" in err and "6000 rows" in err
    model = load(out)
    _assert_same_marginals(model, in_memory, atol=1e-12)


# -- Dask ------------------------------------------------------------------------------
dd = pytest.importorskip("dask.dataframe")


@pytest.mark.dask
def test_dask_dataframe_with_mixed_columns(table_csv, in_memory):
    import dask

    frame = pd.read_csv(table_csv)
    ddf = dd.from_pandas(frame, npartitions=7)
    with dask.config.set(scheduler="threads"):
        by_name = BayesClassifier(random_state=0).fit(ddf, "label")
        by_series = BayesClassifier(random_state=0).fit(ddf.drop(columns=["label"]), ddf["label"])
    streamed = _fit_file(table_csv, 999)
    for model in (by_name, by_series):
        assert [s.kind for s in model.schema_.columns] == [
            s.kind for s in in_memory.schema_.columns
        ]
        for a, b in zip(model.schema_.columns, in_memory.schema_.columns, strict=True):
            assert (a.categories, a.bounds, a.decimals) == (b.categories, b.bounds, b.decimals)
        np.testing.assert_array_equal(model.missing_rate_, in_memory.missing_rate_)
        densities = zip(model.densities_, in_memory.densities_, streamed.densities_, strict=True)
        for p, q, r in densities:
            np.testing.assert_allclose(p.marginals_.cdf, q.marginals_.cdf, rtol=0, atol=1e-12)
            # the same rows, numbered the same: the streamed file fit to rounding
            R = p.correlation_.dense()
            np.testing.assert_allclose(R, r.correlation_.dense(), atol=1e-12)
            assert np.abs(R - q.correlation_.dense()).max() < 0.06


def test_dask_dataframe_of_numbers_is_a_table_as_in_memory():
    import dask

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"size": np.round(rng.gamma(2.0, 5.0, 900), 2), "count": rng.poisson(3.0, 900)}
    )
    labels = np.where(frame["size"] > 10, "big", "small")
    memory = BayesClassifier("copula", random_state=0, column_types={}).fit(frame, labels)
    ddf = dd.from_pandas(frame.assign(label=labels), npartitions=4)
    with dask.config.set(scheduler="threads"):
        model = BayesClassifier(random_state=0).fit(ddf, "label")
    assert model.schema_ is not None and memory.schema_ is not None
    assert [s.kind for s in model.schema_.columns] == [s.kind for s in memory.schema_.columns]
    for p, q in zip(model.densities_, memory.densities_, strict=True):
        assert type(p) is type(q)
        np.testing.assert_allclose(p.marginals_.cdf, q.marginals_.cdf, rtol=0, atol=1e-12)
    X, _ = model.sample(10, random_state=0)
    assert list(X.dtypes) == list(frame.dtypes)


def test_a_column_left_out_on_the_first_chunk_says_its_counts_are_the_chunks(tmp_path):
    frame = _table().assign(code=lambda f: [f"c{i:05d}" for i in range(len(f))])
    path = tmp_path / "codes.csv"
    frame.to_csv(path, index=False)
    reason = _fit_file(path, 100).schema_.dropped["code"]
    assert reason.startswith("text with 100 distinct values in 100 rows of the first chunk")
