"""Conditional generation with a fitted classifier or density: complete partly observed rows.

Each density conditions itself (:meth:`bayesgen.densities.Density.condition`, built on the
Gaussian kernels of :mod:`bayesgen.kernels.conditioning`); given a classifier and no label,
the class is drawn from ``p(y | x_o)``, which uses the same marginal likelihoods.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from bayesgen.base.errors import DataError, NotFittedError
from bayesgen.base.rng import check_random_state
from bayesgen.base.validation import check_finite, check_n_samples
from bayesgen.densities.base import Density
from bayesgen.kernels.conditioning import refine_tied, sample_mixture_conditional

__all__ = ["class_posterior_given_observed", "redraw_cells", "sample_conditional"]


def _condition(density, x: np.ndarray, observed: np.ndarray):
    """:meth:`Density.condition`, with a clear refusal for densities of other libraries."""
    if not isinstance(density, Density):
        raise DataError(
            f"conditional sampling is not available for {type(density).__name__}; use a "
            "Gaussian, low-rank, mixture, copula or transformed density"
        )
    return density.condition(x, observed)


def _check_inputs(x_observed, observed_mask, n_features):
    x = np.asarray(x_observed, dtype=np.float64)
    mask = np.asarray(observed_mask)
    if mask.dtype != bool:
        raise DataError(
            f"observed_mask must be a boolean array (True = observed); got dtype {mask.dtype}"
        )
    one = x.ndim == 1
    X = np.atleast_2d(x)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataError(
            f"x_observed must have {n_features} features (shape ({n_features},) or "
            f"(n, {n_features})); got shape {x.shape}"
        )
    M = np.broadcast_to(mask, X.shape) if mask.shape in ((n_features,), X.shape) else None
    if M is None:
        raise DataError(
            f"observed_mask must have shape ({n_features},) or {X.shape}; got {mask.shape}"
        )
    check_finite(np.where(M, X, 0.0), "x_observed")
    return X, np.ascontiguousarray(M), one


def redraw_cells(
    densities, X: np.ndarray, index: np.ndarray, cells: np.ndarray, rng, *, rest_is_data=False
):
    """Rows of ``X`` whose cells marked in ``cells`` are drawn again from their conditional
    given the row's other cells, under the row's class density ``densities[index[i]]``.

    Densities with a Gaussian latent view (:meth:`Density.latent_gaussian`: the Gaussian
    families, the mixtures, the copulas with empirical marginals) draw in it, all rows of
    one class and one mask at once: the row's latent vector, the free coordinates drawn
    from the latent Gaussian (mixture) given the others
    (:func:`~bayesgen.kernels.conditioning.sample_mixture_conditional`), mapped back.  A
    tied cell (a category, a point mass) stands for an interval of its latent coordinate,
    where the distributional transform draws it uniformly (as the copula's fit scores tied
    cells): exact when at most one conditioning cell is tied.  When the rest of the row is
    data (``rest_is_data``, :meth:`BayesClassifier.impute`), the row's tied coordinates
    are then drawn jointly given its other observed ones, by Gibbs sampling of the
    truncated Gaussian (:func:`~bayesgen.kernels.conditioning.refine_tied`), so the free
    cells come from the conditional given what the observed cells say, intervals and all.
    (For generated rows, which :func:`~bayesgen.classifier.tables.keep_orders` redraws,
    that refinement cost 50x the sampling on breast-cancer, whose rows hold many tied
    cells, for a shift of the redrawn cells' mean of a tenth of their spread in the
    strongest case we built; it is left out there.)  Densities without a
    latent view (parametric marginals, pixel transforms, other libraries' densities)
    redraw the whole row from the class density when the rest of the row was generated
    too, and condition row by row (:meth:`Density.condition`) when it is data
    (``rest_is_data``, as in :meth:`BayesClassifier.impute`).

    Parameters
    ----------
    densities : list of Density
    X : ndarray of shape (n, n_features)
        Complete rows (no missing cell).
    index : ndarray of int, shape (n,)
        The class position of every row.
    cells : ndarray of bool, shape (n, n_features)
        True where a cell is drawn again.
    rng : numpy.random.Generator
    rest_is_data : bool, default=False
        The unmarked cells are data and must stay (else they were generated, and a family
        without a latent view may redraw them with the marked ones).

    Returns
    -------
    ndarray of float64, shape (n, n_features)
    """
    out = np.array(X, dtype=np.float64)
    for k in np.unique(index):
        rows = np.flatnonzero(index == k)
        latent = _latent_view(densities[k])
        if latent is None and rest_is_data:
            for i in rows:
                row = np.where(cells[i], 0.0, out[i])
                out[i] = _condition(densities[k], row, ~cells[i]).sample(1, rng, row)[0]
            continue
        if latent is None:
            out[rows] = _whole_rows(densities[k], rows.size, rng)
            continue
        Z = latent.to_latent(out[rows], rng)
        lo, hi = latent.tied_intervals(out[rows]) if rest_is_data else (None, None)
        mine = cells[rows]
        # rows that redraw the same cells condition alike: one batch per mask
        _, first, group = np.unique(
            np.packbits(mine, axis=1), axis=0, return_index=True, return_inverse=True
        )
        group = group.reshape(-1)
        components = latent.components()
        for g, free in enumerate(mine[first]):
            batch = group == g
            Zg = Z[batch]
            if rest_is_data:
                Zg = refine_tied(components, Zg, lo[batch], hi[batch], ~free, rng)
            Z[np.ix_(batch, free)] = sample_mixture_conditional(components, Zg, free, rng)
        block = out[rows]
        block[mine] = latent.to_data(Z)[mine]
        out[rows] = block
    return out


def _whole_rows(density, n: int, rng) -> np.ndarray:
    """``n`` fresh rows of a density (a scikit-learn-style one takes an integer seed)."""
    if isinstance(density, Density):
        return density.sample(n, rng)
    return np.asarray(density.sample(n, random_state=int(rng.integers(2**31))))


def _latent_view(density):
    """The density's Gaussian latent view, or None for a family without one."""
    if not isinstance(density, Density):
        return None
    try:
        return density.latent_gaussian()
    except DataError:
        return None


def sample_conditional(
    model_or_density, x_observed, observed_mask, *, y=None, n_samples=1, random_state=None
):
    """Sample the unobserved features from their exact conditional distribution.

    Parameters
    ----------
    model_or_density : BayesClassifier or Density
        A fitted classifier (then ``y`` picks the class density; if None, the class is drawn
        from ``p(y | x_observed)``) or a fitted density.
    x_observed : array-like of shape (n_features,) or (n_rows, n_features)
        Rows whose entries under ``observed_mask`` are the observed values (the others are
        ignored and may be anything finite or NaN).
    observed_mask : bool array-like of shape (n_features,) or like ``x_observed``
        True where the feature is observed.
    y : label or array-like of labels, optional
        Class of each row (classifier only).
    n_samples : int, default=1
        Completions per row.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), or (n_rows, n_samples, n_features) for 2-D
        ``x_observed``
        Completed rows: observed entries copied, the rest sampled.
    labels : ndarray, only for a classifier
        The class used for each completion, same leading shape as ``X`` without features.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen import GaussianDensity
    >>> from bayesgen.conditional import sample_conditional
    >>> X = np.random.default_rng(0).multivariate_normal([0, 0], [[1, .9], [.9, 1]], 500)
    >>> density = GaussianDensity().fit(X)
    >>> rows = sample_conditional(density, [2.0, np.nan], [True, False], n_samples=3,
    ...                           random_state=0)
    >>> rows.shape, bool((rows[:, 0] == 2.0).all())
    ((3, 2), True)
    """
    n = check_n_samples(n_samples)
    rng = check_random_state(random_state)
    is_model = not isinstance(model_or_density, Density)  # else a fitted BayesClassifier
    target = model_or_density
    if not hasattr(target, "n_features_in_"):
        raise NotFittedError(f"This {type(target).__name__} is not fitted yet; call fit first.")
    d = int(target.n_features_in_)
    X, M, one = _check_inputs(x_observed, observed_mask, d)
    X = np.where(M, X, 0.0)
    out = np.empty((X.shape[0], n, d))
    labels = []
    if is_model:
        target._check_fitted()
        if y is None:
            ys = [None] * X.shape[0]
        elif np.ndim(y) == 0:
            ys = [y] * X.shape[0]
        else:
            ys = list(np.asarray(y).ravel())
            if len(ys) != X.shape[0]:
                raise DataError(f"y has {len(ys)} labels for {X.shape[0]} rows")
    for i in range(X.shape[0]):
        if not is_model:
            target._check_fitted()
            out[i] = _condition(target, X[i], M[i]).sample(n, rng, X[i])
            continue
        if ys[i] is not None:
            k = int(target._label_index([target.parse_label(ys[i])])[0])
            out[i] = _condition(target.densities_[k], X[i], M[i]).sample(n, rng, X[i])
            labels.append(np.full(n, target.classes_[k]))
            continue
        conds = [_condition(dens, X[i], M[i]) for dens in target.densities_]
        joint = target._log_prior + np.array([c.log_marginal for c in conds])
        post = np.exp(joint - logsumexp(joint))
        ks = rng.choice(len(conds), size=n, p=post / post.sum())
        for k in np.unique(ks):
            rows = ks == k
            out[i, rows] = conds[k].sample(int(rows.sum()), rng, X[i])
        labels.append(target.classes_[ks])
    result = out[0] if one else out
    if not is_model:
        return result
    lab = np.stack(labels)
    return result, (lab[0] if one else lab)


def class_posterior_given_observed(model, x_observed, observed_mask) -> np.ndarray:
    """``p(y | x_o)`` for each row, using only the observed features, shape (n, n_classes)."""
    d = int(model.n_features_in_)
    X, M, _ = _check_inputs(x_observed, observed_mask, d)
    X = np.where(M, X, 0.0)
    out = np.empty((X.shape[0], len(model.classes_)))
    for i in range(X.shape[0]):
        joint = model._log_prior + np.array(
            [_condition(dens, X[i], M[i]).log_marginal for dens in model.densities_]
        )
        out[i] = np.exp(joint - logsumexp(joint))
    return out
