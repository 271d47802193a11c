"""Seed streams and block layout of chunked sampling: which random numbers a row gets.

Rows are generated in fixed blocks; block ``b`` draws from child ``b`` of a root
:class:`numpy.random.SeedSequence`, so the same seed gives the same rows whatever the chunk
size, the order in which blocks are made, or the process (or Dask worker) that makes them.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.rng import check_random_state

__all__ = ["block_generator", "default_block_size", "rechunk", "seed_sequence"]

#: elements (rows x features) of one generation block of iter_samples when no block_size is
#: given; the block, not the chunk, fixes which random numbers a row gets
_SAMPLE_BLOCK_ELEMENTS = 2**22


def default_block_size(n_features: int) -> int:
    """Rows per generation block used by :meth:`BayesClassifier.iter_samples` by default.

    A power of two between 1,024 and 65,536 rows with about 4 M values (32 MiB of float64)
    per block; it depends on the number of features only, so a model always uses the same.
    """
    rows = _SAMPLE_BLOCK_ELEMENTS // max(1, int(n_features))
    return int(min(65536, max(1024, 1 << max(0, rows.bit_length() - 1))))


def seed_sequence(random_state) -> np.random.SeedSequence:
    """The root SeedSequence of a chunked draw; block ``b`` uses its child number ``b``.

    An int or a SeedSequence seeds it directly (same seed, same rows); None takes fresh OS
    entropy; a Generator (or legacy RandomState) gives up 128 bits of its stream, so
    successive calls with one Generator differ but are reproducible from its seed.
    """
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        check_random_state(random_state)  # same validation (and messages) as elsewhere
        return np.random.SeedSequence(int(random_state))
    rng = check_random_state(random_state)
    return np.random.SeedSequence(rng.integers(0, 2**32, size=4, dtype=np.uint64).tolist())


def block_generator(root: np.random.SeedSequence, block: int) -> np.random.Generator:
    """Generator of generation block ``block``: child ``block`` of ``root``.

    Built from ``root``'s entropy and spawn key directly, so it is the same whatever the
    order in which blocks are made or which process makes them.
    """
    child = np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, int(block)), pool_size=root.pool_size
    )
    return np.random.Generator(np.random.PCG64(child))


def rechunk(blocks, chunk: int):
    """Re-cut a stream of ``(X, y)`` blocks into chunks of exactly ``chunk`` rows."""
    pending_X: list = []
    pending_y: list = []
    have = 0
    for X, y in blocks:
        pos = 0
        while pos < X.shape[0]:
            take = min(chunk - have, X.shape[0] - pos)
            pending_X.append(X[pos : pos + take])
            pending_y.append(y[pos : pos + take])
            have += take
            pos += take
            if have == chunk:
                yield _join(pending_X, pending_y)
                pending_X, pending_y, have = [], [], 0
    if have:
        yield _join(pending_X, pending_y)


def _join(parts_X, parts_y):
    if len(parts_X) == 1:
        return parts_X[0], parts_y[0]
    return np.concatenate(parts_X), np.concatenate(parts_y)
