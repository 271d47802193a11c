"""Sufficient statistics of a Gaussian and their exact merge.

A :class:`GaussianStats` holds, for one group of rows ``x_1 .. x_n`` (rows of ``X``):

* ``count``   n
* ``mean``    m = (1/n) sum x_i                                   shape (d,)
* ``scatter`` S = sum (x_i - m)(x_i - m)^T                        shape (d, d), or its
  diagonal only (``diagonal=True``, shape (d,)) when only variances are needed
* ``skew``    v = sum |x_i - m|^2 (x_i - m)                       shape (d,)   [full only]
* ``kurt``    q = sum |x_i - m|^4                                 scalar       [full only]

``skew`` and ``kurt`` are what the Ledoit-Wolf shrinkage intensity needs beyond the
scatter (its ``beta`` term is ``sum_i |x_i - m|^4``); carrying them keeps Ledoit-Wolf exact
under :meth:`merge`, so any split of the data into batches gives the same model.

Every statistic is centred on its own mean, which keeps the arithmetic stable for data with
large offsets (no ``sum x^2 - n m^2`` cancellation).  Two groups a and b merge exactly (Chan,
Golub and LeVeque 1979), with ``delta = m_b - m_a`` and ``n = n_a + n_b``::

    m = m_a + delta * n_b / n
    S = S_a + S_b + delta delta^T * n_a n_b / n

``skew`` and ``kurt`` are first re-centred on the merged mean.  For a group with centred
rows y_i (so sum y_i = 0) moved to a new centre ``c`` (offset ``e = c - m``)::

    sum |y - e|^2 (y - e) = v - 2 S e - tr(S) e - n |e|^2 e
    sum |y - e|^4         = q - 4 e.v + 4 e^T S e + 2 |e|^2 tr(S) + n |e|^4

and then the re-centred groups simply add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GaussianStats"]


@dataclass
class GaussianStats:
    """Count, mean and centred scatter of a group of rows; mergeable exactly.

    Parameters
    ----------
    count : float
        Number of rows summarised.
    mean : ndarray of shape (n_features,)
    scatter : ndarray of shape (n_features, n_features) or (n_features,)
        Centred sum of outer products, or only its diagonal when ``diagonal`` is True.
    skew : ndarray of shape (n_features,) or None
        ``sum |x - m|^2 (x - m)``; kept for full statistics only.
    kurt : float or None
        ``sum |x - m|^4``; kept for full statistics only.
    """

    count: float
    mean: np.ndarray
    scatter: np.ndarray
    skew: np.ndarray | None = None
    kurt: float | None = None

    @property
    def diagonal(self) -> bool:
        """True when only the diagonal of the scatter is kept."""
        return self.scatter.ndim == 1

    @property
    def n_features(self) -> int:
        return self.mean.shape[0]

    @classmethod
    def empty(cls, n_features: int, *, diagonal: bool = False) -> GaussianStats:
        """Statistics of zero rows: the identity of :meth:`merge`."""
        d = int(n_features)
        scatter = np.zeros(d) if diagonal else np.zeros((d, d))
        return cls(
            0.0,
            np.zeros(d),
            scatter,
            None if diagonal else np.zeros(d),
            None if diagonal else 0.0,
        )

    @classmethod
    def from_data(cls, X: np.ndarray, *, diagonal: bool = False) -> GaussianStats:
        """Summarise the rows of ``X`` (a private kernel: ``X`` is a finite 2-D float array).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        diagonal : bool, default=False
            Keep only per-feature sums of squares (O(n d) instead of O(n d^2)).

        Returns
        -------
        GaussianStats
        """
        n, d = X.shape
        if n == 0:
            return cls.empty(d, diagonal=diagonal)
        mean = X.mean(axis=0)
        centred = X - mean
        if diagonal:
            return cls(float(n), mean, np.einsum("ij,ij->j", centred, centred))
        # X^T X of a C-contiguous array: numpy hands this to BLAS (a symmetric rank-k update).
        scatter = centred.T @ centred
        sq_norm = np.einsum("ij,ij->i", centred, centred)
        skew = sq_norm @ centred
        kurt = float(sq_norm @ sq_norm)
        return cls(float(n), mean, scatter, skew, kurt)

    def _recentred(self, centre: np.ndarray) -> tuple[np.ndarray | None, float | None]:
        """``skew`` and ``kurt`` of this group about ``centre`` instead of its own mean."""
        if self.diagonal:
            return None, None
        e = centre - self.mean
        trace = float(np.trace(self.scatter))
        se = self.scatter @ e
        ee = float(e @ e)
        skew = self.skew - 2.0 * se - trace * e - self.count * ee * e
        kurt = (
            self.kurt
            - 4.0 * float(e @ self.skew)
            + 4.0 * float(e @ se)
            + 2.0 * ee * trace
            + self.count * ee * ee
        )
        return skew, kurt

    def merge(self, other: GaussianStats) -> GaussianStats:
        """Exact statistics of the union of two groups (Chan's pairwise update).

        Parameters
        ----------
        other : GaussianStats
            Statistics of a disjoint group with the same number of features and kind.

        Returns
        -------
        GaussianStats
            A new object; neither input is modified.
        """
        if other.count == 0:
            return self.copy()
        if self.count == 0:
            return other.copy()
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        factor = self.count * other.count / n
        if self.diagonal:
            scatter = self.scatter + other.scatter + factor * delta * delta
            return GaussianStats(n, mean, scatter)
        scatter = self.scatter + other.scatter + factor * np.outer(delta, delta)
        skew_a, kurt_a = self._recentred(mean)
        skew_b, kurt_b = other._recentred(mean)
        return GaussianStats(n, mean, scatter, skew_a + skew_b, kurt_a + kurt_b)

    def copy(self) -> GaussianStats:
        return GaussianStats(
            self.count,
            self.mean.copy(),
            self.scatter.copy(),
            None if self.skew is None else self.skew.copy(),
            self.kurt,
        )

    def covariance(self, ddof: int = 0) -> np.ndarray:
        """Sample covariance ``scatter / (count - ddof)`` (or its diagonal)."""
        return self.scatter / (self.count - ddof)

    def ledoit_wolf_shrinkage(self) -> float:
        """Ledoit-Wolf (2004) shrinkage intensity towards ``mu I``, from the statistics alone.

        Equals :func:`sklearn.covariance.ledoit_wolf_shrinkage` on the (centred) data:
        with ``C = S / n`` (the MLE covariance) and ``mu = tr(C) / d``::

            delta = |C - mu I|_F^2 / d
            beta  = (q / n - |C|_F^2) / (d n),   q = sum |x - m|^4
            shrinkage = min(beta, delta) / delta   (0 when beta = 0)
        """
        if self.diagonal:
            raise ValueError("Ledoit-Wolf shrinkage needs the full scatter matrix")
        n, d = self.count, self.n_features
        emp = self.scatter / n
        mu = float(np.trace(emp)) / d
        frob = float(np.einsum("ij,ij->", emp, emp))
        delta = (frob - 2.0 * mu * float(np.trace(emp)) + d * mu * mu) / d
        beta = (self.kurt / n - frob) / (d * n)
        beta = min(beta, delta)
        if beta <= 0.0 or delta <= 0.0:
            return 0.0
        return float(beta / delta)
