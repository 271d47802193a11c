"""``density="auto"``: choose the family per class on evidence, and record why.

For each class (each call to :meth:`AutoDensity.fit`) every candidate shortcut (see
:mod:`bayesgen.densities`, e.g. ``"lowrank:20"`` or ``"mfa:3x5"``) is scored by

* ``criterion="heldout"`` (default): the rows are split once, with a seeded permutation, into
  a fitting part and a validation part (``validation_fraction``); each candidate is fitted on
  the first and scored by its mean log-likelihood per row on the second (higher is better);
* ``criterion="bic"``: each candidate is fitted on all rows and scored by
  ``BIC = -2 log L + p log n`` (lower is better).

The winner is refitted on all the rows of the class.  ``selection_`` keeps one JSON-able
record per candidate: ``{"name", "params", "criterion", "score", "chosen", "error"}`` (a
candidate that fails to fit is recorded with its error and never chosen), which is what
``bayesgen inspect`` prints.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from bayesgen.base.errors import FitError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import (
    check_bool,
    check_choice,
    check_instance,
    check_keys,
    check_real,
    describe,
    state_error,
)
from bayesgen.densities.base import Density, check_fitted_density
from bayesgen.densities.shortcuts import make_density, parse_density_name, register_shortcut

__all__ = ["AutoDensity", "DEFAULT_CANDIDATES"]

#: Default grid: fits on sklearn digits in seconds and on MNIST in minutes (2 cores).
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "diag",
    "gaussian",
    "lowrank:5",
    "lowrank:20",
    "mfa:3x5",
    "copula",
)


#: the keys of a selection record (module docstring)
_RECORD_KEYS = ("name", "params", "criterion", "score", "chosen", "error")
_PLAIN = (bool, int, float, str)


def _check_record(record, where: str) -> None:
    """One selection record of a model file: its keys and the type of each value; a
    record holds a score or the error of its fit, and only a scored one is chosen."""
    check_keys(record, where, _RECORD_KEYS)
    check_instance(record["name"], f"{where} name", str, "a shortcut name")
    params = record["params"]
    if not isinstance(params, dict) or not all(
        v is None or isinstance(v, _PLAIN) for v in params.values()
    ):
        raise state_error(f"{where} params", "a mapping of numbers, text or None", params)
    check_choice(record["criterion"], f"{where} criterion", ("heldout", "bic"))
    if record["score"] is not None:
        check_real(record["score"], f"{where} score")
    if record["error"] is not None:
        check_instance(record["error"], f"{where} error", str, "None or a message")
    if (record["score"] is None) == (record["error"] is None):
        raise ValueError(f"{where} must hold either a score or an error")
    if check_bool(record["chosen"], f"{where} chosen") and record["score"] is None:
        raise ValueError(f"{where} is chosen but has no score")


def _plain_params(density) -> dict:
    """The JSON-able (scalar) parameters of a density, for the selection record."""
    out = {}
    for key, value in density.get_params(deep=False).items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, np.generic):
            out[key] = value.item()
        elif hasattr(value, "get_params"):
            out[key] = type(value).__name__
    return out


@persistable("AutoDensity")
class AutoDensity(Density):
    """Pick the best density family for the data by held-out likelihood or BIC.

    Parameters
    ----------
    candidates : sequence of str, default=None
        Shortcut strings (``NAME[:SIZE][+TRANSFORM]``); None uses :data:`DEFAULT_CANDIDATES`.
    criterion : {"heldout", "bic"}, default="heldout"
    validation_fraction : float in (0, 1), default=0.2
        Share of rows held out (``criterion="heldout"``).  With fewer than 10 validation
        rows the choice falls back to BIC.
    reg_covar : float, default=1e-6
        Passed to every candidate.
    random_state : None, int or numpy.random.Generator
        Seeds the split and the candidates' own randomness.

    Attributes
    ----------
    best_ : Density
        The chosen family, refitted on all rows.
    chosen_ : str
        Its shortcut name.
    selection_ : list of dict
        One record per candidate (see the module docstring).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from bayesgen.densities import AutoDensity
    >>> X = load_digits().data[:150]
    >>> auto = AutoDensity(candidates=["diag", "lowrank:5"], random_state=0).fit(X)
    >>> auto.chosen_ in ("diag", "lowrank:5")
    True
    """

    _fitted_attributes = ("best_", "chosen_", "selection_")

    def __init__(
        self,
        candidates=None,
        *,
        criterion="heldout",
        validation_fraction=0.2,
        reg_covar=1e-6,
        random_state=None,
    ):
        self.candidates = candidates
        self.criterion = criterion
        self.validation_fraction = validation_fraction
        self.reg_covar = reg_covar
        self.random_state = random_state

    def _check_params(self) -> list[str]:
        if self.criterion not in ("heldout", "bic"):
            raise ValueError(f"criterion must be 'heldout' or 'bic'; got {self.criterion!r}")
        v = self.validation_fraction
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 < v < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1); got {v!r}")
        check_real(self.reg_covar, "reg_covar", low=0)
        candidates = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        names = list(candidates) if isinstance(candidates, Iterable) else []
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError(
                "candidates must be a non-empty list of shortcut names such as "
                "['gaussian', 'lowrank:20']"
            )
        for name in names:
            family, _, _ = parse_density_name(name)
            if family == "auto":
                raise ValueError("'auto' cannot be one of its own candidates")
        return names

    def _make(self, name: str, seed: int) -> Density:
        return make_density(name, reg_covar=self.reg_covar, random_state=seed)

    def _fit(self, X: np.ndarray) -> None:
        names = self._check_params()
        rng = check_random_state(self.random_state)
        seed = int(rng.integers(0, 2**31 - 1))
        n = X.shape[0]
        n_val = int(round(self.validation_fraction * n))
        criterion = self.criterion
        if criterion == "heldout" and (n_val < 10 or n - n_val < 2):
            criterion = "bic"
        if criterion == "heldout":
            order = rng.permutation(n)
            fit_rows, val_rows = X[order[n_val:]], X[order[:n_val]]
        records = []
        fitted = {}
        for name in names:
            density = self._make(name, seed)
            record = {
                "name": name,
                "params": _plain_params(density),
                "criterion": criterion,
                "score": None,
                "chosen": False,
                "error": None,
            }
            try:
                if criterion == "heldout":
                    density.fit(fit_rows)
                    score = float(np.mean(density.score_samples(val_rows)))
                else:
                    density.fit(X)
                    score = float(density.bic(X))
                    fitted[name] = density
                if not math.isfinite(score):
                    raise FitError(f"non-finite score {score}")
                record["score"] = score
            except (FitError, ValueError, np.linalg.LinAlgError) as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            records.append(record)
        ok = [r for r in records if r["score"] is not None]
        if not ok:
            reasons = "; ".join(f"{r['name']}: {r['error']}" for r in records)
            raise FitError(f"no candidate density could be fitted ({reasons})")
        if criterion == "heldout":
            best = max(ok, key=lambda r: r["score"])
        else:
            best = min(ok, key=lambda r: r["score"])
        best["chosen"] = True
        if best["name"] in fitted:
            self.best_ = fitted[best["name"]]
        else:
            self.best_ = self._make(best["name"], seed).fit(X)
        self.chosen_ = best["name"]
        self.selection_ = records
        self.n_features_in_ = X.shape[1]

    # delegation ------------------------------------------------------------------------
    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return self.best_._score_samples(X)

    def _sample(self, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        return self.best_._sample(n, rng, dtype)

    def latent_gaussian(self):
        """The chosen family's latent form (see :meth:`Density.latent_gaussian`)."""
        return self.best_.latent_gaussian()

    def condition(self, x, observed):
        """The chosen family's conditional (see :meth:`Density.condition`)."""
        return self.best_.condition(x, observed)

    def mean(self) -> np.ndarray:
        """E[x] under the chosen family."""
        self._check_fitted()
        return self.best_.mean()

    def n_parameters(self) -> int:
        """Parameters of the chosen family."""
        self._check_fitted()
        return self.best_.n_parameters()

    def selection_table(self) -> str:
        """The selection records as a small text table (best first)."""
        self._check_fitted()
        crit = self.selection_[0]["criterion"]
        better_high = crit == "heldout"
        label = "held-out log-lik/row" if better_high else "BIC"
        rows = sorted(
            self.selection_,
            key=lambda r: (
                r["score"] is None,
                -(r["score"] or 0) if better_high else (r["score"] or 0),
            ),
        )
        lines = [f"{'':2}{'candidate':<20} {label:>22}"]
        for r in rows:
            mark = "* " if r["chosen"] else "  "
            value = f"{r['score']:22.4f}" if r["score"] is not None else f"{'failed':>22}"
            extra = f"  {r['error']}" if r["error"] else ""
            lines.append(f"{mark}{r['name']:<20} {value}{extra}")
        return "\n".join(lines)

    def _after_load(self) -> None:
        check_fitted_density(self.best_, "AutoDensity best_", self.n_features_in_)
        records = self.selection_
        if not isinstance(records, list) or not records:
            raise state_error("AutoDensity selection_", "a non-empty list of records", records)
        for i, record in enumerate(records):
            _check_record(record, f"AutoDensity selection_[{i}]")
        if len({r["criterion"] for r in records}) != 1:
            raise ValueError("AutoDensity selection_ records must share one criterion")
        check_instance(self.chosen_, "AutoDensity chosen_", str, "a candidate's name")
        chosen = [r["name"] for r in records if r["chosen"]]
        if chosen != [self.chosen_]:
            raise ValueError(
                f"AutoDensity selection_ must mark exactly the chosen_ candidate "
                f"{describe(self.chosen_)}; found {len(chosen)} marked"
            )

    def __getattr__(self, name):
        # expose covariance_ etc. of the chosen family (e.g. for conditional sampling)
        if name.endswith("_") and not name.startswith("_") and "best_" in self.__dict__:
            return getattr(self.__dict__["best_"], name)
        raise AttributeError(name)


def _auto(*, reg_covar, shrinkage, random_state, size=None):
    """family chosen per class on held-out log-likelihood"""
    return AutoDensity(reg_covar=reg_covar, random_state=random_state)


register_shortcut("auto", _auto)
