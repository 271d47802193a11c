"""The sampling engine: GIL-free trmm, chunked lanes, determinism, rows in their places."""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from bayesgen import BayesClassifier
from bayesgen.base import blas as _blas
from bayesgen.kernels import sampler as _sampler
from bayesgen.kernels.covariance import FullCovariance


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (300, 40), (0, 4)])
def test_trmm_rows_inplace_is_z_times_l_transposed(dtype, shape):
    m, d = shape
    rng = np.random.default_rng(m + d)
    L = np.tril(rng.uniform(0.5, 1.5, size=(d, d))) + np.triu(np.full((d, d), 99.0), 1)
    L = L.astype(dtype)  # the upper triangle is junk: it must not be read
    Z = rng.standard_normal((m, d)).astype(dtype)
    expected = Z.astype(np.float64) @ np.tril(L).astype(np.float64).T
    got = _blas.trmm_rows_inplace(L, Z)
    assert got is Z
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(Z, expected, rtol=tol, atol=tol)


def test_trmm_uses_the_gil_free_kernel_where_scipy_exports_it():
    from scipy.linalg import cython_blas

    if "dtrmm" not in getattr(cython_blas, "__pyx_capi__", {}):
        pytest.skip("this SciPy exports no dtrmm pointer")
    if _blas._pointer_kernel("d") is None:
        pytest.skip("this SciPy's dtrmm has another C signature")
    for dtype in (np.float64, np.float32):
        assert _blas._checked_kernel(np.dtype(dtype)) is not _blas._wrapper_trmm


def test_trmm_refuses_mixed_dtypes():
    with pytest.raises(ValueError, match="one float dtype"):
        _blas.trmm_rows_inplace(np.eye(3), np.ones((2, 3), dtype=np.float32))


def _model_with_isolated_features(seed=0):
    """Three far-apart classes in 12 features; in each, 4 features are constant."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(900, 12)) @ rng.normal(size=(12, 12))
    y = np.repeat([0, 1, 2], 300)
    X[:, :4] = 0.0
    X += 50.0 * y[:, None]
    return BayesClassifier("gaussian", reg_covar=1e-3).fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_draws_do_not_depend_on_cores_or_chunk_threshold(monkeypatch, dtype):
    model = _model_with_isolated_features()
    monkeypatch.setattr(_sampler, "CHUNK_VALUES", 12 * 64)  # many chunks per class
    outputs = []
    for cores, parallel_min in [(1, 1 << 30), (2, 0), (3, 0), (8, 0)]:
        monkeypatch.setattr(_sampler, "lane_budget", lambda cores=cores: cores)
        monkeypatch.setattr(_sampler, "PARALLEL_MIN", parallel_min)
        outputs.append(model.sample(5_000, random_state=3, dtype=dtype))
    for X, y in outputs[1:]:
        np.testing.assert_array_equal(X, outputs[0][0])
        np.testing.assert_array_equal(y, outputs[0][1])


def test_rows_land_with_their_labels_and_match_the_fitted_moments(monkeypatch):
    monkeypatch.setattr(_sampler, "CHUNK_VALUES", 12 * 500)
    monkeypatch.setattr(_sampler, "PARALLEL_MIN", 0)
    model = _model_with_isolated_features(seed=1)
    assert all(d.covariance_.n_isolated == 4 for d in model.densities_)
    n = 60_000
    Xs, ys = model.sample(n, random_state=4)
    means = np.stack([d.mean_ for d in model.densities_])
    nearest = np.argmin(((Xs[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(model.classes_[nearest], ys)
    for k, density in enumerate(model.densities_):
        rows = Xs[ys == model.classes_[k]]
        cov = density.covariance()
        se = np.sqrt(np.diag(cov) / rows.shape[0])
        assert np.all(np.abs(rows.mean(0) - density.mean_) < 5 * se)
        # each sample covariance entry within 5 standard errors of the fitted one
        se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / rows.shape[0])
        assert np.all(np.abs(np.cov(rows.T) - cov) < 5 * se_cov)


def test_a_failing_chunk_stops_every_lane_and_restores_blas(monkeypatch):
    monkeypatch.setattr(_sampler, "CHUNK_VALUES", 12 * 16)
    monkeypatch.setattr(_sampler, "PARALLEL_MIN", 0)
    monkeypatch.setattr(_sampler, "lane_budget", lambda: 3)
    model = _model_with_isolated_features()
    calls = {"n": 0}
    lock = threading.Lock()
    original = FullCovariance.colour_flat

    def flaky(self, flat, m, out):
        with lock:
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("chunk 5 broke")
        return original(self, flat, m, out)

    monkeypatch.setattr(FullCovariance, "colour_flat", flaky)
    before = _blas_threads()
    with pytest.raises(RuntimeError, match="chunk 5 broke"):
        model.sample(20_000, random_state=0)
    assert calls["n"] < 20_000 // 16  # the other lanes stopped early
    assert _blas_threads() == before


def test_lowrank_and_diagonal_covariances_go_through_the_engine():
    from bayesgen import FactorAnalysisDensity, GaussianDensity

    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6)) + 3.0
    for density in (
        FactorAnalysisDensity(n_components=2).fit(X),
        GaussianDensity(covariance_type="diag").fit(X),
    ):
        S = density.sample(40_000, random_state=0)
        cov = density.covariance()
        se = np.sqrt(np.diag(cov) / S.shape[0])
        assert np.all(np.abs(S.mean(0) - density.mean()) < 5 * se)
        np.testing.assert_allclose(np.cov(S.T), cov, atol=0.05 * np.abs(cov).max())
        np.testing.assert_array_equal(S, density.sample(40_000, random_state=0))
