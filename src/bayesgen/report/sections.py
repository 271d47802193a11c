"""The report's sections built from an evaluation: headline cards, the metrics table,
per-class metrics, confusion matrices, notes and settings.

Each function takes a :class:`bayesgen.metrics.EvaluationReport` (``ev``) and returns the
section's HTML.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.validation import label_text
from bayesgen.report.markup import MISSING, by_label, esc, flatten, fmt, pct, table

__all__ = [
    "cards",
    "confusion_section",
    "metrics_section",
    "model_description",
    "notes_section",
    "per_class_section",
    "settings_section",
]


def model_description(model) -> list[tuple[str, str]]:
    """``(name, value)`` rows describing the model (class, density, size); never raises."""
    density = getattr(model, "density", None)
    if density is not None and not isinstance(density, str):
        density = type(density).__name__
    rows = [("model class", type(model).__name__)]
    if density is not None:
        rows.append(("density", str(density)))
    for attr in ("reg_covar", "shrinkage"):
        if hasattr(model, attr):
            rows.append((attr, fmt(getattr(model, attr))))
    if hasattr(model, "n_features_in_"):
        rows.append(("features", str(int(model.n_features_in_))))
    if hasattr(model, "classes_"):
        rows.append(("classes", str(len(model.classes_))))
    if hasattr(model, "n_parameters"):
        try:
            rows.append(("parameters", f"{int(model.n_parameters()):,}"))
        except Exception:  # noqa: BLE001 - a description must never fail the report
            pass
    return rows


def cards(ev) -> str:
    """The headline numbers as cards, each with its floor or context."""
    out = []

    def card(label, value, floor):
        out.append(
            f'<div class="card"><div class="label">{esc(label)}</div>'
            f'<div class="value">{esc(value)}</div><div class="floor">{esc(floor)}</div></div>'
        )

    if ev.classification is not None:
        card(
            "Bayes classifier accuracy (real test rows)",
            pct(ev.classification.accuracy),
            f"{ev.classification.n_samples} rows",
        )
    if ev.label_fidelity is not None:
        card(
            "label fidelity of generated rows",
            pct(ev.label_fidelity.accuracy),
            f"floor (real held-out rows): {pct(ev.label_fidelity.floor_accuracy)}",
        )
    if ev.tstr is not None:
        card(
            "train on synthetic / train on real",
            fmt(ev.tstr.ratio),
            f"TSTR {pct(ev.tstr.tstr_accuracy)} vs TRTR {pct(ev.tstr.trtr_accuracy)}",
        )
    if ev.frechet is not None:
        floor = ev.frechet_floor.value if ev.frechet_floor is not None else None
        card(ev.frechet.name, fmt(ev.frechet.value), f"real-vs-real floor: {fmt(floor)}")
    if ev.log_likelihood is not None:
        ll = ev.log_likelihood
        extra = (
            f"{fmt(ll.bits_per_dim_8bit)} bits/dim on the 0-{ll.pixel_scale:g} pixel scale"
            if ll.bits_per_dim_8bit is not None
            else f"{fmt(ll.bits_per_dim)} bits/dim"
        )
        card("held-out log-likelihood", f"{fmt(ll.mean_log_likelihood)} nats", extra)
    return f'<div class="cards">{"".join(out)}</div>' if out else ""


_IMAGE_METRICS_NOTE = (
    "Each number about generated data is shown beside the same number computed between two "
    "disjoint sets of <em>real</em> rows of the same size (the floor): a generator cannot "
    "be expected to do better than real data. Higher is better for log-likelihood, "
    "accuracy, label fidelity, TSTR, precision, recall and coverage; lower is better for "
    "bits/dim, the Frechet distance, NDB/K and the JS divergence; density is best near 1; "
    "distances to the nearest training row far below the held-out floor (or exact copies) "
    "mean memorisation."
)


def metrics_section(ev, note: str = _IMAGE_METRICS_NOTE) -> str:
    """Every metric beside its real-vs-real floor (``ev.rows()``), under ``note`` (HTML)."""
    rows = [(m, fmt(g), fmt(f), u) for m, g, f, u in ev.rows()]
    body = table(("metric", "generated", "real-vs-real floor", "unit"), rows, numeric={1, 2})
    return (
        '<section id="metrics"><h2>Metrics beside their floors</h2>'
        f'<p class="note">{note}</p>{body}</section>'
    )


def _per_class_rows(model, ev) -> tuple[list[tuple], list[list[str]]]:
    """One row per class (model classes first, then any other label seen), and the CSS
    marks of cells whose label fidelity is more than 5 points below its floor."""
    clf, lf = ev.classification, ev.label_fidelity
    labels = [label_text(c) for c in np.asarray(getattr(model, "classes_", []))]
    for rep in (clf, lf.generated if lf is not None else None):
        if rep is not None:
            labels += [t for t in map(label_text, rep.labels) if t not in labels]
    prior = (
        by_label(model.classes_, np.asarray(model.class_prior_, dtype=float))
        if hasattr(model, "class_prior_")
        else {}
    )
    acc = by_label(clf.labels, clf.per_class_accuracy) if clf is not None else {}
    sup = by_label(clf.labels, clf.support) if clf is not None else {}
    fid = gen_n = floor = {}
    if lf is not None:
        fid = by_label(lf.generated.labels, lf.generated.per_class_accuracy)
        gen_n = by_label(lf.generated.labels, lf.generated.support)
        if lf.floor is not None:
            floor = by_label(lf.floor.labels, lf.floor.per_class_accuracy)
    rows, marks = [], []
    for lab in labels:
        f_gen, f_floor = fid.get(lab), floor.get(lab)
        gap = None
        if (
            f_gen is not None
            and f_floor is not None
            and np.isfinite(f_gen)
            and np.isfinite(f_floor)
        ):
            gap = float(f_gen - f_floor)
        gap_text = MISSING if gap is None else f"{100 * gap:+.1f} pts"
        rows.append(
            (
                lab,
                fmt(prior.get(lab)),
                fmt(sup.get(lab)),
                pct(acc.get(lab)),
                fmt(gen_n.get(lab)),
                pct(f_gen),
                pct(f_floor),
                gap_text,
            )
        )
        worse = "worse" if gap is not None and gap < -0.05 else ""
        marks.append(["", "", "", "", "", worse, "", worse])
    return rows, marks


def per_class_section(model, ev) -> str:
    """Per-class prior, accuracy and label fidelity beside its floor."""
    rows, marks = _per_class_rows(model, ev)
    header = (
        "class",
        "prior p(y)",
        "real test rows",
        "Bayes classifier accuracy",
        "generated rows",
        "label fidelity (generated)",
        "floor: reference on real held-out",
        "fidelity - floor",
    )
    lf = ev.label_fidelity
    ref = lf.reference if lf is not None else "no reference classifier (model cannot sample)"
    return (
        '<section id="per-class"><h2>Per-class metrics</h2>'
        '<p class="note">Bayes classifier accuracy: recall of each class on the real test '
        "rows. Label fidelity: share of rows generated for a class that an independent "
        f"classifier trained on real data only ({esc(ref)}) assigns to that class; its floor "
        "is the same classifier's recall on held-out real rows. Cells more than 5 points "
        "below the floor are shaded.</p>"
        f"{table(header, rows, numeric={1, 2, 3, 4, 5, 6, 7}, classes=marks)}</section>"
    )


def _confusion_table(rep, row_title: str, col_title: str) -> str:
    """A confusion matrix as a table, cells shaded by their share of the row."""
    labels = [label_text(v) for v in rep.labels]
    cm = np.asarray(rep.confusion)
    totals = cm.sum(axis=1)
    out = [
        '<table class="cm"><thead><tr>',
        f'<th class="corner">{esc(row_title)} \u2193 / {esc(col_title)} \u2192</th>',
    ]
    out.extend(f"<th>{esc(v)}</th>" for v in labels)
    out.append("<th>rows</th></tr></thead><tbody>")
    for i, lab in enumerate(labels):
        out.append(f"<tr><th>{esc(lab)}</th>")
        for j in range(len(labels)):
            share = cm[i, j] / totals[i] if totals[i] > 0 else 0.0
            colour = "31, 95, 168" if i == j else "200, 60, 40"
            style = (
                f' style="background: rgba({colour}, {0.08 + 0.6 * share:.3f})"'
                if cm[i, j] > 0
                else ""
            )
            out.append(f"<td{style}>{int(cm[i, j])}</td>")
        out.append(f"<td>{int(totals[i])}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def confusion_section(ev) -> str:
    """The Bayes classifier's confusion on real rows and the reference's on generated rows."""
    parts = ['<section id="confusion"><h2>Confusion matrices</h2>']
    if ev.classification is not None:
        parts.append("<h3>Bayes classifier on real test rows</h3>")
        parts.append(
            '<p class="note">Rows: true class of the real test row; columns: the '
            "model's prediction, argmax p(y | x). Cell shading grows with the share "
            "of the row (blue: correct, red: confused).</p>"
        )
        if len(ev.classification.labels) <= 60:
            parts.append(_confusion_table(ev.classification, "true", "predicted"))
    if ev.label_fidelity is not None and len(ev.label_fidelity.generated.labels) <= 60:
        parts.append("<h3>Reference classifier on generated rows</h3>")
        parts.append(
            '<p class="note">Rows: the class each sample was generated for; '
            "columns: what the reference classifier (trained on real data) calls "
            "it. Off-diagonal mass shows which classes the generator confuses.</p>"
        )
        parts.append(_confusion_table(ev.label_fidelity.generated, "generated as", "labelled"))
    if len(parts) == 1:
        parts.append('<p class="note">The model has no predict method; nothing to show.</p>')
    parts.append("</section>")
    return "".join(parts)


def notes_section(ev, pixel_scale) -> str:
    """The evaluation's notes and the report's own caveats."""
    notes = list(ev.notes) + [
        "The Frechet distance here is computed in the named feature space above, not in "
        "Inception features: it is not an FID and is not comparable with published FIDs.",
    ]
    if ev.log_likelihood is not None and pixel_scale is not None:
        notes.append(
            "Bits/dim on the 0-256 scale bound the discrete negative log-likelihood only for "
            "a model fitted to dequantised data; a model fitted to raw pixel values can "
            "report too few (even negative) bits."
        )
    return (
        '<section id="notes"><h2>Notes</h2><ul class="notes">'
        + "".join(f"<li>{esc(n)}</li>" for n in notes)
        + "</ul></section>"
    )


def settings_section(model, ev, sources) -> str:
    """Every setting: the caller's sources, the model's description, the evaluation's."""
    rows: list[tuple[str, str]] = []
    for k, v in (sources or {}).items():
        flatten(str(k), v, rows)
    rows.extend(model_description(model))
    flatten("", ev.settings, rows)
    return f'<section id="settings"><h2>Settings</h2>{table(("setting", "value"), rows)}</section>'
