"""Covariances rebuilt from a model file's state: every field checked, nothing factored."""

import numpy as np
import pytest

from bayesgen.kernels.covariance import DiagonalCovariance, FullCovariance
from bayesgen.kernels.lowrank import LowRankCovariance


def _lowrank(d=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return LowRankCovariance(rng.normal(size=(d, k)), rng.uniform(0.2, 2.0, d))


def _full(d=5, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    return FullCovariance.from_matrix(A @ A.T + d * np.eye(d))


def _refuse_factoring(monkeypatch):
    """From here on, fail the test if anything is factored (SVD or Cholesky)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a factorisation ran")

    monkeypatch.setattr(np.linalg, "svd", refuse)
    monkeypatch.setattr(np.linalg, "cholesky", refuse)
    monkeypatch.setattr("scipy.linalg.cholesky", refuse)
    monkeypatch.setattr("scipy.linalg.get_lapack_funcs", refuse)


def test_loading_a_lowrank_covariance_computes_no_svd(monkeypatch):
    original = _lowrank()
    _refuse_factoring(monkeypatch)
    loaded = LowRankCovariance._from_state(original._get_state())
    Z = np.random.default_rng(1).normal(size=(4, loaded.latent_dim))
    # sampling needs no SVD either
    np.testing.assert_array_equal(loaded.colorize(Z), original.colorize(Z))


def test_lowrank_svd_waits_for_first_use_and_runs_once(monkeypatch):
    calls = []
    svd = np.linalg.svd

    def counting(*args, **kwargs):
        calls.append(1)
        return svd(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", counting)
    original = _lowrank()
    loaded = LowRankCovariance._from_state(original._get_state())
    assert calls == []
    X = np.random.default_rng(2).normal(size=(6, 12))
    np.testing.assert_array_equal(loaded.log_pdf(X), original.log_pdf(X))
    np.testing.assert_array_equal(loaded.solve(X), original.solve(X))
    assert loaded.log_det == original.log_det
    assert len(calls) == 2  # one per object, each on its first use


def test_loading_a_full_covariance_factors_nothing(monkeypatch):
    state = _full()._get_state()
    _refuse_factoring(monkeypatch)
    loaded = FullCovariance._from_state(state)
    np.testing.assert_array_equal(loaded.cholesky, state["cholesky"])
    # no copy: every reference of a file to one factor shares its memory
    assert np.shares_memory(loaded.cholesky, state["cholesky"])


def test_a_factor_with_entries_above_the_diagonal_is_refused():
    chol = _full()._get_state()["cholesky"].copy()
    chol[1, 3] = 0.5
    with pytest.raises(ValueError, match="lower-triangular; found entries right of the diagonal"):
        FullCovariance._from_state({"cholesky": chol})


def _bad_states():
    W, psi = _lowrank()._get_state().values()
    chol = _full()._get_state()["cholesky"]
    nan_chol = chol.copy()
    nan_chol[3, 1] = np.nan
    return [
        (LowRankCovariance, {"W": W}, r"lacks \['psi'\]"),
        (LowRankCovariance, {"W": W, "psi": psi, "extra": 1}, r"unknown key\(s\) \['extra'\]"),
        (
            LowRankCovariance,
            {"W": W, "psi": psi[:-1]},
            r"W must be a float array of shape \(11, any\)",
        ),
        (LowRankCovariance, {"W": W, "psi": -psi}, r"psi must be finite and positive; found -"),
        (LowRankCovariance, {"W": W.astype(str), "psi": psi}, r"W must be a float array.*<U"),
        (LowRankCovariance, {"W": W.astype(np.float16), "psi": psi}, "float16"),
        (LowRankCovariance, {"W": W * np.inf, "psi": psi}, "W must hold finite values"),
        (LowRankCovariance, {"W": [[1.0]], "psi": psi}, "W must be a float array.*found a list"),
        (FullCovariance, {"cholesky": chol[:, :3]}, "must be a square array"),
        (FullCovariance, {"cholesky": -chol}, "diagonal must be finite and positive"),
        (FullCovariance, {"cholesky": nan_chol}, "must hold finite values"),
        (FullCovariance, {"cholesky": chol[None]}, r"float array of shape \(any, any\)"),
        (DiagonalCovariance, {"variances": np.array([1.0, 0.0])}, "positive; found 0.0"),
        (DiagonalCovariance, {"variances": np.zeros(0)}, "found an empty array"),
        (DiagonalCovariance, {"variances": np.ones((2, 2))}, r"shape \(any,\)"),
        (DiagonalCovariance, {"variances": 3.0}, "found 3.0"),
    ]


@pytest.mark.parametrize(("cls", "state", "message"), _bad_states())
def test_malformed_covariance_states_are_refused_before_factoring(cls, state, message, monkeypatch):
    _refuse_factoring(monkeypatch)
    with pytest.raises(ValueError, match=message):
        cls._from_state(state)


def test_big_endian_arrays_load_in_native_order():
    original = _lowrank()
    state = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in original._get_state().items()}
    loaded = LowRankCovariance._from_state(state)
    assert loaded.W.dtype.isnative and loaded.psi.dtype.isnative
    X = np.random.default_rng(3).normal(size=(5, 12))
    np.testing.assert_allclose(loaded.log_pdf(X), original.log_pdf(X), rtol=1e-12)


def test_float32_copies_still_go_through_the_state():
    cov = _lowrank()
    cast = cov.astype(np.float32)
    assert cast.W.dtype == np.float32
    X = np.random.default_rng(4).normal(size=(3, 12))
    np.testing.assert_allclose(cast.log_pdf(X.astype(np.float32)), cov.log_pdf(X), rtol=1e-4)
