"""Low-rank plus diagonal covariance, and factor analysis / PPCA of a covariance matrix.

Covariance
----------
``Sigma = W W^T + Psi`` with ``W`` of shape (d, k), ``k << d``, and ``Psi = diag(psi)``.
Nothing of size d x d is ever formed; every operation costs O(d k) per row:

* Woodbury identity::

      Sigma^{-1} = Psi^{-1} - Psi^{-1} W (I_k + W^T Psi^{-1} W)^{-1} W^T Psi^{-1}

* matrix determinant lemma::

      log|Sigma| = log|I_k + W^T Psi^{-1} W| + sum_j log psi_j

Both are evaluated through one thin SVD, computed once (on first use), of the
scaled loadings ``B = Psi^{-1/2} W = U diag(s) V^T`` (U of shape (d, k)).  Then
``Sigma = Psi^{1/2} (I + B B^T) Psi^{1/2}`` and ``I + B B^T = I + U diag(s^2) U^T``, so

* ``log|Sigma| = sum log psi + sum log(1 + s^2)`` (the determinant lemma, since
  ``I_k + W^T Psi^{-1} W = I_k + B^T B = V diag(1 + s^2) V^T``);
* the symmetric whitening ``T = (I + B B^T)^{-1/2} Psi^{-1/2}`` satisfies ``T^T T = Sigma^{-1}``
  and, with ``y = Psi^{-1/2} x``, is applied as
  ``whiten(x) = y - U ((1 - (1 + s^2)^{-1/2}) * (U^T y))`` (the Woodbury identity in
  square-root form), so ``|whiten(x)|^2 = x^T Sigma^{-1} x`` in O(d k);
* ``colorize([z1, z2]) = W z1 + sqrt(psi) * z2`` with ``z1`` of width k and ``z2`` of width
  d (``latent_dim = k + d``): exactly the generative model of factor analysis.

Factor analysis
---------------
:func:`fa_from_covariance` and :func:`ppca_from_covariance` fit (used by
:class:`bayesgen.FactorAnalysisDensity` and the mixtures) ``x = mu + W z + eps``, ``z ~ N(0, I_k)``,
``eps ~ N(0, Psi)``:

* ``method="ppca"`` (probabilistic PCA, Tipping and Bishop 1999) has ``Psi = sigma^2 I`` and a
  closed-form maximum-likelihood solution from the eigendecomposition ``C = U L U^T`` of the
  sample covariance: ``sigma^2`` is the mean of the ``d - k`` discarded eigenvalues and
  ``W = U_k (L_k - sigma^2 I)^{1/2}``.  This is the model behind
  :meth:`sklearn.decomposition.PCA.score_samples`.
* ``method="fa"`` (factor analysis) has a free diagonal ``Psi``.  It is fitted by the
  fixed-point iteration of Barber (2012, section 21.2) that
  :class:`sklearn.decomposition.FactorAnalysis` also uses: with the current ``Psi``, the top-k
  eigenpairs ``(l_i, v_i)`` of ``Psi^{-1/2} C Psi^{-1/2}`` give the optimal
  ``W = Psi^{1/2} V_k (L_k - I)_+^{1/2}``, then ``psi = max(diag(C) - diag(W W^T), floor)``.
  Each step increases the likelihood; iteration stops when the gain per row is below ``tol``.

Both only need the mean and the covariance, i.e. the Gaussian sufficient statistics, so a
:class:`~bayesgen.BayesClassifier` with ``density="lowrank"`` supports exact
``partial_fit``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg

from bayesgen.base.persist import persistable
from bayesgen.base.state_checks import check_array, check_keys, check_positive
from bayesgen.kernels.covariance import LOG_2PI, Covariance

__all__ = ["LowRankCovariance", "fa_from_covariance", "ppca_from_covariance"]

_TINY = 1e-12


class _Woodbury(NamedTuple):
    """What scoring needs from the thin SVD ``Psi^{-1/2} W = U diag(s) V^T``."""

    U: np.ndarray  # (d, k)
    shrink: np.ndarray  # 1 - (1 + s^2)^{-1/2}
    frac: np.ndarray  # s^2 / (1 + s^2)
    log_det: float


@persistable("LowRankCovariance")
class LowRankCovariance(Covariance):
    """Low-rank plus diagonal covariance ``Sigma = W W^T + diag(psi)``; O(d k) per row.

    See the module docstring for the Woodbury identity and the determinant lemma behind
    :meth:`whiten` and :attr:`log_det`.

    Parameters
    ----------
    W : ndarray of shape (d, k)
        Factor loadings (k may be 0: then the covariance is diagonal).
    psi : ndarray of shape (d,)
        Strictly positive noise variances.
    """

    kind = "lowrank"

    def __init__(self, W: np.ndarray, psi: np.ndarray):
        self.W = np.ascontiguousarray(W)
        self.psi = np.ascontiguousarray(psi)
        self._sqrt_psi = np.sqrt(self.psi)
        self._inv_sqrt_psi = 1.0 / self._sqrt_psi

    @property
    def _svd(self) -> _Woodbury:
        """The thin SVD of ``B = Psi^{-1/2} W`` and what scoring needs from it.

        Computed on first use, not when the object is built: sampling (``colorize``) never
        needs it, and loading a model file does no factorisation.  Two threads may both
        compute it on first use; each gets the same values.
        """
        cached = self.__dict__.get("_svd_cache")
        if cached is not None:
            return cached
        B = self.W * self._inv_sqrt_psi[:, None]
        if B.shape[1]:
            U, s, _ = np.linalg.svd(B, full_matrices=False)
        else:
            U, s = np.zeros((B.shape[0], 0), B.dtype), np.zeros(0, B.dtype)
        s2 = s * s
        log_det = float(
            np.sum(np.log(self.psi, dtype=np.float64)) + np.sum(np.log1p(s2.astype(np.float64)))
        )
        cached = _Woodbury(
            U=np.ascontiguousarray(U),
            # whiten(x) = y - U (shrink * U^T y),  shrink = 1 - (1 + s^2)^{-1/2}
            shrink=1.0 - 1.0 / np.sqrt(1.0 + s2),
            # Sigma^{-1} x = Psi^{-1/2} (y - U (frac * U^T y)),  frac = s^2 / (1 + s^2)
            frac=s2 / (1.0 + s2),
            log_det=log_det,
        )
        self._svd_cache = cached
        return cached

    @classmethod
    def from_loadings(cls, W: np.ndarray, psi: np.ndarray) -> LowRankCovariance:
        """Build from loadings and noise variances (same as the constructor)."""
        return cls(W, psi)

    @property
    def n_features(self) -> int:
        return self.psi.shape[0]

    @property
    def rank(self) -> int:
        """Number of factors k."""
        return self.W.shape[1]

    @property
    def latent_dim(self) -> int:
        return self.rank + self.n_features

    @property
    def log_det(self) -> float:
        return self._svd.log_det

    @property
    def n_parameters(self) -> int:
        d, k = self.W.shape
        # W is identified only up to a rotation of the factors: k(k-1)/2 fewer parameters.
        return int(d * k + d - k * (k - 1) // 2)

    def whiten(self, X: np.ndarray) -> np.ndarray:
        Y = X * self._inv_sqrt_psi
        if self.rank:
            svd = self._svd
            Y = Y - ((Y @ svd.U) * svd.shrink) @ svd.U.T
        return Y

    def mahalanobis(self, X: np.ndarray) -> np.ndarray:
        """``x^T Sigma^{-1} x`` per centred row via Woodbury: ``|y|^2 - sum frac (U^T y)^2``."""
        Y = X * self._inv_sqrt_psi
        out = np.einsum("ij,ij->i", Y, Y)
        if self.rank:
            svd = self._svd
            P = Y @ svd.U
            out -= (P * P) @ svd.frac
        return out

    def solve(self, X: np.ndarray) -> np.ndarray:
        """``Sigma^{-1} x`` for each centred row (Woodbury, no inverse formed), shape (n, d)."""
        Y = X * self._inv_sqrt_psi
        if self.rank:
            svd = self._svd
            Y = Y - ((Y @ svd.U) * svd.frac) @ svd.U.T
        return Y * self._inv_sqrt_psi

    def colorize(self, Z: np.ndarray) -> np.ndarray:
        k = self.rank
        out = Z[:, k:] * self._sqrt_psi
        if k:
            out += Z[:, :k] @ self.W.T
        return out

    def dense(self) -> np.ndarray:
        out = self.W @ self.W.T
        out.flat[:: self.n_features + 1] += self.psi
        return out

    def variances(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.W, self.W) + self.psi

    def _get_state(self) -> dict:
        return {"W": self.W, "psi": self.psi}

    @classmethod
    def _from_state(cls, state: dict) -> LowRankCovariance:
        check_keys(state, "LowRankCovariance state", ("W", "psi"))
        psi = check_array(state["psi"], "LowRankCovariance psi", shape=(None,))
        check_positive(psi, "LowRankCovariance psi")
        W = check_array(state["W"], "LowRankCovariance W", shape=(psi.shape[0], None), finite=True)
        # the log-density works with the whitened factor Psi^(-1/2) W and its Gram matrix:
        # finite values whose squares overflow would make the SVD fail on infinities
        with np.errstate(over="ignore", divide="ignore"):
            inverse = 1.0 / psi.astype(np.float64)  # float64 also for float32 copies (astype)
            whitened = W * np.sqrt(inverse)[:, None]
            if not np.isfinite(np.einsum("ij,ij->", whitened, whitened) + inverse.sum()):
                raise ValueError(
                    "LowRankCovariance W and psi must be of moderate size: the squared norm of "
                    "W whitened by psi (or 1 / psi) overflows"
                )
        # the SVD waits for the first log-density (see _svd): loading factors nothing
        return cls(W, psi)


def _top_eigh(C: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest eigenvalues (descending) and their eigenvectors of symmetric ``C``."""
    d = C.shape[0]
    if k == 0:
        return np.zeros(0), np.zeros((d, 0))
    vals, vecs = linalg.eigh(
        C, subset_by_index=[d - k, d - 1], check_finite=False, overwrite_a=False
    )
    return vals[::-1], vecs[:, ::-1]


def ppca_from_covariance(C: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Closed-form probabilistic PCA of a covariance: returns ``W`` (d, k) and ``sigma^2``.

    ``sigma^2 = (tr C - sum_{i<=k} l_i) / (d - k)`` (mean of the discarded eigenvalues) and
    ``W = U_k (L_k - sigma^2)_+^{1/2}``.
    """
    d = C.shape[0]
    vals, vecs = _top_eigh(C, k)
    if k < d:
        sigma2 = max((float(np.trace(C)) - float(vals.sum())) / (d - k), 0.0)
    else:
        sigma2 = 0.0
    W = vecs * np.sqrt(np.maximum(vals - sigma2, 0.0))
    return W, sigma2


def fa_from_covariance(
    C: np.ndarray, k: int, *, floor: float, max_iter: int, tol: float, psi0=None
) -> tuple[np.ndarray, np.ndarray, list[float], bool]:
    """Maximum-likelihood factor analysis of covariance ``C`` (module docstring).

    Returns
    -------
    W : ndarray of shape (d, k)
    psi : ndarray of shape (d,)
    history : list of float
        Average log-likelihood per row after each iteration (non-decreasing).
    converged : bool
    """
    d = C.shape[0]
    var = np.diag(C).copy()
    psi = np.maximum(var if psi0 is None else np.asarray(psi0, float), floor)
    history: list[float] = []
    converged = False
    W = np.zeros((d, k))
    for _ in range(max(1, int(max_iter))):
        sqrt_psi = np.sqrt(psi)
        scaled = C / sqrt_psi[:, None] / sqrt_psi[None, :]
        vals, vecs = _top_eigh(scaled, k)
        W = vecs * np.sqrt(np.maximum(vals - 1.0, 0.0)) * sqrt_psi[:, None]
        # log-likelihood per row at (W, psi): eigenvalues of scaled give it exactly
        # -0.5 (d log 2pi + log|Sigma| + tr(Sigma^{-1} C)), with Sigma = Psi^{1/2}(I+BB^T)Psi^{1/2}
        # and B B^T sharing the eigenvectors of `scaled` -> closed form in the l_i.
        lam = np.maximum(vals, 1.0)
        tr_scaled = float(np.trace(scaled))
        ll = -0.5 * (
            d * LOG_2PI
            + float(np.sum(np.log(psi)))
            + float(np.sum(np.log(lam)))
            + tr_scaled
            - float(np.sum(vals - vals / lam))
        )
        history.append(ll)
        if len(history) > 1 and history[-1] - history[-2] < tol:
            converged = True
            break
        psi = np.maximum(var - np.einsum("ij,ij->i", W, W), floor)
    return W, psi, history, converged
