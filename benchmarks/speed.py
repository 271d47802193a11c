"""Speed of bayesgen's fit, sampling, prediction and file paths, as ratios to baselines.

Every row times bayesgen against a baseline run in the same process (interleaved, best of
``--repeats``), so the ratios hold on any machine; absolute seconds are printed too.

    python benchmarks/speed.py                 # the table (a few minutes on 2 cores)
    python benchmarks/speed.py --big           # + stream-fit a generated >= 5 GB CSV
    python benchmarks/speed.py --threads 1     # pin BLAS to one thread
    python benchmarks/speed.py --readme        # also write the table into README.md

Rows (target in brackets):

* fit: full Gaussian per class on MNIST train (60,000 x 784, pixels / 255) vs one BLAS
  Gram matrix ``X.T @ X`` plus one 784 x 784 Cholesky per class  [<= 1.3x]
* sample: 60,000 labelled rows vs the bare limit, standard normals plus one matrix product
  per class  [<= 1.2x]; per-sample speed-up over the tutorial's loop (numpy
  ``multivariate_normal``, one sample per call; the best of 4 batches of ``--loop-calls``
  calls in all, extrapolated)
  [>= 10,000x]; and over scikit-learn's ``GaussianMixture.sample`` on the same mixture
* predict: 10,000 test rows vs the bare whitening products ``X @ W_k`` (one precomputed
  784 x 784 whitening matrix per class)  [<= 1.5x]
* read + fit the Kaggle-layout CSV (42,000 rows made from MNIST train) vs pyarrow's bare
  ``read_csv`` of the same file  [<= 1.5x]; and the speed-up over the tutorial's pandas path
  (``pd.read_csv`` + ``to_numpy`` + ``np.cov`` per class)
* EM iteration of each mixture family vs scikit-learn's ``GaussianMixture`` on the same
  data, K and covariance type (diag and full; 784 pixels and 50 PCA features; see
  ``benchmarks/em.py``)  [<= 0.5x, held-out log-likelihood at least scikit-learn's]
* stream-fit (``bayesgen.streaming.fit_file``) of that CSV and, with ``--big``, of a
  generated CSV of at least 5 GB, in a subprocess: peak resident memory  [< 1 GB] and MB/s
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
from scipy import linalg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    describe_machine,
    format_table,
    load_mnist_arrays,
    time_pair,
)
from em import speed_rows as em_speed_rows  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- speed:start -->", "<!-- speed:end -->"


def _row(name, ours, base, target, kind="ratio"):
    """A table row.  kind="ratio": ours/base (lower is better); "speedup": base/ours."""
    if kind == "ratio":
        value = ours / base
        shown = f"{value:.2f}x"
        ok = target is None or value <= target
        goal = "-" if target is None else f"<= {target}x"
    else:
        value = base / ours
        shown = f"{value:,.0f}x faster" if value >= 100 else f"{value:.1f}x faster"
        ok = target is None or value >= target
        goal = "-" if target is None else f">= {target:,}x"
    verdict = "ok" if ok else "MISSED"
    if target is None:
        verdict = "-"
    return [name, f"{ours:.4g} s", f"{base:.4g} s", shown, goal, verdict]


# ------------------------------------------------------------------------------ rows
def bench_fit(X, y, repeats):
    from bayesgen import BayesClassifier

    classes = np.unique(y)
    S = np.cov(X[y == classes[0]].T) + 1e-6 * np.eye(X.shape[1])

    def baseline():
        G = X.T @ X  # noqa: F841  (numpy hands A.T @ A to BLAS syrk)
        for _ in classes:
            linalg.cholesky(S, lower=True, check_finite=False)

    def ours():
        BayesClassifier().fit(X, y)

    t, b = time_pair(ours, baseline, repeats)
    return _row(
        "fit full Gaussian/class, MNIST train 60000x784 vs Gram + Cholesky/class", t, b, 1.3
    )


def bench_sample(model, repeats, loop_calls):
    n = 60_000
    rng = np.random.default_rng(0)
    counts = rng.multinomial(n, model.class_prior_)
    factors = [d.covariance_.cholesky for d in model.densities_]

    def baseline():
        Z = rng.standard_normal((n, model.n_features_in_))
        start = 0
        for L, c in zip(factors, counts, strict=True):
            Z[start : start + c] @ L.T
            start += c

    def ours():
        model.sample(n, random_state=1)

    t, b = time_pair(ours, baseline, repeats)
    rows = [_row("sample 60000 labelled rows vs bare normals + 1 product/class", t, b, 1.2)]

    # the tutorial: one multivariate_normal call per sample (legacy numpy, SVD every call)
    means = [d.mean_ for d in model.densities_]
    covs = [d.covariance() for d in model.densities_]
    legacy = np.random.RandomState(0)
    labels = legacy.randint(0, len(means), size=loop_calls)
    # best of 4 batches (like every other baseline here: the fastest run counts)
    per_loop = np.inf
    for batch in np.array_split(labels, 4):
        start = time.perf_counter()
        for k in batch:
            legacy.multivariate_normal(means[k], covs[k])
        per_loop = min(per_loop, (time.perf_counter() - start) / max(1, batch.shape[0]))
    rows.append(
        _row(
            f"sample: per-sample vs tutorial loop (np multivariate_normal, "
            f"{loop_calls} calls extrapolated)",
            t / n,
            per_loop,
            10_000,
            "speedup",
        )
    )

    def ours32():
        model.sample(n, random_state=1, dtype=np.float32)

    t32, b32 = time_pair(ours32, baseline, repeats)
    rows.append(_row("sample 60000 rows, float32 path, vs the float64 bare limit", t32, b32, None))
    rows.append(
        _row(
            "sample: per-sample, float32 path, vs tutorial loop",
            t32 / n,
            per_loop,
            10_000,
            "speedup",
        )
    )

    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(n_components=len(means), covariance_type="full")
    gmm.weights_ = model.class_prior_.copy()
    gmm.means_ = np.stack(means)
    gmm.covariances_ = np.stack(covs)
    gmm.precisions_cholesky_ = np.stack(
        [linalg.solve_triangular(f, np.eye(len(f)), lower=True).T for f in factors]
    )
    gmm.converged_, gmm.n_iter_, gmm.lower_bound_ = True, 0, 0.0
    gmm.random_state = 0
    t2, g = time_pair(ours, lambda: gmm.sample(n), max(1, repeats // 2))
    rows.append(
        _row("sample 60000 rows vs scikit-learn GaussianMixture.sample", t2, g, None, "speedup")
    )
    return rows


def bench_predict(model, X_test, repeats):
    X = np.ascontiguousarray(X_test[:10_000])
    whiten = [
        np.ascontiguousarray(
            linalg.solve_triangular(d.covariance_.cholesky, np.eye(X.shape[1]), lower=True).T
        )
        for d in model.densities_
    ]

    def baseline():
        for W in whiten:
            X @ W

    def ours():
        model.predict(X)

    t, b = time_pair(ours, baseline, repeats)
    return _row("predict 10000 test rows vs bare whitening products X @ W_k", t, b, 1.5)


def write_kaggle_csv(path: Path, X, y) -> None:
    """Kaggle Digit Recognizer layout: header label,pixel0..pixel783; integer pixels."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pixels = np.rint(X * 255).astype(np.int64)
    names = ["label"] + [f"pixel{j}" for j in range(pixels.shape[1])]
    columns = [pa.array(y.astype(np.int64))] + [
        pa.array(pixels[:, j]) for j in range(pixels.shape[1])
    ]
    table = pa.Table.from_arrays(columns, names=names)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))


def bench_csv(path: Path, repeats):
    import pandas as pd
    import pyarrow.csv as pacsv

    from bayesgen import BayesClassifier
    from bayesgen.io import read_labelled

    def baseline():
        pacsv.read_csv(path)

    def ours():
        data = read_labelled(path)
        BayesClassifier().fit(data.X, data.y)

    def tutorial():
        frame = pd.read_csv(path)
        y = frame["label"].to_numpy()
        X = frame.drop(columns=["label"]).to_numpy() / 255.0
        for k in np.unique(y):
            Xk = X[y == k]
            Xk.mean(axis=0)
            np.cov(Xk.T)

    def streamed():
        from bayesgen.streaming import fit_file

        fit_file(BayesClassifier(), path)

    t, b = time_pair(ours, baseline, repeats)
    rows = [_row("read_labelled + fit, Kaggle CSV 42000 rows vs pyarrow read_csv", t, b, 1.5)]
    ts, bs = time_pair(streamed, baseline, repeats)
    rows.append(
        _row("fit_file (chunks parsed while the last is reduced) vs pyarrow read_csv", ts, bs, None)
    )
    t2, p = time_pair(ours, tutorial, max(1, repeats // 2))
    rows.append(
        _row(
            "read + fit vs tutorial pandas path (read_csv, to_numpy, np.cov/class)",
            t2,
            p,
            None,
            "speedup",
        )
    )
    return rows


# Peak RSS comes from /proc/self/status (VmHWM, this process image only): on Linux
# getrusage's ru_maxrss survives exec, so a child forked from this big benchmark process
# would report the parent's peak instead of its own.
_CHILD = r"""
import json, resource, sys, time
from bayesgen import BayesClassifier, streaming
path, chunk_rows = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
model = streaming.fit_file(BayesClassifier(), path, chunk_rows=chunk_rows)
seconds = time.perf_counter() - start
try:
    with open("/proc/self/status") as handle:
        hwm = [line for line in handle if line.startswith("VmHWM")][0]
    peak_mib = int(hwm.split()[1]) / 1024
except (OSError, IndexError):
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_mib,
                  "rows": int(model.class_count_.sum())}))
"""


def stream_fit(path: Path, chunk_rows: int) -> dict:
    """Fit ``path`` with fit_file in a fresh interpreter; its time and peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(chunk_rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["size_mb"] = path.stat().st_size / 1e6
    result["mb_per_s"] = result["size_mb"] / result["seconds"]
    return result


def _stream_row(name, result):
    return [
        name,
        f"{result['seconds']:.4g} s",
        "-",
        f"{result['mb_per_s']:.1f} MB/s, peak RSS {result['peak_rss_mib']:.0f} MiB "
        f"({result['rows']:,} rows, {result['size_mb']:,.0f} MB)",
        "< 1024 MiB",
        "ok" if result["peak_rss_mib"] < 1024 else "MISSED",
    ]


def make_big_csv(small: Path, big: Path, target_bytes: int) -> None:
    """Repeat the data rows of ``small`` until ``big`` has at least ``target_bytes``."""
    with open(small, "rb") as src:
        header = src.readline()
        body = src.read()
    with open(big, "wb") as dst:
        dst.write(header)
        written = len(header)
        while written < target_bytes:
            dst.write(body)
            written += len(body)


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--loop-calls",
        type=int,
        default=200,
        help="calls of the tutorial's one-sample loop to time",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cores: pins BLAS and pyarrow threads and the CPU affinity (default: all)",
    )
    parser.add_argument("--big", action="store_true", help="also stream-fit a >= 5 GB CSV")
    parser.add_argument("--big-gb", type=float, default=5.0)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--tmp", default=None, help="folder for the generated files")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="write the results into benchmarks/README.md (Speed section)",
    )
    args = parser.parse_args(argv)

    limiter = None
    if args.threads:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(args.threads)
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # for the subprocesses
        # pyarrow's CSV reader has a thread pool of its own: pin it too, so that the bare
        # read (the baseline) and bayesgen's read + fit get the same number of cores
        try:
            import pyarrow as pa
        except ImportError:  # pragma: no cover - the CSV rows need it anyway
            pa = None
        if pa is not None:
            pa.set_cpu_count(args.threads)
        # and the affinity of this thread and those started later (bayesgen sizes its lanes
        # of threads by it; BLAS is held by threadpool_limits above)
        if hasattr(os, "sched_setaffinity"):
            cores = sorted(os.sched_getaffinity(0))[: args.threads]
            os.sched_setaffinity(0, cores)

    from bayesgen import BayesClassifier

    X, y = load_mnist_arrays("train")
    X_test, _ = load_mnist_arrays("t10k")
    model = BayesClassifier().fit(X, y)
    rows = []
    started = time.perf_counter()
    rows.append(bench_fit(X, y, args.repeats))
    rows.extend(bench_sample(model, args.repeats, args.loop_calls))
    rows.append(bench_predict(model, X_test, args.repeats))
    rows.extend(em_speed_rows(min(args.repeats, 3)))
    tmp = Path(tempfile.mkdtemp(prefix="bayesgen-speed-", dir=args.tmp))
    try:
        csv = tmp / "train.csv"
        write_kaggle_csv(csv, X[:42_000], y[:42_000])
        rows.extend(bench_csv(csv, args.repeats))
        rows.append(
            _stream_row(
                "stream-fit (fit_file) of the 42000-row CSV", stream_fit(csv, args.chunk_rows)
            )
        )
        if args.big:
            full = tmp / "train60k.csv"
            write_kaggle_csv(full, X, y)
            big = tmp / "big.csv"
            make_big_csv(full, big, int(args.big_gb * 1e9))
            full.unlink()
            rows.append(
                _stream_row(
                    f"stream-fit (fit_file) of a generated {big.stat().st_size / 1e9:.1f} GB CSV",
                    stream_fit(big, args.chunk_rows),
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - started
    machine = describe_machine()  # while any pin is active, so its thread counts show
    if limiter is not None:
        limiter.restore_original_limits()

    header = ["benchmark", "bayesgen", "baseline", "ratio", "target", "verdict"]
    table = format_table(rows, header)
    if args.threads:
        machine["blas_threads_pinned"] = args.threads
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(table)
    print()
    print(f"total {elapsed:.0f} s; load average at the end {load}")
    print(json.dumps(machine, indent=1))
    if args.readme:
        _write_readme(table, machine, args, load)
    return 0


def _write_readme(table, machine, args, load) -> None:
    lines = [
        START,
        f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/speed.py"
        f"{' --big' if args.big else ''}{f' --threads {args.threads}' if args.threads else ''}`"
        f" (best of {args.repeats}, interleaved with the baseline).",
        "",
        table,
        "",
        "Machine:",
        "",
        *[f"- {key}: {value}" for key, value in machine.items() if key != "blas"],
        *[f"- BLAS: {line}" for line in machine.get("blas", [])],
        f"- load average when the run ended: {load}",
        END,
    ]
    block = "\n".join(lines)
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n## Speed\n\n" + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
