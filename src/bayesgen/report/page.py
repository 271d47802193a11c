"""The page builder: :func:`build_report` evaluates a model and assembles the HTML page.

The page needs nothing else: figures are PNG images embedded as base64 ``data:`` URIs, the
CSS is inline, there is no JavaScript, and a Content-Security-Policy ``<meta>`` forbids the
browser from fetching anything (so a page that renders cleanly offline renders the same
everywhere).
"""

from __future__ import annotations

import numbers

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import check_image_shape
from bayesgen.base.version import __version__
from bayesgen.report.markup import esc
from bayesgen.report.samples import sample_figures
from bayesgen.report.sections import (
    cards,
    confusion_section,
    metrics_section,
    model_description,
    notes_section,
    per_class_section,
    settings_section,
)

__all__ = ["build_report", "html_document"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d2430;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; background: #fff;
       min-height: 100vh; box-shadow: 0 0 0 1px #e3e6ea; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.25em; margin: 1.8em 0 0.5em; padding-bottom: 0.2em;
     border-bottom: 2px solid #e3e6ea; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
p.lead { color: #4a5565; margin-top: 0; }
nav { margin: 12px 0 4px; font-size: 0.92em; }
nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { flex: 1 1 190px; border: 1px solid #e3e6ea; border-radius: 8px; padding: 10px 14px;
        background: #fbfcfd; }
.card .label { font-size: 0.82em; color: #4a5565; }
.card .value { font-size: 1.45em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .floor { font-size: 0.82em; color: #4a5565; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { border: 1px solid #dfe3e8; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.worse { background: #fde8e6; }
tr:nth-child(even) td { background-color: #fafbfc; }
tr:nth-child(even) td.worse { background: #fde8e6; }
table.cm td { text-align: right; min-width: 3.2em; font-variant-numeric: tabular-nums; }
table.cm th.corner { font-weight: normal; font-size: 0.8em; color: #4a5565; }
figure { margin: 8px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; background: #fff; }
table.gallery td, table.gallery th { padding: 3px 6px; vertical-align: middle; }
table.gallery tbody th { text-align: center; min-width: 3em; }
table.gallery img { image-rendering: pixelated; display: block; border: 0; }
figcaption { font-size: 0.88em; color: #4a5565; margin-top: 4px; max-width: 820px; }
.figs { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.note { color: #4a5565; font-size: 0.9em; max-width: 860px; }
ul.notes li { margin-bottom: 4px; }
code { font-size: 0.92em; background: #f0f2f5; padding: 0 3px; border-radius: 3px; }
footer { margin-top: 36px; font-size: 0.82em; color: #6a7585; }
"""

_NAV = (
    '<nav><a href="#metrics">metrics</a><a href="#samples">samples</a>'
    '<a href="#per-class">per class</a><a href="#confusion">confusion</a>'
    '<a href="#notes">notes</a><a href="#settings">settings</a></nav>'
)


def _test_rows(model, X_test) -> np.ndarray:
    """``X_test`` as a 2-D float array with the model's number of features."""
    Xte = np.asarray(X_test, dtype=np.float64)
    if Xte.ndim != 2:
        raise DataError(f"X_test must be 2-D (n_samples, n_features); got shape {Xte.shape}.")
    d_model = getattr(model, "n_features_in_", None)
    if d_model is not None and Xte.shape[1] != int(d_model):
        raise DataError(
            f"X_test has {Xte.shape[1]} features per row but the model was fitted on "
            f"{int(d_model)}; pass real data in the layout the model was trained on."
        )
    return Xte


def _figure_rng(random_state) -> np.random.Generator:
    """The figures' random stream: with an int seed, a child stream of that seed, so the
    metrics stay equal to those of ``evaluate(..., random_state=seed)``."""
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(np.random.SeedSequence(int(random_state), spawn_key=(1,)))
    return check_random_state(random_state)


def _lead(model, Xte: np.ndarray, evaluation) -> str:
    """The sentence under the title: model, data and the evaluation's main settings."""
    s = evaluation.settings
    density = dict(model_description(model)).get("density", "?")
    return (
        f"{esc(type(model).__name__)} ({esc(density)}"
        f" densities, {len(getattr(model, 'classes_', []))} classes, "
        f"{Xte.shape[1]} features) judged on {len(Xte)} real test rows; "
        f"{esc(s.get('n_generated', 0))} generated rows, distribution metrics on n = "
        f"{esc(s.get('n', '?'))} per set in the {esc(s.get('feature_space', '?'))} feature "
        f"space, seed {esc(s.get('random_state'))}."
    )


def _samples_section(figures: list[str]) -> str:
    """The "Samples" section around the figures (or a note when there are none)."""
    if figures:
        body = '<div class="figs">' + "".join(figures) + "</div>"
    else:
        body = (
            '<p class="note">No figure: the model cannot sample or the data have '
            "a single feature.</p>"
        )
    return f'<section id="samples"><h2>Samples</h2>\n{body}\n</section>'


def html_document(title: str, lead: str, body: list[str], *, nav: str = _NAV) -> str:
    """The whole document: head (CSP, inline CSS), title, lead, navigation, ``body``.

    ``title`` is escaped here; ``lead``, ``nav`` and ``body`` are HTML already escaped by
    their builders.
    """
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',
            f"<title>{esc(title)}</title>",
            f"<style>{_CSS}</style></head><body><main>",
            f"<h1>{esc(title)}</h1>",
            f'<p class="lead">{lead}</p>',
            nav,
            *body,
            f"<footer>Written by bayesgen {esc(__version__)}. Self-contained: "
            "images are embedded, nothing is fetched.</footer>",
            "</main></body></html>\n",
        ]
    )


def build_report(
    model,
    X_test,
    y_test,
    *,
    X_train=None,
    y_train=None,
    image_shape=None,
    pixel_scale=None,
    n_samples=None,
    random_state=None,
    feature_space="pca-50",
    title=None,
    sources=None,
    evaluation=None,
    feature_names=None,
) -> str:
    """Evaluate a fitted generative classifier and return a self-contained HTML page.

    Parameters
    ----------
    model : fitted bayesgen.BayesClassifier
        Or any model :func:`bayesgen.metrics.evaluate` accepts; the figures use
        ``sample(n, y=..., random_state=...)`` and ``class_means()``.
    X_test : array-like of shape (n_test, n_features)
        Held-out real rows (on the scale the model was fitted on).
    y_test : array-like of shape (n_test,)
        Their labels.
    X_train, y_train : array-like of shape (n_train, n_features), (n_train,), optional
        The real training rows: the reference classifier, the feature space and the floors
        are built from them, and memorisation is measured against them.  Without them the
        test rows are split in two (see :func:`~bayesgen.metrics.evaluate`).
    image_shape : tuple of int, optional
        Shape each row is reshaped to for the image figures, e.g. ``(28, 28)``; None (tabular
        data) shows a real-vs-generated scatter of two features instead.
    pixel_scale : float, optional
        Divisor of 8-bit pixels (``x = pixel / pixel_scale``): adds bits/dim on the 0-256
        scale and fixes the images' grey range to [0, 1].
    n_samples : int, optional
        Rows to generate for the metrics (default: see :func:`~bayesgen.metrics.evaluate`).
    random_state : None, int or numpy.random.Generator
        With an int, the metrics equal those of ``evaluate(..., random_state=int)`` (and of
        ``bayesgen evaluate --seed``); the figures use their own stream from the same seed.
    feature_space : str, default "pca-50"
        Space of the Frechet distance, precision/recall and density/coverage.
    title : str, optional
        Page title (escaped).
    sources : dict, optional
        Extra ``{name: value}`` rows for the settings table (e.g. file names); escaped.
    evaluation : bayesgen.metrics.EvaluationReport, optional
        An evaluation already computed for this model and data; skips the evaluation.
    feature_names : sequence of str, optional
        Column names of tabular data (the scatter's axes).

    Returns
    -------
    str
        The HTML document (UTF-8 text, no external resources, no scripts).

    Raises
    ------
    DataError
        ``X_test`` does not have the model's number of features, or ``image_shape`` does not
        match it.
    """
    from bayesgen import metrics

    Xte = _test_rows(model, X_test)
    shape = None
    if image_shape is not None:
        shape = check_image_shape(image_shape, Xte.shape[1], image=False)
    if evaluation is None:
        evaluation = metrics.evaluate(
            model,
            Xte,
            y_test,
            X_train=X_train,
            y_train=y_train,
            n_samples=n_samples,
            feature_space=feature_space,
            random_state=random_state,
            pixel_scale=pixel_scale,
        )
    rng = _figure_rng(random_state)
    figures = (
        sample_figures(
            model, Xte, shape, pixel_scale, rng, y_test=y_test, feature_names=feature_names
        )
        if hasattr(model, "sample")
        else []
    )
    body = [
        cards(evaluation),
        metrics_section(evaluation),
        _samples_section(figures),
        per_class_section(model, evaluation),
        confusion_section(evaluation),
        notes_section(evaluation, pixel_scale),
        settings_section(model, evaluation, sources),
    ]
    page_title = title or "bayesgen report: how good is the generated data?"
    return html_document(page_title, _lead(model, Xte, evaluation), body)
