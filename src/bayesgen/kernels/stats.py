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

__all__ = ["GaussianStats", "StatsAccumulator"]

#: with more than this share of columns non-zero, the Gram matrix is computed dense
_DENSE_GRAM_SHARE = 0.9
#: rows averaged for the pilot centre
_PILOT_ROWS = 64
#: elements per cache block of the centring pass (~1 MiB of float64)
_BLOCK_ELEMENTS = 1 << 17
#: a pilot offset with n e^2 above this share of a raw sum of squares is redone exactly
#: (below it the shift costs at most ~(1 + share) / (1 - share) roundings, ~200)
_SHIFT_TOLERANCE = 0.99


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

    def rescaled(self, factor: float) -> GaussianStats:
        """The statistics of the rows multiplied by ``factor`` (moments of degree k scale by
        ``factor**k``): e.g. pixel counts summarised as read, then put on the [0, 1] scale."""
        f = float(factor)
        return GaussianStats(
            self.count,
            self.mean * f,
            self.scatter * (f * f),
            None if self.skew is None else self.skew * f**3,
            None if self.kurt is None else self.kurt * f**4,
        )

    @classmethod
    def from_data(
        cls,
        X: np.ndarray,
        *,
        diagonal: bool = False,
        rows: np.ndarray | None = None,
        overwrite: bool = False,
        work: np.ndarray | None = None,
    ) -> GaussianStats:
        """Summarise rows of ``X`` (a private kernel: ``X`` is a 2-D float64 array).

        One pass over the data: rows are copied (gathered, when ``rows`` is given) into a
        work buffer and centred there cache-block by cache-block, and the row norms that
        ``skew`` and ``kurt`` need are taken while the block is still in cache; the scatter
        is then one BLAS symmetric rank-k update of the buffer.  Rows are centred on a pilot
        mean (the mean of the first rows) and the statistics moved to the exact mean
        afterwards (see :func:`_shift_stats`), which keeps them exact to rounding without a
        second pass; a pilot far from the mean (measured per feature) triggers one exact
        re-centring pass instead.

        Non-finite input gives non-finite statistics (``kurt`` or the scatter diagonal);
        callers check those rather than scanning ``X`` separately.

        Parameters
        ----------
        X : ndarray of shape (n_rows_total, n_features)
        diagonal : bool, default=False
            Keep only per-feature sums of squares (O(n d) instead of O(n d^2)).
        rows : ndarray of int of shape (n_samples,), optional
            Summarise only these rows of ``X`` (gathered block by block, no full copy).
        overwrite : bool, default=False
            ``X`` is a scratch array the caller does not need any more: centre it in place
            instead of copying (ignored when ``rows`` is given).
        work : ndarray of shape (n_samples, n_features), optional
            A C-contiguous float64 buffer to gather the rows into (instead of a new one),
            so that one buffer serves every class of a fit.

        Returns
        -------
        GaussianStats
        """
        n = X.shape[0] if rows is None else int(rows.shape[0])
        d = X.shape[1]
        if n == 0:
            return cls.empty(d, diagonal=diagonal)
        centre, stats = _moments_about(
            X, rows, _pilot(X, rows), diagonal, overwrite=overwrite, work=work
        )
        with np.errstate(invalid="ignore", over="ignore"):
            return _shift_stats(n, centre, stats[0] / n, *stats, diagonal=diagonal)

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
        trace = float(np.trace(self.scatter)) / n
        mu = trace / d
        frob = float(np.einsum("ij,ij->", self.scatter, self.scatter)) / (n * n)
        delta = (frob - 2.0 * mu * trace + d * mu * mu) / d
        beta = (self.kurt / n - frob) / (d * n)
        beta = min(beta, delta)
        if beta <= 0.0 or delta <= 0.0:
            return 0.0
        return float(beta / delta)


class StatsAccumulator:
    """Statistics of a stream of batches: raw moments about one centre, shifted once.

    Merging :class:`GaussianStats` batch by batch costs several ``d x d`` passes per batch
    (re-centring ``skew`` and ``kurt``, outer products, new arrays); over a file of
    hundreds of chunks that is most of the work.  An accumulator instead keeps the raw
    moments of every row about a fixed centre (the pilot mean of its first batch), adds
    each batch's moments to them (its Gram matrix is one BLAS update, as in
    :meth:`GaussianStats.from_data`) and moves them to the exact mean once, in
    :meth:`result`.

    Precision is not traded for this: if adding a batch would put the running mean so far
    from the centre that the final shift cancels digits (the test
    :meth:`GaussianStats.from_data` applies to its pilot, judged on the running totals),
    the moments so far are closed into exact statistics and accumulation restarts with this
    batch (re-centred on its own mean if it is far from the centre by itself); closed parts
    merge with Chan's formula (as per-batch merging would have done for every batch).

    Parameters
    ----------
    n_features : int
    diagonal : bool, default=False
        Keep only per-feature sums of squares.
    """

    def __init__(self, n_features: int, *, diagonal: bool = False):
        self.n_features = int(n_features)
        self.diagonal = bool(diagonal)
        self._count = 0
        self._centre = None
        self._moments = None
        self._closed = None

    def add(self, X: np.ndarray, rows: np.ndarray | None = None) -> bool:
        """Add the rows of ``X`` (or ``X[rows]``); returns False if any was not finite.

        Non-finite rows make the statistics non-finite (as in
        :meth:`GaussianStats.from_data`); the caller decides whether to raise.
        """
        n = X.shape[0] if rows is None else int(rows.shape[0])
        if n == 0:
            return True
        fresh = not self._count
        centre = _pilot(X, rows) if fresh else self._centre
        work = np.empty((n, X.shape[1]))
        with np.errstate(invalid="ignore", over="ignore"):
            moments = _centred_pass(X, rows, work, centre, self.diagonal)
            finite = bool(
                np.isfinite(moments[0]).all()
                and np.isfinite(moments[1] if self.diagonal else np.diagonal(moments[1])).all()
            )
            if not fresh and not self._too_far_with(n, moments):
                self._count += n
                for total, part in zip(self._moments, moments, strict=True):
                    if isinstance(total, np.ndarray):
                        total += part
                if not self.diagonal:  # the scalars A and q
                    self._moments[2] += moments[2]
                    self._moments[4] += moments[4]
                return finite
            offset = moments[0] / n
            if _pilot_too_far(n, offset, moments[1], self.diagonal):
                # far from the centre on its own: re-centre exactly on its mean, in place
                moments = _centred_pass(work, None, work, offset, self.diagonal)
                centre = centre + offset
        self._close()
        self._count, self._centre, self._moments = n, centre, list(moments)
        return finite

    def _too_far_with(self, n: int, moments) -> bool:
        """Would the shift of the running moments plus this batch's cancel digits?"""
        count = self._count + n
        offset = (self._moments[0] + moments[0]) / count
        if self.diagonal:
            second = self._moments[1] + moments[1]
        else:
            second = np.diagonal(self._moments[1]) + np.diagonal(moments[1])
        return _pilot_too_far(count, offset, second, True)

    def _close(self) -> None:
        if not self._count:
            return
        with np.errstate(invalid="ignore", over="ignore"):
            part = _shift_stats(
                self._count,
                self._centre,
                self._moments[0] / self._count,
                *self._moments,
                diagonal=self.diagonal,
            )
        self._closed = part if self._closed is None else self._closed.merge(part)
        self._count, self._centre, self._moments = 0, None, None

    def result(self) -> GaussianStats:
        """The exact statistics of every row added (empty statistics if none)."""
        self._close()
        if self._closed is None:
            return GaussianStats.empty(self.n_features, diagonal=self.diagonal)
        return self._closed


def _pilot(X: np.ndarray, rows) -> np.ndarray:
    """Mean of the first rows: the centre a pass over the data starts from."""
    pilot_rows = X[:_PILOT_ROWS] if rows is None else X[rows[:_PILOT_ROWS]]
    return pilot_rows.mean(axis=0, dtype=np.float64)


def _moments_about(X, rows, centre, diagonal, *, overwrite=False, work=None):
    """Raw moments of the rows about ``centre`` (see :func:`_centred_pass`).

    When ``centre`` is too far from the rows' mean (:func:`_pilot_too_far`), the rows are
    re-centred exactly on it in a second pass over the work buffer.  Returns the centre
    used (the very object passed in when it was kept) and the moments about it.
    """
    n = X.shape[0] if rows is None else int(rows.shape[0])
    d = X.shape[1]
    if overwrite and rows is None and X.flags.c_contiguous and X.dtype == np.float64:
        work = X
    elif work is None:
        work = np.empty((n, d))
    source, subtract = X, centre
    # non-finite input propagates into the statistics silently; callers check them
    with np.errstate(invalid="ignore", over="ignore"):
        for attempt in range(2):
            stats = _centred_pass(source, rows, work, subtract, diagonal)
            offset = stats[0] / n
            if attempt or not _pilot_too_far(n, offset, stats[1], diagonal):
                break
            # redo exactly, in place on the buffer, which holds the rows minus the centre
            source, rows, subtract = work, None, offset
            centre = centre + offset
    return centre, stats


def _pilot_too_far(n, offset, second, diagonal) -> bool:
    """True when shifting from the pilot centre would cancel digits of a sum of squares.

    ``n e_j^2`` is what the shift subtracts from the raw sum of squares ``second_j`` of
    feature j; features whose sum of squares is negligible next to the largest (constant
    columns, where the pilot may be off by one rounding) are not judged.
    """
    second = second if diagonal else np.diagonal(second)
    top = float(second.max()) if second.size else 0.0
    judged = second > 1e-24 * top
    return bool(np.any(n * offset[judged] ** 2 > _SHIFT_TOLERANCE * second[judged]))


def _centred_pass(X, rows, work, centre, diagonal):
    """Copy (or gather) rows of ``X`` minus ``centre`` into ``work``; raw moments about it.

    Returns ``(s, M, a_sum, v, q)`` for full statistics (``s = sum y``, ``M = Y^T Y``,
    ``a_sum = sum |y|^2``, ``v = sum |y|^2 y``, ``q = sum |y|^4`` with ``y = x - centre``)
    and ``(s, sq)`` with ``sq = sum y * y`` per feature for diagonal statistics.
    """
    n, d = work.shape
    block = max(1, _BLOCK_ELEMENTS // max(d, 1))
    s = np.zeros(d)
    if diagonal:
        sq = np.zeros(d)
    else:
        norms = np.empty(n)
        v = np.zeros(d)
        col_sq = np.zeros(d)
    for start in range(0, n, block):
        stop = min(start + block, n)
        out = work[start:stop]
        if rows is not None and X.dtype == out.dtype:
            # mode="clip" skips numpy's buffered bounds check (indices come from the caller)
            np.take(X, rows[start:stop], axis=0, out=out, mode="clip")
            out -= centre
        elif rows is not None:
            np.subtract(X[rows[start:stop]], centre, out=out)
        else:
            np.subtract(X[start:stop], centre, out=out)
        s += out.sum(axis=0)
        if diagonal:
            sq += np.einsum("ij,ij->j", out, out)
        else:
            a = np.einsum("ij,ij->i", out, out, out=norms[start:stop])
            v += a @ out
            col_sq += np.einsum("ij,ij->j", out, out)
    if diagonal:
        return s, sq
    return s, _gram(work, col_sq), float(norms.sum()), v, float(norms @ norms)


def _gram(work: np.ndarray, col_sq: np.ndarray) -> np.ndarray:
    """``work^T work``, skipping columns that are exactly zero throughout.

    A column whose sum of squares is exactly 0 holds only zeros (a feature constant in this
    group and equal to the pilot, such as an image's blank border pixels), so its row and
    column of the Gram matrix are exactly 0.  When there are enough of them, the other
    columns are compacted and only those go through BLAS: k of d columns cost (k/d)^2 of
    the flops (about half for an MNIST digit class).
    """
    d = work.shape[1]
    active = np.flatnonzero(col_sq != 0.0)  # NaN counts as active
    if active.shape[0] > _DENSE_GRAM_SHARE * d:
        # Y^T Y of a C-contiguous array: numpy hands this to BLAS syrk (half a gemm's flops)
        return work.T @ work
    packed = np.take(work, active, axis=1)
    M = np.zeros((d, d))
    M[np.ix_(active, active)] = packed.T @ packed
    return M


def _shift_stats(n, centre, e, s, *moments, diagonal):
    """Statistics about the exact mean ``centre + e`` from raw moments about ``centre``.

    With ``y = x - centre``, ``e = mean(y)``, ``a = |y|^2``, ``A = sum a``, ``M = sum y y^T``,
    ``v = sum a y`` and ``q = sum a^2``, the rows ``z = y - e`` have::

        sum z z^T     = M - n e e^T
        sum |z|^2 z   = v - A e - 2 M e + 2 n |e|^2 e
        sum |z|^4     = q - 4 e.v + 4 e^T M e + 2 |e|^2 A - 3 n |e|^4
    """
    mean = centre + e
    if diagonal:
        (sq,) = moments
        return GaussianStats(float(n), mean, sq - n * e * e)
    M, A, v, q = moments
    Me = M @ e
    ee = float(e @ e)
    scatter = M
    scatter -= n * np.outer(e, e)
    skew = v - A * e - 2.0 * Me + (2.0 * n * ee) * e
    kurt = q - 4.0 * float(e @ v) + 4.0 * float(e @ Me) + 2.0 * ee * A - 3.0 * n * ee * ee
    return GaussianStats(float(n), mean, scatter, skew, float(kurt))
