"""The over-sampler: new rows for rare classes drawn from a fitted p(x | y).

``fit_resample(X, y)`` fits a :class:`~bayesgen.BayesClassifier` (one density per class),
asks the ``sampling_strategy`` how many rows each class should gain, and draws exactly
that many rows of each class from its density in one call of
:meth:`BayesClassifier.sample`.  The result is imbalanced-learn's contract: the original
rows first and unchanged, then the synthetic ones; :attr:`synthetic_mask_` says which are
which.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin
from sklearn.utils import InputTags, Tags

from bayesgen.base.errors import DataError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import format_label
from bayesgen.classifier import BayesClassifier
from bayesgen.densities.base import Density
from bayesgen.oversampling.data import prepare_features, prepare_targets
from bayesgen.oversampling.strategy import resolve_sampling_strategy

__all__ = ["DEFAULT_DENSITY", "BayesOverSampler"]

#: the class density ``density=None`` means (see the Notes of BayesOverSampler)
DEFAULT_DENSITY = "copula"


# imbalanced-learn reads two tags that scikit-learn's do not have: input_tags.dataframe
# and sampler_tags.sample_indices.  These subclasses add them with imbalanced-learn's
# meaning, so its estimator checks run without bayesgen importing imbalanced-learn.
@dataclass(slots=True)
class _InputTags(InputTags):
    dataframe: bool = False


@dataclass(slots=True)
class _SamplerTags:
    sample_indices: bool = False


@dataclass(slots=True)
class _Tags(Tags):
    sampler_tags: _SamplerTags | None = field(default_factory=_SamplerTags)


class BayesOverSampler(OneToOneFeatureMixin, BaseEstimator):
    """Over-sample rare classes with rows drawn from each class's fitted density p(x | y).

    A drop-in imbalanced-learn over-sampler (``fit_resample``, ``sampling_strategy``,
    usable in :class:`imblearn.pipeline.Pipeline`, where it resamples during ``fit``
    only), built on :class:`~bayesgen.BayesClassifier`.  imbalanced-learn itself is not
    needed.  Unlike interpolation between neighbours (SMOTE), each synthetic row is a draw
    from a model of its class: categories stay categories, integers stay integers, dates
    stay dates, missing cells are modelled rather than refused.

    Parameters
    ----------
    density : None, str or Density, default=None
        The per-class density, as for :class:`~bayesgen.BayesClassifier` (a shortcut name
        such as "gaussian" or "copula", or a density object).  None means "copula", for
        tables and numeric rows alike; see Notes for why.
    sampling_strategy : str, float, dict or callable, default="auto"
        How many rows each class should have after resampling, as imbalanced-learn reads
        it: "auto" (= "not majority"), "minority", "not minority", "not majority", "all"
        (each chosen class grows to the majority's size); a float in (0, 1] for binary
        y (minority / majority after resampling); ``{class: target rows}``; a callable
        ``y -> dict``.  See :func:`bayesgen.oversampling.resolve_sampling_strategy`.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds the fit (ties in the copula) and the draw.  The same int gives the same
        rows; a Generator is advanced.
    missing : {"none", "keep"}, default="none"
        "none": synthetic rows are complete (what most classifiers need); "keep": their
        cells are left empty at each class's per-column rate in the data.  Original rows
        are never changed.
    reg_covar : float, default=1e-6
        Ridge added to covariance (or copula correlation) diagonals.  A class with fewer
        rows than features has a singular covariance; the ridge keeps it a density, and
        its draws then lie close to the span of the class's rows.
    shrinkage : None, "auto" or float, default=None
        Shrinkage of the covariance (Gaussian families; "auto" is Ledoit-Wolf) or of the
        copula's correlation towards the identity; None: none.
    column_types : dict of {str: str}, default=None
        For a table: override detected column kinds (see :class:`~bayesgen.BayesClassifier`).
    orders : {"keep", "ignore"}, default="keep"
        Orders between columns that every row keeps (``low <= high``) hold in the
        synthetic rows too, as in SMOTE's interpolations (see
        :class:`~bayesgen.BayesClassifier`); "ignore" draws the class densities as they are.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        ``{class: rows added}`` for the classes the strategy chose, in sorted order
        (imbalanced-learn's attribute of the same name).
    n_synthetic_ : dict
        ``{class: rows added}`` for every class (0 for classes not grown).
    synthetic_mask_ : ndarray of bool of shape (n_resampled,)
        True for the synthetic rows of the last ``fit_resample`` (they are the last
        ``synthetic_mask_.sum()`` rows).
    model_ : BayesClassifier
        The fitted class densities; ``model_.sample`` draws more rows.  Classes of one row
        are left out of it when at least two other classes remain (they are never grown);
        for numeric arrays only the classes that grow are fitted, since the others are never
        sampled (when a single class grows, a few rows of the smallest other class keep it
        company: a classifier needs two classes; do not use ``model_`` to classify).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only for a DataFrame with text column names.

    Notes
    -----
    **Default density: the Gaussian copula**, chosen by the mean balanced accuracy of
    ``benchmarks/oversampling.py`` (6 data sets x 2 classifiers, minority classes of 4 to
    a few dozen rows, see benchmarks/README.md), not by any one data set.  On tables the
    copula is the only family that models categories and missing cells, so the choice is
    between it and BayesClassifier's numeric default, the full Gaussian, on the four
    numeric data sets.  Over 20 seeds there the copula scored 0.847 against 0.842 (mean
    over the 8 data set x classifier cells; ahead in 5): it keeps what a Gaussian
    smears, the exact zeros of seattle-weather's precipitation (+0.024 with logistic
    regression, +0.013 with gradient boosting) and the 0..16 lattice of digits' pixels
    (+0.007, +0.009); the Gaussian was ahead on breast-cancer (0.005, 0.004) and on wine
    with logistic regression (0.009).  With 10 seeds on all 12 cells the copula and
    the Gaussian (the copula on the tables) scored 0.822 and 0.821, SMOTE 0.810.  The
    copula costs more than the Gaussian on large numeric data (its marginals are drawn
    through a table per column); ``density="gaussian"`` is the fast choice there.  Timings
    against SMOTE are in ``benchmarks/README.md``.

    Synthetic values stay within each column's range in the input (numbers too are
    modelled as a table of declared numbers): a drawn cell outside it is drawn again
    given the rest of its row.  The copula's tails otherwise reach beyond the observed
    range of a small class (with 4 rows about 30 % of the drawn values fall outside the
    class's own range, inside the data's).

    **A class of one row** cannot be grown: no density is learned from one row (a
    Gaussian's covariance would be the ``reg_covar`` ridge alone, i.e. copies of the row
    plus noise of that variance; the copula needs two rows per marginal).  Such a class
    is refused with a :class:`~bayesgen.DataError` naming it; leave it out of
    ``sampling_strategy`` or duplicate it with a random over-sampler.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen import BayesOverSampler
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (90, 2)), rng.normal(3, 1, (10, 2))])
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> sampler = BayesOverSampler(random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> np.bincount(y_res), sampler.n_synthetic_
    (array([90, 90]), {0: 0, 1: 80})
    >>> bool((X_res[:100] == X).all()), int(sampler.synthetic_mask_.sum())
    (True, 80)
    """

    _sampling_type = "over-sampling"
    _estimator_type = "sampler"

    def __init__(
        self,
        density=None,
        sampling_strategy="auto",
        random_state=None,
        *,
        missing="none",
        reg_covar=1e-6,
        shrinkage=None,
        column_types=None,
        orders="keep",
    ):
        self.density = density
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.missing = missing
        self.reg_covar = reg_covar
        self.shrinkage = shrinkage
        self.column_types = column_types
        self.orders = orders

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        values = {f.name: getattr(tags, f.name) for f in fields(tags)}
        inputs = {f.name: getattr(tags.input_tags, f.name) for f in fields(tags.input_tags)}
        tables = self._takes_tables()
        inputs.update(allow_nan=tables, string=tables, categorical=tables, sparse=False)
        values.update(estimator_type="sampler", input_tags=_InputTags(**inputs, dataframe=True))
        values["target_tags"].required = True
        return _Tags(**values, sampler_tags=_SamplerTags(sample_indices=False))

    def _takes_tables(self) -> bool:
        """Whether the density models categories and missing cells (the copula does)."""
        try:
            density = BayesClassifier(self._density()).make_class_density()
        except (TypeError, ValueError):  # a bad density: fit will say so
            return False
        return (
            isinstance(density, Density)
            and density.accepts_missing()
            and "categories" in density.get_params(deep=False)
        )

    def _density(self):
        return DEFAULT_DENSITY if self.density is None else self.density

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y):
        """Fit the class densities and resolve ``sampling_strategy``; draw nothing.

        Use :meth:`fit_resample` to get the resampled data.

        Returns
        -------
        self
        """
        self._fit(X, y)
        return self

    def fit_resample(self, X, y):
        """Fit the class densities and return the data with the synthetic rows appended.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features) or list of rows
            A table (text, category, boolean, date columns; missing cells) or numbers.
        y : array-like of shape (n_samples,), Series, one-column DataFrame or one-hot
            matrix
            Class labels.

        Returns
        -------
        X_resampled : same type as X, n_samples + sum(n_synthetic_) rows
            The original rows first (unchanged; a DataFrame's index reset), then the
            synthetic rows, class by class in sorted order; same columns and dtypes.
        y_resampled : same type as y
            Their labels.

        Raises
        ------
        DataError
            Bad labels (one class, continuous, multilabel), a strategy asking a class for
            fewer rows than it has, naming a class not in ``y``, a float strategy on
            multi-class data, a class of one row asked to grow; see
            :func:`~bayesgen.oversampling.resolve_sampling_strategy`.
        FitError
            A class density cannot be fitted (the message names the class and the knob).
        """
        features, targets, rng = self._fit(X, y)
        counts = np.fromiter(self.n_synthetic_.values(), dtype=np.int64)
        labels = np.repeat(self.classes_, counts)  # class by class, in sorted order
        if labels.shape[0]:
            position = {label: k for k, label in enumerate(self.model_.classes_.tolist())}
            grown = counts > 0
            where = [position[label] for label in self.classes_[grown].tolist()]
            index = np.repeat(np.asarray(where, dtype=np.intp), counts[grown])
            synthetic, _ = self.model_.sample(
                y=self.model_.classes_[index], random_state=rng, missing=self.missing
            )
        else:
            synthetic = np.empty((0, features.n_features))
        X_res = features.combine(synthetic)
        y_res = np.concatenate([targets.y, labels])
        n, n_new = targets.y.shape[0], labels.shape[0]
        self.synthetic_mask_ = np.r_[np.zeros(n, dtype=bool), np.ones(n_new, dtype=bool)]
        return X_res, targets.restore(y_res)

    def _fit(self, X, y):
        """Validate, resolve the strategy, fit ``model_``; returns what sampling needs.

        For numeric arrays ``model_`` holds the classes that grow (and one more when only
        one grows); for tables it holds every class of two rows or more."""
        if self.missing not in ("none", "keep"):
            raise DataError(f"missing must be 'none' or 'keep'; got {self.missing!r}.")
        targets = prepare_targets(y)
        features = prepare_features(X, targets.y.shape[0])
        self.sampling_strategy_ = resolve_sampling_strategy(self.sampling_strategy, targets.y)
        self.classes_, counts = np.unique(targets.y, return_counts=True)
        position = {label: k for k, label in enumerate(self.classes_.tolist())}
        n_new = np.zeros(self.classes_.shape[0], dtype=np.int64)
        for label, n in self.sampling_strategy_.items():
            n_new[position[label]] = n
        self._check_growable(counts, n_new)
        self.n_synthetic_ = {
            label: int(n) for label, n in zip(self.classes_.tolist(), n_new, strict=True)
        }
        rng = check_random_state(self.random_state)
        self.model_ = BayesClassifier(
            self._density(),
            reg_covar=self.reg_covar,
            shrinkage=self.shrinkage,
            random_state=int(rng.integers(2**31 - 1)),
            column_types=_declared_kinds(features.column_types, self.column_types),
            orders=self.orders,
        )
        rows = _rows_to_model(targets.y, self.classes_, counts)
        numbers = features.column_types is not None
        if numbers:
            rows = _rows_to_grow(targets.y, self.classes_, counts, n_new, rows)
        if rows is None:
            self.model_.fit(features.model_input, targets.y)
        else:
            self.model_.fit(_take(features.model_input, rows), targets.y[rows])
            if numbers:  # the range of every row, not of the rows modelled
                _widen_to_all_rows(self.model_.schema_, features.model_input)
        self.n_features_in_ = features.n_features
        if features.feature_names is not None:
            self.feature_names_in_ = features.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return features, targets, rng

    def _check_growable(self, counts: np.ndarray, n_new: np.ndarray) -> None:
        """A class asked to grow needs at least two rows to learn its density from."""
        lonely = np.flatnonzero((counts < 2) & (n_new > 0))
        if lonely.shape[0]:
            label = format_label(self.classes_[lonely[0]])
            raise DataError(
                f"class {label} has 1 row and sampling_strategy asks for "
                f"{int(n_new[lonely[0]])} more; no density can be learned from one row (a "
                "Gaussian's covariance would be its reg_covar ridge alone, giving copies of "
                "the row plus N(0, reg_covar) noise; the copula needs 2 rows). Leave class "
                f"{label} out with a dict sampling_strategy, or duplicate its row with "
                "imblearn's RandomOverSampler."
            )


def _declared_kinds(numbers, given):
    """The model's ``column_types``: the numeric kinds declared for numbers-only rows
    (``numbers``, None for other tables) under the user's own (``given``)."""
    if numbers is None:
        return given
    return {**numbers, **(given or {})}


def _widen_to_all_rows(schema, frame) -> None:
    """Set each modelled number column's range to that of every input row (the model saw
    only the rows of the classes that grow)."""
    for spec in schema.features:
        if spec.kind in ("continuous", "integer") and spec.name in frame.columns:
            column = frame[spec.name]
            schema.set_bounds(spec.name, (float(column.min()), float(column.max())))


def _rows_to_model(y: np.ndarray, classes: np.ndarray, counts: np.ndarray):
    """Rows of the classes with two rows or more, when some class has one row and at
    least two classes are left (a one-row class is never grown, and the copula cannot be
    fitted to it); None to model every row."""
    single = classes[counts < 2]
    if single.shape[0] == 0 or np.count_nonzero(counts >= 2) < 2:
        return None
    return np.flatnonzero(~np.isin(y, single))


#: rows of the class that keeps a lone growing class company in ``model_`` (never sampled)
_COMPANION_ROWS = 50


def _rows_to_grow(y, classes, counts, n_new, rows):
    """For numeric arrays, only the classes that grow need a density (the majority class
    of a large imbalanced set is most of the fitting time and is never sampled).  A
    classifier needs two classes, so when one class grows, the first ``_COMPANION_ROWS``
    rows of the smallest other class join it.  ``rows`` (from :func:`_rows_to_model`)
    when nothing is saved."""
    grown = n_new > 0
    if not grown.any() or grown.all():
        return rows
    chosen = np.flatnonzero(np.isin(y, classes[grown]))
    if grown.sum() >= 2:
        return chosen
    others = np.flatnonzero(~grown & (counts >= 2))
    if others.size == 0:
        return rows
    # the companion class is never sampled: a few of its rows make the classifier valid
    extra = np.flatnonzero(y == classes[others[np.argmin(counts[others])]])[:_COMPANION_ROWS]
    return np.sort(np.concatenate([chosen, extra]))


def _take(X, rows: np.ndarray):
    return X.iloc[rows].reset_index(drop=True) if hasattr(X, "iloc") else X[rows]
