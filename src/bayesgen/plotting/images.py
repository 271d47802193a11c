"""Figures of generated images: samples beside class means, a grid with a row per class,
and labelled sample grids.

Images are drawn with a fixed grey range ``[vmin, vmax]`` shared by every tile (values
outside clip to black or white) rather than auto-contrast per tile, so tiles can be compared
at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import as_float_matrix, check_image_shape, label_text
from bayesgen.plotting.canvas import (
    bare_axes,
    check_positive_int,
    check_range,
    new_figure,
    plain_text,
    show_image,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = [
    "plot_class_grid",
    "plot_class_grids_side_by_side",
    "plot_model_means",
    "plot_sample_grid",
    "plot_samples_vs_means",
]

#: Font sizes of row labels and column titles: readable at the default 100 dpi.
_LABEL_SIZE = 12
_TITLE_SIZE = 11


def _row_label(ax, text: str, pad: int = 10) -> None:
    """The label left of a row of tiles, read horizontally."""
    ax.set_ylabel(text, rotation=0, fontsize=_LABEL_SIZE, labelpad=pad, va="center", ha="right")


def _samples_and_means(samples: Any, means: Any, labels: list) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` as (n_classes, n_per_class, n_features) and ``means`` as (n_classes,
    n_features), checked against each other and against ``labels``."""
    samples_arr = np.asarray(samples, dtype=np.float64)
    if samples_arr.ndim == 2:
        samples_arr = samples_arr[:, np.newaxis, :]
    if samples_arr.ndim != 3:
        raise DataError(
            "samples must have shape (n_classes, n_features) or "
            f"(n_classes, n_per_class, n_features); got {samples_arr.shape}."
        )
    means_arr = as_float_matrix(means, "means", promote_1d=True, require_finite=False)
    n_classes, n_per_class, n_features = samples_arr.shape
    if means_arr.shape != (n_classes, n_features) or len(labels) != n_classes:
        raise DataError(
            f"samples ({n_classes} classes, {n_features} features), means {means_arr.shape} "
            f"and labels ({len(labels)}) disagree; give one row of means and one label per "
            "class."
        )
    if n_classes == 0 or n_per_class == 0:
        raise DataError("nothing to plot: samples has no classes or no samples per class.")
    return samples_arr, means_arr


def plot_samples_vs_means(
    samples: Any,
    means: Any,
    labels: Sequence[Any],
    image_shape: Sequence[int],
    *,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "gray",
    title: str | None = None,
    n_blocks: int | None = None,
) -> Figure:
    """One generated sample next to the class mean, a row per class, in one figure.

    The class rows are laid out in side-by-side blocks (e.g. two blocks of five rows for ten
    classes) so that the figure is a grid, not a tall strip.

    Parameters
    ----------
    samples : array_like of shape (n_classes, n_features) or (n_classes, n_per_class, n_features)
        Generated rows for every class (several per class give several "Sample" columns).
    means : array_like of shape (n_classes, n_features)
        Class means E[x | y].
    labels : sequence of length n_classes
        Class labels, written as row titles.
    image_shape : tuple of int
        Shape each row is reshaped to, e.g. ``(28, 28)``.
    vmin, vmax : float, default 0 and 1
        Fixed grey range shared by all tiles.
    cmap : str, default "gray"
        Colormap for grey-level images.
    title : str, optional
        Figure title.
    n_blocks : int, optional
        Blocks of class rows side by side; by default the number that makes the figure
        closest to 4:3 landscape.

    Returns
    -------
    matplotlib.figure.Figure
        ``n_per_class + 1`` axes per class, in class order (each class's samples, then its
        mean), titled "Sample" (or "Sample 1", ...) and "Mean" on the first row of each
        block; the class label is the first axes' y-label.
    """
    labels = list(labels)
    samples_arr, means_arr = _samples_and_means(samples, means, labels)
    n_classes, n_per_class, n_features = samples_arr.shape
    shape = check_image_shape(image_shape, n_features)
    vmin, vmax = check_range(vmin, vmax)

    n_cols = n_per_class + 1
    n_blocks = _n_blocks(n_classes, n_cols) if n_blocks is None else n_blocks
    n_blocks = min(check_positive_int(n_blocks, "n_blocks"), n_classes)
    rows = -(-n_classes // n_blocks)
    tile = 1.1
    # a narrow empty column between blocks keeps the classes of one block together
    ratios = ([1.0] * n_cols + [0.35]) * n_blocks
    ratios = ratios[:-1]
    fig = new_figure((tile * sum(ratios) + 0.5 * n_blocks, tile * rows + (0.8 if title else 0.45)))
    grid = fig.add_gridspec(rows, len(ratios), width_ratios=ratios)
    col_titles = ["Sample"] if n_per_class == 1 else [f"Sample {j + 1}" for j in range(n_per_class)]
    col_titles.append("Mean")
    for i in range(n_classes):
        block, r = divmod(i, rows)
        first = block * (n_cols + 1)
        for j in range(n_cols):
            ax = fig.add_subplot(grid[r, first + j])
            row = samples_arr[i, j] if j < n_per_class else means_arr[i]
            show_image(ax, row, shape, vmin, vmax, cmap)
            bare_axes(ax)
            if r == 0:
                ax.set_title(col_titles[j], fontsize=_TITLE_SIZE)
            if j == 0:
                _row_label(ax, label_text(labels[i]), pad=12)
    if title:
        fig.suptitle(title)
    return fig


def _n_blocks(n_classes: int, n_cols: int) -> int:
    """Side-by-side blocks of class rows that make the figure closest to 4:3 landscape."""
    best, best_gap = 1, float("inf")
    for blocks in range(1, n_classes + 1):
        rows = -(-n_classes // blocks)
        width = blocks * (n_cols + 0.35) + 0.5 * blocks
        gap = abs(np.log(width / rows) - np.log(4 / 3))
        if gap < best_gap - 1e-9:
            best, best_gap = blocks, gap
    return best


def plot_model_means(
    model: Any,
    image_shape: Sequence[int],
    random_state: Any = None,
    n_per_class: int = 1,
    *,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """Draw samples of every class from a fitted model and show them next to the means.

    Parameters
    ----------
    model : fitted bayesgen.BayesClassifier (or any object with ``classes_``,
            ``sample(n, y=label, random_state=...) -> (X, y)`` and ``class_means()``)
    image_shape : tuple of int
        Shape each row is reshaped to, e.g. ``(28, 28)``.
    random_state : None, int or numpy.random.Generator, optional
        Same seed, same figure.
    n_per_class : int, default 1
        Samples drawn per class (one "Sample" column each).
    vmin, vmax, cmap, title
        As in :func:`plot_samples_vs_means`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise NotFittedError(
            f"{type(model).__name__} is not fitted (it has no classes_); call fit(X, y) "
            "before plotting its samples."
        )
    n_per_class = check_positive_int(n_per_class, "n_per_class")
    rng = check_random_state(random_state)
    samples = []
    for label in classes:
        X, _ = model.sample(n_per_class, y=label, random_state=rng)
        samples.append(np.asarray(X, dtype=np.float64))
    return plot_samples_vs_means(
        np.stack(samples),
        model.class_means(),
        list(classes),
        image_shape,
        vmin=vmin,
        vmax=vmax,
        cmap=cmap,
        title=title,
    )


def plot_sample_grid(
    X: Any,
    y: Any,
    image_shape: Sequence[int] | None,
    *,
    n_rows: int = 10,
    n_cols: int = 4,
    vmin: float = 0.0,
    vmax: float = 1.0,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """Labelled grid of image samples (the tutorial's 10 x 4 figure).

    The first ``n_rows * n_cols`` rows of ``X`` are drawn in order, left to right and top to
    bottom, each titled with its label; unused cells stay blank.  All tiles share the fixed
    grey range ``[vmin, vmax]`` (no per-tile auto-contrast).

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,) or None
        Labels written above the tiles; None draws no labels.
    image_shape : tuple of int or None
        Shape each row is reshaped to, e.g. ``(28, 28)``.  None (tabular data) raises a
        ValueError: use :func:`~bayesgen.plotting.plot_feature_pairs` for non-image data.
    n_rows, n_cols : int, default 10 and 4
        Grid size.
    vmin, vmax : float, default 0 and 1
        Fixed grey range shared by every tile.
    title : str, optional
        Figure title.
    cmap : str, default "gray"

    Returns
    -------
    matplotlib.figure.Figure
        With ``n_rows * n_cols`` axes, all with their axis turned off.
    """
    if image_shape is None:
        raise ValueError(
            "plot_sample_grid draws images and needs image_shape (e.g. (28, 28)); for "
            "tabular (non-image) data use plot_feature_pairs(X_real, X_generated) instead."
        )
    X_arr = as_float_matrix(X, "X", promote_1d=True, require_finite=False)
    if X_arr.shape[0] == 0:
        raise DataError("X has no rows; nothing to plot.")
    labels = None
    if y is not None:
        labels = np.asarray(y).reshape(-1)
        if labels.shape[0] != X_arr.shape[0]:
            raise DataError(
                f"X has {X_arr.shape[0]} rows but y has {labels.shape[0]} labels; give one "
                "label per row (or y=None)."
            )
    shape = check_image_shape(image_shape, X_arr.shape[1])
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = check_positive_int(n_cols, "n_cols")
    vmin, vmax = check_range(vmin, vmax)

    fig = new_figure((1.3 * n_cols + 0.2, 1.45 * n_rows + (0.5 if title else 0.1)))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    n_show = min(X_arr.shape[0], n_rows * n_cols)
    for idx, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if idx >= n_show:
            continue
        show_image(ax, X_arr[idx], shape, vmin, vmax, cmap)
        if labels is not None:
            ax.set_title(label_text(labels[idx]), fontsize=9, pad=2)
    if title:
        fig.suptitle(title)
    return fig


def plot_class_grid(
    X: Any,
    y: Any,
    image_shape: Sequence[int],
    *,
    classes: Sequence[Any] | None = None,
    max_columns: int = 10,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """Image samples with a row per class, each row labelled with its class.

    Every class of ``classes`` gets a row (more when it has more than ``max_columns``
    samples), so a class that drew no sample shows as a labelled row saying so instead of
    silently missing.  All tiles share the fixed grey range ``[vmin, vmax]``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,)
        The class of every row.
    image_shape : tuple of int
        Shape each row is reshaped to, e.g. ``(28, 28)``.
    classes : sequence, optional
        The classes to show, in order (default: the distinct values of ``y``, sorted).
    max_columns : int, default 10
        Samples per row; a class with more continues on the next row.
    vmin, vmax : float, default 0 and 1
    cmap : str, default "gray"
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes per drawn sample (in class order, then sample order) plus one empty axes
        per class without samples; the first axes of every row has the class label as its
        y-label.
    """
    X_arr = as_float_matrix(X, "X", promote_1d=True, require_finite=False)
    labels = np.asarray(y).reshape(-1)
    if labels.shape[0] != X_arr.shape[0]:
        raise DataError(
            f"X has {X_arr.shape[0]} rows but y has {labels.shape[0]} labels; give one label "
            "per row."
        )
    order = list(np.unique(labels)) if classes is None else list(classes)
    if not order:
        raise DataError("nothing to plot: no samples and no classes.")
    shape = check_image_shape(image_shape, X_arr.shape[1])
    max_columns = check_positive_int(max_columns, "max_columns")
    vmin, vmax = check_range(vmin, vmax)

    text = np.array([label_text(v) for v in labels.tolist()])
    members = [np.flatnonzero(text == label_text(c)) for c in order]
    n_cols = max(1, min(max_columns, max(len(m) for m in members)))
    row_plan = []  # (class, indices of this row)
    for c, idx in zip(order, members, strict=True):
        chunks = [idx[k : k + n_cols] for k in range(0, len(idx), n_cols)] or [idx]
        row_plan += [(c, chunk) for chunk in chunks]
    tile = 0.95
    fig = new_figure((tile * n_cols + 0.7, tile * len(row_plan) + (0.7 if title else 0.2)))
    grid = fig.add_gridspec(len(row_plan), n_cols)
    for r, (c, chunk) in enumerate(row_plan):
        if len(chunk) == 0:
            ax = fig.add_subplot(grid[r, :])
            bare_axes(ax)
            ax.text(
                0.02, 0.5, "no sample of this class was drawn", va="center", fontsize=_TITLE_SIZE
            )
        for j, index in enumerate(chunk):
            ax = fig.add_subplot(grid[r, j])
            show_image(ax, X_arr[index], shape, vmin, vmax, cmap)
            bare_axes(ax)
            if j == 0:
                _row_label(ax, label_text(c))
        if len(chunk) == 0:
            _row_label(ax, label_text(c))
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def plot_class_grids_side_by_side(
    panels: Sequence[tuple[str, Any, Any]],
    image_shape: Sequence[int],
    *,
    classes: Sequence[Any],
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """Samples of several models side by side: a block per model, a row per class.

    Parameters
    ----------
    panels : sequence of (str, array_like, array_like)
        Per model: its heading, its samples ``X`` of shape (n, n_features) and their
        classes ``y``.  Each block is as wide as the most samples one class has in it.
    image_shape : tuple of int
    classes : sequence
        The rows, in order; a class without samples in a block leaves its row empty there.
    vmin, vmax : float, default 0 and 1
        The grey range shared by every tile of every block.
    cmap : str, default "gray"
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One subfigure per model; the class labels are on the rows of the first.
    """
    if not panels or not len(classes):
        raise DataError("nothing to plot: give at least one (heading, X, y) panel and class.")
    vmin, vmax = check_range(vmin, vmax)
    order = [label_text(c) for c in classes]
    blocks = []
    for heading, X, y in panels:
        X_arr = as_float_matrix(X, "X", promote_1d=True, require_finite=False)
        text = np.array([label_text(v) for v in np.asarray(y).reshape(-1).tolist()])
        if text.shape[0] != X_arr.shape[0]:
            raise DataError(
                f"panel {heading!r}: X has {X_arr.shape[0]} rows but y has {text.shape[0]} "
                "labels; give one label per row."
            )
        check_image_shape(image_shape, X_arr.shape[1])
        members = [np.flatnonzero(text == c) for c in order]
        blocks.append((heading, X_arr, members, max(1, max(len(m) for m in members))))
    shape = check_image_shape(image_shape, blocks[0][1].shape[1])
    tile = 0.95
    width = sum(tile * n_cols + 0.7 for *_, n_cols in blocks)
    fig = new_figure((width, tile * len(order) + (1.2 if title else 0.7)))
    widths = [n_cols + 0.7 for *_, n_cols in blocks]
    for b, (subfig, (heading, X_arr, members, n_cols)) in enumerate(
        zip(np.atleast_1d(fig.subfigures(1, len(blocks), width_ratios=widths)), blocks, strict=True)
    ):
        grid = subfig.add_gridspec(len(order), n_cols)
        for r, idx in enumerate(members):
            for j in range(n_cols):
                ax = subfig.add_subplot(grid[r, j])
                bare_axes(ax)
                if j < len(idx):
                    show_image(ax, X_arr[idx[j]], shape, vmin, vmax, cmap)
                if j == 0 and b == 0:
                    _row_label(ax, order[r])
        subfig.suptitle(plain_text(heading), fontsize=_TITLE_SIZE)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig
