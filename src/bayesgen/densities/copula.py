"""Gaussian copula density: any marginals, Gaussian dependence.

Model (Sklar's theorem with a Gaussian copula).  With per-feature marginal CDFs ``F_j``,
densities ``f_j`` and normal scores ``s_j = Phi^{-1}(F_j(x_j))``::

    log p(x) = sum_j log f_j(x_j) + log c_R(s)
    log c_R(s) = -0.5 log|R| - 0.5 s^T R^{-1} s + 0.5 s^T s

where ``R`` is a correlation matrix (the covariance of the normal scores).  Sampling is the
tutorial's inverse-CDF idea made multivariate: ``s ~ N(0, R)``, ``u = Phi(s)``,
``x_j = F_j^{-1}(u_j)``.

The empirical marginals (point masses, lattices, categories, tails) are described in
:mod:`bayesgen.densities.marginals`.

Parametric marginals (``marginals="parametric"``) choose a scipy family per continuous
feature among :data:`bayesgen.univariate.MARGINAL_FAMILIES` with
:func:`bayesgen.univariate.fit_univariate` (by AIC); discrete-looking features and features
with point masses keep the empirical marginal.  A model file may name only those families,
each with exactly its parameters.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import special, stats
from scipy.special import logsumexp
from sklearn.base import clone

from bayesgen.base.errors import DataError, FitError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import check_array, check_indices, check_instance, check_keys
from bayesgen.densities.base import Density, check_fitted_density
from bayesgen.densities.marginals import EmpiricalMarginals
from bayesgen.kernels.censored import censored_correlation
from bayesgen.kernels.conditioning import (
    Conditioned,
    complete_rows,
    completed_scatter,
    gaussian_conditional,
    missing_layout,
    observed_log_pdf,
)
from bayesgen.kernels.covariance import LOG_2PI, FullCovariance
from bayesgen.kernels.score_moments import (
    ScoreMoments,
    as_correlation,
    cell_uniforms,
    correlation_shrinkage,
)
from bayesgen.kernels.streams import seed_sequence
from bayesgen.univariate import MARGINAL_FAMILIES, check_family_params, fit_univariate

__all__ = ["GaussianCopulaDensity", "EmpiricalMarginals"]

_NAME = "GaussianCopulaDensity"  # in messages about a model file's state

#: most features for which ``R`` is the exact maximum-likelihood estimate given the ties
#: and missing cells (a Gibbs sweep costs O(n d^2)); wider data (images) use the
#: first-order correction of :func:`_undo_tie_attenuation` and EM for missing cells
BOXED_MAX_FEATURES = 32
#: most rows the estimate uses (a correlation's standard error is then about 0.01)
BOXED_MAX_ROWS = 10_000
#: most rows a ``dependence`` density is fitted on (evenly spaced through the data): a
#: mixture on a table's normal scores has a few hundred parameters, and EM on rows with
#: missing cells costs a batched factorisation per row and component at every iteration
DEPENDENCE_MAX_ROWS = 20_000
#: makes the row-sampling keys of a two-pass fit differ from the ties' uniforms
_SAMPLE_SALT = 0x5A17


def _continuous_looking(x: np.ndarray) -> bool:
    u, c = np.unique(x, return_counts=True)
    return u.shape[0] > x.shape[0] // 2 and c.max() < 2 + x.shape[0] // 100


@persistable("GaussianCopulaDensity")
class GaussianCopulaDensity(Density):
    """Gaussian copula with empirical (or parametric) marginals; point masses reproduced.

    See the module docstring for the model, the marginals and how ties are handled.

    Parameters
    ----------
    marginals : {"empirical", "parametric"}, default="empirical"
        "empirical": smoothed histogram CDFs with point masses and exponential tails.
        "parametric": a scipy family per continuous feature chosen by AIC with
        :func:`bayesgen.univariate.fit_univariate`; other features stay empirical.
    n_bins : int, default=256
        Most bins per continuous feature (lattice features get one cell per level, up to
        ``4 n_bins`` levels).
    alpha : float, default=0.5
        Add-alpha smoothing of the counts of lattice features (one cell per level).
    shrinkage : float in [0, 1] or "auto", default=0.05
        Shrinks the correlation of normal scores towards the identity,
        ``(1 - lam) R + lam I``.  "auto" estimates ``lam`` from the data
        (:func:`~bayesgen.kernels.score_moments.correlation_shrinkage`: the Schafer-Strimmer
        intensity with the Gaussian variance of each correlation), large for a small class
        and vanishing for a large one: the best held-out likelihood for classes with fewer
        rows than columns, but it weakens strong dependence in classes of a few dozen rows,
        which cost over-sampling utility (benchmarks/README.md), so the default (and the
        ``"copula"`` shortcut's, a candidate of the default for tables) is the small fixed
        0.05, which keeps a class of a dozen rows proper.
    reg_covar : float, default=1e-6
        Ridge on the correlation diagonal (then rescaled to a unit diagonal).
    dependence : None or Density, default=None
        None: the Gaussian copula (a correlation matrix of the normal scores).  A density
        object (e.g. a :class:`~bayesgen.densities.MixtureOfFactorAnalysersDensity`) is
        fitted to the normal scores instead and gives the transformation model
        ``log p(x) = sum_j log f_j(x_j) + log g(s) - sum_j log phi(s_j)``: the marginals stay
        exact (on the training data) while the dependence can be non-Gaussian, e.g. several
        clusters.  With ``g = N(0, R)`` this is the Gaussian copula again.
    categories : dict of {int or str: int}, optional
        Features (indices, or their text form) that hold category codes ``0 .. K-1`` (a
        table's text columns, coded by :class:`bayesgen.tables.TableSchema`), with their
        ``K``.  Each category is one cell
        of the marginal, i.e. an interval of the latent normal score: the exact treatment
        of a discrete margin.  The latent order of the codes is the schema's category order,
        so dependence that is not monotone in that order is not captured.
    random_state : None, int or numpy.random.Generator
        Seeds the distributional transform of ties in the training rows and the draws
        of the correlation estimate (Notes).

    Notes
    -----
    **Ties and missing cells in the correlation.**  A tied cell (a category, an integer
    level, a point mass) says only that its normal score lies in the interval of its CDF
    jump, and a missing cell says nothing.  With at most ``BOXED_MAX_FEATURES`` features,
    ``R`` is the maximum-likelihood estimate given exactly that (the rectangle, i.e.
    polychoric/polyserial, likelihood; stochastic EM with Gibbs draws inside the intervals,
    :mod:`bayesgen.kernels.censored`), on at most ``BOXED_MAX_ROWS`` rows evenly spaced
    through the data, starting from the first-order estimate below.  Where a level holds
    only a few percent of the rows most of the information is missing and the chain
    converges slowly, so after its sweep budget the estimate can sit between the start and
    the maximum-likelihood value.
    Fits in two passes (:meth:`fit_dependence`) use the same estimator on a uniform
    sample of rows that does not depend on the chunks.  Wider data (images) use the
    correlation of distributionally transformed scores with a first-order correction for
    the ties (:func:`_undo_tie_attenuation`) and EM for the missing cells.

    **Missing cells** (NaN) are allowed in ``fit``, ``score_samples`` and conditioning,
    under the assumption that they are missing at random.  Each marginal is fitted to its
    observed values; the correlation of the normal scores is the maximum-likelihood
    estimate from incomplete rows (above; for wide data by EM on the scores: each row
    contributes its observed scores and the conditional mean and covariance of its missing
    ones, rows grouped by missing-value pattern).  The
    log-density of a row with missing cells is that of its observed cells, the missing ones
    marginalised exactly (the Gaussian copula's margin on the observed scores).  Samples
    are complete rows; a classifier adds missing cells at each class's observed rate.
    With a ``dependence`` density of the scores, rows with missing cells are fitted when
    that density fits them (:meth:`Density.fits_missing`): the mixtures do, by EM with the
    missing scores completed per component (:mod:`bayesgen.densities.mixture`, "Missing
    cells"), again assuming missing at random; other densities need complete rows.  The
    dependence density is fitted on at most ``DEPENDENCE_MAX_ROWS`` rows, evenly spaced
    through the data (the marginals on all of them).

    Attributes
    ----------
    marginals_ : EmpiricalMarginals
    parametric_ : dict
        ``{"features": int array, "families": str array, "params": float array}`` for
        features with a parametric marginal (empty arrays otherwise).
    correlation_ : FullCovariance or None
        Factored correlation matrix of the normal scores (None with a ``dependence``).
    dependence_ : Density or None
        The fitted density of the normal scores, when ``dependence`` is given.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen.densities import GaussianCopulaDensity
    >>> rng = np.random.default_rng(0)
    >>> X = np.maximum(rng.normal(-1.0, 1.0, size=(2000, 3)), 0.0)   # ~84% exact zeros
    >>> samples = GaussianCopulaDensity(random_state=0).fit(X).sample(4000, random_state=1)
    >>> bool(abs((samples == 0).mean() - (X == 0).mean()) < 0.03)
    True
    """

    _fitted_attributes = ("marginals_", "parametric_", "correlation_", "dependence_")

    def __init__(
        self,
        marginals="empirical",
        *,
        n_bins=256,
        alpha=0.5,
        shrinkage=0.05,
        reg_covar=1e-6,
        dependence=None,
        categories=None,
        random_state=None,
    ):
        self.categories = categories
        self.marginals = marginals
        self.n_bins = n_bins
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.reg_covar = reg_covar
        self.dependence = dependence
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.marginals not in ("empirical", "parametric"):
            raise ValueError(
                f"marginals must be 'empirical' or 'parametric'; got {self.marginals!r}"
            )
        nb = self.n_bins
        if isinstance(nb, bool) or not isinstance(nb, numbers.Integral) or nb < 2:
            raise ValueError(f"n_bins must be an integer >= 2; got {nb!r}")
        if not isinstance(self.alpha, numbers.Real) or not self.alpha >= 0:
            raise ValueError(f"alpha must be a non-negative number; got {self.alpha!r}")
        s = self.shrinkage
        if s != "auto" and (
            isinstance(s, bool) or not isinstance(s, numbers.Real) or not 0.0 <= s <= 1.0
        ):
            raise ValueError(f"shrinkage must be 'auto' or a number in [0, 1]; got {s!r}")
        if not isinstance(self.reg_covar, numbers.Real) or not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")
        self._category_levels()

    def _category_levels(self) -> dict[int, int]:
        if self.categories is None:
            return {}
        try:
            levels = {int(j): int(k) for j, k in dict(self.categories).items()}
        except (TypeError, ValueError):
            raise ValueError(
                f"categories must map feature indices to numbers of categories; got "
                f"{self.categories!r}"
            ) from None
        if any(k < 1 for k in levels.values()):
            raise ValueError(f"every categorical feature needs >= 1 category; got {levels}")
        return levels

    def accepts_missing(self) -> bool:
        """Missing cells (NaN) are marginalised (see Notes)."""
        return True

    def fits_missing(self) -> bool:
        """With a ``dependence`` density, whether that density is fitted with missing
        cells (:meth:`Density.fits_missing`; the mixtures are); scoring always is."""
        return self.dependence is None or self.dependence.fits_missing()

    # fitting -------------------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        self._check_params()
        n, d = X.shape
        if n < 2:
            raise FitError(f"a copula needs at least 2 rows; got n_samples={n}")
        levels = self._category_levels()
        self._check_observed(X, levels)
        rng = check_random_state(self.random_state)
        self.marginals_ = EmpiricalMarginals.fit(
            X, n_bins=self.n_bins, alpha=self.alpha, categories=levels
        )
        self.parametric_ = self._fit_parametric(X)
        self.n_features_in_ = d
        S, _ = self._scores(X, rng)
        self._mean_cache = None
        incomplete = bool(np.isnan(S).any())
        if self.dependence is not None:
            if not (hasattr(self.dependence, "fit") and hasattr(self.dependence, "sample")):
                raise ValueError(f"dependence must be a density object; got {self.dependence!r}")
            if incomplete and not self.dependence.fits_missing():
                raise FitError(
                    f"dependence={type(self.dependence).__name__} needs complete rows; these "
                    "rows have missing cells. Use a mixture dependence or the Gaussian copula "
                    "(dependence=None), which fit them"
                )
            self.correlation_ = None
            rows = _evenly_spaced(n, DEPENDENCE_MAX_ROWS)
            if np.isnan(S[rows]).all(axis=0).any():  # a nearly empty column: take every row
                rows = slice(None)
            self.dependence_ = clone(self.dependence).fit(S[rows])
            return
        self.dependence_ = None
        boxes = self._score_boxes(X, S) if d <= BOXED_MAX_FEATURES else None
        if boxes is not None:
            lo, hi, kept = boxes  # the chain starts from the first-order estimate
            initial = self._first_order(_second_moment(kept))
            R = censored_correlation(lo, hi, kept, rng, initial=initial)
            self.correlation_ = self._regularised_correlation(R, self._pairs_for_shrinkage(lo))
        else:
            self._set_correlation(_second_moment(S), self._pairs_for_shrinkage(S))

    def _score_boxes(self, X: np.ndarray, S: np.ndarray):
        """``(lo, hi, start)``: each training cell's interval of normal scores (a point for a
        continuous value, the CDF jump for a tied one, NaN if missing) and the
        distributional transform's scores inside them, on at most ``BOXED_MAX_ROWS`` rows
        (evenly spaced); None when every score is known exactly."""
        if not (np.isnan(S).any() or np.any(~np.isnan(self.marginals_.snap))):
            return None  # no point mass and no gap: every score is exact
        keep = _evenly_spaced(X.shape[0], BOXED_MAX_ROWS)
        X, S = X[keep], S[keep]
        lo, hi = self._boxes(X, S)
        if not (np.isnan(lo).any() or np.any(hi > lo)):
            return None
        return lo, hi, S

    def _boxes(self, X: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's interval of normal scores: ``lo == hi`` for an exact score, the CDF
        jump of a tied cell, NaN for a missing one."""
        lo = self.marginals_.transform(X, np.zeros(X.shape))[0]
        hi = self.marginals_.transform(X, np.ones(X.shape))[0]
        exact = self.parametric_["features"]  # continuous: their scores are points
        lo[:, exact] = hi[:, exact] = S[:, exact]
        return lo, hi

    def _first_order(self, moment: np.ndarray) -> np.ndarray:
        """The correlation of the scores with ties undone to first order
        (:func:`_undo_tie_attenuation`): the estimate for wide data, and where the exact
        estimate's chain starts."""
        return _undo_tie_attenuation(moment, self.marginals_.explained_variance())

    def _pairs_for_shrinkage(self, S: np.ndarray):
        """The rows behind each correlation of the scores ``S`` when ``shrinkage="auto"``
        needs them (:func:`_pair_counts`), else None: a fixed intensity needs no count."""
        return _pair_counts(S) if self.shrinkage == "auto" else None

    def _set_correlation(self, moment: np.ndarray, pairs) -> None:
        """``correlation_`` from the second moment of the scores: ties undone, regularised
        (``pairs``: the rows behind each entry)."""
        self.correlation_ = self._regularised_correlation(self._first_order(moment), pairs)

    def _check_observed(self, X: np.ndarray, levels: dict[int, int]) -> None:
        observed = np.sum(~np.isnan(X), axis=0)
        if np.any(observed == 0):
            j = int(np.flatnonzero(observed == 0)[0])
            raise FitError(
                f"feature {j} has no observed value in these {X.shape[0]} rows; a marginal "
                "needs at least one (drop the column, or fill some of its cells)"
            )
        for j, k in levels.items():
            x = X[:, j][~np.isnan(X[:, j])]
            if j >= X.shape[1] or np.any((x < 0) | (x >= k) | (x != np.round(x))):
                raise ValueError(
                    f"categorical feature {j} must hold codes 0..{k - 1}; found other values"
                )

    def _regularised_correlation(self, moment: np.ndarray, pairs) -> FullCovariance:
        """The correlation of the scores, shrunk towards I (``shrinkage``, estimated from
        ``R`` and the rows behind each entry, ``pairs``, for "auto"), with a ridge,
        factored once."""
        d = moment.shape[0]
        R = as_correlation(moment)
        shrinkage = self.shrinkage
        if shrinkage == "auto":
            shrinkage = correlation_shrinkage(R, pairs)
        R *= 1.0 - shrinkage
        R.flat[:: d + 1] = 1.0 + self.reg_covar
        R /= 1.0 + self.reg_covar
        try:
            return FullCovariance.from_matrix(R)
        except np.linalg.LinAlgError:
            raise FitError(
                f"the correlation of normal scores is singular (shrinkage={shrinkage:g}, "
                f"reg_covar={self.reg_covar:g}); increase shrinkage or reg_covar"
            ) from None

    def _fit_parametric(self, X: np.ndarray) -> dict:
        empty = _no_parametric()
        if self.marginals != "parametric":
            return empty
        features, families, params = [], [], []
        levels = self._category_levels()
        for j in range(X.shape[1]):
            x = X[:, j][~np.isnan(X[:, j])]
            if j in levels or not _continuous_looking(x):
                continue
            fit = fit_univariate(x, candidates=MARGINAL_FAMILIES, criterion="aic")
            features.append(j)
            families.append(fit.best)
            params.append(tuple(float(p) for p in fit[fit.best].params))
        if not features:
            return empty
        width = max(len(p) for p in params)
        table = np.full((len(params), width), np.nan)
        for i, p in enumerate(params):
            table[i, : len(p)] = p
        return {
            "features": np.asarray(features, dtype=np.int64),
            "families": np.asarray(families),
            "params": table,
        }

    # two passes over data bigger than memory ------------------------------------------
    def summary_kind(self) -> str | None:
        """``"columns"`` for empirical marginals and the Gaussian copula (see
        :meth:`Density.summary_kind`); None with parametric marginals or a ``dependence``
        density, which need the rows at once."""
        simple = self.marginals == "empirical" and self.dependence is None
        return "columns" if simple else None

    def fit_from_summaries(self, summaries, n_rows: int) -> GaussianCopulaDensity:
        """Pass 1: a new copula whose marginals are fitted from per-column summaries.

        The marginals are :meth:`EmpiricalMarginals.fit_weighted` of the summaries'
        points: the in-memory marginals exactly while every numeric column has at most
        the summaries' ``cap`` distinct values, within one grid bin beyond (see
        :mod:`bayesgen.kernels.column_summary`).  The correlation is the identity until
        :meth:`fit_dependence`.
        """
        if self.summary_kind() is None:
            raise FitError(
                "a copula with parametric marginals or a dependence density needs all rows "
                "at once; use GaussianCopulaDensity() (empirical marginals) or fit in memory"
            )
        self._check_params()
        columns = [summary.weighted() for summary in summaries]
        for j, column in enumerate(columns):
            if column.count == 0:
                raise FitError(
                    f"feature {j} has no observed value in these {n_rows} rows; a marginal "
                    "needs at least one (drop the column, or fill some of its cells)"
                )
        new = clone(self)
        new.marginals_ = EmpiricalMarginals.fit_weighted(
            columns,
            n_rows=n_rows,
            n_bins=self.n_bins,
            alpha=self.alpha,
            categories=self._category_levels(),
        )
        new.parametric_ = _no_parametric()
        new.n_features_in_ = d = len(columns)
        new.dependence_ = None
        new.correlation_ = FullCovariance.from_matrix(np.eye(d))
        new._mean_cache = None
        new._jitter_key = int(seed_sequence(self.random_state).generate_state(1, np.uint64)[0])
        new._summary_rows = int(n_rows)  # sizes the row sample of :meth:`score_moments`
        return new

    def score_moments(self, X, rows) -> ScoreMoments:
        """Pass 2 on a chunk: pairwise-complete moments of its normal scores and, for at
        most ``BOXED_MAX_FEATURES`` features, a uniform sample of its rows' score intervals
        (see :mod:`bayesgen.kernels.score_moments`).

        A tied cell's CDF value is drawn within its point mass from a uniform that depends
        on (``random_state``, row, feature) only, so the moments do not depend on the
        chunks.
        """
        self._check_fitted()
        X = self._validate_input(X, reset=False)
        rows = np.asarray(rows, dtype=np.int64)
        if rows.shape != (X.shape[0],):
            raise ValueError(f"rows must number the {X.shape[0]} rows; got shape {rows.shape}")
        uniforms = cell_uniforms(self._jitter_key, rows, X.shape[1])
        S = self.marginals_.transform(X, uniforms)[0]
        if X.shape[1] > BOXED_MAX_FEATURES:
            return ScoreMoments.of(S)
        # a uniform sample of about BOXED_MAX_ROWS of the class's rows for the exact
        # estimator: a row is in it when the hash of its number is small enough
        share = BOXED_MAX_ROWS / max(getattr(self, "_summary_rows", 1), 1)
        keys = cell_uniforms(self._jitter_key ^ _SAMPLE_SALT, rows, 1)[:, 0]
        take = np.flatnonzero(keys < share)
        lo, hi = self._boxes(X[take], S[take])
        return ScoreMoments.of(S, sample=(rows[take], lo, hi, S[take]))

    def fit_dependence(self, moments: ScoreMoments) -> GaussianCopulaDensity:
        """Pass 2 finished: the correlation from the merged moments, shrunk and
        regularised as in :meth:`fit`; returns self.

        With at most ``BOXED_MAX_FEATURES`` features it is the same estimate as
        :meth:`fit`'s, on the moments' uniform sample of about ``BOXED_MAX_ROWS`` rows;
        wider data get the moments' correlation with ties undone to first order.
        """
        sample = moments.sample
        if sample is not None and (np.isnan(sample[1]).any() or np.any(sample[2] > sample[1])):
            order = np.argsort(sample[0], kind="stable")  # the file's order, whatever merged
            lo, hi, start = (part[order] for part in sample[1:])
            rng = np.random.default_rng(self._jitter_key)
            initial = self._first_order(moments.correlation())
            R = censored_correlation(lo, hi, start, rng, initial=initial)
            self.correlation_ = self._regularised_correlation(R, moments.pairs)
            return self
        self._set_correlation(moments.correlation(), moments.pairs)
        return self

    def _frozen(self, i: int):
        name = str(self.parametric_["families"][i])
        row = self.parametric_["params"][i]
        return getattr(stats, name)(*row[~np.isnan(row)])

    def _scores(self, X: np.ndarray, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Normal scores (n, d) and summed marginal log-densities (n,)."""
        features = self.parametric_["features"]
        S, log_f = self.marginals_.transform(X, rng, skip=features)
        for i, j in enumerate(features):
            dist = self._frozen(i)
            x = X[:, j]
            log_F, log_S = dist.logcdf(x), dist.logsf(x)
            S[:, j] = np.where(
                log_F <= log_S,
                special.ndtri_exp(np.minimum(log_F, 0.0)),
                -special.ndtri_exp(np.minimum(log_S, 0.0)),
            )
            log_f = log_f + np.where(np.isnan(x), 0.0, dist.logpdf(x))
        return S, log_f

    # kernels -------------------------------------------------------------------------
    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        S, log_f = self._scores(X)
        if self.dependence_ is not None:
            return log_f + self._dependence_log_ratio(X, S, log_f)
        corr = self.correlation_
        if np.isnan(S).any():
            return log_f + _incomplete_log_copula(corr.dense(), S)
        return (
            log_f - 0.5 * (corr.log_det + corr.mahalanobis(S)) + 0.5 * np.einsum("ij,ij->i", S, S)
        )

    def _dependence_log_ratio(self, X: np.ndarray, S: np.ndarray, log_f: np.ndarray):
        """``log g(s_o) - sum_o log phi(s_j)`` of each row's observed scores ``s_o``: the
        copula's term with a ``dependence`` density ``g`` (``log_f``: the rows' marginal
        terms).  Rows with missing cells take the marginal density of their observed
        scores: from the dependence itself when it takes missing cells
        (:meth:`Density.accepts_missing`; exact for a Gaussian mixture), otherwise from
        :meth:`condition`, row by row."""
        log_phi = _sum_log_phi(S)
        complete = ~np.isnan(S).any(axis=1)
        if complete.all() or self.dependence_.accepts_missing():
            return self.dependence_._score_samples(S) - log_phi
        out = np.empty(S.shape[0])
        out[complete] = self.dependence_._score_samples(S[complete]) - log_phi[complete]
        for i in np.flatnonzero(~complete):  # log p(x_o) less the marginal terms
            out[i] = self.condition(X[i], ~np.isnan(S[i])).log_marginal - log_f[i]
        return out

    def normal_scores(self, X) -> np.ndarray:
        """``Phi^{-1}(F_j(x_j))`` of each cell (cell centres for point masses), shape (n, d)."""
        self._check_fitted()
        X = self._validate_input(X, reset=False)
        return self._scores(X)[0]

    def _sample(self, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        if self.dependence_ is not None:
            S = self.dependence_._sample(n, rng, np.dtype(np.float64))
        else:
            S = self.correlation_.colorize(rng.standard_normal((n, self.n_features_in_)))
        X = self.marginals_.inverse(S)
        for i, j in enumerate(self.parametric_["features"]):
            X[:, j] = self._frozen(i).ppf(special.ndtr(S[:, j]))
        return X.astype(dtype, copy=False)

    def latent_gaussian(self):
        """The normal scores mapped through the empirical marginals (see
        :meth:`Density.latent_gaussian`): ``N(0, R)``, or the ``dependence`` density's
        Gaussian (mixture) latent when it has one (a Gaussian or a mixture); not for
        parametric marginals."""
        from bayesgen.densities.latent import CopulaLatent, IdentityLatent, not_latent_gaussian

        self._check_fitted()
        if self.parametric_["features"].size:
            raise not_latent_gaussian(self)
        if self.dependence_ is None:
            return CopulaLatent(self.correlation_.dense(), self.marginals_)
        try:
            inner = self.dependence_.latent_gaussian()
        except DataError:
            raise not_latent_gaussian(self) from None
        if not isinstance(inner, IdentityLatent):  # a map of its own: not the scores
            raise not_latent_gaussian(self)
        return CopulaLatent(
            inner.covariance, self.marginals_, components=inner.components(), mean=inner.mean
        )

    def condition(self, x, observed) -> Conditioned:
        """Conditioned on the normal scores of the observed features (cell centres for
        point masses), mapped back through the marginals (see :meth:`Density.condition`).

        ``log p(x_o) = sum_o log f_j(x_j) + log N(s_o | 0, R_oo) - sum_o log phi(s_j)``.
        """
        s = self._scores(x[None, :])[0][0]
        o = np.flatnonzero(observed)
        extra = self._observed_log_f(x, observed) + 0.5 * float(s[o] @ s[o])
        extra += 0.5 * o.size * LOG_2PI
        if self.dependence_ is not None:  # any density of the scores
            inner = self.dependence_.condition(s, observed)
            log_weights, pieces = inner.log_weights, inner.pieces
            extra += inner.log_marginal - float(
                logsumexp(inner.log_weights + np.array([p.log_marginal for p in inner.pieces]))
            )
            inner_to_x = inner.to_x
        else:
            log_weights = [0.0]
            zero = np.zeros(s.shape[0])
            pieces = [gaussian_conditional(zero, self.correlation_, observed, s[o])]
            inner_to_x = None

        def to_x(rows):
            if inner_to_x is not None:
                rows = inner_to_x(rows)
            out = self.marginals_.inverse(rows)
            for i, j in enumerate(self.parametric_["features"]):
                out[:, j] = self._frozen(i).ppf(special.ndtr(rows[:, j]))
            return out

        return Conditioned(log_weights, pieces, observed, s.copy(), to_x=to_x, log_extra=extra)

    def _observed_log_f(self, x, observed) -> float:
        """``sum_o log f_j(x_j)``: the marginal log-densities of the observed features."""
        skip = np.flatnonzero(~observed)
        parametric = self.parametric_["features"]
        _, log_f = self.marginals_.transform(
            x[None, :], None, skip=np.union1d(skip, parametric).astype(int)
        )
        total = float(log_f[0])
        for i, j in enumerate(parametric):
            if observed[j]:
                total += float(self._frozen(i).logpdf(x[j]))
        return total

    def mean(self) -> np.ndarray:
        """E[x]: exact for empirical marginals (the copula does not change the marginals).

        With a ``dependence`` density the marginals of the scores need not be standard
        normal, so the mean is estimated from 20,000 samples drawn with a fixed seed.
        """
        self._check_fitted()
        if self._mean_cache is None and self.dependence_ is not None:
            self._mean_cache = self._sample(
                20_000, np.random.default_rng(0), np.dtype(np.float64)
            ).mean(0)
        if self._mean_cache is None:
            out = self.marginals_.means()
            for i, j in enumerate(self.parametric_["features"]):
                out[j] = self._frozen(i).mean()
            self._mean_cache = out
        return self._mean_cache

    def n_parameters(self) -> int:
        """Marginal bin masses plus the d(d-1)/2 correlations (or the dependence density's)."""
        self._check_fitted()
        d = self.n_features_in_
        if self.dependence_ is not None:
            return int(self.marginals_.n_parameters() + self.dependence_.n_parameters())
        return int(self.marginals_.n_parameters() + d * (d - 1) // 2)

    # persistence ---------------------------------------------------------------------
    def _get_state(self) -> dict:
        if not self._is_fitted():
            return self._unfitted_state()
        state = super()._get_state()
        state["fitted"]["marginals_"] = self.marginals_.state()
        state["params"]["dependence"] = None  # rebuilt from the fitted dependence_
        return state

    def _check_loaded_params(self) -> None:
        if self.dependence is not None:
            what = "a bayesgen density or None"
            check_instance(self.dependence, f"{_NAME} dependence", Density, what)
        super()._check_loaded_params()

    def _after_load(self) -> None:
        d = self.n_features_in_
        self.marginals_ = EmpiricalMarginals.from_state(self.marginals_, f"{_NAME} marginals_")
        if self.marginals_.n_features != d:
            raise ValueError(
                f"{_NAME} marginals_ must describe {d} features; found {self.marginals_.n_features}"
            )
        outside = [j for j in self._category_levels() if not 0 <= j < d]
        if outside:
            raise ValueError(
                f"{_NAME} categories must name features in [0, {d}); found {outside[0]}"
            )
        self.parametric_ = _checked_parametric(self.parametric_, d)
        self._check_dependence(d)
        self._mean_cache = None

    def _check_dependence(self, d: int) -> None:
        """Exactly one of ``correlation_`` (a correlation of ``d`` features) and
        ``dependence_`` (a fitted density of ``d`` features)."""
        if self.dependence_ is not None:
            check_fitted_density(self.dependence_, f"{_NAME} dependence_", d)
            if self.correlation_ is not None:
                raise ValueError(
                    f"{_NAME} holds either a correlation_ or a dependence_ density; found both"
                )
            self.dependence = clone(self.dependence_)
            return
        what = "a FullCovariance (or a dependence_ density)"
        corr = check_instance(self.correlation_, f"{_NAME} correlation_", FullCovariance, what)
        if corr.n_features != d:
            raise ValueError(
                f"{_NAME} correlation_ must have {d} features; found {corr.n_features}"
            )
        if not np.allclose(corr.variances(), 1.0, rtol=0, atol=1e-6):
            raise ValueError(f"{_NAME} correlation_ must have a unit diagonal")


def _checked_parametric(state, d: int) -> dict:
    """The parametric marginals of a model file: distinct features in ``[0, d)``, each
    with a family of :data:`~bayesgen.univariate.MARGINAL_FAMILIES` and exactly its
    parameters (the rows of ``params`` are padded with NaN to the widest family)."""
    where = f"{_NAME} parametric_"
    check_keys(state, where, ("features", "families", "params"))
    features = check_indices(state["features"], f"{where} features", d)
    m = features.shape[0]
    families = check_array(state["families"], f"{where} families", kind="U", shape=(m,))
    params = check_array(state["params"], f"{where} params", shape=(m, None))
    for i in range(m):
        row = params[i]
        n = int(np.count_nonzero(~np.isnan(row)))
        if np.isnan(row[:n]).any():
            raise ValueError(
                f"{where} params row {i} must list its parameters before the NaN padding"
            )
        check_family_params(str(families[i]), row[:n], f"{where} feature {features[i]}")
    return {"features": features, "families": families, "params": params}


def _evenly_spaced(n: int, most: int) -> np.ndarray | slice:
    """At most ``most`` of ``n`` rows, evenly spaced (all of them when ``n <= most``)."""
    if n <= most:
        return slice(None)
    return np.linspace(0, n - 1, most).round().astype(np.intp)


def _pair_counts(S: np.ndarray):
    """Rows behind each correlation (NaN = missing): the row count when none is missing,
    else the matrix of rows where both features are observed."""
    missing = np.isnan(S)
    if not missing.any():
        return float(S.shape[0])
    observed = (~missing).astype(float)
    return observed.T @ observed


def _second_moment(S: np.ndarray) -> np.ndarray:
    """``E[s s^T]`` of the scores: by EM when some are missing (:func:`_em_second_moment`)."""
    if np.isnan(S).any():
        return _em_second_moment(S)
    return (S.T @ S) / S.shape[0]


def _em_second_moment(S: np.ndarray, *, max_iter: int = 100, tol: float = 1e-6) -> np.ndarray:
    """``E[s s^T]`` of standard-normal scores with missing entries (NaN), by EM.

    Model ``s ~ N(0, R)`` with unit diagonal, missing at random.  E-step, per missing-value
    pattern with observed ``o`` and missing ``m``: ``E[s_m | s_o] = R_mo R_oo^{-1} s_o`` and
    ``Cov[s_m | s_o] = R_mm - R_mo R_oo^{-1} R_om``
    (:func:`~bayesgen.kernels.conditioning.complete_rows`); M-step: ``R = mean E[s s^T]``,
    rescaled to a correlation.  Starts from the pairwise-complete correlation (made positive
    definite); stops when no entry moves by more than ``tol``.  With fewer rows than
    features the moment is singular, and the E-step needs an invertible ``R``: each new
    ``R`` is pulled towards the identity just enough to be positive definite (the fitted
    correlation is regularised afterwards anyway).
    """
    n, d = S.shape
    origin, ones, layout = np.zeros(d), np.ones(n), missing_layout(np.isnan(S))
    R = ScoreMoments.of(S).correlation()
    for _ in range(max_iter):
        moment = completed_scatter(complete_rows(origin, R, S, layout), ones, origin) / n
        new = _invertible(as_correlation(moment))
        done = np.max(np.abs(new - R)) < tol
        R = new
        if done:
            break
    return R


def _invertible(R: np.ndarray) -> np.ndarray:
    """``R``, or ``(1 - t) R + t I`` with the smallest ``t`` of a short ladder that makes it
    safely positive definite (a correlation of fewer rows than features is singular): its
    Cholesky factor exists and no pivot is below ``1e-4`` (no conditional variance of a
    score given the others below ``1e-8``)."""
    for t in (0.0, 1e-6, 1e-4, 1e-2, 0.1, 0.5):
        candidate = R if t == 0.0 else (1.0 - t) * R + t * np.eye(R.shape[0])
        try:
            if np.diag(np.linalg.cholesky(candidate)).min() > 1e-4:
                return candidate
        except np.linalg.LinAlgError:
            continue
    return np.eye(R.shape[0])


def _no_parametric() -> dict:
    """``parametric_`` of a copula whose marginals are all empirical."""
    return {
        "features": np.zeros(0, dtype=np.int64),
        "families": np.zeros(0, dtype="<U1"),
        "params": np.zeros((0, 0)),
    }


def _sum_log_phi(S: np.ndarray) -> np.ndarray:
    """``sum_o log phi(s_j)`` over each row's observed scores (NaN = missing)."""
    So = np.nan_to_num(S, nan=0.0)
    observed = (~np.isnan(S)).sum(axis=1)
    return -0.5 * np.einsum("ij,ij->i", So, So) - 0.5 * observed * LOG_2PI


def _incomplete_log_copula(R: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``log c(s_o)`` per row: the Gaussian copula density of the observed scores only
    (NaN = missing), ``log N(s_o | 0, R_oo) - sum_o log phi(s_j)``: the margin of a
    Gaussian copula is the copula of ``R_oo``; one factorisation per missing-value pattern
    (:func:`~bayesgen.kernels.conditioning.observed_log_pdf`)."""
    return observed_log_pdf(np.zeros(S.shape[1]), R, S) - _sum_log_phi(S)


def _undo_tie_attenuation(moment: np.ndarray, explained: np.ndarray) -> np.ndarray:
    """Correlations of the latent scores from those of the distributionally transformed ones.

    A score drawn uniformly within its point mass's cell is ``g + e``, ``g = E[z | x]`` and
    ``e`` independent noise, so a correlation involving such features is attenuated: to
    first order ``Cov(g_i, g_j) = rho_ij v_i v_j`` with ``v = Var(g)``
    (:meth:`EmpiricalMarginals.explained_variance`; the classical correction for grouping,
    exact when one of the two features is continuous).  Off-diagonal entries are divided by
    ``v_i v_j``; the result is pulled towards the identity until positive definite.
    """
    if np.all(explained >= 1.0):
        return moment
    R = as_correlation(moment)
    corrected = R / explained[:, None] / explained[None, :]
    np.fill_diagonal(corrected, 1.0)
    corrected = np.clip(corrected, -0.999, 0.999)
    np.fill_diagonal(corrected, 1.0)
    for weight in (1.0, 0.9, 0.75, 0.5, 0.25, 0.0):
        candidate = weight * corrected + (1.0 - weight) * R
        if np.linalg.eigvalsh(candidate)[0] > 1e-6:
            return candidate
    return R  # pragma: no cover - R itself is a correlation (weight 0)
