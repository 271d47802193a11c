"""Named feature spaces (bayesgen.metrics.features)."""

from __future__ import annotations

import numpy as np
import pytest

import bayesgen.metrics as M
from bayesgen import NotFittedError


def test_feature_spaces(digits):
    Xtr, ytr, Xte, _ = digits
    pca = M.make_feature_space("pca-50").fit(Xtr, random_state=0)
    assert pca.name == "pca-50" and pca.transform(Xte).shape == (len(Xte), 50)
    small = M.PCAFeatures(100).fit(Xtr[:, :10])
    assert small.name == "pca-10"
    with pytest.raises(NotFittedError):
        M.PCAFeatures(5).transform(Xte)
    assert M.make_feature_space("input").name == "input"
    with pytest.raises(ValueError):
        M.make_feature_space("inception")
    mlp = M.fit_reference_classifier(Xtr, ytr, "mlp", random_state=0, hidden_units=32)
    feats = M.ClassifierFeatures(mlp)
    H = feats.transform(Xte)
    assert feats.name == "mlp-hidden-32" and H.shape == (len(Xte), 32) and H.min() >= 0
    net = mlp[-1]
    logits = H @ net.coefs_[-1] + net.intercepts_[-1]
    np.testing.assert_array_equal(net.classes_[np.argmax(logits, 1)], mlp.predict(Xte))
    with pytest.raises(NotFittedError):
        M.ClassifierFeatures(M.PCAFeatures())
