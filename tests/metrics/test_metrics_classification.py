"""Classification report, reference classifier, label fidelity and TSTR.

Covers bayesgen.metrics.classification and bayesgen.metrics.train_synthetic.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from metrics_helpers import _mixture

import bayesgen.metrics as M
from bayesgen import DataError


def test_classification_report_confusion_matrix():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    rep = M.classification_report(y_true, y_pred, labels=[0, 1, 2, 3])
    np.testing.assert_array_equal(
        rep.confusion, [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    )
    assert rep.accuracy == pytest.approx(4 / 6)
    np.testing.assert_allclose(rep.per_class_accuracy[:3], [0.5, 2 / 3, 1.0])
    assert np.isnan(rep.per_class_accuracy[3])
    np.testing.assert_array_equal(rep.support, [2, 3, 1, 0])
    d = rep.to_dict()
    assert d["per_class_accuracy"][3] is None  # NaN -> null in JSON
    json.dumps(d, allow_nan=False)
    with pytest.raises(DataError):
        M.classification_report(y_true, y_pred, labels=[0, 1])


def test_classification_report_string_labels():
    rep = M.classification_report(["b", "a", "b"], ["b", "b", "b"])
    assert rep.labels.tolist() == ["a", "b"]
    np.testing.assert_array_equal(rep.confusion, [[0, 1], [0, 2]])


def test_label_fidelity_and_tstr_on_digits(digits):
    Xtr, ytr, Xte, yte = digits
    ref = M.fit_reference_classifier(Xtr, ytr, "logistic", random_state=0)
    # real held-out rows used as "generated": fidelity equals its own floor
    lf = M.label_fidelity(Xte, yte, ref, X_holdout=Xte, y_holdout=yte)
    assert lf.accuracy == lf.floor_accuracy > 0.9
    assert lf.generated.confusion.sum() == len(Xte)
    # wrong labels: fidelity collapses to chance
    wrong = (yte + 1) % 10
    assert M.label_fidelity(Xte, wrong, ref).accuracy < 0.1
    # TSTR: real data as "synthetic" matches TRTR; shuffled labels do not
    half = len(Xtr) // 2
    t = M.tstr(Xtr[:half], ytr[:half], Xtr[half:], ytr[half:], Xte, yte, random_state=0)
    assert t.n_train == half and 0.9 < t.ratio < 1.1
    shuffled = np.random.default_rng(0).permutation(ytr[:half])
    bad = M.tstr(Xtr[:half], shuffled, Xtr[half:], ytr[half:], Xte, yte, random_state=0)
    assert bad.ratio < 0.5
    json.dumps(t.to_dict(), allow_nan=False)


def test_reference_standardisation_floor_ignores_noise_in_constant_features():
    rng = np.random.default_rng(11)
    n = 1500
    X, y = _mixture(n, rng, d=4, n_classes=3, sep=4.0)
    X = np.hstack([X, 1e-4 * rng.standard_normal((n, 30))])  # near-constant real features
    G, yg = _mixture(n, rng, d=4, n_classes=3, sep=4.0)
    G = np.hstack([G, 0.05 * rng.standard_normal((n, 30))])  # small off-manifold noise
    Xh, yh = _mixture(n, rng, d=4, n_classes=3, sep=4.0)
    Xh = np.hstack([Xh, 1e-4 * rng.standard_normal((n, 30))])
    ref = M.fit_reference_classifier(X, y, random_state=0)
    scale = ref[0].scale_
    assert np.all(scale[4:] >= 0.1 * np.sqrt(np.mean(ref[0].var_)) - 1e-12)
    lf = M.label_fidelity(G, yg, ref, X_holdout=Xh, y_holdout=yh)
    assert lf.accuracy > lf.floor_accuracy - 0.03
    plain = M.fit_reference_classifier(X, y, random_state=0, std_floor=0)
    assert M.label_fidelity(G, yg, plain).accuracy < 0.7  # noise dominates without it
