"""Shared pieces of the asv suite: profiles, sizes, seeded vectors, the base class.

Profiles
--------
The environment variable ``PARALLELDOT_BENCH_PROFILE`` chooses how much runs:

==========  =====================  ==========================================
profile     N                      use
==========  =====================  ==========================================
``quick``   1e3, 1e4, 1e5          smoke test, CI (a minute or two per env.)
``default`` 1e3 ... 1e7            the regular run (unset variable)
``full``    1e3 ... 1e8            adds 1e8: 1.6 GB of vectors per benchmark
==========  =====================  ==========================================

The parameter grid is the same in every profile (``N`` from 1e3 to 1e8,
``workers`` 1, 2, 4), so results of different profiles stay comparable and
the published graphs keep one grid; a size outside the profile is *skipped*
(``NotImplementedError`` in ``setup``, shown as ``n/a``). asv passes its own
environment to discovery and to every benchmark process, so the variable
only has to be exported before ``asv run``.

Inputs
------
:func:`vectors` returns two float64 vectors drawn from a generator seeded
with ``(SEED, N)``: every run, environment and commit sees the same data.
They are cached (each asv benchmark runs in its own process, so the cache
holds one size) and read-only, so no benchmark can change another's input.

Fairness
--------
``numpy.dot`` may start BLAS threads of its own (OpenBLAS uses every core by
default). :func:`limit_blas` caps them with threadpoolctl: ``NumpyDot`` and
the reference of every ``track_speedup`` run with as many BLAS threads as
``workers``, the same cores as the split. The ``time_`` benchmarks of the
splits leave BLAS alone on purpose: pinning BLAS inside the split is the
package's job, and a commit that does it (or stops doing it) must show in
the graphs.
"""

import concurrent.futures as cf
import functools
import os
import timeit

import numpy as np

import paralleldot

#: Name of the environment variable that selects the profile.
PROFILE_ENV = "PARALLELDOT_BENCH_PROFILE"
#: Sizes run by each profile.
PROFILES = {
    "quick": (10**3, 10**4, 10**5),
    "default": (10**3, 10**4, 10**5, 10**6, 10**7),
    "full": (10**3, 10**4, 10**5, 10**6, 10**7, 10**8),
}
DEFAULT_PROFILE = "default"
#: The parameter grid of every benchmark (the largest profile).
SIZES = PROFILES["full"]
WORKERS = (1, 2, 4)
SEED = 20_240_611
#: Bytes of float64 read by one dot product of two vectors of length N.
ITEMSIZE = np.dtype(np.float64).itemsize


def profile():
    """Return the selected profile name (``PARALLELDOT_BENCH_PROFILE``)."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; use one of "
            f"{', '.join(PROFILES)}"
        )
    return name


# Fail at discovery (a clear error in `asv run`/`asv check`) on a typo.
profile()


def require_size(n):
    """Skip (``NotImplementedError``) a size outside the selected profile."""
    name = profile()
    if n not in PROFILES[name]:
        raise NotImplementedError(f"N={n} is not in the {name!r} profile")


def require_backend(name):
    """Skip a benchmark whose backend does not exist at this commit."""
    if name not in getattr(paralleldot, "BACKENDS", ()):
        raise NotImplementedError(f"backend {name!r} does not exist at this commit")


def require_attribute(name):
    """Skip a benchmark whose public name does not exist at this commit."""
    if not hasattr(paralleldot, name):
        raise NotImplementedError(f"paralleldot.{name} does not exist at this commit")


# --- inputs -----------------------------------------------------------------


def _draw(n, allocate):
    """Fill two new vectors from ``allocate(n)`` with the seeded normal draws."""
    rng = np.random.default_rng([SEED, n])
    out = []
    for _ in range(2):
        v = allocate(n)
        rng.standard_normal(out=v)
        out.append(v)
    return tuple(out)


@functools.lru_cache(maxsize=2)
def vectors(n):
    """Two seeded, read-only float64 vectors of length ``n`` (cached)."""
    a, b = _draw(n, lambda n: np.empty(n, np.float64))
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


@functools.lru_cache(maxsize=1)
def shared_vectors(n):
    """The values of :func:`vectors`, drawn straight into ``paralleldot.shared_empty``.

    The process backend reads these in place: timed calls copy nothing. No
    ordinary copy is made, so ``peakmem_`` of a benchmark that uses only
    these vectors holds ``16 N`` bytes of input.
    """
    return _draw(n, lambda n: paralleldot.shared_empty(n, np.float64))


_warm = set()


def warm(key, func):
    """Call ``func()`` once per process for ``key``: pools start outside timing.

    Pools of paralleldot are created on first use and reused; the first call
    also pays for imports, worker start-up and (``auto``) calibration.
    """
    if key not in _warm:
        func()
        _warm.add(key)


# --- BLAS threads -----------------------------------------------------------

_controller = None


def limit_blas(threads):
    """Cap BLAS at ``threads`` threads; return a limiter with ``restore_original_limits()``.

    The threadpoolctl controller is built once per process (it inspects the
    loaded libraries); setting a limit afterwards costs microseconds, so
    this may run in ``setup``, which asv re-runs before every sample.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=threads, user_api="blas")


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


# --- the bandwidth ceiling --------------------------------------------------


class ParallelCopy:
    """``np.copyto`` of ``a`` into a buffer, in ``workers`` chunks on threads.

    A copy reads ``8 N`` bytes and writes ``8 N``: the same ``16 N`` bytes a
    dot product of two vectors reads, with no arithmetic. Its rate with the
    same number of threads is the ceiling the split can approach at large N.
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
SAMPLE_TIME = 0.005
#: Samples per function in a track_ measurement (interleaved).
SAMPLES = 15


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


def interleaved_times(funcs, samples=SAMPLES, sample_time=SAMPLE_TIME):
    """Per-call times of each of ``funcs``, sampled alternately.

    Returns one list of ``samples`` per-call times per function. Sampling
    the functions in turn, in one process, puts a change in the machine's
    load (other jobs, frequency) on both sides alike.
    """
    numbers = [_calibrate(f, sample_time) for f in funcs]
    times = [[] for _ in funcs]
    for _ in range(samples):
        for f, number, out in zip(funcs, numbers, times):
            out.append(timeit.timeit(f, number=number) / number)
    return times


def speedup(reference, candidate):
    """``best time(reference) / best time(candidate)``, sampled side by side.

    Above 1 the candidate is faster. The best (minimum) of interleaved
    samples is the cost of each function with the least interference from
    other jobs, the estimate ``timeit`` recommends; on a shared machine
    medians and means are dominated by whoever else runs.
    """
    ref, cand = interleaved_times([reference, candidate])
    return min(ref) / min(cand)


def gigabytes_per_second(n, func):
    """Effective rate of ``func`` over the ``16 n`` bytes of two float64 vectors (best sample)."""
    (times,) = interleaved_times([func])
    return 2 * n * ITEMSIZE / min(times) / 1e9


# --- the base class ---------------------------------------------------------


class Benchmark:
    """Parameters, timing settings and skips shared by every benchmark.

    asv re-runs ``setup``/``teardown`` around every sample (with a setup
    method, each sample is one call): ``setup`` is therefore cheap after the
    first sample (cached vectors, warm pools, a cached BLAS controller).
    Subclasses set an explicit ``version``: changing it, not the code,
    starts a new series in the graphs.
    """

    params = [list(SIZES), list(WORKERS)]
    param_names = ["N", "workers"]
    #: One call per sample (asv_runner with setup); between 10 and 50 samples
    #: per process, at most about 1 s of samples per process.
    repeat = (10, 50, 1.0)
    warmup_time = 0.05
    #: Two processes per parameter set, interleaved with the other benchmarks.
    rounds = 2
    #: Wall clock: the work runs in other threads and processes.
    timer = timeit.default_timer
    timeout = 600

    def setup(self, N, workers):
        require_size(N)
        self.a, self.b = vectors(N)


class TrackBenchmark(Benchmark):
    """Base of the track_ benchmarks: each call measures side by side itself."""

    rounds = 1
