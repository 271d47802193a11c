"""One self-contained HTML page that judges a fitted model's generated data.

:func:`build_report` runs :func:`bayesgen.metrics.evaluate` (every number beside its
real-vs-real floor), draws the figures with :mod:`bayesgen.plotting` and returns one HTML
document; :func:`write_report` writes it atomically.

The page needs nothing else: figures are PNG images embedded as base64 ``data:`` URIs, the
CSS is inline, there is no JavaScript, and a Content-Security-Policy ``<meta>`` forbids the
browser from fetching anything (so a page that renders cleanly offline renders the same
everywhere).  Every piece of text taken from the model, the data or the settings is
HTML-escaped.

Sections: headline numbers, the sample grid and the sample-vs-mean figure (image data; a
real-vs-generated scatter of two features otherwise), the metrics table (metric | generated
| real-vs-real floor | unit), per-class metrics with their floors, the confusion matrices,
notes, and every setting.

>>> from sklearn.datasets import load_digits
>>> from bayesgen import BayesClassifier
>>> from bayesgen.report import build_report
>>> X, y = load_digits(return_X_y=True)
>>> model = BayesClassifier(reg_covar=0.1).fit(X[:1200] / 16, y[:1200])
>>> page = build_report(model, X[1200:] / 16, y[1200:], X_train=X[:1200] / 16,
...                     y_train=y[:1200], image_shape=(8, 8), n_samples=200,
...                     random_state=0)                      # doctest: +SKIP
>>> page.startswith("<!DOCTYPE html>")                       # doctest: +SKIP
True
"""

from __future__ import annotations

import base64
import html
import json
import math
import numbers
import struct
import zlib
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.persist import atomic_write_bytes_via
from bayesgen.base.rng import check_random_state

__all__ = ["build_report", "png_bytes", "write_report"]

#: Above this many classes the per-class figures are left out (the tables stay).
MAX_CLASSES_FOR_FIGURES = 20
#: Samples per class in the sample grid.
GRID_SAMPLES_PER_CLASS = 8
#: Samples per class in the sample-vs-mean figure.
MEANS_SAMPLES_PER_CLASS = 3
#: Resolution of the embedded figures.
FIGURE_DPI = 72

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


# ------------------------------------------------------------------------------------------
# small helpers (pure)
# ------------------------------------------------------------------------------------------


def _esc(value) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(value), quote=True)


def _label_text(label) -> str:
    if isinstance(label, np.generic):
        label = label.item()
    return str(label)


def _fmt(value) -> str:
    """A number as text with 4 significant digits; '–' for None, 'nan'/'inf' kept."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(value)


def _pct(value) -> str:
    if value is None:
        return "\u2013"
    v = float(value)
    return f"{100 * v:.1f}%" if math.isfinite(v) else str(v)


def _table(header, rows, *, numeric=None, classes=None, css_class=None) -> str:
    """An HTML table; every cell is escaped.  ``classes[i][j]`` adds a CSS class to a cell."""
    numeric = set(numeric or ())
    out = [f'<table class="{_esc(css_class)}">' if css_class else "<table>", "<thead><tr>"]
    out.extend(f"<th>{_esc(h)}</th>" for h in header)
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        out.append("<tr>")
        for j, cell in enumerate(row):
            cls = []
            if j in numeric:
                cls.append("num")
            if classes is not None and classes[i][j]:
                cls.append(classes[i][j])
            attr = f' class="{" ".join(cls)}"' if cls else ""
            out.append(f"<td{attr}>{_esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_esc(alt)}">'


def _figure(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{_img(png, alt)}<figcaption>{_esc(caption)}</figcaption></figure>"


def _by_label(labels, values) -> dict:
    """``{label text: value}`` for two aligned arrays."""
    return {_label_text(k): v for k, v in zip(np.asarray(labels).tolist(), values, strict=True)}


def _flatten(prefix: str, value, out: list) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        if isinstance(value, list | tuple | np.ndarray):
            text = json.dumps(
                np.asarray(value).tolist() if isinstance(value, np.ndarray) else list(value),
                default=str,
            )
        elif value is None:
            text = "\u2013"
        else:
            text = _fmt(value) if isinstance(value, numbers.Real) else str(value)
        out.append((prefix, text))


def _value_range(X: np.ndarray, pixel_scale) -> tuple[float, float]:
    """Grey range for the images: [0, 1] for scaled pixels, else the real data's range."""
    if pixel_scale is not None:
        return 0.0, 1.0
    lo, hi = float(np.min(X)), float(np.max(X))
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def _check_image_shape(image_shape, d: int):
    if image_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise DataError(
            f"image_shape must be a tuple of ints such as (28, 28); got {image_shape!r}."
        ) from None
    if not shape or math.prod(shape) != d:
        raise DataError(
            f"image_shape {shape} holds {math.prod(shape) if shape else 0} values but each "
            f"row has {d} features; pass the shape the rows were flattened from or None."
        )
    return shape


def _model_description(model) -> list[tuple[str, str]]:
    density = getattr(model, "density", None)
    if density is not None and not isinstance(density, str):
        density = type(density).__name__
    rows = [("model class", type(model).__name__)]
    if density is not None:
        rows.append(("density", str(density)))
    for attr in ("reg_covar", "shrinkage"):
        if hasattr(model, attr):
            rows.append((attr, _fmt(getattr(model, attr))))
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


# ------------------------------------------------------------------------------------------
# images (numpy -> PNG, no matplotlib: exact pixels, and fast)
# ------------------------------------------------------------------------------------------


def png_bytes(image) -> bytes:
    """Encode an 8-bit image as a PNG file (stdlib zlib; no Pillow or matplotlib needed).

    Parameters
    ----------
    image : array-like of uint8, shape (h, w) (grey), (h, w, 3) (RGB) or (h, w, 4) (RGBA)

    Returns
    -------
    bytes
        A complete PNG file (filter type 0 on every row, zlib level 6).
    """
    img = np.ascontiguousarray(image, dtype=np.uint8)
    if img.ndim == 2:
        colour_type, channels = 0, 1
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        colour_type, channels = (2, 3) if img.shape[2] == 3 else (6, 4)
    else:
        raise DataError(f"image must have shape (h, w), (h, w, 3) or (h, w, 4); got {img.shape}.")
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise DataError("image is empty; nothing to encode.")
    rows = np.zeros((h, 1 + w * channels), dtype=np.uint8)  # leading 0: filter "None"
    rows[:, 1:] = img.reshape(h, w * channels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _to_uint8(X: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map values to 0..255 with the fixed range [vmin, vmax] (outside values clip)."""
    scaled = (np.asarray(X, dtype=np.float64) - vmin) / (vmax - vmin)
    return np.rint(np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)


def _upscale_factor(shape) -> int:
    """Integer zoom so that a tile is about 56 pixels high (nearest neighbour)."""
    return int(max(1, min(8, round(56 / max(shape[0], 1)))))


def _strip(rows: np.ndarray, shape, vmin: float, vmax: float, gap: int = 2) -> bytes:
    """Tiles side by side, separated by light-grey gaps, as one PNG."""
    tiles = _to_uint8(rows, vmin, vmax).reshape((len(rows), *shape))
    zoom = _upscale_factor(shape)
    tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    h, w = tiles.shape[1:3]
    extra = tiles.shape[3:]
    canvas = np.full((h, len(rows) * (w + gap) - gap, *extra), 205, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        canvas[:, i * (w + gap) : i * (w + gap) + w] = tile
    return png_bytes(canvas)


def _gallery(header, rows) -> str:
    """A table whose first column is a class label and whose other cells hold images."""
    out = ['<table class="gallery"><thead><tr>']
    out.extend(f"<th>{_esc(h)}</th>" for h in header)
    out.append("</tr></thead><tbody>")
    for label, cells in rows:
        out.append(f"<tr><th>{_esc(label)}</th>")
        out.extend(f"<td>{cell}</td>" for cell in cells)
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _sample_figures(model, X_test, image_shape, pixel_scale, rng) -> list[str]:
    """HTML of the sample grid and the sample-vs-mean figure (or a scatter for tabular data)."""
    classes = np.asarray(getattr(model, "classes_", []))
    out: list[str] = []
    if image_shape is not None:
        vmin, vmax = _value_range(X_test, pixel_scale)
        shown = classes[:MAX_CLASSES_FOR_FIGURES]
        per, per_mean = GRID_SAMPLES_PER_CLASS, MEANS_SAMPLES_PER_CLASS
        labels = np.repeat(shown, per + per_mean)
        X_all, _ = model.sample(len(labels), y=labels, random_state=rng)
        X_all = np.asarray(X_all, dtype=np.float64).reshape(len(shown), per + per_mean, -1)
        grid_rows = []
        for k, lab in enumerate(shown):
            grid_rows.append(
                (
                    _label_text(lab),
                    [
                        _img(
                            _strip(X_all[k, :per], image_shape, vmin, vmax),
                            f"{per} generated samples of class {_label_text(lab)}",
                        )
                    ],
                )
            )
        more = (
            f" Only the first {len(shown)} of {len(classes)} classes are shown."
            if len(shown) < len(classes)
            else ""
        )
        out.append(
            "<figure>"
            + _gallery(("class", f"{per} samples, x ~ p(x | y)"), grid_rows)
            + f"<figcaption>Sample grid: {per} generated samples per class, drawn at the "
            f"images' own pixels (enlarged without smoothing); grey range fixed to "
            f"[{vmin:.4g}, {vmax:.4g}] for every tile, values outside it clip.{_esc(more)}"
            "</figcaption></figure>"
        )
        if hasattr(model, "class_means"):
            means = np.asarray(model.class_means(), dtype=np.float64)
            mean_rows = []
            for k, lab in enumerate(shown):
                mean_rows.append(
                    (
                        _label_text(lab),
                        [
                            _img(
                                _strip(X_all[k, per:], image_shape, vmin, vmax),
                                f"{per_mean} samples of class {_label_text(lab)}",
                            ),
                            _img(
                                _strip(means[k : k + 1], image_shape, vmin, vmax),
                                f"mean of class {_label_text(lab)}",
                            ),
                        ],
                    )
                )
            out.append(
                "<figure>"
                + _gallery(("class", "samples", "mean E[x | y]"), mean_rows)
                + "<figcaption>Samples next to the class mean (the tutorial's figure). A "
                "Gaussian's samples are the mean plus correlated noise: blurry or speckled "
                "samples beside a clean mean show what the density misses.</figcaption>"
                "</figure>"
            )
    elif X_test.shape[1] >= 2:
        try:
            from bayesgen import plotting

            X_gen, _ = model.sample(min(2000, max(200, len(X_test))), random_state=rng)
            fig = plotting.plot_feature_pairs(X_test, X_gen, (0, 1))
            png = plotting.figure_to_png_bytes(fig, dpi=FIGURE_DPI)
        except ImportError:
            return [
                '<p class="note">matplotlib is not installed: no scatter of real and '
                "generated features (pip install bayesgen[plot]).</p>"
            ]
        out.append(
            _figure(
                png,
                "scatter of two features, real and generated",
                "Features 0 and 1 of real test rows and generated rows (no image shape, so no "
                "image grid).",
            )
        )
    return out


# ------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------


def _cards(ev) -> str:
    cards = []

    def card(label, value, floor):
        cards.append(
            f'<div class="card"><div class="label">{_esc(label)}</div>'
            f'<div class="value">{_esc(value)}</div><div class="floor">{_esc(floor)}</div></div>'
        )

    if ev.classification is not None:
        card(
            "Bayes classifier accuracy (real test rows)",
            _pct(ev.classification.accuracy),
            f"{ev.classification.n_samples} rows",
        )
    if ev.label_fidelity is not None:
        card(
            "label fidelity of generated rows",
            _pct(ev.label_fidelity.accuracy),
            f"floor (real held-out rows): {_pct(ev.label_fidelity.floor_accuracy)}",
        )
    if ev.tstr is not None:
        card(
            "train on synthetic / train on real",
            _fmt(ev.tstr.ratio),
            f"TSTR {_pct(ev.tstr.tstr_accuracy)} vs TRTR {_pct(ev.tstr.trtr_accuracy)}",
        )
    if ev.frechet is not None:
        floor = ev.frechet_floor.value if ev.frechet_floor is not None else None
        card(ev.frechet.name, _fmt(ev.frechet.value), f"real-vs-real floor: {_fmt(floor)}")
    if ev.log_likelihood is not None:
        ll = ev.log_likelihood
        extra = (
            f"{_fmt(ll.bits_per_dim_8bit)} bits/dim on the 0-{ll.pixel_scale:g} pixel scale"
            if ll.bits_per_dim_8bit is not None
            else f"{_fmt(ll.bits_per_dim)} bits/dim"
        )
        card("held-out log-likelihood", f"{_fmt(ll.mean_log_likelihood)} nats", extra)
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def _metrics_section(ev) -> str:
    rows = [(m, _fmt(g), _fmt(f), u) for m, g, f, u in ev.rows()]
    body = _table(("metric", "generated", "real-vs-real floor", "unit"), rows, numeric={1, 2})
    return (
        '<section id="metrics"><h2>Metrics beside their floors</h2>'
        '<p class="note">Each number about generated data is shown beside the same number '
        "computed between two disjoint sets of <em>real</em> rows of the same size (the "
        "floor): a generator cannot be expected to do better than real data. Higher is "
        "better for log-likelihood, accuracy, label fidelity, TSTR, precision, recall and "
        "coverage; lower is better for bits/dim, the Frechet distance, NDB/K and the JS "
        "divergence; density is best near 1; distances to the nearest training row far "
        "below the held-out floor (or exact copies) mean memorisation.</p>"
        f"{body}</section>"
    )


def _per_class_section(model, ev) -> str:
    clf, lf = ev.classification, ev.label_fidelity
    labels = [_label_text(c) for c in np.asarray(getattr(model, "classes_", []))]
    for rep in (clf, lf.generated if lf is not None else None):
        if rep is not None:
            labels += [t for t in map(_label_text, rep.labels) if t not in labels]
    prior = (
        _by_label(model.classes_, np.asarray(model.class_prior_, dtype=float))
        if hasattr(model, "class_prior_")
        else {}
    )
    acc = _by_label(clf.labels, clf.per_class_accuracy) if clf is not None else {}
    sup = _by_label(clf.labels, clf.support) if clf is not None else {}
    fid = gen_n = floor = {}
    if lf is not None:
        fid = _by_label(lf.generated.labels, lf.generated.per_class_accuracy)
        gen_n = _by_label(lf.generated.labels, lf.generated.support)
        if lf.floor is not None:
            floor = _by_label(lf.floor.labels, lf.floor.per_class_accuracy)
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
        rows.append(
            (
                lab,
                _fmt(prior.get(lab)),
                _fmt(sup.get(lab)),
                _pct(acc.get(lab)),
                _fmt(gen_n.get(lab)),
                _pct(f_gen),
                _pct(f_floor),
                "\u2013" if gap is None else f"{100 * gap:+.1f} pts",
            )
        )
        worse = "worse" if gap is not None and gap < -0.05 else ""
        marks.append(["", "", "", "", "", worse, "", worse])
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
    ref = lf.reference if lf is not None else "no reference classifier (model cannot sample)"
    return (
        '<section id="per-class"><h2>Per-class metrics</h2>'
        '<p class="note">Bayes classifier accuracy: recall of each class on the real test '
        "rows. Label fidelity: share of rows generated for a class that an independent "
        f"classifier trained on real data only ({_esc(ref)}) assigns to that class; its floor "
        "is the same classifier's recall on held-out real rows. Cells more than 5 points "
        "below the floor are shaded.</p>"
        f"{_table(header, rows, numeric={1, 2, 3, 4, 5, 6, 7}, classes=marks)}</section>"
    )


def _confusion_table(rep, row_title: str, col_title: str) -> str:
    labels = [_label_text(v) for v in rep.labels]
    cm = np.asarray(rep.confusion)
    totals = cm.sum(axis=1)
    out = [
        '<table class="cm"><thead><tr>',
        f'<th class="corner">{_esc(row_title)} \u2193 / {_esc(col_title)} \u2192</th>',
    ]
    out.extend(f"<th>{_esc(v)}</th>" for v in labels)
    out.append("<th>rows</th></tr></thead><tbody>")
    for i, lab in enumerate(labels):
        out.append(f"<tr><th>{_esc(lab)}</th>")
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


def _confusion_section(ev) -> str:
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


def _settings_section(model, ev, sources) -> str:
    rows: list[tuple[str, str]] = []
    for k, v in (sources or {}).items():
        _flatten(str(k), v, rows)
    rows.extend(_model_description(model))
    _flatten("", ev.settings, rows)
    return f'<section id="settings"><h2>Settings</h2>{_table(("setting", "value"), rows)}</section>'


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------


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
    from bayesgen.base.version import __version__

    Xte = np.asarray(X_test, dtype=np.float64)
    if Xte.ndim != 2:
        raise DataError(f"X_test must be 2-D (n_samples, n_features); got shape {Xte.shape}.")
    d_model = getattr(model, "n_features_in_", None)
    if d_model is not None and Xte.shape[1] != int(d_model):
        raise DataError(
            f"X_test has {Xte.shape[1]} features per row but the model was fitted on "
            f"{int(d_model)}; pass real data in the layout the model was trained on."
        )
    shape = _check_image_shape(image_shape, Xte.shape[1])
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
    if isinstance(random_state, numbers.Integral):
        fig_rng = np.random.default_rng(np.random.SeedSequence(int(random_state), spawn_key=(1,)))
    else:
        fig_rng = check_random_state(random_state)
    samples_figs = (
        _sample_figures(model, Xte, shape, pixel_scale, fig_rng) if hasattr(model, "sample") else []
    )

    page_title = title or "bayesgen report: how good is the generated data?"
    s = evaluation.settings
    lead = (
        f"{_esc(type(model).__name__)} ({_esc(dict(_model_description(model)).get('density', '?'))}"
        f" densities, {len(getattr(model, 'classes_', []))} classes, "
        f"{Xte.shape[1]} features) judged on {len(Xte)} real test rows; "
        f"{_esc(s.get('n_generated', 0))} generated rows, distribution metrics on n = "
        f"{_esc(s.get('n', '?'))} per set in the {_esc(s.get('feature_space', '?'))} feature "
        f"space, seed {_esc(s.get('random_state'))}."
    )
    sections = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{_esc(page_title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(page_title)}</h1>",
        f'<p class="lead">{lead}</p>',
        '<nav><a href="#metrics">metrics</a><a href="#samples">samples</a>'
        '<a href="#per-class">per class</a><a href="#confusion">confusion</a>'
        '<a href="#notes">notes</a><a href="#settings">settings</a></nav>',
        _cards(evaluation),
        _metrics_section(evaluation),
        '<section id="samples"><h2>Samples</h2>',
    ]
    if samples_figs:
        sections.append('<div class="figs">' + "".join(samples_figs) + "</div>")
    else:
        sections.append(
            '<p class="note">No figure: the model cannot sample or the data have '
            "a single feature.</p>"
        )
    sections.append("</section>")
    sections.append(_per_class_section(model, evaluation))
    sections.append(_confusion_section(evaluation))
    notes = list(evaluation.notes) + [
        "The Frechet distance here is computed in the named feature space above, not in "
        "Inception features: it is not an FID and is not comparable with published FIDs.",
    ]
    if evaluation.log_likelihood is not None and pixel_scale is not None:
        notes.append(
            "Bits/dim on the 0-256 scale bound the discrete negative log-likelihood only for "
            "a model fitted to dequantised data; a model fitted to raw pixel values can "
            "report too few (even negative) bits."
        )
    sections.append(
        '<section id="notes"><h2>Notes</h2><ul class="notes">'
        + "".join(f"<li>{_esc(n)}</li>" for n in notes)
        + "</ul></section>"
    )
    sections.append(_settings_section(model, evaluation, sources))
    sections.append(
        f"<footer>Written by bayesgen {_esc(__version__)}. Self-contained: "
        "images are embedded, nothing is fetched.</footer>"
    )
    sections.append("</main></body></html>\n")
    return "\n".join(sections)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, with the usual (umask) permissions.

    The bytes go to a temporary file beside ``path``, are flushed to disk and moved into
    place with :func:`os.replace`, so ``path`` is either untouched or complete; on any
    failure the temporary file is removed.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    data : bytes

    Returns
    -------
    pathlib.Path
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{str(target)!r} is a folder; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"output folder {str(parent)!r} does not exist; create it first or choose another path"
        )
    atomic_write_bytes_via(target, lambda handle: handle.write(data))
    return target


def write_report(path, html_text: str) -> Path:
    """Write an HTML page atomically (UTF-8).

    The text goes to a temporary file beside ``path`` that is moved into place only once
    complete, so ``path`` is either untouched or the whole new page.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    html_text : str
        The document, e.g. from :func:`build_report`.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    if not isinstance(html_text, str):
        raise TypeError(f"html_text must be a str; got {type(html_text).__name__}.")
    return atomic_write_bytes(path, html_text.encode("utf-8"))
