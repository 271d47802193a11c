"""The field separator of a CSV file is found from its first lines (io.delimiter)."""

import gzip

import pandas as pd
import pytest

from bayesgen import DataError
from bayesgen.io import csv_delimiter, read_table
from bayesgen.io.delimiter import SNIFF_LINES


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_separator_is_found(tmp_path, sep):
    path = tmp_path / "t.csv"
    path.write_text(sep.join(["label", "a", "b"]) + "\n" + sep.join(["x", "1.5", "2"]) + "\n")
    assert csv_delimiter(path) == sep


def test_separator_inside_quotes_and_decimal_commas(tmp_path):
    # commas inside quoted fields do not make a comma file of a semicolon one
    path = tmp_path / "eu.csv"
    path.write_text('label;note;x\na;"one, two";3,5\nb;"three, four";4,25\n')
    assert csv_delimiter(path) == ";"
    # semicolons inside quotes of a comma file are text
    path.write_text('label,note,x\na,"p;q",1\nb,"r;s",2\n')
    assert csv_delimiter(path) == ","


def test_inconsistent_candidates_fall_back_to_the_suffix(tmp_path):
    one_column = tmp_path / "one.csv"
    one_column.write_text("x\n1\n2\n")
    assert csv_delimiter(one_column) == ","
    tsv = tmp_path / "d.tsv"
    tsv.write_text("a;b\n1;2;3\n")  # ';' splits rows unevenly: not taken
    assert csv_delimiter(tsv) == "\t"
    tie = tmp_path / "tie.tsv"
    tie.write_text("a\tb;c\n1\t2;3\n")  # both split evenly into two: the suffix decides
    assert csv_delimiter(tie) == "\t"


def test_only_the_first_lines_vote(tmp_path):
    path = tmp_path / "late.csv"
    rows = ["label,x"] + [f"a,{i}" for i in range(SNIFF_LINES + 5)] + ["b;c;d;e;f"]
    path.write_text("\n".join(rows) + "\n")
    assert csv_delimiter(path) == ","


def test_gzip_and_given(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"label|x\na|1\n"))
    assert csv_delimiter(path) == "|"
    assert csv_delimiter(path, ";") == ";"
    with pytest.raises(DataError, match="single character"):
        csv_delimiter(path, ";;")


def test_a_semicolon_table_reads_and_keeps_its_layout(tmp_path):
    frame = pd.DataFrame(
        {"kind": ["a", "b", "a", "b"], "size": [1.5, 2.5, 3.0, 4.0], "town": ["x", "y", "y", "x"]}
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, sep=";", index=False)
    table = read_table(path, label_column="kind")
    assert table.delimiter == ";"
    assert list(table.X.columns) == ["size", "town"]
    assert table.X["size"].tolist() == [1.5, 2.5, 3.0, 4.0]


def test_decimal_commas_are_numbers_and_are_written_back(tmp_path):
    from bayesgen.io import read_frame_and_layout, write_table
    from bayesgen.io.delimiter import csv_decimal
    from bayesgen.io.table_chunks import iter_table_chunks

    path = tmp_path / "eu.csv"
    path.write_text("kind;size;town\na;1,5;x\nb;2,25;y\na;-3,0;y\nb;;x\n")
    frame, layout = read_frame_and_layout(path)
    assert layout == {"delimiter": ";", "decimal": ","}
    assert frame["size"].tolist()[:3] == [1.5, 2.25, -3.0]
    table = read_table(path, label_column="kind")
    assert table.decimal == ","
    assert table.X["size"].dtype == "float64"
    assert table.X["size"].tolist()[:3] == [1.5, 2.25, -3.0]
    chunks = list(iter_table_chunks(path, 2, label_column="kind"))
    assert [c.X["size"].dtype for c in chunks] == ["float64", "float64"]
    assert chunks[0].decimal == ","
    out = tmp_path / "out.csv"
    write_table(
        table.X,
        out,
        y=table.y,
        label_column="kind",
        columns=table.columns,
        delimiter=table.delimiter,
        decimal=table.decimal,
    )
    assert out.read_text().splitlines()[1] == "a;1,5;x"
    # a file with a decimal point anywhere keeps points; a comma file never has commas
    path.write_text("kind;size;code\na;1,5;2.5\n")
    assert csv_decimal(path, ";") == "."
    assert csv_decimal(path, ",") == "."


def test_codes_with_leading_zeros_are_read_as_text(tmp_path):
    from bayesgen.io import is_table_file
    from bayesgen.io.delimiter import code_columns
    from bayesgen.io.table_chunks import iter_table_chunks

    path = tmp_path / "zips.csv"
    rows = [
        f"{['a', 'b'][i % 2]},{['02680', '10001', '00501'][i % 3]},{i % 7}.5,{i}" for i in range(30)
    ]
    path.write_text("kind,zip,size,n\n" + "\n".join(rows) + "\n")
    assert code_columns(path, ",") == ["zip"]  # 0.5 or 10 are numbers, not codes
    assert is_table_file(path)
    table = read_table(path, label_column="kind")
    assert set(table.X["zip"]) == {"02680", "10001", "00501"}
    assert table.X["size"].dtype == "float64"
    chunk = next(iter(iter_table_chunks(path, 10, label_column="kind")))
    assert set(chunk.X["zip"]) == {"02680", "10001", "00501"}


def test_a_decimal_comma_after_the_first_lines_and_odd_line_breaks_in_fields(tmp_path):
    from bayesgen.io.delimiter import csv_decimal

    path = tmp_path / "late.csv"
    rows = [f"a;{i}" for i in range(80)] + ["b;2,5"]
    path.write_text("kind;size\n" + "\n".join(rows) + "\n")
    assert csv_delimiter(path) == ";" and csv_decimal(path, ";") == ","
    # a U+2028 or a form feed inside a field is text, not a line break
    path.write_text("kind;note\na;x\u2028y\nb;p\x0cq\n")
    assert csv_delimiter(path) == ";"
    # old Mac line ends (CR only) still split lines
    path.write_bytes(b"kind;size\ra;1\rb;2\r")
    assert csv_delimiter(path) == ";"
    path.write_bytes(b"\r\x00")  # not CSV at all: the default, and the reader says why
    assert csv_delimiter(path) == ","


def test_files_of_numbers_are_written_back_with_their_separator(tmp_path):
    from bayesgen.io import read_labelled, write_labelled

    path = tmp_path / "n.csv"
    path.write_text("label;a;b\n0;1.5;2\n1;2.5;3\n0;1.0;4\n")
    data = read_labelled(path)
    assert data.delimiter == ";"
    out = tmp_path / "out.csv"
    write_labelled(out, data.X, data.y, like=data)
    assert out.read_text().splitlines()[0] == "label;a;b"
    tsv = tmp_path / "out.tsv"  # the name asks for tabs
    write_labelled(tsv, data.X, data.y, like=data)
    assert tsv.read_text().splitlines()[0] == "label\ta\tb"
    plain = tmp_path / "plain.csv"
    write_labelled(plain, data.X, data.y, delimiter="|")
    assert plain.read_text().splitlines()[0] == "label|x0|x1"  # no like: no names
