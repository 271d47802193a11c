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

from . import conditional, diagnostics, streaming  # noqa: E402  (light modules)
from ._classifier import BayesClassifier, load
from ._copula import GaussianCopulaDensity
from ._errors import BayesgenError, DataError, FitError, ModelFileError, NotFittedError
from ._gaussian import GaussianDensity
from ._lowrank import FactorAnalysisDensity
from ._mixture import GaussianMixtureDensity, MixtureOfFactorAnalysersDensity
from ._select import AutoDensity
from ._transform import LogitTransform, TransformedDensity

__version__ = "0.1.0"

__all__ = [
    "AutoDensity",
    "BayesClassifier",
    "BayesgenError",
    "DataError",
    "FactorAnalysisDensity",
    "FitError",
    "GaussianCopulaDensity",
    "GaussianDensity",
    "GaussianMixtureDensity",
    "LogitTransform",
    "MixtureOfFactorAnalysersDensity",
    "ModelFileError",
    "NotFittedError",
    "TransformedDensity",
    "__version__",
    "conditional",
    "diagnostics",
    "load",
    "streaming",
]
