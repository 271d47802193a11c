"""Number of statistically different bins (Richardson and Weiss 2018) and the JS divergence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import MetricResult, describe_seed, same_width, seed_from

__all__ = ["NDBResult", "ndb"]


@dataclass(frozen=True)
class NDBResult(MetricResult):
    """Number of statistically different bins (Richardson and Weiss 2018).

    Attributes
    ----------
    n_bins : int
        K, the number of k-means bins fitted on the real training rows.
    n_different : int
        NDB: bins whose proportions differ at level ``alpha`` (two-sided two-proportion
        z-test with pooled proportion).
    ndb_fraction : float
        NDB / K.  For two samples of one distribution it is about ``alpha``.
    alpha : float
    js_divergence : float
        Jensen-Shannon divergence between the two bin histograms, in **bits** (in [0, 1]).
    proportions_real, proportions_other : ndarray of shape (K,)
    z : ndarray of shape (K,)
        z statistic per bin (positive: the other set has too few rows in the bin).
    different : ndarray of shape (K,), bool
    n_real, n_other : int
    random_state : int, str or None
    """

    n_bins: int
    n_different: int
    ndb_fraction: float
    alpha: float
    js_divergence: float
    proportions_real: np.ndarray
    proportions_other: np.ndarray
    z: np.ndarray
    different: np.ndarray
    n_real: int
    n_other: int
    random_state: int | str | None


def _fit_bins(X: np.ndarray, n_bins: int, seed: int):
    """K-means with ``n_bins`` clusters on real rows ``X``: the bins of :func:`ndb`."""
    from sklearn.cluster import KMeans

    n_bins = int(n_bins)
    if n_bins < 2 or n_bins > len(X):
        raise DataError(
            f"n_bins must be between 2 and the number of real rows ({len(X)}); got {n_bins}."
        )
    return KMeans(n_clusters=n_bins, n_init=2, max_iter=100, random_state=seed).fit(X)


def _js_divergence_bits(p1: np.ndarray, p2: np.ndarray) -> float:
    """``JS(p1, p2) = KL(p1 || m) / 2 + KL(p2 || m) / 2`` with ``m = (p1 + p2) / 2``, in bits.

    Empty bins contribute ``0 log 0 = 0``; ``m`` is positive wherever ``p1`` or ``p2`` is.
    """
    m = 0.5 * (p1 + p2)

    def _kl(p, q):
        nz = p > 0
        return float(np.sum(p[nz] * np.log2(p[nz] / q[nz])))

    return 0.5 * _kl(p1, m) + 0.5 * _kl(p2, m)


def _ndb_compare(km, X_real, X_other, alpha, seed_desc) -> NDBResult:
    """Assign both sets to the bins of ``km`` and z-test each bin's two proportions.

    With bin counts ``c1, c2`` of set sizes ``n1, n2``, proportions ``p = c / n`` and the
    pooled proportion ``p0 = (c1 + c2) / (n1 + n2)``,
    ``z = (p1 - p2) / sqrt(p0 (1 - p0) (1/n1 + 1/n2))``; a bin differs when
    ``|z| > Phi^-1(1 - alpha/2)``.  A bin empty in both sets has ``z = 0``.
    """
    from scipy.stats import norm

    K = km.n_clusters
    c_real = np.bincount(km.predict(X_real), minlength=K).astype(np.float64)
    c_other = np.bincount(km.predict(X_other), minlength=K).astype(np.float64)
    n1, n2 = c_real.sum(), c_other.sum()
    p1, p2 = c_real / n1, c_other / n2
    pooled = (c_real + c_other) / (n1 + n2)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, (p1 - p2) / np.where(se > 0, se, 1.0), 0.0)
    different = np.abs(z) > norm.ppf(1.0 - alpha / 2.0)
    js = _js_divergence_bits(p1, p2)
    n_diff = int(np.count_nonzero(different))
    return NDBResult(
        n_bins=K,
        n_different=n_diff,
        ndb_fraction=n_diff / K,
        alpha=float(alpha),
        # Rounding can leave a tiny negative sum for identical histograms.
        js_divergence=max(js, 0.0),
        proportions_real=p1,
        proportions_other=p2,
        z=z,
        different=different,
        n_real=int(n1),
        n_other=int(n2),
        random_state=seed_desc,
    )


def _check_alpha(alpha) -> float:
    """``alpha`` as a float in (0, 1), or a ValueError."""
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    return a


def ndb(X_train_real, X_test_or_gen, n_bins=100, alpha=0.05, random_state=None) -> NDBResult:
    """Number of statistically different bins and the Jensen-Shannon divergence of the bins.

    K-means (``n_init=2``) with ``n_bins`` clusters is fitted on the real training rows;
    both sets are assigned to their nearest centre, and each bin's two proportions are
    compared with a two-sided two-proportion z-test using the pooled proportion:
    ``z_b = (p1_b - p2_b) / sqrt(p0_b (1 - p0_b) (1/n1 + 1/n2))``, and bin ``b`` differs
    when ``|z_b| > Phi^-1(1 - alpha/2)``.

    Parameters
    ----------
    X_train_real : array-like of shape (n, d)
        Real rows defining the bins (and the reference proportions).
    X_test_or_gen : array-like of shape (m, d)
        Generated rows, or a disjoint real set for the floor.
    n_bins : int, default 100
        K; keep ``n / K`` above about 20 so each bin has enough rows for the z-test.
    alpha : float, default 0.05
        Significance level per bin.
    random_state : None, int or numpy.random.Generator
        Seeds k-means.

    Returns
    -------
    NDBResult
        ``n_different`` (NDB), ``ndb_fraction`` (NDB/K) and ``js_divergence`` in bits.
    """
    R = as_float_matrix(X_train_real, "X_train_real")
    Xo = as_float_matrix(X_test_or_gen, "X_test_or_gen")
    same_width(R, Xo, "X_train_real", "X_test_or_gen")
    a = _check_alpha(alpha)
    km = _fit_bins(R, n_bins, seed_from(check_random_state(random_state)))
    return _ndb_compare(km, R, Xo, a, describe_seed(random_state))
