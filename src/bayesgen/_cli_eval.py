"""Evaluation commands: evaluate and report."""

from __future__ import annotations


def register(command) -> None:
    """Add ``evaluate`` and ``report`` through ``command(name, func, help, example)``."""
