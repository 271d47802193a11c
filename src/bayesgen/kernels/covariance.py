"""Covariance representations with one small interface.

A Gaussian log-density never asks which representation it holds::

    log N(x | mu, Sigma) = -0.5 * (d log(2 pi) + log|Sigma| + |whiten(x - mu)|^2)

and a sample is ``mu + colorize(z)`` with ``z ~ N(0, I_latent_dim)``.  Each representation
implements ``whiten``, ``colorize``, ``log_det`` and ``n_parameters`` at its own cost:
O(d) per row for a diagonal, O(d^2) for a dense Cholesky factor, O(d k) for low rank plus
diagonal.  The factor is computed once (low rank: on first use) and reused by every call.

These are private kernels: they trust their input (finite float arrays of the right width).
Public estimators validate before calling them.

Singular matrices are a policy, not an accident: a dense covariance that is not positive
definite is refused at construction with :class:`numpy.linalg.LinAlgError`; estimators add
a ridge (``reg_covar``) before factoring and turn the failure into a message that names it.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np
from scipy import linalg

from bayesgen.base.blas import trmm_rows_inplace
from bayesgen.base.persist import persistable
from bayesgen.base.state_checks import check_array, check_keys, check_positive, state_error
from bayesgen.base.threads import one_blas_thread

__all__ = [
    "Covariance",
    "DiagonalCovariance",
    "FullCovariance",
    "LOG_2PI",
]

LOG_2PI = math.log(2.0 * math.pi)


class Covariance:
    """Interface shared by every covariance representation."""

    #: name used in model files and messages
    kind: str = ""

    @property
    def n_features(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def latent_dim(self) -> int:
        """Width of the standard-normal input that :meth:`colorize` expects."""
        return self.n_features

    @property
    def log_det(self) -> float:  # pragma: no cover - abstract
        """``log |Sigma|``."""
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:  # pragma: no cover - abstract
        """Number of free parameters (for AIC/BIC)."""
        raise NotImplementedError

    def whiten(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Map centred rows to rows whose squared norm is the Mahalanobis distance."""
        raise NotImplementedError

    def colorize(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Map standard-normal rows of width ``latent_dim`` to rows with covariance Sigma."""
        raise NotImplementedError

    def mahalanobis(self, X: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis norm ``x^T Sigma^{-1} x`` of each centred row, shape (n,)."""
        W = self.whiten(X)
        return np.einsum("ij,ij->i", W, W)

    def mahalanobis_inplace(self, X: np.ndarray) -> np.ndarray:
        """:meth:`mahalanobis` that may overwrite ``X`` (a scratch array of the caller's)."""
        return self.mahalanobis(X)

    def log_pdf(self, X: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """``log N(x | 0, Sigma)`` of each centred row, shape (n,).

        ``overwrite=True`` lets the kernel reuse ``X`` as scratch (no copy of the rows).
        """
        maha = self.mahalanobis_inplace(X) if overwrite else self.mahalanobis(X)
        maha += self.n_features * LOG_2PI + self.log_det
        maha *= -0.5
        return maha

    def colorize_inplace(self, Z: np.ndarray) -> np.ndarray:
        """:meth:`colorize` that may overwrite ``Z`` (the result may be ``Z`` itself)."""
        return self.colorize(Z)

    def colour_flat(self, flat: np.ndarray, m: int, out: np.ndarray) -> np.ndarray:
        """Coloured rows from the ``m * latent_dim`` standard normals in ``flat``.

        The sampling engine's kernel (:mod:`bayesgen.kernels.sampler`).  ``flat`` is scratch, 1-d
        and C-contiguous; ``out`` is a C-contiguous (m, d) array of the same dtype that an
        implementation may write to.  Returns the (m, d) rows ``Z L^T`` (``flat`` itself
        reshaped, ``out``, or a new array).  Which normal goes where is the
        implementation's choice: they are independent.
        """
        return self.colorize_inplace(flat.reshape(m, self.latent_dim))

    def dense(self) -> np.ndarray:  # pragma: no cover - abstract
        """The covariance as a dense (d, d) matrix (for tests and small d)."""
        raise NotImplementedError

    def variances(self) -> np.ndarray:
        """Diagonal of Sigma, shape (d,)."""
        return np.diag(self.dense()).copy()

    def astype(self, dtype) -> Covariance:
        """A copy whose factor is stored in ``dtype`` (e.g. float32 for fast sampling)."""
        state = {
            k: (v.astype(dtype) if isinstance(v, np.ndarray) else v)
            for k, v in self._get_state().items()
        }
        return type(self)._from_state(state)

    # persistence -------------------------------------------------------------------
    def _get_state(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _from_state(cls, state: dict) -> Covariance:  # pragma: no cover - abstract
        raise NotImplementedError


#: split off isolated features when at most this share of the features stays coupled
_COUPLED_SHARE = 0.9


#: features from which a Cholesky factorisation uses every BLAS thread
_THREADED_POTRF_MIN = 1024


def _potrf_lower_inplace(matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a C-contiguous SPD matrix, computed over it (no copy).

    The transpose of a C-ordered symmetric matrix is the same matrix in Fortran order;
    LAPACK's upper factor U (A = U^T U) of it, read back in C order, is the lower factor
    L = U^T.  So potrf works in place and hands back L C-contiguous.
    """
    if matrix.shape[0] == 0:
        return matrix
    (potrf,) = linalg.get_lapack_funcs(("potrf",), (matrix,))
    # OpenBLAS's threaded potrf loses to one thread below ~1000 features (thread start-up
    # and synchronisation outweigh the work; measured in benchmarks/README.md)
    limit = one_blas_thread() if matrix.shape[0] < _THREADED_POTRF_MIN else nullcontext()
    with limit:
        factor, info = potrf(matrix.T, lower=0, clean=1, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(
            "matrix is not positive definite"
            if info > 0
            else f"illegal value in argument {-info} of potrf"
        )
    chol = factor.T
    if not np.all(np.diag(chol) > 0):
        raise np.linalg.LinAlgError("matrix is not positive definite")
    return chol


@persistable("FullCovariance")
class FullCovariance(Covariance):
    """Dense covariance held as its lower Cholesky factor ``Sigma = L L^T``.

    ``whiten(x) = L^{-1} x`` is one triangular solve (no inverse is ever formed), ``colorize``
    is one matrix product with ``L^T`` and ``log|Sigma| = 2 sum log diag(L)``.

    Isolated features.  A feature whose row of ``Sigma`` is exactly zero off the diagonal
    (in a class of MNIST digits, the ~200 blank border pixels, whose only variance is the
    ridge) is independent of all others, and so is its row and column of ``L``: up to a
    permutation, ``L`` is a dense factor of the other, *coupled* features beside a
    diagonal.  Such features are found once (exact zeros, nothing approximated) and, when
    they are at least a tenth of the features, factoring and whitening run on the coupled
    block only: ``(k/d)^3`` of the factoring flops and ``(k/d)^2`` of the triangular
    solves, and sampling colours only the coupled block (see :meth:`colour_flat`).
    Everything else (``dense``, ``cholesky``, model files) sees the full ``d x d`` factor.

    Parameters
    ----------
    cholesky : ndarray of shape (d, d)
        Lower-triangular factor with a positive diagonal.
    """

    kind = "full"

    def __init__(self, cholesky: np.ndarray):
        L = np.asarray(cholesky)
        d = L.shape[0]
        # a lower factor: feature j is isolated when row j left of the diagonal and column j
        # below it are zero, i.e. its only non-zero is the diagonal (counted in both)
        isolated = np.count_nonzero(L, axis=0) + np.count_nonzero(L, axis=1) == 2
        isolated &= np.diag(L) != 0
        if d and np.count_nonzero(~isolated) <= _COUPLED_SHARE * d:
            coupled = np.flatnonzero(~isolated)
            self._set_parts(
                d,
                np.ascontiguousarray(L[np.ix_(coupled, coupled)]),
                coupled,
                np.flatnonzero(isolated),
                np.diag(L)[isolated].copy(),
            )
        else:
            # C order always, so a saved and reloaded factor runs the very same BLAS path
            self._set_parts(d, np.ascontiguousarray(L), None, None, None)

    def _set_parts(self, d, factor, coupled, isolated, isolated_std) -> None:
        """``factor``: lower factor of the ``coupled`` features (None: all of them)."""
        self._d = int(d)
        self._factor = factor
        self._coupled = coupled
        self._isolated = isolated
        self._isolated_std = isolated_std
        log_det = 2.0 * float(np.sum(np.log(np.diag(factor), dtype=np.float64)))
        if isolated_std is not None:
            log_det += 2.0 * float(np.sum(np.log(isolated_std, dtype=np.float64)))
        self._log_det = log_det

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, *, overwrite: bool = False) -> FullCovariance:
        """Factor a symmetric positive-definite matrix once.

        Parameters
        ----------
        matrix : ndarray of shape (d, d)
            Symmetric positive definite.
        overwrite : bool, default=False
            ``matrix`` is scratch (a C-contiguous float array the caller no longer needs):
            factor it in place, without any copy.

        Raises
        ------
        numpy.linalg.LinAlgError
            If ``matrix`` is not positive definite.
        """
        matrix = np.asarray(matrix)
        if matrix.dtype not in (np.float32, np.float64):
            matrix = matrix.astype(np.float64)
            overwrite = True
        d = matrix.shape[0]
        # nothing off the diagonal, in the row or the column (potrf reads a triangle)
        isolated = np.count_nonzero(matrix, axis=0) + np.count_nonzero(matrix, axis=1) <= 2
        if d and np.count_nonzero(~isolated) <= _COUPLED_SHARE * d:
            coupled = np.flatnonzero(~isolated)
            variances = matrix.diagonal()[isolated].copy()
            if not np.all(variances > 0):
                raise np.linalg.LinAlgError("matrix is not positive definite")
            block = np.ascontiguousarray(matrix[np.ix_(coupled, coupled)])
            obj = cls.__new__(cls)
            obj._set_parts(
                d,
                _potrf_lower_inplace(block),
                coupled,
                np.flatnonzero(isolated),
                np.sqrt(variances),
            )
            return obj
        if not (overwrite and matrix.flags.c_contiguous):
            matrix = np.array(matrix, order="C")
        obj = cls.__new__(cls)
        obj._set_parts(d, _potrf_lower_inplace(matrix), None, None, None)
        return obj

    @property
    def cholesky(self) -> np.ndarray:
        """The lower factor ``L`` of the whole matrix, shape (d, d) (assembled once)."""
        if self._coupled is None:
            return self._factor
        L = self.__dict__.get("_whole_factor")
        if L is None:
            L = np.zeros((self._d, self._d), dtype=self._factor.dtype)
            L[np.ix_(self._coupled, self._coupled)] = self._factor
            L[self._isolated, self._isolated] = self._isolated_std
            self._whole_factor = L
        return L

    @property
    def n_isolated(self) -> int:
        """Number of features handled as isolated (0 when the factor is used whole)."""
        return 0 if self._isolated is None else int(self._isolated.shape[0])

    @property
    def n_features(self) -> int:
        return self._d

    @property
    def log_det(self) -> float:
        return self._log_det

    @property
    def n_parameters(self) -> int:
        d = self.n_features
        return d * (d + 1) // 2

    def _solve(self, Xc: np.ndarray, *, overwrite: bool) -> np.ndarray:
        """``L^{-1}`` applied to the rows of ``Xc`` (coupled features), shape (n, k)."""
        if Xc.shape[1] == 0:
            return Xc
        # Xc.T of a C-ordered array is Fortran-ordered: LAPACK's trsm takes it without a copy
        return linalg.solve_triangular(
            self._factor, Xc.T, lower=True, check_finite=False, overwrite_b=overwrite
        ).T

    def whiten(self, X: np.ndarray) -> np.ndarray:
        if self._coupled is None:
            return self._solve(X, overwrite=False)
        W = np.empty(X.shape, dtype=np.result_type(X, self._factor))
        W[:, self._isolated] = X[:, self._isolated] / self._isolated_std
        W[:, self._coupled] = self._solve(X[:, self._coupled], overwrite=True)
        return W

    def mahalanobis_inplace(self, X: np.ndarray) -> np.ndarray:
        if self._coupled is None:
            if X.dtype != self._factor.dtype or not X.flags.c_contiguous:
                return self.mahalanobis(X)
            W = self._solve(X, overwrite=True)
            return np.einsum("ij,ij->i", W, W)
        W = self._solve(np.take(X, self._coupled, axis=1), overwrite=True)
        V = np.take(X, self._isolated, axis=1) / self._isolated_std
        return np.einsum("ij,ij->i", W, W) + np.einsum("ij,ij->i", V, V)

    def colorize(self, Z: np.ndarray) -> np.ndarray:
        return Z @ self.cholesky.T

    def colorize_inplace(self, Z: np.ndarray) -> np.ndarray:
        """``Z L^T`` written over ``Z`` with one triangular BLAS product (trmm).

        trmm uses the triangle of ``L``: half the flops of a general matrix product.  Here
        ``Z`` comes in the features' own order, so the whole factor is used; the sampling
        engine's :meth:`colour_flat` lays the normals out so that only the coupled block is.
        """
        L = self.cholesky
        if not (Z.flags.c_contiguous and Z.dtype == L.dtype and Z.ndim == 2) or Z.size == 0:
            return self.colorize(Z)
        return trmm_rows_inplace(L, Z)

    def colour_flat(self, flat: np.ndarray, m: int, out: np.ndarray) -> np.ndarray:
        """The engine's kernel: with isolated features, trmm on the coupled block only.

        The first ``m * k`` normals of ``flat`` become the ``k`` coupled features of the
        ``m`` rows (coloured by the coupled factor: ``(k/d)^2`` of the flops), the rest the
        isolated ones (scaled by their standard deviations); one gather then puts every
        value in its feature's column of ``out``.
        """
        if self._coupled is None or flat.dtype != self._factor.dtype:
            return super().colour_flat(flat, m, out)
        k = self._factor.shape[0]
        coupled = flat[: m * k].reshape(m, k)
        if k:
            trmm_rows_inplace(self._factor, coupled)
        isolated = flat[m * k :].reshape(m, self._d - k)
        isolated *= self._isolated_std
        # mode="clip": the indices are valid by construction, and "raise" makes numpy
        # write to a temporary and copy it into ``out``
        return np.take(flat, self._flat_layout(m), out=out, mode="clip")

    def _flat_layout(self, m: int) -> np.ndarray:
        """``index[r, j]``: where :meth:`colour_flat` keeps feature ``j`` of row ``r``."""
        cached = self.__dict__.get("_layout")
        if cached is not None and cached.shape[0] == m:
            return cached
        k, d = self._factor.shape[0], self._d
        rows = np.arange(m, dtype=np.intp)[:, None]
        index = np.empty((m, d), dtype=np.intp)
        index[:, self._coupled] = rows * k + np.arange(k, dtype=np.intp)
        index[:, self._isolated] = m * k + rows * (d - k) + np.arange(d - k, dtype=np.intp)
        if cached is None or m > cached.shape[0]:
            self._layout = index  # keep the full-chunk layout, not the last short chunk's
        return index

    def __getstate__(self):
        # copies (deepcopy, joblib) leave the caches behind; they are rebuilt on use
        state = dict(self.__dict__)
        state.pop("_layout", None)
        state.pop("_whole_factor", None)
        return state

    def dense(self) -> np.ndarray:
        L = self.cholesky
        return L @ L.T

    def variances(self) -> np.ndarray:
        if self._coupled is None:
            return np.einsum("ij,ij->i", self._factor, self._factor)
        out = np.empty(self._d, dtype=self._factor.dtype)
        out[self._coupled] = np.einsum("ij,ij->i", self._factor, self._factor)
        out[self._isolated] = self._isolated_std**2
        return out

    def _get_state(self) -> dict:
        return {"cholesky": self.cholesky}

    @classmethod
    def _from_state(cls, state: dict) -> FullCovariance:
        check_keys(state, "FullCovariance state", ("cholesky",))
        name = "FullCovariance cholesky"
        chol = check_array(state["cholesky"], name, shape=(None, None), finite=True)
        if chol.shape[0] != chol.shape[1]:
            raise state_error(name, "a square array", chol)
        check_positive(np.diag(chol), f"{name} diagonal")
        # every saved factor is exactly lower-triangular; using it as it is (no np.tril
        # copy) lets the references of a file to one array share its memory
        row = next((i for i in range(chol.shape[0]) if chol[i, i + 1 :].any()), None)
        if row is not None:
            raise ValueError(
                f"{name} must be lower-triangular; found entries right of the diagonal in row {row}"
            )
        # the state holds the factor itself: loading factors nothing
        return cls(chol)


@persistable("DiagonalCovariance")
class DiagonalCovariance(Covariance):
    """Diagonal covariance ``Sigma = diag(variances)``: O(d) per row.

    Parameters
    ----------
    variances : ndarray of shape (d,)
        Strictly positive variances.
    """

    kind = "diag"

    def __init__(self, variances: np.ndarray):
        self.variances_ = np.ascontiguousarray(variances)
        self.std = np.sqrt(self.variances_)
        self._log_det = float(np.sum(np.log(self.variances_, dtype=np.float64)))

    @property
    def n_features(self) -> int:
        return self.variances_.shape[0]

    @property
    def log_det(self) -> float:
        return self._log_det

    @property
    def n_parameters(self) -> int:
        return self.n_features

    def whiten(self, X: np.ndarray) -> np.ndarray:
        return X / self.std

    def colorize(self, Z: np.ndarray) -> np.ndarray:
        # Standard deviations, not variances (pomegranate's sampler got this wrong).
        return Z * self.std

    def colorize_inplace(self, Z: np.ndarray) -> np.ndarray:
        Z *= self.std
        return Z

    def dense(self) -> np.ndarray:
        return np.diag(self.variances_)

    def variances(self) -> np.ndarray:
        return self.variances_.copy()

    def _get_state(self) -> dict:
        return {"variances": self.variances_}

    @classmethod
    def _from_state(cls, state: dict) -> DiagonalCovariance:
        check_keys(state, "DiagonalCovariance state", ("variances",))
        var = check_array(state["variances"], "DiagonalCovariance variances", shape=(None,))
        check_positive(var, "DiagonalCovariance variances")
        return cls(var)
