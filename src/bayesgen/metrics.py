"""Judge generated data with numbers, each beside its real-vs-real floor.

A generated data set is good when a metric computed between generated and real data is as
small (or as large) as the same metric computed between two *disjoint real* sets of the same
size.  Every distribution metric in this module is therefore meant to be reported beside its
**floor**: the value it takes on real data against real data.  :func:`evaluate` does this for
a fitted model and returns an :class:`EvaluationReport` whose :meth:`~EvaluationReport.to_dict`
records every setting (feature space, k, n, seed) and whose
:meth:`~EvaluationReport.format_table` prints ``metric | generated | real-vs-real floor |
unit``.

Metrics (pure functions on arrays; each returns a small frozen dataclass with a ``to_dict``):

* :func:`log_likelihood_report` -- held-out log-likelihood in nats per sample, nats per
  dimension and bits per dimension, optionally converted to the 8-bit (0-256) pixel scale.
* :func:`classification_report` -- accuracy, per-class accuracy (recall), confusion matrix.
* :func:`fit_reference_classifier` and :func:`label_fidelity` -- does an independent
  classifier, trained on real data, agree with the label each sample was generated for?
* :func:`tstr` -- train on synthetic, test on real, against train on real, test on real.
* :func:`frechet_distance` -- Frechet distance between Gaussians fitted to features in a
  *named* feature space (:class:`PCAFeatures`, :class:`ClassifierFeatures`,
  :class:`IdentityFeatures`).  It is never called FID: FID means Inception features.
* :func:`precision_recall` (Kynkaanniemi et al. 2019) and :func:`density_coverage`
  (Naeem et al. 2020) from k-nearest-neighbour balls.
* :func:`ndb` -- number of statistically different bins (Richardson and Weiss 2018) and the
  Jensen-Shannon divergence between the bin histograms.
* :func:`memorisation` -- nearest-training-record distances of generated samples against
  those of held-out real records, and exact copies.

All pairwise-distance work runs in blocks (:func:`nearest_neighbour_distances`,
:func:`count_in_balls`), so memory stays bounded (about ``batch_size * 8192`` doubles) for
any number of rows.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state

__all__ = [
    "ClassificationReport",
    "ClassifierFeatures",
    "DensityCoverageResult",
    "EvaluationReport",
    "FeatureSpace",
    "FrechetResult",
    "IdentityFeatures",
    "LabelFidelityReport",
    "LogLikelihoodReport",
    "MemorisationResult",
    "NDBResult",
    "PCAFeatures",
    "PrecisionRecallResult",
    "TSTRReport",
    "classification_report",
    "count_in_balls",
    "density_coverage",
    "evaluate",
    "fit_reference_classifier",
    "frechet_distance",
    "frechet_distance_gaussian",
    "knn_radii",
    "label_fidelity",
    "log_likelihood_report",
    "make_feature_space",
    "memorisation",
    "ndb",
    "nearest_neighbour_distances",
    "pairwise_sq_distances",
    "precision_recall",
    "tstr",
]

#: Columns of the second operand processed at once by the blocked distance kernels.
_COL_BLOCK = 8192
#: Default number of rows of the first operand processed at once.
DEFAULT_BATCH_SIZE = 1024
_MAX_SEED = 2**31 - 1


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _jsonable(obj):
    """Convert numpy scalars/arrays, dataclasses and containers into JSON-able values."""
    if isinstance(obj, _Result):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()] if obj.ndim else _jsonable(obj.item())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    return str(obj)


class _Result:
    """Mixin: ``to_dict`` for the frozen result dataclasses (JSON-able, big arrays skipped)."""

    def to_dict(self) -> dict:
        """Return the result as a JSON-able dict (numpy values become Python values).

        Non-finite floats become ``None``; per-sample arrays (marked ``json=False``) are left
        out so the dict stays small.
        """
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("json", True)
        }


def _describe_seed(random_state):
    """Record a ``random_state`` argument in a JSON-able, honest way."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    return f"{type(random_state).__name__} (stream position not recorded)"


def _seed_from(rng: np.random.Generator) -> int:
    """Draw an int seed for scikit-learn estimators from a numpy Generator."""
    return int(rng.integers(0, _MAX_SEED))


def _as_2d(X, name: str) -> np.ndarray:
    """Return ``X`` as a finite float64 array of shape (n, d) with n >= 1."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} must be a numeric array of shape (n_samples, n_features); could not "
            f"convert it to float ({exc}). Pass a numeric numpy array."
        ) from exc
    if arr.ndim != 2:
        raise DataError(
            f"{name} must be 2-D (n_samples, n_features); got an array with shape "
            f"{arr.shape}. Reshape it, e.g. X.reshape(len(X), -1)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"{name} is empty (shape {arr.shape}); pass at least one row and column.")
    if not np.all(np.isfinite(arr)):
        raise DataError(
            f"{name} contains NaN or infinite values; remove or impute them before evaluating."
        )
    return arr


def _same_width(A: np.ndarray, B: np.ndarray, na: str, nb: str) -> None:
    if A.shape[1] != B.shape[1]:
        raise DataError(
            f"{na} has {A.shape[1]} features but {nb} has {B.shape[1]}; both must live in the "
            "same space (transform both with the same feature space)."
        )


def _as_labels(y, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        arr = arr.ravel() if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise DataError(f"{name} must be 1-D (n_samples,); got shape {np.shape(y)}.")
    if n is not None and arr.shape[0] != n:
        raise DataError(
            f"{name} has {arr.shape[0]} labels but the data has {n} rows; pass one label per row."
        )
    return arr


def _label_index(values: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    """Positions of ``values`` inside ``labels`` (vectorised); DataError for unknown labels."""
    sorter = np.argsort(labels, kind="stable")
    pos = np.searchsorted(labels, values, sorter=sorter)
    pos = np.clip(pos, 0, len(labels) - 1)
    idx = sorter[pos]
    bad = labels[idx] != values
    if np.any(bad):
        raise DataError(
            f"{name} contains labels not in `labels` (e.g. {values[bad][0]!r}); expected one "
            f"of {labels.tolist()[:20]}. Pass labels=None to use every label seen."
        )
    return idx


def _subsample(n: int, m: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of a random subset of size ``min(n, m)`` (all rows, in order, if m >= n)."""
    if m is None or m >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=m, replace=False))


# --------------------------------------------------------------------------------------------
# 1. held-out log-likelihood
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLikelihoodReport(_Result):
    """Held-out log-likelihood with explicit units.

    Attributes
    ----------
    n_samples, n_features : int
        Number of scored rows ``n`` and dimension ``d``.
    mean_log_likelihood : float
        Mean of ``log p(x)`` in **nats per sample** on the scale the model was fitted on
        (higher is better).
    sem_log_likelihood : float
        Standard error of that mean (nats per sample); NaN when ``n == 1``.
    log_likelihood_per_dim : float
        ``mean_log_likelihood / d`` in nats per dimension.
    bits_per_dim : float
        Negative log-likelihood in bits per dimension on the data's own scale,
        ``-mean_log_likelihood / (d ln 2)`` (lower is better).
    pixel_scale : float or None
        The divisor ``s`` with ``x = pixel / s`` (256 or 255 for 8-bit data), or None.
    mean_log_likelihood_8bit, bits_per_dim_8bit : float or None
        The same on the dequantised 0-256 pixel scale (``log p(x) - d log s``); only when
        ``pixel_scale`` is given.  ``bits_per_dim_8bit`` is the number papers report.
    units : dict
        The unit and convention of every number above.
    """

    n_samples: int
    n_features: int
    mean_log_likelihood: float
    sem_log_likelihood: float
    log_likelihood_per_dim: float
    bits_per_dim: float
    pixel_scale: float | None
    mean_log_likelihood_8bit: float | None
    bits_per_dim_8bit: float | None
    units: dict


def log_likelihood_report(log_density, n_features, pixel_scale=None) -> LogLikelihoodReport:
    """Summarise held-out log-densities in nats and bits, with the units stated.

    Parameters
    ----------
    log_density : array-like of shape (n,)
        ``log p(x)`` of held-out rows in nats, e.g. ``model.score_samples(X_test)``.
    n_features : int
        Dimension ``d`` of each row.
    pixel_scale : float, optional
        For 8-bit image data: the divisor ``s`` used to scale pixels, ``x = pixel / s``.
        Use ``256`` when the model was fitted on uniformly dequantised data
        ``x = (pixel + u) / 256``, ``u ~ U[0, 1)``, so that ``x`` lies in ``[0, 1]``; ``255``
        for ``x = pixel / 255``; ``1`` when the model saw raw 0-255 values.

    Returns
    -------
    LogLikelihoodReport

    Notes
    -----
    Change of variables: if ``x = v / s`` with ``v`` on the 0-256 pixel scale, then
    ``p_v(v) = p_x(x) / s**d``, so the log-density on the 0-256 scale is
    ``log p_x(x) - d log s`` (for ``s = 256``: shift by ``-d log 256``) and

    ``bits/dim = -(mean log p_x(x) - d log s) / (d ln 2)``.

    Check: the uniform density on ``[0, 1]**d`` has ``log p_x = 0`` and gives exactly 8 bits
    per dimension for ``s = 256`` -- the cost of storing the raw bytes.  The 8-bit number is
    an upper bound on the discrete negative log-likelihood (comparable with published
    bits/dim) only when the model was fitted to *dequantised* data; a continuous density
    fitted to the raw integer values can put unbounded density on them (constant pixels,
    tiny variances), and its bits/dim can then be meaningless or negative.
    """
    ld = np.asarray(log_density, dtype=np.float64).ravel()
    if ld.size == 0:
        raise DataError("log_density is empty; pass one log-density per held-out row.")
    if np.any(np.isnan(ld)):
        raise DataError(
            "log_density contains NaN; the model could not score some rows. Check the input "
            "for NaN values or a model fitted with reg_covar too small."
        )
    d = int(n_features)
    if d < 1:
        raise DataError(f"n_features must be a positive integer; got {n_features!r}.")
    n = ld.size
    mean = float(np.mean(ld))
    sem = (
        float(np.std(ld, ddof=1) / math.sqrt(n))
        if n > 1 and np.all(np.isfinite(ld))
        else (float("nan") if n == 1 else float("inf"))
    )
    bpd = -mean / (d * math.log(2.0))
    mean8 = bpd8 = None
    scale = None
    if pixel_scale is not None:
        scale = float(pixel_scale)
        if not (scale > 0 and math.isfinite(scale)):
            raise DataError(
                f"pixel_scale must be a positive number (256, 255 or 1); got {pixel_scale!r}."
            )
        mean8 = mean - d * math.log(scale)
        bpd8 = -mean8 / (d * math.log(2.0))
    units = {
        "mean_log_likelihood": "nats per sample, log p(x) on the fitted data scale",
        "sem_log_likelihood": "nats per sample (standard error of the mean)",
        "log_likelihood_per_dim": "nats per dimension (mean log p(x) / d)",
        "bits_per_dim": "bits per dimension, -mean log2 p(x) / d on the fitted data scale",
    }
    if scale is not None:
        units["mean_log_likelihood_8bit"] = (
            f"nats per sample on the 0-256 pixel scale: log p(x) - d*ln({scale:g})"
        )
        units["bits_per_dim_8bit"] = (
            f"bits per dimension on the 0-256 pixel scale: "
            f"-(mean log p(x) - d*ln({scale:g})) / (d*ln 2)"
        )
    return LogLikelihoodReport(
        n_samples=n,
        n_features=d,
        mean_log_likelihood=mean,
        sem_log_likelihood=sem,
        log_likelihood_per_dim=mean / d,
        bits_per_dim=bpd,
        pixel_scale=scale,
        mean_log_likelihood_8bit=mean8,
        bits_per_dim_8bit=bpd8,
        units=units,
    )


# --------------------------------------------------------------------------------------------
# 2. classification accuracy and confusion matrix
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassificationReport(_Result):
    """Accuracy, per-class accuracy (recall) and confusion matrix.

    Attributes
    ----------
    accuracy : float
        Fraction of rows with ``y_pred == y_true``.
    labels : ndarray of shape (n_labels,)
        Row/column order of the confusion matrix.
    per_class_accuracy : ndarray of shape (n_labels,)
        Recall of each true class (NaN for a class with no rows).
    support : ndarray of shape (n_labels,)
        Number of rows of each true class.
    confusion : ndarray of shape (n_labels, n_labels)
        ``confusion[i, j]`` counts rows of true class ``labels[i]`` predicted as ``labels[j]``.
    n_samples : int
    """

    accuracy: float
    labels: np.ndarray
    per_class_accuracy: np.ndarray
    support: np.ndarray
    confusion: np.ndarray
    n_samples: int


def classification_report(y_true, y_pred, labels=None) -> ClassificationReport:
    """Accuracy, per-class accuracy (recall) and confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels.
    labels : array-like of shape (n_labels,), optional
        Order of the classes; default: every label in either array, sorted.

    Returns
    -------
    ClassificationReport
    """
    yt = _as_labels(y_true, "y_true")
    yp = _as_labels(y_pred, "y_pred", len(yt))
    if len(yt) == 0:
        raise DataError("y_true is empty; pass at least one label.")
    if labels is None:
        labs = np.unique(np.concatenate([yt, yp]))
    else:
        labs = np.asarray(labels).ravel()
        if len(labs) == 0 or len(np.unique(labs)) != len(labs):
            raise DataError(f"labels must be non-empty and distinct; got {labs.tolist()}.")
    ti = _label_index(yt, labs, "y_true")
    pi = _label_index(yp, labs, "y_pred")
    k = len(labs)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k).astype(np.int64)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    return ClassificationReport(
        accuracy=float(np.mean(ti == pi)),
        labels=labs,
        per_class_accuracy=per_class,
        support=support,
        confusion=cm,
        n_samples=len(yt),
    )


# --------------------------------------------------------------------------------------------
# 3. reference classifier and label fidelity
# --------------------------------------------------------------------------------------------


def fit_reference_classifier(
    X_train,
    y_train,
    kind="logistic",
    random_state=None,
    *,
    max_train=20000,
    hidden_units=128,
    std_floor=0.1,
):
    """Fit an independent classifier on REAL training data (to judge generated labels).

    Parameters
    ----------
    X_train : array-like of shape (n, d)
        Real training rows.
    y_train : array-like of shape (n,)
        Their labels.
    kind : {"logistic", "mlp"}
        ``"logistic"``: standardisation + multinomial ``LogisticRegression`` (lbfgs,
        ``C=0.1``, ``max_iter=1000``).  ``"mlp"``: standardisation + ``MLPClassifier`` with one
        hidden layer of ``hidden_units`` ReLU units and early stopping.
    random_state : None, int or numpy.random.Generator
        Seeds the subsample and the estimator.
    max_train : int or None, default 20000
        Fit on a random subsample of at most this many rows (None: all rows).  On 2 idle
        cores a 20000 x 784 fit takes roughly 10-15 s for either kind.
    hidden_units : int, default 128
        Width of the MLP's hidden layer.
    std_floor : float, default 0.1
        Standardisation divides each feature by ``max(std_j, std_floor * rms_std)`` where
        ``rms_std`` is the root-mean-square of the feature standard deviations.  Without
        this floor, near-constant real features (image borders, dequantisation noise) get
        huge weights after standardisation, and small off-manifold noise in generated rows
        is amplified by ``1 / std_j``: on MNIST with a full-covariance Gaussian generator,
        label fidelity drops from 0.85 (floored) to 0.18 (plain standardisation) while real
        accuracy is unchanged.  ``0`` gives plain standardisation.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted ``StandardScaler -> classifier`` pipeline with ``predict``, ``score`` and
        ``classes_``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X = _as_2d(X_train, "X_train")
    y = _as_labels(y_train, "y_train", len(X))
    if len(np.unique(y)) < 2:
        raise DataError(
            f"the reference classifier needs at least two classes in y_train; found "
            f"{np.unique(y).tolist()}. Pass labelled real data with several classes."
        )
    floor = float(std_floor)
    if not floor >= 0:
        raise ValueError(f"std_floor must be >= 0; got {std_floor!r}.")
    rng = check_random_state(random_state)
    idx = _subsample(len(X), max_train, rng)
    seed = _seed_from(rng)
    if kind == "logistic":
        clf = LogisticRegression(C=0.1, solver="lbfgs", max_iter=1000, random_state=seed)
    elif kind == "mlp":
        clf = MLPClassifier(
            hidden_layer_sizes=(int(hidden_units),),
            early_stopping=True,
            max_iter=200,
            random_state=seed,
        )
    else:
        raise ValueError(f"kind must be 'logistic' or 'mlp'; got {kind!r}.")
    Xs, ys = X[idx], y[idx]
    scaler = StandardScaler().fit(Xs)
    scaler.scale_ = np.maximum(scaler.scale_, floor * math.sqrt(float(np.mean(scaler.var_))))
    clf.fit(scaler.transform(Xs), ys)
    return Pipeline([("standardscaler", scaler), (type(clf).__name__.lower(), clf)])


@dataclass(frozen=True)
class LabelFidelityReport(_Result):
    """Agreement of a real-data reference classifier with the labels samples were made for.

    Attributes
    ----------
    generated : ClassificationReport
        Reference predictions on generated rows against their generation labels.
    floor : ClassificationReport or None
        Reference predictions on held-out REAL rows against their true labels (the floor:
        generated data cannot be expected to be more recognisable than real data).
    reference : str
        Description of the reference classifier.
    """

    generated: ClassificationReport
    floor: ClassificationReport | None
    reference: str

    @property
    def accuracy(self) -> float:
        """Label fidelity of the generated rows (fraction)."""
        return self.generated.accuracy

    @property
    def floor_accuracy(self) -> float | None:
        """Reference accuracy on held-out real rows (fraction), or None."""
        return None if self.floor is None else self.floor.accuracy


def _describe_estimator(est) -> str:
    steps = getattr(est, "steps", None)
    if steps:
        return " -> ".join(type(s).__name__ for _, s in steps)
    return type(est).__name__


def label_fidelity(X_gen, y_gen, reference, *, X_holdout=None, y_holdout=None):
    """Accuracy of a reference classifier against the label each sample was generated for.

    Parameters
    ----------
    X_gen : array-like of shape (n, d)
        Generated rows.
    y_gen : array-like of shape (n,)
        The class each row was generated for.
    reference : fitted classifier
        Trained on REAL data only (see :func:`fit_reference_classifier`).
    X_holdout, y_holdout : array-like of shape (m, d) and (m,), optional
        Held-out real rows; the reference's accuracy on them is the floor.

    Returns
    -------
    LabelFidelityReport
    """
    X = _as_2d(X_gen, "X_gen")
    y = _as_labels(y_gen, "y_gen", len(X))
    classes = np.asarray(getattr(reference, "classes_", np.unique(y)))
    pred = reference.predict(X)
    labels = np.unique(np.concatenate([classes, y, np.asarray(pred)]))
    gen = classification_report(y, pred, labels)
    floor = None
    if X_holdout is not None:
        if y_holdout is None:
            raise DataError("X_holdout was given without y_holdout; pass both or neither.")
        Xh = _as_2d(X_holdout, "X_holdout")
        yh = _as_labels(y_holdout, "y_holdout", len(Xh))
        ph = reference.predict(Xh)
        labels_h = np.unique(np.concatenate([labels, yh, np.asarray(ph)]))
        floor = classification_report(yh, ph, labels_h)
    return LabelFidelityReport(generated=gen, floor=floor, reference=_describe_estimator(reference))


# --------------------------------------------------------------------------------------------
# 4. train on synthetic, test on real
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TSTRReport(_Result):
    """Train-on-synthetic/test-on-real against train-on-real/test-on-real.

    Attributes
    ----------
    tstr_accuracy : float
        Accuracy on the real test set of a classifier trained on synthetic rows.
    trtr_accuracy : float
        Same classifier, same training-set size, trained on real rows (the floor).
    ratio : float
        ``tstr_accuracy / trtr_accuracy`` (1 means synthetic data is as useful as real).
    n_train, n_test : int
    classifier : str
    random_state : int, str or None
    """

    tstr_accuracy: float
    trtr_accuracy: float
    ratio: float
    n_train: int
    n_test: int
    classifier: str
    random_state: int | str | None


def tstr(
    X_syn,
    y_syn,
    X_train_real,
    y_train_real,
    X_test,
    y_test,
    classifier="logistic",
    random_state=None,
    *,
    max_train=20000,
) -> TSTRReport:
    """Train on synthetic, test on real (TSTR) beside train on real, test on real (TRTR).

    Both classifiers are built by :func:`fit_reference_classifier` with the same ``kind``
    and trained on the same number of rows, ``min(len(X_syn), len(X_train_real),
    max_train)``.

    Parameters
    ----------
    X_syn, y_syn : array-like of shape (n_syn, d), (n_syn,)
        Synthetic rows and their labels.
    X_train_real, y_train_real : array-like of shape (n_real, d), (n_real,)
        Real training rows.
    X_test, y_test : array-like of shape (n_test, d), (n_test,)
        Real test rows (disjoint from both training sets).
    classifier : {"logistic", "mlp"}
    random_state : None, int or numpy.random.Generator
    max_train : int or None, default 20000

    Returns
    -------
    TSTRReport
    """
    Xs = _as_2d(X_syn, "X_syn")
    ys = _as_labels(y_syn, "y_syn", len(Xs))
    Xr = _as_2d(X_train_real, "X_train_real")
    yr = _as_labels(y_train_real, "y_train_real", len(Xr))
    Xt = _as_2d(X_test, "X_test")
    yt = _as_labels(y_test, "y_test", len(Xt))
    _same_width(Xs, Xr, "X_syn", "X_train_real")
    _same_width(Xs, Xt, "X_syn", "X_test")
    rng = check_random_state(random_state)
    n = min(len(Xs), len(Xr), max_train if max_train is not None else len(Xs))
    i_s = _subsample(len(Xs), n, rng)
    i_r = _subsample(len(Xr), n, rng)
    seed = _seed_from(rng)
    syn = fit_reference_classifier(Xs[i_s], ys[i_s], classifier, seed, max_train=None)
    real = fit_reference_classifier(Xr[i_r], yr[i_r], classifier, seed, max_train=None)
    a_syn = float(np.mean(syn.predict(Xt) == yt))
    a_real = float(np.mean(real.predict(Xt) == yt))
    return TSTRReport(
        tstr_accuracy=a_syn,
        trtr_accuracy=a_real,
        ratio=a_syn / a_real if a_real > 0 else float("nan"),
        n_train=int(n),
        n_test=len(Xt),
        classifier=classifier,
        random_state=_describe_seed(random_state),
    )


# --------------------------------------------------------------------------------------------
# feature spaces
# --------------------------------------------------------------------------------------------


class FeatureSpace:
    """A named map from input rows to feature vectors, fitted on REAL training data.

    Subclasses set :attr:`name` (used in every metric's name, e.g.
    ``"Frechet distance (pca-50)"``) and implement :meth:`fit` and :meth:`transform`.
    """

    name: str = "feature-space"

    def fit(self, X, y=None, *, random_state=None):
        """Fit on real training rows ``X`` of shape (n, d); return self."""
        return self

    def transform(self, X) -> np.ndarray:
        """Map rows of shape (n, d) to features of shape (n, k)."""
        raise NotImplementedError

    def fit_transform(self, X, y=None, *, random_state=None) -> np.ndarray:
        """``fit(X, y).transform(X)``."""
        return self.fit(X, y, random_state=random_state).transform(X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class IdentityFeatures(FeatureSpace):
    """The input space itself (name ``"input"``)."""

    name = "input"

    def transform(self, X) -> np.ndarray:
        """Return ``X`` as float64 of shape (n, d)."""
        return _as_2d(X, "X")


class PCAFeatures(FeatureSpace):
    """Principal components of real training data (name ``"pca-<n_components>"``).

    Parameters
    ----------
    n_components : int, default 50
        Number of components; capped at ``min(n_rows, n_features)`` when fitting, and the
        name then reports the number actually used.
    max_train : int or None, default 20000
        Fit on a random subsample of at most this many rows.
    """

    def __init__(self, n_components=50, *, max_train=20000):
        self.n_components = int(n_components)
        self.max_train = max_train
        self.pca_ = None

    @property
    def name(self) -> str:  # noqa: D401 - property
        """``"pca-<k>"`` with k the number of components (after fitting: actually used)."""
        k = self.pca_.n_components_ if self.pca_ is not None else self.n_components
        return f"pca-{k}"

    def fit(self, X, y=None, *, random_state=None):
        """Fit the principal axes on real rows ``X`` of shape (n, d)."""
        from sklearn.decomposition import PCA

        X = _as_2d(X, "X")
        rng = check_random_state(random_state)
        idx = _subsample(len(X), self.max_train, rng)
        k = min(self.n_components, len(idx), X.shape[1])
        if k < 1:
            raise DataError("PCAFeatures needs at least one row and one feature to fit.")
        self.pca_ = PCA(n_components=k, svd_solver="covariance_eigh").fit(X[idx])
        return self

    def transform(self, X) -> np.ndarray:
        """Project rows of shape (n, d) to (n, k) principal-component scores."""
        if self.pca_ is None:
            raise NotFittedError("PCAFeatures is not fitted; call fit(X_train_real) first.")
        return self.pca_.transform(_as_2d(X, "X"))


class ClassifierFeatures(FeatureSpace):
    """Hidden-layer activations of a fitted MLP (name ``"mlp-hidden-<units>"``).

    Parameters
    ----------
    mlp : fitted MLPClassifier or Pipeline ending in one
        E.g. ``fit_reference_classifier(X, y, kind="mlp")``.  Preceding pipeline steps
        (standardisation) are applied first; the activations of the LAST hidden layer are
        the features.
    """

    def __init__(self, mlp):
        steps = getattr(mlp, "steps", None)
        last = steps[-1][1] if steps else mlp
        if not hasattr(last, "coefs_"):
            raise NotFittedError(
                "ClassifierFeatures needs a FITTED MLPClassifier (or a pipeline ending in "
                f"one); got {type(last).__name__} without coefs_. Fit it first, e.g. with "
                "fit_reference_classifier(X, y, kind='mlp')."
            )
        self.mlp = mlp
        self._pre = [s for _, s in steps[:-1]] if steps else []
        self._net = last

    @property
    def name(self) -> str:  # noqa: D401 - property
        """``"mlp-hidden-<units>"`` with the width of the last hidden layer."""
        return f"mlp-hidden-{self._net.coefs_[-2].shape[1]}"

    def fit(self, X, y=None, *, random_state=None):
        """No-op: the MLP is already fitted on real data."""
        return self

    def transform(self, X) -> np.ndarray:
        """Last-hidden-layer activations, shape (n, units)."""
        H = _as_2d(X, "X")
        for step in self._pre:
            H = step.transform(H)
        act = self._net.activation
        for W, b in zip(self._net.coefs_[:-1], self._net.intercepts_[:-1], strict=True):
            H = H @ W + b
            if act == "relu":
                np.maximum(H, 0.0, out=H)
            elif act == "tanh":
                np.tanh(H, out=H)
            elif act == "logistic":
                H = 0.5 * (1.0 + np.tanh(0.5 * H))
        return np.asarray(H, dtype=np.float64)


def make_feature_space(spec) -> FeatureSpace:
    """Build an UNFITTED feature space from its name.

    Parameters
    ----------
    spec : str or FeatureSpace
        ``"pca-<k>"`` (e.g. ``"pca-50"``), ``"input"`` or a :class:`FeatureSpace` (returned
        as is).  ``"mlp-hidden-<k>"`` needs a fitted MLP: build it with
        ``ClassifierFeatures(fit_reference_classifier(X, y, kind="mlp", hidden_units=k))``
        (:func:`evaluate` does this for you).

    Returns
    -------
    FeatureSpace
    """
    if isinstance(spec, FeatureSpace):
        return spec
    s = str(spec).strip().lower()
    if s in ("input", "identity", "raw"):
        return IdentityFeatures()
    if s.startswith("pca-") and s[4:].isdigit() and int(s[4:]) > 0:
        return PCAFeatures(int(s[4:]))
    raise ValueError(
        f"unknown feature space {spec!r}; use 'pca-<k>' (e.g. 'pca-50'), 'mlp-hidden-<k>' "
        "(in evaluate) or 'input', or pass a FeatureSpace object."
    )


def _parse_mlp_space(spec) -> int | None:
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s.startswith("mlp-hidden-") and s[11:].isdigit() and int(s[11:]) > 0:
            return int(s[11:])
    return None


# --------------------------------------------------------------------------------------------
# blocked distance kernels
# --------------------------------------------------------------------------------------------


def pairwise_sq_distances(A, B) -> np.ndarray:
    """Squared Euclidean distances, unbatched: ``|a|^2 + |b|^2 - 2 a.b`` clamped at 0.

    Parameters
    ----------
    A : array-like of shape (n, d)
    B : array-like of shape (m, d)

    Returns
    -------
    ndarray of shape (n, m)
        Memory is ``n * m`` doubles; use :func:`nearest_neighbour_distances` or
        :func:`count_in_balls` for large inputs.
    """
    A = _as_2d(A, "A")
    B = _as_2d(B, "B")
    _same_width(A, B, "A", "B")
    return _sq_block(A, np.einsum("ij,ij->i", A, A), B, np.einsum("ij,ij->i", B, B))


def _sq_block(A, a2, B, b2) -> np.ndarray:
    D = A @ B.T
    D *= -2.0
    D += a2[:, None]
    D += b2[None, :]
    np.maximum(D, 0.0, out=D)
    return D


def _check_batch(batch_size) -> int:
    b = int(batch_size)
    if b < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    return b


def nearest_neighbour_distances(A, B, *, batch_size=DEFAULT_BATCH_SIZE):
    """Distance from each row of ``A`` to its nearest row of ``B``, in bounded memory.

    Rows of ``A`` are processed ``batch_size`` at a time against blocks of 8192 rows of
    ``B``; the distance to the chosen neighbour is then recomputed directly as
    ``||a - b||`` so exact copies give exactly 0.

    Parameters
    ----------
    A : array-like of shape (n, d)
    B : array-like of shape (m, d)
    batch_size : int, default 1024

    Returns
    -------
    distances : ndarray of shape (n,)
    indices : ndarray of shape (n,)
        Row of ``B`` nearest to each row of ``A``.
    """
    A = _as_2d(A, "A")
    B = _as_2d(B, "B")
    _same_width(A, B, "A", "B")
    bs = _check_batch(batch_size)
    a2 = np.einsum("ij,ij->i", A, A)
    b2 = np.einsum("ij,ij->i", B, B)
    dist = np.empty(len(A))
    index = np.empty(len(A), dtype=np.int64)
    for i in range(0, len(A), bs):
        Ai = A[i : i + bs]
        best = np.full(len(Ai), np.inf)
        arg = np.zeros(len(Ai), dtype=np.int64)
        for j in range(0, len(B), _COL_BLOCK):
            D = _sq_block(Ai, a2[i : i + bs], B[j : j + _COL_BLOCK], b2[j : j + _COL_BLOCK])
            jj = np.argmin(D, axis=1)
            v = D[np.arange(len(Ai)), jj]
            better = v < best
            best[better] = v[better]
            arg[better] = jj[better] + j
        diff = Ai - B[arg]
        dist[i : i + bs] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        index[i : i + bs] = arg
    return dist, index


def count_in_balls(Q, centres, radii, *, batch_size=DEFAULT_BATCH_SIZE) -> np.ndarray:
    """For each query, count the balls ``B(centre_j, radius_j)`` that contain it.

    A query ``q`` is inside ball ``j`` when ``||q - centre_j|| <= radius_j``.  Computed in
    blocks of ``batch_size`` queries x 8192 centres (bounded memory).

    Parameters
    ----------
    Q : array-like of shape (n, d)
    centres : array-like of shape (m, d)
    radii : array-like of shape (m,)
    batch_size : int, default 1024

    Returns
    -------
    ndarray of shape (n,), int64
    """
    Q = _as_2d(Q, "Q")
    C = _as_2d(centres, "centres")
    _same_width(Q, C, "Q", "centres")
    r = np.asarray(radii, dtype=np.float64).ravel()
    if r.shape[0] != C.shape[0]:
        raise DataError(f"radii has {r.shape[0]} entries for {C.shape[0]} centres; pass one each.")
    bs = _check_batch(batch_size)
    r2 = r * r
    q2 = np.einsum("ij,ij->i", Q, Q)
    c2 = np.einsum("ij,ij->i", C, C)
    counts = np.zeros(len(Q), dtype=np.int64)
    for i in range(0, len(Q), bs):
        for j in range(0, len(C), _COL_BLOCK):
            D = _sq_block(
                Q[i : i + bs], q2[i : i + bs], C[j : j + _COL_BLOCK], c2[j : j + _COL_BLOCK]
            )
            counts[i : i + bs] += np.count_nonzero(D <= r2[None, j : j + _COL_BLOCK], axis=1)
    return counts


def knn_radii(X, k) -> np.ndarray:
    """Distance from each row of ``X`` to its k-th nearest OTHER row.

    Parameters
    ----------
    X : array-like of shape (n, d), n > k
    k : int

    Returns
    -------
    ndarray of shape (n,)
    """
    from sklearn.neighbors import NearestNeighbors

    X = _as_2d(X, "X")
    k = int(k)
    if k < 1 or len(X) <= k:
        raise DataError(
            f"k-nearest-neighbour radii need 1 <= k < n_rows; got k={k} with {len(X)} rows. "
            "Pass more rows or a smaller k."
        )
    d, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return d[:, k]  # column 0 is the row itself (or an exact duplicate, also at distance 0)


# --------------------------------------------------------------------------------------------
# 5. Frechet distance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrechetResult(_Result):
    """Frechet distance between Gaussians fitted to real and generated features.

    Attributes
    ----------
    name : str
        E.g. ``"Frechet distance (pca-50)"``.
    value : float
        ``||mu_r - mu_g||^2 + tr(C_r + C_g - 2 (C_r^1/2 C_g C_r^1/2)^1/2)`` in squared
        feature units.
    feature_space : str
    n_real, n_gen : int
    """

    name: str
    value: float
    feature_space: str
    n_real: int
    n_gen: int

    def __float__(self) -> float:
        return float(self.value)


def _sqrtm_psd(C: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(0.5 * (C + C.T))
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def frechet_distance_gaussian(mu1, cov1, mu2, cov2) -> float:
    """Frechet (2-Wasserstein squared) distance between two Gaussians, from their moments.

    ``||mu1 - mu2||^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2)``.  The trace term
    uses the symmetric form, computed with two symmetric eigendecompositions (tiny negative
    eigenvalues clamped to 0), so it is real and stable even for singular covariances.

    Parameters
    ----------
    mu1, mu2 : array-like of shape (d,)
    cov1, cov2 : array-like of shape (d, d)

    Returns
    -------
    float
        Non-negative distance in squared units of the features.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    C1 = np.atleast_2d(np.asarray(cov1, dtype=np.float64))
    C2 = np.atleast_2d(np.asarray(cov2, dtype=np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or C1.shape != (d, d) or C2.shape != (d, d):
        raise DataError(
            f"inconsistent shapes: mu1 {mu1.shape}, mu2 {mu2.shape}, cov1 {C1.shape}, cov2 "
            f"{C2.shape}; expected (d,), (d,), (d, d), (d, d)."
        )
    s1 = _sqrtm_psd(C1)
    M = s1 @ C2 @ s1
    w = np.linalg.eigvalsh(0.5 * (M + M.T))
    tr_sqrt = float(np.sum(np.sqrt(np.clip(w, 0.0, None))))
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(C1) + np.trace(C2) - 2.0 * tr_sqrt)
    return max(value, 0.0)


def _moments(F: np.ndarray):
    mu = F.mean(axis=0)
    C = np.atleast_2d(np.cov(F, rowvar=False)) if len(F) > 1 else np.zeros((F.shape[1],) * 2)
    return mu, C


def frechet_distance(F_real, F_gen, *, feature_space="input") -> FrechetResult:
    """Frechet distance between Gaussians fitted to two feature sets.

    Parameters
    ----------
    F_real : array-like of shape (n_real, k)
        Real rows ALREADY mapped into the feature space.
    F_gen : array-like of shape (n_gen, k)
        Generated rows mapped into the same feature space.
    feature_space : str or FeatureSpace, default "input"
        Only names the result (``"Frechet distance (<name>)"``); no transform is applied.

    Returns
    -------
    FrechetResult
        ``float(result)`` is the distance.  The estimate is biased upwards at small n, so
        compare it with its real-vs-real floor computed at the same n.

    Notes
    -----
    The distance sees only means and covariances.  A generator that matches the first two
    moments of the features -- e.g. Gaussian class-conditional densities in a linear
    (PCA) feature space -- sits at the floor however unrealistic its individual samples
    are; read it together with :func:`precision_recall` and :func:`density_coverage`.
    """
    R = _as_2d(F_real, "F_real")
    G = _as_2d(F_gen, "F_gen")
    _same_width(R, G, "F_real", "F_gen")
    name = feature_space.name if isinstance(feature_space, FeatureSpace) else str(feature_space)
    mr, cr = _moments(R)
    mg, cg = _moments(G)
    return FrechetResult(
        name=f"Frechet distance ({name})",
        value=frechet_distance_gaussian(mr, cr, mg, cg),
        feature_space=name,
        n_real=len(R),
        n_gen=len(G),
    )


# --------------------------------------------------------------------------------------------
# 6. precision/recall and density/coverage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrecisionRecallResult(_Result):
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Attributes
    ----------
    precision : float
        Fraction of generated rows inside the real manifold (union of real k-NN balls).
    recall : float
        Fraction of real rows inside the generated manifold.
    k : int
    feature_space : str
    n_real, n_gen : int
    """

    precision: float
    recall: float
    k: int
    feature_space: str
    n_real: int
    n_gen: int


@dataclass(frozen=True)
class DensityCoverageResult(_Result):
    """Density and coverage (Naeem et al. 2020).

    Attributes
    ----------
    density : float
        ``(1 / (k m)) sum_j #{i : g_j in B(r_i, NND_k(r_i))}``; about 1 when generated rows
        are distributed like real ones, above 1 when they crowd dense real regions.
    coverage : float
        Fraction of real rows whose k-NN ball contains at least one generated row.
    k : int
    feature_space : str
    n_real, n_gen : int
    """

    density: float
    coverage: float
    k: int
    feature_space: str
    n_real: int
    n_gen: int


def _space_name(feature_space) -> str:
    return feature_space.name if isinstance(feature_space, FeatureSpace) else str(feature_space)


def precision_recall(
    F_real, F_gen, *, k=3, feature_space="input", batch_size=DEFAULT_BATCH_SIZE
) -> PrecisionRecallResult:
    """Improved precision and recall with k-nearest-neighbour manifolds.

    Parameters
    ----------
    F_real : array-like of shape (n_real, p)
        Real features.
    F_gen : array-like of shape (n_gen, p)
        Generated features in the same space.
    k : int, default 3
        Neighbour rank defining each ball's radius (the paper's choice).
    feature_space : str or FeatureSpace
        Names the space in the result (no transform is applied).
    batch_size : int, default 1024
        Rows per block in the membership tests.

    Returns
    -------
    PrecisionRecallResult
    """
    R = _as_2d(F_real, "F_real")
    G = _as_2d(F_gen, "F_gen")
    _same_width(R, G, "F_real", "F_gen")
    r_real = knn_radii(R, k)
    r_gen = knn_radii(G, k)
    precision = float(np.mean(count_in_balls(G, R, r_real, batch_size=batch_size) > 0))
    recall = float(np.mean(count_in_balls(R, G, r_gen, batch_size=batch_size) > 0))
    return PrecisionRecallResult(
        precision=precision,
        recall=recall,
        k=int(k),
        feature_space=_space_name(feature_space),
        n_real=len(R),
        n_gen=len(G),
    )


def density_coverage(
    F_real, F_gen, *, k=5, feature_space="input", batch_size=DEFAULT_BATCH_SIZE
) -> DensityCoverageResult:
    """Density and coverage with k-nearest-neighbour balls around REAL rows.

    Parameters
    ----------
    F_real : array-like of shape (n_real, p)
    F_gen : array-like of shape (n_gen, p)
    k : int, default 5
        The paper's choice.
    feature_space : str or FeatureSpace
        Names the space in the result.
    batch_size : int, default 1024

    Returns
    -------
    DensityCoverageResult
    """
    R = _as_2d(F_real, "F_real")
    G = _as_2d(F_gen, "F_gen")
    _same_width(R, G, "F_real", "F_gen")
    r_real = knn_radii(R, k)
    counts = count_in_balls(G, R, r_real, batch_size=batch_size)
    nn, _ = nearest_neighbour_distances(R, G, batch_size=batch_size)
    return DensityCoverageResult(
        density=float(counts.sum() / (int(k) * len(G))),
        coverage=float(np.mean(nn <= r_real)),
        k=int(k),
        feature_space=_space_name(feature_space),
        n_real=len(R),
        n_gen=len(G),
    )


# --------------------------------------------------------------------------------------------
# 7. NDB
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NDBResult(_Result):
    """Number of statistically different bins (Richardson and Weiss 2018).

    Attributes
    ----------
    n_bins : int
        K, the number of k-means bins fitted on the real training rows.
    n_different : int
        NDB: bins whose proportions differ at level ``alpha`` (two-sided two-proportion
        z-test with pooled proportion).
    ndb_fraction : float
        NDB / K.  For two samples of one distribution it is about ``alpha``.
    alpha : float
    js_divergence : float
        Jensen-Shannon divergence between the two bin histograms, in **bits** (in [0, 1]).
    proportions_real, proportions_other : ndarray of shape (K,)
    z : ndarray of shape (K,)
        z statistic per bin (positive: the other set has too few rows in the bin).
    different : ndarray of shape (K,), bool
    n_real, n_other : int
    random_state : int, str or None
    """

    n_bins: int
    n_different: int
    ndb_fraction: float
    alpha: float
    js_divergence: float
    proportions_real: np.ndarray
    proportions_other: np.ndarray
    z: np.ndarray
    different: np.ndarray
    n_real: int
    n_other: int
    random_state: int | str | None


def _fit_bins(X: np.ndarray, n_bins: int, seed: int):
    from sklearn.cluster import KMeans

    n_bins = int(n_bins)
    if n_bins < 2 or n_bins > len(X):
        raise DataError(
            f"n_bins must be between 2 and the number of real rows ({len(X)}); got {n_bins}."
        )
    return KMeans(n_clusters=n_bins, n_init=2, max_iter=100, random_state=seed).fit(X)


def _ndb_compare(km, X_real, X_other, alpha, seed_desc) -> NDBResult:
    from scipy.stats import norm

    K = km.n_clusters
    c_real = np.bincount(km.predict(X_real), minlength=K).astype(np.float64)
    c_other = np.bincount(km.predict(X_other), minlength=K).astype(np.float64)
    n1, n2 = c_real.sum(), c_other.sum()
    p1, p2 = c_real / n1, c_other / n2
    pooled = (c_real + c_other) / (n1 + n2)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, (p1 - p2) / np.where(se > 0, se, 1.0), 0.0)
    different = np.abs(z) > norm.ppf(1.0 - alpha / 2.0)
    m = 0.5 * (p1 + p2)

    def _kl(p, q):
        nz = p > 0
        return float(np.sum(p[nz] * np.log2(p[nz] / q[nz])))

    js = 0.5 * _kl(p1, m) + 0.5 * _kl(p2, m)
    n_diff = int(np.count_nonzero(different))
    return NDBResult(
        n_bins=K,
        n_different=n_diff,
        ndb_fraction=n_diff / K,
        alpha=float(alpha),
        js_divergence=max(js, 0.0),
        proportions_real=p1,
        proportions_other=p2,
        z=z,
        different=different,
        n_real=int(n1),
        n_other=int(n2),
        random_state=seed_desc,
    )


def _check_alpha(alpha) -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    return a


def ndb(X_train_real, X_test_or_gen, n_bins=100, alpha=0.05, random_state=None) -> NDBResult:
    """Number of statistically different bins and the Jensen-Shannon divergence of the bins.

    K-means (``n_init=2``) with ``n_bins`` clusters is fitted on the real training rows;
    both sets are assigned to their nearest centre, and each bin's two proportions are
    compared with a two-sided two-proportion z-test using the pooled proportion.

    Parameters
    ----------
    X_train_real : array-like of shape (n, d)
        Real rows defining the bins (and the reference proportions).
    X_test_or_gen : array-like of shape (m, d)
        Generated rows, or a disjoint real set for the floor.
    n_bins : int, default 100
        K; keep ``n / K`` above about 20 so each bin has enough rows for the z-test.
    alpha : float, default 0.05
        Significance level per bin.
    random_state : None, int or numpy.random.Generator
        Seeds k-means.

    Returns
    -------
    NDBResult
        ``n_different`` (NDB), ``ndb_fraction`` (NDB/K) and ``js_divergence`` in bits.
    """
    R = _as_2d(X_train_real, "X_train_real")
    Xo = _as_2d(X_test_or_gen, "X_test_or_gen")
    _same_width(R, Xo, "X_train_real", "X_test_or_gen")
    a = _check_alpha(alpha)
    km = _fit_bins(R, n_bins, _seed_from(check_random_state(random_state)))
    return _ndb_compare(km, R, Xo, a, _describe_seed(random_state))


# --------------------------------------------------------------------------------------------
# 8. memorisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemorisationResult(_Result):
    """Nearest-training-record distances of generated rows vs held-out real rows.

    A generator that copies its training data puts generated rows much closer to training
    records than fresh real rows are: ratios well below 1 and exact copies flag it.

    Attributes
    ----------
    gen_median, gen_p05 : float
        Median and 5th percentile of generated-to-nearest-training distances.
    holdout_median, holdout_p05 : float
        The same for held-out real rows (the floor).
    median_ratio, p05_ratio : float
        ``gen / holdout`` (about 1: no sign of memorisation; << 1: copying).
    n_exact_copies : int
        Generated rows equal to a training row (every coordinate within ``atol``).
    holdout_exact_copies : int
        Held-out real rows equal to a training row (duplicates in the real data).
    exact_copy_indices : ndarray
        Indices of the generated rows that are exact copies.
    atol : float
    n_gen, n_train, n_holdout : int
    gen_distances, holdout_distances : ndarray
        Per-row distances (left out of ``to_dict``).
    """

    gen_median: float
    gen_p05: float
    holdout_median: float
    holdout_p05: float
    median_ratio: float
    p05_ratio: float
    n_exact_copies: int
    holdout_exact_copies: int
    exact_copy_indices: np.ndarray
    atol: float
    n_gen: int
    n_train: int
    n_holdout: int
    gen_distances: np.ndarray = field(repr=False, metadata={"json": False})
    holdout_distances: np.ndarray = field(repr=False, metadata={"json": False})


def _copies(X, T, idx, atol) -> np.ndarray:
    out = np.empty(len(X), dtype=bool)
    for i in range(0, len(X), DEFAULT_BATCH_SIZE):
        sl = slice(i, i + DEFAULT_BATCH_SIZE)
        out[sl] = np.all(np.abs(X[sl] - T[idx[sl]]) <= atol, axis=1)
    return out


def memorisation(X_gen, X_train, X_holdout, *, atol=1e-6, batch_size=DEFAULT_BATCH_SIZE):
    """Compare nearest-training-record distances of generated and held-out real rows.

    Parameters
    ----------
    X_gen : array-like of shape (n_gen, d)
        Generated rows.
    X_train : array-like of shape (n_train, d)
        The rows the model was trained on.
    X_holdout : array-like of shape (n_holdout, d)
        Real rows the model never saw (the floor).
    atol : float, default 1e-6
        A row is an exact copy of its nearest training row when every coordinate differs by
        at most ``atol``.
    batch_size : int, default 1024
        Rows per block of the nearest-neighbour search (bounded memory).

    Returns
    -------
    MemorisationResult
    """
    G = _as_2d(X_gen, "X_gen")
    T = _as_2d(X_train, "X_train")
    H = _as_2d(X_holdout, "X_holdout")
    _same_width(G, T, "X_gen", "X_train")
    _same_width(H, T, "X_holdout", "X_train")
    dg, ig = nearest_neighbour_distances(G, T, batch_size=batch_size)
    dh, ih = nearest_neighbour_distances(H, T, batch_size=batch_size)
    cg = _copies(G, T, ig, atol)
    ch = _copies(H, T, ih, atol)
    gm, g5 = np.median(dg), np.percentile(dg, 5)
    hm, h5 = np.median(dh), np.percentile(dh, 5)
    return MemorisationResult(
        gen_median=float(gm),
        gen_p05=float(g5),
        holdout_median=float(hm),
        holdout_p05=float(h5),
        median_ratio=float(gm / hm) if hm > 0 else float("nan"),
        p05_ratio=float(g5 / h5) if h5 > 0 else float("nan"),
        n_exact_copies=int(cg.sum()),
        holdout_exact_copies=int(ch.sum()),
        exact_copy_indices=np.flatnonzero(cg),
        atol=float(atol),
        n_gen=len(G),
        n_train=len(T),
        n_holdout=len(H),
        gen_distances=dg,
        holdout_distances=dh,
    )


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------


@dataclass
class EvaluationReport(_Result):
    """Every metric :func:`evaluate` could compute, with its floor and settings.

    Attributes
    ----------
    settings : dict
        Feature space, k values, n, seeds, data sizes and how real data was split.
    log_likelihood : LogLikelihoodReport or None
        Held-out log-likelihood of ``X_test``.
    classification : ClassificationReport or None
        The model's accuracy on ``X_test``.
    label_fidelity : LabelFidelityReport or None
    tstr : TSTRReport or None
    frechet, frechet_floor : FrechetResult or None
    precision_recall, precision_recall_floor : PrecisionRecallResult or None
    density_coverage, density_coverage_floor : DensityCoverageResult or None
    ndb, ndb_floor : NDBResult or None
    memorisation : MemorisationResult or None
    notes : list of str
        What was skipped and why, and other caveats.
    """

    settings: dict
    log_likelihood: LogLikelihoodReport | None = None
    classification: ClassificationReport | None = None
    label_fidelity: LabelFidelityReport | None = None
    tstr: TSTRReport | None = None
    frechet: FrechetResult | None = None
    frechet_floor: FrechetResult | None = None
    precision_recall: PrecisionRecallResult | None = None
    precision_recall_floor: PrecisionRecallResult | None = None
    density_coverage: DensityCoverageResult | None = None
    density_coverage_floor: DensityCoverageResult | None = None
    ndb: NDBResult | None = None
    ndb_floor: NDBResult | None = None
    memorisation: MemorisationResult | None = None
    notes: list = field(default_factory=list)

    def rows(self) -> list[tuple[str, float | None, float | None, str]]:
        """Table rows ``(metric, generated, real-vs-real floor, unit)``; None = not applicable."""
        out: list[tuple[str, float | None, float | None, str]] = []
        ll = self.log_likelihood
        if ll is not None:
            out.append(("held-out log-likelihood", ll.mean_log_likelihood, None, "nats/sample"))
            out.append(("held-out bits/dim (data scale)", ll.bits_per_dim, None, "bits/dim"))
            if ll.bits_per_dim_8bit is not None:
                scale = f"{ll.pixel_scale:g}" if ll.pixel_scale else "raw"
                out.append(
                    (
                        f"held-out bits/dim (pixel values 0-{scale})",
                        ll.bits_per_dim_8bit,
                        None,
                        "bits/dim",
                    )
                )
        if self.classification is not None:
            out.append(("model accuracy on test", self.classification.accuracy, None, "fraction"))
        if self.label_fidelity is not None:
            out.append(
                (
                    "label fidelity (reference clf)",
                    self.label_fidelity.accuracy,
                    self.label_fidelity.floor_accuracy,
                    "fraction",
                )
            )
        if self.tstr is not None:
            out.append(
                (
                    f"TSTR accuracy ({self.tstr.classifier}; floor=TRTR)",
                    self.tstr.tstr_accuracy,
                    self.tstr.trtr_accuracy,
                    "fraction",
                )
            )
        if self.frechet is not None:
            fl = self.frechet_floor
            out.append(
                (
                    self.frechet.name,
                    self.frechet.value,
                    None if fl is None else fl.value,
                    "squared feature units",
                )
            )
        pr, prf = self.precision_recall, self.precision_recall_floor
        if pr is not None:
            tag = f"k={pr.k}, {pr.feature_space}"
            out.append(
                (
                    f"precision ({tag})",
                    pr.precision,
                    None if prf is None else prf.precision,
                    "fraction",
                )
            )
            out.append(
                (f"recall ({tag})", pr.recall, None if prf is None else prf.recall, "fraction")
            )
        dc, dcf = self.density_coverage, self.density_coverage_floor
        if dc is not None:
            tag = f"k={dc.k}, {dc.feature_space}"
            out.append(
                (
                    f"density ({tag})",
                    dc.density,
                    None if dcf is None else dcf.density,
                    "ratio (1 = real-like)",
                )
            )
            out.append(
                (
                    f"coverage ({tag})",
                    dc.coverage,
                    None if dcf is None else dcf.coverage,
                    "fraction",
                )
            )
        nd, ndf = self.ndb, self.ndb_floor
        if nd is not None:
            tag = f"K={nd.n_bins}, alpha={nd.alpha:g}"
            out.append(
                (
                    f"NDB/K ({tag})",
                    nd.ndb_fraction,
                    None if ndf is None else ndf.ndb_fraction,
                    "fraction of bins",
                )
            )
            out.append(
                (
                    f"JS divergence of bins (K={nd.n_bins})",
                    nd.js_divergence,
                    None if ndf is None else ndf.js_divergence,
                    "bits",
                )
            )
        mem = self.memorisation
        if mem is not None:
            out.append(
                (
                    "median distance to nearest train row",
                    mem.gen_median,
                    mem.holdout_median,
                    "input units (floor: held-out real)",
                )
            )
            out.append(
                (
                    "5th pct distance to nearest train row",
                    mem.gen_p05,
                    mem.holdout_p05,
                    "input units (floor: held-out real)",
                )
            )
            out.append(
                (
                    "exact copies of train rows",
                    float(mem.n_exact_copies),
                    float(mem.holdout_exact_copies),
                    "rows",
                )
            )
        return out

    def format_table(self) -> str:
        """Readable text table: ``metric | generated | real-vs-real floor | unit``."""

        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return f"{v:.4g}"

        header = ("metric", "generated", "real-vs-real floor", "unit")
        body = [(m, fmt(g), fmt(f), u) for m, g, f, u in self.rows()]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

        def line(r):
            return " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

        sep = "-+-".join("-" * w for w in widths)
        s = self.settings
        lines = [line(header), sep, *[line(r) for r in body]]
        lines.append("")
        lines.append(
            f"settings: n={s.get('n')} per set, feature space={s.get('feature_space')}, "
            f"seed={s.get('random_state')}, reference={s.get('reference_training')}"
        )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def evaluate(
    model,
    X_test,
    y_test,
    *,
    X_train=None,
    y_train=None,
    n_samples=None,
    feature_space="pca-50",
    random_state=None,
    pixel_scale=None,
    max_train=20000,
) -> EvaluationReport:
    """Compute every metric the inputs allow for a fitted generative classifier.

    Parameters
    ----------
    model : fitted model
        Uses ``model.score_samples`` (held-out log-likelihood), ``model.predict``
        (accuracy) and ``model.sample(n, random_state=...) -> (X, y)`` (everything about
        generated data); metrics whose method is missing are skipped and noted.
    X_test, y_test : array-like of shape (n_test, d), (n_test,)
        Held-out real data.
    X_train, y_train : array-like of shape (n_train, d), (n_train,), optional
        The real training data.  Without it the reference classifier, the feature space and
        the TRTR baseline are trained on a random half of ``X_test`` and scored on the other
        half, and memorisation is skipped (``settings["reference_training"]`` says which).
    n_samples : int, optional
        Number of rows to generate; default ``min(10000, n_pool // 2)`` where the pool is
        ``X_train`` (or ``X_test`` without it).  The distribution metrics use
        ``n = min(n_samples, n_pool // 2)`` rows per set so generated and floor sets match.
    feature_space : str or FeatureSpace, default "pca-50"
        Space of the Frechet distance, precision/recall and density/coverage: ``"pca-<k>"``,
        ``"mlp-hidden-<k>"`` (hidden layer of the reference MLP), ``"input"``, or a
        :class:`FeatureSpace` object (fitted here on the reference-training rows unless it is
        an already fitted :class:`PCAFeatures` or a :class:`ClassifierFeatures`).
    random_state : None, int or numpy.random.Generator
        Seeds sampling, the splits, the classifiers and k-means (same seed, same report).
    pixel_scale : float, optional
        Divisor of 8-bit pixels (``x = pixel / pixel_scale``); adds bits/dim on the 0-256
        scale, see :func:`log_likelihood_report`.
    max_train : int, default 20000
        Cap on training rows for the reference classifier, TSTR and PCA.

    Returns
    -------
    EvaluationReport

    Notes
    -----
    Floors: two disjoint random real sets ``A`` and ``B`` of ``n`` rows each are drawn from
    the pool.  Each distribution metric is computed as metric(A, generated) and as
    metric(A, B); NDB bins are fitted on ``A`` (in input space).  Label fidelity's floor is
    the reference classifier's accuracy on held-out real rows; TSTR's is TRTR.
    Memorisation compares generated rows and ``n`` held-out test rows against all of
    ``X_train``.
    """
    Xte = _as_2d(X_test, "X_test")
    yte = _as_labels(y_test, "y_test", len(Xte))
    if (X_train is None) != (y_train is None):
        raise DataError("pass X_train and y_train together (or neither).")
    Xtr = ytr = None
    if X_train is not None:
        Xtr = _as_2d(X_train, "X_train")
        ytr = _as_labels(y_train, "y_train", len(Xtr))
        _same_width(Xtr, Xte, "X_train", "X_test")
    if not (isinstance(feature_space, FeatureSpace) or _parse_mlp_space(feature_space)):
        make_feature_space(feature_space)  # fail early on a bad name
    rng = check_random_state(random_state)
    seeds = {
        k: _seed_from(rng)
        for k in ("split", "sample", "reference", "features", "tstr", "ndb", "holdout")
    }
    d = Xte.shape[1]
    notes: list[str] = []
    settings: dict = {
        "random_state": _describe_seed(random_state),
        "n_test": len(Xte),
        "n_train": None if Xtr is None else len(Xtr),
        "n_features": d,
        "pixel_scale": pixel_scale,
        "k_precision_recall": 3,
        "k_density_coverage": 5,
        "max_train": max_train,
        "ndb_alpha": 0.05,
        "ndb_space": "input",
        "memorisation_space": "input",
        "component_seeds": seeds,
    }
    report = EvaluationReport(settings=settings, notes=notes)

    # --- model on held-out real data
    if hasattr(model, "score_samples"):
        report.log_likelihood = log_likelihood_report(model.score_samples(Xte), d, pixel_scale)
    else:
        notes.append("model has no score_samples: held-out log-likelihood skipped.")
    labels = np.asarray(getattr(model, "classes_", np.unique(yte)))
    if hasattr(model, "predict"):
        pred = np.asarray(model.predict(Xte))
        report.classification = classification_report(
            yte, pred, np.unique(np.concatenate([labels, yte, pred]))
        )
    else:
        notes.append("model has no predict: accuracy skipped.")

    # --- real splits
    split_rng = np.random.default_rng(seeds["split"])
    if Xtr is not None:
        ref_X, ref_y, ho_X, ho_y = Xtr, ytr, Xte, yte
        pool = Xtr
        perm = split_rng.permutation(len(Xtr))
        half = len(Xtr) // 2
        settings["reference_training"] = "X_train"
        settings["floor_split"] = "two disjoint random subsets of X_train"
    else:
        perm = split_rng.permutation(len(Xte))
        half = len(Xte) // 2
        ref_X, ref_y = Xte[perm[:half]], yte[perm[:half]]
        ho_X, ho_y = Xte[perm[half : 2 * half]], yte[perm[half : 2 * half]]
        pool = Xte
        settings["reference_training"] = "random half of X_test (no X_train given)"
        settings["floor_split"] = "the two random halves of X_test"
        notes.append(
            "no X_train: reference classifier, feature space and TRTR were trained on one "
            "half of X_test and scored on the other; memorisation skipped."
        )
    if half < 6:
        raise DataError(
            f"need at least 12 real rows to form two floor sets; the pool has {len(pool)}. "
            "Pass more real data."
        )
    n_gen = int(n_samples) if n_samples is not None else min(10000, half)
    if n_gen < 6:
        raise DataError(f"n_samples must be at least 6; got {n_samples}.")
    n = min(n_gen, half)
    if n < n_gen:
        notes.append(
            f"distribution metrics use the first {n} of {n_gen} generated rows (the real "
            f"pool only has room for two disjoint sets of {n})."
        )
    A = pool[perm[:n]]
    B = pool[perm[n : 2 * n]] if Xtr is not None else pool[perm[half : half + n]]
    settings.update(n=n, n_generated=n_gen)

    if not hasattr(model, "sample"):
        notes.append("model has no sample: all metrics on generated data skipped.")
        return report
    X_gen, y_gen = model.sample(n_gen, random_state=seeds["sample"])
    X_gen = _as_2d(X_gen, "generated X")
    y_gen = _as_labels(y_gen, "generated y", len(X_gen))
    _same_width(X_gen, Xte, "generated X", "X_test")
    G = X_gen[:n]

    # --- reference classifier, label fidelity, TSTR
    mlp_units = _parse_mlp_space(feature_space)
    kind = "mlp" if mlp_units else "logistic"
    reference = fit_reference_classifier(
        ref_X,
        ref_y,
        kind,
        seeds["reference"],
        max_train=max_train,
        hidden_units=mlp_units or 128,
    )
    settings["reference_classifier"] = _describe_estimator(reference)
    report.label_fidelity = label_fidelity(X_gen, y_gen, reference, X_holdout=ho_X, y_holdout=ho_y)
    if len(np.unique(y_gen)) >= 2:
        report.tstr = tstr(
            X_gen, y_gen, ref_X, ref_y, ho_X, ho_y, "logistic", seeds["tstr"], max_train=max_train
        )
    else:
        notes.append("generated data has a single class: TSTR skipped.")

    # --- feature space
    if mlp_units:
        space: FeatureSpace = ClassifierFeatures(reference)
    else:
        space = make_feature_space(feature_space)
        if isinstance(feature_space, str) and isinstance(space, PCAFeatures):
            space.max_train = max_train
        if not (isinstance(space, PCAFeatures) and space.pca_ is not None):
            space.fit(ref_X, ref_y, random_state=seeds["features"])
    FA, FB, FG = space.transform(A), space.transform(B), space.transform(G)
    settings["feature_space"] = space.name
    report.frechet = frechet_distance(FA, FG, feature_space=space)
    report.frechet_floor = frechet_distance(FA, FB, feature_space=space)
    if n > 5:
        report.precision_recall = precision_recall(FA, FG, k=3, feature_space=space)
        report.precision_recall_floor = precision_recall(FA, FB, k=3, feature_space=space)
        report.density_coverage = density_coverage(FA, FG, k=5, feature_space=space)
        report.density_coverage_floor = density_coverage(FA, FB, k=5, feature_space=space)

    # --- NDB (input space)
    n_bins = int(min(100, max(2, n // 50)))
    settings["ndb_bins"] = n_bins
    km = _fit_bins(A, n_bins, seeds["ndb"])
    report.ndb = _ndb_compare(km, A, G, 0.05, seeds["ndb"])
    report.ndb_floor = _ndb_compare(km, A, B, 0.05, seeds["ndb"])

    # --- memorisation
    if Xtr is not None:
        hidx = _subsample(len(Xte), n, np.random.default_rng(seeds["holdout"]))
        report.memorisation = memorisation(G, Xtr, Xte[hidx])
    return report
