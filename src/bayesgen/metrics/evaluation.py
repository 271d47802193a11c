"""Every metric for a fitted generative classifier, each beside its real-vs-real floor.

:func:`evaluate` runs the metric families in a fixed order of named steps -- check the
inputs, score held-out real data, split the real pool into two floor sets, generate, then
the classifier, feature-space, NDB and memorisation metrics -- and collects them in an
:class:`EvaluationReport`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import as_float_matrix
from bayesgen.metrics._common import (
    MetricResult,
    as_labels,
    describe_seed,
    same_width,
    seed_from,
    subsample,
)
from bayesgen.metrics._table import metric_rows
from bayesgen.metrics.bins import NDBResult, _fit_bins, _ndb_compare
from bayesgen.metrics.classification import (
    ClassificationReport,
    LabelFidelityReport,
    _describe_estimator,
    classification_report,
    fit_reference_classifier,
    label_fidelity,
)
from bayesgen.metrics.copying import MemorisationResult, memorisation
from bayesgen.metrics.features import (
    ClassifierFeatures,
    FeatureSpace,
    PCAFeatures,
    _parse_mlp_space,
    make_feature_space,
)
from bayesgen.metrics.frechet import FrechetResult, frechet_distance
from bayesgen.metrics.likelihood import LogLikelihoodReport, log_likelihood_report
from bayesgen.metrics.manifold import (
    DensityCoverageResult,
    PrecisionRecallResult,
    density_coverage,
    precision_recall,
)
from bayesgen.metrics.train_synthetic import TSTRReport, tstr

__all__ = ["EvaluationReport", "evaluate"]

#: Components seeded separately from ``random_state``, in the order their seeds are drawn.
_SEEDED_STEPS = ("split", "sample", "reference", "features", "tstr", "ndb", "holdout")
#: Neighbour ranks of precision/recall and density/coverage (each paper's choice).
_K_PRECISION_RECALL = 3
_K_DENSITY_COVERAGE = 5
_NDB_ALPHA = 0.05


@dataclass
class EvaluationReport(MetricResult):
    """Every metric :func:`evaluate` could compute, with its floor and settings.

    Attributes
    ----------
    settings : dict
        Feature space, k values, n, seeds, data sizes and how real data was split.
    log_likelihood : LogLikelihoodReport or None
        Held-out log-likelihood of ``X_test``.
    classification : ClassificationReport or None
        The model's accuracy on ``X_test``.
    label_fidelity : LabelFidelityReport or None
    tstr : TSTRReport or None
    frechet, frechet_floor : FrechetResult or None
    precision_recall, precision_recall_floor : PrecisionRecallResult or None
    density_coverage, density_coverage_floor : DensityCoverageResult or None
    ndb, ndb_floor : NDBResult or None
    memorisation : MemorisationResult or None
    notes : list of str
        What was skipped and why, and other caveats.
    """

    settings: dict
    log_likelihood: LogLikelihoodReport | None = None
    classification: ClassificationReport | None = None
    label_fidelity: LabelFidelityReport | None = None
    tstr: TSTRReport | None = None
    frechet: FrechetResult | None = None
    frechet_floor: FrechetResult | None = None
    precision_recall: PrecisionRecallResult | None = None
    precision_recall_floor: PrecisionRecallResult | None = None
    density_coverage: DensityCoverageResult | None = None
    density_coverage_floor: DensityCoverageResult | None = None
    ndb: NDBResult | None = None
    ndb_floor: NDBResult | None = None
    memorisation: MemorisationResult | None = None
    notes: list = field(default_factory=list)

    def rows(self) -> list[tuple[str, float | None, float | None, str]]:
        """Table rows ``(metric, generated, real-vs-real floor, unit)``; None = not applicable."""
        return metric_rows(self)

    def format_table(self) -> str:
        """Readable text table: ``metric | generated | real-vs-real floor | unit``."""

        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return f"{v:.4g}"

        header = ("metric", "generated", "real-vs-real floor", "unit")
        body = [(m, fmt(g), fmt(f), u) for m, g, f, u in self.rows()]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

        def line(r):
            return " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

        sep = "-+-".join("-" * w for w in widths)
        s = self.settings
        lines = [line(header), sep, *[line(r) for r in body]]
        lines.append("")
        lines.append(
            f"settings: n={s.get('n')} per set, feature space={s.get('feature_space')}, "
            f"seed={s.get('random_state')}, reference={s.get('reference_training')}"
        )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass
class _RealSplits:
    """The real rows each step uses (see the Notes of :func:`evaluate`).

    ``ref_X, ref_y`` train the reference classifier, the feature space and TRTR;
    ``ho_X, ho_y`` are the held-out rows they are scored on; ``A`` and ``B`` are the two
    disjoint floor sets of ``n`` rows each; ``n_gen`` rows are generated.
    """

    ref_X: np.ndarray
    ref_y: np.ndarray
    ho_X: np.ndarray
    ho_y: np.ndarray
    A: np.ndarray
    B: np.ndarray
    n: int
    n_gen: int


def _check_inputs(X_test, y_test, X_train, y_train, feature_space):
    """Validated ``(X_test, y_test, X_train, y_train)``; the train pair may be None."""
    Xte = as_float_matrix(X_test, "X_test")
    yte = as_labels(y_test, "y_test", len(Xte))
    if (X_train is None) != (y_train is None):
        raise DataError("pass X_train and y_train together (or neither).")
    Xtr = ytr = None
    if X_train is not None:
        Xtr = as_float_matrix(X_train, "X_train")
        ytr = as_labels(y_train, "y_train", len(Xtr))
        same_width(Xtr, Xte, "X_train", "X_test")
    if not (isinstance(feature_space, FeatureSpace) or _parse_mlp_space(feature_space)):
        make_feature_space(feature_space)  # fail before any model call on a bad name
    return Xte, yte, Xtr, ytr


def _initial_settings(random_state, Xte, Xtr, pixel_scale, max_train, seeds) -> dict:
    """The settings known before any metric runs (the steps add the rest in order)."""
    return {
        "random_state": describe_seed(random_state),
        "n_test": len(Xte),
        "n_train": None if Xtr is None else len(Xtr),
        "n_features": Xte.shape[1],
        "pixel_scale": pixel_scale,
        "k_precision_recall": _K_PRECISION_RECALL,
        "k_density_coverage": _K_DENSITY_COVERAGE,
        "max_train": max_train,
        "ndb_alpha": _NDB_ALPHA,
        "ndb_space": "input",
        "memorisation_space": "input",
        "component_seeds": seeds,
    }


def _score_held_out(report: EvaluationReport, model, Xte, yte, pixel_scale) -> None:
    """Held-out log-likelihood and accuracy of ``model`` on the real test rows."""
    if hasattr(model, "score_samples"):
        report.log_likelihood = log_likelihood_report(
            model.score_samples(Xte), Xte.shape[1], pixel_scale
        )
    else:
        report.notes.append("model has no score_samples: held-out log-likelihood skipped.")
    labels = np.asarray(getattr(model, "classes_", np.unique(yte)))
    if hasattr(model, "predict"):
        pred = np.asarray(model.predict(Xte))
        report.classification = classification_report(
            yte, pred, np.unique(np.concatenate([labels, yte, pred]))
        )
    else:
        report.notes.append("model has no predict: accuracy skipped.")


def _split_real(report: EvaluationReport, Xte, yte, Xtr, ytr, n_samples, seed) -> _RealSplits:
    """Split the real pool (``X_train``, else ``X_test``) into the sets each step uses."""
    settings, notes = report.settings, report.notes
    split_rng = np.random.default_rng(seed)
    if Xtr is not None:
        ref_X, ref_y, ho_X, ho_y = Xtr, ytr, Xte, yte
        pool = Xtr
        perm = split_rng.permutation(len(Xtr))
        half = len(Xtr) // 2
        settings["reference_training"] = "X_train"
        settings["floor_split"] = "two disjoint random subsets of X_train"
    else:
        # Without training data the test set is the only real data: one half trains the
        # reference models, the other scores them, and the halves are the floor sets.
        perm = split_rng.permutation(len(Xte))
        half = len(Xte) // 2
        ref_X, ref_y = Xte[perm[:half]], yte[perm[:half]]
        ho_X, ho_y = Xte[perm[half : 2 * half]], yte[perm[half : 2 * half]]
        pool = Xte
        settings["reference_training"] = "random half of X_test (no X_train given)"
        settings["floor_split"] = "the two random halves of X_test"
        notes.append(
            "no X_train: reference classifier, feature space and TRTR were trained on one "
            "half of X_test and scored on the other; memorisation skipped."
        )
    # 6 rows per set: density/coverage needs more than k = 5 neighbours.
    if half < 6:
        raise DataError(
            f"need at least 12 real rows to form two floor sets; the pool has {len(pool)}. "
            "Pass more real data."
        )
    n_gen = int(n_samples) if n_samples is not None else min(10000, half)
    if n_gen < 6:
        raise DataError(f"n_samples must be at least 6; got {n_samples}.")
    # Generated and floor sets have the same size n, since several metrics depend on n.
    n = min(n_gen, half)
    if n < n_gen:
        notes.append(
            f"distribution metrics use the first {n} of {n_gen} generated rows (the real "
            f"pool only has room for two disjoint sets of {n})."
        )
    A = pool[perm[:n]]
    B = pool[perm[n : 2 * n]] if Xtr is not None else pool[perm[half : half + n]]
    settings.update(n=n, n_generated=n_gen)
    return _RealSplits(ref_X, ref_y, ho_X, ho_y, A, B, n, n_gen)


def _generate(model, n_gen: int, seed: int, Xte: np.ndarray):
    """``n_gen`` generated rows and their labels, checked like real input."""
    X_gen, y_gen = model.sample(n_gen, random_state=seed)
    X_gen = as_float_matrix(X_gen, "generated X")
    y_gen = as_labels(y_gen, "generated y", len(X_gen))
    same_width(X_gen, Xte, "generated X", "X_test")
    return X_gen, y_gen


def _classifier_metrics(report, X_gen, y_gen, real: _RealSplits, mlp_units, seeds, max_train):
    """Fit the reference classifier; label fidelity and TSTR.  Returns the reference."""
    kind = "mlp" if mlp_units else "logistic"
    reference = fit_reference_classifier(
        real.ref_X,
        real.ref_y,
        kind,
        seeds["reference"],
        max_train=max_train,
        hidden_units=mlp_units or 128,
    )
    report.settings["reference_classifier"] = _describe_estimator(reference)
    report.label_fidelity = label_fidelity(
        X_gen, y_gen, reference, X_holdout=real.ho_X, y_holdout=real.ho_y
    )
    if len(np.unique(y_gen)) >= 2:
        report.tstr = tstr(
            X_gen,
            y_gen,
            real.ref_X,
            real.ref_y,
            real.ho_X,
            real.ho_y,
            "logistic",
            seeds["tstr"],
            max_train=max_train,
        )
    else:
        report.notes.append("generated data has a single class: TSTR skipped.")
    return reference


def _fitted_space(feature_space, reference, real: _RealSplits, seed, max_train) -> FeatureSpace:
    """The feature space named by ``feature_space``, fitted on the reference-training rows."""
    if _parse_mlp_space(feature_space):
        return ClassifierFeatures(reference)
    space = make_feature_space(feature_space)
    if isinstance(feature_space, str) and isinstance(space, PCAFeatures):
        space.max_train = max_train
    # A PCA the caller fitted already (e.g. on more data) is used as given.
    if not (isinstance(space, PCAFeatures) and space.pca_ is not None):
        space.fit(real.ref_X, real.ref_y, random_state=seed)
    return space


def _feature_metrics(report, G, real: _RealSplits, space: FeatureSpace) -> None:
    """Frechet distance, precision/recall and density/coverage in ``space``, with floors."""
    FA, FB, FG = space.transform(real.A), space.transform(real.B), space.transform(G)
    report.settings["feature_space"] = space.name
    report.frechet = frechet_distance(FA, FG, feature_space=space)
    report.frechet_floor = frechet_distance(FA, FB, feature_space=space)
    if real.n > 5:
        k_pr, k_dc = _K_PRECISION_RECALL, _K_DENSITY_COVERAGE
        report.precision_recall = precision_recall(FA, FG, k=k_pr, feature_space=space)
        report.precision_recall_floor = precision_recall(FA, FB, k=k_pr, feature_space=space)
        report.density_coverage = density_coverage(FA, FG, k=k_dc, feature_space=space)
        report.density_coverage_floor = density_coverage(FA, FB, k=k_dc, feature_space=space)


def _ndb_metrics(report, G, real: _RealSplits, seed: int) -> None:
    """NDB and bin JS divergence in input space, bins fitted on floor set ``A``."""
    # About 50 rows per bin keeps the per-bin z-test meaningful; 100 bins at most.
    n_bins = int(min(100, max(2, real.n // 50)))
    report.settings["ndb_bins"] = n_bins
    km = _fit_bins(real.A, n_bins, seed)
    report.ndb = _ndb_compare(km, real.A, G, _NDB_ALPHA, seed)
    report.ndb_floor = _ndb_compare(km, real.A, real.B, _NDB_ALPHA, seed)


def evaluate(
    model,
    X_test,
    y_test,
    *,
    X_train=None,
    y_train=None,
    n_samples=None,
    feature_space="pca-50",
    random_state=None,
    pixel_scale=None,
    max_train=20000,
) -> EvaluationReport:
    """Compute every metric the inputs allow for a fitted generative classifier.

    Parameters
    ----------
    model : fitted model
        Uses ``model.score_samples`` (held-out log-likelihood), ``model.predict``
        (accuracy) and ``model.sample(n, random_state=...) -> (X, y)`` (everything about
        generated data); metrics whose method is missing are skipped and noted.
    X_test, y_test : array-like of shape (n_test, d), (n_test,)
        Held-out real data.
    X_train, y_train : array-like of shape (n_train, d), (n_train,), optional
        The real training data.  Without it the reference classifier, the feature space and
        the TRTR baseline are trained on a random half of ``X_test`` and scored on the other
        half, and memorisation is skipped (``settings["reference_training"]`` says which).
    n_samples : int, optional
        Number of rows to generate; default ``min(10000, n_pool // 2)`` where the pool is
        ``X_train`` (or ``X_test`` without it).  The distribution metrics use
        ``n = min(n_samples, n_pool // 2)`` rows per set so generated and floor sets match.
    feature_space : str or FeatureSpace, default "pca-50"
        Space of the Frechet distance, precision/recall and density/coverage: ``"pca-<k>"``,
        ``"mlp-hidden-<k>"`` (hidden layer of the reference MLP), ``"input"``, or a
        :class:`FeatureSpace` object (fitted here on the reference-training rows unless it is
        an already fitted :class:`PCAFeatures` or a :class:`ClassifierFeatures`).
    random_state : None, int or numpy.random.Generator
        Seeds sampling, the splits, the classifiers and k-means (same seed, same report).
    pixel_scale : float, optional
        Divisor of 8-bit pixels (``x = pixel / pixel_scale``); adds bits/dim on the 0-256
        scale, see :func:`log_likelihood_report`.
    max_train : int, default 20000
        Cap on training rows for the reference classifier, TSTR and PCA.

    Returns
    -------
    EvaluationReport

    Notes
    -----
    Floors: two disjoint random real sets ``A`` and ``B`` of ``n`` rows each are drawn from
    the pool.  Each distribution metric is computed as metric(A, generated) and as
    metric(A, B); NDB bins are fitted on ``A`` (in input space).  Label fidelity's floor is
    the reference classifier's accuracy on held-out real rows; TSTR's is TRTR.
    Memorisation compares generated rows and ``n`` held-out test rows against all of
    ``X_train``.
    """
    Xte, yte, Xtr, ytr = _check_inputs(X_test, y_test, X_train, y_train, feature_space)
    rng = check_random_state(random_state)
    # One seed per component, all drawn before anything runs: skipping or changing one
    # component cannot shift the random draws of another.
    seeds = {step: seed_from(rng) for step in _SEEDED_STEPS}
    settings = _initial_settings(random_state, Xte, Xtr, pixel_scale, max_train, seeds)
    report = EvaluationReport(settings=settings, notes=[])

    _score_held_out(report, model, Xte, yte, pixel_scale)
    real = _split_real(report, Xte, yte, Xtr, ytr, n_samples, seeds["split"])
    if not hasattr(model, "sample"):
        report.notes.append("model has no sample: all metrics on generated data skipped.")
        return report
    X_gen, y_gen = _generate(model, real.n_gen, seeds["sample"], Xte)
    # Distribution metrics compare sets of equal size n (see _split_real).
    G = X_gen[: real.n]

    mlp_units = _parse_mlp_space(feature_space)
    reference = _classifier_metrics(report, X_gen, y_gen, real, mlp_units, seeds, max_train)
    space = _fitted_space(feature_space, reference, real, seeds["features"], max_train)
    _feature_metrics(report, G, real, space)
    _ndb_metrics(report, G, real, seeds["ndb"])
    if Xtr is not None:
        hidx = subsample(len(Xte), real.n, np.random.default_rng(seeds["holdout"]))
        report.memorisation = memorisation(G, Xtr, Xte[hidx])
    return report
