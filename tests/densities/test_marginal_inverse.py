"""The marginals' inverse CDF (guide-table search) against a plain binary search."""

import math

import numpy as np
import pytest
from scipy import special

from bayesgen.densities.marginals import EmpiricalMarginals


def _binary_search_inverse(marginals, S):
    """The inverse CDF written the direct way: binary search, then the bin's linear piece."""
    n, d = S.shape
    X = np.empty((n, d))
    U = special.ndtr(S)
    for j in range(d):
        e, f, snap = marginals._feature(j)
        t, scale = marginals.tail_mass[j], marginals.tail_scale[j]
        u = U[:, j]
        b = np.clip(np.searchsorted(f, u, side="right") - 1, 0, e.shape[0] - 2)
        x = e[b] + (e[b + 1] - e[b]) * (u - f[b]) / (f[b + 1] - f[b])
        x = np.where(np.isnan(snap[b]), x, snap[b])
        below, above = u < f[0], u > f[-1]
        if not np.isnan(snap).any():
            x[below], x[above] = snap[0], snap[-1]
        else:
            x[below] = e[0] + scale * (special.log_ndtr(S[below, j]) - math.log(t))
            x[above] = e[-1] - scale * (special.log_ndtr(-S[above, j]) - math.log(t))
        X[:, j] = x
    return X


@pytest.mark.parametrize("n", [40, 3000])
def test_inverse_equals_binary_search(n):
    rng = np.random.default_rng(n)
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 5, n),  # a few point masses
            np.round(rng.normal(size=n), 1),  # a fine lattice: uneven bins
            rng.lognormal(size=n) ** 3,  # heavy right tail
            np.where(rng.random(n) < 0.3, 0.0, rng.exponential(size=n)),  # atom + continuum
        ]
    )
    marginals = EmpiricalMarginals.fit(X)
    S = 1.5 * rng.normal(size=(20_000, X.shape[1]))
    S[:5] = [[-9.0], [9.0], [0.0], [-40.0], [40.0]]  # deep tails and the median
    got = marginals.inverse(S)
    expected = _binary_search_inverse(marginals, S)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # point masses come back exactly
    assert set(np.unique(got[:, 1])) <= set(np.unique(X[:, 1]))
