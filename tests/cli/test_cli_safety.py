"""Safe outputs of the command line: hostile text from a model or data file never reaches the
terminal raw, CSV outputs neutralise formulas, an output may not be an input, sizes that
cannot fit are refused up front, and SIGTERM/SIGINT leave no temporary behind."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesgen import BayesClassifier, DataError
from bayesgen import io as bio
from bayesgen.cli import main

#: What a terminal acts on: C0 controls but the line feed, DEL, C1 controls, bidi marks.
RAW_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LABELS = ["\x1b[2J\x1b]0;pwned\x07cls", '=HYPERLINK("http://evil","x")', "\u202eabc", "ok\x9b31m"]
META_NAMES = ['=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0", "@SUM(1+1)"]
SOURCE = "\x1b]8;;http://evil\x07click\x1b]8;;\x07"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A numeric model whose labels and metadata hold escapes, bidi marks and formulas."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    model = BayesClassifier("gaussian").fit(rng.normal(size=(80, 3)), np.repeat(LABELS, 20))
    path = folder / "hostile.bgm"
    metadata = {
        "source": SOURCE,
        "source_format": "csv",
        "n_rows": 80,
        "feature_names": META_NAMES,
        "label_column": "-2+3+cmd|x",
        "image_shape": None,
        "pixel_scale": None,
    }
    model.save(path, metadata=metadata)
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A model of 4x4 images (16 features) and its data file."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(1)
    data = folder / "images.npz"
    bio.write_labelled(
        data, rng.uniform(size=(60, 16)), np.repeat([0, 1, 2], 20), image_shape=(4, 4)
    )
    model = folder / "images.bgm"
    assert main(["fit", str(data), "--reg-covar", "0.01", "-o", str(model)]) == 0
    return data, model


@pytest.fixture(scope="module")
def hostile_table(tmp_path_factory):
    """A table whose column names, categories and labels are hostile, and its model."""
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "=cmd|' /C calc'!A0": rng.normal(size=60),
            "b\x1b[31m": rng.normal(size=60),
            "cat": ["=1+1", "@x", "-1.5"] * 20,
            "label": ["\x1b[2Jx", "+y", "\u202ez"] * 20,
        }
    )
    data = folder / "table.csv"
    frame.to_csv(data, index=False)
    return data


def assert_terminal_safe(*texts):
    for text in texts:
        assert not RAW_CONTROLS.search(text), repr(text)


# ------------------------------------------------------------------------- terminal text


def test_inspect_shows_hostile_labels_and_metadata_escaped(hostile, capsys):
    code, out, err = run(capsys, "inspect", hostile)
    assert code == 0, err
    assert_terminal_safe(out, err)
    assert "\\x1b[2J\\x1b]0;pwned\\x07cls" in out and "\\u202eabc" in out and "ok\\x9b31m" in out
    assert "fitted on:    \\x1b]8;;http://evil\\x07click" in out
    assert len(out.splitlines()) == 11  # no label can add a line


def test_inspect_json_keeps_the_labels_and_escapes_them_itself(hostile, capsys):
    code, out, _ = run(capsys, "inspect", hostile, "--json")
    assert code == 0
    assert out.isascii() and not RAW_CONTROLS.search(out)
    info = json.loads(out)
    assert [c["label"] for c in info["classes"]] == sorted(LABELS)
    assert info["data"]["source"] == SOURCE


def test_a_table_model_is_fitted_inspected_and_sampled_without_raw_escapes(
    hostile_table, tmp_path, capsys
):
    model = tmp_path / "t.bgm"
    code, out, err = run(capsys, "fit", hostile_table, "-o", model)
    assert code == 0, err
    texts = [out, err]
    code, out, err = run(capsys, "inspect", model)
    assert code == 0 and "b\\x1b[31m" in out and "\\x1b[2Jx" in out
    texts += [out, err]
    code, out, err = run(capsys, "sample", model, "-n", "2", "--label", "nope", "-o", "s.csv")
    assert code == 2 and "\\x1b[2Jx" in err
    assert_terminal_safe(*texts, out, err)


def test_error_messages_are_escaped(monkeypatch, capsys):
    def fails(path):
        raise DataError("label '\x1b[2J' in \u202efile\nfake line")

    monkeypatch.setattr("bayesgen.cli.inspect.load_model", fails)
    code, _, err = run(capsys, "inspect", "m.bgm")
    assert code == 1
    assert err == "bayesgen inspect: error: label '\\x1b[2J' in \\u202efile\\nfake line\n"


def test_check_prints_hostile_labels_escaped(tmp_path, capsys):
    rng = np.random.default_rng(3)
    data = tmp_path / "d.csv"
    bio.write_labelled(data, rng.normal(size=(40, 2)), np.repeat(["\x1b[2Ja", "\u202eb"], 20))
    code, out, err = run(capsys, "check", data, "--out", tmp_path / "check")
    assert code == 0, err
    assert_terminal_safe(out, err)
    assert "\\x1b[2Ja" in out


# ------------------------------------------------------------------------- CSV formulas


def _cells(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_sample_neutralises_formulas_from_the_model(hostile, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert run(capsys, "sample", hostile, "-n", "50", "--seed", "0", "-o", out)[0] == 0
    rows = _cells(out)
    assert rows[0] == ["'-2+3+cmd|x", *("'" + n for n in META_NAMES)]
    assert "'" + LABELS[1] in {r[0] for r in rows[1:]}
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    code, text, _ = run(capsys, "sample", hostile, "-n", "50", "--seed", "0", "-o", "-")
    assert code == 0 and text == out.read_text()


def test_keep_formulas_writes_cells_as_they_are(hostile, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert run(capsys, "sample", hostile, "-n", "5", "--keep-formulas", "-o", out)[0] == 0
    assert _cells(out)[0] == ["-2+3+cmd|x", *META_NAMES]
    code, help_text, _ = run(capsys, "sample", "--help")
    assert "--keep-formulas" in help_text and "spreadsheet" in help_text


def test_table_outputs_neutralise_formulas(hostile_table, tmp_path, capsys):
    model = tmp_path / "t.bgm"
    assert run(capsys, "fit", hostile_table, "-o", model)[0] == 0
    out = tmp_path / "s.csv"
    assert run(capsys, "sample", model, "-n", "30", "--seed", "0", "-o", out)[0] == 0
    rows = _cells(out)
    assert rows[0][0] == "'=cmd|' /C calc'!A0"
    assert {r[2] for r in rows[1:]} <= {"'=1+1", "'@x", "-1.5"}
    assert {r[3] for r in rows[1:]} <= {"\x1b[2Jx", "'+y", "\u202ez"}
    code, text, _ = run(capsys, "sample", model, "-n", "30", "--seed", "0", "-o", "-")
    assert code == 0 and text == out.read_text()
    split = [tmp_path / "train.csv", tmp_path / "test.csv"]
    assert run(capsys, "split", hostile_table, "-o", *split)[0] == 0
    assert _cells(split[0])[0][0] == "'=cmd|' /C calc'!A0"
    assert run(capsys, "split", hostile_table, "--keep-formulas", "-o", *split)[0] == 0
    assert _cells(split[0])[0][0] == "=cmd|' /C calc'!A0"


# ------------------------------------------------------------------------- same file


def test_fit_refuses_to_overwrite_its_data(images, tmp_path, capsys):
    data = tmp_path / "train.csv"
    bio.write_labelled(data, *bio.read_labelled(images[0]))
    before = data.read_bytes()
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    for source, out in [
        (data, data),
        (data, tmp_path / "." / "train.csv"),
        (tmp_path / "link.csv", data),
        (data, tmp_path / "link.csv"),
        (tmp_path / "hard.csv", data),
    ]:
        code, _, err = run(capsys, "fit", source, "-o", out)
        assert code == 2, err
        assert f"-o {out} is the same file as DATA {source}" in err and "-o model.bgm" in err
    assert data.read_bytes() == before


def test_commands_refuse_an_output_that_is_an_input(images, tmp_path, capsys):
    data, model = images
    copy = tmp_path / "m.csv"
    copy.write_bytes(model.read_bytes())
    before = copy.read_bytes()
    cases = [
        (["sample", copy, "-n", "5", "-o", copy], "MODEL"),
        (["plot", copy, "-o", copy], "MODEL"),
        (["inpaint", model, "--input", data, "-o", data], "--input"),
        (["inpaint", copy, "--input", data, "-o", copy], "MODEL"),
        (["resample", copy, "-o", copy], "DATA"),
        (["split", data, "-o", data, tmp_path / "t.npz"], "DATA"),
        (["check", tmp_path / "check.json", "--out", tmp_path], "DATA"),
    ]
    (tmp_path / "check.json").write_bytes(data.read_bytes())
    for argv, named in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2 and f"same file as {named}" in err, (argv, err)
    assert copy.read_bytes() == before


def test_impute_refuses_to_overwrite_its_input(hostile_table, tmp_path, capsys):
    table = tmp_path / "in.csv"
    table.write_bytes(hostile_table.read_bytes())
    code, _, err = run(capsys, "impute", "any.bgm", "--input", table, "-o", table)
    assert code == 2 and "same file as --input" in err and "-o completed.csv" in err


# ------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    "n, output, words",
    [
        (10**12, "big.png", ["at most 2,000 images", "1,000,000,000,000 were asked"]),
        (10**6, "folder", ["at most 100,000 PNG files", "1,000,000 were asked"]),
        (10**15, "huge.csv", ["rows need at least about", "free"]),
        (10**15, "huge.parquet", ["rows need at least about", "free"]),
    ],
)
def test_sizes_that_cannot_fit_are_refused_at_once(images, tmp_path, capsys, n, output, words):
    started = time.perf_counter()
    code, _, err = run(capsys, "sample", images[1], "-n", n, "-o", tmp_path / output)
    assert code == 1, err
    assert time.perf_counter() - started < 5
    assert "Traceback" not in err and all(w in err for w in words), err
    assert not list(tmp_path.iterdir())


def test_a_table_sample_must_fit_in_memory(hostile_table, tmp_path, capsys):
    model = tmp_path / "t.bgm"
    assert run(capsys, "fit", hostile_table, "-o", model)[0] == 0
    code, _, err = run(capsys, "sample", model, "-n", 10**14, "-o", tmp_path / "s.csv")
    assert code == 1 and "in memory" in err and "100,000,000,000,000 rows" in err


def test_plot_grid_has_an_image_limit(images, tmp_path, capsys):
    code, _, err = run(capsys, "plot", images[1], "-n", 10**9, "-o", tmp_path / "g.png")
    assert code == 1 and "at most 2,000 images" in err


# ------------------------------------------------------------------------- signals


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "output, n, sig, code",
    [
        ("big.csv", 10**7, signal.SIGTERM, 143),
        ("big.parquet", 10**7, signal.SIGTERM, 143),
        ("bigfolder", 90_000, signal.SIGTERM, 143),
        ("big.csv", 10**7, signal.SIGINT, 130),
    ],
)
def test_a_stopped_sample_leaves_no_temporary(images, tmp_path, output, n, sig, code):
    if output.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    argv = [sys.executable, "-m", "bayesgen", "sample", str(images[1]), "-n", str(n)]
    proc = subprocess.Popen(
        [*argv, "-o", str(tmp_path / output)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        # a suite started in the background (``pytest &`` in a script) passes SIGINT on as
        # ignored, and Python then leaves it ignored: give the command the default, as a
        # terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        # generous limits: on a loaded 2-core machine this failed twice in full-suite runs
        # (not reproduced alone); the messages say which step was slow
        deadline = time.monotonic() + 90
        while not _temporaries(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _temporaries(tmp_path), f"the writer never started (exit {proc.poll()})"
        time.sleep(0.3)  # let it write into the temporary
        proc.send_signal(sig)
        try:
            returned = proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail("the command did not stop within 90 s of the signal")
        assert returned == code, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not list(tmp_path.iterdir())


def test_a_model_save_stopped_by_sigterm_leaves_no_temporary(images, tmp_path, capsys, monkeypatch):
    real_replace = os.replace

    def terminated_while_saving(src, dst):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler raises here, before the move
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", terminated_while_saving)
    code, _, err = run(capsys, "fit", images[0], "-o", tmp_path / "m.bgm")
    assert code == 143 and "terminated" in err
    assert not list(tmp_path.iterdir())
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is restored
