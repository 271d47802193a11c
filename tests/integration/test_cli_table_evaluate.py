"""`bayesgen evaluate` and `bayesgen report` on a model fitted to a table: the table metrics
(KS/TV, association, TSTR, distance to closest record) beside their floors, and a page with
one figure per column."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from bayesgen.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fitted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 400
    kind = rng.choice(["oak", "pine", "elm"], size=n)
    frame = pd.DataFrame(
        {
            "height_m": np.round(
                rng.normal(pd.Series(kind).map({"oak": 20, "pine": 30, "elm": 25}), 3), 1
            ),
            "soil": rng.choice(["clay", "sand", "loam"], size=n),
            "planted": (
                pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
            ).strftime("%Y-%m-%d"),
            "kind": kind,
        }
    )
    frame.loc[rng.random(n) < 0.05, "soil"] = np.nan
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.iloc[:300].to_csv(train, index=False)
    frame.iloc[300:].to_csv(test, index=False)
    model = tmp_path / "m.bgm"
    assert run(capsys, "fit", train, "-o", model)[0] == 0
    return model, train, test


def test_evaluate_prints_table_metrics_beside_floors(fitted, tmp_path, capsys):
    model, train, test = fitted
    out_json = tmp_path / "ev.json"
    code, out, err = run(
        capsys, "evaluate", model, "--real", test, "--train", train, "--json", out_json
    )
    assert code == 0, err
    for metric in ("TV: soil", "KS: height_m", "KS: planted", "TSTR balanced accuracy"):
        assert metric in out
    payload = json.loads(out_json.read_text())
    names = {row["metric"] for row in payload["table"]}
    assert "median distance to closest train row" in names
    assert payload["metrics"]["settings"]["label"] == "kind"  # from the model's metadata
    columns = {c["name"]: c for c in payload["metrics"]["columns"]}
    assert set(columns) == {"height_m", "soil", "planted"}
    # the model learnt the class-dependent heights: its KS is near the real floor
    assert columns["height_m"]["value"] < columns["height_m"]["floor"] + 0.15


def test_evaluate_without_train_splits_the_real_rows(fitted, capsys):
    model, _train, test = fitted
    code, out, err = run(capsys, "evaluate", model, "--real", test)
    assert code == 0, err
    assert "half of the --real rows stand in for the training rows" in out


def test_report_draws_every_column_by_class(fitted, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model, train, test = fitted
    page = tmp_path / "r.html"
    code, _, err = run(capsys, "report", model, "--real", test, "--train", train, "-o", page)
    assert code == 0, err
    html = page.read_text()
    images = re.findall(r'data:image/png;base64,([^"]+)"', html)
    # a figure per column, and no scatter: a single numeric column makes no pair
    assert len(images) == 3
    assert all(base64.b64decode(b).startswith(b"\x89PNG") for b in images)
    for name in ("height_m", "soil", "planted", "oak", "pine", "elm"):
        assert name in html
    assert "<script" not in html
