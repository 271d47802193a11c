"""``bayesgen demo``: the tutorial end to end, offline, on bundled data, beside the
automatic choice.

1. Inverse-transform sampling of N(200, 40) with the tutorial's sanity checks.
2. The tutorial's model, a Bayes classifier with one full Gaussian per class (the ridge
   chosen on a validation split), beside ``density="auto"`` (families compared on held-out
   rows within a time budget, one for all classes): held-out accuracy, bits per pixel of
   the dequantised held-out pixels, fit time and sampling speed of each, a figure of each
   model's samples side by side and the tutorial's samples-beside-means figure.

Everything is written to the ``--out`` folder (two PNG files and ``summary.json``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bayesgen import AutoDensity, BayesClassifier
from bayesgen.base.validation import label_text
from bayesgen.cli.common import EXIT_OK, add_command, non_negative_int, progress, write_json
from bayesgen.metrics.likelihood import dequantised_bits_per_dim

__all__ = ["register"]

#: Ridge values tried on the validation split.
_REG_GRID = [0.001, 0.003, 0.01, 0.03]
#: Seconds the automatic choice may spend starting candidates (shared by the classes), so
#: that the demo stays under a minute on 2 cores; ``bayesgen fit`` has no budget unless
#: ``--budget`` is given.
_AUTO_BUDGET = 20.0
#: Samples drawn to measure the sampling rate.
_N_BENCH = 20_000
#: Samples of each class in the side-by-side figure, per model.
_PER_CLASS = 4
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
        candidate = BayesClassifier("gaussian", reg_covar=reg).fit(X[fit_rows], y[fit_rows])
        scores[reg] = float(candidate.score(X[val], y[val]))
    return max(_REG_GRID, key=lambda r: (scores[r], r)), scores


def _fit_and_measure(model, X, y, train, test, levels, rng) -> tuple[BayesClassifier, dict]:
    """Fit on the training rows; held-out accuracy, bits per pixel and the sampling rate."""
    t0 = time.perf_counter()
    model.fit(X[train], y[train])
    fit_seconds = time.perf_counter() - t0
    accuracy = float(model.score(X[test], y[test]))
    bits = dequantised_bits_per_dim(model, X[test], levels, random_state=rng)
    t0 = time.perf_counter()
    model.sample(_N_BENCH, random_state=rng)
    samples_per_second = _N_BENCH / (time.perf_counter() - t0)
    return model, {
        "held_out_accuracy": accuracy,
        "held_out_bits_per_pixel": bits,
        "fit_seconds": fit_seconds,
        "samples_per_second": samples_per_second,
    }


def _save_figures(models: dict, image_shape, rng, out: Path) -> None:
    """The tutorial's sample-vs-mean figure, and the models' samples side by side (a row
    per class, ``_PER_CLASS`` samples of each model)."""
    from bayesgen import plotting

    tutorial = models["tutorial"][1]
    means_fig = plotting.plot_model_means(
        tutorial, image_shape, random_state=rng, title="A sample of every class beside its mean"
    )
    wanted = np.repeat(tutorial.classes_, _PER_CLASS)
    panels = []
    for heading, model in models.values():
        X, y = model.sample(y=wanted, random_state=rng)
        panels.append((heading, np.clip(X, 0, 1), y))
    grid_fig = plotting.plot_class_grids_side_by_side(
        panels,
        image_shape,
        classes=list(tutorial.classes_),
        title=f"{_PER_CLASS} samples of each class, x ~ p(x | y)",
    )
    plotting.save_figure(means_fig, out / _FIGURES[0])
    plotting.save_figure(grid_fig, out / _FIGURES[1])


def _print_summary(args, summary: dict, checks, z, x, out: Path) -> None:
    """The walk-through on stdout."""
    print("bayesgen demo: the tutorial, end to end, beside the automatic choice")
    print("\n1. Inverse-transform sampling of N(200, 40): x = ppf(z), z ~ U(0, 1)")
    for description, expected, got in checks:
        status = "ok" if expected == got else "FAILED"
        print(f"   {description}: expected {expected}, got {got} [{status}]")
    for a, b in zip(z, x, strict=True):
        print(f"   latent z = {a:.3f} => x_new = {b:.2f}")
    n_rows = summary["n_train"] + summary["n_test"]
    print(
        f"\n2. Bayes classifiers as generative models on {args.dataset} "
        f"({n_rows} rows, {summary['n_features']} features; {summary['n_test']} held out)"
    )
    tutorial, auto = summary["models"]["tutorial"], summary["models"]["auto"]
    reg_covar = tutorial["reg_covar"]
    print(
        f"   the tutorial's model: one full Gaussian per class, reg_covar {reg_covar} chosen "
        f"on a validation split (validation accuracy "
        f"{tutorial['reg_covar_validation_accuracy'][reg_covar]:.3f})"
    )
    print(
        f"   density='auto': {auto['chosen']} for every class, chosen among "
        f"{auto['candidates_tried']} candidate families on held-out rows "
        f"({auto['budget_seconds']:g} s budget), fitted as {auto['fitted_as']}"
    )
    pairs = zip(summary["classes"], summary["class_prior"], strict=True)
    priors = ", ".join(f"{c}: {p:.3f}" for c, p in pairs)
    print(f"   learned prior p(y): {priors}")
    print(f"   {'':24}{'tutorial':>12}{'auto':>12}")
    rows = [
        ("held-out accuracy", "held_out_accuracy", "{:.4f}"),
        ("held-out bits/pixel", "held_out_bits_per_pixel", "{:.3f}"),
        ("fit seconds", "fit_seconds", "{:.1f}"),
        ("samples per second", "samples_per_second", "{:,.0f}"),
    ]
    for title, key, fmt in rows:
        print(f"   {title:<24}{fmt.format(tutorial[key]):>12}{fmt.format(auto[key]):>12}")
    print(
        "   bits/pixel: the held-out pixels dequantised, x + (u - 1/2) / (levels - 1), one "
        "scale for both models (lower is better; benchmarks/README.md has the standard "
        "protocol)"
    )
    print(f"\nwrote {out / _FIGURES[0]}, {out / _FIGURES[1]} and {out / 'summary.json'}")


def _fit_both(X, y, split, levels, seed, rng) -> tuple[dict, dict]:
    """The tutorial's model and the automatic choice, fitted and measured on one split."""
    test, train, val, fit_rows = split
    reg_covar, scores = _choose_reg_covar(X, y, fit_rows, val)
    progress(f"fitting one full Gaussian per class (reg_covar={reg_covar}) ...")
    tutorial, measured_tutorial = _fit_and_measure(
        BayesClassifier("gaussian", reg_covar=reg_covar), X, y, train, test, levels, rng
    )
    n_classes = len(tutorial.classes_)
    progress(f"fitting density='auto' (a {_AUTO_BUDGET:g} s budget for trying candidates) ...")
    auto_density = AutoDensity(budget=_AUTO_BUDGET / n_classes, random_state=seed)
    auto, measured_auto = _fit_and_measure(
        BayesClassifier(auto_density), X, y, train, test, levels, rng
    )
    records = auto.densities_[0].selection_
    models = {
        "tutorial": ("the tutorial: one Gaussian per class", tutorial),
        "auto": (f"density='auto': {auto.densities_[0].delivered_name()}", auto),
    }
    measured = {
        "tutorial": {
            "density": "gaussian (full covariance, one per class)",
            "reg_covar": reg_covar,
            "reg_covar_validation_accuracy": scores,
            **measured_tutorial,
        },
        "auto": {
            "density": "auto",
            "chosen": auto.densities_[0].chosen_,
            "fitted_as": auto.densities_[0].delivered_name(),
            "budget_seconds": _AUTO_BUDGET,
            "candidates_tried": sum(r["skipped"] is None for r in records),
            "selection_class_0": records,
            **measured_auto,
        },
    }
    return models, measured


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
    split = _split(X.shape[0], rng)
    levels = int(data.pixel_scale) + 1
    models, measured = _fit_both(X, y, split, levels, args.seed, rng)
    _save_figures(models, data.image_shape, rng, out)
    tutorial = models["tutorial"][1]

    summary = {
        "dataset": args.dataset,
        "seed": args.seed,
        "n_train": int(split[1].shape[0]),
        "n_test": int(split[0].shape[0]),
        "n_features": int(X.shape[1]),
        "classes": [label_text(c) for c in tutorial.classes_],
        "class_prior": [float(p) for p in tutorial.class_prior_],
        "models": measured,
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
    _print_summary(args, summary, checks, z, x, out)
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``demo`` and its options."""
    p = add_command(
        subparsers,
        "demo",
        run,
        "Run the tutorial end to end, offline, on bundled data, beside density='auto'.",
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
