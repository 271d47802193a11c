"""Figures that explain themselves (issue 16): a row per class with every class present and
labelled, a samples-vs-means grid instead of a strip, and an in-painting figure that says
which tile is the original, which the completion, and the class of each."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from bayesgen import DataError  # noqa: E402
from bayesgen.plotting import (  # noqa: E402
    figure_to_png_bytes,
    plot_class_grid,
    plot_class_grids_side_by_side,
    plot_inpainting,
    plot_samples_vs_means,
)


def _png_size(fig) -> tuple[int, int]:
    data = figure_to_png_bytes(fig, dpi=100)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_class_grid_has_a_labelled_row_per_class_even_an_absent_one():
    rng = np.random.default_rng(0)
    y = np.array([0, 0, 2, 2, 2, 1])
    fig = plot_class_grid(rng.random((6, 4)), y, (2, 2), classes=[0, 1, 2, 3], title="T")
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == ["0", "1", "2", "3"]
    assert sum(len(ax.images) for ax in fig.axes) == 6
    absent = [ax for ax in fig.axes if ax.get_ylabel() == "3"][0]
    assert not absent.images and "no sample" in absent.texts[0].get_text()
    assert fig.texts[0].get_text() == "T"
    assert all(ax.yaxis.label.get_fontsize() >= 10 for ax in fig.axes if ax.get_ylabel())


def test_class_grid_wraps_a_class_over_rows_of_max_columns():
    X = np.random.default_rng(1).random((25, 4))
    fig = plot_class_grid(X, np.full(25, "seven"), (2, 2), max_columns=10)
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()] == ["seven"] * 3
    assert len(fig.axes) == 25
    width, height = _png_size(fig)
    assert width > height


def test_class_grid_validation():
    with pytest.raises(DataError, match="one label per row"):
        plot_class_grid(np.zeros((3, 4)), [0, 1], (2, 2))
    with pytest.raises(ValueError, match="max_columns"):
        plot_class_grid(np.zeros((3, 4)), [0, 1, 1], (2, 2), max_columns=0)


def test_grids_side_by_side_have_a_block_per_model_and_a_row_per_class():
    rng = np.random.default_rng(3)
    panels = [
        ("model A", rng.random((6, 4)), [0, 0, 1, 1, 2, 2]),
        ("model B", rng.random((3, 4)), [0, 2, 2]),  # no sample of class 1
    ]
    fig = plot_class_grids_side_by_side(panels, (2, 2), classes=[0, 1, 2], title="T")
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == ["model A", "model B"]
    assert sum(len(ax.images) for ax in fig.axes) == 9
    first = [ax.get_ylabel() for ax in fig.subfigs[0].axes if ax.get_ylabel()]
    assert first == ["0", "1", "2"]  # labels once, on the first block
    assert not any(ax.get_ylabel() for ax in fig.subfigs[1].axes)
    width, height = _png_size(fig)
    assert width > 0 and height > 0
    with pytest.raises(DataError, match="model B.*one label per row"):
        plot_class_grids_side_by_side(
            [panels[0], ("model B", np.zeros((2, 4)), [0])], (2, 2), classes=[0]
        )


def test_samples_vs_means_of_ten_classes_is_a_grid():
    rng = np.random.default_rng(2)
    fig = plot_samples_vs_means(rng.random((10, 16)), rng.random((10, 16)), range(10), (4, 4))
    width, height = _png_size(fig)
    assert 0.7 < width / height < 1.6, (width, height)  # not the 360 x 1540 strip
    assert [fig.axes[2 * i].get_ylabel() for i in range(10)] == [str(k) for k in range(10)]
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles.count("Sample") == titles.count("Mean") >= 2  # a header over every block
    one = plot_samples_vs_means(
        rng.random((10, 16)), rng.random((10, 16)), range(10), (4, 4), n_blocks=1
    )
    assert _png_size(one)[1] > 2 * _png_size(one)[0]


def test_inpainting_titles_and_classes():
    rng = np.random.default_rng(3)
    originals = rng.random((2, 4))
    completions = rng.random((2, 3, 4))
    drawn = np.array([[7, 7, 1], [3, 3, 3]])
    fig = plot_inpainting(
        originals,
        [True, True, False, False],
        completions,
        (2, 2),
        labels=drawn,
        original_labels=[7, 3],
        title="observed: top-half",
    )
    row = fig.axes[:5]
    assert [ax.get_title() for ax in row] == [
        "original",
        "model input",
        "completion 1",
        "completion 2",
        "completion 3",
    ]
    assert [ax.get_xlabel() for ax in row] == ["true: 7", "", "class 7", "class 7", "class 1"]
    # a completion of another class than its original stands out
    assert row[4].xaxis.label.get_color() != row[2].xaxis.label.get_color()
    assert fig.axes[5].get_xlabel() == "true: 3"
    one_label_per_row = plot_inpainting(
        originals, [True] * 2 + [False] * 2, completions, (2, 2), labels=[7, 3]
    )
    assert one_label_per_row.axes[4].get_xlabel() == "class 7"
    with pytest.raises(DataError, match="labels must have shape"):
        plot_inpainting(originals, [True] * 4, completions, (2, 2), labels=[[1, 2]])
