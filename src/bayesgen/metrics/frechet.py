"""Frechet distance between Gaussians fitted to real and generated features.

It is never called FID here: FID means the Frechet distance in Inception-v3 features, and
these features come from a *named* :class:`~bayesgen.metrics.FeatureSpace`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import MetricResult, same_width
from bayesgen.metrics.features import _space_name

__all__ = ["FrechetResult", "frechet_distance", "frechet_distance_gaussian"]


@dataclass(frozen=True)
class FrechetResult(MetricResult):
    """Frechet distance between Gaussians fitted to real and generated features.

    Attributes
    ----------
    name : str
        E.g. ``"Frechet distance (pca-50)"``.
    value : float
        ``||mu_r - mu_g||^2 + tr(C_r + C_g - 2 (C_r^1/2 C_g C_r^1/2)^1/2)`` in squared
        feature units.
    feature_space : str
    n_real, n_gen : int
    """

    name: str
    value: float
    feature_space: str
    n_real: int
    n_gen: int

    def __float__(self) -> float:
        return float(self.value)


def _sqrtm_psd(C: np.ndarray) -> np.ndarray:
    """Symmetric square root ``V diag(sqrt(max(w, 0))) V^T`` of a PSD matrix ``C = V w V^T``."""
    w, V = np.linalg.eigh(0.5 * (C + C.T))
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def frechet_distance_gaussian(mu1, cov1, mu2, cov2) -> float:
    """Frechet (2-Wasserstein squared) distance between two Gaussians, from their moments.

    ``||mu1 - mu2||^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2)``.  The trace term
    uses the symmetric form, computed with two symmetric eigendecompositions (tiny negative
    eigenvalues clamped to 0), so it is real and stable even for singular covariances.

    Parameters
    ----------
    mu1, mu2 : array-like of shape (d,)
    cov1, cov2 : array-like of shape (d, d)

    Returns
    -------
    float
        Non-negative distance in squared units of the features.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    C1 = np.atleast_2d(np.asarray(cov1, dtype=np.float64))
    C2 = np.atleast_2d(np.asarray(cov2, dtype=np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or C1.shape != (d, d) or C2.shape != (d, d):
        raise DataError(
            f"inconsistent shapes: mu1 {mu1.shape}, mu2 {mu2.shape}, cov1 {C1.shape}, cov2 "
            f"{C2.shape}; expected (d,), (d,), (d, d), (d, d)."
        )
    s1 = _sqrtm_psd(C1)
    M = s1 @ C2 @ s1
    # tr(M^1/2) is the sum of the square roots of M's eigenvalues; M is symmetric PSD.
    w = np.linalg.eigvalsh(0.5 * (M + M.T))
    tr_sqrt = float(np.sum(np.sqrt(np.clip(w, 0.0, None))))
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(C1) + np.trace(C2) - 2.0 * tr_sqrt)
    return max(value, 0.0)


def _moments(F: np.ndarray):
    """Mean and unbiased covariance of the rows of ``F`` (zero covariance for one row)."""
    mu = F.mean(axis=0)
    C = np.atleast_2d(np.cov(F, rowvar=False)) if len(F) > 1 else np.zeros((F.shape[1],) * 2)
    return mu, C


def frechet_distance(F_real, F_gen, *, feature_space="input") -> FrechetResult:
    """Frechet distance between Gaussians fitted to two feature sets.

    With sample means ``mu_r, mu_g`` and covariances ``C_r, C_g`` of the two sets, the
    value is :func:`frechet_distance_gaussian` ``(mu_r, C_r, mu_g, C_g)``.

    Parameters
    ----------
    F_real : array-like of shape (n_real, k)
        Real rows ALREADY mapped into the feature space.
    F_gen : array-like of shape (n_gen, k)
        Generated rows mapped into the same feature space.
    feature_space : str or FeatureSpace, default "input"
        Only names the result (``"Frechet distance (<name>)"``); no transform is applied.

    Returns
    -------
    FrechetResult
        ``float(result)`` is the distance.  The estimate is biased upwards at small n, so
        compare it with its real-vs-real floor computed at the same n.

    Notes
    -----
    The distance sees only means and covariances.  A generator that matches the first two
    moments of the features -- e.g. Gaussian class-conditional densities in a linear
    (PCA) feature space -- sits at the floor however unrealistic its individual samples
    are; read it together with :func:`~bayesgen.metrics.precision_recall` and
    :func:`~bayesgen.metrics.density_coverage`.
    """
    R = as_float_matrix(F_real, "F_real")
    G = as_float_matrix(F_gen, "F_gen")
    same_width(R, G, "F_real", "F_gen")
    name = _space_name(feature_space)
    mr, cr = _moments(R)
    mg, cg = _moments(G)
    return FrechetResult(
        name=f"Frechet distance ({name})",
        value=frechet_distance_gaussian(mr, cr, mg, cg),
        feature_space=name,
        n_real=len(R),
        n_gen=len(G),
    )
