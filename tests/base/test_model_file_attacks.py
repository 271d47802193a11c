"""Crafted hostile model files (issue 17): every attack class is defused.

Each test builds the small files of one class of the issue's findings with
``crafted_models`` (next to this file), then opens all of them in one child process that
imports bayesgen once, limited to 3 GiB of address space and a minute of CPU (the hang
guards), with an alarm per file.  A file is defused when ``bayesgen.load`` raises
:class:`ModelFileError` whose message names the problem, ``bayesgen inspect`` exits 1 with
that message and no traceback, each takes under ``STEP_SECONDS``, and the child's peak
resident memory stays within ``PEAK_MARGIN_MIB`` of a child that only imports bayesgen
(the old loader took 1.7-3.8 GB on most of these files; see
``benchmarks/model_file_attacks.py`` for the before/after table).

Problems are collected over all files of a class and reported together, so one failing
file does not hide the others.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import crafted_models as cm
import pytest

#: seconds one load or command may take (a defused file is refused in milliseconds; the
#: margin is for a loaded 2-core machine)
STEP_SECONDS = 10
#: a child may use this much more resident memory than one that only imports bayesgen (a
#: fixed loader needs about 60 MiB more at most: the 63 MB manifest's text, one 32 MB array;
#: the old one needed 1.5-3.6 GB more on most files)
PEAK_MARGIN_MIB = 256
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@pytest.fixture(scope="module")
def baseline_mib() -> float:
    """Peak resident memory of a child that imports bayesgen (its CLI) and scipy.stats."""
    run, _ = cm.probe_steps([])
    assert run.rc == 0, run.stderr
    return run.peak_mib


def _probe(steps: list[dict], cwd=None):
    return cm.probe_steps(steps, step_seconds=2 * STEP_SECONDS, cwd=cwd)


def _child_problems(run: cm.Run, baseline: float) -> list[str]:
    """What is wrong with how the child as a whole ended."""
    problems = []
    if run.timed_out or run.rc != 0:
        why = "timed out" if run.timed_out else f"exited with {run.rc}"
        if run.rc < 0 and not run.timed_out:  # SIGXCPU: the CPU limit
            why = f"was killed by {signal.Signals(-run.rc).name}"
        problems.append(f"the child {why} (hang guard): {run.stderr[-2000:]}")
    if run.peak_mib > baseline + PEAK_MARGIN_MIB:
        problems.append(
            f"peak resident memory {run.peak_mib:,.0f} MiB, above {baseline:,.0f} MiB "
            f"(importing bayesgen) + {PEAK_MARGIN_MIB} MiB"
        )
    return problems


def _step_problems(records: dict, step_id: str) -> tuple[dict | None, list[str]]:
    """The record of a step, or why there is none; and whether it hung or ran too long."""
    record = records.get(step_id)
    if record is None:
        return None, [f"{step_id}: did not finish (the child was stopped before)"]
    if record["outcome"] == "overtime":
        return None, [f"{step_id}: still running after {2 * STEP_SECONDS} s"]
    if record["seconds"] > STEP_SECONDS:
        return record, [f"{step_id}: took {record['seconds']:.1f} s (at most {STEP_SECONDS})"]
    return record, []


def _refusal_steps(files: dict[str, Path], *extra: tuple[str, list[str]]) -> list[dict]:
    """Load each file with the library and inspect it with the CLI; ``extra`` adds
    ``(file name, argv after the file)`` commands, e.g. sampling."""
    steps = []
    for name, path in files.items():
        steps.append({"id": f"load {name}", "load": str(path)})
        steps.append({"id": f"inspect {name}", "argv": ["inspect", str(path)]})
    for name, argv in extra:
        steps.append({"id": f"{argv[0]} {name}", "argv": [argv[0], str(files[name]), *argv[1:]]})
    return steps


def _refused(records: dict, step_id: str, pattern: str | None) -> list[str]:
    """A load must raise ModelFileError, a command exit 1 with no traceback, both with a
    message matching ``pattern``; with ``pattern`` None the file may also load (exit 0)."""
    record, problems = _step_problems(records, step_id)
    if record is None:
        return problems
    if pattern is None and record["outcome"] == "returned" and record.get("exit", 0) == 0:
        return problems  # loaded, within the bounds
    if step_id.startswith("load "):
        if record.get("error_type") != "ModelFileError":
            what = record.get("error_type") or "no error (the file loaded)"
            message = record.get("message", "")[:300]
            problems.append(f"{step_id}: expected ModelFileError, got {what}: {message}")
            return problems
        message = record["message"]
    else:
        if record["outcome"] == "raised" or "Traceback" in record["stderr"]:
            problems.append(f"{step_id}: traceback: {record['stderr'][-600:]}")
            return problems
        if record.get("exit") != 1:
            problems.append(f"{step_id}: exit code {record.get('exit')}, expected 1")
        message = record["stderr"]
    if pattern is not None and not re.search(pattern, message, re.IGNORECASE):
        problems.append(f"{step_id}: message does not match {pattern!r}: {message[:300]!r}")
    return problems


def _check_class(files, expected: dict[str, str | None], baseline: float, *extra) -> None:
    """Open every file of a class in one child; each must be refused as ``expected``
    (file name -> message pattern)."""
    run, records = _probe(_refusal_steps(files, *extra))
    problems = _child_problems(run, baseline)
    for step in _refusal_steps(files, *extra):
        name = step["id"].split(" ", 1)[1]
        problems += _refused(records, step["id"], expected[name])
    assert not problems, "\n".join(problems)


def _build(tmp_path: Path, *builders) -> dict[str, Path]:
    return {b.__name__: b(tmp_path) for b in builders}


def test_decompression_bombs_are_refused_before_decompressing(tmp_path, baseline_mib):
    """(1) Members are read only as far as the manifest declares, stored or deflated."""
    files = _build(
        tmp_path,
        cm.deflate_1gib,
        cm.deflate_8gib_huge_shape,
        cm.deflate_8gib_shape_64,
        cm.trailing_1gib,
        cm.bzip2_member,
        cm.lzma_member,
        cm.bzip2_manifest,
    )
    assert max(p.stat().st_size for p in files.values()) < 10 * cm.MIB  # bombs stay small
    expected = {
        "deflate_1gib": r"declares [\d,]+ bytes",
        "deflate_8gib_huge_shape": r"limit",
        "deflate_8gib_shape_64": r"declares [\d,]+ bytes",
        "trailing_1gib": r"trailing",
        "bzip2_member": r"bzip2",
        "lzma_member": r"lzma",
        "bzip2_manifest": r"bzip2",
    }
    _check_class(files, expected, baseline_mib)


def test_references_cannot_amplify_one_array(tmp_path, baseline_mib):
    """(2) Many references to one array cost neither one copy nor one SVD each: beyond the
    reference budget the file is refused, within it the rebuilt objects are shared (the file
    may load, within the time and memory bounds); ``priors`` cannot hold objects."""
    files = _build(
        tmp_path,
        cm.refs_full_400,
        cm.refs_full_60,
        cm.refs_lowrank_400,
        cm.refs_lowrank_250,
        cm.refs_priors_10,
    )
    expected = {
        "refs_full_400": r"reference",
        "refs_full_60": None,  # under the reference budget: may load, but cheaply
        "refs_lowrank_400": r"reference",
        "refs_lowrank_250": None,
        "refs_priors_10": r"priors",
    }
    _check_class(files, expected, baseline_mib)


def test_cheap_declarations_are_checked_before_expensive_work(tmp_path, baseline_mib):
    """(3) Zero-width labels, a huge manifest and a slow scipy family are refused up front
    (and sampling the copula is refused too, not run for minutes)."""
    files = _build(tmp_path, cm.u0_labels, cm.manifest_63mb, cm.copula_studentized_range)
    expected = {
        "u0_labels": r"dtype|element|limit",
        "manifest_63mb": r"limit",
        "copula_studentized_range": r"studentized_range",
    }
    sample = ("copula_studentized_range", ["sample", "-n", "1000", "-o", str(tmp_path / "s.csv")])
    _check_class(files, expected, baseline_mib, sample)


def test_malformed_files_are_model_file_errors_not_tracebacks(tmp_path, baseline_mib):
    """(4) Deep JSON, encrypted members, lying .npy headers, malformed metadata and
    malformed object states all end in ModelFileError, also where sampling used to crash."""
    files = _build(
        tmp_path,
        cm.deep_metadata,
        cm.deep_model,
        cm.encrypted_member,
        cm.npy_header_8tb,
        cm.metadata_wrong_types,
        cm.auto_without_criterion,
        cm.copula_feature_999,
        cm.scipy_five_params,
    )
    expected = {
        "deep_metadata": r"nested|deep",
        "deep_model": r"nested|deep",
        "encrypted_member": r"encrypt",
        "npy_header_8tb": r"shape",
        "metadata_wrong_types": r"metadata",
        "auto_without_criterion": r"criterion",
        "copula_feature_999": r"feature|999|ind",
        "scipy_five_params": r"param",
    }
    out = str(tmp_path / "s.csv")
    samples = [(name, ["sample", "-n", "5", "-o", out]) for name in ("copula_feature_999",)]
    samples.append(("scipy_five_params", ["sample", "-n", "5", "-o", out]))
    _check_class(files, expected, baseline_mib, *samples)


def _formula_cells(path: Path) -> list[str]:
    """Cells a spreadsheet would run as a formula (numbers such as -0.5 are fine)."""
    with open(path, newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    return [c for c in cells if _FORMULA.match(c) and not _NUMBER.match(c)]


def test_hostile_text_does_not_reach_the_terminal_or_a_spreadsheet(tmp_path, baseline_mib):
    """(5) Escape sequences from labels and metadata are escaped on the terminal; CSV cells
    that a spreadsheet would run as formulas are neutralised (or the run refused)."""
    escapes, formulas = cm.escape_sequences(tmp_path), cm.formula_cells(tmp_path)
    out = tmp_path / "out.csv"
    wrong_label = [
        "sample",
        str(escapes),
        "-n",
        "5",
        "--label",
        "nope",
        "-o",
        str(tmp_path / "w.csv"),
    ]
    steps = [
        {"id": "inspect", "argv": ["inspect", str(escapes)]},
        {"id": "inspect --json", "argv": ["inspect", str(escapes), "--json"]},
        {"id": "sample --label (error)", "argv": wrong_label},
        {"id": "sample formulas", "argv": ["sample", str(formulas), "-n", "20", "-o", str(out)]},
    ]
    run, records = _probe(steps)
    problems = _child_problems(run, baseline_mib)
    for step in steps:
        record, found = _step_problems(records, step["id"])
        problems += found
        if record is None:
            continue
        if record["outcome"] == "raised" or "Traceback" in record["stderr"]:
            problems.append(f"{step['id']}: traceback: {record['stderr'][-600:]}")
        if record.get("exit") not in (0, 1, 2):  # the documented codes: ok, bad data, usage
            problems.append(f"{step['id']}: exit code {record.get('exit')}")
        text = record["stdout"] + record["stderr"]
        for char, what in (("\x1b", "ESC"), ("\x07", "BEL")):
            if char in text:
                problems.append(f"{step['id']}: raw {what} in the output: {text[:300]!r}")
    if out.exists():
        cells = _formula_cells(out)
        if cells:
            problems.append(f"sample -o out.csv wrote formula cells: {cells[:6]}")
    elif records.get("sample formulas", {}).get("exit") == 0:
        problems.append("sample exited 0 but wrote no out.csv")
    assert not problems, "\n".join(problems)


def test_outputs_never_replace_inputs_and_duplicate_members_are_refused(tmp_path, baseline_mib):
    """(6) Duplicate member names are refused; ``fit DATA -o DATA`` and ``sample M -o M``
    leave the input intact; ``-n 10**12`` to a PNG is refused up front."""
    files = _build(tmp_path, cm.duplicate_manifest, cm.duplicate_array)
    train = tmp_path / "train.csv"
    train.write_text(
        "x0,x1,label\n" + "".join(f"{i % 7},{i % 5},{'ab'[i % 2]}\n" for i in range(40))
    )
    model_csv = cm.legit_file(tmp_path, name="m.csv")
    image = cm.legit_file(tmp_path, "image")
    before = {p: p.read_bytes() for p in (train, model_csv)}
    huge = ["sample", str(image), "-n", str(10**12), "-o", str(tmp_path / "x.png")]
    steps = _refusal_steps(files) + [
        {"id": "fit same file", "argv": ["fit", str(train), "-o", str(train)]},
        {
            "id": "sample same file",
            "argv": ["sample", str(model_csv), "-n", "5", "-o", str(model_csv)],
        },
        {"id": "sample 10**12 to png", "argv": huge},
    ]
    run, records = _probe(steps, cwd=tmp_path)
    problems = _child_problems(run, baseline_mib)
    for step in _refusal_steps(files):
        problems += _refused(records, step["id"], r"twice|duplicate")
    for step_id, pattern in (
        ("fit same file", r"same"),
        ("sample same file", r"same"),
        ("sample 10**12 to png", r"limit|at most|too many|cannot"),
    ):
        record, found = _step_problems(records, step_id)
        problems += found
        if record is None:
            continue
        if record["outcome"] == "raised" or "Traceback" in record["stderr"]:
            problems.append(f"{step_id}: traceback: {record['stderr'][-600:]}")
        elif record.get("exit") not in (1, 2) or not re.search(pattern, record["stderr"], re.I):
            problems.append(
                f"{step_id}: expected a refusal matching {pattern!r}, got exit "
                f"{record.get('exit')}: {record['stderr'][:300]!r}"
            )
    for path, data in before.items():
        if not path.exists() or path.read_bytes() != data:
            problems.append(f"{path.name} was replaced or removed")
    if (tmp_path / "x.png").exists():
        problems.append("a PNG was written for -n 10**12")
    assert not problems, "\n".join(problems)


def test_sigterm_removes_the_temporary_output(tmp_path):
    """(6) A run stopped by SIGTERM leaves neither its temporary file nor a partial output."""
    (tmp_path / "in").mkdir()
    model = cm.legit_file(tmp_path / "in")
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "big.csv"
    argv = [
        sys.executable,
        "-m",
        "bayesgen",
        "sample",
        str(model),
        "-n",
        "200000000",
        "-o",
        str(out),
    ]
    child = subprocess.Popen(
        argv,
        env=cm.child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(folder.iterdir()):
            if child.poll() is not None:
                break
            time.sleep(0.05)
        assert any(folder.iterdir()), "the sample run wrote nothing to stop"
        time.sleep(0.5)  # let it write for a moment
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode != 0
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    left = sorted(p.name for p in folder.iterdir())
    assert left == [], f"left behind after SIGTERM: {left}"
