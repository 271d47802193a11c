"""Low-rank plus diagonal covariance and the factor-analysis density.

Covariance
----------
``Sigma = W W^T + Psi`` with ``W`` of shape (d, k), ``k << d``, and ``Psi = diag(psi)``.
Nothing of size d x d is ever formed; every operation costs O(d k) per row:

* Woodbury identity::

      Sigma^{-1} = Psi^{-1} - Psi^{-1} W (I_k + W^T Psi^{-1} W)^{-1} W^T Psi^{-1}

* matrix determinant lemma::

      log|Sigma| = log|I_k + W^T Psi^{-1} W| + sum_j log psi_j

Both are evaluated through one thin SVD, computed once when the object is built, of the
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

Density
-------
:class:`FactorAnalysisDensity` fits ``x = mu + W z + eps``, ``z ~ N(0, I_k)``,
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

import numbers

import numpy as np
from scipy import linalg

from ._covariance import LOG_2PI, Covariance
from ._density import LocationScaleDensity
from ._errors import FitError
from ._gaussian import _class_error
from ._persist import persistable
from ._stats import GaussianStats

__all__ = ["FactorAnalysisDensity", "LowRankCovariance"]

_TINY = 1e-12


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
        B = self.W * self._inv_sqrt_psi[:, None]
        if B.shape[1]:
            U, s, _ = np.linalg.svd(B, full_matrices=False)
        else:
            U, s = np.zeros((B.shape[0], 0), B.dtype), np.zeros(0, B.dtype)
        self._U = np.ascontiguousarray(U)
        self._s2 = s * s
        # whiten(x) = y - U (shrink * U^T y),  shrink = 1 - (1 + s^2)^{-1/2}
        self._shrink = 1.0 - 1.0 / np.sqrt(1.0 + self._s2)
        # Sigma^{-1} x = Psi^{-1/2} (y - U (frac * U^T y)),  frac = s^2 / (1 + s^2)
        self._frac = self._s2 / (1.0 + self._s2)
        self._log_det = float(
            np.sum(np.log(self.psi, dtype=np.float64))
            + np.sum(np.log1p(self._s2.astype(np.float64)))
        )

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
        return self._log_det

    @property
    def n_parameters(self) -> int:
        d, k = self.W.shape
        # W is identified only up to a rotation of the factors: k(k-1)/2 fewer parameters.
        return int(d * k + d - k * (k - 1) // 2)

    def whiten(self, X: np.ndarray) -> np.ndarray:
        Y = X * self._inv_sqrt_psi
        if self.rank:
            Y = Y - ((Y @ self._U) * self._shrink) @ self._U.T
        return Y

    def mahalanobis(self, X: np.ndarray) -> np.ndarray:
        """``x^T Sigma^{-1} x`` per centred row via Woodbury: ``|y|^2 - sum frac (U^T y)^2``."""
        Y = X * self._inv_sqrt_psi
        out = np.einsum("ij,ij->i", Y, Y)
        if self.rank:
            P = Y @ self._U
            out -= (P * P) @ self._frac
        return out

    def solve(self, X: np.ndarray) -> np.ndarray:
        """``Sigma^{-1} x`` for each centred row (Woodbury, no inverse formed), shape (n, d)."""
        Y = X * self._inv_sqrt_psi
        if self.rank:
            Y = Y - ((Y @ self._U) * self._frac) @ self._U.T
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
        W = np.asarray(state["W"])
        psi = np.asarray(state["psi"])
        if psi.ndim != 1 or W.ndim != 2 or W.shape[0] != psi.shape[0]:
            raise ValueError(
                f"W must have shape (d, k) and psi shape (d,); got {W.shape} and {psi.shape}"
            )
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(psi)) and np.all(psi > 0)):
            raise ValueError("W must be finite and psi finite and strictly positive")
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


@persistable("FactorAnalysisDensity")
class FactorAnalysisDensity(LocationScaleDensity):
    """Gaussian with a low-rank plus diagonal covariance: PPCA or factor analysis.

    ``x = mu + W z + eps`` with ``z ~ N(0, I_k)`` and ``eps ~ N(0, Psi)``; scoring and
    sampling cost O(d k) per row (see :class:`LowRankCovariance`).

    Parameters
    ----------
    n_components : int, default=10
        Number of factors k (clipped to ``n_features - 1`` for PPCA, ``n_features`` for FA).
    method : {"ppca", "fa"}, default="ppca"
        "ppca": isotropic noise, closed form (one eigendecomposition).  "fa": a free noise
        variance per feature, fitted iteratively.
    reg_covar : float, default=1e-6
        Added to the diagonal of the sample covariance before fitting, and the floor of every
        noise variance; keeps constant features finite.
    max_iter : int, default=1000
        Iterations of the factor-analysis fit (ignored by PPCA).
    tol : float, default=1e-4
        Stop the factor-analysis fit when the log-likelihood per row gains less than this.
    ddof : {0, 1}, default=0
        Covariance normalisation: 0 = maximum likelihood ``S / n``; 1 = ``S / (n - 1)``, the
        convention of :class:`sklearn.decomposition.PCA`.
    random_state : None, int or numpy.random.Generator
        Unused (the fit is deterministic); accepted for a uniform interface.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    covariance_ : LowRankCovariance
    noise_variance_ : ndarray of shape (n_features,)
    n_iter_ : int
    converged_ : bool
    lower_bound_ : float
        Log-likelihood per row of the (regularised) training covariance at the end of the fit.
    lower_bound_history_ : list of float
        The same after each FA iteration (non-decreasing; one entry for PPCA).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen.densities import FactorAnalysisDensity
    >>> X = np.random.default_rng(0).normal(size=(300, 6))
    >>> FactorAnalysisDensity(n_components=2).fit(X).sample(3, random_state=0).shape
    (3, 6)
    """

    _fitted_attributes = (
        "mean_", "covariance_", "n_iter_", "converged_", "lower_bound_", "lower_bound_history_",
        "n_samples_seen_",
    )
    _uses_gaussian_stats = True

    def __init__(
        self, n_components=10, *, method="ppca", reg_covar=1e-6, max_iter=1000, tol=1e-4,
        ddof=0, random_state=None,
    ):
        self.n_components = n_components
        self.method = method
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.ddof = ddof
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.method not in ("ppca", "fa"):
            raise ValueError(f"method must be 'ppca' or 'fa'; got {self.method!r}")
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(f"n_components must be a non-negative integer; got {k!r}")
        if not isinstance(self.reg_covar, numbers.Real) or not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")
        if self.ddof not in (0, 1):
            raise ValueError(f"ddof must be 0 or 1; got {self.ddof!r}")

    @property
    def _diagonal_stats(self) -> bool:
        return False

    def _fit(self, X: np.ndarray) -> None:
        self._check_params()
        self._fit_stats(GaussianStats.from_data(X))

    def _fit_stats(self, stats: GaussianStats) -> None:
        if stats.count - self.ddof <= 0:
            raise FitError(
                f"{stats.count:g} sample(s) cannot estimate a covariance with ddof={self.ddof}"
            )
        d = stats.n_features
        C = stats.covariance(self.ddof).copy()
        C.flat[:: d + 1] += self.reg_covar
        floor = max(float(self.reg_covar), _TINY)
        if self.method == "ppca":
            k = min(int(self.n_components), max(d - 1, 0))
            W, sigma2 = ppca_from_covariance(C, k)
            psi = np.full(d, max(sigma2, floor))
            cov = LowRankCovariance(W, psi)
            # log-likelihood per row of the (regularised) training covariance
            history = [-0.5 * (d * LOG_2PI + cov.log_det + float(np.trace(cov.solve(C))))]
            self.n_iter_ = 1
            self.converged_ = True
        else:
            k = min(int(self.n_components), d)
            W, psi, history, converged = fa_from_covariance(
                C, k, floor=floor, max_iter=self.max_iter, tol=self.tol
            )
            cov = LowRankCovariance(W, psi)
            self.n_iter_ = len(history)
            self.converged_ = bool(converged)
        self.mean_ = stats.mean.copy()
        self.covariance_ = cov
        self.lower_bound_history_ = [float(v) for v in history]
        self.lower_bound_ = self.lower_bound_history_[-1]
        self.n_samples_seen_ = float(stats.count)
        self.n_features_in_ = d
        self._cast_cache = {}

    def _fit_class_stats(self, stats_list, labels) -> list[FactorAnalysisDensity]:
        """One density per class from its Gaussian statistics (used by the classifier)."""
        self._check_params()
        out = []
        for label, stats in zip(labels, stats_list, strict=False):
            density = type(self)(**self.get_params())
            try:
                density._fit_stats(stats)
            except FitError as exc:
                raise _class_error(label, stats, exc) from None
            out.append(density)
        return out

    # kernels (scoring, sampling, mean, dense covariance ``W W^T + Psi``: shared in
    # LocationScaleDensity) ----------------------------------------------------------
    @property
    def components_(self) -> np.ndarray:
        """Loadings ``W^T``, shape (k, n_features)."""
        return self.covariance_.W.T

    @property
    def noise_variance_(self) -> np.ndarray:
        return self.covariance_.psi

    def n_parameters(self) -> int:
        """Mean plus loadings (less rotations) plus noise variances (1 for PPCA)."""
        self._check_fitted()
        d, k = self.covariance_.W.shape
        noise = 1 if self.method == "ppca" else d
        return int(d + d * k - k * (k - 1) // 2 + noise)

    def _after_load(self) -> None:
        self._check_mean_and_covariance()
        self.n_iter_ = int(self.n_iter_)
        self.converged_ = bool(self.converged_)
        self.lower_bound_ = float(self.lower_bound_)
        self.lower_bound_history_ = [float(v) for v in self.lower_bound_history_]
