"""The shortcut grammar ``NAME[:SIZE][*RUNS][+TRANSFORM]`` (documented in
:mod:`bayesgen.densities`) and the factory that builds a density from it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from bayesgen.densities.base import Density
from bayesgen.densities.copula import GaussianCopulaDensity
from bayesgen.densities.factor import FactorAnalysisDensity
from bayesgen.densities.gaussian import GaussianDensity
from bayesgen.densities.mixture import (
    GaussianMixtureDensity,
    MixtureDensity,
    MixtureOfFactorAnalysersDensity,
)
from bayesgen.densities.transform import NAMED_TRANSFORMS, LogitTransform, TransformedDensity

__all__ = [
    "DENSITY_SHORTCUTS",
    "DensityName",
    "make_density",
    "parse_density_name",
    "register_shortcut",
]


def _gaussian(covariance_type: str) -> Callable[..., Density]:
    def build(*, reg_covar, shrinkage, random_state, size=None):
        return GaussianDensity(
            covariance_type=covariance_type, reg_covar=reg_covar, shrinkage=shrinkage
        )

    build.__doc__ = f"Gaussian with covariance_type={covariance_type!r}"
    return build


def _factor(method: str) -> Callable[..., Density]:
    def build(*, reg_covar, shrinkage, random_state, size=None):
        k = 10 if size is None else size[0]
        return FactorAnalysisDensity(n_components=k, method=method, reg_covar=reg_covar)

    build.__doc__ = f"low rank plus diagonal covariance, method={method!r}"
    return build


def _mixture(covariance_type: str) -> Callable[..., Density]:
    def build(*, reg_covar, shrinkage, random_state, size=None):
        k = 3 if size is None else size[0]
        return GaussianMixtureDensity(
            n_components=k,
            covariance_type=covariance_type,
            reg_covar=reg_covar,
            random_state=random_state,
        )

    build.__doc__ = f"Gaussian mixture, covariance_type={covariance_type!r}"
    return build


def _mfa_factory(noise: str) -> Callable[..., Density]:
    def build(*, reg_covar, shrinkage, random_state, size=None):
        k, rank = (3, 5) if size is None else (size[0], size[1] if len(size) > 1 else 5)
        return MixtureOfFactorAnalysersDensity(
            n_components=k,
            rank=rank,
            noise=noise,
            reg_covar=reg_covar,
            random_state=random_state,
        )

    build.__doc__ = f"mixture of low-rank Gaussians, noise={noise!r}"
    return build


def _copula(*, reg_covar, shrinkage, random_state, size=None):
    """Gaussian copula with smoothed empirical marginals"""
    return GaussianCopulaDensity(
        reg_covar=reg_covar,
        shrinkage=0.05 if shrinkage is None else shrinkage,
        random_state=random_state,
    )


def _mfacopula(*, reg_covar, shrinkage, random_state, size=None):
    """empirical marginals with a mixture of factor analysers on the normal scores"""
    k, rank = (3, 5) if size is None else (size[0], size[1] if len(size) > 1 else 5)
    dependence = MixtureOfFactorAnalysersDensity(
        n_components=k, rank=rank, reg_covar=max(reg_covar, 1e-3), random_state=random_state
    )
    return GaussianCopulaDensity(dependence=dependence, random_state=random_state)


#: name -> factory(reg_covar=..., shrinkage=..., random_state=..., size=None) -> density
DENSITY_SHORTCUTS: dict[str, Callable[..., Density]] = {
    "gaussian": _gaussian("full"),
    "full": _gaussian("full"),
    "diag": _gaussian("diag"),
    "tied": _gaussian("tied"),
    "lowrank": _factor("ppca"),
    "fa": _factor("fa"),
    "mixture": _mixture("full"),
    "diagmix": _mixture("diag"),
    "mfa": _mfa_factory("diagonal"),
    "mppca": _mfa_factory("isotropic"),
    "copula": _copula,
    "mfacopula": _mfacopula,
}
# "auto" is registered by bayesgen.densities.select (AutoDensity builds its candidates with
# make_density, so the registry is filled from below instead of importing upwards); the
# package's __init__ imports select, so the entry is always there.


def register_shortcut(name: str, factory: Callable[..., Density]) -> None:
    """Add a family to the shortcut grammar.

    Parameters
    ----------
    name : str
        Lower-case letters only, as :func:`parse_density_name` reads it.
    factory : callable
        ``factory(*, reg_covar, shrinkage, random_state, size=None) -> Density``.
    """
    if not name.isalpha() or not name.islower():
        raise ValueError(f"shortcut names are lower-case letters; got {name!r}")
    DENSITY_SHORTCUTS[name] = factory


_TRANSFORMS = {
    name: (lambda params=params: LogitTransform(**params))
    for name, params in NAMED_TRANSFORMS.items()
}
_NAME = re.compile(
    r"^(?P<name>[a-z]+)(?::(?P<size>\d+(?:x\d+)?))?(?:\*(?P<runs>\d+))?(?:\+(?P<tf>[a-z]+))?$"
)


class DensityName(NamedTuple):
    """The parts of a shortcut string (:func:`parse_density_name`)."""

    family: str
    size: tuple[int, ...] | None
    transform: str | None
    runs: int | None


def parse_density_name(name: str) -> DensityName:
    """Split a shortcut ``NAME[:SIZE][*RUNS][+TRANSFORM]`` into its parts.

    Returns
    -------
    DensityName
        ``(family, size, transform, runs)``; ``size``, ``transform`` and ``runs`` are None
        when the string has none.

    Raises
    ------
    ValueError
        Unknown family or transform, or a malformed string.
    """
    match = _NAME.match(name.strip().lower()) if isinstance(name, str) else None
    if match is None or match["name"] not in DENSITY_SHORTCUTS:
        raise ValueError(
            f"unknown density {name!r}; choose one of {sorted(DENSITY_SHORTCUTS)}, optionally "
            "with a size, runs and a transform such as 'mfa:5x10*3+logit', or pass a density "
            "object"
        )
    size = None
    if match["size"]:
        size = tuple(int(v) for v in match["size"].split("x"))
        if any(v < 1 for v in size):
            raise ValueError(f"sizes in {name!r} must be positive integers")
    runs = None if match["runs"] is None else int(match["runs"])
    if runs is not None and runs < 1:
        raise ValueError(f"the runs in {name!r} (after '*') must be a positive integer")
    tf = match["tf"]
    if tf is not None and tf not in _TRANSFORMS:
        raise ValueError(
            f"unknown transform {tf!r} in {name!r}; choose one of {sorted(_TRANSFORMS)}"
        )
    return DensityName(match["name"], size, tf, runs)


def fitted_by_em(density: Density) -> MixtureDensity | None:
    """The mixture fitted by EM inside an unfitted density built here: the density itself,
    the base of a :class:`TransformedDensity` or the ``dependence`` of a copula; None when
    there is none (its ``n_average`` is what ``*RUNS`` sets)."""
    if isinstance(density, TransformedDensity):
        density = density.base
    if isinstance(density, GaussianCopulaDensity):
        density = density.dependence
    return density if isinstance(density, MixtureDensity) else None


def with_runs(name: str, runs: int) -> str:
    """``name`` with ``*runs`` when its family is fitted by EM from a random start and the
    string names no runs of its own; otherwise ``name`` unchanged.

    >>> with_runs("mppca:5x10+glogit", 3), with_runs("gaussian", 3)
    ('mppca:5x10*3+glogit', 'gaussian')
    """
    parts = parse_density_name(name)
    probe = DENSITY_SHORTCUTS[parts.family](
        reg_covar=1e-6, shrinkage=None, random_state=None, size=parts.size
    )
    if runs == 1 or parts.runs is not None or fitted_by_em(probe) is None:
        return name
    text = parts.family + (":" + "x".join(map(str, parts.size)) if parts.size else "")
    return text + f"*{runs}" + (f"+{parts.transform}" if parts.transform else "")


def make_density(name: str, *, reg_covar=1e-6, shrinkage=None, random_state=None) -> Density:
    """Build an unfitted density from a shortcut string.

    Parameters
    ----------
    name : str
        ``NAME[:SIZE][*RUNS][+TRANSFORM]``, see :mod:`bayesgen.densities`; NAME is one of
        :data:`DENSITY_SHORTCUTS`.
    reg_covar, shrinkage : see :class:`~bayesgen.GaussianDensity`
        ``shrinkage`` applies to the Gaussian families and the copula.
    random_state : None, int or numpy.random.Generator
        Used by families with random initialisation (mixtures, auto) and by dequantisation.

    Returns
    -------
    Density
    """
    family, size, tf, runs = parse_density_name(name)
    if tf is not None and family == "tied":
        raise ValueError(
            "a tied covariance cannot be combined with a transform; use 'gaussian+logit'"
        )
    density = DENSITY_SHORTCUTS[family](
        reg_covar=reg_covar, shrinkage=shrinkage, random_state=random_state, size=size
    )
    if runs is not None:
        mixture = fitted_by_em(density)
        if mixture is None:
            raise ValueError(
                f"'*{runs}' in {name!r} averages runs of EM; {family!r} is not fitted by EM "
                "from a random start (the mixture families are: mixture, diagmix, mfa, "
                "mppca, mfacopula)"
            )
        mixture.set_params(n_average=runs)
    if tf is not None:
        density = TransformedDensity(
            base=density, transform=_TRANSFORMS[tf](), random_state=random_state
        )
    return density
