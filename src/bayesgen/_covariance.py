"""Covariance representations with one small interface.

A Gaussian log-density never asks which representation it holds::

    log N(x | mu, Sigma) = -0.5 * (d log(2 pi) + log|Sigma| + |whiten(x - mu)|^2)

and a sample is ``mu + colorize(z)`` with ``z ~ N(0, I_latent_dim)``.  Each representation
implements ``whiten``, ``colorize``, ``log_det`` and ``n_parameters`` at its own cost:
O(d) per row for a diagonal, O(d^2) for a dense Cholesky factor, O(d k) for low rank plus
diagonal.  The factor is computed once, when the object is built, and reused by every call.

These are private kernels: they trust their input (finite float arrays of the right width).
Public estimators validate before calling them.

Singular matrices are a policy, not an accident: a dense covariance that is not positive
definite is refused at construction with :class:`numpy.linalg.LinAlgError`; estimators add
a ridge (``reg_covar``) before factoring and turn the failure into a message that names it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from ._persist import persistable

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

    def log_pdf(self, X: np.ndarray) -> np.ndarray:
        """``log N(x | 0, Sigma)`` of each centred row, shape (n,)."""
        return -0.5 * (self.n_features * LOG_2PI + self.log_det + self.mahalanobis(X))

    def dense(self) -> np.ndarray:  # pragma: no cover - abstract
        """The covariance as a dense (d, d) matrix (for tests and small d)."""
        raise NotImplementedError

    def variances(self) -> np.ndarray:
        """Diagonal of Sigma, shape (d,)."""
        return np.diag(self.dense()).copy()

    def astype(self, dtype) -> Covariance:
        """A copy whose factor is stored in ``dtype`` (e.g. float32 for fast sampling)."""
        state = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v)
                 for k, v in self._get_state().items()}
        return type(self)._from_state(state)

    # persistence -------------------------------------------------------------------
    def _get_state(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _from_state(cls, state: dict) -> Covariance:  # pragma: no cover - abstract
        raise NotImplementedError


@persistable("FullCovariance")
class FullCovariance(Covariance):
    """Dense covariance held as its lower Cholesky factor ``Sigma = L L^T``.

    ``whiten(x) = L^{-1} x`` is one triangular solve (no inverse is ever formed), ``colorize``
    is one matrix product with ``L^T`` and ``log|Sigma| = 2 sum log diag(L)``.

    Parameters
    ----------
    cholesky : ndarray of shape (d, d)
        Lower-triangular factor with a positive diagonal.
    """

    kind = "full"

    def __init__(self, cholesky: np.ndarray):
        # C order always, so a saved and reloaded factor runs the very same BLAS path
        self.cholesky = np.ascontiguousarray(cholesky)
        diag = np.diag(self.cholesky)
        self._log_det = 2.0 * float(np.sum(np.log(diag, dtype=np.float64)))

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> FullCovariance:
        """Factor a symmetric positive-definite matrix once.

        Raises
        ------
        numpy.linalg.LinAlgError
            If ``matrix`` is not positive definite.
        """
        try:
            chol = linalg.cholesky(matrix, lower=True, check_finite=False)
        except linalg.LinAlgError as exc:
            raise np.linalg.LinAlgError(str(exc)) from None
        if not np.all(np.diag(chol) > 0):
            raise np.linalg.LinAlgError("matrix is not positive definite")
        return cls(chol)

    @property
    def n_features(self) -> int:
        return self.cholesky.shape[0]

    @property
    def log_det(self) -> float:
        return self._log_det

    @property
    def n_parameters(self) -> int:
        d = self.n_features
        return d * (d + 1) // 2

    def whiten(self, X: np.ndarray) -> np.ndarray:
        # X.T of a C-ordered array is Fortran-ordered: LAPACK's trsm takes it without a copy.
        return linalg.solve_triangular(
            self.cholesky, X.T, lower=True, check_finite=False
        ).T

    def colorize(self, Z: np.ndarray) -> np.ndarray:
        return Z @ self.cholesky.T

    def dense(self) -> np.ndarray:
        return self.cholesky @ self.cholesky.T

    def variances(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.cholesky, self.cholesky)

    def _get_state(self) -> dict:
        return {"cholesky": self.cholesky}

    @classmethod
    def _from_state(cls, state: dict) -> FullCovariance:
        chol = np.asarray(state["cholesky"])
        if chol.ndim != 2 or chol.shape[0] != chol.shape[1]:
            raise ValueError(f"cholesky factor must be square; got shape {chol.shape}")
        if not np.all(np.isfinite(chol)) or not np.all(np.diag(chol) > 0):
            raise ValueError("cholesky factor must be finite with a positive diagonal")
        return cls(np.tril(chol))


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

    def dense(self) -> np.ndarray:
        return np.diag(self.variances_)

    def variances(self) -> np.ndarray:
        return self.variances_.copy()

    def _get_state(self) -> dict:
        return {"variances": self.variances_}

    @classmethod
    def _from_state(cls, state: dict) -> DiagonalCovariance:
        var = np.asarray(state["variances"])
        if var.ndim != 1 or not np.all(np.isfinite(var)) or not np.all(var > 0):
            raise ValueError("variances must be a finite, strictly positive 1-D array")
        return cls(var)
