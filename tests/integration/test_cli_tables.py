"""Tables through the command line: fit a CSV as it is, sample it back in its own layout,
condition on columns, impute, inspect; bad tables get a clear message and no file."""

import numpy as np
import pandas as pd
import pytest

from bayesgen.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def table_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    kind = rng.choice(["oak", "pine", "elm"], size=n)
    height = np.round(rng.normal(pd.Series(kind).map({"oak": 20, "pine": 30, "elm": 25}), 3), 1)
    frame = pd.DataFrame(
        {
            "height_m": height,
            "rings": rng.poisson(height * 2).astype(float),
            "soil": rng.choice(["clay", "sand", "loam"], size=n),
            "planted": pd.to_datetime("2000-01-01")
            + pd.to_timedelta(rng.integers(0, 3000, n), unit="D"),
            "kind": kind,
        }
    )
    frame["planted"] = frame["planted"].dt.strftime("%Y-%m-%d")
    frame.loc[rng.random(n) < 0.05, "rings"] = np.nan
    path = tmp_path / "trees.csv"
    frame.to_csv(path, index=False)
    return path


def test_fit_sample_round_trip_keeps_the_layout(table_csv, tmp_path, capsys):
    model = tmp_path / "m.bgm"
    code, _, err = run(capsys, "fit", table_csv, "-o", model)
    assert code == 0, err
    assert "label column: 'kind' (the last column" in err
    out = tmp_path / "new.csv"
    code, _, err = run(capsys, "sample", model, "-n", "500", "--seed", "1", "-o", out)
    assert code == 0, err
    real, new = pd.read_csv(table_csv), pd.read_csv(out)
    assert list(new.columns) == list(real.columns)
    assert new.dtypes.to_dict() == real.dtypes.to_dict()
    assert set(new["soil"]) <= set(real["soil"]) and set(new["kind"]) <= set(real["kind"])
    assert new["rings"].dropna().eq(new["rings"].dropna().round()).all()
    assert pd.to_datetime(new["planted"], format="%Y-%m-%d").notna().all()
    assert ".0," not in out.read_text().splitlines()[1].split(",", 2)[1] + ","


def test_given_conditions_hold_in_every_row(table_csv, tmp_path, capsys):
    model = tmp_path / "m.bgm"
    assert run(capsys, "fit", table_csv, "-o", model)[0] == 0
    code, out, err = run(
        capsys,
        "sample",
        model,
        "-n",
        "200",
        "--seed",
        "2",
        "--given",
        "soil=sand",
        "--given",
        "height_m>=27",
        "-o",
        "-",
    )
    assert code == 0, err
    rows = pd.read_csv(__import__("io").StringIO(out))
    assert (rows["soil"] == "sand").all() and (rows["height_m"] >= 27).all()
    code, _, err = run(capsys, "sample", model, "-n", "5", "--given", "sol=sand", "-o", "-")
    assert (
        code == 2 and "did you mean 'soil'" in err
    )  # a mistake on the command line: 2, like a malformed --given
    for streamed in ([], ["--stream", "always"]):  # the label chosen, not named
        args = ["fit", table_csv, "--drop", "kind", *streamed, "-o", tmp_path / "x.bgm"]
        code, _, err = run(capsys, *args)
        assert code == 2 and "'kind' is the label column" in err
    assert not (tmp_path / "x.bgm").exists()
    # --bounds only widens: a narrower range would pile values up on its ends
    code, _, err = run(capsys, "sample", model, "-n", "5", "--bounds", "height_m=20:25", "-o", "-")
    assert code == 2 and "only widens" in err and "--given 'height_m>=LO'" in err
    # the label column is chosen with --label; a year on a date column is that whole year
    code, _, err = run(capsys, "sample", model, "-n", "5", "--given", "kind=oak", "-o", "-")
    assert code == 2 and "'kind' is the label column" in err and "--label oak" in err
    code, out, err = run(capsys, "sample", model, "-n", "300", "--given", "planted=2003", "-o", "-")
    assert code == 0, err
    planted = pd.to_datetime(pd.read_csv(__import__("io").StringIO(out))["planted"])
    assert (planted.dt.year == 2003).all() and planted.dt.month.nunique() > 6
    # a condition outside the range seen: the range in the column's own terms, and the way out
    given = ["--given", "planted=2030-01-01", "-o", "-"]
    code, _, err = run(capsys, "sample", model, "-n", "5", *given)
    seen = pd.read_csv(table_csv)["planted"]
    assert code == 2 and f"[{seen.min()}, {seen.max()}]" in err and "--bounds" in err
    assert "set_bounds" not in err  # Python's way is not the command line's


def test_impute_and_inspect(table_csv, tmp_path, capsys):
    model = tmp_path / "m.bgm"
    assert run(capsys, "fit", table_csv, "-o", model)[0] == 0
    code, out, _ = run(capsys, "inspect", model)
    assert code == 0 and "soil: categorical" in out and "label column: kind" in out
    filled = tmp_path / "filled.csv"
    code, _, err = run(capsys, "impute", model, "--input", table_csv, "-o", filled)
    assert code == 0, err
    before, after = pd.read_csv(table_csv), pd.read_csv(filled)
    assert not after.isna().any().any()
    kept = before["rings"].notna()
    assert (after["rings"][kept] == before["rings"][kept]).all()


def test_evaluate_names_a_bad_cell_by_its_row_in_the_file(table_csv, tmp_path, capsys):
    """The --real rows are split and shuffled before the metrics: the message must still
    give the row of the file."""
    model, bad = tmp_path / "m.bgm", tmp_path / "bad.csv"
    assert run(capsys, "fit", table_csv, "-o", model)[0] == 0
    frame = pd.read_csv(table_csv)
    frame["height_m"] = frame["height_m"].astype(object)
    frame.loc[250, "height_m"] = "tall"
    frame.to_csv(bad, index=False)
    code, _, err = run(capsys, "evaluate", model, "--real", bad)
    assert code == 1 and "data row 251 holds 'tall'" in err and "--real" in err


def test_inspect_lists_cells_missing_together(table_csv, tmp_path, capsys):
    frame = pd.read_csv(table_csv)
    frame.loc[frame["rings"].isna(), "soil"] = np.nan  # lost together
    path, model = tmp_path / "together.csv", tmp_path / "m.bgm"
    frame.to_csv(path, index=False)
    assert run(capsys, "fit", path, "-o", model)[0] == 0
    code, out, _ = run(capsys, "inspect", model)
    assert code == 0 and "cells missing together" in out and "rings + soil" in out
    code, out, _ = run(capsys, "inspect", model, "--json")
    together = __import__("json").loads(out)["table"]["missing_together_per_class"]
    for label, rows in together.items():
        lost = frame["rings"].isna()[frame["kind"] == label].mean()
        assert rows == [{"columns": ["rings", "soil"], "rate": pytest.approx(lost)}]


def _wide(frame, rng):
    """``frame`` with enough columns of noise that a file of it is a matrix of numbers, not
    a table (:data:`bayesgen.io.tables.MATRIX_COLUMNS`)."""
    from bayesgen.io.tables import MATRIX_COLUMNS

    noise = rng.normal(size=(len(frame), MATRIX_COLUMNS))
    return frame.join(pd.DataFrame(noise, columns=[f"z{j}" for j in range(MATRIX_COLUMNS)]))


def test_impute_with_a_model_of_numbers(tmp_path, capsys):
    """A wide CSV of numbers fitted with the Gaussian (no table schema) imputes a table with
    empty cells: columns matched by name (here in another order, beside a text column the
    model never saw, which passes through), observed cells and whole numbers kept."""
    from bayesgen import load

    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    frame = pd.DataFrame(
        {"a": a, "b": 2.0 * a + 0.1 * rng.normal(size=200), "n": rng.integers(0, 9, 200)}
    )
    frame["label"] = np.repeat([0, 1], 100)
    frame = _wide(frame, rng)
    noise = [c for c in frame.columns if c.startswith("z")]
    data, holes = tmp_path / "numbers.csv", tmp_path / "holes.csv"
    frame.to_csv(data, index=False)
    model, filled = tmp_path / "m.bgm", tmp_path / "filled.csv"
    assert run(capsys, "fit", data, "--density", "gaussian", "-o", model)[0] == 0
    assert load(model).schema_ is None
    frame.loc[::10, "b"] = np.nan
    frame.loc[5::10, "n"] = np.nan
    frame.insert(0, "id", [f"r{i}" for i in range(200)])
    frame = frame[["id", "b", "label", "a", "n", *noise]]
    frame.to_csv(holes, index=False)
    code, _, err = run(capsys, "impute", model, "--input", holes, "-o", filled)
    assert code == 0, err
    after = pd.read_csv(filled)
    assert list(after.columns) == list(frame.columns) and not after.isna().any().any()
    np.testing.assert_allclose(after["b"][::10], 2.0 * frame["a"][::10], atol=0.5)
    assert (after["id"] == frame["id"]).all() and (after["label"] == frame["label"]).all()
    assert after["n"].dtype.kind == "i"
    code, _, err = run(
        capsys,
        "impute",
        model,
        "--input",
        holes.parent / "numbers.csv",
        "-o",
        tmp_path / "again.csv",
    )
    assert code == 0, err
    frame.drop(columns=["a"]).to_csv(holes, index=False)
    code, _, err = run(capsys, "impute", model, "--input", holes, "-o", tmp_path / "x.csv")
    assert code != 0 and "lacks ['a']" in err and not (tmp_path / "x.csv").exists()


def test_bad_tables_exit_1_with_column_and_row_and_write_nothing(tmp_path, capsys):
    mixed = tmp_path / "mixed.csv"
    lines = ["size,kind"] + [f"{i},{'ab'[i % 2]}" for i in range(40)]
    lines[17] = "twelve,a"
    mixed.write_text("\n".join(lines) + "\n")
    out = tmp_path / "m.bgm"
    code, _, err = run(capsys, "fit", mixed, "-o", out)
    assert code == 1 and "'size'" in err and "twelve" in err and not out.exists()
    empty = tmp_path / "empty_label.csv"
    empty.write_text("size,kind\n1.5,a\n2.5,\n3.5,b\n4.5,a\n5.5,b\n6.5,a\n")
    code, _, err = run(capsys, "fit", empty, "--label-column", "kind", "-o", out)
    assert code == 1 and "1 row has an empty label" in err and "--drop-missing-labels" in err
    code, _, err = run(
        capsys, "fit", empty, "--label-column", "kind", "--drop-missing-labels", "-o", out
    )
    assert code == 0, err
    code, _, err = run(capsys, "fit", mixed, "--column-type", "size", "-o", tmp_path / "x.bgm")
    assert code == 2 and "NAME=KIND" in err


def test_penguins_as_a_newcomer_types_it(shared_data, tmp_path, capsys):
    penguins = shared_data / "tables" / "penguins.csv"
    if not penguins.exists():
        pytest.skip("penguins.csv not in the shared data")
    model, out = tmp_path / "m.bgm", tmp_path / "new.csv"
    assert run(capsys, "fit", penguins, "--label-column", "species", "-o", model)[0] == 0
    assert run(capsys, "sample", model, "-n", "1000", "-o", out)[0] == 0
    real, new = pd.read_csv(penguins), pd.read_csv(out)
    assert list(new.columns) == list(real.columns)
    assert new.dtypes.to_dict() == real.dtypes.to_dict()


def test_dataset_writes_a_bundled_set_that_split_and_fit_read(tmp_path, capsys):
    out = tmp_path / "digits.csv"
    code, _, err = run(capsys, "dataset", "digits", "-o", out)
    assert code == 0, err
    frame = pd.read_csv(out)
    assert frame.shape == (1797, 65) and frame.columns[0] == "label"
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    code, _, err = run(capsys, "split", out, "--test-size", "0.25", "-o", train, test)
    assert code == 0, err
    assert len(pd.read_csv(train)) + len(pd.read_csv(test)) == 1797
    tutorial = ["--density", "gaussian", "--reg-covar", "0.01"]
    code, _, err = run(capsys, "fit", train, *tutorial, "-o", tmp_path / "m.bgm")
    assert code == 0, err


def test_resample_balances_marks_synthetic_rows_and_refuses_bad_strategies(
    table_csv, tmp_path, capsys
):
    out = tmp_path / "balanced.csv"
    code, _, err = run(
        capsys,
        "resample",
        table_csv,
        "--strategy",
        "elm=200,oak=200",
        "--mark-synthetic",
        "synthetic",
        "--seed",
        "0",
        "-o",
        out,
    )
    assert code == 0, err
    real, balanced = pd.read_csv(table_csv), pd.read_csv(out)
    counts = balanced["kind"].value_counts()
    assert counts["elm"] == 200 and counts["oak"] == 200
    assert list(balanced.columns) == [*real.columns, "synthetic"]
    original = balanced.iloc[: len(real)]
    assert not original["synthetic"].any() and balanced["synthetic"].iloc[len(real) :].all()
    pd.testing.assert_frame_equal(original[real.columns], real, check_dtype=False)
    code, _, err = run(capsys, "resample", table_csv, "--strategy", "elm=1", "-o", out)
    assert code == 1 and "greater or equal to the original number" in err and "'elm'" in err
    code, _, err = run(capsys, "resample", table_csv, "--strategy", "ash=50", "-o", out)
    assert code == 2 and "'ash' is not a class" in err
    # a column the model leaves out (an identifier) is empty in the added rows: said so
    named = tmp_path / "named.csv"
    real.assign(tag=[f"t{i}" for i in range(len(real))]).to_csv(named, index=False)
    code, _, err = run(
        capsys, "resample", named, "--label-column", "kind", "--strategy", "elm=200", "-o", out
    )
    assert code == 0 and "column 'tag' is empty in the added rows" in err, err


def test_resample_takes_the_table_options_of_fit(table_csv, tmp_path, capsys):
    real = pd.read_csv(table_csv)
    real.loc[4, "kind"] = np.nan
    data, out = tmp_path / "gaps.csv", tmp_path / "balanced.csv"
    real.to_csv(data, index=False)
    code, _, err = run(capsys, "resample", data, "--label-column", "kind", "-o", out)
    assert code == 1 and "--drop-missing-labels" in err and not out.exists()
    code, _, err = run(
        capsys, "resample", table_csv, "--label-column", "kind", "--drop", "kind", "-o", out
    )
    assert code == 2 and "is the label column" in err and not out.exists()
    code, _, err = run(
        capsys,
        "resample",
        data,
        "--label-column",
        "kind",
        "--drop-missing-labels",
        "--drop",
        "soil",
        "--column-type",
        "planted=categorical",
        "--strategy",
        "all",
        "--seed",
        "0",
        "-o",
        out,
    )
    assert code == 0, err
    assert "left out 1 row with an empty label" in err
    assert "column 'soil' is empty in the added rows: the model leaves it out (--drop)" in err
    balanced = pd.read_csv(out)
    added = balanced.iloc[len(real) - 1 :]
    assert added["soil"].isna().all() and added["kind"].notna().all()
    # dates as categories: only days of the data (as dates, most would be new days)
    assert set(added["planted"].dropna()) <= set(real["planted"])
    assert added["rings"].isna().any()  # empty cells as in the data (--missing keep)
    options = ["--label-column", "kind", "--drop-missing-labels", "--strategy", "all"]
    code, _, err = run(capsys, "resample", data, *options, "--missing", "none", "-o", out)
    assert code == 0, err
    assert not pd.read_csv(out).iloc[len(real) - 1 :].isna().any().any()
    numbers = tmp_path / "numbers.csv"
    matrix = pd.DataFrame({"a": np.arange(20.0), "label": [0, 1] * 10})
    _wide(matrix, np.random.default_rng(0)).to_csv(numbers, index=False)
    code, _, err = run(capsys, "resample", numbers, "--drop", "a", "-o", out)
    assert code == 2 and "are for tables" in err


def test_orders_every_row_keeps_are_named_kept_and_can_be_ignored(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 400
    low = np.round(rng.normal(10, 3, n), 1)
    frame = pd.DataFrame(
        {
            "temp_min": low,
            "temp_max": np.round(low + rng.exponential(0.7, n), 1),
            "sky": rng.choice(["sun", "rain"], n),
        }
    )
    data, model, out = tmp_path / "w.csv", tmp_path / "m.bgm", tmp_path / "new.csv"
    frame.to_csv(data, index=False)
    code, _, err = run(capsys, "fit", data, "--label-column", "sky", "-o", model)
    assert code == 0 and "samples keep 1 order(s)" in err and "temp_min <= temp_max" in err
    code, text, _ = run(capsys, "inspect", model)
    assert code == 0 and "orders every training row keeps" in text
    assert run(capsys, "sample", model, "-n", "5000", "--seed", "0", "-o", out)[0] == 0
    new = pd.read_csv(out)
    assert not (new["temp_min"] > new["temp_max"]).any()
    code, _, err = run(
        capsys, "fit", data, "--label-column", "sky", "--orders", "ignore", "-o", model
    )
    assert code == 0 and "samples keep" not in err
    code, text, _ = run(capsys, "inspect", model)
    assert "orders every training row keeps" not in text


@pytest.mark.parametrize("chunks", [[], ["--chunk-rows", "20"]], ids=["in memory", "streamed"])
def test_a_bad_cell_after_a_dropped_label_is_named_by_its_row_in_the_file(
    table_csv, tmp_path, capsys, chunks
):
    frame = pd.read_csv(table_csv)
    frame["height_m"] = frame["height_m"].astype(object)
    frame.loc[22, "kind"] = np.nan  # data row 23, left out
    frame.loc[25, "height_m"] = "tall"  # data row 26: the file's line 27
    bad = tmp_path / "gaps.csv"
    frame.to_csv(bad, index=False)
    model = tmp_path / "m.bgm"
    code, _, err = run(
        capsys, "fit", bad, "--label-column", "kind", "--drop-missing-labels", *chunks, "-o", model
    )
    assert code == 1 and "data row 26 holds 'tall'" in err and not model.exists()


def test_impute_takes_unknown_categories_as_empty_cells_when_asked(table_csv, tmp_path, capsys):
    model, rows, out = tmp_path / "m.bgm", tmp_path / "rows.csv", tmp_path / "out.csv"
    assert run(capsys, "fit", table_csv, "-o", model)[0] == 0
    frame = pd.read_csv(table_csv).head(20)
    frame.loc[3, "soil"] = "peat"  # never seen
    frame.to_csv(rows, index=False)
    code, _, err = run(capsys, "impute", model, "--input", rows, "-o", out)
    assert code == 1 and "data row 4 holds 'peat'" in err and "--unknown missing" in err
    assert "set_params" not in err  # Python's way is not the command line's
    assert not out.exists()
    code, _, err = run(capsys, "impute", model, "--input", rows, "--unknown", "missing", "-o", out)
    assert code == 0, err
    assert pd.read_csv(out).loc[3, "soil"] in ("clay", "sand", "loam")


def test_a_class_of_one_row_is_refused_once_with_what_to_do(table_csv, tmp_path, capsys):
    frame = pd.read_csv(table_csv)
    frame.loc[0, "kind"] = "solo"
    data, model = tmp_path / "solo.csv", tmp_path / "m.bgm"
    frame.to_csv(data, index=False)
    code, _, err = run(capsys, "fit", data, "-o", model)
    assert code == 1 and "class 'solo' has 1 row and" in err and not model.exists()
    assert err.count("needs at least 2 rows") == 1  # one reason, not one per candidate
    assert "add rows of that class, or leave its rows out" in err
