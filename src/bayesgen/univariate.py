"""One-dimensional distributions: inverse-transform sampling and model choice.

This is the first section of the tutorial.  A latent variable ``z`` is drawn uniformly on
the open unit interval and pushed through the quantile function (the inverse CDF, scipy's
``ppf``) of the target distribution: ``x = F^{-1}(z)`` then has distribution ``F``.  With a
Gaussian ``F`` this turns uniform noise into Gaussian samples.

:func:`fit_univariate` is the companion check of the Gaussian assumption: it fits a list of
credible scipy families by maximum likelihood and ranks them by AIC or BIC, so a user can see
in one call whether the normal distribution is good enough or another family fits better.

Examples
--------
>>> from scipy import stats
>>> sampler = InverseTransformSampler(stats.norm(200, 40))
>>> z, x = sampler.sample(5, random_state=0, return_latent=True)
>>> bool(((0 < z) & (z < 1)).all())
True
>>> round(float(sampler.ppf(0.5)))
200
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from bayesgen.base.errors import DataError, FitError
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import state_error
from bayesgen.base.suggest import close_matches

__all__ = [
    "DEFAULT_CANDIDATES",
    "DEFAULT_FIT_KWARGS",
    "MARGINAL_FAMILIES",
    "CandidateFit",
    "InverseTransformSampler",
    "UnivariateFit",
    "check_family_params",
    "continuous_family_names",
    "fit_univariate",
    "tutorial_sanity_checks",
]

#: Families tried by :func:`fit_univariate` when ``candidates`` is not given: symmetric
#: (norm, t, logistic, laplace, uniform), right-skewed (lognorm, gamma, expon, weibull_min,
#: gumbel_r), flexible skew (skewnorm) and bounded on (0, 1) (beta).
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "norm",
    "lognorm",
    "gamma",
    "t",
    "logistic",
    "laplace",
    "expon",
    "beta",
    "weibull_min",
    "gumbel_r",
    "skewnorm",
    "uniform",
)

#: Keyword arguments passed to ``family.fit`` by default.  ``beta`` is fitted as the standard
#: beta distribution on (0, 1) (location and scale held fixed), so it is skipped for data
#: outside (0, 1); pass ``fit_kwargs={"beta": {}}`` to free its location and scale.
DEFAULT_FIT_KWARGS: Mapping[str, Mapping[str, Any]] = {"beta": {"floc": 0.0, "fscale": 1.0}}

#: Families the copula's parametric marginals are chosen from (by AIC), and the only ones a
#: model file may name for them (:func:`check_family_params`): each has a fast quantile
#: function, so sampling a loaded model costs what sampling the fitted one did.
MARGINAL_FAMILIES: tuple[str, ...] = (
    "norm",
    "t",
    "logistic",
    "laplace",
    "lognorm",
    "gamma",
    "skewnorm",
)

# Resolution of the latent uniform: z takes the values (k + 1/2) / 2**52, k = 0 .. 2**52 - 1.
_LATENT_BITS = 52


# --------------------------------------------------------------------------------------
# scipy family look-up
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _family_table() -> tuple[dict[str, stats.rv_continuous], frozenset[str]]:
    continuous: dict[str, stats.rv_continuous] = {}
    discrete: set[str] = set()
    for attr in dir(stats):
        if attr.startswith("_"):
            continue
        obj = getattr(stats, attr, None)
        if isinstance(obj, stats.rv_continuous):
            continuous[attr] = obj
        elif isinstance(obj, stats.rv_discrete):
            discrete.add(attr)
    return continuous, frozenset(discrete)


def continuous_family_names() -> list[str]:
    """Names of the continuous distribution families in :mod:`scipy.stats`.

    Returns
    -------
    list of str
        Sorted names such as ``"norm"``, ``"gamma"``, ``"lognorm"``.
    """
    return sorted(_family_table()[0])


def _lookup_family(name: str) -> stats.rv_continuous:
    """Return the scipy continuous family called ``name`` or raise a helpful ValueError."""
    if not isinstance(name, str):
        raise TypeError(
            f"a distribution family name must be a str; got {type(name).__name__}. "
            "Pass e.g. 'norm' or scipy.stats.norm."
        )
    continuous, discrete = _family_table()
    family = continuous.get(name)
    if family is not None:
        return family
    if name in discrete:
        raise ValueError(
            f"{name!r} is a discrete scipy.stats distribution; only continuous families "
            "are supported here. Pass a continuous family such as 'norm' or 'gamma'."
        )
    suggestions = close_matches(name, continuous, n=5)
    hint = (
        f" Did you mean {', '.join(repr(s) for s in suggestions)}?"
        if suggestions
        else " See bayesgen.univariate.continuous_family_names() for the full list."
    )
    raise ValueError(
        f"unknown continuous distribution family {name!r}: scipy.stats has no continuous "
        f"distribution of that name.{hint}"
    )


def _family_signature(family: stats.rv_continuous) -> str:
    shapes = [s.strip() for s in family.shapes.split(",")] if family.shapes else []
    return f"{family.name}({', '.join([*shapes, 'loc=0', 'scale=1'])})"


def check_family_params(name, params, where: str, allowed=MARGINAL_FAMILIES):
    """A fitted family read from a model file: its name and exactly its parameters.

    Parameters
    ----------
    name : object
        Must be one of ``allowed``.
    params : ndarray of shape (n_shapes + 2,)
        The shape parameters, then loc and scale (what ``family.fit`` returns): finite,
        with a positive scale, inside the family's domain.
    where : str
        The field, for the message.
    allowed : tuple of str, default=MARGINAL_FAMILIES

    Returns
    -------
    frozen scipy distribution

    Raises
    ------
    ValueError
        Naming ``where``, what was expected and what was found.
    """
    if not isinstance(name, str) or name not in allowed:
        raise state_error(f"{where} family", f"one of {list(allowed)}", name)
    family = _lookup_family(name)
    values = np.asarray(params, dtype=np.float64)
    n = family.numargs + 2
    if values.shape != (n,):
        raise ValueError(
            f"{where}: {_family_signature(family)} takes exactly {n} parameters; "
            f"found {values.size}"
        )
    if not np.isfinite(values).all() or values[-1] <= 0:
        raise ValueError(
            f"{where}: the parameters of {name} must be finite with a positive scale; "
            f"found {values.tolist()}"
        )
    frozen = family(*values)
    with np.errstate(all="ignore"):
        median = float(frozen.ppf(0.5))
    if not math.isfinite(median):
        raise ValueError(
            f"{where}: the parameters {values.tolist()} are outside the domain of "
            f"{_family_signature(family)}"
        )
    return frozen


def _shape_names(family: stats.rv_continuous) -> list[str]:
    return [s.strip() for s in family.shapes.split(",")] if family.shapes else []


def _as_family(candidate: Any) -> stats.rv_continuous:
    """Turn a name or a scipy continuous family into the family object."""
    if isinstance(candidate, str):
        return _lookup_family(candidate)
    if isinstance(candidate, stats.rv_continuous):
        return candidate
    if isinstance(candidate, stats.rv_discrete):
        raise TypeError(
            f"candidate {candidate.name!r} is a discrete distribution; fit_univariate "
            "needs continuous families such as 'norm' or scipy.stats.gamma."
        )
    if _is_frozen(candidate):
        raise TypeError(
            f"candidate {candidate.dist.name}(...) is a frozen distribution with fixed "
            f"parameters; pass the family itself (scipy.stats.{candidate.dist.name} or the "
            f"name {candidate.dist.name!r}) so its parameters can be fitted."
        )
    raise TypeError(
        "candidates must be scipy.stats continuous family names or family objects; got "
        f"{type(candidate).__name__}. Pass e.g. ('norm', 'gamma') or (scipy.stats.norm,)."
    )


def _is_frozen(obj: Any) -> bool:
    return hasattr(obj, "dist") and hasattr(obj, "args") and hasattr(obj, "kwds")


# --------------------------------------------------------------------------------------
# Inverse-transform sampling
# --------------------------------------------------------------------------------------


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be a non-negative int; got {type(n).__name__} ({n!r}).")
    if int(n) < 0:
        raise ValueError(f"n must be a non-negative int; got {int(n)}. Pass n >= 0.")
    return int(n)


def _open_unit_uniform(rng: Any, n: int) -> np.ndarray:
    """Draw ``n`` uniform numbers strictly inside (0, 1).

    ``Generator.random`` returns values in [0, 1), and ``ppf(0)`` is ``-inf`` for
    distributions with unbounded support.  Instead the draws are the midpoints
    ``(k + 1/2) / 2**52`` with ``k`` uniform on ``0 .. 2**52 - 1``: every value is exactly
    representable, the set is symmetric about 1/2, and the extremes are ``2**-53`` and
    ``1 - 2**-53``, so neither 0 nor 1 can occur.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int

    Returns
    -------
    z : ndarray of shape (n,), float64
    """
    k = rng.integers(0, 2**_LATENT_BITS, size=n, dtype=np.int64)
    return (k.astype(np.float64) + 0.5) * (2.0**-_LATENT_BITS)


class InverseTransformSampler:
    """Sample a 1-D continuous distribution by pushing uniform noise through its ppf.

    Draw a latent ``z ~ U(0, 1)`` and return ``x = dist.ppf(z)``; ``x`` has the distribution
    of ``dist`` because ``P(ppf(z) <= t) = P(z <= cdf(t)) = cdf(t)``.

    Parameters
    ----------
    dist : frozen scipy.stats continuous distribution
        For example ``scipy.stats.norm(200, 40)``.  The parameters must be scalars inside
        the family's domain (e.g. a positive scale).

    Raises
    ------
    TypeError
        If ``dist`` is a family that was not frozen with parameters, a discrete
        distribution, or not a scipy distribution at all.
    ValueError
        If the frozen parameters are invalid or not scalar.

    See Also
    --------
    InverseTransformSampler.from_name : build from a family name and parameters.
    """

    def __init__(self, dist: Any) -> None:
        if isinstance(dist, stats.rv_continuous):
            raise TypeError(
                f"dist is the unfrozen family scipy.stats.{dist.name}; freeze it with its "
                f"parameters first, e.g. scipy.stats.{dist.name}(...) with signature "
                f"{_family_signature(dist)}, or use "
                f"InverseTransformSampler.from_name({dist.name!r}, ...)."
            )
        if isinstance(dist, stats.rv_discrete) or (
            _is_frozen(dist) and isinstance(dist.dist, stats.rv_discrete)
        ):
            name = dist.name if isinstance(dist, stats.rv_discrete) else dist.dist.name
            raise TypeError(
                f"dist is the discrete distribution {name!r}; inverse-transform sampling "
                "here needs a frozen continuous distribution such as scipy.stats.norm(0, 1)."
            )
        if not (_is_frozen(dist) and isinstance(dist.dist, stats.rv_continuous)):
            raise TypeError(
                "dist must be a frozen scipy.stats continuous distribution such as "
                f"scipy.stats.norm(200, 40); got {type(dist).__name__}."
            )
        with np.errstate(all="ignore"):
            median = np.asarray(dist.ppf(0.5))
            lo, hi = (np.asarray(b) for b in dist.support())
        if median.ndim != 0 or lo.ndim != 0:
            raise ValueError(
                f"dist {dist.dist.name} was frozen with array parameters (batch shape "
                f"{median.shape}); InverseTransformSampler needs scalar parameters. Build "
                "one sampler per parameter set."
            )
        if not (np.isfinite(median) and not np.isnan(lo) and not np.isnan(hi)):
            raise ValueError(
                f"the parameters {_describe_params(dist)} are outside the domain of "
                f"{dist.dist.name} (its ppf is nan); the signature is "
                f"{_family_signature(dist.dist)} and the scale must be positive."
            )
        self._dist = dist

    @classmethod
    def from_name(cls, name: str, *params: float, **kwds: float) -> InverseTransformSampler:
        """Build a sampler from a scipy family name and its parameters.

        Parameters
        ----------
        name : str
            Name of a continuous family in :mod:`scipy.stats`, e.g. ``"norm"``.
        *params : float
            Shape parameters (if the family has any), then optionally ``loc`` and ``scale``,
            in scipy's order: ``from_name("norm", 200, 40)`` is ``norm(loc=200, scale=40)``.
        **kwds : float
            Parameters by name, e.g. ``loc=200, scale=40``.

        Returns
        -------
        InverseTransformSampler

        Raises
        ------
        ValueError
            Unknown or discrete family (the message lists close matches), wrong number of
            parameters, or parameters outside the family's domain.
        """
        family = _lookup_family(name)
        n_shapes = family.numargs
        n_given = len(params) + len(kwds)
        max_params = n_shapes + 2
        if len(params) > max_params or n_given < n_shapes:
            raise ValueError(
                f"{name} takes {n_shapes} shape parameter(s) then optional loc and scale "
                f"(between {n_shapes} and {max_params} values): {_family_signature(family)}; "
                f"got {n_given} value(s)."
            )
        try:
            frozen = family(*params, **kwds)
        except TypeError as exc:
            raise ValueError(
                f"invalid parameters for {name}: {exc}. The signature is "
                f"{_family_signature(family)}."
            ) from None
        return cls(frozen)

    # -- passthroughs ----------------------------------------------------------------

    @property
    def dist(self) -> Any:
        """The frozen scipy distribution being sampled."""
        return self._dist

    @property
    def name(self) -> str:
        """Name of the scipy family, e.g. ``"norm"``."""
        return self._dist.dist.name

    def ppf(self, q: Any) -> np.ndarray:
        """Quantile function (inverse CDF) of the distribution.

        Parameters
        ----------
        q : float or array_like of shape (...)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (...)
        """
        return np.asarray(self._dist.ppf(q), dtype=np.float64)

    def cdf(self, x: Any) -> np.ndarray:
        """Cumulative distribution function of the distribution.

        Parameters
        ----------
        x : float or array_like of shape (...)

        Returns
        -------
        ndarray of shape (...)
        """
        return np.asarray(self._dist.cdf(x), dtype=np.float64)

    def support(self) -> tuple[float, float]:
        """Lower and upper end of the distribution's support."""
        lo, hi = self._dist.support()
        return float(lo), float(hi)

    # -- sampling --------------------------------------------------------------------

    def sample(
        self, n: int, random_state: Any = None, return_latent: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` samples by inverse-transform sampling.

        The latent ``z`` is uniform on the open interval (0, 1): it is drawn as
        ``(k + 1/2) / 2**52`` with ``k`` a uniform integer, so it is never exactly 0 or 1
        (where ``ppf`` would be infinite for unbounded distributions).  Its resolution,
        2**-52, is that of a float64 near 1.

        Parameters
        ----------
        n : int
            Number of samples, ``n >= 0``; ``n = 0`` gives empty arrays.
        random_state : None, int or numpy.random.Generator, optional
            Source of randomness; the same seed gives the same output.
        return_latent : bool, default False
            Also return the latent uniforms.

        Returns
        -------
        x : ndarray of shape (n,), float64
            The samples, ``x = dist.ppf(z)``.
        (z, x) : tuple of two ndarrays of shape (n,)
            When ``return_latent`` is true: the latent uniforms in (0, 1) and the samples.
        """
        n = _check_n(n)
        rng = check_random_state(random_state)
        z = _open_unit_uniform(rng, n)
        x = self.ppf(z)
        if return_latent:
            return z, x
        return x

    def __repr__(self) -> str:
        return f"InverseTransformSampler({_describe_params(self._dist)})"


def _describe_params(dist: Any) -> str:
    family = dist.dist
    names = [*_shape_names(family), "loc", "scale"]
    values = list(dist.args)
    parts = [f"{n}={v!r}" for n, v in zip(names, values, strict=False)]
    parts += [f"{k}={v!r}" for k, v in dist.kwds.items()]
    return f"{family.name}({', '.join(parts)})"


def tutorial_sanity_checks(mu: float = 200.0, sigma: float = 40.0) -> list[tuple[str, int, int]]:
    """The tutorial's checks of a Gaussian quantile function.

    For ``norm(mu, sigma)``: the median is the mean, 34.13 % of the mass lies between the
    mean and one standard deviation above it and a further 13.59 % between one and two
    standard deviations, so ``ppf(0.5) = mu``, ``ppf(0.8413) ~ mu + sigma`` and
    ``ppf(0.9772) ~ mu + 2 sigma``, after rounding to the nearest integer (the 4-digit
    percentages are accurate to about ``2e-3 * sigma``).

    Parameters
    ----------
    mu : float, default 200
        Mean.
    sigma : float, default 40
        Standard deviation, ``> 0``.

    Returns
    -------
    list of (str, int, int)
        ``(description, expected, got)`` for each check; a check passes when
        ``expected == got``.
    """
    if not (np.isfinite(mu) and np.isfinite(sigma)) or sigma <= 0:
        raise ValueError(
            f"need a finite mean and a positive finite standard deviation; got mu={mu!r}, "
            f"sigma={sigma!r}."
        )
    sampler = InverseTransformSampler(stats.norm(mu, sigma))
    checks = [
        ("ppf(0.5) is the mean", 0.5, mu),
        ("ppf(0.5 + 0.3413) is one standard deviation above the mean", 0.5 + 0.3413, mu + sigma),
        (
            "ppf(0.5 + 0.3413 + 0.1359) is two standard deviations above the mean",
            0.5 + 0.3413 + 0.1359,
            mu + 2 * sigma,
        ),
    ]
    return [
        (description, int(round(expected)), int(round(float(sampler.ppf(q)))))
        for description, q, expected in checks
    ]


# --------------------------------------------------------------------------------------
# Fitting and ranking candidate families
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateFit:
    """Maximum-likelihood fit of one candidate family (one row of the ranking table).

    Attributes
    ----------
    name : str
        scipy family name.
    params : tuple of float
        Fitted parameters in scipy's order (shapes, loc, scale); empty when the fit failed.
    param_names : tuple of str
        Names of ``params``.
    n_params : int
        Number of free (estimated) parameters, used by AIC and BIC.
    loglik, aic, bic : float
        Log-likelihood, ``2k - 2 loglik`` and ``k ln(n) - 2 loglik``; nan when failed.
    ks_statistic, ks_pvalue : float
        Kolmogorov-Smirnov test against the fitted distribution; nan when failed.  The
        p-value is optimistic (too large) because the parameters were estimated from the
        same data.
    error : str or None
        Why the family was skipped or its fit failed; None for a successful fit.
    dist : frozen scipy distribution or None
        The fitted distribution.
    """

    name: str
    params: tuple[float, ...] = ()
    param_names: tuple[str, ...] = ()
    n_params: int = 0
    loglik: float = math.nan
    aic: float = math.nan
    bic: float = math.nan
    ks_statistic: float = math.nan
    ks_pvalue: float = math.nan
    error: str | None = None
    dist: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the fit succeeded."""
        return self.error is None

    def criterion(self, criterion: str) -> float:
        """Value of ``"aic"`` or ``"bic"`` for this fit."""
        return self.aic if criterion == "aic" else self.bic

    def params_dict(self) -> dict[str, float]:
        """Fitted parameters by name."""
        return dict(zip(self.param_names, self.params, strict=True))

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON friendly; no distribution object)."""
        return {
            "name": self.name,
            "params": self.params_dict(),
            "n_params": self.n_params,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "ks_statistic": self.ks_statistic,
            "ks_pvalue": self.ks_pvalue,
            "error": self.error,
        }


@dataclass(frozen=True)
class UnivariateFit:
    """Result of :func:`fit_univariate`.

    Attributes
    ----------
    best : str
        Name of the family with the lowest criterion.
    dist : frozen scipy distribution
        The fitted best distribution.
    table : list of CandidateFit
        Every candidate, successful fits sorted by the criterion (best first), then the
        failed or skipped ones with their reason.
    criterion : {"aic", "bic"}
        The ranking criterion.
    n_samples : int
        Number of data points.
    """

    best: str
    dist: Any
    table: list[CandidateFit]
    criterion: str
    n_samples: int

    def sampler(self) -> InverseTransformSampler:
        """An :class:`InverseTransformSampler` of the best fitted distribution."""
        return InverseTransformSampler(self.dist)

    def __getitem__(self, name: str) -> CandidateFit:
        for record in self.table:
            if record.name == name:
                return record
        raise KeyError(
            f"{name!r} was not among the candidates; fitted: "
            f"{', '.join(r.name for r in self.table)}."
        )

    def as_dicts(self) -> list[dict[str, Any]]:
        """The table as a list of plain dicts, best first."""
        return [r.as_dict() for r in self.table]

    def __str__(self) -> str:
        crit = self.criterion.upper()
        best_value = self[self.best].criterion(self.criterion)
        header = (
            f"{'rank':>4}  {'family':<12} {'k':>2} {'loglik':>12} {'AIC':>12} {'BIC':>12} "
            f"{'d' + crit:>9} {'KS D':>7} {'KS p':>7}  parameters"
        )
        lines = [
            f"Univariate fit of {self.n_samples} points, ranked by {crit} (best: {self.best}).",
            "KS p-values are optimistic: the parameters were estimated from the same data.",
            header,
            "-" * len(header),
        ]
        rank = 0
        for r in self.table:
            if r.ok:
                rank += 1
                params = ", ".join(f"{k}={v:.4g}" for k, v in r.params_dict().items())
                delta = r.criterion(self.criterion) - best_value
                lines.append(
                    f"{rank:>4}  {r.name:<12} {r.n_params:>2} {r.loglik:>12.2f} {r.aic:>12.2f} "
                    f"{r.bic:>12.2f} {delta:>9.2f} {r.ks_statistic:>7.4f} "
                    f"{r.ks_pvalue:>7.3g}  {params}"
                )
            else:
                lines.append(f"{'-':>4}  {r.name:<12} failed: {r.error}")
        return "\n".join(lines)


def _check_sample(x: Any) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"x must be a 1-D array of numbers; could not convert it ({exc})."
        ) from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(
            f"x must be 1-D (one variable); got an array of shape {arr.shape}. Pass one "
            "column, e.g. X[:, j]."
        )
    if arr.size < 3:
        raise DataError(
            f"fit_univariate needs at least 3 data points; got {arr.size}. Collect more data."
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise DataError(
            f"x contains {bad} NaN or infinite value(s); remove or impute them before fitting."
        )
    if np.ptp(arr) == 0:
        raise DataError(
            f"x is constant (every value is {float(arr[0])!r}); no continuous distribution can be "
            "fitted to it. Check the column, or treat it as a fixed value."
        )
    return arr


def _n_fixed(family: stats.rv_continuous, kwargs: Mapping[str, Any]) -> int:
    shapes = _shape_names(family)
    fixed_keys = {"floc", "fscale"}
    for i, s in enumerate(shapes):
        fixed_keys |= {f"f{i}", f"f{s}", f"fix_{s}"}
    return sum(1 for k in kwargs if k in fixed_keys)


def _support_precheck(
    family: stats.rv_continuous, kwargs: Mapping[str, Any], x: np.ndarray
) -> str | None:
    """Reason why ``family`` with the fixed ``floc``/``fscale`` cannot hold ``x``, or None.

    Only applies when ``floc`` is fixed (with free loc any data range can be covered).  The
    standard support bounds ``family.a`` / ``family.b`` are used; shape-dependent supports
    are caught after fitting by the log-likelihood check.
    """
    if "floc" not in kwargs:
        return None
    loc = float(kwargs["floc"])
    scale = kwargs.get("fscale")
    a, b = float(family.a), float(family.b)
    xmin, xmax = float(x.min()), float(x.max())
    if scale is not None:
        lo, hi = loc + a * float(scale), loc + b * float(scale)
    else:  # any positive scale: only the side of loc that a finite bound lies on is known
        lo = loc if a >= 0 else -math.inf
        hi = loc if b <= 0 else math.inf
    if xmin < lo or xmax > hi:
        fixed = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k in ("floc", "fscale"))
        return (
            f"support [{lo:g}, {hi:g}] (with {fixed}) cannot hold data in "
            f"[{xmin:.6g}, {xmax:.6g}]; rescale the data or free loc/scale with "
            f"fit_kwargs={{{family.name!r}: {{}}}}"
        )
    return None


def _fit_one(family: stats.rv_continuous, x: np.ndarray, kwargs: Mapping[str, Any]) -> CandidateFit:
    name = family.name
    param_names = (*_shape_names(family), "loc", "scale")
    k = len(param_names) - _n_fixed(family, kwargs)
    reason = _support_precheck(family, kwargs, x)
    if reason is not None:
        return CandidateFit(name=name, param_names=(), n_params=k, error=f"skipped: {reason}")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # Optimiser and edge-of-support warnings are expected for poor candidates; the
            # log-likelihood check below decides whether the fit is usable.
            warnings.simplefilter("ignore")
            params = tuple(float(p) for p in family.fit(x, **kwargs))
            frozen = family(*params)
            loglik = float(np.sum(frozen.logpdf(x)))
            ks = stats.kstest(x, frozen.cdf)
    except Exception as exc:  # noqa: BLE001 - any scipy failure is recorded, not raised
        return CandidateFit(name=name, n_params=k, error=f"{type(exc).__name__}: {exc}")
    if not all(math.isfinite(p) for p in params):
        return CandidateFit(name=name, n_params=k, error=f"non-finite parameters {params}")
    if not math.isfinite(loglik):
        return CandidateFit(
            name=name,
            params=params,
            param_names=param_names,
            n_params=k,
            error=(
                f"log-likelihood is {loglik} at the fitted parameters (some data lie on or "
                "outside the fitted support)"
            ),
        )
    n = x.size
    return CandidateFit(
        name=name,
        params=params,
        param_names=param_names,
        n_params=k,
        loglik=loglik,
        aic=2.0 * k - 2.0 * loglik,
        bic=k * math.log(n) - 2.0 * loglik,
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        dist=frozen,
    )


def fit_univariate(
    x: Any,
    candidates: Iterable[str | stats.rv_continuous] = DEFAULT_CANDIDATES,
    criterion: str = "aic",
    *,
    fit_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
) -> UnivariateFit:
    """Fit candidate distribution families to 1-D data and rank them.

    Each family is fitted by maximum likelihood (``family.fit``), then scored by its
    log-likelihood, AIC ``= 2k - 2 log L`` and BIC ``= k ln(n) - 2 log L`` (``k`` free
    parameters, ``n`` points) and by a Kolmogorov-Smirnov test against the fitted
    distribution.  Use it to check the Gaussian assumption: if ``"norm"`` is best or within
    about 2 of the best AIC, the Gaussian is adequate.

    Families whose (fixed) support cannot hold the data are skipped, and families whose fit
    raises or gives a non-finite log-likelihood are recorded as failed; both appear at the
    end of ``table`` with the reason.

    Parameters
    ----------
    x : array_like of shape (n,)
        The data; at least 3 finite values, not all equal.  An (n, 1) column is accepted.
    candidates : iterable of str or scipy.stats.rv_continuous, default DEFAULT_CANDIDATES
        Family names (``"norm"``) or family objects (``scipy.stats.norm``).
    criterion : {"aic", "bic"}, default "aic"
        Criterion used to rank the fits (lower is better).
    fit_kwargs : mapping of str to mapping, optional
        Extra keyword arguments for ``family.fit`` by family name, e.g.
        ``{"lognorm": {"floc": 0}}``; fixed parameters (``floc``, ``fscale``, ``f0``, ``fa``,
        ``fix_a``...) are not counted in ``k``.  Entries replace those of
        :data:`DEFAULT_FIT_KWARGS` (which fits ``beta`` on (0, 1)).

    Returns
    -------
    UnivariateFit
        ``.best``, ``.dist``, ``.table`` and ``.sampler()``; ``str()`` of it is a table.

    Raises
    ------
    DataError
        (a ValueError) if ``x`` is not 1-D, has fewer than 3 points, non-finite values, or
        is constant.
    ValueError
        Unknown family name or criterion, or empty ``candidates``.
    FitError
        If no candidate could be fitted.

    Notes
    -----
    The KS p-value is optimistic (biased upwards) because the parameters were estimated
    from the same data the test is run on; use it to spot gross misfit, and compare models
    with AIC/BIC.

    With a free location, shape parameters below 1 (gamma, weibull_min) make the likelihood
    unbounded as ``loc`` approaches ``min(x)``; the optimiser then stops near that edge with
    an inflated log-likelihood.  Fix the location (e.g. ``fit_kwargs={"gamma": {"floc": 0}}``)
    when the natural lower bound is known.
    """
    crit = str(criterion).lower()
    if crit not in ("aic", "bic"):
        raise ValueError(f"criterion must be 'aic' or 'bic'; got {criterion!r}.")
    if isinstance(candidates, str | stats.rv_continuous):
        candidates = [candidates]
    families: list[stats.rv_continuous] = []
    seen: set[str] = set()
    for candidate in candidates:
        family = _as_family(candidate)
        if family.name not in seen:
            seen.add(family.name)
            families.append(family)
    if not families:
        raise ValueError("candidates is empty; pass at least one family, e.g. ('norm',).")
    arr = _check_sample(x)
    all_kwargs: dict[str, Mapping[str, Any]] = dict(DEFAULT_FIT_KWARGS)
    if fit_kwargs is not None:
        all_kwargs.update(fit_kwargs)

    records = [_fit_one(f, arr, all_kwargs.get(f.name, {})) for f in families]
    good = sorted((r for r in records if r.ok), key=lambda r: r.criterion(crit))
    failed = [r for r in records if not r.ok]
    if not good:
        reasons = "; ".join(f"{r.name}: {r.error}" for r in failed)
        raise FitError(
            f"none of the {len(records)} candidate families could be fitted ({reasons}). "
            "Try other candidates or check the data."
        )
    best = good[0]
    return UnivariateFit(
        best=best.name, dist=best.dist, table=[*good, *failed], criterion=crit, n_samples=arr.size
    )
