"""``bayesgen sample``: generate labelled rows from a fitted model into a data file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bayesgen.cli.common import (
    EXIT_OK,
    ProgressBar,
    add_command,
    image_shape_of,
    load_model,
    non_negative_int,
    positive_int,
)

__all__ = ["register"]

#: Output suffixes written chunk by chunk (bounded memory for any ``-n``).
_CHUNKED = {".csv", ".tsv", ".npz", ".parquet"}


def run(args) -> int:
    """Sample ``-n`` rows and write them in the layout of the data the model was fitted on."""
    from bayesgen import io as bio
    from bayesgen import streaming

    model, metadata = load_model(args.model)
    label = None if args.label is None else model.parse_label(args.label)
    options = dict(
        like=metadata.get("source_format"),
        image_shape=image_shape_of(metadata),
        pixel_scale=metadata.get("pixel_scale"),
        feature_names=metadata.get("feature_names"),
        label_column=metadata.get("label_column"),
    )
    dtype = np.float32 if args.float32 else np.float64
    suffixes = {s.lower() for s in Path(args.output).suffixes}
    if suffixes & _CHUNKED:
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
            progress=ProgressBar(f"writing {args.output}"),
            **options,
        )
    else:
        X, y = model.sample(args.n, y=label, prior=args.prior, random_state=args.seed, dtype=dtype)
        bio.write_labelled(args.output, X, y, **options)
    print(f"wrote {args.n} samples to {args.output}", file=sys.stderr)
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``sample`` and its options."""
    p = add_command(
        subparsers,
        "sample",
        run,
        "Generate labelled samples from a fitted model.",
        "bayesgen sample model.bgm -n 1000 --seed 1 -o generated.csv",
    )
    p.add_argument("model", help="model file written by `bayesgen fit`")
    p.add_argument("-n", type=non_negative_int, required=True, help="number of samples")
    p.add_argument("--label", help="generate only this class")
    p.add_argument(
        "--prior",
        choices=["learned", "uniform"],
        default="learned",
        help="class distribution to draw labels from (default: %(default)s)",
    )
    p.add_argument("--seed", type=non_negative_int, default=None, help="random seed")
    p.add_argument(
        "--float32", action="store_true", help="sample in single precision (about twice as fast)"
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=50_000,
        help="rows generated per chunk for CSV/NPZ/Parquet output",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output: .csv, .npz, .parquet, .png (grid) or a folder (one PNG per sample)",
    )
