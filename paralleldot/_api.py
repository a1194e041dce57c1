"""The public entry points: validate once, choose a backend, add the partial sums.

The path of one call reads top to bottom::

    parallel_dot(a, b, workers, backend, executor)
      -> _as_vector(a), _as_vector(b)       1-D, numeric, same length; no copy
      -> workers, backend                   checked once
      -> split(n, workers)                  balanced contiguous slices
      -> backend.partial_sums(...)          one numpy.dot per slice
      -> _combine(partials)                 added in order, numpy's dtype
"""

import numpy as np

from . import _auto, _kernels, _pools
from ._pools import usable_cores
from ._split import _check_count, _split
from .backends import dask_cluster, processes, serial, threads

__all__ = ["BACKENDS", "parallel_dot", "parallel_numpy_dot"]

_RUNNERS = {
    "auto": None,  # chooses one of the others per call, see _auto
    "serial": serial.partial_sums,
    "threads": threads.partial_sums,
    "processes": processes.partial_sums,
    "dask": dask_cluster.partial_sums,
}
#: The names accepted by ``parallel_dot(..., backend=...)``.
BACKENDS = tuple(_RUNNERS)

_NUMERIC_KINDS = "biufc"
_NDARRAY = np.ndarray  # one global lookup on the hot path instead of two
_CORES = usable_cores()  # what workers=None means: the cores at import
if _kernels._native is not None:
    # backend="auto" answered in C when its choice is known (see _native.c)
    _kernels._native.configure(_CORES, _auto.FLOOR_BYTES, "serial", "inline", "native")
    # paralleldot.shutdown() ends the compiled kernel's team too
    _pools.on_shutdown(_kernels._native.stop)
    _FAST = _kernels._native.fast
else:
    _FAST = None


def _as_vector(x, name):
    """Return ``x`` as a 1-D numeric ndarray (no copy when it already is one).

    A dask array is checked the same way and returned as it is, uncomputed.
    """
    if not isinstance(x, np.ndarray):
        if dask_cluster.is_dask_array(x):  # kept lazy: only "dask" computes it
            dask_cluster.check_known_length(x, name)
        else:
            try:
                x = np.asarray(x)
            except Exception as exc:
                raise TypeError(
                    f"{name} must be a 1-D array-like of numbers, got an object "
                    f"of type {type(x).__name__} that numpy cannot convert: {exc}"
                ) from exc
    if x.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{name} must have a numeric dtype (bool, integer, unsigned, "
            f"float or complex), got dtype {x.dtype}"
        )
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D vector, got an array with {x.ndim} "
            f"dimension(s) and shape {x.shape}"
        )
    return x


def _combine(partials):
    """Add the partial sums in order, in their dtype (as numpy.dot would).

    The sum runs on an array so that integers wrap exactly like
    ``numpy.dot`` (modulo 2**bits, without scalar overflow warnings) and
    booleans stay booleans. ``numpy.dot`` warns about nothing: partial sums
    of ``inf`` and ``-inf`` give ``nan`` and finite ones may overflow to
    ``inf`` here without a ``RuntimeWarning`` either.
    """
    if len(partials) == 1:
        return partials[0]
    values = np.array(partials)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.add.reduce(values, dtype=values.dtype)


def parallel_dot(a, b, workers=None, backend="auto", executor=None, client=None):
    """Dot product of two vectors, split into chunks run in parallel.

    The vectors are cut into ``workers`` contiguous, balanced slices
    (:func:`split`); ``numpy.dot`` runs on each slice and the partial sums
    are added in order.

    Parameters
    ----------
    a, b : array_like or dask.array.Array, shape (n,)
        Vectors of equal length with a numeric dtype (bool, integer,
        unsigned, float or complex). Any array-like numpy accepts, strided
        views included; ndarrays are never copied by the thread backend.
        Dask arrays are never computed in this process: they need
        ``backend="dask"`` (or ``"auto"``, which then means ``"dask"``);
        any other backend raises ``TypeError`` rather than load a vector
        that may not fit in memory.
    workers : int, optional
        Number of chunks run at once, ``>= 1``. Default: the number of
        cores this process may use. More workers than elements gives one
        element per chunk.
    backend : {"auto", "serial", "threads", "processes", "dask"}, default "auto"
        ``"auto"`` picks the fastest way this machine computes this dot
        product: ``numpy.dot``, the chunk kernel on the calling thread
        (integers and booleans, where ``numpy.einsum`` beats numpy's loop)
        or the thread split. It measures them on the caller's vectors, per
        class of calls (dtypes, size rounded to a power of two, workers),
        and measures again now and then at a bounded cost (see
        :mod:`paralleldot._auto`); below 64 KiB it is always
        ``numpy.dot``. ``"serial"`` is plain ``numpy.dot``; ``"threads"``
        runs the chunks (``numpy.dot`` or ``numpy.einsum`` per chunk,
        whichever is faster for the dtype, see
        :mod:`paralleldot._kernels`)
        on a thread pool; ``"processes"`` on a process pool (loky: no
        ``if __name__ == "__main__":`` guard needed) whose workers
        read the vectors from shared memory (:func:`shared_empty` vectors
        in place, other arrays copied into shared memory once per call) and
        return only their partial sums. Pools are created once and reused
        until :func:`shutdown`. ``"dask"`` runs the chunks on a Dask
        cluster (needs ``pip install 'paralleldot[dask]'``): ``client`` if
        given, else the scheduler named by the environment variable
        ``PARALLELDOT_DASK_SCHEDULER``, else an embedded
        ``distributed.LocalCluster`` on 127.0.0.1 with one worker process
        per worker, started on first use and closed by :func:`shutdown`.
        numpy vectors are scattered in chunks, one per worker, once per
        call; dask arrays get one partial dot per block where the blocks
        are. Only partial sums come back. See
        :mod:`paralleldot.backends.dask_cluster`.
    executor : concurrent.futures.Executor, optional
        An executor owned by the caller: the chunks are submitted to it
        instead of a paralleldot pool (``backend`` is then ignored), and it
        is not shut down. A
        ``concurrent.futures.ProcessPoolExecutor`` or a
        ``loky.ProcessPoolExecutor`` (``loky.get_reusable_executor()``) reads
        the vectors from shared memory like ``"processes"``; any other
        executor gets one ``numpy.dot`` call per chunk, as threads do.
    client : distributed.Client, optional
        A synchronous Dask client owned by the caller: the chunks run on its
        cluster (``backend`` must then be ``"dask"`` or ``"auto"``), and it
        is not closed. Overrides ``PARALLELDOT_DASK_SCHEDULER``.

    Returns
    -------
    numpy scalar
        Equal to ``numpy.dot(a, b)``: same result dtype (numpy's type
        promotion), integers exactly, complex values without conjugation,
        NaN and inf as numpy gives them. Floats differ only by the rounding
        of a different summation order, bounded by ``2 * n * eps *
        sum(abs(a * b))``; in practice a few ulps of that sum.

    Raises
    ------
    ValueError
        If a vector is not 1-D, the lengths differ, ``workers < 1``, the
        backend is unknown, or ``client`` is given with another backend
        than ``"dask"``/``"auto"`` or with ``executor``.
    TypeError
        If a dtype is not numeric, ``workers`` is not an integer, or a dask
        array is given to another backend than ``"dask"``/``"auto"``.
    ImportError
        If ``backend="dask"`` and dask.distributed is not installed.

    See Also
    --------
    numpy.dot, split

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(10.0)
    >>> float(parallel_dot(a, a, workers=3))
    285.0
    """
    if backend == "auto" and executor is None and client is None and _FAST is not None:
        # Compiled: two contiguous vectors of one dtype the C kernel computes,
        # below the floor or in a class whose choice is known.
        result = _FAST(a, b, workers, _auto._states)
        if result is not None:
            return result
    if (
        backend == "auto"
        and executor is None
        and client is None
        and type(a) is _NDARRAY
        and type(b) is _NDARRAY
        and a.ndim == 1
        and a.shape == b.shape
        and a.dtype.kind in _NUMERIC_KINDS
        and b.dtype.kind in _NUMERIC_KINDS
    ):
        # The common call, checked in one expression: "auto" on two valid
        # vectors. Where numpy.dot is the choice (small vectors, a class
        # measured fastest serial), nothing else runs: dispatch costs a few
        # hundred nanoseconds.
        if workers is None:
            k = _CORES
        elif type(workers) is int and workers > 0:
            k = workers
        else:
            k = _check_count(workers, "workers", 1)
        nbytes = a.nbytes + b.nbytes
        if nbytes < _auto.FLOOR_BYTES:
            return np.dot(a, b)
        state = _auto._states.get((a.dtype.num, b.dtype.num, nbytes.bit_length(), k))
        if state is not None and state[0] == "serial" and state[1] > 0:
            state[1] -= 1
            return np.dot(a, b)
    a = _as_vector(a, "a")
    b = _as_vector(b, "b")
    n = a.shape[0]
    if b.shape[0] != n:
        raise ValueError(
            f"a and b must have the same length, got {n} and {b.shape[0]}"
        )
    workers = _CORES if workers is None else _check_count(workers, "workers", 1)
    if backend not in _RUNNERS:
        raise ValueError(
            f"backend must be one of {', '.join(map(repr, BACKENDS))}; "
            f"got {backend!r}"
        )
    if client is not None or not (
        isinstance(a, _NDARRAY) and isinstance(b, _NDARRAY)
    ):  # dask arrays (kept lazy by _as_vector) or a caller's Dask client
        return _on_dask(a, b, workers, backend, executor, client)
    if backend == "auto" and executor is None:
        return _auto_dot(a, b, workers)
    if n == 0:
        return np.dot(a, b)
    slices = _split(n, workers)
    if executor is not None:
        if processes.is_process_executor(executor):
            return _combine(processes.run_on(executor, a, b, slices))
        return _combine(threads.run_on(executor, a, b, slices))
    return _combine(_RUNNERS[backend](a, b, slices, workers))


def _auto_dot(a, b, workers):
    """``backend="auto"`` on two validated ndarrays (see :mod:`paralleldot._auto`)."""
    nbytes = a.nbytes + b.nbytes
    if nbytes < _auto.FLOOR_BYTES:
        return np.dot(a, b)
    class_key = _auto.key(a, b, nbytes, workers)
    choice = _auto.lookup(class_key)
    if choice == "serial":
        return np.dot(a, b)
    if choice == "inline":
        return _kernels.serial_alternative(a, b)(a, b)
    if choice == "native":
        return _kernels.native_dot(a, b, workers)
    if choice == "threads":
        return _combine(threads.partial_sums(a, b, _split(a.shape[0], workers), workers))
    candidates = {"serial": lambda: np.dot(a, b)}
    alternative = _kernels.serial_alternative(a, b)
    if alternative is not None:
        candidates["inline"] = lambda: alternative(a, b)
    if workers > 1 and _kernels.has_native(a, b):
        candidates["native"] = lambda: _kernels.native_dot(a, b, workers)
    elif workers > 1:  # the split only where the compiled team cannot run: it always loses to it
        slices = _split(a.shape[0], workers)
        candidates["threads"] = lambda: _combine(threads.partial_sums(a, b, slices, workers))
    redraw = _kernels._native.stop if "native" in candidates else None
    return _auto.decide(class_key, candidates, redraw)


def _on_dask(a, b, workers, backend, executor, client):
    """Dask arrays or a caller's ``client``: only for the "dask" backend."""
    if backend not in ("dask", "auto") or executor is not None:
        given = f"backend={backend!r}" if executor is None else "executor="
        if client is not None:
            raise ValueError(
                f"client= runs the chunks on Dask: it needs backend='dask' "
                f"or 'auto' and no executor, got {given}"
            )
        raise TypeError(
            f"dask arrays are computed only by backend='dask' (or 'auto'), "
            f"got {given}; pass numpy.asarray(x) to compute one here"
        )
    if a.shape[0] == 0:
        return np.dot(np.empty(0, a.dtype), np.empty(0, b.dtype))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        slices = _split(a.shape[0], workers)
        return _combine(dask_cluster.partial_sums(a, b, slices, workers, client))
    return _combine(dask_cluster.lazy_partial_sums(a, b, workers, client))


def parallel_numpy_dot(va, vb, max_workers=2):
    """Drop-in for the original example's function, for any worker count.

    Same name, arguments and result as the example's
    ``parallel_numpy_dot``: the futures split on threads. Unlike it, the
    thread pool is created once and reused, and every ``max_workers >= 1``
    works (the example accepted only 2 and 3).

    Parameters
    ----------
    va, vb : array_like, shape (n,)
        Vectors of equal length with a numeric dtype.
    max_workers : int, default 2
        Number of chunks run at once, ``>= 1``.

    Returns
    -------
    numpy scalar
        ``numpy.dot(va, vb)``, see :func:`parallel_dot`.
    """
    max_workers = _check_count(max_workers, "max_workers", 1)
    return parallel_dot(va, vb, workers=max_workers, backend="threads")
