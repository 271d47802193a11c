"""Tables whose records have more or fewer fields than the header are refused with the line,
wherever the record is (pandas pads a short one with empty cells without a word)."""

import csv
import io

import numpy as np
import pytest

from bayesgen import DataError
from bayesgen import io as bio
from bayesgen.io.table_chunks import iter_table_chunks
from bayesgen.io.tables import _FieldCounter


def _text(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _first_bad(text: str, block: int):
    counter = _FieldCounter(",")
    data = text.encode()
    for start in range(0, len(data), block):
        found = counter.feed(data[start : start + block])
        if found:
            return found
    return counter.finish()


def _rows(rng, n):
    rows = [["x", "note", "y"]]
    for i in range(n):
        note = rng.choice(["plain", "a, comma", 'a "quote"', "two\nlines", ""])
        rows.append([str(i), note, rng.choice(["a", "b"])])
    return rows


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_counts_agree_with_the_csv_module_at_any_block_size(block):
    rng = np.random.default_rng(block)
    rows = _rows(rng, 300)
    assert _first_bad(_text(rows), block) is None
    bad = 211
    rows[bad] = rows[bad][:2]  # one field short
    text = _text(rows)
    # the physical line: the quoted line breaks before it count as lines
    expected_line = 1 + text[: text.index(f"\n{rows[bad][0]},")].count("\n") + 1
    assert _first_bad(text, block) == (expected_line, 2)


def test_blank_lines_crlf_and_no_final_newline_are_fine():
    text = "a,b\r\n1,2\r\n\r\n3,4\r\n\n5,6"
    assert _first_bad(text, 3) is None
    assert _first_bad(text + ",7", 3) == (6, 3)


def test_read_table_names_a_short_line_past_the_first_rows(tmp_path):
    rng = np.random.default_rng(0)
    rows = [["size", "colour", "label"]]
    rows += [[f"{rng.normal():.3f}", rng.choice(["red", "blue"]), "k"] for _ in range(5000)]
    rows[4321] = rows[4321][:2]
    path = tmp_path / "t.csv"
    path.write_text(_text(rows))
    with pytest.raises(DataError, match=r"line 4322: 2 fields, but the header has 3"):
        bio.read_table(path, label_column="label")


def test_a_header_that_names_a_column_twice_is_refused(tmp_path):
    """pandas would read the second one as 'island.1' and it would be modelled so."""
    path = tmp_path / "t.csv"
    path.write_text("a,island,b,island,label\n1,x,2,y,u\n2,y,3,x,v\n")
    with pytest.raises(DataError, match=r"'island' twice \(columns 2 and 4\)"):
        bio.read_table(path, label_column="label")
    with pytest.raises(DataError, match=r"'island' twice"):  # read in chunks too
        next(iter_table_chunks(path, 1, label_column="label"))
    # names pandas reads as missing, and blank ones, are names, not repeats
    path.write_text("NA,null,,,label\n1,2,3,4,u\n2,3,4,5,v\n")
    assert list(bio.read_table(path, label_column="label").X.columns)[:2] == ["NA", "null"]
