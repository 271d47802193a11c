"""Train on synthetic, test on real (TSTR) for mixed tables, with two kinds of classifier.

Both classifiers take the encoded table (numbers, dates as numbers, category codes, NaN for
missing cells) and are trained twice with the same settings and seed: on the synthetic
rows (TSTR) and on the real training rows (TRTR, the floor); both are scored on the real
test rows by **balanced accuracy** (mean recall over the classes in the test set, so a
rare class counts as much as a common one).

* ``gradient boosting``: :class:`sklearn.ensemble.HistGradientBoostingClassifier` with the
  category codes declared categorical (native splits on categories, native missing
  values); a column with more than 255 categories is passed as its codes.
* ``logistic``: median imputation and standardisation of numbers, most-frequent imputation
  and one-hot encoding of categories (unknown categories in the test set ignored), then
  :class:`sklearn.linear_model.LogisticRegression`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.metrics._common import MetricResult

__all__ = ["TableTSTR", "table_tstr"]

#: Most categories HistGradientBoostingClassifier takes as one categorical feature.
_MAX_HGB_CATEGORIES = 255
#: Training tables with fewer cells than this are fitted on one OpenMP thread.
_SMALL_CELLS = 2_000_000


@dataclass(frozen=True)
class TableTSTR(MetricResult):
    """Balanced accuracy on real test rows of a classifier trained on synthetic vs real rows.

    Attributes
    ----------
    classifier : {"gradient boosting", "logistic"}
    tstr, trtr : float
        Balanced accuracy when trained on synthetic rows; on real training rows (floor).
    ratio : float
        ``tstr / trtr`` (target: near 1).
    n_synthetic, n_real, n_test : int
    recall_tstr, recall_trtr : dict
        Class label (as text) -> recall on the test rows of that class, for the classes
        in the test set (balanced accuracy is their mean): where a gap comes from.
    """

    classifier: str
    tstr: float
    trtr: float
    ratio: float
    n_synthetic: int
    n_real: int
    n_test: int
    recall_tstr: dict
    recall_trtr: dict


def _gradient_boosting(categorical, levels, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    mask = categorical & (levels <= _MAX_HGB_CATEGORIES)
    return HistGradientBoostingClassifier(
        categorical_features=mask if mask.any() else None, random_state=seed
    )


def _logistic(categorical, seed):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    num = np.flatnonzero(~categorical)
    cat = np.flatnonzero(categorical)
    if num.size:
        parts.append(
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num)
        )
    if cat.size:
        onehot = OneHotEncoder(handle_unknown="ignore")
        parts.append(
            ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"), onehot), cat)
        )
    return make_pipeline(
        ColumnTransformer(parts), LogisticRegression(max_iter=2000, random_state=seed)
    )


def _recalls(make, X_syn, y_syn, X_real, y_real, X_test, y_test) -> list[np.ndarray]:
    """Per-class recall on the test rows (classes in ``np.unique(y_test)`` order) of the
    classifier trained on synthetic rows, then of the one trained on real rows."""
    from threadpoolctl import threadpool_limits

    labels = np.unique(y_test)
    out = []
    for X, y in ((X_syn, y_syn), (X_real, y_real)):
        # Small tables on one OpenMP thread: gradient boosting on 1,022 x 5 rows took 19 s
        # with its default threads on a loaded 2-core machine and 0.8 s on one.
        threads = 1 if X.size < _SMALL_CELLS else None
        with threadpool_limits(limits=threads, user_api="openmp"):
            pred = make().fit(X, y).predict(X_test)
        out.append(np.array([np.mean(pred[y_test == k] == k) for k in labels]))
    return out


def table_tstr(
    X_syn, y_syn, X_real, y_real, X_test, y_test, categorical, seeds, notes, class_names=None
) -> list:
    """TSTR and TRTR balanced accuracy of both classifiers (see the module docstring).

    Parameters
    ----------
    X_syn, X_real, X_test : ndarray of shape (n_*, d)
        Encoded tables; category codes must be whole numbers ``>= 0``.
    y_syn, y_real, y_test : ndarray of shape (n_*,)
        Integer class codes.
    categorical : ndarray of bool, shape (d,)
    seeds : dict
        ``seeds["gradient_boosting"]``, ``seeds["logistic"]``.
    notes : list of str
        Appended to when a classifier is skipped.
    class_names : sequence, optional
        Label of each class code (``class_names[k]`` for code ``k``); codes by default.

    Returns
    -------
    list of TableTSTR
    """
    if len(np.unique(y_syn)) < 2 or len(np.unique(y_real)) < 2:
        notes.append("synthetic or real training rows hold a single class: TSTR skipped.")
        return []
    all_rows = np.vstack([X_syn, X_real, X_test])
    levels = np.array(
        [
            int(np.nanmax(all_rows[:, j])) + 1
            if categorical[j] and np.isfinite(all_rows[:, j]).any()
            else 0
            for j in range(all_rows.shape[1])
        ]
    )
    if np.any(categorical & (levels > _MAX_HGB_CATEGORIES)):
        notes.append(
            f"gradient boosting takes columns with more than {_MAX_HGB_CATEGORIES} "
            "categories as their codes (not as categories)."
        )
    makers = {
        "gradient boosting": lambda: _gradient_boosting(
            categorical, levels, seeds["gradient_boosting"]
        ),
        "logistic": lambda: _logistic(categorical, seeds["logistic"]),
    }
    names = [
        str(class_names[k]) if class_names is not None and 0 <= k < len(class_names) else str(k)
        for k in np.unique(y_test)
    ]
    out = []
    for name, make in makers.items():
        r_syn, r_real = _recalls(make, X_syn, y_syn, X_real, y_real, X_test, y_test)
        tstr, trtr = float(r_syn.mean()), float(r_real.mean())
        out.append(
            TableTSTR(
                classifier=name,
                tstr=tstr,
                trtr=trtr,
                ratio=tstr / trtr if trtr > 0 else float("nan"),
                n_synthetic=len(X_syn),
                n_real=len(X_real),
                n_test=len(X_test),
                recall_tstr=dict(zip(names, r_syn.tolist(), strict=True)),
                recall_trtr=dict(zip(names, r_real.tolist(), strict=True)),
            )
        )
    return out
