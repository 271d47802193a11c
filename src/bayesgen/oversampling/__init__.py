"""Over-sampling rare classes with rows drawn from fitted class densities.

:class:`BayesOverSampler` is an imbalanced-learn compatible over-sampler (``fit_resample``,
``sampling_strategy``, :class:`imblearn.pipeline.Pipeline`) that needs no imbalanced-learn;
:func:`resolve_sampling_strategy` reads ``sampling_strategy`` as imbalanced-learn does.
"""

from bayesgen.oversampling.sampler import BayesOverSampler
from bayesgen.oversampling.strategy import resolve_sampling_strategy

__all__ = ["BayesOverSampler", "resolve_sampling_strategy"]
