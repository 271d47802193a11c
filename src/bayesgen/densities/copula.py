"""Gaussian copula density: any marginals, Gaussian dependence.

Model (Sklar's theorem with a Gaussian copula).  With per-feature marginal CDFs ``F_j``,
densities ``f_j`` and normal scores ``s_j = Phi^{-1}(F_j(x_j))``::

    log p(x) = sum_j log f_j(x_j) + log c_R(s)
    log c_R(s) = -0.5 log|R| - 0.5 s^T R^{-1} s + 0.5 s^T s

where ``R`` is a correlation matrix (the covariance of the normal scores).  Sampling is the
tutorial's inverse-CDF idea made multivariate: ``s ~ N(0, R)``, ``u = Phi(s)``,
``x_j = F_j^{-1}(u_j)``.

Empirical marginals and point masses
------------------------------------
Each marginal is a piecewise-linear CDF over bins (a histogram density), with exponential
tails of mass ``1 / (2 (n + 1))`` on each side for values outside the training range.

* Lattice features, whose values all lie on the grid ``min + r Z`` spanned by the data's
  resolution ``r`` (the smallest gap between distinct values of any feature; failing that,
  the feature's own smallest gap) with at most ``4 n_bins`` levels between their minimum
  and maximum (e.g. 8-bit pixels, r = 1/255), and whose data support the grid (at least
  half its levels observed, or at least four rows per level), get one cell
  ``[v - r/2, v + r/2]`` per level ``v``, holding the level's frequency with add-``a``
  smoothing (so unseen levels keep a little mass; ``a = alpha min(1, n / (10 levels))``
  shrinks with the rows so that pseudo-counts never swamp a small class), spread evenly
  over the cell: exactly the density of the dequantised variable.  Samples take the
  observed values themselves (no round-off).
* Other features are grouped into at most ``n_bins`` bins of about equal counts, except that
  a value repeated at least ``n / n_bins`` times (e.g. the zeros of a zero-inflated feature)
  is a point mass with a cell of width ``r`` of its own.

Sampling a lattice feature never leaves its observed range: a draw in a tail takes the
nearest end value (the tails exist so that unseen values score finitely).

A bin that holds a single repeated value (every cell of a lattice feature) is a *point mass*:
sampling returns exactly that value whenever the uniform falls in the bin, so a feature that
is exactly 0 in 80% of the rows is exactly 0 in 80% of the samples (up to the smoothing).
Scoring a value spreads its mass over its bin (density = mass / width), so log-densities are
finite and consistent with the CDF; for pixel data this is the density of the dequantised
pixel, which is how :mod:`benchmarks.mnist_families` reports bits per pixel.

Normal scores of the training rows use the distributional transform: inside a point-mass
bin the CDF value is drawn uniformly over the bin's jump (seeded by ``random_state``), so the
scores are exactly standard normal and ``R`` is not biased by ties.  ``R`` is the
correlation of those scores, shrunk towards the identity (``shrinkage``) and given a ridge
(``reg_covar``), then factored once.

Parametric marginals (``marginals="parametric"``) choose a scipy family per continuous
feature with :func:`bayesgen.univariate.fit_univariate` (by AIC); discrete-looking features
and features with point masses keep the empirical marginal.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import special, stats
from scipy.special import logsumexp

from bayesgen.base.errors import FitError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.densities.base import Density
from bayesgen.kernels.conditioning import Conditioned, gaussian_conditional
from bayesgen.kernels.covariance import LOG_2PI, FullCovariance

__all__ = ["GaussianCopulaDensity", "EmpiricalMarginals"]

#: families tried per feature by marginals="parametric"
PARAMETRIC_CANDIDATES = ("norm", "t", "logistic", "laplace", "lognorm", "gamma", "skewnorm")


def _lattice_step(u: np.ndarray, n: int, resolution: float, n_bins: int):
    """The step of the lattice the distinct values ``u`` lie on, or None.

    Tried: the data's resolution (so that a pixel seen only at 0 and 2/255 still gets the
    1/255 grid), then the feature's own smallest gap.  A grid is accepted only when the data
    support it: every value on it, at most ``4 n_bins`` levels, and either at least half the
    levels between the smallest and largest value observed or at least four rows per level
    (8-bit pixels of a few thousand images: most levels are rare but the grid is real).  A
    feature with two-decimal values but a few dozen rows (scikit-learn's wine table) is
    therefore NOT a lattice of hundreds of mostly empty cells, which smoothing would turn
    into a near-uniform marginal.
    """
    m = u.shape[0]
    if m <= 1:
        return resolution
    for r in (resolution, float(np.diff(u).min())):
        steps = (u - u[0]) / r
        span = int(round(float(steps[-1]))) + 1
        on_grid = np.allclose(steps, np.round(steps), rtol=0, atol=1e-6)
        if on_grid and span <= 4 * n_bins and (2 * m >= span or n >= 4 * span):
            return r
    return None


def _decimals(values: np.ndarray, most: int = 8) -> int | None:
    """The fewest decimals (up to ``most``) that write every value exactly, or None."""
    scale = np.maximum(np.abs(values), 1.0)
    for d in range(most + 1):
        scaled = values * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * scale * 10.0**d):
            return d
    return None


def _lattice_bins(u, c, n: int, r: float, alpha: float):
    """One cell ``[v - r/2, v + r/2]`` per lattice level ``v`` between the extremes.

    Unseen levels keep a little mass so that they score finitely: add-``alpha`` smoothing
    whose total shrinks with ``n`` (``alpha`` per level when ``n >= 10 span``, less below),
    so a few dozen rows are not swamped by pseudo-counts.  Observed levels are the observed
    values themselves (no ``min + k r`` round-off in samples); unseen ones are rounded to the
    decimals of the observed values when those have few.
    """
    steps = np.round((u - u[0]) / r).astype(np.int64) if u.shape[0] > 1 else np.zeros(1, int)
    span = int(steps[-1]) + 1
    levels = u[0] + r * np.arange(span)
    decimals = _decimals(np.r_[u, r])
    if decimals is not None:  # a decimal grid (0.1, 0.25, 1): unseen levels printed as such
        levels = np.round(levels, decimals)
    levels[steps] = u
    counts = np.zeros(span)
    counts[steps] = c
    a = alpha * min(1.0, n / (10.0 * span))
    half = r / 2
    edges = np.r_[levels[0] - half, 0.5 * (levels[:-1] + levels[1:]), levels[-1] + half]
    return edges, (counts + a) / (n + a * span), levels


def _feature_bins(x: np.ndarray, resolution: float, n_bins: int, alpha: float):
    """Bins of one feature: (edges (m+1,), masses (m,), snap values (m,), NaN = none)."""
    n = x.shape[0]
    u, c = np.unique(x, return_counts=True)
    m = u.shape[0]
    step = _lattice_step(u, n, resolution, n_bins)
    if step is not None:
        return _lattice_bins(u, c, n, step, alpha)
    half = resolution / 2
    target = n / n_bins
    heavy = c >= max(2.0, target)
    # group consecutive non-heavy values into runs of ~target counts; heavy values alone
    segment = np.cumsum(heavy)  # changes at every heavy value
    light_cum = np.cumsum(np.where(heavy, 0, c)) - np.where(heavy, 0, c)
    key = np.where(heavy, -1, np.floor(light_cum / target)).astype(np.int64)
    group_key = np.where(heavy, segment * (n + 2), segment * (n + 2) + key + 1)
    starts = np.flatnonzero(np.r_[True, group_key[1:] != group_key[:-1]])
    counts = np.add.reduceat(c, starts).astype(float)
    ends = np.r_[starts[1:], m] - 1
    lo_first, hi_last = u[starts], u[ends]
    snap = np.where((starts == ends) & (c[starts] >= 2), u[starts], np.nan)
    k = counts.shape[0]
    edges = np.empty(k + 1)
    if k == 1:
        edges[0], edges[1] = lo_first[0] - half, hi_last[0] + half
    else:
        edges[1:-1] = 0.5 * (hi_last[:-1] + lo_first[1:])
        edges[0] = lo_first[0] - max(0.5 * (edges[1] - lo_first[0]), half)
        edges[-1] = hi_last[-1] + max(0.5 * (hi_last[-1] - edges[-2]), half)
    # a point mass next to a run of distinct values keeps a cell of the data's resolution on
    # that side (it is a point, not an interval): the run's bin reaches up to it
    for i in np.flatnonzero(~np.isnan(snap)):
        if i == 0 or np.isnan(snap[i - 1]):
            edges[i] = snap[i] - half
        if i == k - 1 or np.isnan(snap[i + 1]):
            edges[i + 1] = snap[i] + half
    return edges, counts / n, snap


class EmpiricalMarginals:
    """Piecewise-linear marginal CDFs with point masses and exponential tails (all features).

    Ragged per-feature bins are stored flat: feature ``j`` owns ``edges[eo[j]:eo[j+1]]``
    and ``cdf`` at those edges, ``snap[so[j]:so[j+1]]`` (one per bin).  A private kernel
    object of :class:`GaussianCopulaDensity`.
    """

    def __init__(self, edges, cdf, snap, edge_offsets, tail_mass, tail_scale):
        self.edges = np.asarray(edges, dtype=float)
        self.cdf = np.asarray(cdf, dtype=float)
        self.snap = np.asarray(snap, dtype=float)
        self.edge_offsets = np.asarray(edge_offsets, dtype=np.int64)
        self.tail_mass = np.asarray(tail_mass, dtype=float)
        self.tail_scale = np.asarray(tail_scale, dtype=float)
        self._check()

    def _check(self) -> None:
        eo = self.edge_offsets
        d = eo.shape[0] - 1
        if d < 1 or eo[0] != 0 or eo[-1] != self.edges.shape[0] or np.any(np.diff(eo) < 2):
            raise ValueError("marginal offsets are inconsistent with the bin edges")
        if self.cdf.shape != self.edges.shape or self.snap.shape != (self.edges.shape[0] - d,):
            raise ValueError("marginal arrays have inconsistent shapes")
        if self.tail_mass.shape != (d,) or self.tail_scale.shape != (d,):
            raise ValueError("tail parameters must have one entry per feature")
        if not (np.all(np.isfinite(self.edges)) and np.all(self.tail_scale > 0)):
            raise ValueError("marginal edges must be finite and tail scales positive")
        if not np.all(self.tail_mass > 0) or not np.all(self.tail_mass < 0.5):
            raise ValueError("tail masses must lie in (0, 0.5)")
        for j in range(d):
            e = self.edges[eo[j] : eo[j + 1]]
            f = self.cdf[eo[j] : eo[j + 1]]
            if np.any(np.diff(e) <= 0) or np.any(np.diff(f) <= 0):
                raise ValueError(f"marginal {j} has non-increasing edges or CDF values")

    @property
    def n_features(self) -> int:
        return self.edge_offsets.shape[0] - 1

    @classmethod
    def fit(cls, X: np.ndarray, *, n_bins: int = 256, alpha: float = 0.5):
        n, d = X.shape
        gaps = []
        for j in range(d):
            u = np.unique(X[:, j])
            if u.shape[0] > 1:
                gaps.append(np.diff(u).min())
        resolution = float(min(gaps)) if gaps else 1.0
        spread = np.std(X, axis=0)
        tail = 0.5 / (n + 1)
        edges, cdf, snap, offsets = [], [], [], [0]
        scales = np.empty(d)
        for j in range(d):
            e, mass, s = _feature_bins(X[:, j], resolution, n_bins, alpha)
            edges.append(e)
            cdf.append(tail + (1.0 - 2.0 * tail) * np.r_[0.0, np.cumsum(mass)])
            snap.append(s)
            offsets.append(offsets[-1] + e.shape[0])
            width = e[-1] - e[0]
            scales[j] = max(spread[j], width / max(1, e.shape[0] - 1), resolution)
        cdf_flat = np.concatenate(cdf)
        return cls(
            np.concatenate(edges),
            cdf_flat,
            np.concatenate(snap),
            np.asarray(offsets),
            np.full(d, tail),
            scales,
        )

    def _feature(self, j):
        a, b = self.edge_offsets[j], self.edge_offsets[j + 1]
        return self.edges[a:b], self.cdf[a:b], self.snap[a - j : b - j - 1]

    def transform(self, X: np.ndarray, rng: np.random.Generator | None = None, skip=()):
        """Normal scores and marginal log-densities of each cell.

        With ``rng``, cells inside point-mass bins take a uniformly random CDF value within
        the bin's jump (distributional transform); otherwise the CDF is linear in the bin.
        Features in ``skip`` are left out (score 0, no density).

        Returns
        -------
        S : ndarray of shape (n, d)
            ``Phi^{-1}(F_j(x_j))``.
        log_f : ndarray of shape (n,)
            ``sum_j log f_j(x_j)``.
        """
        n, d = X.shape
        S = np.empty((n, d))
        log_f = np.zeros(n)
        skip = set(int(j) for j in skip)
        for j in range(d):
            if j in skip:
                S[:, j] = 0.0
                continue
            e, f, snap = self._feature(j)
            x = X[:, j]
            t, scale = self.tail_mass[j], self.tail_scale[j]
            k = e.shape[0] - 1
            b = np.clip(np.searchsorted(e, x, side="right") - 1, 0, k - 1)
            width = e[b + 1] - e[b]
            jump = f[b + 1] - f[b]
            frac = (x - e[b]) / width
            if rng is not None:
                is_atom = ~np.isnan(snap[b])
                frac = np.where(is_atom, rng.random(n), frac)
            below, above = x < e[0], x > e[-1]
            inside = ~(below | above)
            log_F = np.empty(n)
            log_S = np.empty(n)
            Fin = f[b] + jump * np.clip(frac, 0.0, 1.0)
            log_F[inside] = np.log(Fin[inside])
            log_S[inside] = np.log1p(-Fin[inside])
            dens = np.where(inside, np.log(jump / width), 0.0)
            if below.any():
                z = (x[below] - e[0]) / scale
                log_F[below] = math.log(t) + z
                log_S[below] = np.log1p(-t * np.exp(z))
                dens[below] = math.log(t / scale) + z
            if above.any():
                z = (e[-1] - x[above]) / scale
                log_S[above] = math.log(t) + z
                log_F[above] = np.log1p(-t * np.exp(z))
                dens[above] = math.log(t / scale) + z
            lower = log_F <= log_S
            S[:, j] = np.where(
                lower,
                special.ndtri_exp(np.minimum(log_F, 0.0)),
                -special.ndtri_exp(np.minimum(log_S, 0.0)),
            )
            log_f += dens
        return S, log_f

    def inverse(self, S: np.ndarray) -> np.ndarray:
        """Map normal scores back through each marginal's inverse CDF (point masses snap)."""
        n, d = S.shape
        X = np.empty((n, d))
        log_U = special.log_ndtr(S)
        log_V = special.log_ndtr(-S)
        U = np.exp(log_U)
        for j in range(d):
            e, f, snap = self._feature(j)
            t, scale = self.tail_mass[j], self.tail_scale[j]
            k = e.shape[0] - 1
            u = U[:, j]
            b = np.clip(np.searchsorted(f, u, side="right") - 1, 0, k - 1)
            x = e[b] + (e[b + 1] - e[b]) * (u - f[b]) / (f[b + 1] - f[b])
            x = np.where(np.isnan(snap[b]), x, snap[b])
            below, above = u < f[0], u > f[-1]
            if not np.isnan(snap).any():  # lattice feature: tail draws take the end values
                x[below], x[above] = snap[0], snap[-1]
            else:
                x[below] = e[0] + scale * (log_U[below, j] - math.log(t))
                x[above] = e[-1] - scale * (log_V[above, j] - math.log(t))
            X[:, j] = x
        return X

    def means(self) -> np.ndarray:
        """E[x_j] per feature (bins at their point or midpoint, tails exactly)."""
        d = self.n_features
        out = np.empty(d)
        for j in range(d):
            e, f, snap = self._feature(j)
            t, scale = self.tail_mass[j], self.tail_scale[j]
            centre = np.where(np.isnan(snap), 0.5 * (e[:-1] + e[1:]), snap)
            out[j] = np.diff(f) @ centre + t * (e[0] - scale) + t * (e[-1] + scale)
        return out

    def n_parameters(self) -> int:
        return int(self.edges.shape[0] - self.n_features) - self.n_features

    def state(self) -> dict:
        return {
            "edges": self.edges,
            "cdf": self.cdf,
            "snap": self.snap,
            "edge_offsets": self.edge_offsets,
            "tail_mass": self.tail_mass,
            "tail_scale": self.tail_scale,
        }


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
    shrinkage : float in [0, 1], default=0.05
        Shrinks the correlation of normal scores towards the identity.
    reg_covar : float, default=1e-6
        Ridge on the correlation diagonal (then rescaled to a unit diagonal).
    dependence : None or Density, default=None
        None: the Gaussian copula (a correlation matrix of the normal scores).  A density
        object (e.g. a :class:`~bayesgen.densities.MixtureOfFactorAnalysersDensity`) is
        fitted to the normal scores instead and gives the transformation model
        ``log p(x) = sum_j log f_j(x_j) + log g(s) - sum_j log phi(s_j)``: the marginals stay
        exact (on the training data) while the dependence can be non-Gaussian, e.g. several
        clusters.  With ``g = N(0, R)`` this is the Gaussian copula again.
    random_state : None, int or numpy.random.Generator
        Seeds the distributional transform of ties in the training rows.

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
        random_state=None,
    ):
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
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not 0.0 <= s <= 1.0:
            raise ValueError(f"shrinkage must be a number in [0, 1]; got {s!r}")
        if not isinstance(self.reg_covar, numbers.Real) or not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")

    # fitting -------------------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        self._check_params()
        n, d = X.shape
        if n < 2:
            raise FitError(f"a copula needs at least 2 rows; got n_samples={n}")
        rng = check_random_state(self.random_state)
        self.marginals_ = EmpiricalMarginals.fit(X, n_bins=self.n_bins, alpha=self.alpha)
        self.parametric_ = self._fit_parametric(X)
        self.n_features_in_ = d
        S, _ = self._scores(X, rng)
        self._mean_cache = None
        if self.dependence is not None:
            if not (hasattr(self.dependence, "fit") and hasattr(self.dependence, "sample")):
                raise ValueError(f"dependence must be a density object; got {self.dependence!r}")
            from sklearn.base import clone

            self.correlation_ = None
            self.dependence_ = clone(self.dependence).fit(S)
            return
        self.dependence_ = None
        R = (S.T @ S) / n
        sd = np.sqrt(np.maximum(np.diag(R), 1e-300))
        R = R / sd[:, None] / sd[None, :]
        R *= 1.0 - self.shrinkage
        R.flat[:: d + 1] = 1.0 + self.reg_covar
        R /= 1.0 + self.reg_covar
        try:
            self.correlation_ = FullCovariance.from_matrix(R)
        except np.linalg.LinAlgError:
            raise FitError(
                f"the correlation of normal scores is singular (shrinkage={self.shrinkage:g}, "
                f"reg_covar={self.reg_covar:g}); increase shrinkage or reg_covar"
            ) from None
        self._mean_cache = None

    def _fit_parametric(self, X: np.ndarray) -> dict:
        empty = {
            "features": np.zeros(0, dtype=np.int64),
            "families": np.zeros(0, dtype="<U1"),
            "params": np.zeros((0, 0)),
        }
        if self.marginals != "parametric":
            return empty
        from bayesgen.univariate import fit_univariate

        features, families, params = [], [], []
        for j in range(X.shape[1]):
            if not _continuous_looking(X[:, j]):
                continue
            fit = fit_univariate(X[:, j], candidates=PARAMETRIC_CANDIDATES, criterion="aic")
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
            log_f = log_f + dist.logpdf(x)
        return S, log_f

    # kernels -------------------------------------------------------------------------
    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        S, log_f = self._scores(X)
        if self.dependence_ is not None:
            # log g(s) - sum_j log phi(s_j)
            half_sq = 0.5 * np.einsum("ij,ij->i", S, S)
            log_g = self.dependence_._score_samples(S)
            return log_f + log_g + half_sq + 0.5 * S.shape[1] * LOG_2PI
        corr = self.correlation_
        return (
            log_f - 0.5 * (corr.log_det + corr.mahalanobis(S)) + 0.5 * np.einsum("ij,ij->i", S, S)
        )

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

    def _after_load(self) -> None:
        if isinstance(self.marginals_, dict):
            self.marginals_ = EmpiricalMarginals(**self.marginals_)
        p = self.parametric_
        if set(p) != {"features", "families", "params"}:
            raise ValueError("parametric marginals are malformed")
        for name in p["families"]:
            family = getattr(stats, str(name), None)
            if not isinstance(family, stats.rv_continuous):
                raise ValueError(f"unknown scipy family {name!r}")
        d = self.n_features_in_
        if self.dependence_ is not None:
            if not isinstance(self.dependence_, Density) or self.correlation_ is not None:
                raise ValueError("a copula holds either a correlation or a dependence density")
            from sklearn.base import clone

            self.dependence = clone(self.dependence_)
            inner = self.dependence_.n_features_in_
        elif isinstance(self.correlation_, FullCovariance):
            inner = self.correlation_.n_features
        else:
            raise ValueError("a copula needs a correlation matrix or a dependence density")
        if self.marginals_.n_features != d or inner != d:
            raise ValueError("marginals, dependence and n_features_in_ disagree")
        self._mean_cache = None
