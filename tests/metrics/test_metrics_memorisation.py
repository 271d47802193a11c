"""Memorisation: exact copies and nearest-training-row distances (bayesgen.metrics.copying)."""

from __future__ import annotations

import json

import numpy as np

import bayesgen.metrics as M


def test_memorisation_flags_exact_copies():
    rng = np.random.default_rng(10)
    T = rng.normal(size=(400, 20))
    H = rng.normal(size=(200, 20))
    fresh = rng.normal(size=(200, 20))
    copy_rows = rng.choice(len(T), size=15, replace=False)
    G = fresh.copy()
    G[:15] = T[copy_rows]
    res = M.memorisation(G, T, H, batch_size=64)
    assert res.n_exact_copies == 15
    np.testing.assert_array_equal(res.exact_copy_indices, np.arange(15))
    assert res.holdout_exact_copies == 0
    np.testing.assert_array_equal(res.gen_distances[:15], 0.0)
    # fresh draws sit at the held-out floor; a pure copier does not
    ok = M.memorisation(fresh, T, H)
    assert 0.85 < ok.median_ratio < 1.15 and ok.n_exact_copies == 0
    copier = M.memorisation(T[:100] + 1e-9, T, H)
    assert copier.n_exact_copies == 100 and copier.median_ratio < 1e-6
    d = res.to_dict()
    assert "gen_distances" not in d
    json.dumps(d, allow_nan=False)
