"""``bayesgen inpaint``: complete partly observed rows by sampling the rest from the exact
conditional p(x_missing | x_observed, y)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bayesgen import DataError
from bayesgen.cli.common import (
    EXIT_OK,
    add_command,
    add_keep_formulas,
    image_shape_of,
    label_column_hints,
    load_model,
    model_label_column,
    non_negative_int,
    refuse_same_file,
    resolve_label,
)

__all__ = ["observed_mask", "register"]

_MASKS = ("top-half", "bottom-half", "left-half", "right-half")


def _half_image(spec: str, image_shape) -> np.ndarray:
    """The mask of one named half of an image, flattened."""
    if not image_shape or len(image_shape) != 2:
        raise DataError(
            f"--observe {spec} needs image data, but the model has no image shape; give "
            "column ranges instead, e.g. --observe 0:10"
        )
    h, w = image_shape
    grid = np.zeros((h, w), dtype=bool)
    if spec == "top-half":
        grid[: h // 2] = True
    elif spec == "bottom-half":
        grid[h // 2 :] = True
    elif spec == "left-half":
        grid[:, : w // 2] = True
    else:
        grid[:, w // 2 :] = True
    return grid.ravel()


def observed_mask(spec: str, n_features: int, image_shape) -> np.ndarray:
    """Boolean mask of observed features from a spec such as ``top-half`` or ``0:392``.

    Parameters
    ----------
    spec : str
        One of ``top-half``, ``bottom-half``, ``left-half``, ``right-half`` (images), or
        comma-separated column ranges ``a:b`` / indices (any data).
    n_features : int
    image_shape : tuple of int or None

    Returns
    -------
    ndarray of bool, shape (n_features,)

    Raises
    ------
    DataError
        The spec is not understood, needs an image shape the model lacks, or observes none
        or all of the features.
    """
    if spec in _MASKS:
        return _half_image(spec, image_shape)
    mask = np.zeros(n_features, dtype=bool)
    try:
        for part in spec.split(","):
            if ":" in part:
                a, b = part.split(":")
                mask[int(a or 0) : int(b) if b else n_features] = True
            else:
                mask[int(part)] = True
    except (ValueError, IndexError):
        raise DataError(
            f"--observe {spec!r} is not understood; expected one of {', '.join(_MASKS)} or "
            f"column ranges such as 0:392,400 (features are numbered 0..{n_features - 1})"
        ) from None
    if mask.all() or not mask.any():
        raise DataError(
            f"--observe {spec!r} observes {int(mask.sum())} of {n_features} features; "
            "observe some but not all of them"
        )
    return mask


def _save_png(out: Path, rows, mask, completions, labels, shape, args, true_labels) -> None:
    """The in-painting figure (images only): which tile is the original, which the model's
    input and which the completions, and the class of each."""
    from bayesgen import plotting

    if shape is None:
        raise DataError(
            f"-o {out}: a figure needs image data, but the model was fitted on a table; "
            "write the completions as data instead, e.g. -o completions.csv"
        )
    if args.label is not None:
        how = f"every completion is of class {args.label} (--label)"
    elif args.use_true_label:
        how = "every completion is of its original's class (--use-true-label)"
    else:
        how = "the class of each completion is drawn from p(y | observed part)"
    fig = plotting.plot_inpainting(
        np.clip(rows, 0, 1),
        mask,
        np.clip(completions, 0, 1),
        shape,
        labels=np.asarray(labels, dtype=object),
        original_labels=list(true_labels),
        title=f"Observed: {args.observe}; {how}",
    )
    plotting.save_figure(fig, out)


def run(args) -> int:
    """Complete the first ``--rows`` rows ``-n`` times each; write a figure or a data file."""
    from bayesgen import io as bio
    from bayesgen.conditional import sample_conditional

    refuse_same_file(
        {"-o": args.output}, {"MODEL": args.model, "--input": args.input}, "inpaint.png"
    )
    model, metadata = load_model(args.model)
    column = model_label_column(args.label_column, metadata, args.input)
    with label_column_hints(args.input, column):
        data = bio.read_labelled(args.input, label_column=column)
    d = int(model.n_features_in_)
    if data.X.shape[1] != d:
        raise DataError(
            f"{args.input} has {data.X.shape[1]} features, but the model was fitted on {d}; "
            "give rows with the model's columns"
        )
    rows = data.X[: args.rows]
    # the completions are drawn whole: refuse what cannot fit before drawing
    bio.check_output_size(args.output, rows.shape[0] * args.n, d, in_memory=True)
    shape = image_shape_of(metadata) or data.image_shape
    mask = observed_mask(args.observe, d, shape)
    label = None if args.label is None else resolve_label(model, args.label)
    if label is None and args.use_true_label:
        label = np.asarray(data.y[: args.rows])
    completions, labels = sample_conditional(
        model,
        rows,
        np.broadcast_to(mask, rows.shape),
        y=label,
        n_samples=args.n,
        random_state=args.seed,
    )
    out = Path(args.output)
    if out.suffix.lower() == ".png":
        _save_png(out, rows, mask, completions, labels, shape, args, data.y[: args.rows])
    else:
        bio.write_labelled(
            out,
            completions.reshape(-1, d),
            np.asarray(labels).reshape(-1),
            like=metadata.get("source_format"),
            image_shape=shape,
            pixel_scale=metadata.get("pixel_scale"),
            feature_names=metadata.get("feature_names"),
            label_column=metadata.get("label_column"),
            keep_formulas=args.keep_formulas,
        )
    print(
        f"wrote {completions.shape[0]} x {completions.shape[1]} completions to {out}",
        file=sys.stderr,
    )
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``inpaint`` and its options."""
    p = add_command(
        subparsers,
        "inpaint",
        run,
        "Complete partly observed rows by sampling the rest from the exact conditional "
        "p(x_missing | x_observed, y).",
        "bayesgen inpaint model.bgm --input test.csv --observe top-half -n 4 -o inpaint.png",
    )
    p.add_argument("model", help="model file written by `bayesgen fit`")
    p.add_argument("--input", required=True, help="rows to complete (any supported data file)")
    p.add_argument("--label-column", help="label column of the input file")
    p.add_argument(
        "--observe",
        default="top-half",
        help="observed part: top-half, bottom-half, left-half, right-half, or column "
        "ranges like 0:392 (default: %(default)s)",
    )
    p.add_argument(
        "--rows",
        type=non_negative_int,
        default=8,
        help="complete the first ROWS rows (default: 8)",
    )
    p.add_argument("-n", type=non_negative_int, default=4, help="completions per row (default: 4)")
    p.add_argument(
        "--label", help="condition on this class (default: drawn from p(y | x_observed))"
    )
    p.add_argument(
        "--use-true-label",
        action="store_true",
        help="condition each row on its own label from the input file",
    )
    p.add_argument("--seed", type=non_negative_int, default=None)
    p.add_argument("-o", "--output", required=True, help=".png figure, or .csv/.npz completions")
    add_keep_formulas(p)
