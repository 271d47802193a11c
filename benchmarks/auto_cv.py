"""5-fold cross-validated accuracy of ``BayesClassifier()`` (``density="auto"``) on
scikit-learn's bundled arrays, beside two fixed families run in the same process.

Data: iris, wine, breast cancer and the 8x8 digits (``load_*(return_X_y=True)``, values as
given); folds: ``StratifiedKFold(5, shuffle=True, random_state=0)``.  Columns: the default
(``auto``, and the family it chose in each fold), the tutorial's ``gaussian`` with the
default ridge, and the ``copula``.

Run from the repository root: ``python benchmarks/auto_cv.py``.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from _common import describe_machine
from sklearn import datasets
from sklearn.model_selection import StratifiedKFold

from bayesgen import BayesClassifier

DATA = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast-cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}
FAMILIES = (None, "gaussian", "copula")


def cross_validate(X, y, density) -> tuple[float, Counter, float]:
    """Mean accuracy over the folds, the families chosen (auto only) and the seconds."""
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores, chosen = [], Counter()
    started = time.perf_counter()
    for train, test in folds.split(X, y):
        model = BayesClassifier(density, random_state=0).fit(X[train], y[train])
        scores.append(model.score(X[test], y[test]))
        if density is None:
            chosen[model.densities_[0].chosen_] += 1
    return float(np.mean(scores)), chosen, time.perf_counter() - started


def main() -> int:
    print(describe_machine(), flush=True)
    print("| data | auto (chose) | gaussian | copula | auto s |")
    print("|---|---|---:|---:|---:|")
    for name, load in DATA.items():
        X, y = load(return_X_y=True)
        results = {f: cross_validate(np.asarray(X, float), y, f) for f in FAMILIES}
        auto, chosen, seconds = results[None]
        picks = ", ".join(f"{k} x{v}" for k, v in chosen.most_common())
        print(
            f"| {name} | {auto:.3f} ({picks}) | {results['gaussian'][0]:.3f} | "
            f"{results['copula'][0]:.3f} | {seconds:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
