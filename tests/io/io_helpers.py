"""Helpers shared by the tests of bayesgen.io: small files of every format."""

from __future__ import annotations

import gzip
import struct

import numpy as np

from bayesgen.io import LabelledData

KAGGLE_HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def kaggle_pixels(n, seed=0):
    rng = np.random.default_rng(seed)
    pix = rng.integers(0, 256, size=(n, 784))
    pix[:, :100] = 0  # like real digits: many zeros
    labels = np.arange(n) % 10
    return pix, labels


def write_kaggle(path, pix, labels):
    lines = [KAGGLE_HEADER] + [
        f"{lab}," + ",".join(map(str, row)) for lab, row in zip(labels, pix, strict=True)
    ]
    return write_text(path, "\n".join(lines) + "\n")


def make_idx(directory, prefix, images, labels, gz=True):
    """Write an MNIST-style images/labels IDX pair; return their paths."""
    n, h, w = images.shape
    img = struct.pack(">IIII", 2051, n, h, w) + images.astype(np.uint8).tobytes()
    lab = struct.pack(">II", 2049, len(labels)) + np.asarray(labels, np.uint8).tobytes()
    ext = ".gz" if gz else ""
    ip = directory / f"{prefix}-images-idx3-ubyte{ext}"
    lp = directory / f"{prefix}-labels-idx1-ubyte{ext}"
    ip.write_bytes(gzip.compress(img) if gz else img)
    lp.write_bytes(gzip.compress(lab) if gz else lab)
    return ip, lp


def small_images(n=12, h=5, w=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, h, w)).astype(np.uint8), np.arange(n) % 3


def concat(chunks):
    chunks = list(chunks)
    return np.concatenate([c.X for c in chunks]), np.concatenate([c.y for c in chunks])


def assert_same(a: LabelledData, X, y):
    np.testing.assert_array_equal(a.X, X)
    np.testing.assert_array_equal(a.y, y)


def no_temp_files(directory):
    return [p.name for p in directory.iterdir() if p.name.startswith(".")] == []
