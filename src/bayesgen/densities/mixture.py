"""Mixtures per class: Gaussian mixtures and mixtures of factor analysers, fitted by EM.

Model
-----
``p(x) = sum_j w_j N(x | mu_j, Sigma_j)`` with ``Sigma_j`` full, diagonal, or low rank plus
diagonal (a mixture of factor analysers, Ghahramani and Hinton 1996).  Every fitted component
holds a factored :class:`~bayesgen.kernels.covariance.Covariance`, so scoring and sampling
never refactor.

EM in log space, in matrix products
-----------------------------------
* E-step: ``log r_ij = log w_j + log N(x_i | mu_j, Sigma_j) - logsumexp_j(...)``; the
  responsibilities are exponentials of log-probabilities, never normalised products of
  densities, so nothing underflows in high dimension.  The mean of the logsumexp is the
  log-likelihood per row, recorded after every iteration in ``lower_bound_history_``.  The
  log-densities of all rows and components come from the kernels of
  :mod:`bayesgen.kernels.mixture_estep`, component-major (K, n): for diagonal and low-rank
  components one matrix product ``[mu / v, -1 / (2 v)] @ [X, X^2]^T`` for all components
  at once (plus ``[A_1 .. A_K]^T @ X^T`` for the Woodbury corrections); for full ones one
  triangular product (BLAS ``trmm``) with ``L_j^{-1}`` per component on the whole block of
  rows.
* M-step: ``N_j = sum_i r_ij``, ``w_j = N_j / n``, and products with the responsibilities:

  - diag: ``R [X, X^2]`` (one product) gives ``mu_j`` and ``Sigma_j = E_j[x^2] - mu_j^2
    + reg_covar``;
  - full: ``mu_j = (R X)_j / N_j`` and ``Sigma_j = Y_j^T Y_j / N_j + reg_covar I`` with
    ``Y_j = sqrt(r_j) (X - mu_j)``, one BLAS ``syrk`` per component (half the flops of a
    general product), then its Cholesky factor ``L_j`` and ``L_j^{-1}`` (LAPACK ``trtri``);
  - factor analysers: one EM step of factor analysis on the weighted data in O(n d k),
    without forming a d x d matrix: with ``beta = W^T Sigma^{-1}`` (Woodbury),
    ``E[z|x] = beta (x - mu)``, ``G = sum_i r_i (x_i - mu) E[z|x_i]^T / N``,
    ``E[z z^T] = I - beta W + beta G``; then ``W <- G E[z z^T]^{-1}`` and
    ``psi <- diag(C) - rowsum(W * G) + reg_covar`` (``diag(C)`` the weighted variances),
    for all components with two products ``[beta_1 .. beta_K] @ X^T`` and ``E @ X``.
    Each step is a generalised EM step, so the likelihood still never decreases.

  One small class per covariance type (its M-step, its E-step kernel and its fitted
  covariance objects), chosen through a dict.  As in scikit-learn, the M-step of the last
  iteration is kept (converged or not) and ``lower_bound_`` scores those final parameters.

Work data.  EM runs on ``X - c`` (``c`` the column means: the expanded diagonal form then
cancels least) and only on the features that vary: a feature constant over the training rows
(in a class of MNIST digits, the ~200 blank border pixels) has the same mean in every
component, no covariance with any other feature (its centred column is exactly zero), and
the variance ``reg_covar`` (for isotropic noise, the component's noise variance), so its
share of every log-density is known in closed form and its rows and columns are left out of
every product.  The fitted covariances have the full width.  (Only when ``reg_covar > 0``;
otherwise such a feature has no density and is kept, as before.)  Problems whose products
are small (few features) run on one BLAS thread, which never waits for another.

Precision.  ``dtype="float32"`` runs the products of every E- and M-step in float32 (up to
twice as fast, half the memory); the log-densities, their logsumexp, the log-determinants,
the Cholesky factorisations and the fitted parameters stay float64, and ``lower_bound_`` is
computed in float64.  What float32 loses: the log-densities about ``1e-7 * sum_d x^2 /
var_d`` nats (the expanded diagonal form cancels) or ``1e-7 * cond(L_j)`` relative (the
triangular products), the weighted sums of the M-step about 1e-6 relative, i.e. variances
about ``1e-6 * E[x^2]`` absolute (keep ``reg_covar`` above that).  On the tests' data the
fitted log-likelihood moves by less than 1e-4 nats per row.  Fitted models score and
sample as any other.

Initialisation
--------------
``init="kmeans"`` (the default), as scikit-learn's ``GaussianMixture``: greedy k-means++
seeding (each new centre the best of ``2 + log K`` rows drawn in proportion to their
squared distance to the centres so far), then Lloyd iterations until no label changes or the
centres move less than scikit-learn's ``KMeans`` tolerance; the first M-step starts from the
hard clusters.  It is the same algorithm as scikit-learn's, at a fraction of the cost
(float32 distances; Hamerly's bounds, so that a pass only recomputes the distances of the
rows that could change cluster; centre sums updated with the rows that did), and from the
same data EM ends, over seeds, at the same held-out likelihood as from scikit-learn's
``KMeans``.  Choosing the best of several seedings, by inertia or after a few EM steps, did
not raise the held-out likelihood on MNIST digits (it does help on well-separated
clusters, where ``n_init`` does the same), so one seeding is used.  "k-means++" (seeds
only), "random" and an array of responsibilities are also accepted; the best of ``n_init``
whole EM runs is kept.

Averaged runs
-------------
EM ends in a local optimum that depends on its start, and on a few hundred rows of a few
hundred features two starts give mixtures whose classifiers disagree on a few percent of
held-out rows.  ``n_average=R`` keeps all ``R`` runs instead of the best one, each with
weight ``1 / R``: a mixture of ``R * K`` components.  The log-density of the average is at
least the mean of the runs' log-densities at every point (Jensen), so its held-out
likelihood is never below the runs' mean and, where the runs disagree, above it; this is
model averaging over the optima EM finds, not a larger mixture fitted by EM (whose
components would compete for rows).  On MNIST (benchmarks/README.md, "Automatic choice")
averaging three runs of ``mppca:20x30+glogit`` raised held-out accuracy and lowered bits
per pixel.

Missing cells
-------------
Rows with missing cells (NaN) are fitted by EM on the observed cells, assuming the cells
are missing at random (whether a cell is missing may depend on the observed cells, not on
its own value); no row is dropped and no cell is filled with a constant.  The missing cells
are one more hidden variable beside the component (and the factors), so each step is
exact EM and the observed-data log-likelihood never decreases (Ghahramani and Jordan
1994):

* E-step: ``log r_ij = log w_j + log N(x_io | mu_jo, Sigma_joo) - logsumexp_j(...)``, the
  density of the row's observed cells ``o``;
* M-step: each component's mean and covariance from the rows completed under its previous
  parameters, ``E[x_m | x_o, j] = mu_jm + Sigma_jmo Sigma_joo^{-1} (x_o - mu_jo)``, with the
  conditional covariance ``Sigma_jmm - Sigma_jmo Sigma_joo^{-1} Sigma_jom`` added to the
  scatter (:func:`~bayesgen.kernels.conditioning.complete_rows`); the covariance kind's
  update then works on that expected covariance ``C_j`` (for factor analysers
  ``G = C_j beta_j^T``, the same step as above).

Per iteration and component: one Cholesky factor of the dense ``d x d`` covariance, its
precision, and a batched inverse of the ``k x k`` precision block of each row's ``k``
missing cells, all in float64; for tables, so at most ``MISSING_MAX_FEATURES`` features
(wider rows with missing cells, e.g. images with holes, are refused with a message).
k-means starts from the rows with each missing cell at its column's mean.  A feature with
no observed value is refused.

Empty and collapsing components
-------------------------------
A component whose weight falls below ``2 / n`` (fewer than two rows' worth of
responsibility), or whose covariance cannot be factored, is re-seeded: its mean moves to the
row the mixture explains worst, it takes a copy of the covariance of the heaviest component,
and the two share that component's weight.  ``n_reseeds_`` counts these events (a re-seed can
lower the likelihood once; otherwise EM never decreases it).  A component that collapses
again after ``MAX_RESEEDS`` re-seeds in a run is dropped: the rows hold fewer groups than
asked for, and re-seeding it at every iteration would keep EM from settling.  The fitted
mixture then has fewer than ``n_components`` components (``weights_`` says how many), and
the fit warns (:class:`~bayesgen.base.errors.ComponentCollapseWarning`).  ``reg_covar`` is
a floor on every variance.

A delivered fit that stops at ``max_iter`` before the change per row falls under ``tol``
warns too (scikit-learn's ``ConvergenceWarning``; ``converged_`` is False).

Sampling draws the component counts from a multinomial over the weights, then each
component's rows as ``mu_j + colorize_j(z)`` with its cached factor, and shuffles the rows.
"""

from __future__ import annotations

import numbers
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg
from scipy.linalg import blas
from sklearn.exceptions import ConvergenceWarning

from bayesgen.base.errors import ComponentCollapseWarning, FitError
from bayesgen.base.persist import persistable
from bayesgen.base.rng import check_random_state
from bayesgen.base.state_checks import (
    check_array,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_probabilities,
    check_real,
    check_real_list,
    state_error,
)
from bayesgen.base.threads import one_blas_thread
from bayesgen.densities.base import Density
from bayesgen.kernels.conditioning import (
    Conditioned,
    MissingLayout,
    complete_rows,
    completed_scatter,
    gaussian_conditional,
    missing_layout,
    observed_log_pdf,
)
from bayesgen.kernels.covariance import LOG_2PI, Covariance, DiagonalCovariance, FullCovariance
from bayesgen.kernels.lowrank import LowRankCovariance, ppca_from_covariance
from bayesgen.kernels.mixture_estep import (
    diag_log_pdf,
    full_log_pdf,
    inverse_factor,
    lowrank_log_pdf,
    stack_squares,
    woodbury_factor,
)

__all__ = ["GaussianMixtureDensity", "MixtureDensity", "MixtureOfFactorAnalysersDensity"]

_EPS = 10 * np.finfo(np.float64).eps
INIT_METHODS = ("kmeans", "k-means++", "random")
_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
#: flops per BLAS call of EM from which its products use every BLAS thread
_THREADED_FLOPS = 5e7
#: most features EM takes on rows with missing cells (module docstring, "Missing cells")
MISSING_MAX_FEATURES = 100
#: re-seeds of one component in a run after which, collapsing again, it is dropped
MAX_RESEEDS = 3


# -- the work data and the EM state --------------------------------------------------------


@dataclass
class _Data:
    """The training rows as EM uses them (module docstring, "Work data")."""

    X: np.ndarray  # (n, a) centred varying features in the work dtype
    XX: np.ndarray | None  # [X, X^2] (diagonal and low-rank kinds; X is a view into it)
    varying: np.ndarray | None  # indices of the a varying features (None: all d)
    center: np.ndarray  # (d,) float64
    n_features: int  # d
    reg_covar: float
    layout: MissingLayout | None = None  # missing cells of the work rows (X holds 0 there)
    holed: np.ndarray | None = None  # (n, a) the work rows with NaN in their missing cells

    @property
    def n_const(self) -> int:
        return self.n_features - self.X.shape[1]

    @classmethod
    def build(cls, X: np.ndarray, reg_covar: float, dtype, squares: bool) -> _Data:
        n, d = X.shape
        missing = np.isnan(X)
        if missing.all(axis=0).any():
            empty = int(np.flatnonzero(missing.all(axis=0))[0])
            raise FitError(
                f"feature {empty} has no observed value in these {n} rows (a class, or the "
                "part of it a candidate is fitted on); drop that column or fill it in"
            )
        incomplete = bool(missing.any())
        if incomplete and d > MISSING_MAX_FEATURES:
            columns = np.flatnonzero(missing.any(axis=0))
            raise FitError(
                f"EM with missing cells takes at most {MISSING_MAX_FEATURES} features (its "
                f"E-step works on a dense covariance per component); these rows have {d}, "
                f"with empty cells in {columns.size} column(s), the first column "
                f"{columns[0]}. Fill or drop the rows with empty cells, or use "
                "density='copula'"
            )
        if incomplete:  # the E-step of missing cells runs in float64 (module docstring)
            dtype = np.float64
        center = np.nanmean(X, axis=0) if incomplete else X.mean(axis=0)
        varying = None
        if reg_covar > 0:
            const = (np.nanmax(X, axis=0) == np.nanmin(X, axis=0)) & ~missing.any(axis=0)
            if const.any() and not const.all():
                center[const] = X[0, const]  # centred column exactly zero
                varying = np.flatnonzero(~const)
        a = d if varying is None else varying.shape[0]
        if squares:
            XX = np.empty((n, 2 * a), dtype=dtype)
            Xw = XX[:, :a]
        else:
            XX = None
            Xw = np.empty((n, a), dtype=dtype)
        if varying is None:
            np.subtract(X, center, out=Xw, casting="same_kind")
        else:
            np.subtract(X[:, varying], center[varying], out=Xw, casting="same_kind")
        layout = holed = None
        if incomplete:
            held = missing if varying is None else missing[:, varying]
            holed = Xw.copy()
            Xw[held] = 0.0  # the starting point only: EM completes these cells
            layout = missing_layout(held)
        if squares:
            np.multiply(Xw, Xw, out=XX[:, a:])
        return cls(Xw, XX, varying, center, d, float(reg_covar), layout, holed)

    def widen(self, values: np.ndarray, fill: float) -> np.ndarray:
        """Per-feature ``values`` of the varying features, ``fill`` for the constant ones."""
        if self.varying is None:
            return np.array(values, dtype=np.float64)
        out = np.full(values.shape[:-1] + (self.n_features,), fill, dtype=np.float64)
        out[..., self.varying] = values
        return out


@dataclass
class _State:
    """Parameters during EM, in centred coordinates on the varying features."""

    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, a) float64
    params: dict = field(default_factory=dict)  # per kind, each array with K first
    log_det: np.ndarray | None = None  # (K,) log|Sigma_j| on the varying features
    const_var: np.ndarray | None = None  # (K,) variance of each constant feature
    completions: list | None = None  # rows with missing cells: each component's E-step

    def keeping(self, keep: np.ndarray) -> _State:
        """The state of components ``keep`` only (weights renormalised)."""
        weights = self.weights[keep]
        return _State(
            weights / weights.sum(),
            self.means[keep],
            {name: arr[keep] for name, arr in self.params.items()},
            self.log_det[keep],
            self.const_var[keep],
        )

    def copy_component(self, src: int, dst: int) -> None:
        for arr in self.params.values():
            arr[dst] = arr[src]
        self.log_det[dst] = self.log_det[src]
        self.const_var[dst] = self.const_var[src]


# -- one class per covariance kind: M-step, E-step kernel, fitted covariance --------------


class _Diag:
    squares = True
    covariance_class = DiagonalCovariance

    def m_step(self, data, resp, nk, sums, means, previous):
        a = means.shape[1]
        return self._from_variances(sums[:, a:] / nk[:, None] - means * means, data.reg_covar)

    def m_step_moments(self, data, nk, means, covs, previous):
        return self._from_variances(np.diagonal(covs, axis1=1, axis2=2), data.reg_covar)

    @staticmethod
    def _from_variances(var, reg):
        var = var + reg
        np.maximum(var, max(reg, 1e-300), out=var)
        log_det = np.log(var).sum(axis=1)
        bad = list(np.flatnonzero(~np.isfinite(log_det)))
        return {"var": var}, log_det, np.full(len(var), max(reg, 1e-300)), bad

    def log_pdf(self, data, state, offset):
        return diag_log_pdf(data.XX, state.means, state.params["var"], offset)

    def dense(self, state, j) -> np.ndarray:
        return np.diag(state.params["var"][j])

    def covariance(self, data, state, j) -> Covariance:
        return DiagonalCovariance(data.widen(state.params["var"][j], state.const_var[j]))


class _Full:
    squares = False
    covariance_class = FullCovariance

    def m_step(self, data, resp, nk, sums, means, previous):
        X = data.X
        n, a = X.shape
        K = len(nk)
        reg = data.reg_covar
        work = np.empty_like(X)
        scatters = []
        (syrk,) = blas.get_blas_funcs(("syrk",), (X,))
        for j in range(K):
            np.subtract(X, means[j].astype(X.dtype), out=work)
            work *= np.sqrt(resp[j]).astype(X.dtype)[:, None]
            # the lower triangle of Y^T Y, with Y^T the Fortran-ordered view of the rows
            # (BLAS syrk; numpy's ``Y.T @ Y`` takes twice as long here)
            scatters.append(np.asarray(syrk(1.0, work.T, trans=0, lower=1), dtype=np.float64))
            scatters[j] /= nk[j]
        return self._factorised(scatters, reg)

    def m_step_moments(self, data, nk, means, covs, previous):
        return self._factorised(list(covs), data.reg_covar)

    @staticmethod
    def _factorised(covs, reg):
        """Cholesky factors, their inverses and log-determinants of ``covs + reg I``."""
        K, a = len(covs), covs[0].shape[0]
        chol = np.zeros((K, a, a))
        inv = np.zeros((K, a, a))
        log_det = np.full(K, np.nan)
        bad = []
        with one_blas_thread():  # small factorisations (see bayesgen.base.threads)
            for j in range(K):
                cov = covs[j]
                cov.flat[:: a + 1] += reg
                try:  # the factorisation reads the lower triangle only
                    chol[j] = linalg.cholesky(cov, lower=True, overwrite_a=True, check_finite=False)
                    inv[j] = inverse_factor(chol[j])
                    log_det[j] = 2.0 * np.sum(np.log(np.diag(chol[j])))
                except (np.linalg.LinAlgError, ValueError):
                    pass
                if not (np.isfinite(log_det[j]) and np.all(np.isfinite(inv[j]))):
                    bad.append(j)
        return {"chol": chol, "inv": inv}, log_det, np.full(K, reg), bad

    def log_pdf(self, data, state, offset):
        dtype = data.X.dtype
        factors = [np.ascontiguousarray(L, dtype=dtype) for L in state.params["inv"]]
        return full_log_pdf(data.X, state.means, factors, state.log_det, offset)

    def dense(self, state, j) -> np.ndarray:
        L = state.params["chol"][j]
        return L @ L.T

    def covariance(self, data, state, j) -> Covariance:
        L = state.params["chol"][j]
        if data.varying is None:
            return FullCovariance(L)
        d = data.n_features
        whole = np.zeros((d, d))
        whole[np.ix_(data.varying, data.varying)] = L
        const = np.setdiff1d(np.arange(d), data.varying)
        whole[const, const] = np.sqrt(state.const_var[j])
        return FullCovariance(whole)


class _LowRank:
    """Factor analysers (``isotropic=False``) or probabilistic PCA (``isotropic=True``)."""

    squares = True
    covariance_class = LowRankCovariance

    def __init__(self, isotropic: bool):
        self.isotropic = isotropic

    def m_step(self, data, resp, nk, sums, means, previous):
        X = data.X
        K, a = means.shape
        k = previous.params["W"].shape[2]
        var = np.maximum(sums[:, a:] / nk[:, None] - means * means, 0.0)  # (K, a)
        sinv_w = self._solved_loadings(previous)
        G = np.zeros((K, a, k))
        if k:
            B = sinv_w.transpose(0, 2, 1).reshape(K * k, a).astype(X.dtype)
            Ew = B @ X.T  # (K k, n): beta_j x_i for every j
            shift = np.einsum("ja,jak->jk", means, sinv_w).reshape(K * k, 1)
            Ew -= shift.astype(Ew.dtype)
            Ew *= np.repeat(resp, k, axis=0).astype(Ew.dtype)  # r_ij E[z | x_i]
            EtX = np.asarray(Ew @ X, dtype=np.float64).reshape(K, k, a)
            Esum = Ew.sum(axis=1, dtype=np.float64).reshape(K, k)
            G = (EtX.transpose(0, 2, 1) - means[:, :, None] * Esum[:, None, :]) / nk[:, None, None]
        return self._factor_step(data, var, G, sinv_w, previous)

    def m_step_moments(self, data, nk, means, covs, previous):
        sinv_w = self._solved_loadings(previous)
        G = covs @ sinv_w  # C_j Sigma_j^{-1} W_j = C_j beta_j^T
        var = np.diagonal(covs, axis1=1, axis2=2)
        return self._factor_step(data, var, G, sinv_w, previous)

    @staticmethod
    def _solved_loadings(previous):
        """``Sigma^{-1} W = W / psi - A (A^T W)`` of every component: the ``beta_j^T``."""
        W_old, A_old = previous.params["W"], previous.params["A"]
        return W_old / previous.params["psi"][:, :, None] - A_old @ (
            A_old.transpose(0, 2, 1) @ W_old
        )

    def _factor_step(self, data, var, G, sinv_w, previous):
        """One EM step of factor analysis per component from the weighted variances
        ``var`` and ``G = C beta^T`` (module docstring, "M-step")."""
        W_old = previous.params["W"]
        K, a, k = G.shape
        W = np.zeros((K, a, k))
        psi = np.empty((K, a))
        A = np.zeros((K, a, k))
        log_det = np.full(K, np.nan)
        const_var = np.full(K, max(data.reg_covar, 1e-12))
        bad = []
        with one_blas_thread():  # small per-component operands (see bayesgen.base.threads)
            for j in range(K):
                try:
                    raw = var[j].copy()
                    if k:
                        beta = sinv_w[j].T
                        Ezz = np.eye(k) - beta @ W_old[j] + beta @ G[j]
                        W[j] = linalg.solve(Ezz, G[j].T, assume_a="pos", check_finite=False).T
                        raw -= np.einsum("ij,ij->i", W[j], G[j])
                    psi[j], const_var[j] = self._noise(raw, data)
                    A[j], log_det[j] = woodbury_factor(W[j], psi[j])
                except (np.linalg.LinAlgError, ValueError):
                    pass
                if not np.isfinite(log_det[j]) or not np.all(np.isfinite(W[j])):
                    bad.append(j)
        return {"W": W, "psi": psi, "A": A}, log_det, const_var, bad

    def _noise(self, raw, data):
        """Noise variances of the varying features and of each constant one."""
        reg = data.reg_covar
        floor = max(reg, 1e-12)
        if self.isotropic:  # one noise variance per component, over all d features
            value = max(max(float(raw.sum()) / data.n_features, 0.0) + reg, floor)
            return np.full_like(raw, value), value
        return np.maximum(raw + reg, floor), floor

    def first_state(self, data, resp, rank):
        """PPCA of each initial (weighted) cluster: one eigendecomposition each."""
        X = data.X
        a = X.shape[1]
        K = resp.shape[0]
        # a component with no more rows than factors fits them exactly: its likelihood is
        # unbounded and EM does not settle; rank is capped at half the rows per component
        k = min(int(rank), data.n_features - 1, a, max(1, X.shape[0] // (2 * K)))
        floor = max(data.reg_covar, 1e-12)
        # isotropic noise is shared with the constant features (variance reg_covar each)
        d_noise = data.n_features if self.isotropic else a
        total = float(np.var(X, axis=0, dtype=np.float64).sum()) / d_noise + floor
        W = np.zeros((K, a, k))
        psi = np.full((K, a), total)
        with one_blas_thread():  # eigendecompositions of a x a matrices, one at a time
            for j in range(K):
                self._first_component(data, resp[j], k, W[j], psi[j])
        A = np.zeros((K, a, k))
        for j in range(K):
            A[j], _ = woodbury_factor(W[j], psi[j])
        return {"W": W, "psi": psi, "A": A}

    def _first_component(self, data, r, k, W, psi):
        """Probabilistic PCA of one weighted cluster, written into ``W`` and ``psi``."""
        X, reg = data.X, data.reg_covar
        a = X.shape[1]
        floor = max(reg, 1e-12)
        nk = r.sum()
        if nk >= 2.0:
            rows = np.flatnonzero(r > 0)
            Xr = np.asarray(X[rows], dtype=np.float64)
            mu = r[rows] @ Xr / nk
            Xr -= mu
            Xr *= np.sqrt(r[rows])[:, None]
            C = Xr.T @ Xr / nk
            C.flat[:: a + 1] += reg
            W[:], sigma2 = ppca_from_covariance(C, k)
            if self.isotropic and data.n_const:  # the mean of the discarded eigenvalues
                sigma2 = (sigma2 * (a - k) + reg * data.n_const) / (data.n_features - k)
            psi[:] = max(sigma2, floor)

    def log_pdf(self, data, state, offset):
        p = state.params
        return lowrank_log_pdf(data.XX, state.means, p["psi"], list(p["A"]), state.log_det, offset)

    def dense(self, state, j) -> np.ndarray:
        W = state.params["W"][j]
        return W @ W.T + np.diag(state.params["psi"][j])

    def covariance(self, data, state, j) -> Covariance:
        W = state.params["W"][j]
        if data.varying is not None:
            whole = np.zeros((data.n_features, W.shape[1]))
            whole[data.varying] = W
            W = whole
        return LowRankCovariance(W, data.widen(state.params["psi"][j], state.const_var[j]))


_KINDS = {
    "diag": _Diag(),
    "full": _Full(),
    "lowrank": _LowRank(isotropic=False),
    "ppca": _LowRank(isotropic=True),
}


# -- initialisation -------------------------------------------------------------------------


def _kmeans_plusplus(X, x_sq, n_clusters, rng):
    """Greedy k-means++ seeding (Arthur and Vassilvitskii 2007; scikit-learn's variant):
    each new centre is the best of ``2 + log K`` rows drawn in proportion to their squared
    distance to the nearest centre so far; one product ``X @ candidates^T`` per centre."""
    n = X.shape[0]
    trials = 2 + int(np.log(n_clusters))
    index = np.empty(n_clusters, dtype=np.intp)
    index[0] = rng.integers(n)
    closest = _sq_dist(X, X[index[:1]], x_sq)[:, 0]
    for c in range(1, n_clusters):
        cumulative = np.cumsum(closest)
        draws = rng.random(trials) * cumulative[-1]
        cand = np.minimum(np.searchsorted(cumulative, draws), n - 1)
        dist = np.minimum(_sq_dist(X, X[cand], x_sq), closest[:, None])
        best = int(np.argmin(dist.sum(axis=0)))
        index[c] = cand[best]
        closest = dist[:, best]
    return X[index].astype(np.float64)


def _sq_dist(X: np.ndarray, centres: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    """Squared distances of rows to centres, float64 (n, m)."""
    c = np.asarray(centres, dtype=X.dtype)
    d2 = np.asarray(X @ c.T, dtype=np.float64)
    d2 *= -2.0
    d2 += x_sq[:, None]
    d2 += np.einsum("ij,ij->i", c, c, dtype=np.float64)
    return np.maximum(d2, 0.0, out=d2)


def _nearest_two(X, centres, x_sq):
    """Label, distance to the nearest centre and to the second nearest, per row."""
    d2 = _sq_dist(X, centres, x_sq)
    labels = np.argmin(d2, axis=1)
    two = np.sqrt(np.partition(d2, 1, axis=1)[:, :2]) if centres.shape[0] > 1 else None
    if two is None:
        return labels, np.sqrt(d2[:, 0]), np.full(X.shape[0], np.inf)
    return labels, two[:, 0], two[:, 1]


def _lloyd(X, centres, max_iter, tol):
    """Lloyd iterations from ``centres`` (K, d) with Hamerly's bounds; the labels (n,).

    Every row keeps an upper bound ``u`` on its distance to its centre and a lower bound
    ``l`` on its distance to any other (Hamerly 2010); when the centres move by ``delta_k``,
    ``u += delta_label`` and ``l -= max delta``.  A row whose ``u`` is below both ``l`` and
    half the distance from its centre to the nearest other centre cannot change cluster,
    so a pass computes distances (one product ``X_S @ C^T``) only for the rows ``S`` left;
    after the first passes they are few, and k-means costs little more than a few passes
    over the data.  The centre sums are updated with the rows that changed cluster only.
    It stops when no label changes or the centres move less than ``tol`` (squared,
    summed); an empty cluster keeps its centre.
    """
    K = centres.shape[0]
    x_sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    labels, upper, lower = _nearest_two(X, centres, x_sq)
    onehot = np.zeros((X.shape[0], K), dtype=X.dtype)
    onehot[np.arange(X.shape[0]), labels] = 1.0
    sums = np.asarray(onehot.T @ X, dtype=np.float64)
    counts = np.bincount(labels, minlength=K)
    for _ in range(max_iter):
        filled = counts > 0
        moved = centres.copy()
        moved[filled] = sums[filled] / counts[filled, None]
        delta = np.sqrt(np.sum((moved - centres) ** 2, axis=1))
        centres = moved
        if float(np.sum(delta**2)) <= tol:
            break
        upper += delta[labels]
        lower -= delta.max()
        gaps = np.sqrt(_sq_dist(centres, centres, np.einsum("ij,ij->i", centres, centres)))
        np.fill_diagonal(gaps, np.inf)
        half = 0.5 * gaps.min(axis=1)
        rows = np.flatnonzero(upper > np.maximum(half[labels], lower))
        if rows.size == 0:
            break
        new, upper[rows], lower[rows] = _nearest_two(X[rows], centres, x_sq[rows])
        moved_rows = np.flatnonzero(new != labels[rows])
        if moved_rows.size == 0:
            continue
        which, old, to = rows[moved_rows], labels[rows[moved_rows]], new[moved_rows]
        step = np.zeros((which.size, K), dtype=X.dtype)
        step[np.arange(which.size), to] = 1.0
        step[np.arange(which.size), old] -= 1.0
        sums += step.T @ X[which]
        counts += np.bincount(to, minlength=K) - np.bincount(old, minlength=K)
        labels[which] = to
    return labels


def initial_responsibilities(
    X: np.ndarray,
    n_components: int,
    init: str,
    rng: np.random.Generator,
    *,
    lloyd_iter: int = 300,
) -> np.ndarray:
    """Hard (one-hot) initial responsibilities, shape (n, n_components), float64.

    "k-means++": nearest greedy k-means++ seed; "kmeans": then Lloyd iterations until the
    labels stop changing or the centres move less than scikit-learn's ``KMeans`` tolerance
    (``1e-4`` times the mean variance of the features, squared shift), at most
    ``lloyd_iter``; "random": uniform random assignment.  Distances are computed in
    float32, which is plenty for a start.
    """
    n = X.shape[0]
    if init == "random":
        labels = rng.integers(0, n_components, size=n)
    else:
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        x_sq = np.einsum("ij,ij->i", X32, X32, dtype=np.float64)
        centres = _kmeans_plusplus(X32, x_sq, n_components, rng)
        if init == "kmeans":
            tol = 1e-4 * float(np.mean(np.var(X32, axis=0, dtype=np.float64)))
            small = X32.size * n_components < _THREADED_FLOPS
            with one_blas_thread() if small else nullcontext():
                labels = _lloyd(X32, centres, lloyd_iter, tol)
        else:
            labels = np.argmin(_sq_dist(X32, centres, x_sq), axis=1)
    resp = np.zeros((n, n_components))
    resp[np.arange(n), labels] = 1.0
    return resp


def _retire_spent(state: _State, bad: list, tries: np.ndarray):
    """Drop the components of ``bad`` already re-seeded ``MAX_RESEEDS`` times (module
    docstring, "Empty and collapsing components"), unless that would drop them all.

    Returns the state, the remaining ``bad`` components and their re-seed counts, in the
    numbering of the components kept."""
    spent = [j for j in bad if tries[j] >= MAX_RESEEDS]
    if not spent or len(spent) == len(state.weights):
        return state, bad, tries
    keep = np.setdiff1d(np.arange(len(state.weights)), spent)
    renumber = {int(j): i for i, j in enumerate(keep)}
    return state.keeping(keep), [renumber[j] for j in bad if j in renumber], tries[keep]


def _log_normalise(log_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(logsumexp over components, responsibilities)`` of a (K, n) matrix, with one
    ``exp``; the responsibilities (K, n) are written over ``log_prob``.  Component-major
    rows make every reduction over components an elementwise pass over rows of length n."""
    top = log_prob.max(axis=0)
    top[~np.isfinite(top)] = 0.0
    log_prob -= top
    resp = np.exp(log_prob, out=log_prob)
    total = resp.sum(axis=0)
    resp /= total
    with np.errstate(divide="ignore"):
        log_norm = np.log(total)
    log_norm += top
    return log_norm, resp


# -- the EM engine --------------------------------------------------------------------------


class MixtureDensity(Density):
    """EM for mixtures of Gaussians with any :class:`Covariance` per component: the base of
    :class:`GaussianMixtureDensity` and :class:`MixtureOfFactorAnalysersDensity`."""

    _fitted_attributes = (
        "weights_",
        "means_",
        "covariances_",
        "converged_",
        "n_iter_",
        "lower_bound_",
        "lower_bound_history_",
        "n_reseeds_",
    )
    _array_params = ("init",)

    # subclasses set the covariance kind and how to start a component
    def _kind(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_common(self) -> None:
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must be a positive integer; got {k!r}")
        if not isinstance(self.reg_covar, numbers.Real) or not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")
        for name in ("max_iter", "n_init", "n_average"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a non-negative number; got {self.tol!r}")
        if not isinstance(self.init, str) and self.n_average > 1:
            raise ValueError(
                "n_average > 1 averages runs from different random starts; an array init "
                "starts every run from the same responsibilities: use n_average=1"
            )
        if isinstance(self.init, str):
            if self.init not in INIT_METHODS:
                raise ValueError(
                    f"init must be one of {INIT_METHODS} or an array; got {self.init!r}"
                )
        self._work_dtype()

    def _work_dtype(self) -> np.dtype:
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float64' or 'float32'; got {self.dtype!r}")
        return dtype

    # E-step ------------------------------------------------------------------------
    def _log_prob(self, data: _Data, state: _State) -> np.ndarray:
        """``log w_j + log N(x_i | mu_j, Sigma_j)`` of the training rows, (K, n) float64."""
        with np.errstate(divide="ignore"):
            offset = np.log(state.weights)
        if data.n_const:  # the constant features' share (module docstring, "Work data")
            offset -= 0.5 * data.n_const * (LOG_2PI + np.log(state.const_var))
        kind = _KINDS[self._kind()]
        if data.layout is None:
            return kind.log_pdf(data, state, offset)
        state.completions = [  # kept for the M-step (module docstring, "Missing cells")
            complete_rows(state.means[j], kind.dense(state, j), data.holed, data.layout)
            for j in range(len(offset))
        ]
        return np.stack([offset[j] + c.log_pdf for j, c in enumerate(state.completions)])

    # M-step ------------------------------------------------------------------------
    def _m_step(self, data: _Data, resp: np.ndarray, previous: _State | None):
        """New parameters from responsibilities; also the components that failed."""
        n = resp.shape[1]
        nk = resp.sum(axis=1) + _EPS
        kind = _KINDS[self._kind()]
        if previous is not None and data.layout is not None:  # rows with missing cells
            means, covs = self._completed_moments(data, resp, nk, previous)
            params, log_det, const_var, bad = kind.m_step_moments(data, nk, means, covs, previous)
        else:
            R = resp.astype(data.X.dtype, copy=False)
            sums = np.asarray(R @ (data.XX if kind.squares else data.X), dtype=np.float64)
            means = sums[:, : data.X.shape[1]] / nk[:, None]
            if previous is None:  # the first M-step (low rank needs a starting point)
                previous = _State(nk / n, means, self._first_params(data, resp))
            params, log_det, const_var, bad = kind.m_step(data, resp, nk, sums, means, previous)
        bad = sorted(set(bad) | set(np.flatnonzero(nk < 2.0)))
        return _State(nk / n, means, params, log_det, const_var), bad

    def _completed_moments(self, data: _Data, resp: np.ndarray, nk, previous: _State):
        """Each component's mean and covariance from the rows completed under the previous
        parameters (module docstring, "Missing cells"): (K, a) and (K, a, a)."""
        if previous.completions is None:
            self._log_prob(data, previous)
        K, a = resp.shape[0], data.X.shape[1]
        means, covs = np.empty((K, a)), np.empty((K, a, a))
        for j, completion in enumerate(previous.completions):
            means[j] = resp[j] @ completion.filled / nk[j]
            covs[j] = completed_scatter(completion, resp[j], means[j]) / nk[j]
        return means, covs

    def _first_params(self, data, resp) -> dict:
        """Parameters the first M-step starts from (only low-rank components need any)."""
        return {}

    def _reseed(self, data: _Data, state: _State, bad, worst_order) -> int:
        """Re-seed components in ``bad`` at the worst-explained rows (module docstring)."""
        weights = state.weights
        state.completions = None  # the E-step of the components as they were
        good = [j for j in range(len(weights)) if j not in bad]
        if not good:
            raise FitError(
                f"every mixture component collapsed (reg_covar={self.reg_covar:g}); "
                "increase reg_covar or reduce n_components"
            )
        for rank, j in enumerate(bad):
            heavy = max(good, key=lambda g: weights[g])
            weights[heavy] /= 2.0
            weights[j] = weights[heavy]
            state.means[j] = data.X[worst_order[rank % len(worst_order)]]
            state.copy_component(heavy, j)
            good.append(j)
        weights /= weights.sum()
        return len(bad)

    def _initial_resp(self, data: _Data, rng) -> np.ndarray:
        """Initial responsibilities, component-major (K, n)."""
        n, K = data.X.shape[0], self.n_components
        if isinstance(self.init, str):
            resp = initial_responsibilities(data.X, K, self.init, rng)
        else:
            resp = np.asarray(self.init, dtype=float)
            if resp.shape != (n, K) or not np.all(np.isfinite(resp)) or np.any(resp < 0):
                raise ValueError(
                    f"an array init must hold non-negative responsibilities of shape "
                    f"({n}, {K}); got shape {resp.shape}"
                )
        return np.ascontiguousarray(resp.T)

    def _single_run(self, data: _Data, rng):
        state, bad = self._m_step(data, self._initial_resp(data, rng), None)
        tries = np.zeros(len(state.weights), dtype=np.int64)  # re-seeds per component
        n_reseeds = 0
        if bad:
            row_norms = np.einsum("ij,ij->i", data.X, data.X, dtype=np.float64)
            n_reseeds += self._reseed(data, state, bad, np.argsort(-row_norms))
            tries[bad] += 1
        history: list[float] = []
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - reported after the loop
            log_norm, resp = _log_normalise(self._log_prob(data, state))
            history.append(float(np.mean(log_norm)))
            state, bad = self._m_step(data, resp, state)
            if bad:
                state, bad, tries = _retire_spent(state, bad, tries)
            if bad:
                n_reseeds += self._reseed(data, state, bad, np.argsort(log_norm))
                tries[bad] += 1
            # as scikit-learn: the M-step of the last iteration is kept, converged or not
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol:
                converged = True
                break
        state.completions = None  # large, and stale once the run is over
        return state, dict(
            converged_=converged,
            n_iter_=n_iter,
            lower_bound_history_=history,
            n_reseeds_=n_reseeds,
        )

    def _fit(self, X: np.ndarray) -> None:
        self._check_params()
        n = X.shape[0]
        if n < max(2, self.n_components):
            raise FitError(
                f"n_samples={n} rows cannot fit {self.n_components} mixture component(s); "
                "a mixture needs at least 2 rows and one row per component: reduce "
                "n_components or add data"
            )
        rng = check_random_state(self.random_state)
        kind = _KINDS[self._kind()]
        data = _Data.build(X, float(self.reg_covar), self._work_dtype(), kind.squares)
        # small products (few features): one BLAS thread, which never waits for another
        a, K = data.X.shape[1], self.n_components
        flops = n * a * (a if self._kind() == "full" else 4 * K)
        limit = one_blas_thread if flops < _THREADED_FLOPS else nullcontext
        runs = []
        for _ in range(self.n_average):
            best = None
            for _ in range(self.n_init):
                with limit():
                    state, run = self._single_run(data, rng)
                self._set_fitted(data, state, run)
                # the final parameters scored, in float64 (the loop's last E-step scored the
                # previous ones, and it may have run in float32)
                if data.X.dtype == np.float64:
                    final = float(np.mean(_log_normalise(self._log_prob(data, state))[0]))
                else:
                    final = float(np.mean(self._score_samples(X)))
                run["lower_bound_history_"].append(final)
                run["lower_bound_"] = final
                if best is None or final > best[1]["lower_bound_"]:
                    best = (state, run)
            runs.append(best)
        if len(runs) == 1:
            self._set_fitted(data, *runs[0])
        else:
            self._set_average(data, runs, X)
        self._warn_if_short([run for _, run in runs])

    def _warn_if_short(self, runs: list) -> None:
        """Say so when a delivered fit dropped components or stopped at ``max_iter`` (as
        scikit-learn does): the fit is usable, but not what was asked for."""
        asked = self.n_components * self.n_average
        if len(self.weights_) < asked:
            warnings.warn(
                f"{type(self).__name__}: {asked - len(self.weights_)} of {asked} components "
                f"kept collapsing onto too few rows (each re-seeded {MAX_RESEEDS} times) and "
                f"were dropped; the fit has {len(self.weights_)}. These rows support fewer "
                "components: reduce n_components.",
                ComponentCollapseWarning,
                stacklevel=4,
            )
        if not self.converged_:
            run = next(r for r in runs if not r["converged_"])
            history = run["lower_bound_history_"]
            change = abs(history[-1] - history[-2]) if len(history) > 1 else float("nan")
            warnings.warn(
                f"{type(self).__name__}: EM stopped at max_iter={self.max_iter} before "
                f"converging (the mean log-likelihood per row changed by {change:.2g} in the "
                f"last iteration; tol={self.tol:g}). The fit is usable; raise max_iter (or "
                "tol) to converge.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _set_average(self, data: _Data, runs: list, X: np.ndarray) -> None:
        """Fitted attributes of the equal-weight average of several runs (``n_average``):
        one mixture of all their components, each run's weights divided by their number."""
        parts = []
        for state, run in runs:
            self._set_fitted(data, state, run)
            parts.append((self.weights_, self.means_, self.covariances_))
        self.weights_ = np.concatenate([w for w, _, _ in parts]) / len(runs)
        self.means_ = np.vstack([m for _, m, _ in parts])
        self.covariances_ = [c for _, _, covs in parts for c in covs]
        self.converged_ = all(run["converged_"] for _, run in runs)
        self.n_iter_ = max(run["n_iter_"] for _, run in runs)
        self.n_reseeds_ = sum(run["n_reseeds_"] for _, run in runs)
        self.lower_bound_history_ = list(runs[0][1]["lower_bound_history_"])
        self._cast_cache = {}
        self.lower_bound_ = float(np.mean(self._score_samples(X)))

    def _set_fitted(self, data: _Data, state: _State, run: dict) -> None:
        kind = _KINDS[self._kind()]
        self.weights_ = state.weights
        self.means_ = data.widen(state.means, 0.0) + data.center
        self.covariances_ = [kind.covariance(data, state, j) for j in range(len(state.weights))]
        for name, value in run.items():
            setattr(self, name, value)
        self.n_features_in_ = data.n_features
        self._cast_cache = {}

    def _get_state(self) -> dict:
        state = super()._get_state()
        try:  # model files hold the dtype's name, not a numpy type
            state["params"]["dtype"] = np.dtype(state["params"]["dtype"]).name
        except TypeError:
            pass  # an invalid value is kept as it is; fit reports it
        return state

    # kernels -----------------------------------------------------------------------
    def _weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log w_j + log N(x_i | mu_j, Sigma_j)`` of any rows with the fitted covariances,
        component-major (K, n); a row with missing cells (NaN) gets the density of its
        observed cells, ``log w_j + log N(x_o | mu_jo, Sigma_joo)``."""
        covs = self.covariances_
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights_)
        if np.isnan(X).any():
            return np.stack(
                [
                    log_w[j] + observed_log_pdf(self.means_[j], cov.dense(), X)
                    for j, cov in enumerate(covs)
                ]
            )
        center = self.mean()
        means = self.means_ - center
        Xc = X - center
        if all(isinstance(c, DiagonalCovariance) for c in covs):
            var = np.stack([c.variances_ for c in covs])
            return diag_log_pdf(stack_squares(Xc), means, var, log_w)
        if all(isinstance(c, LowRankCovariance) for c in covs):
            psi = np.stack([c.psi for c in covs])
            pairs = [woodbury_factor(c.W, c.psi) for c in covs]
            factors, log_dets = [A for A, _ in pairs], np.array([ld for _, ld in pairs])
            return lowrank_log_pdf(stack_squares(Xc), means, psi, factors, log_dets, log_w)
        out = np.empty((len(covs), X.shape[0]))
        work = np.empty_like(Xc)
        for j, cov in enumerate(covs):
            np.subtract(Xc, means[j], out=work)
            out[j] = cov.log_pdf(work, overwrite=True)
        out += log_w[:, None]
        return out

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return _log_normalise(self._weighted_log_prob(X))[0]

    def predict_proba(self, X):
        """Component responsibilities ``p(j | x)``, shape (n_samples, len(weights_)): at most
        ``n_average * n_components`` (fewer where components were dropped)."""
        self._check_fitted()
        X = self._validate_input(X, reset=False)
        return _log_normalise(self._weighted_log_prob(X))[1].T

    def _factors(self, dtype: np.dtype):
        if dtype == np.float64:
            return self.means_, self.covariances_
        cache = self.__dict__.setdefault("_cast_cache", {})
        if dtype not in cache:
            cache[dtype] = (self.means_.astype(dtype), [c.astype(dtype) for c in self.covariances_])
        return cache[dtype]

    def _sample(self, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        means, covs = self._factors(dtype)
        counts = rng.multinomial(n, self.weights_ / self.weights_.sum())
        out = np.empty((n, self.n_features_in_), dtype=dtype)
        start = 0
        for j, count in enumerate(counts):
            if count == 0:
                continue
            Z = rng.standard_normal((count, covs[j].latent_dim), dtype=dtype)
            block = covs[j].colorize(Z)
            block += means[j]
            out[start : start + count] = block
            start += count
        return out[rng.permutation(n)]

    def condition(self, x, observed) -> Conditioned:
        """Every component conditioned; weights become ``w_j N(x_o | mu_jo, Sigma_jo)``
        normalised in log space (see :meth:`Density.condition`)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights_)
        pieces = [
            gaussian_conditional(mu, cov, observed, x[observed])
            for mu, cov in zip(self.means_, self.covariances_, strict=False)
        ]
        return Conditioned(log_w, pieces, observed, x.copy())

    def accepts_missing(self) -> bool:
        """True: EM fits rows with missing cells (module docstring, "Missing cells"), and
        :meth:`score_samples` gives a row with missing cells the exact density of its
        observed ones, ``sum_j w_j N(x_o | mu_jo, Sigma_joo)`` (0 for a row with none
        observed; :func:`~bayesgen.kernels.conditioning.complete_rows`)."""
        return True

    def latent_gaussian(self):
        """The mixture itself, with the identity map: a Gaussian-mixture latent (see
        :meth:`Density.latent_gaussian`), so conditions on values are exact mixtures of
        truncated Gaussian conditionals."""
        from bayesgen.densities.latent import IdentityLatent, mixture_components

        self._check_fitted()
        covariances = [c.dense() for c in self.covariances_]
        parts = mixture_components(self.weights_, self.means_, covariances)
        return IdentityLatent(self.mean(), self.covariance(), components=parts)

    def mean(self) -> np.ndarray:
        """E[x] = sum_j w_j mu_j, shape (n_features,)."""
        self._check_fitted()
        return self.weights_ @ self.means_

    def covariance(self) -> np.ndarray:
        """Cov[x] = sum_j w_j (Sigma_j + mu_j mu_j^T) - E[x] E[x]^T, dense (d, d)."""
        self._check_fitted()
        m = self.mean()
        out = -np.outer(m, m)
        for w, mu, cov in zip(self.weights_, self.means_, self.covariances_, strict=False):
            out += w * (cov.dense() + np.outer(mu, mu))
        return out

    def n_parameters(self) -> int:
        """Weights (K - 1) plus, per component, the mean and the covariance parameters."""
        self._check_fitted()
        d = self.n_features_in_
        return int(len(self.weights_) - 1 + sum(d + c.n_parameters for c in self.covariances_))

    def _check_loaded_params(self) -> None:
        # np.dtype() would build a structured dtype from a mapping: only the names it saves
        check_choice(self.dtype, f"{type(self).__name__} dtype", ("float64", "float32"))
        super()._check_loaded_params()
        if not isinstance(self.init, str):
            what = f"{type(self).__name__} init"
            init = check_array(self.init, what, shape=(None, self.n_components), finite=True)
            if np.any(init < 0):
                raise ValueError(f"{what} must hold non-negative responsibilities")

    def _after_load(self) -> None:
        name, d = type(self).__name__, self.n_features_in_
        covs = self.covariances_
        if not isinstance(covs, list) or not covs:
            raise state_error(f"{name} covariances_", "a non-empty list of covariances", covs)
        cls = _KINDS[self._kind()].covariance_class
        for j, cov in enumerate(covs):
            check_instance(cov, f"{name} covariances_[{j}]", cls, f"a {cls.__name__}")
            if cov.n_features != d:
                raise ValueError(
                    f"{name} covariances_[{j}] must have {d} features; found {cov.n_features}"
                )
        K = len(covs)
        if K > self.n_components * self.n_average:
            raise ValueError(
                f"{name} covariances_ must hold at most n_components * n_average = "
                f"{self.n_components * self.n_average} components (fewer where some were "
                f"dropped); found {K}"
            )
        self.weights_ = check_probabilities(self.weights_, f"{name} weights_", K)
        self.means_ = check_array(self.means_, f"{name} means_", shape=(K, d), finite=True)
        self.converged_ = check_bool(self.converged_, f"{name} converged_")
        self.n_iter_ = check_int(self.n_iter_, f"{name} n_iter_", low=0)
        self.n_reseeds_ = check_int(self.n_reseeds_, f"{name} n_reseeds_", low=0)
        self.lower_bound_ = check_real(self.lower_bound_, f"{name} lower_bound_", finite=False)
        self.lower_bound_history_ = check_real_list(
            self.lower_bound_history_, f"{name} lower_bound_history_"
        )
        self._cast_cache = {}


@persistable("GaussianMixtureDensity")
class GaussianMixtureDensity(MixtureDensity):
    """Gaussian mixture ``sum_j w_j N(mu_j, Sigma_j)`` fitted by EM in log space.

    Parameters
    ----------
    n_components : int, default=3
    covariance_type : {"full", "diag"}, default="full"
    reg_covar : float, default=1e-6
        Added to every component's covariance diagonal (a floor on the variances).
    max_iter : int, default=100
    tol : float, default=1e-3
        Stop when the log-likelihood per row changes by less than this.
    n_init : int, default=1
        Independent initialisations; the run with the best likelihood is kept.
    n_average : int, default=1
        EM runs from different random starts (each the best of ``n_init``) averaged with
        equal weights: the fitted mixture is ``(1/R) sum_r sum_j w_rj N(mu_rj, Sigma_rj)``
        over the ``R = n_average`` runs, ``R * n_components`` components in all (fewer
        where some were dropped).  Each run ends in its own local optimum; averaging them
        lowers the variance of the fit, and
        by Jensen's inequality ``log((1/R) sum_r p_r(x)) >= (1/R) sum_r log p_r(x)`` at
        every ``x``: the average's log-likelihood of any row, training or held out, is at
        least the mean of the runs' own (module docstring, "Averaged runs").  Costs R
        fits, and R times the components to score and store.
    init : {"kmeans", "k-means++", "random"} or ndarray of shape (n_samples, n_components)
        Initial responsibilities: k-means clusters (k-means++ seeding and Lloyd iterations,
        as scikit-learn's ``GaussianMixture``; see the module docstring), the nearest
        k-means++ seed, random assignment, or given responsibilities.
    random_state : None, int or numpy.random.Generator
    dtype : {"float64", "float32"}, default="float64"
        Precision of the matrix products of EM.  float32 is about twice as fast; the
        log-likelihood is accumulated and the parameters are kept in float64, and what
        float32 loses is said in the module docstring ("Precision").

    Attributes
    ----------
    weights_ : ndarray of shape (n_average * n_components,)
        Fewer where components kept collapsing and were dropped (see the module docstring).
    means_ : ndarray of shape (n_average * n_components, n_features)
    covariances_ : list of Covariance
        Factored covariance of each component.
    converged_ : bool
        Every run converged.
    n_iter_ : int
        Iterations of the run (the longest one with ``n_average > 1``).
    lower_bound_ : float
        Log-likelihood per training row at the end (of the average, with ``n_average > 1``).
    lower_bound_history_ : list of float
        The same after every E-step (non-decreasing unless a component was re-seeded); of
        the first run with ``n_average > 1``.
    n_reseeds_ : int
        Number of empty or collapsed components that were re-seeded (in all runs).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen.densities import GaussianMixtureDensity
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (200, 2)), rng.normal(3, 1, (200, 2))])
    >>> gm = GaussianMixtureDensity(2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0]).round(0)
    array([-3.,  3.])
    """

    def __init__(
        self,
        n_components=3,
        *,
        covariance_type="full",
        reg_covar=1e-6,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        n_average=1,
        init="kmeans",
        random_state=None,
        dtype="float64",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.n_average = n_average
        self.init = init
        self.random_state = random_state
        self.dtype = dtype

    def _kind(self) -> str:
        return self.covariance_type

    def _check_params(self) -> None:
        if self.covariance_type not in ("full", "diag"):
            raise ValueError(
                f"covariance_type must be 'full' or 'diag'; got {self.covariance_type!r}"
            )
        self._check_common()


@persistable("MixtureOfFactorAnalysersDensity")
class MixtureOfFactorAnalysersDensity(MixtureDensity):
    """Mixture of factor analysers: components ``N(mu_j, W_j W_j^T + Psi_j)``.

    Each component has ``rank`` factors, so an EM iteration and a log-density cost
    O(n d k K) and no d x d matrix is formed after initialisation (each component starts from
    the probabilistic PCA of its initial cluster).

    Parameters
    ----------
    n_components : int, default=3
    rank : int, default=5
        Factors per component, at most ``d - 1`` and at most half the rows per component,
        ``n // (2 n_components)``: a component with about as many factors as rows fits its
        rows exactly, its likelihood grows without bound and EM does not settle.  The
        fitted loadings have the capped number of columns.
    noise : {"diagonal", "isotropic"}, default="diagonal"
        "diagonal": factor analysers (a noise variance per feature and component);
        "isotropic": mixture of probabilistic PCA (Tipping and Bishop 1999), one noise
        variance per component, a strong regulariser for images.
    reg_covar, max_iter, tol, n_init, n_average, init, random_state, dtype
        As in :class:`GaussianMixtureDensity`.

    Attributes
    ----------
    As :class:`GaussianMixtureDensity`; ``covariances_`` holds
    :class:`~bayesgen.kernels.lowrank.LowRankCovariance` objects.
    """

    def __init__(
        self,
        n_components=3,
        *,
        rank=5,
        noise="diagonal",
        reg_covar=1e-6,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        n_average=1,
        init="kmeans",
        random_state=None,
        dtype="float64",
    ):
        self.n_components = n_components
        self.rank = rank
        self.noise = noise
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.n_average = n_average
        self.init = init
        self.random_state = random_state
        self.dtype = dtype

    def _kind(self) -> str:
        return "ppca" if self.noise == "isotropic" else "lowrank"

    def _check_params(self) -> None:
        r = self.rank
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 0:
            raise ValueError(f"rank must be a non-negative integer; got {r!r}")
        if self.noise not in ("diagonal", "isotropic"):
            raise ValueError(f"noise must be 'diagonal' or 'isotropic'; got {self.noise!r}")
        self._check_common()

    def _first_params(self, data, resp):
        """Probabilistic PCA of each initial (weighted) cluster: an eigendecomposition each."""
        return _KINDS[self._kind()].first_state(data, resp, self.rank)

    def n_parameters(self) -> int:
        """Weights, means, loadings (less rotations) and noise variances (1 if isotropic)."""
        self._check_fitted()
        d = self.n_features_in_
        total = len(self.weights_) - 1
        for cov in self.covariances_:
            k = cov.rank
            noise = 1 if self.noise == "isotropic" else d
            total += d + d * k - k * (k - 1) // 2 + noise
        return int(total)
