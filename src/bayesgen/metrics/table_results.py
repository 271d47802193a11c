"""The results of :func:`bayesgen.metrics.evaluate_table`: one dataclass per metric family
and :class:`TableEvaluation`, which holds them all and prints the
``metric | synthetic | real-vs-real floor | unit`` table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bayesgen.metrics._common import MetricResult

__all__ = [
    "AssociationResult",
    "ColumnFidelity",
    "DCRResult",
    "ModelClassification",
    "TableEvaluation",
]

_UNITS = {"KS": "KS statistic", "TV": "total variation"}


@dataclass(frozen=True)
class ColumnFidelity(MetricResult):
    """How close one column's synthetic values are to the real ones.

    Attributes
    ----------
    name : str
    kind : {"numeric", "datetime", "categorical"}
    statistic : {"KS", "TV"}
        Two-sample Kolmogorov-Smirnov statistic (numbers, dates) or total variation
        distance (categories), on observed cells.
    value, floor : float
        Synthetic vs ``real_test``; real train vs ``real_test`` (all classes pooled).
    per_class : dict
        Class label (as text) -> ``{"value": float, "floor": float}``, the same within
        one class (NaN where a set has no observed cell of that class).
    missing_synthetic, missing_train, missing_test : float
        Share of missing cells in each set.
    """

    name: str
    kind: str
    statistic: str
    value: float
    floor: float
    per_class: dict
    missing_synthetic: float
    missing_train: float
    missing_test: float


@dataclass(frozen=True)
class AssociationResult(MetricResult):
    """Pairwise association error: ``mean_{i<j} |A_ij(other) - A_ij(test)|``.

    Attributes
    ----------
    error, floor : float
        Synthetic vs test; real train vs test (pairs whose association is NaN on either
        side are left out).
    correlation : str
        Association of two numbers ("pearson" or "spearman"); two categories use
        Cramér's V and one of each the correlation ratio (eta).
    names : list of str
    test, synthetic, train : ndarray of shape (d, d)
    n_pairs : int
        Pairs averaged in ``error``.
    """

    error: float
    floor: float
    correlation: str
    names: list
    test: np.ndarray
    synthetic: np.ndarray
    train: np.ndarray
    n_pairs: int


@dataclass(frozen=True)
class ModelClassification(MetricResult):
    """The fitted model as a classifier of the held-out real rows: Bayes' rule,
    ``p(y | x) = p(y) p(x | y) / sum_k p(k) p(x | k)``.

    Attributes
    ----------
    balanced_accuracy : float
        Mean recall over the classes of the held-out rows.
    reference_balanced_accuracy : float or None
        The same for the gradient boosting trained on the real training rows (TRTR): what
        a discriminative classifier makes of these rows (None when TSTR was skipped).
    log_loss : float
        ``-mean log p(y_true | x)`` in nats per row; 0 is perfect.
    prior_log_loss : float
        The same for the class prior alone, ``-mean log p(y_true)``: a model above it is
        worse calibrated than knowing only the class frequencies (overconfident).
    log_likelihood : float
        Mean held-out log-density ``log p(x)`` of the rows in nats per row (informative:
        no floor; higher is better).
    n_test : int
    """

    balanced_accuracy: float
    reference_balanced_accuracy: float | None
    log_loss: float
    prior_log_loss: float
    log_likelihood: float
    n_test: int


@dataclass(frozen=True)
class DCRResult(MetricResult):
    """Distance to the closest record (Gower) in ``real_train``.

    Attributes
    ----------
    synthetic_median, holdout_median : float
        Median over synthetic rows (resp. held-out real rows) of the Gower distance to the
        nearest real training row.
    synthetic_p05, holdout_p05 : float
        5th percentiles.
    synthetic_exact, holdout_exact : float
        Share of rows equal to a training row in every cell, missing cells included
        (:func:`~bayesgen.metrics.table_measures.exact_copies`; distance 0 is not enough:
        the distance skips cells missing in either row).
    holds : bool
        The privacy floor holds: ``synthetic_median >= holdout_median``.
    synthetic_distances, holdout_distances : ndarray
        Per-row distances (left out of ``to_dict``).
    """

    synthetic_median: float
    holdout_median: float
    synthetic_p05: float
    holdout_p05: float
    synthetic_exact: float
    holdout_exact: float
    holds: bool
    synthetic_distances: np.ndarray = field(repr=False, metadata={"json": False})
    holdout_distances: np.ndarray = field(repr=False, metadata={"json": False})


def _nanmean(values) -> float:
    arr = np.asarray(list(values), dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


@dataclass
class TableEvaluation(MetricResult):
    """Everything :func:`evaluate_table` measured, each value beside its floor.

    Attributes
    ----------
    settings : dict
        Label, sizes, seeds, columns evaluated, classifiers.
    columns : list of ColumnFidelity
        One per evaluated column, in table order.
    association : AssociationResult or None
        None with fewer than two columns.
    tstr : list of TableTSTR
        Gradient boosting and logistic regression.
    dcr : DCRResult
    notes : list of str
        Skipped steps and caveats.
    missing_pattern_tv : tuple of float or None
        Total variation between the missing-value patterns of the rows (which columns are
        empty together), ``(synthetic vs test, train vs test)``; None when no set has a
        missing cell.
    order_breaks : tuple of float or None
        Share of rows that break an order every training row keeps (``x_a <= x_b``
        between two numeric or date columns; listed in ``settings``),
        ``(synthetic, test)``; None when the training rows keep no such order.
    synthetic : pandas.DataFrame or None
        The generated rows every measure was computed on (feature columns only; left out
        of ``to_dict``), so figures can show exactly what was judged.
    synthetic_labels : ndarray or None
        Their labels.
    classification : ModelClassification or None
        The model's own classification of the held-out rows (None for a model without
        ``predict_joint_log_proba``, or rows it cannot score; see ``notes``).
    """

    settings: dict
    columns: list
    association: AssociationResult | None
    tstr: list
    dcr: DCRResult
    notes: list = field(default_factory=list)
    missing_pattern_tv: tuple | None = None
    order_breaks: tuple | None = None
    synthetic: object = field(default=None, repr=False, metadata={"json": False})
    synthetic_labels: object = field(default=None, repr=False, metadata={"json": False})
    classification: ModelClassification | None = None

    @property
    def fidelity(self) -> tuple[float, float]:
        """Mean per-column KS/TV over columns, pooled: ``(synthetic, floor)``."""
        return _nanmean(c.value for c in self.columns), _nanmean(c.floor for c in self.columns)

    @property
    def fidelity_per_class(self) -> tuple[float, float]:
        """Mean per-column KS/TV over columns and classes: ``(synthetic, floor)``."""
        pairs = [
            (v["value"], v["floor"])
            for c in self.columns
            for v in c.per_class.values()
            if math.isfinite(v["value"]) and math.isfinite(v["floor"])
        ]
        return _nanmean(p[0] for p in pairs), _nanmean(p[1] for p in pairs)

    @property
    def missing_rate_error(self) -> tuple[float, float]:
        """Mean over columns of ``|rate - rate(test)|``: ``(synthetic, train floor)``."""
        syn = _nanmean(abs(c.missing_synthetic - c.missing_test) for c in self.columns)
        floor = _nanmean(abs(c.missing_train - c.missing_test) for c in self.columns)
        return syn, floor

    def rows(self) -> list[tuple[str, float | None, float | None, str]]:
        """Table rows ``(metric, synthetic, real-vs-real floor, unit)``; None = n/a."""
        out = [
            ("mean per-column KS/TV (pooled)", *self.fidelity, "KS / TV"),
            ("mean per-column KS/TV (per class)", *self.fidelity_per_class, "KS / TV"),
        ]
        if any(c.missing_train or c.missing_test or c.missing_synthetic for c in self.columns):
            out.append(("mean missing-rate error", *self.missing_rate_error, "fraction of cells"))
        if self.missing_pattern_tv is not None:
            out.append(("missing-value pattern TV", *self.missing_pattern_tv, "TV"))
        if self.order_breaks is not None:
            name = "rows breaking an order of the train rows (floor: test rows)"
            out.append((name, *self.order_breaks, "fraction"))
        a = self.association
        if a is not None:
            out.append(
                (f"association error ({a.correlation}/V/eta)", a.error, a.floor, "mean |diff|")
            )
        for t in self.tstr:
            name = f"TSTR balanced accuracy ({t.classifier}; floor=TRTR)"
            out.append((name, t.tstr, t.trtr, "fraction"))
        c = self.classification
        if c is not None:
            name = "model's balanced accuracy on test rows (beside: gradient boosting, TRTR)"
            out.append((name, c.balanced_accuracy, c.reference_balanced_accuracy, "fraction"))
            name = "model's log-loss on test rows (beside: the class prior alone)"
            out.append((name, c.log_loss, c.prior_log_loss, "nats per row"))
            name = "model's held-out log-likelihood log p(x)"
            out.append((name, c.log_likelihood, None, "nats per row"))
        d, unit = self.dcr, "Gower distance (floor: held-out real)"
        out += [
            ("median distance to closest train row", d.synthetic_median, d.holdout_median, unit),
            ("5th pct distance to closest train row", d.synthetic_p05, d.holdout_p05, unit),
            ("share of exact copies of train rows", d.synthetic_exact, d.holdout_exact, "fraction"),
        ]
        for c in self.columns:
            out.append((f"{c.statistic}: {c.name}", c.value, c.floor, _UNITS[c.statistic]))
        for c in self.columns:
            if c.missing_train or c.missing_test or c.missing_synthetic:
                out.append(
                    (
                        f"missing-rate error: {c.name}",
                        abs(c.missing_synthetic - c.missing_test),
                        abs(c.missing_train - c.missing_test),
                        "fraction of cells",
                    )
                )
        return out

    def format_table(self) -> str:
        """Readable text table: ``metric | synthetic | real-vs-real floor | unit``."""
        header = ("metric", "synthetic", "real-vs-real floor", "unit")
        body = [(m, _fmt(g), _fmt(f), u) for m, g, f, u in self.rows()]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

        def line(r):
            return " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

        s = self.settings
        lines = [line(header), "-+-".join("-" * w for w in widths), *map(line, body), ""]
        lines.append(
            f"settings: label={s['label']!r}, n={s['n']} rows per compared set, "
            f"n_test={s['n_test']}, seed={s['random_state']}"
        )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)
