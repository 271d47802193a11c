"""``bayesgen split``: a stratified, seeded train/test split of a labelled data file, written
in the layout of the input (so ``fit train.csv`` and ``evaluate --real test.csv`` have the
files they need)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bayesgen.base.validation import format_label
from bayesgen.cli.common import (
    EXIT_OK,
    UsageError,
    add_command,
    add_keep_formulas,
    label_column,
    label_column_hints,
    non_negative_int,
    output_kind,
    refuse_same_file,
)

__all__ = ["register", "stratified_split"]

_ACCEPTED = (
    ".csv, .tsv (optionally .gz), .npz or .parquet (or give folder names for a folder of "
    "images), e.g. -o train.csv test.csv"
)


def _test_size(text: str) -> float | int:
    """argparse type of ``--test-size``: a fraction in (0, 1) or a whole number of rows."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction such as 0.2 or a number of rows such as 300; got {text!r}"
        ) from None
    if 0.0 < value < 1.0:
        return value
    if value >= 1.0 and value.is_integer():
        return int(value)
    raise argparse.ArgumentTypeError(
        f"expected a fraction between 0 and 1 (e.g. 0.2) or a whole number of rows of 1 or "
        f"more; got {text!r}"
    )


def _test_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """Test rows per class: proportional to the class sizes (largest remainders), summing to
    ``n_test``, and leaving every class at least one training row."""
    quota = n_test * counts / counts.sum()
    cap = np.maximum(counts - 1, 0)
    take = np.minimum(np.floor(quota).astype(int), cap)
    for k in np.argsort(-(quota - take), kind="stable"):
        if take.sum() >= n_test:
            break
        if take[k] < cap[k]:
            take[k] += 1
    while take.sum() < n_test:  # still short: the classes with room left, largest first
        room = np.flatnonzero(take < cap)
        k = room[np.argmax(counts[room] - take[room])]
        take[k] += 1
    return take


def stratified_split(y, test_size: float | int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of a stratified train/test split, each in the input's order.

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        Labels.
    test_size : float in (0, 1) or int >= 1
        Fraction of the rows, or number of rows, in the test part.
    seed : int or None
        Same seed, same split.

    Returns
    -------
    train, test : ndarray of int
        Disjoint, together every row; every class keeps at least one training row, and each
        class's share of the test part follows its share of the data.

    Raises
    ------
    UsageError
        The test part would be empty or would leave some class no training row.
    """
    y = np.asarray(y)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    n = y.shape[0]
    n_test = round(test_size * n) if isinstance(test_size, float) else int(test_size)
    largest = int(np.maximum(counts - 1, 0).sum())
    if n_test < 1:
        raise UsageError(
            f"--test-size {test_size} of {n} rows gives an empty test file; ask for a larger "
            f"fraction (at least {1 / n:.2g}) or a number of rows"
        )
    if n_test > largest:
        raise UsageError(
            f"--test-size {test_size} asks for {n_test} of {n} test rows, but every one of the "
            f"{len(classes)} classes needs a training row; ask for at most {largest} rows"
        )
    take = _test_counts(counts, n_test)
    rng = np.random.default_rng(seed)
    test = []
    for k in range(len(classes)):
        rows = np.flatnonzero(inverse == k)
        test.append(rng.permutation(rows)[: take[k]])
    test_rows = np.sort(np.concatenate(test))
    train_rows = np.setdiff1d(np.arange(n), test_rows, assume_unique=True)
    return train_rows, test_rows


def _check_outputs(args, data_path: Path) -> tuple[Path, Path]:
    """The two output paths, refused before any reading when they cannot be right."""
    train, test = (Path(p) for p in args.output)
    for path in (train, test):
        if output_kind(str(path), "-o", _ACCEPTED) in ("stdout", "png"):
            raise UsageError(
                f"-o {path}: split writes two data files; end their names in {_ACCEPTED}"
            )
    stem, suffixes = data_path.name.split(".")[0], "".join(data_path.suffixes)
    refuse_same_file(
        [("-o", train), ("-o", test)],
        {"DATA": data_path},
        example=f"{stem}-train{suffixes} {stem}-test{suffixes}",
    )
    if train.absolute() == test.absolute():
        raise UsageError(f"-o names {train} twice; give two different files: -o TRAIN TEST")
    return train, test


def _read(args, column):
    """The data and a writer ``write(path, rows)`` of its layout: a table (text columns or
    empty cells: :func:`bayesgen.io.read_table`) or numeric data (:func:`read_labelled`);
    CSV text cells that start like a formula are neutralised unless ``--keep-formulas``."""
    from bayesgen import io as bio

    with label_column_hints(args.data, column):
        if bio.is_table_file(args.data):
            table = bio.read_table(args.data, label_column=column)

            def write_rows(path, rows):
                bio.write_table(
                    table.X.iloc[rows].reset_index(drop=True),
                    path,
                    y=table.y[rows],
                    label_column=table.label_column,
                    columns=table.columns,
                    delimiter=table.delimiter,
                    decimal=table.decimal,
                    label_dtype=table.label_dtype,
                    keep_formulas=args.keep_formulas,
                )

            return table.y, None, write_rows
        data = bio.read_labelled(args.data, label_column=column)

    def write_rows(path, rows):
        bio.write_labelled(
            path, data.X[rows], data.y[rows], like=data, keep_formulas=args.keep_formulas
        )

    return data.y, data.image_shape, write_rows


def _write_all(write_rows, parts: dict[Path, np.ndarray]) -> None:
    """Write every part; the targets are replaced only once all of them are complete (each
    is first written inside a temporary folder beside it, which a killed run leaves for the
    next write to the same target to remove)."""
    from bayesgen.base.atomic import commit, discard, temp_sibling

    staged = {}
    try:
        for path in parts:
            staged[path] = temp_sibling(path, directory=True)
        for path, rows in parts.items():
            write_rows(staged[path] / path.name, rows)
        for path in parts:
            commit(staged[path] / path.name, path)
    finally:
        for folder in staged.values():
            discard(folder)


def run(args) -> int:
    """Read, split by class, write both parts; a summary goes to stderr."""
    data_path = Path(args.data)
    train_path, test_path = _check_outputs(args, data_path)
    y, image_shape, write_rows = _read(args, label_column(args.label_column))
    for path in (train_path, test_path):  # folders of PNGs need images
        if output_kind(str(path)) == "folder" and image_shape is None:
            raise UsageError(
                f"-o {path} names a folder of images, but {data_path} holds a table; name the "
                "outputs .csv, .tsv, .npz or .parquet"
            )
    train, test = stratified_split(y, args.test_size, args.seed)
    _write_all(write_rows, {train_path: train, test_path: test})
    classes, counts = np.unique(y, return_counts=True)
    alone = [format_label(c) for c, k in zip(classes, counts, strict=True) if k == 1]
    missing = sorted(set(classes.tolist()) - set(np.unique(y[test]).tolist()))
    print(
        f"split {args.data} ({y.shape[0]} rows, {len(classes)} classes) by class with seed "
        f"{args.seed}: {train.shape[0]} rows to {train_path}, {test.shape[0]} rows to "
        f"{test_path}",
        file=sys.stderr,
    )
    if missing:
        names = ", ".join(format_label(c) for c in missing[:10])
        print(
            f"note: {test_path} has no rows of class(es) {names}"
            + (f" ({', '.join(alone)} had a single row, kept for training)" if alone else "")
            + "; a larger --test-size gives every class test rows",
            file=sys.stderr,
        )
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``split`` and its options."""
    p = add_command(
        subparsers,
        "split",
        run,
        "Split a labelled data file into a training and a test file, stratified by class "
        "and seeded, in the layout of the input.",
        "bayesgen split kaggle-train.csv --test-size 0.2 --seed 0 -o train.csv test.csv",
    )
    p.add_argument("data", help="labelled data file (CSV, Parquet, NPZ, IDX, image folder)")
    p.add_argument("--label-column", help="label column name or index")
    p.add_argument(
        "--test-size",
        type=_test_size,
        default=0.2,
        help="fraction (e.g. 0.2) or number of rows for the test file (default: %(default)s)",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)"
    )
    p.add_argument(
        "-o",
        "--output",
        nargs=2,
        metavar=("TRAIN", "TEST"),
        required=True,
        help="the two files to write (format from the names, e.g. train.csv test.csv)",
    )
    add_keep_formulas(p)
