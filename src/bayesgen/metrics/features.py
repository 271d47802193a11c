"""Named feature spaces the distribution metrics are computed in, fitted on REAL data.

A metric's value depends on the space it is computed in, so every space has a ``name``
that goes into the metric's name and settings (``"Frechet distance (pca-50)"``).
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import subsample

__all__ = [
    "ClassifierFeatures",
    "FeatureSpace",
    "IdentityFeatures",
    "PCAFeatures",
    "make_feature_space",
]


class FeatureSpace:
    """A named map from input rows to feature vectors, fitted on REAL training data.

    Subclasses set :attr:`name` (used in every metric's name, e.g.
    ``"Frechet distance (pca-50)"``) and implement :meth:`fit` and :meth:`transform`.
    """

    name: str = "feature-space"

    def fit(self, X, y=None, *, random_state=None):
        """Fit on real training rows ``X`` of shape (n, d); return self."""
        return self

    def transform(self, X) -> np.ndarray:
        """Map rows of shape (n, d) to features of shape (n, k)."""
        raise NotImplementedError

    def fit_transform(self, X, y=None, *, random_state=None) -> np.ndarray:
        """``fit(X, y).transform(X)``."""
        return self.fit(X, y, random_state=random_state).transform(X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class IdentityFeatures(FeatureSpace):
    """The input space itself (name ``"input"``)."""

    name = "input"

    def transform(self, X) -> np.ndarray:
        """Return ``X`` as float64 of shape (n, d)."""
        return as_float_matrix(X, "X")


class PCAFeatures(FeatureSpace):
    """Principal components of real training data (name ``"pca-<n_components>"``).

    The features of a row ``x`` are ``W^T (x - mu)``, with ``mu`` the mean of the real
    training rows and the columns of ``W`` (d x k) the eigenvectors of their covariance
    with the ``k`` largest eigenvalues.

    Parameters
    ----------
    n_components : int, default 50
        Number of components; capped at ``min(n_rows, n_features)`` when fitting, and the
        name then reports the number actually used.
    max_train : int or None, default 20000
        Fit on a random subsample of at most this many rows.
    """

    def __init__(self, n_components=50, *, max_train=20000):
        self.n_components = int(n_components)
        self.max_train = max_train
        self.pca_ = None

    @property
    def name(self) -> str:  # noqa: D401 - property
        """``"pca-<k>"`` with k the number of components (after fitting: actually used)."""
        k = self.pca_.n_components_ if self.pca_ is not None else self.n_components
        return f"pca-{k}"

    def fit(self, X, y=None, *, random_state=None):
        """Fit the principal axes on real rows ``X`` of shape (n, d)."""
        from sklearn.decomposition import PCA

        X = as_float_matrix(X, "X")
        rng = check_random_state(random_state)
        idx = subsample(len(X), self.max_train, rng)
        k = min(self.n_components, len(idx), X.shape[1])
        if k < 1:
            raise DataError("PCAFeatures needs at least one row and one feature to fit.")
        self.pca_ = PCA(n_components=k, svd_solver="covariance_eigh").fit(X[idx])
        return self

    def transform(self, X) -> np.ndarray:
        """Project rows of shape (n, d) to (n, k) principal-component scores."""
        if self.pca_ is None:
            raise NotFittedError("PCAFeatures is not fitted; call fit(X_train_real) first.")
        return self.pca_.transform(as_float_matrix(X, "X"))


class ClassifierFeatures(FeatureSpace):
    """Hidden-layer activations of a fitted MLP (name ``"mlp-hidden-<units>"``).

    With weights ``W_l`` and biases ``b_l`` of the hidden layers and activation ``f``,
    the features are ``h_L`` where ``h_0 = pre(x)`` (the pipeline's earlier steps) and
    ``h_l = f(h_{l-1} W_l + b_l)``; the output layer is not applied.

    Parameters
    ----------
    mlp : fitted MLPClassifier or Pipeline ending in one
        E.g. ``fit_reference_classifier(X, y, kind="mlp")``.  Preceding pipeline steps
        (standardisation) are applied first; the activations of the LAST hidden layer are
        the features.
    """

    def __init__(self, mlp):
        steps = getattr(mlp, "steps", None)
        last = steps[-1][1] if steps else mlp
        if not hasattr(last, "coefs_"):
            raise NotFittedError(
                "ClassifierFeatures needs a FITTED MLPClassifier (or a pipeline ending in "
                f"one); got {type(last).__name__} without coefs_. Fit it first, e.g. with "
                "fit_reference_classifier(X, y, kind='mlp')."
            )
        self.mlp = mlp
        self._pre = [s for _, s in steps[:-1]] if steps else []
        self._net = last

    @property
    def name(self) -> str:  # noqa: D401 - property
        """``"mlp-hidden-<units>"`` with the width of the last hidden layer."""
        return f"mlp-hidden-{self._net.coefs_[-2].shape[1]}"

    def fit(self, X, y=None, *, random_state=None):
        """No-op: the MLP is already fitted on real data."""
        return self

    def transform(self, X) -> np.ndarray:
        """Last-hidden-layer activations, shape (n, units)."""
        H = as_float_matrix(X, "X")
        for step in self._pre:
            H = step.transform(H)
        act = self._net.activation
        for W, b in zip(self._net.coefs_[:-1], self._net.intercepts_[:-1], strict=True):
            H = H @ W + b
            if act == "relu":
                np.maximum(H, 0.0, out=H)
            elif act == "tanh":
                np.tanh(H, out=H)
            elif act == "logistic":
                # 1 / (1 + exp(-h)) written with tanh, which cannot overflow.
                H = 0.5 * (1.0 + np.tanh(0.5 * H))
        return np.asarray(H, dtype=np.float64)


def make_feature_space(spec) -> FeatureSpace:
    """Build an UNFITTED feature space from its name.

    Parameters
    ----------
    spec : str or FeatureSpace
        ``"pca-<k>"`` (e.g. ``"pca-50"``), ``"input"`` or a :class:`FeatureSpace` (returned
        as is).  ``"mlp-hidden-<k>"`` needs a fitted MLP: build it with
        ``ClassifierFeatures(fit_reference_classifier(X, y, kind="mlp", hidden_units=k))``
        (:func:`~bayesgen.metrics.evaluate` does this for you).

    Returns
    -------
    FeatureSpace
    """
    if isinstance(spec, FeatureSpace):
        return spec
    s = str(spec).strip().lower()
    if s in ("input", "identity", "raw"):
        return IdentityFeatures()
    if s.startswith("pca-") and s[4:].isdigit() and int(s[4:]) > 0:
        return PCAFeatures(int(s[4:]))
    raise ValueError(
        f"unknown feature space {spec!r}; use 'pca-<k>' (e.g. 'pca-50'), 'mlp-hidden-<k>' "
        "(in evaluate) or 'input', or pass a FeatureSpace object."
    )


def _parse_mlp_space(spec) -> int | None:
    """The ``k`` of an ``"mlp-hidden-<k>"`` name, or None for any other ``spec``."""
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s.startswith("mlp-hidden-") and s[11:].isdigit() and int(s[11:]) > 0:
            return int(s[11:])
    return None


def _space_name(feature_space) -> str:
    """The name a result records for ``feature_space`` (a FeatureSpace or a plain name)."""
    return feature_space.name if isinstance(feature_space, FeatureSpace) else str(feature_space)
