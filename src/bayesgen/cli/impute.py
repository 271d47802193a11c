"""``bayesgen impute``: fill the empty cells of a table from the model's exact conditional."""

from __future__ import annotations

import sys

import numpy as np

from bayesgen.cli.common import (
    EXIT_OK,
    UsageError,
    add_command,
    add_keep_formulas,
    load_model,
    non_negative_int,
    positive_int,
    refuse_same_file,
)

__all__ = ["register"]


def _labels(frame, name):
    """The label column of the input, if it has one: known labels condition the completion,
    empty ones are drawn from p(y | observed cells)."""
    if name is None or name not in frame.columns:
        return None
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in frame[name]]


def _impute_numbers(model, metadata, features, y, args) -> tuple[list, list]:
    """Completed copies of a table of numbers for a model fitted on numbers (no table
    schema), its columns matched by name; the other columns pass through.  Columns whose
    observed cells are all whole numbers get whole numbers (rounded draws); their names are
    returned too, to be written as integers."""
    names = metadata.get("feature_names") or list(features.columns)
    absent = [n for n in names if n not in features.columns]
    if absent:
        raise UsageError(
            f"the model was fitted on the columns {names}; the input lacks {absent}. Pass "
            "a table with those columns"
        )
    try:
        values = features[names].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise UsageError(
            "this model was fitted on numbers, but some of its columns in the input are not "
            "numbers; fit a model on the table itself (`bayesgen fit TABLE`) to impute it"
        ) from None
    filled = model.impute(values, y=y, draws=args.draws, random_state=args.seed)
    copies = [filled] if args.draws == 1 else filled
    observed = features[names]
    integer = [n for n in names if np.all(np.mod(observed[n].dropna().to_numpy(float), 1) == 0)]
    out = []
    for copy in copies:
        frame = features.copy()
        frame[names] = copy
        frame[integer] = frame[integer].round()  # whole numbers in, whole numbers out
        out.append(frame)
    return out, integer


def run(args) -> int:
    """Read the table, complete every row with empty cells, write it in the same layout."""
    import pandas as pd

    from bayesgen import io as bio

    refuse_same_file(
        {"-o": args.output}, {"MODEL": args.model, "--input": args.input}, "completed.csv"
    )
    model, metadata = load_model(args.model)
    frame, layout = bio.read_frame_and_layout(args.input)
    label = metadata.get("label_column")
    y = _labels(frame, label)
    if y is not None:
        y = [None if v is None else model.parse_label(str(v)) for v in y]
    features = frame.drop(columns=[label]) if label in frame.columns else frame
    schema = getattr(model, "schema_", None)
    if schema is None and metadata.get("pixel_scale") is not None:
        raise UsageError(
            "this model was fitted on images; fill their pixels with `bayesgen inpaint`"
        )
    if schema is None:  # a model of numbers: its columns as a matrix, and back
        copies, integer = _impute_numbers(model, metadata, features, y, args)
    else:
        model.set_params(unknown=args.unknown)
        filled = model.impute(features, y=y, draws=args.draws, random_state=args.seed)
        copies = [filled] if args.draws == 1 else filled
        integer = [c.name for c in schema.features if c.kind == "integer"]
    columns = list(frame.columns)
    parts = []
    for k, copy in enumerate(copies, start=1):
        out = bio.table_for_output(copy, integer_columns=integer)
        if label in frame.columns:
            out.insert(0, label, frame[label].to_numpy())
        out = out[[c for c in columns if c in out.columns]]
        if args.draws > 1:
            out.insert(0, "imputation", k)
        parts.append(out)
    table = pd.concat(parts, ignore_index=True)
    bio.write_table(
        table,
        args.output,
        integer_columns=integer,
        keep_formulas=args.keep_formulas,
        **layout,
    )
    n_rows = int(features.isna().any(axis=1).sum())
    print(
        f"completed {n_rows} rows with empty cells ({args.draws} draw(s)); wrote {args.output}",
        file=sys.stderr,
    )
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``impute`` and its options."""
    p = add_command(
        subparsers,
        "impute",
        run,
        "Fill the empty cells of a table by sampling p(missing | observed, y) from a model "
        "fitted on it (known labels condition the draw; where the label is empty the class "
        "is drawn from p(y | observed) and the label cell stays empty).",
        "bayesgen impute model.bgm --input survey.csv --draws 5 -o completed.csv",
    )
    p.add_argument("model", help="model file written by `bayesgen fit`")
    p.add_argument("--input", required=True, help="table with empty cells (CSV or Parquet)")
    p.add_argument(
        "--draws",
        type=positive_int,
        default=1,
        help="completed copies (multiple imputation); with more than one, an 'imputation' "
        "column numbers them (default: 1)",
    )
    p.add_argument(
        "--unknown",
        choices=["error", "missing"],
        default="error",
        help="a category the model never saw: an error naming its row, or an empty cell "
        "that is filled like the others (default: %(default)s)",
    )
    p.add_argument("--seed", type=non_negative_int, default=None, help="random seed")
    p.add_argument("-o", "--output", required=True, help="output table (.csv, .tsv, .parquet)")
    add_keep_formulas(p)
