"""Synthetic data and a stand-in model for the bayesgen.metrics tests (not a test module)."""

from __future__ import annotations

import numpy as np


def _mixture(n, rng, *, d=8, n_classes=5, sep=6.0, drop=None):
    """Well-separated isotropic Gaussian clusters; class c centred at sep * e_c."""
    classes = np.arange(n_classes)
    if drop is not None:
        classes = classes[classes != drop]
    y = rng.choice(classes, size=n)
    centres = np.zeros((n_classes, d))
    centres[np.arange(n_classes), np.arange(n_classes) % d] = sep
    return centres[y] + rng.standard_normal((n, d)), y


class FakeModel:
    """Per-class diagonal Gaussian with the bayesgen model API (sample/predict/score_samples)."""

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.classes_ = np.unique(y)
        self.means_ = np.array([X[y == c].mean(0) for c in self.classes_])
        self.vars_ = np.array([X[y == c].var(0) for c in self.classes_]) + 1e-2
        self.class_prior_ = np.array([np.mean(y == c) for c in self.classes_])
        return self

    def _joint(self, X):
        X = np.asarray(X, dtype=float)
        ll = -0.5 * (
            np.log(2 * np.pi * self.vars_).sum(1)[None, :]
            + (((X[:, None, :] - self.means_[None]) ** 2) / self.vars_[None]).sum(-1)
        )
        return ll + np.log(self.class_prior_)[None, :]

    def score_samples(self, X):
        from scipy.special import logsumexp

        return logsumexp(self._joint(X), axis=1)

    def predict(self, X):
        return self.classes_[np.argmax(self._joint(X), axis=1)]

    def sample(self, n_samples, *, y=None, prior="learned", random_state=None):
        rng = np.random.default_rng(random_state)
        idx = rng.choice(len(self.classes_), size=n_samples, p=self.class_prior_)
        X = self.means_[idx] + rng.standard_normal((n_samples, self.means_.shape[1])) * np.sqrt(
            self.vars_[idx]
        )
        return X, self.classes_[idx]
