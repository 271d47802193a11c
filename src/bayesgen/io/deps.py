"""The optional dependencies of the readers and writers, imported only when a format needs them.

pyarrow parses CSV fast and reads and writes Parquet; Pillow reads and writes images.  Without
pyarrow, CSV falls back to the pure-python reader and writer; Parquet and images raise
:class:`MissingDependencyError` naming the package to install.
"""

from __future__ import annotations

from bayesgen.base.errors import BayesgenError

__all__ = ["MissingDependencyError"]

#: Set to False (tests do) to exercise the pure-python CSV code path even if pyarrow exists.
_USE_PYARROW = True


class MissingDependencyError(BayesgenError, ImportError):
    """An optional dependency needed for a file format is not installed."""


def _pyarrow_csv():
    """``(pyarrow, pyarrow.csv)``, or None when pyarrow is unavailable or disabled.

    Returns
    -------
    tuple of modules or None
    """
    if not _USE_PYARROW:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    return pa, pacsv


def _require_parquet():
    """``(pyarrow, pyarrow.parquet)``, or :class:`MissingDependencyError` saying what to install.

    Returns
    -------
    tuple of modules
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading or writing Parquet files needs the optional dependency pyarrow, which is "
            "not installed. Install it with `pip install bayesgen[parquet]` (or "
            "`pip install pyarrow`), or use CSV/NPZ instead."
        ) from exc
    return pa, pq


def _require_pillow():
    """``(PIL.Image, PIL.ImageDraw)``, or :class:`MissingDependencyError` saying what to install.

    Returns
    -------
    tuple of modules
    """
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading or writing image files needs the optional dependency Pillow, which is not "
            "installed. Install it with `pip install bayesgen[plot]` (or `pip install pillow`)."
        ) from exc
    return Image, ImageDraw
