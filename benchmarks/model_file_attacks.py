"""Crafted model files (issue 17): what opening each one costs, before and after the fix.

For every attack in ``tests/base/crafted_models.py`` (the finding of the issue it
reproduces, 1-6, in the second column) the file is built by the code under test, so it
carries that version's manifest fields and checksum (recomputed, as an attacker would),
then opened by ``python -m bayesgen inspect FILE`` -- and, where the cost or the crash
shows only when sampling, ``sample FILE -n 1000 -o out.csv`` -- in a child process limited
to ``--memory-gib`` GiB of address space (default 4) and ``--timeout`` seconds (default
120), one child at a time.  The first row is a legitimate small model, for scale: its peak
is what importing bayesgen costs.

Columns: the file's size; the exit code; the first line of the error message, or the type
of the exception when a raw traceback ended the run (``raw MemoryError``); hostile output
that got through (raw ESC/BEL bytes on the terminal, spreadsheet formula cells in the CSV);
the child's peak resident memory (``ru_maxrss``, through a small launcher so that this
process's own size does not leak into it); wall-clock seconds.

Run from the repository root::

    python benchmarks/model_file_attacks.py                         # the code in src/
    python benchmarks/model_file_attacks.py --src /tmp/before/src   # another source tree
    python benchmarks/model_file_attacks.py --before /tmp/before/src --after src

``--attacks NAME ...`` selects attacks; ``--keep DIR`` keeps the crafted files.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import re
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "base"))

import crafted_models as cm  # noqa: E402  (found through the path set above)
from _common import format_table  # noqa: E402

_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


_LEGIT = (
    "import sys; sys.path.insert(0, {script!r}.rsplit('/', 1)[0]); import crafted_models; "
    "print(crafted_models.legit_file({folder!r}))"
)


def _build(src: Path, folder: Path, names: list[str] | None, limits: dict) -> dict[str, Path]:
    """Build the crafted files with the bayesgen in ``src`` (in a limited child)."""
    script = ROOT / "tests" / "base" / "crafted_models.py"
    argv = [sys.executable, str(script), "build", str(folder), *(names or [])]
    run = cm.run_limited(argv, env=cm.child_env(src), timeout=600, **limits)
    if run.rc != 0:
        raise SystemExit(f"building the crafted files with {src} failed:\n{run.stderr}")
    paths = {name: Path(p) for name, p in json.loads(run.stdout).items()}
    legit = cm.run_limited(
        [sys.executable, "-c", _LEGIT.format(script=str(script), folder=str(folder))],
        env=cm.child_env(src),
        timeout=300,
        **limits,
    )
    if legit.rc != 0:
        raise SystemExit(f"saving a legitimate model with {src} failed:\n{legit.stderr}")
    return {"legitimate model": Path(legit.stdout.strip()), **paths}


def _message(run: cm.Run, timeout: float) -> str:
    """The first line of the error, or the exception type of a raw traceback."""
    if run.timed_out:
        return f"killed after {timeout:.0f} s (timeout)"
    if run.rc < 0:
        return f"killed by {signal.Signals(-run.rc).name}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    if "Traceback (most recent call last)" in run.stderr:
        last = lines[-1] if lines else "?"
        return "raw " + last.split(":", 1)[0].rsplit(".", 1)[-1]
    if run.rc == 0:
        return "ok"
    errors = [line for line in lines if "error:" in line] or lines or ["(no message)"]
    return errors[0].split("error: ", 1)[-1]


def _hostile(run: cm.Run, out_csv: Path) -> str:
    """Hostile output that reached the user: raw escapes on the terminal, formula cells."""
    found = []
    controls = sum(run.stdout.count(c) + run.stderr.count(c) for c in "\x1b\x07")
    if controls:
        found.append(f"{controls} raw ESC/BEL")
    if out_csv.exists():
        with open(out_csv, newline="", encoding="utf-8", errors="replace") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        formulas = [c for c in cells if _FORMULA.match(c) and not _NUMBER.match(c.strip())]
        if formulas:
            found.append(f"{len(formulas)} formula cells")
    return ", ".join(found) or "-"


def _cell(text: str, width: int = 90) -> str:
    """Text safe inside a markdown table cell: escapes shown, pipes escaped, shortened."""
    text = text.encode("unicode_escape").decode("ascii").replace("|", "\\|")
    return text if len(text) <= width else text[: width - 3] + "..."


def _measure(src: Path, files: dict[str, Path], args, limits: dict) -> dict:
    """Run each attack's commands; returns (attack, command) -> result cells."""
    commands = {a.name: a.commands for a in cm.ATTACKS}
    results = {}
    for name, path in files.items():
        for command in commands.get(name, (("inspect", "{model}"),)):
            with tempfile.TemporaryDirectory(prefix="bayesgen-attack-") as tmp:
                argv = [c.format(model=path, tmp=tmp) for c in command]
                run = cm.run_limited(
                    [sys.executable, "-m", "bayesgen", *argv],
                    env=cm.child_env(src),
                    cwd=tmp,
                    timeout=args.timeout,
                    **limits,
                )
                cells = {
                    "kb": f"{path.stat().st_size / 1024:,.0f}",
                    "exit": str(run.rc),
                    "message": _cell(_message(run, args.timeout)),
                    "hostile": _hostile(run, Path(tmp) / "out.csv"),
                    "mib": f"{run.peak_mib:,.0f}",
                    "s": f"{run.seconds:.1f}",
                }
            results[name, command[0]] = cells
            print(f"  {src}: {name} {command[0]}: {cells}", file=sys.stderr, flush=True)
    return results


def _findings() -> dict[str, str]:
    return {"legitimate model": "-", **{a.name: str(a.finding) for a in cm.ATTACKS}}


def _table(results: dict) -> str:
    finding = _findings()
    header = ["attack", "finding", "file KB", "command", "exit", "message", "hostile output"]
    header += ["peak RSS MiB", "s"]
    rows = [
        [name, finding[name], r["kb"], command, r["exit"], r["message"], r["hostile"], r["mib"]]
        + [r["s"]]
        for (name, command), r in results.items()
    ]
    return format_table(rows, header)


def _side_by_side(before: dict, after: dict) -> str:
    finding = _findings()
    header = ["attack", "finding", "file KB", "command"]
    for side in ("before", "after"):
        header += [f"{side}: exit", "message", "hostile output", "peak RSS MiB", "s"]
    rows = []
    for key in before.keys() | after.keys():
        b, a = before.get(key), after.get(key)
        sizes = {r["kb"] for r in (b, a) if r}
        row = [key[0], finding[key[0]], " / ".join(sorted(sizes)), key[1]]
        for r in (b, a):
            row += [r["exit"], r["message"], r["hostile"], r["mib"], r["s"]] if r else ["-"] * 5
        rows.append(row)
    order = list(finding)
    rows.sort(key=lambda row: (order.index(row[0]), row[3]))
    return format_table(rows, header)


def _run_side(src: Path, args, limits: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="bayesgen-crafted-") as scratch:
        folder = Path(scratch)
        if args.keep:
            folder = Path(args.keep) / re.sub(r"\W+", "_", str(src)).strip("_")
        files = _build(src, folder, args.attacks, limits)
        return _measure(src, files, args, limits)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="source tree to run")
    parser.add_argument("--before", type=Path, help="source tree before the fix")
    parser.add_argument("--after", type=Path, help="source tree after the fix")
    parser.add_argument("--attacks", nargs="+", help="attack names (default: all)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per command")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="RLIMIT_AS per child")
    parser.add_argument("--keep", help="keep the crafted files under this folder")
    args = parser.parse_args(argv)
    if (args.before is None) != (args.after is None):
        parser.error("--before and --after go together")
    limits = {"memory_bytes": int(args.memory_gib * cm.GIB), "cpu_seconds": int(args.timeout)}
    print(
        f"python {platform.python_version()}, {platform.machine()}; each command in a child "
        f"limited to {args.memory_gib:g} GiB of address space and {args.timeout:.0f} s; "
        "one BLAS thread\n"
    )
    if args.before is not None:
        before = _run_side(args.before.resolve(), args, limits)
        after = _run_side(args.after.resolve(), args, limits)
        print(f"before: {args.before}, after: {args.after}\n")
        print(_side_by_side(before, after))
    else:
        print(f"source: {args.src}\n")
        print(_table(_run_side(args.src.resolve(), args, limits)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
