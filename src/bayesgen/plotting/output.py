"""Saving figures: an atomic PNG file, or the PNG bytes of a figure (matplotlib's savefig)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayesgen.base.atomic import atomic_write

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["figure_to_png_bytes", "save_figure"]


def _check_figure(fig: Any) -> None:
    if not hasattr(fig, "savefig"):
        raise TypeError(
            f"expected a matplotlib Figure (as returned by bayesgen.plotting functions); got "
            f"{type(fig).__name__}."
        )


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG file atomically.

    The image is written to a temporary file in the target's directory and moved into place
    with :func:`os.replace`, so ``path`` is either the old file or the complete new image,
    never a partial one; on failure the temporary file is removed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Destination; its suffix, if any, must be ``.png``.  The directory must exist.
    dpi : int, default 100

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    bayesgen.base.atomic.MissingFolderError
        The directory does not exist (a :class:`FileNotFoundError` and a ``DataError``).
    """
    _check_figure(fig)
    target = Path(path)
    if target.suffix and target.suffix.lower() != ".png":
        raise ValueError(
            f"save_figure writes PNG images; got a path ending in {target.suffix!r}. Use a "
            "'.png' file name."
        )
    atomic_write(target, lambda handle: fig.savefig(handle, format="png", dpi=dpi))
    return target


def figure_to_png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` as PNG and return the bytes (e.g. to embed in an HTML report).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int, default 100

    Returns
    -------
    bytes
        A complete PNG file (starting with the PNG signature).
    """
    _check_figure(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
