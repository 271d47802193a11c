"""Quality and speed of bayesgen on real tables, beside real-vs-real floors and a peer.

For each table -- ``../shared/data/tables/`` penguins (label ``species``), seattle-weather
(``weather``) and cars (``Origin``), and scikit-learn's wine and breast-cancer (label
``target``) -- and each seed: a stratified 70/30 split, ``BayesClassifier`` with default
settings (``random_state=seed`` only, so that the run repeats: the default copula draws
the CDF value of tied cells at random while fitting) fitted on the train part,
``len(train)`` rows sampled, and :func:`bayesgen.metrics.evaluate_table` run against the
test part (10 splits by default: on these small tables the TSTR ratio of one split varies
by about 0.05 from split to split).  Targets (on the mean over seeds; the count of seeds
that pass is shown too):

* TSTR / TRTR balanced accuracy >= 0.95, for gradient boosting and logistic regression;
* mean per-column KS (numbers, dates) / TV (categories) <= 2x its real-vs-real floor;
* mean pairwise association error <= 2x its floor;
* median distance to the closest training row (Gower) >= the held-out real floor.

Peer: the ``copulas`` package (``GaussianMultivariate``, one per class) on the numeric
columns (continuous and integer kinds; dates and categories left out) and the rows with
no missing cell there, which is all it takes, on the first 3 splits (``--peer-seeds``).
It needs pandas < 3, so it runs in its own interpreter (``--peer-python``) on CSV files
written to a temporary folder; bayesgen
(defaults) is fitted on exactly the same rows.  Targets: per-column KS against the test
rows equal or better, and fit + sample of 10,000 rows >= 10x faster (bayesgen: best of 3
in this process; copulas: one run per seed, timed inside its process around ``fit`` and
``sample`` only, so neither side pays interpreter start-up or imports).

``--big``: a generated table of 1,000,000 rows x 20 columns (10 numeric, 10 categorical
with 3-21 levels, 5% of cells missing at random, a label with 3 classes), written as CSV;
in a fresh interpreter: pyarrow's bare ``read_csv`` and ``write_csv`` of that file as
baselines, ``bayesgen.io.read_table``, ``BayesClassifier().fit``, ``sample(1,000,000)``
and ``bayesgen.io.write_table``, and that process's peak resident memory (``getrusage``
``ru_maxrss`` and ``VmHWM``).  No target yet.  Then, each in a fresh interpreter of its
own, ``read_table`` + ``fit`` (in memory) and ``bayesgen.streaming.fit_file`` (two passes
over chunks of ``--chunk-rows`` rows), with their times and peak resident memory.

``--stream-gb G``: the same table generated in blocks of 1,000,000 rows up to about G GB
of CSV, streamed by ``fit_file`` in a fresh interpreter (address space capped at 8 GiB):
time, rows per second and peak resident memory.  Target: a 5 GB table in < 1 GiB.

    python3 -m venv /tmp/work/peer-venv
    /tmp/work/peer-venv/bin/pip install -q copulas scikit-learn
    python benchmarks/tables.py --peer-python /tmp/work/peer-venv/bin/python
    python benchmarks/tables.py --seeds 1             # quicker, no peer (default 10 splits)
    python benchmarks/tables.py --big                 # + the 1,000,000-row table
    python benchmarks/tables.py --seeds 0 --stream-gb 5   # only the streamed 5 GB table
    python benchmarks/tables.py --readme ...          # also write the tables into README.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe_machine, format_table, shared_data_dir  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- tables:start -->", "<!-- tables:end -->"
PEER_ROWS = 10_000
TSTR_TARGET, FLOOR_FACTOR, SPEED_TARGET = 0.95, 2.0, 10.0

# The peer's side, run by --peer-python: fit one GaussianMultivariate per class on each
# job's rows, sample PEER_ROWS rows in the class proportions, write them and the times.
PEER_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
from copulas.multivariate import GaussianMultivariate
import copulas
warnings.filterwarnings("ignore")
jobs = json.load(open(sys.argv[1]))
results = []
for job in jobs:
    frame = pd.read_csv(job["train"])
    y = frame.pop(job["label"]).astype(str).to_numpy()
    classes, counts = np.unique(y, return_counts=True)
    n_k = np.floor(job["n"] * counts / counts.sum()).astype(int)
    n_k[: job["n"] - n_k.sum()] += 1
    np.random.seed(job["seed"])
    start = time.perf_counter()
    models = []
    for c in classes:
        model = GaussianMultivariate(random_state=job["seed"])
        model.fit(frame[y == c])  # returns None
        models.append(model)
    fitted = time.perf_counter()
    parts = [m.sample(int(k)) for m, k in zip(models, n_k)]
    done = time.perf_counter()
    out = pd.concat(parts, ignore_index=True)
    out[job["label"]] = np.repeat(classes, n_k)
    out.to_csv(job["out"], index=False)
    results.append({"fit_s": fitted - start, "sample_s": done - fitted})
json.dump({"version": copulas.__version__, "results": results}, open(sys.argv[2], "w"))
"""


# ------------------------------------------------------------------------------ data
def load_tables() -> dict[str, tuple[pd.DataFrame, str]]:
    """name -> (frame with its label column, label); shared tables only when present."""
    from sklearn.datasets import load_breast_cancer, load_wine

    tables = {}
    folder = shared_data_dir() / "tables"
    for name, label in (
        ("penguins", "species"),
        ("seattle-weather", "weather"),
        ("cars", "Origin"),
    ):
        path = folder / f"{name}.csv"
        if path.is_file():
            tables[name] = (pd.read_csv(path), label)
        else:
            print(f"skipped {name}: {path} not found", file=sys.stderr)
    tables["wine"] = (load_wine(as_frame=True).frame, "target")
    tables["breast-cancer"] = (load_breast_cancer(as_frame=True).frame, "target")
    return tables


def split(frame, label, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(frame, test_size=0.3, stratify=frame[label], random_state=seed)


def numeric_columns(model, frame, label) -> list[str]:
    """Continuous and integer columns (by the model's schema, else every column)."""
    schema = model.schema_
    if schema is None:
        return [c for c in frame.columns if c != label]
    return [s.name for s in schema.features if s.kind in ("continuous", "integer")]


# ----------------------------------------------------------------------- quality rows
def run_quality(name, frame, label, seed):
    """Fit, time, and evaluate one split; returns a dict of the numbers in the table."""
    from bayesgen import BayesClassifier
    from bayesgen.metrics import evaluate_table

    train, test = split(frame, label, seed)
    X, y = train.drop(columns=[label]), train[label]
    start = time.perf_counter()
    model = BayesClassifier(random_state=seed).fit(X, y)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    model.sample(len(train), random_state=seed)
    sample_s = time.perf_counter() - start
    ev = evaluate_table(model, train, test, label=label, random_state=seed)
    tstr = {t.classifier: t for t in ev.tstr}
    references = {
        "copy": _tstr_ratios(BootstrapCopy().fit(X, y), train, test, label, seed, None),
        "x10": _tstr_ratios(model, train, test, label, seed, 10 * len(train)),
    }
    return {
        "references": references,
        "model": model,
        "train": train,
        "test": test,
        "eval": ev,
        "density": family(model),
        "tstr_gb": tstr["gradient boosting"].ratio,
        "tstr_lr": tstr["logistic"].ratio,
        "fid": ev.fidelity,
        "assoc": (ev.association.error, ev.association.floor),
        "dcr": (ev.dcr.synthetic_median, ev.dcr.holdout_median),
        "fit_s": fit_s,
        "sample_s": sample_s,
    }


class BootstrapCopy:
    """A reference "generator" that returns training rows drawn with replacement, each
    class from its own rows: what TSTR gives a perfect copy of the sample (no model)."""

    def fit(self, X, y):
        self.X, self.y = X.reset_index(drop=True), np.asarray(y)
        self.schema_ = None
        return self

    def sample(self, n=None, *, y=None, random_state=None):
        rng = np.random.default_rng(random_state)
        y = np.asarray(y)
        index = np.empty(y.shape[0], dtype=np.int64)
        for label in np.unique(y):
            where = np.flatnonzero(y == label)
            index[where] = rng.choice(np.flatnonzero(self.y == label), where.size)
        return self.X.iloc[index].reset_index(drop=True), y


def _tstr_ratios(model, train, test, label, seed, n_samples) -> tuple[float, float]:
    """TSTR/TRTR (gradient boosting, logistic) of ``model``'s rows (``n_samples`` of them,
    default ``len(train)``)."""
    from bayesgen.metrics import evaluate_table

    ev = evaluate_table(model, train, test, label=label, random_state=seed, n_samples=n_samples)
    tstr = {t.classifier: t.ratio for t in ev.tstr}
    return tstr["gradient boosting"], tstr["logistic"]


def reference_row(name, runs) -> list[str]:
    """TSTR/TRTR of bayesgen beside a bootstrap copy and 10x as many bayesgen rows."""
    cells = [name]
    for key in ("copy", "x10"):
        gb, lr = np.mean([r["references"][key] for r in runs], axis=0)
        cells.append(f"{gb:.3f} / {lr:.3f}")
    gb, lr = np.mean([r["tstr_gb"] for r in runs]), np.mean([r["tstr_lr"] for r in runs])
    cells.insert(1, f"{gb:.3f} / {lr:.3f}")
    return cells


REFERENCE_HEADER = [
    "table",
    "bayesgen, n = train rows (gb / logistic)",
    "bootstrap copy of the train rows",
    "bayesgen, n = 10 x train rows",
]


def _verdict(passes: int, total: int, ok: bool) -> str:
    return f"{'ok' if ok else 'MISSED'} ({passes}/{total})"


def family(model) -> str:
    """The family a fitted classifier delivers (``auto``: what it chose), else its class."""
    density = model.densities_[0]
    delivered = getattr(density, "delivered_name", None)
    return delivered() if callable(delivered) else type(density).__name__


def _families(runs) -> str:
    """The families delivered over the seeds, with how often: ``copula 3, mfacopula:2x2 7``."""
    names = [r["density"] for r in runs]
    return ", ".join(f"{n} {names.count(n)}" for n in sorted(set(names)))


def quality_row(name, runs, shape) -> list[str]:
    """One table row: means over seeds, each with its verdict and passing seed count."""
    k = len(runs)
    gb, gb_sd = np.mean([r["tstr_gb"] for r in runs]), np.std([r["tstr_gb"] for r in runs])
    lr, lr_sd = np.mean([r["tstr_lr"] for r in runs]), np.std([r["tstr_lr"] for r in runs])
    fid = np.mean([r["fid"] for r in runs], axis=0)
    assoc = np.mean([r["assoc"] for r in runs], axis=0)
    dcr = np.mean([r["dcr"] for r in runs], axis=0)
    n_tstr = sum(r["tstr_gb"] >= TSTR_TARGET and r["tstr_lr"] >= TSTR_TARGET for r in runs)
    n_fid = sum(r["fid"][0] <= FLOOR_FACTOR * r["fid"][1] for r in runs)
    n_assoc = sum(r["assoc"][0] <= FLOOR_FACTOR * r["assoc"][1] for r in runs)
    n_dcr = sum(r["dcr"][0] >= r["dcr"][1] for r in runs)
    return [
        name,
        f"{shape[0]}x{shape[1]} ({_families(runs)})",
        f"{gb:.3f}±{gb_sd:.3f} / {lr:.3f}±{lr_sd:.3f}",
        _verdict(n_tstr, k, gb >= TSTR_TARGET and lr >= TSTR_TARGET),
        f"{fid[0]:.3f} / {fid[1]:.3f} = {fid[0] / fid[1]:.2f}x",
        _verdict(n_fid, k, fid[0] <= FLOOR_FACTOR * fid[1]),
        f"{assoc[0]:.3f} / {assoc[1]:.3f} = {assoc[0] / assoc[1]:.2f}x",
        _verdict(n_assoc, k, assoc[0] <= FLOOR_FACTOR * assoc[1]),
        f"{dcr[0]:.4f} / {dcr[1]:.4f}",
        _verdict(n_dcr, k, dcr[0] >= dcr[1]),
        f"{np.median([r['fit_s'] for r in runs]):.3f}",
        f"{np.median([r['sample_s'] for r in runs]):.3f}",
    ]


QUALITY_HEADER = [
    "table",
    "train rows x cols (density)",
    "TSTR/TRTR gb / logistic (mean±sd)",
    ">= 0.95",
    "KS/TV vs floor",
    "<= 2x",
    "assoc. error vs floor",
    "<= 2x",
    "median DCR vs held-out",
    ">=",
    "fit s",
    "sample s",
]


def column_details(name, runs) -> list[str]:
    """The columns whose KS/TV is above 2x its floor, and the per-class test recall of a
    classifier whose TSTR ratio is below target (means over seeds), for the notes."""
    out = []
    for clf in ("gradient boosting", "logistic"):
        tstrs = [next(t for t in r["eval"].tstr if t.classifier == clf) for r in runs]
        if np.mean([t.ratio for t in tstrs]) < TSTR_TARGET:
            recall = [
                f"{k} {np.mean([t.recall_tstr[k] for t in tstrs]):.2f}/"
                f"{np.mean([t.recall_trtr[k] for t in tstrs]):.2f}"
                for k in tstrs[0].recall_tstr
            ]
            out.append(f"{name}: {clf} test recall per class, TSTR/TRTR: {', '.join(recall)}")
    cols = {}
    for r in runs:
        for c in r["eval"].columns:
            cols.setdefault((c.name, c.statistic), []).append((c.value, c.floor))
    for (col, stat), pairs in cols.items():
        v, f = np.mean(pairs, axis=0)
        if v > FLOOR_FACTOR * f:
            out.append(f"{name}: {stat} of {col!r} {v:.3f} vs floor {f:.3f} ({v / f:.1f}x)")
    return out


# --------------------------------------------------------------------------- the peer
def _ks_mean(samples, test, columns):
    from bayesgen.metrics import ks_statistic

    values = [ks_statistic(samples[c].to_numpy(float), test[c].to_numpy(float)) for c in columns]
    return float(np.nanmean(values))


def _bayesgen_peer_side(data, label, seed):
    """bayesgen with defaults on the peer's rows: best-of-3 fit + sample of PEER_ROWS."""
    from bayesgen import BayesClassifier

    X, y = data.drop(columns=[label]), data[label]
    best, samples = np.inf, None
    for _ in range(3):
        start = time.perf_counter()
        model = BayesClassifier(random_state=seed).fit(X, y)
        samples, _ = model.sample(PEER_ROWS, random_state=seed)
        best = min(best, time.perf_counter() - start)
    if not isinstance(samples, pd.DataFrame):
        samples = pd.DataFrame(samples, columns=X.columns)
    # not a default: the tutorial's Gaussian on the same rows, for comparison
    gaussian = BayesClassifier(density="gaussian", random_state=seed).fit(X, y)
    other = pd.DataFrame(gaussian.sample(PEER_ROWS, random_state=seed)[0], columns=X.columns)
    return best, samples, family(model), other


def run_peer(results, peer_python, tmp: Path, seeds: int) -> tuple[list[list[str]], list[str]]:
    """The copulas comparison on the first ``seeds`` splits, one row per table (means)."""
    jobs, meta = [], []
    for name, runs in results.items():
        for i, r in enumerate(runs[:seeds]):
            cols = numeric_columns(r["model"], r["train"], r["label"])
            data = r["train"][[*cols, r["label"]]].dropna().reset_index(drop=True)
            path = tmp / f"{name}-{i}-train.csv"
            data.to_csv(path, index=False)
            jobs.append(
                {
                    "train": str(path),
                    "label": r["label"],
                    "n": PEER_ROWS,
                    "seed": r["seed"],
                    "out": str(tmp / f"{name}-{i}-peer.csv"),
                }
            )
            meta.append((name, r, cols, data))
    notes = []
    peer = None
    if peer_python:
        (tmp / "jobs.json").write_text(json.dumps(jobs))
        (tmp / "peer.py").write_text(PEER_SCRIPT)
        cmd = [peer_python, str(tmp / "peer.py"), str(tmp / "jobs.json"), str(tmp / "peer.json")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            peer = json.loads((tmp / "peer.json").read_text())
            notes.append(f"copulas {peer['version']} run by {peer_python}")
        else:
            notes.append(f"copulas could not be run: {proc.stderr.strip().splitlines()[-1:]}")
    else:
        notes.append("copulas not run: pass --peer-python (see the docstring)")
    rows = {}
    for i, (name, r, cols, data) in enumerate(meta):
        t_ours, ours, density, other = _bayesgen_peer_side(data, r["label"], r["seed"])
        test = r["test"]
        entry = {
            "cols": len(cols),
            "rows": len(data),
            "density": density,
            "ks_ours": _ks_mean(ours, test, cols),
            "ks_gaussian": _ks_mean(other, test, cols),
            "ks_full": _ks_mean(r["eval_samples"], test, cols),
            "ks_floor": _ks_mean(r["train"], test, cols),
            "t_ours": t_ours,
        }
        if peer is not None:
            theirs = pd.read_csv(jobs[i]["out"])
            entry["ks_peer"] = _ks_mean(theirs, test, cols)
            entry["t_peer"] = peer["results"][i]["fit_s"] + peer["results"][i]["sample_s"]
        rows.setdefault(name, []).append(entry)
    return [_peer_row(name, entries) for name, entries in rows.items()], notes


def _peer_row(name, entries) -> list[str]:
    def mean(key):
        return float(np.mean([e[key] for e in entries])) if key in entries[0] else None

    k = len(entries)
    ks_ours, ks_peer = mean("ks_ours"), mean("ks_peer")
    t_ours, t_peer = float(np.median([e["t_ours"] for e in entries])), None
    row = [
        name,
        f"{entries[0]['rows']}x{entries[0]['cols']} ({_families(entries)})",
        f"{mean('ks_floor'):.3f}",
        f"{mean('ks_full'):.3f}",
        f"{ks_ours:.3f}",
        f"{mean('ks_gaussian'):.3f}",
    ]
    if ks_peer is None:
        return [*row, "not run", "-", f"{t_ours:.3f}", "not run", "-", "-"]
    t_peer = float(np.median([e["t_peer"] for e in entries]))
    n_ks = sum(e["ks_ours"] <= e["ks_peer"] for e in entries)
    n_speed = sum(e["t_peer"] / e["t_ours"] >= SPEED_TARGET for e in entries)
    return [
        *row,
        f"{ks_peer:.3f}",
        _verdict(n_ks, k, ks_ours <= ks_peer),
        f"{t_ours:.3f}",
        f"{t_peer:.2f}",
        f"{t_peer / t_ours:.0f}x",
        _verdict(n_speed, k, t_peer / t_ours >= SPEED_TARGET),
    ]


PEER_HEADER = [
    "table",
    "peer rows x numeric cols (bayesgen density)",
    "KS train vs test",
    "KS bayesgen (full table)",
    "KS bayesgen (same rows)",
    "KS bayesgen gaussian (same rows, not default)",
    "KS copulas",
    "<= copulas",
    "bayesgen fit+10k s",
    "copulas fit+10k s",
    "speed-up",
    ">= 10x",
]


# ------------------------------------------------------------------------- the big table
def make_big_csv(path: Path, n: int, seed: int = 0) -> None:
    """1,000,000 x 20 (10 numeric, 10 categorical), 5% missing, label with 3 classes."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(_big_table(n, np.random.default_rng(seed)), path)


def make_big_csv_blocks(path: Path, gigabytes: float, block: int = 1_000_000) -> int:
    """The table of :func:`make_big_csv` in blocks (each with its own seed) until the file
    holds about ``gigabytes`` GB; returns the rows written."""
    import pyarrow.csv as pacsv

    rows = b = 0
    with open(path, "wb") as handle:
        while handle.tell() < gigabytes * 1e9:
            table = _big_table(block, np.random.default_rng(b))
            options = pacsv.WriteOptions(include_header=b == 0)
            pacsv.write_csv(table, handle, write_options=options)
            rows, b = rows + block, b + 1
    return rows


def _big_table(n: int, rng):
    import pyarrow as pa

    y = rng.choice(np.array(["alpha", "beta", "gamma"]), n, p=[0.5, 0.3, 0.2])
    k = (y == "beta") + 2.0 * (y == "gamma")
    Z = rng.standard_normal((n, 10)) @ (np.eye(10) + 0.3) + 0.5 * k[:, None]
    cols = {}
    for j in range(10):  # a third log-normal (skewed), the rest normal; two decimals
        cols[f"num{j}"] = np.round(np.exp(Z[:, j] / 3) if j % 3 == 0 else 10 * Z[:, j] + 50, 2)
    for j in range(10):  # 3, 5, ..., 21 levels, each tied to a numeric column
        levels = 3 + 2 * j
        u = Z[:, j] + rng.standard_normal(n)
        codes = np.clip(((u + 3) / 6 * levels).astype(int), 0, levels - 1)
        cols[f"cat{j}"] = np.array([f"c{j}_{i}" for i in range(levels)])[codes]
    arrays = {}
    for name, values in cols.items():
        arrays[name] = pa.array(values, mask=rng.random(n) < 0.05)
    arrays["label"] = pa.array(y)
    return pa.table(arrays)


BIG_CHILD = r"""
import json, resource, sys, time
import numpy as np
import pyarrow.csv as pacsv
from bayesgen import BayesClassifier
from bayesgen.io import read_table, write_table
path, out = sys.argv[1], sys.argv[2]
t = {}
def clock(key, fn):
    start = time.perf_counter(); value = fn(); t[key] = time.perf_counter() - start; return value
# the bare baselines: best of 2 (the first read also warms pyarrow's thread pool)
table = clock("pyarrow_read", lambda: pacsv.read_csv(path))
first = t["pyarrow_read"]
table = clock("pyarrow_read", lambda: pacsv.read_csv(path))
t["pyarrow_read"] = min(first, t["pyarrow_read"])
clock("pyarrow_write", lambda: pacsv.write_csv(table, out))
first = t["pyarrow_write"]
clock("pyarrow_write", lambda: pacsv.write_csv(table, out))
t["pyarrow_write"] = min(first, t["pyarrow_write"])
del table
data = clock("read_table", lambda: read_table(path, label_column="label"))
model = clock("fit", lambda: BayesClassifier(random_state=0).fit(data.X, data.y))
X, y = clock("sample", lambda: model.sample(len(data.X), random_state=0))
clock("write_table", lambda: write_table(X, out, y=y, label_column="label", columns=data.columns))
d = model.densities_[0]
t["density"] = d.delivered_name() if hasattr(d, "delivered_name") else type(d).__name__
t["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for line in open("/proc/self/status"):
    if line.startswith("VmHWM"):
        t["vmhwm_mib"] = int(line.split()[1]) / 1024
print(json.dumps(t))
"""


# one fit in a fresh interpreter: "memory" (read_table + fit) or "stream" (fit_file)
FIT_CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
from bayesgen import BayesClassifier, streaming
from bayesgen.io import read_table
mode, path, chunk_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
if mode == "memory":
    data = read_table(path, label_column="label")
    model = BayesClassifier(random_state=0).fit(data.X, data.y)
else:
    model = streaming.fit_file(
        BayesClassifier(random_state=0), path, chunk_rows=chunk_rows, label_column="label"
    )
t = {"fit": time.perf_counter() - start, "rows": int(model.class_count_.sum())}
t["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for line in open("/proc/self/status"):
    if line.startswith("VmHWM"):
        t["vmhwm_mib"] = int(line.split()[1]) / 1024
print(json.dumps(t))
"""


def run_fit_child(tmp: Path, mode: str, path: Path, chunk_rows: int) -> dict:
    """Time and peak memory of one fit of ``path`` in a fresh interpreter."""
    script = tmp / "fit_child.py"
    script.write_text(FIT_CHILD)
    proc = subprocess.run(
        [sys.executable, str(script), mode, str(path), str(chunk_rows)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {mode} fit failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stream_rows(tmp: Path, path: Path, chunk_rows: int, read_s: float) -> list[list[str]]:
    """In-memory and streamed fits of the big table, each in its own interpreter."""
    rows = []
    for mode, what in (("memory", "read_table + fit"), ("stream", "streaming.fit_file")):
        t = run_fit_child(tmp, mode, path, chunk_rows)
        rows.append(
            [
                f"{what} (peak RSS {t['vmhwm_mib']:.0f} MiB)",
                f"{t['fit']:.2f}",
                "pyarrow read_csv",
                f"{read_s:.2f}",
                f"{t['fit'] / read_s:.1f}x",
            ]
        )
    return rows


def run_stream_gb(tmp: Path, gigabytes: float, chunk_rows: int) -> str:
    """Stream a table of about ``gigabytes`` GB; one line with its numbers."""
    path = tmp / "huge.csv"
    n = make_big_csv_blocks(path, gigabytes)
    size = path.stat().st_size
    t = run_fit_child(tmp, "stream", path, chunk_rows)
    path.unlink()
    return (
        f"streamed fit of a {size / 1e9:.2f} GB CSV ({n:,} rows x 20 columns + label, "
        f"chunks of {chunk_rows:,} rows): {t['fit']:.0f} s ({n / t['fit']:,.0f} rows/s), "
        f"peak RSS {t['vmhwm_mib']:.0f} MiB (VmHWM; target < 1024 MiB)"
    )


def run_big(tmp: Path, n: int, chunk_rows: int = 20_000) -> tuple[list[list[str]], str]:
    path = tmp / "big.csv"
    make_big_csv(path, n)
    size = path.stat().st_size
    (tmp / "big_child.py").write_text(BIG_CHILD)
    proc = subprocess.run(
        [sys.executable, str(tmp / "big_child.py"), str(path), str(tmp / "big-out.csv")],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return [], f"the big run failed: {proc.stderr.strip()[-500:]}"
    t = json.loads(proc.stdout.strip().splitlines()[-1])
    read, write = t["pyarrow_read"], t["pyarrow_write"]
    rows = [
        ["bayesgen.io.read_table", f"{t['read_table']:.2f}", "pyarrow read_csv", f"{read:.2f}"],
        [f"BayesClassifier().fit ({t['density']})", f"{t['fit']:.2f}", "pyarrow read_csv", ""],
        [f"sample({n:,})", f"{t['sample']:.2f}", "pyarrow write_csv", f"{write:.2f}"],
        ["bayesgen.io.write_table", f"{t['write_table']:.2f}", "pyarrow write_csv", ""],
    ]
    bases = [read, read, write, write]
    for row, base in zip(rows, bases, strict=True):
        row[3] = row[3] or f"{base:.2f}"
        row.append(f"{float(row[1]) / base:.1f}x")
    rows += stream_rows(tmp, path, chunk_rows, read)
    note = (
        f"{n:,} rows x 20 columns + label, CSV of {size / 1e6:.0f} MB; peak RSS of the "
        f"process that read, fitted, sampled and wrote it: {t['ru_maxrss_mib']:.0f} MiB "
        f"(ru_maxrss), {t.get('vmhwm_mib', float('nan')):.0f} MiB (VmHWM)"
    )
    return rows, note


BIG_HEADER = ["step", "bayesgen s", "baseline", "baseline s", "ratio"]


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="splits per table (seeds 0..N-1)")
    parser.add_argument(
        "--peer-seeds", type=int, default=3, help="the first N splits also run the peer"
    )
    parser.add_argument("--peer-python", default=None, help="interpreter with copulas installed")
    parser.add_argument("--big", action="store_true", help="also the 1,000,000-row table")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=20_000, help="streamed fits")
    parser.add_argument(
        "--stream-gb", type=float, default=None, help="also stream a table of this many GB"
    )
    parser.add_argument("--tmp", default=None, help="folder for temporary files")
    parser.add_argument("--readme", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results, quality_rows, details, reference_rows = {}, [], [], []
    for name, (frame, label) in (load_tables() if args.seeds else {}).items():
        runs = []
        for seed in range(args.seeds):
            r = run_quality(name, frame, label, seed)
            r.update(label=label, seed=seed)
            # the full-table model's 10,000 samples, for the peer table's KS column
            r["eval_samples"] = r["model"].sample(PEER_ROWS, random_state=seed)[0]
            if not isinstance(r["eval_samples"], pd.DataFrame):
                r["eval_samples"] = pd.DataFrame(
                    r["eval_samples"], columns=r["train"].drop(columns=[label]).columns
                )
            runs.append(r)
            print(f"{name} seed {seed}: done", file=sys.stderr)
        results[name] = runs
        quality_rows.append(quality_row(name, runs, runs[0]["train"].drop(columns=[label]).shape))
        details.extend(column_details(name, runs))
        reference_rows.append(reference_row(name, runs))
    quality = format_table(quality_rows, QUALITY_HEADER)
    references = format_table(reference_rows, REFERENCE_HEADER)

    tmp = Path(tempfile.mkdtemp(prefix="bayesgen-tables-", dir=args.tmp))
    try:
        peer_rows, peer_notes = run_peer(results, args.peer_python, tmp, args.peer_seeds)
        big_rows, big_note = run_big(tmp, args.big_rows, args.chunk_rows) if args.big else ([], "")
        huge = run_stream_gb(tmp, args.stream_gb, args.chunk_rows) if args.stream_gb else ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peer = format_table(peer_rows, PEER_HEADER)
    big = format_table(big_rows, BIG_HEADER) if big_rows else ""
    elapsed = time.perf_counter() - started
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    machine = describe_machine()
    blocks = [
        quality,
        "",
        *[f"- {d}" for d in details],
        "",
        "TSTR/TRTR against references (means over the same splits): a bootstrap copy of "
        "the training rows, and 10 times as many bayesgen rows:",
        "",
        references,
        "",
        peer,
        "",
        *[f"- {n}" for n in peer_notes],
    ]
    if args.big:
        blocks += ["", big or big_note, "", f"- {big_note}" if big else ""]
    if huge:
        blocks += ["", f"- {huge}"]
    text = "\n".join(blocks)
    print(text)
    print(f"\ntotal {elapsed:.0f} s; load average at the end {load}")
    if args.readme:
        _write_readme(text, machine, args, load, elapsed)
    return 0


def _write_readme(text, machine, args, load, elapsed) -> None:
    flags = f" --seeds {args.seeds} --peer-seeds {args.peer_seeds}"
    flags += f" --peer-python {args.peer_python}" if args.peer_python else ""
    flags += " --big" if args.big else ""
    lines = [
        START,
        f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/tables.py{flags}` "
        f"({elapsed / 60:.0f} minutes; means over seeds 0..{args.seeds - 1} (the peer: "
        f"0..{args.peer_seeds - 1}), the number of seeds that pass in brackets; times are "
        "medians over seeds).",
        "",
        text,
        "",
        f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, numpy "
        f"{machine.get('numpy')}, scipy {machine.get('scipy')}; load average at the end {load}.",
        END,
    ]
    block = "\n".join(lines)
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        current = before + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip() + "\n\n## Tables\n\n" + block + "\n"
    README.write_text(current)


if __name__ == "__main__":
    sys.exit(main())
