"""BLAS thread limits: one thread for loops of small products, a share beside busy threads.

On small operands (a 784 x 30 SVD, a 30 x 30 solve) OpenBLAS spends far longer waking and
synchronising its threads than computing (benchmarks/README.md has the measurement on an EM
fit of low-rank components). Estimators wrap such loops in :func:`one_blas_thread`; the
large products around them keep every thread. Code that runs BLAS beside other busy threads
(the sampling engine's lanes, the reduction of one chunk while the next is parsed) holds it
to its share of the cores with :func:`blas_thread_limit`: idle OpenBLAS workers spin for a
while after each call, taking the cores the other threads need. A limit is process-wide
while it lasts (threadpoolctl), so BLAS calls made meanwhile by other threads obey it too;
overlapping uses from several threads share one limit, lifted when the last of them ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

_LOCK = threading.Lock()
_STATE = {"controller": None, "depth": 0, "limiter": None, "limit": None}


def _enter(limit: int) -> None:
    with _LOCK:
        if _STATE["controller"] is None:
            from threadpoolctl import ThreadpoolController

            _STATE["controller"] = ThreadpoolController()
        if _STATE["depth"] == 0:
            # this limiter remembers the original thread counts: restored at the last exit
            _STATE["limiter"] = _STATE["controller"].limit(limits=_capped(limit))
            _STATE["limit"] = limit
        elif limit < _STATE["limit"]:
            _STATE["controller"].limit(limits=_capped(limit))
            _STATE["limit"] = limit
        _STATE["depth"] += 1


def _capped(limit: int) -> dict:
    """Per BLAS library, ``limit`` or its current thread count if lower: a limit never
    raises a count (under OPENBLAS_NUM_THREADS=1 or an outer threadpoolctl limit)."""
    caps: dict = {}
    for lib in _STATE["controller"].info():
        if lib["user_api"] == "blas":
            current = lib["num_threads"]
            caps[lib["prefix"]] = min(caps.get(lib["prefix"], limit), limit, current)
    return caps


def _exit() -> None:
    with _LOCK:
        _STATE["depth"] -= 1
        if _STATE["depth"] == 0 and _STATE["limiter"] is not None:
            _restore(_STATE["limiter"])
            _STATE["limiter"] = _STATE["limit"] = None


def _restore(limiter) -> None:
    """Put the original BLAS thread counts back, and check that they took.

    OpenBLAS now and then ignores a change of its thread count made from one thread
    while it settles one made from another (seen about once in a hundred runs of the
    two-thread test in tests/test_threads.py); the counts are read back and set again.
    """
    wanted = {
        lib["filepath"]: lib["num_threads"]
        for lib in limiter._original_info
        if lib["user_api"] == "blas"
    }
    for _ in range(5):
        limiter.restore_original_limits()
        now = {
            lib["filepath"]: lib["num_threads"]
            for lib in _STATE["controller"].info()
            if lib["user_api"] == "blas"
        }
        if all(now.get(path) == count for path, count in wanted.items()):
            return
        time.sleep(0.001)


@contextlib.contextmanager
def _limited(limit: int):
    _enter(limit)
    try:
        yield
    finally:
        _exit()


def blas_thread_limit(limit: int):
    """A context manager holding BLAS to at most ``limit`` threads (needs threadpoolctl).

    Overlapping uses (from several threads) share one limit, the smallest asked for, until
    the last of them ends; then the original thread counts come back.
    """
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:  # pragma: no cover - a declared dependency
        return contextlib.nullcontext()
    return _limited(max(1, int(limit)))


def one_blas_thread():
    """A context manager limiting BLAS to one thread (see :func:`blas_thread_limit`)."""
    return blas_thread_limit(1)


#: most threads a pool of lanes uses
MAX_LANES = 8
_POOL = None
_POOL_LOCK = threading.Lock()
_LANE_PREFIX = "bayesgen-lane"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def lane_budget() -> int:
    """How many lanes work may be spread over: the usable cores, at most :data:`MAX_LANES`,
    and no more than the BLAS thread count in force (a caller that holds BLAS to one
    thread -- OPENBLAS_NUM_THREADS=1, threadpoolctl, a joblib worker -- gets one lane)."""
    budget = min(usable_cores(), MAX_LANES)
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:  # pragma: no cover - a declared dependency
        return budget
    with _LOCK:
        if _STATE["controller"] is None:
            from threadpoolctl import ThreadpoolController

            _STATE["controller"] = ThreadpoolController()
        counts = [
            lib["num_threads"] for lib in _STATE["controller"].info() if lib["user_api"] == "blas"
        ]
    if _STATE["depth"] == 0 and counts:  # not inside a limit of bayesgen's own
        budget = min(budget, max(counts))
    return max(1, budget)


def run_lanes(lane, lanes: int) -> None:
    """Run ``lane(stop)`` on ``lanes`` threads: this one and ``lanes - 1`` pool threads.

    Each lane pulls work from a queue the caller shares between them until it is empty or
    ``stop`` (a :class:`threading.Event`) is set.  When a lane raises, ``stop`` is set so
    the others quit at their next item; the error is re-raised here once every lane has
    stopped (the calling thread's own error first).  Helpers that have not started when
    the calling thread's lane ends are cancelled (their share is done), so a caller does
    not wait behind other callers' work queued in the pool.
    """
    stop = threading.Event()

    def guarded() -> None:
        try:
            lane(stop)
        except BaseException:
            stop.set()
            raise

    if lanes <= 1 or threading.current_thread().name.startswith(_LANE_PREFIX):
        # one lane; and never from a pool thread, which would wait for helpers queued
        # behind the very threads that wait for it
        lane(stop)
        return
    helpers = []
    try:
        for _ in range(min(lanes, MAX_LANES) - 1):
            helpers.append(_pool().submit(guarded))
        guarded()
    except BaseException:
        stop.set()
        _finish(helpers)  # nothing may still be running when the caller sees the error
        raise
    for helper in _finish(helpers):
        helper.result()  # re-raises a helper's error


def run_lanes_over(items, make_worker, lanes: int) -> None:
    """Process ``items`` on ``lanes`` lanes (see :func:`run_lanes`) from one shared queue.

    ``make_worker()`` is called once per lane and returns that lane's ``work(item)`` (so
    a lane can keep scratch buffers of its own); items are taken in order.
    """
    queue = iter(items)
    lock = threading.Lock()
    end = object()

    def lane(stop: threading.Event) -> None:
        work = make_worker()
        while not stop.is_set():
            with lock:
                item = next(queue, end)
            if item is end:
                return
            work(item)

    run_lanes(lane, lanes)


def _finish(helpers) -> list:
    """Cancel the helpers not started, wait for the others; those that ran."""
    ran = [helper for helper in helpers if not helper.cancel()]
    wait(ran)
    return ran


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(MAX_LANES - 1, thread_name_prefix=_LANE_PREFIX)
        return _POOL


def _forget_pool() -> None:
    """A forked child has the pool object but not its threads: start afresh there."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
