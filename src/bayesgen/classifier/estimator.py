"""The Bayes classifier: one density per class plus the class prior.

Bayes' rule in log space::

    log p(x, y=k) = log p(x | y=k) + log p(y=k)                 (joint)
    log p(y=k | x) = log p(x, y=k) - logsumexp_j log p(x, y=j)  (posterior)
    log p(x)       = logsumexp_k log p(x, y=k)                  (evidence / density)

Probabilities are exponentials of log-probabilities, never the reverse.  The same fitted
model generates labelled data: draw ``y ~ p(y)`` then ``x ~ p(x | y)``.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from bayesgen.base.errors import (
    DataError,
    FitError,
    ModelFileError,
    NotFittedError,
    RowDataError,
    n_rows,
)
from bayesgen.base.load_limits import LoadLimits
from bayesgen.base.persist import load_object, persistable, read_manifest
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import (
    check_finite,
    check_n_samples,
    check_positive_int,
    check_sample_dtype,
    format_label,
    is_dask,
)
from bayesgen.classifier.conditional import (
    class_posterior_given_observed,
    redraw_cells,
    sample_conditional,
)
from bayesgen.classifier.given import parse_given, sample_given
from bayesgen.classifier.persistence import classifier_from_state
from bayesgen.classifier.sampling import SamplePlan, generate_labelled
from bayesgen.classifier.tables import (
    NumberColumns,
    add_missing_cells,
    check_density_fits_table,
    check_every_class_sees_every_column,
    encode_rows,
    find_orders,
    is_frame,
    keep_orders,
    missing_rates,
    takes_categories,
)
from bayesgen.densities.base import Density
from bayesgen.densities.select import AutoDensity, choose_for_all_classes, use_table_grid
from bayesgen.densities.shortcuts import make_density
from bayesgen.kernels.class_stats import class_stats, stats_are_finite
from bayesgen.kernels.missing_patterns import MissingPatterns, PatternCounter
from bayesgen.kernels.stats import GaussianStats
from bayesgen.kernels.streams import block_generator, default_block_size, rechunk, seed_sequence

__all__ = ["BayesClassifier", "default_block_size", "load", "read_metadata"]


_ROW_BLOCK_ELEMENTS = 2**23  # rows per block when scoring: bounded memory, BLAS-sized work


def _plain_labels(y: np.ndarray) -> np.ndarray:
    """Text labels as a numpy string array (a pandas column of text arrives as objects,
    which model files cannot hold); other labels unchanged."""
    if y.dtype == object and all(isinstance(v, str) for v in y):
        return y.astype(str)
    return y


def _statistics_kind(density) -> str | None:
    """:meth:`Density.statistics_kind`; None for densities from other libraries."""
    return density.statistics_kind() if isinstance(density, Density) else None


@persistable("BayesClassifier")
class BayesClassifier(ClassifierMixin, BaseEstimator):
    """Generative Bayes classifier: p(x | y) per class and the class prior p(y).

    The fitted model is three things at once: a generator (:meth:`sample` draws labelled
    rows), a classifier (:meth:`predict`, :meth:`predict_proba`) and a density
    (:meth:`score_samples` is ``log p(x)``).

    Parameters
    ----------
    density : str, Density or None, default=None
        Per-class density.  A shortcut name (see ``bayesgen.densities.DENSITY_SHORTCUTS``:
        "gaussian" = full covariance, "diag", "tied", "copula", ...) is built with
        ``reg_covar`` and ``shrinkage`` below; a density object is cloned for each class and
        keeps its own settings.  None picks by the data: "auto" (candidate families
        compared on held-out rows, one family for all classes:
        :class:`~bayesgen.densities.AutoDensity`), for a table (a DataFrame with text
        column names) among copulas (:data:`~bayesgen.densities.select.TABLE_CANDIDATES`:
        they model mixed columns, marginalise missing cells and reproduce each column's
        distribution; the samples come back as a DataFrame with the input's dtypes), for
        arrays among its default grid.  Tables fitted in two passes (streamed files, Dask
        data frames) and tables with ``shrinkage`` given take "copula"; fits of arrays from
        sufficient statistics (:meth:`partial_fit`, streamed files, dask arrays) and with
        ``shrinkage`` given take "gaussian", the tutorial's model, which stays one option
        away as ``density="gaussian"``.  As a classifier of numbers-only
        tables "gaussian" is often more accurate (benchmarks/README.md, "Tables").  A
        DataFrame of numbers only is a table for the default, ``"auto"`` and the copulas;
        a numeric family named explicitly (``"gaussian"``) takes it as a matrix.
    reg_covar : float, default=1e-6
        Ridge added to every covariance diagonal (shortcut densities only).  Needed for
        constant features and for classes with fewer samples than features.
    shrinkage : None, "auto" or float in [0, 1], default=None
        Covariance shrinkage towards its diagonal, i.e. of the correlations towards 0
        (scale-free: rescaling a feature does not change predictions); "auto" is the
        Ledoit-Wolf intensity of the correlation matrix (shortcut densities only).  For
        the copula (tables) it shrinks the correlation of the normal scores: None means
        0.05 there, and "auto" the intensity of
        :func:`~bayesgen.kernels.score_moments.correlation_shrinkage`.
    priors : array-like of shape (n_classes,), default=None
        Class prior p(y) in the order of ``classes_``.  None learns it from class counts.
    random_state : None, int or numpy.random.Generator, default=None
        Randomness used while *fitting* (initialisation of mixture families).  Sampling takes
        its own ``random_state`` argument.
    column_types : dict of {str: str}, default=None
        For a DataFrame ``X``: override the detected kind of named columns ("continuous",
        "integer", "categorical", "datetime", "identifier"), or "drop" to leave a column
        out (see :class:`bayesgen.tables.TableSchema`).  A DataFrame with text, category,
        boolean or date columns or missing cells is always a table; with a dict here (even
        an empty one) a DataFrame of numbers is one too, so samples come back as a
        DataFrame with its dtypes.
    orders : {"keep", "ignore"}, default="keep"
        "keep" finds the orders between numeric (or date) columns that every training row
        keeps, such as ``temp_min <= temp_max`` (``orders_``); a generated row that breaks
        one gets the cells of that order drawn again given the rest of the row
        (:func:`bayesgen.classifier.tables.keep_orders`), so samples keep them too;
        "ignore" samples the class densities as they are.  Arrays are numbers throughout
        (only their first 32 features are compared, see :mod:`bayesgen.kernels.orders`).
    unknown : {"error", "missing"}, default="error"
        For a table: what a category not seen in training becomes in ``predict``,
        ``predict_proba``, ``score_samples`` and ``impute``: an error naming the column,
        row and value, or a missing cell (marginalised by the class densities, filled by
        ``impute``).  ``model.set_params(unknown="missing")`` sets it on a fitted model.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any sortable type).
    class_count_ : ndarray of shape (n_classes,)
        Training rows per class.
    class_prior_ : ndarray of shape (n_classes,)
        p(y) used for prediction and default sampling.
    densities_ : list of Density
        The fitted p(x | y) for each class, in the order of ``classes_``.
    n_features_in_ : int
    schema_ : TableSchema or None
        For a DataFrame ``X``: the detected column kinds, categories, decimals, bounds and
        date formats; samples come back as a DataFrame with the input's dtypes.
    missing_rate_ : ndarray of shape (n_classes, n_features) or None
        Fraction of missing cells per class and feature in the training data; samples
        reproduce it (``sample(..., missing="keep")``).
    missing_patterns_ : MissingPatterns or None
        Per class, which columns are empty together in the training rows (the most
        frequent patterns and their frequencies, :mod:`bayesgen.kernels.missing_patterns`);
        each generated row takes one, so cells missing together stay together.  None when
        the training data had no missing cell.
    orders_ : ndarray of int, shape (n_orders, 2), or None
        With ``orders="keep"``: the pairs ``(a, b)`` of feature indices with
        ``x_a <= x_b`` in every training row where both are filled, at least 20 of them,
        which a random pairing of the two columns would have broken in at least 10 rows
        (so the order is the data's law, not a near miss of two ranges; see
        :mod:`bayesgen.kernels.orders`); ``order_columns().describe_orders(orders_)`` names
        them.  Generated and imputed rows keep them.  None with ``orders="ignore"``, after
        :meth:`partial_fit`, and for fits from statistics alone (one-pass streamed or Dask
        fits of numbers).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from bayesgen import BayesClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = BayesClassifier().fit(X, y)
    >>> X_new, y_new = model.sample(5, random_state=0)
    >>> X_new.shape, model.predict(X_new).shape
    ((5, 4), (5,))
    """

    def __init__(
        self,
        density=None,
        *,
        reg_covar=1e-6,
        shrinkage=None,
        priors=None,
        random_state=None,
        column_types=None,
        orders="keep",
        unknown="error",
    ):
        self.density = density
        self.reg_covar = reg_covar
        self.shrinkage = shrinkage
        self.priors = priors
        self.random_state = random_state
        self.column_types = column_types
        self.orders = orders
        self.unknown = unknown

    # ------------------------------------------------------------------ fitting
    def make_class_density(self) -> Density:
        """The unfitted density every class gets: ``density`` built with this model's
        ``reg_covar``, ``shrinkage`` and ``random_state`` when it is a shortcut name, or a
        clone of the given density object; for a table, told which features are
        categorical (its ``categories`` parameter, when it has one)."""
        return self._build_density(self._density_name())

    def _build_density(self, name) -> Density:
        """:meth:`make_class_density` for the family ``name``."""
        if isinstance(name, str):
            density = make_density(
                name,
                reg_covar=self.reg_covar,
                shrinkage=self.shrinkage,
                random_state=self.random_state,
            )
        elif isinstance(name, BaseEstimator) and hasattr(name, "score_samples"):
            density = clone(name)
        else:
            raise ValueError(
                f"density must be a shortcut name or a density object with fit/score_samples/"
                f"sample; got {name!r}"
            )
        schema = getattr(self, "schema_", None)
        if schema is not None and isinstance(density, AutoDensity):
            use_table_grid(density, one_run=isinstance(name, str))
        levels = {} if schema is None else schema.discrete_levels()
        if levels and "categories" in density.get_params(deep=False):
            # text keys: parameters are saved in model files as JSON
            density.set_params(categories={str(j): k for j, k in levels.items()})
        return density

    def _density_name(self):
        """``density``, or for None the family the training data call for (see __init__);
        before a fit, the family of fits from sufficient statistics."""
        if self.density is not None:
            return self.density
        if hasattr(self, "_data_density"):
            return self._data_density
        fitted = [d for d in getattr(self, "densities_", None) or [] if d is not None]
        if fitted:  # a model loaded from a file: its family from what was fitted
            if isinstance(fitted[0], AutoDensity):
                return "auto"
            return "copula" if getattr(self, "schema_", None) is not None else "gaussian"
        return "gaussian"

    def default_density(self, *, in_memory: bool = True) -> str:
        """The family ``density=None`` stands for with arrays of numbers: "auto" when all
        rows are at hand (``in_memory``), "gaussian" for fits from sufficient statistics
        (partial_fit, streamed files, dask arrays) or with ``shrinkage`` given (a setting of
        the Gaussian families).  Tables in memory take "auto" among the copulas of
        :data:`~bayesgen.densities.select.TABLE_CANDIDATES` ("copula" with ``shrinkage``
        given), tables fitted in two passes (streamed files, Dask data frames) "copula"
        (see ``density``)."""
        return "auto" if in_memory and self.shrinkage is None else "gaussian"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # what fit takes: with density=None, the family of a fit in memory
        name = self.default_density() if self.density is None else self.density
        try:  # tags are read before any parameter is checked: fit reports a bad one
            template = self._build_density(name)
        except (ValueError, TypeError):
            template = None
        tags.input_tags.allow_nan = (
            isinstance(template, Density) and template.__sklearn_tags__().input_tags.allow_nan
        )
        return tags

    def statistics_kind(self) -> str | None:
        """``"full"`` or ``"diagonal"`` when the class density is fitted from Gaussian
        sufficient statistics (then ``partial_fit``, streaming and Dask fits are exact), None
        when it needs all rows at once (see :meth:`Density.statistics_kind`)."""
        return _statistics_kind(self.make_class_density())

    def require_statistics(self, cannot: str, instead: str) -> str:
        """The kind of sufficient statistics the class density is fitted from, or a
        :class:`FitError` for families fitted from raw rows.

        Shared by :meth:`partial_fit`, :func:`bayesgen.streaming.fit_file` and Dask fits, so
        the refusal reads the same everywhere: "density ... is fitted from raw data and
        <cannot>; <instead>, or use a Gaussian density".

        Returns
        -------
        {"full", "diagonal", "fourth"}
        """
        if self.density is None:
            self._data_density = self.default_density(in_memory=False)
        kind = self.statistics_kind()
        if kind is None:
            raise FitError(
                f"density {self._density_name()!r} is fitted from raw data and {cannot}; "
                f"{instead}, or use a Gaussian density ('gaussian', 'diag', 'tied')"
            )
        return kind

    def _validate_xy(self, X, y, *, reset: bool, finite: bool = True):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=np.float64,
            ensure_all_finite=False,
            order="C",
            y_numeric=False,
        )
        if finite:
            check_finite(X)
        check_classification_targets(y)
        return X, _plain_labels(y)

    def fit(self, X, y):
        """Fit p(x | y) for every class and the prior p(y).

        Gaussian densities are fitted from per-class sufficient statistics, computed in one
        pass over each class's rows; the factor of every class is computed once.  Dask input
        (a dask array or DataFrame; dask is imported only then) is reduced block by block
        to the same statistics, merged as a tree, and gives the same model to rounding.
        For files bigger than memory see :func:`bayesgen.streaming.fit_file`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), dask array or dask DataFrame
        y : array-like of shape (n_samples,), dask array or Series, or a column name
            Labels of any sortable type.  With a dask DataFrame ``X``, a column name takes
            the labels from that column and the features from the others.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Non-finite values, fewer than two classes, or inconsistent shapes.
        FitError
            A class density cannot be fitted; the message names the class and the parameter
            to change (``reg_covar``, ``shrinkage`` or ``density``).  A fitted model whose
            refit fails is left as it was.
        """
        with _unchanged_on_error(self):
            return self._fit(X, y)

    def _fit(self, X, y):
        self._keeps_orders()  # a bad ``orders`` fails before any work
        if is_dask(X) or is_dask(y):
            return self._fit_dask(X, y)
        X = self._encode_training_table(X)
        # the finiteness scan is folded into the statistics pass, or done below
        X, y = self._validate_xy(X, y, reset=True, finite=False)
        self._data_density = self._density_for(X)
        template = self.make_class_density()
        uses_stats = _statistics_kind(template) is not None
        if not uses_stats or self.schema_ is not None:
            self._check_rows_for(template, X)
        classes, y_index = np.unique(y, return_inverse=True)
        y_index = y_index.reshape(-1)
        if classes.shape[0] < 2:
            raise DataError(
                f"y has only one class ({format_label(classes[0])}); a Bayes classifier needs "
                "at least two classes. To model a single class, fit a density such as "
                "bayesgen.GaussianDensity directly."
            )
        if uses_stats:
            kind = _statistics_kind(template)
            stats = class_stats(
                X, y_index, classes.shape[0], diagonal=kind == "diagonal", fourth=kind == "fourth"
            )
            if not stats_are_finite(stats):
                check_finite(X)  # names the first bad cell
            self.fit_from_statistics(classes, stats)
            self.orders_ = self._orders_of(X)
            return self
        self.classes_ = classes
        self._stats = None
        # the prior first: a bad ``priors`` fails before any fit, and the shared choice
        # of ``auto`` predicts with it
        self.class_count_ = np.bincount(y_index, minlength=classes.shape[0]).astype(float)
        self._set_prior()
        counters = PatternCounter.per_class(np.isnan(X), y_index, classes.shape[0])
        rates = missing_rates(counters)
        check_every_class_sees_every_column(rates, classes, self._column_names(X.shape[1]))
        shared_choice = isinstance(template, AutoDensity) and not template.per_class
        if shared_choice:  # the choice compares the candidates' classifiers
            template.set_params(keep_candidates=True)
        fitted = []
        try:
            for k, label in enumerate(classes):
                fitted.append(self._fit_one(template, label, X[y_index == k]))
            if shared_choice:
                rows = [X[y_index == k] for k in range(classes.shape[0])]
                choose_for_all_classes(fitted, rows, self.class_prior_)
        finally:
            if shared_choice:  # the kept candidates can be large: never left behind
                for density in fitted:
                    density.release_candidates()
                    density.set_params(keep_candidates=False)
        self.densities_ = fitted
        self.missing_rate_ = rates
        self.missing_patterns_ = (
            MissingPatterns.from_counters(counters) if np.any(rates > 0) else None
        )
        self.orders_ = self._orders_of(X)
        return self

    def _orders_of(self, X: np.ndarray):
        """``orders_`` of the encoded training rows ``X`` (None with ``orders="ignore"``)."""
        return find_orders(self.order_columns(), X) if self._keeps_orders() else None

    def order_columns(self):
        """What the orders compare: the table's schema (numbers with numbers, dates with
        dates, categories with none; values as decoding writes them), or for arrays
        :class:`~bayesgen.classifier.tables.NumberColumns` (every feature a number).  Its
        ``describe_orders(model.orders_)`` names the kept orders."""
        schema = getattr(self, "schema_", None)
        if schema is not None:
            return schema
        return NumberColumns(self.n_features_in_, getattr(self, "feature_names_in_", None))

    def _unknown(self) -> str:
        if self.unknown not in ("error", "missing"):
            raise DataError(f"unknown must be 'error' or 'missing'; got {self.unknown!r}")
        return self.unknown

    def _keeps_orders(self) -> bool:
        if self.orders not in ("keep", "ignore"):
            raise DataError(f"orders must be 'keep' or 'ignore'; got {self.orders!r}")
        return self.orders == "keep"

    def _encode_training_table(self, X):
        """A table (a DataFrame with text, category, boolean or date columns, or missing
        cells, or with text column names and a density that takes tables) becomes the model's
        matrix and fixes ``schema_``; others pass."""
        self.schema_ = None
        if not is_frame(X):
            return X
        from bayesgen.tables import TableSchema, is_table

        if self.column_types is None and not is_table(X) and not self._numbers_as_table(X.columns):
            return X  # scikit-learn's usual handling of a DataFrame as a matrix

        kinds, drop = self._column_overrides()
        self.schema_ = TableSchema.detect(X, column_types=kinds, drop=drop)
        return self.schema_.encode(X)

    def _column_overrides(self) -> tuple[dict, list]:
        """``column_types`` as the schema's declared kinds and dropped columns."""
        kinds = dict(self.column_types or {})
        drop = [name for name, kind in kinds.items() if kind == "drop"]
        return {name: kind for name, kind in kinds.items() if kind != "drop"}, drop

    def _density_for(self, X: np.ndarray) -> str:
        """The family ``density=None`` means for these rows, all in memory (see
        :meth:`default_density`)."""
        if self.schema_ is None:
            return self.default_density()
        return "auto" if self.shrinkage is None else "copula"

    def _check_rows_for(self, template, X: np.ndarray) -> None:
        """Missing cells and categorical columns only for densities that take them."""
        if self.schema_ is not None or (isinstance(template, Density) and template.fits_missing()):
            names = self._column_names(X.shape[1])
            check_density_fits_table(template, self.schema_, X, self._density_name(), names)
            check_finite(X, allow_nan=True)
        else:
            check_finite(X)

    def _fit_dask(self, X, y):
        """:meth:`fit` of dask input: statistics per block, reduced as a tree; a DataFrame
        with mixed columns (or a density fitted from column summaries) in two passes."""
        if self._dask_table(X, y):
            from bayesgen.classifier.table_dask import DaskPasses

            return self.fit_from_passes(DaskPasses(X, y))
        kind = self.require_statistics(
            "cannot be fitted block by block", "compute the data into memory first (X.compute())"
        )
        if not is_dask(X):
            # labels on a cluster, features in memory: bring the labels over
            return self.fit(X, np.asarray(y.compute()))
        from bayesgen.kernels.dask_reduce import reduce_class_statistics

        classes, stats, n_features, feature_names = reduce_class_statistics(
            X, y, diagonal=kind == "diagonal", fourth=kind == "fourth"
        )
        self.fit_from_statistics(classes, stats, n_features=n_features)
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _numbers_as_table(self, columns) -> bool:
        """Whether a frame of numbers only is a table (in memory and on Dask alike): when
        its columns have text names and the density is the default or one that takes tables
        (``"auto"``, the copulas), so that ``density="auto"`` is the default's model and
        gives back a DataFrame kept in the columns' ranges, dtypes and decimals.  A numeric
        family named explicitly (``"gaussian"``) sees the frame as a matrix, every column a
        feature (no column is judged an identifier and left out)."""
        if not all(isinstance(c, str) for c in columns):
            return False
        if self.density is None:
            return True
        try:  # a bad density name is reported by fit, with its own message
            template = self.make_class_density()
        except (ValueError, TypeError):
            return False
        return isinstance(template, AutoDensity) or takes_categories(template)

    def _dask_table(self, X, y) -> bool:
        """A dask DataFrame fitted as a table: as in memory, text column names with a
        density that takes tables, or a feature column that is not a number, or ``column_types``
        given, or a class density fitted from column summaries."""
        if not (is_dask(X) and hasattr(X, "dtypes") and hasattr(X, "columns")):
            return False
        from bayesgen.tables import has_table_dtypes

        dtypes = X.dtypes
        if isinstance(y, str) and y in X.columns:
            dtypes = dtypes.drop(y)
        if self.column_types is not None or has_table_dtypes(dtypes):
            return True
        if self._numbers_as_table(dtypes.index):
            return True
        template = self.make_class_density()
        return isinstance(template, Density) and template.summary_kind() is not None

    def fit_from_passes(self, passes):
        """Fit a table in two passes over data bigger than memory.

        Pass 1 reduces every column of every chunk to mergeable per-class summaries and
        fixes :attr:`schema_`; each class density fits its marginals from them
        (:meth:`Density.fit_from_summaries`).  Pass 2 reduces the normal scores of every
        chunk (:meth:`Density.score_moments`) to the dependence.  See
        :mod:`bayesgen.classifier.table_stream` for what is exact and what is close.

        Parameters
        ----------
        passes : ChunkPasses or DaskPasses
            The data: :class:`bayesgen.classifier.table_stream.ChunkPasses` (chunks of a
            file, see :func:`bayesgen.streaming.fit_file`) or
            :class:`bayesgen.classifier.table_dask.DaskPasses` (a Dask DataFrame).

        Returns
        -------
        self
        """
        with _unchanged_on_error(self):
            return self._fit_from_passes(passes)

    def _fit_from_passes(self, passes):
        from bayesgen.classifier import table_stream

        self._data_density = "copula"
        self._keeps_orders()
        table_stream.check_two_pass_density(self.make_class_density(), self._density_name())
        kinds, drop = self._column_overrides()
        summaries = passes.first_pass(column_types=kinds, drop=drop)
        if summaries.classes.shape[0] < 2:
            raise DataError(
                f"the data have only one class ({format_label(summaries.classes[0])}); a "
                "Bayes classifier needs at least two classes."
            )
        self.schema_ = summaries.schema
        rates = missing_rates(summaries.patterns)
        check_every_class_sees_every_column(
            rates, summaries.classes, summaries.schema.feature_names
        )
        started = table_stream.start_densities(self.make_class_density(), summaries)
        moments = passes.second_pass(started, summaries)
        self.densities_ = table_stream.finish_dependence(started, moments, summaries.classes)
        self.classes_ = _plain_labels(summaries.classes)
        self.class_count_ = summaries.rows
        self.missing_rate_ = rates
        self.missing_patterns_ = (
            MissingPatterns.from_counters(summaries.patterns) if np.any(rates > 0) else None
        )
        self.orders_ = summaries.orders if self._keeps_orders() else None
        self.n_features_in_ = summaries.schema.n_features
        self._stats = None
        self._set_prior()
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def fit_from_statistics(self, classes, stats, *, n_features=None):
        """Finish a fit from per-class sufficient statistics gathered elsewhere.

        The accumulate-then-finalise path shared by :meth:`fit`, streaming fits and Dask:
        statistics are gathered (and merged) first and the class factors computed once here.

        Parameters
        ----------
        classes : array-like of shape (n_classes,)
            Sorted class labels.
        stats : list of bayesgen.kernels.stats.GaussianStats or None
            One per class, of the kind :meth:`statistics_kind` names; None for a class with
            no rows yet (it gets empty statistics, and cannot be sampled until it has rows).
        n_features : int, optional
            Needed only when every entry of ``stats`` is None.

        Returns
        -------
        self
        """
        with _unchanged_on_error(self):
            return self._fit_from_statistics(classes, stats, n_features=n_features)

    def _fit_from_statistics(self, classes, stats, *, n_features=None):
        kind = self.require_statistics(
            "cannot be fitted from sufficient statistics", "use fit on in-memory arrays"
        )
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.shape[0] < 2:
            shown = ", ".join(format_label(c) for c in classes.reshape(-1)[:1])
            raise DataError(
                f"the data have only one class ({shown}); a Bayes classifier needs at least "
                "two classes."
            )
        present = [s for s in stats if s is not None]
        if not present:
            raise DataError("no rows were given; fit needs at least one labelled row")
        d = present[0].n_features if n_features is None else int(n_features)
        empty = GaussianStats.empty(d, diagonal=kind == "diagonal", fourth=kind == "fourth")
        self._stats = [empty.copy() if st is None else st for st in stats]
        self.classes_ = classes
        self._template = self.make_class_density()
        self.n_features_in_ = d
        self.missing_rate_ = None
        self.missing_patterns_ = None
        self.orders_ = None
        self._refit_from_stats()
        return self

    @staticmethod
    def _fit_one(template: Density, label, Xk: np.ndarray) -> Density:
        density = clone(template)
        try:
            return density.fit(Xk)
        except (FitError, np.linalg.LinAlgError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            advice = "; add rows of that class, or leave its rows out" if Xk.shape[0] < 2 else ""
            raise FitError(
                f"class {format_label(label)} has {n_rows(Xk.shape[0])} and {Xk.shape[1]} "
                f"features: {exc}{advice}"
            ) from None

    def partial_fit(self, X, y, classes=None):
        """Update the model with a batch; any split into batches gives the same model.

        Per-class sufficient statistics (count, mean, centred scatter) are merged exactly,
        so ``partial_fit`` over batches equals ``fit`` on their concatenation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever appear.  Needed on the first call when the first
            batch does not contain every class; ignored afterwards.

        Returns
        -------
        self
        """
        with _unchanged_on_error(self):
            return self._partial_fit(X, y, classes)

    def _partial_fit(self, X, y, classes):
        first = not hasattr(self, "classes_")
        if not first and getattr(self, "_stats", None) is None:
            raise FitError(
                "partial_fit needs per-class sufficient statistics, which this model does not "
                "have (it was loaded from a file or uses a density fitted from raw data, such "
                f"as {self._density_name()!r}); call fit on all the data instead"
            )
        X, y = self._validate_xy(X, y, reset=first, finite=False)
        if first:
            kind = self.require_statistics("does not support partial_fit", "use fit")
            known = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if known.shape[0] < 2:
                raise DataError(
                    f"partial_fit got only one class ({format_label(known[0])}) and no "
                    "classes=...; pass classes=[...] with every label on the first call"
                )
            self.classes_ = known
            empty = GaussianStats.empty(
                X.shape[1], diagonal=kind == "diagonal", fourth=kind == "fourth"
            )
            self._stats = [empty.copy() for _ in known]
            self._template = self.make_class_density()
        y_index = self._label_index(y)
        first_stats = self._stats[0]
        batches = class_stats(
            X,
            y_index,
            len(self._stats),
            diagonal=first_stats.diagonal,
            fourth=first_stats.fourth,
        )
        if not stats_are_finite(batches):
            check_finite(X)
        self._stats = [  # a new list: a failed update leaves the old one whole
            stats if batch is None else stats.merge(batch)
            for stats, batch in zip(self._stats, batches, strict=True)
        ]
        self._refit_from_stats()
        self.orders_ = None  # found by fit on all rows; new rows may break them
        return self

    def _refit_from_stats(self) -> None:
        counts = np.array([s.count for s in self._stats])
        template = getattr(self, "_template", None) or self.make_class_density()
        present = np.flatnonzero(counts > 0)
        fitted = template.fit_from_statistics(
            [self._stats[k] for k in present], self.classes_[present]
        )
        densities: list = [None] * len(self._stats)
        for k, density in zip(present, fitted, strict=True):
            densities[k] = density
        self.densities_ = densities
        self.class_count_ = counts
        self._set_prior()

    def _set_prior(self) -> None:
        n_classes = self.classes_.shape[0]
        if self.priors is None:
            prior = self.class_count_ / self.class_count_.sum()
        else:
            prior = np.asarray(self.priors, dtype=float)
            if prior.shape != (n_classes,):
                raise ValueError(
                    f"priors must have one entry per class ({n_classes}); got shape {prior.shape}"
                )
            if np.any(prior < 0) or not np.isclose(prior.sum(), 1.0):
                raise ValueError("priors must be non-negative and sum to 1")
            prior = prior / prior.sum()
        self.class_prior_ = prior
        with np.errstate(divide="ignore"):
            self._log_prior = np.log(prior)

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "densities_")
        except Exception:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) first."
            ) from None

    def _validate_x(self, X, *, missing_ok: bool | None = None) -> np.ndarray:
        """Rows for a fitted model; missing cells (NaN) where every class density
        marginalises them, or where ``missing_ok`` says so (imputation fills them)."""
        self._check_fitted()
        schema = getattr(self, "schema_", None)
        if schema is not None:
            X = encode_rows(schema, X, unknown=self._unknown())
        try:
            X = validate_data(
                self, X, reset=False, dtype=np.float64, ensure_all_finite=False, order="C"
            )
        except ValueError as exc:
            if "features" in str(exc) and "expecting" in str(exc):
                raise DataError(
                    f"{exc} Pass rows with the same columns the model was fitted on."
                ) from None
            raise
        check_finite(X, allow_nan=self._accepts_missing() if missing_ok is None else missing_ok)
        return X

    def _column_names(self, d: int) -> list:
        """The names of the model's columns, for messages: the table's, else the input's
        feature names, else ``column 0``, ``column 1``, ..."""
        schema = getattr(self, "schema_", None)
        if schema is not None:
            return list(schema.feature_names)
        names = getattr(self, "feature_names_in_", None)
        return list(names) if names is not None else [f"column {j}" for j in range(d)]

    def _accepts_missing(self) -> bool:
        """Every class density marginalises missing cells."""
        return all(
            isinstance(d, Density) and d.accepts_missing() for d in self.densities_ if d is not None
        )

    def _class_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        out = np.empty((n, len(self.densities_)))
        block = max(1, _ROW_BLOCK_ELEMENTS // max(1, X.shape[1]))
        for k, density in enumerate(self.densities_):
            if density is None:
                out[:, k] = -np.inf
                continue
            for start in range(0, n, block):
                out[start : start + block, k] = density._score_samples(X[start : start + block])
        return out

    def class_log_likelihood(self, X):
        """Per-class log-likelihoods ``log p(x | y=k)`` (nats).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._class_log_likelihood(self._validate_x(X))

    def predict_joint_log_proba(self, X):
        """Joint ``log p(x, y=k) = log p(x | y=k) + log p(y=k)``, shape (n_samples, n_classes)."""
        return self._class_log_likelihood(self._validate_x(X)) + self._log_prior

    def predict_log_proba(self, X):
        """Posterior ``log p(y=k | x)``, shape (n_samples, n_classes)."""
        joint = self.predict_joint_log_proba(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Posterior ``p(y=k | x)``; rows sum to 1. Shape (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most probable class ``classes_[argmax_k p(y=k | x)]``, shape (n_samples,)."""
        joint = self.predict_joint_log_proba(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def score_samples(self, X):
        """Log-density of the data ``log p(x) = logsumexp_k log p(x, y=k)`` (nats), shape (n,)."""
        return logsumexp(self.predict_joint_log_proba(X), axis=1)

    # ------------------------------------------------------------------ generation
    def _resolve_prior(self, prior) -> np.ndarray:
        n_classes = self.classes_.shape[0]
        if isinstance(prior, str):
            if prior == "learned":
                return self.class_prior_
            if prior == "uniform":
                available = np.array([d is not None for d in self.densities_], dtype=float)
                return available / available.sum()
            raise ValueError(f"prior must be 'learned', 'uniform' or an array; got {prior!r}")
        p = np.asarray(prior, dtype=float)
        if p.shape != (n_classes,) or np.any(p < 0) or not np.all(np.isfinite(p)):
            raise DataError(
                f"prior must be 'learned', 'uniform' or {n_classes} non-negative weights "
                f"(one per class in classes_); got {prior!r}"
            )
        if p.sum() <= 0:
            raise DataError("prior weights sum to zero; give at least one class weight > 0")
        return p / p.sum()

    def _label_index(self, labels) -> np.ndarray:
        """Map labels to positions in ``classes_``; unknown labels raise DataError."""
        labels = np.asarray(labels)
        index = np.searchsorted(self.classes_, labels)
        index = np.clip(index, 0, self.classes_.shape[0] - 1)
        try:
            ok = self.classes_[index] == labels
        except (TypeError, ValueError):  # pragma: no cover - incomparable label types
            ok = np.zeros(labels.shape, dtype=bool)
        ok = np.asarray(ok, dtype=bool)
        if not ok.all():
            unknown = ", ".join(format_label(u) for u in np.unique(labels[~ok])[:5])
            known = ", ".join(format_label(c) for c in self.classes_)
            raise DataError(f"label(s) {unknown} not known to the model; known labels are {known}")
        return index

    def parse_label(self, label):
        """A scalar label as the model's classes hold it: text such as ``"7"`` (from a command
        line or a file) becomes ``7`` when the classes are numbers; other values pass through.
        """
        if isinstance(label, str) and self.classes_.dtype.kind in "iuf":
            try:
                value = float(label)
            except ValueError:
                return label
            return int(value) if value.is_integer() else value
        return label

    def sample(
        self,
        n_samples=None,
        *,
        y=None,
        prior="learned",
        random_state=None,
        dtype=np.float64,
        missing="keep",
        given=None,
    ):
        """Generate labelled rows: ``y ~ p(y)``, then ``x ~ p(x | y)``.

        Parameters
        ----------
        n_samples : int, optional
            Number of rows.  Defaults to 1, or to ``len(y)`` when ``y`` is an array.
        y : label or array-like of labels, optional
            A single label gives ``n_samples`` rows of that class; an array gives one row
            per entry, in that order.  When omitted, labels are drawn from ``prior``.
        prior : "learned", "uniform" or array-like of shape (n_classes,), default="learned"
            Distribution the labels are drawn from when ``y`` is omitted.  "learned" is the
            fitted p(y) (what the tutorial's text asks for); "uniform" reproduces the
            tutorial's code, which drew classes uniformly.
        random_state : None, int or numpy.random.Generator
            The same seed gives the same rows; None gives different rows on every call.
        dtype : {numpy.float64, numpy.float32}, default=numpy.float64
            float32 halves the memory and roughly doubles the speed.  For more rows than
            fit in memory, see :meth:`iter_samples`.
        missing : {"keep", "none"}, default="keep"
            "keep": each row leaves empty (NaN, or a missing value in a DataFrame) the
            cells of a missing-value pattern drawn from its class's training rows
            (``missing_patterns_``), so each column's rate (``missing_rate_``) and the
            cells missing together are the data's; "none": complete rows.  Models fitted
            on complete data never produce missing cells.
        given : dict, optional
            Conditions on column values, sampled exactly: ``{"island": "Biscoe"}`` (a
            value), ``{"body_mass_g": (4000, None)}`` (a range; None = open end).  Keys are
            column names (or feature indices for arrays).  Without ``y`` the labels are
            drawn from ``p(y | condition)``.  See :mod:`bayesgen.classifier.given` for the
            method (Gaussian conditionals and truncations of the latent Gaussian, or of each
            Gaussian of a latent mixture).  For the Gaussian families, the mixtures and the
            copulas (also with mixture dependence); families with a pixel transform
            refuse.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), or a DataFrame for a model fitted on
            one (same columns, order and dtypes as the training table)
        y : ndarray of shape (n_samples,)
            Labels; rows drawn from the prior come in random (shuffled) order.
        """
        self._check_fitted()
        if missing not in ("keep", "none"):
            raise DataError(f"missing must be 'keep' or 'none'; got {missing!r}")
        rng = check_random_state(random_state)
        dtype = check_sample_dtype(dtype)
        rates = getattr(self, "missing_rate_", None)
        observed = ()
        if given is not None:
            X, labels, observed = self._sample_given(n_samples, y, given, rng)
            X = X.astype(dtype, copy=False)
        else:
            plan = self.plan_samples(n_samples, y=y, prior=prior)
            if plan.index is None:
                X, labels = self._generate(rng, dtype, n=plan.n_rows, prior=plan.prior)
            else:
                X, labels = self._generate(rng, dtype, index=plan.index)
        if missing == "keep" and rates is not None:
            patterns = getattr(self, "missing_patterns_", None)
            index = self._label_index(labels)
            X = add_missing_cells(X, index, rates, patterns, rng, observed=observed)
        if getattr(self, "schema_", None) is not None:
            X = self.schema_.decode(X)
        return X, labels

    def _sample_given(self, n_samples, y, given, rng):
        """Rows on conditions (see :mod:`bayesgen.classifier.given`), their labels and the
        conditioned columns (never blanked)."""
        if y is not None and np.ndim(y) != 0:
            raise DataError("with given=..., y must be one label (or None)")
        conditions = parse_given(self, given)
        n = 1 if n_samples is None else check_n_samples(n_samples)
        k = None if y is None else int(self._label_index([self.parse_label(y)])[0])
        X, index, _ = sample_given(self, n, conditions, k, rng)
        observed = [c.j for c in conditions]
        return self._keep_orders(X, index, rng, observed), self.classes_[index], observed

    def iter_samples(
        self,
        n_samples=None,
        *,
        chunk_size=None,
        block_size=None,
        y=None,
        prior="learned",
        random_state=None,
        dtype=np.float64,
    ):
        """Generate labelled rows chunk by chunk, with memory bounded by the block size.

        Rows are made in fixed blocks of ``block_size`` rows; block ``b`` draws from its own
        generator, child ``b`` of a :class:`numpy.random.SeedSequence` built from
        ``random_state``, and the blocks are re-cut into chunks of ``chunk_size`` rows.  So
        the same seed gives the same rows **whatever the chunk size** (and the same rows as
        :func:`bayesgen.streaming.sample_dask` with ``chunks=block_size``, on any cluster).

        Parameters
        ----------
        n_samples : int, optional
            Total rows.  Defaults to 1, or to ``len(y)`` when ``y`` is an array.
        chunk_size : int, optional
            Rows per yielded chunk (the last may be shorter); defaults to ``block_size``.
        block_size : int, optional
            Rows per generation block; defaults to :func:`default_block_size` of the number
            of features (a power of two, ~32 MiB of float64 per block).  Changing it changes
            the rows drawn; keep it fixed to reproduce a stream.
        y, prior : see :meth:`sample`
            An array ``y`` is consumed block by block, in order.
        random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        dtype : {numpy.float64, numpy.float32}, default=numpy.float64

        Yields
        ------
        X : ndarray of shape (chunk_rows, n_features)
        y : ndarray of shape (chunk_rows,)

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from bayesgen import BayesClassifier
        >>> model = BayesClassifier().fit(*load_iris(return_X_y=True))
        >>> a = np.vstack([X for X, _ in model.iter_samples(1000, chunk_size=300,
        ...                                                 random_state=0)])
        >>> b = np.vstack([X for X, _ in model.iter_samples(1000, chunk_size=64,
        ...                                                 random_state=0)])
        >>> bool((a == b).all())
        True
        """
        self._check_fitted()
        dtype = check_sample_dtype(dtype)
        plan = self.plan_samples(n_samples, y=y, prior=prior)
        block = check_positive_int(
            block_size, "block_size", default_block_size(self.n_features_in_)
        )
        chunk = check_positive_int(chunk_size, "chunk_size", block)
        root = seed_sequence(random_state)
        return rechunk(self._iter_blocks(plan, block, root, dtype), chunk)

    def _iter_blocks(self, plan: SamplePlan, block: int, root, dtype):
        """Yield ``(X, y)`` for every generation block of a plan, in order."""
        for b in range(plan.n_blocks(block)):
            yield self.sample_block(plan, b, block, root, dtype)

    def sample_block(self, plan: SamplePlan, b: int, block_size: int, root, dtype=np.float64):
        """Rows of generation block ``b`` of a plan: deterministic given ``root``.

        The unit of :meth:`iter_samples`, :func:`bayesgen.streaming.write_samples` and
        :func:`bayesgen.streaming.sample_dask`: block ``b`` holds rows
        ``b * block_size ..`` and draws from child ``b`` of ``root``, so any process makes
        the same rows for it.

        Parameters
        ----------
        plan : SamplePlan
            From :meth:`plan_samples`.
        b : int
            Block number.
        block_size : int
            Rows per block.
        root : numpy.random.SeedSequence
            See :func:`bayesgen.kernels.streams.seed_sequence`.
        dtype : {numpy.float64, numpy.float32}

        Returns
        -------
        X : ndarray of shape (rows, n_features)
        y : ndarray of shape (rows,)
        """
        rng = block_generator(root, b)
        if plan.index is None:
            rows = min(block_size, plan.n_rows - b * block_size)
            return self._generate(rng, dtype, n=rows, prior=plan.prior)
        index = plan.index[b * block_size : (b + 1) * block_size]
        return self._generate(rng, dtype, index=index)

    def plan_samples(self, n_samples=None, *, y=None, prior="learned") -> SamplePlan:
        """Which labels a draw will have: ``n`` rows from a prior, or given class positions.

        Parameters
        ----------
        n_samples, y, prior
            As for :meth:`sample`.

        Returns
        -------
        SamplePlan
        """
        self._check_fitted()
        if y is None:
            n = 1 if n_samples is None else check_n_samples(n_samples)
            return SamplePlan(n, prior=self._resolve_prior(prior))
        if np.ndim(y) == 0:
            n = 1 if n_samples is None else check_n_samples(n_samples)
            index = np.full(n, self._label_index([self.parse_label(y)])[0])
            return SamplePlan(n, index=index)
        labels = column_or_1d(np.asarray(y))
        if n_samples is not None and check_n_samples(n_samples) != labels.shape[0]:
            raise DataError(
                f"n_samples={n_samples} but y has {labels.shape[0]} labels; give one or "
                "the other, or make them agree"
            )
        return SamplePlan(labels.shape[0], index=self._label_index(labels))

    def _generate(self, rng, dtype, *, n=None, prior=None, index=None):
        """Labelled rows from the class densities (see :func:`generate_labelled`), with the
        cells that break a kept order redrawn (:func:`keep_orders`)."""
        X, index = generate_labelled(
            self.densities_,
            self.classes_,
            self.n_features_in_,
            rng,
            dtype,
            n=n,
            prior=prior,
            index=index,
        )
        return self._keep_orders(X, index, rng), self.classes_[index]

    def _keep_orders(self, X, index, rng, fixed=(), observed=None):
        """``X`` with the cells that break a kept order, or (tables) fall outside their
        column's range, redrawn given the rest of their row (:func:`keep_orders`); the
        columns in ``fixed`` and the cells in ``observed`` stay."""
        orders = getattr(self, "orders_", None)
        orders = np.zeros((0, 2), dtype=np.int64) if orders is None else orders
        if not len(orders) and getattr(self, "schema_", None) is None:
            return X

        def redraw(rows, cells):
            return redraw_cells(
                self.densities_, X[rows], index[rows], cells, rng, rest_is_data=observed is not None
            )

        return keep_orders(X, self.order_columns(), orders, redraw, fixed, observed)

    def sample_conditional(
        self, x_observed, observed_mask, *, y=None, n_samples=1, random_state=None
    ):
        """Complete partly observed rows from the exact conditional ``p(x_m | x_o, y)``.

        See :func:`bayesgen.conditional.sample_conditional` (Schur complement for Gaussians,
        Woodbury for low rank, posterior component weights for mixtures); without ``y`` the
        class is drawn from ``p(y | x_o)``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) or (n_rows, n_samples, n_features)
        labels : ndarray of the class used for each completion
        """
        return sample_conditional(
            self,
            x_observed,
            observed_mask,
            y=y,
            n_samples=n_samples,
            random_state=random_state,
        )

    def impute(self, X, y=None, *, draws=1, random_state=None):
        """Fill the missing cells of rows by sampling ``p(x_missing | x_observed, y)``.

        Each row with missing cells (NaN, or empty cells of a table) is completed by the
        exact conditional of its class density (:meth:`Density.condition`); without ``y``
        the class is drawn from ``p(y | x_observed)``, so the completion averages over the
        classes the observed cells allow.  Observed cells are kept as they are, and so are
        the columns of a DataFrame the model leaves out (identifiers, dropped columns), so
        the completed rows join back to the input.  Filled cells keep the orders every
        training row keeps (``orders_``): a completion that breaks one has its filled cells
        of that order drawn again (orders between two observed cells are left as they are).
        With ``draws > 1`` each completion is drawn independently: multiple imputation,
        whose spread shows the uncertainty about the missing values.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features), or a DataFrame for a table model
        y : label or array-like of labels, optional
            The class of each row, when known; None or NaN in an array marks a row whose
            class is drawn from ``p(y | x_observed)``.
        draws : int, default=1
            Completed copies of ``X``.
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        ndarray or DataFrame like ``X`` (``draws == 1``), or a list of ``draws`` of them
        """
        draws = check_positive_int(draws, "draws", 1)
        schema = getattr(self, "schema_", None)
        rows = (
            self._validate_x(X, missing_ok=True)
            if schema is None
            else encode_rows(schema, X, unknown=self._unknown())
        )
        rows = np.array(rows, dtype=np.float64)
        observed = ~np.isnan(rows)
        incomplete = np.flatnonzero(~observed.all(axis=1))
        copies = [rows.copy() for _ in range(draws)]
        if incomplete.size:
            rng = check_random_state(random_state)
            known = self._impute_classes(y, rows.shape[0])[incomplete]
            part, seen = rows[incomplete], observed[incomplete]
            unknown = np.flatnonzero(known < 0)
            posterior = (
                class_posterior_given_observed(self, part[unknown], seen[unknown])
                if unknown.size
                else None
            )
            for copy in copies:
                index = known.copy()
                if unknown.size:
                    cumulative = np.cumsum(posterior, axis=1)
                    draw = (cumulative < rng.random((unknown.size, 1))).sum(axis=1)
                    index[unknown] = np.minimum(draw, posterior.shape[1] - 1)
                filled = redraw_cells(
                    self.densities_, np.where(seen, part, 0.0), index, ~seen, rng, rest_is_data=True
                )
                copy[incomplete] = self._keep_orders(filled, index, rng, observed=seen)
        if schema is not None:
            copies = [
                _with_columns_of(schema.decode(copy).set_axis(X.index), X, observed)
                for copy in copies
            ]
        return copies[0] if draws == 1 else copies

    def _impute_classes(self, y, n_rows: int) -> np.ndarray:
        """The class position of each row to impute, -1 where it is to be drawn from
        ``p(y | x_observed)`` (``y`` None, or None / NaN in an array)."""
        known = np.full(n_rows, -1, dtype=np.intp)
        if y is None:
            return known
        if np.ndim(y) == 0:
            known[:] = self._label_index([self.parse_label(y)])[0]
            return known
        labels = list(y)
        if len(labels) != n_rows:
            raise DataError(f"y has {len(labels)} labels for {n_rows} rows; give one per row")
        for i, label in enumerate(labels):
            if _is_missing_label(label):
                continue
            try:
                known[i] = self._label_index([self.parse_label(label)])[0]
            except DataError as exc:
                raise RowDataError(f"{exc} (", i, ")") from None
        return known

    def class_means(self) -> np.ndarray:
        """E[x | y=k] for every class, shape (n_classes, n_features)."""
        self._check_fitted()
        return np.stack(
            [
                d.mean() if d is not None else np.full(self.n_features_in_, np.nan)
                for d in self.densities_
            ]
        )

    def n_parameters(self) -> int:
        """Free parameters of all class densities plus the prior (K - 1)."""
        self._check_fitted()
        unique = {id(d.covariance_) for d in self.densities_ if hasattr(d, "covariance_")}
        total = sum(d.n_parameters() for d in self.densities_ if d is not None)
        tied = len(unique) == 1 and len(self.densities_) > 1
        if tied:  # the shared covariance is counted once
            shared = self.densities_[0].covariance_.n_parameters
            total -= shared * (len(self.densities_) - 1)
        return int(total + len(self.densities_) - 1)

    # ------------------------------------------------------------------ files
    def save(self, path, *, metadata: dict | None = None) -> None:
        """Write the fitted model to ``path`` (safe format: arrays + JSON, no pickle).

        The write is atomic: an existing file is replaced only once the new one is complete.
        """
        from bayesgen.base.persist import save_object
        from bayesgen.base.version import __version__

        self._check_fitted()
        if any(d is None for d in self.densities_):
            raise FitError("some classes have no data yet; feed them before saving")
        save_object(self, path, library_version=__version__, metadata=metadata)

    def _get_state(self) -> dict:
        params = self.get_params(deep=False)
        return {
            "params": params,
            "classes": self.classes_,
            "class_count": self.class_count_,
            "class_prior": self.class_prior_,
            "densities": list(self.densities_),
            "n_features_in": int(self.n_features_in_),
            "schema": getattr(self, "schema_", None),
            "missing_rate": getattr(self, "missing_rate_", None),
            "missing_patterns": _pattern_state(getattr(self, "missing_patterns_", None)),
            "orders": getattr(self, "orders_", None),
        }

    @classmethod
    def _from_state(cls, state: dict) -> BayesClassifier:
        return classifier_from_state(cls, state)


def load(path, limits: LoadLimits | None = None) -> BayesClassifier | Density:
    """Load a model written by ``save``; never executes code from the file.

    Loading costs what the file declares, within ``limits``, checked before any array is
    decompressed or any object built.

    Parameters
    ----------
    path : str or os.PathLike
    limits : LoadLimits, optional
        Caps on what the file may declare: array bytes, elements, objects, references,
        manifest size and nesting (default ``LoadLimits()``, 2 GiB of arrays).  Raise them
        to load a bigger model you trust.

    Returns
    -------
    BayesClassifier or Density

    Raises
    ------
    ModelFileError
        Any failure while loading: a truncated, tampered, malformed or newer-format file, one
        that declares more than ``limits`` allow, or one that holds no bayesgen model.
    FileNotFoundError
        No file at ``path``.
    """
    obj, _manifest = load_object(path, limits)
    if not isinstance(obj, (BayesClassifier, Density)):
        raise ModelFileError(f"{str(path)!r} does not hold a bayesgen model")
    return obj


def read_metadata(path, limits: LoadLimits | None = None) -> dict:
    """The metadata a model file was saved with (``save(..., metadata=...)``; for models
    written by ``bayesgen fit``: the data's image shape, pixel scale, source format and
    feature names).  Reads only the JSON manifest; never executes code from the file.

    The metadata is checked against its schema (the keys ``bayesgen fit`` writes have fixed
    types) and, in files of format version 2, against the manifest's checksum.

    Parameters
    ----------
    path : str or os.PathLike
    limits : LoadLimits, optional
        As for :func:`load`.

    Raises
    ------
    ModelFileError
        A damaged or malformed file, or one that is not a bayesgen model file.
    FileNotFoundError
        No file at ``path``.
    """
    return read_manifest(path, limits).get("metadata", {})


def _is_missing_label(value) -> bool:
    """None, NaN, pandas' NA or NaT: a label not given."""
    import pandas as pd

    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def _pattern_state(patterns):
    return None if patterns is None else patterns.state()


@contextmanager
def _unchanged_on_error(estimator):
    """On an exception, put back the estimator's attributes as they were: a refit that
    fails part way (a class density that cannot be fitted, after the classes and the prior
    were set) leaves the previous model whole, not new classes beside old densities.  Fits
    assign new attributes, never change the old ones in place, so a shallow copy of the
    attributes suffices."""
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


def _with_columns_of(filled, X, observed):
    """The input table ``X`` with its empty modelled cells taken from the completed table
    ``filled``: observed cells stay exactly as given (a value outside the training range
    is not clipped, nor rounded to the training decimals), and so do the columns the model
    leaves out; ``X``'s column order.  ``observed`` marks the observed cells of ``filled``'s
    columns."""
    out = X.copy()
    for j, column in enumerate(filled.columns):
        missing = ~observed[:, j]
        if missing.any():
            out[column] = X[column].where(~missing, filled[column].to_numpy())
    return out
