"""Class-density families and the string shortcuts that name them.

``BayesClassifier(density=...)`` and ``bayesgen fit --density`` accept either a density
object or one of the names in :data:`DENSITY_SHORTCUTS`.  A shortcut is built with the
classifier's regularisation settings (``reg_covar``, ``shrinkage``) and its ``random_state``
where the family uses one.
"""

from __future__ import annotations

from collections.abc import Callable

from ._density import Density
from ._gaussian import GaussianDensity

__all__ = ["DENSITY_SHORTCUTS", "Density", "GaussianDensity", "make_density"]


def _gaussian(covariance_type: str) -> Callable[..., Density]:
    def build(*, reg_covar, shrinkage, random_state):
        return GaussianDensity(
            covariance_type=covariance_type, reg_covar=reg_covar, shrinkage=shrinkage
        )

    build.__doc__ = f"Gaussian with covariance_type={covariance_type!r}"
    return build


#: name -> factory(reg_covar=..., shrinkage=..., random_state=...) -> unfitted density
DENSITY_SHORTCUTS: dict[str, Callable[..., Density]] = {
    "gaussian": _gaussian("full"),
    "full": _gaussian("full"),
    "diag": _gaussian("diag"),
    "tied": _gaussian("tied"),
}


def make_density(name: str, *, reg_covar=1e-6, shrinkage=None, random_state=None) -> Density:
    """Build an unfitted density from a shortcut name.

    Parameters
    ----------
    name : str
        One of :data:`DENSITY_SHORTCUTS`.
    reg_covar, shrinkage : see :class:`~bayesgen.GaussianDensity`
    random_state : None, int or numpy.random.Generator
        Used by families with random initialisation (mixtures).

    Returns
    -------
    Density
    """
    try:
        factory = DENSITY_SHORTCUTS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown density {name!r}; choose one of {sorted(DENSITY_SHORTCUTS)} "
            "or pass a density object"
        ) from None
    return factory(reg_covar=reg_covar, shrinkage=shrinkage, random_state=random_state)
