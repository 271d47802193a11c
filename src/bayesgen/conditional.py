"""Conditional generation: sample the unobserved features given the observed ones.

The public home of in-painting and of class posteriors from partly observed rows.  Each
density conditions itself (:meth:`bayesgen.densities.Density.condition`) with the exact
Gaussian kernels of :mod:`bayesgen.kernels.conditioning` (Schur complement; Woodbury for
low rank; posterior component weights for mixtures; normal scores for the copula;
logit space for transformed densities); given a fitted
:class:`~bayesgen.BayesClassifier` and no label, the class is drawn from ``p(y | x_o)``
(:mod:`bayesgen.classifier.conditional`).  Conditions on column *values and ranges* of a
table are ``BayesClassifier.sample(given=...)`` (:mod:`bayesgen.classifier.given`).
"""

from bayesgen.classifier.conditional import class_posterior_given_observed, sample_conditional
from bayesgen.kernels.conditioning import gaussian_conditional

__all__ = ["class_posterior_given_observed", "gaussian_conditional", "sample_conditional"]
