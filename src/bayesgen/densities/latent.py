"""A density seen as a Gaussian latent vector mapped feature by feature to the data.

``z ~ N(mean, covariance)`` and ``x_j = g_j(z_j)`` with each ``g_j`` non-decreasing: the
identity for the Gaussian families, ``F_j^{-1}(Phi(z_j))`` for the Gaussian copula.  A
condition on one feature is then a condition on one latent coordinate:

* ``x_j`` in a range, or equal to a discrete value (a category, a point mass), is an
  interval of ``z_j`` (a truncation);
* ``x_j`` equal to a continuous value is a point of ``z_j``, whose density in ``x`` is the
  latent density times ``|dz_j / dx_j|`` (:meth:`LatentGaussian.point`).

:mod:`bayesgen.classifier.given` samples exactly on such conditions with this view.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from bayesgen.base.errors import DataError

__all__ = ["CopulaLatent", "IdentityLatent", "LatentGaussian", "mixture_components"]


class LatentGaussian:
    """Base of the latent views (:meth:`bayesgen.densities.Density.latent_gaussian`).

    The latent vector is one Gaussian or a Gaussian mixture (the mixture families, and the
    copula whose dependence is a mixture): :meth:`components` lists its Gaussians.

    Attributes
    ----------
    mean : ndarray of shape (d,)
    covariance : ndarray of shape (d, d)
        Of the latent vector (of the mixture as a whole when it is one).
    """

    def __init__(self, mean: np.ndarray, covariance: np.ndarray, components=None):
        self.mean = np.asarray(mean, dtype=float)
        self.covariance = np.asarray(covariance, dtype=float)
        self._components = components

    def components(self) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """``(log w_k, mean_k, covariance_k)`` of each Gaussian of the latent vector,
        ``z ~ sum_k w_k N(mean_k, covariance_k)``; one of weight 1 for a Gaussian."""
        if self._components is None:
            return [(0.0, self.mean, self.covariance)]
        return self._components

    def interval(self, j: int, lo, hi) -> tuple[float, float]:
        """Latent interval of ``lo <= x_j <= hi`` (None = unbounded)."""
        raise NotImplementedError

    def point(self, j: int, value) -> tuple[str, float, float]:
        """``("point", z, log |dz/dx|)`` for a continuous value, or ``("interval", a, b)``
        for a discrete one (a category or a point mass)."""
        raise NotImplementedError

    def to_data(self, Z: np.ndarray) -> np.ndarray:
        """Map latent rows to data rows."""
        raise NotImplementedError

    def to_latent(self, X: np.ndarray, rng=None) -> np.ndarray:
        """Map data rows (no missing cells) to latent rows: the inverse of :meth:`to_data`.

        A discrete value (a category, a point mass) stands for an interval of its latent
        coordinate: with ``rng`` a uniform draw inside it (the distributional transform,
        as the copula's fit scores tied cells), otherwise its middle.
        """
        raise NotImplementedError

    def tied_intervals(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The latent interval ``[lo, hi]`` of each cell of ``X`` that stands for one (a
        category, a point mass: its coordinate is only known to lie in it), NaN for the
        cells whose value is a point of the latent coordinate.  Arrays of shape ``X``."""
        raise NotImplementedError


class IdentityLatent(LatentGaussian):
    """The Gaussian families: the latent vector is the data."""

    def interval(self, j, lo, hi):
        return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))

    def point(self, j, value):
        return "point", float(value), 0.0

    def to_data(self, Z):
        return np.array(Z, dtype=float)

    def to_latent(self, X, rng=None):
        return np.array(X, dtype=float)

    def tied_intervals(self, X):
        nothing = np.full(np.shape(X), np.nan)
        return nothing, nothing.copy()


#: tolerance of a condition's value against a level, as a share of the smallest gap
#: between levels (values parsed from text may differ in their last bits)
_LEVEL_TOLERANCE = 1e-6


class CopulaLatent(LatentGaussian):
    """The Gaussian copula with empirical marginals: ``z_j = Phi^{-1}(F_j(x_j))``.

    Point masses (categories, lattice levels, repeated values) own the CDF jump of their
    cell, so equality on them is the latent interval of that jump.
    """

    def __init__(self, correlation: np.ndarray, marginals, components=None, mean=None):
        # a mixture dependence gives its components and the moments of the whole
        mean = np.zeros(correlation.shape[0]) if mean is None else mean
        super().__init__(mean, correlation, components)
        self.marginals = marginals

    def _score(self, j: int, value: float) -> tuple[float, float]:
        row = np.full((1, self.mean.shape[0]), np.nan)
        row[0, j] = value
        S, log_f = self.marginals.transform(row)
        return float(S[0, j]), float(log_f[0])

    def _atom(self, j: int, value: float):
        """``(F_left, F_right, point)`` of the point-mass cell holding ``value``, or None."""
        edges, cdf, snap = self.marginals._feature(j)
        if not edges[0] <= value <= edges[-1]:
            return None
        b = int(np.clip(np.searchsorted(edges, value, side="right") - 1, 0, snap.shape[0] - 1))
        if np.isnan(snap[b]):
            return None
        return float(cdf[b]), float(cdf[b + 1]), float(snap[b])

    def _levels(self, j: int):
        """``(cdf, values)`` of a feature whose samples are only its levels (a lattice or
        categories: every cell a point mass, tail draws take the end values), or None."""
        _, cdf, snap = self.marginals._feature(j)
        return None if np.isnan(snap).any() else (cdf, snap)

    @staticmethod
    def _level_interval(cdf, values, lo, hi) -> tuple[float, float]:
        """Latent interval of the levels in ``[lo, hi]``, the tails included where the end
        levels are (their draws take those levels); an empty ``(0, 0)`` when no level is
        inside, e.g. a range beyond the class's largest value: it can never be sampled."""
        inside = np.ones(values.shape[0], dtype=bool)
        # a value parsed from text may differ from its level in the last bits: a tolerance
        # far below the gap between levels (a relative one would span levels of 1e10)
        gaps = np.diff(values)
        tol = _LEVEL_TOLERANCE * (float(gaps.min()) if gaps.size else 1.0)
        if lo is not None:
            inside &= values >= lo - tol
        if hi is not None:
            inside &= values <= hi + tol
        where = np.flatnonzero(inside)
        if where.size == 0:
            return 0.0, 0.0
        first, last = int(where[0]), int(where[-1])
        a = -math.inf if first == 0 else float(special.ndtri(cdf[first]))
        b = math.inf if last == values.shape[0] - 1 else float(special.ndtri(cdf[last + 1]))
        return a, b

    def interval(self, j, lo, hi):
        """A feature sampled only at its levels keeps the levels inside the range; on
        others, a point mass whose cell holds an end is inside when its value is."""
        levels = self._levels(j)
        if levels is not None:
            return self._level_interval(*levels, lo, hi)
        a, b = -math.inf, math.inf
        if lo is not None:
            atom = self._atom(j, float(lo))
            if atom:
                a = float(special.ndtri(atom[0] if atom[2] >= lo else atom[1]))
            else:
                a = self._score(j, float(lo))[0]
        if hi is not None:
            atom = self._atom(j, float(hi))
            if atom:
                b = float(special.ndtri(atom[1] if atom[2] <= hi else atom[0]))
            else:
                b = self._score(j, float(hi))[0]
        return a, b

    def point(self, j, value):
        """A value of a feature sampled only at its levels is its level's cell (an empty
        interval for a value that is not a level: probability zero); on others a point
        mass is its cell, any other value a point of the latent Gaussian."""
        levels = self._levels(j)
        if levels is not None:
            return ("interval", *self._level_interval(*levels, float(value), float(value)))
        atom = self._atom(j, float(value))
        if atom is not None:
            return "interval", float(special.ndtri(atom[0])), float(special.ndtri(atom[1]))
        z, log_f = self._score(j, float(value))
        # dz/dx = f_j(x) / phi(z)
        return "point", z, log_f + 0.5 * z * z + 0.5 * math.log(2 * math.pi)

    def to_data(self, Z):
        return self.marginals.inverse(np.asarray(Z, dtype=float))

    def to_latent(self, X, rng=None):
        return self.marginals.transform(np.asarray(X, dtype=float), rng)[0]

    def tied_intervals(self, X):
        """A cell in a point-mass bin owns that bin's CDF jump; on a feature sampled only
        at its levels the end levels also own the tails (their draws take those levels)."""
        X = np.asarray(X, dtype=float)
        lo, hi = np.full(X.shape, np.nan), np.full(X.shape, np.nan)
        for j in range(X.shape[1]):
            edges, cdf, snap = self.marginals._feature(j)
            x = X[:, j]
            last = snap.shape[0] - 1
            b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, last)
            tied = (x >= edges[0]) & (x <= edges[-1]) & ~np.isnan(snap[b])
            low, high = special.ndtri(cdf[b]), special.ndtri(cdf[b + 1])
            if self._levels(j) is not None:
                low = np.where(b == 0, -np.inf, low)
                high = np.where(b == last, np.inf, high)
            lo[:, j] = np.where(tied, low, np.nan)
            hi[:, j] = np.where(tied, high, np.nan)
        return lo, hi


def mixture_components(weights, means, covariances) -> list:
    """The :meth:`LatentGaussian.components` of a fitted Gaussian mixture: its weights,
    means and dense covariances (zero weights dropped)."""
    return [
        (math.log(w), np.asarray(mu, dtype=float), np.asarray(cov, dtype=float))
        for w, mu, cov in zip(weights, means, covariances, strict=True)
        if w > 0
    ]


def not_latent_gaussian(density) -> DataError:
    """The refusal of a family without a Gaussian latent view."""
    return DataError(
        f"conditions on column values need a Gaussian copula or a Gaussian density; "
        f"{type(density).__name__} has no Gaussian latent form (use density='copula')"
    )
