"""The Gaussian class density: full, diagonal or tied covariance.

Estimation
----------
From the sufficient statistics of a class (count n, mean m, centred scatter S, see
:mod:`bayesgen.kernels.stats`) the covariance is built in three steps:

1. ``C = S / (n - ddof)``.  ``ddof=0`` (default) is the maximum-likelihood estimate, the one
   that maximises the likelihood the model reports; ``ddof=1`` is the unbiased estimate that
   ``numpy.cov`` and the tutorial use (and scikit-learn's QDA).  A class with one sample has
   ``C = 0`` under ``ddof=0`` (it then fits through ``reg_covar``) and no estimate at all
   under ``ddof=1``.
2. Shrinkage of the correlations towards zero, which is shrinkage towards the diagonal of
   ``C``: with ``D = diag(C)`` and ``R = D^{-1/2} C D^{-1/2}`` the correlation matrix::

       C <- D^{1/2} ((1 - s) R + s I) D^{1/2} = (1 - s) C + s D

   ``s`` is a float in [0, 1] or ``"auto"``, the Ledoit-Wolf (2004) intensity of the
   correlation matrix (the intensity for the standardised features; see
   :meth:`~bayesgen.kernels.stats.GaussianStats.correlation_shrinkage`), computed exactly
   from the statistics, so it survives ``partial_fit``.  Variances are never changed, only
   the off-diagonal part is damped, so the estimate is scale-free: multiplying a feature by
   ``c`` multiplies its row and column of the fitted covariance by ``c`` (before the ridge)
   and leaves predictions unchanged.  Shrinking towards ``(tr(C)/d) I`` instead would pull
   every variance towards one common value, which for features in different units (a
   concentration beside a count) distorts the ones with small variances beyond use.
   Constant features (variance 0, such as an image's blank border pixels) stay at 0 and are
   left out of the Ledoit-Wolf intensity; the ridge below makes them positive.  Nor does
   shrinkage raise the tiny variances of rarely inked pixels: on images, where every feature
   has the same unit, the ridge is the regulariser that does.  A diagonal covariance equals
   its own target, so shrinkage leaves it unchanged.
3. An absolute ridge ``C <- C + reg_covar I``, which makes constant features (MNIST's border
   pixels) and classes with fewer samples than features positive definite.

The result is factored once (Cholesky, or square roots of the diagonal) and that factor
serves every log-density, posterior and sample afterwards.

Tied covariance (``covariance_type="tied"``) pools the within-class scatter of all classes
of a :class:`~bayesgen.BayesClassifier` into one shared covariance (linear discriminant
analysis); the factor is computed once and shared by every class.  Fitted on its own, a
tied density is the same as a full one.
"""

from __future__ import annotations

import numbers

import numpy as np

from bayesgen.base.errors import FitError, n_rows
from bayesgen.base.persist import persistable
from bayesgen.base.state_checks import check_real
from bayesgen.base.validation import format_label
from bayesgen.densities.base import LocationScaleDensity
from bayesgen.kernels.covariance import Covariance, DiagonalCovariance, FullCovariance
from bayesgen.kernels.stats import GaussianStats

__all__ = ["GaussianDensity"]

COVARIANCE_TYPES = ("full", "diag", "tied")


def _shrink(cov: np.ndarray, shrinkage: float) -> np.ndarray:
    """``(1 - s) C + s diag(C)``: the off-diagonal entries damped by ``1 - s``."""
    if shrinkage == 0.0 or cov.ndim == 1:
        return cov
    shrunk = np.multiply(cov, 1.0 - shrinkage)
    np.fill_diagonal(shrunk, np.diagonal(cov))
    return shrunk


def _shrinkage_intensity(stats: GaussianStats, shrinkage, varying=None) -> float:
    """The intensity ``s`` to apply: 0 for None and for a diagonal covariance (which equals
    its target), Ledoit-Wolf of the correlation matrix for "auto" (over the ``varying``
    features, see :meth:`GaussianStats.correlation_shrinkage`), else the number."""
    if shrinkage is None or stats.diagonal:
        return 0.0
    if isinstance(shrinkage, str):
        if not stats.fourth:
            raise FitError(
                "shrinkage='auto' needs statistics with fourth moments (statistics kind "
                "'fourth', see GaussianDensity.statistics_kind); these have only the scatter"
            )
        return stats.correlation_shrinkage(varying)
    return float(shrinkage)


def _covariance_from_stats(
    stats: GaussianStats, *, reg_covar: float, shrinkage, ddof: int, varying=None
) -> tuple[Covariance, float]:
    """Regularised covariance of ``stats``, factored once; returns it and the intensity used.

    Raises
    ------
    FitError
        Too few samples for ``ddof``, or the regularised matrix is not positive definite.
    """
    if stats.count - ddof <= 0:
        raise FitError(
            f"{stats.count:g} sample(s) cannot estimate a covariance with ddof={ddof}; "
            "use ddof=0 (maximum likelihood) so reg_covar regularises it"
        )
    cov = stats.covariance(ddof)
    intensity = _shrinkage_intensity(stats, shrinkage, varying)
    cov = _shrink(cov, intensity)
    if stats.diagonal:
        variances = cov + reg_covar
        if not np.all(variances > 0):
            raise FitError("some variances are zero; increase reg_covar")
        return DiagonalCovariance(variances), intensity
    cov = cov.copy() if cov is stats.scatter else cov  # from here on cov is scratch
    cov.flat[:: cov.shape[0] + 1] += reg_covar
    try:
        return FullCovariance.from_matrix(cov, overwrite=True), intensity
    except np.linalg.LinAlgError:
        raise FitError(
            f"the covariance is singular (reg_covar={reg_covar:g}); increase reg_covar, "
            "set shrinkage='auto', "
            "or use density='diag' or 'lowrank'"
        ) from None


def _class_error(label, stats: GaussianStats, exc: Exception) -> FitError:
    return FitError(
        f"class {format_label(label)} has {n_rows(stats.count)} and {stats.n_features} "
        f"features: {exc}"
    )


@persistable("GaussianDensity")
class GaussianDensity(LocationScaleDensity):
    """Multivariate Gaussian density with a full, diagonal or tied covariance.

    Parameters
    ----------
    covariance_type : {"full", "diag", "tied"}, default="full"
        "full": one dense covariance (the tutorial's model). "diag": independent features,
        O(d) per row. "tied": inside a :class:`~bayesgen.BayesClassifier`, one covariance
        shared by all classes (LDA); alone, the same as "full".
    reg_covar : float, default=1e-6
        Added to the diagonal of the covariance after shrinkage.
    shrinkage : None, "auto" or float in [0, 1], default=None
        Shrinkage of the correlations towards 0, i.e. of the covariance towards its
        diagonal: ``(1 - s) C + s diag(C)`` (scale-free; see the module docstring).
        "auto" is the Ledoit-Wolf intensity of the correlation matrix.  No effect on
        ``covariance_type="diag"``.
    ddof : {0, 1}, default=0
        0 = maximum-likelihood covariance ``S/n``; 1 = unbiased ``S/(n-1)`` (numpy.cov).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    covariance_ : Covariance
        Factored covariance representation (``FullCovariance`` or ``DiagonalCovariance``).
    shrinkage_ : float
        Shrinkage intensity actually applied (0 for a diagonal covariance).
    n_samples_seen_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen import GaussianDensity
    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> density = GaussianDensity().fit(X)
    >>> density.sample(2, random_state=0).shape
    (2, 3)
    """

    _fitted_attributes = ("mean_", "covariance_", "shrinkage_", "n_samples_seen_")

    def __init__(self, covariance_type="full", reg_covar=1e-6, shrinkage=None, ddof=0):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.shrinkage = shrinkage
        self.ddof = ddof

    # parameters --------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}; got {self.covariance_type!r}"
            )
        if not isinstance(self.reg_covar, numbers.Real) or not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")
        s = self.shrinkage
        if s is not None and not (isinstance(s, str) and s == "auto"):
            if isinstance(s, str) or not isinstance(s, numbers.Real) or not 0.0 <= s <= 1.0:
                raise ValueError(f"shrinkage must be None, 'auto' or a number in [0, 1]; got {s!r}")
        if self.ddof not in (0, 1):
            raise ValueError(f"ddof must be 0 (maximum likelihood) or 1; got {self.ddof!r}")

    def statistics_kind(self) -> str:
        """Fitted from Gaussian sufficient statistics (see :meth:`Density.statistics_kind`):
        ``"diagonal"``, ``"full"``, or ``"fourth"`` (full plus the fourth moments the
        Ledoit-Wolf intensity needs) for ``shrinkage="auto"``."""
        if self.covariance_type == "diag":
            return "diagonal"
        return "fourth" if isinstance(self.shrinkage, str) else "full"

    def _stats_of(self, X: np.ndarray) -> GaussianStats:
        kind = self.statistics_kind()
        return GaussianStats.from_data(X, diagonal=kind == "diagonal", fourth=kind == "fourth")

    # fitting -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        self._check_params()
        self.stats_ = self._stats_of(X)
        self._fit_stats(self.stats_)

    def partial_fit(self, X, y=None):
        """Update the fit with a batch of rows; any batch split gives the same model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        if hasattr(self, "mean_") and not hasattr(self, "stats_"):
            raise FitError(
                "this density was loaded from a file, which does not keep the statistics "
                "partial_fit needs; fit it again from the data"
            )
        first = not hasattr(self, "stats_")
        X = self._validate_input(X, reset=first)
        self._check_params()
        batch = self._stats_of(X)
        self.stats_ = batch if first else self.stats_.merge(batch)
        self._fit_stats(self.stats_)
        return self

    def _fit_stats(self, stats: GaussianStats, covariance: Covariance | None = None) -> None:
        """Set the fitted attributes from statistics (and an optional shared covariance)."""
        if covariance is None:
            covariance, self.shrinkage_ = _covariance_from_stats(
                stats, reg_covar=self.reg_covar, shrinkage=self.shrinkage, ddof=self.ddof
            )
        self.mean_ = stats.mean.copy()
        self.covariance_ = covariance
        self.n_samples_seen_ = float(stats.count)
        self.n_features_in_ = stats.n_features
        self._cast_cache = {}

    def fit_from_statistics(self, stats_list, labels) -> list[GaussianDensity]:
        """Fit one density per class from per-class statistics (used by the classifier).

        For ``covariance_type="tied"`` the scatters are pooled into one covariance shared by
        all classes: ``C = sum_k S_k / (N - K ddof)``, with Ledoit-Wolf computed on the
        pooled within-class residuals.
        """
        self._check_params()
        fitted = []
        if self.covariance_type != "tied":
            for label, stats in zip(labels, stats_list, strict=True):
                density = GaussianDensity(**self.get_params())
                try:
                    density._fit_stats(stats)
                except FitError as exc:
                    raise _class_error(label, stats, exc) from None
                fitted.append(density)
            return fitted
        present = [s for s in stats_list if s.count > 0]
        n_total = sum(s.count for s in present)
        fourth = all(s.fourth for s in present)
        pooled = GaussianStats(
            n_total - len(present) * self.ddof + self.ddof,
            np.zeros(stats_list[0].n_features),
            sum(s.scatter for s in present),
            sum(s.cross3 for s in present) if fourth else None,
            sum(s.cross4 for s in present) if fourth else None,
        )
        try:
            shared, intensity = _covariance_from_stats(
                pooled,
                reg_covar=self.reg_covar,
                shrinkage=self.shrinkage,
                ddof=self.ddof,
                varying=np.logical_or.reduce([s.varying() for s in present]),
            )
        except FitError as exc:
            raise FitError(f"pooled (tied) covariance of all classes: {exc}") from None
        for stats in stats_list:
            density = GaussianDensity(**self.get_params())
            density._fit_stats(stats, covariance=shared)
            density.shrinkage_ = intensity
            fitted.append(density)
        return fitted

    # kernels -----------------------------------------------------------------------
    def n_parameters(self) -> int:
        """Free parameters: d for the mean plus those of the covariance."""
        self._check_fitted()
        return int(self.n_features_in_ + self.covariance_.n_parameters)

    def _after_load(self) -> None:
        diagonal = self.covariance_type == "diag"
        self._check_mean_and_covariance(DiagonalCovariance if diagonal else FullCovariance)
        self.shrinkage_ = check_real(self.shrinkage_, "GaussianDensity shrinkage_", low=0, high=1)
        self.n_samples_seen_ = check_real(
            self.n_samples_seen_, "GaussianDensity n_samples_seen_", low=0
        )
