"""The executors that the backends share: created once, reused, closed at exit.

A pool is created on first use with as many workers as asked for, and
replaced by a larger one when a call asks for more. :func:`shutdown` closes
every pool (and anything registered with :func:`on_shutdown`); it runs at
interpreter exit too. A forked child forgets its parent's pools: their
threads and processes belong to the parent.

The process pool is a private :class:`loky.ProcessPoolExecutor`. Its workers
are fresh interpreters (fork then exec, so nothing of the caller's threads
is copied) that never run the caller's main module: scripts need no
``if __name__ == "__main__":`` guard, and ``python -``, ``python -c``,
interactive sessions and notebook kernels work. A worker that dies breaks
the pool with :class:`loky.process_executor.TerminatedWorkerError`, which
names its exit code.
"""

import atexit
import os
import select
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import loky

from . import _blas

__all__ = ["shutdown"]

_lock = threading.RLock()
_shutdown_hooks = []


def usable_cores():
    """Number of CPU cores this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _SharedPool:
    """One executor shared by every call: made on first use, grown on demand.

    ``make(size)`` builds an executor with ``size`` workers. A request for
    more workers than the current executor has replaces it; the old one
    finishes the work it was given and stops.
    """

    def __init__(self, make):
        self._make = make
        self._current = None  # (executor, size) or None

    @property
    def executor(self):
        current = self._current
        return None if current is None else current[0]

    @property
    def size(self):
        current = self._current
        return 0 if current is None else current[1]

    def get(self, size):
        """Return the executor, with at least ``size`` workers."""
        current = self._current
        if current is not None and current[1] >= size:
            return current[0]
        with _lock:
            current = self._current
            if current is None or current[1] < size:
                self._current = (self._make(size), size)
                if current is not None:
                    current[0].shutdown(wait=False)
            return self._current[0]

    def discard(self, executor):
        """Drop ``executor`` if it is the current one (it broke) and stop it.

        Returns whether it was: an executor of the caller is left alone.
        """
        with _lock:
            if self.executor is not executor:
                return False
            self._current = None
        executor.shutdown(wait=False, kill_workers=True)
        return True

    def close(self):
        """Stop the current executor, waiting for its work to end."""
        with _lock:
            current, self._current = self._current, None
        if current is not None:
            current[0].shutdown(wait=True)

    def forget(self):
        """Drop the executor without touching it (it belongs to a parent)."""
        self._current = None


#: Environment of the pool's workers, set before they import anything. BLAS
#: and OpenMP start a single thread (the pool already runs one chunk per
#: core). And loky must not take the shared vectors that a worker maps for a
#: memory leak: with psutil installed it restarts any worker whose resident
#: size grew by 300 MB (LOKY_MAX_MEMORY_LEAK_SIZE), which pages of a shared
#: vector read in place do past N = 4e7 with 2 workers.
_WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "LOKY_MAX_MEMORY_LEAK_SIZE": "1e18",
}


def _make_process_pool(size):
    # A private executor, not loky.get_reusable_executor(): that one is a
    # per-thread singleton (each calling thread would get its own pool) that
    # any other library of the process may reconfigure. timeout=None: idle
    # workers stay until shutdown(), so no call pays a respawn.
    return loky.ProcessPoolExecutor(
        max_workers=size,
        context=loky.backend.get_context("loky"),
        timeout=None,
        initializer=_init_worker,
        initargs=(os.getpid(),),
        env=_WORKER_ENV,
    )


def _init_worker(owner_pid):
    """Initializer of a pool worker process.

    BLAS gets one thread for the worker's whole life: the pool already runs
    one chunk per core (``_WORKER_ENV`` covers the libraries that read the
    environment, threadpoolctl the others). And the worker exits as soon as
    the process that owns the pool is gone: loky's workers wait for tasks
    for ever when their owner dies without shutting the pool down (killed,
    ``os._exit``; with an idle ``timeout`` they leave 30 s after it), and
    they keep loky's and multiprocessing's resource trackers alive with
    them. Before it exits, it unlinks the owner's shared vectors it had
    attached.
    """
    _blas.limit_worker_process()
    threading.Thread(
        target=_exit_when_gone, args=(owner_pid,), name="paralleldot-owner", daemon=True
    ).start()


def _exit_when_gone(pid):
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: poll instead
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):  # gone, or pid reused
                break
    else:
        select.select([fd], [], [])  # readable when the process has exited
    from . import _shm

    _shm.unlink_attached()
    os._exit(1)


_threads = _SharedPool(
    lambda size: ThreadPoolExecutor(max_workers=size, thread_name_prefix="paralleldot")
)
_processes = _SharedPool(_make_process_pool)

#: ``thread_pool(size)``: the shared thread pool, with at least ``size`` threads.
thread_pool = _threads.get
#: ``process_pool(size)``: the shared process pool, with at least ``size`` workers.
process_pool = _processes.get
#: ``discard_process_pool(executor)``: forget the shared process pool if it broke.
discard_process_pool = _processes.discard


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
    _threads.close()
    _processes.close()
    with _lock:
        hooks = list(_shutdown_hooks)
    for hook in hooks:
        hook()


def _forget_after_fork():
    """In a forked child, drop the parent's pools without touching them."""
    global _lock
    _lock = threading.RLock()
    _threads.forget()
    _processes.forget()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
