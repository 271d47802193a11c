"""E-step kernels of Gaussian mixtures: ``log N(x_i | mu_j, Sigma_j)`` for all rows and components.

Each kernel returns the component log-densities in float64, component-major: a (K, n)
matrix, so that the logsumexp over components is elementwise over rows of length n (a
reduction along rows of length K is several times slower in numpy).  They spend their time
in BLAS-3 products over the whole block of rows, never in a loop over rows:

* diagonal, ``Sigma_j = diag(v_j)``: the squared Mahalanobis distances of all rows to all
  components are one matrix product,
  ``sum_d (x - mu_j)^2 / v_j = [x, x^2] @ [-2 mu_j / v_j, 1 / v_j]^T + sum_d mu_j^2 / v_j``;
* low rank plus diagonal, ``Sigma_j = W_j W_j^T + diag(psi_j)``: the same product with
  ``psi`` for ``v``, less the Woodbury correction ``|A_j^T (x - mu_j)|^2``, where
  ``Sigma_j^{-1} = Psi_j^{-1} - A_j A_j^T`` (:func:`woodbury_factor`); one more product
  ``X @ [A_1, ..., A_K]`` gives the corrections of every component;
* full, ``Sigma_j = L_j L_j^T``: ``|L_j^{-1} (x - mu_j)|^2``, one triangular product (BLAS
  ``trmm``) with ``L_j^{-1}`` per component on the whole block of centred rows: ``n d^2``
  flops, half those of a general product with the precision factor (``2 n d^2``,
  scikit-learn's way).

Precision
---------
The products run in the dtype of the data they are given (float32 halves their time); the
constant terms, the log-determinants and the result are float64.  The expanded diagonal form
cancels: its float error is about ``eps * sum_d x^2 / v_j`` nats per row (``eps`` = 1.2e-7
in float32, 2.2e-16 in float64), so centre the data first (the mixtures do).  The triangular
product loses about ``eps * cond(L_j)`` relative in each whitened value.

These are private kernels: they trust their input (finite arrays of matching shapes,
C-contiguous rows, positive variances, triangular factors with a positive diagonal).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.linalg import blas

from bayesgen.kernels.covariance import LOG_2PI

__all__ = [
    "diag_log_pdf",
    "full_log_pdf",
    "inverse_factor",
    "lowrank_log_pdf",
    "stack_squares",
    "woodbury_factor",
]


def stack_squares(X: np.ndarray) -> np.ndarray:
    """``[X, X * X]``, shape (n, 2d), C-contiguous, in the dtype of ``X``.

    The work array of the diagonal and low-rank kernels: one product with it gives both the
    linear and the quadratic terms of every component (and, in an M-step, ``R^T [X, X^2]``
    gives the weighted sums of x and x^2 at once).  ``XX[:, :d]`` is ``X`` itself.
    """
    n, d = X.shape
    XX = np.empty((n, 2 * d), dtype=X.dtype)
    XX[:, :d] = X
    np.multiply(X, X, out=XX[:, d:])
    return XX


def _diag_part(XX, means, inv_var, offset):
    """``offset_j - 0.5 sum_d (x - mu_j)^2 / v_j`` for all components and rows, float64 (K, n).

    One product ``[mu_j / v_j, -1 / (2 v_j)] @ [X, X^2]^T`` and one broadcast addition of
    ``offset_j - 0.5 sum_d mu_j^2 / v_j``.
    """
    coef = np.concatenate([means * inv_var, -0.5 * inv_var], axis=1).astype(XX.dtype)
    out = np.asarray(coef @ XX.T, dtype=np.float64)
    out += (offset - 0.5 * np.einsum("kd,kd->k", means * means, inv_var))[:, None]
    return out


def _offset(offset, K: int) -> np.ndarray:
    return np.zeros(K) if offset is None else np.asarray(offset, dtype=np.float64)


def diag_log_pdf(
    XX: np.ndarray, means: np.ndarray, variances: np.ndarray, offset=None
) -> np.ndarray:
    """``offset_j + log N(x_i | mu_j, diag(v_j))``, shape (K, n), float64.

    Parameters
    ----------
    XX : ndarray of shape (n, 2d)
        ``[X, X^2]`` from :func:`stack_squares`, float32 or float64.
    means : ndarray of shape (K, d)
    variances : ndarray of shape (K, d)
        Strictly positive.
    offset : ndarray of shape (K,), optional
        Added to each component's column (e.g. the log-weights), at no extra pass.
    """
    means = np.asarray(means, dtype=np.float64)
    variances = np.asarray(variances, dtype=np.float64)
    K, d = means.shape
    log_det = np.log(variances).sum(axis=1)
    offset = _offset(offset, K) - 0.5 * (d * LOG_2PI + log_det)
    return _diag_part(XX, means, 1.0 / variances, offset)


def woodbury_factor(W: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, float]:
    """``A`` with ``(W W^T + diag(psi))^{-1} = diag(1 / psi) - A A^T``, and ``log|Sigma|``.

    With ``B = Psi^{-1/2} W`` and the Cholesky factor ``M = I_k + B^T B = R R^T`` (k x k):
    Woodbury gives ``Sigma^{-1} = Psi^{-1} - Psi^{-1} W M^{-1} W^T Psi^{-1}``, so
    ``A = Psi^{-1} W R^{-T}`` (d, k), and the determinant lemma gives
    ``log|Sigma| = sum log psi + 2 sum log diag(R)``.  O(d k^2).

    Parameters
    ----------
    W : ndarray of shape (d, k)
    psi : ndarray of shape (d,)
        Strictly positive.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``M`` cannot be factored (non-finite loadings).
    """
    W = np.asarray(W, dtype=np.float64)
    psi = np.asarray(psi, dtype=np.float64)
    k = W.shape[1]
    log_det = float(np.sum(np.log(psi)))
    if k == 0:
        return np.zeros((W.shape[0], 0)), log_det
    PW = W / psi[:, None]
    M = W.T @ PW
    M.flat[:: k + 1] += 1.0
    R = linalg.cholesky(M, lower=True, check_finite=True)
    A = linalg.solve_triangular(R, PW.T, lower=True, check_finite=False).T
    return np.ascontiguousarray(A), log_det + 2.0 * float(np.sum(np.log(np.diag(R))))


def lowrank_log_pdf(
    XX: np.ndarray,
    means: np.ndarray,
    psi: np.ndarray,
    factors: list[np.ndarray],
    log_dets: np.ndarray,
    offset=None,
) -> np.ndarray:
    """``offset_j + log N(x_i | mu_j, W_j W_j^T + diag(psi_j))``, shape (K, n), float64.

    ``x^T Sigma_j^{-1} x = sum_d x^2 / psi_j - |A_j^T x|^2`` (``A_j`` and ``log|Sigma_j|``
    from :func:`woodbury_factor`): the diagonal kernel's product plus one product
    ``[A_1, ..., A_K]^T @ X^T`` for the corrections of all components.

    Parameters
    ----------
    XX : ndarray of shape (n, 2d)
        ``[X, X^2]`` from :func:`stack_squares`.
    means : ndarray of shape (K, d)
    psi : ndarray of shape (K, d)
    factors : list of K ndarrays of shape (d, k_j)
    log_dets : ndarray of shape (K,)
    offset : ndarray of shape (K,), optional
        Added to each component's column.
    """
    means = np.asarray(means, dtype=np.float64)
    K, d = means.shape
    offset = _offset(offset, K) - 0.5 * (d * LOG_2PI + np.asarray(log_dets, dtype=np.float64))
    out = _diag_part(XX, means, 1.0 / np.asarray(psi, dtype=np.float64), offset)
    widths = [A.shape[1] for A in factors]
    if sum(widths):
        X = XX[:, :d]
        A_all = np.concatenate(factors, axis=1)
        P = A_all.T.astype(X.dtype) @ X.T  # (sum k, n): A_j^T x for every j
        shift = np.concatenate([m @ A for m, A in zip(means, factors, strict=True)])
        P -= shift.astype(P.dtype)[:, None]
        P *= P
        start = 0
        for j, k in enumerate(widths):
            if k:
                out[j] += 0.5 * P[start : start + k].sum(axis=0, dtype=np.float64)
            start += k
    return out


def inverse_factor(L: np.ndarray) -> np.ndarray:
    """``L^{-1}`` of a lower-triangular factor with a positive diagonal (LAPACK ``trtri``,
    ``d^3 / 3`` flops), C-contiguous and lower triangular."""
    (trtri,) = linalg.get_lapack_funcs(("trtri",), (L,))
    # L.T of a C-ordered L is the Fortran-ordered upper factor; its inverse, read back in
    # C order, is the lower inverse
    inv, info = trtri(L.T, lower=0)
    if info != 0:
        raise np.linalg.LinAlgError("singular triangular factor")
    return np.ascontiguousarray(inv.T)


def full_log_pdf(
    X: np.ndarray,
    means: np.ndarray,
    inverse_factors: list[np.ndarray],
    log_dets: np.ndarray,
    offset=None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """``offset_j + log N(x_i | mu_j, L_j L_j^T)``, shape (K, n), float64.

    One BLAS ``trmm`` per component multiplies the whole block of centred rows by the
    triangular ``L_j^{-1}`` in place (``Z^T = L_j^{-1} (X - mu_j)^T``; the transpose of
    C-ordered rows is a Fortran-ordered matrix, so no copy is made): ``n d^2`` flops, half
    those of a general product with the precision factor (scikit-learn's way), and faster
    than solving with ``L_j`` (``trsm``) on the same block.  The squared norms of the rows
    of ``Z`` are the Mahalanobis distances.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        C-contiguous, float32 or float64; every factor must have the same dtype.
    means : ndarray of shape (K, d)
    inverse_factors : list of K ndarrays of shape (d, d)
        ``L_j^{-1}``, lower triangular, C-contiguous (:func:`inverse_factor`).
    log_dets : ndarray of shape (K,)
        ``log |Sigma_j|``.
    offset : ndarray of shape (K,), optional
        Added to each component's column.
    work : ndarray of shape (n, d), optional
        Scratch of the dtype of ``X`` (allocated when not given).
    """
    n, d = X.shape
    K = len(inverse_factors)
    out = np.empty((K, n))
    if work is None:
        work = np.empty_like(X)
    if d == 0:
        out[:] = 0.0
    else:
        (trmm,) = blas.get_blas_funcs(("trmm",), (X,))
        for j, inv in enumerate(inverse_factors):
            np.subtract(X, means[j].astype(X.dtype, copy=False), out=work)
            # work.T: (d, n) Fortran; inv.T: Fortran upper, so op(A) = inv is trans_a=1
            Z = trmm(1.0, inv.T, work.T, side=0, lower=0, trans_a=1, overwrite_b=1).T
            out[j] = np.einsum("ij,ij->i", Z, Z)
    out *= -0.5
    out += (_offset(offset, K) - 0.5 * (d * LOG_2PI + np.asarray(log_dets, dtype=np.float64)))[
        :, None
    ]
    return out
