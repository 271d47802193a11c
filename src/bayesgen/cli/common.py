"""What every command shares: exit codes, the usage error, the parser class (with "did you
mean"), option parsers, progress on stderr, text made safe for a terminal, the command line's
wording of library messages, model loading, output names and checks, labels and JSON output.

Library modules other than the package's top level are imported inside the functions that
need them, so ``bayesgen --help`` and the light commands start without loading them.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import json
import os
import re
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from bayesgen import BayesClassifier, BayesgenError, DataError, ModelFileError, load, read_metadata
from bayesgen.base.atomic import check_output_folder
from bayesgen.base.suggest import close_matches, did_you_mean
from bayesgen.base.validation import format_label, label_text, safe_text
from bayesgen.io import csv_delimiter

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Formatter",
    "Parser",
    "ProgressBar",
    "UsageError",
    "add_command",
    "add_keep_formulas",
    "check_output",
    "output_kind",
    "cli_wording",
    "close_matches",
    "data_to_stdout",
    "did_you_mean",
    "image_shape_of",
    "label_column",
    "label_column_hints",
    "load_model",
    "non_negative_float",
    "non_negative_int",
    "parse_shrinkage",
    "positive_int",
    "progress",
    "refuse_same_file",
    "resolve_label",
    "show",
    "to_json",
    "write_json",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command was called with options that do not make sense together (exit code 2)."""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help formatter of every parser: descriptions and examples keep their line breaks."""


_INVALID_CHOICE = re.compile(
    r"invalid choice: '?(?P<word>[^'\s]*)'?(?: \(choose from (?P<c>.*)\))?"
)


class Parser(argparse.ArgumentParser):
    """The parser of ``bayesgen`` and of every sub-command: an invalid choice (a misspelt
    command, ``--kind grdi``) and an unknown option (``--denisty``) get a "did you mean".

    argparse hands a sub-command's unknown options to the top-level parser, which would print
    the top-level usage; :meth:`unknown_options` reports them with the sub-command's own usage
    instead (called by :func:`bayesgen.cli.main`).
    """

    def error(self, message: str):
        match = _INVALID_CHOICE.search(message)
        if match and match["c"]:
            choices = [c.strip(" '\"") for c in match["c"].split(",")]
            message += did_you_mean(match["word"], choices)
        super().error(message)

    def option_names(self) -> list[str]:
        """Every option string of this parser (``-o``, ``--output``, ...)."""
        return [s for action in self._actions for s in action.option_strings]

    def unknown_options(self, extras: list[str]):
        """Exit 2 with this parser's usage, naming the ``extras`` argparse did not know and
        the options they may stand for."""
        longs = [o for o in self.option_names() if o.startswith("--")]
        message = f"unrecognized arguments: {' '.join(extras)}"
        for word in extras:
            if word.startswith("--"):
                name = word.split("=", 1)[0]
                found = close_matches(name, longs, n=2)
                if found:
                    message += f"; {name}: did you mean {' or '.join(found)}?"
        self.error(message)


def add_command(subparsers, name: str, handler, help_text: str, example: str):
    """Add sub-command ``name`` run by ``handler(args) -> exit code``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :meth:`argparse.ArgumentParser.add_subparsers`.
    name : str
    handler : callable
        Stored as ``args.func``.
    help_text : str
        One line for ``bayesgen --help`` and the command's own description.
    example : str
        A complete command line shown under "Example:" in the command's help.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser, for its arguments.
    """
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=help_text,
        formatter_class=Formatter,
        epilog=f"Example:\n  {example}",
    )
    parser.set_defaults(func=handler)
    return parser


# ---------------------------------------------------------------------------- progress


def show(text: str, file=None) -> None:
    """Print ``text`` that may quote a model or data file (labels, column names, metadata):
    each of its lines with control characters and bidi marks escaped
    (:func:`~bayesgen.base.validation.safe_text`), so the file cannot act on the terminal.

    Parameters
    ----------
    text : str
        One or more lines; a value that may hold a line break must be in one line (its
        break is then shown as ``\\n``).
    file : file object, optional
        Default: standard output.
    """
    for line in str(text).split("\n"):
        print(safe_text(line), file=file if file is not None else sys.stdout)


def data_to_stdout(data: bytes) -> None:
    """Write data (CSV text) to standard output and flush.  Piped or redirected, the bytes
    go as they are; on a terminal a person reads them, so each line is shown as
    :func:`show` shows it."""
    if sys.stdout.isatty():
        text = data.decode("utf-8", "replace")
        data = "\n".join(safe_text(line) for line in text.split("\n")).encode("utf-8")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def progress(message: str) -> None:
    """Progress note on stderr, only when a person is watching."""
    if sys.stderr.isatty():
        print(safe_text(message), file=sys.stderr, flush=True)


def note(message: str) -> None:
    """A message the user must see whether or not stderr is a terminal (a choice bayesgen
    made for them, such as the label column it took)."""
    print(safe_text(message), file=sys.stderr, flush=True)


def model_label_column(text: str | None, metadata: dict, path):
    """The label column to read ``path`` with: ``--label-column`` when given, else the
    column the model was fitted on when the file has a column of that name (a model fitted
    on ``species`` reads held-out rows by ``species``, not by the reader's default)."""
    column = label_column(text)
    if column is not None:
        return column
    from bayesgen.io import header_names

    named = metadata.get("label_column")
    names = header_names(path)
    return named if named is not None and names is not None and named in names else None


def note_label_column(table) -> None:
    """Say which label column a table's reader took, and how many rows it left out for an
    empty label (``--drop-missing-labels``)."""
    from bayesgen.base.errors import n_rows

    note(f"label column: {table.label_column!r} ({table.chosen})")
    if table.dropped_rows:
        note(f"left out {n_rows(table.dropped_rows)} with an empty label")


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal.

    Called with a :class:`bayesgen.streaming.Progress`; redraws at most five times a second
    (and once more when done) so drawing never slows the work down.
    """

    def __init__(self, what: str):
        self.what = what
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not p.done and now - self._last < 0.2:
            return
        self._last = now
        fraction = p.fraction
        if fraction is None:
            bar = f"{p.rows:,} rows"
        else:
            filled = int(30 * fraction)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * fraction:5.1f}% {p.rows:,} rows"
        end = "\n" if p.done else ""
        print(
            f"\r{self.what} {bar} ({p.rows_per_second:,.0f} rows/s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )


# ---------------------------------------------------------------------------- option types


def parse_shrinkage(text: str | None):
    """argparse type of ``--shrinkage``: None, ``"auto"`` or a number in [0, 1]."""
    if text is None or text == "none":
        return None
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'none' or a number in [0, 1]; got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"shrinkage must be in [0, 1]; got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more; got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected 1 or more; got 0")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def label_column(text: str | None):
    """``--label-column``: an index when it is written as a whole number, else a name."""
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


# ---------------------------------------------------------------------------- files


#: The first bytes of files people mistake for model files, and what they are.
_FOREIGN_MAGIC = (
    (b"\x80", "a Python pickle (as scikit-learn's joblib.dump and pickle.dump write)"),
    (b"\x1f\x8b", "a gzip file (joblib.dump(..., compress=...) writes these)"),
    (b"ZF", "a zlib-compressed joblib file"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89HDF", "an HDF5 file"),
    (b"PAR1", "a Parquet file"),
)


def _check_model_file(path: str) -> None:
    """Refuse, in the command line's words, what is not a bayesgen model file at all: a
    folder, a file that is not a zip archive, a damaged zip archive.  Reads only the first
    bytes and the archive's end record; the loader checks the rest within its limits."""
    fix = "give a model file written by `bayesgen fit DATA -o model.bgm`"
    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"{path!r} is a folder, not a model file; {fix}")
    try:
        with open(p, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path!r}: {exc.strerror or exc}") from None
    if not head.startswith(b"PK"):
        what = next((w for magic, w in _FOREIGN_MAGIC if head.startswith(magic)), None)
        found = f"it is {what}" if what else "it is not a zip archive"
        raise ModelFileError(
            f"{path!r} is not a bayesgen model file: {found}, and bayesgen model files are "
            f"zip archives of arrays with a manifest (bayesgen never loads pickles); {fix}"
        )
    if not zipfile.is_zipfile(p):
        raise ModelFileError(
            f"{path!r} starts like a bayesgen model file but is damaged or truncated (an "
            f"interrupted copy?); copy it again, or {fix}"
        )


def load_model(path: str) -> tuple[BayesClassifier, dict]:
    """The classifier in a model file written by ``bayesgen fit``, and its data metadata.

    Returns
    -------
    model : BayesClassifier
    metadata : dict
        What ``fit`` recorded about the data (source format, image shape, pixel scale,
        feature names, label column); empty for files saved by the library.

    Raises
    ------
    FileNotFoundError
        No file at ``path`` (the message says how to make one).
    ModelFileError
        A folder, a file that is not a bayesgen model file (a pickle, any other zip), a
        damaged or malformed one, one bigger than the load limits, or one whose metadata
        describes rows of another width than the model's.
    BayesgenError
        The file holds a density, not a classifier.
    UsageError
        ``$BAYESGEN_MAX_MODEL_BYTES`` (raises the load limits) is not a byte count.
    """
    from bayesgen import LoadLimits

    if not Path(path).exists():
        raise FileNotFoundError(
            f"model file {path!r} does not exist; create one with `bayesgen fit DATA -o {path}`"
        )
    _check_model_file(path)
    try:
        limits = LoadLimits.from_env()
    except DataError as exc:
        raise UsageError(str(exc)) from None
    metadata = read_metadata(path, limits)
    model = load(path, limits)
    if not isinstance(model, BayesClassifier):
        raise BayesgenError(f"{path!r} holds a {type(model).__name__}, not a BayesClassifier")
    n = model.n_features_in_
    names, shape = metadata.get("feature_names"), metadata.get("image_shape")
    if (names is not None and len(names) != n) or (shape and int(np.prod(shape)) != n):
        raise ModelFileError(
            f"{path!r}: its metadata describes rows of another width than the model's {n} "
            f"features ({len(names or [])} feature names, image shape {shape}); the file was "
            "modified or is not from `bayesgen fit`"
        )
    return model, metadata


def image_shape_of(metadata: dict) -> tuple[int, ...] | None:
    """The image shape a model file recorded, or None for tabular data."""
    shape = metadata.get("image_shape")
    return tuple(shape) if shape else None


# ---------------------------------------------------------------------------- labels, columns


def resolve_label(model: BayesClassifier, text: str, flag: str = "--label"):
    """The class of ``model`` that the command line's ``text`` names.

    ``"7"`` is the class ``7`` of a model with numeric labels; text is compared exactly
    (``adelie`` is not ``Adelie``: a near miss is refused with a "did you mean").

    Raises
    ------
    UsageError
        No class is called ``text`` (a mistake on the command line, like a condition on
        an unknown category); the message lists the known labels.
    """
    label = model.parse_label(text)
    classes = list(model.classes_)
    for c in classes:
        with contextlib.suppress(TypeError, ValueError):
            if bool(np.asarray(c == label).all()):
                return c
    names = [label_text(c) for c in classes]
    if text in names:  # e.g. "7.0" for the class 7.0
        return classes[names.index(text)]
    shown = ", ".join(format_label(c) for c in classes[:20])
    more = f", ... ({len(classes)} in all)" if len(classes) > 20 else ""
    hint = did_you_mean(text, names) or "."
    raise UsageError(
        f"{flag} {text!r} is not a class of this model{hint} The known labels are "
        f"{shown}{more}; give one of them, spelled exactly as shown."
    )


def _column_names(path) -> list[str] | None:
    """The header of a CSV/TSV (optionally .gz) or the columns of a Parquet file; None for
    other inputs or when they cannot be read (used only to word an error better)."""
    p = Path(path)
    name = p.name.lower()
    try:
        if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8-sig", newline="") as handle:
                return next(csv.reader(handle, delimiter=csv_delimiter(p)), None)
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return list(pq.read_schema(p).names)
    except Exception:  # noqa: BLE001 - only a better message is at stake
        return None
    return None


@contextlib.contextmanager
def label_column_hints(path, column):
    """Re-word the reader's error for a ``--label-column`` name the file does not have: name
    the flag, suggest the closest column, list the columns.

    Other errors pass through unchanged.
    """
    try:
        yield
    except DataError as exc:
        if isinstance(column, str):
            names = _column_names(path)
            if names and column not in names:
                shown = ", ".join(repr(c) for c in names[:12])
                more = f", ... ({len(names)} in all)" if len(names) > 12 else ""
                hint = did_you_mean(column, names) or "."
                raise DataError(
                    f"{path}: --label-column {column!r} is not a column of this file{hint} "
                    f"The columns are {shown}{more}; give one of them, or a column index (0 is "
                    "the first)."
                ) from exc
        raise


# ---------------------------------------------------------------------------- outputs

#: What ``-o`` of a data-writing command may name, by the end of the name.
_TABLE_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".npz", ".parquet", ".pq")
_OUTPUT_HELP = (
    ".csv, .tsv (optionally .gz), .npz or .parquet for data, .png for a figure, a folder "
    "name without a suffix for one PNG per sample, or - for CSV on stdout"
)


def output_kind(text: str, flag: str = "-o", accepted: str = _OUTPUT_HELP) -> str:
    """What an ``-o`` names: ``"stdout"`` (``-``), ``"table"`` (CSV, TSV, NPZ, Parquet),
    ``"png"`` (a figure) or ``"folder"`` (one PNG per sample); ``accepted`` words the
    names the command takes, for the error.

    Raises
    ------
    UsageError
        A name that says no format (``s.txt``).
    """
    if text == "-":
        return "stdout"
    name = Path(text).name.lower()
    if name.endswith(_TABLE_SUFFIXES):
        return "table"
    if name.endswith(".png"):
        return "png"
    if Path(text).is_dir() or not Path(text).suffix:
        return "folder"
    raise UsageError(
        f"{flag} {text}: the name does not say which format to write; end it in {accepted}"
    )


def check_output(text: str, *, image_shape=None, model: str | None = None, flag="-o") -> str:
    """:func:`output_kind`, and images refused for data that are not images, before any work.

    Parameters
    ----------
    text : str
        The option's value.
    image_shape : tuple of int or None
        The image shape of the model (or data); None (a table) refuses ``.png`` and folders.
    model : str, optional
        The model (or data) file, for the message.
    flag : str, default "-o"

    Raises
    ------
    UsageError
        A name that says no format (``s.txt``).
    DataError
        Images asked of a model fitted on a table.
    """
    kind = output_kind(text, flag)
    if kind in ("png", "folder") and image_shape is None:
        what = "a figure of images" if kind == "png" else "a folder of PNG images"
        raise DataError(
            f"{flag} {text} asks for {what}, but {model or 'the model'} was fitted on a table, "
            "not on images (no image shape recorded); write the samples as data instead, "
            f"e.g. {flag} samples.csv, and compare them with the real rows using "
            "`bayesgen report MODEL --real DATA -o report.html`"
        )
    return kind


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same inode when both exist (symlinks and hard
    links included), else the same resolved path."""
    with contextlib.suppress(OSError):
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def refuse_same_file(
    outputs, inputs, example: str | None = None, *, folders=True, folder_ok=False
) -> None:
    """Refuse, before any work, an output that is the same file as an input of the command
    (writing it would replace what the command reads) or whose folder does not exist.

    Parameters
    ----------
    outputs, inputs : dict or list of (str, path) pairs
        How the command line names each file and its path, e.g. ``{"-o": "model.bgm"}``
        and ``{"DATA": "train.csv"}``; None and ``-`` (standard output) are skipped.
    example : str, optional
        An output name to suggest (default: the output's name with ``-out`` added).
    folders : bool, default=True
        Also refuse an output whose folder does not exist, or that is a folder (False for
        files in a folder the command creates).
    folder_ok : bool, default=False
        The output may be an existing folder (``sample``'s folder of images).

    Raises
    ------
    UsageError
        Naming both and how to fix it.
    MissingFolderError
        A :class:`DataError` naming the folder.
    """
    outputs = outputs.items() if isinstance(outputs, dict) else outputs
    inputs = list(inputs.items() if isinstance(inputs, dict) else inputs)
    for out_flag, out in outputs:
        if out is None or str(out) == "-":
            continue
        if folders:
            check_output_folder(out, folder_ok=folder_ok)
        for in_flag, source in inputs:
            if source is None or str(source) == "-" or not _same_file(str(out), str(source)):
                continue
            p = Path(out)
            other = example or f"{p.stem.split('.')[0]}-out{''.join(p.suffixes)}"
            raise UsageError(
                f"{out_flag} {out} is the same file as {in_flag} {source}: writing it would "
                f"overwrite the input; give {out_flag} another name, e.g. {out_flag} {other}"
            )


def add_keep_formulas(parser) -> None:
    """Add ``--keep-formulas`` (CSV output keeps text cells that start like a formula)."""
    parser.add_argument(
        "--keep-formulas",
        action="store_true",
        help="CSV output: write text cells (labels, categories, column names) that start "
        "with =, +, -, @, a tab or a carriage return as they are. By default they get a "
        "leading ' so that a spreadsheet shows them as text instead of running them as a "
        "formula (plain numbers such as -1.5 are never changed)",
    )


# ---------------------------------------------------------------------------- wording

#: Python keyword arguments named in library messages -> the command line's flag
_FLAG_WORDS = {"label_column": "--label-column", "reg_covar": "--reg-covar"}
#: ... and those replaced only where written as ``word=`` (plain English words too)
_FLAG_ASSIGN_ONLY = {"shrinkage": "--shrinkage", "random_state": "--seed", "unknown": "--unknown"}
_DENSITY_CHOICE = re.compile(r"\bdensity=('[^']+'(?:(?:, | or )'[^']+')*)")


def cli_wording(message: str) -> str:
    """Name the command line's flags where a library message names Python arguments.

    ``label_column=3`` becomes ``--label-column 3``; ``with label_column=.`` becomes ``with
    --label-column.``; ``need reg_covar`` becomes ``need --reg-covar``;
    ``density='lowrank'`` becomes ``--density lowrank`` and ``density='copula', 'mixture'
    or 'auto'`` becomes ``--density copula, mixture or auto``; a table's
    ``column_types={'x': 'categorical'}`` becomes ``--column-type x=categorical``,
    ``drop=['x']`` becomes ``--drop x`` and ``drop_missing_labels=True``
    ``--drop-missing-labels``.
    """
    # Python's ways, where the message also gives the command line's
    message = re.sub(r" \(model\.set_params\([^)]*\)\)", "", message)
    message = message.replace("model.schema_.set_bounds(NAME, (LO, HI)), on the command line ", "")
    message = _DENSITY_CHOICE.sub(lambda m: "--density " + m.group(1).replace("'", ""), message)
    message = re.sub(r"column_types=\{'([^']+)': '([^']+)'\}", r"--column-type \1=\2", message)
    message = re.sub(r"\bdrop=\['([^']+)'\]", r"--drop \1", message)
    message = message.replace("drop_missing_labels=True", "--drop-missing-labels")
    message = re.sub(r"^column_types (gives|names)\b", r"--column-type \1", message)
    message = re.sub(r"^(drop|keep) names\b", r"--\1 names", message)
    for word, flag in {**_FLAG_WORDS, **_FLAG_ASSIGN_ONLY}.items():
        message = re.sub(rf"\b{word}='([^']*)'", rf"{flag} \1", message)
        message = re.sub(rf"\b{word}=(?=[\s,.;:)]|$)", flag, message)
        message = re.sub(rf"\b{word}=", f"{flag} ", message)
    for word, flag in _FLAG_WORDS.items():
        message = re.sub(rf"(?<![-\w]){word}\b", flag, message)
    message = message.replace("--reg-covar or shrinkage", "--reg-covar or --shrinkage")
    message = message.replace("shrinkage or --reg-covar", "--shrinkage or --reg-covar")
    return message.replace("save the model again", "write it again with `bayesgen fit`")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(payload: dict) -> str:
    """Indented JSON text; numpy scalars and arrays and paths become plain values."""
    return json.dumps(payload, indent=2, default=_json_default)


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON (see :func:`to_json`), atomically."""
    from bayesgen.base.atomic import atomic_write_bytes

    atomic_write_bytes(path, (to_json(payload) + "\n").encode())
