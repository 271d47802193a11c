"""Commands built on the diagnostics and conditional modules: check and inpaint.

Kept apart from :mod:`bayesgen.cli` so the core commands stay small; the evaluation commands
(evaluate, report) live in :mod:`bayesgen._cli_eval`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError

_MASKS = ("top-half", "bottom-half", "left-half", "right-half")


def _check(args) -> int:
    from bayesgen import io as bio
    from bayesgen.cli import EXIT_OK, _label_column, _progress, _write_json
    from bayesgen.diagnostics import check_gaussian

    data = bio.read_labelled(args.data, label_column=_label_column(args.label_column))
    _progress(f"checking {len(np.unique(data.y))} classes of {data.X.shape[0]} rows ...")
    result = check_gaussian(data.X, data.y, alpha=args.alpha)
    print(
        f"Gaussian-assumption check of {args.data} "
        f"({data.X.shape[0]} rows, {data.X.shape[1]} features, alpha={args.alpha})"
    )
    print(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from bayesgen.plotting import save_figure

    save_figure(result.plot(max_classes=args.max_plots), out / "qq_chi2.png")
    _write_json(
        out / "check.json",
        {
            "data": str(args.data),
            "alpha": args.alpha,
            "verdict": result.verdict,
            "classes": result.as_dicts(),
        },
    )
    print(f"wrote {out / 'qq_chi2.png'} and {out / 'check.json'}", file=sys.stderr)
    return EXIT_OK


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
    """
    mask = np.zeros(n_features, dtype=bool)
    if spec in _MASKS:
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


def _inpaint(args) -> int:
    from bayesgen import io as bio
    from bayesgen.cli import EXIT_OK, _image_shape, _label_column, _load_model
    from bayesgen.conditional import sample_conditional

    model, metadata = _load_model(args.model)
    data = bio.read_labelled(args.input, label_column=_label_column(args.label_column))
    d = int(model.n_features_in_)
    if data.X.shape[1] != d:
        raise DataError(
            f"{args.input} has {data.X.shape[1]} features, but the model was fitted on {d}; "
            "give rows with the model's columns"
        )
    rows = data.X[: args.rows]
    shape = _image_shape(metadata) or data.image_shape
    mask = observed_mask(args.observe, d, shape)
    label = None if args.label is None else model.parse_label(args.label)
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
        from bayesgen.plotting import plot_inpainting, save_figure

        if shape is None:
            raise DataError("a PNG needs image data; write .csv or .npz for tabular data")
        first = [lab[0] for lab in labels]
        fig = plot_inpainting(
            np.clip(rows, 0, 1),
            mask,
            np.clip(completions, 0, 1),
            shape,
            labels=first,
            title=f"observed: {args.observe}",
        )
        save_figure(fig, out)
    else:
        bio.write_labelled(
            out,
            completions.reshape(-1, d),
            np.asarray(labels).reshape(-1),
            like=metadata.get("source_format"),
            image_shape=shape,
            pixel_scale=metadata.get("pixel_scale"),
            feature_names=metadata.get("feature_names"),
        )
    print(
        f"wrote {completions.shape[0]} x {completions.shape[1]} completions to {out}",
        file=sys.stderr,
    )
    return EXIT_OK


def register(command) -> None:
    """Add the extra sub-commands through ``command(name, func, help, example)``."""
    from bayesgen.cli import _non_negative_int

    p = command(
        "check",
        _check,
        "Check the one-Gaussian-per-class assumption: Mahalanobis distances vs "
        "chi-squared, marginal normality, effective rank, constant features.",
        "bayesgen check train.csv --out check-out",
    )
    p.add_argument("data", help="labelled data file (CSV, Parquet, NPZ, IDX, image folder)")
    p.add_argument("--label-column", help="label column name or index")
    p.add_argument("--alpha", type=float, default=0.05, help="test level (default: 0.05)")
    p.add_argument(
        "--max-plots",
        type=_non_negative_int,
        default=10,
        help="QQ plots for at most this many classes (default: 10)",
    )
    p.add_argument(
        "--out",
        default="bayesgen-check",
        help="folder for qq_chi2.png and check.json (default: %(default)s)",
    )

    p = command(
        "inpaint",
        _inpaint,
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
        type=_non_negative_int,
        default=8,
        help="complete the first ROWS rows (default: 8)",
    )
    p.add_argument("-n", type=_non_negative_int, default=4, help="completions per row (default: 4)")
    p.add_argument(
        "--label", help="condition on this class (default: drawn from p(y | x_observed))"
    )
    p.add_argument(
        "--use-true-label",
        action="store_true",
        help="condition each row on its own label from the input file",
    )
    p.add_argument("--seed", type=_non_negative_int, default=None)
    p.add_argument("-o", "--output", required=True, help=".png figure, or .csv/.npz completions")

    from bayesgen import _cli_eval

    _cli_eval.register(command)
