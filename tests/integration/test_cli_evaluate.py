"""`bayesgen evaluate` and `bayesgen report` end to end: a model fitted through the CLI,
judged on real data files; bad input included."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest

from bayesgen import io as bio
from bayesgen import load
from bayesgen.cli import main

N = "300"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(path):
    """Parse JSON, refusing NaN/Infinity (they are not JSON)."""

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """sklearn digits (8x8) as NPZ train/test files, a CSV copy and a fitted model."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("digits")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    paths = {
        "train": folder / "train.npz",
        "test": folder / "test.npz",
        "test_csv": folder / "test.csv",
        "narrow": folder / "narrow.npz",
        "model": folder / "model.bgm",
    }
    bio.write_labelled(paths["train"], X[:1200], y[:1200], image_shape=(8, 8), pixel_scale=16)
    bio.write_labelled(paths["test"], X[1200:], y[1200:], image_shape=(8, 8), pixel_scale=16)
    bio.write_labelled(paths["test_csv"], X[1200:], y[1200:])
    bio.write_labelled(paths["narrow"], X[1200:, :63], y[1200:])
    code = main(
        [
            "fit",
            str(paths["train"]),
            "--density",
            "gaussian",
            "--reg-covar",
            "0.05",
            "-o",
            str(paths["model"]),
        ]
    )
    assert code == 0
    return paths


@pytest.fixture(scope="module")
def evaluated(files, tmp_path_factory):
    """One `bayesgen evaluate` run with --train, -n 300, --seed 3 and --json."""
    out_json = tmp_path_factory.mktemp("evaluate") / "metrics.json"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(
            [
                "evaluate",
                str(files["model"]),
                "--real",
                str(files["test"]),
                "--train",
                str(files["train"]),
                "-n",
                N,
                "--seed",
                "3",
                "--json",
                str(out_json),
            ]
        )
    return {
        "code": code,
        "stdout": stdout.getvalue(),
        "stderr": stderr.getvalue(),
        "json": out_json,
    }


def test_evaluate_prints_the_table_and_writes_json(files, evaluated):
    code, out, err = evaluated["code"], evaluated["stdout"], evaluated["stderr"]
    out_json = evaluated["json"]
    assert code == 0, err
    assert "metric" in out and "real-vs-real floor" in out and "unit" in out
    for name in (
        "label fidelity",
        "TSTR",
        "Frechet distance (pca-50)",
        "precision (k=3",
        "coverage (k=5",
        "NDB/K",
        "exact copies",
    ):
        assert name in out, name
    payload = strict_json(out_json)
    settings = payload["settings"]
    assert settings["feature_space"] == "pca-50"
    assert settings["k_precision_recall"] == 3 and settings["k_density_coverage"] == 5
    assert settings["n"] == 300 and settings["n_generated"] == 300 and settings["seed"] == 3
    assert settings["reference_training"] == "X_train"
    assert payload["inputs"]["n_real_rows"] == 597 and payload["inputs"]["n_train_rows"] == 1200
    metrics = payload["metrics"]
    for key in (
        "log_likelihood",
        "classification",
        "label_fidelity",
        "tstr",
        "frechet",
        "frechet_floor",
        "precision_recall",
        "density_coverage",
        "ndb",
        "ndb_floor",
        "memorisation",
    ):
        assert metrics[key] is not None, key
    # the table in the JSON is the table on stdout
    for row in payload["table"]:
        assert row["metric"] in out and set(row) == {"metric", "generated", "floor", "unit"}
        assert row["generated"] is None or math.isfinite(row["generated"])
    # numbers agree with a direct library computation
    model = load(files["model"])
    test = bio.read_labelled(files["test"])
    accuracy = metrics["classification"]["accuracy"]
    assert accuracy == pytest.approx(model.score(test.X, test.y))
    assert metrics["log_likelihood"]["mean_log_likelihood"] == pytest.approx(
        float(np.mean(model.score_samples(test.X)))
    )
    assert metrics["log_likelihood"]["pixel_scale"] == 16


def test_evaluate_without_train_in_mlp_space_warns_about_scale(files, tmp_path, capsys):
    out_json = tmp_path / "m.json"
    code, out, err = run(
        capsys,
        "evaluate",
        files["model"],
        "--real",
        files["test_csv"],
        "-n",
        "200",
        "--feature-space",
        "mlp-hidden",
        "--json",
        out_json,
    )
    assert code == 0, err
    assert "warning" in err and "pixel scale" in err  # CSV copy lost the 1/16 scaling note
    assert "Frechet distance (mlp-hidden-128)" in out
    payload = strict_json(out_json)
    assert payload["settings"]["feature_space"] == "mlp-hidden-128"
    assert payload["settings"]["feature_space_requested"] == "mlp-hidden-128"
    assert "half of X_test" in payload["settings"]["reference_training"]
    assert payload["metrics"]["memorisation"] is None


def test_report_writes_one_self_contained_page(files, evaluated, tmp_path, capsys):
    page = tmp_path / "report.html"
    code, out, err = run(
        capsys,
        "report",
        files["model"],
        "--real",
        files["test"],
        "--train",
        files["train"],
        "-n",
        N,
        "--seed",
        "3",
        "--title",
        "Digits & <co>",
        "-o",
        page,
    )
    assert code == 0, err
    # same data, same seed: the very numbers `evaluate` printed (evaluate is deterministic)
    assert out.strip() in evaluated["stdout"]
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert text.count('src="data:image/png;base64,') == 30
    assert "Digits &amp; &lt;co&gt;" in text
    for section in (
        'id="metrics"',
        'id="samples"',
        'id="per-class"',
        'id="confusion"',
        'id="settings"',
    ):
        assert section in text
    assert "Frechet distance (pca-50)" in out  # the table is printed too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_feature_count_mismatch_exits_1_with_both_numbers(files, tmp_path, capsys):
    out_json = tmp_path / "m.json"
    out_json.write_text("old")
    code, out, err = run(
        capsys, "evaluate", files["model"], "--real", files["narrow"], "--json", out_json
    )
    assert code == 1
    assert "63" in err and "64" in err and "features" in err
    assert out_json.read_text() == "old"  # an existing output is left untouched
    page = tmp_path / "r.html"
    code, _, err = run(
        capsys,
        "report",
        files["model"],
        "--real",
        files["test"],
        "--train",
        files["narrow"],
        "-o",
        page,
    )
    assert code == 1 and "63" in err and "64" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_missing_inputs_and_output_folders_exit_1_and_leave_nothing(files, tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    for argv in (
        ["evaluate", files["model"], "--real", missing, "--json", tmp_path / "a.json"],
        ["evaluate", files["model"], "--real", files["test"], "--train", missing],
        ["report", files["model"], "--real", missing, "-o", tmp_path / "r.html"],
        ["evaluate", tmp_path / "none.bgm", "--real", files["test"]],
        # output folders are checked before any work
        ["evaluate", files["model"], "--real", files["test"], "--json", tmp_path / "no" / "m.json"],
        ["report", files["model"], "--real", files["test"], "-o", tmp_path / "no" / "r.html"],
        ["report", files["model"], "--real", files["test"], "-o", tmp_path],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 1, argv
        assert err.startswith(f"bayesgen {argv[0]}: error:"), err
        assert "Traceback" not in err
    assert "nope.csv" in run(capsys, "evaluate", files["model"], "--real", missing)[2]
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_2(files, capsys):
    assert run(capsys, "evaluate", files["model"])[0] == 2  # --real is required
    code, _, err = run(
        capsys, "evaluate", files["model"], "--real", files["test"], "--feature-space", "inception"
    )
    assert code == 2 and "pca-<k>" in err
    assert run(capsys, "evaluate", files["model"], "--real", files["test"], "-n", "0")[0] == 2
    assert run(capsys, "report", files["model"], "--real", files["test"])[0] == 2  # no -o
