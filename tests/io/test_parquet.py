"""Tests of reading and writing Parquet files."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from io_helpers import assert_same, concat, no_temp_files, write_text

from bayesgen import DataError
from bayesgen.io import MissingDependencyError, iter_chunks, read_labelled, write_labelled


def test_parquet_round_trip_and_chunks(tmp_path):
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(4)
    X = rng.random((53, 4))
    y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, 53)]
    path = write_labelled(
        tmp_path / "d.parquet",
        X,
        y,
        image_shape=(2, 2),
        pixel_scale=255.0,
        label_column="animal",
        feature_names=["a", "b", "c", "d"],
    )
    data = read_labelled(path)
    assert_same(data, X, y)
    assert data.source_format == "parquet" and data.label_column == "animal"
    assert data.image_shape == (2, 2) and data.pixel_scale == 255.0
    assert data.feature_names == ["a", "b", "c", "d"]
    assert_same(data, *concat(iter_chunks(path, chunk_rows=10)))


def test_parquet_foreign_file(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "f": pa.array([1, 2, 3], pa.int32()),
            "label": pa.array([0.0, 1.0, 1.0]),
            "g": pa.array([0.5, 1.5, 2.5]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    data = read_labelled(tmp_path / "t.parquet")
    np.testing.assert_array_equal(data.X, [[1, 0.5], [2, 1.5], [3, 2.5]])
    assert data.y.tolist() == [0, 1, 1] and data.y.dtype == np.int64
    assert_same(data, *concat(iter_chunks(tmp_path / "t.parquet", chunk_rows=2)))


@pytest.mark.parametrize(
    ("columns", "pattern"),
    [
        ({"label": [1, 2], "x": ["a", "b"]}, "feature column 'x' has type string"),
        ({"label": [1, 2], "x": [1.0, None]}, "data row 2, column 'x' is missing"),
        ({"label": [1, None], "x": [1.0, 2.0]}, "data row 2 has no label"),
        ({"label": [1, 2], "x": [1.0, float("nan")]}, "finite"),
        ({"label": [1.5, 2.0], "x": [1.0, 2.0]}, "non-integer value 1.5"),
        ({"label": [1, 2]}, "1 column"),
    ],
)
def test_bad_parquet(tmp_path, columns, pattern):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table(columns), tmp_path / "b.parquet")
    with pytest.raises(DataError, match=pattern):
        read_labelled(tmp_path / "b.parquet")


def test_parquet_not_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    path = write_text(tmp_path / "b.parquet", "hello")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_labelled(path)


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    path = write_text(tmp_path / "b.parquet", "hello")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependencyError, match=r"pip install bayesgen\[parquet\]"):
        read_labelled(path)
    with pytest.raises(MissingDependencyError, match=r"pip install bayesgen\[parquet\]"):
        iter_chunks(path)
    with pytest.raises(ImportError, match=r"bayesgen\[parquet\]"):
        write_labelled(tmp_path / "o.parquet", [[1.0]], [1])
    assert no_temp_files(tmp_path)
