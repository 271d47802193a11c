"""Orders between columns that every row keeps: which pairs count, merging, breaking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayesgen.kernels.orders import MIN_EXPECTED_BREAKS, MIN_ROWS, OrderCounter, breaks_orders


def _low_high(n=200, seed=0):
    """Columns: low <= high always (overlapping ranges), free (unrelated), apart (always
    below low, ranges disjoint)."""
    rng = np.random.default_rng(seed)
    low = rng.normal(10, 3, n)
    high = low + rng.exponential(2, n)
    free = rng.normal(11, 3, n)
    apart = rng.uniform(-20, -10, n)
    return np.column_stack([high, free, low, apart])


def test_an_order_of_every_row_is_found_the_right_way_round():
    X = _low_high()
    counter = OrderCounter(np.zeros(4, dtype=int), np.ones(4)).add(X)
    # low (2) <= high (0); "apart" is below low but that follows from the ranges alone
    assert counter.orders().tolist() == [[2, 0]]


def test_one_row_that_breaks_it_drops_the_order():
    X = _low_high()
    X[17, 2] = X[17, 0] + 1.0
    assert OrderCounter(np.zeros(4, dtype=int), np.ones(4)).add(X).orders().shape == (0, 2)


def test_missing_cells_neither_keep_nor_break_an_order():
    X = _low_high(n=80)
    X[:40, 2] = np.nan
    counter = OrderCounter(np.zeros(4, dtype=int), np.ones(4)).add(X)
    assert counter.orders().tolist() == [[2, 0]]
    X[40 : 80 - MIN_ROWS + 1, 0] = np.nan  # now fewer than MIN_ROWS rows have both cells
    counter = OrderCounter(np.zeros(4, dtype=int), np.ones(4)).add(X)
    assert counter.orders().shape == (0, 2)


def test_an_order_that_random_pairs_would_rarely_break_is_not_a_law():
    """Two unrelated columns whose ranges barely overlap: no row breaks the order, but a
    random pairing would not either, so it says nothing about the rows."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 10.5, 300)
    b = rng.uniform(10, 20, 300)
    X = np.column_stack([np.minimum(a, b - 0.01), b])
    counter = OrderCounter(np.zeros(2, dtype=int), np.ones(2)).add(X)
    assert counter.both[0] * counter.random_break_rate(0, 1) < MIN_EXPECTED_BREAKS
    assert counter.orders().shape == (0, 2)
    # the rate of a random pairing: P(A > B) for independent draws of the two columns
    expected = np.mean(X[:, 0][:, None] > X[:, 1][None, :])
    assert counter.random_break_rate(0, 1) == pytest.approx(expected, rel=1e-12)


def test_only_features_of_one_group_compare_and_scales_make_units_common():
    # a date in days and one in seconds: equal instants, then later by a day
    days = np.arange(100, dtype=float)
    seconds = (days + 1) * 86_400
    X = np.column_stack([seconds, days, days + 0.5])
    groups = np.array([1, 1, 0])  # the third is a number: never compared with dates
    scales = np.array([1e6, 86_400e6, 1.0])
    assert OrderCounter(groups, scales).add(X).orders().tolist() == [[1, 0]]
    assert OrderCounter(np.array([1, -1, 0]), scales).add(X).orders().shape == (0, 2)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_counts_merged_over_chunks_equal_counts_of_the_whole(n_chunks, seed):
    rng = np.random.default_rng(seed)
    X = _low_high(n=120, seed=seed)
    X[rng.random(X.shape) < 0.1] = np.nan
    groups, scales = np.zeros(4, dtype=int), np.ones(4)
    whole = OrderCounter(groups, scales).add(X)
    cuts = np.sort(rng.integers(0, 120, n_chunks - 1))
    merged = OrderCounter(groups, scales)
    for part in np.split(X, cuts):
        merged.merge(OrderCounter(groups, scales).add(part))
    for name in ("both", "above", "below"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name))
    for f, summary in whole.values.items():
        np.testing.assert_array_equal(merged.values[f].weighted().values, summary.weighted().values)
    np.testing.assert_array_equal(merged.orders(), whole.orders())


def test_counters_of_other_features_do_not_merge():
    with pytest.raises(ValueError, match="different features"):
        OrderCounter(np.zeros(3, dtype=int), np.ones(3)).merge(
            OrderCounter(np.zeros(4, dtype=int), np.ones(4))
        )


def test_breaks_orders_flags_exactly_the_rows_above_their_bound():
    X = np.array([[1.0, 2.0], [3.0, 2.0], [np.nan, 0.0], [2.0, 2.0]])
    assert breaks_orders(X, np.array([[0, 1]]), np.ones(2)).tolist() == [
        False,
        True,
        False,
        False,
    ]
    assert not breaks_orders(X, np.empty((0, 2), dtype=int), np.ones(2)).any()
