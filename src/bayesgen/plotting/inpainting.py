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
    labels: Any = None,
    original_labels: Sequence[Any] | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """Conditional generation at a glance: a row per input image.

    Columns: the original, what the model saw (unobserved pixels shown at mid-grey), then
    every completion sampled from the exact conditional.  Column titles say which is which;
    under the original is its true class (when given) and under every completion the class
    it was drawn from, so a completion of another class than its original shows as such.

    Parameters
    ----------
    originals : array_like of shape (n_rows, n_features)
    observed_masks : array_like of bool, shape (n_rows, n_features) or (n_features,)
    completions : array_like of shape (n_rows, n_completions, n_features)
    image_shape : sequence of int
    labels : array_like of shape (n_rows,) or (n_rows, n_completions), optional
        Class used for the completions: one per row, or one per completion.
    original_labels : sequence of length n_rows, optional
        True class of each original.
    vmin, vmax : float, default 0 and 1
        Fixed grey range shared by every tile.
    cmap : str, default "gray"
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``n_rows * (2 + n_completions)`` axes, row by row.
    """
    originals = as_float_matrix(originals, "originals", promote_1d=True, require_finite=False)
    n_rows, d = originals.shape
    shape = check_image_shape(image_shape, d)
    completions = np.asarray(completions, dtype=float)
    if completions.ndim != 3 or completions.shape[0] != n_rows or completions.shape[2] != d:
        raise DataError(
            f"completions must have shape ({n_rows}, n_completions, {d}); got {completions.shape}"
        )
    n_completions = completions.shape[1]
    drawn = None
    if labels is not None:
        drawn = np.asarray(labels, dtype=object)
        if drawn.shape == (n_rows,):
            drawn = np.repeat(drawn[:, None], n_completions, axis=1)
        if drawn.shape != (n_rows, n_completions):
            raise DataError(
                f"labels must have shape ({n_rows},) or ({n_rows}, {n_completions}); got "
                f"{drawn.shape}"
            )
    if original_labels is not None and len(original_labels) != n_rows:
        raise DataError(
            f"original_labels must have one label per row ({n_rows}); got {len(original_labels)}"
        )
    masks = np.broadcast_to(np.asarray(observed_masks, dtype=bool), originals.shape)
    vmin, vmax = check_range(vmin, vmax)
    n_cols = 2 + n_completions
    has_xlabels = drawn is not None or original_labels is not None
    fig = new_figure((1.35 * n_cols, (1.75 if has_xlabels else 1.45) * n_rows + 0.6))
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols, squeeze=False))
    seen = np.where(masks, originals, 0.5 * (vmin + vmax))
    headers = ["original", "model input", *[f"completion {k + 1}" for k in range(n_completions)]]
    for i in range(n_rows):
        row_images = [originals[i], seen[i], *completions[i]]
        for j, image in enumerate(row_images):
            ax = axes[i, j]
            show_image(ax, image, shape, vmin, vmax, cmap)
            bare_axes(ax)
            if i == 0:
                ax.set_title(headers[j], fontsize=10)
        if original_labels is not None:
            axes[i, 0].set_xlabel(f"true: {label_text(original_labels[i])}", fontsize=10)
        if drawn is not None:
            for k in range(n_completions):
                same = original_labels is None or label_text(drawn[i, k]) == label_text(
                    original_labels[i]
                )
                axes[i, 2 + k].set_xlabel(
                    f"class {label_text(drawn[i, k])}",
                    fontsize=10,
                    color="black" if same else "tab:red",
                )
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
