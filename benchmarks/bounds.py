"""Generated cells kept inside each column's range: redrawn given the rest of the row (the
default) against clipped onto the range's ends (what decoding did before), in one process.

For each table: the share of generated cells lying exactly at an end of their column's
range, against the share of real training cells there, and the time to sample 100,000
rows both ways.  The clipped variant is the same fitted model with
``TableSchema.outside_bounds`` answering "nothing is outside", so decoding clips.

Tables: scikit-learn's breast-cancer and wine (numbers), and a table with a class of three
rows (dates and numbers: the case where a small class's tails reach far past the range).

    python benchmarks/bounds.py
"""

from __future__ import annotations

import time
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_wine

from bayesgen import BayesClassifier
from bayesgen.tables.schema import TableSchema

N_SAMPLES = 100_000


def small_class_table(seed: int = 0):
    """300 rows of one class over the whole range and a class of three rows."""
    rng = np.random.default_rng(seed)
    n = 300
    big = pd.DataFrame(
        {
            "salary": np.round(rng.normal(60_000, 15_000, n), 2),
            "hired": pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 5000, n), "D"),
        }
    )
    small = pd.DataFrame(
        {
            "salary": [77_343.55, 37_652.88, 65_431.69],
            "hired": pd.to_datetime(["2018-07-05", "2010-01-31", "2015-01-04"]),
        }
    )
    X = pd.concat([big, small], ignore_index=True)
    return X, np.r_[np.full(n, "stay"), np.full(3, "fired")]


def at_range_ends(model, frame) -> float:
    """Share of the numeric cells of ``frame`` at an end of their column's range."""
    X = model.schema_.encode(frame)
    lo = np.array([f.bounds[0] for f in model.schema_.features])
    hi = np.array([f.bounds[1] for f in model.schema_.features])
    return float(np.mean((X == lo) | (X == hi)))


def measure(name, X, labels, **sample_kw):
    model = BayesClassifier(random_state=0).fit(X, labels)
    out = {}
    for how in ("redrawn", "clipped"):
        patch = (
            mock.patch.object(
                TableSchema, "outside_bounds", lambda self, v: np.zeros(v.shape, bool)
            )
            if how == "clipped"
            else mock.patch.object(TableSchema, "outside_bounds", TableSchema.outside_bounds)
        )
        with patch:
            best = np.inf
            for _ in range(3):
                start = time.perf_counter()
                S, _ = model.sample(N_SAMPLES, random_state=1, **sample_kw)
                best = min(best, time.perf_counter() - start)
        out[how] = (at_range_ends(model, S), best)
    real = at_range_ends(model, X if "y" not in sample_kw else X[labels == sample_kw["y"]])
    (r_end, r_s), (c_end, c_s) = out["redrawn"], out["clipped"]
    print(
        f"| {name} | {real:.4f} | {r_end:.4f} | {c_end:.4f} | {r_s:.2f} | {c_s:.2f} | "
        f"{r_s / c_s:.1f}x |"
    )


def main() -> None:
    print(
        "| table | real cells at a range end | generated, redrawn | generated, clipped "
        "| sample s, redrawn | sample s, clipped | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, load in (("breast-cancer", load_breast_cancer), ("wine", load_wine)):
        data = load(as_frame=True)
        measure(name, data.data, data.target.to_numpy())
    X, y = small_class_table()
    measure("class of 3 rows (its samples)", X, y, y="fired")


if __name__ == "__main__":
    main()
