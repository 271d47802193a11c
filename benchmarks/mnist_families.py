"""Density families on MNIST: bits/pixel (MAF protocol), accuracy, fit time, sampling speed.

Run from the repository root (the README table was made with OPENBLAS_NUM_THREADS=1)::

    python benchmarks/mnist_families.py --protocol-check  # the table
    python benchmarks/mnist_families.py --only copula   # some rows
    python benchmarks/mnist_families.py --validate      # choices on a validation split

Data: MNIST train 60,000 / test 10,000 from ``../shared/data/mnist`` (or
``$BAYESGEN_SHARED_DATA/mnist``), IDX files read by a local helper.  The classifier sees
``pixel / 255`` (bayesgen's loader convention).

Protocol (Papamakarios et al. 2017, MAF; see :mod:`bayesgen.densities.transform`)
-----------------------------------------------------------------------
The test images are dequantised once with a fixed seed, ``y = (pixel + u) / 256``,
``u ~ U(0, 1)``, and every family is scored on the same ``y``:

* ``log p(y) = logsumexp_k [log p(k) + log p(y | k)]`` with the learned class prior;
* families fitted through the logit transform (``+logit``) score ``y`` directly
  (:meth:`TransformedDensity.score_unit`: base density of ``z = logit(1e-6 + (1 - 2e-6) y)``
  plus the log-Jacobian);
* families fitted on ``x = pixel / 255`` (the copula, whose empirical marginals spread each
  pixel value's mass uniformly over its cell, i.e. exactly the dequantised density) score
  ``x = (256 y - 1/2) / 255`` and add ``d log(256 / 255)`` for that affine map;
* bits/pixel = ``-(mean log p(y) - 784 log 256) / (784 ln 2)``; for the logit families the
  logit-space log-likelihood in nats (the number MAF's tables print) is also given.

Choices (ranks, component counts, ridges) were made with ``--validate`` on a split of the
training set (50,000 fit / 10,000 validation); the test set is used only for the table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from bayesgen import BayesClassifier
from bayesgen.densities import GaussianCopulaDensity, MixtureOfFactorAnalysersDensity
from bayesgen.densities.transform import TransformedDensity, bits_per_dim

D = 784
LAM = 1e-6


def data_dir() -> Path:
    env = os.environ.get("BAYESGEN_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "mnist"


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    root = data_dir()
    P_tr = read_idx(root / "train-images-idx3-ubyte.gz").reshape(-1, D)
    y_tr = read_idx(root / "train-labels-idx1-ubyte.gz").astype(np.int64)
    P_te = read_idx(root / "t10k-images-idx3-ubyte.gz").reshape(-1, D)
    y_te = read_idx(root / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return P_tr, y_tr, P_te, y_te


def _mppca(k, rank, *, logit=False, noise="isotropic", reg_covar=1e-3, transform="logit"):
    """Mixture of low-rank Gaussians per class, settings as in the validation runs."""

    def build():
        base = MixtureOfFactorAnalysersDensity(
            k,
            rank=rank,
            noise=noise,
            reg_covar=reg_covar,
            max_iter=30,
            tol=1e-4,
            init="kmeans",
            random_state=0,
        )
        if not logit:
            return base
        return TransformedDensity(base, transform=transform, random_state=0)

    return build


def _mfacopula(k, rank):
    """Empirical marginals + factor analysers on the normal scores (validation settings)."""

    def build():
        dependence = MixtureOfFactorAnalysersDensity(
            k, rank=rank, reg_covar=1e-3, max_iter=30, tol=1e-4, init="kmeans", random_state=0
        )
        return GaussianCopulaDensity(dependence=dependence, random_state=0)

    return build


#: name -> (shortcut string or density factory, classifier kwargs, note)
FAMILIES = {
    "gaussian+logit": ("gaussian+logit", {"reg_covar": 0.0}, "one full Gaussian per class, MLE"),
    "diag+logit": ("diag+logit", {"reg_covar": 0.0}, "independent logit pixels"),
    "gaussian": ("gaussian", {"reg_covar": 0.05}, "full Gaussian on pixel/255, ridge 0.05"),
    "copula": ("copula", {"shrinkage": 0.2}, "Gaussian copula, empirical marginals"),
    "mppca:10x10+logit": (_mppca(10, 10, logit=True), {}, "10 PPCA components of rank 10"),
    "mfa:10x10+logit": (
        _mppca(10, 10, logit=True, noise="diagonal", reg_covar=1e-2),
        {},
        "10 factor analysers of rank 10",
    ),
    "mppca:15x30": (_mppca(15, 30), {}, "15 PPCA components of rank 30, pixel/255"),
    "mppca:15x30+logit": (_mppca(15, 30, logit=True), {}, "15 PPCA components of rank 30"),
    "mppca:20x40+logit": (_mppca(20, 40, logit=True), {}, "20 PPCA components of rank 40"),
    "mfacopula:10x30": (_mfacopula(10, 30), {}, "marginals + 10 FA of rank 30 on scores"),
    "mppca:20x30+glogit": (
        _mppca(20, 30, logit=True, transform="glogit"),
        {},
        "20 PPCA components of rank 30, logit with Gaussian end cells",
    ),
    "auto": ("auto", {}, "density='auto' as it is: default candidates, one family for all"),
    "mppca:20x30+glogit shortcut": (
        "mppca:20x30+glogit",
        {"reg_covar": 1e-3},
        "the shortcut string: library EM defaults",
    ),
}


#: the rows of the table in benchmarks/README.md (others: --only NAME)
TABLE = (
    "gaussian+logit",
    "diag+logit",
    "gaussian",
    "copula",
    "mppca:10x10+logit",
    "mppca:15x30+logit",
    "mppca:20x40+logit",
    "mfacopula:10x30",
    "mppca:20x30+glogit",
    "mppca:20x30+glogit shortcut",
)


def class_log_density_unit(model: BayesClassifier, Y: np.ndarray) -> np.ndarray:
    """``log p(y | k)`` on the dequantised [0, 1] scale, shape (n, n_classes)."""
    out = np.empty((Y.shape[0], len(model.classes_)))
    X = None
    for k, density in enumerate(model.densities_):
        inner = getattr(density, "best_", density)  # AutoDensity delegates
        if isinstance(inner, TransformedDensity):
            out[:, k] = inner.score_unit(Y)
        else:
            if X is None:
                X = (256.0 * Y - 0.5) / 255.0
            out[:, k] = density.score_samples(X) + D * math.log(256.0 / 255.0)
    return out


def logit_jacobian(Y: np.ndarray) -> np.ndarray:
    s = LAM + (1 - 2 * LAM) * Y
    return (math.log1p(-2 * LAM) - np.log(s) - np.log1p(-s)).sum(1)


def evaluate(name, spec, kwargs, P_fit, y_fit, P_eval, y_eval, *, seed=0, sample_n=10_000):
    X_fit = P_fit / 255.0
    X_eval = P_eval / 255.0
    density = spec if isinstance(spec, str) else spec()
    model = BayesClassifier(density, random_state=seed, **kwargs)
    t0 = time.perf_counter()
    model.fit(X_fit, y_fit)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    acc = float(model.score(X_eval, y_eval))
    predict_s = time.perf_counter() - t0
    rng = np.random.default_rng(12345)
    Y = (P_eval + rng.random(P_eval.shape)) / 256.0
    joint = class_log_density_unit(model, Y) + np.log(model.class_prior_)
    log_p = logsumexp(joint, axis=1)
    bpd = bits_per_dim(log_p, D)
    row = {
        "family": name,
        "spec": spec if isinstance(spec, str) else repr(density),
        "kwargs": kwargs,
        "bits_per_pixel": bpd,
        "accuracy": acc,
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "n_fit": int(P_fit.shape[0]),
        "n_eval": int(P_eval.shape[0]),
    }
    if name.split("@")[0].endswith("+logit"):  # MAF's logit space (not for +glogit)
        row["logit_space_nats"] = float(np.mean(log_p - logit_jacobian(Y)))
    t0 = time.perf_counter()
    Xs, _ = model.sample(sample_n, random_state=0)
    samp_s = time.perf_counter() - t0
    row["samples_per_second"] = sample_n / samp_s
    row["samples_in_range"] = bool(((Xs >= 0) & (Xs <= 1)).all())
    return row, model


def format_table(rows) -> str:
    head = (
        f"| {'family':<27} | {'bits/pixel':>10} | {'logit nats':>10} | {'test acc':>8} | "
        f"{'fit s':>7} | {'samples/s':>9} |"
    )
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in rows:
        nats = f"{r['logit_space_nats']:.1f}" if "logit_space_nats" in r else "-"
        lines.append(
            f"| {r['family']:<27} | {r['bits_per_pixel']:>10.3f} | {nats:>10} | "
            f"{100 * r['accuracy']:>7.2f}% | {r['fit_seconds']:>7.1f} | "
            f"{r['samples_per_second']:>9.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="family names to run (default: all)")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="fit on train[:50000 shuffled], score on the other 10,000",
    )
    parser.add_argument(
        "--protocol-check",
        action="store_true",
        help="also fit gaussian+logit on the first 50,000 (MAF's split)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="pin BLAS to this many threads (needs threadpoolctl)",
    )
    parser.add_argument("--out", default=None, help="append JSON lines of results here")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    if not data_dir().is_dir():
        print(f"MNIST not found under {data_dir()}", file=sys.stderr)
        return 1
    P_tr, y_tr, P_te, y_te = load()
    names = args.only or list(TABLE)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, numpy {np.__version__}",
        flush=True,
    )
    if args.validate:
        order = np.random.default_rng(0).permutation(P_tr.shape[0])
        fit_rows, val_rows = order[10_000:], order[:10_000]
        P_fit, y_fit = P_tr[fit_rows], y_tr[fit_rows]
        P_eval, y_eval = P_tr[val_rows], y_tr[val_rows]
        print("# validation: fit 50,000 / score 10,000 of the MNIST training set", flush=True)
    else:
        P_fit, y_fit, P_eval, y_eval = P_tr, y_tr, P_te, y_te
    rows = []
    jobs = [(n, *FAMILIES[n]) for n in names]
    if args.protocol_check and not args.validate:
        jobs.insert(0, ("gaussian+logit@50k", "gaussian+logit", {"reg_covar": 0.0}, "MAF split"))
    for name, spec, kwargs, _note in jobs:
        if name.endswith("@50k"):
            row, _ = evaluate(name, spec, kwargs, P_tr[:50_000], y_tr[:50_000], P_eval, y_eval)
        else:
            row, _ = evaluate(name, spec, kwargs, P_fit, y_fit, P_eval, y_eval)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as handle:
                handle.write(json.dumps(row) + "\n")
    print(format_table(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
