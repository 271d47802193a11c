"""Tests of write_labelled and the chunked writer: layouts, input checks and atomic publication."""

from __future__ import annotations

import numpy as np
import pytest
from io_helpers import (
    KAGGLE_HEADER,
    assert_same,
    concat,
    kaggle_pixels,
    no_temp_files,
    write_kaggle,
    write_text,
)

from bayesgen import DataError
from bayesgen.base import atomic
from bayesgen.io import csv_writer, iter_chunks, open_chunked_writer, read_labelled, write_labelled
from bayesgen.io import npz as io_npz

# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def test_write_kaggle_layout(tmp_path, engine):
    pix, labels = kaggle_pixels(8)
    src = read_labelled(write_kaggle(tmp_path / "train.csv", pix, labels))
    gen = src.X + np.linspace(-0.2, 0.2, 784)  # generated: off-grid and out of range
    out = write_labelled(tmp_path / "gen.csv", gen, src.y, like=src)
    lines = out.read_text().splitlines()
    assert lines[0] == KAGGLE_HEADER
    first = lines[1].split(",")
    assert first[0] == "0" and all(v.isdigit() for v in first[1:])
    back = read_labelled(out)
    assert back.source_format == "kaggle-csv"
    expect = np.clip(np.rint(gen * 255), 0, 255) / 255.0
    np.testing.assert_array_equal(back.X, expect)
    # exact round trip of data already on the pixel grid
    write_labelled(tmp_path / "same.csv", src.X, src.y, like=src)
    assert_same(read_labelled(tmp_path / "same.csv"), src.X, src.y)


def test_write_generic_csv_exact_floats(tmp_path, engine):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3)) * np.array([1e-300, 1.0, 1e300])
    X[0] = [0.1, -0.0, 5e-324]
    y = np.array(["a", "b"])[np.arange(40) % 2]
    out = write_labelled(tmp_path / "g.csv", X, y, feature_names=["p", "q", "r"])
    assert out.read_text().splitlines()[0] == "label,p,q,r"
    back = read_labelled(out)
    assert_same(back, X, y)
    assert back.feature_names == ["p", "q", "r"]


def test_write_like_keeps_label_column_and_names(tmp_path):
    path = write_text(tmp_path / "d.csv", "digit,a,b\n1,0.5,2\n2,1.5,3\n")
    src = read_labelled(path, label_column="digit")
    out = write_labelled(tmp_path / "o.csv", src.X * 2, src.y, like=src)
    assert out.read_text().splitlines()[0] == "digit,a,b"
    assert read_labelled(out, label_column="digit").feature_names == ["a", "b"]


@pytest.mark.parametrize("name", ["o.csv", "o.npz", "o.png", "newdir"])
def test_write_missing_directory(tmp_path, name):
    with pytest.raises(DataError, match="does not exist"):
        write_labelled(tmp_path / "no" / "such" / name, np.ones((2, 4)), [0, 1], image_shape=(2, 2))
    assert not (tmp_path / "no").exists()


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(DataError, match="finite"):
        write_labelled(tmp_path / "o.csv", [[1.0, np.nan]], [1])
    with pytest.raises(DataError, match="2 rows but y has 1"):
        write_labelled(tmp_path / "o.csv", np.ones((2, 2)), [1])
    with pytest.raises(DataError, match="non-integer"):
        write_labelled(tmp_path / "o.npz", np.ones((2, 2)), [0.5, 1.0])
    with pytest.raises(DataError, match="output format"):
        write_labelled(tmp_path / "o.xlsx", np.ones((2, 2)), [0, 1])
    with pytest.raises(DataError, match="surrounding whitespace"):
        write_labelled(tmp_path / "o.csv", np.ones((1, 2)), [" a"])
    with pytest.raises(DataError, match="feature_names"):
        write_labelled(tmp_path / "o.csv", np.ones((1, 2)), [1], feature_names=["a"])
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------


def test_atomic_csv_write_failure_keeps_old_file(tmp_path, monkeypatch, engine):
    target = tmp_path / "d.csv"
    write_labelled(target, np.ones((3, 2)), [0, 1, 0])
    before = target.read_bytes()
    real = csv_writer._format_csv_rows
    calls = []

    def failing(values, y, delimiter):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(values, y, delimiter)

    monkeypatch.setattr(csv_writer, "_format_csv_rows", failing)
    with pytest.raises(OSError, match="No space"):
        with open_chunked_writer(target) as w:
            w.write(np.zeros((5, 2)), np.arange(5))
            w.write(np.zeros((5, 2)), np.arange(5))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


@pytest.mark.parametrize("suffix", [".npz", ".parquet", ".csv.gz"])
def test_atomic_write_exception_in_block(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    target = tmp_path / f"d{suffix}"
    write_labelled(target, np.ones((3, 2)), [0, 1, 0])
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with open_chunked_writer(target) as w:
            w.write(np.zeros((4, 2)), [1, 2, 3, 4])
            assert target.read_bytes() == before  # not published yet
            raise RuntimeError("boom")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_atomic_npz_assembly_failure(tmp_path, monkeypatch):
    target = tmp_path / "d.npz"
    write_labelled(target, np.ones((3, 2)), [0, 1, 0])
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(io_npz._NpzSink, "_member", staticmethod(broken))
    with pytest.raises(OSError):
        write_labelled(target, np.zeros((4, 2)), [1, 2, 3, 4])
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]


def test_atomic_replace_failure(tmp_path, monkeypatch):
    target = tmp_path / "d.csv"
    write_text(target, "old")

    def broken(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(PermissionError):
        write_labelled(target, np.ones((2, 2)), [0, 1])
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


# --------------------------------------------------------------------------------------------
# chunked writer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".parquet", ".tsv.gz"])
def test_chunked_writer_many_chunks(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    rng = np.random.default_rng(11)
    X = rng.random((95, 3))
    y = np.array(["u", "vv", "wwww"])[rng.integers(0, 3, 95)]
    target = tmp_path / f"g{suffix}"
    with open_chunked_writer(target, image_shape=(1, 3)) as w:
        for start in range(0, 95, 20):
            w.write(X[start : start + 20], y[start : start + 20])
            assert not target.exists()
        assert w.n_rows == 95
    assert target.exists()
    data = read_labelled(target)
    assert_same(data, X, y)
    assert_same(data, *concat(iter_chunks(target, chunk_rows=13)))
    assert no_temp_files(tmp_path)


def test_chunked_writer_kaggle_stream(tmp_path):
    pix, labels = kaggle_pixels(12)
    src = read_labelled(write_kaggle(tmp_path / "train.csv", pix, labels))
    with open_chunked_writer(tmp_path / "gen.csv", like=src) as w:
        for chunk in iter_chunks(tmp_path / "train.csv", chunk_rows=5):
            w.write(chunk.X, chunk.y)
    assert (tmp_path / "gen.csv").read_text() == (tmp_path / "train.csv").read_text()


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".parquet"])
def test_zero_rows_give_an_empty_file_of_the_right_width(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    write_labelled(path, np.zeros((0, 5)), np.zeros(0, dtype=int))
    assert path.exists()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            assert z["X"].shape == (0, 5) and z["y"].shape == (0,)
    elif suffix == ".csv":
        assert path.read_text().strip().count(",") == 5


def test_chunked_writer_errors(tmp_path):
    with pytest.raises(DataError, match="Nothing was written"):
        with open_chunked_writer(tmp_path / "e.npz"):
            pass
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="3 features but earlier chunks had 2"):
        with open_chunked_writer(tmp_path / "e.csv") as w:
            w.write(np.ones((2, 2)), [0, 1])
            w.write(np.ones((2, 3)), [0, 1])
    with pytest.raises(DataError, match="str labels but earlier chunks had int"):
        with open_chunked_writer(tmp_path / "e.npz") as w:
            w.write(np.ones((2, 2)), [0, 1])
            w.write(np.ones((2, 2)), ["a", "b"])
    with pytest.raises(DataError, match="Chunked writing supports"):
        open_chunked_writer(tmp_path / "e.png")
    assert list(tmp_path.iterdir()) == []
