"""Tests of reading and writing NPZ archives."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
from io_helpers import assert_same, concat, write_text

from bayesgen import DataError
from bayesgen.io import iter_chunks, read_labelled, write_labelled


def test_npz_round_trip_string_labels_no_pickle(tmp_path):
    X = np.arange(24, dtype=float).reshape(6, 4) / 7
    y = np.array(["a", "bb", "a", "ccc", "bb", "a"])
    path = write_labelled(
        tmp_path / "d.npz",
        X,
        y,
        image_shape=(2, 2),
        pixel_scale=255.0,
        feature_names=list("pqrs"),
        label_column="kind",
    )
    with np.load(path, allow_pickle=False) as npz:
        assert npz["y"].dtype.kind == "U"
        assert npz["X"].dtype == np.float64
    data = read_labelled(path)
    assert_same(data, X, y)
    assert data.image_shape == (2, 2) and data.pixel_scale == 255.0
    assert data.feature_names == list("pqrs") and data.label_column == "kind"
    assert_same(data, *concat(iter_chunks(path, chunk_rows=4)))


def test_npz_from_numpy_savez(tmp_path):
    X = np.arange(30, dtype=np.uint8).reshape(5, 2, 3)  # images are flattened
    np.savez_compressed(tmp_path / "c.npz", X=X, y=np.array([1, 2, 1, 2, 1], np.int32))
    data = read_labelled(tmp_path / "c.npz")
    assert data.X.shape == (5, 6) and data.image_shape == (2, 3)
    assert data.y.dtype == np.int64
    assert_same(data, *concat(iter_chunks(tmp_path / "c.npz", chunk_rows=2)))
    np.savez(tmp_path / "f.npz", X=np.ones((3, 2)).T.copy().T, y=np.zeros(3, int))
    fortran = read_labelled(tmp_path / "f.npz")
    assert_same(fortran, *concat(iter_chunks(tmp_path / "f.npz", chunk_rows=2)))


def test_npz_refuses_pickles(tmp_path):
    np.savez(tmp_path / "o.npz", X=np.ones((2, 2)), y=np.array([1, "a"], dtype=object))
    with pytest.raises(DataError, match="never loads pickles"):
        read_labelled(tmp_path / "o.npz")
    with pytest.raises(DataError, match="never loads pickles"):
        list(iter_chunks(tmp_path / "o.npz"))


@pytest.mark.parametrize(
    ("arrays", "pattern"),
    [
        ({"X": np.ones((2, 2))}, r"missing \['y'\]"),
        ({"X": np.ones((2, 2)), "y": np.ones(3)}, "2 rows but y has 3"),
        ({"X": np.ones(4), "y": np.ones(4)}, "2-D array"),
        ({"X": np.array([[1.0, np.inf]]), "y": np.ones(1)}, "finite"),
        ({"X": np.array([["a"]]), "y": np.ones(1)}, "numeric"),
        ({"X": np.ones((2, 1)), "y": np.array([0.5, 1])}, "non-integer"),
    ],
)
def test_bad_npz(tmp_path, arrays, pattern):
    np.savez(tmp_path / "b.npz", **arrays)
    with pytest.raises(DataError, match=pattern):
        read_labelled(tmp_path / "b.npz")
    with pytest.raises(DataError, match=pattern):
        list(iter_chunks(tmp_path / "b.npz"))


def test_npz_not_a_zip(tmp_path):
    write_text(tmp_path / "b.npz", "not a zip at all")
    with pytest.raises(DataError, match="not a readable NPZ"):
        read_labelled(tmp_path / "b.npz")
    np.save(tmp_path / "one.npy", np.ones(3))
    os.replace(tmp_path / "one.npy", tmp_path / "one.npz")
    with pytest.raises(DataError, match="single array"):
        read_labelled(tmp_path / "one.npz")


def test_npz_truncated_member_claim(tmp_path):
    path = tmp_path / "t.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("X.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10)}
            )
            fh.write(b"\0" * 80)
        with zf.open("y.npy", "w") as fh:
            np.lib.format.write_array(fh, np.zeros(10**0, np.int64))
    with pytest.raises(DataError):
        read_labelled(path)
    with pytest.raises(DataError, match="truncated|corrupt"):
        list(iter_chunks(path))
