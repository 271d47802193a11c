"""Tests of reading CSV files whole: the Kaggle layout, label columns, quoting, compression,
bad files, and the pyarrow route's label texts and scanned reads."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from io_helpers import KAGGLE_HEADER, assert_same, concat, kaggle_pixels, write_kaggle, write_text

import bayesgen.io as bio
from bayesgen import DataError
from bayesgen.io import csv_arrow, csv_arrow_chunks, deps, iter_chunks, read_labelled
from bayesgen.io import labels as io_labels

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
    monkeypatch.setattr(deps, "_USE_PYARROW", False)
    slow = read_labelled(path)
    assert_same(slow, fast.X, fast.y)
    assert slow.source_format == "kaggle-csv"


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
    assert_same(read_labelled(semi), data.X, data.y)  # the separator is found
    assert_same(read_labelled(semi, delimiter=";"), data.X, data.y)
    with pytest.raises(DataError, match="delimiter=';'"):  # a wrong one given is named
        read_labelled(semi, delimiter=",")


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
# labels as distinct texts, scanned whole-file reads
# --------------------------------------------------------------------------------------------


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
    monkeypatch.setattr(
        csv_arrow_chunks, "_CSV_BLOCK_BYTES", 4096
    )  # many blocks, each its own texts
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
    a = io_labels._LabelTexts(["x", "y"], np.array([1, 0, 1]))
    b = io_labels._LabelTexts(["z", "x"], np.array([0, 1, 1]))
    joined = io_labels._LabelTexts.concat([a, b])
    assert list(joined) == ["y", "x", "y", "z", "x", "x"]
    assert len(joined) == 6 and sorted(joined.uniques) == ["x", "y", "z"]
    assert list(io_labels._LabelTexts.concat([])) == []


def test_scanned_file_flags_quotes_and_x_after_the_header_only():
    import io as stdio

    def scan(text, size):
        scanned = csv_arrow._ScannedFile(stdio.BytesIO(text))
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
