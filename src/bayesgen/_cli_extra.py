"""Commands built on the diagnostics and conditional modules: check and inpaint.

Kept apart from :mod:`bayesgen.cli` so the core commands stay small; the evaluation commands
(evaluate, report) live in :mod:`bayesgen._cli_eval`.
"""

from __future__ import annotations


def register(command) -> None:
    """Add the extra sub-commands through ``command(name, func, help, example)``."""
    from . import _cli_eval

    _cli_eval.register(command)
