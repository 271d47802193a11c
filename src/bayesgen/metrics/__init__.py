"""Judge generated data with numbers, each beside its real-vs-real floor.

A generated data set is good when a metric computed between generated and real data is as
small (or as large) as the same metric computed between two *disjoint real* sets of the same
size.  Every distribution metric in this package is therefore meant to be reported beside
its **floor**: the value it takes on real data against real data.  :func:`evaluate` does
this for a fitted model and returns an :class:`EvaluationReport` whose
:meth:`~EvaluationReport.to_dict` records every setting (feature space, k, n, seed) and
whose :meth:`~EvaluationReport.format_table` prints ``metric | generated | real-vs-real
floor | unit``.

Metrics (pure functions on arrays; each returns a small frozen dataclass with a ``to_dict``),
one module per family:

* :mod:`~bayesgen.metrics.likelihood` -- :func:`log_likelihood_report`: held-out
  log-likelihood in nats per sample, nats per dimension and bits per dimension, optionally
  converted to the 8-bit (0-256) pixel scale.
* :mod:`~bayesgen.metrics.classification` -- :func:`classification_report` (accuracy,
  per-class accuracy, confusion matrix); :func:`fit_reference_classifier` and
  :func:`label_fidelity` (does an independent classifier, trained on real data, agree with
  the label each sample was generated for?).
* :mod:`~bayesgen.metrics.train_synthetic` -- :func:`tstr`: train on synthetic, test on
  real, against train on real, test on real.
* :mod:`~bayesgen.metrics.features` -- the named feature spaces (:class:`PCAFeatures`,
  :class:`ClassifierFeatures`, :class:`IdentityFeatures`, :func:`make_feature_space`).
* :mod:`~bayesgen.metrics.frechet` -- :func:`frechet_distance`: Frechet distance between
  Gaussians fitted to features in a *named* feature space.  It is never called FID: FID
  means Inception features.
* :mod:`~bayesgen.metrics.manifold` -- :func:`precision_recall` (Kynkaanniemi et
  al. 2019) and :func:`density_coverage` (Naeem et al. 2020) from k-nearest-neighbour balls.
* :mod:`~bayesgen.metrics.bins` -- :func:`ndb`: number of statistically different bins
  (Richardson and Weiss 2018) and the Jensen-Shannon divergence between the bin histograms.
* :mod:`~bayesgen.metrics.copying` -- :func:`memorisation`: nearest-training-record
  distances of generated samples against those of held-out real records, and exact copies.
* :mod:`~bayesgen.metrics.evaluation` -- :func:`evaluate` and :class:`EvaluationReport`.

No module is named after a function it holds (``tstr``, ``ndb``, ``evaluate``, ...): the
function, re-exported here, would hide the module of the same name, so that
``import bayesgen.metrics.ndb as m`` would bind the function.

All pairwise-distance work runs in blocks (:mod:`~bayesgen.metrics.distances`:
:func:`nearest_neighbour_distances`, :func:`count_in_balls`), so memory stays bounded
(about ``batch_size * 8192`` doubles) for any number of rows.  :func:`to_jsonable` turns
any result (or container of results) into JSON values.
"""

from __future__ import annotations

from bayesgen.metrics._common import DEFAULT_BATCH_SIZE, to_jsonable
from bayesgen.metrics.bins import NDBResult, ndb

# Private helpers benchmarks/quality.py calls to reproduce evaluate()'s NDB step exactly.
from bayesgen.metrics.bins import _fit_bins as _fit_bins
from bayesgen.metrics.bins import _ndb_compare as _ndb_compare
from bayesgen.metrics.classification import (
    ClassificationReport,
    LabelFidelityReport,
    classification_report,
    fit_reference_classifier,
    label_fidelity,
)
from bayesgen.metrics.copying import MemorisationResult, memorisation
from bayesgen.metrics.distances import (
    count_in_balls,
    knn_radii,
    nearest_neighbour_distances,
    pairwise_sq_distances,
)
from bayesgen.metrics.evaluation import EvaluationReport, evaluate
from bayesgen.metrics.features import (
    ClassifierFeatures,
    FeatureSpace,
    IdentityFeatures,
    PCAFeatures,
    make_feature_space,
)
from bayesgen.metrics.frechet import FrechetResult, frechet_distance, frechet_distance_gaussian
from bayesgen.metrics.likelihood import LogLikelihoodReport, log_likelihood_report
from bayesgen.metrics.manifold import (
    DensityCoverageResult,
    PrecisionRecallResult,
    density_coverage,
    precision_recall,
)
from bayesgen.metrics.table_measures import (
    association_matrix,
    correlation_ratio,
    cramers_v,
    gower_nearest,
    ks_statistic,
    total_variation,
)
from bayesgen.metrics.tables import (
    AssociationResult,
    ColumnFidelity,
    DCRResult,
    TableEvaluation,
    TableTSTR,
    evaluate_table,
)
from bayesgen.metrics.train_synthetic import TSTRReport, tstr

# Deprecated private spelling of to_jsonable, kept until the command line (_cli_eval) has
# switched to the public name.
_jsonable = to_jsonable

__all__ = [
    "DEFAULT_BATCH_SIZE",
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
    "to_jsonable",
    "tstr",
    # tables (bayesgen.metrics.tables, table_measures)
    "AssociationResult",
    "ColumnFidelity",
    "DCRResult",
    "TableEvaluation",
    "TableTSTR",
    "association_matrix",
    "correlation_ratio",
    "cramers_v",
    "evaluate_table",
    "gower_nearest",
    "ks_statistic",
    "total_variation",
]
