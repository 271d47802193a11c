"""Precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Both describe each set's support by the union of k-nearest-neighbour balls
``B(x_i, NND_k(x_i))`` around its rows, and count how many rows of the other set fall
inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import DEFAULT_BATCH_SIZE, MetricResult, same_width
from bayesgen.metrics.distances import count_in_balls, knn_radii, nearest_neighbour_distances
from bayesgen.metrics.features import _space_name

__all__ = [
    "DensityCoverageResult",
    "PrecisionRecallResult",
    "density_coverage",
    "precision_recall",
]


@dataclass(frozen=True)
class PrecisionRecallResult(MetricResult):
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Attributes
    ----------
    precision : float
        Fraction of generated rows inside the real manifold (union of real k-NN balls).
    recall : float
        Fraction of real rows inside the generated manifold.
    k : int
    feature_space : str
    n_real, n_gen : int
    """

    precision: float
    recall: float
    k: int
    feature_space: str
    n_real: int
    n_gen: int


@dataclass(frozen=True)
class DensityCoverageResult(MetricResult):
    """Density and coverage (Naeem et al. 2020).

    Attributes
    ----------
    density : float
        ``(1 / (k m)) sum_j #{i : g_j in B(r_i, NND_k(r_i))}``; about 1 when generated rows
        are distributed like real ones, above 1 when they crowd dense real regions.
    coverage : float
        Fraction of real rows whose k-NN ball contains at least one generated row.
    k : int
    feature_space : str
    n_real, n_gen : int
    """

    density: float
    coverage: float
    k: int
    feature_space: str
    n_real: int
    n_gen: int


def precision_recall(
    F_real, F_gen, *, k=3, feature_space="input", batch_size=DEFAULT_BATCH_SIZE
) -> PrecisionRecallResult:
    """Improved precision and recall with k-nearest-neighbour manifolds.

    With real rows ``r_i`` (n of them) and generated rows ``g_j`` (m of them),

    ``precision = (1/m) sum_j [exists i : ||g_j - r_i|| <= NND_k(r_i)]``,
    ``recall = (1/n) sum_i [exists j : ||r_i - g_j|| <= NND_k(g_j)]``,

    where ``NND_k(x)`` is the distance from ``x`` to its k-th nearest neighbour in its own
    set (:func:`~bayesgen.metrics.knn_radii`).

    Parameters
    ----------
    F_real : array-like of shape (n_real, p)
        Real features.
    F_gen : array-like of shape (n_gen, p)
        Generated features in the same space.
    k : int, default 3
        Neighbour rank defining each ball's radius (the paper's choice).
    feature_space : str or FeatureSpace
        Names the space in the result (no transform is applied).
    batch_size : int, default 1024
        Rows per block in the membership tests.

    Returns
    -------
    PrecisionRecallResult
    """
    R = as_float_matrix(F_real, "F_real")
    G = as_float_matrix(F_gen, "F_gen")
    same_width(R, G, "F_real", "F_gen")
    r_real = knn_radii(R, k)
    r_gen = knn_radii(G, k)
    precision = float(np.mean(count_in_balls(G, R, r_real, batch_size=batch_size) > 0))
    recall = float(np.mean(count_in_balls(R, G, r_gen, batch_size=batch_size) > 0))
    return PrecisionRecallResult(
        precision=precision,
        recall=recall,
        k=int(k),
        feature_space=_space_name(feature_space),
        n_real=len(R),
        n_gen=len(G),
    )


def density_coverage(
    F_real, F_gen, *, k=5, feature_space="input", batch_size=DEFAULT_BATCH_SIZE
) -> DensityCoverageResult:
    """Density and coverage with k-nearest-neighbour balls around REAL rows.

    With real rows ``r_i`` (n of them) and generated rows ``g_j`` (m of them),

    ``density = (1/(k m)) sum_j sum_i [||g_j - r_i|| <= NND_k(r_i)]``,
    ``coverage = (1/n) sum_i [min_j ||r_i - g_j|| <= NND_k(r_i)]``.

    Only real balls are used, so a few outlying generated rows cannot inflate either.

    Parameters
    ----------
    F_real : array-like of shape (n_real, p)
    F_gen : array-like of shape (n_gen, p)
    k : int, default 5
        The paper's choice.
    feature_space : str or FeatureSpace
        Names the space in the result.
    batch_size : int, default 1024

    Returns
    -------
    DensityCoverageResult
    """
    R = as_float_matrix(F_real, "F_real")
    G = as_float_matrix(F_gen, "F_gen")
    same_width(R, G, "F_real", "F_gen")
    r_real = knn_radii(R, k)
    counts = count_in_balls(G, R, r_real, batch_size=batch_size)
    nn, _ = nearest_neighbour_distances(R, G, batch_size=batch_size)
    return DensityCoverageResult(
        density=float(counts.sum() / (int(k) * len(G))),
        coverage=float(np.mean(nn <= r_real)),
        k=int(k),
        feature_space=_space_name(feature_space),
        n_real=len(R),
        n_gen=len(G),
    )
