"""TableSchema.detect: detection rules, overrides, errors, describe and model-file state."""

from __future__ import annotations

import copy
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from bayesgen.base.errors import DataError, ModelFileError
from bayesgen.base.persist import load_object, manifest_checksum, save_object
from bayesgen.tables import KINDS, ColumnSpec, TableSchema
from bayesgen.tables.spec import DATETIME_FORMATS

TABLES = {"penguins": "species", "seattle-weather": "weather", "cars": "Origin"}


def read_table(shared_data, name: str) -> pd.DataFrame:
    path = shared_data / "tables" / f"{name}.csv"
    if not path.is_file():
        pytest.skip(f"shared table {path} not found")
    return pd.read_csv(path).drop(columns=[TABLES[name]])


def kinds(schema: TableSchema) -> dict[str, str]:
    return {c.name: c.kind for c in schema.columns}


def detect_one(values, **kwargs) -> ColumnSpec:
    return TableSchema.detect(pd.DataFrame({"a": values}), **kwargs)["a"]


# -- the shared tables ----------------------------------------------------------------


def test_penguins_schema(shared_data):
    schema = TableSchema.detect(read_table(shared_data, "penguins"))
    assert kinds(schema) == {
        "island": "categorical",
        "bill_length_mm": "continuous",
        "bill_depth_mm": "continuous",
        "flipper_length_mm": "integer",
        "body_mass_g": "integer",
        "sex": "categorical",
        "year": "integer",
    }
    assert schema["island"].categories == ["Biscoe", "Dream", "Torgersen"]
    assert schema["sex"].missing and not schema["island"].missing
    assert schema["bill_length_mm"].decimals == 1
    assert schema["body_mass_g"].bounds == [2700.0, 6300.0]
    assert schema.discrete_levels() == {0: 3, 5: 2}


def test_seattle_weather_schema(shared_data):
    schema = TableSchema.detect(read_table(shared_data, "seattle-weather"))
    date = schema["date"]
    assert (date.kind, date.datetime_format, date.datetime_unit) == ("datetime", "%Y/%m/%d", "D")
    assert date.bounds == [15340.0, 16800.0]  # 2012-01-01 .. 2015-12-31 in days
    assert {schema[c].kind for c in ("precipitation", "temp_max", "temp_min", "wind")} == {
        "continuous"
    }


def test_cars_schema_drops_the_free_text_name(shared_data):
    schema = TableSchema.detect(read_table(shared_data, "cars"))
    assert list(schema.dropped) == ["Name"]
    assert "identifier or free text" in schema.dropped["Name"]
    assert schema["Name"].kind == "identifier"
    assert schema["Year"].datetime_format == "%Y-%m-%d"
    assert schema["Cylinders"].kind == "integer"
    assert schema.feature_names[0] == "Miles_per_Gallon"
    kept = TableSchema.detect(read_table(shared_data, "cars"), keep=["Name"])
    assert kept["Name"].kind == "categorical" and not kept.dropped


@pytest.mark.parametrize("name", sorted(TABLES))
def test_describe_has_one_line_per_column(shared_data, name):
    frame = read_table(shared_data, name)
    lines = TableSchema.detect(frame).describe()
    assert len(lines) == frame.shape[1]
    for line, column in zip(lines, frame.columns, strict=True):
        assert line.startswith(f"{column}: ")
        assert "missing: " in line or "dropped" in line


def test_describe_details():
    frame = pd.DataFrame(
        {
            "c": pd.Categorical(list("abcdefg"), ordered=True),
            "x": [0.5, 1.25, None, 2, 3, 4, 5],
            "d": [f"2020-01-0{i} 10:00" for i in range(1, 8)],
            "id": ["x" * 40 + str(i) for i in range(7)],
        }
    )
    lines = TableSchema.detect(frame).describe()
    text = str(frame["id"].dtype)  # "str" on pandas 3, "object" before
    assert lines[0] == "c: categorical (category), 7 categories [a, b, c, d, e, ...], ordered, " + (
        "missing: no"
    )
    assert lines[1] == "x: continuous (float64), 2 decimals, range [0.50, 5.00], missing: yes"
    assert "text format '%Y-%m-%d %H:%M', in hours" in lines[2]
    assert "2020-01-01T10:00:00 .. 2020-01-07T10:00:00" in lines[2]
    assert lines[3].startswith(f"id: dropped (identifier, {text}): text with 7 distinct values")


def test_describe_quotes_categories_that_a_list_would_split():
    frame = pd.DataFrame({"dept": ["Sales", "Legal, Compliance", " HR", "Sales"] * 5})
    line = TableSchema.detect(frame).describe()[0]
    assert "3 categories [' HR', 'Legal, Compliance', Sales]" in line


# -- detection rules ------------------------------------------------------------------


def test_bool_and_boolean_are_categorical():
    for values in ([True, False, True], pd.array([True, None], dtype="boolean"), [True, None]):
        spec = detect_one(values)
        assert (spec.kind, spec.categories) == ("categorical", [False, True])


def test_category_dtype_keeps_its_order_and_unused_categories():
    spec = detect_one(pd.Categorical(["lo", "hi"], categories=["lo", "mid", "hi"], ordered=True))
    assert (spec.categories, spec.ordered, spec.dtype) == (["lo", "mid", "hi"], True, "category")
    assert not detect_one(pd.Categorical(["b", "a"])).ordered


def test_text_categories_are_sorted_and_mixed_types_ordered():
    assert detect_one(["pear", "apple", "fig", "apple"]).categories == ["apple", "fig", "pear"]
    spec = detect_one(pd.Series(["x", 2, True, 1.5, "a", "x"], dtype=object))
    assert spec.categories == [True, 1.5, 2, "a", "x"]


def test_whole_numbers_are_integers_others_continuous():
    assert detect_one([1.0, 2.0, np.nan]).kind == "integer"
    assert detect_one([1, 2, 3]).kind == "integer"
    spec = detect_one([0.25, 1.5, np.nan])
    assert (spec.kind, spec.decimals, spec.missing) == ("continuous", 2, True)
    assert detect_one(np.random.default_rng(0).normal(size=5)).decimals is None


def test_decimals_are_robust_to_float_noise():
    assert detect_one([0.1 + 0.2, 1.7, 2.05]).decimals == 2
    assert detect_one(np.array([0.1, 12.3, 99.9], dtype="float32")).decimals == 1
    assert detect_one(pd.array([0.1, None, 99.9], dtype="Float32")).decimals == 1
    assert detect_one([123456789.123, 1.5]).decimals == 3


def test_two_valued_numbers_stay_numeric():
    assert detect_one([0, 1, 1, 0]).kind == "integer"
    assert detect_one([0, 1, 1, 0], column_types={"a": "categorical"}).categories == [0, 1]


def test_row_numbers_are_identifiers():
    shuffled = np.random.default_rng(0).permutation(np.arange(1, 31))
    for values in (np.arange(30), shuffled):
        schema = TableSchema.detect(pd.DataFrame({"a": values, "x": np.ones(30)}))
        assert "row numbers" in schema.dropped["a"]
        assert schema["a"].kind == "identifier"
    schema = TableSchema.detect(pd.DataFrame({"a": np.arange(30)}), keep=["a"])
    assert schema["a"].kind == "categorical" and schema["a"].categories == list(range(30))
    assert detect_one(np.arange(30), column_types={"a": "integer"}).kind == "integer"
    assert detect_one(np.arange(10)).kind == "integer"  # too few rows to tell


def test_text_identifiers_and_free_text():
    ids = [f"id{i}" for i in range(25)]
    schema = TableSchema.detect(pd.DataFrame({"a": ids, "x": np.ones(25)}))
    assert schema.dropped["a"].startswith("text with 25 distinct values in 25 rows")
    prose = [f"a rather long sentence of free text number {i}" for i in range(6)]
    assert TableSchema.detect(pd.DataFrame({"a": prose, "x": np.ones(6)}))["a"].kind == (
        "identifier"
    )
    assert detect_one(["a", "b", "c", "d", "e", "f"]).kind == "categorical"  # few rows
    assert detect_one(ids, column_types={"a": "categorical"}).kind == "categorical"


def test_numbers_written_as_text_are_numbers():
    spec = detect_one(pd.Series(["1.5", "2", None], dtype=object))
    assert (spec.kind, spec.number_text, spec.decimals) == ("continuous", True, 1)
    assert detect_one(["007", "012", "100"]).kind == "categorical"  # codes, not numbers


@pytest.mark.parametrize("fmt", DATETIME_FORMATS)
def test_text_dates_in_every_known_format(fmt):
    stamps = pd.date_range("1999-01-13 08:30:15", periods=40, freq="37h")
    if "%H" not in fmt:
        stamps = stamps.normalize()
    if fmt == "%Y-%m":
        stamps = pd.date_range("1999-01-01", periods=40, freq="MS")
    if "%f" in fmt:
        stamps = stamps + pd.Timedelta(milliseconds=250)
    texts = list(stamps.strftime(fmt))
    frame = pd.DataFrame({"a": texts})
    spec = TableSchema.detect(frame, keep=["a"])["a"]
    assert (spec.kind, spec.datetime_format) == ("datetime", fmt)
    finest = (("%f", "ms"), ("%S", "s"), ("%M", "min"), ("%H", "h"))
    expected_unit = next((unit for code, unit in finest if code in fmt), "D")
    assert spec.datetime_unit == expected_unit


def test_native_datetimes():
    stamps = pd.Series(pd.to_datetime(["2020-01-01", "2020-03-01", None]))
    spec = detect_one(stamps)
    assert (spec.kind, spec.datetime_unit, spec.datetime_format, spec.missing) == (
        "datetime",
        "D",
        None,
        True,
    )
    zoned = pd.Series(pd.to_datetime(["2020-01-01 12:00"])).dt.tz_localize("Europe/Paris")
    assert detect_one(zoned).dtype == str(zoned.dtype)


def test_overrides_and_drop():
    frame = pd.DataFrame({"year": [2007, 2008, 2009], "x": [1, 2, 3], "note": ["a", "b", "c"]})
    schema = TableSchema.detect(
        frame, column_types={"year": "categorical", "x": "continuous"}, drop=["note"]
    )
    assert kinds(schema) == {"year": "categorical", "x": "continuous", "note": "categorical"}
    assert schema["x"].decimals == 0
    assert schema.dropped == {"note": "dropped by the user (drop=)"}
    assert schema.feature_names == ["year", "x"]
    schema = TableSchema.detect(frame, column_types={"note": "identifier"}, drop="x")
    assert schema.feature_names == ["year"] and set(schema.dropped) == {"x", "note"}


def test_user_may_drop_columns_that_could_not_be_modelled():
    frame = pd.DataFrame(
        {"empty": [None, None], "span": pd.to_timedelta([1, 2], unit="s"), "x": [1.5, 2.5]}
    )
    schema = TableSchema.detect(frame, drop=["empty", "span"])
    assert schema.feature_names == ["x"]
    assert TableSchema._from_state(schema._get_state()) == schema


# -- errors ---------------------------------------------------------------------------


def test_empty_columns_are_errors_naming_them():
    frame = pd.DataFrame({"a": [1, 2, 3], "x": [None] * 3})
    with pytest.raises(DataError, match=r"column 'x' is empty in all 3 rows; drop it with drop=\["):
        TableSchema.detect(frame)
    frame["y"] = np.nan
    with pytest.raises(DataError, match=r"columns \['x', 'y'\] are empty"):
        TableSchema.detect(frame)


def test_a_typo_in_a_number_column_names_row_and_value():
    values = [str(v) for v in range(40)]
    values[17] = "12,5"
    with pytest.raises(DataError, match=r"'a' holds numbers in 39 of 40.*data row 18 holds '12,5'"):
        detect_one(values)
    values[17] = "n/a"
    with pytest.raises(DataError, match=r"missing-value marker.*na_values=\['n/a'\]"):
        detect_one(values)
    with pytest.raises(DataError, match=r"column_types=\{'a': 'categorical'\}"):
        detect_one(values)
    assert detect_one(values, column_types={"a": "categorical"}).kind == "categorical"


def test_a_row_number_counts_filled_and_empty_cells():
    values = [None] + [str(v) for v in range(30)] + ["oops"]
    with pytest.raises(DataError, match="data row 32 holds 'oops'"):
        detect_one(pd.Series(values, dtype=object))


def test_a_typo_in_a_date_column_names_row_and_value():
    dates = [f"2021-03-{d:02d}" for d in range(1, 31)]
    dates[4] = "2021-03-32"
    with pytest.raises(
        DataError, match=r"'a' holds dates.*'%Y-%m-%d'.*data row 5 holds '2021-03-32'"
    ):
        detect_one(dates)


def test_declared_kinds_that_do_not_fit_are_errors():
    with pytest.raises(DataError, match=r"'a': data row 2 holds 'x', which is not a number"):
        detect_one(["1", "x"], column_types={"a": "integer"})
    with pytest.raises(DataError, match=r"'a' was declared a datetime.*'x' \(data row 1\)"):
        detect_one(["x", "y"], column_types={"a": "datetime"})
    with pytest.raises(DataError, match=r"'a' holds dates.*data row 2 holds '5 Jan 21'"):
        detect_one(["2021-01-05", "5 Jan 21"], column_types={"a": "datetime"})
    with pytest.raises(DataError, match="'a' holds numbers"):
        detect_one([1, 2], column_types={"a": "datetime"})
    with pytest.raises(DataError, match="'a' was declared a datetime.*'20200101' \\(data row 1\\)"):
        detect_one(["20200101", "20200102"], column_types={"a": "datetime"})
    with pytest.raises(DataError, match="'a' holds True/False"):
        detect_one([True, False], column_types={"a": "integer"})
    with pytest.raises(DataError, match="'a' holds a pandas category"):
        detect_one(pd.Categorical([1, 2]), column_types={"a": "integer"})
    with pytest.raises(DataError, match="'a' holds datetimes"):
        detect_one(pd.to_datetime(["2020-01-01"]), column_types={"a": "categorical"})


def test_unknown_overrides_are_errors():
    frame = pd.DataFrame({"year": [1, 2], "x": [1.5, 2.5]})
    with pytest.raises(DataError, match="'yeer' that is not in the table; did you mean 'year'"):
        TableSchema.detect(frame, column_types={"yeer": "categorical"})
    with pytest.raises(DataError, match=r"'year' the kind 'cat'; kinds are \('continuous'"):
        TableSchema.detect(frame, column_types={"year": "cat"})
    with pytest.raises(DataError, match="drop names a column 'z'"):
        TableSchema.detect(frame, drop=["z"])
    with pytest.raises(DataError, match="keep names a column 'xx'.*did you mean 'x'"):
        TableSchema.detect(frame, keep=["xx"])
    with pytest.raises(DataError, match="'x' is in drop and also in keep"):
        TableSchema.detect(frame, drop=["x"], keep=["x"])
    with pytest.raises(DataError, match="column_types must be a dict"):
        TableSchema.detect(frame, column_types=["x"])
    assert set(KINDS) == {"continuous", "integer", "categorical", "datetime", "identifier"}


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (pd.Series([b"ab", b"cd"], dtype=object), r"'a': data row 1 holds b'ab', a bytes value"),
        (
            pd.Series(["ok", "bad\udcff"], dtype=object),
            r"'a': data row 2 holds text that is not valid",
        ),
        (pd.Series(["x", [1, 2]], dtype=object), r"'a': data row 2 holds \[1, 2\], a list value"),
        ([1.0, np.inf], r"'a': data row 2 holds inf"),
        ([1, 2**60], r"'a' holds whole numbers beyond 2\*\*53"),
        (pd.to_timedelta([1, 2], unit="s"), r"'a' has dtype timedelta64"),
        (pd.Categorical(pd.to_datetime(["2020-01-01"])), r"'a' has categories of type Timestamp"),
    ],
)
def test_values_that_cannot_be_modelled_are_errors(values, pattern):
    with pytest.raises(DataError, match=pattern):
        detect_one(values)


def test_bad_frames_are_errors():
    with pytest.raises(DataError, match="DataFrame"):
        TableSchema.detect(np.zeros((2, 2)))
    with pytest.raises(DataError, match="column names must be text; got 0"):
        TableSchema.detect(pd.DataFrame({0: [1, 2]}))
    with pytest.raises(DataError, match=r"repeated column names \['a'\]"):
        TableSchema.detect(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(DataError, match="no rows"):
        TableSchema.detect(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="no column is left to model.*id: text with"):
        TableSchema.detect(pd.DataFrame({"id": [f"r{i}" for i in range(30)]}))


# -- model-file state -----------------------------------------------------------------


def full_schema() -> TableSchema:
    frame = pd.DataFrame(
        {
            "c": pd.Categorical(["b", "a", None], categories=["b", "a"], ordered=True),
            "flag": [True, False, True],
            "i": pd.array([1, None, 3], dtype="Int64"),
            "x": [0.5, 1.25, np.nan],
            "t": ["2020/01/01", "2020/01/02", None],
            "z": pd.Series(pd.to_datetime(["2020-01-01 10:00"] * 3)).dt.tz_localize("UTC"),
            "n": ["1.5", "2", "3"],
            "mixed": pd.Series([1, "a", 2.5], dtype=object),
            "note": ["p", "q", "r"],
        }
    )
    return TableSchema.detect(frame, drop=["note"])


def test_state_round_trip():
    schema = full_schema()
    state = schema._get_state()
    json.dumps(state)  # plain JSON, no arrays needed
    assert TableSchema._from_state(copy.deepcopy(state)) == schema


def test_model_file_round_trip(tmp_path):
    schema = full_schema()
    path = tmp_path / "schema.bgm"
    save_object(schema, path, library_version="0")
    loaded, manifest = load_object(path)
    assert isinstance(loaded, TableSchema) and loaded == schema
    assert loaded.describe() == schema.describe()


def _mutate(state: dict, column: str, field: str, value) -> dict:
    state = copy.deepcopy(state)
    for item in state["columns"]:
        if item["name"] == column:
            item[field] = value
    return state


HOSTILE = [
    ("c", "kind", "table"),
    ("c", "categories", []),
    ("c", "categories", ["a", "a"]),
    ("c", "categories", ["a", None]),
    ("c", "categories", [["nested"]]),
    ("c", "categories", [float("nan")]),
    ("c", "categories", "ab"),
    ("c", "categories", [1, True]),
    ("c", "ordered", "yes"),
    ("c", "decimals", 2),
    ("c", "bounds", [0, 1]),
    ("flag", "categories", [True, False]),
    ("flag", "dtype", "int64"),
    ("i", "dtype", "object; rm -rf"),
    ("i", "dtype", "complex128"),
    ("i", "kind", "categorical"),
    ("i", "bounds", [3.0, 1.0]),
    ("i", "bounds", [0, float("inf")]),
    ("i", "bounds", [0, "9"]),
    ("i", "bounds", [1]),
    ("i", "bounds", [0, 10**400]),
    ("i", "decimals", 1),
    ("x", "decimals", 7),
    ("x", "decimals", True),
    ("x", "datetime_unit", "D"),
    ("x", "missing", 1),
    ("x", "number_text", True),
    ("x", "name", 5),
    ("t", "datetime_format", "%Y %j"),
    ("t", "datetime_format", None),
    ("t", "datetime_unit", "fortnight"),
    ("t", "kind", "identifier"),
    ("z", "dtype", "datetime64[ns, ../../etc/passwd]"),
    ("z", "dtype", "datetime64[ns, Not/AZone]"),
    ("z", "datetime_format", "%Y-%m-%d"),
    ("z", "categories", ["a"]),
    ("note", "categories", ["p"]),
]


@pytest.mark.parametrize(("column", "field", "value"), HOSTILE)
def test_hostile_column_states_are_refused(column, field, value):
    state = _mutate(full_schema()._get_state(), column, field, value)
    with pytest.raises(ValueError):
        TableSchema._from_state(state)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.pop("dropped"),
        lambda s: s.update(version=2),
        lambda s: s.update(version=True),
        lambda s: s.update(extra=1),
        lambda s: s.update(columns=[]),
        lambda s: s.update(columns="c"),
        lambda s: s.update(columns=[*s["columns"], s["columns"][0]]),
        lambda s: s.update(dropped={"nope": "x"}),
        lambda s: s.update(dropped={"note": 5}),
        lambda s: s.update(dropped=["note"]),
        lambda s: s.update(dropped={c["name"]: "x" for c in s["columns"]}),
        lambda s: s.update(dropped={}),  # an identifier-free schema, but 'note' keeps no details
        lambda s: s["columns"][0].pop("ordered"),
        lambda s: s["columns"][0].update(surprise=1),
        lambda s: s["columns"].append(["not", "a", "dict"]),
    ],
)
def test_hostile_schema_states_are_refused(change):
    state = full_schema()._get_state()
    change(state)
    with pytest.raises(ValueError):
        TableSchema._from_state(state)


def test_tampered_model_file_is_a_model_file_error(tmp_path):
    path = tmp_path / "schema.bgm"
    save_object(full_schema(), path, library_version="0")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    columns = manifest["model"]["state"]["__dict__"]["columns"]
    columns[0]["__dict__"]["categories"] = ["a", "a"]
    manifest["manifest_sha256"] = manifest_checksum(manifest)  # as an attacker would
    bad = tmp_path / "bad.bgm"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(ModelFileError, match="invalid TableSchema.*repeated categories"):
        load_object(bad)
