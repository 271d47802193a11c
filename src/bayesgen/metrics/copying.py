"""Memorisation: are generated rows closer to the training records than fresh real rows are?"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import DEFAULT_BATCH_SIZE, MetricResult, same_width
from bayesgen.metrics.distances import nearest_neighbour_distances

__all__ = ["MemorisationResult", "memorisation"]


@dataclass(frozen=True)
class MemorisationResult(MetricResult):
    """Nearest-training-record distances of generated rows vs held-out real rows.

    A generator that copies its training data puts generated rows much closer to training
    records than fresh real rows are: ratios well below 1 and exact copies flag it.

    Attributes
    ----------
    gen_median, gen_p05 : float
        Median and 5th percentile of generated-to-nearest-training distances.
    holdout_median, holdout_p05 : float
        The same for held-out real rows (the floor).
    median_ratio, p05_ratio : float
        ``gen / holdout`` (about 1: no sign of memorisation; << 1: copying).
    n_exact_copies : int
        Generated rows equal to a training row (every coordinate within ``atol``).
    holdout_exact_copies : int
        Held-out real rows equal to a training row (duplicates in the real data).
    exact_copy_indices : ndarray
        Indices of the generated rows that are exact copies.
    atol : float
    n_gen, n_train, n_holdout : int
    gen_distances, holdout_distances : ndarray
        Per-row distances (left out of ``to_dict``).
    """

    gen_median: float
    gen_p05: float
    holdout_median: float
    holdout_p05: float
    median_ratio: float
    p05_ratio: float
    n_exact_copies: int
    holdout_exact_copies: int
    exact_copy_indices: np.ndarray
    atol: float
    n_gen: int
    n_train: int
    n_holdout: int
    gen_distances: np.ndarray = field(repr=False, metadata={"json": False})
    holdout_distances: np.ndarray = field(repr=False, metadata={"json": False})


def _copies(X, T, idx, atol) -> np.ndarray:
    """``max_c |X[i, c] - T[idx[i], c]| <= atol`` for each row ``i``, in bounded memory."""
    out = np.empty(len(X), dtype=bool)
    for i in range(0, len(X), DEFAULT_BATCH_SIZE):
        sl = slice(i, i + DEFAULT_BATCH_SIZE)
        out[sl] = np.all(np.abs(X[sl] - T[idx[sl]]) <= atol, axis=1)
    return out


def memorisation(X_gen, X_train, X_holdout, *, atol=1e-6, batch_size=DEFAULT_BATCH_SIZE):
    """Compare nearest-training-record distances of generated and held-out real rows.

    With ``d(x) = min_t ||x - t||`` over the training rows ``t``, the result compares the
    distribution of ``d(g)`` over generated rows with that of ``d(h)`` over held-out real
    rows: ``median_ratio = median d(g) / median d(h)`` and ``p05_ratio`` likewise for the
    5th percentiles.  A ratio near 1 means generated rows are no closer to the training
    set than new real data; well below 1 means copying.

    Parameters
    ----------
    X_gen : array-like of shape (n_gen, d)
        Generated rows.
    X_train : array-like of shape (n_train, d)
        The rows the model was trained on.
    X_holdout : array-like of shape (n_holdout, d)
        Real rows the model never saw (the floor).
    atol : float, default 1e-6
        A row is an exact copy of its nearest training row when every coordinate differs by
        at most ``atol``.
    batch_size : int, default 1024
        Rows per block of the nearest-neighbour search (bounded memory).

    Returns
    -------
    MemorisationResult
    """
    G = as_float_matrix(X_gen, "X_gen")
    T = as_float_matrix(X_train, "X_train")
    H = as_float_matrix(X_holdout, "X_holdout")
    same_width(G, T, "X_gen", "X_train")
    same_width(H, T, "X_holdout", "X_train")
    dg, ig = nearest_neighbour_distances(G, T, batch_size=batch_size)
    dh, ih = nearest_neighbour_distances(H, T, batch_size=batch_size)
    cg = _copies(G, T, ig, atol)
    ch = _copies(H, T, ih, atol)
    gm, g5 = np.median(dg), np.percentile(dg, 5)
    hm, h5 = np.median(dh), np.percentile(dh, 5)
    return MemorisationResult(
        gen_median=float(gm),
        gen_p05=float(g5),
        holdout_median=float(hm),
        holdout_p05=float(h5),
        median_ratio=float(gm / hm) if hm > 0 else float("nan"),
        p05_ratio=float(g5 / h5) if h5 > 0 else float("nan"),
        n_exact_copies=int(cg.sum()),
        holdout_exact_copies=int(ch.sum()),
        exact_copy_indices=np.flatnonzero(cg),
        atol=float(atol),
        n_gen=len(G),
        n_train=len(T),
        n_holdout=len(H),
        gen_distances=dg,
        holdout_distances=dh,
    )
