"""Pass-1 summaries of tables read in chunks: exact below the cap, bounded, mergeable."""

import numpy as np
import pandas as pd
import pytest

from bayesgen import DataError
from bayesgen.densities.marginals import EmpiricalMarginals
from bayesgen.kernels.column_summary import CategoryCounts, NumericSummary, WeightedColumn
from bayesgen.kernels.score_moments import ScoreMoments, cell_uniforms
from bayesgen.tables import TableSchema
from bayesgen.tables.summaries import TableSummary


def _merged(parts, cap=4096, bins=4096):
    out = NumericSummary(cap, bins)
    for part in parts:
        out = out.merge(NumericSummary.of(part, cap, bins))
    return out


def _same(a: NumericSummary, b: NumericSummary):
    assert a.exponent == b.exponent
    for field in ("lo", "hi", "count", "at_lo"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_numeric_summary_is_exact_below_the_cap():
    x = np.round(np.random.default_rng(0).normal(size=5000), 1)
    s = _merged(np.array_split(x, 7))
    u, c = np.unique(x, return_counts=True)
    assert s.exact
    np.testing.assert_array_equal(s.lo, u)
    np.testing.assert_array_equal(s.count, c)
    np.testing.assert_allclose([s.mean, s.m2 / s.n], [x.mean(), x.var()], rtol=1e-12)


@pytest.mark.parametrize("cap", [4096, 50])
def test_merge_does_not_depend_on_the_parts_or_their_order(cap):
    rng = np.random.default_rng(1)
    x = np.r_[np.zeros(3000), rng.lognormal(size=9000), -rng.exponential(size=500)]
    whole = NumericSummary.of(x, cap=cap, bins=256)
    shuffled = rng.permutation(x)
    for parts in (np.array_split(shuffled, 2), np.array_split(shuffled, 37)):
        _same(whole, _merged(parts, cap=cap, bins=256))
        _same(whole, _merged(parts[::-1], cap=cap, bins=256))


def test_grid_is_bounded_and_keeps_point_masses_at_bin_starts():
    rng = np.random.default_rng(2)
    x = np.where(rng.random(100_000) < 0.3, 0.0, rng.gamma(2.0, size=100_000))
    s = _merged(np.array_split(x, 10), bins=1024)
    assert not s.exact and s.n_stored() <= 1024
    assert s.count.sum() == x.size
    column = s.weighted()
    zero = np.flatnonzero(column.values == 0.0)
    assert column.atoms[zero].all() and column.weights[zero] == np.sum(x == 0)
    assert column.count == x.size
    assert 0 < s.max_bin_mass() < 0.01


def test_grid_marginal_is_within_one_bin_of_the_in_memory_marginal():
    rng = np.random.default_rng(3)
    x = np.round(rng.lognormal(size=(40_000, 1)), 6)
    s = _merged(np.array_split(x[:, 0], 9))
    assert not s.exact
    streamed = EmpiricalMarginals.fit_weighted([s.weighted()], n_rows=x.shape[0])
    memory = EmpiricalMarginals.fit(x)
    probes = np.quantile(x, np.linspace(0.001, 0.999, 400))[:, None]
    F_stream = streamed.transform(probes)[0]
    F_memory = memory.transform(probes)[0]
    from scipy.special import ndtr

    gap = np.abs(ndtr(F_stream) - ndtr(F_memory)).max()
    assert gap <= s.max_bin_mass() + 1.0 / 256


def test_weighted_fit_is_the_in_memory_fit():
    rng = np.random.default_rng(4)
    X = np.c_[rng.integers(0, 5, 900), np.round(rng.normal(size=900), 2), rng.normal(size=900)]
    X[rng.random(X.shape) < 0.1] = np.nan
    a = EmpiricalMarginals.fit(X, categories={0: 5})
    columns = [
        CategoryCounts(np.bincount(X[:, 0][~np.isnan(X[:, 0])].astype(int))).weighted(),
        *(_merged(np.array_split(X[:, j], 4)).weighted() for j in (1, 2)),
    ]
    b = EmpiricalMarginals.fit_weighted(columns, n_rows=900, categories={0: 5})
    for key, value in a.state().items():
        np.testing.assert_array_equal(value, b.state()[key], err_msg=key)


def test_score_moments_merge_and_estimators():
    rng = np.random.default_rng(5)
    S = rng.multivariate_normal([0, 0, 0], [[1, 0.6, 0.2], [0.6, 1, 0.1], [0.2, 0.1, 1]], 4000)
    whole = ScoreMoments.of(S)
    parts = ScoreMoments.of(S[:1000]).merge(ScoreMoments.of(S[1000:]))
    np.testing.assert_allclose(parts.cross, whole.cross, rtol=1e-12)
    moment = S.T @ S
    sd = np.sqrt(np.diag(moment))
    np.testing.assert_allclose(whole.correlation(), moment / sd / sd[:, None], rtol=1e-12)
    S[rng.random(S.shape) < 0.2] = np.nan
    R = ScoreMoments.of(S).correlation()
    assert np.linalg.eigvalsh(R)[0] > 1e-6
    np.testing.assert_allclose(R[0, 1], 0.6, atol=0.05)


def test_cell_uniforms_do_not_depend_on_the_chunks():
    rows = np.arange(1000, 3000)
    whole = cell_uniforms(7, rows, 4)
    cut = np.vstack([cell_uniforms(7, part, 4) for part in np.array_split(rows, 13)])
    np.testing.assert_array_equal(whole, cut)
    assert 0 < whole.min() and whole.max() < 1 and abs(whole.mean() - 0.5) < 0.01
    assert not np.array_equal(whole, cell_uniforms(8, rows, 4))


# -- TableSummary ---------------------------------------------------------------------
def _frame(n, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": np.round(rng.normal(10, 2, n), 1),
            "count": rng.integers(0, 9, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "day": pd.date_range("2021-01-01", periods=n, freq="D")[rng.permutation(n)],
        }
    )
    frame.loc[rng.random(n) < 0.1, "size"] = np.nan
    frame.loc[rng.random(n) < 0.1, "colour"] = np.nan
    return frame, rng.choice(["a", "b"], n)


def _summarise(frame, labels, chunk):
    summary = None
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk].reset_index(drop=True)
        if summary is None:
            summary = TableSummary.start(part)
        summary.add(part, labels[start : start + chunk], rows=np.arange(start, start + len(part)))
    return summary.finish()


def test_schema_and_counts_cover_every_chunk():
    frame, labels = _frame(3000)
    frame.loc[2500:, "colour"] = frame.loc[2500:, "colour"].replace("blue", "violet")
    frame.loc[2900, "count"] = 100
    result = _summarise(frame, labels, 700)
    assert result.schema == TableSchema.detect(frame)
    assert result.schema["colour"].categories == ["blue", "green", "red", "violet"]
    np.testing.assert_array_equal(result.classes, ["a", "b"])
    for k, label in enumerate(result.classes):
        rows = frame[labels == label]
        assert result.rows[k] == len(rows)
        np.testing.assert_array_equal(result.patterns[k].missing, rows.isna().sum().to_numpy())
        codes = result.schema.encode(rows)[:, 2]
        counts = np.bincount(codes[~np.isnan(codes)].astype(int), minlength=4)
        np.testing.assert_array_equal(result.columns[k][2].counts, counts)
        days = result.columns[k][3].weighted().values
        np.testing.assert_array_equal(days, np.unique(result.schema.encode(rows)[:, 3]))


def test_kinds_widen_over_chunks():
    frame = pd.DataFrame({"n": np.arange(40) % 7, "x": np.ones(40)})
    later = pd.DataFrame({"n": [2.5, np.nan], "x": [1.0, 2.0]})
    summary = TableSummary.start(frame).add(frame, np.repeat(["a", "b"], 20))
    result = summary.add(later, np.array(["a", "b"])).finish()
    assert result.schema["n"].kind == "continuous" and result.schema["n"].decimals == 1
    assert result.schema["n"].dtype == "float64" and result.schema["n"].missing
    assert result.schema["x"].bounds == [1.0, 2.0]


def test_the_step_of_a_column_covers_every_chunk():
    """Masses weighed to 25 g: a step of 25 over all chunks, as one read of the table."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"mass": 25 * rng.integers(100, 200, 600), "x": rng.normal(size=600)})
    labels = np.repeat(["a", "b"], 300)
    assert TableSchema.detect(frame)["mass"].step == 25
    assert _summarise(frame, labels, 70).schema == TableSchema.detect(frame)
    frame.loc[599, "mass"] = 2510  # one mass to 10 g, in the last chunk: the step is 5
    assert _summarise(frame, labels, 70).schema["mass"].step == 5


def test_first_chunk_decides_kinds_and_must_fill_every_column():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3})
    with pytest.raises(DataError, match="'b' is empty in all 3 rows of the first chunk"):
        TableSummary.start(frame)
    summary = TableSummary.start(frame, drop=["b"])
    with pytest.raises(DataError, match=r"'a': data row 4 holds 'x'"):
        summary.add(pd.DataFrame({"a": ["x"], "b": [1.0]}), np.array(["u"]), rows=np.array([3]))


def test_summaries_do_not_grow_with_the_rows():
    stored = []
    for n in (20_000, 80_000):
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("pqr"), n)})
        summary = TableSummary.start(frame.iloc[:1000])
        for part in np.array_split(np.arange(n), 8):
            summary.add(frame.iloc[part].reset_index(drop=True), np.zeros(part.size, int))
        stored.append(summary.n_stored())
    assert max(stored) <= 4096 + 3  # one grid of at most 4096 bins, three categories


def test_weighted_column_of_raw_values():
    column = WeightedColumn.of(np.array([3.0, np.nan, 1.0, 3.0]))
    np.testing.assert_array_equal(column.values, [1.0, 3.0])
    assert column.count == 3 and column.exact and column.smallest_gap() == 2.0
