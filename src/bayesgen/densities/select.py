"""``density="auto"``: choose the family per class on evidence, and record why.

For each class (each call to :meth:`AutoDensity.fit`) every candidate shortcut (see
:mod:`bayesgen.densities`, e.g. ``"lowrank:20"`` or ``"mfa:3x5"``) is scored by

* ``criterion="heldout"`` (default): the rows are split once, with a seeded permutation, into
  a fitting part and a validation part (``validation_fraction``); each candidate is fitted on
  the first and scored by its mean log-likelihood per row on the second (higher is better);
* ``criterion="bic"``: each candidate is fitted on all rows and scored by
  ``BIC = -2 log L + p log n`` (lower is better).

The scale of the comparison
---------------------------
Every candidate is scored as a density of the same variable.  Features on a lattice (every
value an integer, such as pixels 0..255 or counts, or a lattice detected from the data,
such as ``pixel / 255``; the rule is in :mod:`bayesgen.densities.lattice`) are compared on
the dequantised scale: seeded uniform noise ``h (u - 1/2)``, ``u ~ U(0, 1)``, is added to
them (``h`` the lattice step), in the fitting rows and in the scored rows alike, so that a
continuous density cannot win by putting spikes on the lattice points.  Families that
dequantise for themselves (``+logit``, ``+glogit``, ``+deq``) are fitted on the rows as
given and scored by the probability they give each lattice cell, spread over the cell:
the log-density of the same dequantised variable, Jacobian included.  The Gaussian copula
with empirical marginals is fitted on the rows as given too (its marginals already spread
each lattice value over its cell, :func:`~bayesgen.densities.lattice.fitted_as_given`) and
scored at the dequantised rows like the others.  Continuous features are used as they are.
The winner is refitted on all the rows of the class on the same
scale (the same noise), a mixture as the average of ``average_runs`` EM runs from different
starts (one run each while candidates are compared; the average's log-likelihood is at
least the runs' mean at every point, so the comparison does not flatter it), so the model
delivered is the one that was measured: a density of
the dequantised variable, which at a lattice point is evaluated at the centre of the
point's cell, as the self-dequantising families evaluate theirs, so class densities of
different families stay comparable.

One family for all classes
--------------------------
In a :class:`~bayesgen.BayesClassifier` every class is a separate
:meth:`AutoDensity.fit`, and by default (``per_class=False``) the classifier then gives
every class the same family (:func:`choose_for_all_classes`): the candidate with the
highest estimated out-of-sample log-likelihood summed over the classes (per class, the
mean held-out log-likelihood per row times the class's rows, or ``-BIC / 2``) among the
candidates that *classify* the held-out rows about as well as the best one. The
classifier built from a candidate (its class densities fitted on the fitting rows, the
classifier's prior ``pi``: the class shares, or its ``priors``) predicts the held-out rows
of every class; its error rate is the risk under that prior, ``e = sum_k pi_k e_k``
(``e_k`` the error on class ``k``'s held-out rows; with the class shares, the plain error
rate). A candidate is eligible when ``e`` is at most ``e_min + 2 se``, ``e_min`` the best
candidate's, ``se = sqrt(p (1 - p) / m)`` with ``p = (m e_min + 1) / (m + 2)`` and ``m``
the effective number of held-out rows, ``1 / sum_k (pi_k^2 / m_k)`` (the number of rows
with the class shares). Why: p(x, y) = p(x) p(y | x), and the held-out log-likelihood of
``x`` is dominated by how well each pixel's or column's own distribution is matched,
while ``p(y | x)``, which both prediction and the labels of generated rows depend on, is
a small term in it. On 8,000 MNIST digits the Gaussian copula has the best held-out
likelihood of the default grid and classifies 18 % of held-out digits wrongly, against
3 % for a mixture of PPCA on the logit scale; with small validation sets the margin
``2 se`` is wide and the likelihood decides (benchmarks/README.md, "Automatic choice").
Choosing per class maximises each class's likelihood, but mixes families whose densities
are not comparable away from their own class's data, and the classifier compares exactly
those: on 4,000 MNIST digits some classes chose a diagonal Gaussian, whose density of
near-blank pixels then outbid the other classes, and accuracy on 1,000 test digits was
0.362 against 0.935 with one family (benchmarks/README.md).
``per_class=True`` keeps each class's own choice.

Tables
------
A :class:`~bayesgen.BayesClassifier` fitted on a table (categories, dates, missing cells)
compares :data:`TABLE_CANDIDATES`: copulas with the same marginals and Gaussian or mixture
dependence, with ``categories`` passed on, one EM run each (``TABLE_AVERAGE_RUNS``).  All
of them fit rows with missing cells (the mixtures by EM on the observed scores,
:mod:`bayesgen.densities.mixture`, "Missing cells"); one family is chosen for all classes
(``per_class=True``: each class its own); classes of fewer than 48 rows (under 10
held-out rows) are scored by BIC.  Candidates that take numbers only are skipped on a
table with categorical columns (reason ``"categorical columns"``).  When only one
candidate can take the rows (a list of one, or the others skipped) there is nothing to
compare: it is fitted once, on all rows (as the average of ``average_runs`` EM runs when
it has them), and scored by BIC.

Time budget and progress
------------------------
Candidates are tried in the order given (the default grid runs from cheap to expensive).
With ``budget`` (seconds), a candidate is started only while the time spent on this fit is
below the budget; the rest are recorded as skipped (reason ``"time budget"``) and never
chosen.  Pixel transforms (``+logit``, ``+glogit``, ``+deq``) are skipped on values
they do not take (:meth:`TransformedDensity.takes_values`: below 0 or above 255; reason
``"not pixel values"``).  Candidates are started regardless of the
budget until one has a score, so a fit
always has a winner; a candidate already running is not interrupted, and the refit of the
winner comes on top.
``progress`` reports each candidate as it finishes: ``True`` prints one line (name, score,
seconds) to stderr, a function is called with the candidate's record.

Records
-------
``selection_`` keeps one JSON-able record per candidate: ``{"name", "params", "criterion",
"score", "chosen", "error", "seconds", "skipped"}``, holding exactly one of a score, the
error of a failed fit, or the reason it was skipped; only a scored candidate is chosen.
``seconds`` is the time its fit and score took (None when skipped); ``rows`` the number of
rows of the fit (the score per row times ``rows`` estimates the out-of-sample
log-likelihood of them all).  ``bayesgen inspect``
prints them (:meth:`AutoDensity.selection_table`).  Files written before ``seconds`` and
``skipped`` existed have records without them.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from bayesgen.base.errors import FitError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import (
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_keys,
    check_real,
    describe,
    state_error,
)
from bayesgen.densities.base import Density, check_fitted_density
from bayesgen.densities.lattice import (
    dequantised,
    dequantises_itself,
    fitted_as_given,
    lattice_log_density,
    lattice_steps,
)
from bayesgen.densities.shortcuts import (
    fitted_by_em,
    make_density,
    parse_density_name,
    register_shortcut,
    with_runs,
)

__all__ = [
    "DEFAULT_CANDIDATES",
    "TABLE_AVERAGE_RUNS",
    "TABLE_CANDIDATES",
    "AutoDensity",
    "choose_for_all_classes",
    "describe_record",
    "use_table_grid",
]

#: Default grid, from cheap to expensive: fits on scikit-learn's digits in about ten
#: seconds and on the 60,000 MNIST digits in 7-8 minutes (2 cores).  On pixels the
#: copulas have the best held-out likelihood and the ``+glogit`` PPCA mixtures classify
#: best (benchmarks/README.md, "Automatic choice"); sizes from small to MNIST's.
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "diag",
    "gaussian",
    "lowrank:5",
    "lowrank:20",
    "mfa:3x5",
    "mppca:5x10+glogit",
    "copula",
    "mfacopula:3x10",
    "mppca:10x20+glogit",
    "mfacopula:10x30",
    "mppca:20x30+glogit",
)


#: Grid of ``auto`` on a table (a :class:`~bayesgen.BayesClassifier` fitted on a DataFrame
#: or a table file): the copula's marginals (categories, integers, dates, missing cells)
#: with Gaussian dependence, or with a mixture of factor analysers on the normal scores,
#: which takes dependence that differs between groups of rows (benchmarks/README.md,
#: "Tables"); all three fit rows with missing cells.
TABLE_CANDIDATES: tuple[str, ...] = ("copula", "mfacopula:2x2", "mfacopula:3x2")
#: ``average_runs`` of ``auto`` on a table: one run.  A table's dependence mixtures have
#: two or three components, and runs from different starts group the rows differently;
#: their average blurs the groups.  Measured on seattle-weather (10 splits, gradient
#: boosting TSTR/TRTR): ``mfacopula:2x2`` 0.980 with one run, 0.955 with three averaged;
#: ``auto`` 0.947 against 0.912 (benchmarks/README.md, "Tables").
TABLE_AVERAGE_RUNS = 1

#: the keys of a selection record (module docstring); files from before the time budget
#: lack the optional ones
_RECORD_KEYS = ("name", "params", "criterion", "score", "chosen", "error")
_RECORD_OPTIONAL = ("seconds", "skipped", "rows", "heldout_error")
#: why a candidate may be skipped
SKIP_BUDGET = "time budget"
SKIP_NOT_PIXELS = "not pixel values"
SKIP_MISSING = "missing cells"
SKIP_CATEGORIES = "categorical columns"
_PLAIN = (bool, int, float, str)


def _check_record(record, where: str) -> None:
    """One selection record of a model file: its keys and the type of each value; a
    record holds exactly one of a score, the error of its fit or the reason it was
    skipped, and only a scored one is chosen."""
    check_keys(record, where, _RECORD_KEYS, _RECORD_OPTIONAL)
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
    skipped = record.get("skipped")
    if skipped is not None:
        reasons = (SKIP_BUDGET, SKIP_NOT_PIXELS, SKIP_MISSING, SKIP_CATEGORIES)
        check_choice(skipped, f"{where} skipped", reasons)
    if record.get("seconds") is not None:
        check_real(record["seconds"], f"{where} seconds", low=0)
    if record.get("rows") is not None:
        check_int(record["rows"], f"{where} rows", low=1)
    if record.get("heldout_error") is not None:
        check_real(record["heldout_error"], f"{where} heldout_error", low=0, high=1)
    outcomes = [record["score"], record["error"], skipped]
    if sum(v is not None for v in outcomes) != 1:
        raise ValueError(
            f"{where} must hold either a score or an error, or the reason it was skipped"
        )
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


def _score_label(criterion: str) -> str:
    return "held-out log-lik/row" if criterion == "heldout" else "BIC"


def describe_record(record: dict) -> str:
    """One line for a candidate's record: name, score (or why it has none) and seconds.

    Examples
    --------
    >>> describe_record({"name": "diag", "criterion": "heldout", "score": -12.5,
    ...                  "error": None, "skipped": None, "seconds": 0.25})
    'diag: held-out log-lik/row -12.5000 (0.25 s)'
    """
    if record.get("skipped"):
        return f"{record['name']}: skipped ({record['skipped']})"
    seconds = record.get("seconds")
    took = "" if seconds is None else f" ({seconds:.2f} s)"
    if record["score"] is None:
        return f"{record['name']}: failed{took}: {record['error']}"
    return f"{record['name']}: {_score_label(record['criterion'])} {record['score']:.4f}{took}"


@dataclass
class _Comparison:
    """The rows every candidate is fitted on and scored on, on one scale (module docstring).

    ``X`` are the rows as given, ``noise`` their uniform noise, ``steps`` the lattice step
    of every feature (0: continuous); ``fit`` and ``score`` select the rows of each part.
    """

    criterion: str
    X: np.ndarray
    noise: np.ndarray
    steps: np.ndarray
    fit: np.ndarray | slice
    score: np.ndarray | slice

    def fit_on(self, density: Density, rows: np.ndarray | slice) -> Density:
        """Fit ``density`` to ``rows``, dequantised unless it is :func:`fitted_as_given`."""
        if fitted_as_given(density):
            return density.fit(self.X[rows])
        return density.fit(dequantised(self.X[rows], self.noise[rows], self.steps))

    def score_of(self, density: Density) -> float:
        rows = self.score
        log_p = lattice_log_density(density, self.X[rows], self.noise[rows], self.steps)
        if self.criterion == "heldout":
            return float(np.mean(log_p))
        n = log_p.shape[0]
        return float(-2.0 * np.sum(log_p) + density.n_parameters() * math.log(n))


@persistable("AutoDensity")
class AutoDensity(Density):
    """Pick the best density family for the data by held-out likelihood or BIC.

    Parameters
    ----------
    candidates : sequence of str, default=None
        Shortcut strings (``NAME[:SIZE][*RUNS][+TRANSFORM]``), tried in this order; None uses
        :data:`DEFAULT_CANDIDATES` (in a :class:`~bayesgen.BayesClassifier` fitted on a
        table, :data:`TABLE_CANDIDATES`).
    criterion : {"heldout", "bic"}, default="heldout"
    validation_fraction : float in (0, 1), default=0.2
        Share of rows held out (``criterion="heldout"``).  With fewer than 10 validation
        rows the choice falls back to BIC.
    reg_covar : float, default=1e-6
        Passed to every candidate.
    budget : float or None, default=None
        Seconds for trying candidates, per fit (per class in a classifier); the
        candidates not started in time are skipped (see the module docstring).  None: no
        limit.
    progress : bool or callable, default=None
        ``True`` prints a line per candidate to stderr (:func:`describe_record`); a
        function is called with each candidate's record as it finishes.  Not saved in
        model files (a loaded model has ``progress=None``).
    per_class : bool, default=False
        In a :class:`~bayesgen.BayesClassifier` (as its ``density``, not inside a
        transform such as ``"auto+logit"``, where each class keeps its own choice): False
        gives every class one family, chosen on held-out log-likelihood among those that
        classify the held-out rows about as well as the best, True lets each class keep
        its own best (see the module docstring).  Not used by a lone density.
    keep_candidates : bool, default=False
        Keep every scored candidate, fitted on the fitting rows, with the held-out rows
        (:meth:`heldout_candidates`) until :meth:`release_candidates`: what a classifier
        needs to compare the candidates' classifiers.  The caller then chooses again, so
        the refit on all rows waits for :meth:`refit_as` (:meth:`refit_pending`; until then
        ``best_`` is the winner fitted on the fitting rows).  Never saved in model files.
    categories : dict or None, default=None
        Passed to every candidate that takes it (the copulas): the categorical features
        and their levels, as :class:`~bayesgen.GaussianCopulaDensity` reads them.  A
        :class:`~bayesgen.BayesClassifier` sets it from a table's schema.
    average_runs : int, default=3
        The chosen family, when it is fitted by EM from a random start (the mixtures, alone,
        under a transform or as a copula's dependence), is refitted on all rows as the
        equal-weight average of this many runs (``NAME*RUNS``, see ``n_average`` of
        :class:`~bayesgen.GaussianMixtureDensity`); candidates are compared with one run
        each.  The average's log-likelihood is at least the runs' mean at every point, and
        on MNIST it classified better than one run (benchmarks/README.md, "Automatic
        choice").  1: one run.
    random_state : None, int or numpy.random.Generator
        Seeds the split, the dequantisation noise and the candidates' own randomness.

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
        budget=None,
        progress=None,
        per_class=False,
        keep_candidates=False,
        average_runs=3,
        categories=None,
        random_state=None,
    ):
        self.per_class = per_class
        self.average_runs = average_runs
        self.categories = categories
        self.keep_candidates = keep_candidates
        self.candidates = candidates
        self.criterion = criterion
        self.validation_fraction = validation_fraction
        self.reg_covar = reg_covar
        self.budget = budget
        self.progress = progress
        self.random_state = random_state

    def _check_params(self) -> list[str]:
        if self.criterion not in ("heldout", "bic"):
            raise ValueError(f"criterion must be 'heldout' or 'bic'; got {self.criterion!r}")
        v = self.validation_fraction
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 < v < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1); got {v!r}")
        check_real(self.reg_covar, "reg_covar", low=0)
        for flag in ("per_class", "keep_candidates"):
            value = getattr(self, flag)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False; got {value!r}")
        if self.budget is not None:
            check_real(self.budget, "budget", low=0)
        check_int(self.average_runs, "average_runs", low=1)
        if self.categories is not None and not isinstance(self.categories, dict):
            raise ValueError(
                f"categories must be None or a dict of feature -> levels; got {self.categories!r}"
            )
        if not (
            self.progress is None or isinstance(self.progress, bool) or callable(self.progress)
        ):
            raise ValueError(
                f"progress must be None, True, False or a function; got {self.progress!r}"
            )
        candidates = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        names = list(candidates) if isinstance(candidates, Iterable) else []
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError(
                "candidates must be a non-empty list of shortcut names such as "
                "['gaussian', 'lowrank:20']"
            )
        for name in names:
            family = parse_density_name(name).family
            if family == "auto":
                raise ValueError("'auto' cannot be one of its own candidates")
        return names

    def _make(self, name: str, seed: int) -> Density:
        density = make_density(name, reg_covar=self.reg_covar, random_state=seed)
        if self.categories is not None and "categories" in density.get_params(deep=False):
            density.set_params(categories=self.categories)
        return density

    def accepts_missing(self) -> bool:
        """Fitted: whether the chosen family takes rows with missing cells; before: whether
        some candidate family fits them (on rows with missing cells the others are skipped,
        reason ``"missing cells"``, so the chosen family takes them)."""
        if self._is_fitted():
            return self.best_.accepts_missing()
        names = self._check_params()
        return any(self._make(name, 0).fits_missing() for name in names)

    def _comparison(self, X: np.ndarray, rng: np.random.Generator, alone=False) -> _Comparison:
        """Split (held-out) and noise (dequantisation): the rows of every comparison.  A
        candidate ``alone`` (the others cannot take the rows) is fitted once, on all rows,
        and scored by BIC: there is nothing to compare."""
        n = X.shape[0]
        n_val = int(round(self.validation_fraction * n))
        heldout = self.criterion == "heldout" and n_val >= 10 and n - n_val >= 2 and not alone
        order = rng.permutation(n) if heldout else None
        noise = rng.random(X.shape)
        steps = lattice_steps(X)
        if not heldout:
            return _Comparison("bic", X, noise, steps, slice(None), slice(None))
        return _Comparison("heldout", X, noise, steps, order[n_val:], order[:n_val])

    def _fit(self, X: np.ndarray) -> None:
        names = self._check_params()
        started = time.perf_counter()
        seed = int(check_random_state(self.random_state).integers(0, 2**31 - 1))
        self._seed = seed  # for refit_as: the same split and noise again
        built = {name: self._make(name, seed) for name in names}
        unfit = {name: self._cannot_take(density, X) for name, density in built.items()}
        self._alone = sum(reason is None for reason in unfit.values()) == 1
        comparison = self._comparison(X, np.random.default_rng(seed), self._alone)
        records = []
        kept = {}
        for name in names:
            density = built[name]
            if self._alone:  # its one fit is the delivered model (runs averaged if it has them)
                density = self._make(with_runs(name, self.average_runs), seed)
            record = {
                "name": name,
                "params": _plain_params(density),
                "criterion": comparison.criterion,
                "score": None,
                "chosen": False,
                "error": None,
                "seconds": None,
                "skipped": None,
                "rows": None,
            }
            scored = any(r["score"] is not None for r in records)
            if scored and self.budget is not None and time.perf_counter() - started >= self.budget:
                record["skipped"] = SKIP_BUDGET
            elif unfit[name] is not None:
                record["skipped"] = unfit[name]
            else:
                self._try(density, record, comparison)
                if record["score"] is not None:
                    kept[name] = density
            records.append(record)
            self._report(record)
        self._choose(records, kept, comparison, seed)
        self.release_candidates()
        if self.keep_candidates:  # BIC: fitted on all rows, none held out
            held = comparison.score if comparison.criterion == "heldout" else slice(0)
            self._kept = (comparison.X[held], kept)

    def _cannot_take(self, density: Density, X: np.ndarray) -> str | None:
        """Why ``density`` is skipped on these rows before any fit, or None."""
        if self.categories and "categories" not in density.get_params(deep=False):
            return SKIP_CATEGORIES
        if dequantises_itself(density) and not density.takes_values(X):
            return SKIP_NOT_PIXELS
        if not density.fits_missing() and np.isnan(X).any():
            return SKIP_MISSING
        return None

    def heldout_candidates(self):
        """The held-out rows (as given) and every scored candidate fitted on the other
        rows, by name; None unless fitted with ``keep_candidates=True`` (and not released
        since).  Scored by BIC, no row is held out: the candidates are fitted on all rows
        and the rows are an empty array (a small class then still competes in the
        classifier's held-out error of :func:`choose_for_all_classes`).

        Returns
        -------
        (ndarray of shape (n_heldout, n_features), dict of {str: Density}) or None
        """
        return getattr(self, "_kept", None)

    def release_candidates(self) -> None:
        """Drop what :meth:`heldout_candidates` returns (it can be large)."""
        self.__dict__.pop("_kept", None)

    @staticmethod
    def _try(density: Density, record: dict, comparison: _Comparison) -> None:
        """Fit and score one candidate into its record (its score, or its error)."""
        began = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # a candidate is judged by its score; only the delivered fit warns
                warnings.simplefilter("ignore", ConvergenceWarning)
                comparison.fit_on(density, comparison.fit)
            score = comparison.score_of(density)
            if not math.isfinite(score):
                raise FitError(f"non-finite score {score}")
            record["score"] = score
            record["rows"] = comparison.X.shape[0]
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        record["seconds"] = time.perf_counter() - began

    def _choose(self, records: list, kept: dict, comparison: _Comparison, seed: int) -> None:
        """Mark the best scored record and refit its family on all rows, on the scale of
        the comparison."""
        ok = [r for r in records if r["score"] is not None]
        if not ok:
            by_reason: dict[str, list[str]] = {}  # one line per reason, not per candidate
            for r in records:
                reason = r["error"] or "skipped, " + str(r["skipped"])
                by_reason.setdefault(reason, []).append(r["name"])
            reasons = "; ".join(f"{', '.join(names)}: {why}" for why, names in by_reason.items())
            raise FitError(f"no candidate density could be fitted ({reasons})")
        if records[0]["criterion"] == "heldout":
            best = max(ok, key=lambda r: r["score"])
        else:
            best = min(ok, key=lambda r: r["score"])
        best["chosen"] = True
        name = best["name"]
        if comparison.criterion == "bic" and (
            self._alone or with_runs(name, self.average_runs) == name
        ):
            # fitted on all rows already, as the refit would be
            self.best_, self._refit_pending = kept[name], False
        elif self.keep_candidates and name in kept:
            # the caller chooses again (refit_as): the refit on all rows waits for that
            self.best_, self._refit_pending = kept[name], True
        else:
            self._refit(name, comparison, seed)
        self.chosen_ = name
        self.selection_ = records
        self.n_features_in_ = comparison.X.shape[1]

    def _refit(self, name: str, comparison: _Comparison, seed: int) -> None:
        """The delivered density: candidate ``name`` fitted on all rows of the comparison,
        as the average of ``average_runs`` EM runs when its family has them."""
        final = self._make(with_runs(name, self.average_runs), seed)
        self.best_ = comparison.fit_on(final, slice(None))
        self._refit_pending = False

    def delivered_name(self) -> str:
        """The shortcut of what :attr:`best_` is: :attr:`chosen_`, with ``*RUNS`` when the
        winner was refitted as an average of EM runs (``average_runs``)."""
        self._check_fitted()
        runs = getattr(fitted_by_em(self.best_), "n_average", 1)
        return with_runs(self.chosen_, runs) if isinstance(runs, int) and runs > 1 else self.chosen_

    def refit_pending(self) -> bool:
        """True while :attr:`best_` is the winner fitted on the fitting rows only: after a
        fit with ``keep_candidates=True``, until :meth:`refit_as`."""
        return bool(getattr(self, "_refit_pending", False))

    def total_log_likelihood(self, name: str) -> float | None:
        """The candidate's estimated out-of-sample log-likelihood of all the class's rows,
        in nats: mean held-out log-likelihood per row times the rows, or ``-BIC / 2``
        (also over all rows); None when it has no score."""
        self._check_fitted()
        record = next((r for r in self.selection_ if r["name"] == name), None)
        if record is None or record["score"] is None:
            return None
        if record["criterion"] == "bic":
            return -0.5 * record["score"]
        return record["score"] * (record.get("rows") or 1)

    def refit_as(self, name: str, X) -> AutoDensity:
        """Make the scored candidate ``name`` the choice: refitted on all of ``X`` (the
        rows :meth:`fit` saw) on the scale of the comparison; returns self."""
        self._check_fitted()
        if self.total_log_likelihood(name) is None:
            raise ValueError(f"{name!r} is not a scored candidate of this fit")
        X = self._validate_input(X, reset=False)
        seed = getattr(self, "_seed", None)
        if seed is None:  # not saved in model files: the comparison cannot be rebuilt
            raise ValueError(
                "refit_as needs the fit of this session (its split and noise); a density "
                "loaded from a file cannot be refitted this way: fit it again"
            )
        alone = getattr(self, "_alone", False)
        comparison = self._comparison(X, np.random.default_rng(seed), alone)
        self._refit(name, comparison, seed)
        self.chosen_ = name
        for record in self.selection_:
            record["chosen"] = record["name"] == name
        return self

    def _report(self, record: dict) -> None:
        if self.progress is True:
            print(describe_record(record), file=sys.stderr, flush=True)
        elif callable(self.progress):
            self.progress(record)

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
        """The selection records as a small text table: scored candidates best first, then
        failed ones, then skipped ones, each with the seconds its fit and score took."""
        self._check_fitted()
        crit = self.selection_[0]["criterion"]
        sign = -1.0 if crit == "heldout" else 1.0

        def order(r):
            status = 0 if r["score"] is not None else 1 if r["error"] is not None else 2
            return status, sign * (r["score"] or 0.0)

        with_errors = any(r.get("heldout_error") is not None for r in self.selection_)
        head = f"{'':2}{'candidate':<20} {_score_label(crit):>22} {'seconds':>8}"
        # the error is the classifier's on held-out rows of every class: one per candidate
        lines = [head + ("  held-out error, all classes" if with_errors else "")]
        for r in sorted(self.selection_, key=order):
            mark = "* " if r["chosen"] else "  "
            if r["score"] is not None:
                value, extra = f"{r['score']:22.4f}", ""
                if r.get("heldout_error") is not None:
                    extra = f"  {r['heldout_error']:14.2%}"
            elif r["error"] is not None:
                value, extra = f"{'failed':>22}", f"  {r['error']}"
            else:
                value, extra = f"{'skipped':>22}", f"  ({r['skipped']})"
            seconds = r.get("seconds")
            took = f"{seconds:8.2f}" if seconds is not None else f"{'':8}"
            lines.append(f"{mark}{r['name']:<20} {value} {took}{extra}")
        return "\n".join(lines)

    def _get_state(self) -> dict:
        if self.refit_pending():
            raise ValueError(
                "this AutoDensity's choice is fitted on its fitting rows only (keep_candidates"
                "=True): call refit_as(name, X) before saving it"
            )
        # a progress function is a hook of this session, not part of the model
        state = super()._get_state()
        if not isinstance(self.progress, (bool, type(None))):
            state["params"]["progress"] = None
        return state

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


def use_table_grid(auto: AutoDensity, *, one_run: bool = True) -> AutoDensity:
    """Give ``auto`` the grid of a table, :data:`TABLE_CANDIDATES`, unless its candidates
    were chosen, and with ``one_run`` :data:`TABLE_AVERAGE_RUNS` (for an ``auto`` built
    from the shortcut; an object given by the user keeps its ``average_runs``)."""
    if auto.candidates is None:
        auto.set_params(candidates=list(TABLE_CANDIDATES))
        if one_run:
            auto.set_params(average_runs=TABLE_AVERAGE_RUNS)
    return auto


def choose_for_all_classes(densities, class_rows, class_prior=None) -> str:
    """Give every class one family: the highest log-likelihood summed over the classes
    (:meth:`AutoDensity.total_log_likelihood`; only candidates scored in every class
    count) among those whose classifier errs on the held-out rows at most ``2 se`` more
    often than the best one (module docstring); refit the classes that chose another (and
    those whose refit waits, :meth:`AutoDensity.refit_pending`) and return its name.

    The error rates need the classes fitted with ``keep_candidates=True`` on the held-out
    criterion; they are written into every class's records (``heldout_error``) and the
    kept candidates are released.  Without them the likelihood alone decides.

    Parameters
    ----------
    densities : list of fitted AutoDensity
        One per class, fitted with the same candidates.
    class_rows : list of ndarray
        The rows each was fitted on.
    class_prior : array-like of shape (n_classes,), default=None
        The classifier's prior ``pi``: its candidates predict with it, and the error rate
        is the risk under it, ``sum_k pi_k e_k`` (``e_k`` the error on class ``k``'s
        held-out rows).  None: the classes' shares of the rows, where that risk is the
        plain error rate.
    """
    names = [r["name"] for r in densities[0].selection_]
    totals = {}
    for name in names:
        parts = [d.total_log_likelihood(name) for d in densities]
        if all(p is not None for p in parts):
            totals[name] = float(sum(parts))
    counts = np.array([len(r) for r in class_rows], dtype=float)
    prior = counts / counts.sum() if class_prior is None else np.asarray(class_prior, float)
    errors, n_heldout = _heldout_errors(densities, list(totals), prior)
    for density in densities:
        density.release_candidates()
        for record in density.selection_:
            record["heldout_error"] = errors.get(record["name"])
    if not totals:  # no family scored in every class: each keeps its own
        for density, rows in zip(densities, class_rows, strict=True):
            if density.refit_pending():
                density.refit_as(density.chosen_, rows)
        return densities[0].chosen_
    best = max(_classifies_about_as_well(errors, n_heldout) or totals, key=totals.get)
    for density, rows in zip(densities, class_rows, strict=True):
        if density.chosen_ != best or density.refit_pending():
            density.refit_as(best, rows)
    return best


def _heldout_errors(densities, names, prior) -> tuple[dict, float]:
    """Each candidate's classifier risk on the held-out rows, ``sum_k pi_k e_k``, and the
    effective number of rows behind it, ``1 / sum_k (pi_k^2 / m_k)`` (Kish; the number of
    rows when ``pi`` is the classes' shares); ({}, 0) unless every class kept its
    candidates.

    The classifier of candidate ``c`` predicts ``argmax_k log p_c(x | k) + log pi_k``,
    ``p_c(. | k)`` the candidate fitted on class ``k``'s fitting rows (as the final model
    scores: rows as given).
    """
    kept = [d.heldout_candidates() for d in densities]
    if not names or any(k is None for k in kept) or not any(len(k[0]) for k in kept):
        return {}, 0
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior)
    truth = np.concatenate([np.full(rows.shape[0], j) for j, (rows, _) in enumerate(kept)])
    rows = np.concatenate([rows for rows, _ in kept])
    m = np.bincount(truth, minlength=len(kept)).astype(float)
    seen = m > 0  # a class with no held-out rows adds nothing to the risk estimate
    weight = np.where(seen, prior / np.maximum(m, 1.0), 0.0)
    weight = weight / weight[truth].sum()
    n_effective = float(1.0 / np.sum(weight[truth] ** 2))
    errors = {}
    for name in names:
        if not all(name in fitted for _, fitted in kept):
            continue
        scores = [_scores_or_minus_inf(fitted[name], rows) for _, fitted in kept]
        joint = np.column_stack(scores) + log_prior
        joint = np.where(np.isnan(joint), -np.inf, joint)
        predicted = np.argmax(joint, axis=1)
        wrong = (predicted != truth) | ~np.isfinite(joint.max(axis=1))
        errors[name] = float(np.sum(weight[truth] * wrong))
    return errors, n_effective


def _scores_or_minus_inf(density: Density, rows: np.ndarray) -> np.ndarray:
    """``log p`` of other classes' rows under one class's candidate; -inf where it cannot
    score them at all (e.g. a pixel transform fitted on a class whose values all lie in
    [0, 1] meets values above 1): a classifier of that family would fail on those rows,
    so they count as errors."""
    try:
        return density.score_samples(rows)
    except (FitError, ValueError, np.linalg.LinAlgError):  # DataError is a ValueError
        return np.full(rows.shape[0], -np.inf)


def _classifies_about_as_well(errors: dict, n_heldout: float) -> list[str]:
    """The candidates whose held-out error rate is within ``2 se`` of the best one's
    (module docstring); all of them when there are no error rates."""
    if not errors or n_heldout == 0:
        return list(errors)
    best = min(errors.values())
    p = (best * n_heldout + 1.0) / (n_heldout + 2.0)
    margin = 2.0 * math.sqrt(p * (1.0 - p) / n_heldout)
    return [name for name, e in errors.items() if e <= best + margin + 1e-12]


def _auto(*, reg_covar, shrinkage, random_state, size=None):
    """family chosen on held-out log-likelihood (one for all classes)"""
    return AutoDensity(reg_covar=reg_covar, random_state=random_state)


register_shortcut("auto", _auto)
