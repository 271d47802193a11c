"""HTML building blocks of the report: escaping, number formatting, tables and images.

Every piece of text that reaches the page goes through :func:`esc`; tables escape every
cell themselves.
"""

from __future__ import annotations

import base64
import html
import json
import math
import numbers

import numpy as np

from bayesgen.base.validation import label_text

__all__ = [
    "by_label",
    "esc",
    "figure",
    "flatten",
    "fmt",
    "gallery",
    "img",
    "pct",
    "table",
]

#: Shown for a missing number (an en dash).
MISSING = "\u2013"


def esc(value) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt(value) -> str:
    """A number as text with 4 significant digits; '–' for None, 'nan'/'inf' kept."""
    if value is None:
        return MISSING
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


def pct(value) -> str:
    """A share as a percentage with one decimal; '–' for None, 'nan'/'inf' kept."""
    if value is None:
        return MISSING
    v = float(value)
    return f"{100 * v:.1f}%" if math.isfinite(v) else str(v)


def table(header, rows, *, numeric=None, classes=None, css_class=None) -> str:
    """An HTML table; every cell is escaped.

    Parameters
    ----------
    header : sequence of str
    rows : sequence of sequences
        Cell values (any type; shown as text).
    numeric : set of int, optional
        Columns aligned as numbers.
    classes : sequence of sequences of str, optional
        ``classes[i][j]`` adds a CSS class to a cell ("" for none).
    css_class : str, optional
        CSS class of the table.

    Returns
    -------
    str
    """
    numeric = set(numeric or ())
    out = [f'<table class="{esc(css_class)}">' if css_class else "<table>", "<thead><tr>"]
    out.extend(f"<th>{esc(h)}</th>" for h in header)
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
            out.append(f"<td{attr}>{esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def img(png: bytes, alt: str) -> str:
    """An ``<img>`` holding ``png`` as a base64 ``data:`` URI (nothing is fetched)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def figure(png: bytes, alt: str, caption: str) -> str:
    """An image with its caption."""
    return f"<figure>{img(png, alt)}<figcaption>{esc(caption)}</figcaption></figure>"


def gallery(header, rows) -> str:
    """A table whose first column is a class label and whose other cells hold images.

    Parameters
    ----------
    header : sequence of str
    rows : sequence of (label, list of str)
        The label (escaped) and the cells' HTML (already built, e.g. by :func:`img`).
    """
    out = ['<table class="gallery"><thead><tr>']
    out.extend(f"<th>{esc(h)}</th>" for h in header)
    out.append("</tr></thead><tbody>")
    for label, cells in rows:
        out.append(f"<tr><th>{esc(label)}</th>")
        out.extend(f"<td>{cell}</td>" for cell in cells)
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def by_label(labels, values) -> dict:
    """``{label text: value}`` for two aligned arrays."""
    return {label_text(k): v for k, v in zip(np.asarray(labels).tolist(), values, strict=True)}


def flatten(prefix: str, value, out: list) -> None:
    """Append ``(dotted.key, text)`` rows for a nested dict of settings to ``out``."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        if isinstance(value, list | tuple | np.ndarray):
            text = json.dumps(
                np.asarray(value).tolist() if isinstance(value, np.ndarray) else list(value),
                default=str,
            )
        elif value is None:
            text = MISSING
        else:
            text = fmt(value) if isinstance(value, numbers.Real) else str(value)
        out.append((prefix, text))
