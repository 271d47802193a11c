"""BLAS on one thread for loops of small matrix operations.

On small operands (a 784 x 30 SVD, a 30 x 30 solve) OpenBLAS spends far longer waking and
synchronising its threads than computing: on the 2-core machine of benchmarks/README.md
an EM fit of 20 low-rank components to 154 rows ran 7.5x slower with 2 BLAS threads than
with one.  Estimators wrap such loops in :func:`one_blas_thread`; the large products
around them keep every thread.  The limit is process-wide while it lasts (threadpoolctl),
so BLAS calls made meanwhile by other threads run on one thread too.
"""

from __future__ import annotations

import contextlib

_CONTROLLER = None


def one_blas_thread():
    """A context manager limiting BLAS to one thread (a no-op without threadpoolctl)."""
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or unable to inspect
        return contextlib.nullcontext()
