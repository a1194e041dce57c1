"""The futures split on a Dask cluster (``backend="dask"``).

Which cluster
-------------
In this order:

1. the ``client=`` given to :func:`paralleldot.parallel_dot` (a
   synchronous ``distributed.Client``; it is used, never closed);
2. the scheduler named by the environment variable
   ``PARALLELDOT_DASK_SCHEDULER`` (for example ``tcp://10.0.0.5:8786``),
   read at every call; one client per address is connected on first use
   and reused, and :func:`paralleldot.shutdown` closes it (not the
   cluster);
3. otherwise an embedded ``distributed.LocalCluster``: worker processes
   with one thread each, every socket on 127.0.0.1, no dashboard. It starts
   on the first call with as many workers as that call asks for, is reused
   by the next calls, grows when a call asks for more workers, and
   :func:`paralleldot.shutdown` (or the end of the interpreter) closes it.
   Its workers are started with ``spawn``: a script that calls
   ``parallel_dot(..., backend="dask")`` needs an ``if __name__ ==
   "__main__":`` guard.

None of these becomes the default scheduler of the caller's own dask code
(``set_as_default=False``).

What travels
------------
*numpy vectors*: the chunk pairs ``(a[s], b[s])`` are scattered once per
call, straight to the workers, round robin: each worker receives only its
own chunks. One ``numpy.dot`` per pair runs where the pair is and only the
partial sums come back. The task is a function of this module, so the
workers need paralleldot installed, like any dask code needs the caller's
packages on its workers. It aligns a chunk that arrives misaligned: dask
deserializes arrays into message buffers at any byte offset, and
``numpy.dot`` of a misaligned float64 array skips BLAS (measured 10-100
times slower).

*dask arrays* (either vector, or both): nothing is computed in the caller.
Both vectors are brought to common chunks (``dask.array.core.unify_chunks``:
no data moves when their chunks already agree), one ``numpy.dot`` runs per
pair of blocks on the cluster, wherever the scheduler has or makes the
blocks, and only the partial sums come back. A numpy vector paired with a
dask array travels with the graph. For these inputs ``workers`` only sizes
the embedded cluster: the blocks are the chunks.

The partial sums are added in order by the caller (numpy's dtype rules).

Workers that die
----------------
A task whose inputs can be recomputed (dask arrays) is rerun by dask on
another worker. Scattered chunks cannot be recomputed: when the worker
holding one dies, dask cancels the chunk's dot at once, and the call
scatters its chunks again to the workers still alive and runs once more. A
second loss raises :class:`RuntimeError`. A cluster left with no worker at
all makes the scatter fail after the client's connect timeout
(``distributed.comm.timeouts.connect``) instead of waiting for ever; a dask
array computation, like any dask computation, waits for workers to come
back.
"""

import os
import threading
from concurrent.futures import CancelledError

import numpy as np

from .. import _pools

__all__ = ["SCHEDULER_ENV", "is_dask_array", "partial_sums", "lazy_partial_sums"]

#: Environment variable naming the scheduler of an existing Dask cluster.
SCHEDULER_ENV = "PARALLELDOT_DASK_SCHEDULER"
#: What ``pip install`` needs for this backend.
INSTALL_HINT = "pip install 'paralleldot[dask]'"

#: Runs of the numpy split: the first, and one more after a lost worker.
_ATTEMPTS = 2
#: Seconds to wait for the workers of a new or grown embedded cluster.
_START_TIMEOUT = 120

_lock = threading.Lock()
_embedded = None  # (LocalCluster, Client) or None
_connected = {}  # scheduler address -> Client, from SCHEDULER_ENV


# --- inputs -----------------------------------------------------------------


def is_dask_array(x):
    """True if ``x`` is a ``dask.array.Array`` (never imports dask)."""
    import sys

    module = sys.modules.get("dask.array")
    return module is not None and isinstance(x, module.Array)


def check_known_length(x, name):
    """Raise unless the dask array ``x`` has a known length along axis 0."""
    if x.ndim >= 1 and x.shape[0] != x.shape[0]:  # NaN: unknown chunk sizes
        raise ValueError(
            f"{name} must have a known length, got a dask array with unknown "
            f"chunk sizes (shape {x.shape}); call {name}.compute_chunk_sizes() "
            f"first"
        )


# --- the cluster ------------------------------------------------------------


def _import_distributed():
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"backend='dask' needs dask and distributed, which are not "
            f"installed: {INSTALL_HINT} (got {type(exc).__name__}: {exc})"
        ) from exc
    return distributed


def client_for(workers, client=None):
    """Return the ``distributed.Client`` a call runs on (see the module doc).

    ``workers`` is the number of worker processes the embedded cluster must
    have; it is not used with ``client`` or ``PARALLELDOT_DASK_SCHEDULER``.
    """
    distributed = _import_distributed()
    if client is not None:
        return _checked(client, distributed)
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if address:
        return _connect(address, distributed)
    return _embedded_client(workers, distributed)


def _checked(client, distributed):
    if not isinstance(client, distributed.Client):
        raise TypeError(
            f"client must be a distributed.Client, got an object of type "
            f"{type(client).__name__}"
        )
    if client.asynchronous:
        raise TypeError(
            "client must be a synchronous distributed.Client, got one "
            "created with asynchronous=True"
        )
    if client.status != "running":
        raise ValueError(
            f"client must be connected to a scheduler, got a client with "
            f"status {client.status!r}"
        )
    return client


def _connect(address, distributed):
    with _lock:
        client = _connected.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            client = distributed.Client(address, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise OSError(
                f"cannot connect to the Dask scheduler {SCHEDULER_ENV}="
                f"{address!r}: {exc}"
            ) from exc
        _connected[address] = client
        _pools.on_shutdown(close)
        return client


def _embedded_client(workers, distributed):
    global _embedded
    current = _embedded
    if current is not None and len(current[0].workers) >= workers:
        return current[1]
    with _lock:
        if _embedded is None:
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # No dashboard; the scheduler's HTTP server (health,
                # metrics) on a free port of 127.0.0.1, not on 8787.
                dashboard_address=None,
                worker_dashboard_address=None,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
            try:
                client = distributed.Client(cluster, set_as_default=False)
            except BaseException:
                cluster.close()
                raise
            _embedded = (cluster, client)
            _pools.on_shutdown(close)
        cluster, client = _embedded
        if len(cluster.workers) < workers:
            cluster.scale(workers)
            client.wait_for_workers(workers, timeout=_START_TIMEOUT)
        return client


def embedded_cluster():
    """The embedded ``LocalCluster``, or None when none is running."""
    current = _embedded
    return None if current is None else current[0]


def close():
    """Close the embedded cluster and the clients of ``PARALLELDOT_DASK_SCHEDULER``.

    Registered with :func:`paralleldot._pools.on_shutdown`: called by
    :func:`paralleldot.shutdown` and at interpreter exit. A caller's
    ``client=`` is never closed.
    """
    global _embedded
    with _lock:
        embedded, _embedded = _embedded, None
        connected = list(_connected.values())
        _connected.clear()
    for client in connected:
        _quietly(client.close)
    if embedded is not None:
        cluster, client = embedded
        _quietly(client.close)
        _quietly(cluster.close)


def _quietly(close_it):
    # At interpreter exit distributed may have closed these already.
    try:
        close_it()
    except Exception:  # pragma: no cover - depends on shutdown order
        pass


def _forget_after_fork():
    """In a forked child, drop the parent's cluster and clients untouched."""
    global _embedded, _lock
    _lock = threading.Lock()
    _embedded = None
    _connected.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


# --- the split --------------------------------------------------------------


def _aligned_dot(x, y):
    """In a worker: ``numpy.dot(x, y)``, copying a misaligned chunk first."""
    return np.dot(np.require(x, requirements="A"), np.require(y, requirements="A"))


def _pair_dot(pair):
    """In a worker: :func:`_aligned_dot` of one scattered ``(a[s], b[s])`` pair."""
    return _aligned_dot(*pair)


def partial_sums(a, b, slices, workers, client=None):
    """Return ``[numpy.dot(a[s], b[s]) for s in slices]``, computed on Dask workers.

    ``a`` and ``b`` are numpy vectors; the pairs of chunks are scattered to
    the workers (each worker gets only its own) and only the partial sums
    come back. See the module doc for lost workers.
    """
    client = client_for(len(slices), client)
    pairs = [(a[s], b[s]) for s in slices]
    for attempt in range(_ATTEMPTS):
        try:
            return _run_pairs(client, pairs)
        except CancelledError as exc:
            # A worker holding scattered chunks died: they cannot be rebuilt.
            lost = exc
    raise RuntimeError(
        f"Dask workers died during parallel_dot and took scattered chunks "
        f"with them, {_ATTEMPTS} times in a row; got {type(lost).__name__}: "
        f"{lost}"
    ) from lost


def _run_pairs(client, pairs):
    futures = []
    try:
        scattered = client.scatter(pairs, direct=True, hash=False)
        futures.extend(scattered)
        results = client.map(_pair_dot, scattered, pure=False)
        futures.extend(results)
        return client.gather(results)
    finally:
        _release(futures)


def _release(futures):
    """Let the cluster forget ``futures`` now, even if a traceback keeps them.

    Released, not cancelled: a cancel still in flight would also cancel a
    later call's task of the same key.
    """
    for future in futures:
        future.release()


def lazy_partial_sums(a, b, workers, client=None):
    """Return one ``numpy.dot`` per pair of blocks of ``a`` and ``b``, in order.

    At least one of ``a`` and ``b`` is a dask array, the other a dask array
    or a numpy vector of the same length (checked by the caller). Nothing is
    computed in this process but the partial sums.
    """
    client = client_for(workers, client)
    import dask
    import dask.array as da

    if not is_dask_array(a):
        a = da.from_array(a, chunks=b.chunks, name=False)
    if not is_dask_array(b):
        b = da.from_array(b, chunks=a.chunks, name=False)
    _, (a, b) = da.core.unify_chunks(a, "i", b, "i")
    dot = dask.delayed(_aligned_dot, pure=False)  # a new key per call
    parts = [dot(x, y) for x, y in zip(a.to_delayed(), b.to_delayed())]
    futures = client.compute(parts)
    try:
        return client.gather(futures)
    finally:
        _release(futures)
