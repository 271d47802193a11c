"""Evaluate a table model: its samples against real rows, each metric beside a real floor.

:func:`evaluate_table` draws labelled rows from a fitted table model (a
:class:`~bayesgen.BayesClassifier` fitted on a DataFrame, or anything with
``sample(n, random_state=...) -> (X, y)``) and compares them with real rows, each metric
beside its **real-vs-real floor**: the same metric with a real set of the same size in
place of the synthetic one.  The reference is always the held-out ``real_test``:

==========================  ===================================  ==============================
metric                      synthetic                            floor
==========================  ===================================  ==============================
per-column KS / TV          synthetic vs ``real_test``           ``real_train`` vs ``real_test``
missing-value rate error    ``|rate(syn) - rate(test)|``          ``|rate(train) - rate(test)|``
missing-value pattern TV    patterns of syn vs ``real_test``      ``real_train`` vs ``real_test``
rows breaking a kept order  share of syn rows                     share of ``real_test`` rows
association error           ``mean |A(syn) - A(test)|``           ``mean |A(train) - A(test)|``
TSTR balanced accuracy      trained on synthetic, tested on test  trained on real train (TRTR)
distance to closest record  synthetic rows to ``real_train``      ``real_test`` rows to train
==========================  ===================================  ==============================

A *kept order* is ``x_a <= x_b`` between two numeric (or date) columns in every
``real_train`` row (:mod:`bayesgen.kernels.orders`): the floor says how often new real rows
break it, i.e. how much of the order is the data's own law.

The synthetic set and the real-train floor set have the same number of rows (``n``, see
:func:`evaluate_table`), so their sampling noise against the test set is the same.
The measures themselves are in :mod:`bayesgen.metrics.table_measures`, the two classifiers
in :mod:`bayesgen.metrics.table_classifiers` and the result classes in
:mod:`bayesgen.metrics.table_results`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from bayesgen.base.errors import DataError
from bayesgen.base.rng import check_random_state
from bayesgen.kernels.orders import OrderCounter, breaks_orders
from bayesgen.metrics import table_results
from bayesgen.metrics._common import describe_seed, seed_from, subsample
from bayesgen.metrics.table_classifiers import TableTSTR, table_tstr
from bayesgen.metrics.table_measures import (
    association_matrix,
    exact_copies,
    gower_nearest,
    ks_statistic,
    pattern_total_variation,
    total_variation,
)
from bayesgen.metrics.table_results import (
    AssociationResult,
    ColumnFidelity,
    DCRResult,
    ModelClassification,
    TableEvaluation,
)
from bayesgen.tables import TableSchema
from bayesgen.tables.codec import encode_column

# the result classes, re-exported, and what this module adds
__all__ = [*table_results.__all__, "TableTSTR", "evaluate_table"]

_SEEDED_STEPS = ("sample", "floor", "gradient_boosting", "logistic", "labels")
_LABEL_PLANS = ("train", "prior")


# ----------------------------------------------------------------------- inputs


def _check_frames(real_train, real_test, label) -> None:
    for name, frame in (("real_train", real_train), ("real_test", real_test)):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}.")
        if label not in frame.columns:
            raise DataError(
                f"{name} has no label column {label!r}; its columns are {list(frame.columns)}."
            )
        n_missing = int(frame[label].isna().sum())
        if n_missing:
            raise DataError(
                f"{name} has {n_missing} rows without a label in {label!r}; drop them first."
            )
        if len(frame) < 2:
            raise DataError(f"{name} has {len(frame)} rows; pass at least 2.")


def _check_model_columns(schema, synthetic, real_train, real_test, label) -> None:
    """Every column the model generates must be in both real tables: a renamed column
    would otherwise drop out of the comparison unnoticed."""
    known = set(schema.feature_names) | set(schema.dropped) | {label}
    for name, frame in (("real_test (--real)", real_test), ("real_train (--train)", real_train)):
        absent = [s.name for s in schema.features if s.name in synthetic and s.name not in frame]
        if absent:
            extra = [str(c) for c in frame.columns if c not in known]
            unknown = f"; it has columns the model does not know: {extra}" if extra else ""
            raise DataError(
                f"{name} lacks the model's column(s) {absent}{unknown}. Pass a table with "
                "the columns the model was fitted on (rename them to match)"
            )


def _synthetic_frame(model, X, names) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    cols = getattr(model, "feature_names_in_", None)
    cols = list(cols) if cols is not None else list(names)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != len(cols):
        raise DataError(
            f"the model sampled an array of shape {X.shape}; expected {len(cols)} columns "
            f"{cols[:10]}."
        )
    return pd.DataFrame(X, columns=cols)


def _schema(model, real_train, label) -> TableSchema:
    schema = getattr(model, "schema_", None)
    if isinstance(schema, TableSchema):
        return schema
    return TableSchema.detect(real_train.drop(columns=[label]))


def _encode(specs, frames) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Encode the columns of ``specs`` in every frame: numbers and dates through the
    schema's codec, categories as codes of the union of values seen in any frame (so a
    category that only one set has still counts).  Returns (matrices, categorical, kinds)."""
    out = [np.empty((len(f), len(specs))) for f in frames]
    categorical = np.zeros(len(specs), dtype=bool)
    kinds = []
    for j, spec in enumerate(specs):
        if spec.kind == "categorical":
            categorical[j] = True
            kinds.append("categorical")
            union = pd.concat([f[spec.name].astype(object) for f in frames], ignore_index=True)
            codes, _ = pd.factorize(union, use_na_sentinel=True)
            codes = np.where(codes < 0, np.nan, codes.astype(np.float64))
            start = 0
            for X, f in zip(out, frames, strict=True):
                X[:, j] = codes[start : start + len(f)]
                start += len(f)
        else:
            kinds.append("datetime" if spec.kind == "datetime" else "numeric")
            for X, f in zip(out, frames, strict=True):
                X[:, j] = encode_column(spec, f[spec.name], "missing")
    return out, categorical, kinds


def _order_breaks(specs, S, Tr, T) -> tuple[list[str], tuple | None]:
    """The orders every training row keeps, in words, and the share of synthetic and of
    test rows that break one (None when there is no such order)."""
    schema = TableSchema(list(specs))
    groups, scales = schema.order_groups()
    orders = OrderCounter(groups, scales).add(Tr).orders()
    if not len(orders):
        return [], None
    shares = tuple(float(breaks_orders(M, orders, scales).mean()) for M in (S, T))
    return schema.describe_orders(orders), shares


def _train_composition(train_labels, n: int, seed: int) -> np.ndarray:
    """``n`` labels in the training set's class proportions (largest remainder), shuffled."""
    classes, counts = np.unique(np.asarray(train_labels), return_counts=True)
    exact = counts * (n / counts.sum())
    k = np.floor(exact).astype(np.int64)
    k[np.argsort(k - exact, kind="stable")[: n - int(k.sum())]] += 1
    return np.random.default_rng(seed).permutation(np.repeat(classes, k))


def _label_codes(values, classes) -> np.ndarray:
    idx = pd.Index(list(classes), dtype=object).get_indexer(np.asarray(values, dtype=object))
    return idx.astype(np.int64)


# ----------------------------------------------------------------------- metrics


def _column_fidelity(j, spec, kind, sets, classes) -> ColumnFidelity:
    """KS or TV of column ``j`` (pooled and per class), and its missing-value rates."""
    (S, ys), (F, yf), (T, yt), (Tr, _) = sets
    measure = total_variation if kind == "categorical" else ks_statistic
    per_class = {}
    for k, label in enumerate(classes):
        per_class[str(label)] = {
            "value": measure(S[ys == k, j], T[yt == k, j]),
            "floor": measure(F[yf == k, j], T[yt == k, j]),
        }
    return ColumnFidelity(
        name=spec.name,
        kind=kind,
        statistic="TV" if kind == "categorical" else "KS",
        value=measure(S[:, j], T[:, j]),
        floor=measure(F[:, j], T[:, j]),
        per_class=per_class,
        missing_synthetic=float(np.isnan(S[:, j]).mean()) if len(S) else float("nan"),
        missing_train=float(np.isnan(Tr[:, j]).mean()),
        missing_test=float(np.isnan(T[:, j]).mean()),
    )


def _association(S, F, T, categorical, names, correlation) -> AssociationResult | None:
    if len(names) < 2:
        return None
    a_test = association_matrix(T, categorical, correlation=correlation)
    a_syn = association_matrix(S, categorical, correlation=correlation)
    a_train = association_matrix(F, categorical, correlation=correlation)
    iu = np.triu_indices(len(names), k=1)
    diff_syn = np.abs(a_syn - a_test)[iu]
    diff_train = np.abs(a_train - a_test)[iu]
    ok = np.isfinite(diff_syn) & np.isfinite(diff_train)
    return AssociationResult(
        error=float(diff_syn[ok].mean()) if ok.any() else float("nan"),
        floor=float(diff_train[ok].mean()) if ok.any() else float("nan"),
        correlation=correlation,
        names=list(names),
        test=a_test,
        synthetic=a_syn,
        train=a_train,
        n_pairs=int(ok.sum()),
    )


def _dcr(S, T, Tr, categorical, block_cells) -> DCRResult:
    with np.errstate(invalid="ignore"):
        ranges = np.nanmax(Tr, axis=0) - np.nanmin(Tr, axis=0)
    d_syn = gower_nearest(S, Tr, categorical, ranges, block_cells=block_cells)
    d_ho = gower_nearest(T, Tr, categorical, ranges, block_cells=block_cells)
    copies_syn, copies_ho = exact_copies(S, Tr), exact_copies(T, Tr)

    def stat(d, fn):
        d = d[np.isfinite(d)]
        return float(fn(d)) if d.size else float("nan")

    syn_med, ho_med = stat(d_syn, np.median), stat(d_ho, np.median)
    return DCRResult(
        synthetic_median=syn_med,
        holdout_median=ho_med,
        synthetic_p05=stat(d_syn, lambda d: np.percentile(d, 5)),
        holdout_p05=stat(d_ho, lambda d: np.percentile(d, 5)),
        synthetic_exact=float(copies_syn.mean()) if copies_syn.size else float("nan"),
        holdout_exact=float(copies_ho.mean()) if copies_ho.size else float("nan"),
        holds=bool(syn_med >= ho_med),
        synthetic_distances=d_syn,
        holdout_distances=d_ho,
    )


def _model_classification(model, test, label, classes, yt, tstr, notes):
    """The model's own Bayes' rule on the held-out rows, from one evaluation of the joint
    ``log p(x, y = k)``: the posterior (its log-loss, its argmax) and ``log p(x)``."""
    if not hasattr(model, "predict_joint_log_proba"):
        return None
    try:
        joint = np.asarray(
            model.predict_joint_log_proba(test.drop(columns=[label])), dtype=np.float64
        )
    except DataError as exc:  # e.g. a category the model never saw
        notes.append(f"the model's own classification of the test rows skipped: {exc}")
        return None
    log_density = logsumexp(joint, axis=1)
    known = yt >= 0
    rows = np.flatnonzero(known)
    log_posterior = joint[rows, yt[known]] - log_density[rows]
    loss = -np.maximum(log_posterior, np.log(np.finfo(float).tiny))
    prior = np.asarray(getattr(model, "class_prior_", np.full(len(classes), 1 / len(classes))))
    predicted = joint.argmax(axis=1)
    present = np.unique(yt[known])
    recalls = [np.mean(predicted[yt == k] == k) for k in present]
    reference = next((t.trtr for t in tstr if t.classifier == "gradient boosting"), None)
    return ModelClassification(
        balanced_accuracy=float(np.mean(recalls)),
        reference_balanced_accuracy=reference,
        log_loss=float(loss.mean()),
        prior_log_loss=float(-np.log(prior[yt[known]]).mean()),
        log_likelihood=float(np.mean(log_density)),
        n_test=int(known.sum()),
    )


def evaluate_table(
    model,
    real_train,
    real_test,
    *,
    label,
    n_samples=None,
    random_state=None,
    correlation="pearson",
    labels="train",
    block_cells=2**21,
) -> TableEvaluation:
    """Compare a fitted table model's samples with real rows, each metric beside its floor.

    Parameters
    ----------
    model : fitted model
        ``model.sample(n, random_state=...)`` (``labels="prior"``) or
        ``model.sample(y=labels, random_state=...)`` (``labels="train"``) must return
        ``(X, y)``: a DataFrame (or an array whose columns are ``model.feature_names_in_``)
        and the labels.  The column
        kinds come from ``model.schema_`` when it is a :class:`~bayesgen.tables.TableSchema`,
        else they are detected on ``real_train``.
    real_train : pandas.DataFrame
        The rows the model was fitted on, with the label column.
    real_test : pandas.DataFrame
        Held-out real rows (disjoint from ``real_train``), with the label column.
    label : str
        Name of the label column.
    n_samples : int, optional
        Rows to generate; default ``len(real_train)``.  The distribution metrics compare
        ``n = min(n_samples, len(real_train))`` synthetic rows and a random ``n`` of the
        training rows with ``real_test``; TSTR trains on all synthetic rows.
    random_state : None, int or numpy.random.Generator
        Seeds sampling, the floor subset and the classifiers.
    correlation : {"pearson", "spearman"}, default="pearson"
        Association of two numeric columns.
    labels : {"train", "prior"}, default="train"
        Labels of the synthetic rows.  "train": ``model.sample(y=...)`` with the training
        set's class proportions (exact counts, rows shuffled), like the floor set, so the
        comparison is not blurred by the multinomial noise of drawing labels (with a
        stratified split the floor has none); "prior": ``model.sample(n)`` draws them
        from the model's prior.
    block_cells : int, default=2**21
        Size of the blocks of the distance-to-closest-record computation (doubles).

    Returns
    -------
    TableEvaluation

    Notes
    -----
    Every measure works on observed cells (see :mod:`bayesgen.metrics.table_measures`);
    missing cells are judged by their rate.  Columns the model does not produce (dropped
    as identifiers, say) are left out and named in ``notes``.  Per class, the synthetic
    rows of class ``k`` are compared with the test rows of class ``k`` (floor: the training
    rows of class ``k``).  Balanced accuracy is the mean recall over the classes present
    in ``real_test``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayesgen import BayesClassifier
    >>> from bayesgen.metrics import evaluate_table
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    >>> df["y"] = np.where(df["x"] > 0, "pos", "neg")
    >>> model = BayesClassifier().fit(df.iloc[:300].drop(columns="y"), df["y"].iloc[:300])
    >>> ev = evaluate_table(model, df.iloc[:300], df.iloc[300:], label="y", random_state=0)
    >>> ev.dcr.holds in (True, False), len(ev.columns)
    (True, 2)
    """
    _check_frames(real_train, real_test, label)
    rng = check_random_state(random_state)
    seeds = {step: seed_from(rng) for step in _SEEDED_STEPS}
    n_gen = len(real_train) if n_samples is None else int(n_samples)
    if n_gen < 2:
        raise DataError(f"n_samples must be at least 2; got {n_samples}.")
    if labels not in _LABEL_PLANS:
        raise DataError(f"labels must be one of {_LABEL_PLANS}; got {labels!r}.")
    schema = _schema(model, real_train, label)
    if labels == "train":
        plan = _train_composition(real_train[label].to_numpy(), n_gen, seeds["labels"])
        X_syn, y_syn = model.sample(y=plan, random_state=seeds["sample"])
    else:
        X_syn, y_syn = model.sample(n_gen, random_state=seeds["sample"])
    synthetic = _synthetic_frame(model, X_syn, schema.feature_names)
    notes = []
    _check_model_columns(schema, synthetic, real_train, real_test, label)
    specs = [s for s in schema.features if s.name in synthetic.columns]
    left_out = [c for c in real_train.columns if c != label and c not in {s.name for s in specs}]
    if left_out:
        notes.append(f"columns not evaluated (the model does not produce them): {left_out}.")
    if not specs:
        raise DataError("no column of the table is produced by the model; nothing to compare.")

    train = real_train.reset_index(drop=True)
    test = real_test.reset_index(drop=True)
    (S, Tr, T), categorical, kinds = _encode(specs, [synthetic, train, test])
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = np.unique(train[label].to_numpy())
    ys = _label_codes(y_syn, classes)
    ytr = _label_codes(train[label], classes)
    yt = _label_codes(test[label], classes)

    n = min(n_gen, len(train))
    floor_idx = subsample(len(train), n, np.random.default_rng(seeds["floor"]))
    S_n, ys_n = S[:n], ys[:n]
    F, yf = Tr[floor_idx], ytr[floor_idx]
    if n < n_gen:
        notes.append(f"distribution metrics use the first {n} of {n_gen} synthetic rows.")
    elif n < len(train):
        notes.append(f"the floor uses a random {n} of the {len(train)} training rows.")

    sets = ((S_n, ys_n), (F, yf), (T, yt), (Tr, ytr))
    columns = [_column_fidelity(j, spec, kinds[j], sets, classes) for j, spec in enumerate(specs)]
    names = [s.name for s in specs]
    association = _association(S_n, F, T, categorical, names, correlation)
    tstr = table_tstr(S, ys, Tr, ytr, T, yt, categorical, seeds, notes, list(classes))
    dcr = _dcr(S_n, T, Tr, categorical, block_cells)
    classification = _model_classification(model, test, label, classes, yt, tstr, notes)
    patterns = None
    if any(np.isnan(M).any() for M in (S_n, F, T)):
        patterns = (pattern_total_variation(S_n, T), pattern_total_variation(F, T))
    orders, order_breaks = _order_breaks(specs, S_n, Tr, T)
    settings = {
        "label": label,
        "n": n,
        "n_generated": n_gen,
        "n_train": len(train),
        "n_test": len(test),
        "columns": names,
        "kinds": dict(zip(names, kinds, strict=True)),
        "classes": [str(c) for c in classes],
        "correlation": correlation,
        "labels": labels,
        "orders_kept_by_train": orders,
        "reference": "real_test (floors: real_train vs real_test; DCR: rows vs real_train)",
        "random_state": describe_seed(random_state),
        "component_seeds": seeds,
    }
    return TableEvaluation(
        settings=settings,
        columns=columns,
        association=association,
        tstr=tstr,
        dcr=dcr,
        notes=notes,
        missing_pattern_tv=patterns,
        order_breaks=order_breaks,
        synthetic=synthetic,
        synthetic_labels=np.asarray(y_syn),
        classification=classification,
    )
