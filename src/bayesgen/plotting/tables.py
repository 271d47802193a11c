"""Real against generated table columns, one panel per class: histograms for numbers and
dates, bar charts of category shares.

Both sides of a panel are drawn on the same scale (shared bin edges, shares rather than
counts), so a panel compares shapes even when the real and generated sets differ in size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import label_text
from bayesgen.plotting.canvas import new_figure, plain_text

__all__ = ["plot_column_by_class"]

_KINDS = ("numeric", "datetime", "categorical")
_REAL, _GENERATED = "#4c72b0", "#dd8452"


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one column (1-D); got shape {arr.shape}.")
    return arr


def _missing(values: np.ndarray) -> np.ndarray:
    """Missing cells: NaN, None, NaT and pandas' NA all count."""
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool)


def _numbers(values: np.ndarray, kind: str, date_format: str | None = None) -> np.ndarray:
    """Observed cells as floats (dates as days since 1970, the axis matplotlib uses)."""
    import pandas as pd

    kept = values[~_missing(values)]
    if kind == "datetime":
        texts = pd.Series(kept)
        fmt = date_format or ("ISO8601" if texts.dtype == object else None)
        stamps = pd.to_datetime(texts, errors="coerce", format=fmt)
        stamps = stamps[stamps.notna()]
        # a Timedelta ratio, not int64 nanoseconds: the resolution of datetime64 varies
        return ((stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(float)
    return np.asarray(kept, dtype=np.float64)


def _bin_edges(real: np.ndarray, generated: np.ndarray, max_bins: int) -> np.ndarray:
    """Edges shared by every panel: from the pooled real values (generated ones if none)."""
    pool = real if real.size else generated
    if pool.size == 0:
        return np.array([0.0, 1.0])
    values = np.unique(pool)
    if values.size <= max_bins:  # a few distinct values (integers): one bar each
        mids = (values[1:] + values[:-1]) / 2 if values.size > 1 else np.array([])
        step = np.diff(values).min() if values.size > 1 else 1.0
        return np.concatenate([[values[0] - step / 2], mids, [values[-1] + step / 2]])
    return np.histogram_bin_edges(pool, bins=min(max_bins, max(10, int(np.sqrt(pool.size)))))


def _top_categories(real: np.ndarray, generated: np.ndarray, limit: int) -> list[str]:
    """The ``limit`` most frequent categories of the real data (pooled over classes)."""
    texts = np.concatenate([real, generated]) if real.size == 0 else real
    values, counts = np.unique(texts, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [str(v) for v in values[order][:limit]]


def _shares(values: np.ndarray, categories: list[str]) -> np.ndarray:
    """Share of each category, plus a last entry for every other category."""
    if values.size == 0:
        return np.zeros(len(categories) + 1)
    index = {c: i for i, c in enumerate(categories)}
    counts = np.bincount(
        [index.get(v, len(categories)) for v in values], minlength=len(categories) + 1
    )
    return counts / values.size


def _panel_title(label, n_real: int, n_gen: int, miss_real: float, miss_gen: float) -> str:
    title = f"{plain_text(label_text(label))}  (real {n_real}, generated {n_gen})"
    if miss_real or miss_gen:
        title += f"\nmissing {miss_real:.0%} real, {miss_gen:.0%} generated"
    return title


def _draw_numbers(ax, real: np.ndarray, gen: np.ndarray, edges: np.ndarray) -> None:
    ax.hist(real, bins=edges, density=True, color=_REAL, alpha=0.45, label="real")
    ax.hist(gen, bins=edges, density=True, histtype="step", color=_GENERATED, lw=1.6)
    ax.plot([], [], color=_GENERATED, lw=1.6, label="generated")


def _draw_categories(ax, real: np.ndarray, gen: np.ndarray, categories: list[str]) -> None:
    other = len(np.setdiff1d(np.concatenate([real, gen]), categories))
    names = categories + (["other"] if other else [])
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, _shares(real, categories)[: len(names)], 0.4, color=_REAL, label="real")
    gen_shares = _shares(gen, categories)[: len(names)]
    ax.bar(pos + 0.2, gen_shares, 0.4, color=_GENERATED, label="generated")
    ax.set_xticks(pos, [plain_text(n if len(n) <= 14 else n[:13] + "…") for n in names])
    ax.tick_params(axis="x", labelrotation=35)
    ax.set_ylabel("share")


def _classes_shown(classes, real_labels, max_classes: int) -> tuple[list, int]:
    """The classes drawn (most frequent real ones first when there are too many)."""
    if classes is None:
        classes = np.unique(real_labels)
    classes = list(classes)
    if len(classes) <= max_classes:
        return classes, 0
    counts = [int(np.sum(real_labels == c)) for c in classes]
    order = np.argsort(-np.asarray(counts), kind="stable")[:max_classes]
    return [classes[i] for i in sorted(order)], len(classes) - max_classes


def plot_column_by_class(
    real: Any,
    generated: Any,
    real_labels: Any,
    generated_labels: Any,
    *,
    name: str,
    kind: str,
    classes: Any = None,
    max_classes: int = 8,
    max_categories: int = 10,
    max_bins: int = 30,
    date_format: str | None = None,
) -> Any:
    """One column of real and generated rows, a panel per class.

    Numbers and dates: a histogram of the real values (filled) and of the generated ones
    (outline) on shared bin edges, normalised to densities.  Categories: the share of each
    of the ``max_categories`` most frequent real categories (the rest pooled as "other"),
    real and generated bars side by side.  Missing cells are left out of the shapes; each
    panel's title gives their rate on both sides.

    Parameters
    ----------
    real, generated : array_like of shape (n_real,), (n_generated,)
        The column's cells (numbers, dates or category values; missing cells allowed).
    real_labels, generated_labels : array_like of shape (n_real,), (n_generated,)
        The class of every row.
    name : str
        Column name (the figure's title).
    kind : {"numeric", "datetime", "categorical"}
    classes : sequence, optional
        Classes to draw, in order (default: every real label, sorted).
    max_classes : int, default 8
        With more classes, the most frequent real ones are drawn and the rest named in the
        title as left out.
    max_categories, max_bins : int
        Bars and histogram bins per panel at most.
    date_format : str, optional
        The ``strftime`` format of dates given as text (e.g. ``"%d/%m/%Y"``); without it
        text dates are read as ISO 8601 (pandas' inference would take 03/04 for 4 March).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if kind not in _KINDS:
        raise DataError(f"kind must be one of {_KINDS}; got {kind!r}.")
    real, gen = _as_1d(real, "real"), _as_1d(generated, "generated")
    yr, yg = _as_1d(real_labels, "real_labels"), _as_1d(generated_labels, "generated_labels")
    if yr.shape[0] != real.shape[0] or yg.shape[0] != gen.shape[0]:
        raise DataError("every real and generated cell needs its class label (same length).")
    shown, hidden = _classes_shown(classes, yr, max_classes)
    ncols = min(4, len(shown))
    nrows = -(-len(shown) // ncols)
    fig = new_figure((3.1 * ncols, 2.6 * nrows + 0.4))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    if kind == "categorical":
        categories = _top_categories(
            real[~_missing(real)].astype(str), gen[~_missing(gen)].astype(str), max_categories
        )
    else:
        edges = _bin_edges(
            _numbers(real, kind, date_format), _numbers(gen, kind, date_format), max_bins
        )
    for ax, label in zip(axes, shown, strict=False):
        r, g = real[yr == label], gen[yg == label]
        mr, mg = _missing(r), _missing(g)
        if kind == "categorical":
            _draw_categories(ax, r[~mr].astype(str), g[~mg].astype(str), categories)
        else:
            _draw_numbers(ax, _numbers(r, kind, date_format), _numbers(g, kind, date_format), edges)
            if kind == "datetime":
                ax.xaxis_date()
                ax.tick_params(axis="x", labelrotation=35)
        rate = lambda m: float(m.mean()) if m.size else 0.0  # noqa: E731
        ax.set_title(_panel_title(label, len(r), len(g), rate(mr), rate(mg)), fontsize=8.5)
        ax.tick_params(labelsize=7.5)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7.5, loc="best")
    suffix = f" ({hidden} more classes not shown)" if hidden else ""
    fig.suptitle(f"{plain_text(name)}: real vs generated, by class{suffix}", fontsize=10)
    return fig
