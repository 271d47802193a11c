"""The ``bayesgen`` command line: a thin layer over the public library.

It parses options, calls the library, formats the output and turns library errors into clean
messages.  Exit codes: 0 ok, 1 failed (bad data, bad model file, fitting failed), 2 usage
error.  Data goes to stdout or to files; progress and warnings go to stderr, and progress is
silent when stderr is not a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from bayesgen.base.errors import BayesgenError
from bayesgen.base.version import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# ---------------------------------------------------------------------------- helpers


class UsageError(Exception):
    """A command was called with options that do not make sense together."""


def _progress(message: str) -> None:
    """Progress note on stderr, only when a person is watching."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def _parse_shrinkage(text: str | None):
    if text is None or text == "none":
        return None
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'none' or a number in [0, 1]; got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"shrinkage must be in [0, 1]; got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more; got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected 1 or more; got 0")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def _label_column(text: str | None):
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def _load_model(path: str):
    from bayesgen.base.persist import load_object

    if not Path(path).exists():
        raise FileNotFoundError(
            f"model file {path!r} does not exist; create one with `bayesgen fit DATA -o {path}`"
        )
    model, manifest = load_object(path)
    from bayesgen.classifier.estimator import BayesClassifier

    if not isinstance(model, BayesClassifier):
        raise BayesgenError(f"{path!r} holds a {type(model).__name__}, not a BayesClassifier")
    return model, manifest.get("metadata", {})


def _write_json(path: Path, payload: dict) -> None:
    from bayesgen.base.persist import atomic_write_bytes_via

    data = (json.dumps(payload, indent=2, default=_json_default) + "\n").encode()
    atomic_write_bytes_via(path, lambda handle: handle.write(data))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _label_text(label) -> str:
    return str(label.item() if isinstance(label, np.generic) else label)


def _image_shape(metadata: dict):
    shape = metadata.get("image_shape")
    return tuple(shape) if shape else None


# ---------------------------------------------------------------------------- demo


def _demo(args) -> int:
    from bayesgen import datasets, plotting
    from bayesgen.classifier.estimator import BayesClassifier
    from bayesgen.univariate import InverseTransformSampler, tutorial_sanity_checks

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    # 1. The tutorial's first section: inverse-transform sampling of N(200, 40).
    checks = tutorial_sanity_checks(200.0, 40.0)
    sampler = InverseTransformSampler.from_name("norm", 200.0, 40.0)
    z, x = sampler.sample(5, random_state=rng, return_latent=True)

    # 2. The Bayes classifier as a generative model, on the bundled data.
    _progress(f"loading the bundled {args.dataset} data ...")
    data = datasets.load_dataset(args.dataset)
    X, y = data.X, data.y
    order = rng.permutation(X.shape[0])
    n_test = X.shape[0] // 5
    test, train = order[:n_test], order[n_test:]
    # choose the ridge on a validation split of the training rows (never the test rows)
    n_val = train.shape[0] // 5
    val, fit_rows = train[:n_val], train[n_val:]
    grid = [0.001, 0.003, 0.01, 0.03]
    scores = {}
    for reg in grid:
        _progress(f"validating reg_covar={reg} ...")
        candidate = BayesClassifier(reg_covar=reg).fit(X[fit_rows], y[fit_rows])
        scores[reg] = float(candidate.score(X[val], y[val]))
    reg_covar = max(grid, key=lambda r: (scores[r], r))
    _progress(f"fitting one full Gaussian per class (reg_covar={reg_covar}) ...")
    t0 = time.perf_counter()
    model = BayesClassifier(reg_covar=reg_covar).fit(X[train], y[train])
    fit_seconds = time.perf_counter() - t0
    accuracy = float(model.score(X[test], y[test]))
    log_px = model.score_samples(X[test])

    t0 = time.perf_counter()
    n_bench = 20_000
    model.sample(n_bench, random_state=rng)
    samples_per_second = n_bench / (time.perf_counter() - t0)

    image_shape = data.image_shape
    means_fig = plotting.plot_model_means(model, image_shape, random_state=rng)
    X_grid, y_grid = model.sample(40, random_state=rng)
    order_grid = np.argsort(y_grid, kind="stable")
    grid_fig = plotting.plot_sample_grid(
        np.clip(X_grid[order_grid], 0, 1),
        y_grid[order_grid],
        image_shape,
        n_rows=10,
        n_cols=4,
        title="Samples drawn with y ~ p(y), x ~ p(x | y)",
    )
    plotting.save_figure(means_fig, out / "samples_vs_means.png")
    plotting.save_figure(grid_fig, out / "sample_grid.png")

    summary = {
        "dataset": args.dataset,
        "seed": args.seed,
        "n_train": int(train.shape[0]),
        "n_test": int(test.shape[0]),
        "n_features": int(X.shape[1]),
        "density": "gaussian (full covariance, one per class)",
        "reg_covar": reg_covar,
        "reg_covar_validation_accuracy": scores,
        "classes": [_label_text(c) for c in model.classes_],
        "class_prior": [float(p) for p in model.class_prior_],
        "held_out_accuracy": accuracy,
        "held_out_log_likelihood_nats_per_sample": float(np.mean(log_px)),
        "fit_seconds": fit_seconds,
        "samples_per_second": samples_per_second,
        "tutorial_sanity_checks": [
            {"check": d, "expected": int(e), "got": int(g)} for d, e, g in checks
        ],
        "inverse_transform_samples": [
            {"z": float(a), "x": float(b)} for a, b in zip(z, x, strict=True)
        ],
        "figures": ["samples_vs_means.png", "sample_grid.png"],
        "seconds": None,
    }
    summary["seconds"] = time.perf_counter() - started
    _write_json(out / "summary.json", summary)

    print("bayesgen demo: the tutorial, end to end")
    print("\n1. Inverse-transform sampling of N(200, 40): x = ppf(z), z ~ U(0, 1)")
    for description, expected, got in checks:
        status = "ok" if expected == got else "FAILED"
        print(f"   {description}: expected {expected}, got {got} [{status}]")
    for a, b in zip(z, x, strict=True):
        print(f"   latent z = {a:.3f} => x_new = {b:.2f}")
    print(
        f"\n2. Bayes classifier as a generative model on {args.dataset} "
        f"({X.shape[0]} rows, {X.shape[1]} features)"
    )
    print(
        f"   reg_covar chosen on a validation split: {reg_covar} "
        f"(validation accuracy {scores[reg_covar]:.3f})"
    )
    priors = ", ".join(
        f"{_label_text(c)}: {p:.3f}"
        for c, p in zip(model.classes_, model.class_prior_, strict=True)
    )
    print(f"   learned prior p(y): {priors}")
    print(f"   held-out accuracy: {accuracy:.4f} on {test.shape[0]} rows")
    print(
        f"   held-out log p(x): {np.mean(log_px):.1f} nats per image (density of pixel/255 "
        "values, not dequantised; bits/pixel on the standard protocol: benchmarks/README.md)"
    )
    print(f"   fit: {fit_seconds:.2f} s; sampling: {samples_per_second:,.0f} samples/s")
    print(
        f"\nwrote {out / 'samples_vs_means.png'}, {out / 'sample_grid.png'} and "
        f"{out / 'summary.json'}"
    )
    return EXIT_OK


# ---------------------------------------------------------------------------- fit


_STREAM_BYTES = 256 * 2**20  # files larger than this are fitted in chunks by default
_STREAMABLE = {".csv", ".tsv", ".gz", ".parquet", ".pq", ".npz", ".idx", ".ubyte"}


class _ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, what: str):
        self.what = what
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not p.done and now - self._last < 0.2:
            return
        self._last = now
        fraction = p.fraction
        if fraction is None:
            bar = f"{p.rows:,} rows"
        else:
            filled = int(30 * fraction)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * fraction:5.1f}% {p.rows:,} rows"
        end = "\n" if p.done else ""
        print(
            f"\r{self.what} {bar} ({p.rows_per_second:,.0f} rows/s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def _should_stream(args, template) -> bool:
    path = Path(args.data)
    if args.stream == "never" or path.is_dir():
        return False
    gaussian = template.statistics_kind() is not None
    if args.stream == "always":
        if not gaussian:
            raise UsageError(
                f"--stream always needs a Gaussian density (gaussian, diag, tied); "
                f"{args.density!r} is fitted from all rows at once"
            )
        return True
    suffixes = {s.lower() for s in path.suffixes}
    return (
        gaussian
        and bool(suffixes & _STREAMABLE)
        and path.is_file()
        and path.stat().st_size > _STREAM_BYTES
    )


def _fit(args) -> int:
    from bayesgen import io as bio
    from bayesgen import streaming
    from bayesgen.classifier.estimator import BayesClassifier

    density = args.density
    model = BayesClassifier(
        density, reg_covar=args.reg_covar, shrinkage=args.shrinkage, random_state=args.seed
    )
    label_column = _label_column(args.label_column)
    if _should_stream(args, model.make_class_density()):
        last = {}

        def progress(p):
            last["p"] = p
            bar(p)

        bar = _ProgressBar(f"fitting {args.data}")
        streaming.fit_file(
            model,
            args.data,
            chunk_rows=args.chunk_rows,
            label_column=label_column,
            progress=progress,
        )
        like = last["p"].like
        n_rows = last["p"].rows
    else:
        _progress(f"reading {args.data} ...")
        like = bio.read_labelled(args.data, label_column=label_column)
        _progress(f"fitting {density} densities to {like.X.shape[0]} rows ...")
        model.fit(like.X, like.y)
        n_rows = like.X.shape[0]
    metadata = {
        "source": str(args.data),
        "source_format": like.source_format,
        "image_shape": list(like.image_shape) if like.image_shape else None,
        "pixel_scale": like.pixel_scale,
        "feature_names": list(like.feature_names) if like.feature_names is not None else None,
        "label_column": like.label_column,
        "n_rows": int(n_rows),
    }
    model.save(args.output, metadata=metadata)
    print(
        f"fitted {len(model.classes_)} classes on {n_rows} rows x "
        f"{model.n_features_in_} features; wrote {args.output}"
    )
    return EXIT_OK


# ---------------------------------------------------------------------------- sample


def _sample(args) -> int:
    from bayesgen import io as bio
    from bayesgen import streaming

    model, metadata = _load_model(args.model)
    label = None if args.label is None else model.parse_label(args.label)
    options = dict(
        like=metadata.get("source_format"),
        image_shape=_image_shape(metadata),
        pixel_scale=metadata.get("pixel_scale"),
        feature_names=metadata.get("feature_names"),
        label_column=metadata.get("label_column"),
    )
    dtype = np.float32 if args.float32 else np.float64
    suffixes = {s.lower() for s in Path(args.output).suffixes}
    if suffixes & {".csv", ".tsv", ".npz", ".parquet"}:
        # chunked: bounded memory for any n; the same seed gives the same rows
        streaming.write_samples(
            model,
            args.n,
            args.output,
            chunk_size=args.chunk_rows,
            random_state=args.seed,
            y=label,
            prior=args.prior,
            dtype=dtype,
            progress=_ProgressBar(f"writing {args.output}"),
            **options,
        )
    else:
        X, y = model.sample(args.n, y=label, prior=args.prior, random_state=args.seed, dtype=dtype)
        bio.write_labelled(args.output, X, y, **options)
    print(f"wrote {args.n} samples to {args.output}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------- plot


def _plot(args) -> int:
    from bayesgen import plotting

    model, metadata = _load_model(args.model)
    shape = _image_shape(metadata)
    if shape is None:
        raise UsageError(
            "this model was not fitted on images (no image shape recorded), so there is "
            "nothing to draw as a grid; sample to a CSV and plot features instead"
        )
    if args.kind == "means":
        fig = plotting.plot_model_means(model, shape, random_state=args.seed)
    else:
        X, y = model.sample(40, random_state=args.seed)
        order = np.argsort(y, kind="stable")
        fig = plotting.plot_sample_grid(np.clip(X[order], 0, 1), y[order], shape)
    plotting.save_figure(fig, args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------- inspect


def _inspect(args) -> int:
    model, metadata = _load_model(args.model)
    density = model.density if isinstance(model.density, str) else type(model.density).__name__
    info = {
        "file": args.model,
        "density": density,
        "reg_covar": model.reg_covar,
        "shrinkage": model.shrinkage,
        "n_features": int(model.n_features_in_),
        "n_classes": int(len(model.classes_)),
        "n_parameters": int(model.n_parameters()),
        "classes": [
            {
                "label": _label_text(c),
                "prior": float(p),
                "count": float(n),
                "density": type(d).__name__,
                **({"selection": d.selection_} if hasattr(d, "selection_") else {}),
            }
            for c, p, n, d in zip(
                model.classes_,
                model.class_prior_,
                model.class_count_,
                model.densities_,
                strict=True,
            )
        ],
        "data": metadata,
    }
    if args.json:
        print(json.dumps(info, indent=2, default=_json_default))
        return EXIT_OK
    print(f"model file:   {args.model}")
    print(f"density:      {density} (reg_covar={model.reg_covar}, shrinkage={model.shrinkage})")
    print(
        f"features:     {model.n_features_in_}"
        + (
            f" (images {'x'.join(map(str, _image_shape(metadata)))})"
            if _image_shape(metadata)
            else ""
        )
    )
    print(f"parameters:   {model.n_parameters():,}")
    print(f"classes:      {len(model.classes_)}")
    print(f"  {'label':<12} {'prior':>8} {'rows':>8}  density")
    for entry in info["classes"]:
        print(
            f"  {entry['label']:<12} {entry['prior']:>8.4f} {entry['count']:>8.0f}  "
            f"{entry['density']}"
        )
    for label, density in zip(model.classes_, model.densities_, strict=True):
        if hasattr(density, "selection_table"):
            print(f"  density chosen for class {_label_text(label)} (* = chosen):")
            for line in density.selection_table().splitlines():
                print(f"      {line}")
    if metadata.get("source"):
        print(f"fitted on:    {metadata['source']} ({metadata.get('n_rows', '?')} rows)")
    return EXIT_OK


# ---------------------------------------------------------------------------- sample-1d


def _sample_1d(args) -> int:
    from bayesgen.univariate import InverseTransformSampler, tutorial_sanity_checks

    try:
        sampler = InverseTransformSampler.from_name(args.dist, *args.params)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.check:
        for description, expected, got in tutorial_sanity_checks():
            print(f"# {description}: expected {expected}, got {got}")
    z, x = sampler.sample(args.n, random_state=args.seed, return_latent=True)
    for a, b in zip(z, x, strict=True):
        print(f"{a:.6f}\t{b:.6f}")
    return EXIT_OK


# ---------------------------------------------------------------------------- parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayesgen",
        formatter_class=_Formatter,
        description=(
            "Learn the distribution of labelled data and generate new labelled data with "
            "Bayes' rule:\nfit p(x | y) per class and p(y), then draw y ~ p(y), x ~ p(x | y)."
        ),
        epilog="Example:\n  bayesgen demo --out demo-out\n\n"
        "Run `bayesgen COMMAND --help` for each command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"bayesgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, func, help_text, example):
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=_Formatter,
            epilog=f"Example:\n  {example}",
        )
        p.set_defaults(func=func)
        return p

    p = command(
        "demo",
        _demo,
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
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")

    p = command(
        "fit",
        _fit,
        "Fit a Bayes classifier to a labelled data file.",
        "bayesgen fit train.csv --density gaussian --reg-covar 0.03 -o model.bgm",
    )
    p.add_argument("data", help="CSV, Parquet, NPZ, MNIST IDX file or a folder of images")
    p.add_argument(
        "--label-column", help="label column name or index (default: 'label', else the first)"
    )
    p.add_argument(
        "--density",
        default="gaussian",
        help="class density NAME[:SIZE][+TRANSFORM]: NAME one of gaussian, diag, tied, "
        "lowrank, fa, mixture, diagmix, mfa, mppca, copula, mfacopula, auto; SIZE e.g. 20 or "
        "20x30 (components x rank); TRANSFORM logit, glogit or deq for pixel data, e.g. "
        "mppca:20x30+glogit (default: %(default)s)",
    )
    p.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        default=1e-6,
        help="ridge added to covariance diagonals (default: %(default)s)",
    )
    p.add_argument(
        "--shrinkage",
        type=_parse_shrinkage,
        default=None,
        help="covariance shrinkage: none, auto (Ledoit-Wolf) or a number in [0, 1]",
    )
    p.add_argument("--seed", type=_non_negative_int, default=None, help="seed for fitting")
    p.add_argument(
        "--stream",
        choices=["auto", "always", "never"],
        default="auto",
        help="read the file in chunks (bounded memory; Gaussian densities only); "
        "auto streams files over 256 MB (default: %(default)s)",
    )
    p.add_argument(
        "--chunk-rows",
        type=_positive_int,
        default=20_000,
        help="rows per chunk when streaming (default: %(default)s)",
    )
    p.add_argument("-o", "--output", required=True, help="model file to write")

    p = command(
        "sample",
        _sample,
        "Generate labelled samples from a fitted model.",
        "bayesgen sample model.bgm -n 1000 --seed 1 -o generated.csv",
    )
    p.add_argument("model", help="model file written by `bayesgen fit`")
    p.add_argument("-n", type=_non_negative_int, required=True, help="number of samples")
    p.add_argument("--label", help="generate only this class")
    p.add_argument(
        "--prior",
        choices=["learned", "uniform"],
        default="learned",
        help="class distribution to draw labels from (default: %(default)s)",
    )
    p.add_argument("--seed", type=_non_negative_int, default=None, help="random seed")
    p.add_argument(
        "--float32", action="store_true", help="sample in single precision (about twice as fast)"
    )
    p.add_argument(
        "--chunk-rows",
        type=_positive_int,
        default=50_000,
        help="rows generated per chunk for CSV/NPZ/Parquet output",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output: .csv, .npz, .parquet, .png (grid) or a folder (one PNG per sample)",
    )

    p = command(
        "plot",
        _plot,
        "Draw a grid of samples or the sample-vs-mean figure.",
        "bayesgen plot model.bgm --kind means -o means.png",
    )
    p.add_argument("model")
    p.add_argument("--kind", choices=["grid", "means"], default="grid")
    p.add_argument("--seed", type=_non_negative_int, default=None)
    p.add_argument("-o", "--output", required=True, help="PNG file to write")

    p = command(
        "inspect",
        _inspect,
        "Show a model's classes, priors, family and size.",
        "bayesgen inspect model.bgm",
    )
    p.add_argument("model")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = command(
        "sample-1d",
        _sample_1d,
        "Inverse-transform sampling of a 1-D distribution: prints z and x = ppf(z).",
        "bayesgen sample-1d --dist norm --params 200 40 -n 5 --seed 0",
    )
    p.add_argument("--dist", default="norm", help="scipy.stats continuous family (default: norm)")
    p.add_argument(
        "--params",
        type=float,
        nargs="*",
        default=[200.0, 40.0],
        help="shape parameters, then loc and scale (default: 200 40)",
    )
    p.add_argument("-n", type=_non_negative_int, default=5)
    p.add_argument("--seed", type=_non_negative_int, default=None)
    p.add_argument("--check", action="store_true", help="print the tutorial's sanity checks first")

    _register_extra_commands(command)
    return parser


def _register_extra_commands(command) -> None:
    """Commands whose library parts live in optional modules (evaluation, diagnostics)."""
    from bayesgen import _cli_extra

    _cli_extra.register(command)


#: Python keyword arguments named in library messages -> the command line's flag
_FLAG_WORDS = {"label_column": "--label-column"}


def _flag_wording(message: str) -> str:
    """Name the command line's flags where a library message names Python arguments.

    ``label_column=3`` becomes ``--label-column 3``; ``with label_column=.`` becomes ``with
    --label-column.``
    """
    for word, flag in _FLAG_WORDS.items():
        message = re.sub(rf"\b{word}=(?=[\s,.;:)]|$)", flag, message)
        message = re.sub(rf"\b{word}=", f"{flag} ", message)
    return message


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayesgen`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help/--version
        return int(exc.code or 0)
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `bayesgen inspect m.bgm | head`: the reader left
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        except OSError:
            pass
        return EXIT_OK
    except UsageError as exc:
        print(f"bayesgen {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (
        BayesgenError,
        FileNotFoundError,
        IsADirectoryError,
        PermissionError,
        NotADirectoryError,
        ValueError,
    ) as exc:
        print(f"bayesgen {args.command}: error: {_flag_wording(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"bayesgen {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _entry() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
