"""Orders every training row keeps (``low <= high``) hold in the rows a table model draws."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import BaseEstimator

from bayesgen import BayesClassifier, GaussianCopulaDensity, load, streaming
from bayesgen.base.errors import ConditionError, DataError
from bayesgen.classifier.tables import _chains
from bayesgen.metrics import evaluate_table


def _table(n=600, seed=0):
    """``low <= high`` in every row, with gaps small enough that a copula breaks it often;
    a category, and a class label."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b"], n)
    low = rng.normal(10, 3, n) + 2 * (label == "b")
    high = low + rng.exponential(0.8, n)
    return pd.DataFrame(
        {
            "low": np.round(low, 2),
            "high": np.round(high, 1) + 0.1,  # one decimal, still above low
            "kind": rng.choice(["x", "y", "z"], n),
            "label": label,
        }
    )


def clone_model(model):
    """A fitted model's copy whose schema can be changed without touching the fixture's."""
    return copy.deepcopy(model)


def _breaks(frame) -> np.ndarray:
    return (frame["low"] > frame["high"]).to_numpy()


@pytest.fixture(scope="module")
def fitted():
    frame = _table()
    X, y = frame.drop(columns="label"), frame["label"]
    kept = BayesClassifier("copula", random_state=0).fit(X, y)
    free = BayesClassifier("copula", random_state=0, orders="ignore").fit(X, y)
    return frame, kept, free


def test_the_order_is_found_and_samples_keep_it(fitted):
    frame, kept, free = fitted
    assert not _breaks(frame).any()
    assert kept.schema_.describe_orders(kept.orders_) == ["low <= high"]
    assert free.orders_ is None
    X, y = kept.sample(20_000, random_state=1)
    assert not _breaks(X).any()
    X_free, _ = free.sample(20_000, random_state=1)
    assert _breaks(X_free).mean() > 0.01  # the density alone breaks it


def test_only_the_cells_of_a_broken_order_are_redrawn(fitted):
    """Same fit, same seed: the rows are drawn alike, and keeping the order changes only
    the two cells of the rows that broke it, which then lie inside the order."""
    _, kept, free = fitted
    kept, free = clone_model(kept), clone_model(free)
    for model in (kept, free):  # cells outside the range would be redrawn too
        model.schema_.set_bounds("low", None)
        model.schema_.set_bounds("high", None)
    X, y = kept.sample(20_000, random_state=2)
    X_free, y_free = free.sample(20_000, random_state=2)
    assert (y == y_free).all()
    broken = _breaks(X_free)
    assert broken.mean() > 0.01
    pd.testing.assert_frame_equal(X[~broken], X_free[~broken])
    assert (X["kind"] == X_free["kind"]).all()  # outside the order: never redrawn
    assert (X.loc[broken, ["low", "high"]] != X_free.loc[broken, ["low", "high"]]).any().all()
    assert not _breaks(X).any()


def test_redrawn_cells_follow_their_conditional_inside_the_order():
    """Two columns with a Gaussian pair per class: a redrawn pair comes from the bivariate
    normal restricted to ``low <= high``, whose conditional mean of ``high - low`` is the
    truncated normal's."""
    rng = np.random.default_rng(7)
    n = 4000
    low = rng.normal(0, 1, n)
    gap = np.abs(rng.normal(0, 0.3, n))  # the data keep the order
    frame = pd.DataFrame({"low": low, "high": low + gap, "label": rng.choice(["a", "b"], n)})
    model = BayesClassifier("gaussian", random_state=0)
    model.set_params(column_types={})
    model.fit(frame[["low", "high"]], frame["label"])
    assert model.orders_.tolist() == [[0, 1]]
    X, y = model.sample(40_000, y="a", random_state=3)
    d = (X["high"] - X["low"]).to_numpy()
    assert d.min() >= 0
    # the fitted Gaussian's difference D = high - low is normal; rows keep D when D >= 0
    # and redraw (low, high) given nothing else, i.e. from the Gaussian given D >= 0: so
    # D follows the normal truncated at 0, and its mean is the truncated normal's
    density = model.densities_[0]
    mean, cov = density.mean(), density.covariance()
    mu = mean[1] - mean[0]
    sd = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    expected = stats.truncnorm(-mu / sd, np.inf, loc=mu, scale=sd)
    assert stats.kstest(d, expected.cdf).pvalue > 1e-3


def test_labels_are_not_redrawn(fitted):
    _, kept, _ = fitted
    labels = np.array(["a"] * 300 + ["b"] * 700)
    X, y = kept.sample(y=labels, random_state=4)
    assert (y == labels).all() and not _breaks(X).any()


def test_conditions_and_chunked_sampling_keep_the_order(fitted):
    _, kept, _ = fitted
    X, _ = kept.sample(3000, given={"low": (12.0, None)}, random_state=5)
    assert (X["low"] >= 12.0).all() and not _breaks(X).any()
    for chunk, _ in kept.iter_samples(5000, chunk_size=1000, random_state=6):
        decoded = kept.schema_.decode(chunk)
        assert not _breaks(decoded).any()


def test_conditions_that_leave_the_order_no_room_warn(fitted):
    _, kept, _ = fitted
    # both columns in one range: rows with low above high cannot be redrawn
    with pytest.warns(UserWarning, match="generated rows still break an order.*low <= high"):
        X, _ = kept.sample(300, given={"low": (10.0, 14.0), "high": (10.0, 14.0)}, random_state=0)
    assert len(X) == 300 and _breaks(X).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one condition: the other cell is redrawn
        X, _ = kept.sample(200, given={"low": (14.0, None)}, random_state=0)
    assert not _breaks(X).any() and (X["low"] >= 14.0).all()


def test_conditions_on_both_columns_are_narrowed_by_the_order(fitted):
    _, kept, _ = fitted
    # high = 12 and low >= 12: low can only be 12 (a value low takes: two decimals)
    X, _ = kept.sample(200, given={"high": 12.1, "low": (12.1, None)}, random_state=0)
    assert (X["low"] == 12.1).all() and (X["high"] == 12.1).all()
    with pytest.raises(DataError, match="contradict low <= high") as error:
        kept.sample(5, given={"high": 8.0, "low": (12.0, None)})
    assert not isinstance(error.value, ConditionError)  # readable, but impossible


def test_model_files_keep_the_orders(fitted, tmp_path):
    _, kept, free = fitted
    kept.save(tmp_path / "kept.bgm")
    free.save(tmp_path / "free.bgm")
    np.testing.assert_array_equal(load(tmp_path / "kept.bgm").orders_, kept.orders_)
    assert load(tmp_path / "free.bgm").orders_ is None
    state = kept._get_state()
    state.pop("orders")  # a file written before orders were kept
    assert type(kept)._from_state(state).orders_ is None


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        (np.array([[0, 7]]), "pairs of two different features"),
        (np.array([[1, 1]]), "pairs of two different features"),
        (np.array([0, 1]), "shape"),
        (np.array([[0.0, 1.0]]), "integer"),
        (np.array([[0, 2]]), "numeric columns with numeric ones"),  # "kind" is categorical
        (np.array([[0, 1], [1, 0]]), "each pair of columns once"),
        (np.array([[0, 1], [0, 1]]), "each pair of columns once"),
    ],
)
def test_bad_orders_in_a_model_file_are_refused(fitted, orders, message):
    _, kept, _ = fitted
    state = kept._get_state()
    state["orders"] = orders
    with pytest.raises(ValueError, match=f"orders.*{message}"):
        type(kept)._from_state(state)


def test_a_streamed_fit_finds_the_same_orders(tmp_path):
    frame = _table(n=3000, seed=1)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    whole = BayesClassifier(random_state=0).fit(frame.drop(columns="label"), frame["label"])
    chunks = streaming.fit_file(
        BayesClassifier(random_state=0), path, chunk_rows=400, label_column="label"
    )
    np.testing.assert_array_equal(chunks.orders_, whole.orders_)
    assert chunks.orders_.shape == (1, 2)


def test_a_bad_orders_value_fails_before_fitting():
    frame = _table(n=60)
    with pytest.raises(DataError, match="orders must be 'keep' or 'ignore'"):
        BayesClassifier(orders="always").fit(frame.drop(columns="label"), frame["label"])


@pytest.mark.parametrize("density", ["gaussian", "copula"])
def test_arrays_keep_their_orders_too(density):
    rng = np.random.default_rng(0)
    low = rng.normal(size=300)
    X = np.column_stack([low, rng.normal(size=300), low + rng.exponential(0.3, size=300)])
    model = BayesClassifier(density).fit(X, rng.choice([0, 1], 300))
    assert model.order_columns().describe_orders(model.orders_) == ["feature 0 <= feature 2"]
    S, _ = model.sample(5000, random_state=0)
    assert not (S[:, 0] > S[:, 2]).any()
    free, _ = (
        BayesClassifier(density, orders="ignore")
        .fit(X, rng.choice([0, 1], 300))
        .sample(5000, random_state=0)
    )
    assert (free[:, 0] > free[:, 2]).mean() > 0.01


def test_evaluation_reports_rows_breaking_an_order(fitted):
    frame, kept, free = fitted
    train, test = frame.iloc[:400], frame.iloc[400:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept_ev = evaluate_table(kept, train, test, label="label", random_state=0)
        free_ev = evaluate_table(free, train, test, label="label", random_state=0)
    assert kept_ev.settings["orders_kept_by_train"] == ["low <= high"]
    assert kept_ev.order_breaks == (0.0, 0.0)
    assert free_ev.order_breaks[0] > 0.0
    assert any(r[0].startswith("rows breaking an order") for r in kept_ev.rows())


def test_orders_that_share_a_column_are_redrawn_as_one_chain():
    orders = np.array([[0, 1], [2, 0], [3, 4]])  # 2 <= 0 <= 1, and 3 <= 4
    chains = _chains(orders, 6)
    assert chains[0].tolist() == [True, True, True, False, False, False]
    assert (chains[1] == chains[0]).all()
    assert chains[2].tolist() == [False, False, False, True, True, False]


def test_imputed_cells_keep_the_orders_and_observed_cells_stay(fitted):
    frame, kept, free = fitted
    rows = frame.drop(columns="label").iloc[:300].copy()
    rows.loc[rows.index[:150], "low"] = np.nan  # filled below its row's high
    rows.loc[rows.index[150:], "high"] = np.nan  # filled above its row's low
    rows.loc[rows.index[0], "high"] = rows.loc[rows.index[0], "high"] - 30  # data: left as is
    done = kept.impute(rows, random_state=0)
    pd.testing.assert_series_equal(done["kind"], rows["kind"])
    assert not _breaks(done.iloc[1:]).any()
    assert done.loc[rows.index[0], "high"] == rows.loc[rows.index[0], "high"]
    # without the orders the same completions break some
    loose = free.impute(rows, draws=20, random_state=0)
    assert any(_breaks(d.iloc[1:]).any() for d in loose)


class _PlainGaussian(BaseEstimator):
    """A density from outside bayesgen: fit, score_samples and sample only."""

    def fit(self, X, y=None):
        self.mean_, self.cov_ = X.mean(axis=0), np.cov(X.T)
        return self

    def score_samples(self, X):
        return stats.multivariate_normal(self.mean_, self.cov_).logpdf(X)

    def sample(self, n, random_state=None):
        rng = np.random.default_rng(random_state)
        return rng.multivariate_normal(self.mean_, self.cov_, n)


@pytest.mark.parametrize(
    "density",
    [GaussianCopulaDensity(marginals="parametric"), _PlainGaussian()],
    ids=["parametric copula", "other library"],
)
def test_densities_without_a_latent_view_redraw_whole_rows(density):
    frame = _table(n=400).drop(columns="kind")
    model = BayesClassifier(density, column_types={})
    model.fit(frame.drop(columns="label"), frame["label"])
    assert model.orders_.tolist() == [[0, 1]]
    X, _ = model.sample(3000, random_state=0)
    assert not _breaks(X).any()


def test_partial_fit_drops_the_orders_it_cannot_update():
    frame = _table(n=400).drop(columns="kind")
    model = BayesClassifier("gaussian", column_types={})
    model.fit(frame.drop(columns="label"), frame["label"])
    assert model.orders_ is not None
    model.partial_fit(frame[["low", "high"]].to_numpy(), frame["label"])
    assert model.orders_ is None
