"""Euclidean distance kernels in bounded memory: nearest neighbours, ball counts, k-NN radii.

The blocked kernels hold at most ``batch_size * _COL_BLOCK`` squared distances at once, so
memory stays bounded for any number of rows.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import DEFAULT_BATCH_SIZE, same_width

__all__ = [
    "count_in_balls",
    "knn_radii",
    "nearest_neighbour_distances",
    "pairwise_sq_distances",
]

#: Columns of the second operand processed at once by the blocked distance kernels.
_COL_BLOCK = 8192


def pairwise_sq_distances(A, B) -> np.ndarray:
    """Squared Euclidean distances, unbatched: ``|a|^2 + |b|^2 - 2 a.b`` clamped at 0.

    Parameters
    ----------
    A : array-like of shape (n, d)
    B : array-like of shape (m, d)

    Returns
    -------
    ndarray of shape (n, m)
        Memory is ``n * m`` doubles; use :func:`nearest_neighbour_distances` or
        :func:`count_in_balls` for large inputs.
    """
    A = as_float_matrix(A, "A")
    B = as_float_matrix(B, "B")
    same_width(A, B, "A", "B")
    return _sq_block(A, np.einsum("ij,ij->i", A, A), B, np.einsum("ij,ij->i", B, B))


def _sq_block(A, a2, B, b2) -> np.ndarray:
    """``a2[:, None] + b2[None, :] - 2 A B^T``, clamped at 0, in one (n, m) buffer.

    The expansion turns the distance computation into one matrix product; rounding can
    make it slightly negative for (near-)identical rows, hence the clamp.
    """
    D = A @ B.T
    D *= -2.0
    D += a2[:, None]
    D += b2[None, :]
    np.maximum(D, 0.0, out=D)
    return D


def _check_batch(batch_size) -> int:
    """``batch_size`` as a positive int, or a ValueError."""
    b = int(batch_size)
    if b < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    return b


def nearest_neighbour_distances(A, B, *, batch_size=DEFAULT_BATCH_SIZE):
    """Distance from each row of ``A`` to its nearest row of ``B``, in bounded memory.

    ``d_i = min_j ||a_i - b_j||`` and ``j_i = argmin_j ||a_i - b_j||``.  Rows of ``A`` are
    processed ``batch_size`` at a time against blocks of 8192 rows of ``B``; the distance
    to the chosen neighbour is then recomputed directly as ``||a - b||`` so exact copies
    give exactly 0 (the expanded form of :func:`pairwise_sq_distances` leaves rounding
    residue).

    Parameters
    ----------
    A : array-like of shape (n, d)
    B : array-like of shape (m, d)
    batch_size : int, default 1024

    Returns
    -------
    distances : ndarray of shape (n,)
    indices : ndarray of shape (n,)
        Row of ``B`` nearest to each row of ``A``.
    """
    A = as_float_matrix(A, "A")
    B = as_float_matrix(B, "B")
    same_width(A, B, "A", "B")
    bs = _check_batch(batch_size)
    a2 = np.einsum("ij,ij->i", A, A)
    b2 = np.einsum("ij,ij->i", B, B)
    dist = np.empty(len(A))
    index = np.empty(len(A), dtype=np.int64)
    for i in range(0, len(A), bs):
        Ai = A[i : i + bs]
        best = np.full(len(Ai), np.inf)
        arg = np.zeros(len(Ai), dtype=np.int64)
        for j in range(0, len(B), _COL_BLOCK):
            D = _sq_block(Ai, a2[i : i + bs], B[j : j + _COL_BLOCK], b2[j : j + _COL_BLOCK])
            jj = np.argmin(D, axis=1)
            v = D[np.arange(len(Ai)), jj]
            # Strict "<" keeps the earliest block on ties, as one argmin over all of B would.
            better = v < best
            best[better] = v[better]
            arg[better] = jj[better] + j
        diff = Ai - B[arg]
        dist[i : i + bs] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        index[i : i + bs] = arg
    return dist, index


def count_in_balls(Q, centres, radii, *, batch_size=DEFAULT_BATCH_SIZE) -> np.ndarray:
    """For each query, count the balls ``B(centre_j, radius_j)`` that contain it.

    ``count_i = #{j : ||q_i - c_j|| <= r_j}``: a query ``q`` is inside ball ``j`` when
    ``||q - centre_j|| <= radius_j``.  Computed in blocks of ``batch_size`` queries x 8192
    centres (bounded memory).

    Parameters
    ----------
    Q : array-like of shape (n, d)
    centres : array-like of shape (m, d)
    radii : array-like of shape (m,)
    batch_size : int, default 1024

    Returns
    -------
    ndarray of shape (n,), int64
    """
    Q = as_float_matrix(Q, "Q")
    C = as_float_matrix(centres, "centres")
    same_width(Q, C, "Q", "centres")
    r = np.asarray(radii, dtype=np.float64).ravel()
    if r.shape[0] != C.shape[0]:
        raise DataError(f"radii has {r.shape[0]} entries for {C.shape[0]} centres; pass one each.")
    bs = _check_batch(batch_size)
    # Compare squared distances with squared radii: no square root per pair.
    r2 = r * r
    q2 = np.einsum("ij,ij->i", Q, Q)
    c2 = np.einsum("ij,ij->i", C, C)
    counts = np.zeros(len(Q), dtype=np.int64)
    for i in range(0, len(Q), bs):
        for j in range(0, len(C), _COL_BLOCK):
            D = _sq_block(
                Q[i : i + bs], q2[i : i + bs], C[j : j + _COL_BLOCK], c2[j : j + _COL_BLOCK]
            )
            counts[i : i + bs] += np.count_nonzero(D <= r2[None, j : j + _COL_BLOCK], axis=1)
    return counts


def knn_radii(X, k) -> np.ndarray:
    """Distance from each row of ``X`` to its k-th nearest OTHER row.

    ``NND_k(x_i) = ||x_i - x_(k)||`` where ``x_(k)`` is the k-th closest row to ``x_i``
    among the rows ``x_j, j != i``; the radius of the k-NN ball around ``x_i``.

    Parameters
    ----------
    X : array-like of shape (n, d), n > k
    k : int

    Returns
    -------
    ndarray of shape (n,)
    """
    from sklearn.neighbors import NearestNeighbors

    X = as_float_matrix(X, "X")
    k = int(k)
    if k < 1 or len(X) <= k:
        raise DataError(
            f"k-nearest-neighbour radii need 1 <= k < n_rows; got k={k} with {len(X)} rows. "
            "Pass more rows or a smaller k."
        )
    d, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return d[:, k]  # column 0 is the row itself (or an exact duplicate, also at distance 0)
