"""Tests of read_labelled and iter_chunks across formats: missing, unreadable and unknown inputs,
argument checks, bounded memory."""

from __future__ import annotations

import os

import numpy as np
import pytest
from io_helpers import make_idx, write_text

from bayesgen import DataError
from bayesgen.io import LabelledData, deps, iter_chunks, open_chunked_writer, read_labelled

# --------------------------------------------------------------------------------------------
# missing / unreadable / unknown
# --------------------------------------------------------------------------------------------


def test_missing_file_says_where(tmp_path):
    with pytest.raises(DataError, match=r"Expected .* at .*nothing\.csv"):
        read_labelled(tmp_path / "nothing.csv")


def test_missing_kaggle_file_points_to_competition(tmp_path):
    with pytest.raises(DataError, match=r"kaggle\.com/c/digit-recognizer") as info:
        read_labelled(tmp_path / "data" / "train.csv")
    assert "does not exist either" in str(info.value)


def test_missing_file_for_iter_chunks_raises_at_call(tmp_path):
    with pytest.raises(DataError, match="nothing exists there"):
        iter_chunks(tmp_path / "x.parquet")


def test_unknown_suffix_lists_supported(tmp_path):
    path = write_text(tmp_path / "d.xlsx", "x")
    with pytest.raises(DataError, match=r"\.csv.*\.parquet.*\.npz.*IDX"):
        read_labelled(path)
    with pytest.raises(DataError, match="Unknown format"):
        read_labelled(path, format="excel")


def test_directory_given_for_file_format(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_labelled(tmp_path / "d.csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = write_text(tmp_path / "d.csv", "label,x\n1,2\n")
    path.chmod(0)
    try:
        with pytest.raises(DataError, match="Cannot read"):
            read_labelled(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_via_oserror(tmp_path, monkeypatch):
    path = write_text(tmp_path / "d.csv", "label,x\n1,2\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(DataError, match="Permission denied"):
        read_labelled(path)


# --------------------------------------------------------------------------------------------
# arguments and results
# --------------------------------------------------------------------------------------------


def test_iter_chunks_validates_chunk_rows(tmp_path):
    path = write_text(tmp_path / "d.csv", "label,x\n1,0\n")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DataError, match="chunk_rows"):
            next(iter_chunks(path, chunk_rows=bad))


def test_require_classes(tmp_path):
    path = write_text(tmp_path / "d.csv", "label,x\n1,0\n1,1\n")
    assert len(read_labelled(path)) == 2  # no check by default
    with pytest.raises(DataError, match="at least 2 classes"):
        read_labelled(path, require_classes=2)


def test_labelled_data_unpacks():
    data = LabelledData(X=np.ones((3, 2)), y=np.array([0, 1, 1]))
    X, y = data
    assert X.shape == (3, 2) and len(data) == 3 and data.n_features == 2
    assert data.classes.tolist() == [0, 1]
    assert "n_samples=3" in repr(data)


@pytest.mark.parametrize("fmt", ["idx", "npz", "csv"])
def test_chunked_reading_memory_is_bounded(tmp_path, monkeypatch, fmt):
    """Peak numpy/python allocations while streaming stay near one chunk, far below the
    size of the whole data set (pyarrow's own pool is not traced, so CSV uses the python
    reader here)."""
    import tracemalloc

    rng = np.random.default_rng(5)
    n, d = 20000, 64
    images = rng.integers(0, 256, size=(n, 8, 8)).astype(np.uint8)
    labels = rng.integers(0, 10, size=n)
    if fmt == "idx":
        path, _ = make_idx(tmp_path, "big", images, labels)
    else:
        path = tmp_path / f"big.{fmt}"
        with open_chunked_writer(path) as w:
            for s in range(0, n, 2000):
                w.write(images[s : s + 2000].reshape(-1, d) / 255.0, labels[s : s + 2000])
        monkeypatch.setattr(deps, "_USE_PYARROW", False)
    full_bytes = n * d * 8
    tracemalloc.start()
    try:
        rows = 0
        for chunk in iter_chunks(path, chunk_rows=500):
            rows += len(chunk)
            del chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == n
    assert peak < full_bytes / 2, (peak, full_bytes)
