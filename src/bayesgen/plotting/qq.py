"""QQ plot of squared Mahalanobis distances against chi-squared quantiles."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.plotting.canvas import new_figure, root_figure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_qq_chi2"]


def _squared_distances(mahalanobis_sq: Any) -> np.ndarray:
    """The distances as a sorted 1-D float array, tiny negative rounding errors clipped."""
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
    return np.sort(np.clip(d2, 0.0, None))


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

    d2 = _squared_distances(mahalanobis_sq)
    if (
        isinstance(dof, bool)
        or not isinstance(dof, numbers.Real)
        or not (np.isfinite(dof) and dof > 0)
    ):
        raise ValueError(f"dof must be a positive number (the number of features); got {dof!r}.")
    n = d2.size
    theoretical = stats.chi2.ppf((np.arange(1, n + 1) - 0.5) / n, dof)

    if ax is None:
        fig = new_figure((5.0, 5.0))
        ax = fig.subplots()
    else:
        fig = root_figure(ax)
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
