"""Tests of the format registry: one entry per format, found by name or from the path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayesgen import DataError
from bayesgen.io import READ_FORMATS, WRITE_FORMATS
from bayesgen.io.registry import FORMATS, read_format, write_format


def test_every_listed_format_has_an_entry_that_can_do_it():
    assert set(READ_FORMATS) | set(WRITE_FORMATS) == set(FORMATS)
    for name in READ_FORMATS:
        assert FORMATS[name].read is not None and FORMATS[name].chunks is not None
    for name in WRITE_FORMATS:
        assert (FORMATS[name].sink is None) != (FORMATS[name].write is None)
    for name, entry in FORMATS.items():
        assert entry.name == name
        assert (entry.read is not None) == (name in READ_FORMATS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("d.csv", "csv"),
        ("D.TSV.GZ", "csv"),
        ("x.idx3.csv", "csv"),  # the suffix wins over an IDX-like name
        ("d.pq", "parquet"),
        ("d.npz", "npz"),
        ("t10k-images-idx3-ubyte.gz", "idx"),
        ("images.idx", "idx"),
    ],
)
def test_read_format_from_the_name(name, expected):
    assert read_format(Path(name), None).name == expected


def test_read_format_of_a_folder_and_by_name(tmp_path):
    assert read_format(tmp_path, None).name == "image-folder"
    assert read_format(tmp_path / "d.bin", "kaggle-csv").name == "kaggle-csv"
    with pytest.raises(DataError, match="Unknown format 'png'"):
        read_format(tmp_path / "d.png", "png")
    with pytest.raises(DataError, match="Cannot tell the format"):
        read_format(tmp_path / "d.xlsx", None)


@pytest.mark.parametrize(
    ("name", "like", "expected"),
    [
        ("o.csv", None, "csv"),
        ("o.csv", "kaggle-csv", "kaggle-csv"),
        ("o.tsv.gz", "kaggle-csv", "kaggle-csv"),
        ("o.npz", "kaggle-csv", "npz"),
        ("o.parquet", "csv", "parquet"),
        ("grid.png", None, "png"),
        ("samples", None, "image-folder"),
    ],
)
def test_write_format_from_the_name_and_the_data_imitated(name, like, expected):
    assert write_format(Path(name), None, like).name == expected


def test_write_format_by_name_and_unknown_suffix(tmp_path):
    assert write_format(tmp_path, None, None).name == "image-folder"
    assert write_format(tmp_path / "o.bin", "npz", None).name == "npz"
    with pytest.raises(DataError, match="Unknown output format 'idx'"):
        write_format(tmp_path / "o.idx", "idx", None)
    with pytest.raises(DataError, match="Cannot tell the output format"):
        write_format(tmp_path / "o.xlsx", None, None)
