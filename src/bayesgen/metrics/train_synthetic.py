"""Train on synthetic, test on real (TSTR), beside train on real, test on real (TRTR)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import (
    MetricResult,
    as_labels,
    describe_seed,
    same_width,
    seed_from,
    subsample,
)
from bayesgen.metrics.classification import fit_reference_classifier

__all__ = ["TSTRReport", "tstr"]


@dataclass(frozen=True)
class TSTRReport(MetricResult):
    """Train-on-synthetic/test-on-real against train-on-real/test-on-real.

    Attributes
    ----------
    tstr_accuracy : float
        Accuracy on the real test set of a classifier trained on synthetic rows.
    trtr_accuracy : float
        Same classifier, same training-set size, trained on real rows (the floor).
    ratio : float
        ``tstr_accuracy / trtr_accuracy`` (1 means synthetic data is as useful as real).
    n_train, n_test : int
    classifier : str
    random_state : int, str or None
    """

    tstr_accuracy: float
    trtr_accuracy: float
    ratio: float
    n_train: int
    n_test: int
    classifier: str
    random_state: int | str | None


def tstr(
    X_syn,
    y_syn,
    X_train_real,
    y_train_real,
    X_test,
    y_test,
    classifier="logistic",
    random_state=None,
    *,
    max_train=20000,
) -> TSTRReport:
    """Train on synthetic, test on real (TSTR) beside train on real, test on real (TRTR).

    Both classifiers are built by :func:`fit_reference_classifier` with the same ``kind``
    and trained on the same number of rows, ``n = min(len(X_syn), len(X_train_real),
    max_train)``; then ``ratio = acc_test(f_syn) / acc_test(f_real)``.

    Parameters
    ----------
    X_syn, y_syn : array-like of shape (n_syn, d), (n_syn,)
        Synthetic rows and their labels.
    X_train_real, y_train_real : array-like of shape (n_real, d), (n_real,)
        Real training rows.
    X_test, y_test : array-like of shape (n_test, d), (n_test,)
        Real test rows (disjoint from both training sets).
    classifier : {"logistic", "mlp"}
    random_state : None, int or numpy.random.Generator
    max_train : int or None, default 20000

    Returns
    -------
    TSTRReport
    """
    Xs = as_float_matrix(X_syn, "X_syn")
    ys = as_labels(y_syn, "y_syn", len(Xs))
    Xr = as_float_matrix(X_train_real, "X_train_real")
    yr = as_labels(y_train_real, "y_train_real", len(Xr))
    Xt = as_float_matrix(X_test, "X_test")
    yt = as_labels(y_test, "y_test", len(Xt))
    same_width(Xs, Xr, "X_syn", "X_train_real")
    same_width(Xs, Xt, "X_syn", "X_test")
    rng = check_random_state(random_state)
    n = min(len(Xs), len(Xr), max_train if max_train is not None else len(Xs))
    i_s = subsample(len(Xs), n, rng)
    i_r = subsample(len(Xr), n, rng)
    # One seed for both fits, so the two classifiers differ only in their training data.
    seed = seed_from(rng)
    syn = fit_reference_classifier(Xs[i_s], ys[i_s], classifier, seed, max_train=None)
    real = fit_reference_classifier(Xr[i_r], yr[i_r], classifier, seed, max_train=None)
    a_syn = float(np.mean(syn.predict(Xt) == yt))
    a_real = float(np.mean(real.predict(Xt) == yt))
    return TSTRReport(
        tstr_accuracy=a_syn,
        trtr_accuracy=a_real,
        ratio=a_syn / a_real if a_real > 0 else float("nan"),
        n_train=int(n),
        n_test=len(Xt),
        classifier=classifier,
        random_state=describe_seed(random_state),
    )
