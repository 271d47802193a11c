"""Real against generated tabular data: a scatter of two features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import as_float_matrix
from bayesgen.plotting.canvas import check_positive_int, new_figure, plain_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["plot_feature_pairs"]


def _feature_pair(feature_indices: Any, n_features: int) -> tuple[int, int]:
    """Two column indices in ``[0, n_features)`` (negative ones count from the end)."""
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
    return i % n_features, j % n_features


def _feature_names(feature_names: Sequence[str] | None, n_features: int) -> list[str]:
    """Axis labels: the given names (one per column) or ``feature 0``, ``feature 1``, ..."""
    if feature_names is None:
        return [f"feature {k}" for k in range(n_features)]
    names = [str(n) for n in feature_names]
    if len(names) != n_features:
        raise ValueError(
            f"feature_names has {len(names)} entries but the data have {n_features} features."
        )
    return names


def _thin(a: np.ndarray, max_points: int) -> np.ndarray:
    """At most ``max_points`` evenly spaced rows of ``a`` (deterministic, order kept)."""
    if a.shape[0] <= max_points:
        return a
    return a[np.linspace(0, a.shape[0] - 1, max_points).round().astype(np.intp)]


def _scatter_by_class(ax, real, generated, pair, max_points: int) -> None:
    """Real rows as dots and generated rows as crosses, one colour per class."""
    (X_r, y_r), (X_g, y_g) = real, generated
    y_r, y_g = np.asarray(y_r), np.asarray(y_g)
    if y_r.shape != (X_r.shape[0],) or y_g.shape != (X_g.shape[0],):
        raise DataError("y_real and y_generated need one label per row of X_real, X_generated.")
    i, j = pair
    keep_r, keep_g = _thin(np.arange(len(y_r)), max_points), _thin(np.arange(len(y_g)), max_points)
    classes = np.unique(np.concatenate([y_r.astype(str), y_g.astype(str)]))
    for k, label in enumerate(classes):
        colour = f"C{k % 10}"
        r = X_r[keep_r][y_r[keep_r].astype(str) == label]
        g = X_g[keep_g][y_g[keep_g].astype(str) == label]
        ax.scatter(
            r[:, i], r[:, j], s=9, alpha=0.45, marker="o", color=colour, label=plain_text(label)
        )
        ax.scatter(g[:, i], g[:, j], s=12, alpha=0.6, marker="x", color=colour)
    ax.scatter([], [], marker="o", color="0.4", label="real (dots)")
    ax.scatter([], [], marker="x", color="0.4", label="generated (crosses)")


def plot_feature_pairs(
    X_real: Any,
    X_generated: Any,
    feature_indices: tuple[int, int] = (0, 1),
    *,
    feature_names: Sequence[str] | None = None,
    max_points: int = 5000,
    title: str | None = None,
    y_real: Any = None,
    y_generated: Any = None,
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
    y_real, y_generated : array_like of shape (n_real,), (n_generated,), optional
        Class labels: with both, each class gets its own colour (real rows as dots,
        generated rows as crosses of the same colour).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two scatter collections, "real" and "generated", and a legend.
    """
    real = as_float_matrix(X_real, "X_real", promote_1d=True, require_finite=False)
    gen = as_float_matrix(X_generated, "X_generated", promote_1d=True, require_finite=False)
    if real.shape[1] != gen.shape[1]:
        raise DataError(
            f"X_real has {real.shape[1]} features but X_generated has {gen.shape[1]}; they "
            "must describe the same columns."
        )
    n_features = real.shape[1]
    i, j = _feature_pair(feature_indices, n_features)
    names = _feature_names(feature_names, n_features)
    max_points = check_positive_int(max_points, "max_points")

    fig = new_figure((5.5, 4.5))
    ax = fig.subplots()
    if y_real is not None and y_generated is not None:
        _scatter_by_class(ax, (real, y_real), (gen, y_generated), (i, j), max_points)
    else:
        r, g = _thin(real, max_points), _thin(gen, max_points)
        ax.scatter(r[:, i], r[:, j], s=9, alpha=0.5, marker="o", label=f"real (n={len(r)})")
        ax.scatter(g[:, i], g[:, j], s=12, alpha=0.5, marker="x", label=f"generated (n={len(g)})")
    ax.set_xlabel(plain_text(names[i]))
    ax.set_ylabel(plain_text(names[j]))
    ax.set_title(title if title else "Real vs generated")
    ax.legend(loc="best")
    return fig
