"""Conditional generation: sample the unobserved features given the observed ones.

For a Gaussian ``N(mu, Sigma)`` split into observed (o) and missing (m) features, the exact
conditional is Gaussian (Schur complement)::

    mu_m|o    = mu_m + Sigma_mo Sigma_oo^{-1} (x_o - mu_o)
    Sigma_m|o = Sigma_mm - Sigma_mo Sigma_oo^{-1} Sigma_om

computed with one Cholesky factor ``Sigma_oo = L L^T`` and triangular solves
(``A = L^{-1} Sigma_om``, ``Sigma_m|o = Sigma_mm - A^T A``); no inverse is formed.

For a low-rank plus diagonal covariance ``Sigma = W W^T + Psi`` the conditional stays low rank
plus diagonal and costs O(d k^2) (Woodbury)::

    M         = (I_k + W_o^T Psi_o^{-1} W_o)^{-1}  = I_k - W_o^T Sigma_oo^{-1} W_o
    mu_m|o    = mu_m + W_m W_o^T Sigma_oo^{-1} (x_o - mu_o)
    Sigma_m|o = Psi_m + (W_m M^{1/2}) (W_m M^{1/2})^T

For a mixture, every component is conditioned and the component weights become posterior
weights ``w_j N(x_o | mu_jo, Sigma_jo) / sum_l (...)`` (in log space).  A Gaussian copula is
conditioned on the normal scores of the observed features (cell centres for point masses)
and mapped back through the marginals; a logit-transformed density is conditioned in logit
space.  Given a fitted :class:`~bayesgen.BayesClassifier` and no label, the class is drawn
from ``p(y | x_o)``, which uses the same marginal likelihoods.
"""

from bayesgen.classifier.conditional import class_posterior_given_observed, sample_conditional
from bayesgen.kernels.conditioning import gaussian_conditional

__all__ = ["class_posterior_given_observed", "gaussian_conditional", "sample_conditional"]
