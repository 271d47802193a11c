"""Discrete features and the dequantised scale on which ``density="auto"`` compares families.

A continuous density fitted to values on a lattice (integer pixels, counts, measurements
recorded to 0.1) can put ever narrower spikes on the lattice points, and its likelihood
then grows without bound: comparing families by it rewards spiking, not modelling.  The
fix (Theis, van den Oord and Bethge 2016) is to compare densities of the *dequantised*
variable ``x + h (u - 1/2)`` with ``u ~ U(0, 1)`` per feature and ``h`` the lattice step:
its density at a point is at most ``1 / h`` times the probability of the lattice point, so
no density can gain by spiking.  The cells are centred on the lattice points, so the
dequantised variable has the mean of the discrete one, and a density of it evaluated at a
lattice point is evaluated at the centre of the point's cell (where
:meth:`TransformedDensity.score_samples` evaluates too).

Steps (:func:`lattice_steps`), feature by feature:

* every value an integer (and at least two values): ``h = 1``;
* otherwise, at least two distinct values whose differences are all whole multiples of a
  common step (the greatest common divisor of the gaps, found by Euclid's algorithm with a
  tolerance of ``1e-9`` times the largest magnitude), spanning at most ``2**20`` steps:
  ``h`` is that step (pixels scaled as ``pixel / 255`` have ``h = 1/255``);
* anything else is continuous (``h = 0``) and is left as it is;
* then the commonest step ``g`` of the data is shared: a feature that is constant, or not
  integer-valued, and whose values are all whole multiples of ``g`` (at most ``2**20``
  of them) takes ``h = g``.  A
  constant feature shows no lattice of its own, and a pixel seen at only a few values
  (0 and 253/255, say) would otherwise get a step as wide as its range; both are on the
  ``pixel / 255`` lattice of the other pixels.  Integer-valued columns keep ``h = 1``, so a
  0/1 column of a table stays a two-cell variable whatever its neighbours' resolution.  A
  constant integer off that lattice takes ``h = 1``.

Families that dequantise for themselves (:class:`~bayesgen.densities.TransformedDensity`
with a dequantising transform: ``+logit``, ``+glogit``, ``+deq``) are fitted on the rows as
given and compared through the probability they give each lattice cell, spread over the
cell: with ``y = (x s + u) / L`` (``s`` the transform's input scale, ``L`` its levels,
``u`` the same noise; the transform's cells start at the lattice points, which moves the
variable but not its density), ``log p = log p_unit(y) - d log L - sum_j log h_j``: the
change of variables of :meth:`TransformedDensity.score_samples` when ``h_j = 1 / s`` (the
transform's own cell), and the cell's probability spread over a coarser step otherwise (a
lower bound: the coarse cell holds at least that probability).  A continuous feature counts
as one cell of the transform (``h_j = 1 / s``).  A lattice *finer* than the transform's
cells (measurements to 0.1 read as pixel counts) is refused: one cell's probability spread
over a finer step would overstate the density, by up to 10x per feature there.
"""

from __future__ import annotations

import math

import numpy as np

from bayesgen.base.errors import FitError
from bayesgen.densities.base import Density
from bayesgen.densities.transform import NAMED_TRANSFORMS, LogitTransform, TransformedDensity

__all__ = [
    "dequantised",
    "dequantises_itself",
    "fitted_as_given",
    "lattice_log_density",
    "lattice_steps",
]

#: a lattice spans at most this many steps (finer "lattices" are continuous data)
_MAX_CELLS = 2**20
#: values within this share of the largest magnitude count as equal
_RTOL = 1e-9
#: rounds of Euclid's algorithm before the data count as continuous
_EUCLID_ROUNDS = 64


def _gcd_of_gaps(gaps: np.ndarray, atol: float) -> float:
    """Greatest common divisor of positive reals (Euclid on the whole set), 0 for none.

    ``gcd(a_1..a_n) = gcd(g, a_1 mod g, ..., a_n mod g)`` with ``g`` the smallest; remainders
    within ``atol`` of 0 or of ``g`` count as exact.
    """
    g = float(gaps.min())
    for _ in range(_EUCLID_ROUNDS):
        if g <= 1e3 * atol:
            return 0.0  # finer than the values' precision: not a lattice
        rest = np.mod(gaps, g)
        rest = rest[(rest > atol) & (g - rest > atol)]
        if rest.size == 0:
            return g
        gaps = np.concatenate([[g], rest])
        g = float(rest.min())
    return 0.0


def _feature_step(values: np.ndarray) -> float:
    """The lattice step of one feature's (at least two) distinct sorted values; 0 for none."""
    if np.all(values == np.round(values)):
        return 1.0
    if values.shape[0] < 2:
        return 0.0
    atol = _RTOL * float(np.abs(values).max())
    step = _gcd_of_gaps(np.diff(values), atol)
    if step == 0.0 or (values[-1] - values[0]) / step > _MAX_CELLS:
        return 0.0
    cells = (values - values[0]) / step
    return step if np.abs(cells - np.round(cells)).max() < 1e-6 else 0.0


def _on_lattice(values: np.ndarray, step: float) -> bool:
    """Whether every value is a whole multiple of ``step`` (at most 2**20 of them)."""
    cells = values / step
    if np.abs(cells).max() > _MAX_CELLS:
        return False
    return bool(np.abs(cells - np.round(cells)).max() < 1e-6)


def _commonest(steps: np.ndarray) -> float:
    """The most frequent positive step (0 when there is none)."""
    positive = steps[steps > 0]
    if not positive.size:
        return 0.0
    rounded, counts = np.unique(np.round(positive, 12), return_counts=True)
    return float(rounded[np.argmax(counts)])


def lattice_steps(X: np.ndarray) -> np.ndarray:
    """The lattice step of every feature (module docstring); 0 for continuous features.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite values, or NaN for missing cells (left out; a feature with no value is
        continuous).

    Returns
    -------
    ndarray of shape (n_features,)
    """
    distinct = [np.unique(X[~np.isnan(X[:, j]), j]) for j in range(X.shape[1])]
    steps = np.array([_feature_step(v) if v.shape[0] > 1 else 0.0 for v in distinct])
    common = _commonest(steps)
    for j, values in enumerate(distinct):
        if values.shape[0] == 0:
            continue
        constant = values.shape[0] == 1
        integer = bool(np.all(values == np.round(values)))
        if common and (constant or not integer) and _on_lattice(values, common):
            steps[j] = common
        elif constant and integer:
            steps[j] = 1.0
    return steps


def dequantised(X: np.ndarray, noise: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``X + steps * (noise - 1/2)``: each value spread over its cell, centred on it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    noise : ndarray of shape (n_samples, n_features)
        Uniform on [0, 1).
    steps : ndarray of shape (n_features,)
        From :func:`lattice_steps` (0 leaves a feature as it is).
    """
    return X + (noise - 0.5) * steps


def dequantises_itself(density: Density) -> bool:
    """True for a family that adds its own dequantisation noise when it is fitted (a
    :class:`TransformedDensity` whose transform dequantises): it takes the rows as given."""
    if not isinstance(density, TransformedDensity):
        return False
    transform = density.transform
    if isinstance(transform, LogitTransform):
        return bool(transform.dequantize)
    return bool(NAMED_TRANSFORMS.get(transform, {}).get("dequantize", True))


def fitted_as_given(density: Density) -> bool:
    """True for a family fitted on the rows as given rather than on :func:`dequantised`
    rows: those that dequantise for themselves, and the Gaussian copula with empirical
    marginals, whose marginals already spread each lattice value's mass evenly over its
    cell (:mod:`bayesgen.densities.marginals`), so that fitted to the rows as given it is
    a density of the dequantised variable that cannot spike (at most the cell's mass over
    its width).  Dequantising its rows first would only blur those cells: on scikit-learn's
    digits it cost ``mfacopula:3x10`` 0.35 bits per pixel (benchmarks/README.md,
    "Automatic choice").  Such a copula is still scored at the dequantised rows."""
    from bayesgen.densities.copula import GaussianCopulaDensity

    if dequantises_itself(density):
        return True
    return isinstance(density, GaussianCopulaDensity) and density.marginals == "empirical"


def lattice_log_density(
    density: Density, X: np.ndarray, noise: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """``log p`` of the :func:`dequantised` rows under a fitted density.

    Parameters
    ----------
    density : Density
        Fitted on :func:`dequantised` rows, or on the rows as given if it
        :func:`dequantises_itself` (then scored through its cell probabilities, see the
        module docstring).
    X : ndarray of shape (n_samples, n_features)
        The rows as given.
    noise : ndarray of shape (n_samples, n_features)
        Uniform on [0, 1).
    steps : ndarray of shape (n_features,)
        From :func:`lattice_steps`.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    if not dequantises_itself(density):
        return density.score_samples(dequantised(X, noise, steps))
    transform = density.transform_
    scale, levels = transform.input_scale_, transform.levels
    # a lattice finer than the transform's cells: the probability of one of its cells
    # spread over a finer step would overstate the density (a coarser step understates it)
    finer = (steps > 0) & (steps * scale < 1.0 - 1e-9)
    if finer.any():
        j = int(np.flatnonzero(finer)[0])
        raise FitError(
            f"feature {j} lies on a lattice of step {steps[j]:g}, finer than the cells of the "
            f"transform ({1.0 / scale:g}: pixel counts 0..{levels - 1} divided by {scale:g}), "
            "so its likelihood cannot be put on the data's scale; the transform is for pixels"
        )
    cells = np.where(steps > 0, steps, 1.0 / scale)
    unit = (X * scale + noise) / levels
    jacobian = X.shape[1] * math.log(levels) + float(np.log(cells).sum())
    return density.score_unit(unit) - jacobian
