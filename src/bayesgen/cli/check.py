"""``bayesgen check``: test the one-Gaussian-per-class assumption on a labelled data file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bayesgen.base.errors import DataError
from bayesgen.base.validation import format_label
from bayesgen.cli.common import (
    EXIT_OK,
    add_command,
    cli_wording,
    label_column,
    label_column_hints,
    non_negative_int,
    note_label_column,
    progress,
    refuse_same_file,
    show,
    write_json,
)

__all__ = ["register"]


def _numbers_and_labels(path, column):
    """``(X, y)`` of a file of numbers: a table's label column is chosen as ``fit``
    chooses it (a narrow file of numbers is a table), a matrix's by the numeric reader."""
    from bayesgen import io as bio

    if not bio.is_table_file(path):
        data = bio.read_labelled(path, label_column=column)
        return data.X, data.y
    table = bio.read_table(path, label_column=column)
    note_label_column(table)
    text = [c for c in table.X.columns if not pd.api.types.is_numeric_dtype(table.X[c])]
    if text:
        raise DataError(
            f"{path}: column {text[0]!r} is not numbers; the Gaussian check takes numeric "
            "columns only (leave the others out of the file)"
        )
    return table.X.to_numpy(dtype=np.float64), table.y


def run(args) -> int:
    """Print the verdict table; write the QQ plots and ``check.json`` to ``--out``."""
    from bayesgen import plotting
    from bayesgen.diagnostics import check_gaussian

    out = Path(args.out)
    refuse_same_file(
        [("--out", out / "check.json"), ("--out", out / "qq_chi2.png")],
        {"DATA": args.data},
        example="check-out",
        folders=False,  # --out and the folders above it are created
    )
    column = label_column(args.label_column)
    with label_column_hints(args.data, column):
        X, y = _numbers_and_labels(args.data, column)
    progress(f"checking {len(np.unique(y))} classes of {X.shape[0]} rows ...")
    result = check_gaussian(X, y, alpha=args.alpha)
    print(
        f"Gaussian-assumption check of {args.data} "
        f"({X.shape[0]} rows, {X.shape[1]} features, alpha={args.alpha})"
    )
    # the library names its Python arguments (density='lowrank'); here: --density lowrank
    show(cli_wording(str(result)))
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "check.json"]
    unjudged = [c for c in result.classes if c.verdict.startswith("cannot judge")]
    if result.can_plot():
        plotting.save_figure(result.plot(max_classes=args.max_plots), out / "qq_chi2.png")
        written.insert(0, out / "qq_chi2.png")
        if unjudged:
            names = ", ".join(format_label(c.label) for c in unjudged[:10])
            print(
                f"no QQ panel for class(es) {names}: no more rows than features, so the "
                "distance test cannot be run for them",
                file=sys.stderr,
            )
    else:
        print(
            "no QQ plot: every class has no more rows than features, so the distance test "
            "cannot be run (more rows per class, or fewer features, would allow it)",
            file=sys.stderr,
        )
    write_json(
        out / "check.json",
        {
            "data": str(args.data),
            "alpha": args.alpha,
            "verdict": result.verdict,
            "classes": result.as_dicts(),
        },
    )
    print("wrote " + " and ".join(str(w) for w in written), file=sys.stderr)
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``check`` and its options."""
    p = add_command(
        subparsers,
        "check",
        run,
        "Check the one-Gaussian-per-class assumption: Mahalanobis distances vs "
        "chi-squared, marginal normality, effective rank, constant features.",
        "bayesgen check train.csv --out check-out",
    )
    p.add_argument("data", help="labelled data file (CSV, Parquet, NPZ, IDX, image folder)")
    p.add_argument("--label-column", help="label column name or index")
    p.add_argument("--alpha", type=float, default=0.05, help="test level (default: 0.05)")
    p.add_argument(
        "--max-plots",
        type=non_negative_int,
        default=10,
        help="QQ plots for at most this many classes (default: 10)",
    )
    p.add_argument(
        "--out",
        default="bayesgen-check",
        help="folder for qq_chi2.png and check.json (default: %(default)s)",
    )
