"""The report of a table model: :func:`build_table_report` judges generated rows with
:func:`bayesgen.metrics.evaluate_table` and shows each column real against generated, per
class.

Sections: headline numbers beside their floors, every metric, per-class fidelity of each
column, one figure per column (histograms for numbers and dates, bar charts for categories,
a panel per class), a scatter of the two most associated numeric columns coloured by class,
notes and settings.  The figures draw the very rows the metrics were computed on.
"""

from __future__ import annotations

import math

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import label_text
from bayesgen.report.markup import MISSING, esc, figure, fmt, pct, table
from bayesgen.report.page import html_document
from bayesgen.report.samples import FIGURE_DPI
from bayesgen.report.sections import metrics_section, settings_section

__all__ = ["build_table_report"]

_NAV = (
    '<nav><a href="#metrics">metrics</a><a href="#per-class">per class</a>'
    '<a href="#columns">columns</a><a href="#notes">notes</a>'
    '<a href="#settings">settings</a></nav>'
)
#: a per-class value this many times its floor (and clearly above it) is marked
_WORSE_RATIO, _WORSE_MARGIN = 2.0, 0.02


def _card(label: str, value: str, context: str) -> str:
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div><div class="floor">{esc(context)}</div></div>'
    )


def _cards(ev) -> str:
    """Fidelity, association, TSTR and distance to closest record, each with its floor."""
    value, floor = ev.fidelity
    out = [_card("mean per-column KS / TV", fmt(value), f"real-vs-real floor: {fmt(floor)}")]
    if ev.association is not None:
        a = ev.association
        out.append(_card("association error", fmt(a.error), f"floor: {fmt(a.floor)}"))
    for t in ev.tstr:
        ratio = t.tstr / t.trtr if t.trtr else float("nan")
        out.append(
            _card(
                f"TSTR / TRTR ({t.classifier})",
                fmt(ratio),
                f"balanced accuracy {pct(t.tstr)} vs {pct(t.trtr)}",
            )
        )
    c = ev.classification
    if c is not None:
        beside = c.reference_balanced_accuracy
        context = f"gradient boosting on real rows: {pct(beside)}" if beside is not None else ""
        out.append(_card("model's balanced accuracy", pct(c.balanced_accuracy), context))
        out.append(
            _card(
                "model's log-loss",
                fmt(c.log_loss),
                f"class prior alone: {fmt(c.prior_log_loss)} (above it: overconfident)",
            )
        )
    d = ev.dcr
    out.append(
        _card(
            "median distance to closest train row",
            fmt(d.synthetic_median),
            f"held-out real rows: {fmt(d.holdout_median)}",
        )
    )
    return f'<div class="cards">{"".join(out)}</div>'


_TABLE_METRICS_NOTE = (
    "Each number about generated rows is shown beside the same number for real training "
    "rows against the same held-out rows (the floor): a generator cannot be expected to "
    "beat real data. Lower is better for KS, total variation, association and missing-rate "
    "errors; TSTR (train on synthetic, test on real) is best near TRTR; a distance to the "
    "closest training row far below the held-out floor, or many exact copies, means "
    "memorisation."
)


def _worse(value: float, floor: float) -> bool:
    if not (math.isfinite(value) and math.isfinite(floor)):
        return False
    return value > _WORSE_RATIO * floor and value > floor + _WORSE_MARGIN


def _measured(value: float) -> str:
    """A statistic, or the missing mark where there was nothing to compare (NaN)."""
    return MISSING if isinstance(value, float) and math.isnan(value) else fmt(value)


def _per_class(ev) -> str:
    """Columns x classes: the KS / TV of generated rows beside the real floor."""
    classes = ev.settings["classes"]
    rows, marks = [], []
    for c in ev.columns:
        cells, row_marks = [c.name, c.statistic], ["", ""]
        for k in classes:
            v = c.per_class.get(k, {"value": float("nan"), "floor": float("nan")})
            cells.append(f"{_measured(v['value'])} ({_measured(v['floor'])})")
            row_marks.append("worse" if _worse(v["value"], v["floor"]) else "")
        rows.append(cells)
        marks.append(row_marks)
    header = ("column", "statistic", *classes)
    body = table(header, rows, numeric=set(range(2, 2 + len(classes))), classes=marks)
    return (
        '<section id="per-class"><h2>Per class: each column against its floor</h2>'
        '<p class="note">Cells: generated vs held-out rows of that class (in brackets: '
        "real training rows vs the same held-out rows). Marked cells are more than twice "
        f"their floor; {MISSING}: no filled cell of that column in the rows compared (a "
        "small class, a column mostly empty).</p>"
        f"{body}</section>"
    )


def _column_figures(ev, real, label: str, plotting, schema) -> list[str]:
    out = []
    for c in ev.columns:
        # text dates in the training format (03/04/2020 is 3 April when the data say so)
        spec = schema[c.name] if schema is not None and c.kind == "datetime" else None
        fig = plotting.plot_column_by_class(
            real[c.name].to_numpy(),
            ev.synthetic[c.name].to_numpy(),
            real[label].to_numpy(),
            ev.synthetic_labels,
            name=c.name,
            kind=c.kind,
            classes=ev.settings["classes"],
            date_format=None if spec is None else spec.datetime_format,
        )
        png = plotting.figure_to_png_bytes(fig, dpi=FIGURE_DPI)
        caption = (
            f"{c.name} ({c.kind}): {c.statistic} {fmt(c.value)} against the held-out rows "
            f"(floor {fmt(c.floor)})."
        )
        out.append(figure(png, f"{c.name}: real and generated, by class", caption))
    return out


def _most_associated_pair(ev) -> tuple[str, str] | None:
    """The two numeric columns most associated in the held-out rows."""
    a = ev.association
    if a is None:
        return None
    numeric = [i for i, c in enumerate(ev.columns) if c.kind == "numeric"]
    best, pair = -1.0, None
    for n, i in enumerate(numeric):
        for j in numeric[n + 1 :]:
            strength = abs(a.test[i, j])
            if np.isfinite(strength) and strength > best:
                best, pair = strength, (ev.columns[i].name, ev.columns[j].name)
    return pair


def _scatter(ev, real, label: str, plotting) -> list[str]:
    pair = _most_associated_pair(ev)
    if pair is None:
        return []
    x, y = pair
    real_xy = real[[x, y]].to_numpy(dtype=np.float64, na_value=np.nan)
    gen_xy = ev.synthetic[[x, y]].to_numpy(dtype=np.float64, na_value=np.nan)
    fig = plotting.plot_feature_pairs(
        real_xy,
        gen_xy,
        (0, 1),
        feature_names=[x, y],
        y_real=real[label].to_numpy(),
        y_generated=ev.synthetic_labels,
        title=f"{x} and {y} by class",
    )
    png = plotting.figure_to_png_bytes(fig, dpi=FIGURE_DPI)
    caption = (
        f"The two numeric columns most associated in the held-out rows, {x} and {y}: real "
        "rows as dots, generated rows as crosses, one colour per class."
    )
    return [figure(png, f"scatter of {x} and {y}", caption)]


def _columns_section(ev, real, label: str, schema) -> str:
    try:
        from bayesgen import plotting

        figures = _scatter(ev, real, label, plotting) + _column_figures(
            ev, real, label, plotting, schema
        )
        body = "".join(figures)
    except ImportError:
        body = (
            '<p class="note">matplotlib is not installed: no figures '
            "(pip install bayesgen[plot]).</p>"
        )
    return (
        '<section id="columns"><h2>Columns, real vs generated</h2>'
        '<p class="note">Real rows: the training and held-out rows given. Histograms share '
        "their bins within a figure and are normalised; bars are shares of the observed "
        "cells; each panel's title gives the missing-cell rates.</p>"
        f"{body}</section>"
    )


def _notes(ev) -> str:
    items = "".join(f"<li>{esc(n)}</li>" for n in ev.notes) or "<li>none</li>"
    return f'<section id="notes"><h2>Notes</h2><ul class="notes">{items}</ul></section>'


def _lead(model, ev) -> str:
    s = ev.settings
    density = type(model.densities_[0]).__name__ if hasattr(model, "densities_") else "?"
    return (
        f"{esc(type(model).__name__)} ({esc(density)} per class, {len(s['classes'])} classes, "
        f"{len(s['columns'])} columns) judged on {s['n_test']} held-out real rows; "
        f"{s['n_generated']} generated rows, label {esc(label_text(s['label']))}, seed "
        f"{esc(s['random_state'])}."
    )


def build_table_report(
    model,
    real_train,
    real_test,
    *,
    label,
    n_samples=None,
    random_state=None,
    title=None,
    sources=None,
    evaluation=None,
) -> str:
    """Evaluate a fitted table model and return a self-contained HTML page.

    Parameters
    ----------
    model : fitted bayesgen.BayesClassifier
        Fitted on a table (``model.schema_`` set) or on numeric columns.
    real_train, real_test : pandas.DataFrame
        The training rows and held-out rows, each with the label column.
    label : str
        Name of the label column.
    n_samples : int, optional
        Rows to generate (default: as many as ``real_train``).
    random_state : None, int or numpy.random.Generator
        With an int, the numbers equal those of ``evaluate_table(..., random_state=int)``.
    title : str, optional
    sources : dict, optional
        Extra ``{name: value}`` rows for the settings table (escaped).
    evaluation : bayesgen.metrics.TableEvaluation, optional
        An evaluation already computed for this model and data (it must hold its
        generated rows); skips the evaluation.

    Returns
    -------
    str
        The HTML document (no external resources, no scripts).

    Raises
    ------
    DataError
        From :func:`~bayesgen.metrics.evaluate_table` (missing label column, too few rows),
        or an ``evaluation`` without its generated rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayesgen import BayesClassifier
    >>> from bayesgen.report import build_table_report
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["u", "v"], 300)})
    >>> df["y"] = np.where(df["x"] > 0, "pos", "neg")
    >>> model = BayesClassifier().fit(df.iloc[:200].drop(columns="y"), df["y"].iloc[:200])
    >>> html = build_table_report(model, df.iloc[:200], df.iloc[200:], label="y",
    ...                           random_state=0)
    >>> html.startswith("<!DOCTYPE html>")
    True
    """
    import pandas as pd

    from bayesgen import metrics

    if evaluation is None:
        evaluation = metrics.evaluate_table(
            model,
            real_train,
            real_test,
            label=label,
            n_samples=n_samples,
            random_state=random_state,
        )
    if evaluation.synthetic is None:
        raise DataError("the evaluation holds no generated rows; run evaluate_table again.")
    real = pd.concat([real_train, real_test], ignore_index=True)
    body = [
        _cards(evaluation),
        metrics_section(evaluation, _TABLE_METRICS_NOTE),
        _per_class(evaluation),
        _columns_section(evaluation, real, label, getattr(model, "schema_", None)),
        _notes(evaluation),
        settings_section(model, evaluation, sources),
    ]
    page_title = title or "bayesgen report: how good are the generated rows?"
    return html_document(page_title, _lead(model, evaluation), body, nav=_NAV)
