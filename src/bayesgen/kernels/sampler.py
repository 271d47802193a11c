"""The sampling engine of the location-scale families: rows ``mean + L z`` in cache-sized chunks.

A *job* asks for draws of one distribution (a class's mean and covariance) into some rows
of the output.  Its rows are cut into chunks of about :data:`CHUNK_VALUES` standard
normals; each chunk is drawn into a small scratch buffer, coloured in place by the
covariance (one triangular BLAS product for a full covariance), shifted by the mean and
copied to its rows of the output.  The scratch buffers are reused, so the normals never
make a round trip through main memory and the only large array written is the output.

Chunks are independent, so they are spread over the cores: one *lane* per core pulls
chunks until none are left, with BLAS held to one thread per call (no oversubscription, no
spinning BLAS workers between calls).  Every step of a chunk releases the GIL (numpy's
generators and gathers; the product through :func:`bayesgen.base.blas.trmm_rows_inplace`).

Determinism.  Chunk ``c`` of a job draws from its own generator, seeded from the job's
generator, and chunk sizes depend only on the width of a row: the numbers depend on
neither the number of cores nor the timing.
"""

from __future__ import annotations

import numpy as np

from bayesgen.base.threads import lane_budget, one_blas_thread, run_lanes_over

#: standard normals per chunk: 4 MiB of float64, which stays in cache while it is coloured
CHUNK_VALUES = 1 << 19
#: below this many standard normals in all, everything runs on the calling thread
PARALLEL_MIN = 1 << 18


def chunk_rows(latent_dim: int) -> int:
    """Rows per chunk for rows of ``latent_dim`` standard normals."""
    return max(1, CHUNK_VALUES // max(1, latent_dim))


def _row_count(rows, n_total: int) -> int:
    if isinstance(rows, slice):
        start, stop, step = rows.indices(n_total)
        if step != 1:
            raise ValueError("rows must be a slice with step 1 or an index array")
        return max(0, stop - start)
    return int(rows.shape[0])


def draw_location_scale(X: np.ndarray, jobs) -> None:
    """Fill rows of ``X`` with draws of ``mean + L z``, one job per distribution.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The output, C-contiguous; its dtype (float32 or float64) is the dtype of the draws.
    jobs : list of (rows, mean, covariance, rng)
        ``rows`` (a slice with step 1, or an array of row positions) of ``X`` receive draws
        from N(``mean``, ``covariance``); ``mean`` and ``covariance`` are in ``X``'s dtype
        (the covariance supplies ``latent_dim`` and ``colour_flat``); ``rng`` (a numpy
        Generator) seeds the job's chunks.
    """
    tasks = []
    width = 0
    for j, (rows, _mean, covariance, rng) in enumerate(jobs):
        n = _row_count(rows, X.shape[0])
        if n == 0:
            continue
        latent = covariance.latent_dim
        m = min(n, chunk_rows(latent))
        starts = range(0, n, m)
        seeds = rng.integers(0, 2**63, size=(len(starts), 2), dtype=np.int64)
        tasks.extend((j, a, min(a + m, n), seed) for a, seed in zip(starts, seeds, strict=True))
        width = max(width, m * latent)
    if not tasks:
        return
    rows_per_chunk = max(b - a for _, a, b, _ in tasks)
    total = sum((b - a) * jobs[j][2].latent_dim for j, a, b, _ in tasks)
    lanes = min(lane_budget(), len(tasks))
    if total < PARALLEL_MIN:
        lanes = 1

    def make_worker():
        scratch = np.empty(width, dtype=X.dtype)
        out = np.empty((rows_per_chunk, X.shape[1]), dtype=X.dtype)

        def work(task) -> None:
            j, a, b, seed = task
            rows, mean, covariance, _ = jobs[j]
            m = b - a
            flat = scratch[: m * covariance.latent_dim]
            # SFC64: numpy's fastest bit generator for standard normals (benchmarks/README.md),
            # of the same statistical quality as PCG64
            np.random.Generator(np.random.SFC64(seed.tolist())).standard_normal(
                dtype=X.dtype, out=flat
            )
            block = covariance.colour_flat(flat, m, out[:m])
            block += mean
            if isinstance(rows, slice):
                first = rows.indices(X.shape[0])[0]
                X[first + a : first + b] = block
            else:
                X[rows[a:b]] = block

        return work

    # BLAS on one thread in every case, so that the products (and their rounding) are the
    # same whether one lane runs or several
    with one_blas_thread():
        run_lanes_over(tasks, make_worker, lanes)
