"""Sufficient statistics of a Gaussian and their exact merge.

A :class:`GaussianStats` holds, for one group of rows ``x_1 .. x_n`` (rows of ``X``), with
``y_i = x_i - m`` the centred rows and ``y_i^2`` their elementwise squares:

* ``count``   n
* ``mean``    m = (1/n) sum x_i                                   shape (d,)
* ``scatter`` S = sum y_i y_i^T                                   shape (d, d), or its
  diagonal only (``diagonal=True``, shape (d,)) when only variances are needed
* ``cross3``  T = sum y_i^2 y_i^T,   T_jk = sum_i y_ij^2 y_ik       shape (d, d)  [fourth]
* ``cross4``  W = sum y_i^2 (y_i^2)^T, W_jk = sum_i y_ij^2 y_ik^2   shape (d, d)  [fourth]

``cross3`` and ``cross4`` are kept only when asked for (``fourth=True``, the statistics
kind ``"fourth"``): they cost two more BLAS products of the rows.  ``W`` is what the
Ledoit-Wolf intensity of the correlation matrix needs (:meth:`GaussianStats.
correlation_shrinkage`): for standardised rows ``z_ij = y_ij / s_j`` its ``beta`` term is
``sum_i |z_i|^4 = sum_jk W_jk / (s_j^2 s_k^2)``, and the standard deviations ``s_j`` are
known only once all rows are in, so the whole matrix must be carried.  ``T`` is what moving
``W`` to a new centre needs, which keeps the intensity exact under :meth:`merge`: any split
of the data into batches gives the same model.

Every statistic is centred on its own mean, which keeps the arithmetic stable for data with
large offsets (no ``sum x^2 - n m^2`` cancellation).  Two groups a and b merge exactly (Chan,
Golub and LeVeque 1979), with ``delta = m_b - m_a`` and ``n = n_a + n_b``::

    m = m_a + delta * n_b / n
    S = S_a + S_b + delta delta^T * n_a n_b / n

``T`` and ``W`` are first moved to the merged mean, then added.  Rows ``y`` with raw
moments ``s = sum y``, ``M = sum y y^T`` (diagonal ``a``), ``T`` and ``W`` about some
centre, moved by ``e`` (``z = y - e``; ``ee = e * e``, ``es = e * s`` elementwise) have::

    sum z^2 z^T     = T - a e^T - 2 diag(e) M + 2 es e^T + ee s^T - n ee e^T
    sum z^2 (z^2)^T = W - 2 (T diag(e) + diag(e) T^T) + a ee^T + ee a^T + 4 (e e^T) * M
                      - 2 (es ee^T + ee es^T) + n ee ee^T

(a group centred on its own mean has ``s = 0`` and ``M = S``).
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
#: elements per slab of squared rows for the fourth moments (~8 MiB of float64): large
#: enough for efficient BLAS products, small enough not to double the memory of a fit
_SLAB_ELEMENTS = 1 << 20
#: a pilot offset with n e^2 above this share of a raw sum of squares is redone exactly
#: (below it the shift costs at most ~(1 + share) / (1 - share) roundings, ~200)
_SHIFT_TOLERANCE = 0.99
#: a feature whose standard deviation is below this share of its mean's magnitude is
#: constant up to rounding (the variance a shift of exactly equal values leaves behind)
_CONSTANT_RTOL = 1e-12


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
    cross3 : ndarray of shape (n_features, n_features) or None
        ``T = sum y^2 y^T`` (module docstring); kept only with ``fourth=True``.
    cross4 : ndarray of shape (n_features, n_features) or None
        ``W = sum y^2 (y^2)^T``; kept only with ``fourth=True``.
    """

    count: float
    mean: np.ndarray
    scatter: np.ndarray
    cross3: np.ndarray | None = None
    cross4: np.ndarray | None = None

    @property
    def diagonal(self) -> bool:
        """True when only the diagonal of the scatter is kept."""
        return self.scatter.ndim == 1

    @property
    def fourth(self) -> bool:
        """True when the fourth-order moments ``cross3`` and ``cross4`` are kept."""
        return self.cross4 is not None

    @property
    def n_features(self) -> int:
        return self.mean.shape[0]

    @classmethod
    def empty(cls, n_features: int, *, diagonal: bool = False, fourth: bool = False):
        """Statistics of zero rows: the identity of :meth:`merge`."""
        _check_kind(diagonal, fourth)
        d = int(n_features)
        scatter = np.zeros(d) if diagonal else np.zeros((d, d))
        if not fourth:
            return cls(0.0, np.zeros(d), scatter)
        return cls(0.0, np.zeros(d), scatter, np.zeros((d, d)), np.zeros((d, d)))

    def rescaled(self, factor: float) -> GaussianStats:
        """The statistics of the rows multiplied by ``factor`` (moments of degree k scale by
        ``factor**k``): e.g. pixel counts summarised as read, then put on the [0, 1] scale."""
        f = float(factor)
        return GaussianStats(
            self.count,
            self.mean * f,
            self.scatter * (f * f),
            None if self.cross3 is None else self.cross3 * f**3,
            None if self.cross4 is None else self.cross4 * f**4,
        )

    @classmethod
    def from_data(
        cls,
        X: np.ndarray,
        *,
        diagonal: bool = False,
        fourth: bool = False,
        rows: np.ndarray | None = None,
        overwrite: bool = False,
        work: np.ndarray | None = None,
    ) -> GaussianStats:
        """Summarise rows of ``X`` (a private kernel: ``X`` is a 2-D float64 array).

        One pass over the data: rows are copied (gathered, when ``rows`` is given) into a
        work buffer and centred there cache-block by cache-block; the scatter is then one
        BLAS symmetric rank-k update of the buffer (and, with ``fourth``, ``T`` and ``W``
        two products of its squares).  Rows are centred on a pilot mean (the mean of the
        first rows) and the statistics moved to the exact mean afterwards (see
        :func:`_shift_stats`), which keeps them exact to rounding without a second pass; a
        pilot far from the mean (measured per feature) triggers one exact re-centring pass
        instead.

        Non-finite input gives non-finite statistics (the scatter diagonal); callers check
        those rather than scanning ``X`` separately.

        Parameters
        ----------
        X : ndarray of shape (n_rows_total, n_features)
        diagonal : bool, default=False
            Keep only per-feature sums of squares (O(n d) instead of O(n d^2)).
        fourth : bool, default=False
            Also keep ``cross3`` and ``cross4`` (full statistics only).
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
        _check_kind(diagonal, fourth)
        n = X.shape[0] if rows is None else int(rows.shape[0])
        d = X.shape[1]
        if n == 0:
            return cls.empty(d, diagonal=diagonal, fourth=fourth)
        centre, moments = _moments_about(
            X, rows, _pilot(X, rows), diagonal, fourth, overwrite=overwrite, work=work
        )
        with np.errstate(invalid="ignore", over="ignore"):
            return _shift_stats(n, centre, moments, diagonal)

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
            return GaussianStats(n, mean, self.scatter + other.scatter + factor * delta * delta)
        scatter = self.scatter + other.scatter + factor * np.outer(delta, delta)
        if not self.fourth:
            return GaussianStats(n, mean, scatter)
        zero = np.zeros_like(mean)
        parts = [
            _shift_fourth(g.count, centre - g.mean, zero, g.scatter, g.cross3, g.cross4)
            for g, centre in ((self, mean), (other, mean))
        ]
        (t_a, w_a), (t_b, w_b) = parts
        return GaussianStats(n, mean, scatter, t_a + t_b, w_a + w_b)

    def copy(self) -> GaussianStats:
        return GaussianStats(
            self.count,
            self.mean.copy(),
            self.scatter.copy(),
            None if self.cross3 is None else self.cross3.copy(),
            None if self.cross4 is None else self.cross4.copy(),
        )

    def covariance(self, ddof: int = 0) -> np.ndarray:
        """Sample covariance ``scatter / (count - ddof)`` (or its diagonal)."""
        return self.scatter / (self.count - ddof)

    def varying(self) -> np.ndarray:
        """Boolean mask of the features that are not constant (up to rounding).

        A constant feature can keep a variance of a few roundings squared after the shift
        to the exact mean; standardising it would turn that noise into a unit-variance
        feature, so it counts as constant when its standard deviation is below ``1e-12``
        times the magnitude of its mean (and when its variance is 0).
        """
        var = (self.scatter if self.diagonal else np.diagonal(self.scatter)) / self.count
        return var > (_CONSTANT_RTOL * self.mean) ** 2

    def correlation_shrinkage(self, varying: np.ndarray | None = None) -> float:
        """Ledoit-Wolf (2004) intensity for the correlation matrix, from the statistics alone.

        The intensity :func:`sklearn.covariance.ledoit_wolf_shrinkage` gives for the
        standardised rows ``z_ij = (x_ij - m_j) / s_j`` (``s_j^2 = S_jj / n``, the
        maximum-likelihood variance, as :class:`sklearn.preprocessing.StandardScaler`
        uses): their covariance is the correlation matrix ``R`` with unit diagonal, so the
        target ``mu I`` has ``mu = 1``.  With ``d`` the number of varying features
        (:meth:`varying`; constant ones have no correlation and are left out)::

            delta = (|R|_F^2 - d) / d
            beta  = (sum_i |z_i|^4 / n - |R|_F^2) / (d n),
                    sum_i |z_i|^4 = sum_jk W_jk / (s_j^2 s_k^2)
            shrinkage = min(beta, delta) / delta   (0 when beta = 0 or d < 2)

        ``beta >= 0`` always (Jensen: ``(mean z_j z_k)^2 <= mean z_j^2 z_k^2``).  The
        intensity depends on the data only through ``R`` and the standardised fourth
        moments, so it does not change when a feature is rescaled.

        Parameters
        ----------
        varying : ndarray of bool of shape (n_features,), optional
            The features to standardise; default :meth:`varying`.  Statistics pooled from
            groups (centred residuals, mean 0) pass the union of the groups' masks, since
            rounding is judged against each group's own mean.

        Returns
        -------
        float in [0, 1]

        Raises
        ------
        ValueError
            The statistics do not keep the fourth moments (``fourth=True``).
        """
        if not self.fourth:
            raise ValueError(
                "the Ledoit-Wolf intensity of the correlation matrix needs the fourth "
                "moments (statistics of kind 'fourth')"
            )
        keep = np.flatnonzero(self.varying() if varying is None else varying)
        d, n = keep.shape[0], self.count
        if d < 2:
            return 0.0
        sub = np.ix_(keep, keep)
        inv_var = n / np.diagonal(self.scatter)[keep]  # 1 / s_j^2
        inv_sd = np.sqrt(inv_var / n)  # 1 / sqrt(S_jj)
        corr = self.scatter[sub] * np.outer(inv_sd, inv_sd)
        frob = float(np.einsum("ij,ij->", corr, corr))
        fourth = float(inv_var @ self.cross4[sub] @ inv_var)
        delta = (frob - d) / d
        beta = min((fourth / n - frob) / (d * n), delta)
        if beta <= 0.0 or delta <= 0.0:
            return 0.0
        return float(beta / delta)


def _check_kind(diagonal: bool, fourth: bool) -> None:
    if diagonal and fourth:
        raise ValueError("fourth-moment statistics need the full scatter (diagonal=False)")


class StatsAccumulator:
    """Statistics of a stream of batches: raw moments about one centre, shifted once.

    Merging :class:`GaussianStats` batch by batch costs several ``d x d`` passes per batch
    (re-centring, outer products, new arrays); over a file of hundreds of chunks that is
    most of the work.  An accumulator instead keeps the raw moments of every row about a
    fixed centre (the pilot mean of its first batch), adds each batch's moments to them
    (its Gram matrix is one BLAS update, as in :meth:`GaussianStats.from_data`) and moves
    them to the exact mean once, in :meth:`result`.

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
    fourth : bool, default=False
        Also keep the fourth-order moments (see :class:`GaussianStats`).
    """

    def __init__(self, n_features: int, *, diagonal: bool = False, fourth: bool = False):
        _check_kind(diagonal, fourth)
        self.n_features = int(n_features)
        self.diagonal = bool(diagonal)
        self.fourth = bool(fourth)
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
            moments = _centred_pass(X, rows, work, centre, self.diagonal, self.fourth)
            finite = bool(
                np.isfinite(moments[0]).all()
                and np.isfinite(moments[1] if self.diagonal else np.diagonal(moments[1])).all()
            )
            if not fresh and not self._too_far_with(n, moments):
                self._count += n
                for total, part in zip(self._moments, moments, strict=True):
                    total += part
                return finite
            offset = moments[0] / n
            if _pilot_too_far(n, offset, moments[1], self.diagonal):
                # far from the centre on its own: re-centre exactly on its mean, in place
                moments = _centred_pass(work, None, work, offset, self.diagonal, self.fourth)
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
            part = _shift_stats(self._count, self._centre, self._moments, self.diagonal)
        self._closed = part if self._closed is None else self._closed.merge(part)
        self._count, self._centre, self._moments = 0, None, None

    def result(self) -> GaussianStats:
        """The exact statistics of every row added (empty statistics if none)."""
        self._close()
        if self._closed is None:
            return GaussianStats.empty(self.n_features, diagonal=self.diagonal, fourth=self.fourth)
        return self._closed


def _pilot(X: np.ndarray, rows) -> np.ndarray:
    """Mean of the first rows: the centre a pass over the data starts from."""
    pilot_rows = X[:_PILOT_ROWS] if rows is None else X[rows[:_PILOT_ROWS]]
    return pilot_rows.mean(axis=0, dtype=np.float64)


def _moments_about(X, rows, centre, diagonal, fourth, *, overwrite=False, work=None):
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
            moments = _centred_pass(source, rows, work, subtract, diagonal, fourth)
            offset = moments[0] / n
            if attempt or not _pilot_too_far(n, offset, moments[1], diagonal):
                break
            # redo exactly, in place on the buffer, which holds the rows minus the centre
            source, rows, subtract = work, None, offset
            centre = centre + offset
    return centre, moments


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


def _centred_pass(X, rows, work, centre, diagonal, fourth=False):
    """Copy (or gather) rows of ``X`` minus ``centre`` into ``work``; raw moments about it.

    Returns ``(s, M)`` for full statistics (``s = sum y``, ``M = Y^T Y`` with
    ``y = x - centre``), ``(s, M, T, W)`` with ``fourth`` (module docstring) and ``(s, sq)``
    with ``sq = sum y * y`` per feature for diagonal statistics.
    """
    n, d = work.shape
    block = max(1, _BLOCK_ELEMENTS // max(d, 1))
    s = np.zeros(d)
    sq = np.zeros(d)
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
        sq += np.einsum("ij,ij->j", out, out)
    if diagonal:
        return s, sq
    active = _active_columns(sq)
    if not fourth:
        return s, _gram(work, active)
    return (s, _gram(work, active), *_fourth_moments(work, active))


def _active_columns(col_sq: np.ndarray) -> np.ndarray | None:
    """Columns that are not exactly zero throughout, or None when (nearly) all are.

    A column whose sum of squares is exactly 0 holds only zeros (a feature constant in this
    group and equal to the pilot, such as an image's blank border pixels), so its rows and
    columns of every product are exactly 0.  When there are enough of them, the other
    columns are compacted and only those go through BLAS: k of d columns cost (k/d)^2 of
    the flops (about half for an MNIST digit class).
    """
    active = np.flatnonzero(col_sq != 0.0)  # NaN counts as active
    return None if active.shape[0] > _DENSE_GRAM_SHARE * col_sq.shape[0] else active


def _gram(work: np.ndarray, active: np.ndarray | None) -> np.ndarray:
    """``work^T work``, over the ``active`` columns only (see :func:`_active_columns`)."""
    if active is None:
        # Y^T Y of a C-contiguous array: numpy hands this to BLAS syrk (half a gemm's flops)
        return work.T @ work
    d = work.shape[1]
    packed = np.take(work, active, axis=1)
    M = np.zeros((d, d))
    M[np.ix_(active, active)] = packed.T @ packed
    return M


def _fourth_moments(work: np.ndarray, active: np.ndarray | None):
    """``T = sum y^2 y^T`` and ``W = sum y^2 (y^2)^T`` of the rows of ``work``.

    The squares are formed slab by slab of rows (bounded extra memory), each slab adding
    two BLAS products.
    """
    n, d = work.shape
    k = d if active is None else active.shape[0]
    T = np.zeros((k, k))
    W = np.zeros((k, k))
    slab = max(1, _SLAB_ELEMENTS // max(k, 1))
    for start in range(0, n, slab):
        Y = work[start : start + slab]
        if active is not None:
            Y = np.take(Y, active, axis=1)
        Y2 = Y * Y
        T += Y2.T @ Y
        W += Y2.T @ Y2
    if active is None:
        return T, W
    full_T, full_W = np.zeros((d, d)), np.zeros((d, d))
    grid = np.ix_(active, active)
    full_T[grid], full_W[grid] = T, W
    return full_T, full_W


def _shift_fourth(n, e, s, M, T, W):
    """``T`` and ``W`` of rows moved by ``e`` (formulas in the module docstring).

    ``s`` and ``M`` are the first and second raw moments about the same centre as ``T``
    and ``W``.
    """
    a = np.diagonal(M)
    ee = e * e
    es = e * s
    new_T = T - np.outer(a, e) - 2.0 * e[:, None] * M
    new_T += 2.0 * np.outer(es, e) + np.outer(ee, s) - n * np.outer(ee, e)
    Te = T * e[None, :]
    cross = np.outer(a, ee) - 2.0 * np.outer(es, ee)
    new_W = W - 2.0 * (Te + Te.T) + cross + cross.T + 4.0 * np.outer(e, e) * M
    new_W += n * np.outer(ee, ee)
    return new_T, new_W


def _shift_stats(n, centre, moments, diagonal):
    """Statistics about the exact mean from raw moments about ``centre``.

    With ``y = x - centre``, ``s = sum y``, ``e = s / n`` and ``M = sum y y^T``, the rows
    ``z = y - e`` have ``sum z z^T = M - n e e^T`` (and ``T``, ``W`` as in the module
    docstring).
    """
    s = moments[0]
    e = s / n
    mean = centre + e
    if diagonal:
        return GaussianStats(float(n), mean, moments[1] - n * e * e)
    M = moments[1]
    fourth = _shift_fourth(n, e, s, M, *moments[2:]) if len(moments) == 4 else (None, None)
    scatter = M  # the raw moments are not needed any more
    scatter -= n * np.outer(e, e)
    return GaussianStats(float(n), mean, scatter, *fourth)
