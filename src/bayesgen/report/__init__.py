"""One self-contained HTML page that judges a fitted model's generated data.

:func:`build_report` runs :func:`bayesgen.metrics.evaluate` (every number beside its
real-vs-real floor), draws the figures and returns one HTML document;
:func:`build_table_report` does the same for tables with
:func:`bayesgen.metrics.evaluate_table` (per-column histograms and bar charts, a panel per
class); :func:`write_report` writes either atomically.

The page needs nothing else: figures are PNG images embedded as base64 ``data:`` URIs, the
CSS is inline, there is no JavaScript, and a Content-Security-Policy ``<meta>`` forbids the
browser from fetching anything (so a page that renders cleanly offline renders the same
everywhere).  Every piece of text taken from the model, the data or the settings is
HTML-escaped.

Sections: headline numbers, the sample grid and the sample-vs-mean figure (image data; a
real-vs-generated scatter of two features otherwise), the metrics table (metric | generated
| real-vs-real floor | unit), per-class metrics with their floors, the confusion matrices,
notes, and every setting.

Modules: :mod:`~bayesgen.report.markup` (HTML building blocks),
:mod:`~bayesgen.report.samples` (image strips encoded with :func:`png_bytes`, and the
sample figures), :mod:`~bayesgen.report.sections`, :mod:`~bayesgen.report.page` (the page
builder) and :mod:`~bayesgen.report.output` (atomic writes).

>>> from sklearn.datasets import load_digits
>>> from bayesgen import BayesClassifier
>>> from bayesgen.report import build_report
>>> X, y = load_digits(return_X_y=True)
>>> model = BayesClassifier("gaussian", reg_covar=0.1).fit(X[:1200] / 16, y[:1200])
>>> page = build_report(model, X[1200:] / 16, y[1200:], X_train=X[:1200] / 16,
...                     y_train=y[:1200], image_shape=(8, 8), n_samples=200,
...                     random_state=0)                      # doctest: +SKIP
>>> page.startswith("<!DOCTYPE html>")                       # doctest: +SKIP
True
"""

from bayesgen.base.png import png_bytes
from bayesgen.report.output import atomic_write_bytes as atomic_write_bytes
from bayesgen.report.output import write_report
from bayesgen.report.page import build_report

# The figure constants stay importable from bayesgen.report as before the split.
from bayesgen.report.samples import FIGURE_DPI as FIGURE_DPI
from bayesgen.report.samples import GRID_SAMPLES_PER_CLASS as GRID_SAMPLES_PER_CLASS
from bayesgen.report.samples import MAX_CLASSES_FOR_FIGURES as MAX_CLASSES_FOR_FIGURES
from bayesgen.report.samples import MEANS_SAMPLES_PER_CLASS as MEANS_SAMPLES_PER_CLASS
from bayesgen.report.tables import build_table_report

__all__ = ["build_report", "build_table_report", "png_bytes", "write_report"]
