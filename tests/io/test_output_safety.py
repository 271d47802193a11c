"""Safe outputs of the library: text made safe for a terminal, CSV cells a spreadsheet would
run as formulas, sizes that cannot fit their format, and temporaries of killed writers."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bayesgen import BayesClassifier, DataError, streaming
from bayesgen import io as bio
from bayesgen.base import atomic
from bayesgen.base.validation import format_label, label_text, safe_text
from bayesgen.io import limits
from bayesgen.io.csv_writer import formula_safe

HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]


# ------------------------------------------------------------------------- terminal text


@pytest.mark.parametrize(
    "text, shown",
    [
        ("\x1b[2Jcls", "\\x1b[2Jcls"),
        ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b31m osc\x9d", "csi\\x9b31m osc\\x9d"),
        ("\u202eabc\u2066x\u2069", "\\u202eabc\\u2066x\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
    ],
)
def test_safe_text_shows_what_a_terminal_would_act_on(text, shown):
    assert safe_text(text) == shown
    assert safe_text(shown) == shown  # escaping twice changes nothing


def test_safe_text_keeps_ordinary_text():
    for text in ("Adélie", "東京", "Ünïcödé ✓", "=SUM(A1)", "a\\x1b"):
        assert safe_text(text) == text


def test_labels_are_formatted_safely():
    label = np.str_("\x1b[31mred\n")
    assert format_label(label) == "'\\x1b[31mred\\n'"
    assert label_text(label) == "\\x1b[31mred\\n"
    assert label_text(label, raw=True) == "\x1b[31mred\n"
    assert format_label(np.int64(7)) == "7" and label_text(np.int64(7)) == "7"


@pytest.mark.parametrize("label", ["\x1b[2Ja", "a\nb", "\u202ecba"])
def test_an_image_folder_refuses_labels_a_terminal_would_act_on(tmp_path, label):
    with pytest.raises(DataError, match="cannot be a folder name") as caught:
        bio.write_labelled(
            tmp_path / "imgs", np.zeros((2, 4)), np.array([label, "ok"]), image_shape=(2, 2)
        )
    assert safe_text(str(caught.value)) == str(caught.value)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------- CSV formulas


@pytest.mark.parametrize("cell", [*HOSTILE, "\tx", "\rx", "-", "+", "-inf", "--x", "=1"])
def test_cells_that_start_like_a_formula_get_a_quote(cell):
    assert formula_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-1.5", "+3", "-0", "-.5", "-1e-5", "+2E10", "cat", "", "'=x"])
def test_numbers_and_plain_text_are_unchanged(cell):
    assert formula_safe(cell) == cell


def _written_cells(path):
    import csv

    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_csv_writer_neutralises_header_and_labels(tmp_path):
    path = tmp_path / "out.csv"
    X = np.arange(8.0).reshape(4, 2) - 3.5
    y = np.array(HOSTILE)
    bio.write_labelled(path, X, y, feature_names=HOSTILE[:2], label_column=HOSTILE[3])
    rows = _written_cells(path)
    assert rows[0] == ["'" + HOSTILE[3], "'" + HOSTILE[0], "'" + HOSTILE[1]]
    assert [r[0] for r in rows[1:]] == ["'" + c for c in HOSTILE]
    assert rows[1][1:] == ["-3.5", "-2.5"]  # negative numbers stay numbers


def test_csv_writer_keeps_formulas_when_asked(tmp_path):
    path = tmp_path / "out.csv"
    y = np.array(HOSTILE)
    bio.write_labelled(
        path, np.zeros((4, 2)), y, feature_names=HOSTILE[:2], label_column="y", keep_formulas=True
    )
    rows = _written_cells(path)
    assert rows[0] == ["y", *HOSTILE[:2]] and [r[0] for r in rows[1:]] == HOSTILE


@pytest.mark.parametrize("name", ["plain.csv", "plain.tsv", "plain.csv.gz"])
def test_normal_csv_round_trip_is_unchanged(tmp_path, name):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.array(["a", "b-c", "d"] * 10)
    safe, raw = tmp_path / name, tmp_path / ("raw-" + name)
    bio.write_labelled(safe, X, y, feature_names=["f", "g-1", "h"])
    bio.write_labelled(raw, X, y, feature_names=["f", "g-1", "h"], keep_formulas=True)
    back = bio.read_labelled(safe)
    assert np.array_equal(back.X, X) and list(back.y) == list(y)
    assert back.feature_names == ["f", "g-1", "h"]
    assert bio.read_labelled(raw).X.tobytes() == back.X.tobytes()


def test_chunked_csv_neutralises_every_chunk(tmp_path):
    path = tmp_path / "chunks.csv"
    with bio.open_chunked_writer(path, feature_names=["=a"], label_column="l") as writer:
        writer.write(np.ones((2, 1)), np.array(["=x", "ok"]))
        writer.write(np.ones((1, 1)), np.array(["@y"]))
    assert [r[0] for r in _written_cells(path)] == ["l", "'=x", "ok", "'@y"]


def test_table_writer_neutralises_text_cells_and_names(tmp_path):
    frame = pd.DataFrame(
        {
            HOSTILE[0]: [1.5, -2.0],
            "kind": pd.Categorical(["=1+1", "-1.5"]),
            "note": ["@x", None],
            "count": pd.array([-3, None], dtype="Int64"),
        }
    )
    path = tmp_path / "t.csv"
    bio.write_table(frame, path, y=np.array(["+y", "ok"]), label_column="label")
    rows = _written_cells(path)
    assert rows[0] == ["label", "'" + HOSTILE[0], "kind", "note", "count"]
    assert rows[1] == ["'+y", "1.5", "'=1+1", "'@x", "-3"]
    assert rows[2] == ["ok", "-2.0", "-1.5", "", ""]
    bio.write_table(frame, path, y=np.array(["+y", "ok"]), keep_formulas=True)
    assert _written_cells(path)[1] == ["+y", "1.5", "=1+1", "@x", "-3"]


def test_normal_table_round_trip_is_unchanged(tmp_path):
    frame = pd.DataFrame({"x": [1.25, -0.5, 3.0], "kind": ["a", "b", "a"]})
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    bio.write_table(frame, safe, y=np.array(["p", "q", "p"]))
    bio.write_table(frame, raw, y=np.array(["p", "q", "p"]), keep_formulas=True)
    assert safe.read_bytes() == raw.read_bytes()
    assert bio.read_frame(safe).equals(pd.read_csv(raw))


# ------------------------------------------------------------------------- sizes


def _nothing_written(folder, *names):
    left = sorted(p.name for p in folder.iterdir())
    assert not [n for n in left if n in names or n.endswith(".tmp")], left


def test_a_png_grid_has_an_image_limit(tmp_path):
    n = limits.MAX_GRID_IMAGES + 1
    with pytest.raises(DataError, match=f"at most {limits.MAX_GRID_IMAGES:,} images.*{n:,}"):
        bio.write_labelled(
            tmp_path / "g.png", np.zeros((n, 4)), np.zeros(n, int), image_shape=(2, 2)
        )
    _nothing_written(tmp_path, "g.png")


def test_an_image_folder_has_a_file_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FOLDER_IMAGES", 5)
    with pytest.raises(DataError, match="at most 5 PNG files.*6 were asked"):
        bio.write_labelled(
            tmp_path / "imgs", np.zeros((6, 4)), np.zeros(6, int), image_shape=(2, 2)
        )
    _nothing_written(tmp_path, "imgs")


def test_rows_held_whole_must_fit_in_memory(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 10**6)
    with pytest.raises(DataError, match=r"1,000,000 rows x 10 values need about 76.3 MiB.*memory"):
        limits.check_in_memory(10**6, 10, where="out")
    limits.check_in_memory(1000, 10, where="out")  # 80 kB fits
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    with pytest.raises(DataError, match="limit for outputs written whole"):
        limits.check_in_memory(10**12, 784, where="out")


def test_available_memory_is_a_positive_number_or_unknown():
    found = limits.available_memory()
    assert found is None or found > 0


@pytest.mark.parametrize("name", ["big.csv", "big.npz", "big.parquet", "big.csv.gz"])
def test_a_streamed_file_must_fit_on_its_disk(tmp_path, name):
    with pytest.raises(DataError, match=r"10,000,000,000,000 rows need at least about .*free"):
        bio.check_output_size(tmp_path / name, 10**13, 784)
    bio.check_output_size(tmp_path / name, 100, 784)


def test_write_samples_refuses_a_file_bigger_than_the_disk_before_drawing(tmp_path):
    rng = np.random.default_rng(0)
    model = BayesClassifier().fit(rng.normal(size=(40, 3)), np.repeat([0, 1], 20))
    with pytest.raises(DataError, match="on disk"):
        streaming.write_samples(model, 10**15, tmp_path / "huge.csv")
    _nothing_written(tmp_path, "huge.csv")


def test_write_labelled_checks_the_disk_of_a_streamed_file(tmp_path, monkeypatch):
    class Usage:
        free = 1000

    monkeypatch.setattr(limits.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(DataError, match="only 1000 B is free"):
        bio.write_labelled(tmp_path / "a.csv", np.zeros((100, 4)), np.zeros(100, int))
    _nothing_written(tmp_path, "a.csv")


# ------------------------------------------------------------------------- stale temporaries


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def _plant(folder, target: str, pid: int):
    """A file and a folder temporary of ``target`` left by process ``pid``."""
    stale_file = folder / f".{target}.{pid}-0badf00d.tmp"
    stale_file.write_bytes(b"left behind")
    stale_dir = folder / f".{target}.{pid}-0badcafe.tmp"
    stale_dir.mkdir()
    (stale_dir / "part").write_bytes(b"x")
    return stale_file, stale_dir


def _write_csv(path):
    bio.write_labelled(path, np.zeros((2, 2)), np.array([0, 1]))


def _write_npz(path):
    bio.write_labelled(path, np.zeros((2, 2)), np.array([0, 1]))


def _write_folder(path):
    bio.write_labelled(path, np.zeros((2, 4)), np.array([0, 1]), image_shape=(2, 2))


def _write_table(path):
    bio.write_table(pd.DataFrame({"x": [1.0, 2.0]}), path, y=np.array(["a", "b"]))


def _write_model(path):
    BayesClassifier().fit(np.arange(8.0).reshape(4, 2) ** 2, [0, 0, 1, 1]).save(path)


def _write_stream(path):
    model = BayesClassifier().fit(np.arange(8.0).reshape(4, 2) ** 2, [0, 0, 1, 1])
    streaming.write_samples(model, 10, path, random_state=0)


@pytest.mark.parametrize(
    "name, write",
    [
        ("out.csv", _write_csv),
        ("out.npz", _write_npz),
        ("imgs", _write_folder),
        ("table.csv", _write_table),
        ("model.bgm", _write_model),
        ("stream.csv", _write_stream),
    ],
)
def test_a_new_write_removes_the_temporaries_of_dead_writers(tmp_path, name, write):
    dead = _plant(tmp_path, name, _dead_pid())
    alive = _plant(tmp_path, name, os.getppid())  # a live process's work is left alone
    write(tmp_path / name)
    assert (tmp_path / name).exists()
    assert not any(p.exists() for p in dead)
    assert all(p.exists() for p in alive)
    for p in alive:
        atomic.discard(p)
