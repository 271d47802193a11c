"""The sampling engine of the classifier: labelled rows with one batched draw per class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.base.validation import format_label
from bayesgen.densities.base import Density
from bayesgen.kernels.sampler import draw_location_scale

__all__ = ["SamplePlan", "generate_labelled"]


@dataclass(frozen=True)
class SamplePlan:
    """The labels of a draw: ``n_rows`` labels from ``prior`` (class probabilities), or
    the class positions ``index`` in ``classes_`` (one per row, in order)."""

    n_rows: int
    prior: np.ndarray | None = None
    index: np.ndarray | None = None

    def n_blocks(self, block_size: int) -> int:
        """Generation blocks of ``block_size`` rows that hold the plan's rows."""
        return -(-self.n_rows // block_size)


def generate_labelled(
    densities,
    classes,
    n_features: int,
    rng: np.random.Generator,
    dtype,
    *,
    n=None,
    prior=None,
    index=None,
):
    """The sampling engine: labelled rows with one batched draw per class.

        Labels come from ``prior`` (``n`` rows: class counts ~ Multinomial(n, prior), rows in
        random order) or are the class positions ``index``.  Each class draws its rows from
        its own generator and writes them straight to their places in the output: the
        location-scale families through :mod:`bayesgen.kernels.sampler` (normals drawn, coloured
        and shifted chunk by chunk in cache), the others in one batch.

    Parameters
    ----------
    densities : list of fitted densities (None for a class with no rows yet)
    classes : ndarray of shape (n_classes,)
    n_features : int
    rng : numpy.random.Generator
    dtype : numpy dtype
    n, prior : int and ndarray of shape (n_classes,)
        Draw ``n`` labels from ``prior``; or
    index : ndarray of int
        the class position of every row.

    Returns
    -------
    X : ndarray of shape (n, n_features)
    index : ndarray of int, shape (n,)
        The class position of every row (its label is ``classes[index]``).
    """
    n_classes = classes.shape[0]
    if index is None:
        counts = rng.multinomial(n, prior)
        sorted_labels = np.repeat(np.arange(n_classes), counts)
        if np.count_nonzero(counts) > 1:
            # the rows of class k go to positions order[bounds[k]:bounds[k + 1]]
            order = rng.permutation(n)
            index = np.empty(n, dtype=np.intp)
            index[order] = sorted_labels
        else:
            order, index = None, sorted_labels
    else:
        index = np.asarray(index, dtype=np.intp)
        n = index.shape[0]
        counts = np.bincount(index, minlength=n_classes)
        order = np.argsort(index, kind="stable") if np.count_nonzero(counts) > 1 else None
    present = np.flatnonzero(counts)
    for k in present:
        if densities[k] is None:
            raise DataError(
                f"class {format_label(classes[k])} has no training rows yet, so it "
                "cannot be sampled; feed it data with partial_fit first"
            )
    X = np.empty((n, n_features), dtype=dtype)
    # one child generator per class: the numbers do not depend on how the work is
    # spread over threads
    seeds = rng.integers(0, 2**63, size=(present.shape[0], 2), dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(counts[present])])
    jobs = []
    for j, k in enumerate(present):
        density = densities[k]
        child = np.random.Generator(np.random.PCG64(seeds[j].tolist()))
        rows = slice(0, n) if order is None else order[bounds[j] : bounds[j + 1]]
        if not isinstance(density, Density):  # a scikit-learn density: its own sample()
            X[rows] = density.sample(int(counts[k]), random_state=int(seeds[j][0]))
            continue
        factor = density.location_scale(dtype)
        if factor is not None:
            jobs.append((rows, *factor, child))
        else:
            X[rows] = density.sample(int(counts[k]), child, dtype=dtype)
    draw_location_scale(X, jobs)  # the Gaussian classes, all chunks spread over the cores
    return X, index
