"""Rows of the ``metric | generated | real-vs-real floor | unit`` table of an evaluation.

Each metric family contributes its rows through one function; a family whose result is
missing contributes none.  The functions read the report's attributes only, so this module
does not import :mod:`bayesgen.metrics.evaluation`.
"""

from __future__ import annotations

__all__ = ["Row", "metric_rows"]

#: ``(metric, generated value, real-vs-real floor, unit)``; None = not applicable.
Row = tuple[str, float | None, float | None, str]

_MEMORISATION_UNIT = "input units (floor: held-out real)"


def _attr(result, name: str):
    """``result.name``, or None when there is no ``result`` (a floor that was not computed)."""
    return None if result is None else getattr(result, name)


def _likelihood_rows(ll) -> list[Row]:
    """Held-out log-likelihood in nats/sample and bits/dim (no floor: real data only)."""
    if ll is None:
        return []
    out: list[Row] = [
        ("held-out log-likelihood", ll.mean_log_likelihood, None, "nats/sample"),
        ("held-out bits/dim (data scale)", ll.bits_per_dim, None, "bits/dim"),
    ]
    if ll.bits_per_dim_8bit is not None:
        scale = f"{ll.pixel_scale:g}" if ll.pixel_scale else "raw"
        out.append(
            (f"held-out bits/dim (pixel values 0-{scale})", ll.bits_per_dim_8bit, None, "bits/dim")
        )
    return out


def _classifier_rows(report) -> list[Row]:
    """Model accuracy, label fidelity (floor: held-out real) and TSTR (floor: TRTR)."""
    out: list[Row] = []
    if report.classification is not None:
        out.append(("model accuracy on test", report.classification.accuracy, None, "fraction"))
    lf = report.label_fidelity
    if lf is not None:
        out.append(("label fidelity (reference clf)", lf.accuracy, lf.floor_accuracy, "fraction"))
    t = report.tstr
    if t is not None:
        out.append(
            (
                f"TSTR accuracy ({t.classifier}; floor=TRTR)",
                t.tstr_accuracy,
                t.trtr_accuracy,
                "fraction",
            )
        )
    return out


def _frechet_rows(fr, floor) -> list[Row]:
    """The Frechet distance in its named feature space."""
    if fr is None:
        return []
    return [(fr.name, fr.value, _attr(floor, "value"), "squared feature units")]


def _precision_recall_rows(pr, floor) -> list[Row]:
    """Precision and recall, tagged with k and the feature space."""
    if pr is None:
        return []
    tag = f"k={pr.k}, {pr.feature_space}"
    return [
        (f"precision ({tag})", pr.precision, _attr(floor, "precision"), "fraction"),
        (f"recall ({tag})", pr.recall, _attr(floor, "recall"), "fraction"),
    ]


def _density_coverage_rows(dc, floor) -> list[Row]:
    """Density and coverage, tagged with k and the feature space."""
    if dc is None:
        return []
    tag = f"k={dc.k}, {dc.feature_space}"
    return [
        (f"density ({tag})", dc.density, _attr(floor, "density"), "ratio (1 = real-like)"),
        (f"coverage ({tag})", dc.coverage, _attr(floor, "coverage"), "fraction"),
    ]


def _ndb_rows(nd, floor) -> list[Row]:
    """NDB/K and the JS divergence of the bin histograms."""
    if nd is None:
        return []
    tag = f"K={nd.n_bins}, alpha={nd.alpha:g}"
    return [
        (f"NDB/K ({tag})", nd.ndb_fraction, _attr(floor, "ndb_fraction"), "fraction of bins"),
        (
            f"JS divergence of bins (K={nd.n_bins})",
            nd.js_divergence,
            _attr(floor, "js_divergence"),
            "bits",
        ),
    ]


def _memorisation_rows(mem) -> list[Row]:
    """Nearest-training-row distances and exact copies (floor: held-out real rows)."""
    if mem is None:
        return []
    return [
        (
            "median distance to nearest train row",
            mem.gen_median,
            mem.holdout_median,
            _MEMORISATION_UNIT,
        ),
        ("5th pct distance to nearest train row", mem.gen_p05, mem.holdout_p05, _MEMORISATION_UNIT),
        (
            "exact copies of train rows",
            float(mem.n_exact_copies),
            float(mem.holdout_exact_copies),
            "rows",
        ),
    ]


def metric_rows(report) -> list[Row]:
    """Table rows of an :class:`~bayesgen.metrics.EvaluationReport`, in a fixed order.

    Parameters
    ----------
    report : EvaluationReport

    Returns
    -------
    list of (str, float or None, float or None, str)
        ``(metric, generated, real-vs-real floor, unit)``; a None value or floor means
        not applicable.
    """
    return [
        *_likelihood_rows(report.log_likelihood),
        *_classifier_rows(report),
        *_frechet_rows(report.frechet, report.frechet_floor),
        *_precision_recall_rows(report.precision_recall, report.precision_recall_floor),
        *_density_coverage_rows(report.density_coverage, report.density_coverage_floor),
        *_ndb_rows(report.ndb, report.ndb_floor),
        *_memorisation_rows(report.memorisation),
    ]
