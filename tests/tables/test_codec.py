"""TableSchema.encode / decode: exact round trips, rounding and clipping, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesgen.base.errors import DataError
from bayesgen.tables import TableSchema, is_table

TABLES = {"penguins": "species", "seattle-weather": "weather", "cars": "Origin"}


@pytest.fixture(params=sorted(TABLES))
def shared_table(request, shared_data) -> pd.DataFrame:
    path = shared_data / "tables" / f"{request.param}.csv"
    if not path.is_file():
        pytest.skip(f"shared table {path} not found")
    return pd.read_csv(path).drop(columns=[TABLES[request.param]])


def mixed_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Every supported kind, each with missing cells where its dtype allows them."""
    rng = np.random.default_rng(seed)
    gap = rng.random(n) < 0.2
    gap[0] = True
    days = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    seconds = pd.to_datetime("2021-06-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s")
    text_dates = pd.Series(days.strftime("%d/%m/%Y"), dtype=object)
    text_dates[gap] = np.nan
    return pd.DataFrame(
        {
            "cat": pd.Categorical(
                np.where(gap, None, rng.choice(["b", "a", "c"], n)), categories=["c", "a", "b", "z"]
            ),
            "ord": pd.Categorical(
                rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True
            ),
            "flag": rng.random(n) < 0.5,
            "flag_na": pd.array(np.where(gap, None, rng.random(n) < 0.5), dtype="boolean"),
            "count": rng.integers(-5, 50, n),
            "small": rng.integers(0, 100, n).astype("uint8"),
            "count_na": pd.array(np.where(gap, None, rng.integers(0, 9, n)), dtype="Int64"),
            "whole_float": np.where(gap, np.nan, rng.integers(100, 200, n).astype(float)),
            "measure": np.where(gap, np.nan, np.round(rng.normal(10, 3, n), 2)),
            "raw": rng.normal(size=n),
            "single": np.round(rng.normal(size=n), 1).astype("float32"),
            "nullable_float": pd.array(np.where(gap, None, np.round(rng.random(n), 3)), "Float64"),
            "text": pd.Series(np.where(gap, None, rng.choice(["red", "green", "blue"], n))),
            "text_obj": pd.Series(rng.choice(["x", "y"], n), dtype=object).where(~gap),
            "text_string": pd.Series(
                np.where(gap, None, rng.choice(["p", "q"], n)), dtype="string"
            ),
            "when": pd.Series(days).where(~gap),
            "stamp": pd.Series(seconds).astype("datetime64[ns]").where(~gap),
            "zoned": pd.Series(seconds).dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"),
            "text_date": text_dates,
            "iso_text_date": pd.Series(days.strftime("%Y-%m-%d %H:%M")),
        }
    )


def assert_same_table(decoded: pd.DataFrame, original: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(decoded, original.reset_index(drop=True), check_exact=True)


def test_shared_tables_round_trip_exactly(shared_table):
    schema = TableSchema.detect(shared_table)
    X = schema.encode(shared_table)
    assert X.dtype == np.float64 and X.shape == (len(shared_table), schema.n_features)
    assert_same_table(schema.decode(X), shared_table[schema.feature_names])


def test_mixed_frame_round_trips_exactly():
    frame = mixed_frame()
    schema = TableSchema.detect(frame)
    assert schema.feature_names == list(frame.columns)
    assert_same_table(schema.decode(schema.encode(frame)), frame)


def test_row_numbers_are_positions_whatever_the_index():
    frame = mixed_frame().sample(frac=1.0, random_state=1)
    frame.index = frame.index * 10 + 7
    schema = TableSchema.detect(frame)
    assert_same_table(schema.decode(schema.encode(frame)), frame)
    bad = frame.copy()
    bad.iloc[3, bad.columns.get_loc("text_date")] = "not a date"
    with pytest.raises(DataError, match="'text_date': data row 4 holds 'not a date'"):
        schema.encode(bad)


@pytest.mark.parametrize("seed", range(3))
def test_small_perturbations_decode_to_the_same_table(seed):
    frame = mixed_frame(seed=seed)
    schema = TableSchema.detect(frame)
    X = schema.encode(frame)
    noise = np.random.default_rng(seed).uniform(-0.3, 0.3, X.shape)
    exact = [j for j, s in enumerate(schema.features) if s.kind in ("continuous",)]
    noise[:, exact] = 0.0  # continuous values are kept at their decimals, not snapped back
    assert_same_table(schema.decode(X + noise), frame)


def test_encode_gives_codes_days_and_nan():
    frame = pd.DataFrame(
        {
            "c": ["b", "a", None, "b"],
            "d": ["1970-01-02", "1970-01-01", "2000-01-01", None],
            "n": [1.5, np.nan, 2.0, 3.25],
        }
    )
    X = TableSchema.detect(frame).encode(frame)
    np.testing.assert_array_equal(X[:, 0], [1, 0, np.nan, 1])
    np.testing.assert_array_equal(X[:, 1], [1, 0, 10957, np.nan])
    np.testing.assert_array_equal(X[:, 2], [1.5, np.nan, 2.0, 3.25])


def test_decode_rounds_and_clips():
    frame = pd.DataFrame(
        {
            "c": ["a", "b", "c"],
            "i": [10, 20, 30],
            "x": [0.5, 1.25, 2.0],
            "d": ["2020-01-01", "2020-01-03", "2020-01-05"],
        }
    )
    schema = TableSchema.detect(frame)
    X = np.array(
        [
            [-7.0, 9.0, -100.0, -1e9],
            [1.4, 17.6, 1.2349, 18264.6],
            [99.0, 1e300, np.inf, np.inf],
        ]
    )
    out = schema.decode(X)
    assert out["c"].tolist() == ["a", "b", "c"]
    assert out["i"].tolist() == [10, 18, 30]
    assert out["i"].dtype == np.int64
    assert out["x"].tolist() == [0.5, 1.23, 2.0]
    assert out["d"].tolist() == ["2020-01-01", "2020-01-04", "2020-01-05"]


def test_decode_nan_is_a_missing_cell_in_every_dtype():
    frame = mixed_frame()
    schema = TableSchema.detect(frame)
    out = schema.decode(np.full((3, schema.n_features), np.nan))
    assert out.isna().all().all()
    assert out["count"].dtype == "Int64"  # int64 cannot hold a gap: nullable form
    assert out["small"].dtype == "UInt8"
    assert out["flag"].dtype == "boolean"
    assert out["cat"].dtype == frame["cat"].dtype
    assert out["stamp"].dtype == frame["stamp"].dtype
    assert out["zoned"].dtype == frame["zoned"].dtype


def test_decode_clips_to_widened_bounds_and_dtype_range():
    frame = pd.DataFrame({"i": np.array([1, 2, 3], dtype="int8"), "x": [0.1, 0.2, 0.35]})
    schema = TableSchema.detect(frame)
    schema.set_bounds("i", None)
    schema.set_bounds("x", [-1, 1])
    out = schema.decode(np.array([[1e6, -5.0], [-1e6, 0.5]]))
    assert out["i"].tolist() == [127, -128] and out["i"].dtype == np.int8
    assert out["x"].tolist() == [-1.0, 0.5]
    with pytest.raises(DataError, match="'x'"):
        schema.set_bounds("x", [2, 1])


def test_numbers_written_as_text_come_back_as_text():
    frame = pd.DataFrame({"a": ["1.50", "2.25", None, "3.00"], "b": ["1", "-20", "3", "4"]})
    schema = TableSchema.detect(frame)
    assert [s.kind for s in schema.features] == ["continuous", "integer"]
    assert_same_table(schema.decode(schema.encode(frame)), frame)


def test_encode_accepts_other_dtypes_of_the_same_values():
    train = pd.DataFrame({"year": [2007, 2008, 2009], "n": [1.0, np.nan, 3.0]})
    schema = TableSchema.detect(train, column_types={"year": "categorical"})
    test = pd.DataFrame({"year": [2009.0, np.nan], "n": pd.array([5, None], dtype="Int64")})
    np.testing.assert_array_equal(schema.encode(test), [[2, 5], [np.nan, np.nan]])


# -- bad input ------------------------------------------------------------------------


def test_unknown_category_is_an_error_or_a_missing_cell():
    schema = TableSchema.detect(pd.DataFrame({"colour": ["red", "blue", "red"]}))
    frame = pd.DataFrame({"colour": ["red", "pink", "blue"]})
    with pytest.raises(DataError, match=r"'colour': data row 2 holds 'pink'.*'blue', 'red'") as e:
        schema.encode(frame)
    assert "model.set_params(unknown='missing')" in str(e.value)  # a working suggestion
    np.testing.assert_array_equal(schema.encode(frame, unknown="missing")[:, 0], [1, np.nan, 0])
    with pytest.raises(DataError, match="unknown must be"):
        schema.encode(frame, unknown="ignore")


def test_unparseable_date_names_column_row_and_value():
    schema = TableSchema.detect(pd.DataFrame({"day": ["2020/01/01", "2020/02/01"]}))
    with pytest.raises(DataError, match=r"'day': data row 3 holds '01.03.2020'.*'%Y/%m/%d'"):
        schema.encode(pd.DataFrame({"day": ["2020/01/01", None, "01.03.2020"]}))
    # a day in ISO 8601 is unambiguous, and read as such
    codes = schema.encode(pd.DataFrame({"day": ["2020/03/01", "2020-03-01"]}))[:, 0]
    assert codes[0] == codes[1]


def test_text_in_a_numeric_column_names_column_row_and_value():
    schema = TableSchema.detect(pd.DataFrame({"x": [1.5, 2.5]}))
    with pytest.raises(DataError, match=r"'x': data row 2 holds 'abc'"):
        schema.encode(pd.DataFrame({"x": ["1.0", "abc"]}))
    with pytest.raises(DataError, match=r"'x': data row 1 holds inf"):
        schema.encode(pd.DataFrame({"x": [np.inf, 1.0]}))


def test_missing_columns_are_named():
    schema = TableSchema.detect(pd.DataFrame({"alpha": [1, 2], "beta": ["a", "b"]}))
    with pytest.raises(DataError, match=r"\['beta'\].*did you mean 'betta'"):
        schema.encode(pd.DataFrame({"alpha": [1], "betta": ["a"]}))
    with pytest.raises(DataError, match="DataFrame"):
        schema.encode(np.zeros((2, 2)))


def test_decode_refuses_a_wrong_shape():
    schema = TableSchema.detect(pd.DataFrame({"a": [1.5, 2.5], "b": [1, 2]}))
    with pytest.raises(DataError, match=r"\(n, 2\).*\['a', 'b'\].*\(3, 3\)"):
        schema.decode(np.zeros((3, 3)))
    with pytest.raises(DataError, match="numeric array"):
        schema.decode([["x", "y"]])
    assert schema.decode(np.zeros((0, 2))).shape == (0, 2)


def test_discrete_levels_index_the_modelled_columns():
    frame = pd.DataFrame(
        {"id": [f"row{i}" for i in range(30)], "x": np.arange(30) * 0.5, "c": ["a", "b", "c"] * 10}
    )
    schema = TableSchema.detect(frame)
    assert schema.feature_names == ["x", "c"]
    assert schema.discrete_levels() == {1: 3}


# -- is_table -------------------------------------------------------------------------


def test_is_table():
    assert not is_table(np.zeros((3, 2)))
    assert not is_table(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.0]}))
    assert not is_table(pd.DataFrame({"a": pd.array([1, 2], dtype="Int64")}))
    assert is_table(pd.DataFrame({"a": [1.0, np.nan]}))
    assert is_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert is_table(pd.DataFrame({"a": [True, False]}))
    assert is_table(pd.DataFrame({"a": pd.Categorical([1, 2])}))
    assert is_table(pd.DataFrame({"a": pd.to_datetime(["2020-01-01"])}))
    assert not is_table([[1, 2]])


# -- property test --------------------------------------------------------------------

_TEXT = st.sampled_from(["a", "b", "c", "long text value", "Ünïcödé", ""])


@st.composite
def random_frames(draw):
    n = draw(st.integers(1, 25))
    columns = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["float", "int", "nullable", "text", "bool", "date", "cat"]))
        gaps = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        gaps[0] = False  # an entirely empty column is an error, tested elsewhere
        columns[f"c{i}"] = _column(draw, kind, n, gaps)
    return pd.DataFrame(columns)


def _column(draw, kind, n, gaps):
    if kind == "float":
        decimals = draw(st.integers(0, 8))
        values = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
        x = np.round(np.array(draw(st.lists(values, min_size=n, max_size=n))), decimals)
        return np.where(gaps, np.nan, x)
    if kind in ("int", "nullable"):
        x = np.array(draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)))
        return x if kind == "int" else pd.array(np.where(gaps, None, x), dtype="Int64")
    if kind == "text":
        texts = draw(st.lists(_TEXT, min_size=n, max_size=n))
        return pd.Series(np.where(gaps, None, np.array(texts, dtype=object)), dtype="str")
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if kind == "date":
        days = draw(st.lists(st.integers(-30000, 30000), min_size=n, max_size=n))
        return pd.Series(np.array(days, dtype="datetime64[D]")).astype("datetime64[s]").where(~gaps)
    labels = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    return pd.Categorical(np.where(gaps, None, labels), categories=["z", "y", "x", "w"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_frames())
def test_random_frames_round_trip(frame):
    schema = TableSchema.detect(frame, keep=list(frame.columns))
    assert schema.feature_names == list(frame.columns)
    assert_same_table(schema.decode(schema.encode(frame)), frame)


def test_small_negative_values_round_to_zero_not_minus_zero():
    frame = pd.DataFrame({"x": [-0.5, 0.0, 1.5, 2.0]})
    schema = TableSchema.detect(frame)
    out = schema.decode(np.array([[-0.04], [0.03], [1.5], [-0.0]]))
    assert not np.signbit(out["x"].to_numpy()).any()
    assert out["x"].tolist() == [0.0, 0.0, 1.5, 0.0]


def test_whole_numbers_keep_their_step():
    """Multiples of 25 seen (at least ten distinct): decoded values are multiples of 25;
    with fewer distinct values, or no common divisor, any whole number."""
    frame = pd.DataFrame({"g": 25 * np.arange(100, 120), "n": np.arange(20) * 2 + 1})
    schema = TableSchema.detect(frame)
    assert schema["g"].step == 25 and schema["n"].step is None
    out = schema.decode(np.array([[2512.0, 3.4], [2538.0, 7.6]]))
    assert out["g"].tolist() == [2500, 2550] and out["n"].tolist() == [3, 8]
    few = TableSchema.detect(pd.DataFrame({"g": [100, 200, 300, 400]}))
    assert few["g"].step is None
    assert "multiples of 25" in schema.describe()[0]
