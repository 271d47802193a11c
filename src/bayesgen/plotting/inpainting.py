"""The in-painting figure: originals, what the model saw, and conditional completions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import as_float_matrix, check_image_shape, label_text
from bayesgen.plotting.canvas import bare_axes, check_range, new_figure, show_image

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["plot_inpainting"]


def plot_inpainting(
    originals: Any,
    observed_masks: Any,
    completions: Any,
    image_shape: Sequence[int],
    *,
    labels: Sequence[Any] | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """Conditional generation at a glance: a row per input image.

    Columns: the original, what the model saw (unobserved pixels shown at mid-grey), then
    every completion sampled from the exact conditional.

    Parameters
    ----------
    originals : array_like of shape (n_rows, n_features)
    observed_masks : array_like of bool, shape (n_rows, n_features) or (n_features,)
    completions : array_like of shape (n_rows, n_completions, n_features)
    image_shape : sequence of int
    labels : sequence, optional
        Class used for each row's completions, shown as the row title.
    vmin, vmax : float, default 0 and 1
        Fixed grey range shared by every tile.
    cmap : str, default "gray"
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    originals = as_float_matrix(originals, "originals", promote_1d=True, require_finite=False)
    n_rows, d = originals.shape
    shape = check_image_shape(image_shape, d)
    completions = np.asarray(completions, dtype=float)
    if completions.ndim != 3 or completions.shape[0] != n_rows or completions.shape[2] != d:
        raise DataError(
            f"completions must have shape ({n_rows}, n_completions, {d}); got {completions.shape}"
        )
    masks = np.broadcast_to(np.asarray(observed_masks, dtype=bool), originals.shape)
    vmin, vmax = check_range(vmin, vmax)
    n_cols = 2 + completions.shape[1]
    fig = new_figure((1.3 * n_cols, 1.4 * n_rows + 0.4))
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols, squeeze=False))
    seen = np.where(masks, originals, 0.5 * (vmin + vmax))
    for i in range(n_rows):
        row_images = [originals[i], seen[i], *completions[i]]
        for j, image in enumerate(row_images):
            ax = axes[i, j]
            show_image(ax, image, shape, vmin, vmax, cmap)
            bare_axes(ax)
            if i == 0:
                ax.set_title(
                    ["original", "observed"][j] if j < 2 else f"sample {j - 1}", fontsize=8
                )
        if labels is not None:
            axes[i, 0].set_ylabel(label_text(labels[i]), rotation=0, labelpad=12)
    if title:
        fig.suptitle(title)
    return fig
