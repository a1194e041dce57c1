"""Shared pieces of the asv suite: profiles, seeded vectors, the implementations, base classes.

Profiles
--------
The environment variable ``PARALLELDOT_BENCH_PROFILE`` chooses the
parameter grid (read once, when asv imports the suite; asv passes its own
environment on, so exporting the variable before ``asv run`` is enough):

===========  =======================  ===========  ==============================
profile      N                        workers      dtypes
===========  =======================  ===========  ==============================
``quick``    1e3, 1e4, 1e5            1, 2         float64, int32
``default``  1e4, 1e5, 1e6, 1e7       2            float64, int32
``gate``     1e5, 1e6, 1e7            1, 2, 4      float64, int32
``full``     1e3 ... 1e8              1, 2, 4      float64, float32, int64,
                                                   int32, complex128
===========  =======================  ===========  ==============================

``default`` is what the main command (``scripts/bench.sh``) runs over the
package's history, so it is sized for that: every point of it on every
commit of the history, within the command's budget (two workers: the
cores of the small machines this suite is tuned on; one worker and
oversubscription are in ``gate`` and ``full``). ``quick`` is a smoke test (CI), ``gate`` what
``python -m benchtools gate`` judges, ``full`` the whole grid for one commit (1e8 holds
1.6 GB of float64 vectors per benchmark process).

A profile only chooses *which* points exist; each point is measured the
same way in every profile. Every benchmark's ``version`` still carries the
profile (``"2+default"``): asv stores the version with each result, so each
result file says which profile made it, and asv never draws results of
another version in a graph, so a graph never mixes two profiles. The site
shows the profile run last; results of another profile stay on disk and
come back when it runs again.

Inputs
------
:func:`vectors` returns two vectors of a dtype drawn from a generator seeded
with ``(SEED, N, dtype)``: every run, environment and commit sees the same
data. Floats are uniform in [-1, 1), integers in [-100, 100), booleans half
true. They are cached per process (asv runs each benchmark in a process of
its own) and read-only, so no benchmark can change another's input.

Fairness
--------
``numpy.dot`` may start BLAS threads of its own (OpenBLAS uses every core by
default). The ``numpy.dot`` reference runs with BLAS capped at ``workers``
threads (:func:`limit_blas`), the same cores as the split; with ``workers``
at or above the number of cores that is numpy.dot as users call it. A cap
the environment sets (``OPENBLAS_NUM_THREADS=1``, as the regression gate
does) holds for the reference too. The
splits leave BLAS alone on purpose: pinning BLAS inside the split is the
package's job, and a commit that does it (or stops doing it) must show.
"""

import concurrent.futures as cf
import ctypes
import functools
import gc
import importlib
import os
import sys
import timeit
from typing import NamedTuple

import numpy as np

import paralleldot

#: Name of the environment variable that selects the profile.
PROFILE_ENV = "PARALLELDOT_BENCH_PROFILE"


class Grid(NamedTuple):
    """The parameter values of a profile."""

    sizes: tuple
    workers: tuple
    dtypes: tuple


#: The parameter grid of each profile.
PROFILES = {
    "quick": Grid((10**3, 10**4, 10**5), (1, 2), ("float64", "int32")),
    "default": Grid((10**4, 10**5, 10**6, 10**7), (2,), ("float64", "int32")),
    "gate": Grid((10**5, 10**6, 10**7), (1, 2, 4), ("float64", "int32")),
    "full": Grid(tuple(10**k for k in range(3, 9)), (1, 2, 4),
                 ("float64", "float32", "int64", "int32", "complex128")),
}
DEFAULT_PROFILE = "default"
SEED = 20_240_611


def profile():
    """Return the selected profile name (``PARALLELDOT_BENCH_PROFILE``)."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; use one of "
            f"{', '.join(PROFILES)}"
        )
    return name


#: The profile of this run (discovery fails with a clear error on a typo).
PROFILE = profile()
SIZES, WORKERS, DTYPES = PROFILES[PROFILE]


def version(number):
    """A benchmark ``version``: its own number and the profile, ``"2+default"``."""
    return f"{number}+{PROFILE}"


def sizes_from(smallest):
    """The profile's sizes from ``smallest`` on (at least the largest one)."""
    return [n for n in SIZES if n >= smallest] or [max(SIZES)]


def require_size(n):
    """Skip (``NotImplementedError``) a size outside the selected profile."""
    if n not in SIZES:
        raise NotImplementedError(f"N={n} is not in the {PROFILE!r} profile")


def require_backend(name):
    """Skip a benchmark whose backend does not exist at this commit."""
    if name not in getattr(paralleldot, "BACKENDS", ()):
        raise NotImplementedError(f"backend {name!r} does not exist at this commit")


def require_process_pool_that_ends_with_its_owner():
    """Skip the process backend at commits whose pool outlives asv's benchmark processes.

    asv ends each benchmark process with ``os._exit``. Before 2ffb312 the
    workers of paralleldot's process pool waited for tasks for ever after
    that (forkserver, workers and resource trackers piled up, one set per
    benchmark process), and before 37e390a nothing unlinked the dead
    owner's shared vectors once asv had killed its resource tracker: a
    history run left gigabytes in /dev/shm and the machine swapping, which
    no measurement survives. Those commits' process benchmarks are skipped.
    """
    shm = importlib.import_module("paralleldot._shm")
    if not hasattr(shm, "unlink_attached"):
        raise NotImplementedError(
            "the process pool of this commit outlives asv's benchmark processes "
            "and leaks their shared vectors (fixed by 2ffb312 and 37e390a)"
        )


def require_attribute(name):
    """Skip a benchmark whose public name does not exist at this commit."""
    if not hasattr(paralleldot, name):
        raise NotImplementedError(f"paralleldot.{name} does not exist at this commit")


# --- inputs -----------------------------------------------------------------


def _draw(n, dtype, allocate):
    """Fill two new vectors from ``allocate(n, dtype)`` with the seeded draws."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng([SEED, n, dtype.num])
    out = []
    for _ in range(2):
        v = allocate(n, dtype)
        if dtype.kind == "f":
            v[...] = rng.random(n, dtype=dtype if dtype.itemsize in (4, 8) else np.float64)
            v *= 2
            v -= 1
        elif dtype.kind == "c":
            part = np.dtype(f"f{dtype.itemsize // 2}")
            v.real = rng.random(n, dtype=part) * 2 - 1
            v.imag = rng.random(n, dtype=part) * 2 - 1
        elif dtype.kind == "b":
            v[...] = rng.integers(0, 2, n, dtype=np.int8)
        else:
            low = 0 if dtype.kind == "u" else -100
            v[...] = rng.integers(low, 100, n, dtype=dtype)
        out.append(v)
    return tuple(out)


@functools.lru_cache(maxsize=4)
def vectors(n, dtype="float64"):
    """Two seeded, read-only vectors of length ``n`` and ``dtype`` (cached).

    In a benchmark process forked by asv's forkserver they are the server's
    (:func:`preload`): no memory is allocated.
    """
    found = _preloaded.get((int(n), np.dtype(dtype).name))
    return found if found is not None else _read_only_draw(n, dtype)


def _read_only_draw(n, dtype):
    a, b = _draw(n, dtype, np.empty)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


#: Largest ``N`` whose vectors :func:`preload` draws (1e8 would hold 1.6 GB
#: of float64 vectors per dtype in the server).
PRELOAD_MAX = 10**7
#: ``{(N, dtype name): (a, b)}``: the vectors drawn by :func:`preload`.
_preloaded = {}


def preload():
    """Draw the vectors of the profile once, in asv's forkserver, for every benchmark process.

    asv's ``forkserver`` launch method imports the suite in one server
    process per commit and environment and forks a process per benchmark
    (and round). Each process used to draw its own vectors, and a fresh
    160 MB of memory costs what the kernel's huge pages cost that moment:
    numpy asks for them (``madvise``), and with this VM's
    ``defrag = madvise`` every fault may compact memory first. Measured on
    2026-12-04: touching 160 MB of new memory took 39 to 798 ms, drawing
    two 1e7 float64 vectors 119 to 1825 ms, where the dot product itself
    takes 3 to 5 ms. Drawn here, before the forks, the vectors reach every
    benchmark process as the server's pages, read in place (copy on write,
    and nothing writes them: they are read-only), still in huge pages; a
    process allocates nothing. An ``asv run`` of ``TimeDot``,
    ``Speedup``, ``Bandwidth`` and ``PerCallPool`` for one commit took 25
    and 27 s instead of 42 and 36.

    Drawn: every dtype of the profile and float64 (the dask classes, the
    per-call pool), at the profile's sizes and the half-decade grid of
    ``Crossover``, up to :data:`PRELOAD_MAX`: 347 MB in ``default``. The
    values are those :func:`vectors` draws anywhere else (same seeds).
    Memory benchmarks must not count them: see :func:`forget_preloaded`.
    """
    largest = min(max(SIZES), PRELOAD_MAX)
    sizes = set(half_decades(10**3, largest)) | {n for n in SIZES if n <= largest}
    for dtype in sorted(set(DTYPES) | {"float64"}):
        for n in sorted(sizes):
            _preloaded[(n, np.dtype(dtype).name)] = _read_only_draw(n, dtype)


def forget_preloaded():
    """Drop the preloaded vectors from this process and restart its peak resident size.

    A forked process counts the server's pages it inherits in its resident
    size, whether it reads them or not, so the ``peakmem_`` of a process
    forked from a server that preloaded would carry 347 MB that the
    benchmark does not hold (``PeakMemory`` read 409 MB for shared and 408
    for ordinary 1e6 vectors, against 60 and 77 without). Dropped, they are
    unmapped; then the peak is restarted at the resident size of the
    moment (Linux: ``/proc/self/clear_refs``, ``5``), which ``getrusage``'s
    ``ru_maxrss``, asv's peak, follows. Nothing to do without a preload.
    """
    if not _preloaded:
        return
    _preloaded.clear()
    vectors.cache_clear()
    gc.collect()
    # numpy's buffers come from malloc; glibc keeps freed heap memory
    # resident (the vectors of 32 MB and less came from its heap: 74 MB of
    # them stayed in asv's peak) until told to give it back.
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _in_asv_forkserver():
    """Whether this process is asv's forkserver (``benchmark.py run_server DIR SOCKET``) on Linux.

    Elsewhere nothing is preloaded: :func:`forget_preloaded` needs Linux's
    ``/proc/self/clear_refs``.
    """
    return sys.argv[1:2] == ["run_server"] and sys.platform.startswith("linux")


@functools.lru_cache(maxsize=2)
def shared_vectors(n, dtype="float64"):
    """The values of :func:`vectors`, drawn straight into ``paralleldot.shared_empty``.

    The process backend reads these in place: timed calls copy nothing. No
    ordinary copy is made, so ``peakmem_`` of a benchmark that uses only
    these vectors holds the input bytes once.
    """
    require_attribute("shared_empty")
    return _draw(n, dtype, paralleldot.shared_empty)


_warm = set()
#: Seconds of calls before the first sample of a process. A forked process
#: whose OpenBLAS threads are new runs some first calls on one thread:
#: numpy.dot of 1e5 float64 took 11 or 25 us depending on the process with
#: OpenBLAS 0.3.23 (numpy 1.26.4), always 11 after 0.05 s of calls.
WARM_SECONDS = 0.05


def warm(key, func, seconds=WARM_SECONDS):
    """Call ``func()`` for ``seconds`` (once at least), once per process for ``key``.

    Pools start, BLAS threads settle and ``auto`` measures outside timing:
    pools of paralleldot are created on first use and reused, and the first
    call also pays for imports, worker start-up and (``auto``) measurement.
    """
    if key not in _warm:
        start = timeit.default_timer()
        func()
        while timeit.default_timer() - start < seconds:
            func()
        _warm.add(key)


# --- BLAS threads -----------------------------------------------------------

_controller = None


#: Variables by which a user caps BLAS threads; :func:`limit_blas` never goes above them.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                         "OMP_NUM_THREADS")


def blas_threads_cap():
    """The smallest BLAS thread count set in the environment, or None.

    ``OPENBLAS_NUM_THREADS=1`` (the regression gate sets it, a user may)
    caps numpy.dot at one thread as users call it; threadpoolctl would
    raise the library above it. A value that is not a positive integer
    (OpenMP's lists: their first item) is ignored, as the libraries do.
    """
    caps = []
    for name in BLAS_THREAD_VARIABLES:
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            caps.append(int(value))
    return min(caps, default=None)


def limit_blas(threads):
    """Cap BLAS at ``threads`` threads; return a limiter with ``restore_original_limits()``.

    Never above :func:`blas_threads_cap`: with ``OPENBLAS_NUM_THREADS=1``
    the ``numpy.dot`` reference runs on one thread, whatever ``workers``
    (without this cap the gate's single BLAS thread held for the splits
    only, and a two-thread reference waited for a core kept busy).

    The threadpoolctl controller is built once per process (it inspects the
    loaded libraries); setting a limit afterwards costs microseconds, so
    this may run in ``setup``, which asv re-runs before every sample.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    cap = blas_threads_cap()
    return _controller.limit(limits=threads if cap is None else min(threads, cap),
                             user_api="blas")


# --- the original example, as a fixed baseline ------------------------------


def per_call_pool_dot(va, vb, max_workers=2):
    """The example's ``parallel_numpy_dot``, generalised to any worker count.

    As in the example (the sphinx-gallery example
    ``plot_benchmark_parallel_process_concurrent``), a new ``ThreadPoolExecutor``
    is started and shut down at every call, the vector is cut at
    ``n * i // max_workers`` (the example's cuts for 2 and 3 workers),
    ``numpy.dot`` runs on each chunk with default BLAS threads and the
    partial results are added in order. It does not depend on paralleldot,
    so its series is flat across commits unless the machine or numpy
    changed: a control for the other graphs.
    """
    n = va.shape[0]
    bounds = [n * i // max_workers for i in range(max_workers + 1)]
    with cf.ThreadPoolExecutor(max_workers=max_workers) as e:
        futures = [
            e.submit(np.dot, va[lo:hi], vb[lo:hi])
            for lo, hi in zip(bounds[:-1], bounds[1:])
        ]
        total = futures[0].result()
        for f in futures[1:]:
            total = total + f.result()
        return total


# --- the implementations compared -------------------------------------------

# One name per implementation, used by the suite, its results and the tools
# (benchtools imports these): the registry of what is compared.

#: ``numpy.dot`` with BLAS capped at ``workers`` threads: the reference.
NUMPY_DOT = "numpy.dot"
#: The example's split with a new thread pool per call: a control series.
PER_CALL_POOL = "per_call_pool"
#: ``parallel_dot`` with these backends.
SPLITS = ("threads", "auto", "processes")
#: What a user picks instead of the split, each as a user would write it
#: (:func:`peer_function`). ``numpy.*`` peers run on one core, except that
#: ``numpy.inner`` and ``numpy.vdot`` call BLAS for float and complex
#: vectors (capped at ``workers`` threads like ``numpy.dot``);
#: ``numba.prange`` and ``torch.dot`` run on ``workers`` threads and are
#: optional: where the package is not installed (or the dtype not supported)
#: they are skipped (``NotImplementedError``). ``numpy.vdot`` conjugates its
#: first argument: for complex vectors it is another product, timed anyway
#: (the same work).
PEERS = ("numpy.einsum", "numpy.inner", "numpy.vdot", "numpy.mul_sum", "numba.prange", "torch.dot")
#: Peers that run BLAS, capped at ``workers`` threads as the reference is.
BLAS_PEERS = (NUMPY_DOT, "numpy.inner", "numpy.vdot")
#: Every implementation, in the order tables and plots show them.
IMPLEMENTATIONS = (NUMPY_DOT, PER_CALL_POOL, *SPLITS, *PEERS)
#: The profiles whose ``TimeDot`` includes the peers (``default`` is the
#: history's budget and does not).
PEER_PROFILES = ("full",)
#: Every dtype of the suite, in the order tables and plots show them.
ALL_DTYPES = PROFILES["full"].dtypes


def implementations_in(profile_name=None):
    """The ``impl`` values of ``bench_dot.TimeDot`` in a profile (default: this run's)."""
    name = PROFILE if profile_name is None else profile_name
    return [NUMPY_DOT, *SPLITS, *(PEERS if name in PEER_PROFILES else ())]


@functools.lru_cache(maxsize=None)
def _numba_prange():
    """The numba peer: ``prange`` over the products, compiled once (cached on disk)."""
    try:
        import numba
    except ImportError:
        raise NotImplementedError("numba is not installed (pip install numba)") from None

    @numba.njit(parallel=True, nogil=True, cache=True)
    def prange_dot(a, b, zero):
        s = zero
        for i in numba.prange(a.shape[0]):
            s += a[i] * b[i]
        return s

    return numba, prange_dot


def _numba_dot(a, b, workers):
    numba, prange_dot = _numba_prange()
    threads = min(workers, numba.config.NUMBA_NUM_THREADS)
    zero = a.dtype.type(0)

    def call():
        if numba.get_num_threads() != threads:
            numba.set_num_threads(threads)
        return prange_dot(a, b, zero)

    return call


def _torch_dot(a, b, workers):
    try:
        import torch
    except ImportError:
        raise NotImplementedError("torch is not installed (pip install torch)") from None
    import warnings

    with warnings.catch_warnings():  # read-only vectors: torch warns, never writes
        warnings.simplefilter("ignore", UserWarning)
        x, y = torch.from_numpy(a), torch.from_numpy(b)
    try:
        torch.dot(x[:1], y[:1])
    except RuntimeError as exc:  # e.g. "dot" not implemented for 'UInt64'
        raise NotImplementedError(f"torch.dot: {exc}") from None

    def call():
        if torch.get_num_threads() != workers:
            torch.set_num_threads(workers)
        return torch.dot(x, y)

    return call


def peer_function(impl, a, b, workers):
    """One dot product of ``a`` and ``b`` the way the peer ``impl`` computes it (see :data:`PEERS`).

    Raises ``NotImplementedError`` when an optional peer is not installed
    or does not support the dtype.
    """
    if impl == "numpy.einsum":
        return functools.partial(np.einsum, "i,i->", a, b)
    if impl == "numpy.inner":
        return functools.partial(np.inner, a, b)
    if impl == "numpy.vdot":
        return functools.partial(np.vdot, a, b)
    if impl == "numpy.mul_sum":
        return lambda: (a * b).sum()
    if impl == "numba.prange":
        return _numba_dot(a, b, workers)
    if impl == "torch.dot":
        return _torch_dot(a, b, workers)
    raise ValueError(f"peer must be one of {', '.join(PEERS)}; got {impl!r}")


def dot_function(impl, a, b, workers):
    """A function of no argument: one dot product of ``a`` and ``b`` computed the way ``impl`` does.

    ``impl`` is one of :data:`IMPLEMENTATIONS`. ``numpy.dot`` runs with the
    BLAS threads the caller set (:class:`Implementation` caps them); a
    ``processes`` split reads ``a`` and ``b`` in place when they are
    ``paralleldot.shared_empty`` vectors. A peer that is not installed raises
    ``NotImplementedError``.
    """
    if impl == NUMPY_DOT:
        return functools.partial(np.dot, a, b)
    if impl == PER_CALL_POOL:
        return functools.partial(per_call_pool_dot, a, b, workers)
    if impl in SPLITS:
        return functools.partial(paralleldot.parallel_dot, a, b, workers=workers, backend=impl)
    if impl in PEERS:
        return peer_function(impl, a, b, workers)
    raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}; got {impl!r}")


class Implementation:
    """One way to compute the dot product of the benchmark's vectors, ready to call.

    ``Implementation(impl, N, workers, dtype)()`` runs one dot product.
    Construction prepares everything outside timing: the vectors (in shared
    memory for ``"processes"``, whose workers read them in place), the BLAS
    cap of ``numpy.dot``, and a first call that starts pools and lets
    ``auto`` measure. It raises ``NotImplementedError`` (asv: skipped) when
    the backend does not exist at the commit measured. :meth:`close` undoes
    the BLAS cap and, after a process's last sample, shuts the process pool
    down.
    """

    def __init__(self, impl, n, workers, dtype):
        self.blas = None
        self.impl = impl
        if impl in SPLITS:
            require_backend(impl)
        if impl == "processes":
            require_process_pool_that_ends_with_its_owner()
            a, b = shared_vectors(n, dtype)
        else:
            a, b = vectors(n, dtype)
        self.call = dot_function(impl, a, b, workers)
        if impl in BLAS_PEERS:
            self.blas = limit_blas(workers)
        warm((impl, n, workers, dtype), self.call)

    def __call__(self):
        return self.call()

    def close(self, last=True):
        """Undo the BLAS cap; with ``last``, release the shared vectors and stop the pool.

        Between two samples of one process (``last=False``, see
        :func:`between_samples`) the process pool and the shared vectors
        stay for the next sample, which would otherwise start a pool and
        draw its vectors again in its ``setup``: 7 to 25 times per process.
        """
        blas, self.blas = self.blas, None
        if blas is not None:
            blas.restore_original_limits()
        if self.impl == "processes":
            self.call = None  # the shared vectors, unlinked when their last array dies
            if last:
                close_process_pools()


def between_samples():
    """Whether asv runs the current ``teardown`` between two samples of a process.

    asv_runner runs ``setup`` again before every sample after the first
    through ``Benchmark.redo_setup``: a ``teardown``, then at once a
    ``setup``. The last ``teardown`` of a process comes from elsewhere, just
    before asv ends the process with ``os._exit``. This looks for
    ``redo_setup`` a few frames up the call stack; if asv stops calling
    through it, every ``teardown`` counts as the last: slower runs, nothing
    left behind.
    """
    frame = sys._getframe(1)
    for _ in range(6):
        frame = frame.f_back
        if frame is None:
            return False
        if frame.f_code.co_name == "redo_setup":
            return True
    return False


def close_process_pools():
    """Release the shared vectors and shut the worker processes down (teardown).

    asv ends a benchmark process with ``os._exit`` and then kills its
    process group: the pool's named semaphores, left to loky's resource
    tracker, stayed under /dev/shm when the kill reached the tracker first,
    and shared vectors still alive were left to the standard library's
    tracker, which warns. Released in ``teardown``, they are unlinked here.

    asv runs ``setup`` and ``teardown`` around every sample of a process;
    ``TimeDot`` calls this after the last one only (:func:`between_samples`).
    Called between samples, the pools are warmed again by the next
    ``setup`` (:func:`warm`), or each sample after the first would time a
    pool's start-up.
    """
    shared_vectors.cache_clear()
    _warm.clear()
    shutdown = getattr(paralleldot, "shutdown", None)
    if shutdown is not None:
        shutdown()


# --- the bandwidth ceiling --------------------------------------------------


class ParallelCopy:
    """``np.copyto`` of ``a`` into a buffer, in ``workers`` chunks on threads.

    A copy reads ``a.nbytes`` bytes and writes as many: the bytes a dot
    product of two vectors of ``a``'s dtype reads, with no arithmetic. Its
    rate with the same number of threads is the ceiling the split can
    approach at large N.
    """

    def __init__(self, a, workers):
        self.src = a
        self.dst = np.empty_like(a)
        self.slices = paralleldot.split(a.shape[0], workers)
        self.pool = cf.ThreadPoolExecutor(max_workers=workers) if workers > 1 else None

    def __call__(self):
        if self.pool is None:
            np.copyto(self.dst, self.src)
            return
        futures = [
            self.pool.submit(np.copyto, self.dst[s], self.src[s]) for s in self.slices
        ]
        for f in futures:
            f.result()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)


# --- measuring side by side (track_ benchmarks) -----------------------------

#: Minimum duration of one sample of a track_ measurement, seconds.
SAMPLE_TIME = 0.002
#: Samples per function in a track_ measurement (interleaved).
SAMPLES = 11


def _calibrate(func, sample_time):
    """Number of calls of ``func`` that last at least ``sample_time``."""
    func()  # first call outside the calibration (page faults, lazy set-up)
    number = 1
    while True:
        elapsed = timeit.timeit(func, number=number)
        if elapsed >= sample_time or number >= 1_000_000:
            return number
        grow = 1.2 * sample_time / max(elapsed, 1e-9)
        number = max(number + 1, int(number * min(10.0, grow)))


def interleaved_times(funcs, samples=SAMPLES, sample_time=SAMPLE_TIME, shuffle=None):
    """Per-call times of each of ``funcs``, sampled alternately.

    Returns one list of ``samples`` per-call times per function. Sampling
    the functions in turn, in one process, puts a change in the machine's
    load (other jobs, frequency) on both sides alike. ``shuffle``, a
    :class:`random.Random`, draws the order of each round anew: with many
    functions of several libraries, a fixed order gives each the same
    predecessor every round (whose threads may still spin on the other
    core), which moved BLAS-identical columns (numpy.dot, numpy.inner,
    numpy.vdot of float64 at 1e7) from 2919 to 4463 us in one run.
    """
    numbers = [_calibrate(f, sample_time) for f in funcs]
    times = [[] for _ in funcs]
    order = list(range(len(funcs)))
    for _ in range(samples):
        if shuffle is not None:
            shuffle.shuffle(order)
        for i in order:
            times[i].append(timeit.timeit(funcs[i], number=numbers[i]) / numbers[i])
    return times


def speedup(reference, candidate, samples=SAMPLES):
    """``best time(reference) / best time(candidate)``, sampled side by side.

    Above 1 the candidate is faster. The best (minimum) of interleaved
    samples is the cost of each function with the least interference from
    other jobs, the estimate ``timeit`` recommends; on a shared machine
    medians and means are dominated by whoever else runs.
    """
    ref, cand = interleaved_times([reference, candidate], samples=samples)
    return min(ref) / min(cand)


def gigabytes_per_second(nbytes, func):
    """Effective rate of ``func`` over ``nbytes`` bytes (best sample), GB/s."""
    (times,) = interleaved_times([func])
    return nbytes / min(times) / 1e9


def half_decades(smallest, largest):
    """The log grid ``1, 3, 10, 30, ...`` times ``smallest``, up to ``largest``."""
    grid = []
    n = smallest
    while n <= largest:
        grid += [m for m in (n, 3 * n) if m <= largest]
        n *= 10
    return grid


# --- the base classes -------------------------------------------------------


class Benchmark:
    """Timing settings shared by every benchmark of the suite, and the plain grid.

    The plain grid is ``N`` x ``workers`` on float64 vectors (``self.a``,
    ``self.b``); the dot-product benchmarks override ``params`` with an
    implementation and a dtype. asv re-runs ``setup`` before every sample (one call per sample, since
    the classes have a setup): ``setup`` is therefore cheap after the first
    sample (cached vectors, warm pools, a cached BLAS controller).
    Subclasses set an explicit ``version`` (:func:`version`): changing it,
    not the code, starts a new series in the graphs.
    """

    #: Between 7 and 25 one-call samples per process, about 0.12 s at most.
    repeat = (7, 25, 0.12)
    #: setup() already made a first call: pools, page faults, auto.
    warmup_time = 0.01
    #: Two processes per point, so that one process's luck does not decide.
    rounds = 2
    #: Wall clock: the work runs in other threads and processes.
    timer = timeit.default_timer
    timeout = 600

    params = [list(SIZES), list(WORKERS)]
    param_names = ["N", "workers"]

    def setup(self, N, workers):
        self.a, self.b = vectors(N)


class TrackBenchmark(Benchmark):
    """Base of the track_ benchmarks: each call measures side by side itself."""

    rounds = 1


# asv's forkserver imports the suite once per commit and environment, then
# forks every benchmark process from it: draw the vectors here, once.
if _in_asv_forkserver():
    preload()
