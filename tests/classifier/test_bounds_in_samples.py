"""Generated table cells stay inside each column's range without piling up at its ends: a
cell outside is redrawn given the rest of its row (classifier.tables.keep_orders)."""

import numpy as np
import pandas as pd
import pytest

from bayesgen import BayesClassifier


def _table(seed=0):
    """A big class spread over the whole range and a class of three rows: the small class's
    tails reach past the range of the table."""
    rng = np.random.default_rng(seed)
    n = 300
    big = pd.DataFrame(
        {
            "salary": np.round(rng.normal(60_000, 15_000, n), 2),
            "hired": pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 5000, n), "D"),
            "team": rng.choice(["a", "b"], n),
        }
    )
    small = pd.DataFrame(
        {
            "salary": [77_343.55, 37_652.88, 65_431.69],
            "hired": pd.to_datetime(["2018-07-05", "2010-01-31", "2015-01-04"]),
            "team": ["a", "b", "a"],
        }
    )
    X = pd.concat([big, small], ignore_index=True)
    y = np.r_[np.full(n, "stay"), np.full(3, "fired")]
    return X, y


@pytest.fixture(scope="module")
def model():
    X, y = _table()
    return X, BayesClassifier("copula", random_state=0).fit(X, y)


def test_a_small_class_does_not_pile_up_at_the_ends_of_the_range(model):
    X, fitted = model
    S, _ = fitted.sample(4_000, y="fired", random_state=1)
    for column in ("salary", "hired"):
        lo, hi = X[column].min(), X[column].max()
        assert S[column].between(lo, hi).all()
        at_ends = S[column].isin([lo, hi]).mean()
        assert at_ends < 0.005, column  # clipping put about a fifth of the rows there
        # no value repeats like a point mass: the class has three rows, the draws spread
        assert S[column].value_counts().iloc[0] < 0.01 * len(S)


def test_a_narrowed_range_is_filled_not_piled_onto_its_ends(model):
    X, fitted = model
    import copy

    fitted = copy.deepcopy(fitted)
    fitted.schema_.set_bounds("salary", (50_000, 70_000))
    S, _ = fitted.sample(4_000, y="stay", random_state=2)
    assert S["salary"].between(50_000, 70_000).all()
    assert S["salary"].isin([50_000, 70_000]).mean() < 0.005
    # inside the range the class's values keep their shape: the normal centred at 60,000
    assert abs(S["salary"].median() - 60_000) < 1_500


def test_the_rows_inside_the_range_are_not_touched(model):
    """Only the rows with a cell outside the range are redrawn: the same seed with the
    range removed gives the same rows everywhere else."""
    X, fitted = model
    import copy

    free = copy.deepcopy(fitted)
    for column in ("salary", "hired"):
        free.schema_.set_bounds(column, None)
    S, _ = fitted.sample(4_000, y="fired", random_state=3)
    S_free, _ = free.sample(4_000, y="fired", random_state=3)
    inside = (
        S_free["salary"].between(X["salary"].min(), X["salary"].max())
        & S_free["hired"].between(X["hired"].min(), X["hired"].max())
    ).to_numpy()
    assert 0.5 < inside.mean() < 1.0
    pd.testing.assert_frame_equal(S[inside], S_free[inside])


def test_a_range_far_narrower_than_the_class_warns_that_cells_are_clipped(model):
    import copy
    import warnings

    X, fitted = model
    fitted = copy.deepcopy(fitted)
    fitted.schema_.set_bounds("salary", (60_000, 60_001))  # a sliver of the class's values
    with pytest.warns(UserWarning, match="clipped onto its ends"):
        S, _ = fitted.sample(300, y="stay", random_state=4)
    assert S["salary"].between(60_000, 60_001).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the range seen in training: no warning
        model[1].sample(300, random_state=5)
