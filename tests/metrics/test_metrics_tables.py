"""Table metrics: measures against hand-computed values, invariants, and evaluate_table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesgen.base.errors import DataError
from bayesgen.metrics import TableEvaluation, evaluate_table, to_jsonable
from bayesgen.metrics.table_measures import (
    association_matrix,
    correlation_ratio,
    cramers_v,
    exact_copies,
    gower_nearest,
    ks_statistic,
    pattern_total_variation,
    total_variation,
)

# ------------------------------------------------------------------ measures


def test_ks_matches_scipy_with_ties_and_missing_cells():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 8, 300).astype(float)  # many ties
    b = rng.normal(3.5, 2.0, 200).round(1)
    a[::7] = np.nan
    expected = stats.ks_2samp(a[~np.isnan(a)], b).statistic
    assert ks_statistic(a, b) == pytest.approx(expected, abs=1e-12)
    assert ks_statistic(a, a) == 0.0
    assert np.isnan(ks_statistic([np.nan], b))


def test_total_variation_by_hand():
    # p = (1/2, 1/4, 1/4), q = (1/4, 3/4, 0): TV = (1/4 + 1/2 + 1/4) / 2
    a = np.array([0, 0, 1, 2, np.nan])
    b = np.array([0, 1, 1, 1])
    assert total_variation(a, b) == pytest.approx(0.5)
    assert total_variation(a, a) == 0.0
    assert total_variation([0, 0], [1, 1]) == pytest.approx(1.0)


def test_pattern_total_variation_by_hand():
    nan = np.nan
    # patterns of A: {} x2, {0, 1} x2; of B: one each of {}, {0}, {1}, {0, 1}.  Per-column
    # rates agree (1/2, 1/2), the patterns do not: TV = (1/4 + 1/4 + 1/4 + 1/4) / 2
    A = np.array([[1, 2], [3, 4], [nan, nan], [nan, nan]])
    B = np.array([[1, 2], [nan, 5], [6, nan], [nan, nan]])
    assert pattern_total_variation(A, B) == pytest.approx(0.5)
    assert pattern_total_variation(A, A[::-1]) == 0.0
    assert np.isnan(pattern_total_variation(A[:0], B))


def test_cramers_v_on_a_known_table():
    # 2 x 3 table [[10, 20, 30], [30, 20, 10]] as rows of codes
    table = np.array([[10, 20, 30], [30, 20, 10]])
    a = np.repeat([0, 0, 0, 1, 1, 1], table.ravel())
    b = np.repeat([0, 1, 2, 0, 1, 2], table.ravel())
    # by hand: n = 120, every expected count 20, chi2 = (4 * 100) / 20 = 20
    assert cramers_v(a, b) == pytest.approx(np.sqrt(20 / (120 * 1)))
    expected = stats.contingency.association(table, method="cramer")
    assert cramers_v(a, b) == pytest.approx(expected)
    assert cramers_v(b, a) == pytest.approx(expected)
    # independence gives 0, a bijection gives 1, a constant column 0
    assert cramers_v([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0)
    assert cramers_v([0, 1, 2, 0], [2, 0, 1, 2]) == pytest.approx(1.0)
    assert cramers_v([1, 1, 1], [0, 1, 0]) == 0.0


def test_cramers_v_uses_pairwise_complete_rows():
    a = np.array([0, 0, 1, 1, np.nan, 1])
    b = np.array([0, 0, 1, 1, 0, np.nan])
    assert cramers_v(a, b) == pytest.approx(1.0)
    assert np.isnan(cramers_v([0, np.nan], [np.nan, 1]))


def test_correlation_ratio_by_hand():
    # means 2 and 6 about 4: SS_between = 2*4 + 2*4 = 16, SS_total = 9+1+1+9 = 20
    cats = np.array([0, 0, 1, 1, np.nan])
    values = np.array([1.0, 3.0, 5.0, 7.0, 100.0])
    assert correlation_ratio(cats, values) == pytest.approx(np.sqrt(16 / 20))
    assert correlation_ratio([0, 1, 0, 1], [2.0, 2.0, 2.0, 2.0]) == 0.0
    assert correlation_ratio([0, 0, 1, 1], [1.0, 1.0, 5.0, 5.0]) == pytest.approx(1.0)


def test_association_matrix_kinds_and_pairwise_complete_rows():
    rng = np.random.default_rng(1)
    n = 200
    x = rng.normal(size=n)
    z = x + rng.normal(size=n)
    c = (x > 0).astype(float)
    d = rng.integers(0, 3, n).astype(float)
    X = np.column_stack([x, z, c, d])
    X[::9, 1] = np.nan
    A = association_matrix(X, [False, False, True, True])
    keep = ~np.isnan(X[:, 1])
    assert A[0, 1] == pytest.approx(np.corrcoef(x[keep], z[keep])[0, 1])
    assert A[0, 2] == pytest.approx(correlation_ratio(c, x))
    assert A[2, 3] == pytest.approx(cramers_v(c, d))
    np.testing.assert_allclose(A, A.T)
    np.testing.assert_allclose(np.diag(A), 1.0)
    S = association_matrix(X, [False, False, True, True], correlation="spearman")
    assert S[0, 1] == pytest.approx(stats.spearmanr(x[keep], z[keep]).statistic)


def test_gower_two_rows_by_hand():
    # number: |1 - 3| / 4 = 0.5; category: 0 != 1 -> 1; third column missing -> skipped
    Q = np.array([[1.0, 0.0, np.nan]])
    R = np.array([[3.0, 1.0, 5.0]])
    d = gower_nearest(Q, R, [False, True, False], [4.0, 0.0, 10.0])
    assert d == pytest.approx([(0.5 + 1.0) / 2])
    # a difference beyond the range counts as 1; the nearest of two rows is taken
    R2 = np.array([[100.0, 0.0, 5.0], [1.0, 1.0, 5.0]])
    d2 = gower_nearest(np.array([[1.0, 0.0, 6.0]]), R2, [False, True, False], [4.0, 0.0, 10.0])
    assert d2 == pytest.approx([min((1 + 0 + 0.1) / 3, (0 + 1 + 0.1) / 3)])
    # no column observed in both rows: undefined
    nan = gower_nearest(np.array([[np.nan, 1.0]]), np.array([[1.0, np.nan]]), [0, 0], [1, 1])
    assert np.isnan(nan[0])


def test_exact_copies_need_every_cell_equal_missing_ones_included():
    nan = np.nan
    R = np.array([[1.0, 2.0, 3.0], [4.0, nan, 6.0], [0.0, 0, 0]])
    Q = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, nan], [4.0, nan, 6.0], [4.0, 5.0, 6.0], [-0.0, 0, 0]])
    assert exact_copies(Q, R).tolist() == [True, False, True, False, True]
    # Gower skips missing cells: the second row is at distance 0, yet no copy
    assert gower_nearest(Q[1:2], R, [0, 0, 0], [3, 1, 3])[0] == 0.0


def test_gower_blocks_match_one_block_and_self_distance_is_zero():
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=120), rng.integers(0, 4, 120), rng.normal(size=120)])
    X[::5, 2] = np.nan
    Q = X[:50] + np.array([0.1, 0.0, 0.2])
    cat = [False, True, False]
    ranges = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    whole = gower_nearest(Q, X, cat, ranges)
    blocked = gower_nearest(Q, X, cat, ranges, block_cells=7 * len(X))
    np.testing.assert_allclose(blocked, whole)
    # the vectorised distance equals the definition, row by row
    for i in (0, 3, 17):
        obs = ~np.isnan(Q[i]) & ~np.isnan(X)
        delta = np.where(np.array(cat), Q[i] != X, np.minimum(np.abs(Q[i] - X) / ranges, 1.0))
        full = np.where(obs, delta, 0).sum(axis=1) / obs.sum(axis=1)
        assert whole[i] == pytest.approx(full.min())
    np.testing.assert_array_equal(gower_nearest(X, X, cat, ranges), 0.0)


def test_table_against_itself_has_zero_error():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=80), rng.integers(0, 3, 80), rng.exponential(size=80)])
    X[::6, 0] = np.nan
    cat = np.array([False, True, False])
    for j in range(3):
        measure = total_variation if cat[j] else ks_statistic
        assert measure(X[:, j], X[:, j]) == 0.0
    A = association_matrix(X, cat)
    assert np.abs(A - association_matrix(X.copy(), cat)).max() == 0.0


# ------------------------------------------------------------------ evaluate_table


class _Copier:
    """A 'model' that samples by handing back its training rows, in order (the labels it
    is asked for only set the number of rows)."""

    def __init__(self, frame, label):
        self.frame, self.label = frame.reset_index(drop=True), label
        self.classes_ = np.unique(frame[label].to_numpy())
        self.asked = None

    def sample(self, n=None, *, y=None, random_state=None):
        self.asked = y
        rows = self.frame.iloc[: len(y) if y is not None else n]
        return rows.drop(columns=[self.label]), rows[self.label].to_numpy()


def _mixed_frame(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], n)
    x = rng.normal(size=n) + (y == "b") * 2.0
    frame = pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 50, n),
            "colour": np.where(x > 0.5, "red", rng.choice(["blue", "green"], n)),
            "y": y,
        }
    )
    frame.loc[frame.index[::10], "x"] = np.nan
    return frame


def test_a_copying_model_matches_the_floor_and_fails_the_privacy_floor():
    frame = _mixed_frame(300, 4)
    train, test = frame.iloc[:200], frame.iloc[200:]
    model = _Copier(train, "y")
    ev = evaluate_table(model, train, test, label="y", random_state=0)
    assert isinstance(ev, TableEvaluation)
    # labels="train": the synthetic labels asked for have the training composition
    asked = pd.Series(model.asked).value_counts().sort_index()
    pd.testing.assert_series_equal(asked, train["y"].value_counts().sort_index(), check_names=False)
    for col in ev.columns:  # synthetic == the floor set, so value == floor exactly
        assert col.value == col.floor
        assert col.missing_synthetic == col.missing_train
    assert ev.missing_pattern_tv[0] == ev.missing_pattern_tv[1]
    assert ev.association.error == ev.association.floor
    assert ev.dcr.synthetic_median == 0.0 and ev.dcr.synthetic_exact == 1.0
    assert not ev.dcr.holds
    assert [t.classifier for t in ev.tstr] == ["gradient boosting", "logistic"]
    for t in ev.tstr:
        assert t.tstr == pytest.approx(t.trtr)
    assert ev.settings["kinds"] == {"x": "numeric", "k": "numeric", "colour": "categorical"}


def test_label_plan_scales_the_training_composition():
    frame = _mixed_frame(90, 7)
    model = _Copier(frame, "y")
    evaluate_table(model, frame, frame, label="y", n_samples=45, random_state=0)
    share = pd.Series(model.asked).value_counts() / 45
    expected = frame["y"].value_counts() / 90
    assert len(model.asked) == 45
    assert (share - expected).abs().max() <= 1 / 45 + 1e-12
    evaluate_table(model, frame, frame, label="y", labels="prior", random_state=0)
    assert model.asked is None
    with pytest.raises(DataError, match="labels must be one of"):
        evaluate_table(model, frame, frame, label="y", labels="uniform")


def test_evaluate_table_refuses_missing_labels_and_columns():
    frame = _mixed_frame(60, 5)
    model = _Copier(frame, "y")
    with pytest.raises(DataError, match="label column 'label'"):
        evaluate_table(model, frame, frame, label="label")
    bad = frame.copy()
    bad.loc[0, "y"] = None
    with pytest.raises(DataError, match="1 rows without a label"):
        evaluate_table(model, bad, frame, label="y")
    renamed = frame.rename(columns={"colour": "color"})
    with pytest.raises(DataError, match=r"lacks the model's column\(s\) \['colour'\].*'color'"):
        evaluate_table(model, frame, renamed, label="y")


def test_evaluate_table_on_penguins(shared_data):
    path = shared_data / "tables" / "penguins.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    from bayesgen import BayesClassifier

    frame = pd.read_csv(path)
    rng = np.random.default_rng(0)
    test_rows = rng.permutation(len(frame))[:100]
    test = frame.iloc[np.sort(test_rows)]
    train = frame.drop(index=test.index)
    model = BayesClassifier(random_state=0).fit(train.drop(columns="species"), train["species"])
    ev = evaluate_table(model, train, test, label="species", random_state=0)

    names = [c.name for c in ev.columns]
    assert names == [c for c in frame.columns if c != "species"]
    kinds = {c.name: c.statistic for c in ev.columns}
    assert kinds["island"] == kinds["sex"] == "TV" and kinds["body_mass_g"] == "KS"
    assert set(ev.columns[0].per_class) == {"Adelie", "Chinstrap", "Gentoo"}
    for col in ev.columns:
        assert np.isfinite(col.floor) and 0.0 <= col.value <= 1.0
    assert np.isfinite(ev.association.floor) and ev.association.n_pairs == 21
    assert all(np.isfinite(t.trtr) and 0 <= t.tstr <= 1 for t in ev.tstr)
    assert np.isfinite(ev.dcr.holdout_median) and np.isfinite(ev.dcr.synthetic_median)
    assert len(ev.dcr.synthetic_distances) == len(train)
    rows = ev.rows()
    assert all(len(r) == 4 for r in rows) and rows[0][0].startswith("mean per-column")
    assert all(np.isfinite(floor) for m, _, floor, _ in rows if floor is not None)
    text = json.dumps(to_jsonable(ev), allow_nan=False)
    assert "synthetic_distances" not in text
    assert "species" in ev.format_table()


def test_balanced_accuracy_is_the_mean_recall_that_sklearn_computes():
    from sklearn.metrics import balanced_accuracy_score

    from bayesgen.metrics.table_classifiers import _logistic, table_tstr

    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 300)
    X = np.column_stack([rng.normal(size=300) + y, (y + rng.integers(0, 2, 300)) % 3])
    X[::11, 0] = np.nan
    cat = np.array([False, True])
    seeds = {"gradient_boosting": 1, "logistic": 2}
    out = table_tstr(X[:100], y[:100], X[100:200], y[100:200], X[200:], y[200:], cat, seeds, [])
    lr = out[1]
    assert lr.classifier == "logistic" and set(lr.recall_tstr) == {"0", "1", "2"}
    pred = _logistic(cat, 2).fit(X[:100], y[:100]).predict(X[200:])
    assert lr.tstr == pytest.approx(balanced_accuracy_score(y[200:], pred))
    assert lr.tstr == pytest.approx(np.mean(list(lr.recall_tstr.values())))


def test_the_models_own_classification_is_scored_as_sklearn_would():
    from sklearn.metrics import balanced_accuracy_score, log_loss

    from bayesgen import BayesClassifier

    frame = _mixed_frame(400, 8)
    train, test = frame.iloc[:300], frame.iloc[300:]
    model = BayesClassifier(random_state=0).fit(train.drop(columns="y"), train["y"])
    ev = evaluate_table(model, train, test, label="y", random_state=0)
    c = ev.classification
    proba = model.predict_proba(test.drop(columns="y"))
    assert c.log_loss == pytest.approx(log_loss(test["y"], proba, labels=model.classes_))
    predicted = model.classes_[proba.argmax(axis=1)]
    assert c.balanced_accuracy == pytest.approx(balanced_accuracy_score(test["y"], predicted))
    prior = dict(zip(model.classes_, model.class_prior_, strict=True))
    assert c.prior_log_loss == pytest.approx(-np.mean(np.log(test["y"].map(prior))))
    assert c.log_likelihood == pytest.approx(model.score_samples(test.drop(columns="y")).mean())
    assert c.reference_balanced_accuracy == ev.tstr[0].trtr and c.n_test == 100
    assert any(r[0].startswith("model's log-loss") for r in ev.rows())
    # a generator that cannot classify (no predict_proba) has no such block
    assert evaluate_table(_Copier(train, "y"), train, test, label="y").classification is None
