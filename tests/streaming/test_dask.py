"""Dask: fit from blocks on a real LocalCluster equals the in-memory fit; sampling by block."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402

from bayesgen import BayesClassifier, DataError, FitError, streaming  # noqa: E402

pytestmark = [
    pytest.mark.dask,
    # distributed reports closing comms and slow worker shutdowns as warnings
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:.*[Cc]losing.*:UserWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed.*"),
]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _data(n=2400, d=6, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=n)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(0, 4, (4, d))[y] + 1e3
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def _assert_same(a, b):
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_allclose(a.class_prior_, b.class_prior_, rtol=1e-12)
    for p, q in zip(a.densities_, b.densities_, strict=True):
        np.testing.assert_allclose(p.mean_, q.mean_, rtol=1e-12)
        np.testing.assert_allclose(p.covariance(), q.covariance(), rtol=1e-10)
        assert p.shrinkage_ == pytest.approx(q.shrinkage_, rel=1e-10)


def test_fit_dask_array_on_cluster_equals_fit(client):
    X, y = _data()
    whole = BayesClassifier(shrinkage="auto").fit(X, y)
    Xd = da.from_array(X, chunks=((700, 300, 1000, 400), (4, 2)))  # uneven, split columns
    yd = da.from_array(y, chunks=600)  # different row chunks from X
    model = BayesClassifier(shrinkage="auto").fit(Xd, yd)
    _assert_same(model, whole)
    assert model.n_features_in_ == 6 and not hasattr(model, "feature_names_in_")
    np.testing.assert_allclose(model.predict_proba(X), whole.predict_proba(X), atol=1e-10)
    # in-memory labels with dask features, and the diagonal family
    diag = BayesClassifier("diag").fit(Xd, y)
    _assert_same(diag, BayesClassifier("diag").fit(X, y))
    # the default density on a dask array: the Gaussian, as for every fit from statistics
    _assert_same(BayesClassifier().fit(Xd, yd), BayesClassifier("gaussian").fit(X, y))


def test_fit_dask_dataframe_label_column_or_series(client):
    X, y = _data(seed=1, labels=["ant", "bee", "cow", "dog"])
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame["label"] = y
    ddf = dd.from_pandas(frame, npartitions=5)
    whole = BayesClassifier("tied").fit(X, y)
    by_name = BayesClassifier("tied").fit(ddf, "label")
    _assert_same(by_name, whole)
    assert list(by_name.feature_names_in_) == [f"f{j}" for j in range(6)]
    by_series = BayesClassifier("tied").fit(ddf.drop(columns=["label"]), ddf["label"])
    _assert_same(by_series, whole)
    with pytest.raises(DataError, match="label column 'nope'"):
        BayesClassifier().fit(ddf, "nope")


def test_fit_dask_dataframe_with_mixed_columns_on_cluster(client):
    rng = np.random.default_rng(4)
    n = 3000
    frame = pd.DataFrame(
        {
            "size": np.round(rng.normal(10, 2, n), 1),
            "colour": rng.choice(["red", "green", "blue"], n),
            "label": rng.choice(["a", "b"], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "size"] = np.nan
    ddf = dd.from_pandas(frame, npartitions=4)
    on_cluster = BayesClassifier(random_state=0).fit(ddf, "label")
    with dask.config.set(scheduler="synchronous"):
        local = BayesClassifier(random_state=0).fit(ddf, "label")
    assert on_cluster.schema_["colour"].categories == ["blue", "green", "red"]
    for p, q in zip(on_cluster.densities_, local.densities_, strict=True):
        np.testing.assert_array_equal(p.marginals_.cdf, q.marginals_.cdf)
        np.testing.assert_allclose(p.correlation_.dense(), q.correlation_.dense(), atol=1e-12)
    X, _ = on_cluster.sample(10, random_state=0)
    assert list(X.columns) == ["size", "colour"]


def test_fit_dask_errors(client):
    X, y = _data(n=600, seed=2)
    X[123, 4] = np.nan
    with pytest.raises(DataError, match="NaN"):
        BayesClassifier().fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100))
    from sklearn.neighbors import KernelDensity

    with pytest.raises(FitError, match="compute"):
        BayesClassifier(KernelDensity()).fit(da.from_array(X, chunks=100), y)


def test_sample_dask_is_layout_independent_and_equals_iter_samples(client):
    X, y = _data(seed=3)
    model = BayesClassifier("gaussian").fit(X, y)
    Xd, yd = streaming.sample_dask(model, 5000, chunks=1024, random_state=7)
    assert Xd.chunks[0] == (1024, 1024, 1024, 1024, 904)
    on_cluster = dask.compute(Xd, yd)
    with dask.config.set(scheduler="synchronous"):
        local = dask.compute(Xd, yd)
    chunks = list(model.iter_samples(5000, block_size=1024, chunk_size=333, random_state=7))
    expected_X = np.vstack([c[0] for c in chunks])
    expected_y = np.concatenate([c[1] for c in chunks])
    for got_X, got_y in (on_cluster, local):
        np.testing.assert_array_equal(got_X, expected_X)
        np.testing.assert_array_equal(got_y, expected_y)
    # one block computed alone is the same block
    np.testing.assert_array_equal(Xd.blocks[2].compute(), expected_X[2048:3072])
    freq = np.bincount(expected_y, minlength=4) / 5000
    assert np.all(np.abs(freq - model.class_prior_) < 5 * np.sqrt(0.25 / 5000))


def test_importing_bayesgen_does_not_import_dask():
    code = (
        "import sys, numpy as np, bayesgen\n"
        "from bayesgen import streaming\n"
        "X = np.random.default_rng(0).normal(size=(40, 2)); y = np.arange(40) % 2\n"
        "bayesgen.BayesClassifier().fit(X, y).sample(5, random_state=0)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
