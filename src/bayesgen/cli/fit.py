"""``bayesgen fit``: fit a Bayes classifier to a labelled data file and save it."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from bayesgen import AutoDensity, BayesClassifier
from bayesgen.base.errors import RowDataError
from bayesgen.cli.common import (
    EXIT_OK,
    ProgressBar,
    UsageError,
    add_command,
    cli_wording,
    did_you_mean,
    label_column,
    label_column_hints,
    non_negative_float,
    non_negative_int,
    note,
    note_label_column,
    parse_shrinkage,
    positive_int,
    progress,
    refuse_same_file,
)
from bayesgen.io.tables import MATRIX_COLUMNS

__all__ = ["register"]

_STREAM_BYTES = 256 * 2**20  # files larger than this are fitted in chunks by default
_CHUNK_ROWS = 20_000  # rows per chunk when --chunk-rows is not given
_STREAMABLE = {".csv", ".tsv", ".gz", ".parquet", ".pq", ".npz", ".idx", ".ubyte"}
_SIZE = re.compile(r"^\d+(x\d+)?$")


def _density_problem(text: str) -> str | None:
    """Which part of ``NAME[:SIZE][*RUNS][+TRANSFORM]`` is wrong, in the command line's words."""
    from bayesgen.densities import DENSITY_SHORTCUTS
    from bayesgen.densities.transform import NAMED_TRANSFORMS

    rest, _, transform = text.strip().lower().partition("+")
    rest, star, runs = rest.partition("*")
    name, colon, size = rest.partition(":")
    families = sorted(DENSITY_SHORTCUTS)
    if name not in DENSITY_SHORTCUTS:
        return (
            f"{name!r} is not a density family{did_you_mean(name, families) or '.'} The "
            f"families are {', '.join(families)} (see `bayesgen fit --help`)."
        )
    if colon and not _SIZE.match(size):
        return (
            f"{text!r}: the family {name!r} is fine but the size {size!r} is not: write a "
            "whole number "
            f"(e.g. {name}:3 for 3 components or factors) or two joined by x for components x "
            "rank (e.g. mfa:5x10)."
        )
    if colon and any(int(v) < 1 for v in size.split("x")):
        return f"{text!r}: the size {size!r} must be 1 or more (e.g. {name}:3)."
    if star and not (runs.isdigit() and int(runs) >= 1):
        return (
            f"{text!r}: after '*' comes the number of EM runs to average, a whole number of 1 "
            "or more (e.g. mppca:5x10*3+glogit)."
        )
    if transform and transform not in NAMED_TRANSFORMS:
        transforms = sorted(NAMED_TRANSFORMS)
        return (
            f"{text!r}: {transform!r} is not a transform"
            f"{did_you_mean(transform, transforms) or '.'} The "
            f"transforms are {', '.join(transforms)} (e.g. mppca:20x30+glogit)."
        )
    return None


def density_option(text: str) -> str:
    """argparse type of ``--density``: a shortcut the library can build, else a usage error
    saying which part of ``NAME[:SIZE][*RUNS][+TRANSFORM]`` is wrong and what would be right."""
    from bayesgen.densities import make_density

    try:
        make_density(text)
    except (ValueError, TypeError) as exc:
        problem = _density_problem(text) or f"{text!r}: {cli_wording(str(exc))}"
        raise argparse.ArgumentTypeError(problem) from None
    return text


def _should_stream(args, statistics_kind: str | None) -> bool:
    """Whether to read ``args.data`` in chunks: ``--stream``, the file's size and type, and
    whether the density is fitted from sufficient statistics (``statistics_kind``)."""
    path = Path(args.data)
    if args.stream == "never" or path.is_dir():
        return False
    gaussian = statistics_kind is not None
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
        and (args.chunk_rows is not None or path.stat().st_size > _STREAM_BYTES)
    )


def _is_auto(density) -> bool:
    """Whether ``--density`` names the automatic choice among candidate families."""
    from bayesgen.densities import parse_density_name

    return density is not None and parse_density_name(density).family == "auto"


def _candidate_lines(n_candidates: int, n_classes: int):
    """The progress hook of ``--density auto``: a line per candidate, on a terminal only;
    classes are fitted one after the other, each trying every candidate once."""
    from bayesgen.densities.select import describe_record

    seen = [0]

    def report(record) -> None:
        k = seen[0] // n_candidates + 1
        seen[0] += 1
        progress(f"  class {k}/{n_classes}  {describe_record(record)}")

    return report


def _fit_rows(model, args, X, y, density, *, table: bool = False) -> None:
    """``model.fit(X, y)``; when the family is ``auto`` (``--density auto``, or the default
    in memory), with ``--budget`` shared evenly by the classes and a progress line per
    candidate (of the table grid for a ``table``).  Both are settings of this run: the
    model keeps ``args.density``."""
    if not _is_auto(density):
        model.fit(X, y)
        return
    from bayesgen.densities import TransformedDensity
    from bayesgen.densities.select import DEFAULT_CANDIDATES, use_table_grid

    n_classes = max(1, len(set(np.asarray(y).tolist())))
    model.set_params(density=density)
    template = model.make_class_density()
    # "auto+logit": the choice is made inside the transform
    auto = template.base if isinstance(template, TransformedDensity) else template
    if table:  # what the classifier gives "auto" on a table
        use_table_grid(auto)
    n_candidates = len(auto.candidates or DEFAULT_CANDIDATES)
    auto.set_params(
        budget=None if args.budget is None else args.budget / n_classes,
        progress=_candidate_lines(n_candidates, n_classes),
    )
    model.set_params(density=template)
    try:
        model.fit(X, y)
    finally:
        model.set_params(density=args.density)


def _fit_chunks(model, args, column, title: str, **options):
    """:func:`bayesgen.streaming.fit_file` with a progress bar; returns the last progress
    report (it carries the source's layout and the rows read)."""
    from bayesgen import streaming

    last = {}
    bar = ProgressBar(title)

    def on_progress(p):
        last["p"] = p
        bar(p)

    with label_column_hints(args.data, column):
        streaming.fit_file(
            model,
            args.data,
            chunk_rows=args.chunk_rows or _CHUNK_ROWS,
            label_column=column,
            progress=on_progress,
            **options,
        )
    return last["p"]


def _fit_streamed(model, args, column):
    """Fit from chunks of the file; returns the source's metadata and the rows read."""
    report = _fit_chunks(model, args, column, f"fitting {args.data}")
    return report.like, report.rows


def _fit_in_memory(model, args, column):
    """Read the whole file and fit; returns the data (with its metadata) and its rows."""
    from bayesgen import io as bio

    progress(f"reading {args.data} ...")
    with label_column_hints(args.data, column):
        like = bio.read_labelled(args.data, label_column=column)
    density = args.density or model.default_density()
    _refuse_budget_without_auto(
        args, density, "with --shrinkage the default is one Gaussian per class"
    )
    progress(f"fitting {density} densities to {like.X.shape[0]} rows ...")
    _fit_rows(model, args, like.X, like.y, density)
    return like, like.X.shape[0]


def add_table_options(p) -> None:
    """``--column-type``, ``--drop`` and ``--drop-missing-labels``: how a table is read and
    which columns are modelled (``fit`` and ``resample``)."""
    p.add_argument(
        "--column-type",
        action="append",
        metavar="NAME=KIND",
        help="tables: override a column's detected kind (continuous, integer, categorical, "
        "datetime, identifier); repeatable, e.g. --column-type year=categorical",
    )
    p.add_argument(
        "--drop", action="append", metavar="NAME", help="tables: leave a column out (repeatable)"
    )
    p.add_argument(
        "--drop-missing-labels",
        action="store_true",
        help="tables: leave out rows whose label is empty (default: refuse them)",
    )


def column_types(args) -> dict:
    """``--column-type NAME=KIND`` and ``--drop NAME`` as the classifier's column_types."""
    kinds = {}
    for text in args.column_type or []:
        name, eq, kind = text.partition("=")
        if not eq or not name or not kind:
            raise UsageError(
                f"--column-type {text!r}: write NAME=KIND, e.g. --column-type year=categorical"
            )
        kinds[name] = kind.strip().lower()
    for name in args.drop or []:
        kinds[name] = "drop"
    return kinds


def refuse_table_options_for_a_matrix(args) -> None:
    """``--column-type``, ``--drop`` or ``--drop-missing-labels`` given for a file that is
    read as a matrix of numbers (no columns to type or drop)."""
    if column_types(args) or args.drop_missing_labels:
        raise UsageError(
            "--column-type, --drop and --drop-missing-labels are for tables (CSV or Parquet "
            f"files of at most {MATRIX_COLUMNS} columns, or with text columns or empty cells); "
            f"{args.data} is a matrix of numbers"
        )


def _stream_table(args) -> bool:
    """Whether to fit a table in two passes over chunks: ``--stream always``, or
    ``--chunk-rows`` given, or a file over 256 MB (unless ``--stream never``)."""
    if args.stream == "never":
        return False
    if args.stream == "always" or args.chunk_rows is not None:
        return True
    return Path(args.data).stat().st_size > _STREAM_BYTES


def _fit_table_streamed(model, args, column):
    """Fit a table in two passes over chunks of the file; returns its layout and rows."""
    report = _fit_chunks(
        model,
        args,
        column,
        f"fitting {args.data} (two passes)",
        drop_missing_labels=args.drop_missing_labels,
    )
    return report.like, int(model.class_count_.sum())


def refuse_overrides_of_the_label(args, label: str) -> None:
    """``--drop`` or ``--column-type`` on the label column: it is what the classes are."""
    for flag, names in (("--drop", args.drop or []), ("--column-type", args.column_type or [])):
        if any(text.partition("=")[0] == label for text in names):
            raise UsageError(
                f"{flag} {label}: {label!r} is the label column (its values are the classes), "
                "not a column to model; to fit on another label, give --label-column NAME"
            )


def _streamed_label(args, column) -> str:
    """The label column a streamed fit takes: named, or chosen from the first chunk."""
    from bayesgen.io.table_chunks import iter_table_chunks

    if column is not None and isinstance(column, str):
        return column
    with label_column_hints(args.data, column):
        first = next(iter_table_chunks(args.data, 1000, label_column=column, check_fields=False))
    return first.label_column


def _fit_table(model, args, column):
    """Read a table (text columns, empty cells), say which label column was taken, fit."""
    from bayesgen import io as bio

    if _stream_table(args):
        if args.density is None:
            note(
                "streaming the table: the copula, fitted in two passes (the default 'auto' "
                "compares copulas on rows held in memory; --stream never to use it)"
            )
        if args.drop or args.column_type:  # the label column, as the passes will choose it
            refuse_overrides_of_the_label(args, _streamed_label(args, column))
        table, n_rows = _fit_table_streamed(model, args, column)
    else:
        progress(f"reading {args.data} (a table) ...")
        with label_column_hints(args.data, column):
            table = bio.read_table(
                args.data, label_column=column, drop_missing_labels=args.drop_missing_labels
            )
        refuse_overrides_of_the_label(args, table.label_column)
        density = args.density or ("auto" if args.shrinkage is None else "copula")
        try:
            _fit_rows(model, args, table.X, table.y, density, table=True)
        except RowDataError as exc:  # rows with an empty label were left out
            if table.data_rows is None:
                raise
            raise exc.at_rows(table.data_rows) from None
        n_rows = int(table.X.shape[0])
    note_label_column(table)
    for name, reason in model.schema_.dropped.items():
        if name not in (args.drop or []):
            reason = reason.replace("or drop it", f"or say --drop {name} to silence this")
            note(f"left out column {name!r}: {cli_wording(reason)}")
    _note_orders(model.schema_.describe_orders(model.orders_))
    metadata = {
        "source": str(args.data),
        "source_format": table.format,
        "table": True,
        "columns": table.columns,
        "delimiter": table.delimiter,
        "decimal": table.decimal,
        "label_dtype": table.label_dtype,
        "label_column": table.label_column,
        "n_rows": n_rows,
        "image_shape": None,
        "pixel_scale": None,
        "feature_names": list(model.schema_.feature_names),
    }
    return metadata


def _note_orders(orders: list[str]) -> None:
    """Say which orders between columns the samples will keep, if any."""
    if not orders:
        return
    shown = "; ".join(orders[:3]) + (f"; and {len(orders) - 3} more" if len(orders) > 3 else "")
    note(
        f"samples keep {len(orders)} order(s) between columns that every training row keeps: "
        f"{shown} (all in bayesgen inspect; --orders ignore to sample without)"
    )


def run(args) -> int:
    """Fit, then save the model with what is known about the data as its metadata."""
    from bayesgen import io as bio

    refuse_same_file({"-o": args.output}, {"DATA": args.data}, example="model.bgm")
    if args.density is not None:  # asked before anything is read
        _refuse_budget_without_auto(args, args.density, f"--density {args.density} is one family")
    kinds = column_types(args)
    model = BayesClassifier(
        args.density,
        reg_covar=args.reg_covar,
        shrinkage=args.shrinkage,
        random_state=args.seed,
        column_types=kinds or None,
        orders=args.orders,
    )
    column = label_column(args.label_column)
    if bio.is_table_file(args.data):
        if _stream_table(args):
            _refuse_budget_without_auto(
                args, args.density or "copula", "a streamed table is fitted with the copula"
            )
        elif args.shrinkage is not None:
            _refuse_budget_without_auto(
                args, args.density or "copula", "with --shrinkage a table takes the copula"
            )
        model.set_params(column_types=kinds)  # a table even if what is left is numbers
        metadata = _fit_table(model, args, column)
        model.save(args.output, metadata=metadata)
        print(
            f"fitted {len(model.classes_)} classes on {metadata['n_rows']} rows x "
            f"{model.n_features_in_} columns ({_density_text(model)}); wrote {args.output}",
            file=sys.stderr,
        )
        return EXIT_OK
    refuse_table_options_for_a_matrix(args)
    # asked before anything is read, so a bad --density fails at once
    kind = model.statistics_kind()
    if _should_stream(args, kind):
        _refuse_budget_without_auto(
            args,
            args.density or "gaussian",
            "a streamed file is fitted with one Gaussian per class",
        )
        if args.density is None:
            note(
                "streaming the file: one full Gaussian per class (the default 'auto' compares "
                "families on rows held in memory; --stream never to use it)"
            )
        like, n_rows = _fit_streamed(model, args, column)
    else:
        like, n_rows = _fit_in_memory(model, args, column)
    metadata = {
        "source": str(args.data),
        "source_format": like.source_format,
        "image_shape": list(like.image_shape) if like.image_shape else None,
        "pixel_scale": like.pixel_scale,
        "feature_names": list(like.feature_names) if like.feature_names is not None else None,
        "label_column": like.label_column,
        "delimiter": like.delimiter,
        "n_rows": int(n_rows),
    }
    _note_orders(model.order_columns().describe_orders(model.orders_))
    model.save(args.output, metadata=metadata)
    print(
        f"fitted {len(model.classes_)} classes on {n_rows} rows x "
        f"{model.n_features_in_} features ({_density_text(model)}); wrote {args.output}",
        file=sys.stderr,
    )
    return EXIT_OK


def _refuse_budget_without_auto(args, density: str, why: str) -> None:
    """``--budget`` where the family fitted (``density``: given, or what the default
    means for this data) is not ``auto``."""
    if args.budget is not None and not _is_auto(density):
        raise UsageError(
            f"--budget limits the time spent trying candidate densities, and {why}; "
            "add --density auto to compare families (rows held in memory), or drop --budget"
        )


def _with_runs_text(name: str) -> str:
    """A shortcut with ``*RUNS`` in words, e.g. "mppca:5x10*3+glogit (the average of 3 EM
    runs)"."""
    from bayesgen.densities import parse_density_name

    runs = parse_density_name(name).runs
    return name if runs is None else f"{name} (the average of {runs} EM runs)"


def _density_text(model) -> str:
    """The fitted family in words: "auto chose NAME" when every class took the same."""
    density = model.densities_[0]
    if isinstance(density, AutoDensity):
        chosen = {d.delivered_name() for d in model.densities_ if d is not None}
        if len(chosen) == 1:
            return f"auto chose {_with_runs_text(chosen.pop())}"
    return type(density).__name__ if model.density is None else str(model.density)


def register(subparsers) -> None:
    """Add ``fit`` and its options."""
    p = add_command(
        subparsers,
        "fit",
        run,
        "Fit a Bayes classifier to a labelled data file.",
        "bayesgen fit train.csv --density gaussian --reg-covar 0.03 -o model.bgm",
    )
    p.add_argument("data", help="CSV, Parquet, NPZ, MNIST IDX file or a folder of images")
    p.add_argument(
        "--label-column",
        help="label column name or index (default: the column named label, class, target or y; "
        "else, in a table, the first or last column if just one of them looks like labels, "
        f"and in a matrix of numbers (over {MATRIX_COLUMNS} columns) the first column)",
    )
    p.add_argument(
        "--density",
        type=density_option,
        default=None,
        help="class density NAME[:SIZE][*RUNS][+TRANSFORM]: NAME one of gaussian, diag, tied, "
        "lowrank, fa, mixture, diagmix, mfa, mppca, copula, mfacopula, auto; SIZE e.g. 20 or "
        "20x30 (components x rank); RUNS, for mixtures, EM runs averaged; TRANSFORM logit, "
        "glogit or deq for pixel data, e.g. mppca:20x30*3+glogit (default: auto, among "
        "copulas for tables; a streamed table or --shrinkage: copula; a streamed file of "
        "numbers or --shrinkage: gaussian)",
    )
    add_table_options(p)
    p.add_argument(
        "--reg-covar",
        type=non_negative_float,
        default=1e-6,
        help="ridge added to covariance diagonals (default: %(default)s)",
    )
    p.add_argument(
        "--shrinkage",
        type=parse_shrinkage,
        default=None,
        help="covariance shrinkage: none, auto (Ledoit-Wolf) or a number in [0, 1]",
    )
    p.add_argument(
        "--budget",
        type=non_negative_float,
        default=None,
        metavar="SECONDS",
        help="with --density auto: seconds for trying candidate densities, shared evenly by "
        "the classes; candidates not started in time are skipped (default: no limit)",
    )
    p.add_argument("--seed", type=non_negative_int, default=None, help="seed for fitting")
    p.add_argument(
        "--stream",
        choices=["auto", "always", "never"],
        default="auto",
        help="read the file in chunks (bounded memory; Gaussian densities, or a table with "
        "the default copula, in two passes); auto streams files over 256 MB or when "
        "--chunk-rows is given (default: %(default)s)",
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=None,
        help=f"rows per chunk when streaming (default: {_CHUNK_ROWS})",
    )
    p.add_argument(
        "--orders",
        choices=["keep", "ignore"],
        default="keep",
        help="tables: keep in samples the orders between numeric or date columns that every "
        "training row keeps, such as temp_min <= temp_max, by redrawing the cells that break one "
        "(default: %(default)s)",
    )
    p.add_argument("-o", "--output", required=True, help="model file to write")
