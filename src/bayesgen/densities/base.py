"""The contract every class density follows, and shared input checks.

A density is a scikit-learn style estimator of p(x): ``__init__`` stores parameters, ``fit``
validates and returns ``self``, fitted attributes end in ``_``.  Concrete families implement
five private kernels that trust their input:

* ``_fit(X)``            X: float64 (n, d), finite (NaN = missing where
  :meth:`Density.fits_missing`)
* ``_score_samples(X)``  log p(x) per row, shape (n,)
* ``_sample(n, rng, dtype)``  rows drawn from p(x), shape (n, d)
* ``mean()``             E[x], shape (d,)
* ``n_parameters()``     free parameters, for AIC/BIC

and the public methods here validate and dispatch to them.

The public protocol the classifier, streaming, Dask and conditioning use (no private hooks):

* :meth:`Density.statistics_kind` / :meth:`Density.fit_from_statistics`: families whose fit
  is a function of Gaussian sufficient statistics (:mod:`bayesgen.kernels.stats`) say which
  ones and fit from them; the classifier then supports exact ``partial_fit``, streaming and
  Dask fits.
* :meth:`Density.summary_kind` / :meth:`Density.fit_from_summaries` /
  :meth:`Density.score_moments` / :meth:`Density.fit_dependence`: families fitted in two
  passes over data bigger than memory (a table streamed from a file or a Dask DataFrame):
  marginals from mergeable per-column summaries (:mod:`bayesgen.kernels.column_summary`),
  then the dependence from mergeable moments of each chunk's normal scores.
* :meth:`Density.location_scale`: families of the form ``x = mean + colorize(z)`` hand their
  factor to the shared sampling engine, which draws every class on all cores at once.
* :meth:`Density.condition`: the density of the missing features given the observed ones
  (exact in-painting and class posteriors from partial rows).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import (
    check_array,
    check_instance,
    check_int,
    check_keys,
    check_seed,
    state_error,
)
from bayesgen.base.validation import check_finite, check_n_samples
from bayesgen.kernels.conditioning import Conditioned, gaussian_conditional
from bayesgen.kernels.sampler import draw_location_scale

__all__ = ["Density", "LocationScaleDensity"]


class Density(DensityMixin, BaseEstimator):
    """Base class of bayesgen's densities (not used directly)."""

    #: names of fitted attributes saved in model files (besides the parameters)
    _fitted_attributes: tuple[str, ...] = ()
    #: parameters that may hold an array (in a model file every other one is plain JSON)
    _array_params: tuple[str, ...] = ()

    # public API ------------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the density to the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = self._validate_input(X, reset=True)
        self._fit(X)
        return self

    def score_samples(self, X):
        """Log-density ``log p(x)`` of each row (nats).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        self._check_fitted()
        X = self._validate_input(X, reset=False)
        return self._score_samples(X)

    def score(self, X, y=None):
        """Mean log-likelihood per row (nats), as :class:`sklearn.mixture.GaussianMixture`."""
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None, *, dtype=np.float64):
        """Draw rows from the fitted density.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : None, int or numpy.random.Generator
        dtype : {numpy.float64, numpy.float32}, default=numpy.float64
            float32 halves memory traffic and roughly doubles throughput.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        self._check_fitted()
        n = check_n_samples(n_samples)
        rng = check_random_state(random_state)
        return self._sample(n, rng, np.dtype(dtype))

    def bic(self, X) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        X = self._validate_input(X, reset=False)
        return float(-2.0 * self._score_samples(X).sum() + self.n_parameters() * np.log(X.shape[0]))

    def aic(self, X) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        X = self._validate_input(X, reset=False)
        return float(-2.0 * self._score_samples(X).sum() + 2.0 * self.n_parameters())

    # protocol ----------------------------------------------------------------------
    def accepts_missing(self) -> bool:
        """True when ``fit``, ``score_samples`` and ``condition`` take rows with missing
        cells (NaN), marginalising them; False when every cell must be a finite number."""
        return False

    def fits_missing(self) -> bool:
        """True when :meth:`fit` takes rows with missing cells; by default
        :meth:`accepts_missing` (a family may score such rows but need complete ones to
        fit, as the copula with a ``dependence`` density)."""
        return self.accepts_missing()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _quietly_fits_missing(self)
        return tags

    def statistics_kind(self) -> str | None:
        """Which Gaussian sufficient statistics this family is fitted from.

        Returns
        -------
        {"full", "diagonal", "fourth"} or None
            ``"full"``: count, mean and scatter matrix ``sum (x - m)(x - m)^T``;
            ``"diagonal"``: count, mean and per-feature scatter; ``"fourth"``: the full
            statistics plus the fourth-order moments (what the Ledoit-Wolf intensity of
            the correlation matrix needs, see :class:`~bayesgen.kernels.stats.GaussianStats`);
            ``None``: the family needs the raw rows (mixtures, copulas, transforms).
        """
        return None

    def fit_from_statistics(self, stats_list, labels) -> list[Density]:
        """Fit one density per class from its sufficient statistics.

        Only for families whose :meth:`statistics_kind` is not None.  A list in, a list out,
        because some families share parameters across classes (a tied covariance).

        Parameters
        ----------
        stats_list : list of bayesgen.kernels.stats.GaussianStats
            One per class, each with at least one row.
        labels : array-like of shape (len(stats_list),)
            The class labels, for error messages.

        Returns
        -------
        list of Density
            New fitted densities with this one's parameters.
        """
        raise NotImplementedError(
            f"{type(self).__name__} is fitted from raw rows, not from sufficient statistics"
        )

    def summary_kind(self) -> str | None:
        """Whether this family is fitted in two passes from column summaries.

        Returns
        -------
        {"columns"} or None
            ``"columns"``: pass 1 reduces each column to a mergeable summary
            (:class:`~bayesgen.kernels.column_summary.NumericSummary` or
            :class:`~bayesgen.kernels.column_summary.CategoryCounts`) and
            :meth:`fit_from_summaries` fits the marginals; pass 2 reduces each chunk with
            :meth:`score_moments` and :meth:`fit_dependence` finishes.  ``None``: not
            supported (the family needs the raw rows at once).
        """
        return None

    def fit_from_summaries(self, summaries, n_rows: int) -> Density:
        """Pass 1 of a two-pass fit: a new density with its marginals fitted.

        Parameters
        ----------
        summaries : list
            One summary per feature, in order (see :meth:`summary_kind`).
        n_rows : int
            Rows summarised, missing cells included.

        Returns
        -------
        Density
            Not usable until :meth:`fit_dependence` has run.
        """
        raise NotImplementedError(
            f"{type(self).__name__} is fitted from raw rows, not from column summaries"
        )

    def score_moments(self, X, rows):
        """Pass 2 on one chunk of rows: mergeable statistics of the dependence.

        Parameters
        ----------
        X : ndarray of shape (n, d)
            Rows (NaN = missing cell) of the density returned by :meth:`fit_from_summaries`.
        rows : ndarray of int, shape (n,)
            The rows' numbers in the whole data: randomness used per row is a function of
            them, so the result does not depend on how the rows are cut into chunks.

        Returns
        -------
        bayesgen.kernels.score_moments.ScoreMoments
            Merged across chunks with ``merge``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} is fitted from raw rows, not from column summaries"
        )

    def fit_dependence(self, moments) -> Density:
        """Finish a two-pass fit from the merged :meth:`score_moments`; returns self."""
        raise NotImplementedError(
            f"{type(self).__name__} is fitted from raw rows, not from column summaries"
        )

    def location_scale(self, dtype=np.float64):
        """``(mean, covariance)`` when ``x = mean + covariance.colorize(z)``, ``z ~ N(0, I)``.

        The sampling engine (:func:`bayesgen.kernels.sampler.draw_location_scale`) draws
        such families for all classes at once; others return None and are sampled through
        :meth:`sample`.

        Parameters
        ----------
        dtype : numpy dtype, default=float64
            The factor is cast to it (once, cached).
        """
        return None

    def latent_gaussian(self):
        """This density as ``z ~ N(mean, cov)`` (or a Gaussian mixture) mapped feature by
        feature to ``x``.

        Conditions on column values (``BayesClassifier.sample(given=...)``) are exact
        truncations and conditionals of that Gaussian, or of each Gaussian of the mixture
        with its weight updated by the probability of the conditions under it; see
        :mod:`bayesgen.densities.latent`.

        Returns
        -------
        bayesgen.densities.latent.LatentGaussian

        Raises
        ------
        DataError
            For families without such a form (transformed densities, parametric copula
            marginals).
        """
        from bayesgen.densities.latent import not_latent_gaussian

        raise not_latent_gaussian(self)

    def condition(self, x, observed):
        """The density of the unobserved features given the observed ones.

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            A row; only the entries where ``observed`` is True are read.
        observed : ndarray of bool, shape (n_features,)

        Returns
        -------
        bayesgen.conditional.Conditioned
            ``log_marginal`` (log p(x_observed)) and a sampler of ``x_missing``.
        """
        raise DataError(
            f"conditional sampling is not available for {type(self).__name__}; use a "
            "Gaussian, low-rank, mixture, copula or transformed density"
        )

    # helpers -----------------------------------------------------------------------
    def _validate_input(self, X, *, reset: bool) -> np.ndarray:
        X = validate_data(
            self, X, reset=reset, dtype=np.float64, ensure_all_finite=False, order="C"
        )
        check_finite(X, allow_nan=self.accepts_missing())
        return X

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self)
        except Exception:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X) first."
            ) from None

    # persistence -------------------------------------------------------------------
    def _is_fitted(self) -> bool:
        return hasattr(self, "n_features_in_") and all(
            hasattr(self, name) for name in self._fitted_attributes
        )

    def _unfitted_state(self) -> dict:
        """State of an unfitted template (a classifier's ``density`` parameter): parameters
        only; nested templates are stored the same way."""
        return {"params": self.get_params(deep=False), "fitted": None}

    def _get_state(self) -> dict:
        if not self._is_fitted():
            return self._unfitted_state()
        fitted = {name: getattr(self, name) for name in self._fitted_attributes}
        fitted["n_features_in_"] = int(self.n_features_in_)
        return {"params": self.get_params(deep=False), "fitted": fitted}

    @classmethod
    def _from_state(cls, state: dict):
        name = cls.__name__
        check_keys(state, f"{name} state", ("params", "fitted"))
        # parameters added in later versions are absent from older files: all optional
        params = check_keys(state["params"], f"{name} params", (), cls._get_param_names())
        for key, value in params.items():
            if isinstance(value, np.ndarray) and key not in cls._array_params:
                raise state_error(f"{name} parameter {key}", "a number, text or None", value)
        obj = cls(**params)
        obj._check_loaded_params()
        fitted = state["fitted"]
        if fitted is None:  # an unfitted template
            return obj
        expected = (*cls._fitted_attributes, "n_features_in_")
        check_keys(fitted, f"{name} fitted attributes", expected)
        check_int(fitted["n_features_in_"], f"{name} n_features_in_", low=1)
        for key, value in fitted.items():
            setattr(obj, key, value)
        obj._after_load()
        return obj

    def _check_params(self) -> None:
        """Validate the constructor parameters; raises ValueError (override as needed)."""

    def _check_loaded_params(self) -> None:
        """The parameters of a model file: the seed a file can hold, then the family's own
        checks (:meth:`_check_params`)."""
        if "random_state" in self._get_param_names():
            check_seed(self.random_state, f"{type(self).__name__} random_state")
        self._check_params()

    def _after_load(self) -> None:
        """Check the fitted attributes and rebuild caches after loading (override as needed).

        The loader has checked ``n_features_in_`` (a positive integer) and the parameters.
        """


def check_fitted_density(value, name: str, n_features: int | None = None) -> Density:
    """A fitted bayesgen density (of ``n_features`` features), nested in a model file's state."""
    check_instance(value, name, Density, "a fitted bayesgen density")
    if not value._is_fitted():
        raise ValueError(
            f"{name} must be a fitted density; found an unfitted {type(value).__name__}"
        )
    if n_features is not None and value.n_features_in_ != n_features:
        raise ValueError(f"{name} must have {n_features} features; found {value.n_features_in_}")
    return value


class LocationScaleDensity(Density):
    """A density ``x = mean_ + colorize(z)``, ``z ~ N(0, I)``: the Gaussian families.

    Subclasses set ``mean_`` (d,) and ``covariance_`` (a :class:`~bayesgen.kernels.covariance.
    Covariance`); scoring, sampling (with float32 copies of the factor cast once), the mean,
    the dense covariance and the shape checks after loading are shared here.
    """

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        # X - mean_ is a fresh array: the kernel may use it as scratch
        return self.covariance_.log_pdf(X - self.mean_, overwrite=True)

    def mean(self) -> np.ndarray:
        """E[x], shape (n_features,)."""
        self._check_fitted()
        return self.mean_

    def covariance(self) -> np.ndarray:
        """The fitted covariance as a dense (d, d) matrix."""
        self._check_fitted()
        return self.covariance_.dense()

    def _check_mean_and_covariance(self, covariance_class: type) -> None:
        """After loading: ``covariance_`` is a ``covariance_class``, ``mean_`` a finite
        float vector of its width, and ``n_features_in_`` that width."""
        name = type(self).__name__
        what = f"a {covariance_class.__name__}"
        cov = check_instance(self.covariance_, f"{name} covariance_", covariance_class, what)
        d = cov.n_features
        self.mean_ = check_array(self.mean_, f"{name} mean_", shape=(d,), finite=True)
        if self.n_features_in_ != d:
            raise ValueError(
                f"{name} n_features_in_ must equal the covariance's {d} features; "
                f"found {self.n_features_in_}"
            )
        self._cast_cache = {}

    def _factor(self, dtype: np.dtype):
        """Mean and covariance in ``dtype``, cast once and cached."""
        if dtype == np.float64:
            return self.mean_, self.covariance_
        cache = self.__dict__.setdefault("_cast_cache", {})
        if dtype not in cache:
            cache[dtype] = (self.mean_.astype(dtype), self.covariance_.astype(dtype))
        return cache[dtype]

    def location_scale(self, dtype=np.float64):
        """``(mean, covariance)`` in ``dtype`` (see :meth:`Density.location_scale`)."""
        self._check_fitted()
        return self._factor(np.dtype(dtype))

    def latent_gaussian(self):
        """The density itself: the latent vector is ``x`` (see :meth:`Density.latent_gaussian`)."""
        from bayesgen.densities.latent import IdentityLatent

        self._check_fitted()
        return IdentityLatent(self.mean_, self.covariance_.dense())

    def condition(self, x, observed) -> Conditioned:
        """Gaussian conditional (Schur complement, or Woodbury for low rank); see
        :meth:`Density.condition` and :mod:`bayesgen.kernels.conditioning`."""
        piece = gaussian_conditional(self.mean_, self.covariance_, observed, x[observed])
        return Conditioned([0.0], [piece], observed, x.copy())

    def _sample(self, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        X = np.empty((n, self.n_features_in_), dtype=dtype)
        mean, covariance = self._factor(dtype)
        draw_location_scale(X, [(slice(0, n), mean, covariance, rng)])
        return X


def _quietly_fits_missing(density) -> bool:
    """:meth:`Density.fits_missing` for scikit-learn's tags (what ``fit`` takes), which are
    read before any parameter is checked: False when the parameters are invalid (fit says
    why)."""
    try:
        return bool(density.fits_missing())
    except (ValueError, TypeError):
        return False
