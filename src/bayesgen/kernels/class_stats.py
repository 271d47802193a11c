"""Per-class Gaussian sufficient statistics of labelled rows, computed on all cores."""

from __future__ import annotations

import numpy as np

from bayesgen.base.threads import blas_thread_limit, lane_budget, run_lanes_over, usable_cores
from bayesgen.kernels.stats import GaussianStats

__all__ = ["class_stats", "stats_are_finite"]


def _class_rows(y_index: np.ndarray, n_classes: int) -> list[np.ndarray]:
    """Row numbers of each class, in their original order (one stable sort for all)."""
    order = np.argsort(y_index, kind="stable")
    bounds = np.zeros(n_classes + 1, dtype=np.intp)
    np.cumsum(np.bincount(y_index, minlength=n_classes), out=bounds[1:])
    return [order[bounds[k] : bounds[k + 1]] for k in range(n_classes)]


def class_stats(
    X: np.ndarray, y_index: np.ndarray, n_classes: int, *, diagonal: bool, fourth: bool = False
):
    """Per-class :class:`GaussianStats` of validated rows (a private kernel).

    Each class's rows are gathered once into a work buffer, centred in cache-sized blocks
    and reduced with one BLAS rank-k update; classes absent from the batch get ``None``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    y_index : ndarray of int of shape (n_samples,)
        Class position of each row, in ``range(n_classes)``.
    n_classes : int
    diagonal : bool
        Per-feature scatter only.
    fourth : bool, default=False
        Also the fourth-order moments (statistics kind "fourth", see
        :class:`~bayesgen.kernels.stats.GaussianStats`).

    Returns
    -------
    list of GaussianStats or None, of length n_classes
    """
    groups = _class_rows(y_index, n_classes)
    out: list = [None] * n_classes
    if X.shape[0] and any(rows.shape[0] == X.shape[0] for rows in groups):
        # one class only: no gather
        k = next(k for k, rows in enumerate(groups) if rows.shape[0] == X.shape[0])
        out[k] = GaussianStats.from_data(X, diagonal=diagonal, fourth=fourth)
        return out
    # classes are independent: on several cores, several classes at once, each with its
    # share of the BLAS threads (the gathers, norms and sums run in parallel too, and
    # OpenBLAS is more efficient on one thread per product than on two); largest first
    todo = sorted(
        (k for k, rows in enumerate(groups) if rows.shape[0]), key=lambda k: -groups[k].shape[0]
    )
    if not todo:
        return out
    # each lane gathers into a buffer the size of the largest class: at most a quarter
    # of X's size in buffers (or two of them), so memory does not grow with the cores
    buffer_bytes = groups[todo[0]].shape[0] * X.shape[1] * 8
    affordable = max(2, (X.shape[0] * X.shape[1] * 8 // 4) // max(1, buffer_bytes))
    lanes = min(lane_budget(), len(todo), affordable)
    if X.shape[0] * X.shape[1] < _PARALLEL_STATS_MIN:
        lanes = 1

    def make_worker():
        # one gather buffer per lane, reused for its classes (fresh memory costs a page
        # fault per 4 KiB)
        buffer = np.empty((groups[todo[0]].shape[0], X.shape[1]))

        def work(k) -> None:
            rows = groups[k]
            out[k] = GaussianStats.from_data(
                X, rows=rows, diagonal=diagonal, fourth=fourth, work=buffer[: rows.shape[0]]
            )

        return work

    if lanes == 1:
        run_lanes_over(todo, make_worker, 1)
    else:
        with blas_thread_limit(max(1, usable_cores() // lanes)):
            run_lanes_over(todo, make_worker, lanes)
    return out


#: values (rows x features) from which class statistics are computed on several threads
_PARALLEL_STATS_MIN = 1 << 20


def stats_are_finite(stats_list) -> bool:
    """False when some rows summarised were NaN or infinite (their statistics are not)."""
    for stats in stats_list:
        if stats is None:
            continue
        diag = stats.scatter if stats.diagonal else np.diagonal(stats.scatter)
        if not (np.isfinite(diag).all() and np.isfinite(stats.mean).all()):
            return False
    return True
