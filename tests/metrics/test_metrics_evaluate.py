"""The evaluate() driver and its report (bayesgen.metrics.evaluation)."""

from __future__ import annotations

import json

import pytest
from metrics_helpers import FakeModel

import bayesgen.metrics as M


def _check_report(rep):
    d = rep.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "FID" not in text
    s = d["settings"]
    for key in (
        "n",
        "feature_space",
        "k_precision_recall",
        "k_density_coverage",
        "random_state",
        "reference_training",
        "ndb_bins",
    ):
        assert key in s
    assert s["k_precision_recall"] == 3 and s["k_density_coverage"] == 5
    table = rep.format_table()
    assert "real-vs-real floor" in table and "Frechet distance (" in table
    return d, table


def test_evaluate_end_to_end_with_fake_model(digits):
    Xtr, ytr, Xte, yte = digits
    model = FakeModel().fit(Xtr, ytr)
    rep = M.evaluate(model, Xte, yte, X_train=Xtr, y_train=ytr, random_state=0, pixel_scale=16 / 16)
    d, table = _check_report(rep)
    s = d["settings"]
    assert s["feature_space"] == "pca-50" and s["n"] == len(Xtr) // 2
    assert s["reference_training"] == "X_train" and s["random_state"] == 0
    assert rep.frechet.name == "Frechet distance (pca-50)"
    assert rep.frechet.n_real == rep.frechet.n_gen == s["n"]
    assert rep.classification.accuracy > 0.8
    # a diagonal Gaussian generator is visibly worse than real data on several metrics
    assert rep.frechet.value > rep.frechet_floor.value
    assert rep.memorisation is not None and rep.memorisation.n_exact_copies == 0
    assert rep.tstr.trtr_accuracy > 0.9
    assert "held-out bits/dim (pixel values 0-" in table
    # same seed, same report
    rep2 = M.evaluate(model, Xte, yte, X_train=Xtr, y_train=ytr, random_state=0, pixel_scale=1.0)
    assert rep2.to_dict() == d


def test_evaluate_without_train_and_with_mlp_space(digits):
    Xtr, ytr, Xte, yte = digits
    model = FakeModel().fit(Xtr, ytr)
    rep = M.evaluate(model, Xte, yte, n_samples=400, feature_space="mlp-hidden-16", random_state=1)
    d, _ = _check_report(rep)
    s = d["settings"]
    assert s["feature_space"] == "mlp-hidden-16"
    assert "half of X_test" in s["reference_training"]
    assert s["n"] == len(Xte) // 2 and s["n_generated"] == 400
    assert rep.memorisation is None and any("memorisation" in n for n in rep.notes)


def test_evaluate_with_bayes_classifier(digits):
    import bayesgen

    if not hasattr(bayesgen, "BayesClassifier"):
        pytest.skip("bayesgen.BayesClassifier not available yet")
    Xtr, ytr, Xte, yte = digits
    model = bayesgen.BayesClassifier(density="gaussian", reg_covar=1e-1).fit(Xtr, ytr)
    rep = M.evaluate(model, Xte, yte, X_train=Xtr, y_train=ytr, random_state=0)
    _check_report(rep)
    assert rep.classification.accuracy > 0.8
    assert rep.log_likelihood is not None
