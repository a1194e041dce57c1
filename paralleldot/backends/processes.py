"""The futures split on a process pool that reads the vectors in shared memory.

The vectors never travel through pickling: each task carries only a
:class:`paralleldot._shm.Descriptor` of each vector and a slice, the worker
attaches to the segment by name, runs ``numpy.dot`` on its slice and sends
back one scalar. Vectors made by :func:`paralleldot.shared_empty` are read in
place; other arrays are copied into a temporary segment for the call, which
is unlinked before the call returns, whatever happens.

Tasks and results travel as builtins only (tuples, str, int, bytes): loky
pickles them with cloudpickle, whose per-object hooks cost tens of
microseconds per call on numpy scalars, dtypes and named tuples.
"""

import contextlib
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import loky
import numpy as np

from .. import _blas, _kernels, _pools, _shm

#: Executors whose workers are processes: they read the vectors in shared memory.
PROCESS_EXECUTORS = (ProcessPoolExecutor, loky.ProcessPoolExecutor)


def is_process_executor(executor):
    """Whether ``executor`` runs its tasks in other processes (stdlib or loky)."""
    return isinstance(executor, PROCESS_EXECUTORS)


def partial_sums(a, b, slices, workers):
    """Return ``[numpy.dot(a[s], b[s]) for s in slices]``, computed in processes."""
    return run_on(_pools.process_pool(len(slices)), a, b, slices)


def run_on(executor, a, b, slices):
    """Run one chunk per slice on the process pool ``executor``.

    ``executor`` is the shared pool or a caller's process executor
    (:class:`concurrent.futures.ProcessPoolExecutor` or
    :class:`loky.ProcessPoolExecutor`, see :func:`is_process_executor`). An
    exception raised in a worker reaches the caller as itself. A worker that
    dies (killed by a signal, out of memory) breaks the pool: the shared pool
    is then discarded, so that the next call starts a fresh one, and
    :class:`~concurrent.futures.process.BrokenProcessPool` is raised with
    the cause that the executor reported (loky names the exit code).
    """
    with contextlib.ExitStack() as temporaries:
        da = _describe(a, temporaries)
        db = da if b is a else _describe(b, temporaries)
        live = _shm.live_names()
        futures = []
        try:
            for s in slices:
                futures.append(
                    executor.submit(_chunk_dot, da, db, s.start, s.stop, live)
                )
            return [_unpack(f.result()) for f in futures]
        except BrokenProcessPool as exc:
            if _pools.discard_process_pool(executor):
                then = "the process pool was discarded and the next call starts a fresh one"
            else:
                then = "the executor passed as executor= is broken: replace it"
            raise BrokenProcessPool(
                f"a worker process died during parallel_dot ({_cause(exc)}); {then}"
            ) from exc
        finally:
            # No worker may still read a temporary segment once it is gone.
            wait(futures)


def _cause(exc):
    """What a broken pool reported: loky's message names the exit codes."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    codes = [line for line in lines if line.startswith("The exit codes")]
    return (codes or lines or ["killed by a signal or out of memory?"])[0].rstrip(".")


def _describe(x, temporaries):
    """The descriptor of ``x`` as a plain tuple, for a task."""
    descriptor, holder = _shm.describe(x)
    if holder is not None:
        temporaries.callback(_shm.unlink_now, holder)
    return tuple(descriptor)


def _chunk_dot(da, db, start, stop, live):
    """In a worker: ``numpy.dot`` of one slice of two shared vectors.

    Integer and boolean slices run ``numpy.einsum``, vectorised where
    ``numpy.dot`` is not (see :mod:`paralleldot._kernels`); BLAS dtypes
    ``numpy.dot`` with the worker's one BLAS thread. ``da`` and ``db`` are :class:`~paralleldot._shm.Descriptor` tuples,
    ``live`` the names of the caller's live shared vectors. Returns the
    partial sum packed as ``(dtype.str, bytes)``, see :func:`_unpack`.
    """
    _shm.forget_except(live)
    with contextlib.ExitStack() as attachments:
        x = _attach(da, attachments)
        y = _attach(db, attachments)
        dot = _kernels.serial_alternative(x, y) or np.dot
        with _blas.in_chunk():
            result = dot(x[start:stop], y[start:stop])
        del x, y  # release the buffers before a temporary segment closes
    return _pack(result)


def _pack(scalar):
    """``(dtype.str, bytes)`` of a numpy scalar: builtins, cheap to pickle."""
    scalar = np.asarray(scalar)
    return scalar.dtype.str, scalar.tobytes()


def _unpack(packed):
    """The numpy scalar that :func:`_pack` packed (same dtype, same bits)."""
    code, raw = packed
    return np.frombuffer(raw, dtype=code)[0]


def _attach(descriptor, attachments):
    descriptor = _shm.Descriptor._make(descriptor)
    vector, shm = _shm.attach(descriptor)
    if not descriptor.persistent:
        attachments.callback(shm.close)
    return vector
