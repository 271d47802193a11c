"""Tests of bayesgen.io: readers, chunked readers, writers and atomic publication."""

from __future__ import annotations

import gzip
import os
import struct
import sys
import zipfile

import numpy as np
import pytest

import bayesgen.io as bio
from bayesgen.base.errors import DataError
from bayesgen.io import (
    LabelledData,
    MissingDependencyError,
    iter_chunks,
    open_chunked_writer,
    read_labelled,
    write_labelled,
)

KAGGLE_HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["pyarrow", "python"])
def engine(request, monkeypatch):
    """Run a CSV test with pyarrow's fast path and with the pure-python reader/writer."""
    if request.param == "pyarrow":
        pytest.importorskip("pyarrow")
    monkeypatch.setattr(bio, "_USE_PYARROW", request.param == "pyarrow")
    return request.param


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


# --------------------------------------------------------------------------------------------
# real data (skipped without ../shared/data)
# --------------------------------------------------------------------------------------------


def test_kaggle_sample_real(shared_data):
    path = shared_data / "digit-recognizer" / "train_first1537rows.csv"
    data = read_labelled(path)
    assert data.X.shape == (1537, 784) and data.X.dtype == np.float64
    assert data.y.dtype == np.int64 and set(np.unique(data.y)) == set(range(10))
    assert data.source_format == "kaggle-csv"
    assert data.image_shape == (28, 28) and data.pixel_scale == 255.0
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    raw = np.rint(data.X * 255)
    np.testing.assert_array_equal(raw / 255.0, data.X)  # exactly integer/255
    X, y = concat(iter_chunks(path, chunk_rows=500))
    assert_same(data, X, y)


def test_kaggle_sample_real_python_reader_matches(shared_data, monkeypatch):
    path = shared_data / "digit-recognizer" / "train_first1537rows.csv"
    fast = read_labelled(path)
    monkeypatch.setattr(bio, "_USE_PYARROW", False)
    slow = read_labelled(path)
    assert_same(slow, fast.X, fast.y)
    assert slow.source_format == "kaggle-csv"


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


# --------------------------------------------------------------------------------------------
# CSV reading
# --------------------------------------------------------------------------------------------


def test_kaggle_layout_detected_and_scaled(tmp_path, engine):
    pix, labels = kaggle_pixels(30)
    path = write_kaggle(tmp_path / "train.csv", pix, labels)
    data = read_labelled(path)
    assert data.source_format == "kaggle-csv"
    assert data.image_shape == (28, 28) and data.pixel_scale == 255.0
    assert data.feature_names[:2] == ["pixel0", "pixel1"] and data.label_column == "label"
    np.testing.assert_array_equal(data.X, pix / 255.0)
    np.testing.assert_array_equal(data.y, labels)


def test_kaggle_header_with_non_pixel_values_reads_unscaled(tmp_path, engine):
    pix, labels = kaggle_pixels(6)
    vals = pix / 255.0  # floats in [0,1] under the Kaggle header
    lines = [KAGGLE_HEADER] + [
        f"{lab}," + ",".join(map(repr, row.tolist())) for lab, row in zip(labels, vals, strict=True)
    ]
    path = write_text(tmp_path / "k.csv", "\n".join(lines) + "\n")
    data = read_labelled(path)
    assert data.source_format == "csv" and data.pixel_scale is None
    np.testing.assert_array_equal(data.X, vals)
    with pytest.raises(DataError, match="integer pixel values 0-255"):
        read_labelled(path, kaggle=True)
    assert read_labelled(path, kaggle=False).source_format == "csv"


def test_kaggle_false_keeps_raw_values(tmp_path, engine):
    pix, labels = kaggle_pixels(5)
    path = write_kaggle(tmp_path / "train.csv", pix, labels)
    data = read_labelled(path, kaggle=False)
    assert data.source_format == "csv" and data.pixel_scale is None
    np.testing.assert_array_equal(data.X, pix)


def test_kaggle_test_csv_without_labels_is_explained(tmp_path):
    header = ",".join(f"pixel{i}" for i in range(784))
    path = write_text(tmp_path / "test.csv", header + "\n" + ",".join(["0"] * 784) + "\n")
    with pytest.raises(DataError, match="test.csv.*no 'label' column"):
        read_labelled(path)


def test_generic_csv_label_selection(tmp_path, engine):
    path = write_text(tmp_path / "d.csv", "a,b,cls\n1.5,2,x\n-3e2,4,y\n0.25,.5,x\n")
    data = read_labelled(path, label_column="cls")
    np.testing.assert_array_equal(data.X, [[1.5, 2], [-300, 4], [0.25, 0.5]])
    np.testing.assert_array_equal(data.y, ["x", "y", "x"])
    assert data.feature_names == ["a", "b"] and data.source_format == "csv"
    assert data.pixel_scale is None and data.image_shape is None
    by_index = read_labelled(path, label_column=-1)
    assert_same(by_index, data.X, data.y)
    with pytest.raises(DataError, match="column 'cls'.*'x'"):
        read_labelled(path)  # no 'label' column: the first column is the label
    path2 = write_text(tmp_path / "e.csv", "kind,a\n1.5,2\n-3e2,4\n")
    first = read_labelled(path2)
    assert first.label_column == "kind"
    assert first.y.tolist() == ["1.5", "-3e2"]  # not integers -> kept as text


def test_default_label_column_named_label(tmp_path, engine):
    path = write_text(tmp_path / "d.csv", "f1,label,f2\n1,3,2\n4,5,6\n")
    data = read_labelled(path)
    np.testing.assert_array_equal(data.y, [3, 5])
    np.testing.assert_array_equal(data.X, [[1, 2], [4, 6]])
    assert data.y.dtype == np.int64


def test_label_dtype_option(tmp_path, engine):
    path = write_text(tmp_path / "d.csv", "label,x\n1,0\n2,1\n")
    assert read_labelled(path, label_dtype="str").y.tolist() == ["1", "2"]
    path2 = write_text(tmp_path / "e.csv", "label,x\na,0\n2,1\n")
    with pytest.raises(DataError, match="label_dtype='int'"):
        read_labelled(path2, label_dtype="int")
    with pytest.raises(DataError, match="label_dtype must be"):
        read_labelled(path2, label_dtype="float")


def test_quoted_values_and_blank_lines(tmp_path, engine):
    text = 'label,x,y\n"a,b",1,2\n\n"multi\nline",3,4\n"q""uote","5" ,6\n'
    path = write_text(tmp_path / "q.csv", text)
    data = read_labelled(path)
    np.testing.assert_array_equal(data.y, ["a,b", "multi\nline", 'q"uote'])
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])


def test_gzip_csv_and_tsv(tmp_path, engine):
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(b"label,x\n1,0.5\n0,1.5\n"))
    data = read_labelled(gz)
    np.testing.assert_array_equal(data.X, [[0.5], [1.5]])
    tsv = write_text(tmp_path / "d.tsv", "label\tx\n1\t0.5\n0\t1.5\n")
    assert_same(read_labelled(tsv), data.X, data.y)
    semi = write_text(tmp_path / "s.csv", "label;x\n1;0.5\n0;1.5\n")
    with pytest.raises(DataError, match="delimiter=';'"):
        read_labelled(semi)
    assert_same(read_labelled(semi, delimiter=";"), data.X, data.y)


def test_bom_and_crlf(tmp_path, engine):
    path = tmp_path / "win.csv"
    path.write_bytes(b"\xef\xbb\xbflabel,x,y\r\n1,2,3\r\n0,4,5\r\n")
    data = read_labelled(path)
    assert data.label_column == "label" and data.feature_names == ["x", "y"]
    np.testing.assert_array_equal(data.X, [[2, 3], [4, 5]])
    assert_same(data, *concat(iter_chunks(path, chunk_rows=1)))


def test_image_shape_argument(tmp_path):
    path = write_text(tmp_path / "d.csv", "label,a,b,c,d\n1,0,1,2,3\n")
    assert read_labelled(path, image_shape=(2, 2)).image_shape == (2, 2)
    with pytest.raises(DataError, match="image_shape"):
        read_labelled(path, image_shape=(3, 3))


def test_require_classes(tmp_path):
    path = write_text(tmp_path / "d.csv", "label,x\n1,0\n1,1\n")
    assert len(read_labelled(path)) == 2  # no check by default
    with pytest.raises(DataError, match="at least 2 classes"):
        read_labelled(path, require_classes=2)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", r"empty \(0 bytes\)"),
        ("\n\n", "contains no lines"),
        ("label,x,y\n", "no data rows"),
        ("label,x,y\n1,2,3\n4,5\n", "line 3 has 2 fields.*3 columns"),
        ("label,x,y\n1,2,3\n4,5,6,7\n", "line 3 has 4 fields"),
        ("label,x,y\n1,2,3\n4,abc,6\n", "line 3, column 'x'.*expected a number.*'abc'"),
        ("label,x,y\n1,2,3\n4,5,\n", "line 3, column 'y'.*empty cell"),
        ("label,x,y\n1,2,3\n4,1_0,6\n", "line 3, column 'x'"),
        ("label,x,y\n1,nan,3\n", "line 2, column 'x'.*'nan'.*finite"),
        ("label,x,y\n1,2,-inf\n", "line 2, column 'y'.*finite"),
        ("label,x,y\n1,2,3\n ,2,3\n", "line 3 has an empty label"),
        ("x\n1\n", "single column"),
        ("1,2,3\n4,5,6\n", "holds numbers, but a header"),
    ],
)
def test_bad_csv(tmp_path, engine, text, pattern):
    path = write_text(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=pattern):
        read_labelled(path)
    with pytest.raises(DataError, match=pattern):
        list(iter_chunks(path, chunk_rows=1))


def test_label_column_missing_lists_columns(tmp_path):
    path = write_text(tmp_path / "d.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"no label column named 'digit'.*'a', 'b', 'c'"):
        read_labelled(path, label_column="digit")
    with pytest.raises(DataError, match="out of range"):
        read_labelled(path, label_column=7)
    dup = write_text(tmp_path / "e.csv", "label,label,c\n1,2,3\n")
    with pytest.raises(DataError, match="2 columns named 'label'"):
        read_labelled(dup)


def test_non_utf8_csv(tmp_path, engine):
    path = tmp_path / "b.csv"
    path.write_bytes(b"label,x\n1,\xff\xfe\n")
    with pytest.raises(DataError, match="UTF-8|expected a number"):
        read_labelled(path)


def test_corrupt_gzip_csv(tmp_path, engine):
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(b"label,x\n" + b"1,2\n" * 100)[:30])
    with pytest.raises(DataError, match="gzip"):
        read_labelled(path)


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
# chunked CSV reading
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 1000])
def test_csv_chunks_equal_full_read(tmp_path, engine, chunk_rows):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 6)) * 10.0 ** rng.integers(-8, 8, size=(150, 6))
    y = rng.integers(0, 4, size=150)
    write_labelled(tmp_path / "d.csv", X, y)
    full = read_labelled(tmp_path / "d.csv")
    assert_same(full, X, y)
    chunks = list(iter_chunks(tmp_path / "d.csv", chunk_rows=chunk_rows))
    assert all(len(c) == chunk_rows for c in chunks[:-1])
    assert_same(full, *concat(chunks))


def test_kaggle_chunks_equal_full_read(tmp_path, engine):
    pix, labels = kaggle_pixels(25)
    path = write_kaggle(tmp_path / "train.csv", pix, labels)
    full = read_labelled(path)
    chunks = list(iter_chunks(path, chunk_rows=4))
    assert {c.source_format for c in chunks} == {"kaggle-csv"}
    assert_same(full, *concat(chunks))


def test_chunked_read_falls_back_mid_file(tmp_path, monkeypatch):
    """A problem late in the file (seen by pyarrow's streaming reader) is reported with its
    line number, after the good chunks were delivered."""
    pytest.importorskip("pyarrow")
    lines = ["label,x"] + [f"{i % 2},{i}" for i in range(5000)] + ["1,oops"]
    path = write_text(tmp_path / "d.csv", "\n".join(lines) + "\n")
    got = []
    with pytest.raises(DataError, match="line 5002, column 'x'.*'oops'"):
        for chunk in iter_chunks(path, chunk_rows=1000):
            got.append(chunk)
    assert len(got) >= 1


def test_chunked_quoted_newlines_fall_back_consistently(tmp_path):
    pytest.importorskip("pyarrow")
    rows = [f'"lab\n{i % 3}",{i},{i * 0.5}' for i in range(3000)]
    path = write_text(tmp_path / "d.csv", "label,a,b\n" + "\n".join(rows) + "\n")
    full = read_labelled(path)
    assert full.y[4] == "lab\n1"
    assert_same(full, *concat(iter_chunks(path, chunk_rows=700)))


def test_chunk_label_type_change_is_an_error(tmp_path, engine):
    path = write_text(tmp_path / "d.csv", "label,x\n1,0\n2,0\nthree,0\n")
    assert read_labelled(path).y.tolist() == ["1", "2", "three"]
    with pytest.raises(DataError, match="label_dtype='str'"):
        list(iter_chunks(path, chunk_rows=2))
    X, y = concat(iter_chunks(path, chunk_rows=2, label_dtype="str"))
    assert y.tolist() == ["1", "2", "three"]


def test_chunk_kaggle_contradiction_is_an_error(tmp_path, engine):
    pix, labels = kaggle_pixels(4)
    pix[3, 200] = 300
    path = write_kaggle(tmp_path / "train.csv", pix, labels)
    assert read_labelled(path).source_format == "csv"
    with pytest.raises(DataError, match="kaggle=False"):
        list(iter_chunks(path, chunk_rows=2))
    X, _ = concat(iter_chunks(path, chunk_rows=2, kaggle=False))
    np.testing.assert_array_equal(X, pix)


def _big_kaggle(tmp_path, n=2500, edit=None, gz=False, newline="\n", blank_after=None):
    """A Kaggle-layout file of several MB: pyarrow's streaming reader sees many blocks."""
    pix, labels = kaggle_pixels(n, seed=4)
    cells = pix.astype(str).astype(object)
    if edit is not None:
        row, col, text = edit
        cells[row, col] = text
    lines = [KAGGLE_HEADER] + [
        f"{lab}," + ",".join(row) for lab, row in zip(labels, cells, strict=True)
    ]
    if blank_after is not None:
        lines.insert(blank_after + 2, "")  # after data row `blank_after`
    text = newline.join(lines) + newline
    path = tmp_path / ("train.csv.gz" if gz else "train.csv")
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        write_text(path, text)
    return path, pix, labels


def test_kaggle_stream_never_reads_hexadecimal_as_a_pixel(tmp_path):
    """pyarrow's integer parser takes '0x1f' as 31; the streamed uint8 route must not."""
    pytest.importorskip("pyarrow")
    path, _, _ = _big_kaggle(tmp_path, edit=(2000, 300, "0x1f"))
    with pytest.raises(DataError, match="line 2002.*'0x1f'"):
        read_labelled(path)
    with pytest.raises(DataError, match="line 2002.*'0x1f'"):
        list(iter_chunks(path, chunk_rows=500))


def test_kaggle_stream_hex_guard_with_carriage_return_lines(tmp_path):
    pytest.importorskip("pyarrow")
    path, _, _ = _big_kaggle(tmp_path, edit=(1000, 5, "0x1f"), newline="\r")
    with pytest.raises(DataError, match="'0x1f'"):
        list(iter_chunks(path, chunk_rows=500))


@pytest.mark.parametrize("case", ["plain", "gz", "late-7.0"])
def test_kaggle_stream_of_many_blocks_equals_full_read(tmp_path, case):
    """Streamed in many blocks (uint8 pixels), with gzip, or with a block that must be parsed
    as doubles ('7.0') after a blank line that must not shift the row count."""
    edit, blank = ((2200, 400, "7.0"), 10) if case == "late-7.0" else (None, None)
    path, pix, labels = _big_kaggle(tmp_path, gz=case == "gz", edit=edit, blank_after=blank)
    full = read_labelled(path)
    assert full.X.shape[0] == 2500
    if case != "late-7.0":
        assert_same(full, pix / 255.0, labels)
    chunks = list(iter_chunks(path, chunk_rows=333))
    assert {c.source_format for c in chunks} == {"kaggle-csv"}
    assert_same(full, *concat(chunks))


def test_kaggle_stream_late_value_out_of_pixel_range(tmp_path):
    """The uint8 route gives way mid-file; what follows is judged as before."""
    pytest.importorskip("pyarrow")
    path, pix, labels = _big_kaggle(tmp_path, edit=(2200, 400, "300"))
    with pytest.raises(DataError, match="kaggle=False"):
        list(iter_chunks(path, chunk_rows=500))
    expected = pix.astype(float)
    expected[2200, 400] = 300
    assert_same(
        LabelledData(*concat(iter_chunks(path, chunk_rows=500, kaggle=False))), expected, labels
    )


@pytest.mark.parametrize("case", ["plain", "x-labels", "late-quote", "cr-lines", "gz"])
def test_csv_blocks_of_lines_equal_full_read(tmp_path, monkeypatch, case):
    """Files cut into blocks of whole lines (tiny blocks here) read like the whole file;
    where a cut cannot be trusted the streaming reader takes over from the row reached."""
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(bio, "_CSV_BLOCK_BYTES", 3000)
    rng = np.random.default_rng(8)
    n = 400
    pix = rng.integers(0, 256, size=(n, 784))
    labels = [str(i % 10) for i in range(n)]
    if case == "x-labels":  # 'x' in some blocks only: those are parsed as doubles
        labels = ["a" if i % 2 else "b" for i in range(n)]
        labels[150:160] = ["x"] * 10
    lines = [KAGGLE_HEADER] + [
        f"{lab}," + ",".join(map(str, row)) for lab, row in zip(labels, pix, strict=True)
    ]
    if case == "late-quote":
        lines[300] = '"' + labels[298] + '",' + ",".join(map(str, pix[298]))
    newline = "\r" if case == "cr-lines" else "\n"
    text = newline.join(lines) + newline
    path = tmp_path / ("train.csv.gz" if case == "gz" else "train.csv")
    if case == "gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        write_text(path, text)
    full = read_labelled(path)
    assert full.source_format == "kaggle-csv"
    streamed = []
    real_stream = bio._csv_arrow_chunks

    def stream(*args, **kwargs):
        streamed.append(kwargs.get("skip"))
        return real_stream(*args, **kwargs)

    monkeypatch.setattr(bio, "_csv_arrow_chunks", stream)
    for chunk_rows in (7, 128, 1000):
        chunks = list(iter_chunks(path, chunk_rows=chunk_rows))
        assert all(len(c) == chunk_rows for c in chunks[:-1])
        assert_same(full, *concat(chunks))
    if case == "late-quote":  # blocks first, then the streaming reader from a later row
        assert len(streamed) == 3 and streamed[0] > 0  # (chunk_rows=7: rows were out)
    elif case == "cr-lines":  # no cut can be trusted: the streaming reader from the start
        assert streamed == [0, 0, 0]
    else:
        assert streamed == []


def test_csv_blocks_judge_a_blank_last_line_and_a_mid_file_bom_like_the_whole_read(
    tmp_path, monkeypatch
):
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(bio, "_CSV_BLOCK_BYTES", 64)
    rows = "".join(f"{i % 10},{i},{i * 2}\n" for i in range(200))
    spaced = write_text(tmp_path / "spaced.csv", "label,a,b\n" + rows + " ")
    with pytest.raises(DataError, match="line 202"):
        read_labelled(spaced)
    with pytest.raises(DataError, match="line 202"):
        list(iter_chunks(spaced, chunk_rows=3))
    lines = [f"c{i % 3},{i},{2 * i}" for i in range(60)]
    lines[29] = "\ufeff" + lines[29]
    bom = write_text(tmp_path / "bom.csv", "label,a,b\n" + "\n".join(lines) + "\n")
    monkeypatch.setattr(bio, "_CSV_BLOCK_BYTES", 21)
    assert_same(read_labelled(bom), *concat(iter_chunks(bom, chunk_rows=4)))


def test_iter_chunks_validates_chunk_rows(tmp_path):
    path = write_text(tmp_path / "d.csv", "label,x\n1,0\n")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DataError, match="chunk_rows"):
            next(iter_chunks(path, chunk_rows=bad))


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------


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
        ({"label": [1, 2], "x": [1.0, None]}, "row 1 .*column 'x' is missing"),
        ({"label": [1, None], "x": [1.0, 2.0]}, "row 1 .*has no label"),
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


# --------------------------------------------------------------------------------------------
# NPZ
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------------------------


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

    monkeypatch.setattr(bio.np, "empty", no_alloc)
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


# --------------------------------------------------------------------------------------------
# image folders
# --------------------------------------------------------------------------------------------


def test_image_folder_round_trip(tmp_path):
    pytest.importorskip("PIL")
    images, labels = small_images(n=9)
    X = images.reshape(9, -1) / 255.0
    out = write_labelled(tmp_path / "imgs", X, labels, image_shape=(5, 4), pixel_scale=255.0)
    assert sorted(p.name for p in out.iterdir()) == ["0", "1", "2"]
    assert sorted(p.name for p in (out / "1").iterdir()) == ["1.png", "4.png", "7.png"]
    data = read_labelled(out)
    order = np.argsort(labels, kind="stable")  # grouped by class folder, then by index
    assert_same(data, X[order], labels[order])
    assert data.source_format == "image-folder" and data.image_shape == (5, 4)
    assert data.pixel_scale == 255.0
    assert_same(data, *concat(iter_chunks(out, chunk_rows=4)))
    assert no_temp_files(tmp_path)


def test_image_folder_string_labels_and_jpeg(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for cls in ("cat", "dog"):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (3, 2), (200, 10, 10)).save(tmp_path / "f" / cls / f"{i}.jpg")
    (tmp_path / "f" / "dog" / "notes.txt").write_text("ignored")
    data = read_labelled(tmp_path / "f")
    assert data.y.tolist() == ["cat", "cat", "dog", "dog"]
    assert data.X.shape == (4, 6) and data.image_shape == (2, 3)


def test_image_folder_errors(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="one sub-folder per class"):
        read_labelled(empty)
    mixed = tmp_path / "mixed"
    (mixed / "a").mkdir(parents=True)
    Image.new("L", (4, 4)).save(mixed / "a" / "0.png")
    Image.new("L", (5, 4)).save(mixed / "a" / "1.png")
    with pytest.raises(DataError, match="share one size"):
        read_labelled(mixed)
    broken = tmp_path / "broken"
    (broken / "a").mkdir(parents=True)
    (broken / "a" / "0.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="Cannot read the image"):
        read_labelled(broken)


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


def test_write_png_grid(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    images, labels = small_images(n=10, h=28, w=28)
    out = write_labelled(
        tmp_path / "grid.png", images.reshape(10, -1) / 255.0, labels, image_shape=(28, 28)
    )
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "L"
        assert im.size[0] >= 4 * 56 and im.size[1] >= 3 * 56
    with pytest.raises(DataError, match="image shape"):
        write_labelled(tmp_path / "g2.png", np.ones((2, 6)), [0, 1])
    assert no_temp_files(tmp_path)


def test_write_image_folder_refuses_non_empty_dir(tmp_path):
    pytest.importorskip("PIL")
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        write_labelled(target, np.ones((2, 4)) / 2, [0, 1], image_shape=(2, 2))
    assert (target / "keep.txt").read_text() == "mine"
    with pytest.raises(DataError, match="folder name"):
        write_labelled(tmp_path / "o2", np.ones((1, 4)), ["../evil"], image_shape=(2, 2))
    empty = tmp_path / "empty_ok"
    empty.mkdir()
    write_labelled(empty, np.ones((2, 4)) / 2, [0, 1], image_shape=(2, 2))
    assert sorted(p.name for p in empty.iterdir()) == ["0", "1"]


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
    real = bio._format_csv_rows
    calls = []

    def failing(values, y, delimiter):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(values, y, delimiter)

    monkeypatch.setattr(bio, "_format_csv_rows", failing)
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

    monkeypatch.setattr(bio._NpzSink, "_member", staticmethod(broken))
    with pytest.raises(OSError):
        write_labelled(target, np.zeros((4, 2)), [1, 2, 3, 4])
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]


def test_atomic_replace_failure(tmp_path, monkeypatch):
    target = tmp_path / "d.csv"
    write_text(target, "old")

    def broken(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bio.os, "replace", broken)
    with pytest.raises(PermissionError):
        write_labelled(target, np.ones((2, 2)), [0, 1])
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_atomic_image_folder_failure(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    real_save = Image.Image.save
    count = []

    def flaky(self, fp, *args, **kwargs):
        count.append(1)
        if len(count) == 3:
            raise OSError(28, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", flaky)
    with pytest.raises(OSError):
        write_labelled(tmp_path / "out", np.ones((5, 4)) / 2, [0, 1, 0, 1, 0], image_shape=(2, 2))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError):
        count.clear()
        count.extend([1, 1])
        write_labelled(tmp_path / "grid.png", np.ones((5, 4)) / 2, [0] * 5, image_shape=(2, 2))
    assert list(tmp_path.iterdir()) == []


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
        monkeypatch.setattr(bio, "_USE_PYARROW", False)
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


def test_labelled_data_unpacks():
    data = LabelledData(X=np.ones((3, 2)), y=np.array([0, 1, 1]))
    X, y = data
    assert X.shape == (3, 2) and len(data) == 3 and data.n_features == 2
    assert data.classes.tolist() == [0, 1]
    assert "n_samples=3" in repr(data)


def test_labels_are_checked_per_distinct_value_with_the_same_results(tmp_path, monkeypatch):
    """The pyarrow routes hand labels on as distinct texts plus codes: padded copies of a
    label are one label, text labels keep their row order, and a non-integer label under
    label_dtype='int' is named; chunked reads across blocks agree with whole reads."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    texts = [" 5", "5", "12 ", "-3"] * 100
    path = tmp_path / "padded.csv"
    path.write_text(
        "label,a,b,c\n"
        + "".join(f"{t},{r[0]},{r[1]},{r[2]}\n" for t, r in zip(texts, X, strict=True))
    )
    data = read_labelled(path)
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(data.y, [5, 5, 12, -3] * 100)
    monkeypatch.setattr(bio, "_CSV_BLOCK_BYTES", 4096)  # many blocks, each its own texts
    chunks = list(bio.iter_chunks(path, 70))
    np.testing.assert_array_equal(np.concatenate([c.y for c in chunks]), data.y)

    words = ["cat", "dog", "cat", "emu"] * 100
    path = tmp_path / "words.csv"
    path.write_text(
        "label,a,b,c\n"
        + "".join(f"{t},{r[0]},{r[1]},{r[2]}\n" for t, r in zip(words, X, strict=True))
    )
    assert list(read_labelled(path).y) == words
    assert [t for c in bio.iter_chunks(path, 70) for t in c.y] == words
    with pytest.raises(DataError, match="'cat'"):
        read_labelled(path, label_dtype="int")


def test_label_texts_concatenate_and_iterate_in_row_order():
    a = bio._LabelTexts(["x", "y"], np.array([1, 0, 1]))
    b = bio._LabelTexts(["z", "x"], np.array([0, 1, 1]))
    joined = bio._LabelTexts.concat([a, b])
    assert list(joined) == ["y", "x", "y", "z", "x", "x"]
    assert len(joined) == 6 and sorted(joined.uniques) == ["x", "y", "z"]
    assert list(bio._LabelTexts.concat([])) == []


def test_scanned_file_flags_quotes_and_x_after_the_header_only():
    import io as stdio

    def scan(text, size):
        scanned = bio._ScannedFile(stdio.BytesIO(text))
        while scanned.read(size):
            pass
        return scanned.in_header, scanned.quote, scanned.hex

    header = b'"label","pixel0","pixel1"\n'  # quotes and an x in the header do not count
    assert scan(header + b"1,2,3\n4,5,6\n", 7) == (False, False, False)
    assert scan(header + b"1,2,3\n4,0x5,6\n", 7) == (False, False, True)
    assert scan(header + b'1,2,3\n"4",5,6\n', 1000) == (False, True, False)
    # a header ended by a lone carriage return: the data start after it
    assert scan(header[:-1] + b"\r0x1,2,3\n4,5,6\n", 5) == (False, False, True)


def test_kaggle_read_with_a_quoted_label_after_the_header(tmp_path):
    """The scanned whole-file route gives way to the bytes route on a quote."""
    pytest.importorskip("pyarrow")
    pix, labels = kaggle_pixels(50, seed=9)
    lines = [KAGGLE_HEADER] + [
        f"{lab}," + ",".join(map(str, row)) for lab, row in zip(labels, pix, strict=True)
    ]
    lines[20] = f'"{labels[19]}",' + ",".join(map(str, pix[19]))
    path = tmp_path / "train.csv"
    write_text(path, "\n".join(lines) + "\n")
    data = read_labelled(path)
    assert data.source_format == "kaggle-csv"
    assert_same(data, pix / 255.0, labels)


def test_kaggle_first_row_after_a_carriage_return_header_is_checked(tmp_path):
    """A header ended by '\\r' then '\\n' lines: the first data row is checked for hex too."""
    pytest.importorskip("pyarrow")
    pix, labels = kaggle_pixels(30, seed=10)
    rows = [f"{lab}," + ",".join(map(str, row)) for lab, row in zip(labels, pix, strict=True)]
    cells = rows[0].split(",")
    cells[5] = "0x1f"
    rows[0] = ",".join(cells)
    path = tmp_path / "train.csv"
    path.write_bytes((KAGGLE_HEADER + "\r" + "\n".join(rows) + "\n").encode())
    with pytest.raises(DataError, match="0x1f"):
        read_labelled(path)
