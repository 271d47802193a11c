"""Figures for generated data: samples vs class means, sample grids, QQ plots, confusion.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot, so no global
state and no GUI backend is involved), returns it, and never shows it.  Save it with
:func:`save_figure` (an atomic PNG write) or turn it into bytes with
:func:`figure_to_png_bytes`.

matplotlib is imported lazily inside the functions: ``import bayesgen.plotting`` does not
import matplotlib, so the rest of the library works without it (``pip install
bayesgen[plot]`` provides it).

Images are drawn with a fixed grey range ``[vmin, vmax]`` shared by every tile (values
outside clip to black or white) rather than auto-contrast per tile, so tiles can be compared
at a glance.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "figure_to_png_bytes",
    "plot_confusion_matrix",
    "plot_feature_pairs",
    "plot_inpainting",
    "plot_model_means",
    "plot_qq_chi2",
    "plot_sample_grid",
    "plot_samples_vs_means",
    "save_figure",
]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _new_figure(figsize: tuple[float, float], layout: str | None = "constrained") -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "bayesgen.plotting needs matplotlib; install it with "
            "`pip install bayesgen[plot]` (or `pip install matplotlib`)."
        ) from exc
    return Figure(figsize=figsize, layout=layout)


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    # A SubFigure's .figure is the root Figure.
    while getattr(fig, "figure", fig) is not fig:
        fig = fig.figure
    return fig


def _as_2d(X: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array; could not convert it ({exc}).") from None
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise DataError(f"{name} must have shape (n_samples, n_features); got shape {arr.shape}.")
    return arr


def _check_image_shape(image_shape: Any, n_features: int) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape must be a tuple such as (28, 28); got {image_shape!r}."
        ) from None
    if len(shape) not in (2, 3) or any(s <= 0 for s in shape):
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, 3|4) with positive "
            f"sizes; got {image_shape!r}."
        )
    if len(shape) == 3 and shape[2] not in (3, 4):
        raise ValueError(
            f"a 3-D image_shape must end in 3 (RGB) or 4 (RGBA) channels; got {image_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise DataError(
            f"image_shape {shape} holds {int(np.prod(shape))} values but the data have "
            f"{n_features} features per row; pass the shape the rows were flattened from "
            "(e.g. (28, 28) for 784 features)."
        )
    return shape


def _check_range(vmin: float, vmax: float) -> tuple[float, float]:
    vmin, vmax = float(vmin), float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise ValueError(f"need finite vmin < vmax; got vmin={vmin}, vmax={vmax}.")
    return vmin, vmax


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def _show_image(
    ax: Axes, row: np.ndarray, shape: tuple[int, ...], vmin: float, vmax: float, cmap: str
) -> None:
    img = row.reshape(shape)
    if len(shape) == 2:
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    else:  # colour: the fixed range is applied by hand (imshow ignores vmin/vmax for RGB)
        ax.imshow(np.clip((img - vmin) / (vmax - vmin), 0.0, 1.0), interpolation="nearest")


def _bare_axes(ax: Axes) -> None:
    """Remove ticks and frame but keep the axis labels (used as row titles)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _label_text(label: Any) -> str:
    if isinstance(label, np.generic):
        label = label.item()
    return str(label)


# --------------------------------------------------------------------------------------
# samples vs means
# --------------------------------------------------------------------------------------


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
) -> Figure:
    """One generated sample next to the class mean, a row per class, in one figure.

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

    Returns
    -------
    matplotlib.figure.Figure
        ``n_classes`` rows by ``n_per_class + 1`` columns of axes, titled "Sample" (or
        "Sample 1", ...) and "Mean" on the first row.
    """
    samples_arr = np.asarray(samples, dtype=np.float64)
    if samples_arr.ndim == 2:
        samples_arr = samples_arr[:, np.newaxis, :]
    if samples_arr.ndim != 3:
        raise DataError(
            "samples must have shape (n_classes, n_features) or "
            f"(n_classes, n_per_class, n_features); got {samples_arr.shape}."
        )
    means_arr = _as_2d(means, "means")
    labels = list(labels)
    n_classes, n_per_class, n_features = samples_arr.shape
    if means_arr.shape != (n_classes, n_features) or len(labels) != n_classes:
        raise DataError(
            f"samples ({n_classes} classes, {n_features} features), means {means_arr.shape} "
            f"and labels ({len(labels)}) disagree; give one row of means and one label per "
            "class."
        )
    if n_classes == 0 or n_per_class == 0:
        raise DataError("nothing to plot: samples has no classes or no samples per class.")
    shape = _check_image_shape(image_shape, n_features)
    vmin, vmax = _check_range(vmin, vmax)

    n_cols = n_per_class + 1
    fig = _new_figure((1.5 * n_cols + 0.6, 1.5 * n_classes + (0.7 if title else 0.4)))
    axes = fig.subplots(n_classes, n_cols, squeeze=False)
    col_titles = ["Sample"] if n_per_class == 1 else [f"Sample {j + 1}" for j in range(n_per_class)]
    col_titles.append("Mean")
    for i in range(n_classes):
        for j in range(n_cols):
            ax = axes[i, j]
            row = samples_arr[i, j] if j < n_per_class else means_arr[i]
            _show_image(ax, row, shape, vmin, vmax, cmap)
            _bare_axes(ax)
            if i == 0:
                ax.set_title(col_titles[j], fontsize=10)
        axes[i, 0].set_ylabel(
            _label_text(labels[i]), rotation=0, fontsize=11, labelpad=14, va="center"
        )
    if title:
        fig.suptitle(title)
    return fig


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
    n_per_class = _check_positive_int(n_per_class, "n_per_class")
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


# --------------------------------------------------------------------------------------
# grids and scatter plots
# --------------------------------------------------------------------------------------


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
        ValueError: use :func:`plot_feature_pairs` for non-image data.
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
    X_arr = _as_2d(X, "X")
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
    shape = _check_image_shape(image_shape, X_arr.shape[1])
    n_rows = _check_positive_int(n_rows, "n_rows")
    n_cols = _check_positive_int(n_cols, "n_cols")
    vmin, vmax = _check_range(vmin, vmax)

    fig = _new_figure((1.3 * n_cols + 0.2, 1.45 * n_rows + (0.5 if title else 0.1)))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    n_show = min(X_arr.shape[0], n_rows * n_cols)
    for idx, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if idx >= n_show:
            continue
        _show_image(ax, X_arr[idx], shape, vmin, vmax, cmap)
        if labels is not None:
            ax.set_title(_label_text(labels[idx]), fontsize=9, pad=2)
    if title:
        fig.suptitle(title)
    return fig


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

    Returns
    -------
    matplotlib.figure.Figure
    """
    originals = _as_2d(originals, "originals")
    n_rows, d = originals.shape
    shape = _check_image_shape(image_shape, d)
    completions = np.asarray(completions, dtype=float)
    if completions.ndim != 3 or completions.shape[0] != n_rows or completions.shape[2] != d:
        raise DataError(
            f"completions must have shape ({n_rows}, n_completions, {d}); got {completions.shape}"
        )
    masks = np.broadcast_to(np.asarray(observed_masks, dtype=bool), originals.shape)
    vmin, vmax = _check_range(vmin, vmax)
    n_cols = 2 + completions.shape[1]
    fig = _new_figure((1.3 * n_cols, 1.4 * n_rows + 0.4))
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols, squeeze=False))
    seen = np.where(masks, originals, 0.5 * (vmin + vmax))
    for i in range(n_rows):
        row_images = [originals[i], seen[i], *completions[i]]
        for j, image in enumerate(row_images):
            ax = axes[i, j]
            _show_image(ax, image, shape, vmin, vmax, cmap)
            _bare_axes(ax)
            if i == 0:
                ax.set_title(
                    ["original", "observed"][j] if j < 2 else f"sample {j - 1}", fontsize=8
                )
        if labels is not None:
            axes[i, 0].set_ylabel(_label_text(labels[i]), rotation=0, labelpad=12)
    if title:
        fig.suptitle(title)
    return fig


def plot_feature_pairs(
    X_real: Any,
    X_generated: Any,
    feature_indices: tuple[int, int] = (0, 1),
    *,
    feature_names: Sequence[str] | None = None,
    max_points: int = 5000,
    title: str | None = None,
) -> Figure:
    """Scatter two features of real and generated tabular data on the same axes.

    Parameters
    ----------
    X_real, X_generated : array_like of shape (n_real, n_features), (n_generated, n_features)
    feature_indices : (int, int), default (0, 1)
        Columns for the x and y axes (negative indices count from the end).
    feature_names : sequence of str, optional
        Names of all ``n_features`` columns, used as axis labels.
    max_points : int, default 5000
        At most this many points per set are drawn (evenly spaced rows, deterministic).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two scatter collections, "real" and "generated", and a legend.
    """
    real = _as_2d(X_real, "X_real")
    gen = _as_2d(X_generated, "X_generated")
    if real.shape[1] != gen.shape[1]:
        raise DataError(
            f"X_real has {real.shape[1]} features but X_generated has {gen.shape[1]}; they "
            "must describe the same columns."
        )
    n_features = real.shape[1]
    try:
        i, j = (int(k) for k in feature_indices)
    except (TypeError, ValueError):
        raise TypeError(
            f"feature_indices must be two ints such as (0, 1); got {feature_indices!r}."
        ) from None
    for k in (i, j):
        if not -n_features <= k < n_features:
            raise ValueError(
                f"feature index {k} is out of range for {n_features} features; use indices "
                f"in [0, {n_features - 1}]."
            )
    i, j = i % n_features, j % n_features
    if feature_names is not None:
        names = [str(n) for n in feature_names]
        if len(names) != n_features:
            raise ValueError(
                f"feature_names has {len(names)} entries but the data have {n_features} features."
            )
    else:
        names = [f"feature {k}" for k in range(n_features)]
    max_points = _check_positive_int(max_points, "max_points")

    def thin(a: np.ndarray) -> np.ndarray:
        if a.shape[0] <= max_points:
            return a
        return a[np.linspace(0, a.shape[0] - 1, max_points).round().astype(np.intp)]

    fig = _new_figure((5.5, 4.5))
    ax = fig.subplots()
    r, g = thin(real), thin(gen)
    ax.scatter(r[:, i], r[:, j], s=9, alpha=0.5, marker="o", label=f"real (n={real.shape[0]})")
    ax.scatter(g[:, i], g[:, j], s=12, alpha=0.5, marker="x", label=f"generated (n={gen.shape[0]})")
    ax.set_xlabel(names[i])
    ax.set_ylabel(names[j])
    ax.set_title(title if title else "Real vs generated")
    ax.legend(loc="best")
    return fig


# --------------------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------------------


def plot_qq_chi2(
    mahalanobis_sq: Any, dof: float, ax: Axes | None = None, *, title: str | None = None
) -> Figure:
    """QQ plot of squared Mahalanobis distances against chi-squared(dof) quantiles.

    If the data are Gaussian with the fitted mean and covariance, ``d^2`` follows a
    chi-squared distribution with ``dof`` (the number of features) degrees of freedom and
    the points lie on the diagonal; points above it at the right mean heavier tails.

    Parameters
    ----------
    mahalanobis_sq : array_like of shape (n,)
        Squared Mahalanobis distances (>= 0; tiny negative rounding errors are clipped).
    dof : float
        Degrees of freedom, > 0.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; otherwise a new figure is made.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the figure that holds ``ax``.
    """
    from scipy import stats

    d2 = np.asarray(mahalanobis_sq, dtype=np.float64).reshape(-1)
    if d2.size == 0:
        raise DataError("mahalanobis_sq is empty; nothing to plot.")
    if not np.isfinite(d2).all():
        raise DataError("mahalanobis_sq contains NaN or infinite values; remove them first.")
    tol = 1e-8 * max(1.0, float(np.abs(d2).max()))
    if d2.min() < -tol:
        raise DataError(
            f"squared distances must be >= 0; the smallest is {d2.min():.6g}. Pass squared "
            "Mahalanobis distances, not log-densities or raw scores."
        )
    if (
        isinstance(dof, bool)
        or not isinstance(dof, numbers.Real)
        or not (np.isfinite(dof) and dof > 0)
    ):
        raise ValueError(f"dof must be a positive number (the number of features); got {dof!r}.")
    d2 = np.sort(np.clip(d2, 0.0, None))
    n = d2.size
    theoretical = stats.chi2.ppf((np.arange(1, n + 1) - 0.5) / n, dof)

    if ax is None:
        fig = _new_figure((5.0, 5.0))
        ax = fig.subplots()
    else:
        fig = _root_figure(ax)
    ax.plot(theoretical, d2, linestyle="none", marker=".", markersize=3, label=f"data (n={n})")
    hi = float(max(theoretical[-1], d2[-1]))
    ax.plot([0.0, hi], [0.0, hi], color="k", linewidth=1, linestyle="--", label="y = x")
    # Frame the data: the diagonal may run past the largest theoretical quantile.
    ax.set_xlim(0.0, 1.05 * float(theoretical[-1]) if theoretical[-1] > 0 else 1.0)
    ax.set_ylim(0.0, 1.05 * hi if hi > 0 else 1.0)
    dof_text = f"{dof:g}"
    ax.set_xlabel(f"chi-squared({dof_text}) quantile")
    ax.set_ylabel("squared Mahalanobis distance")
    ax.set_title(title if title else f"QQ plot against chi-squared({dof_text})")
    ax.legend(loc="upper left")
    return fig


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
    mat = np.asarray(cm, dtype=np.float64)
    labels = [_label_text(v) for v in labels]
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
    if annotate is None:
        annotate = k <= 20
    integral = not normalize and bool(np.all(mat == np.round(mat)))

    side = max(4.0, 0.45 * k + 2.0)
    fig = _new_figure((side + 1.0, side))
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
    return fig


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------


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
    """
    _check_figure(fig)
    target = Path(path)
    if target.suffix and target.suffix.lower() != ".png":
        raise ValueError(
            f"save_figure writes PNG images; got a path ending in {target.suffix!r}. Use a "
            "'.png' file name."
        )
    directory = target.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot write {target}: directory {directory} does not exist; create it first."
        )
    from bayesgen.base.persist import atomic_write_bytes_via

    atomic_write_bytes_via(target, lambda handle: fig.savefig(handle, format="png", dpi=dpi))
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
    import io

    _check_figure(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
