"""Annotated heatmap of a confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import label_text
from bayesgen.plotting.canvas import new_figure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_confusion_matrix"]


def _checked_matrix(cm: Any, labels: list[str], normalize: bool) -> np.ndarray:
    """``cm`` as a square non-negative float matrix with one row per label (row-normalised
    when asked; an empty row stays zero)."""
    mat = np.asarray(cm, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] == 0:
        raise DataError(f"cm must be a square (n_classes, n_classes) array; got {mat.shape}.")
    k = mat.shape[0]
    if len(labels) != k:
        raise DataError(f"cm has {k} classes but {len(labels)} labels were given.")
    if not np.isfinite(mat).all() or (mat < 0).any():
        raise DataError("cm must contain finite, non-negative values.")
    if normalize:
        totals = mat.sum(axis=1, keepdims=True)
        mat = np.divide(mat, totals, out=np.zeros_like(mat), where=totals > 0)
    return mat


def _annotate(ax: Axes, mat: np.ndarray, integral: bool, top: float) -> None:
    """Write every cell's value, white on dark cells so it stays readable."""
    k = mat.shape[0]
    fontsize = 9 if k <= 12 else 7
    for r in range(k):
        for c in range(k):
            value = mat[r, c]
            text = f"{int(value)}" if integral else f"{value:.2f}"
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if value > 0.5 * top else "black",
            )


def plot_confusion_matrix(
    cm: Any,
    labels: Sequence[Any],
    *,
    normalize: bool = False,
    annotate: bool | None = None,
    title: str | None = None,
    cmap: str = "Blues",
) -> Figure:
    """Annotated heatmap of a confusion matrix (rows: true class, columns: predicted).

    Parameters
    ----------
    cm : array_like of shape (n_classes, n_classes)
        Counts (or rates), non-negative.
    labels : sequence of length n_classes
        Class labels for both axes.
    normalize : bool, default False
        Divide every row by its total, so cells are per-true-class rates.
    annotate : bool, optional
        Write the value in each cell; default: only when n_classes <= 20.
    title : str, optional
    cmap : str, default "Blues"

    Returns
    -------
    matplotlib.figure.Figure
        The heatmap axes and a colorbar axes.
    """
    labels = [label_text(v) for v in labels]
    mat = _checked_matrix(cm, labels, normalize)
    k = mat.shape[0]
    if annotate is None:
        annotate = k <= 20
    integral = not normalize and bool(np.all(mat == np.round(mat)))

    side = max(4.0, 0.45 * k + 2.0)
    fig = new_figure((side + 1.0, side))
    ax = fig.subplots()
    top = float(mat.max()) if mat.max() > 0 else 1.0
    im = ax.imshow(mat, cmap=cmap, vmin=0.0, vmax=top, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(np.arange(k), labels=labels, rotation=45 if k > 10 else 0)
    ax.set_yticks(np.arange(k), labels=labels)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(
        title
        if title
        else ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix")
    )
    if annotate:
        _annotate(ax, mat, integral, top)
    return fig
