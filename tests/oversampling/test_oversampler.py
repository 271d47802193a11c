"""BayesOverSampler: imbalanced-learn's contract, the caller's types, and the draws."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold, cross_val_score

from bayesgen import BayesOverSampler, DataError


def _blobs(seed=0, sizes=(120, 30, 8), d=3):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(2.0 * k, 1.0, (n, d)) for k, n in enumerate(sizes)])
    y = np.repeat(np.arange(len(sizes)), sizes)
    return X, y


def _mixed_table(seed=0, n=160):
    """Every column kind a table can have, with missing cells and a rare class."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.15, "rare", "common")
    frame = pd.DataFrame(
        {
            "height": np.round(rng.normal(170, 10, n) + 8 * (y == "rare"), 1),
            "count": rng.poisson(3, n).astype(np.int64),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "flag": rng.random(n) < 0.3,
            "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "city": rng.choice(["Oslo", "Lima", "Pune"], n).astype(object),
            "id": [f"row-{i:04d}" for i in range(n)],
        },
        index=np.arange(1000, 1000 + n),
    )
    frame.loc[frame.index[::9], "height"] = np.nan
    frame.loc[frame.index[::13], "city"] = np.nan
    return frame, pd.Series(y, name="kind", index=frame.index)


# ---------------------------------------------------------------------------- contract
def test_originals_first_then_synthetic_rows_with_their_labels():
    X, y = _blobs()
    sampler = BayesOverSampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    n = X.shape[0]
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    assert Counter(y_res.tolist()) == {0: 120, 1: 120, 2: 120}
    assert sampler.n_synthetic_ == {0: 0, 1: 90, 2: 112}
    assert dict(sampler.sampling_strategy_) == {1: 90, 2: 112}
    assert sampler.synthetic_mask_.dtype == bool
    np.testing.assert_array_equal(sampler.synthetic_mask_, np.arange(X_res.shape[0]) >= n)
    # synthetic rows come class by class, in sorted order
    np.testing.assert_array_equal(y_res[n:], np.repeat([1, 2], [90, 112]))
    # and they look like their class: nearer their own class mean than any other
    means = np.stack([X[y == k].mean(axis=0) for k in range(3)])
    new = X_res[n:]
    nearest = np.argmin(((new[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y_res[n:]).mean() > 0.9


def test_dict_strategy_grows_only_the_classes_named():
    X, y = _blobs()
    sampler = BayesOverSampler(sampling_strategy={2: 50}, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 120, 1: 30, 2: 50}
    assert sampler.n_synthetic_ == {0: 0, 1: 0, 2: 42}
    sampler.set_params(sampling_strategy={0: 120})  # nothing to add
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    assert not sampler.synthetic_mask_.any()


def test_synthetic_rows_match_the_fitted_gaussian():
    """Mean and covariance of the synthetic rows against the model's, within standard
    errors: Var(mean_j) = S_jj / n, Var(S_ij) = (S_ii S_jj + S_ij^2) / n.  The other class
    spans a range wide enough that keeping synthetic values inside the data's range cuts
    nothing measurable off this one."""
    rng = np.random.default_rng(3)
    L = np.array([[1.0, 0, 0], [0.6, 0.8, 0], [-0.3, 0.2, 0.5]])
    X = np.vstack([rng.normal(0, 3, (3000, 3)), 2.0 + rng.normal(0, 1, (200, 3)) @ L.T])
    y = np.repeat([0, 1], [3000, 200])
    sampler = BayesOverSampler("gaussian", sampling_strategy={1: 20200}, random_state=1)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res[sampler.synthetic_mask_]
    n = new.shape[0]
    density = sampler.model_.densities_[1]
    mu = density.mean()
    cov = np.cov(X[y == 1], rowvar=False, bias=True)  # the fitted covariance (MLE)
    z_mean = (new.mean(axis=0) - mu) / np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(z_mean) < 4.5), z_mean
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    z_cov = (np.cov(new, rowvar=False) - cov) / se_cov
    assert np.all(np.abs(z_cov) < 4.5), z_cov


@pytest.mark.parametrize("as_frame", [False, True])
def test_synthetic_numbers_stay_in_the_range_of_the_input(as_frame):
    """A minority class at the edge of the data: its density's tails reach past the
    largest value seen; synthetic cells out there are drawn again, not kept or clipped."""
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 1, (2000, 2)), rng.normal(2.5, 1, (100, 2))])
    y = np.repeat([0, 1], [2000, 100])
    data = pd.DataFrame(X, columns=["a", "b"]) if as_frame else X
    sampler = BayesOverSampler("gaussian", random_state=0)
    X_res, _ = sampler.fit_resample(data, y)
    new = np.asarray(X_res)[sampler.synthetic_mask_]
    assert new.shape[0] == 1900
    assert np.all((new >= X.min(axis=0)) & (new <= X.max(axis=0)))
    assert not np.any(np.isin(new, [X.min(axis=0), X.max(axis=0)]))  # none piled at the ends
    # the untruncated Gaussian would put this share past the largest value of column a
    mu, sd = X[y == 1, 0].mean(), X[y == 1, 0].std()
    assert stats.norm.sf(X[:, 0].max(), mu, sd) > 0.005


def test_synthetic_rows_match_the_fitted_copula_marginals():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.gamma(2.0, 1.0, (500, 2)), rng.exponential(1.0, (100, 2))])
    y = np.repeat([0, 1], [500, 100])
    sampler = BayesOverSampler("copula", sampling_strategy={1: 20100}, random_state=2)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res[sampler.synthetic_mask_]
    mu = sampler.model_.densities_[1].mean()
    se = new.std(axis=0) / np.sqrt(new.shape[0])
    assert np.all(np.abs(new.mean(axis=0) - mu) < 4.5 * se)
    # inside the observed range the marginal is the data's: its median, not a Gaussian's
    median = np.median(X[y == 1], axis=0)
    assert np.all(np.abs(np.median(new, axis=0) - median) < 0.15)


# ---------------------------------------------------------------------------- types
def test_dataframe_in_dataframe_out_with_dtypes():
    X, y = _mixed_table()
    sampler = BayesOverSampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == list(X.columns)
    assert y_res.name == "kind" and y_res.dtype == y.dtype
    n = len(X)
    pd.testing.assert_frame_equal(X_res.iloc[:n], X.reset_index(drop=True))
    pd.testing.assert_index_equal(X_res.index, pd.RangeIndex(len(X_res)))
    pd.testing.assert_index_equal(y_res.index, X_res.index)
    assert y_res.value_counts().to_dict() == {"common": y.eq("common").sum()} | {
        "rare": y.eq("common").sum()
    }
    new = X_res.iloc[n:]
    assert X_res.dtypes.drop("id").equals(X.dtypes.drop("id"))
    assert set(new["colour"]) <= {"red", "green", "blue"}
    assert set(new["city"]) <= {"Oslo", "Lima", "Pune"}
    assert (new["count"] >= X["count"].min()).all() and new["count"].dtype == np.int64
    assert new["when"].dt.normalize().eq(new["when"]).all()
    assert not new.drop(columns="id").isna().any().any()  # missing="none"
    assert new["id"].isna().all()  # an identifier is not modelled: empty in new rows
    assert sampler.feature_names_in_.tolist() == list(X.columns)
    assert sampler.get_feature_names_out().tolist() == list(X.columns)


def test_missing_keep_blanks_synthetic_cells_at_the_class_rate():
    X, y = _mixed_table(n=400)
    X_res, _ = BayesOverSampler(missing="keep", random_state=0).fit_resample(X, y)
    new = X_res.iloc[len(X) :]
    rate = X.loc[y == "rare", "height"].isna().mean()
    assert abs(new["height"].isna().mean() - rate) < 0.05
    assert new["count"].notna().all()


def test_penguins_round_trip(shared_data):
    path = shared_data / "tables" / "penguins.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    table = pd.read_csv(path)
    X, y = table.drop(columns="species"), table["species"]
    X_res, y_res = BayesOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.dtypes.equals(X.dtypes)
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X)
    new = X_res.iloc[len(X) :]
    assert set(new["island"]) <= set(X["island"]) and set(new["sex"]) <= {"male", "female"}
    assert (new["body_mass_g"] % 1 == 0).all() and (new["year"].isin([2007, 2008, 2009])).all()
    assert y_res.value_counts().eq(152).all()


def test_label_types_come_back():
    X, y = _blobs(sizes=(40, 10))
    sampler = BayesOverSampler(random_state=0)
    X_list, y_list = sampler.fit_resample(X.tolist(), y.tolist())
    assert isinstance(X_list, list) and isinstance(y_list, list) and len(X_list) == 80
    X_arr, y_arr = sampler.fit_resample(X.astype(np.float32), y.astype(np.int32))
    assert X_arr.dtype == np.float32 and y_arr.dtype == np.int32
    np.testing.assert_allclose(X_arr, np.asarray(X_list, dtype=np.float32), rtol=1e-6)
    _, y_frame = sampler.fit_resample(X, pd.DataFrame({"target": y}))
    assert isinstance(y_frame, pd.DataFrame) and list(y_frame.columns) == ["target"]
    onehot = np.eye(2, dtype=np.int64)[y]
    _, y_onehot = sampler.fit_resample(X, onehot)
    assert y_onehot.shape == (80, 2) and (y_onehot.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(y_onehot.argmax(axis=1), y_arr)


def test_integer_array_stays_integer_within_its_range():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.integers(0, 10, (60, 2)), rng.integers(5, 8, (6, 2))])
    y = np.repeat([0, 1], [60, 6])
    X_res, _ = BayesOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.dtype == X.dtype
    assert X_res.min() >= 0 and X_res.max() <= 9


def test_text_and_nan_arrays_are_modelled_as_tables():
    rng = np.random.default_rng(0)
    X = rng.choice(np.array(["A", "B", "C"], dtype=object), (30, 1))
    y = np.array([0] * 10 + [1] * 20)
    X_res, y_res = BayesOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.dtype == object and set(X_res.ravel()) <= {"A", "B", "C"}
    X = rng.normal(size=(50, 2))
    X[::7, 0] = np.nan
    X_res, _ = BayesOverSampler(random_state=0).fit_resample(X, np.repeat([0, 1], [35, 15]))
    assert X_res.dtype == np.float64
    assert not np.isnan(X_res[50:]).any() and np.isnan(X_res[:50]).sum() == 8


# ---------------------------------------------------------------------------- randomness
def test_random_state_reproducibility():
    X, y = _blobs(sizes=(50, 10))
    a = BayesOverSampler(random_state=7).fit_resample(X, y)[0]
    b = BayesOverSampler(random_state=7).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    c = BayesOverSampler(random_state=8).fit_resample(X, y)[0]
    assert not np.array_equal(a, c)
    d = BayesOverSampler().fit_resample(X, y)[0]
    e = BayesOverSampler().fit_resample(X, y)[0]
    assert not np.array_equal(d[60:], e[60:])  # None: fresh draws each time
    g1 = BayesOverSampler(random_state=np.random.default_rng(5)).fit_resample(X, y)[0]
    g2 = BayesOverSampler(random_state=np.random.default_rng(5)).fit_resample(X, y)[0]
    np.testing.assert_array_equal(g1, g2)
    gen = np.random.default_rng(5)
    sampler = BayesOverSampler(random_state=gen)
    first, second = sampler.fit_resample(X, y)[0], sampler.fit_resample(X, y)[0]
    assert not np.array_equal(first, second)  # the Generator is advanced


# ---------------------------------------------------------------------------- pipelines
class _Recorder(ClassifierMixin, BaseEstimator):
    """Predicts the majority class and records the rows it is fitted on and asked about."""

    log: list = []

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        _Recorder.log.append(("fit", np.asarray(X).copy(), np.asarray(y).copy()))
        return self

    def predict(self, X):
        _Recorder.log.append(("predict", np.asarray(X).copy(), None))
        return np.full(len(X), self.classes_[0])


def test_imblearn_pipeline_resamples_on_fit_only():
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression

    X, y = _blobs(sizes=(80, 20, 10))
    model = pipeline.Pipeline(
        [("os", BayesOverSampler(random_state=0)), ("clf", LogisticRegression())]
    )
    scores = cross_val_score(model, X, y, cv=3, scoring="balanced_accuracy")
    assert scores.shape == (3,) and scores.min() > 0.8

    _Recorder.log = []
    folds = list(StratifiedKFold(3).split(X, y))
    model = pipeline.Pipeline([("os", BayesOverSampler(random_state=0)), ("clf", _Recorder())])
    cross_val_score(model, X, y, cv=StratifiedKFold(3), scoring="accuracy")
    fits = [entry for entry in _Recorder.log if entry[0] == "fit"]
    predictions = [entry for entry in _Recorder.log if entry[0] == "predict"]
    assert len(fits) == 3 and len(predictions) == 3
    for (train, test), fit, predict in zip(folds, fits, predictions, strict=True):
        n = train.shape[0]
        np.testing.assert_array_equal(fit[1][:n], X[train])  # the fold's rows first
        counts = np.bincount(fit[2])
        assert counts.min() == counts.max() == np.bincount(y[train]).max()  # balanced
        np.testing.assert_array_equal(predict[1], X[test])  # test rows untouched


# ---------------------------------------------------------------------------- bad input
def test_class_of_one_row_is_refused_by_name():
    X, y = _blobs(sizes=(20, 5, 1))
    for density in (None, "gaussian", "copula"):
        with pytest.raises(DataError, match=r"class 2 has 1 row .* no density can be learned"):
            BayesOverSampler(density, random_state=0).fit_resample(X, y)
    # left out of the strategy, it is kept as it is and left out of the model
    sampler = BayesOverSampler(sampling_strategy={1: 20}, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape[0] == 41 and Counter(y_res.tolist()) == {0: 20, 1: 20, 2: 1}
    assert sampler.model_.classes_.tolist() == [0, 1]


def test_strategy_asking_fewer_rows_than_a_class_has():
    X, y = _blobs(sizes=(20, 5))
    with pytest.raises(DataError, match="Originally, there is 5 samples and 3 samples"):
        BayesOverSampler(sampling_strategy={1: 3}).fit_resample(X, y)
    with pytest.raises(DataError, match="names the class 7"):
        BayesOverSampler(sampling_strategy={7: 30}).fit_resample(X, y)
    X3, y3 = _blobs()
    with pytest.raises(DataError, match="only when y is binary"):
        BayesOverSampler(sampling_strategy=0.8).fit_resample(X3, y3)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (sparse.csr_matrix(np.eye(4)), [0, 0, 1, 1], "sparse matrix"),
        (np.ones((4, 2)), [0, 1, 0], "X has 4 rows but y has 3 labels"),
        (np.ones(4), [0, 1, 0, 1], "two-dimensional"),
        (np.ones((4, 2)), [0.1, 0.2, 0.3, 0.4], "Unknown label type: 'continuous'"),
        (np.ones((4, 2)), [[1, 1], [0, 1], [1, 0], [0, 1]], "Multilabel and multioutput"),
        (np.ones((4, 2)), [1, 1, 1, 1], "only one class"),
        (np.ones((4, 2)), ["a", "b", None, "a"], "no label in data row 3"),
        (np.ones((4, 2)), [0.0, 1.0, np.nan, 1.0], "no label in data row 3"),
        (np.ones((4, 2)), np.array(["a", 1, "a", 1], dtype=object), "of one type"),
        (np.ones((4, 2)), None, "requires y to be passed"),
    ],
)
def test_bad_input(X, y, message):
    with pytest.raises(DataError, match=message):
        BayesOverSampler().fit_resample(X, y)


def test_bad_missing_option():
    X, y = _blobs(sizes=(20, 5))
    with pytest.raises(DataError, match="missing must be 'none' or 'keep'"):
        BayesOverSampler(missing="drop").fit_resample(X, y)


def test_fit_fits_the_model_without_drawing():
    X, y = _blobs(sizes=(20, 5))
    sampler = BayesOverSampler(random_state=0).fit(X, y)
    assert sampler.n_synthetic_ == {0: 0, 1: 15}
    assert not hasattr(sampler, "synthetic_mask_")
    rows, labels = sampler.model_.sample(3, y=1, random_state=0)
    assert rows.shape == (3, 3) and (labels == 1).all()


def test_integer_identifier_becomes_nullable_and_empty_in_new_rows():
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame(
        {
            "id": rng.permutation(n).astype(np.uint16),  # row numbers: not modelled
            "value": rng.normal(size=n),
            "group": rng.choice(["a", "b"], n),
        }
    )
    X_res, _ = BayesOverSampler(random_state=0).fit_resample(X, np.repeat([0, 1], [50, 10]))
    assert str(X_res["id"].dtype) == "UInt16"
    assert X_res["id"].iloc[:n].tolist() == X["id"].tolist()
    assert X_res["id"].iloc[n:].isna().all()


def test_synthetic_rows_keep_the_orders_of_the_data():
    """An order every row keeps (low <= high) holds in the added rows, for an array as for
    a DataFrame of numbers, as SMOTE's interpolations would keep it."""
    rng = np.random.default_rng(0)
    n = 400
    low = rng.normal(10, 3, n)
    X = np.column_stack([low, low + rng.exponential(0.5, n)])
    y = np.where(rng.random(n) < 0.1, "rare", "common")
    for data in (X, pd.DataFrame(X, columns=["low", "high"])):
        X_res, _ = BayesOverSampler(random_state=0).fit_resample(data, y)
        added = np.asarray(X_res)[n:]
        assert len(added) > 200 and not (added[:, 0] > added[:, 1]).any()
    X_res, _ = BayesOverSampler(random_state=0, orders="ignore").fit_resample(X, y)
    assert (X_res[n:, 0] > X_res[n:, 1]).any()


def test_declared_kinds_join_the_numbers_kinds():
    """``column_types`` of the user on numbers: the other columns stay declared numbers."""
    rng = np.random.default_rng(6)
    X = np.c_[rng.normal(size=(300, 2)), rng.integers(0, 3, 300)]
    y = (rng.random(300) < 0.2).astype(int)
    sampler = BayesOverSampler(column_types={"x2": "categorical"}, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res[sampler.synthetic_mask_]
    assert set(np.unique(new[:, 2])) <= {0.0, 1.0, 2.0}
    kinds = [spec.kind for spec in sampler.model_.schema_.features]
    assert kinds == ["continuous", "continuous", "categorical"]
