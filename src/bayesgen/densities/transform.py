"""Invertible input transforms for bounded data: dequantisation plus logit.

Why
---
8-bit pixels are integers in 0..255, and a Gaussian on [0, 1] puts mass outside the range
(samples must then be clipped) while a continuous density on integers is unbounded.  The
standard fix in density estimation (Uria et al. 2013; Dinh et al. 2017; Papamakarios et al.
2017) is

1. dequantise: ``y = (pixel + u) / 256`` with ``u ~ U(0, 1)`` per pixel, so ``y`` is a
   continuous variable on (0, 1) whose density, integrated over a pixel's cell, is the
   probability of that pixel value;
2. logit: ``z = logit(lambda + (1 - 2 lambda) y)``, which maps (0, 1) onto the real line, so
   a Gaussian (or any family) in ``z`` is a proper density of ``y``.

Change of variables: ``log p(y) = log p(z) + sum_j log |dz_j / dy_j|`` with
``dz/dy = (1 - 2 lambda) / (s (1 - s))`` and ``s = lambda + (1 - 2 lambda) y``.

Bits per dimension on the dequantised 0..256 scale: a density of ``y`` on [0, 1]^d is a
density of ``256 y`` divided by ``256^d``, so::

    bpd = -(mean log p(y) - d log 256) / (d ln 2)

This is the number reported in the literature: for 8-bit data it upper-bounds the average
code length of the discrete pixels (the dequantisation bound of Theis et al. 2016).

The MAF protocol for MNIST (Papamakarios, Pavlakou and Murray 2017, section 4 and appendix)
-------------------------------------------------------------------------------------------
* pixels are dequantised with uniform noise and scaled to [0, 1]: ``y = (pixel + u) / 256``;
* transformed with ``z = logit(lambda + (1 - 2 lambda) y)``, ``lambda = 1e-6``;
* models are fitted to ``z``; the log-likelihood is reported in logit space (nats, the
  ``log p(z)`` averaged over the test set; for class-conditional models
  ``log p(z) = log sum_y p(y) p(z | y)`` with the uniform label prior), and in bits per
  pixel after adding the log-Jacobian of the logit and converting as above;
* their split is 50,000 training / 10,000 validation / 10,000 test images.  Their one full
  Gaussian per class scores -1344.7 nats (1.97 bits/pixel) on that protocol; the benchmark in
  ``benchmarks/mnist_families.py`` reproduces it with maximum-likelihood covariances.

Gaussian end cells (``end_cells="gaussian"``)
---------------------------------------------
Most MNIST pixels are 0 (and many are 255), and the logit treats those two cells badly for
a Gaussian model: a dequantised 0 is ``y ~ U(0, 1/256)``, whose logit ``z ~ log(lam + y)``
is spread over [-13.8, -5.5] with an exponential, one-sided shape.  Its entropy is about
1 nat, against 1.42 for the Gaussian of the same variance that a mixture component fits
to it: about 0.4 nats wasted per blank pixel, half a bit per pixel on MNIST.  With
``end_cells="gaussian"`` the two end cells are mapped through a normal quantile instead::

    u = levels * y                     (position inside the first cell, in (0, 1))
    z = b + s * (Phi^{-1}(Phi(a) u) - a)       b = logit(lam + (1 - 2 lam) / levels)

so a uniform ``u`` becomes a normal tail of scale ``s`` (``end_scale``) cut at ``a``
standard deviations (``end_cut``) above its centre, joined continuously to the logit of the
inner cells at ``b``; the last cell is the mirror image.  The map stays monotone and
invertible with ``log dz/dy = log(s Phi(a) levels) - log phi(Phi^{-1}(Phi(a) u))``, every
inner cell is transformed exactly as before, and 0 and 255 stay far from the ink values
(which is what a classifier on ``z`` needs).  Likelihoods remain exact densities of the
dequantised ``y``; only the space in which the base density is fitted changes.

The classifier's scale
----------------------
bayesgen's loaders return pixels scaled to [0, 1] as ``pixel / 255``.  :class:`LogitTransform`
therefore takes ``input_scale``: the factor that turns an input value into a pixel count
(``pixel = x * input_scale``).  ``"auto"`` (default) picks 255 when the training data lie in
[0, 1] and 1 when they look like raw counts (maximum above 1).  Then

* at fit time every training row is dequantised with fresh uniform noise (seeded by the
  density's ``random_state``): ``y = (x * input_scale + u) / levels``;
* at scoring time the cell centre is used, ``y = (x * input_scale + 1/2) / levels`` (a
  deterministic affine map of ``x``), and :meth:`TransformedDensity.score_samples` returns
  the density of ``x`` itself, i.e. it adds ``d log(input_scale / levels)`` for that affine
  map; :meth:`TransformedDensity.score_unit` and :meth:`TransformedDensity.bits_per_dim`
  work on the dequantised [0, 1] scale of the literature;
* a sample is drawn in ``z``, mapped back to ``y`` and quantised: ``pixel = floor(levels y)``
  (the cell it falls in; the two end cells also take the ``lambda`` margins of width
  1e-6 beyond [0, 1]), returned as ``pixel / input_scale``.  Samples are therefore valid
  pixel values in range, with no clipping of the density.

With ``dequantize=False`` the data are taken as continuous: ``y = x * input_scale / levels``
(for continuous data on [0, 1] pass ``input_scale=1, levels=1``), and samples are
``levels y / input_scale``.  With ``logit=False`` the transform is dequantisation alone.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import expit, ndtr, ndtri
from sklearn.base import clone

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import (
    check_bool,
    check_instance,
    check_int,
    check_keys,
    check_real,
    state_error,
)
from bayesgen.densities.base import Density, check_fitted_density
from bayesgen.kernels.conditioning import Conditioned

__all__ = ["LogitTransform", "TransformedDensity", "bits_per_dim"]

#: most quantisation levels a transform may have (32-bit counts)
_MAX_LEVELS = 2**32


def bits_per_dim(log_density_unit, n_features: int, levels: int = 256) -> float:
    """Bits per dimension on the dequantised 0..levels scale.

    Parameters
    ----------
    log_density_unit : float or array-like
        ``log p(y)`` (nats) of rows ``y`` on the [0, 1] scale; averaged if an array.
    n_features : int
    levels : int, default=256

    Returns
    -------
    float
        ``-(mean log p(y) - d log(levels)) / (d ln 2)``.
    """
    mean = float(np.mean(log_density_unit))
    d = int(n_features)
    return -(mean - d * math.log(levels)) / (d * math.log(2.0))


@persistable("LogitTransform")
class LogitTransform:
    """Dequantisation plus logit: pixels -> (0, 1) -> the real line (module docstring).

    Parameters
    ----------
    lam : float, default=1e-6
        The logit margin ``lambda``: ``z = logit(lam + (1 - 2 lam) y)``.
    dequantize : bool, default=True
        Add uniform noise to training rows (``y = (pixel + u) / levels``); score at cell
        centres; quantise samples back to integer pixels.
    levels : int, default=256
        Number of quantisation levels (256 for 8-bit data).
    input_scale : "auto" or float, default="auto"
        ``pixel = x * input_scale``. "auto": 255 if the training data lie in [0, 1]
        (bayesgen's loaders divide by 255), else 1 (raw counts).
    logit : bool, default=True
        Apply the logit after dequantisation.  ``logit=False`` gives dequantisation alone
        (``z = y``): a density of ``(pixel + u) / levels`` whose samples are quantised back
        to pixels (and, unlike with the logit, clipped to the range).
    end_cells : {"logit", "gaussian"}, default="logit"
        How the first and last cells (pixels 0 and 255) are mapped: "logit" like the others
        (the MAF protocol), "gaussian" through a normal quantile so that their dequantised
        values are Gaussian tails in ``z`` (module docstring).  "gaussian" needs
        ``dequantize=True`` and ``logit=True``.
    end_scale : float, default=2.0
        Scale ``s`` of the Gaussian end cells in ``z``.
    end_cut : float, default=2.0
        Where the Gaussian end cell joins the inner cells, in standard deviations ``a``
        above its centre.  The defaults (s = 2, a = 2) were chosen on a validation split of
        the MNIST training set (benchmarks/README.md).
    """

    def __init__(
        self,
        lam=1e-6,
        dequantize=True,
        levels=256,
        input_scale="auto",
        logit=True,
        end_cells="logit",
        end_scale=2.0,
        end_cut=2.0,
    ):
        self.lam = lam
        self.dequantize = dequantize
        self.levels = levels
        self.input_scale = input_scale
        self.logit = logit
        self.end_cells = end_cells
        self.end_scale = end_scale
        self.end_cut = end_cut

    def get_params(self, deep: bool = False) -> dict:
        return {
            "lam": self.lam,
            "dequantize": self.dequantize,
            "levels": self.levels,
            "input_scale": self.input_scale,
            "logit": self.logit,
            "end_cells": self.end_cells,
            "end_scale": self.end_scale,
            "end_cut": self.end_cut,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"LogitTransform({args})"

    def _check_params(self) -> None:
        if not isinstance(self.lam, numbers.Real) or not 0.0 <= self.lam < 0.5:
            raise ValueError(f"lam must be a number in [0, 0.5); got {self.lam!r}")
        lv = self.levels
        check_int(lv, "levels", low=1, high=_MAX_LEVELS)
        s = self.input_scale
        if not (s == "auto" if isinstance(s, str) else isinstance(s, numbers.Real) and s > 0):
            raise ValueError(f"input_scale must be 'auto' or a positive number; got {s!r}")
        if self.end_cells not in ("logit", "gaussian"):
            raise ValueError(f"end_cells must be 'logit' or 'gaussian'; got {self.end_cells!r}")
        for name in ("end_scale", "end_cut"):
            check_real(getattr(self, name), name, low=0, open_low=True)
        if self.end_cells == "gaussian" and not (self.dequantize and self.logit and lv >= 2):
            raise ValueError(
                "end_cells='gaussian' reshapes the dequantised end cells of the logit; it "
                "needs dequantize=True, logit=True and levels >= 2"
            )

    # fitting -------------------------------------------------------------------------
    def fit(self, X: np.ndarray) -> LogitTransform:
        """Resolve ``input_scale`` from the training rows and check their range."""
        self._check_params()
        if self.input_scale == "auto":
            top = float(X.max()) if X.size else 0.0
            self.input_scale_ = float(self.levels - 1) if top <= 1.0 else 1.0
        else:
            self.input_scale_ = float(self.input_scale)
        self._check_range(X)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "input_scale_"):
            raise NotFittedError("This LogitTransform is not fitted yet; call fit(X) first.")

    def _check_range(self, X: np.ndarray) -> None:
        pixels = X * self.input_scale_
        top = self.levels - 1 if self.dequantize else self.levels
        if X.size and (pixels.min() < -1e-9 or pixels.max() > top + 1e-9):
            raise DataError(
                f"the logit transform expects values in [0, {top / self.input_scale_:g}] "
                f"(pixel counts 0..{top} divided by input_scale={self.input_scale_:g}); "
                f"found values from {X.min():g} to {X.max():g}. Pass input_scale=1 for raw "
                "counts, 255 for pixel/255 data, or rescale the data"
            )

    # maps ----------------------------------------------------------------------------
    def to_unit(self, X: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Inputs -> ``y`` on (0, 1): dequantised with noise from ``rng``, else cell centres."""
        self._check_fitted()
        pixels = X * self.input_scale_
        if not self.dequantize:
            return pixels / self.levels
        if rng is None:
            return (pixels + 0.5) / self.levels
        return (pixels + rng.random(pixels.shape)) / self.levels

    def _logit(self, Y: np.ndarray) -> np.ndarray:
        s = self.lam + (1.0 - 2.0 * self.lam) * Y
        return np.log(s) - np.log1p(-s)

    def _end_cells(self, Y: np.ndarray):
        """Masks of the first and last cells and each entry's position ``u`` in (0, 1)
        (measured from the outer edge; float64, floored at 1e-300 so 0 and 1 stay finite)."""
        width = 1.0 / self.levels
        low, high = Y < width, Y > 1.0 - width
        u_low = np.maximum(Y[low].astype(np.float64) * self.levels, 1e-300)
        u_high = np.maximum((1.0 - Y[high].astype(np.float64)) * self.levels, 1e-300)
        return (low, u_low), (high, u_high)

    def _join(self) -> float:
        """``b``: where the first Gaussian end cell meets the logit of the inner cells."""
        return float(self._logit(np.asarray(1.0 / self.levels)))

    def forward(self, Y: np.ndarray) -> np.ndarray:
        """``z = logit(lam + (1 - 2 lam) y)`` (``z = y`` when ``logit=False``).

        With ``end_cells="gaussian"`` the first and last cells go through the normal
        quantile of the module docstring instead.
        """
        if not self.logit:
            return Y
        Z = self._logit(Y)
        if self.end_cells == "gaussian":
            b, s, a = self._join(), float(self.end_scale), float(self.end_cut)
            top = ndtr(a)
            for sign, (mask, u) in zip((1.0, -1.0), self._end_cells(Y), strict=True):
                Z[mask] = sign * (b + s * (ndtri(top * u) - a))
        return Z

    def log_det_jacobian(self, Y: np.ndarray) -> np.ndarray:
        """``sum_j log |dz_j / dy_j|`` per row, shape (n,)."""
        if not self.logit:
            return np.zeros(Y.shape[0])
        s = self.lam + (1.0 - 2.0 * self.lam) * Y
        per = math.log1p(-2.0 * self.lam) - np.log(s) - np.log1p(-s)
        if self.end_cells == "gaussian":
            a = float(self.end_cut)
            top = ndtr(a)
            const = math.log(float(self.end_scale) * top * self.levels) + 0.5 * math.log(
                2.0 * math.pi
            )
            for mask, u in self._end_cells(Y):
                q = ndtri(top * u)
                per[mask] = const + 0.5 * q * q
        return per.sum(axis=1)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        """``y = (sigmoid(z) - lam) / (1 - 2 lam)`` (``y = z`` when ``logit=False``).

        With ``end_cells="gaussian"``, ``z`` beyond the joins maps back through the normal
        CDF into the first or last cell.
        """
        if not self.logit:
            return Z
        Y = (expit(Z) - self.lam) / (1.0 - 2.0 * self.lam)
        if self.end_cells == "gaussian":
            b, s, a = self._join(), float(self.end_scale), float(self.end_cut)
            top = ndtr(a)
            low, high = Z < b, Z > -b
            Y[low] = ndtr(a + (Z[low] - b) / s) / (top * self.levels)
            Y[high] = 1.0 - ndtr(a + (-Z[high] - b) / s) / (top * self.levels)
        return Y

    def from_unit(self, Y: np.ndarray) -> np.ndarray:
        """``y`` -> inputs: the pixel cell ``floor(levels y)`` over ``input_scale``."""
        self._check_fitted()
        if not self.dequantize:
            return Y * (self.levels / self.input_scale_)
        pixels = np.clip(np.floor(Y * self.levels), 0, self.levels - 1)
        return pixels / self.input_scale_

    def log_scale(self, n_features: int) -> float:
        """``d log(input_scale / levels)``: log-Jacobian of the affine map x -> y."""
        self._check_fitted()
        return n_features * math.log(self.input_scale_ / self.levels)

    # persistence ---------------------------------------------------------------------
    def _get_state(self) -> dict:
        if not hasattr(self, "input_scale_"):  # unfitted (part of a template)
            return {"params": self.get_params(), "input_scale_": None}
        return {"params": self.get_params(), "input_scale_": self.input_scale_}

    @classmethod
    def _from_state(cls, state: dict) -> LogitTransform:
        check_keys(state, "LogitTransform state", ("params", "input_scale_"))
        names = tuple(cls().get_params())
        obj = cls(**check_keys(state["params"], "LogitTransform params", (), names))
        for flag in ("dequantize", "logit"):
            check_bool(getattr(obj, flag), f"LogitTransform {flag}")
        obj._check_params()
        if state["input_scale_"] is None:
            return obj
        scale = state["input_scale_"]
        obj.input_scale_ = check_real(scale, "LogitTransform input_scale_", low=0, open_low=True)
        # the density divides by input_scale_ / levels and takes its log: both must be finite
        # and non-zero (5e-324 passes the check above and makes log_scale a math error)
        ratio = obj.input_scale_ / obj.levels
        if not (ratio >= np.finfo(float).tiny and math.isfinite(1.0 / ratio)):
            raise ValueError(
                f"LogitTransform input_scale_ / levels must be a normal positive number; "
                f"found {obj.input_scale_!r} / {obj.levels}"
            )
        return obj


#: transforms by name: "logit" is the MAF protocol's, "glogit" has Gaussian end cells
NAMED_TRANSFORMS = {
    "logit": {},
    "glogit": {"end_cells": "gaussian"},
    "deq": {"logit": False},
}


def _make_transform(transform) -> LogitTransform:
    if transform is None:
        return LogitTransform()
    if isinstance(transform, str) and transform in NAMED_TRANSFORMS:
        return LogitTransform(**NAMED_TRANSFORMS[transform])
    if isinstance(transform, LogitTransform):
        return LogitTransform(**transform.get_params())
    raise ValueError(
        f"transform must be one of {sorted(NAMED_TRANSFORMS)} or a LogitTransform; got "
        f"{transform!r}"
    )


@persistable("TransformedDensity")
class TransformedDensity(Density):
    """A density of ``z = T(x)`` turned into a density of ``x`` by the change of variables.

    ``fit`` dequantises and transforms the rows, then fits ``base`` to ``z``;
    ``score_samples`` adds the log-Jacobian; ``sample`` samples ``base`` and maps back, so
    samples are valid pixel values without clipping (see the module docstring for the
    scales involved).

    Parameters
    ----------
    base : Density, default=None
        Density fitted in the transformed space (default: a full :class:`GaussianDensity`).
    transform : "logit", "glogit", "deq" or LogitTransform, default="logit"
        "glogit" is the logit with Gaussian end cells (``end_cells="gaussian"``), "deq"
        dequantisation alone.
    random_state : None, int or numpy.random.Generator
        Seeds the dequantisation noise of the training rows (and the base, if it has no
        ``random_state`` of its own).

    Attributes
    ----------
    base_ : Density
        The fitted base density of ``z``.
    transform_ : LogitTransform
        The fitted transform.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen.densities import TransformedDensity
    >>> pixels = np.random.default_rng(0).integers(0, 256, size=(500, 4)) / 255
    >>> density = TransformedDensity().fit(pixels)
    >>> samples = density.sample(3, random_state=0)
    >>> bool(((samples >= 0) & (samples <= 1)).all())
    True
    """

    _fitted_attributes = ("base_", "transform_")

    def __init__(self, base=None, transform="logit", random_state=None):
        self.base = base
        self.transform = transform
        self.random_state = random_state

    def _base_template(self) -> Density:
        if self.base is None:
            from bayesgen.densities.gaussian import GaussianDensity

            return GaussianDensity()
        if not (hasattr(self.base, "fit") and hasattr(self.base, "score_samples")):
            raise ValueError(f"base must be a density object; got {self.base!r}")
        return clone(self.base)

    def takes_values(self, X: np.ndarray) -> bool:
        """Whether the transform takes these rows at all: pixel counts in its range, as
        :meth:`fit` checks them (``input_scale="auto"`` reads values up to 1 as
        ``pixel / 255``).  ``density="auto"`` skips the transform's candidates otherwise."""
        try:
            _make_transform(self.transform).fit(np.asarray(X, dtype=float))
        except DataError:
            return False
        return True

    def _fit(self, X: np.ndarray) -> None:
        transform = _make_transform(self.transform).fit(X)
        rng = check_random_state(self.random_state)
        Y = transform.to_unit(X, rng if transform.dequantize else None)
        base = self._base_template()
        if "random_state" in base.get_params() and base.get_params()["random_state"] is None:
            base.set_params(random_state=int(rng.integers(0, 2**31 - 1)))
        self.base_ = base.fit(transform.forward(Y))
        self.transform_ = transform
        self.n_features_in_ = X.shape[1]
        self._mean_cache = None

    # kernels -----------------------------------------------------------------------
    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        self.transform_._check_range(X)
        Y = self.transform_.to_unit(X)
        return self._score_unit(Y) + self.transform_.log_scale(X.shape[1])

    def _score_unit(self, Y: np.ndarray) -> np.ndarray:
        Z = self.transform_.forward(Y)
        return self.base_._score_samples(Z) + self.transform_.log_det_jacobian(Y)

    def score_unit(self, Y):
        """``log p(y)`` of rows ``y`` on the dequantised [0, 1] scale (nats), shape (n,).

        Parameters
        ----------
        Y : array-like of shape (n_samples, n_features)
            Values in (0, 1), e.g. ``(pixel + u) / 256``.
        """
        self._check_fitted()
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim != 2 or Y.shape[1] != self.n_features_in_:
            raise DataError(f"expected an array of shape (n, {self.n_features_in_}); got {Y.shape}")
        if Y.size and (Y.min() < 0 or Y.max() > 1):
            raise DataError("score_unit expects values in [0, 1] (dequantised pixels / 256)")
        return self._score_unit(Y)

    def dequantize(self, X, random_state=None) -> np.ndarray:
        """Inputs -> dequantised ``y = (pixel + u) / levels`` on (0, 1), shape (n, d)."""
        self._check_fitted()
        X = self._validate_input(X, reset=False)
        rng = check_random_state(random_state)
        return self.transform_.to_unit(X, rng if self.transform_.dequantize else None)

    def bits_per_dim(self, X, random_state=None) -> float:
        """Bits per dimension of rows ``X`` (classifier scale) under random dequantisation.

        ``-(mean log p(y) - d log levels) / (d ln 2)`` with ``y = (pixel + u) / levels``.
        """
        Y = self.dequantize(X, random_state)
        return bits_per_dim(self._score_unit(Y), Y.shape[1], self.transform_.levels)

    def _sample(self, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        Z = self.base_._sample(n, rng, np.dtype(np.float64))
        return self.transform_.from_unit(self.transform_.inverse(Z)).astype(dtype, copy=False)

    def condition(self, x, observed) -> Conditioned:
        """Conditioned in the transformed space; ``log p(x_o)`` adds the log-Jacobian of
        the observed features (see :meth:`Density.condition`)."""
        tf = self.transform_
        y = tf.to_unit(x[None, :])
        z = tf.forward(y)[0]
        inner = self.base_.condition(z, observed)
        s = tf.lam + (1.0 - 2.0 * tf.lam) * y[0, observed]
        jac = (
            float(np.sum(math.log1p(-2.0 * tf.lam) - np.log(s) - np.log1p(-s))) if tf.logit else 0.0
        )
        jac += observed.sum() * math.log(tf.input_scale_ / tf.levels)
        base_to_x = inner.to_x

        def to_x(rows):
            if base_to_x is not None:
                rows = base_to_x(rows)
            return tf.from_unit(tf.inverse(rows))

        return Conditioned(inner.log_weights, inner.pieces, observed, z, to_x=to_x, log_extra=jac)

    def mean(self) -> np.ndarray:
        """E[x], estimated from 20,000 samples drawn with a fixed seed (cached).

        The mean of a logit-transformed density has no closed form.
        """
        self._check_fitted()
        cache = getattr(self, "_mean_cache", None)
        if cache is None:
            cache = self._sample(20_000, np.random.default_rng(0), np.dtype(np.float64)).mean(0)
            self._mean_cache = cache
        return cache

    def n_parameters(self) -> int:
        """Parameters of the base density (the transform has none)."""
        self._check_fitted()
        return int(self.base_.n_parameters())

    # persistence -------------------------------------------------------------------
    def _get_state(self) -> dict:
        if not self._is_fitted():
            return self._unfitted_state()
        params = self.get_params(deep=False)
        params["base"] = None  # rebuilt from the fitted base_ (an unfitted object has no state)
        params["transform"] = None  # rebuilt from the fitted transform_
        return {
            "params": params,
            "fitted": {
                "base_": self.base_,
                "transform_": self.transform_,
                "n_features_in_": int(self.n_features_in_),
            },
        }

    def _check_loaded_params(self) -> None:
        if self.base is not None:
            what = "a bayesgen density or None"
            check_instance(self.base, "TransformedDensity base", Density, what)
        t = self.transform
        named = isinstance(t, str) and t in NAMED_TRANSFORMS
        if not (t is None or named or isinstance(t, LogitTransform)):
            expected = f"None, a LogitTransform or one of {sorted(NAMED_TRANSFORMS)}"
            raise state_error("TransformedDensity transform", expected, t)
        super()._check_loaded_params()

    def _after_load(self) -> None:
        check_fitted_density(self.base_, "TransformedDensity base_", self.n_features_in_)
        what = "a fitted LogitTransform"
        check_instance(self.transform_, "TransformedDensity transform_", LogitTransform, what)
        if not hasattr(self.transform_, "input_scale_"):
            raise ValueError("TransformedDensity transform_ must be fitted; found an unfitted one")
        self.base = clone(self.base_)
        self.transform = LogitTransform(**self.transform_.get_params())
        self._mean_cache = None
