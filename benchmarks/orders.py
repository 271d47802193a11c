"""Orders between columns that every training row keeps, with and without keeping them.

For each table of ``benchmarks/tables.py`` (the shared tables, scikit-learn's wine and
breast-cancer): 10 stratified 70/30 splits; ``BayesClassifier(random_state=seed)`` fitted
on the training rows twice, with ``orders="keep"`` (the default) and ``orders="ignore"``
(the class densities as they are), both in this process on the same rows.  Each is judged
by ``evaluate_table`` against the held-out rows (as many rows as the training set, with
its labels): the share of generated rows that break an order every training row keeps
(beside the share of held-out real rows that do: how much of the order is the data's
law), mean per-column KS/TV, association error and gradient-boosting TSTR/TRTR; and the
time of ``sample(10_000)`` with orders kept over the same without (best of 3).

Run from the repository root: ``python benchmarks/orders.py [--seeds N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from bayesgen import BayesClassifier
from bayesgen.metrics import evaluate_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import load_tables, split  # noqa: E402


def _measures(model, train, test, label, seed) -> list[float]:
    ev = evaluate_table(model, train, test, label=label, random_state=seed)
    broken, held_out = ev.order_breaks or (0.0, 0.0)
    gb = next(t.ratio for t in ev.tstr if t.classifier == "gradient boosting")
    return [broken, held_out, ev.fidelity[0], ev.association.error, gb]


def _sample_seconds(model) -> float:
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        model.sample(10_000, random_state=0)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(
        "table: orders | rows breaking one: ignored / kept (held-out real) | KS/TV ignored / kept"
        " | assoc. error ignored / kept | TSTR/TRTR gb ignored / kept | sample time kept/ignored"
    )
    for name, (frame, label) in load_tables().items():
        runs, counts, ratios = [], [], []
        for seed in range(args.seeds):
            train, test = split(frame, label, seed)
            X, y = train.drop(columns=[label]), train[label]
            kept = BayesClassifier(random_state=seed).fit(X, y)
            free = BayesClassifier(random_state=seed, orders="ignore").fit(X, y)
            counts.append(len(kept.orders_))
            runs.append(
                _measures(free, train, test, label, seed)
                + _measures(kept, train, test, label, seed)
            )
            ratios.append(_sample_seconds(kept) / _sample_seconds(free))
        m = np.mean(runs, axis=0)
        print(
            f"{name}: {np.mean(counts):.1f} | {m[0]:.4f} / {m[5]:.4f} ({m[1]:.4f}) | "
            f"{m[2]:.4f} / {m[7]:.4f} | {m[3]:.4f} / {m[8]:.4f} | {m[4]:.3f} / {m[9]:.3f} | "
            f"{np.median(ratios):.2f}x"
        )


if __name__ == "__main__":
    main()
