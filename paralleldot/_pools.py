"""The executors that the backends share: created once, reused, closed at exit.

A pool is created on first use with as many workers as asked for, and
replaced by a larger one when a call asks for more. :func:`shutdown` closes
every pool (and anything registered with :func:`on_shutdown`); it runs at
interpreter exit too. A forked child forgets its parent's pools: their
threads and processes belong to the parent.
"""

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from . import _blas

__all__ = ["shutdown"]

_lock = threading.RLock()
_thread_pool = None  # (executor, size) or None
_process_pool = None  # (executor, size) or None
_shutdown_hooks = []


def usable_cores():
    """Number of CPU cores this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def thread_pool(size):
    """Return the shared thread pool, with at least ``size`` threads."""
    global _thread_pool
    current = _thread_pool
    if current is not None and current[1] >= size:
        return current[0]
    with _lock:
        current = _thread_pool
        if current is None or current[1] < size:
            executor = ThreadPoolExecutor(
                max_workers=size, thread_name_prefix="paralleldot"
            )
            _thread_pool = (executor, size)
            if current is not None:
                current[0].shutdown(wait=False)
        return _thread_pool[0]


def _start_method():
    # forkserver: workers start from a clean single-threaded server, not
    # from this process with its pool and BLAS threads (which fork would
    # copy mid-flight). Like spawn, it re-imports the main module: scripts
    # need an ``if __name__ == "__main__":`` guard.
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def process_pool(size):
    """Return the shared process pool, with at least ``size`` workers.

    Each worker limits BLAS to one thread for its whole life: the pool
    already runs one chunk per core.
    """
    global _process_pool
    current = _process_pool
    if current is not None and current[1] >= size:
        return current[0]
    with _lock:
        current = _process_pool
        if current is None or current[1] < size:
            executor = ProcessPoolExecutor(
                max_workers=size,
                mp_context=multiprocessing.get_context(_start_method()),
                initializer=_blas.limit_worker_process,
            )
            _process_pool = (executor, size)
            if current is not None:
                current[0].shutdown(wait=False)
        return _process_pool[0]


def discard_process_pool(executor):
    """Forget ``executor`` if it is the shared process pool (it broke)."""
    global _process_pool
    with _lock:
        if _process_pool is not None and _process_pool[0] is executor:
            _process_pool = None
        else:
            return
    executor.shutdown(wait=False, cancel_futures=True)


def on_shutdown(hook):
    """Register ``hook()`` to be called by :func:`shutdown`."""
    with _lock:
        if hook not in _shutdown_hooks:
            _shutdown_hooks.append(hook)


def shutdown():
    """Stop the pooled workers of every backend.

    Pools are otherwise created once, reused across calls and closed at
    interpreter exit; call this to release their threads, processes and
    memory earlier. The next call that needs a pool starts a fresh one.
    Calling it when nothing runs is harmless.
    """
    global _thread_pool, _process_pool
    with _lock:
        pools = [_thread_pool, _process_pool]
        _thread_pool = _process_pool = None
        hooks = list(_shutdown_hooks)
    for pool in pools:
        if pool is not None:
            pool[0].shutdown(wait=True)
    for hook in hooks:
        hook()


def _forget_after_fork():
    """In a forked child, drop the parent's pools without touching them."""
    global _thread_pool, _process_pool, _lock
    _lock = threading.RLock()
    _thread_pool = _process_pool = None


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
