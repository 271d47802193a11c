"""The correlation of a Gaussian seen through boxes (ties, missing cells) against the
correlation of the latent draws themselves."""

import numpy as np

from bayesgen.kernels.censored import censored_correlation

R_TRUE = np.array([[1.0, 0.7, 0.4], [0.7, 1.0, 0.3], [0.4, 0.3, 1.0]])


def _boxes(Z, rng, missing_rate=0.0):
    """Column 0 cut into levels holding about 90/6/4 %, column 2 made binary, column 1
    exact but missing at random given column 2 (more often when column 2 is high)."""
    cuts = np.array([-np.inf, 1.2816, 1.75, np.inf])
    k = np.searchsorted(cuts, Z[:, 0]) - 1
    lo, hi = Z.copy(), Z.copy()
    lo[:, 0], hi[:, 0] = cuts[k], cuts[k + 1]
    high = Z[:, 2] > 0.3
    lo[:, 2] = np.where(high, 0.3, -np.inf)
    hi[:, 2] = np.where(high, np.inf, 0.3)
    gone = rng.random(Z.shape[0]) < np.where(high, 2 * missing_rate, missing_rate / 2)
    lo[gone, 1] = hi[gone, 1] = np.nan
    start = np.clip(np.zeros_like(lo), np.nan_to_num(lo, nan=-1), np.nan_to_num(hi, nan=1))
    start[gone, 1] = np.nan
    return lo, hi, start


def test_ties_and_missing_cells_keep_the_latent_correlation():
    rng = np.random.default_rng(0)
    Z = rng.multivariate_normal(np.zeros(3), R_TRUE, size=20_000)
    lo, hi, start = _boxes(Z, rng, missing_rate=0.2)
    R = censored_correlation(lo, hi, start, rng)
    # the boxes lose information, so the estimate varies more than the latent draws'
    # own correlation (standard error about 0.005 here): within 0.03 of it
    np.testing.assert_allclose(R, np.corrcoef(Z.T), atol=0.03)
    assert np.allclose(np.diag(R), 1.0)
    assert np.linalg.eigvalsh(R)[0] > 0
    # a guess inside each box (the box centre for finite boxes) attenuates: the test bites
    naive = np.corrcoef(np.where(np.isnan(start), 0.0, start).T)
    assert abs(naive[0, 1] - 0.7) > 0.1


def test_exact_scores_give_their_own_correlation():
    rng = np.random.default_rng(1)
    Z = rng.multivariate_normal(np.zeros(3), R_TRUE, size=500)
    R = censored_correlation(Z, Z, Z, rng)
    moment = Z.T @ Z
    sd = np.sqrt(np.diag(moment))
    np.testing.assert_allclose(R, moment / sd[:, None] / sd[None, :], atol=1e-12)
