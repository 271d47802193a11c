"""``bayesgen dataset``: write a bundled labelled data set to a file, so that the tour and
your own experiments start from a real file."""

from __future__ import annotations

import sys

from bayesgen.cli.common import EXIT_OK, add_command

__all__ = ["register"]

_NAMES = ("mnist", "digits")


def run(args) -> int:
    """Load the bundled data set and write it in a file layout the readers know."""
    from bayesgen import datasets
    from bayesgen import io as bio

    data = datasets.load_dataset(args.name)
    bio.write_labelled(
        args.output,
        data.X,
        data.y,
        like="kaggle-csv" if args.name == "mnist" else None,
        image_shape=data.image_shape,
        pixel_scale=data.pixel_scale,
        feature_names=data.feature_names,
    )
    print(
        f"wrote {data.X.shape[0]} rows x {data.X.shape[1]} features of {args.name} to "
        f"{args.output}",
        file=sys.stderr,
    )
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``dataset`` and its options."""
    p = add_command(
        subparsers,
        "dataset",
        run,
        "Write a data set bundled with bayesgen to a file: mnist (the MNIST test set, 10,000 "
        "digits, in Kaggle's train.csv layout: label,pixel0..pixel783 as 0-255) or digits "
        "(scikit-learn's 8x8 digits).",
        "bayesgen dataset mnist -o mnist.csv",
    )
    p.add_argument("name", choices=_NAMES, help="which data set")
    p.add_argument("-o", "--output", required=True, help="output file (.csv, .npz, .parquet)")
