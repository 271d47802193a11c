"""Sufficient statistics: exact merges, streamed accumulation, rescaling.

The fourth moments and the Ledoit-Wolf intensity of the correlation matrix are tested in
test_stats_standardised.py."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayesgen.kernels.stats import GaussianStats


def _reference(X):
    m = X.mean(0)
    Y = X - m
    return m, Y.T @ Y


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_from_data_matches_definitions(offset):
    X = np.random.default_rng(0).normal(size=(200, 5)) + offset
    s = GaussianStats.from_data(X)
    m, S = _reference(X)
    assert s.count == 200
    np.testing.assert_allclose(s.mean, m)
    np.testing.assert_allclose(s.scatter, S, rtol=1e-9)
    assert s.cross3 is None and s.cross4 is None  # kept only when asked for


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 120), min_size=1, max_size=6),
    diagonal=st.booleans(),
)
def test_merge_over_any_split_equals_one_pass(seed, cuts, diagonal):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 4)) * rng.uniform(0.1, 10, size=4) + rng.normal(0, 100, size=4)
    edges = sorted(set([0, 120, *cuts]))
    total = GaussianStats.empty(4, diagonal=diagonal)
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        total = total.merge(GaussianStats.from_data(X[a:b], diagonal=diagonal))
    whole = GaussianStats.from_data(X, diagonal=diagonal)
    assert total.count == whole.count
    np.testing.assert_allclose(total.mean, whole.mean, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(total.scatter, whole.scatter, rtol=1e-10, atol=1e-7)


def test_merge_with_empty_is_identity():
    X = np.random.default_rng(1).normal(size=(10, 3))
    s = GaussianStats.from_data(X)
    e = GaussianStats.empty(3)
    for merged in (s.merge(e), e.merge(s)):
        np.testing.assert_array_equal(merged.scatter, s.scatter)
        assert merged is not s


def _assert_same_stats(got, ref):
    assert got.count == ref.count
    np.testing.assert_allclose(got.mean, ref.mean, rtol=1e-12, atol=1e-12)
    scale = np.abs(ref.scatter).max()
    np.testing.assert_allclose(got.scatter, ref.scatter, rtol=1e-10, atol=1e-10 * scale)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 150), min_size=1, max_size=8),
    drift=st.sampled_from([0.0, 1.0, 1e4]),
    diagonal=st.booleans(),
)
def test_accumulator_over_any_split_equals_one_pass(seed, cuts, drift, diagonal):
    """Streamed batches give the statistics of one pass, also when the mean drifts far."""
    from bayesgen.kernels.stats import StatsAccumulator

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(150, 4)) * rng.uniform(0.1, 10, size=4) + rng.normal(0, 100, size=4)
    X += drift * np.linspace(0, 1, 150)[:, None] ** 2  # later batches far from the first
    edges = sorted(set([0, 150, *cuts]))
    acc = StatsAccumulator(4, diagonal=diagonal)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        rows = np.arange(a, b)[rng.permutation(b - a)]  # gathered rows, any order
        assert acc.add(X, rows=rows)
    ref = GaussianStats.from_data(X, diagonal=diagonal)
    _assert_same_stats(acc.result(), ref)


def test_accumulator_restarts_when_a_batch_is_far_and_reports_non_finite_rows():
    from bayesgen.kernels.stats import StatsAccumulator

    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 3))
    B = rng.normal(size=(1000, 3)) + 1e7  # the running mean moves ~1e7 from A's centre
    acc = StatsAccumulator(3)
    acc.add(A)
    acc.add(B)
    assert acc._closed is not None  # the first part was closed exactly
    X = np.vstack([A, B])
    _assert_same_stats(acc.result(), GaussianStats.from_data(X))
    empty = StatsAccumulator(3).result()
    assert empty.count == 0 and empty.scatter.shape == (3, 3)
    bad = B.copy()
    bad[5, 1] = np.nan
    assert not StatsAccumulator(3).add(bad)
    assert not StatsAccumulator(3, diagonal=True).add(bad)


@pytest.mark.parametrize("diagonal", [False, True])
def test_rescaled_statistics_are_those_of_the_scaled_rows(diagonal):
    """Pixel counts summarised as read and rescaled by 1/255 equal the statistics of the
    pixels on [0, 1] (what fit_file does for Kaggle CSV files)."""
    rng = np.random.default_rng(12)
    counts = rng.integers(0, 256, size=(500, 6)).astype(np.float64)
    raw = GaussianStats.from_data(counts, diagonal=diagonal).rescaled(1 / 255)
    direct = GaussianStats.from_data(counts / 255.0, diagonal=diagonal)
    assert raw.count == direct.count
    np.testing.assert_allclose(raw.mean, direct.mean, rtol=1e-13)
    np.testing.assert_allclose(raw.scatter, direct.scatter, rtol=1e-12, atol=1e-12)
