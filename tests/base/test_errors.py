"""How messages name rows: one convention, and chunks shifted to the whole data."""

import numpy as np
import pandas as pd
import pytest

from bayesgen.base.errors import DataError, RowDataError, data_row
from bayesgen.tables.summaries import TableSummary


def test_data_rows_count_from_one():
    assert data_row(0) == "data row 1"
    assert data_row(np.int64(249)) == "data row 250"


def test_a_shifted_error_names_the_row_in_the_whole_data():
    error = RowDataError("column 'a': ", 3, " holds 'x'")
    assert isinstance(error, DataError)
    assert str(error) == "column 'a': data row 4 holds 'x'"
    moved = error.shifted(1000)
    assert str(moved) == "column 'a': data row 1004 holds 'x'"
    assert (moved.before, moved.position, moved.after) == ("column 'a': ", 1003, " holds 'x'")


def test_a_bad_cell_in_a_later_chunk_is_named_by_its_row_in_the_data():
    """The same cell, read whole or as the third chunk, is named by the same row."""
    frame = pd.DataFrame({"a": np.arange(30) % 7 * 1.5}).astype(object)
    frame.loc[25, "a"] = "oops"
    labels = np.repeat(["u", "v"], 15)
    whole = TableSummary.start(frame.iloc[:20].astype(float))
    with pytest.raises(DataError) as read_whole:
        whole.schema.encode(frame)
    summary = TableSummary.start(frame.iloc[:10].astype(float))
    summary.add(frame.iloc[:10].astype(float), labels[:10])
    summary.add(frame.iloc[10:20].astype(float), labels[10:20], rows=np.arange(10, 20))
    with pytest.raises(DataError) as read_in_chunks:
        chunk = frame.iloc[20:].reset_index(drop=True)
        summary.add(chunk, labels[20:], rows=np.arange(20, 30))
    assert "data row 26 holds 'oops'" in str(read_whole.value)
    assert str(read_in_chunks.value) == str(read_whole.value)


def test_a_row_error_survives_pickling_and_moves_to_noncontiguous_rows():
    import pickle

    error = RowDataError("column 'a': ", 2, " holds 'x'")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, RowDataError) and str(again) == str(error)
    # a chunk whose rows 0, 1, 2 are the data's rows 40, 42, 45 (empty labels left out)
    assert str(error.at_rows(np.array([40, 42, 45]))) == "column 'a': data row 46 holds 'x'"
