"""Evaluation commands: ``bayesgen evaluate`` (table + JSON) and ``bayesgen report`` (HTML).

Both load a model written by ``bayesgen fit``.  A model fitted on a table (text columns,
empty cells: it has a schema) is judged with :func:`bayesgen.metrics.evaluate_table` on real
tables read as they are; other models read real labelled data with
:func:`bayesgen.io.read_labelled`, are checked for the model's number of features and run
:func:`bayesgen.metrics.evaluate`.  Outputs are written atomically (a temporary file beside
the target, moved into place when complete) and their folders are checked before any work
starts, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from bayesgen import DataError, __version__
from bayesgen.base.validation import format_label
from bayesgen.cli.common import (
    EXIT_OK,
    add_command,
    image_shape_of,
    label_column,
    label_column_hints,
    load_model,
    model_label_column,
    non_negative_int,
    positive_int,
    progress,
    refuse_same_file,
    show,
)

__all__ = ["register"]

#: ``--feature-space`` shortcuts for the hidden layer of the reference MLP.
_MLP_DEFAULT_UNITS = 128


def _feature_space(text: str) -> str:
    """argparse type: 'pca-<k>', 'mlp-hidden[-<k>]' or 'input' (normalised)."""
    s = text.strip().lower()
    if s == "mlp-hidden":
        return f"mlp-hidden-{_MLP_DEFAULT_UNITS}"
    for prefix in ("pca-", "mlp-hidden-"):
        if s.startswith(prefix) and s[len(prefix) :].isdigit() and int(s[len(prefix) :]) > 0:
            return s
    if s == "input":
        return s
    raise argparse.ArgumentTypeError(
        f"expected 'pca-<k>' (e.g. pca-50), 'mlp-hidden' (or 'mlp-hidden-<units>') or "
        f"'input'; got {text!r}"
    )


def _check_output(args, path: str | None, flag: str) -> None:
    """Fail before any work when an output's folder is missing, the path is a folder, or
    it is one of the command's inputs."""
    inputs = {"MODEL": args.model, "--real": args.real, "--train": args.train}
    refuse_same_file({flag: path}, inputs)


def _unlabelled_kaggle_file(path: str, what: str) -> DataError:
    return DataError(
        f"{what} {path!r} looks like Kaggle's test.csv, which has no labels; the metrics "
        "need the class of every row. Split the labelled train.csv instead: `bayesgen "
        "split train.csv --test-size 0.2 -o fit.csv test.csv`, fit on fit.csv and pass "
        "--real test.csv"
    )


def _looks_like_kaggle_test(path: str) -> bool:
    """A header of exactly pixel0 .. pixel783 (Kaggle's unlabelled test.csv)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            header = handle.readline().strip().split(",")
    except OSError:
        return False
    return header == [f"pixel{i}" for i in range(784)]


def _read_real(path: str, column, what: str, n_features: int, model_path: str):
    """Read labelled real data and check its width against the model."""
    from bayesgen import io as bio

    progress(f"reading {what} {path} ...")
    try:
        with label_column_hints(path, column):
            data = bio.read_labelled(path, label_column=column)
    except DataError as exc:
        if "Kaggle's test.csv" not in str(exc):
            raise
        raise _unlabelled_kaggle_file(path, what) from None
    d = int(data.X.shape[1])
    if d != n_features:
        raise DataError(
            f"{what} {path!r} has {d} features per row but the model {model_path!r} was "
            f"fitted on {n_features}; pass data in the layout the model was trained on "
            "(same columns, same image size)"
        )
    return data


def _check_classes(model, labels, what: str, path: str, column) -> None:
    """Refuse labels that are not the model's classes: the label column read is another
    column than the one the model was fitted on (every metric would be against noise)."""
    known = set(np.asarray(model.classes_).tolist())  # 1.0 is class 1, as in the metrics
    unknown = [v for v in dict.fromkeys(np.asarray(labels).tolist()) if v not in known]
    if not unknown:
        return
    shown = ", ".join(format_label(v) for v in unknown[:5]) + (", ..." if unknown[5:] else "")
    classes = ", ".join(format_label(c) for c in model.classes_[:10])
    raise DataError(
        f"{what} {path!r}: {len(unknown)} label(s) in its label column {column!r} are not "
        f"classes of the model ({shown}; the model's classes: {classes}); pass "
        "--label-column with the column the model was fitted on, or held-out rows of those "
        "classes"
    )


def _load_inputs(args, model, metadata):
    """Model, metadata, test data, optional training data and the pixel scale to report."""
    d = int(model.n_features_in_)
    column = model_label_column(args.label_column, metadata, args.real)
    test = _read_real(args.real, column, "--real data", d, args.model)
    _check_classes(model, test.y, "--real data", args.real, test.label_column)
    train = None
    if args.train is not None:
        column = model_label_column(args.label_column, metadata, args.train)
        train = _read_real(args.train, column, "--train data", d, args.model)
        _check_classes(model, train.y, "--train data", args.train, train.label_column)
    pixel_scale = metadata.get("pixel_scale")
    if pixel_scale != test.pixel_scale:
        print(
            f"bayesgen {args.command}: warning: the model was fitted on data with pixel "
            f"scale {pixel_scale} but {args.real} reads with pixel scale "
            f"{test.pixel_scale}; the metrics compare values on different scales unless "
            "both files hold the same kind of data",
            file=sys.stderr,
        )
    return model, metadata, test, train, pixel_scale


def _evaluate_inputs(args, model, test, train, pixel_scale):
    """:func:`bayesgen.metrics.evaluate` with the command's options."""
    from bayesgen import metrics

    progress(
        "generating samples and computing the metrics (reference classifier, feature "
        "space, neighbours, k-means) ..."
    )
    return metrics.evaluate(
        model,
        test.X,
        test.y,
        X_train=None if train is None else train.X,
        y_train=None if train is None else train.y,
        n_samples=args.n,
        feature_space=args.feature_space,
        random_state=args.seed,
        pixel_scale=pixel_scale,
        max_train=args.max_train,
    )


def _describe_inputs(args, model, test, train) -> dict:
    """The model and data files and their sizes (the JSON's ``inputs``)."""
    density = model.density if isinstance(model.density, str) else type(model.density).__name__
    return {
        "model": str(args.model),
        "density": density,
        "n_classes": int(len(model.classes_)),
        "n_features": int(model.n_features_in_),
        "real": str(args.real),
        "n_real_rows": int(test.X.shape[0]),
        "train": None if train is None else str(args.train),
        "n_train_rows": None if train is None else int(train.X.shape[0]),
    }


def _json_payload(args, report, inputs: dict, pixel_scale) -> dict:
    """Every number and setting of an ``evaluate`` run (the ``--json`` file)."""
    s = report.settings
    settings = {
        "feature_space": s.get("feature_space", args.feature_space),
        "feature_space_requested": args.feature_space,
        "k_precision_recall": s.get("k_precision_recall"),
        "k_density_coverage": s.get("k_density_coverage"),
        "n": s.get("n"),
        "n_generated": s.get("n_generated"),
        "n_requested": args.n,
        "seed": args.seed,
        "max_train": args.max_train,
        "pixel_scale": pixel_scale,
        "ndb_bins": s.get("ndb_bins"),
        "ndb_alpha": s.get("ndb_alpha"),
        "reference_classifier": s.get("reference_classifier"),
        "reference_training": s.get("reference_training"),
        "floor_split": s.get("floor_split"),
    }
    return {
        "command": "bayesgen evaluate",
        "bayesgen_version": __version__,
        "inputs": inputs,
        "settings": settings,
        "table": [
            {"metric": name, "generated": gen, "floor": floor, "unit": unit}
            for name, gen, floor, unit in report.rows()
        ],
        "metrics": report.to_dict(),
        "notes": list(report.notes),
    }


# ---------------------------------------------------------------------------- tables


def _is_table_model(model) -> bool:
    return getattr(model, "schema_", None) is not None


def _read_real_table(path: str, label, what: str):
    """A real table as one DataFrame, its label column included."""
    from bayesgen import io as bio

    progress(f"reading {what} {path} (a table) ...")
    if _looks_like_kaggle_test(path):
        raise _unlabelled_kaggle_file(path, what)
    with label_column_hints(path, label):
        table = bio.read_table(path, label_column=label)
    frame = table.X.copy()
    frame[table.label_column] = table.y
    return frame, table.label_column


def _check_cells(model, frame, path: str, what: str) -> None:
    """Cells the model cannot read, named by their row in the file: the rows are split and
    shuffled later, and a message from there would number them in that order."""
    from bayesgen.base.errors import DataError
    from bayesgen.tables.codec import encode_column

    for spec in model.schema_.features:
        if spec.name in frame.columns:
            try:
                encode_column(spec, frame[spec.name], "missing")
            except DataError as exc:
                raise DataError(f"{what} {path}: {exc}") from None


def _table_inputs(args, metadata, model):
    """Training and held-out real tables and the label column's name.

    Without ``--train`` the ``--real`` rows are split in two halves by class: one stands in
    for the training rows (floors, distance to closest record), the other is held out.
    """
    label = label_column(args.label_column)
    if label is None:
        label = metadata.get("label_column")
    test, label = _read_real_table(args.real, label, "--real data")
    _check_classes(model, test[label], "--real data", args.real, label)
    _check_cells(model, test, args.real, "--real")
    if args.train is not None:
        train, _ = _read_real_table(args.train, label, "--train data")
        _check_classes(model, train[label], "--train data", args.train, label)
        _check_cells(model, train, args.train, "--train")
        return train, test, label, None
    from sklearn.model_selection import train_test_split

    counts = test[label].value_counts()
    stratify = test[label] if counts.min() >= 2 else None
    train, test = train_test_split(test, test_size=0.5, random_state=args.seed, stratify=stratify)
    note = (
        "no --train file: half of the --real rows stand in for the training rows (floors, "
        "distance to closest record), so memorisation of the real training rows is not "
        "measured"
    )
    return train, test, label, note


def _table_evaluation(args, model, metadata):
    from bayesgen import metrics

    train, test, label, note = _table_inputs(args, metadata, model)
    progress("generating rows and computing the metrics (KS/TV, association, TSTR, DCR) ...")
    ev = metrics.evaluate_table(
        model, train, test, label=label, n_samples=args.n, random_state=args.seed
    )
    if note:
        ev.notes.append(note)
    return ev, train, test, label


def _table_inputs_text(args, model, train, test) -> str:
    return (
        f"model {args.model}: {type(model.densities_[0]).__name__} per class, "
        f"{len(model.classes_)} classes, {model.n_features_in_} columns\n"
        f"real held-out rows: {len(test)}; real training rows: {len(train)}"
        + ("" if args.train else " (half of --real)")
    )


def _evaluate_table(args, model, metadata) -> int:
    from bayesgen import metrics
    from bayesgen.base.atomic import atomic_write_bytes

    ev, train, test, _label = _table_evaluation(args, model, metadata)
    show(_table_inputs_text(args, model, train, test))
    print()
    show(ev.format_table())
    if args.json:
        payload = {
            "command": "bayesgen evaluate",
            "bayesgen_version": __version__,
            "inputs": {
                "model": str(args.model),
                "real": str(args.real),
                "train": None if args.train is None else str(args.train),
                "n_real_rows": len(test),
                "n_train_rows": len(train),
            },
            "table": [
                {"metric": name, "generated": gen, "floor": floor, "unit": unit}
                for name, gen, floor, unit in ev.rows()
            ],
            "metrics": ev.to_dict(),
            "notes": list(ev.notes),
        }
        data = json.dumps(metrics.to_jsonable(payload), indent=2, allow_nan=False) + "\n"
        atomic_write_bytes(args.json, data.encode())
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK


def _report_table(args, model, metadata) -> int:
    from bayesgen.report import build_table_report, write_report

    ev, train, test, label = _table_evaluation(args, model, metadata)
    progress("drawing the figures and writing the page ...")
    sources = {
        "model file": str(args.model),
        "real data": f"{args.real} ({len(test) if args.train else len(test) * 2} rows)",
        "training data": "half of the real data" if args.train is None else args.train,
        "command seed": args.seed,
    }
    page = build_table_report(
        model, train, test, label=label, title=args.title, sources=sources, evaluation=ev
    )
    write_report(args.output, page)
    show(ev.format_table())
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------- commands


def _evaluate(args) -> int:
    """Print the metrics table; with ``--json``, also write every number and setting."""
    from bayesgen import metrics
    from bayesgen.base.atomic import atomic_write_bytes

    _check_output(args, args.json, "--json")
    model, metadata = load_model(args.model)
    if _is_table_model(model):
        return _evaluate_table(args, model, metadata)
    model, _metadata, test, train, pixel_scale = _load_inputs(args, model, metadata)
    report = _evaluate_inputs(args, model, test, train, pixel_scale)
    inputs = _describe_inputs(args, model, test, train)

    print(
        f"model {inputs['model']}: {inputs['density']} densities, {inputs['n_classes']} "
        f"classes, {inputs['n_features']} features"
    )
    print(
        f"real test data {inputs['real']}: {inputs['n_real_rows']} rows"
        + (
            f"; training data {inputs['train']}: {inputs['n_train_rows']} rows"
            if train is not None
            else "; no --train file (reference and floors from halves of the test data)"
        )
    )
    print()
    show(report.format_table())

    if args.json:
        payload = _json_payload(args, report, inputs, pixel_scale)
        data = json.dumps(metrics.to_jsonable(payload), indent=2, allow_nan=False) + "\n"
        atomic_write_bytes(args.json, data.encode())
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK


def _report(args) -> int:
    """Evaluate, then write the HTML page; the metrics table is printed too."""
    from bayesgen.report import build_report, write_report

    _check_output(args, args.output, "-o")
    model, metadata = load_model(args.model)
    if _is_table_model(model):
        return _report_table(args, model, metadata)
    model, metadata, test, train, pixel_scale = _load_inputs(args, model, metadata)
    image_shape = image_shape_of(metadata) or test.image_shape
    report = _evaluate_inputs(args, model, test, train, pixel_scale)
    progress("drawing the figures and writing the page ...")
    sources = {
        "model file": str(args.model),
        "real data": f"{args.real} ({test.X.shape[0]} rows)",
        "training data": (
            "none given" if train is None else f"{args.train} ({train.X.shape[0]} rows)"
        ),
        "command seed": args.seed,
    }
    page = build_report(
        model,
        test.X,
        test.y,
        image_shape=image_shape,
        pixel_scale=pixel_scale,
        random_state=args.seed,
        title=args.title,
        sources=sources,
        evaluation=report,
        feature_names=metadata.get("feature_names"),
    )
    write_report(args.output, page)
    show(report.format_table())
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _common_options(p) -> None:
    """The options ``evaluate`` and ``report`` share: inputs, sample size, seed, space."""
    p.add_argument("model", help="model file written by `bayesgen fit`")
    p.add_argument(
        "--real",
        required=True,
        metavar="TEST",
        help="held-out real labelled data (CSV, Parquet, NPZ, IDX or image folder) in the "
        "layout the model was fitted on",
    )
    p.add_argument(
        "--train",
        metavar="TRAIN",
        help="the real training data: the reference classifier, feature space and floors "
        "are built from it and memorisation is measured against it (default: split --real "
        "in halves; no memorisation check)",
    )
    p.add_argument("--label-column", help="label column name or index for CSV/Parquet input")
    p.add_argument(
        "-n",
        type=positive_int,
        default=None,
        help="samples to generate (default: min(10000, half the real pool))",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="random seed for sampling, splits and classifiers (default: %(default)s; the "
        "same seed gives the same numbers)",
    )
    p.add_argument(
        "--feature-space",
        type=_feature_space,
        default="pca-50",
        help="space of the Frechet distance, precision/recall and density/coverage: pca-<k> "
        "(principal components of the real training data), mlp-hidden (hidden layer of a "
        "reference MLP) or input (default: %(default)s)",
    )
    p.add_argument(
        "--max-train",
        type=positive_int,
        default=20000,
        help="cap on real rows used to fit the reference classifier, TSTR and PCA "
        "(default: %(default)s)",
    )


def register(subparsers) -> None:
    """Add ``evaluate`` and ``report`` and their options."""
    p = add_command(
        subparsers,
        "evaluate",
        _evaluate,
        "Judge generated data: every metric beside its real-vs-real floor.",
        "bayesgen evaluate model.bgm --real test.csv --train train.csv -n 5000 --seed 0 "
        "--json metrics.json",
    )
    _common_options(p)
    p.add_argument("--json", metavar="OUT", help="also write every number and setting here")

    p = add_command(
        subparsers,
        "report",
        _report,
        "Write one self-contained HTML page: metrics with floors, and samples and confusion "
        "matrices (images) or each column real vs generated per class (tables).",
        "bayesgen report model.bgm --real test.csv --train train.csv -n 2000 -o report.html",
    )
    _common_options(p)
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.add_argument("--title", help="page title (default: a generic one)")
