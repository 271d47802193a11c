"""BLAS thread limit for loops of small matrix operations."""

from threadpoolctl import threadpool_info, threadpool_limits

from bayesgen.base.threads import one_blas_thread


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_limits_inside_and_restores_after():
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with one_blas_thread():
            assert all(n == 1 for n in _blas_threads())
        assert _blas_threads() == before


def test_overlapping_limits_from_two_threads_restore_the_original_count():
    """A enters, B enters, A leaves, B leaves: the limit holds until B leaves, and BLAS
    must not stay on one thread afterwards."""
    import threading

    before = _blas_threads()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with one_blas_thread():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with one_blas_thread():
            b_in.set()
            a_out.wait(5)
            seen["inside"] = _blas_threads()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(n == 1 for n in seen["inside"])
    assert _blas_threads() == before


def test_blas_thread_limit_nests_to_the_smallest_and_restores():
    from bayesgen.base.threads import blas_thread_limit

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with blas_thread_limit(2):
            assert all(n <= 2 for n in _blas_threads())
            with one_blas_thread():
                assert all(n == 1 for n in _blas_threads())
            with blas_thread_limit(5):  # a looser limit inside does not lift the tighter one
                assert all(n <= 2 for n in _blas_threads())
        assert _blas_threads() == before


def test_a_limit_never_raises_the_thread_count():
    from bayesgen.base.threads import blas_thread_limit

    with threadpool_limits(limits=1, user_api="blas"):
        with blas_thread_limit(4):
            assert all(n == 1 for n in _blas_threads())
        assert all(n == 1 for n in _blas_threads())


def test_run_lanes_shares_the_work_and_reraises_after_every_lane_stopped():
    import threading
    import time

    from bayesgen.base.threads import run_lanes

    items = iter(range(200))
    lock = threading.Lock()
    done, workers = [], set()

    def lane(stop):
        while not stop.is_set():
            with lock:
                item = next(items, None)
            if item is None:
                return
            time.sleep(0.0005)
            with lock:
                done.append(item)
                workers.add(threading.get_ident())

    run_lanes(lane, 3)
    assert sorted(done) == list(range(200))

    running = {"n": 0}

    def failing(stop):
        with lock:
            running["n"] += 1
        try:
            while not stop.is_set():
                time.sleep(0.001)
                if threading.current_thread() is threading.main_thread():
                    raise ValueError("lane broke")
        finally:
            with lock:
                running["n"] -= 1

    import pytest

    with pytest.raises(ValueError, match="lane broke"):
        run_lanes(failing, 3)
    assert running["n"] == 0  # every lane had stopped when the error surfaced


def test_run_lanes_inside_a_lane_runs_in_place():
    """A lane that itself runs lanes (on a pool thread) must not wait on the pool."""
    import threading

    from bayesgen.base.threads import run_lanes

    pairs = []
    lock = threading.Lock()

    def outer(stop):
        caller = threading.current_thread()
        for _ in range(20):

            def inner(stop, caller=caller):
                with lock:
                    pairs.append((caller, threading.current_thread()))

            run_lanes(inner, 8)

    run_lanes(outer, 8)  # returns: no pool thread waited on the pool
    main = threading.main_thread()
    from_pool = [(c, t) for c, t in pairs if c is not main]
    assert all(c is t for c, t in from_pool)  # in place on the pool thread
    assert sum(c is main for c, _ in pairs) >= 20


def test_a_caller_does_not_wait_behind_other_callers_queued_work():
    """Helpers not started when the caller's own lane is done are cancelled."""
    import threading
    import time

    from bayesgen.base.threads import run_lanes

    release = threading.Event()

    def slow(stop):
        release.wait(5)

    blocker = threading.Thread(target=run_lanes, args=(slow, 8))
    blocker.start()  # holds the whole pool until released
    time.sleep(0.2)
    start = time.perf_counter()
    run_lanes(lambda stop: None, 8)
    waited = time.perf_counter() - start
    release.set()
    blocker.join()
    assert waited < 2.0
