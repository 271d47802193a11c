"""Figures for generated data: samples vs class means, sample grids, QQ plots, confusion.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot, so no global
state and no GUI backend is involved), returns it, and never shows it.  Save it with
:func:`save_figure` (an atomic PNG write) or turn it into bytes with
:func:`figure_to_png_bytes`.  Arrays of pixels are encoded with :func:`png_bytes`, without
matplotlib.

matplotlib is imported lazily inside the functions: ``import bayesgen.plotting`` does not
import matplotlib, so the rest of the library works without it (``pip install
bayesgen[plot]`` provides it).

Modules: :mod:`~bayesgen.plotting.images` (samples, means, grids),
:mod:`~bayesgen.plotting.inpainting`, :mod:`~bayesgen.plotting.features` (feature pairs),
:mod:`~bayesgen.plotting.qq`, :mod:`~bayesgen.plotting.tables` (table columns by class),
:mod:`~bayesgen.plotting.confusion`,
:mod:`~bayesgen.plotting.output` (saving), :mod:`bayesgen.base.png` (the pixel
encoder) and :mod:`~bayesgen.plotting.canvas` (shared figure helpers).
"""

from bayesgen.base.png import png_bytes
from bayesgen.plotting.canvas import new_figure
from bayesgen.plotting.confusion import plot_confusion_matrix
from bayesgen.plotting.features import plot_feature_pairs
from bayesgen.plotting.images import (
    plot_class_grid,
    plot_class_grids_side_by_side,
    plot_model_means,
    plot_sample_grid,
    plot_samples_vs_means,
)
from bayesgen.plotting.inpainting import plot_inpainting
from bayesgen.plotting.output import figure_to_png_bytes, save_figure
from bayesgen.plotting.qq import plot_qq_chi2
from bayesgen.plotting.tables import plot_column_by_class

# bayesgen.diagnostics still imports the old private name; remove once it uses new_figure.
_new_figure = new_figure

__all__ = [
    "figure_to_png_bytes",
    "new_figure",
    "plot_class_grid",
    "plot_class_grids_side_by_side",
    "plot_column_by_class",
    "plot_confusion_matrix",
    "plot_feature_pairs",
    "plot_inpainting",
    "plot_model_means",
    "plot_qq_chi2",
    "plot_sample_grid",
    "plot_samples_vs_means",
    "png_bytes",
    "save_figure",
]
