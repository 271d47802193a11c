"""Held-out log-likelihood in nats and bits, with the units and the pixel scale stated."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.metrics._common import MetricResult

__all__ = ["LogLikelihoodReport", "dequantised_bits_per_dim", "log_likelihood_report"]


@dataclass(frozen=True)
class LogLikelihoodReport(MetricResult):
    """Held-out log-likelihood with explicit units.

    Attributes
    ----------
    n_samples, n_features : int
        Number of scored rows ``n`` and dimension ``d``.
    mean_log_likelihood : float
        Mean of ``log p(x)`` in **nats per sample** on the scale the model was fitted on
        (higher is better).
    sem_log_likelihood : float
        Standard error of that mean (nats per sample); NaN when ``n == 1``.
    log_likelihood_per_dim : float
        ``mean_log_likelihood / d`` in nats per dimension.
    bits_per_dim : float
        Negative log-likelihood in bits per dimension on the data's own scale,
        ``-mean_log_likelihood / (d ln 2)`` (lower is better).
    pixel_scale : float or None
        The divisor ``s`` with ``x = pixel / s`` (256 or 255 for 8-bit data), or None.
    mean_log_likelihood_8bit, bits_per_dim_8bit : float or None
        The same on the dequantised 0-256 pixel scale (``log p(x) - d log s``); only when
        ``pixel_scale`` is given.  ``bits_per_dim_8bit`` is the number papers report.
    units : dict
        The unit and convention of every number above.
    """

    n_samples: int
    n_features: int
    mean_log_likelihood: float
    sem_log_likelihood: float
    log_likelihood_per_dim: float
    bits_per_dim: float
    pixel_scale: float | None
    mean_log_likelihood_8bit: float | None
    bits_per_dim_8bit: float | None
    units: dict


def _standard_error(ld: np.ndarray) -> float:
    """``std(ld, ddof=1) / sqrt(n)``; NaN for one row, inf when some ``log p`` is infinite."""
    n = ld.size
    if n > 1 and np.all(np.isfinite(ld)):
        return float(np.std(ld, ddof=1) / math.sqrt(n))
    return float("nan") if n == 1 else float("inf")


def _units(scale: float | None) -> dict:
    """The unit and convention of each field of :class:`LogLikelihoodReport`."""
    units = {
        "mean_log_likelihood": "nats per sample, log p(x) on the fitted data scale",
        "sem_log_likelihood": "nats per sample (standard error of the mean)",
        "log_likelihood_per_dim": "nats per dimension (mean log p(x) / d)",
        "bits_per_dim": "bits per dimension, -mean log2 p(x) / d on the fitted data scale",
    }
    if scale is not None:
        units["mean_log_likelihood_8bit"] = (
            f"nats per sample on the 0-256 pixel scale: log p(x) - d*ln({scale:g})"
        )
        units["bits_per_dim_8bit"] = (
            f"bits per dimension on the 0-256 pixel scale: "
            f"-(mean log p(x) - d*ln({scale:g})) / (d*ln 2)"
        )
    return units


def log_likelihood_report(log_density, n_features, pixel_scale=None) -> LogLikelihoodReport:
    """Summarise held-out log-densities in nats and bits, with the units stated.

    Parameters
    ----------
    log_density : array-like of shape (n,)
        ``log p(x)`` of held-out rows in nats, e.g. ``model.score_samples(X_test)``.
    n_features : int
        Dimension ``d`` of each row.
    pixel_scale : float, optional
        For 8-bit image data: the divisor ``s`` used to scale pixels, ``x = pixel / s``.
        Use ``256`` when the model was fitted on uniformly dequantised data
        ``x = (pixel + u) / 256``, ``u ~ U[0, 1)``, so that ``x`` lies in ``[0, 1]``; ``255``
        for ``x = pixel / 255``; ``1`` when the model saw raw 0-255 values.

    Returns
    -------
    LogLikelihoodReport

    Notes
    -----
    Change of variables: if ``x = v / s`` with ``v`` on the 0-256 pixel scale, then
    ``p_v(v) = p_x(x) / s**d``, so the log-density on the 0-256 scale is
    ``log p_x(x) - d log s`` (for ``s = 256``: shift by ``-d log 256``) and

    ``bits/dim = -(mean log p_x(x) - d log s) / (d ln 2)``.

    Check: the uniform density on ``[0, 1]**d`` has ``log p_x = 0`` and gives exactly 8 bits
    per dimension for ``s = 256`` -- the cost of storing the raw bytes.  The 8-bit number is
    an upper bound on the discrete negative log-likelihood (comparable with published
    bits/dim) only when the model was fitted to *dequantised* data; a continuous density
    fitted to the raw integer values can put unbounded density on them (constant pixels,
    tiny variances), and its bits/dim can then be meaningless or negative.
    """
    ld = np.asarray(log_density, dtype=np.float64).ravel()
    if ld.size == 0:
        raise DataError("log_density is empty; pass one log-density per held-out row.")
    # -inf is a legitimate score (a row outside the support); only NaN means "no score".
    if np.any(np.isnan(ld)):
        raise DataError(
            "log_density contains NaN; the model could not score some rows. Check the input "
            "for NaN values or a model fitted with reg_covar too small."
        )
    d = int(n_features)
    if d < 1:
        raise DataError(f"n_features must be a positive integer; got {n_features!r}.")
    mean = float(np.mean(ld))
    bpd = -mean / (d * math.log(2.0))
    mean8 = bpd8 = None
    scale = None
    if pixel_scale is not None:
        scale = float(pixel_scale)
        if not (scale > 0 and math.isfinite(scale)):
            raise DataError(
                f"pixel_scale must be a positive number (256, 255 or 1); got {pixel_scale!r}."
            )
        mean8 = mean - d * math.log(scale)
        bpd8 = -mean8 / (d * math.log(2.0))
    return LogLikelihoodReport(
        n_samples=ld.size,
        n_features=d,
        mean_log_likelihood=mean,
        sem_log_likelihood=_standard_error(ld),
        log_likelihood_per_dim=mean / d,
        bits_per_dim=bpd,
        pixel_scale=scale,
        mean_log_likelihood_8bit=mean8,
        bits_per_dim_8bit=bpd8,
        units=_units(scale),
    )


def dequantised_bits_per_dim(model, X, levels: int, *, random_state=None) -> float:
    """Bits per dimension of held-out rows of a classifier's joint density, dequantised.

    For rows ``X = pixel / (levels - 1)`` (every feature on the lattice of ``levels``
    values in [0, 1]), each class density is scored as a density of the dequantised
    ``x + (u - 1/2) / (levels - 1)``, ``u ~ U(0, 1)`` per cell
    (:func:`bayesgen.densities.lattice.lattice_log_density`: families that dequantise for
    themselves through their cell probabilities, the family ``auto`` chose in its place),
    ``log p(x) = logsumexp_k log p(y = k) + log p(x | y = k)``, and::

        bits = -(mean log p(x) - d ln(levels - 1)) / (d ln 2)

    the code length of the pixels on the 0..levels-1 scale: one scale for a Gaussian and
    for any other family (lower is better).

    Parameters
    ----------
    model : fitted BayesClassifier
    X : array-like of shape (n_samples, n_features)
        Values ``k / (levels - 1)``, ``k`` integers in ``0..levels - 1``.
    levels : int
        Number of pixel values (256 for 8-bit images, 17 for scikit-learn's digits).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    float
    """
    from scipy.special import logsumexp

    from bayesgen.base.rng import check_random_state
    from bayesgen.densities.lattice import lattice_log_density
    from bayesgen.densities.select import AutoDensity

    X = np.asarray(X, dtype=float)
    if not isinstance(levels, (int, np.integer)) or levels < 2:
        raise DataError(f"levels must be an integer of at least 2; got {levels!r}")
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"expected a non-empty 2-D array of rows; got shape {X.shape}")
    k = X * (levels - 1)
    if not np.allclose(k, np.round(k), atol=1e-6) or k.min() < 0 or k.max() > levels - 1:
        raise DataError(
            f"expected rows of values k / {levels - 1} with k in 0..{levels - 1} (pixels "
            f"divided by {levels - 1}); rescale the data or give the right levels"
        )
    noise = check_random_state(random_state).random(X.shape)
    steps = np.full(X.shape[1], 1.0 / (levels - 1))
    columns = [  # a class without rows (partial_fit with classes=...) has prior 0
        np.full(X.shape[0], -np.inf)
        if density is None
        else lattice_log_density(
            density.best_ if isinstance(density, AutoDensity) else density, X, noise, steps
        )
        for density in model.densities_
    ]
    with np.errstate(divide="ignore"):  # a prior of 0: that class adds nothing
        log_prior = np.log(model.class_prior_)
    log_p = logsumexp(np.column_stack(columns) + log_prior, axis=1)
    d = X.shape[1]
    return float(-(np.mean(log_p) - d * math.log(levels - 1)) / (d * math.log(2.0)))
