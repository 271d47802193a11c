"""EM speed and quality of bayesgen's mixtures against scikit-learn's ``GaussianMixture``.

    python benchmarks/em.py                  # the table (about 10 minutes on 2 cores)
    python benchmarks/em.py --readme         # also write it into benchmarks/README.md
    python benchmarks/em.py --only 50        # only the rows whose name contains "50"
    python benchmarks/em.py --mixture-module /tmp/mixture_old.py   # time another mixture.py

Data: the first 6,000 MNIST training rows of one digit (``--digit``, default 3; pixels / 255),
as 784 pixels and projected on the 50 principal components of those rows; held-out rows are
the same digit's rows of the MNIST test split (1,010 for digit 3), projected alike.

Every bayesgen fit runs against scikit-learn's ``GaussianMixture`` with the same data,
number of components (``--components``, default 10), ``reg_covar`` (1e-6, the default of
both) and covariance type, for exactly ``--iterations`` EM iterations (20): ``tol=0`` on
both sides, so neither stops early (``n_iter_`` is checked). The mixtures of factor
analysers (``rank`` factors per component, ``--rank``, default 10) have no scikit-learn
counterpart; they run against the full-covariance fit, the only scikit-learn family that
contains them, and their held-out log-likelihood is shown but not judged (another model).

Seconds per EM iteration: each side also fits with one iteration from the same seed, so
that the initialisation (k-means on both sides) cancels: ``(t_all - t_one) / (iterations -
1)``. The whole fits (initialisation included) are shown beside it. Repeat ``r`` (of
``--repeats``) fits every estimator with ``random_state=r``, all fits of a group
interleaved (a fit under a second, up to five times in a row); times are the best of each,
and the held-out log-likelihood (mean
``score_samples`` of the held-out rows, nats per row) is the mean over the seeds, so one
lucky or unlucky start does not decide it.

Targets: seconds per iteration <= 0.5x scikit-learn's, and held-out log-likelihood at least
scikit-learn's.

``speed_rows(repeats)`` gives the same measurements as rows of ``benchmarks/speed.py``'s table.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe_machine, format_table, shared_data_dir  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- em:start -->", "<!-- em:end -->"
TARGET_RATIO = 0.5
#: a fit quicker than this (seconds) is timed up to SMALL_REPEATS times per seed
SMALL_FIT, SMALL_REPEATS = 1.0, 5
HEADER = [
    "data",
    "bayesgen",
    "sklearn",
    "s/iter ours",
    "s/iter sklearn",
    "ratio",
    "whole fit ours / sklearn",
    "held-out ours",
    "held-out sklearn",
    "verdict",
]


@dataclass
class Side:
    """Timings and held-out scores of one estimator over the repeats."""

    make: object  # callable (max_iter, seed) -> unfitted estimator
    long: float = np.inf  # best seconds of a fit with all the iterations
    extra: list = field(default_factory=list)  # per seed: seconds of all less one iteration
    held_out: list = field(default_factory=list)  # mean log-likelihood per seed
    n_iter: int = 0

    def run(self, X, X_held, iterations: int, seed: int) -> None:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            long = short = np.inf
            for _ in range(SMALL_REPEATS):  # fits under SMALL_FIT s are repeated
                start = time.perf_counter()
                model = self.make(iterations, seed).fit(X)
                long = min(long, time.perf_counter() - start)
                start = time.perf_counter()
                self.make(1, seed).fit(X)  # the same seed: the same initialisation
                short = min(short, time.perf_counter() - start)
                if long > SMALL_FIT:
                    break
            self.held_out.append(float(np.mean(model.score_samples(X_held))))
            self.n_iter = int(model.n_iter_)
            self.extra.append(long - short)
            self.long = min(self.long, long)

    def per_iteration(self, iterations: int) -> float:
        return min(self.extra) / (iterations - 1)


@dataclass
class Group:
    """bayesgen fits that share one scikit-learn baseline (same data, K, covariance type)."""

    data: str
    covariance_type: str
    X: np.ndarray
    X_held: np.ndarray
    baseline: Side
    candidates: dict = field(default_factory=dict)  # name -> (Side, same family as sklearn)


def load_digit(digit: int, n_train: int, n_pca: int):
    """``{"784 pixels": (train, held), "50 PCA": (train, held)}`` for one MNIST digit."""
    from sklearn.decomposition import PCA

    from bayesgen.datasets import load_mnist

    folder = shared_data_dir() / "mnist"
    X, y = load_mnist(split="train", path=folder, return_X_y=True)
    Xt, yt = load_mnist(split="test", path=folder, return_X_y=True)
    train = np.ascontiguousarray(X[y == digit][:n_train])
    held = np.ascontiguousarray(Xt[yt == digit])
    pca = PCA(n_pca, random_state=0).fit(train)
    return {
        f"{train.shape[1]} pixels": (train, held),
        f"{n_pca} PCA": (pca.transform(train), pca.transform(held)),
    }


def load_mixture_module(path: str | None):
    """bayesgen's mixture module, or another version of it read from ``path``.

    Another version registers its classes for model files under the same names as the
    installed one; registration is switched off while it loads (it is only timed here).
    """
    if path is None:
        from bayesgen.densities import mixture

        return mixture
    from bayesgen.base import persist

    original = persist.persistable
    persist.persistable = lambda name: lambda cls: cls
    try:
        spec = importlib.util.spec_from_file_location("_mixture_under_test", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        persist.persistable = original
    return module


def _accepts(cls, name: str) -> bool:
    return name in cls().get_params()


def build_groups(data, mixture, args) -> list[Group]:
    from sklearn.mixture import GaussianMixture

    K, rank = args.components, args.rank
    gmm, mfa = mixture.GaussianMixtureDensity, mixture.MixtureOfFactorAnalysersDensity
    common = dict(tol=0.0, reg_covar=1e-6)

    def sklearn(cov):
        return lambda it, seed: GaussianMixture(
            K, covariance_type=cov, max_iter=it, random_state=seed, **common
        )

    def ours(family, **params):
        return lambda it, seed: family(K, max_iter=it, random_state=seed, **common, **params)

    groups = []
    for name, (X, X_held) in data.items():
        for cov in ("diag", "full"):
            group = Group(name, cov, X, X_held, Side(sklearn(cov)))
            group.candidates[cov] = (Side(ours(gmm, covariance_type=cov)), True)
            if _accepts(gmm, "dtype"):
                group.candidates[f"{cov}, float32"] = (
                    Side(ours(gmm, covariance_type=cov, dtype="float32")),
                    True,
                )
            if cov == "full":
                for noise, label in (("diagonal", "mfa"), ("isotropic", "mppca")):
                    side = Side(ours(mfa, rank=rank, noise=noise))
                    group.candidates[f"{label} rank {rank}"] = (side, False)
            if args.only:
                group.candidates = {
                    k: v for k, v in group.candidates.items() if args.only in f"{name} {k}"
                }
            if group.candidates:
                groups.append(group)
    return groups


def run_group(group: Group, args) -> None:
    """Every fit of the group, interleaved, ``args.repeats`` times (seed = repeat)."""
    for seed in range(args.repeats):
        group.baseline.run(group.X, group.X_held, args.iterations, seed)
        for side, _ in group.candidates.values():
            side.run(group.X, group.X_held, args.iterations, seed)


def group_rows(group: Group, iterations: int) -> list[list[str]]:
    base = group.baseline
    base_iter = base.per_iteration(iterations)
    base_ll = float(np.mean(base.held_out))
    rows = []
    for name, (side, same_family) in group.candidates.items():
        if side.n_iter != base.n_iter:
            raise RuntimeError(f"{name}: {side.n_iter} iterations against {base.n_iter}")
        iter_s = side.per_iteration(iterations)
        ratio = iter_s / base_iter
        ll = float(np.mean(side.held_out))
        ok = ratio <= TARGET_RATIO and (ll >= base_ll or not same_family)
        rows.append(
            [
                group.data,
                name,
                group.covariance_type,
                f"{iter_s:.4f}",
                f"{base_iter:.4f}",
                f"{ratio:.2f}x",
                f"{side.long:.3g} / {base.long:.3g} s = {side.long / base.long:.2f}x",
                f"{ll:.2f}",
                f"{base_ll:.2f}" + ("" if same_family else " (other family)"),
                "ok" if ok else "MISSED",
            ]
        )
    return rows


def measure(args) -> tuple[list[list[str]], float]:
    mixture = load_mixture_module(args.mixture_module)
    data = load_digit(args.digit, args.n_train, args.pca)
    started = time.perf_counter()
    rows = []
    for group in build_groups(data, mixture, args):
        run_group(group, args)
        rows.extend(group_rows(group, args.iterations))
        print(format_table(rows[-len(group.candidates) :], HEADER), file=sys.stderr)
    return rows, time.perf_counter() - started


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--digit", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=6000)
    parser.add_argument("--pca", type=int, default=50)
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--only", default=None, help="only rows whose name contains this")
    parser.add_argument(
        "--mixture-module", default=None, help="time the mixture module in this file instead"
    )
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    return parser


def speed_rows(repeats: int = 3) -> list[list[str]]:
    """The measurements as rows of ``benchmarks/speed.py``'s six-column table."""
    args = _parser().parse_args(["--repeats", str(repeats)])
    rows, _ = measure(args)
    out = []
    for data, ours, cov, t_ours, t_base, ratio, _whole, ll, ll_base, verdict in rows:
        out.append(
            [
                f"EM iteration, {ours} ({data}) vs sklearn GaussianMixture {cov}; "
                f"held-out {ll} vs {ll_base} nats",
                f"{t_ours} s",
                f"{t_base} s",
                ratio,
                f"<= {TARGET_RATIO}x, held-out >=",
                verdict,
            ]
        )
    return out


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    rows, elapsed = measure(args)
    table = format_table(rows, HEADER)
    load = tuple(round(v, 1) for v in os.getloadavg()) if hasattr(os, "getloadavg") else None
    machine = describe_machine()
    print(table)
    print()
    print(f"total {elapsed:.0f} s; load average at the end {load}")
    if args.readme:
        _write_readme(table, machine, args, elapsed, load)
    return 0


def _write_readme(table, machine, args, elapsed, load) -> None:
    command = "python benchmarks/em.py" + (
        f" --repeats {args.repeats}" if args.repeats != 3 else ""
    )
    block = "\n".join(
        [
            START,
            f"Measured {time.strftime('%Y-%m-%d')} with `{command}`: MNIST digit {args.digit}, "
            f"its first {args.n_train} training rows as pixels / 255 and projected on their "
            f"{args.pca} principal components, held out on the digit's test rows; "
            f"K={args.components}, reg_covar=1e-6, {args.iterations} EM iterations (tol=0) on "
            f"both sides, mixtures of factor analysers with {args.rank} factors. Seconds per "
            "iteration are `(t_all - t_one_iteration) / (iterations - 1)` of each side, so "
            "the k-means initialisation cancels (whole fits beside them); seeds 0 to "
            f"{args.repeats - 1} on both sides, fits interleaved, best time of each, held-out "
            "log-likelihood (nats per row) the mean over the seeds. "
            f"{elapsed:.0f} s in all; load average at the end {load} (2 cores shared with "
            "other jobs: the ratios, measured in one process, are what counts).",
            "",
            table,
            "",
            f"Machine: {machine['cpu']}, {machine['cores']} cores; "
            + "; ".join(machine.get("blas", [])),
            END,
        ]
    )
    # re-read right before writing: other scripts write their own sections of this file
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## EM against scikit-learn\n\n" + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
