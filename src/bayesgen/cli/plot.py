"""``bayesgen plot``: a grid of samples (a row per class) or the sample-vs-mean figure of a
fitted model."""

from __future__ import annotations

import sys

from bayesgen import DataError
from bayesgen.cli.common import (
    EXIT_OK,
    add_command,
    image_shape_of,
    load_model,
    non_negative_int,
    positive_int,
    refuse_same_file,
    resolve_label,
)
from bayesgen.cli.sample import class_grid_figure

__all__ = ["register"]


def run(args) -> int:
    """Draw the figure of ``--kind`` and save it as a PNG."""
    from bayesgen import plotting

    refuse_same_file({"-o": args.output}, {"MODEL": args.model}, example="grid.png")
    model, metadata = load_model(args.model)
    shape = image_shape_of(metadata)
    if shape is None:
        # the model is fine and so are the options: the data are not images (exit 1)
        raise DataError(
            f"{args.model} was fitted on a table, not on images (no image shape recorded), so "
            "there is no image to draw; sample rows instead (`bayesgen sample "
            f"{args.model} -n 1000 -o samples.csv`) and compare them with real rows in "
            f"`bayesgen report {args.model} --real DATA -o report.html`"
        )
    label = None if args.label is None else resolve_label(model, args.label)
    if args.kind == "means":
        fig = plotting.plot_model_means(
            model, shape, random_state=args.seed, title="A sample of every class and its mean"
        )
    else:
        fig, _ = class_grid_figure(model, args.n, shape, label=label, seed=args.seed)
    plotting.save_figure(fig, args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``plot`` and its options."""
    p = add_command(
        subparsers,
        "plot",
        run,
        "Draw a grid of samples (a row per class) or the sample-vs-mean figure.",
        "bayesgen plot model.bgm --kind means -o means.png",
    )
    p.add_argument("model", help="model file written by `bayesgen fit` on images")
    p.add_argument(
        "--kind",
        choices=["grid", "means"],
        default="grid",
        help="grid: samples in a row per class; means: a sample of every class beside its "
        "mean (default: %(default)s)",
    )
    p.add_argument(
        "-n",
        type=positive_int,
        default=40,
        help="samples in the grid, spread evenly over the classes (default: %(default)s)",
    )
    p.add_argument("--label", help="grid of this class only")
    p.add_argument("--seed", type=non_negative_int, default=None, help="random seed")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
