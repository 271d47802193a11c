"""Over-sampling benchmark: BayesOverSampler beside imbalanced-learn's over-samplers.

What it measures (issue 14, "Must show"):

* Data: the shared tables -- seattle-weather as it is (naturally imbalanced), penguins
  and cars -- and scikit-learn's bundled breast-cancer, wine and digits.  Every split is a
  stratified 70/30 train/test split; in the training part of every data set but
  seattle-weather, each class except the largest one (the minority classes) is cut to 10 %
  of its rows (rounded up), drawn at random.  The test rows are never touched.
* Classifiers: logistic regression (tables: median / most-frequent imputation, one-hot
  categories, standardised numbers) and HistGradientBoosting (missing cells as they are,
  categories as ordinal codes declared categorical).
* Over-samplers, all with their default settings except as stated: none,
  RandomOverSampler, SMOTE (SMOTENC on the table with categorical columns, penguins),
  ADASYN, and bayesgen's BayesOverSampler (its default density is the copula; the column
  "bayesgen gaussian" is ``density="gaussian"``, and the copula on the tables with
  categories or missing cells, which only the copula models).  SMOTE, SMOTENC and
  ADASYN need complete numeric rows: for them missing cells are imputed the same way as
  for the logistic regression (median / most frequent, fitted on the training rows),
  numbers are standardised (so that no one unit dominates the neighbour distances), and
  their ``k_neighbors`` / ``n_neighbors`` is ``min(5, smallest class - 1)`` (the
  minority classes have as few as 4 rows).  ADASYN has no categorical variant: on
  penguins it runs on one-hot columns, decoded to the largest entry.  ADASYN stops with an
  error when a class has no neighbour of another class; such runs are left out of its
  cells (listed under the tables).  RandomOverSampler and bayesgen take the rows as they
  are (missing cells included).
* Dates (seattle-weather's ``date``, cars' ``Year``) are days since 1970 for every
  method; cars' ``Name`` (an identifier) is left out.
* Scores: balanced accuracy and macro-F1 on the test rows, mean +- standard deviation over
  the seeds; "mean" rows average the data set x classifier means.
* Speed: ``fit_resample`` on 100,000 rows x 20 numeric columns (two classes, 90 % / 10 %)
  for bayesgen (copula and Gaussian) and SMOTE, interleaved, best of ``--repeats``.
* Everything runs on one thread (threadpoolctl) except the speed part.

Run from the repository root::

    python benchmarks/oversampling.py                 # 10 seeds, prints markdown
    python benchmarks/oversampling.py --readme        # and writes benchmarks/README.md

``--bayesgen gaussian "gaussian shrinkage=auto"`` adds bayesgen columns with other
settings (how the default was chosen); ``--seeds``, ``--first-seed``, ``--datasets`` and
``--methods`` select parts of a run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import describe_machine, format_table, shared_data_dir, time_pair
from imblearn.over_sampling import ADASYN, SMOTE, SMOTENC, RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from bayesgen import BayesOverSampler

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- oversampling:start -->", "<!-- oversampling:end -->"
EPOCH = pd.Timestamp("1970-01-01")


# ---------------------------------------------------------------------------- data
class Dataset:
    """A labelled table: features ``X`` (DataFrame), labels ``y``, which columns are
    categorical, and whether the minority classes are cut in training."""

    def __init__(self, name, X, y, categorical=(), cut=True):
        self.name, self.X, self.y = name, X, pd.Series(np.asarray(y), name="label")
        self.categorical = list(categorical)
        self.numeric = [c for c in X.columns if c not in self.categorical]
        self.cut = cut


def _days(column: pd.Series) -> pd.Series:
    """Dates as days since 1970-01-01 (one number per date, for every method alike)."""
    return (pd.to_datetime(column) - EPOCH).dt.days


def load_datasets(names=None) -> list[Dataset]:
    tables = shared_data_dir() / "tables"
    out = []
    if (tables / "seattle-weather.csv").is_file():
        df = pd.read_csv(tables / "seattle-weather.csv")
        df["date"] = _days(df["date"])
        out.append(Dataset("seattle-weather", df.drop(columns="weather"), df["weather"], cut=False))
    if (tables / "penguins.csv").is_file():
        df = pd.read_csv(tables / "penguins.csv")
        X = df.drop(columns="species")
        out.append(Dataset("penguins", X, df["species"], categorical=["island", "sex"]))
    if (tables / "cars.csv").is_file():
        df = pd.read_csv(tables / "cars.csv")
        df["Year"] = _days(df["Year"])
        # Name is an identifier (305 distinct values): no feature for any method
        out.append(Dataset("cars", df.drop(columns=["Name", "Origin"]), df["Origin"]))
    for name, loader in (
        ("breast-cancer", load_breast_cancer),
        ("wine", load_wine),
        ("digits", load_digits),
    ):
        bunch = loader(as_frame=True)
        X = bunch.data.astype(np.float64)
        X.columns = [str(c) for c in X.columns]
        out.append(Dataset(name, X, bunch.target))
    return [d for d in out if names is None or d.name in names]


def split(data: Dataset, seed: int):
    """Stratified 70/30 split; minority classes of the training part cut to 10 %."""
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=0.3, random_state=seed)
    train, test = next(splitter.split(data.X, data.y))
    if data.cut:
        rng = np.random.default_rng(seed)
        labels, counts = np.unique(data.y, return_counts=True)
        majority = labels[int(np.argmax(counts))]
        y_train = data.y.to_numpy()[train]
        keep = [train[y_train == majority]]
        for label in labels[labels != majority]:
            rows = train[y_train == label]
            keep.append(rng.choice(rows, math.ceil(0.1 * rows.shape[0]), replace=False))
        train = np.sort(np.concatenate(keep))
    X, y = data.X, data.y
    return (
        X.iloc[train].reset_index(drop=True),
        y.iloc[train].reset_index(drop=True),
        X.iloc[test].reset_index(drop=True),
        y.iloc[test].reset_index(drop=True),
    )


# ---------------------------------------------------------------------------- pipelines
class OneHotResampler(BaseEstimator):
    """Run a numeric-only over-sampler (ADASYN) on one-hot categories and decode them to
    the largest entry; numeric tables pass straight through."""

    def __init__(self, sampler=None, categorical=()):
        self.sampler = sampler
        self.categorical = categorical

    def fit_resample(self, X, y):
        sampler = clone(self.sampler)
        cats = list(self.categorical)
        if not cats:
            return sampler.fit_resample(X, y)
        dummies = pd.get_dummies(X[cats].astype(str), prefix_sep="\x1f", dtype=float)
        wide = pd.concat([X.drop(columns=cats), dummies], axis=1)
        X_res, y_res = sampler.fit_resample(wide, y)
        out = X_res[[c for c in X.columns if c not in cats]].copy()
        for cat in cats:
            group = [c for c in dummies.columns if c.startswith(cat + "\x1f")]
            best = X_res[group].to_numpy().argmax(axis=1)
            out[cat] = np.array([g.split("\x1f", 1)[1] for g in group], dtype=object)[best]
        return out[list(X.columns)], y_res


def sampler_prep(data: Dataset) -> ColumnTransformer:
    """What SMOTE, SMOTENC and ADASYN need: complete rows, comparable numeric scales."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    parts = [("num", numeric, data.numeric)]
    if data.categorical:
        parts.append(("cat", SimpleImputer(strategy="most_frequent"), data.categorical))
    return ColumnTransformer(parts, verbose_feature_names_out=False).set_output(transform="pandas")


def classifier_steps(data: Dataset, classifier: str, seed: int) -> list:
    if classifier == "logistic":
        numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        parts = [("num", numeric, data.numeric)]
        if data.categorical:
            onehot = make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            )
            parts.append(("cat", onehot, data.categorical))
        prep = ColumnTransformer(parts)
        return [("prep", prep), ("clf", LogisticRegression(max_iter=5000))]
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
    )
    prep = ColumnTransformer(
        [("cat", codes, data.categorical), ("num", "passthrough", data.numeric)]
    )
    categorical = list(range(len(data.categorical))) or None
    model = HistGradientBoostingClassifier(categorical_features=categorical, random_state=seed)
    return [("prep", prep), ("clf", model)]


def sampler_steps(method: str, data: Dataset, seed: int, smallest: int) -> list:
    k = max(1, min(5, smallest - 1))
    if method == "none":
        return []
    if method == "RandomOverSampler":
        return [("os", RandomOverSampler(random_state=seed))]
    if method == "SMOTE":
        if data.categorical:
            cats = list(data.categorical)
            smote = SMOTENC(categorical_features=cats, k_neighbors=k, random_state=seed)
        else:
            smote = SMOTE(k_neighbors=k, random_state=seed)
        return [("impute", sampler_prep(data)), ("os", smote)]
    if method == "ADASYN":
        adasyn = OneHotResampler(ADASYN(n_neighbors=k, random_state=seed), data.categorical)
        return [("impute", sampler_prep(data)), ("os", adasyn)]
    params = bayesgen_params(method)
    if params.get("density") == "gaussian" and (data.categorical or data.X.isna().any().any()):
        params["density"] = "copula"  # as BayesClassifier picks: the only one for tables
    return [("os", BayesOverSampler(**params, random_state=seed))]


def bayesgen_params(method: str) -> dict:
    """``"bayesgen"`` is the default; ``"bayesgen copula shrinkage=auto"`` sets a density
    and other parameters (how the default was chosen)."""
    words = method.split()[1:]
    params = {"density": words[0]} if words else {}
    for word in words[1:]:
        key, value = word.split("=", 1)
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    return params


def run_one(data: Dataset, method: str, classifier: str, seed: int, parts) -> tuple:
    X_train, y_train, X_test, y_test = parts
    smallest = int(y_train.value_counts().min())
    steps = sampler_steps(method, data, seed, smallest) + classifier_steps(data, classifier, seed)
    model = Pipeline(steps)
    try:
        model.fit(X_train, y_train)
    except (RuntimeError, ValueError) as exc:  # ADASYN: "No samples will be generated ..."
        return None, f"{method} on {data.name} / {classifier}: {str(exc).splitlines()[0][:90]}"
    pred = model.predict(X_test)
    return (
        balanced_accuracy_score(y_test, pred),
        f1_score(y_test, pred, average="macro"),
    ), None


# ---------------------------------------------------------------------------- report
def cell(values) -> str:
    values = np.asarray(values)
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if values.size > 1 else "-"


def tables(results: dict, datasets, classifiers, methods, n_seeds: int) -> str:
    lines = []
    for metric, name in ((0, "balanced accuracy"), (1, "macro-F1")):
        paired = "bayesgen" in methods and "SMOTE" in methods
        header = ["data / classifier", *methods] + (["bayesgen - SMOTE"] if paired else [])
        rows, means = [], {m: [] for m in methods}
        for data in datasets:
            for clf in classifiers:
                row = [f"{data} / {clf}"]
                for m in methods:
                    values = [r[metric] for r in results[(data, clf, m)] if r is not None]
                    means[m].append(np.mean(values) if values else np.nan)
                    row.append(cell(values))
                if paired:
                    row.append(_difference(results, (data, clf), metric))
                rows.append(row)
        mean_row = ["**mean**", *(_mean_cell(means[m]) for m in methods)]
        if paired:
            diffs = np.array(means["bayesgen"]) - np.array(means["SMOTE"])
            wins = int((diffs > 0).sum())
            mean_row.append(f"**{diffs.mean():+.3f}** ({wins} of {diffs.size} cells ahead)")
        rows.append(mean_row)
        lines += [f"{name.capitalize()}, mean ± sd over {n_seeds} seeds:", ""]
        lines += [format_table(rows, header), ""]
    return "\n".join(lines)


def _mean_cell(values) -> str:
    """The mean of the cell means; "(k of n cells)" when some cells have no runs."""
    values = np.asarray(values, dtype=float)
    have = ~np.isnan(values)
    note = "" if have.all() else f" ({int(have.sum())} of {values.size} cells)"
    return f"**{values[have].mean():.3f}**{note}" if have.any() else "-"


def _difference(results, key, metric) -> str:
    """Paired difference bayesgen - SMOTE over the seeds: mean +- standard error."""
    a = results[(*key, "bayesgen")]
    b = results[(*key, "SMOTE")]
    d = np.array([x[metric] - z[metric] for x, z in zip(a, b, strict=True) if x and z])
    if d.size < 2:
        return "-"
    return f"{d.mean():+.3f} ± {d.std(ddof=1) / math.sqrt(d.size):.3f}"


def speed(repeats: int) -> str:
    rng = np.random.default_rng(0)
    n, d = 100_000, 20
    y = (rng.random(n) < 0.1).astype(np.int64)
    X = rng.standard_normal((n, d)) + 0.5 * y[:, None]
    made = BayesOverSampler(random_state=0).fit_resample(X, y)[0].shape[0] - n
    smote = SMOTE(random_state=0)
    lines = [
        f"`fit_resample` on {n:,} rows x {d} numeric columns ({int(y.sum()):,} minority "
        f"rows, {made:,} made), best of {repeats}, interleaved with SMOTE's:",
        "",
    ]
    for label, density in (("bayesgen (default, copula)", None), ("bayesgen gaussian", "gaussian")):
        sampler = BayesOverSampler(density, random_state=0)
        ours, base = time_pair(
            lambda s=sampler: s.fit_resample(X, y),
            lambda: smote.fit_resample(X, y),
            repeats=repeats,
        )
        lines.append(f"- {label}: {ours:.3f} s; SMOTE {base:.3f} s; ratio {ours / base:.2f}")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    page = README.read_text()  # re-read right before writing: others append too
    block = f"{START}\n{text.rstrip()}\n{END}"
    if START in page and END in page:
        head, rest = page.split(START, 1)
        page = head + block + rest.split(END, 1)[1]
    else:
        page = page.rstrip() + "\n\n## Over-sampling\n\n" + block + "\n"
    README.write_text(page)


def run_all(datasets, methods, args, results, failures, start) -> None:
    for data in datasets:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            parts = split(data, seed)
            for clf in args.classifiers:
                for method in methods:
                    scores, error = run_one(data, method, clf, seed, parts)
                    results.setdefault((data.name, clf, method), []).append(scores)
                    if error:
                        failures.append(error)
        print(f"{data.name}: done at {time.perf_counter() - start:.0f} s", file=sys.stderr)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--classifiers", nargs="*", default=["logistic", "HGB"])
    parser.add_argument(
        "--bayesgen",
        nargs="*",
        default=[],
        help="extra bayesgen columns: density and parameters, e.g. 'gaussian shrinkage=auto'",
    )
    parser.add_argument(
        "--methods", nargs="*", default=None, help="only these columns (default: all)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--readme", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    start = time.perf_counter()
    datasets = load_datasets(args.datasets)
    methods = ["none", "RandomOverSampler", "SMOTE", "ADASYN", "bayesgen"]
    methods += [f"bayesgen {d}" for d in args.bayesgen]
    if args.methods is not None:
        methods = [m for m in methods if m in args.methods or m.startswith("bayesgen ")]
    results, failures = {}, []
    # one thread: HistGradientBoosting's OpenMP threads on a shared machine spent 10-100x
    # longer spinning than computing (a 0.7 s fit took 30-60 s under load)
    with threadpool_limits(1):
        run_all(datasets, methods, args, results, failures, start)
    names = [d.name for d in datasets]
    text = tables(results, names, args.classifiers, methods, args.seeds)
    if failures:
        text += "\nRuns that failed (left out of their cell; a cell without runs shows -):\n\n"
        for message in sorted(set(failures)):
            text += f"- {failures.count(message)} x {message}\n"
    if not args.no_speed:
        text += "\n" + speed(args.repeats) + "\n"
    elapsed = time.perf_counter() - start
    machine = describe_machine()
    command = " ".join(["python benchmarks/oversampling.py", *(argv or sys.argv[1:])])
    text += (
        f"\nMeasured {time.strftime('%Y-%m-%d')} with `{command}` in {elapsed / 60:.1f} "
        f"minutes on {machine['cores']} cores ({machine['cpu']}).\n"
    )
    print(text)
    if args.readme:
        write_readme(text)


if __name__ == "__main__":
    main()
