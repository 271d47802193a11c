"""Figure creation and the small drawing helpers every plotting module shares.

matplotlib is imported inside :func:`new_figure` only, so importing :mod:`bayesgen.plotting`
does not import it (``pip install bayesgen[plot]`` provides it).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "bare_axes",
    "check_positive_int",
    "check_range",
    "new_figure",
    "plain_text",
    "root_figure",
    "show_image",
]


def new_figure(figsize: tuple[float, float], layout: str | None = "constrained") -> Figure:
    """A new :class:`matplotlib.figure.Figure` (no pyplot: no global state, no GUI backend).

    Parameters
    ----------
    figsize : (float, float)
        Width and height in inches.
    layout : str or None, default "constrained"
        matplotlib layout engine.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        When matplotlib is not installed (the message says how to install it).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "bayesgen.plotting needs matplotlib; install it with "
            "`pip install bayesgen[plot]` (or `pip install matplotlib`)."
        ) from exc
    return Figure(figsize=figsize, layout=layout)


def plain_text(value: Any) -> str:
    """``value`` as text matplotlib draws literally: a ``$`` in a column name or label would
    otherwise start mathtext (and an unbalanced one fails the whole figure)."""
    return str(value).replace("$", r"\$")


def root_figure(ax: Axes) -> Figure:
    """The top-level figure that holds ``ax`` (through any sub-figures)."""
    fig = ax.figure
    # A SubFigure's .figure is the root Figure.
    while getattr(fig, "figure", fig) is not fig:
        fig = fig.figure
    return fig


def check_range(vmin: float, vmax: float) -> tuple[float, float]:
    """``(vmin, vmax)`` as floats, or a ValueError unless both are finite and ``vmin < vmax``."""
    vmin, vmax = float(vmin), float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise ValueError(f"need finite vmin < vmax; got vmin={vmin}, vmax={vmax}.")
    return vmin, vmax


def check_positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1, or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def show_image(
    ax: Axes, row: np.ndarray, shape: tuple[int, ...], vmin: float, vmax: float, cmap: str
) -> None:
    """Draw one flattened image into ``ax`` with the fixed grey range ``[vmin, vmax]``."""
    img = row.reshape(shape)
    if len(shape) == 2:
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    else:  # colour: the fixed range is applied by hand (imshow ignores vmin/vmax for RGB)
        ax.imshow(np.clip((img - vmin) / (vmax - vmin), 0.0, 1.0), interpolation="nearest")


def bare_axes(ax: Axes) -> None:
    """Remove ticks and frame but keep the axis labels (used as row titles)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
