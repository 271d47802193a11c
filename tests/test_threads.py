"""BLAS thread limit for loops of small matrix operations."""

from threadpoolctl import threadpool_info, threadpool_limits

from bayesgen._threads import one_blas_thread


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_limits_inside_and_restores_after():
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with one_blas_thread():
            assert all(n == 1 for n in _blas_threads())
        assert _blas_threads() == before
