"""Fuzzing of the CSV and IDX readers: whatever the bytes, only DataError may escape.

When a mutated file still reads, the result must be well-formed, the chunked reader must give
the same arrays, and the pyarrow and pure-python CSV readers must agree.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayesgen.io as bio
from bayesgen import DataError
from bayesgen.io import deps

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CSV_BASE = "label,a,b\n1,0.5,2\n0,1e-3,-4\nx,3,4\n2,5,6\n1,7,8.25\n"
CSV_ALPHABET = list(',"\n\r.-+e0123456789 aXx_n\t;') + ["\x00", "\xff", "nan", "inf", "0x1"]
# errors the documented contract allows when chunks contradict the first chunk
CHUNK_CONTRADICTIONS = ("kaggle=False", "label_dtype='str'")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _well_formed(data):
    assert data.X.ndim == 2 and data.X.dtype == np.float64
    assert data.y.ndim == 1 and len(data.y) == data.X.shape[0] > 0
    assert np.isfinite(data.X).all()


def _read_csv_all_ways(path, use_pyarrow):
    """Full and chunked read with one engine; returns (full, chunks) or exceptions."""
    old = deps._USE_PYARROW
    deps._USE_PYARROW = use_pyarrow
    try:
        try:
            full = bio.read_labelled(path)
        except DataError:
            full = None
        try:
            chunks = list(bio.iter_chunks(path, chunk_rows=2))
        except DataError as exc:
            chunks = exc
    finally:
        deps._USE_PYARROW = old
    return full, chunks


def _check_csv(path):
    results = {}
    for use_pyarrow in (True, False):
        full, chunks = _read_csv_all_ways(path, use_pyarrow)
        if full is not None:
            _well_formed(full)
            if isinstance(chunks, DataError):
                assert any(s in str(chunks) for s in CHUNK_CONTRADICTIONS), str(chunks)
            else:
                np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]), full.X)
                np.testing.assert_array_equal(np.concatenate([c.y for c in chunks]), full.y)
        results[use_pyarrow] = full
    fast, slow = results[True], results[False]
    assert (fast is None) == (slow is None)
    if fast is not None:
        np.testing.assert_array_equal(fast.X, slow.X)
        np.testing.assert_array_equal(fast.y, slow.y)
        assert fast.source_format == slow.source_format


@FUZZ
@given(data=st.binary(max_size=300))
def test_csv_arbitrary_bytes(workdir, data):
    path = workdir / "arbitrary.csv"
    path.write_bytes(data)
    _check_csv(path)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace"]),
            st.integers(min_value=0, max_value=len(CSV_BASE)),
            st.sampled_from(CSV_ALPHABET),
        ),
        min_size=1,
        max_size=5,
    ),
    compress=st.booleans(),
)
def test_csv_mutated(workdir, edits, compress):
    text = CSV_BASE
    for op, pos, ch in edits:
        pos = min(pos, len(text))
        if op == "insert":
            text = text[:pos] + ch + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + 1 :]
        else:
            text = text[:pos] + ch + text[pos + 1 :]
    raw = text.encode("utf-8", errors="surrogateescape")
    path = workdir / ("mutated.csv.gz" if compress else "mutated.csv")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    _check_csv(path)


# --------------------------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------------------------

_IMAGES = (np.arange(6 * 4 * 3) * 7 % 256).astype(np.uint8).reshape(6, 4, 3)
_LABELS = np.array([0, 1, 2, 0, 1, 2], np.uint8)
IDX_IMAGES = struct.pack(">IIII", 2051, 6, 4, 3) + _IMAGES.tobytes()
IDX_LABELS = struct.pack(">II", 2049, 6) + _LABELS.tobytes()


def _check_idx(images_path, labels_path):
    try:
        full = bio.read_labelled(images_path, format="idx", labels_path=labels_path)
    except DataError:
        full = None
    try:
        chunks = list(
            bio.iter_chunks(images_path, chunk_rows=4, format="idx", labels_path=labels_path)
        )
    except DataError:
        chunks = None
    assert (full is None) == (chunks is None)
    if full is not None:
        _well_formed(full)
        assert full.X.min() >= 0.0 and full.X.max() <= 1.0
        assert full.X.shape[1] == int(np.prod(full.image_shape))
        np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]), full.X)
        np.testing.assert_array_equal(np.concatenate([c.y for c in chunks]), full.y)


@FUZZ
@given(data=st.binary(max_size=200), compress=st.booleans(), as_labels=st.booleans())
def test_idx_arbitrary_bytes(workdir, data, compress, as_labels):
    good_images = workdir / "good-images-idx3-ubyte"
    good_labels = workdir / "good-labels-idx1-ubyte"
    good_images.write_bytes(IDX_IMAGES)
    good_labels.write_bytes(IDX_LABELS)
    bad = workdir / ("junk.gz" if compress else "junk")
    bad.write_bytes(gzip.compress(data) if compress else data)
    if as_labels:
        _check_idx(good_images, bad)
    else:
        _check_idx(bad, good_labels)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "truncate", "insert", "delete"]),
            st.integers(min_value=0, max_value=len(IDX_IMAGES)),
            st.integers(min_value=0, max_value=255),
        ),
        min_size=1,
        max_size=4,
    ),
    target=st.sampled_from(["images", "labels"]),
    compress=st.booleans(),
    mutate_compressed=st.booleans(),
)
def test_idx_mutated(workdir, edits, target, compress, mutate_compressed):
    originals = {"images": IDX_IMAGES, "labels": IDX_LABELS}
    raw = originals[target]
    if compress and mutate_compressed:
        raw = gzip.compress(raw, mtime=0)
    buf = bytearray(raw)
    for op, pos, byte in edits:
        pos = min(pos, len(buf))
        if op == "flip" and pos < len(buf):
            buf[pos] ^= byte or 1
        elif op == "truncate":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = bytes([byte])
        elif op == "delete" and pos < len(buf):
            del buf[pos]
    data = bytes(buf)
    if compress and not mutate_compressed:
        data = gzip.compress(data, mtime=0)
    ext = ".gz" if compress else ""
    paths = {}
    for name in ("images", "labels"):
        content = data if name == target else originals[name]
        if name != target and compress:
            content = gzip.compress(content, mtime=0)
        paths[name] = workdir / f"m-{name}{ext}"
        paths[name].write_bytes(content)
    _check_idx(paths["images"], paths["labels"])
