"""The parser and :func:`main`: exit codes and library errors turned into clean messages.

Each command lives in its own module with a ``register(subparsers)`` that adds the
sub-command, its options and its handler; this module only lists them, in the order
``bayesgen --help`` shows them.
"""

from __future__ import annotations

import os
import sys

from bayesgen import BayesgenError, __version__
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
        interrupted.
    """
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # a sub-command's unknown option: its usage, not the top-level one
            parser.commands[args.command].unknown_options(extras)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help/--version
        return int(exc.code or 0)
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `bayesgen inspect m.bgm | head`: the reader left
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        except OSError:
            pass
        return EXIT_OK
    except UsageError as exc:
        print(f"bayesgen {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (
        BayesgenError,
        FileNotFoundError,
        IsADirectoryError,
        PermissionError,
        NotADirectoryError,
        ValueError,
    ) as exc:
        print(f"bayesgen {args.command}: error: {cli_wording(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"bayesgen {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
