"""``bayesgen inspect``: a model's classes, priors, density family and size.

A model file is shared like any download: its labels, column names and metadata are printed
with control characters escaped (the JSON output escapes them itself).
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.validation import label_text, safe_text
from bayesgen.cli.common import (
    EXIT_OK,
    add_command,
    cli_wording,
    image_shape_of,
    load_model,
    to_json,
)

__all__ = ["register"]

_SHOWN_PATTERNS = 3  # patterns of cells missing together listed per class (all in --json)


def _chooser(density):
    """The :class:`~bayesgen.densities.AutoDensity` that chose a class's family: the density
    itself, or the base of a transform ("auto+logit"); None for a fixed family."""
    for candidate in (density, getattr(density, "base_", None)):
        if hasattr(candidate, "selection_table"):
            return candidate
    return None


def _describe(args, model, metadata) -> dict:
    """Everything ``inspect`` shows, as plain data (the ``--json`` output)."""
    if model.density is None:
        density = f"{type(model.densities_[0]).__name__} (chosen for the data)"
    elif isinstance(model.density, str):
        density = model.density
    else:
        density = type(model.density).__name__
    classes = []
    for c, p, n, d in zip(
        model.classes_, model.class_prior_, model.class_count_, model.densities_, strict=True
    ):
        entry = {"label": label_text(c, raw=True), "prior": float(p), "count": float(n)}
        entry["density"] = type(d).__name__
        chooser = _chooser(d)
        if chooser is not None:  # AutoDensity records what it chose, and what it skipped
            entry["selection"] = chooser.selection_
        classes.append(entry)
    return {
        "file": args.model,
        "density": density,
        "reg_covar": model.reg_covar,
        "shrinkage": model.shrinkage,
        "n_features": int(model.n_features_in_),
        "n_classes": int(len(model.classes_)),
        "n_parameters": int(model.n_parameters()),
        "classes": classes,
        "data": metadata,
        "table": _table_info(model),
        "orders_kept": model.order_columns().describe_orders(getattr(model, "orders_", None)),
    }


def _table_info(model) -> dict | None:
    """The schema (column kinds, categories, decimals, bounds, formats) and the per-class
    missing-cell rates of a model fitted on a table."""
    schema = getattr(model, "schema_", None)
    if schema is None:
        return None
    rates = getattr(model, "missing_rate_", None)
    missing = {}
    if rates is not None:
        for k, label in enumerate(model.classes_):
            row = {n: float(r) for n, r in zip(schema.feature_names, rates[k], strict=True) if r}
            if row:
                missing[label_text(label, raw=True)] = row
    return {
        "columns": schema.describe(),
        "missing_rate_per_class": missing,
        "missing_together_per_class": _missing_together(model, schema.feature_names),
    }


def _missing_together(model, names) -> dict:
    """Per class, the kept patterns with two or more empty columns and their rates."""
    patterns = getattr(model, "missing_patterns_", None)
    out = {}
    if patterns is None:
        return out
    for k, label in enumerate(model.classes_):
        mine = (patterns.owner == k) & (patterns.masks.sum(axis=1) >= 2)
        rows = [
            {"columns": [names[j] for j in np.flatnonzero(mask)], "rate": float(p)}
            for mask, p in zip(patterns.masks[mine], patterns.probability[mine], strict=True)
        ]
        if rows:
            out[label_text(label, raw=True)] = rows
    return out


def _text_lines(args, model, metadata, info: dict) -> list[str]:
    """The human-readable listing, a line per item (a value's own line breaks stay in its
    line, to be shown escaped)."""
    shape = image_shape_of(metadata)
    lines = [
        f"model file:   {args.model}",
        f"density:      {info['density']} (reg_covar={model.reg_covar}, "
        f"shrinkage={model.shrinkage})",
        f"features:     {model.n_features_in_}"
        + (f" (images {'x'.join(map(str, shape))})" if shape else ""),
        f"parameters:   {model.n_parameters():,}",
        f"classes:      {len(model.classes_)}",
        f"  {'label':<12} {'prior':>8} {'rows':>8}  density",
    ]
    for entry in info["classes"]:
        lines.append(
            f"  {safe_text(entry['label']):<12} {entry['prior']:>8.4f} "
            f"{entry['count']:>8.0f}  {entry['density']}"
        )
    choosers = [_chooser(density) for density in model.densities_]
    # one family for all classes: plain auto (not inside a transform) whose records carry
    # "rows" (written since that choice exists), with one name chosen
    plain = all(c is d for c, d in zip(choosers, model.densities_, strict=True))
    shared = {c.chosen_ for c in choosers if c is not None and not c.per_class}
    recent = plain and all("rows" in r for c in choosers for r in c.selection_)
    if recent and len(shared) == 1:
        rated = any(r.get("heldout_error") is not None for r in choosers[0].selection_)
        among = (
            " among the families whose classifier errs on held-out rows at most 2 standard "
            "errors more often than the best"
            if rated
            else ""
        )
        delivered = {c.delivered_name() for c in choosers}
        refit = ""
        if len(delivered) == 1 and (name := delivered.pop()) not in shared:
            refit = f"; refitted on all rows as {safe_text(name)}, the average of EM runs"
        lines.append(
            f"  auto chose {safe_text(shared.pop())} for every class: the highest estimated "
            f"out-of-sample log-likelihood summed over the classes{among}{refit}"
        )
    for label, chooser in zip(model.classes_, choosers, strict=True):
        if chooser is not None:
            lines.append(f"  candidates for class {label_text(label)} (* = chosen):")
            lines += [f"      {line}" for line in chooser.selection_table().split("\n")]
    if metadata.get("source"):
        lines.append(f"fitted on:    {metadata['source']} ({metadata.get('n_rows', '?')} rows)")
    table = info.get("table")
    if table:
        lines += [f"label column: {metadata.get('label_column')}", "columns:"]
        lines += [f"  {cli_wording(line)}" for line in table["columns"]]
        if table["missing_rate_per_class"]:
            lines.append("missing cells per class (reproduced in samples unless --missing none):")
            for label, rates in table["missing_rate_per_class"].items():
                shown = ", ".join(f"{n} {r:.1%}" for n, r in rates.items())
                lines.append(f"  {label}: {shown}")
        together = table["missing_together_per_class"]
        if together:
            lines.append("cells missing together (each sampled row takes one pattern):")
            for label, rows in together.items():
                shown = "; ".join(
                    f"{' + '.join(map(safe_text, r['columns']))} {r['rate']:.1%}"
                    for r in rows[:_SHOWN_PATTERNS]
                )
                more = len(rows) - _SHOWN_PATTERNS
                lines.append(f"  {label}: {shown}" + (f" (and {more} more)" if more > 0 else ""))
    if info["orders_kept"]:
        lines.append(
            "orders every training row keeps (a sampled row that breaks one has those cells "
            "redrawn):"
        )
        lines += [f"  {safe_text(text)}" for text in info["orders_kept"]]
    return lines


def run(args) -> int:
    """Print the model's description as text, or as JSON with ``--json``."""
    model, metadata = load_model(args.model)
    info = _describe(args, model, metadata)
    if args.json:
        print(to_json(info))
    else:
        for line in _text_lines(args, model, metadata, info):
            print(safe_text(line))
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``inspect`` and its options."""
    p = add_command(
        subparsers,
        "inspect",
        run,
        "Show a model's classes, priors, family and size.",
        "bayesgen inspect model.bgm",
    )
    p.add_argument("model")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
