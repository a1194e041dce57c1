"""Scale-out measurement: dask clusters, the dask split against threads and numpy.dot, the model's inputs.

This module measures; ``bench_dask.py`` holds the asv classes that report
what it measured (one shared ``setup_cache``), and ``python -m benchtools
scaleout direct`` calls it without asv. It defines no benchmark.

Two kinds of input:

- *numpy vectors* (``Dask``, seconds per call): what a numpy user passes;
  every call scatters the chunks to the workers (``16 N`` bytes through
  local TCP) and gathers the partial sums.
- *dask arrays already on the cluster* (``DaskArrays``): the vectors are
  persisted in ``workers`` chunks before timing, as data larger than one
  machine would be; a call sends one small graph and gathers the partial
  sums. This is the case the backend is for.

The cluster is a ``distributed.LocalCluster`` like the backend's embedded
one (``workers`` worker processes with one thread each, everything on
127.0.0.1, no dashboard), passed with ``client=``.

The ratios (:func:`measure_ratios`) time dask and its reference side by side in one process
(best of interleaved samples, as :func:`common.speedup`) and return
``time(reference) / time(dask)``: above 1 dask is faster; ``Dask`` and
``DaskArrays`` report dask's best time per call of the same measurement.

Environments without dask, and commits without the dask backend, skip
these (``NotImplementedError`` in ``setup``).

Cost: one cluster per commit and environment
--------------------------------------------
asv runs every parameter set in its own process, and a process that uses
dask starts a cluster (about 1.5 s here, plus 0.5 s to import dask and
0.3 s to close it); asv ends its benchmark processes with ``os._exit``, so
a cluster started there is never closed and its worker processes run on
into the next benchmarks. So:

- the timed and ratio classes take their parameters from the profile's
  grid (``N`` x ``workers``) but, unless
  ``PARALLELDOT_BENCH_DASK_GRID=full`` is exported, only ``workers = 2``
  (this machine's cores) and the sizes 1e7 and 1e8 that the profile
  selects (1e7 in ``default``; a profile with none of them, ``quick``,
  runs its largest size up to 1e7): the *lean grid*
  (:data:`GRID_PARAMS`). Nothing is skipped;
- every class (the ratios, ``Dask``, ``DaskArrays`` and the ``Model*``
  classes below) shares one ``setup_cache`` (:class:`_Measured`): one
  process, one cluster per ``workers``, closed at its end, measures the
  model's inputs and every ratio and time of the grid; the classes only
  report them, each parameter set in a light process;
- everything runs one round (``rounds = 1``).

Quiet machine, 2 cores (2026-11-26): the whole module takes about 13 s of
``asv run`` per commit and environment in the ``quick`` profile, 21 s in
``default``, 6 s at a commit without the dask backend.

The scale-out model's inputs
----------------------------
The ``Model*`` classes report what decides when K machines beat one
(``python -m benchtools scaleout`` turns them into a crossover table; the model, its
assumptions and its inputs measured on this machine are in
``docs/scaleout.md``). All are measured in one process
(:func:`measure_model_inputs`), on one cluster of ``MODEL_WORKERS``
workers:

- ``ModelFixedCost.track_fixed_cost``: seconds of one isolated call on tiny
  data, ``chunks`` = 1 or 8 block pairs, either already on the cluster (a
  ``numpy.dot`` per block pair held by the workers, gather, release) or
  scattered in the call (scatter the pairs, ``numpy.dot`` per pair, gather,
  release: what the backend does for numpy vectors);
- ``ModelTransfer.track_cost_per_byte``: ns per byte of scattering a chunk
  to a worker, the slope between an 8 MB and an 80 MB chunk;
- ``ModelBandwidth.track_bandwidth``: GB/s of ``numpy.dot`` on one dask
  worker with one thread (timed inside the worker) and of the threads
  split on all cores of this machine, measured side by side;
- ``ModelThreadsFixedCost.track_threads_fixed_cost``: seconds of the
  threads split on tiny vectors (the one-machine reference's own fixed
  cost).

They call dask itself (``Client.scatter``, ``Client.map`` with
``numpy.dot``), not paralleldot's dask backend: they need dask, not the
backend, so their history goes back to the first commits. Only the threads
reference needs ``backend="threads"``; without dask, it is measured alone.

Isolated calls: the dask client sends its messages to the scheduler at
most once per 10 ms (``BatchedSend(interval="10ms")`` in
``distributed/client.py``), so tiny calls made back to back are throttled
to about one per 10 ms whatever their latency. A call that lasts longer
than that (every call near a crossover) does not wait for it; the fixed
costs are therefore timed on isolated calls, each after ``PAUSE`` seconds
idle (untimed), best of ``MODEL_SAMPLES``.
"""

import atexit
import importlib.util
import os
import time
import timeit

import numpy as np

import paralleldot

from . import common

#: Interleaved samples per function in the track_ ratios: a call that
#: scatters 1.6 GB (N = 1e8) lasts seconds.
SAMPLES = 7

#: Environment variable: ``full`` runs the dask split benchmarks on the whole grid.
GRID_ENV = "PARALLELDOT_BENCH_DASK_GRID"
#: Sizes and workers of the lean grid (see the module doc).
LEAN_SIZES = (10**7, 10**8)
LEAN_WORKERS = (2,)
#: Largest size a profile without any of LEAN_SIZES falls back to.
LEAN_FALLBACK_MAX = 10**7

_clusters = {}  # workers -> (LocalCluster, Client), one per process
_persisted = {}  # (N, workers) -> (x, y) dask arrays held by the cluster


# --- skips and the grid ---------------------------------------------------------


def require_distributed():
    """Skip unless dask and distributed are installed (paralleldot's version does not matter).

    Looks the packages up without importing them: a skipped parameter set
    does not pay for importing dask.
    """
    for name in ("dask", "distributed"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise NotImplementedError(f"dask is not installed here: no module named {name!r}")


def require_dask():
    """Skip unless dask.distributed is installed and the backend exists."""
    common.require_backend("dask")
    require_distributed()


def _in_profile(n):
    try:
        common.require_size(n)
    except NotImplementedError:
        return False
    return True


def full_grid():
    """True when ``PARALLELDOT_BENCH_DASK_GRID=full`` (``lean`` or unset: False)."""
    grid = os.environ.get(GRID_ENV, "").strip().lower()
    if grid not in ("", "lean", "full"):
        raise ValueError(f"{GRID_ENV} must be 'lean' or 'full', got {grid!r}")
    return grid == "full"


def lean_sizes(sizes=None):
    """The sizes of the lean grid in the selected profile.

    ``sizes`` is the parameter grid (default: the suite's). Returns the
    sizes of :data:`LEAN_SIZES` that the profile runs or, when there is none,
    the profile's largest size up to :data:`LEAN_FALLBACK_MAX` (so that
    every benchmark has a value in every profile).
    """
    sizes = list(common.Benchmark.params[0] if sizes is None else sizes)
    chosen = [n for n in sizes if n in LEAN_SIZES and _in_profile(n)]
    if not chosen:
        fallback = [n for n in sizes if n <= LEAN_FALLBACK_MAX and _in_profile(n)]
        chosen = fallback[-1:]
    return chosen


def grid_points():
    """``(N, workers)`` pairs the dask split benchmarks run (profile, lean or full grid)."""
    sizes, workers = common.Benchmark.params[0], common.Benchmark.params[1]
    if full_grid():
        return [(n, w) for n in sizes if _in_profile(n) for w in workers]
    return [(n, w) for n in lean_sizes(sizes) for w in workers if w in LEAN_WORKERS]


def require_grid(n, workers):
    """Skip ``(N, workers)`` outside the profile or the lean grid (see the module doc)."""
    common.require_size(n)
    if (n, workers) not in grid_points():
        raise NotImplementedError(
            f"N={n}, workers={workers} is outside the lean dask grid "
            f"{grid_points()}; {GRID_ENV}=full runs it"
        )


# --- the cluster ----------------------------------------------------------------


def client(workers):
    """A client of a LocalCluster with ``workers`` worker processes (cached)."""
    if workers not in _clusters:
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )
        _clusters[workers] = (cluster, distributed.Client(cluster, set_as_default=False))
    return _clusters[workers][1]


@atexit.register
def close_clusters():
    """Close the clusters of this process (at exit; tests call it earlier)."""
    _persisted.clear()
    while _clusters:
        _, (cluster, c) = _clusters.popitem()
        c.close()
        cluster.close()


def persisted_vectors(n, workers, c=None):
    """:func:`common.vectors` as dask arrays in ``workers`` chunks held by the workers.

    Chunk ``i`` of both vectors is scattered to worker ``i % workers of the
    cluster`` (the cluster of ``c``, default :func:`client` ``(workers)``) and copied
    there once (``numpy.copy``): blocks computed on the workers, as the
    blocks of a real dask array are, start aligned, whereas scattered arrays
    land at any byte offset. No copy of the vectors stays in the graph or on
    the scheduler. The arrays are persisted (``Client.persist``), so their
    graphs hold one key per block, like the arrays a user persists (dask
    handles a graph of ``from_delayed`` and ``concatenate`` layers at every
    call: measured 2.5 times slower at 8 blocks). The copies finish during
    the first (warm-up) call.
    """
    c = client(workers) if c is None else c
    key = (n, workers, c.id)
    if key not in _persisted:
        import dask.array as da

        a, b = common.vectors(n)
        addresses = sorted(c.ncores())
        blocks_a, blocks_b = [], []
        for i, s in enumerate(paralleldot.split(n, workers)):
            worker = [addresses[i % len(addresses)]]
            fa, fb = c.map(
                np.copy, c.scatter([a[s], b[s]], workers=worker, hash=False), workers=worker, pure=False
            )
            size = s.stop - s.start
            blocks_a.append(da.from_delayed(fa, shape=(size,), dtype=a.dtype))
            blocks_b.append(da.from_delayed(fb, shape=(size,), dtype=b.dtype))
        # Persisted, the arrays' graphs hold one key per block, as the arrays
        # a user persists do, not the from_delayed and concatenate layers.
        _persisted[key] = tuple(c.persist([da.concatenate(blocks_a), da.concatenate(blocks_b)]))
    return _persisted[key]


def _dask_dot(x, y, workers, c):
    return lambda: paralleldot.parallel_dot(x, y, workers=workers, backend="dask", client=c)


# --- timed: one call of the backend -------------------------------------------------


def _grid_params():
    """``[sizes, workers]`` of :func:`grid_points`: the parameters of the dask split benchmarks."""
    points = grid_points()
    return [sorted({n for n, _ in points}), sorted({w for _, w in points})]


#: The dask split benchmarks' parameters: the grid, and nothing to skip.
GRID_PARAMS = _grid_params()


# --- ratios: reference time / dask time, side by side ---------------------------------

#: The ratios: name -> (reference, dask inputs).
RATIOS = {
    "threads/dask": ("threads", "numpy vectors"),
    "numpy.dot/dask": ("numpy.dot", "numpy vectors"),
    "threads/dask arrays": ("threads", "dask arrays"),
    "numpy.dot/dask arrays": ("numpy.dot", "dask arrays"),
}


def _ratio(reference, candidate, blas_threads=None):
    """``(best time(reference) / best time(candidate), best time(candidate))``.

    :data:`SAMPLES` interleaved samples of each.

    With ``blas_threads``, BLAS is capped at that many threads while both run
    (the suite's fair ``numpy.dot`` reference).
    """
    limiter = common.limit_blas(blas_threads) if blas_threads else None
    try:
        ref, cand = common.interleaved_times([reference, candidate], samples=SAMPLES)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    return min(ref) / min(cand), min(cand)


def measure_ratios(points=None):
    """Every ratio of :data:`RATIOS` at each ``(N, workers)`` of ``points`` (default: the grid).

    Returns ``{"values": {(name, N, workers): ratio}, "seconds": {(inputs,
    N, workers): best seconds per dask call}, "errors": {(N, workers):
    message}, "skipped": reason or None}``. One cluster per
    ``workers``; the persisted vectors of a size are dropped before the next
    size. An error at one point is recorded and the others are measured.
    """
    out = {"values": {}, "seconds": {}, "errors": {}, "skipped": None}
    try:
        require_dask()
    except NotImplementedError as exc:
        out["skipped"] = str(exc)
        return out
    points = grid_points() if points is None else list(points)
    for n, workers in points:
        try:
            c = client(workers)
            a, b = common.vectors(n)
            x, y = persisted_vectors(n, workers)
            candidates = {"numpy vectors": _dask_dot(a, b, workers, c), "dask arrays": _dask_dot(x, y, workers, c)}
            references = {
                "threads": lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="threads"),
                "numpy.dot": lambda: np.dot(a, b),
            }
            for func in (*candidates.values(), *references.values()):
                func()  # pools, cluster connections, the persisted copies
            for name, (reference, inputs) in RATIOS.items():
                blas = workers if reference == "numpy.dot" else None
                ratio, seconds = _ratio(references[reference], candidates[inputs], blas)
                out["values"][(name, n, workers)] = ratio
                best = out["seconds"].get((inputs, n, workers), seconds)
                out["seconds"][(inputs, n, workers)] = min(best, seconds)
        except Exception as exc:  # reported by the benchmark of this point
            out["errors"][(n, workers)] = f"{type(exc).__name__}: {exc}"
        finally:
            for key in [k for k in _persisted if k[:2] == (n, workers)]:
                del _persisted[key]
    return out


# --- the scale-out model's inputs ---------------------------------------------------

#: Workers of the cluster the model's inputs are measured on.
MODEL_WORKERS = 2
#: Elements of each tiny block of the fixed-cost calls.
TINY = 16
#: Block pairs per fixed-cost call: one, and many (their difference gives
#: the cost of each more machine's task).
CHUNKS = (1, 8)
#: Where the fixed-cost calls find their data: dask's own calls, then the
#: same through paralleldot's backend (skipped at commits without it).
FIXED_INPUTS = ("on the cluster", "scattered", "parallel_dot, dask arrays", "parallel_dot, numpy vectors")
#: float64 elements of the two chunks whose scatter times give the cost per byte.
TRANSFER_SIZES = (10**6, 10**7)
#: float64 elements of each vector of the bandwidth measurement (160 MB read
#: per dot, five times this machine's 32 MB L3 cache).
BANDWIDTH_N = 10**7
#: Calls per sample of the bandwidth measurement.
BANDWIDTH_NUMBER = 2
#: Elements of the tiny vectors of the threads split's fixed cost.
THREADS_TINY = 1024
#: Seconds idle before each isolated call: 1.5 times the client's 10 ms batching.
PAUSE = 0.015
#: Interleaved samples of each model measurement (the best one is kept).
MODEL_SAMPLES = 8
#: The readers of the bandwidth measurement.
READERS = ("dask worker, 1 thread", "threads split, all cores")


def one_machine_workers():
    """Threads of the one-machine reference: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def isolated_times(funcs, samples=None, pause=None):
    """Seconds of single calls of each of ``funcs``, each after ``pause`` s idle, in turn.

    One untimed call of each first (connections, imports). Returns one list
    of ``samples`` times per function (default :data:`MODEL_SAMPLES`, pause
    :data:`PAUSE`). Unlike :func:`common.interleaved_times` a sample is one
    call, never a loop of calls: see the module doc.
    """
    samples = MODEL_SAMPLES if samples is None else samples
    pause = PAUSE if pause is None else pause
    for func in funcs:
        func()
    times = [[] for _ in funcs]
    for _ in range(samples):
        for func, out in zip(funcs, times):
            time.sleep(pause)
            start = time.perf_counter()
            func()
            out.append(time.perf_counter() - start)
    return times


def _task_functions():
    """The model's task functions, defined locally so that they travel by value.

    asv imports this module under a name the dask workers cannot import.
    pickle refuses a local function, and dask then pickles the task with
    cloudpickle, which sends the function's code (it refers only to numpy
    and time, which the workers have).
    """

    def pair_dot(pair):
        """In a worker: ``numpy.dot`` of one scattered ``(x, y)`` pair."""
        return np.dot(*pair)

    def dot_seconds(x, y, number):
        """In a worker: seconds per ``numpy.dot(x, y)``, over ``number`` calls."""
        start = time.perf_counter()
        for _ in range(number):
            np.dot(x, y)
        return (time.perf_counter() - start) / number

    return pair_dot, dot_seconds


_pair_dot, _dot_seconds = _task_functions()


def _tiny_pairs(chunks):
    """``chunks`` pairs of :data:`TINY`-element float64 blocks (seeded values)."""
    a, b = common.vectors(TINY * chunks)
    return [(a[i * TINY:(i + 1) * TINY], b[i * TINY:(i + 1) * TINY]) for i in range(chunks)]


def _gather_and_release(c, results, also=()):
    """Gather ``results``, then let the cluster forget them and ``also`` (as the backend does)."""
    try:
        return c.gather(results)
    finally:
        for future in (*results, *also):
            future.release()


def on_cluster_call(c, chunks):
    """A call on blocks already held by the workers: ``numpy.dot`` per block pair, gather.

    ``chunks`` pairs of tiny blocks are placed once, round robin, pair ``i``
    on worker ``i % workers`` (both blocks of a pair on one worker, as the
    blocks of two aligned dask arrays are). The call sends one task per
    pair, gathers the partial sums and releases them: the scheduler round
    trip of a blockwise dot on data already distributed.
    """
    addresses = sorted(c.ncores())
    xs, ys = [], []
    for i, (x, y) in enumerate(_tiny_pairs(chunks)):
        fx, fy = c.scatter([x, y], workers=[addresses[i % len(addresses)]], hash=False)
        xs.append(fx)
        ys.append(fy)

    def call():
        return _gather_and_release(c, c.map(np.dot, xs, ys, pure=False))

    call.held = (xs, ys)  # the blocks stay on the cluster while the call lives
    return call


def scattered_call(c, chunks):
    """A call that sends its data: scatter ``chunks`` tiny pairs, ``numpy.dot`` per pair, gather.

    What the backend does for numpy vectors (one scatter of the pairs,
    straight to the workers, round robin; one task per pair; gather;
    release), with dask's own calls only.
    """
    pairs = _tiny_pairs(chunks)

    def call():
        scattered = c.scatter(pairs, direct=True, hash=False)
        return _gather_and_release(c, c.map(_pair_dot, scattered, pure=False), scattered)

    return call


def parallel_dot_call(c, chunks, inputs):
    """``parallel_dot(backend="dask", client=c)`` on tiny data in ``chunks`` chunks.

    ``inputs`` is ``"dask arrays"`` (``chunks`` blocks of each vector held
    by the workers, as :func:`persisted_vectors`) or ``"numpy vectors"``
    (``workers=chunks``: the backend scatters ``chunks`` pairs). Raises
    NotImplementedError at a commit without the backend.
    """
    require_dask()
    n = TINY * chunks
    if inputs == "dask arrays":
        x, y = persisted_vectors(n, chunks, c)
    else:
        x, y = common.vectors(n)
    return _dask_dot(x, y, chunks, c)


def scatter_call(c, x, worker):
    """Scatter ``x`` to ``worker`` (straight, not through the scheduler) and release it."""

    def call():
        c.scatter(x, workers=[worker], direct=True, hash=False).release()

    return call


def cost_per_byte(c, sizes=None, samples=None):
    """Seconds per byte of scattering a float64 chunk to one worker, and the two times.

    The slope between the best scatter times of two chunk sizes:
    ``(t(large) - t(small)) / (bytes(large) - bytes(small))``. Both times
    carry the same fixed part (a message to the scheduler, connections),
    which the difference removes without relying on a separate measurement
    of it; the large chunk is past the caches, as a real chunk is. Returns
    ``(seconds per byte, {bytes: best seconds})``. Defaults:
    :data:`TRANSFER_SIZES`, :data:`MODEL_SAMPLES`.
    """
    sizes = TRANSFER_SIZES if sizes is None else sizes
    worker = sorted(c.ncores())[0]
    small, large = (common.vectors(n)[0] for n in sizes)
    t_small, t_large = (
        min(t) for t in isolated_times([scatter_call(c, small, worker), scatter_call(c, large, worker)], samples)
    )
    return (t_large - t_small) / (large.nbytes - small.nbytes), {small.nbytes: t_small, large.nbytes: t_large}


def worker_dot_call(c, n, number):
    """A function returning seconds per ``numpy.dot`` of two ``n``-vectors, timed inside one worker.

    The vectors are scattered to the first worker and copied there once
    (aligned, as blocks computed on a worker are). The worker has one thread
    and one BLAS thread (distributed's nanny sets ``OPENBLAS_NUM_THREADS=1``
    and the like); the time excludes the round trip.
    """
    worker = [sorted(c.ncores())[0]]
    a, b = common.vectors(n)
    sx, sy = c.scatter([a, b], workers=worker, hash=False)
    fx, fy = c.map(np.copy, [sx, sy], workers=worker, pure=False)
    c.gather(c.map(len, [fx, fy], pure=False))  # the copies are done
    sx.release()
    sy.release()

    def seconds():
        return c.submit(_dot_seconds, fx, fy, number, workers=worker, pure=False).result()

    seconds.held = (fx, fy)
    return seconds


def threads_dot_call(n, workers=None):
    """``parallel_dot(backend="threads")`` of the suite's ``n``-vectors on all cores (a function)."""
    common.require_backend("threads")
    workers = one_machine_workers() if workers is None else workers
    a, b = common.vectors(n)
    return lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="threads")


def bandwidths(c, n=None, number=None, samples=None):
    """Best GB/s of ``numpy.dot`` on one worker and of the threads split, side by side.

    ``c`` is a client, or None to measure the threads split alone. Returns
    ``{reader: GB/s or None}`` for the :data:`READERS` (None: not measured,
    no dask or no ``backend="threads"``). One sample of each in turn; ``16
    n`` bytes read per dot. Defaults: :data:`BANDWIDTH_N`,
    :data:`BANDWIDTH_NUMBER`, :data:`MODEL_SAMPLES`.
    """
    n = BANDWIDTH_N if n is None else n
    number = BANDWIDTH_NUMBER if number is None else number
    samples = MODEL_SAMPLES if samples is None else samples
    funcs = {}
    if c is not None:
        funcs[READERS[0]] = worker_dot_call(c, n, number)
    try:
        threads = threads_dot_call(n)
    except NotImplementedError:
        pass
    else:
        funcs[READERS[1]] = lambda: timeit.timeit(threads, number=number) / number
    times = {reader: [] for reader in funcs}
    for func in funcs.values():
        func()
    for _ in range(samples):
        for reader, func in funcs.items():
            times[reader].append(func())
    a, b = common.vectors(n)
    nbytes = a.nbytes + b.nbytes
    return {reader: nbytes / min(times[reader]) / 1e9 if times.get(reader) else None for reader in READERS}


def measure_model_inputs():
    """Every input of the scale-out model, measured in this process, and how.

    Returns a dict: ``fixed_cost`` {(inputs, chunks): seconds},
    ``cost_per_byte`` (seconds per byte), ``transfer_times`` {bytes:
    seconds}, ``bandwidth`` {reader: GB/s or None}, ``threads_fixed_cost``
    (seconds or None), ``errors`` {quantity: message}, ``skipped`` (why dask
    was not measured, or None) and ``settings`` (the constants used). A
    quantity that fails is recorded in ``errors`` and the others are
    measured. Without dask only the threads split is measured.
    """
    out = {
        "fixed_cost": {}, "cost_per_byte": None, "transfer_times": {},
        "bandwidth": dict.fromkeys(READERS), "threads_fixed_cost": None,
        "errors": {}, "skipped": None,
        "settings": {
            "model_workers": MODEL_WORKERS, "tiny": TINY, "chunks": CHUNKS,
            "transfer_sizes": TRANSFER_SIZES, "bandwidth_n": BANDWIDTH_N,
            "bandwidth_number": BANDWIDTH_NUMBER, "threads_tiny": THREADS_TINY,
            "threads_workers": one_machine_workers(), "pause": PAUSE, "samples": MODEL_SAMPLES,
        },
    }
    try:
        require_distributed()
        c = client(MODEL_WORKERS)
    except NotImplementedError as exc:
        out["skipped"] = str(exc)
        c = None
    if c is not None:
        try:
            calls = {}
            for inputs in FIXED_INPUTS:
                for chunks in CHUNKS:
                    if inputs == "on the cluster":
                        calls[(inputs, chunks)] = on_cluster_call(c, chunks)
                    elif inputs == "scattered":
                        calls[(inputs, chunks)] = scattered_call(c, chunks)
                    else:
                        try:
                            calls[(inputs, chunks)] = parallel_dot_call(c, chunks, inputs.split(", ")[1])
                        except NotImplementedError:
                            pass  # no dask backend at this commit: those values stay missing
            times = isolated_times(list(calls.values()))
            out["fixed_cost"] = {key: min(t) for key, t in zip(calls, times)}
        except Exception as exc:
            out["errors"]["fixed_cost"] = f"{type(exc).__name__}: {exc}"
        try:
            per_byte, out["transfer_times"] = cost_per_byte(c)
            if per_byte > 0:
                out["cost_per_byte"] = per_byte
            else:  # noise larger than the transfer: no usable slope
                (small, t_small), (large, t_large) = sorted(out["transfer_times"].items())
                out["errors"]["cost_per_byte"] = (
                    f"the scatter of {large} bytes ({t_large:.3g} s) was not slower than that of "
                    f"{small} bytes ({t_small:.3g} s): the machine was too noisy, measure again"
                )
        except Exception as exc:
            out["errors"]["cost_per_byte"] = f"{type(exc).__name__}: {exc}"
    try:
        out["bandwidth"] = bandwidths(c)
    except Exception as exc:
        out["errors"]["bandwidth"] = f"{type(exc).__name__}: {exc}"
    try:
        (times,) = common.interleaved_times([threads_dot_call(THREADS_TINY)])
        out["threads_fixed_cost"] = min(times)
    except NotImplementedError:
        pass
    except Exception as exc:
        out["errors"]["threads_fixed_cost"] = f"{type(exc).__name__}: {exc}"
    return out


def model_check(c, n=None, samples=5):
    """Isolated ``parallel_dot(backend="dask")`` calls with one large chunk on one worker.

    For ``python -m benchtools scaleout direct``, which compares them with what the
    model predicts from the small inputs (K = 1: the fixed cost, the bytes
    moved, the bytes read). Returns ``{"dask arrays": s, "numpy vectors":
    s, "n": n}`` (best of ``samples`` isolated calls; the dask arrays are one
    persisted block pair on one worker; the numpy vectors are scattered in
    one pair at each call), or None without the backend.
    """
    n = BANDWIDTH_N if n is None else n
    try:
        require_dask()
    except NotImplementedError:
        return None
    x, y = persisted_vectors(n, 1, c)
    a, b = common.vectors(n)
    on_cluster, sent = isolated_times([_dask_dot(x, y, 1, c), _dask_dot(a, b, 1, c)], samples)
    return {"dask arrays": min(on_cluster), "numpy vectors": min(sent), "n": n}
