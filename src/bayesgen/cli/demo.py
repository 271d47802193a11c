"""``bayesgen demo``: the tutorial end to end, offline, on bundled data.

1. Inverse-transform sampling of N(200, 40) with the tutorial's sanity checks.
2. A Bayes classifier (one full Gaussian per class) as a generative model: the ridge is
   chosen on a validation split, then held-out accuracy, log-likelihood and sampling speed
   are measured and two figures are drawn.

Everything is written to the ``--out`` folder (two PNG files and ``summary.json``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bayesgen import BayesClassifier
from bayesgen.base.validation import label_text
from bayesgen.cli.common import EXIT_OK, add_command, non_negative_int, progress, write_json

__all__ = ["register"]

#: Ridge values tried on the validation split.
_REG_GRID = [0.001, 0.003, 0.01, 0.03]
#: Samples drawn to measure the sampling rate.
_N_BENCH = 20_000
_FIGURES = ["samples_vs_means.png", "sample_grid.png"]


def _split(n_rows: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Test, train, validation and fitting rows: a fifth is held out for the test, and a
    fifth of the rest validates the ridge (so the test rows never choose it)."""
    order = rng.permutation(n_rows)
    n_test = n_rows // 5
    test, train = order[:n_test], order[n_test:]
    n_val = train.shape[0] // 5
    return test, train, train[:n_val], train[n_val:]


def _choose_reg_covar(X, y, fit_rows, val) -> tuple[float, dict]:
    """The ridge with the best validation accuracy (ties: the larger) and every score."""
    scores = {}
    for reg in _REG_GRID:
        progress(f"validating reg_covar={reg} ...")
        candidate = BayesClassifier(reg_covar=reg).fit(X[fit_rows], y[fit_rows])
        scores[reg] = float(candidate.score(X[val], y[val]))
    return max(_REG_GRID, key=lambda r: (scores[r], r)), scores


def _fit_and_measure(X, y, train, test, reg_covar, rng) -> tuple[BayesClassifier, dict]:
    """Fit on the training rows; held-out accuracy, log p(x) and the sampling rate."""
    progress(f"fitting one full Gaussian per class (reg_covar={reg_covar}) ...")
    t0 = time.perf_counter()
    model = BayesClassifier(reg_covar=reg_covar).fit(X[train], y[train])
    fit_seconds = time.perf_counter() - t0
    accuracy = float(model.score(X[test], y[test]))
    log_px = model.score_samples(X[test])
    t0 = time.perf_counter()
    model.sample(_N_BENCH, random_state=rng)
    samples_per_second = _N_BENCH / (time.perf_counter() - t0)
    return model, {
        "held_out_accuracy": accuracy,
        "held_out_log_likelihood_nats_per_sample": float(np.mean(log_px)),
        "fit_seconds": fit_seconds,
        "samples_per_second": samples_per_second,
    }


def _save_figures(model, image_shape, rng, out: Path) -> None:
    """The sample-vs-mean figure and a grid of four samples of every class, a row each."""
    from bayesgen import plotting
    from bayesgen.cli.sample import class_grid_figure

    means_fig = plotting.plot_model_means(
        model, image_shape, random_state=rng, title="A sample of every class beside its mean"
    )
    grid_fig, _ = class_grid_figure(model, 4 * len(model.classes_), image_shape, seed=rng)
    plotting.save_figure(means_fig, out / _FIGURES[0])
    plotting.save_figure(grid_fig, out / _FIGURES[1])


def _print_summary(args, summary: dict, checks, z, x, model, out: Path) -> None:
    """The walk-through on stdout."""
    print("bayesgen demo: the tutorial, end to end")
    print("\n1. Inverse-transform sampling of N(200, 40): x = ppf(z), z ~ U(0, 1)")
    for description, expected, got in checks:
        status = "ok" if expected == got else "FAILED"
        print(f"   {description}: expected {expected}, got {got} [{status}]")
    for a, b in zip(z, x, strict=True):
        print(f"   latent z = {a:.3f} => x_new = {b:.2f}")
    n_rows = summary["n_train"] + summary["n_test"]
    print(
        f"\n2. Bayes classifier as a generative model on {args.dataset} "
        f"({n_rows} rows, {summary['n_features']} features)"
    )
    reg_covar = summary["reg_covar"]
    print(
        f"   reg_covar chosen on a validation split: {reg_covar} "
        f"(validation accuracy {summary['reg_covar_validation_accuracy'][reg_covar]:.3f})"
    )
    priors = ", ".join(
        f"{label_text(c)}: {p:.3f}" for c, p in zip(model.classes_, model.class_prior_, strict=True)
    )
    print(f"   learned prior p(y): {priors}")
    print(f"   held-out accuracy: {summary['held_out_accuracy']:.4f} on {summary['n_test']} rows")
    print(
        f"   held-out log p(x): {summary['held_out_log_likelihood_nats_per_sample']:.1f} nats "
        "per image (density of pixel/255 values, not dequantised; bits/pixel on the standard "
        "protocol: benchmarks/README.md)"
    )
    print(
        f"   fit: {summary['fit_seconds']:.2f} s; "
        f"sampling: {summary['samples_per_second']:,.0f} samples/s"
    )
    print(f"\nwrote {out / _FIGURES[0]}, {out / _FIGURES[1]} and {out / 'summary.json'}")


def run(args) -> int:
    """Run both parts, write the figures and ``summary.json``, print the walk-through."""
    from bayesgen import datasets
    from bayesgen.univariate import InverseTransformSampler, tutorial_sanity_checks

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    checks = tutorial_sanity_checks(200.0, 40.0)
    sampler = InverseTransformSampler.from_name("norm", 200.0, 40.0)
    z, x = sampler.sample(5, random_state=rng, return_latent=True)

    progress(f"loading the bundled {args.dataset} data ...")
    data = datasets.load_dataset(args.dataset)
    X, y = data.X, data.y
    test, train, val, fit_rows = _split(X.shape[0], rng)
    reg_covar, scores = _choose_reg_covar(X, y, fit_rows, val)
    model, measured = _fit_and_measure(X, y, train, test, reg_covar, rng)
    _save_figures(model, data.image_shape, rng, out)

    summary = {
        "dataset": args.dataset,
        "seed": args.seed,
        "n_train": int(train.shape[0]),
        "n_test": int(test.shape[0]),
        "n_features": int(X.shape[1]),
        "density": "gaussian (full covariance, one per class)",
        "reg_covar": reg_covar,
        "reg_covar_validation_accuracy": scores,
        "classes": [label_text(c) for c in model.classes_],
        "class_prior": [float(p) for p in model.class_prior_],
        **measured,
        "tutorial_sanity_checks": [
            {"check": d, "expected": int(e), "got": int(g)} for d, e, g in checks
        ],
        "inverse_transform_samples": [
            {"z": float(a), "x": float(b)} for a, b in zip(z, x, strict=True)
        ],
        "figures": list(_FIGURES),
        "seconds": time.perf_counter() - started,
    }
    write_json(out / "summary.json", summary)
    _print_summary(args, summary, checks, z, x, model, out)
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``demo`` and its options."""
    p = add_command(
        subparsers,
        "demo",
        run,
        "Run the tutorial end to end, offline, on bundled data.",
        "bayesgen demo --out demo-out --seed 0",
    )
    p.add_argument("--out", default="bayesgen-demo", help="output folder (default: %(default)s)")
    p.add_argument(
        "--dataset",
        choices=["mnist", "digits"],
        default="mnist",
        help="bundled data set (default: %(default)s)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
