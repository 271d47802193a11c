"""What every command shares: exit codes, the usage error, option parsers, progress on
stderr, model loading and JSON output.

Library modules other than the package's top level are imported inside the functions that
need them, so ``bayesgen --help`` and the light commands start without loading them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bayesgen import BayesClassifier, BayesgenError, load, read_metadata

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Formatter",
    "ProgressBar",
    "UsageError",
    "add_command",
    "image_shape_of",
    "label_column",
    "load_model",
    "non_negative_float",
    "non_negative_int",
    "parse_shrinkage",
    "positive_int",
    "progress",
    "to_json",
    "write_json",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command was called with options that do not make sense together (exit code 2)."""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help formatter of every parser: descriptions and examples keep their line breaks."""


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


def progress(message: str) -> None:
    """Progress note on stderr, only when a person is watching."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


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
        A damaged or foreign file.
    BayesgenError
        The file holds a density, not a classifier.
    """
    if not Path(path).exists():
        raise FileNotFoundError(
            f"model file {path!r} does not exist; create one with `bayesgen fit DATA -o {path}`"
        )
    model = load(path)
    if not isinstance(model, BayesClassifier):
        raise BayesgenError(f"{path!r} holds a {type(model).__name__}, not a BayesClassifier")
    return model, read_metadata(path)


def image_shape_of(metadata: dict) -> tuple[int, ...] | None:
    """The image shape a model file recorded, or None for tabular data."""
    shape = metadata.get("image_shape")
    return tuple(shape) if shape else None


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
