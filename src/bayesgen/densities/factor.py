"""The factor-analysis density (see :mod:`bayesgen.kernels.lowrank` for the covariance)."""

from __future__ import annotations

import numbers

import numpy as np

from bayesgen.base.errors import FitError
from bayesgen.base.persist import persistable
from bayesgen.base.state_checks import check_bool, check_int, check_real, check_real_list
from bayesgen.densities.base import LocationScaleDensity
from bayesgen.densities.gaussian import _class_error
from bayesgen.kernels.covariance import LOG_2PI
from bayesgen.kernels.lowrank import (
    _TINY,
    LowRankCovariance,
    fa_from_covariance,
    ppca_from_covariance,
)
from bayesgen.kernels.stats import GaussianStats

__all__ = ["FactorAnalysisDensity"]


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
        "mean_",
        "covariance_",
        "n_iter_",
        "converged_",
        "lower_bound_",
        "lower_bound_history_",
        "n_samples_seen_",
    )

    def __init__(
        self,
        n_components=10,
        *,
        method="ppca",
        reg_covar=1e-6,
        max_iter=1000,
        tol=1e-4,
        ddof=0,
        random_state=None,
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
        check_int(self.max_iter, "max_iter", low=1)
        check_real(self.tol, "tol", low=0)

    def statistics_kind(self) -> str:
        """Fitted from Gaussian sufficient statistics (see :meth:`Density.statistics_kind`)."""
        return "full"

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

    def fit_from_statistics(self, stats_list, labels) -> list[FactorAnalysisDensity]:
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
        name = "FactorAnalysisDensity"
        self._check_mean_and_covariance(LowRankCovariance)
        self.n_iter_ = check_int(self.n_iter_, f"{name} n_iter_", low=0)
        self.converged_ = check_bool(self.converged_, f"{name} converged_")
        self.lower_bound_ = check_real(self.lower_bound_, f"{name} lower_bound_", finite=False)
        self.lower_bound_history_ = check_real_list(
            self.lower_bound_history_, f"{name} lower_bound_history_"
        )
        self.n_samples_seen_ = check_real(self.n_samples_seen_, f"{name} n_samples_seen_", low=0)
