"""Missing-value patterns: exact counts that merge, and draws that keep rates and pairs."""

import numpy as np
import pytest

from bayesgen.kernels import missing_patterns as mp
from bayesgen.kernels.missing_patterns import MissingPatterns, PatternCounter


def _gaps(n, d, seed):
    """Rows where columns 1 and 2 are empty together, column 3 alone."""
    rng = np.random.default_rng(seed)
    gaps = np.zeros((n, d), dtype=bool)
    both = rng.random(n) < 0.2
    gaps[both, 1] = gaps[both, 2] = True
    gaps[:, 3] = rng.random(n) < 0.1
    return gaps


def _as_set(patterns):
    return {
        (int(k), m.tobytes(), round(float(p), 12))
        for k, m, p in zip(patterns.owner, patterns.masks, patterns.probability, strict=True)
    }


def test_counts_of_chunks_merge_to_the_counts_of_all_rows():
    gaps = _gaps(3000, 11, seed=0)  # 11 columns: packed bits span two bytes
    whole = PatternCounter(11).add(gaps)
    parts = PatternCounter(11)
    for chunk in np.array_split(gaps, [7, 500, 501, 2200]):
        parts.merge(PatternCounter(11).add(chunk))
    assert parts.rows == whole.rows == 3000
    assert parts.counts == whole.counts
    np.testing.assert_array_equal(parts.missing, gaps.sum(axis=0))
    masks, p = whole.top(10)
    assert p.sum() == pytest.approx(1.0)
    observed = {m.tobytes(): np.mean((gaps == m).all(axis=1)) for m in masks}
    for m, q in zip(masks, p, strict=True):
        assert q == pytest.approx(observed[m.tobytes()])


def test_the_patterns_kept_do_not_depend_on_the_order_of_the_chunks():
    gaps = np.eye(3, dtype=bool)[[0, 1, 2]]  # three patterns, one row each: a three-way tie
    kept = []
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        counter = PatternCounter(3)
        for i in order:
            counter.merge(PatternCounter(3).add(gaps[[i]]))
        kept.append(counter.top(2)[0].tobytes())
    assert kept[0] == kept[1] == kept[2]
    masks, p = PatternCounter(5).top(10)  # no rows: no pattern
    assert masks.shape == (0, 5) and p.shape == (0,)


def test_rows_of_a_fit_give_the_same_patterns_as_the_counter():
    gaps = _gaps(2000, 5, seed=1)
    y = np.random.default_rng(2).integers(0, 3, size=2000)
    direct = MissingPatterns.of_rows(gaps, y, 3)
    counted = MissingPatterns.from_counters([PatternCounter(5).add(gaps[y == k]) for k in range(3)])
    assert _as_set(direct) == _as_set(counted)


def test_draws_reproduce_the_patterns_and_each_columns_rate():
    gaps = _gaps(5000, 5, seed=3)
    y = np.zeros(5000, dtype=int)
    patterns = MissingPatterns.of_rows(gaps, y, 1)
    rates = gaps.mean(axis=0)[None, :]
    n = 40_000
    drawn = patterns.blank(np.zeros(n, dtype=int), rates, np.random.default_rng(4))
    for m, p in zip(patterns.masks, patterns.probability, strict=True):
        got = np.mean((drawn == m).all(axis=1))
        assert abs(got - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-12
    # columns 1 and 2 are never empty one without the other
    assert not np.any(drawn[:, 1] != drawn[:, 2])


def test_patterns_beyond_those_kept_still_give_exact_column_rates():
    rng = np.random.default_rng(5)
    gaps = rng.random((20_000, 6)) < np.array([0.05, 0.3, 0.1, 0.0, 0.2, 0.5])
    counter = PatternCounter(6).add(gaps)
    patterns = MissingPatterns.from_counters([counter], keep=3)
    assert patterns.probability.sum() < 0.9  # most rows fall beyond the kept three
    rates = gaps.mean(axis=0)[None, :]
    n = 50_000
    drawn = patterns.blank(np.zeros(n, dtype=int), rates, rng)
    se = np.sqrt(rates[0] * (1 - rates[0]) / n)
    assert np.all(np.abs(drawn.mean(axis=0) - rates[0]) < 4 * se + 1e-12)


def test_patterns_first_seen_beyond_the_tracking_cap_keep_exact_rates(monkeypatch):
    monkeypatch.setattr(mp, "TRACK_MAX", 4)
    rng = np.random.default_rng(6)
    gaps = rng.random((10_000, 5)) < 0.3
    counter = PatternCounter(5)
    for chunk in np.array_split(gaps, 10):
        counter.merge(PatternCounter(5).add(chunk))
    assert len(counter.counts) == 4 and counter.untracked > 0
    np.testing.assert_array_equal(counter.missing, gaps.sum(axis=0))
    patterns = MissingPatterns.from_counters([counter])
    rates = gaps.mean(axis=0)[None, :]
    n = 50_000
    drawn = patterns.blank(np.zeros(n, dtype=int), rates, rng)
    se = np.sqrt(rates[0] * (1 - rates[0]) / n)
    assert np.all(np.abs(drawn.mean(axis=0) - rates[0]) < 4 * se)


def test_observed_columns_restrict_the_draw_to_patterns_that_keep_them():
    gaps = _gaps(5000, 5, seed=7)
    patterns = MissingPatterns.of_rows(gaps, np.zeros(5000, dtype=int), 1)
    rates = gaps.mean(axis=0)[None, :]
    n = 40_000
    drawn = patterns.blank(np.zeros(n, dtype=int), rates, np.random.default_rng(8), observed=[1])
    assert not drawn[:, [1, 2]].any()  # 2 is empty only with 1
    want = np.mean(gaps[~gaps[:, 1], 3])  # column 3 given column 1 filled
    assert abs(drawn[:, 3].mean() - want) < 4 * np.sqrt(want * (1 - want) / n)


def test_classes_draw_from_their_own_patterns():
    gaps = np.zeros((400, 3), dtype=bool)
    gaps[:200:2, 0] = True  # class 0: half its rows lack column 0
    y = np.repeat([0, 1], 200)
    patterns = MissingPatterns.of_rows(gaps, y, 2)
    rates = np.array([[0.5, 0, 0], [0, 0, 0]])
    index = np.repeat([0, 1], 5000)
    drawn = patterns.blank(index, rates, np.random.default_rng(9))
    assert not drawn[index == 1].any()
    assert abs(drawn[index == 0, 0].mean() - 0.5) < 0.03
    assert not drawn[:, 1:].any()


def test_state_round_trip_and_hostile_states():
    patterns = MissingPatterns.of_rows(_gaps(500, 4, seed=10), np.zeros(500, dtype=int), 1)
    back = MissingPatterns.from_state(patterns.state(), "patterns", 1, 4)
    assert _as_set(back) == _as_set(patterns)
    bad = dict(patterns.state(), owner=patterns.owner + 1)
    with pytest.raises(ValueError, match="class indices"):
        MissingPatterns.from_state(bad, "patterns", 1, 4)
    bad = dict(patterns.state(), probability=patterns.probability * 2)
    with pytest.raises(ValueError, match="sum to <= 1"):
        MissingPatterns.from_state(bad, "patterns", 1, 4)
    with pytest.raises(ValueError, match="masks"):
        MissingPatterns.from_state(patterns.state(), "patterns", 1, 5)
    many = {
        "owner": np.zeros(mp.MAX_PATTERNS + 1, dtype=np.int64),
        "masks": np.zeros((mp.MAX_PATTERNS + 1, 4), dtype=bool),
        "probability": np.full(mp.MAX_PATTERNS + 1, 1e-4),
    }
    with pytest.raises(ValueError, match="at most 256 patterns per class"):
        MissingPatterns.from_state(many, "patterns", 1, 4)
    # float32 frequencies that sum to 1 + rounding are a valid file
    single = dict(patterns.state(), probability=patterns.probability.astype(np.float32))
    MissingPatterns.from_state(single, "patterns", 1, 4)
