"""Commands built on the evaluation and diagnostics modules: evaluate, report, check, inpaint.

Kept apart from :mod:`bayesgen.cli` so the core commands stay small.
"""

from __future__ import annotations


def register(command) -> None:
    """Add the extra sub-commands through ``command(name, func, help, example)``."""
