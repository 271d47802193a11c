"""Table columns real vs generated, a panel per class; the scatter coloured by class."""

import numpy as np
import pytest

from bayesgen import DataError, plotting

pytest.importorskip("matplotlib")


def _labels(rng, n):
    return rng.choice(["a", "b", "c$"], size=n)


def test_category_bars_are_the_observed_shares_per_class():
    rng = np.random.default_rng(0)
    real = rng.choice(["x", "y", "z"], size=600).astype(object)
    real[:30] = None  # missing cells are left out of the shares
    yr = _labels(rng, 600)
    gen, yg = rng.choice(["x", "y"], size=300), _labels(rng, 300)
    fig = plotting.plot_column_by_class(real, gen, yr, yg, name="col", kind="categorical")
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.patches]
    assert len(axes) == 3
    first = axes[0]  # class "a": real bars first, then generated bars
    heights = [p.get_height() for p in first.patches]
    order = [t.get_text() for t in first.get_xticklabels()]
    kept = (yr == "a") & np.array([v is not None for v in real])
    expected = [np.mean(real[kept] == name) for name in order]
    np.testing.assert_allclose(heights[: len(order)], expected)
    assert "missing" in first.get_title()


def test_numeric_panels_share_bin_edges_and_integrate_to_one():
    rng = np.random.default_rng(1)
    real, gen = rng.normal(size=500), rng.normal(0.3, 1, size=400)
    yr, yg = _labels(rng, 500), _labels(rng, 400)
    fig = plotting.plot_column_by_class(real, gen, yr, yg, name="x", kind="numeric")
    lefts = None
    for ax in fig.axes[:3]:
        # the real histogram's bars (the generated one is an outline polygon)
        bars = [p for p in ax.patches if hasattr(p, "get_width")]
        edges = sorted({round(p.get_x(), 9) for p in bars})
        lefts = edges if lefts is None else lefts
        assert edges == lefts
        assert sum(p.get_width() * p.get_height() for p in bars) == pytest.approx(1.0)


def test_too_many_classes_are_named_and_bad_input_refused():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 12, size=600)
    fig = plotting.plot_column_by_class(
        rng.normal(size=600), rng.normal(size=600), y, y, name="x", kind="numeric"
    )
    assert "4 more classes not shown" in fig._suptitle.get_text()
    with pytest.raises(DataError, match="kind must be one of"):
        plotting.plot_column_by_class([1.0], [1.0], [0], [0], name="x", kind="text")
    with pytest.raises(DataError, match="class label"):
        plotting.plot_column_by_class([1.0, 2.0], [1.0], [0], [0], name="x", kind="numeric")


def test_feature_pairs_by_class_use_one_colour_per_class():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 2)), rng.choice(["p", "q"], size=200)
    fig = plotting.plot_feature_pairs(X, X + 0.1, feature_names=["u", "v"], y_real=y, y_generated=y)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "u" and ax.get_ylabel() == "v"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["p", "q"]
    colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections[:4] if len(c.get_offsets())}
    assert len(colours) == 2


def test_text_dates_are_read_in_the_columns_own_format():
    """03/04/2020 in a day-first column is 3 April: with the training format, and without
    pandas' guessing (which read it as 4 March and warned)."""
    import warnings

    import pandas as pd

    from bayesgen.plotting.tables import _numbers

    values = np.array(["03/04/2020", "13/04/2020", None], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        days = _numbers(values, "datetime", "%d/%m/%Y")
    epoch = pd.Timestamp("1970-01-01")
    expected = [(pd.Timestamp(f"2020-04-{d}") - epoch).days for d in ("03", "13")]
    assert days.tolist() == expected
