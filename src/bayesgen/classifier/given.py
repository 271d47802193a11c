"""Exact sampling on conditions on column values: ``sample(n, given={...})``.

Each class density is seen as a Gaussian latent vector mapped feature by feature to the
data (:meth:`bayesgen.densities.Density.latent_gaussian`).  A condition is then

* ``x_j == v`` for a continuous value: a point of the latent ``z_j`` (the Gaussian
  conditional on it is exact, as in in-painting);
* ``x_j == v`` for a category or another point mass, and ``lo <= x_j <= hi``: an interval
  of ``z_j``, a truncation of the latent Gaussian.  On a date column a year (``"1975"``)
  or a month (``"1975-06"``) that is not a date in the column's format stands for the
  whole period: equal to it is the range from its first to its last instant, and as a
  range end it counts from the first (low end) or up to the last (high end).

The latent rows are drawn as: the Gaussian conditional on the point conditions; then the
truncated coordinates from their box (:func:`bayesgen.kernels.truncated.sample_box`: exact
for one truncated column, exact rejection when the box holds at least
``REJECTION_MIN_PROBABILITY`` of the mass, else ``GIBBS_SWEEPS`` Gibbs sweeps per chain);
then every other coordinate from its exact Gaussian conditional.

A latent Gaussian mixture ``sum_k w_k N(m_k, S_k)`` (the mixture families, a copula with
mixture dependence) is conditioned component by component: given the conditions it is
the mixture of the components' conditionals with weights ``w_k p_k(condition)``
normalised, ``p_k`` the component's density of the point conditions times its box
probability; each row first draws its component from those weights.

Without ``y`` the class of each row is drawn from ``p(y | condition)``, proportional to
``p(y) p(condition | y)`` where ``p(condition | y)`` is the latent density of the point
conditions (times the Jacobian of the marginals) times the box probability given them
(summed over the components with their weights).
A condition with probability (density) zero or below ``1e-300`` under every class is an
error that states it, never an endless loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from bayesgen.base.errors import ConditionError, DataError
from bayesgen.base.suggest import did_you_mean
from bayesgen.base.validation import format_label
from bayesgen.kernels.conditioning import gaussian_conditional
from bayesgen.kernels.covariance import FullCovariance
from bayesgen.kernels.truncated import box_probability, sample_box

__all__ = ["Condition", "parse_given", "sample_given"]

_NEGLIGIBLE_LOG = math.log(1e-300)


@dataclass(frozen=True)
class Condition:
    """One condition on feature ``j``: ``x_j == equal``, or ``lo <= x_j <= hi``."""

    j: int
    name: str
    equal: float | None = None
    lo: float | None = None
    hi: float | None = None


def _feature_index(model, key) -> tuple[int, str]:
    schema = getattr(model, "schema_", None)
    names = list(schema.feature_names) if schema is not None else None
    if names is None and hasattr(model, "feature_names_in_"):
        names = [str(n) for n in model.feature_names_in_]
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not 0 <= int(key) < model.n_features_in_:
            raise DataError(
                f"given: feature {key} does not exist; the model has {model.n_features_in_}"
            )
        return int(key), str(key) if names is None else names[int(key)]
    dropped = getattr(schema, "dropped", None) or {}
    if key in dropped:
        raise DataError(
            f"given: column {key!r} is left out of the model ({dropped[key]}), so samples "
            f"have no values to condition on; conditions go on the modelled columns {names}"
        )
    if names is None or key not in names:
        known = names or list(range(model.n_features_in_))
        did = did_you_mean(key, known, n=1)
        raise DataError(f"given: no column named {key!r}{did}. The columns are {known}.")
    return names.index(key), key


def _encoded(model, j: int, name: str, value) -> float:
    """A value as the model's matrix holds it (a category's code, a date's day count); a
    date in the column's own format or in ISO 8601."""
    schema = getattr(model, "schema_", None)
    if schema is None:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise DataError(f"given: {name!r} must be a number; got {value!r}") from None
    import pandas as pd

    from bayesgen.tables.codec import encode_column

    spec = schema[name]
    try:
        code = encode_column(spec, pd.Series([value], dtype=object), "missing")[0]
    except DataError as exc:
        if spec.kind == "datetime":
            code = _iso_date(spec, value)
        else:
            raise DataError(f"given: {name!r} = {value!r}: {exc}") from None
    if np.isnan(code) and spec.kind == "categorical":
        raise DataError(
            f"given: {name!r} = {value!r} is not a category seen in training; known "
            f"categories: {spec.categories}"
        )
    if np.isnan(code):
        raise DataError(f"given: {name!r} = {value!r} is a missing value, not a condition")
    return float(code)


def _check_writable(spec, name: str, code: float, value) -> None:
    """Refuse a value that generated rows of the column can never hold, which decoding
    would round away (``4000.5`` where masses are multiples of 25, ``10.05`` where values
    have one decimal, 08:00 on a column of whole days, 05:00:30 on one written to the
    minute): the condition would silently become another one."""
    import dataclasses

    from bayesgen.tables.codec import as_decoded
    from bayesgen.tables.spec import DATETIME_UNIT_NAMES

    if spec.kind == "datetime" and code != np.rint(code):
        unit = DATETIME_UNIT_NAMES[spec.datetime_unit]
        raise DataError(
            f"given: {name!r} = {value!r} is not a whole {unit}, which the column's values "
            "are; give a date it can hold, or a range"
        )
    if spec.kind not in ("continuous", "integer"):
        return
    # rounding only: a value beyond the bounds is the range check's to refuse
    unbounded = dataclasses.replace(spec, bounds=None)
    written = float(as_decoded(unbounded, np.array([code]))[0])
    spacing = (spec.step or 1) if spec.kind == "integer" else 10.0 ** -(spec.decimals or 0)
    if abs(written - code) > 1e-6 * spacing:  # far below the grid, above parsing noise
        grid = (
            f"multiples of {spec.step}"
            if spec.kind == "integer" and spec.step
            else "whole numbers"
            if spec.kind == "integer"
            else f"{spec.decimals} decimal(s)"
        )
        raise DataError(
            f"given: {name!r} = {code:g} cannot appear in generated rows, whose values are "
            f"{grid}; ask for a value they take (e.g. {written:g}) or a range"
        )


def _iso_date(spec, value) -> float:
    """A date written in ISO 8601 (``2020-01-31``; ``2020-01-31 08:00`` for a column that
    holds times) for a column whose own text format is another (``31/01/2020``), as the
    column's number; DataError when it is neither, or not a whole unit of the column."""
    import dataclasses

    import pandas as pd

    from bayesgen.tables.codec import encode_column

    try:
        stamp = pd.to_datetime(pd.Series([value], dtype=object), format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        raise DataError(_not_a_date(spec, value)) from None
    # a time zone written in the value (2020-03-15T00:00Z) is dropped after moving to UTC:
    # the column's text dates have none
    naive = stamp.dt.tz_localize(None).astype("datetime64[us]")
    as_stamps = dataclasses.replace(spec, dtype="datetime64[us]", datetime_format=None)
    return encode_column(as_stamps, naive, "missing")[0]


def _not_a_date(spec, value) -> str:
    example = ""
    if spec.bounds:
        from bayesgen.tables.codec import decode_column

        example = f" (e.g. {decode_column(spec, np.array([spec.bounds[0]]))[0]})"
    return (
        f"given: {spec.name!r} = {value!r} is not a date in the column's format"
        f"{example} or in ISO 8601 (1975-06-30); a year (1975), a month (1975-06) or, on "
        "a column with times of day, a day stands for that whole period"
    )


def _period(model, name: str, value):
    """A year, a month or (on a column with times of day) a day given for a date column
    (``"1975"``, ``"1975-06"``, ``"1975-06-30"``): the first and last instants of that
    period, or None (any other value, another column, or a value that is a date in the
    column's own text format, e.g. ``"%Y"``)."""
    schema = getattr(model, "schema_", None)
    if schema is None or schema[name].kind != "datetime":
        return None
    from bayesgen.tables.dates import period_span

    spec = schema[name]
    span = period_span(spec, value)
    # datetime64: "2002" is a period; so is the number 2002 (it is no text of the format)
    if span is None or spec.datetime_format is None or not isinstance(value, str):
        return span
    import pandas as pd

    from bayesgen.tables.dates import parse_text

    own_format = parse_text(pd.Series([value], dtype=object), spec.datetime_format)
    return span if own_format.isna().all() else None


def _within_bounds(model, c: Condition) -> Condition:
    """Conditions on a bounded column (samples never leave the range seen) must meet it."""
    schema = getattr(model, "schema_", None)
    bounds = None if schema is None else schema[c.name].bounds
    if not bounds:
        return c
    lo, hi = bounds
    from bayesgen.tables.codec import range_text

    seen = range_text(schema[c.name], lo, hi)
    if c.equal is not None:
        if not lo <= c.equal <= hi:
            value = "" if schema[c.name].kind == "datetime" else f" = {c.equal:g}"
            raise DataError(
                f"given: {c.name!r}{value} is outside the range seen in training {seen}; "
                f"samples stay in that range; {_WIDEN}"
            )
        return c
    a = lo if c.lo is None else max(c.lo, lo)
    b = hi if c.hi is None else min(c.hi, hi)
    if a > b:
        raise DataError(
            f"given: the range for {c.name!r} misses the range seen in training {seen}; "
            f"samples stay in that range; {_WIDEN}"
        )
    return Condition(c.j, c.name, lo=a, hi=b)


#: how to let samples (and so conditions) go beyond the range seen in training
_WIDEN = (
    "widen it with model.schema_.set_bounds(NAME, (LO, HI)), on the command line "
    "--bounds NAME=LO:HI"
)


def parse_given(model, given: dict) -> list[Condition]:
    """Conditions from ``{column: value}`` and ``{column: (lo, hi)}`` (None = open end).

    Raises
    ------
    ConditionError
        An unknown column (with "did you mean"), an unseen category, a range on a
        categorical column, a range with ``lo > hi``, two conditions on one column.
    """
    try:
        conditions = _parse_given(model, given)
    except ConditionError:
        raise
    except DataError as exc:
        raise ConditionError(str(exc)) from None
    return _within_orders(model, conditions)


def _within_orders(model, conditions: list[Condition]) -> list[Condition]:
    """Conditions on both columns of a kept order ``x_a <= x_b`` narrowed by it: ``x_a`` at
    most ``x_b``'s upper end, ``x_b`` at least ``x_a``'s lower end (so ``temp_max = 10``
    with ``temp_min >= 10`` samples ``temp_min = 10``; the rows never break the order
    through their conditioned cells alone, except where two ranges overlap).

    Raises
    ------
    DataError
        The conditions leave no value that keeps the order.
    """
    orders = getattr(model, "orders_", None)
    if orders is None or not len(orders) or len(conditions) < 2:
        return conditions
    _, scales = model.order_columns().order_groups()
    by_j = {c.j: c for c in conditions}
    for _ in range(len(orders)):  # a chain a <= b <= c narrows in up to len(orders) passes
        changed = False
        for a, b in orders:
            if a not in by_j or b not in by_j:
                continue
            (lo_a, hi_a), (lo_b, hi_b) = _span(by_j[a]), _span(by_j[b])
            top = min(hi_a, hi_b * scales[b] / scales[a])
            bottom = max(lo_b, lo_a * scales[a] / scales[b])
            if top < lo_a or bottom > hi_b:
                raise DataError(
                    f"given: the conditions on {by_j[a].name!r} and {by_j[b].name!r} "
                    f"contradict {by_j[a].name} <= {by_j[b].name}, which every training row "
                    "keeps; condition on values that keep it, or fit with orders='ignore' "
                    "(--orders ignore)"
                )
            if top < hi_a:
                by_j[a], changed = _narrowed(by_j[a], lo_a, top), True
            if bottom > lo_b:
                by_j[b], changed = _narrowed(by_j[b], bottom, hi_b), True
        if not changed:
            break
    return [by_j[c.j] for c in conditions]


def _span(c: Condition) -> tuple[float, float]:
    if c.equal is not None:
        return c.equal, c.equal
    return (-math.inf if c.lo is None else c.lo), (math.inf if c.hi is None else c.hi)


def _narrowed(c: Condition, lo: float, hi: float) -> Condition:
    if c.equal is not None:
        return c
    if lo == hi:
        return Condition(c.j, c.name, equal=lo)
    return Condition(
        c.j, c.name, lo=None if lo == -math.inf else lo, hi=None if hi == math.inf else hi
    )


def _parse_given(model, given: dict) -> list[Condition]:
    if not isinstance(given, dict) or not given:
        raise DataError("given must be a non-empty dict of {column: value or (lo, hi)}")
    out, seen = [], set()
    for key, value in given.items():
        j, name = _feature_index(model, key)
        if j in seen:
            raise DataError(f"given: column {name!r} has two conditions; give one")
        seen.add(j)
        span = None if isinstance(value, (tuple, list)) else _period(model, name, value)
        if isinstance(value, (tuple, list)):
            condition = _range_condition(model, j, name, value)
        elif span is not None:  # "1975": any day of that year
            condition = Condition(j, name, lo=span[0], hi=span[1])
        else:
            code = _encoded(model, j, name, value)
            if getattr(model, "schema_", None) is not None:  # a range may end between values
                _check_writable(model.schema_[name], name, code, value)
            condition = Condition(j, name, equal=code)
        out.append(_within_bounds(model, condition))
    return out


def _range_condition(model, j: int, name: str, value) -> Condition:
    schema = getattr(model, "schema_", None)
    if schema is not None and schema[name].kind == "categorical":
        raise DataError(
            f"given: {name!r} is categorical; a range needs numbers or dates. Give one "
            "category, e.g. {" + repr(name) + ": " + repr(schema[name].categories[0]) + "}"
        )
    if len(value) != 2:
        raise DataError(f"given: a range for {name!r} is (lo, hi); got {value!r}")
    lo, hi = (_range_end(model, j, name, v, end) for v, end in zip(value, (0, 1), strict=True))
    if lo is None and hi is None:
        raise DataError(f"given: the range for {name!r} has no bound; drop the condition")
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"given: the range for {name!r} is empty ({value[0]!r} > {value[1]!r})")
    return Condition(j, name, lo=lo, hi=hi)


def _range_end(model, j: int, name: str, value, end: int):
    """One end of a range: a period (a year, a month) counts from its first instant as the
    low end and up to its last as the high end."""
    if value is None:
        return None
    span = _period(model, name, value)
    return _encoded(model, j, name, value) if span is None else span[end]


@dataclass
class _Part:
    """One Gaussian of the latent vector, conditioned on the point conditions."""

    mean: np.ndarray  # of the non-point coordinates given the points
    cov: np.ndarray
    log_probability: float  # log w_k + log p_k(condition), without the Jacobian


@dataclass
class _ClassPlan:
    """What one class needs to sample on the conditions."""

    latent: object
    points: np.ndarray  # feature indices with a point condition
    z_points: np.ndarray
    box: np.ndarray  # feature indices with an interval
    lo: np.ndarray
    hi: np.ndarray
    rest: np.ndarray  # indices of the non-point coordinates, in order
    parts: list[_Part]
    log_probability: float


def _latent_conditions(latent, conditions: list[Condition]):
    """The conditions in latent coordinates: point coordinates and values, box coordinates
    and bounds, and the log-Jacobian of the point conditions (the same for every
    Gaussian of the latent: they depend on the marginal maps only)."""
    points, z_points, box, lo, hi = [], [], [], [], []
    log_jacobian = 0.0
    for c in conditions:
        if c.equal is not None:
            kind, a, b = latent.point(c.j, c.equal)
            if kind == "point":
                points.append(c.j)
                z_points.append(a)
                log_jacobian += b
                continue
        else:
            a, b = latent.interval(c.j, c.lo, c.hi)
        box.append(c.j)
        lo.append(a)
        hi.append(b)
    return (
        np.asarray(points, dtype=int),
        np.asarray(z_points, dtype=float),
        np.asarray(box, dtype=int),
        np.asarray(lo, dtype=float),
        np.asarray(hi, dtype=float),
        log_jacobian,
    )


def _plan(density, conditions: list[Condition]) -> _ClassPlan:
    latent = density.latent_gaussian()
    points, z_points, box, lo, hi, log_jacobian = _latent_conditions(latent, conditions)
    rest = np.setdiff1d(np.arange(latent.mean.shape[0]), points)
    where = np.searchsorted(rest, box)
    parts = []
    for log_weight, mean_k, cov_k in latent.components():
        mean, cov, log_density = _condition_on_points(mean_k, cov_k, points, z_points)
        p_box = box_probability(mean[where], cov[np.ix_(where, where)], lo, hi)
        log_p = log_weight + log_density + (math.log(p_box) if p_box > 0 else -math.inf)
        parts.append(_Part(mean, cov, log_p))
    logs = np.array([part.log_probability for part in parts])
    total = float(logsumexp(logs)) if np.any(np.isfinite(logs)) else -math.inf
    return _ClassPlan(latent, points, z_points, box, lo, hi, rest, parts, total + log_jacobian)


def _condition_on_points(mean: np.ndarray, covariance: np.ndarray, points, z):
    """Mean and covariance of the other coordinates given ``z[points]``, and the log
    density of the points: the exact Gaussian conditional of
    :func:`bayesgen.kernels.conditioning.gaussian_conditional`."""
    observed = np.zeros(mean.shape[0], dtype=bool)
    observed[points] = True
    piece = gaussian_conditional(mean, FullCovariance.from_matrix(covariance), observed, z)
    return piece.mean, piece.covariance(), piece.log_marginal


def _draw(plan: _ClassPlan, n: int, rng) -> np.ndarray:
    """Latent rows of one class satisfying every condition, shape (n, d): each row's
    Gaussian drawn from the conditioned weights, then its conditional."""
    if len(plan.parts) == 1:
        return _draw_part(plan, plan.parts[0], n, rng)
    logs = np.array([part.log_probability for part in plan.parts])
    weights = np.exp(logs - logsumexp(logs))
    counts = rng.multinomial(n, weights / weights.sum())
    blocks = [
        _draw_part(plan, part, int(k), rng) for part, k in zip(plan.parts, counts, strict=True) if k
    ]
    return np.vstack(blocks)


def _draw_part(plan: _ClassPlan, part: _Part, n: int, rng) -> np.ndarray:
    """Latent rows from one conditioned Gaussian of the plan."""
    d = plan.latent.mean.shape[0]
    Z = np.empty((n, d))
    Z[:, plan.points] = plan.z_points
    where = np.searchsorted(plan.rest, plan.box)
    free = np.setdiff1d(np.arange(plan.rest.shape[0]), where)
    mean, cov = part.mean, part.cov
    Zb = sample_box(mean[where], cov[np.ix_(where, where)], plan.lo, plan.hi, n, rng)
    Z[:, plan.box] = Zb
    if free.size:
        if where.size:
            K = linalg.solve(cov[np.ix_(where, where)], cov[np.ix_(where, free)], assume_a="pos")
            cond_mean = mean[free] + (Zb - mean[where]) @ K
            cond_cov = cov[np.ix_(free, free)] - cov[np.ix_(free, where)] @ K
        else:
            cond_mean, cond_cov = (
                np.broadcast_to(mean[free], (n, free.size)),
                cov[np.ix_(free, free)],
            )
        cond_cov = 0.5 * (cond_cov + cond_cov.T) + 1e-12 * np.eye(free.size)
        C = linalg.cholesky(cond_cov, lower=True)
        Z[:, plan.rest[free]] = cond_mean + rng.standard_normal((n, free.size)) @ C.T
    return Z


def sample_given(model, n: int, conditions: list[Condition], class_index, rng):
    """Rows of a fitted classifier satisfying ``conditions`` (module docstring).

    Parameters
    ----------
    class_index : int or None
        The class to sample, or None to draw classes from ``p(y | condition)``.

    Returns
    -------
    X : ndarray of shape (n, n_features)
    index : ndarray of int, the class position of each row
    probabilities : ndarray of shape (n_classes,), ``p(condition | y)`` (densities for
        point conditions)
    """
    classes = range(len(model.densities_)) if class_index is None else [class_index]
    plans = {k: _plan(model.densities_[k], conditions) for k in classes}
    log_p = np.array([plans[k].log_probability for k in classes])
    if not np.any(log_p > _NEGLIGIBLE_LOG):
        shown = ", ".join(
            f"{format_label(model.classes_[k])}: {math.exp(lp):.3g}"
            for k, lp in zip(classes, log_p, strict=True)
        )
        raise DataError(
            f"the condition has (near) zero probability under the model ({shown}); widen "
            "the ranges or choose values the training data have"
        )
    if class_index is None:
        joint = model._log_prior + log_p
        posterior = np.exp(joint - logsumexp(joint))
        counts = rng.multinomial(n, posterior / posterior.sum())
    else:
        counts = np.array([n])
    index = np.repeat(np.array(list(classes)), counts)
    X = np.empty((n, model.n_features_in_))
    start = 0
    for k, count in zip(classes, counts, strict=True):
        if count:
            plan = plans[k]
            X[start : start + count] = plan.latent.to_data(_draw(plan, int(count), rng))
            start += count
    for c in conditions:  # continuous equalities come back as the value itself
        if c.equal is not None:
            X[:, c.j] = c.equal
    order = rng.permutation(n)
    return X[order], index[order], np.exp(log_p)
