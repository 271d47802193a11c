"""bayesgen: learn the distribution of labelled data and generate new labelled data.

Fit p(x | y) for every class and the prior p(y); then draw y ~ p(y) and x ~ p(x | y).
The same fitted model is a Bayes classifier (p(y | x)) and a density (p(x)).

>>> from bayesgen import BayesClassifier
>>> from bayesgen.datasets import load_mnist            # doctest: +SKIP
>>> data = load_mnist()                                  # doctest: +SKIP
>>> model = BayesClassifier(shrinkage="auto").fit(data.X, data.y)   # doctest: +SKIP
>>> X_new, y_new = model.sample(40, random_state=0)      # doctest: +SKIP

Importing bayesgen loads neither the command line nor matplotlib.
"""

from bayesgen import conditional, diagnostics, streaming  # noqa: E402  (light modules)
from bayesgen.base.errors import (
    BayesgenError,
    ConditionError,
    DataError,
    FitError,
    ModelFileError,
    NotFittedError,
)
from bayesgen.base.load_limits import LoadLimits
from bayesgen.base.version import __version__
from bayesgen.classifier import BayesClassifier, load, read_metadata
from bayesgen.densities.copula import GaussianCopulaDensity
from bayesgen.densities.factor import FactorAnalysisDensity
from bayesgen.densities.gaussian import GaussianDensity
from bayesgen.densities.mixture import GaussianMixtureDensity, MixtureOfFactorAnalysersDensity
from bayesgen.densities.select import AutoDensity
from bayesgen.densities.transform import LogitTransform, TransformedDensity
from bayesgen.oversampling import BayesOverSampler

__all__ = [
    "AutoDensity",
    "BayesClassifier",
    "BayesOverSampler",
    "BayesgenError",
    "ConditionError",
    "DataError",
    "FactorAnalysisDensity",
    "FitError",
    "GaussianCopulaDensity",
    "GaussianDensity",
    "GaussianMixtureDensity",
    "LoadLimits",
    "LogitTransform",
    "MixtureOfFactorAnalysersDensity",
    "ModelFileError",
    "NotFittedError",
    "TransformedDensity",
    "__version__",
    "conditional",
    "diagnostics",
    "load",
    "read_metadata",
    "streaming",
]
