"""The parser and :func:`main`: exit codes and library errors turned into clean messages.

Each command lives in its own module with a ``register(subparsers)`` that adds the
sub-command, its options and its handler; this module only lists them, in the order
``bayesgen --help`` shows them.

SIGTERM and SIGINT stop a command by raising an exception in it, so that the writers remove
their temporary files and folders on the way out (they do on any exception) before
:func:`main` returns 143 or 130.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import warnings

from bayesgen import BayesgenError, __version__
from bayesgen.base.validation import safe_text
from bayesgen.cli import (
    check,
    dataset,
    demo,
    evaluate,
    fit,
    impute,
    inpaint,
    inspect,
    plot,
    resample,
    sample,
    split,
    univariate,
)
from bayesgen.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Formatter,
    Parser,
    UsageError,
    cli_wording,
)

__all__ = ["build_parser", "main"]

#: Command modules, in the order of ``bayesgen --help``.
_COMMANDS = (
    demo,
    dataset,
    fit,
    sample,
    split,
    resample,
    impute,
    plot,
    inspect,
    univariate,
    check,
    inpaint,
    evaluate,
)

#: The wording of library messages for the command line (kept under its old name).
_flag_wording = cli_wording

#: Exit codes of a command stopped by a signal: 128 + the signal's number, as a shell says.
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM


class Terminated(BaseException):
    """Raised in the command when SIGTERM arrives (a BaseException, like KeyboardInterrupt,
    so that only cleanup code sees it on its way to :func:`main`)."""


def _stop(signum, frame):
    """The handler of SIGTERM and SIGINT: further signals are ignored while the command
    unwinds, so that a second one cannot cut the removal of its temporaries short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def _stopping_cleanly():
    """Install :func:`_stop` for SIGTERM and SIGINT while a command runs (only where they
    still have their default action: an ignored SIGINT, as in a background job, stays
    ignored), and restore the previous handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return
    defaults = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
    previous = {sig: signal.getsignal(sig) for sig in defaults}
    try:
        for sig, default in defaults.items():
            if previous[sig] is default:
                signal.signal(sig, _stop)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _warnings_as_lines(command: str):
    """Warnings raised while a command runs become ``bayesgen CMD: warning: ...`` lines
    after it, each kind once: the fits of ten classes that stop the same way give one
    line and a count, not ten tracebacks' worth of source locations."""
    with warnings.catch_warnings(record=True) as caught:
        # every one recorded (not raised, not dropped as a repeat), to be counted below
        warnings.filterwarnings("always", module=r"bayesgen(\.|$)")
        try:
            yield
        finally:
            shown: dict[tuple, list] = {}
            for w in caught:
                text = str(w.message)
                kind = re.sub(r"[\d.e+-]*\d", "#", text)  # the same but for its numbers
                shown.setdefault((w.category, kind), []).append(text)
            for texts in shown.values():
                more = f" ({len(texts) - 1} more like it)" if len(texts) > 1 else ""
                line = f"bayesgen {command}: warning: {safe_text(texts[0])}{more}"
                print(line, file=sys.stderr)


def build_parser() -> Parser:
    """The ``bayesgen`` parser with every sub-command.

    Returns
    -------
    Parser
        Parsing sets ``args.func`` (the handler, returning an exit code) and
        ``args.command`` (the sub-command's name); ``parser.commands`` maps each
        sub-command's name to its parser.
    """
    parser = Parser(
        prog="bayesgen",
        formatter_class=Formatter,
        description=(
            "Learn the distribution of labelled data and generate new labelled data with "
            "Bayes' rule:\nfit p(x | y) per class and p(y), then draw y ~ p(y), x ~ p(x | y)."
        ),
        epilog="Example:\n  bayesgen demo --out demo-out\n\n"
        "Run `bayesgen COMMAND --help` for each command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"bayesgen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _COMMANDS:
        module.register(subparsers)
    parser.commands = subparsers.choices
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayesgen`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 ok, 1 failed (bad data, bad model file, fitting failed), 2 usage error, 130
        interrupted (SIGINT, Ctrl-C), 143 terminated (SIGTERM); an interrupted or terminated
        command leaves no temporary file behind.
    """
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # a sub-command's unknown option: its usage, not the top-level one
            parser.commands[args.command].unknown_options(extras)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help/--version
        return int(exc.code or 0)
    try:
        with _stopping_cleanly(), _warnings_as_lines(args.command):
            return args.func(args)
    except BrokenPipeError:  # e.g. `bayesgen inspect m.bgm | head`: the reader left
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        except OSError:
            pass
        return EXIT_OK
    except UsageError as exc:
        _error(args, str(exc))
        return EXIT_USAGE
    except (
        BayesgenError,
        FileNotFoundError,
        IsADirectoryError,
        PermissionError,
        NotADirectoryError,
        ValueError,
    ) as exc:
        _error(args, cli_wording(str(exc)))
        return EXIT_FAILED
    except OSError as exc:
        _error(args, str(exc))
        return EXIT_FAILED
    except MemoryError:
        _error(
            args,
            "out of memory: this needs more memory than is free here. For a large data "
            "file, fit in chunks (--chunk-rows); for a large model file, use a machine "
            "with more memory. No output was written.",
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED


def _error(args, message: str) -> None:
    """The one line of a failed command on stderr; the message may quote a label or a file,
    so whatever would act on the terminal is shown escaped."""
    print(f"bayesgen {args.command}: error: {safe_text(message)}", file=sys.stderr)
