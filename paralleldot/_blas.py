"""No oversubscription: one BLAS thread per chunk while a split runs.

``numpy.dot`` of a long vector may start its own BLAS threads (OpenBLAS
uses every core by default). When ``k`` chunks already run at once, those
threads compete for the same cores. :func:`single_threaded_blas` limits
BLAS to one thread for as long as at least one split is running in this
process, and restores the caller's settings when the last one ends.

BLAS thread limits are global to the process: while a split runs, a
``numpy.dot`` called from another thread of the program also gets one
BLAS thread.
"""

import contextlib
import os
import threading

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller = None  # ThreadpoolController restricted to BLAS, made lazily
_active = 0  # splits running now in this process
_limiter = None  # restores the caller's limits when _active drops to 0


def _blas():
    global _controller
    if _controller is None:
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@contextlib.contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while the block runs (re-entrant, thread-safe)."""
    global _active, _limiter
    with _lock:
        if _active == 0:
            _limiter = _blas().limit(limits=1)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                limiter, _limiter = _limiter, None
                limiter.restore_original_limits()


_worker_limited = False  # True in a paralleldot worker process


def limit_worker_process():
    """Initializer of a worker process: one BLAS thread for its whole life."""
    global _worker_limited
    _blas().limit(limits=1)
    _worker_limited = True


def in_chunk():
    """Context for one chunk in a worker process: one BLAS thread.

    A paralleldot worker is limited for life already; a process of a
    caller-owned executor is limited for the chunk only and then restored.
    """
    if _worker_limited:
        return contextlib.nullcontext()
    return single_threaded_blas()


def _forget_after_fork():
    global _lock, _controller, _active, _limiter, _worker_limited
    _worker_limited = False
    _lock = threading.Lock()
    _controller = None
    _active = 0
    _limiter = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
