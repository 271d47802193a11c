"""Tables in files: which files are tables, the label column, bad input, writing back."""

import numpy as np
import pandas as pd
import pytest

from bayesgen import DataError
from bayesgen import io as bio
from bayesgen.io.tables import MATRIX_COLUMNS


def _write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tables_and_numeric_files_are_told_apart(tmp_path):
    assert bio.is_table_file(_write(tmp_path, "a,b,label\n1,x,0\n2,y,1\n"))
    assert bio.is_table_file(_write(tmp_path, "a,b,label\n1,,0\n2,3,1\n", "gap.csv"))
    # numbers only: a table of variables when narrow, a matrix (pixels) when wide
    assert bio.is_table_file(_write(tmp_path, "label,p0,p1\n0,1,2\n1,3,4\n", "num.csv"))
    wide = ",".join(["label"] + [f"p{j}" for j in range(MATRIX_COLUMNS)])
    rows = "\n".join(",".join(["0"] + ["1"] * MATRIX_COLUMNS) for _ in range(3))
    assert not bio.is_table_file(_write(tmp_path, wide + "\n" + rows + "\n", "wide.csv"))
    assert not bio.is_table_file(tmp_path / "absent.csv")


def test_a_table_of_numbers_takes_the_label_column_a_table_would(tmp_path):
    """Named like a label (target), or the one column that looks like labels, and refused
    when it looks like a measurement; never the first column by default."""
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.3f},{i % 3},{rng.integers(20, 80)}" for i in range(90)]
    path = _write(tmp_path, "x,target,age\n" + "\n".join(rows) + "\n", "t.csv")
    table = bio.read_table(path)
    assert table.label_column == "target" and "named 'target'" in table.chosen
    assert table.X["age"].dtype.kind == "i"


@pytest.mark.parametrize(
    "text, label, how",
    [
        ("label,a\nx,1\ny,2\nx,3\ny,4\n", "label", "named"),
        ("kind,a\nx,1.5\ny,2.5\nx,3.5\ny,4.5\n", "kind", "first"),
        ("a,kind\n1.5,x\n2.5,y\n3.5,x\n4.5,y\n", "kind", "last"),
    ],
)
def test_label_column_is_chosen_and_the_choice_is_said(tmp_path, text, label, how):
    table = bio.read_table(_write(tmp_path, text))
    assert table.label_column == label and how in table.chosen
    assert list(table.X.columns) == [c for c in table.columns if c != label]


def test_a_column_that_looks_continuous_is_refused_naming_likely_labels(tmp_path):
    rows = "\n".join(f"{i * 0.37:.2f},{'ab'[i % 2]}" for i in range(60))
    path = _write(tmp_path, "amount,kind\n" + rows + "\n")
    with pytest.raises(DataError, match=r"'amount' does not look like class labels.*\['kind'\]"):
        bio.read_table(path, label_column="amount")


def test_no_plausible_label_column_asks_for_one(tmp_path):
    rows = "\n".join(f"{i * 0.5},{i * 0.25}" for i in range(30))
    with pytest.raises(DataError, match="cannot tell which column.*label_column=NAME"):
        bio.read_table(_write(tmp_path, "a,b\n" + rows + "\n"))


def test_unknown_label_column_suggests_the_close_one(tmp_path):
    path = _write(tmp_path, "species,a\nx,1\ny,2\nx,3\ny,4\n")
    with pytest.raises(DataError, match="did you mean 'species'"):
        bio.read_table(path, label_column="spcies")


def test_empty_labels_are_counted_or_dropped(tmp_path):
    path = _write(tmp_path, "kind,a\nx,1\n,2\ny,3\n,4\nx,5\ny,6\n")
    with pytest.raises(DataError, match=r"2 rows have an empty label.*drop_missing_labels=True"):
        bio.read_table(path, label_column="kind")
    table = bio.read_table(path, label_column="kind", drop_missing_labels=True)
    assert table.dropped_rows == 2 and len(table.y) == 4


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("kind,a\nx,1\ny,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="line 3.*not UTF-8"):
        bio.read_table(path)


def test_written_table_reads_back_with_the_input_layout(tmp_path):
    frame = pd.DataFrame({"mass": [3750.0, np.nan, 4100.0], "island": ["A", "B", None]})
    out = bio.write_table(
        frame,
        tmp_path / "out.csv",
        y=np.array(["x", "y", "x"]),
        label_column="kind",
        columns=["mass", "kind", "island"],
    )
    text = out.read_text()
    assert text.splitlines()[0] == "mass,kind,island" and "3750," in text and ".0" not in text
    back = pd.read_csv(out)
    assert back["mass"].dtype == np.float64 and back["kind"].tolist() == ["x", "y", "x"]


def test_write_table_refuses_other_formats(tmp_path):
    with pytest.raises(DataError, match=r"\.csv, \.tsv or \.parquet"):
        bio.write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.npz")
