"""Fourth-moment statistics and the Ledoit-Wolf intensity of the correlation matrix."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.preprocessing import StandardScaler

from bayesgen.kernels.class_stats import class_stats
from bayesgen.kernels.stats import GaussianStats, StatsAccumulator


def _mixed_units(n, d, seed):
    """Correlated, skewed columns in very different units and with large offsets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    X += 0.3 * X**2  # non-Gaussian fourth moments
    return X * np.logspace(-3, 4, d) + rng.normal(0, 1e3, size=d)


def _fourth_reference(X):
    Y = X - X.mean(0)
    Y2 = Y * Y
    return Y2.T @ Y, Y2.T @ Y2


def _sklearn_intensity(X):
    return ledoit_wolf_shrinkage(StandardScaler().fit_transform(X))


def _assert_same_fourth(got, ref):
    for a, b in ((got.cross3, ref.cross3), (got.cross4, ref.cross4)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10 * np.abs(b).max())


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_fourth_moments_match_definitions(offset):
    X = np.random.default_rng(0).normal(size=(300, 5)) ** 2 + offset
    s = GaussianStats.from_data(X, fourth=True)
    T, W = _fourth_reference(X)
    assert s.fourth
    np.testing.assert_allclose(s.cross3, T, rtol=1e-7, atol=1e-9 * np.abs(T).max())
    np.testing.assert_allclose(s.cross4, W, rtol=1e-9)


@pytest.mark.parametrize("n,d", [(50, 5), (30, 40), (500, 20)])
def test_correlation_intensity_equals_sklearn_on_standardised_rows(n, d):
    X = _mixed_units(n, d, n + d)
    ours = GaussianStats.from_data(X, fourth=True).correlation_shrinkage()
    assert ours == pytest.approx(_sklearn_intensity(X), rel=1e-9, abs=1e-12)


def test_correlation_intensity_is_scale_free():
    X = _mixed_units(200, 8, 3)
    scales = np.random.default_rng(4).uniform(1e-4, 1e4, size=8)
    a = GaussianStats.from_data(X, fourth=True).correlation_shrinkage()
    b = GaussianStats.from_data(X * scales, fourth=True).correlation_shrinkage()
    assert 0.0 < a < 1.0
    assert b == pytest.approx(a, rel=1e-9)


def test_constant_features_are_left_out():
    """sklearn's target for standardised data with constant columns is (d'/d) I, so the
    reference is its intensity on the varying columns alone."""
    X = _mixed_units(120, 6, 7)
    X[:, [1, 4]] = [0.0, 0.1]  # 0.1: a mean of equal values need not be exact
    stats = GaussianStats.from_data(X, fourth=True)
    np.testing.assert_array_equal(stats.varying(), [True, False, True, True, False, True])
    expected = _sklearn_intensity(X[:, [0, 2, 3, 5]])
    assert stats.correlation_shrinkage() == pytest.approx(expected, rel=1e-9)
    assert GaussianStats.from_data(X[:, [1, 2, 4]], fourth=True).correlation_shrinkage() == 0.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 150), max_size=6))
def test_merges_and_streams_are_exact(seed, cuts):
    """Any split, merged pairwise or accumulated as a stream (with a drifting mean), gives
    the fourth moments and the intensity of one pass."""
    X = _mixed_units(150, 4, seed % 1000)
    X += 1e4 * np.linspace(0, 1, 150)[:, None] ** 2
    edges = sorted({0, 150, *cuts})
    merged = GaussianStats.empty(4, fourth=True)
    acc = StatsAccumulator(4, fourth=True)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        merged = merged.merge(GaussianStats.from_data(X[a:b], fourth=True))
        acc.add(X, rows=np.arange(a, b))
    whole = GaussianStats.from_data(X, fourth=True)
    expected = _sklearn_intensity(X)
    for got in (merged, acc.result()):
        _assert_same_fourth(got, whole)
        assert got.correlation_shrinkage() == pytest.approx(expected, rel=1e-7, abs=1e-12)


def test_sparse_columns_rescaling_and_per_class_statistics():
    """Blank columns skip the products (as images' border pixels do), rescaled pixel counts
    equal the statistics of the scaled rows, and per-class statistics carry the moments."""
    rng = np.random.default_rng(5)
    counts = np.zeros((400, 30))
    counts[:, :8] = rng.integers(0, 256, size=(400, 8))
    raw = GaussianStats.from_data(counts, fourth=True).rescaled(1 / 255)
    direct = GaussianStats.from_data(counts / 255, fourth=True)
    _assert_same_fourth(raw, direct)
    assert raw.correlation_shrinkage() == pytest.approx(_sklearn_intensity(counts[:, :8]))
    y = rng.integers(0, 3, size=400)
    for k, stats in enumerate(class_stats(counts, y, 3, diagonal=False, fourth=True)):
        T, W = _fourth_reference(counts[y == k])
        np.testing.assert_allclose(stats.cross4, W, rtol=1e-9)
        np.testing.assert_allclose(stats.cross3, T, rtol=1e-7, atol=1e-9 * np.abs(T).max())


def test_kinds_and_errors():
    X = np.random.default_rng(6).normal(size=(20, 3))
    with pytest.raises(ValueError, match="fourth moments"):
        GaussianStats.from_data(X).correlation_shrinkage()
    with pytest.raises(ValueError, match="full scatter"):
        GaussianStats.from_data(X, diagonal=True, fourth=True)
    with pytest.raises(ValueError, match="full scatter"):
        StatsAccumulator(3, diagonal=True, fourth=True)
    empty = GaussianStats.empty(3, fourth=True)
    assert empty.merge(GaussianStats.from_data(X, fourth=True)).fourth
    assert StatsAccumulator(3, fourth=True).result().cross4.shape == (3, 3)
