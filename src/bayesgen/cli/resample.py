"""``bayesgen resample``: balance rare classes of a labelled file with rows drawn from the
fitted class densities (:class:`bayesgen.BayesOverSampler`); originals first."""

from __future__ import annotations

import numpy as np

from bayesgen.cli.common import (
    EXIT_OK,
    UsageError,
    add_command,
    add_keep_formulas,
    label_column,
    label_column_hints,
    non_negative_int,
    note,
    note_label_column,
    refuse_same_file,
)
from bayesgen.cli.fit import (
    add_table_options,
    column_types,
    density_option,
    refuse_overrides_of_the_label,
    refuse_table_options_for_a_matrix,
)

__all__ = ["register"]

_NAMED = ("auto", "minority", "not minority", "not majority", "all")


def parse_strategy(text: str, labels):
    """``--strategy``: a name, a ratio (binary data), or ``CLASS=COUNT,CLASS=COUNT``."""
    text = text.strip()
    if text in _NAMED:
        return text
    if "=" not in text:
        try:
            return float(text)
        except ValueError:
            raise UsageError(
                f"--strategy {text!r}: give one of {', '.join(_NAMED)}, a ratio such as 0.5, "
                "or target counts such as 'rain=500,snow=500'"
            ) from None
    by_text = {str(v): v for v in np.unique(labels)}
    targets = {}
    for part in text.split(","):
        name, _, count = part.partition("=")
        name = name.strip()
        if name not in by_text:
            known = ", ".join(sorted(by_text))
            raise UsageError(
                f"--strategy: {name!r} is not a class of the data; the classes are {known}"
            )
        try:
            targets[by_text[name]] = int(count)
        except ValueError:
            raise UsageError(f"--strategy: {part!r} needs a whole number of rows") from None
    return targets


def _read(args, column):
    """``(X, y, layout)``: a table as a DataFrame, a file of numbers as arrays."""
    from bayesgen import io as bio

    with label_column_hints(args.data, column):
        if bio.is_table_file(args.data):
            table = bio.read_table(
                args.data, label_column=column, drop_missing_labels=args.drop_missing_labels
            )
            refuse_overrides_of_the_label(args, table.label_column)
            note_label_column(table)
            layout = dict(
                label_column=table.label_column,
                columns=table.columns,
                delimiter=table.delimiter,
                decimal=table.decimal,
                label_dtype=table.label_dtype,
            )
            return table.X, table.y, layout
        refuse_table_options_for_a_matrix(args)
        data = bio.read_labelled(args.data, label_column=column)
    import pandas as pd

    names = data.feature_names or [f"x{j}" for j in range(data.X.shape[1])]
    frame = pd.DataFrame(data.X, columns=[str(n) for n in names])
    layout = dict(label_column=data.label_column or "label", columns=None, delimiter=data.delimiter)
    return frame, data.y, layout


def run(args) -> int:
    """Read, resample, write originals then synthetic rows (optionally marked)."""
    from bayesgen import BayesOverSampler
    from bayesgen import io as bio

    refuse_same_file({"-o": args.output}, {"DATA": args.data}, example="balanced.csv")
    X, y, layout = _read(args, label_column(args.label_column))
    sampler = BayesOverSampler(
        density=args.density,
        sampling_strategy=parse_strategy(args.strategy, y),
        random_state=args.seed,
        orders=args.orders,
        column_types=column_types(args) or None,
        missing=args.missing,
    )
    X_res, y_res = sampler.fit_resample(X, y)
    if args.mark_synthetic:
        if args.mark_synthetic in X_res.columns:
            raise UsageError(f"--mark-synthetic {args.mark_synthetic!r} is already a column")
        X_res[args.mark_synthetic] = sampler.synthetic_mask_
        if layout["columns"] is not None:
            layout["columns"] = [*layout["columns"], args.mark_synthetic]
    bio.write_table(
        X_res, args.output, y=np.asarray(y_res), keep_formulas=args.keep_formulas, **layout
    )
    schema = getattr(sampler.model_, "schema_", None)
    for name, reason in schema.dropped.items() if schema is not None else []:
        why = "--drop" if name in (args.drop or []) else reason.split(";")[0]
        note(f"column {name!r} is empty in the added rows: the model leaves it out ({why})")
    added = ", ".join(f"{k}: +{v}" for k, v in sampler.n_synthetic_.items() if v)
    note(f"added {int(sampler.synthetic_mask_.sum())} rows ({added}); wrote {args.output}")
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``resample`` and its options."""
    p = add_command(
        subparsers,
        "resample",
        run,
        "Balance rare classes with rows drawn from the fitted class densities (original rows "
        "first, then the synthetic ones).",
        "bayesgen resample weather.csv --strategy 'rain=500,snow=500' --mark-synthetic synthetic "
        "-o balanced.csv",
    )
    p.add_argument("data", help="labelled CSV or Parquet file (a table or numbers)")
    p.add_argument("--label-column", help="label column name or index")
    p.add_argument(
        "--strategy",
        default="auto",
        help="which classes grow and to how many rows: auto (every class but the largest, to "
        "its size), minority, 'not minority', 'not majority', all, a ratio for two classes, "
        "or 'CLASS=ROWS,CLASS=ROWS' (default: %(default)s)",
    )
    p.add_argument(
        "--mark-synthetic",
        metavar="COLUMN",
        help="add a column of that name, True on synthetic rows",
    )
    p.add_argument(
        "--density", type=density_option, default=None, help="class density (default: copula)"
    )
    add_table_options(p)
    p.add_argument(
        "--missing",
        choices=["keep", "none"],
        default="keep",
        help="tables: leave cells of the added rows empty at each class's rate in the data "
        "(keep), or add complete rows (none), e.g. for a classifier that takes no empty "
        "cells (default: %(default)s; Python's BayesOverSampler defaults to none)",
    )
    p.add_argument(
        "--orders",
        choices=["keep", "ignore"],
        default="keep",
        help="keep in the added rows the orders between numeric or date columns that every "
        "row keeps, such as temp_min <= temp_max (default: %(default)s)",
    )
    p.add_argument("--seed", type=non_negative_int, default=None, help="random seed")
    p.add_argument("-o", "--output", required=True, help="output (.csv, .tsv, .parquet)")
    add_keep_formulas(p)
