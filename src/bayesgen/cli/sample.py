"""``bayesgen sample``: generate labelled rows from a fitted model into a data file, a figure
or stdout."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from bayesgen.base.errors import ConditionError, DataError
from bayesgen.base.validation import label_text
from bayesgen.cli.common import (
    EXIT_OK,
    ProgressBar,
    UsageError,
    add_command,
    add_keep_formulas,
    check_output,
    cli_wording,
    data_to_stdout,
    did_you_mean,
    image_shape_of,
    load_model,
    non_negative_int,
    positive_int,
    refuse_same_file,
    resolve_label,
)

__all__ = ["class_grid_figure", "register"]


def _writer_options(metadata: dict, args) -> dict:
    """The layout of the data the model was fitted on, for the writers."""
    return dict(
        like=metadata.get("source_format"),
        image_shape=image_shape_of(metadata),
        pixel_scale=metadata.get("pixel_scale"),
        feature_names=metadata.get("feature_names"),
        label_column=metadata.get("label_column"),
        keep_formulas=args.keep_formulas,
        delimiter=metadata.get("delimiter"),
    )


def _csv_to_stdout(model, args, label, dtype, options: dict) -> None:
    """CSV rows on stdout, in the layout of a ``.csv`` file, chunk by chunk (bounded memory).

    Every chunk is written by :func:`bayesgen.io.write_labelled` to a scratch file and copied
    to stdout (the header once), so the text is exactly that of ``-o FILE.csv`` with the same
    seed and chunk size.
    """
    from bayesgen import io as bio

    chunks = model.iter_samples(
        args.n,
        chunk_size=args.chunk_rows,
        y=label,
        prior=args.prior,
        random_state=args.seed,
        dtype=dtype,
    )
    with tempfile.TemporaryDirectory(prefix="bayesgen-") as scratch:
        path = Path(scratch) / "chunk.csv"
        header_done = False
        for X, y in chunks:
            if X.shape[0] == 0:
                continue
            bio.write_labelled(path, X, y, **options)
            with open(path, "rb") as handle:
                header = handle.readline()
                if not header_done:
                    data_to_stdout(header)
                    header_done = True
                data_to_stdout(handle.read())
        if not header_done:  # -n 0: the header alone
            empty = np.empty((0, model.n_features_in_))
            bio.write_labelled(path, empty, model.classes_[:0], **options)
            data_to_stdout(path.read_bytes().splitlines(keepends=True)[0])


def class_grid_figure(model, n: int, shape, *, label=None, seed=None, prior="learned"):
    """The figure of ``sample -o X.png`` and ``plot --kind grid``: a labelled row per class.

    Without ``label``, ``n`` is spread evenly over the classes (rounded up) so that every
    class shows, however unlikely; with ``label``, ``n`` samples of that class in rows of
    ten.  Returns the figure and the number of images drawn.

    Raises
    ------
    DataError
        Before drawing, when ``n`` is more than :data:`bayesgen.io.limits.MAX_GRID_IMAGES`
        images.
    """
    from bayesgen import plotting
    from bayesgen.io.limits import check_grid_images

    check_grid_images(n, f"-n {n}")
    classes = model.classes_ if label is None else np.asarray([label])
    per_class = max(1, -(-n // len(classes)))
    wanted = np.repeat(classes, per_class)
    X, y = model.sample(y=wanted, prior=prior, random_state=seed)
    X = np.clip(np.asarray(X, dtype=float), 0, 1)
    if label is None:
        title = f"{per_class} sample{'s' if per_class > 1 else ''} of each class, x ~ p(x | y)"
    else:
        title = (
            f"{per_class} samples of class {label_text(label)}, x ~ p(x | y = {label_text(label)})"
        )
    fig = plotting.plot_class_grid(X, y, shape, classes=list(classes), title=title)
    return fig, int(wanted.shape[0])


_GIVEN = re.compile(r"^\s*(?P<name>[^<>=]+?)\s*(?P<op>>=|<=|=)\s*(?P<value>.*?)\s*$")


def _given_value(model, name: str, text: str):
    """A condition's value as the column holds it (a number for numeric columns and for
    categories that are numbers; text otherwise)."""
    names = model.schema_.feature_names
    if name not in names:
        return text  # the library names the unknown column, with "did you mean"
    spec = model.schema_[name]
    if spec.kind == "categorical":
        for category in spec.categories:
            if str(category) == text:
                return category
        return text  # the encoder reads true / TRUE for a boolean column's True
    if spec.kind == "datetime":
        return text
    try:
        return float(text)
    except ValueError:
        raise UsageError(
            f"--given {name}...: {name!r} holds numbers; got {text!r}. Write e.g. "
            f"--given '{name}>=10'"
        ) from None


def parse_given_options(model, texts, label_column=None) -> dict:
    """``--given NAME=VALUE``, ``--given 'NAME>=LO'``, ``--given 'NAME<=HI'`` (a column may
    have a lower and an upper bound) as the library's ``given`` dict; the label column is
    chosen with ``--label``, not conditioned on."""
    given: dict = {}
    for text in texts:
        match = _GIVEN.match(text)
        if match is None or not match["value"]:
            raise UsageError(
                f"--given {text!r}: write NAME=VALUE, 'NAME>=LO' or 'NAME<=HI', e.g. "
                "--given island=Biscoe --given 'body_mass_g>=4000'"
            )
        name, op = match["name"], match["op"]
        if label_column is not None and name == label_column:
            raise UsageError(
                f"--given {text!r}: {name!r} is the label column; to sample one class, give "
                f"--label {match['value']}"
            )
        value = _given_value(model, name, match["value"])
        if op == "=":
            given[name] = value
            continue
        lo, hi = (
            given.get(name, (None, None)) if isinstance(given.get(name), tuple) else (None, None)
        )
        given[name] = (value, hi) if op == ">=" else (lo, value)
    return given


def _bound_value(spec, text: str, flag: str) -> float:
    """One end of a ``--bounds`` range in the model's units (a date in the column's format
    for dates), through the column's own encoder."""
    import pandas as pd

    from bayesgen.tables.codec import encode_column

    cell = text.strip()
    what = "a date in the column's format" if spec.kind == "datetime" else "a number"
    try:
        value = encode_column(spec, pd.Series([cell], dtype=object), "error")[0]
    except DataError:
        value = np.nan
    if not np.isfinite(value):
        raise UsageError(f"{flag}: column {spec.name!r} needs {what}; got {cell!r}")
    return float(value)


def apply_bounds_options(model, texts) -> None:
    """``--bounds NAME=LO:HI`` (either end may be left empty to keep it) or
    ``--bounds NAME=none``: the range the column's generated values are kept in (a cell
    outside is drawn again given its row), for this run (the model keeps the range seen
    in training)."""
    from bayesgen.tables.codec import range_text

    schema = model.schema_
    for text in texts:
        name, eq, span = text.partition("=")
        flag = f"--bounds {text!r}"
        lo_text, colon, hi_text = span.partition(":")
        if not eq or not name or (span.strip().lower() != "none" and not colon):
            raise UsageError(
                f"{flag}: write NAME=LO:HI (an end may be empty), or NAME=none to remove the "
                "range, e.g. --bounds body_mass_g=2000:7000"
            )
        if name not in schema.feature_names:
            hint = did_you_mean(name, schema.feature_names)
            raise UsageError(f"{flag}: the model has no column {name!r}{hint}")
        spec = schema[name]
        if span.strip().lower() == "none":
            schema.set_bounds(name, None)
            continue
        old = spec.bounds or [-np.inf, np.inf]
        lo = _bound_value(spec, lo_text, flag) if lo_text.strip() else old[0]
        hi = _bound_value(spec, hi_text, flag) if hi_text.strip() else old[1]
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise UsageError(f"{flag}: give both ends (the column has no range to keep)")
        if lo > hi:
            raise UsageError(f"{flag}: the low end is above the high end")
        if spec.bounds is not None and (lo > old[0] or hi < old[1]):
            raise UsageError(
                f"{flag}: --bounds only widens the range seen in training "
                f"{range_text(spec, *old)}: a narrower one is a condition, sampled exactly "
                "with --given. To sample inside a range, condition on it: "
                f"--given '{name}>=LO' --given '{name}<=HI'"
            )
        schema.set_bounds(name, (lo, hi))


def _sample_table(model, metadata: dict, args) -> int:
    """Rows of a table model, in the input's layout (columns, order, types, label place);
    the rows are drawn and written whole."""
    from bayesgen import io as bio
    from bayesgen.io.limits import check_in_memory

    if args.float32:
        raise UsageError("--float32 is for numeric data; a table keeps its column types")
    check_in_memory(
        args.n,
        len(model.schema_.feature_names) + 1,
        where=f"-o {args.output}",
        fix="ask for fewer rows with -n (a table's rows are drawn and written in one piece)",
    )
    label = None if args.label is None else resolve_label(model, args.label)
    if args.bounds:
        apply_bounds_options(model, args.bounds)
    label_column = metadata.get("label_column")
    given = parse_given_options(model, args.given, label_column) if args.given else None
    try:
        frame, y = model.sample(
            args.n,
            y=label,
            prior=args.prior,
            random_state=args.seed,
            missing=args.missing,
            given=given,
        )
    except ConditionError as exc:
        # a condition the model cannot read is a mistake on the command line: a usage
        # error, like a malformed --given
        raise UsageError(cli_wording(str(exc))) from None
    layout = dict(
        y=y,
        label_column=metadata.get("label_column") or "label",
        columns=metadata.get("columns"),
        delimiter=metadata.get("delimiter") or ",",
        decimal=metadata.get("decimal") or ".",
        label_dtype=metadata.get("label_dtype"),
        integer_columns=[c.name for c in model.schema_.features if c.kind == "integer"],
    )
    if args.output == "-":
        out = bio.table_for_output(
            frame,
            y=y,
            label_column=layout["label_column"],
            columns=layout["columns"],
            integer_columns=layout["integer_columns"],
        )
        text = bio.csv_text(
            out,
            delimiter=layout["delimiter"],
            decimal=layout["decimal"],
            keep_formulas=args.keep_formulas,
        )
        data_to_stdout(text.encode("utf-8"))
        print(f"wrote {args.n} samples to stdout", file=sys.stderr)
        return EXIT_OK
    suffix = Path(args.output).suffix.lower()
    if suffix == ".png":
        raise DataError(
            f"-o {args.output} asks for a figure of images, but {args.model} was fitted on a "
            "table, not on images; write the samples as data instead, e.g. -o samples.csv"
        )
    if suffix not in (".csv", ".tsv", ".parquet", ".pq"):
        raise UsageError(
            f"-o {args.output}: a table model writes .csv, .tsv or .parquet files (or - for "
            "CSV on stdout)"
        )
    bio.write_table(frame, args.output, keep_formulas=args.keep_formulas, **layout)
    print(f"wrote {args.n} samples to {args.output}", file=sys.stderr)
    return EXIT_OK


def run(args) -> int:
    """Sample ``-n`` rows and write them in the layout of the data the model was fitted on."""
    from bayesgen import io as bio
    from bayesgen import plotting, streaming

    refuse_same_file(
        {"-o": args.output}, {"MODEL": args.model}, example="samples.csv", folder_ok=True
    )
    model, metadata = load_model(args.model)
    if getattr(model, "schema_", None) is not None:
        return _sample_table(model, metadata, args)
    if args.given:
        raise UsageError(
            "--given works on models fitted on tables (columns with names); this model was "
            "fitted on numbers only: use `bayesgen inpaint` to condition on observed features"
        )
    if args.bounds:
        raise UsageError(
            "--bounds works on models fitted on tables; this model was fitted on numbers "
            "only, whose samples are never clipped"
        )
    options = _writer_options(metadata, args)
    kind = check_output(args.output, image_shape=options["image_shape"], model=args.model)
    label = None if args.label is None else resolve_label(model, args.label)
    dtype = np.float32 if args.float32 else np.float64
    if kind == "stdout":
        _csv_to_stdout(model, args, label, dtype, options)
        print(f"wrote {args.n} samples to stdout", file=sys.stderr)
        return EXIT_OK
    if kind == "table":
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
        print(f"wrote {args.n} samples to {args.output}", file=sys.stderr)
    elif kind == "png":
        fig, drawn = class_grid_figure(
            model, args.n, options["image_shape"], label=label, seed=args.seed, prior=args.prior
        )
        plotting.save_figure(fig, args.output)
        print(f"wrote a figure of {drawn} samples to {args.output}", file=sys.stderr)
    else:
        bio.check_output_size(
            args.output,
            args.n,
            model.n_features_in_,
            itemsize=np.dtype(dtype).itemsize,
            format="image-folder",
        )
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
        "--given",
        action="append",
        metavar="CONDITION",
        help="tables: sample exactly on a condition on a column, NAME=VALUE, 'NAME>=LO' or "
        "'NAME<=HI' (repeatable), e.g. --given island=Biscoe --given 'body_mass_g>=4000'; "
        "without --label the classes follow p(y | condition)",
    )
    p.add_argument(
        "--bounds",
        action="append",
        metavar="NAME=LO:HI",
        help="tables: the range of a numeric or date column's generated values (repeatable; "
        "default: the range seen in training). Widen it, e.g. --bounds body_mass_g=2000:7000, "
        "keep one end with an empty side (--bounds 'year=:2030'), or lift it with NAME=none; "
        "to sample inside a narrower range use --given",
    )
    p.add_argument(
        "--missing",
        choices=["keep", "none"],
        default="keep",
        help="tables: leave cells empty at each class's rate in the training data (keep), or "
        "write complete rows (none) (default: %(default)s)",
    )
    p.add_argument(
        "--float32", action="store_true", help="sample in single precision (about twice as fast)"
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=50_000,
        help="rows generated per chunk for CSV/NPZ/Parquet output and stdout",
    )
    add_keep_formulas(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output: .csv/.tsv (optionally .gz), .npz, .parquet; .png for a figure with a "
        "row per class (-n spread over the classes, or --label's class only); a folder (one "
        "PNG per sample); - for CSV on stdout (only the data go to stdout, messages to stderr)",
    )
