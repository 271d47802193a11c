"""The report's "Samples" figures: a sample grid and samples beside the class means for
image data, a real-vs-generated scatter of two features otherwise.

Image tiles are encoded straight from the pixels with :func:`bayesgen.plotting.png_bytes`
(no matplotlib: exact pixels, and fast); only the scatter is a matplotlib figure.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.png import png_bytes
from bayesgen.base.validation import label_text
from bayesgen.report.markup import esc, figure, gallery, img

__all__ = ["sample_figures"]

#: Above this many classes the per-class figures are left out (the tables stay).
MAX_CLASSES_FOR_FIGURES = 20
#: Samples per class in the sample grid.
GRID_SAMPLES_PER_CLASS = 8
#: Samples per class in the sample-vs-mean figure.
MEANS_SAMPLES_PER_CLASS = 3
#: Resolution of the embedded figures.
FIGURE_DPI = 72


def value_range(X: np.ndarray, pixel_scale) -> tuple[float, float]:
    """Grey range for the images: [0, 1] for scaled pixels, else the real data's range."""
    if pixel_scale is not None:
        return 0.0, 1.0
    lo, hi = float(np.min(X)), float(np.max(X))
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def _to_uint8(X: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map values to 0..255 with the fixed range [vmin, vmax] (outside values clip)."""
    scaled = (np.asarray(X, dtype=np.float64) - vmin) / (vmax - vmin)
    return np.rint(np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)


def _upscale_factor(shape) -> int:
    """Integer zoom so that a tile is about 56 pixels high (nearest neighbour)."""
    return int(max(1, min(8, round(56 / max(shape[0], 1)))))


def strip(rows: np.ndarray, shape, vmin: float, vmax: float, gap: int = 2) -> bytes:
    """Tiles side by side, separated by light-grey gaps, as one PNG.

    Parameters
    ----------
    rows : ndarray of shape (n_tiles, n_features)
    shape : tuple of int
        Image shape of one tile.
    vmin, vmax : float
        Fixed grey range of every tile.
    gap : int, default 2
        Pixels between tiles (before the zoom is applied to the tiles).

    Returns
    -------
    bytes
        A PNG file.
    """
    tiles = _to_uint8(rows, vmin, vmax).reshape((len(rows), *shape))
    zoom = _upscale_factor(shape)
    tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    h, w = tiles.shape[1:3]
    extra = tiles.shape[3:]
    canvas = np.full((h, len(rows) * (w + gap) - gap, *extra), 205, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        canvas[:, i * (w + gap) : i * (w + gap) + w] = tile
    return png_bytes(canvas)


def _grid_figure(X_all, shown, n_classes, image_shape, vmin, vmax) -> str:
    """The sample grid: the first ``GRID_SAMPLES_PER_CLASS`` samples of each shown class."""
    per = GRID_SAMPLES_PER_CLASS
    rows = []
    for k, lab in enumerate(shown):
        text = label_text(lab)
        picture = strip(X_all[k, :per], image_shape, vmin, vmax)
        rows.append((text, [img(picture, f"{per} generated samples of class {text}")]))
    more = (
        f" Only the first {len(shown)} of {n_classes} classes are shown."
        if len(shown) < n_classes
        else ""
    )
    return (
        "<figure>"
        + gallery(("class", f"{per} samples, x ~ p(x | y)"), rows)
        + f"<figcaption>Sample grid: {per} generated samples per class, drawn at the "
        f"images' own pixels (enlarged without smoothing); grey range fixed to "
        f"[{vmin:.4g}, {vmax:.4g}] for every tile, values outside it clip.{esc(more)}"
        "</figcaption></figure>"
    )


def _means_figure(model, X_all, shown, image_shape, vmin, vmax) -> str:
    """Samples beside the class mean (the tutorial's figure), one row per shown class."""
    per, per_mean = GRID_SAMPLES_PER_CLASS, MEANS_SAMPLES_PER_CLASS
    means = np.asarray(model.class_means(), dtype=np.float64)
    rows = []
    for k, lab in enumerate(shown):
        text = label_text(lab)
        samples = strip(X_all[k, per:], image_shape, vmin, vmax)
        mean = strip(means[k : k + 1], image_shape, vmin, vmax)
        cells = [
            img(samples, f"{per_mean} samples of class {text}"),
            img(mean, f"mean of class {text}"),
        ]
        rows.append((text, cells))
    return (
        "<figure>"
        + gallery(("class", "samples", "mean E[x | y]"), rows)
        + "<figcaption>Samples next to the class mean (the tutorial's figure). A "
        "Gaussian's samples are the mean plus correlated noise: blurry or speckled "
        "samples beside a clean mean show what the density misses.</figcaption>"
        "</figure>"
    )


def _image_figures(model, X_test, image_shape, pixel_scale, rng) -> list[str]:
    """The sample grid and, when the model has class means, the sample-vs-mean figure."""
    classes = np.asarray(getattr(model, "classes_", []))
    vmin, vmax = value_range(X_test, pixel_scale)
    shown = classes[:MAX_CLASSES_FOR_FIGURES]
    per, per_mean = GRID_SAMPLES_PER_CLASS, MEANS_SAMPLES_PER_CLASS
    # one draw for both figures keeps the random stream (and so the page) as it was
    labels = np.repeat(shown, per + per_mean)
    X_all, _ = model.sample(len(labels), y=labels, random_state=rng)
    X_all = np.asarray(X_all, dtype=np.float64).reshape(len(shown), per + per_mean, -1)
    out = [_grid_figure(X_all, shown, len(classes), image_shape, vmin, vmax)]
    if hasattr(model, "class_means"):
        out.append(_means_figure(model, X_all, shown, image_shape, vmin, vmax))
    return out


def _scatter_figure(model, X_test, y_test, rng, feature_names) -> str:
    """The first two features of real and generated rows by class (matplotlib), or a note
    without it."""
    names = list(feature_names) if feature_names is not None else None
    shown = names[:2] if names else ["feature 0", "feature 1"]
    try:
        from bayesgen import plotting

        X_gen, y_gen = model.sample(min(2000, max(200, len(X_test))), random_state=rng)
        labelled = y_test is not None and len(y_test) == len(X_test)
        fig = plotting.plot_feature_pairs(
            X_test,
            X_gen,
            (0, 1),
            feature_names=names,
            y_real=np.asarray(y_test) if labelled else None,
            y_generated=np.asarray(y_gen) if labelled else None,
        )
        png = plotting.figure_to_png_bytes(fig, dpi=FIGURE_DPI)
    except ImportError:
        return (
            '<p class="note">matplotlib is not installed: no scatter of real and '
            "generated features (pip install bayesgen[plot]).</p>"
        )
    return figure(
        png,
        "scatter of two features, real and generated",
        f"{shown[0]} and {shown[1]} of real test rows (dots) and generated rows (crosses), "
        "one colour per class (no image shape, so no image grid).",
    )


def sample_figures(
    model, X_test, image_shape, pixel_scale, rng, *, y_test=None, feature_names=None
) -> list[str]:
    """HTML of the sample grid and the sample-vs-mean figure (or a scatter for tabular data).

    Parameters
    ----------
    model : fitted model with ``sample`` (and optionally ``class_means``)
    X_test : ndarray of shape (n_test, n_features)
        Real rows: their range sets the grey range when ``pixel_scale`` is None.
    image_shape : tuple of int or None
    pixel_scale : float or None
    rng : numpy.random.Generator
        The figures' own random stream.
    y_test : array_like of shape (n_test,), optional
        Labels of ``X_test``: the scatter of tabular data is coloured by class.
    feature_names : sequence of str, optional
        Column names for the scatter's axes.

    Returns
    -------
    list of str
        HTML fragments; empty for tabular data with a single feature.
    """
    if image_shape is not None:
        return _image_figures(model, X_test, image_shape, pixel_scale, rng)
    if X_test.shape[1] >= 2:
        return [_scatter_figure(model, X_test, y_test, rng, feature_names)]
    return []
