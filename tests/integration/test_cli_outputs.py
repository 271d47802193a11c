"""Outputs a newcomer relies on (issue 16): CSV on stdout with ``-o -``, figures that explain
themselves (a row per class, titles, which tile is which), ``bayesgen split`` for the tour's
train.csv and test.csv, and no debris after a killed write."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bayesgen.cli import main

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its header."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """8 x 8 digit images (an NPZ of 3-D X records the image shape), class 4 rare (3 of 483
    rows, so 40 draws from the learned prior usually miss it), and a model fitted on them."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("digits")
    d = load_digits()
    keep = np.flatnonzero(d.target != 4)[:480]
    keep = np.sort(np.concatenate([keep, np.flatnonzero(d.target == 4)[:3]]))
    data = folder / "digits.npz"
    np.savez(data, X=d.images[keep] / 16.0, y=d.target[keep])
    model = folder / "digits.bgm"
    assert (
        main(["fit", str(data), "--density", "gaussian", "--reg-covar", "0.02", "-o", str(model)])
        == 0
    )
    return data, model


# ---------------------------------------------------------------------------- stdout


def test_sample_dash_o_writes_the_csv_of_a_file_to_stdout(digits, tmp_path, capsys):
    _, model = digits
    args = ["-n", "25", "--seed", "3", "--chunk-rows", "7"]
    code, out, err = run(capsys, "sample", model, *args, "-o", "-")
    assert code == 0, err
    file = tmp_path / "s.csv"
    code, _, _ = run(capsys, "sample", model, *args, "-o", file)
    assert out == file.read_text()  # the same header and rows, byte for byte
    assert out.splitlines()[0].startswith("label,") and len(out.splitlines()) == 26
    assert "stdout" in err and "wrote" not in out  # messages on stderr only
    assert not Path("-").exists()
    code, out, _ = run(capsys, "sample", model, "-n", "0", "-o", "-")
    assert code == 0 and out == file.read_text().splitlines(keepends=True)[0]


def test_sample_dash_o_through_a_pipe(digits):
    _, model = digits
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bayesgen",
            "sample",
            str(model),
            "-n",
            "4",
            "--seed",
            "0",
            "-o",
            "-",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and lines[0].startswith("label,")
    assert all(len(line.split(",")) == 65 for line in lines)
    assert "wrote 4 samples to stdout" in result.stderr


# ---------------------------------------------------------------------------- figures


def _row_labels(fig) -> list[str]:
    return [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]


def test_sample_grid_shows_every_class_in_its_row(digits, tmp_path, capsys):
    """-n 40 from the learned prior would usually miss the rare class 4; the figure draws
    the classes in rows instead, each labelled."""
    from bayesgen import load
    from bayesgen.cli.sample import class_grid_figure

    _, model_path = digits
    grid = tmp_path / "grid.png"
    code, _, err = run(capsys, "sample", model_path, "-n", "40", "--seed", "0", "-o", grid)
    assert code == 0, err
    width, height = png_size(grid)
    assert height > width  # ten rows of four

    fig, drawn = class_grid_figure(load(model_path), 40, (8, 8), seed=0)
    assert drawn == 40
    assert _row_labels(fig) == [str(k) for k in range(10)]
    assert sum(len(ax.images) for ax in fig.axes) == 40
    assert "each class" in fig.texts[0].get_text()
    assert all(lab.get_fontsize() >= 10 for lab in (ax.yaxis.label for ax in fig.axes))

    png = tmp_path / "pgrid.png"
    code, _, err = run(capsys, "plot", model_path, "--kind", "grid", "--seed", "0", "-o", png)
    assert code == 0, err and png_size(png)[1] > png_size(png)[0]


def test_sample_grid_of_one_class_has_a_title_and_readable_labels(digits, tmp_path, capsys):
    from bayesgen import load
    from bayesgen.cli.sample import class_grid_figure

    _, model_path = digits
    sevens = tmp_path / "sevens.png"
    code, _, err = run(
        capsys, "sample", model_path, "-n", "40", "--label", "7", "--seed", "0", "-o", sevens
    )
    assert code == 0, err
    width, height = png_size(sevens)
    assert width > height  # four rows of ten

    fig, _ = class_grid_figure(load(model_path), 40, (8, 8), label=7, seed=0)
    assert "40 samples of class 7" in fig.texts[0].get_text()
    assert set(_row_labels(fig)) == {"7"} and len(_row_labels(fig)) == 4
    assert all(ax.yaxis.label.get_fontsize() >= 10 for ax in fig.axes if ax.get_ylabel())


def test_samples_vs_means_is_a_grid_not_a_strip(digits, tmp_path, capsys):
    _, model_path = digits
    means = tmp_path / "means.png"
    code, _, err = run(capsys, "plot", model_path, "--kind", "means", "--seed", "0", "-o", means)
    assert code == 0, err
    width, height = png_size(means)
    assert 0.6 < width / height < 2.0, (width, height)


def test_inpainting_figure_says_which_tile_is_which(digits, tmp_path, capsys):
    data, model_path = digits
    out = tmp_path / "inpaint.png"
    code, _, err = run(
        capsys,
        "inpaint",
        model_path,
        "--input",
        data,
        "--rows",
        "3",
        "-n",
        "2",
        "--seed",
        "0",
        "-o",
        out,
    )
    assert code == 0, err
    assert png_size(out)[0] > 0

    from bayesgen import load, plotting
    from bayesgen.conditional import sample_conditional
    from bayesgen.io import read_labelled

    rows = read_labelled(data)
    mask = np.zeros(64, bool)
    mask[:32] = True
    X, labels = sample_conditional(
        load(model_path), rows.X[:3], np.broadcast_to(mask, (3, 64)), n_samples=2, random_state=0
    )
    fig = plotting.plot_inpainting(
        rows.X[:3], mask, X, (8, 8), labels=labels, original_labels=rows.y[:3]
    )
    titles = [ax.get_title() for ax in fig.axes[:4]]
    assert titles == ["original", "model input", "completion 1", "completion 2"]
    assert fig.axes[0].get_xlabel() == f"true: {rows.y[0]}"
    assert fig.axes[2].get_xlabel() == f"class {labels[0, 0]}"


# ---------------------------------------------------------------------------- split


@pytest.fixture
def kaggle_like(tmp_path):
    """A Kaggle-layout CSV (label first, 784 integer pixels), 10 classes of unequal size."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), np.arange(10, 30, 2))
    pixels = rng.integers(0, 256, size=(y.shape[0], 784))
    path = tmp_path / "kaggle.csv"
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    order = rng.permutation(y.shape[0])
    rows = np.column_stack([y, pixels])[order]
    np.savetxt(path, rows, fmt="%d", delimiter=",", header=header, comments="")
    return path


def test_split_is_stratified_seeded_and_keeps_the_layout(kaggle_like, tmp_path, capsys):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    code, out, err = run(
        capsys, "split", kaggle_like, "--test-size", "0.2", "--seed", "1", "-o", train, test
    )
    assert code == 0, err
    assert out == "" and "train.csv" in err and "test.csv" in err
    lines = kaggle_like.read_text().splitlines()
    a, b = train.read_text().splitlines(), test.read_text().splitlines()
    assert a[0] == b[0] == lines[0]  # the Kaggle header
    assert sorted(a[1:] + b[1:]) == sorted(lines[1:])  # every row once, written as it was
    assert len(b) - 1 == round(0.2 * (len(lines) - 1))
    y = np.array([int(line.split(",")[0]) for line in lines[1:]])
    y_test = np.array([int(line.split(",")[0]) for line in b[1:]])
    counts, test_counts = np.bincount(y), np.bincount(y_test, minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * counts) <= 1)  # stratified
    order = [lines.index(line) for line in b[1:]]
    assert order == sorted(order)  # rows keep the input's order

    again = tmp_path / "again"
    again.mkdir()
    run(capsys, "split", kaggle_like, "--seed", "1", "-o", again / "tr.csv", again / "te.csv")
    assert (again / "te.csv").read_text() == test.read_text()
    run(capsys, "split", kaggle_like, "--seed", "2", "-o", again / "tr.csv", again / "te.csv")
    assert (again / "te.csv").read_text() != test.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "again",
        "kaggle.csv",
        "test.csv",
        "train.csv",
    ]

    # the tour: fit on one part, evaluate on the other (the labels are there)
    tutorial = ["--density", "gaussian", "--reg-covar", "0.1"]
    code, _, err = run(capsys, "fit", train, *tutorial, "-o", tmp_path / "m.bgm")
    assert code == 0, err


def test_split_npz_and_a_row_count(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), np.array(["a", "b"])[np.arange(50) % 2]
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=y)
    code, _, err = run(
        capsys, "split", data, "--test-size", "10", "-o", tmp_path / "tr.npz", tmp_path / "te.npz"
    )
    assert code == 0, err
    with np.load(tmp_path / "te.npz", allow_pickle=False) as z:
        assert z["X"].shape == (10, 3) and sorted(z["y"].tolist()) == ["a"] * 5 + ["b"] * 5
    with np.load(tmp_path / "tr.npz", allow_pickle=False) as z:
        assert z["X"].shape == (40, 3)


def test_split_of_a_table_keeps_its_columns(tmp_path, capsys):
    from bayesgen import io as bio

    if not hasattr(bio, "is_table_file"):
        pytest.skip("bayesgen.io has no table reader yet")
    rows = [
        ("Biscoe" if i % 3 else "Dream", ["Adelie", "Gentoo"][i % 2], 3000 + i if i % 7 else "")
        for i in range(40)
    ]
    text = "island,species,mass\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    data = tmp_path / "table.csv"
    data.write_text(text)
    train, test = tmp_path / "tr.csv", tmp_path / "te.csv"
    code, _, err = run(capsys, "split", data, "--label-column", "species", "-o", train, test)
    assert code == 0, err
    lines = text.splitlines()
    a, b = train.read_text().splitlines(), test.read_text().splitlines()
    assert a[0] == b[0] == lines[0]
    assert sorted(a[1:] + b[1:]) == sorted(lines[1:])


@pytest.mark.parametrize(
    "outputs, code, words",
    [
        (["kaggle.csv", "test.csv"], 2, ["would overwrite the input"]),
        (["same.csv", "same.csv"], 2, ["twice"]),
        (["a.txt", "b.csv"], 2, ["a.txt: the name does not say", ".csv"]),
        (["a.csv", "-"], 2, ["two data files"]),
        (["a.csv", "missing/b.csv"], 1, ["does not exist"]),
    ],
)
def test_split_bad_outputs_leave_nothing(kaggle_like, tmp_path, capsys, outputs, code, words):
    paths = [tmp_path / p if p != "-" else p for p in outputs]
    got, _, err = run(capsys, "split", kaggle_like, "-o", *paths)
    assert got == code, err
    for word in words:
        assert word in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaggle.csv"]


def test_split_bad_test_sizes(kaggle_like, tmp_path, capsys):
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for size in ("0", "1.5", "-0.2", "x"):
        code, _, err = run(capsys, "split", kaggle_like, "--test-size", size, "-o", *outs)
        assert code == 2 and "--test-size" in err, size
    code, _, err = run(capsys, "split", kaggle_like, "--test-size", "185", "-o", *outs)
    assert code == 2 and "needs a training row" in err and "at most 180" in err
    code, _, err = run(capsys, "split", kaggle_like, "--test-size", "0.001", "-o", *outs)
    assert code == 2 and "empty test file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaggle.csv"]


def test_stratified_split_api():
    from bayesgen.cli.split import stratified_split

    y = np.array([0] * 50 + [1] * 30 + [2] * 1)
    train, test = stratified_split(y, 0.2, 0)
    assert np.intersect1d(train, test).size == 0 and train.size + test.size == 81
    assert np.bincount(y[test], minlength=3).tolist() == [10, 6, 0]
    assert 2 in y[train]  # a single-row class stays in training
    again, _ = stratified_split(y, 0.2, 0)
    np.testing.assert_array_equal(train, again)


# ---------------------------------------------------------------------------- killed write


def test_killed_sample_leaves_the_old_file_and_no_debris_after_the_next_write(tmp_path):
    """SIGKILL while sample writes: the old out.csv stays; its temporary is removed by the
    next write to the same target."""
    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    np.savez(data, X=rng.normal(size=(60, 3)), y=np.arange(60) % 2)
    model = tmp_path / "m.bgm"
    assert main(["fit", str(data), "-o", str(model)]) == 0
    out = tmp_path / "out.csv"
    out.write_text("old\n")

    def temporaries():
        return [p for p in tmp_path.iterdir() if p.name.startswith(".out.csv.")]

    proc = subprocess.Popen(
        [sys.executable, "-m", "bayesgen", "sample", str(model), "-n", "3000000", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not temporaries() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert temporaries(), "the sample run never created its temporary file"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert out.read_text() == "old\n"
    stale = temporaries()
    assert stale and all(p.name.endswith(".tmp") for p in stale)  # debris, for now

    assert main(["sample", str(model), "-n", "5", "--seed", "0", "-o", str(out)]) == 0
    assert out.read_text().startswith("label,")
    assert temporaries() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "m.bgm", "out.csv"]
