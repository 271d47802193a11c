"""``bayesgen plot``: a grid of samples or the sample-vs-mean figure of a fitted model."""

from __future__ import annotations

import sys

import numpy as np

from bayesgen.cli.common import (
    EXIT_OK,
    UsageError,
    add_command,
    image_shape_of,
    load_model,
    non_negative_int,
)

__all__ = ["register"]


def run(args) -> int:
    """Draw the figure of ``--kind`` and save it as a PNG."""
    from bayesgen import plotting

    model, metadata = load_model(args.model)
    shape = image_shape_of(metadata)
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


def register(subparsers) -> None:
    """Add ``plot`` and its options."""
    p = add_command(
        subparsers,
        "plot",
        run,
        "Draw a grid of samples or the sample-vs-mean figure.",
        "bayesgen plot model.bgm --kind means -o means.png",
    )
    p.add_argument("model")
    p.add_argument("--kind", choices=["grid", "means"], default="grid")
    p.add_argument("--seed", type=non_negative_int, default=None)
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
