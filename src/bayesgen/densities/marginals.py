"""Empirical marginals of the copula: piecewise-linear CDFs with point masses and tails.

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
  shrinks with the rows so that pseudo-counts never swamp a small class, and a level
  never seen gets at most its share of the Good-Turing unseen mass ``(N_1 + 1) / n``,
  ``N_1`` the rows of levels seen once), spread evenly
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
scores are exactly standard normal; how the copula estimates ``R`` from them and from each
tied cell's interval is in :class:`~bayesgen.densities.GaussianCopulaDensity`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from bayesgen.base.state_checks import check_array, check_keys
from bayesgen.densities.marginal_bins import category_bins, feature_bins
from bayesgen.kernels.column_summary import WeightedColumn

__all__ = ["EmpiricalMarginals"]

_STATE_KEYS = ("edges", "cdf", "snap", "edge_offsets", "tail_mass", "tail_scale")

#: tail mass of a categorical feature (its codes never leave 0..K-1; the tails only keep
#: the CDF strictly inside (0, 1))
_CATEGORY_TAIL = 1e-9


class _InverseTable:
    """One feature's inverse CDF as a guide table (Chen and Asau's indexed search).

    The bin of ``u`` is ``b`` with ``f[b] <= u < f[b + 1]``.  A binary search over the
    ``k + 1`` CDF values costs ``log2 k`` dependent, unpredictable steps per draw; instead
    ``[0, 1]`` is cut into ``4 k`` equal cells, ``starts[m]`` holds the bin of cell ``m``'s
    left end, and a draw starts there and steps right at most ``steps`` times (the most
    bins one cell spans; usually 1 or 2).  Features whose bins are too uneven for that
    (``steps`` above a few) keep the binary search.  Within bin ``b`` the inverse is linear,
    ``x = base[b] + slope[b] (u - f[b])``, with slope 0 and base the point for a point mass.
    """

    _CELLS_PER_BIN = 4
    _MAX_STEPS = 6

    def __init__(self, cdf, starts, steps, base, slope):
        self.cdf, self.starts, self.steps = cdf, starts, steps
        self.base, self.slope = base, slope

    @classmethod
    def build(cls, e: np.ndarray, f: np.ndarray, snap: np.ndarray) -> _InverseTable:
        k = e.shape[0] - 1
        m = cls._CELLS_PER_BIN * k
        starts = np.searchsorted(f, np.arange(m + 1) / m, side="right") - 1
        starts = np.clip(starts, 0, k - 1)
        steps = int(np.max(np.diff(starts)))
        atom = ~np.isnan(snap)
        slope = np.where(atom, 0.0, np.diff(e) / np.diff(f))
        base = np.where(atom, snap, e[:-1])
        return cls(f, starts if steps <= cls._MAX_STEPS else None, steps, base, slope)

    def bins(self, u: np.ndarray) -> np.ndarray:
        """``b`` with ``f[b] <= u < f[b + 1]``, clipped to the bins ``0 .. k - 1``."""
        f = self.cdf
        last = f.shape[0] - 2
        if self.starts is None:
            return np.clip(np.searchsorted(f, u, side="right") - 1, 0, last)
        m = self.starts.shape[0] - 1
        # the clip also keeps a NaN draw's garbage cell index inside the table
        b = self.starts[np.clip((u * m).astype(np.intp), 0, m)]
        for _ in range(self.steps):
            b = np.minimum(b + (f[b + 1] <= u), last)
        return b

    def values(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF inside the bins (tails are the caller's)."""
        b = self.bins(u)
        return self.base[b] + self.slope[b] * (u - self.cdf[b])


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
        self._inverse_tables = None

    @classmethod
    def from_state(cls, state, where: str = "marginals") -> EmpiricalMarginals:
        """Rebuild from :meth:`state` (a model file's), checking every array.

        Raises
        ------
        ValueError
            Naming the field, what was expected and what was found.
        """
        check_keys(state, where, _STATE_KEYS)
        arrays = {
            key: check_array(
                state[key],
                f"{where} {key}",
                kind="i" if key == "edge_offsets" else "f",
                shape=(None,),
            )
            for key in _STATE_KEYS
        }
        return cls(**arrays)

    def _check(self) -> None:
        eo = self.edge_offsets
        d = eo.shape[0] - 1
        n = self.edges.shape[0]
        if d < 1 or eo[0] != 0 or eo[-1] != n or np.any(np.diff(eo) < 2):
            raise ValueError(
                f"marginal edge_offsets must run from 0 to the {n} edges in steps of at least "
                f"2; found {eo.shape[0]} offsets starting {eo[:3].tolist()}"
            )
        if self.cdf.shape != (n,) or self.snap.shape != (n - d,):
            raise ValueError(
                f"marginal cdf must have one value per edge ({n},) and snap one per bin "
                f"({n - d},); found {self.cdf.shape} and {self.snap.shape}"
            )
        if self.tail_mass.shape != (d,) or self.tail_scale.shape != (d,):
            raise ValueError(
                f"marginal tail_mass and tail_scale must have one entry per feature ({d},); "
                f"found {self.tail_mass.shape} and {self.tail_scale.shape}"
            )
        if not (np.all(np.isfinite(self.edges)) and np.all(np.isfinite(self.tail_scale))):
            raise ValueError("marginal edges and tail scales must be finite")
        if not np.all(self.tail_scale > 0):
            raise ValueError("marginal tail scales must be positive")
        if not np.all(self.tail_mass > 0) or not np.all(self.tail_mass < 0.5):
            raise ValueError("tail masses must lie in (0, 0.5)")
        if not np.all((self.cdf > 0) & (self.cdf < 1)) or np.isinf(self.snap).any():
            raise ValueError("marginal CDF values must lie in (0, 1) and point masses be finite")
        # edges and CDF values increase within each feature (they restart at the next one)
        within = np.ones(self.edges.shape[0] - 1, dtype=bool)
        within[eo[1:-1] - 1] = False
        bad = within & ((np.diff(self.edges) <= 0) | (np.diff(self.cdf) <= 0))
        if bad.any():
            j = int(np.searchsorted(eo, np.argmax(bad), side="right")) - 1
            raise ValueError(f"marginal {j} has non-increasing edges or CDF values")

    @property
    def n_features(self) -> int:
        return self.edge_offsets.shape[0] - 1

    @classmethod
    def fit(cls, X: np.ndarray, *, n_bins: int = 256, alpha: float = 0.5, categories=None):
        """Fit every feature's marginal to its observed (non-NaN) values.

        Parameters
        ----------
        X : ndarray of shape (n, d); NaN marks a missing cell
        n_bins, alpha : see :class:`GaussianCopulaDensity`
        categories : dict of {int: int}, optional
            Features holding category codes ``0 .. K-1`` and their ``K``.
        """
        columns = [WeightedColumn.of(X[:, j]) for j in range(X.shape[1])]
        return cls.fit_weighted(
            columns, n_rows=X.shape[0], n_bins=n_bins, alpha=alpha, categories=categories
        )

    @classmethod
    def fit_weighted(
        cls,
        columns,
        *,
        n_rows: int,
        n_bins: int = 256,
        alpha: float = 0.5,
        categories=None,
    ) -> EmpiricalMarginals:
        """Fit every feature's marginal to its values given as weighted points.

        What :meth:`fit` does with the distinct values of each column and their counts;
        a streamed fit passes the same from mergeable summaries
        (:class:`~bayesgen.kernels.column_summary.NumericSummary`), which gives the same
        marginal whenever the summary holds the distinct values exactly.

        Parameters
        ----------
        columns : list of WeightedColumn
            One per feature: sorted distinct points and their counts.
        n_rows : int
            Rows, missing cells included (sets the tail mass ``1 / (2 (n_rows + 1))``).
        n_bins, alpha, categories : as for :meth:`fit`
        """
        d = len(columns)
        categories = categories or {}
        columns = [c if j in categories else c.without_round_off() for j, c in enumerate(columns)]
        gaps = [
            c.smallest_gap()
            for j, c in enumerate(columns)
            if j not in categories and c.smallest_gap() is not None
        ]
        resolution = float(min(gaps)) if gaps else 1.0
        tail = 0.5 / (n_rows + 1)
        # a categorical code cannot fall outside 0..K-1, so its tails hold (almost) nothing:
        # tail draws would otherwise give a class its first or last category
        tails = np.array([_CATEGORY_TAIL if j in categories else tail for j in range(d)])
        edges, cdf, snap, offsets = [], [], [], [0]
        scales = np.empty(d)
        for j, column in enumerate(columns):
            if j in categories:
                e, mass, s = category_bins(column, int(categories[j]), alpha)
            else:
                e, mass, s = feature_bins(column, resolution, n_bins, alpha)
            edges.append(e)
            t_j = tails[j]
            cdf.append(t_j + (1.0 - 2.0 * t_j) * np.r_[0.0, np.cumsum(mass)])
            snap.append(s)
            offsets.append(offsets[-1] + e.shape[0])
            width = e[-1] - e[0]
            scales[j] = max(column.std(), width / max(1, e.shape[0] - 1), resolution)
        return cls(
            np.concatenate(edges),
            np.concatenate(cdf),
            np.concatenate(snap),
            np.asarray(offsets),
            tails,
            scales,
        )

    def _feature(self, j):
        a, b = self.edge_offsets[j], self.edge_offsets[j + 1]
        return self.edges[a:b], self.cdf[a:b], self.snap[a - j : b - j - 1]

    def transform(self, X: np.ndarray, rng: np.random.Generator | None = None, skip=()):
        """Normal scores and marginal log-densities of each cell.

        With ``rng``, cells inside point-mass bins take a uniformly random CDF value within
        the bin's jump (distributional transform); otherwise the CDF is linear in the bin.
        ``rng`` is a Generator, or an array of shape (n, d) holding each cell's uniform
        (:func:`~bayesgen.kernels.score_moments.cell_uniforms`: the same whatever the
        chunks).  Features in ``skip`` are left out (score 0, no density).

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
            missing = np.isnan(X[:, j])
            x = np.where(missing, e[0], X[:, j]) if missing.any() else X[:, j]
            t, scale = self.tail_mass[j], self.tail_scale[j]
            k = e.shape[0] - 1
            b = np.clip(np.searchsorted(e, x, side="right") - 1, 0, k - 1)
            width = e[b + 1] - e[b]
            jump = f[b + 1] - f[b]
            frac = (x - e[b]) / width
            if rng is not None:
                is_atom = ~np.isnan(snap[b])
                draws = rng[:, j] if isinstance(rng, np.ndarray) else rng.random(n)
                frac = np.where(is_atom, draws, frac)
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
            # the score from the smaller of the two tails (accurate far out), computed once
            lower = log_F <= log_S
            score = special.ndtri_exp(np.minimum(np.where(lower, log_F, log_S), 0.0))
            S[:, j] = np.where(lower, score, -score)
            if missing.any():  # a missing cell is marginalised: no score, no density
                S[missing, j] = np.nan
                dens = np.where(missing, 0.0, dens)
            log_f += dens
        return S, log_f

    def _inverse_table(self, j: int) -> _InverseTable:
        """Feature ``j``'s inverse-CDF table, built once (the marginals never change)."""
        if self._inverse_tables is None:
            self._inverse_tables = {}
        if j not in self._inverse_tables:
            self._inverse_tables[j] = _InverseTable.build(*self._feature(j))
        return self._inverse_tables[j]

    def inverse(self, S: np.ndarray) -> np.ndarray:
        """Map normal scores back through each marginal's inverse CDF (point masses snap)."""
        n, d = S.shape
        # feature by feature on contiguous rows: a column of a C-ordered (n, d) array is
        # strided, and every step below reads or gathers it
        S_t = np.ascontiguousarray(S.T)
        U = special.ndtr(S_t)
        X_t = np.empty((d, n))
        for j in range(d):
            e, f, snap = self._feature(j)
            t, scale = self.tail_mass[j], self.tail_scale[j]
            u = U[j]
            x = self._inverse_table(j).values(u)
            below, above = u < f[0], u > f[-1]
            if not np.isnan(snap).any():  # lattice feature: tail draws take the end values
                x[below], x[above] = snap[0], snap[-1]
            else:  # exponential tails, in log space (only the few tail draws need it)
                x[below] = e[0] + scale * (special.log_ndtr(S_t[j, below]) - math.log(t))
                x[above] = e[-1] - scale * (special.log_ndtr(-S_t[j, above]) - math.log(t))
            X_t[j] = x
        return X_t.T

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

    def explained_variance(self) -> np.ndarray:
        """``Var(E[z_j | x_j])`` per feature, with ``z_j`` the normal score.

        1 for continuous features; less for features with point masses, whose score is
        drawn within the cell's interval (the distributional transform): a cell holding
        ``(a, b]`` of the score loses the truncated-normal variance
        ``1 + (a phi(a) - b phi(b)) / p - ((phi(a) - phi(b)) / p)^2`` with ``p`` its mass.
        """
        out = np.ones(self.n_features)
        for j in range(self.n_features):
            _, f, snap = self._feature(j)
            atoms = np.flatnonzero(~np.isnan(snap))
            if atoms.size == 0:
                continue
            lo, hi = f[atoms], f[atoms + 1]
            a, b = special.ndtri(lo), special.ndtri(hi)
            pa = np.where(np.isfinite(a), np.exp(-0.5 * a * a) / math.sqrt(2 * math.pi), 0.0)
            pb = np.where(np.isfinite(b), np.exp(-0.5 * b * b) / math.sqrt(2 * math.pi), 0.0)
            p = hi - lo
            mean = (pa - pb) / p
            second = 1.0 + (np.where(pa > 0, a * pa, 0.0) - np.where(pb > 0, b * pb, 0.0)) / p
            out[j] = 1.0 - float(np.sum(p * np.maximum(second - mean * mean, 0.0)))
        return np.clip(out, 1e-3, 1.0)
