"""One BLAS thread per chunk in worker processes.

A process worker runs one chunk at a time, and the pool already runs one
worker per core: BLAS threads of its own would only compete for the same
cores. paralleldot's workers are limited for life
(:func:`limit_worker_process`); a process of an executor the caller owns is
limited for each chunk and then restored (:func:`in_chunk`). The thread
split leaves the caller's BLAS alone (see :mod:`paralleldot._kernels`).

:func:`single_threaded_blas` limits BLAS to one thread for as long as at
least one block using it runs in this process, and restores the previous
settings when the last one ends; BLAS thread limits are global to a
process.
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
