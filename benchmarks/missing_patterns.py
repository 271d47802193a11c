"""Missing-value patterns of generated rows against real ones, beside the real floor.

For the shared tables with empty cells (penguins, cars): 10 stratified 70/30 splits,
``BayesClassifier(random_state=seed)`` fitted on the training rows, as many rows sampled
with the training labels; the total variation between the row patterns (which columns
are empty together) of the synthetic and the test rows, beside the same for the training
rows (the floor), and the share of rows with two or more empty cells.  (The "before"
numbers in benchmarks/README.md came from this script run on the previous tree, with
this function inlined: that tree had no ``pattern_total_variation``.)

Run from the repository root: ``python benchmarks/missing_patterns.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from bayesgen import BayesClassifier
from bayesgen.metrics.table_measures import pattern_total_variation

TABLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tables"


def pattern_tv(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Total variation between the missing-value patterns of the rows of ``a`` and ``b``."""
    return pattern_total_variation(np.where(a.isna(), np.nan, 0.0), np.where(b.isna(), np.nan, 0.0))


def main() -> None:
    warnings.simplefilter("ignore")
    for name, label in (("penguins", "species"), ("cars", "Origin")):
        frame = pd.read_csv(TABLES / f"{name}.csv")
        rows = []
        for seed in range(10):
            train, test = train_test_split(
                frame, test_size=0.3, stratify=frame[label], random_state=seed
            )
            model = BayesClassifier(random_state=seed).fit(train.drop(columns=label), train[label])
            synthetic, _ = model.sample(y=train[label].to_numpy(), random_state=seed)
            cols = list(synthetic.columns)
            rows.append(
                (
                    pattern_tv(synthetic[cols], test[cols]),
                    pattern_tv(train[cols], test[cols]),
                    (synthetic[cols].isna().sum(axis=1) >= 2).mean(),
                    (train[cols].isna().sum(axis=1) >= 2).mean(),
                )
            )
        tv, floor, syn2, real2 = np.mean(rows, axis=0)
        print(
            f"{name}: pattern TV {tv:.4f} vs floor {floor:.4f}; rows with >= 2 empty cells: "
            f"synthetic {syn2:.4f}, training {real2:.4f}"
        )


if __name__ == "__main__":
    main()
