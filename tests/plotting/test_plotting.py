"""Tests for bayesgen.plotting (figures are built on matplotlib.figure.Figure, no pyplot)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

import bayesgen  # noqa: E402
from bayesgen import DataError, NotFittedError  # noqa: E402
from bayesgen.base.rng import check_random_state  # noqa: E402
from bayesgen.plotting import (  # noqa: E402
    figure_to_png_bytes,
    plot_confusion_matrix,
    plot_feature_pairs,
    plot_model_means,
    plot_qq_chi2,
    plot_sample_grid,
    plot_samples_vs_means,
    save_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _texts(fig: Figure) -> set[str]:
    """Every title, axis label and text artist in the figure."""
    out = set()
    for ax in fig.axes:
        out |= {ax.get_title(), ax.get_xlabel(), ax.get_ylabel()}
        out |= {t.get_text() for t in ax.texts}
    out |= {t.get_text() for t in fig.texts}  # suptitle lives here
    return out - {""}


# --------------------------------------------------------------------------------------
# import hygiene
# --------------------------------------------------------------------------------------


def test_import_does_not_import_matplotlib():
    code = "import bayesgen.plotting, sys; assert 'matplotlib' not in sys.modules"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# --------------------------------------------------------------------------------------
# samples vs means
# --------------------------------------------------------------------------------------


def test_samples_vs_means_layout():
    rng = np.random.default_rng(0)
    samples, means = rng.random((3, 12)), rng.random((3, 12))
    fig = plot_samples_vs_means(samples, means, ["a", "b", "c"], (3, 4), title="Digits")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    assert [fig.axes[0].get_title(), fig.axes[1].get_title()] == ["Sample", "Mean"]
    assert [fig.axes[2 * i].get_ylabel() for i in range(3)] == ["a", "b", "c"]
    assert "Digits" in _texts(fig)
    for ax in fig.axes:
        assert ax.images[0].get_clim() == (0.0, 1.0)
        assert ax.images[0].get_array().shape == (3, 4)
    # the images show the right rows
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), samples[0].reshape(3, 4))
    np.testing.assert_array_equal(fig.axes[5].images[0].get_array(), means[2].reshape(3, 4))


def test_samples_vs_means_several_per_class():
    rng = np.random.default_rng(1)
    fig = plot_samples_vs_means(rng.random((2, 3, 4)), rng.random((2, 4)), [0, 1], (2, 2))
    assert len(fig.axes) == 8
    assert [ax.get_title() for ax in fig.axes[:4]] == ["Sample 1", "Sample 2", "Sample 3", "Mean"]


def test_samples_vs_means_validation():
    rng = np.random.default_rng(2)
    with pytest.raises(DataError, match="disagree"):
        plot_samples_vs_means(rng.random((3, 4)), rng.random((2, 4)), [0, 1, 2], (2, 2))
    with pytest.raises(DataError, match="4 features"):
        plot_samples_vs_means(rng.random((2, 4)), rng.random((2, 4)), [0, 1], (3, 3))
    with pytest.raises(ValueError, match="vmin < vmax"):
        plot_samples_vs_means(rng.random((2, 4)), rng.random((2, 4)), [0, 1], (2, 2), vmin=1)
    with pytest.raises(ValueError, match="image_shape"):
        plot_samples_vs_means(rng.random((2, 4)), rng.random((2, 4)), [0, 1], (2, 2, 1))


class _FakeModel:
    """Minimal stand-in for a fitted BayesClassifier (sample / class_means / classes_)."""

    def __init__(self, means):
        self.means = np.asarray(means, dtype=float)
        self.classes_ = np.arange(len(self.means))
        self.calls = []

    def sample(self, n_samples, *, y=None, random_state=None):
        self.calls.append((n_samples, y))
        rng = check_random_state(random_state)
        k = int(y)
        X = self.means[k] + 0.1 * rng.standard_normal((n_samples, self.means.shape[1]))
        return X, np.full(n_samples, k)

    def class_means(self):
        return self.means


def test_plot_model_means_with_fake_model():
    model = _FakeModel(np.linspace(0, 1, 3 * 9).reshape(3, 9))
    fig = plot_model_means(model, (3, 3), random_state=0, n_per_class=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 9
    assert model.calls == [(2, 0), (2, 1), (2, 2)]
    assert [fig.axes[3 * i].get_ylabel() for i in range(3)] == ["0", "1", "2"]
    # same seed, same figure content
    fig2 = plot_model_means(_FakeModel(model.means), (3, 3), random_state=0, n_per_class=2)
    for a, b in zip(fig.axes, fig2.axes, strict=True):
        np.testing.assert_array_equal(a.images[0].get_array(), b.images[0].get_array())


def test_plot_model_means_unfitted():
    class Unfitted:
        pass

    with pytest.raises(NotFittedError, match="fit"):
        plot_model_means(Unfitted(), (2, 2))


def test_plot_model_means_with_bayes_classifier_on_digits():
    classifier = getattr(bayesgen, "BayesClassifier", None)
    if classifier is None:
        pytest.skip("bayesgen.BayesClassifier is not available yet")
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    model = classifier("gaussian").fit(X, y)
    fig = plot_model_means(model, (8, 8), random_state=0)
    assert len(fig.axes) == 20
    assert [fig.axes[2 * i].get_ylabel() for i in range(10)] == [str(k) for k in range(10)]
    np.testing.assert_allclose(
        fig.axes[3].images[0].get_array(), model.class_means()[1].reshape(8, 8)
    )


# --------------------------------------------------------------------------------------
# sample grid
# --------------------------------------------------------------------------------------


def test_sample_grid_default_10_by_4():
    rng = np.random.default_rng(3)
    X = rng.normal(0.5, 0.5, size=(40, 16))  # values outside [0, 1] must clip, not rescale
    y = np.arange(40) % 10
    fig = plot_sample_grid(X, y, (4, 4), title="Generated")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 40
    clims = {ax.images[0].get_clim() for ax in fig.axes}
    assert clims == {(0.0, 1.0)}
    assert [ax.get_title() for ax in fig.axes] == [str(v) for v in y]
    assert all(not ax.axison for ax in fig.axes)
    assert "Generated" in _texts(fig)


def test_sample_grid_fewer_samples_and_custom_range():
    X = np.arange(5 * 4, dtype=float).reshape(5, 4)
    fig = plot_sample_grid(X, None, (2, 2), n_rows=2, n_cols=3, vmin=-1.0, vmax=30.0)
    assert len(fig.axes) == 6
    assert [len(ax.images) for ax in fig.axes] == [1, 1, 1, 1, 1, 0]
    assert {ax.images[0].get_clim() for ax in fig.axes[:5]} == {(-1.0, 30.0)}
    assert all(ax.get_title() == "" for ax in fig.axes)


def test_sample_grid_more_samples_than_cells():
    X = np.random.default_rng(4).random((50, 4))
    fig = plot_sample_grid(X, np.zeros(50, dtype=int), (2, 2), n_rows=2, n_cols=2)
    assert sum(len(ax.images) for ax in fig.axes) == 4


def test_sample_grid_tabular_data_points_to_feature_pairs():
    with pytest.raises(ValueError, match="plot_feature_pairs"):
        plot_sample_grid(np.zeros((3, 5)), [0, 1, 2], None)


def test_sample_grid_validation():
    X = np.zeros((3, 4))
    with pytest.raises(DataError, match="one label per row"):
        plot_sample_grid(X, [0, 1], (2, 2))
    with pytest.raises(ValueError, match="n_rows"):
        plot_sample_grid(X, None, (2, 2), n_rows=0)
    with pytest.raises(DataError, match="no rows"):
        plot_sample_grid(np.zeros((0, 4)), None, (2, 2))
    with pytest.raises(TypeError, match="image_shape"):
        plot_sample_grid(X, None, 4)


def test_rgb_images():
    X = np.random.default_rng(5).random((2, 2 * 2 * 3)) * 2.0
    fig = plot_sample_grid(X, [0, 1], (2, 2, 3), n_rows=1, n_cols=2)
    arr = fig.axes[0].images[0].get_array()
    assert arr.shape == (2, 2, 3) and arr.max() <= 1.0


# --------------------------------------------------------------------------------------
# feature pairs, QQ plot, confusion matrix
# --------------------------------------------------------------------------------------


def test_feature_pairs():
    rng = np.random.default_rng(6)
    real, gen = rng.normal(size=(100, 3)), rng.normal(size=(80, 3))
    fig = plot_feature_pairs(real, gen, (0, 2), feature_names=["a", "b", "c"])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), real[:, [0, 2]])
    assert ax.get_xlabel() == "a" and ax.get_ylabel() == "c"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["real (n=100)", "generated (n=80)"]


def test_feature_pairs_thinning_and_validation():
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(300, 2)), rng.normal(size=(50, 2))
    fig = plot_feature_pairs(real, gen, max_points=100)
    assert len(fig.axes[0].collections[0].get_offsets()) == 100
    assert fig.axes[0].get_xlabel() == "feature 0"
    with pytest.raises(DataError, match="same columns"):
        plot_feature_pairs(real, rng.normal(size=(5, 3)))
    with pytest.raises(ValueError, match="out of range"):
        plot_feature_pairs(real, gen, (0, 5))
    with pytest.raises(ValueError, match="feature_names"):
        plot_feature_pairs(real, gen, feature_names=["x"])


def test_qq_chi2_new_figure_and_points():
    rng = np.random.default_rng(8)
    d2 = rng.chisquare(4, size=500)
    fig = plot_qq_chi2(d2, 4)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    points, diagonal = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(points.get_ydata(), np.sort(d2))
    from scipy import stats

    expected_x = stats.chi2.ppf((np.arange(1, 501) - 0.5) / 500, 4)
    np.testing.assert_allclose(points.get_xdata(), expected_x)
    np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())
    assert "chi-squared(4)" in ax.get_xlabel()
    assert "Mahalanobis" in ax.get_ylabel()


def test_qq_chi2_into_existing_axes():
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = plot_qq_chi2([0.5, 1.0, 2.0, -1e-14], 2, ax=axes[1], title="class 3")
    assert out is fig
    assert axes[1].get_title() == "class 3" and len(axes[0].lines) == 0


@pytest.mark.parametrize(
    "d2, dof, exc",
    [
        ([], 2, DataError),
        ([1.0, np.nan], 2, DataError),
        ([1.0, -3.0], 2, DataError),
        ([1.0, 2.0], 0, ValueError),
        ([1.0, 2.0], True, ValueError),
    ],
)
def test_qq_chi2_validation(d2, dof, exc):
    with pytest.raises(exc):
        plot_qq_chi2(d2, dof)


def test_confusion_matrix_annotated():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plot_confusion_matrix(cm, ["cat", "dog", "eel"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # heatmap + colorbar
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == [str(v) for v in cm.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    assert ax.images[0].get_clim() == (0.0, 9.0)


def test_confusion_matrix_normalized_and_large():
    cm = np.array([[3, 1], [0, 0]])
    fig = plot_confusion_matrix(cm, [0, 1], normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.75", "0.25", "0.00", "0.00"]
    big = plot_confusion_matrix(np.eye(25, dtype=int), range(25))
    assert len(big.axes[0].texts) == 0  # too many classes to annotate by default


@pytest.mark.parametrize(
    "cm, labels",
    [(np.ones((2, 3)), [0, 1]), (np.ones((2, 2)), [0]), (-np.ones((2, 2)), [0, 1])],
)
def test_confusion_matrix_validation(cm, labels):
    with pytest.raises(DataError):
        plot_confusion_matrix(cm, labels)


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------


def _small_figure() -> Figure:
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [0, 1])
    return fig


def test_save_figure_writes_png_atomically(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    out = save_figure(_small_figure(), target, dpi=50)
    assert out == target
    assert target.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_save_figure_failure_leaves_no_temp_and_keeps_old_file(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    fig = _small_figure()

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("disk full")

    fig.savefig = broken_savefig
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_save_figure_validation(tmp_path):
    with pytest.raises(ValueError, match=".png"):
        save_figure(_small_figure(), tmp_path / "fig.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_figure(_small_figure(), tmp_path / "missing" / "fig.png")
    with pytest.raises(TypeError, match="Figure"):
        save_figure("not a figure", tmp_path / "fig.png")


def test_figure_to_png_bytes():
    data = figure_to_png_bytes(_small_figure(), dpi=40)
    assert isinstance(data, bytes) and data.startswith(PNG_MAGIC)


def test_saved_grid_is_valid_png(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    X = np.random.default_rng(9).random((8, 16))
    fig = plot_sample_grid(X, np.arange(8), (4, 4), n_rows=2, n_cols=4)
    path = save_figure(fig, tmp_path / "grid.png", dpi=40)
    with pil.open(path) as img:
        img.verify()
