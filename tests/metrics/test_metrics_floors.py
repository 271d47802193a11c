"""Across families: identical distributions sit at the floor; a missing class is caught.

Covers precision/recall, density/coverage, the Frechet distance and NDB together.
"""

from __future__ import annotations

import json

import numpy as np
from metrics_helpers import _mixture

import bayesgen.metrics as M


def test_identical_distributions_sit_at_the_floor():
    rng = np.random.default_rng(8)
    n = 1500
    A, _ = _mixture(n, rng)
    B, _ = _mixture(n, rng)
    G, _ = _mixture(n, rng)
    pr, prf = M.precision_recall(A, G), M.precision_recall(A, B)
    dc, dcf = M.density_coverage(A, G), M.density_coverage(A, B)
    fd, fdf = float(M.frechet_distance(A, G)), float(M.frechet_distance(A, B))
    assert pr.k == 3 and dc.k == 5
    assert abs(pr.precision - prf.precision) < 0.05
    assert abs(pr.recall - prf.recall) < 0.05
    assert abs(dc.coverage - dcf.coverage) < 0.05
    assert abs(dc.density - 1.0) < 0.15 and abs(dcf.density - 1.0) < 0.15
    # estimation noise only (about 0.1 here): far below a 0.5 shift on every axis (2.0)
    assert fd < 0.6 and fdf < 0.6
    assert float(M.frechet_distance(A, G + 0.5)) > 3 * max(fd, fdf)
    # NDB: about alpha * K bins flagged, averaged over independent draws
    fractions = []
    for seed in range(4):
        r = np.random.default_rng(100 + seed)
        res = M.ndb(_mixture(2000, r)[0], _mixture(2000, r)[0], n_bins=20, random_state=seed)
        fractions.append(res.ndb_fraction)
        assert res.js_divergence < 0.02
    assert np.mean(fractions) < 0.15


def test_missing_class_is_flagged_by_ndb_and_coverage():
    rng = np.random.default_rng(9)
    n = 2000
    A, _ = _mixture(n, rng)
    B, _ = _mixture(n, rng)
    G, yg = _mixture(n, rng, drop=0)
    assert 0 not in yg
    res, floor = M.ndb(A, G, n_bins=20, random_state=0), M.ndb(A, B, n_bins=20, random_state=0)
    assert res.n_different > floor.n_different
    empty = res.proportions_other == 0  # bins of the missing cluster
    assert empty.any() and np.all(res.different[empty])
    assert np.all(res.z[empty] > 0)
    assert res.js_divergence > 5 * floor.js_divergence
    dc, dcf = M.density_coverage(A, G), M.density_coverage(A, B)
    assert dc.coverage < dcf.coverage - 0.1  # one cluster in five (~0.2) is uncovered
    pr, prf = M.precision_recall(A, G), M.precision_recall(A, B)
    assert pr.recall < prf.recall - 0.1
    assert pr.precision > prf.precision - 0.05  # what is generated is still realistic
    json.dumps(res.to_dict(), allow_nan=False)
