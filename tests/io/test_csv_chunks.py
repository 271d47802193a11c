"""Tests of reading CSV files in chunks: every route (blocks of lines, pyarrow's streaming reader,
the python reader) gives the rows of the whole read."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from io_helpers import KAGGLE_HEADER, assert_same, concat, kaggle_pixels, write_kaggle, write_text

from bayesgen import DataError
from bayesgen.io import (
    LabelledData,
    csv_arrow_chunks,
    csv_reader,
    iter_chunks,
    read_labelled,
    write_labelled,
)

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
    monkeypatch.setattr(csv_arrow_chunks, "_CSV_BLOCK_BYTES", 3000)
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
    real_stream = csv_reader._csv_arrow_chunks

    def stream(*args, **kwargs):
        streamed.append(kwargs.get("skip"))
        return real_stream(*args, **kwargs)

    monkeypatch.setattr(csv_reader, "_csv_arrow_chunks", stream)
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
    monkeypatch.setattr(csv_arrow_chunks, "_CSV_BLOCK_BYTES", 64)
    rows = "".join(f"{i % 10},{i},{i * 2}\n" for i in range(200))
    spaced = write_text(tmp_path / "spaced.csv", "label,a,b\n" + rows + " ")
    with pytest.raises(DataError, match="line 202"):
        read_labelled(spaced)
    with pytest.raises(DataError, match="line 202"):
        list(iter_chunks(spaced, chunk_rows=3))
    lines = [f"c{i % 3},{i},{2 * i}" for i in range(60)]
    lines[29] = "\ufeff" + lines[29]
    bom = write_text(tmp_path / "bom.csv", "label,a,b\n" + "\n".join(lines) + "\n")
    monkeypatch.setattr(csv_arrow_chunks, "_CSV_BLOCK_BYTES", 21)
    assert_same(read_labelled(bom), *concat(iter_chunks(bom, chunk_rows=4)))
