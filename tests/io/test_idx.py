"""Tests of reading MNIST IDX files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from io_helpers import assert_same, concat, make_idx, small_images

from bayesgen import DataError
from bayesgen.io import idx as io_idx
from bayesgen.io import iter_chunks, read_labelled


def test_mnist_idx_real(shared_data):
    path = shared_data / "mnist" / "t10k-images-idx3-ubyte.gz"
    data = read_labelled(path)
    assert data.X.shape == (10000, 784) and data.source_format == "idx"
    assert data.image_shape == (28, 28) and data.pixel_scale == 255.0
    np.testing.assert_array_equal(
        np.bincount(data.y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    X, y = concat(iter_chunks(path, chunk_rows=3000))
    assert_same(data, X, y)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip_and_pairing(tmp_path, gz):
    images, labels = small_images()
    ip, lp = make_idx(tmp_path, "train", images, labels, gz=gz)
    data = read_labelled(ip)
    assert data.source_format == "idx" and data.image_shape == (5, 4)
    np.testing.assert_array_equal(data.X, images.reshape(12, -1) / 255.0)
    np.testing.assert_array_equal(data.y, labels)
    assert_same(read_labelled(lp), data.X, data.y)  # labels file given: images found
    assert_same(data, *concat(iter_chunks(ip, chunk_rows=5)))
    other = tmp_path / "sub"
    other.mkdir()
    moved = other / "imgs.bin"
    moved.write_bytes(ip.read_bytes())
    assert_same(read_labelled(moved, format="idx", labels_path=lp), data.X, data.y)


def test_idx_missing_labels_file(tmp_path):
    images, labels = small_images()
    ip, lp = make_idx(tmp_path, "t10k", images, labels)
    lp.unlink()
    with pytest.raises(DataError, match="No labels file found.*labels_path="):
        read_labelled(ip)


def test_idx_bad_magic(tmp_path):
    images, labels = small_images()
    ip, lp = make_idx(tmp_path, "t10k", images, labels, gz=False)
    with pytest.raises(DataError, match="magic number 2051.*found 2049.*labels file"):
        read_labelled(lp, format="idx", labels_path=lp)
    ip.write_bytes(b"\x00\x00\x08\x04" + ip.read_bytes()[4:])
    with pytest.raises(DataError, match="magic number 2051.*found 2052"):
        read_labelled(ip)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_truncated(tmp_path, gz):
    images, labels = small_images()
    ip, lp = make_idx(tmp_path, "t10k", images, labels, gz=False)
    raw = ip.read_bytes()[:-7]
    ip.write_bytes(gzip.compress(raw) if gz else raw)
    if gz:
        ip.rename(tmp_path / "t10k-images-idx3-ubyte.gz")
        ip = tmp_path / "t10k-images-idx3-ubyte.gz"
        lp.rename(tmp_path / "t10k-labels-idx1-ubyte.gz")
        lp = tmp_path / "t10k-labels-idx1-ubyte.gz"
        lp.write_bytes(gzip.compress(lp.read_bytes()))
    with pytest.raises(DataError, match="truncated"):
        read_labelled(ip)
    with pytest.raises(DataError, match="truncated"):
        list(iter_chunks(ip, chunk_rows=3))
    short = tmp_path / "s-images-idx3-ubyte"
    short.write_bytes(b"\x00\x00\x08\x03\x00")
    with pytest.raises(DataError, match="ends before"):
        read_labelled(short, labels_path=lp)


def test_idx_gzip_stream_truncated(tmp_path):
    images, labels = small_images(n=200, h=28, w=28)
    ip, lp = make_idx(tmp_path, "t10k", images, labels)
    data = ip.read_bytes()
    ip.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated|corrupt"):
        read_labelled(ip)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_absurd_sizes_refused_before_allocating(tmp_path, gz, monkeypatch):
    header = struct.pack(">IIII", 2051, 4_000_000_000, 28, 28)
    ip = tmp_path / ("x-images-idx3-ubyte" + (".gz" if gz else ""))
    body = header + bytes(784 * 3)
    ip.write_bytes(gzip.compress(body) if gz else body)
    lp = tmp_path / "x-labels-idx1-ubyte"
    lp.write_bytes(struct.pack(">II", 2049, 3) + bytes(3))

    def no_alloc(*args, **kwargs):
        raise AssertionError("allocated before validating the header")

    monkeypatch.setattr(io_idx.np, "empty", no_alloc)
    with pytest.raises(DataError, match="4000000000 images"):
        read_labelled(ip, labels_path=lp)


def test_idx_extra_bytes_and_count_mismatch(tmp_path):
    images, labels = small_images()
    ip, lp = make_idx(tmp_path, "t10k", images, labels, gz=False)
    good = ip.read_bytes()
    ip.write_bytes(good + b"\x00\x01")
    with pytest.raises(DataError, match="unexpected bytes"):
        read_labelled(ip)
    ip.write_bytes(good)
    lp.write_bytes(struct.pack(">II", 2049, 11) + bytes(11))
    with pytest.raises(DataError, match="12 images but .* 11 labels"):
        read_labelled(ip)


def test_idx_gzip_trailing_garbage(tmp_path):
    images, labels = small_images()
    ip, lp = make_idx(tmp_path, "t10k", images, labels, gz=True)
    ip.write_bytes(ip.read_bytes() + b"garbage!")
    with pytest.raises(DataError):
        read_labelled(ip)
