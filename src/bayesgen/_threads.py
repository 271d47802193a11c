"""BLAS on one thread for loops of small matrix operations.

On small operands (a 784 x 30 SVD, a 30 x 30 solve) OpenBLAS spends far longer waking and
synchronising its threads than computing: on the 2-core machine of benchmarks/README.md
an EM fit of 20 low-rank components to 154 rows ran 7.5x slower with 2 BLAS threads than
with one.  Estimators wrap such loops in :func:`one_blas_thread`; the large products
around them keep every thread.  The limit is process-wide while it lasts (threadpoolctl),
so BLAS calls made meanwhile by other threads run on one thread too; overlapping uses from
several threads share one limit, lifted when the last of them ends.
"""

from __future__ import annotations

import contextlib
import threading

_LOCK = threading.Lock()
_STATE = {"controller": None, "depth": 0, "limiter": None}


def _enter() -> None:
    with _LOCK:
        if _STATE["depth"] == 0:
            if _STATE["controller"] is None:
                from threadpoolctl import ThreadpoolController

                _STATE["controller"] = ThreadpoolController()
            _STATE["limiter"] = _STATE["controller"].limit(limits=1, user_api="blas")
        _STATE["depth"] += 1


def _exit() -> None:
    with _LOCK:
        _STATE["depth"] -= 1
        if _STATE["depth"] == 0 and _STATE["limiter"] is not None:
            _STATE["limiter"].restore_original_limits()
            _STATE["limiter"] = None


@contextlib.contextmanager
def _limited():
    _enter()
    try:
        yield
    finally:
        _exit()


def one_blas_thread():
    """A context manager limiting BLAS to one thread (a no-op without threadpoolctl)."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:  # pragma: no cover - a declared dependency
        return contextlib.nullcontext()
    return _limited()
