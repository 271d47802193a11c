"""Sample quality on MNIST: density families, the tutorial's model and scikit-learn side by side.

Run from the repository root (15 to 25 minutes on 2 cores; the slow families are bounded by
``--timeout``)::

    python benchmarks/quality.py --n 3000 --timeout 300 --budget 2400 --out q.jsonl --markdown q.md

Data: MNIST train 60,000 / test 10,000 from ``../shared/data/mnist`` (or
``$BAYESGEN_SHARED_DATA/mnist``), read with :func:`bayesgen.io.read_labelled` from the IDX
files, so ``x = pixel / 255``.  Every model is fitted on all 60,000 training rows.

Protocol (the one :func:`bayesgen.metrics.evaluate` follows, with the parts that do not
depend on the generator computed once and shared by every row)
-----------------------------------------------------------------------------------
* Two disjoint random sets ``A`` and ``B`` of ``n`` real training rows (``--n``, default
  3000).  Each generator draws ``n`` labelled rows ``G``.  The row "real data (floor)" uses
  ``B`` as its "generated" set: every column of that row is the real-vs-real floor.
* Held-out log-likelihood: mean ``log p(x)`` of the 10,000 test rows in nats on the
  ``pixel / 255`` scale, and bits/dim on the 0-255 pixel scale
  (``-(mean log p(x) - 784 ln 255) / (784 ln 2)``).  The models see the raw (not
  dequantised) pixels, so constant border pixels let a density with a small ridge put large
  mass on them: bits/dim here is *not* the dequantised number papers report (see
  ``benchmarks/mnist_families.py`` for that protocol).
* Test accuracy: ``argmax p(y | x)`` on the 10,000 test rows.
* Label fidelity: the reference classifier (standardisation with a floor + logistic
  regression, :func:`bayesgen.metrics.fit_reference_classifier`, trained on 20,000 real
  training rows) labels ``G``; accuracy against the label each row was generated for.  The
  floor row shows the reference's accuracy on the real test rows.
* TSTR ratio: logistic regression (same recipe) trained on ``G`` vs trained on ``A``
  (TRTR), both scored on the test rows: ``acc(G) / acc(A)``.  The floor row trains on ``B``.
* Frechet distance, precision/recall (k = 3), coverage (k = 5): in the space of the first 50
  principal components of 20,000 real training rows (``pca-50``), ``A`` against ``G``.  The
  Frechet distance is not an FID (no Inception network).
* NDB/K: k-means with ``K = n // 50`` bins fitted on ``A`` in pixel space, two-proportion
  z-tests (alpha = 0.05) of ``A`` against ``G``.
* fit s: wall-clock fit time; samples/s: ``n`` rows drawn in one call (the tutorial: one
  ``numpy.random.multivariate_normal`` call per row, timed over ``--tutorial-calls`` calls).

Each generator is fitted, scored and sampled in a spawned child process with a time limit
(``--timeout``); a family that does not finish in time is reported as skipped, with the
reason, rather than stopping the run.  ``--budget`` caps the whole run: families left when
less than ``--timeout`` seconds remain are skipped too.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

D = 784
PIXEL_SCALE = 255.0

#: (row name, kind, spec, kwargs, note) in run order: quick ones first.
FAMILIES = [
    ("gaussian", "bayesgen", "gaussian", {"reg_covar": 0.05}, "full covariance, ridge 0.05"),
    ("diag", "bayesgen", "diag", {"reg_covar": 0.01}, "independent pixels, ridge 0.01"),
    ("tied", "bayesgen", "tied", {"reg_covar": 0.05}, "one shared full covariance (LDA)"),
    ("lowrank:64", "bayesgen", "lowrank:64", {"reg_covar": 1e-6}, "PPCA, 64 factors"),
    ("copula", "bayesgen", "copula", {"shrinkage": 0.1}, "Gaussian copula, shrinkage 0.1"),
    (
        "gaussian+logit",
        "bayesgen",
        "gaussian+logit",
        {"reg_covar": 0.0},
        "full Gaussian of dequantised logit pixels, MLE",
    ),
    ("fa", "bayesgen", "fa", {"reg_covar": 1e-6}, "factor analysis, 10 factors"),
    ("diagmix", "bayesgen", "diagmix", {"reg_covar": 1e-3}, "3 diagonal components"),
    ("mfa", "bayesgen", "mfa", {"reg_covar": 1e-3}, "3 factor analysers of rank 5"),
    ("mppca", "bayesgen", "mppca", {"reg_covar": 1e-3}, "3 PPCA components of rank 5"),
    ("mixture", "bayesgen", "mixture", {"reg_covar": 0.05}, "3 full components, ridge 0.05"),
    ("auto", "bayesgen", "auto", {}, "family chosen per class on held-out likelihood"),
]
#: Families run after the scikit-learn baselines (minutes each on MNIST).
SLOW = {"fa", "diagmix", "mfa", "mppca", "mixture", "auto"}
#: Shortcuts that only rename another one.
ALIASES = {"full"}
BASELINES = [
    (
        "tutorial (as written)",
        "tutorial",
        None,
        {},
        "np.cov (ddof=1), no ridge; numpy multivariate_normal, tol=1e-12; uniform labels",
    ),
    (
        "sklearn GaussianMixture/class",
        "sklearn-gmm",
        None,
        {"n_components": 10, "covariance_type": "diag", "reg_covar": 1e-3},
        "10 diagonal components per class; .sample",
    ),
    ("sklearn QDA", "sklearn-qda", None, {"reg_param": 0.05}, "classifier only"),
    ("sklearn GaussianNB", "sklearn-gnb", None, {}, "classifier only"),
]


def data_dir() -> Path:
    env = os.environ.get("BAYESGEN_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "mnist"


def load():
    from bayesgen import io as bio

    root = data_dir()
    train = bio.read_labelled(root / "train-images-idx3-ubyte.gz")
    test = bio.read_labelled(root / "t10k-images-idx3-ubyte.gz")
    assert train.pixel_scale == PIXEL_SCALE and train.X.shape == (60_000, D)
    return train.X, train.y, test.X, test.y


# ------------------------------------------------------------------------------ generators
# Each runner returns a dict with: fit_s, accuracy, log_lik (n_test,) or None, X_gen, y_gen,
# samples_per_s, notes.  It runs in a child process.


def _timed(func):
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


def run_bayesgen(spec, kwargs, Xtr, ytr, Xte, yte, n, seed):
    from bayesgen import BayesClassifier

    model = BayesClassifier(spec, random_state=seed, **kwargs)
    _, fit_s = _timed(lambda: model.fit(Xtr, ytr))
    out = {"fit_s": fit_s, "notes": []}
    out["accuracy"] = float(model.score(Xte, yte))
    out["log_lik"] = model.score_samples(Xte)
    (X_gen, y_gen), sample_s = _timed(lambda: model.sample(n, random_state=seed + 1))
    out.update(X_gen=X_gen, y_gen=y_gen, samples_per_s=n / sample_s)
    chosen = [getattr(d, "chosen_", None) for d in model.densities_]
    if any(chosen):
        out["notes"].append("chosen per class: " + ", ".join(map(str, chosen)))
    return out


def run_tutorial(Xtr, ytr, Xte, yte, n, seed, calls):
    """The tutorial's BayesClassifier, as written (see the module docstring)."""
    from scipy.stats import multivariate_normal

    notes = []
    classes = np.unique(ytr)

    def fit():
        return [(Xtr[ytr == k].mean(axis=0), np.cov(Xtr[ytr == k].T)) for k in classes]

    gaussians, fit_s = _timed(fit)
    out = {"fit_s": fit_s, "notes": notes, "accuracy": None, "log_lik": None}
    # The tutorial never scores data; the natural way with its parameters is scipy's
    # multivariate_normal, whose default refuses singular covariances.
    prior = np.bincount(ytr, minlength=len(classes)) / len(ytr)
    for allow in (False, True):
        try:
            joint = np.column_stack(
                [multivariate_normal(m, c, allow_singular=allow).logpdf(Xte) for m, c in gaussians]
            ) + np.log(prior)
        except (np.linalg.LinAlgError, ValueError) as exc:
            notes.append(
                f"scipy multivariate_normal(allow_singular={allow}) fails: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            )
            continue
        acc = float(np.mean(classes[np.argmax(joint, axis=1)] == yte))
        if not allow:
            out["accuracy"], out["log_lik"] = acc, logsumexp(joint, axis=1)
        else:
            ll = logsumexp(joint, axis=1)
            bad = int(np.sum(~np.isfinite(ll)))
            notes.append(
                f"with allow_singular=True (pseudo-determinant densities on each class's own "
                f"subspace): accuracy {acc:.4f}, mean log-lik {float(np.mean(ll)):.0f} nats; "
                f"{bad} of {len(ll)} test rows have log p(x) = -inf (outside every class's "
                "subspace)"
            )
        break
    legacy = np.random.RandomState(seed)
    # speed as written: one multivariate_normal call (one SVD) per sample
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        for _ in range(calls):
            k = legacy.randint(len(classes))
            legacy.multivariate_normal(gaussians[k][0], gaussians[k][1], tol=1e-12)
        out["samples_per_s"] = calls / (time.perf_counter() - start)
        # the metric set: the same function, one call per class for all its rows
        y_gen = classes[legacy.randint(len(classes), size=n)]
        X_gen = np.empty((n, Xtr.shape[1]))
        for k, label in enumerate(classes):
            rows = np.flatnonzero(y_gen == label)
            X_gen[rows] = legacy.multivariate_normal(
                gaussians[k][0], gaussians[k][1], size=len(rows), tol=1e-12
            )
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    notes.extend(f"sampling warned {m}" for m in messages)
    out.update(X_gen=X_gen, y_gen=y_gen)
    return out


def run_sklearn_gmm(kwargs, Xtr, ytr, Xte, yte, n, seed):
    from sklearn.mixture import GaussianMixture

    classes = np.unique(ytr)
    prior = np.bincount(ytr, minlength=len(classes)) / len(ytr)

    def fit():
        return [GaussianMixture(random_state=seed, **kwargs).fit(Xtr[ytr == k]) for k in classes]

    gmms, fit_s = _timed(fit)
    joint = np.column_stack([g.score_samples(Xte) for g in gmms]) + np.log(prior)
    out = {"fit_s": fit_s, "notes": [], "log_lik": logsumexp(joint, axis=1)}
    out["accuracy"] = float(np.mean(classes[np.argmax(joint, axis=1)] == yte))
    rng = np.random.default_rng(seed + 1)
    counts = rng.multinomial(n, prior)

    def sample():
        parts = [g.sample(c)[0] for g, c in zip(gmms, counts, strict=True) if c > 0]
        return np.vstack(parts), np.repeat(classes, counts)

    (X_gen, y_gen), sample_s = _timed(sample)
    order = rng.permutation(n)  # .sample returns rows grouped by component
    out.update(X_gen=X_gen[order], y_gen=y_gen[order], samples_per_s=n / sample_s)
    return out


def run_sklearn_classifier(kind, kwargs, Xtr, ytr, Xte, yte):
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.naive_bayes import GaussianNB

    est = QuadraticDiscriminantAnalysis(**kwargs) if kind == "sklearn-qda" else GaussianNB()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, fit_s = _timed(lambda: est.fit(Xtr, ytr))
        acc = float(est.score(Xte, yte))
    out = {"fit_s": fit_s, "accuracy": acc, "log_lik": None, "notes": []}
    if kind == "sklearn-gnb":
        out["log_lik"] = logsumexp(est.predict_joint_log_proba(Xte), axis=1)
        out["notes"].append(
            f"var_smoothing={est.var_smoothing} x max variance = "
            f"{est.epsilon_:.3g} added to every variance"
        )
    out["notes"].extend(sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    return out


def _child(queue, job, n, seed, calls):
    name, kind, spec, kwargs, _note = job
    try:
        Xtr, ytr, Xte, yte = load()
        if kind == "bayesgen":
            out = run_bayesgen(spec, kwargs, Xtr, ytr, Xte, yte, n, seed)
        elif kind == "tutorial":
            out = run_tutorial(Xtr, ytr, Xte, yte, n, seed, calls)
        elif kind == "sklearn-gmm":
            out = run_sklearn_gmm(kwargs, Xtr, ytr, Xte, yte, n, seed)
        else:
            out = run_sklearn_classifier(kind, kwargs, Xtr, ytr, Xte, yte)
        queue.put(("ok", out))
    except BaseException as exc:  # noqa: BLE001 - report every failure as a row
        queue.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))


def run_job(job, n, seed, calls, timeout):
    """Run one generator in a fresh child process; (status, result or message, seconds).

    The child is *spawned*, not forked: after the parent has used OpenMP (k-means), a forked
    child that uses OpenMP again can hang in GNU libgomp, and forked BLAS thread pools are
    not reliable either.  The child reads the data files itself (about 2 s).
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, job, n, seed, calls), daemon=True)
    start = time.perf_counter()
    proc.start()
    try:
        status, payload = queue.get(timeout=timeout)
    except Exception:  # noqa: BLE001 - queue.Empty: over the time limit
        status, payload = "timeout", f"did not finish within {timeout:.0f} s"
        proc.terminate()
    proc.join(timeout=30)
    if proc.is_alive():  # pragma: no cover
        proc.kill()
        proc.join()
    return status, payload, time.perf_counter() - start


# ------------------------------------------------------------------------------ metrics


class Shared:
    """Everything that does not depend on the generator, computed once."""

    def __init__(self, Xtr, ytr, Xte, yte, n, seed):
        from bayesgen import metrics

        self.Xte, self.yte, self.n = Xte, yte, n
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(Xtr))
        self.A, self.yA = Xtr[perm[:n]], ytr[perm[:n]]
        self.B, self.yB = Xtr[perm[n : 2 * n]], ytr[perm[n : 2 * n]]
        t0 = time.perf_counter()
        self.reference = metrics.fit_reference_classifier(
            Xtr, ytr, "logistic", seed + 2, max_train=20_000
        )
        self.reference_accuracy = float(self.reference.score(Xte, yte))
        self.space = metrics.PCAFeatures(50, max_train=20_000).fit(Xtr, random_state=seed + 3)
        self.FA = self.space.transform(self.A)
        self.n_bins = max(2, min(100, n // 50))
        self.bins = metrics._fit_bins(self.A, self.n_bins, seed + 4)  # as evaluate() does
        self.trtr = self._classifier_accuracy(self.A, self.yA)
        self.seconds = time.perf_counter() - t0
        self.seed = seed

    def _classifier_accuracy(self, X, y):
        from bayesgen import metrics

        clf = metrics.fit_reference_classifier(X, y, "logistic", self.seed_tstr, max_train=None)
        return float(clf.score(self.Xte, self.yte))

    seed_tstr = 12345

    def generator_metrics(self, X_gen, y_gen) -> dict:
        from bayesgen import metrics

        G, yG = X_gen[: self.n], y_gen[: self.n]
        FG = self.space.transform(G)
        pr = metrics.precision_recall(self.FA, FG, k=3, feature_space=self.space)
        dc = metrics.density_coverage(self.FA, FG, k=5, feature_space=self.space)
        nd = metrics._ndb_compare(self.bins, self.A, G, 0.05, self.seed + 4)
        fid = metrics.label_fidelity(G, yG, self.reference)
        tstr = self._classifier_accuracy(G, yG) if len(np.unique(yG)) > 1 else float("nan")
        return {
            "label_fidelity": fid.accuracy,
            "tstr_accuracy": tstr,
            "tstr_ratio": tstr / self.trtr,
            "frechet_pca50": metrics.frechet_distance(self.FA, FG, feature_space=self.space).value,
            "precision": pr.precision,
            "recall": pr.recall,
            "density": dc.density,
            "coverage": dc.coverage,
            "ndb_k": nd.ndb_fraction,
            "ndb_js_bits": nd.js_divergence,
            "samples_in_unit_box": float(np.mean((G >= 0) & (G <= 1))),
        }


def loglik_columns(log_lik):
    from bayesgen import metrics

    if log_lik is None:
        return {}
    ll = np.asarray(log_lik, dtype=np.float64)
    if not np.all(np.isfinite(ll)):
        bad = int(np.sum(~np.isfinite(ll)))
        return {
            "log_lik_nats": float(np.mean(ll)),
            "bits_per_dim": None,
            "log_lik_note": f"{bad} test rows have non-finite log p(x)",
        }
    rep = metrics.log_likelihood_report(ll, D, pixel_scale=PIXEL_SCALE)
    return {"log_lik_nats": rep.mean_log_likelihood, "bits_per_dim": rep.bits_per_dim_8bit}


# ------------------------------------------------------------------------------ table


def _f(v, fmt):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, fmt)


def _rate(v):
    if v is None:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


COLUMNS = [
    ("family", lambda r: r["family"]),
    ("test acc", lambda r: _f(r.get("accuracy"), ".4f")),
    ("log-lik nats", lambda r: _f(r.get("log_lik_nats"), ".0f")),
    ("bits/dim", lambda r: _f(r.get("bits_per_dim"), ".3f")),
    ("label fidelity", lambda r: _f(r.get("label_fidelity"), ".3f")),
    ("TSTR ratio", lambda r: _f(r.get("tstr_ratio"), ".3f")),
    ("Frechet pca-50", lambda r: _f(r.get("frechet_pca50"), ".2f")),
    ("precision", lambda r: _f(r.get("precision"), ".3f")),
    ("recall", lambda r: _f(r.get("recall"), ".3f")),
    ("coverage", lambda r: _f(r.get("coverage"), ".3f")),
    ("NDB/K", lambda r: _f(r.get("ndb_k"), ".2f")),
    ("fit s", lambda r: _f(r.get("fit_s"), ".1f")),
    ("samples/s", lambda r: _rate(r.get("samples_per_s"))),
]


def markdown(rows) -> str:
    cells = [[c(r) for _, c in COLUMNS] for r in rows]
    header = [h for h, _ in COLUMNS]
    widths = [max(len(x[i]) for x in [header, *cells]) for i in range(len(header))]

    def line(values):
        out = []
        for i, (v, w) in enumerate(zip(values, widths, strict=True)):
            out.append(v.ljust(w) if i == 0 else v.rjust(w))
        return "| " + " | ".join(out) + " |"

    sep = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), sep, *(line(c) for c in cells)])


# ------------------------------------------------------------------------------ main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="generated rows per family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds allowed per family (fit + score + sample)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=2400.0,
        help="seconds for the whole run; later families are skipped",
    )
    parser.add_argument(
        "--tutorial-calls",
        type=int,
        default=5,
        help="one-sample multivariate_normal calls timed for the tutorial",
    )
    parser.add_argument("--only", nargs="*", help="row names to run (default: all)")
    parser.add_argument("--out", help="write one JSON line per row here")
    parser.add_argument("--markdown", help="write the markdown table here")
    args = parser.parse_args(argv)
    if not data_dir().is_dir():
        print(f"MNIST not found under {data_dir()}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    from bayesgen.densities import DENSITY_SHORTCUTS

    def base(spec):
        return spec.split(":")[0].split("+")[0]

    jobs = [j for j in FAMILIES if base(j[2]) in DENSITY_SHORTCUTS]
    known = {base(j[2]) for j in jobs} | ALIASES
    for name in sorted(set(DENSITY_SHORTCUTS) - known):  # added since: library defaults
        jobs.append((name, "bayesgen", name, {}, "library defaults (new family)"))
        SLOW.add(name)
    quick = [j for j in jobs if j[0] not in SLOW]
    slow = [j for j in jobs if j[0] in SLOW]
    jobs = [BASELINES[0], *quick, *BASELINES[1:], *slow]
    if args.only:
        jobs = [j for j in jobs if j[0] in args.only]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"load average {os.getloadavg()[0]:.1f}, python {platform.python_version()}, "
        f"numpy {np.__version__}",
        flush=True,
    )
    print(f"# aliases left out: {sorted(ALIASES & set(DENSITY_SHORTCUTS))}", flush=True)
    Xtr, ytr, Xte, yte = load()
    shared = Shared(Xtr, ytr, Xte, yte, args.n, args.seed)
    print(
        f"# shared parts (reference, PCA-50, bins, TRTR) in {shared.seconds:.0f} s; "
        f"reference accuracy {shared.reference_accuracy:.4f}, TRTR {shared.trtr:.4f}",
        flush=True,
    )
    floor = {
        "family": "real data (floor)",
        "accuracy": None,
        "fit_s": None,
        "samples_per_s": None,
        "status": "ok",
        "note": f"B: {args.n} other real training rows; label fidelity = reference on "
        "the real test rows",
    }
    floor.update(shared.generator_metrics(shared.B, shared.yB))
    floor["label_fidelity"] = shared.reference_accuracy
    rows = [floor]
    _emit(floor, args.out)
    for job in jobs:
        name, kind, spec, kwargs, note = job
        left = args.budget - (time.perf_counter() - started)
        row = {"family": name, "spec": spec, "kwargs": kwargs, "note": note}
        if left < min(args.timeout, 60):
            row.update(status="skipped", reason=f"time budget of {args.budget:.0f} s used up")
            rows.append(row)
            _emit(row, args.out)
            continue
        status, payload, seconds = run_job(
            job, args.n, args.seed, args.tutorial_calls, min(args.timeout, left)
        )
        row["status"], row["seconds"] = status, seconds
        if status != "ok":
            row["reason"] = payload
        else:
            notes = list(payload.get("notes", []))
            row.update(
                accuracy=payload.get("accuracy"),
                fit_s=payload.get("fit_s"),
                samples_per_s=payload.get("samples_per_s"),
            )
            row.update(loglik_columns(payload.get("log_lik")))
            if "X_gen" in payload:
                X_gen, y_gen = payload["X_gen"], payload["y_gen"]
                if np.all(np.isfinite(X_gen)):
                    row.update(shared.generator_metrics(X_gen, y_gen))
                else:
                    notes.append("samples contain NaN/inf: generator metrics not computed")
            if "log_lik_note" in row:
                notes.append(row.pop("log_lik_note"))
            row["notes"] = notes
        rows.append(row)
        _emit(row, args.out)
    table = markdown([r for r in rows if r.get("status") == "ok"])
    print(table, flush=True)
    for r in rows:
        for text in r.get("notes", []):
            print(f"# {r['family']}: {text}")
        if r.get("status") != "ok":
            print(f"# {r['family']}: {r['status']}: {str(r.get('reason')).splitlines()[0]}")
    print(f"# total {time.perf_counter() - started:.0f} s", flush=True)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0


def _emit(row, out):
    line = json.dumps(row, default=float)
    print(line, flush=True)
    if out:
        with open(out, "a") as handle:
            handle.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
