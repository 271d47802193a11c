"""Class-density families and the string shortcuts that name them.

``BayesClassifier(density=...)`` and ``bayesgen fit --density`` accept either a density
object or a shortcut string.  A shortcut is built with the classifier's regularisation
settings (``reg_covar``; ``shrinkage`` for the Gaussian families) and its ``random_state``
where the family uses one.

Shortcut grammar
----------------
``NAME[:SIZE][*RUNS][+TRANSFORM]``

NAME (see :data:`DENSITY_SHORTCUTS`)
    ========== ===================================================================
    gaussian   one Gaussian, full covariance (alias: full)
    diag       one Gaussian, diagonal covariance
    tied       one full covariance shared by all classes (LDA)
    lowrank    probabilistic PCA, low rank plus isotropic noise (10 factors)
    fa         factor analysis, low rank plus diagonal noise (10 factors)
    mixture    Gaussian mixture, full covariances (3 components)
    diagmix    Gaussian mixture, diagonal covariances (3 components)
    mfa        mixture of factor analysers (3 components of rank 5)
    mppca      mixture of probabilistic PCA: isotropic noise per component (3 x rank 5)
    copula     Gaussian copula with smoothed empirical marginals
    mfacopula  empirical marginals + mixture of factor analysers on the normal scores
               (3 components of rank 5)
    auto       chosen on held-out likelihood, one family for all classes
               (see :class:`AutoDensity`)
    ========== ===================================================================

SIZE (optional)
    ``lowrank:20`` / ``fa:20`` = 20 factors; ``mixture:5`` / ``diagmix:5`` = 5 components;
    ``mfa:5x10`` / ``mppca:5x10`` / ``mfacopula:5x10`` = 5 components of rank 10
    (``mfa:5`` keeps rank 5).

RUNS (optional, mixtures only)
    ``mppca:5x10*3`` averages three EM runs from different starts with equal weights (a
    mixture of 3 x 5 components; see ``n_average`` of :class:`GaussianMixtureDensity`).

TRANSFORM (optional)
    ``+logit``: dequantise and logit-transform pixel data before fitting (see
    :class:`TransformedDensity`; inputs are pixel/255 in [0, 1] or raw 0..255 counts);
    ``+glogit``: the same with Gaussian end cells, so that the many pixels at exactly 0
    (or 255) are Gaussian tails in the logit space instead of skewed intervals (see
    :class:`LogitTransform`; the best MNIST family in benchmarks/README.md uses it);
    ``+deq``: dequantise only (a density of ``(pixel + u) / 256``, samples quantised back).
    Example: ``BayesClassifier(density="mfa:10x10+logit")``.
"""

from bayesgen.densities.base import Density
from bayesgen.densities.copula import GaussianCopulaDensity
from bayesgen.densities.factor import FactorAnalysisDensity
from bayesgen.densities.gaussian import GaussianDensity
from bayesgen.densities.mixture import (
    GaussianMixtureDensity,
    MixtureDensity,
    MixtureOfFactorAnalysersDensity,
)
from bayesgen.densities.select import AutoDensity
from bayesgen.densities.shortcuts import (
    DENSITY_SHORTCUTS,
    DensityName,
    make_density,
    parse_density_name,
    register_shortcut,
)
from bayesgen.densities.transform import LogitTransform, TransformedDensity
from bayesgen.kernels.lowrank import LowRankCovariance

__all__ = [
    "DENSITY_SHORTCUTS",
    "AutoDensity",
    "Density",
    "DensityName",
    "FactorAnalysisDensity",
    "GaussianCopulaDensity",
    "GaussianDensity",
    "GaussianMixtureDensity",
    "LogitTransform",
    "LowRankCovariance",
    "MixtureDensity",
    "MixtureOfFactorAnalysersDensity",
    "TransformedDensity",
    "make_density",
    "parse_density_name",
    "register_shortcut",
]
