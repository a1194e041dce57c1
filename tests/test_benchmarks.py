"""Every benchmark of benchmarks/ called directly, as asv calls it, on its smallest sizes.

For each benchmark method and each parameter combination at the smallest
``N`` of its grid: ``setup``, the method, ``teardown`` -- what asv does,
without asv. On HEAD every feature exists: a benchmark that skips fails.
"""

import inspect
import itertools
import json
import os
import random
import subprocess
import sys
import types

import numpy as np
import pytest

import paralleldot
from _clone import REPO as ROOT
from benchmarks import (
    bench_bandwidth,
    bench_dot,
    bench_memory,
    bench_speedup,
    common,
)

MODULES = (bench_dot, bench_speedup, bench_bandwidth, bench_memory)
PREFIXES = ("time_", "track_", "peakmem_", "mem_", "timeraw_")


def _benchmarks():
    """(module, class, method name) of every benchmark, as asv discovers them."""
    found = []
    for module in MODULES:
        for name, cls in vars(module).items():
            if name.startswith("_") or not inspect.isclass(cls):
                continue
            if cls.__module__ != module.__name__:
                continue
            for attr in sorted(dir(cls)):
                if attr.startswith(PREFIXES) and callable(getattr(cls, attr)):
                    found.append((module, cls, attr))
    return found


BENCHMARKS = _benchmarks()


def _id(item):
    module, cls, attr = item
    return f"{module.__name__.split('.')[-1]}.{cls.__name__}.{attr}"


def _smallest_points(cls):
    """Every parameter combination of ``cls`` with its smallest ``N``."""
    values = [list(v) for v in cls.params]
    if "N" in cls.param_names:
        i = cls.param_names.index("N")
        values[i] = [min(values[i])]
    return list(itertools.product(*values))


CASES = [
    pytest.param(item, point, id=f"{_id(item)}{point}")
    for item in BENCHMARKS
    for point in _smallest_points(item[1])
]


@pytest.fixture(scope="module", autouse=True)
def _release_pools():
    yield
    paralleldot.shutdown()


def test_suite_is_discovered():
    names = {_id(b) for b in BENCHMARKS}
    assert {
        "bench_dot.TimeDot.time_dot",
        "bench_dot.PerCallPool.time_per_call_pool",
        "bench_speedup.Speedup.track_speedup",
        "bench_speedup.Crossover.track_crossover",
        "bench_bandwidth.Bandwidth.track_bandwidth",
        "bench_memory.PeakMemory.peakmem_processes",
    } <= names


def test_only_bench_modules_hold_benchmarks():
    """asv's own discovery: the helper modules (common, scaleout_model) define no benchmark.

    A module-level function named ``time_...`` or ``track_...`` in a helper
    is a benchmark to asv, timed at every commit and listed in the site.
    """
    from asv_runner.discovery import disc_benchmarks

    names = [b.name for b in disc_benchmarks(str(ROOT / "benchmarks"))]
    assert names and all(n.split(".")[0].startswith("bench_") for n in names), sorted(
        n for n in names if not n.startswith("bench_"))


@pytest.mark.parametrize("item", BENCHMARKS, ids=_id)
def test_conventions(item):
    module, cls, attr = item
    assert "version" in vars(cls), f"{_id(item)} has no explicit version"
    assert cls.version.endswith(f"+{common.PROFILE}")
    assert len(cls.params) == len(cls.param_names)
    method = getattr(cls, attr)
    assert getattr(method, "pretty_name", "")
    assert list(inspect.signature(method).parameters) == ["self", *cls.param_names]
    if "dtype" in cls.param_names:
        assert list(cls.params[cls.param_names.index("dtype")]) == list(common.DTYPES)
    if attr.startswith("track_"):
        assert getattr(method, "unit", None) or getattr(cls, "unit", None)


@pytest.mark.parametrize("item, point", CASES)
def test_runs_once_on_smallest_size(item, point):
    module, cls, attr = item
    method = getattr(cls, attr)
    bench = cls()
    try:
        bench.setup(*point)
    except NotImplementedError as exc:
        # asv runs teardown after a skipping setup too: it must not fail.
        if hasattr(bench, "teardown"):
            bench.teardown(*point)
        pytest.fail(f"skipped on HEAD, where every feature exists: {exc}")
    try:
        value = method(bench, *point)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*point)
    if attr.startswith("track_"):
        assert isinstance(value, float) and np.isfinite(value) and value > 0
    else:
        assert value is None


def test_the_control_series_do_not_use_the_package():
    """numpy.dot and the example's per-call pool: the noise floor of the history."""
    assert common.NUMPY_DOT in bench_dot.TimeDot.params[0]
    assert bench_dot.PerCallPool.param_names == ["N", "workers"]
    assert bench_dot.PerCallPool.rounds == bench_dot.TimeDot.rounds >= 2
    assert "paralleldot" not in common.per_call_pool_dot.__code__.co_names


def test_profiles(monkeypatch):
    monkeypatch.delenv(common.PROFILE_ENV, raising=False)
    assert common.profile() == "default"
    for name in ("quick", "default", "gate", "full"):
        monkeypatch.setenv(common.PROFILE_ENV, name.upper())
        assert common.profile() == name
        grid = common.PROFILES[name]
        assert {"float64", "int32"} <= set(grid.dtypes) and 2 in grid.workers
    assert {"float64", "float32", "int64", "int32"} <= set(common.PROFILES["full"].dtypes)
    assert max(common.PROFILES["full"].sizes) == 10**8
    monkeypatch.setenv(common.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match="quick, default, gate, full"):
        common.profile()


def test_require_size():
    common.require_size(max(common.SIZES))
    with pytest.raises(NotImplementedError, match="profile"):
        common.require_size(7)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "complex128", "bool", "uint8"])
def test_vectors_are_seeded_cached_and_read_only(dtype):
    a, b = common.vectors(1000, dtype)
    assert a.dtype == np.dtype(dtype) and a.shape == (1000,)
    assert common.vectors(1000, dtype)[0] is a
    assert not a.flags.writeable and not b.flags.writeable
    common.vectors.cache_clear()
    again = common.vectors(1000, dtype)
    np.testing.assert_array_equal(again[0], a)
    np.testing.assert_array_equal(again[1], b)
    assert not np.array_equal(a, b)
    if a.dtype.kind in "fc":
        assert np.abs(a).max() <= 1.5
    shared = common.shared_vectors(1000, dtype)
    np.testing.assert_array_equal(shared[0], a)


def test_half_decades():
    assert common.half_decades(10**3, 10**5) == [1000, 3000, 10_000, 30_000, 100_000]
    assert common.half_decades(10**3, 2000) == [1000]


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
def test_per_call_pool_matches_numpy_and_example_cuts(workers):
    a, b = common.vectors(1000)
    expected = np.dot(a, b)
    got = common.per_call_pool_dot(a, b, workers)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_parallel_copy_copies():
    a, _ = common.vectors(1000)
    for workers in (1, 2, 4):
        copy = common.ParallelCopy(a, workers)
        try:
            copy()
            np.testing.assert_array_equal(copy.dst, a)
        finally:
            copy.close()


def test_implementations_compute_the_dot_product():
    for impl in [*bench_dot.IMPLS, common.PER_CALL_POOL]:
        for dtype in ("float64", "int32"):
            call = common.Implementation(impl, 10**4, 2, dtype)
            try:
                a, b = common.vectors(10**4, dtype)
                assert call() == pytest.approx(np.dot(a, b), rel=1e-9)
            finally:
                call.close()
    with pytest.raises(ValueError, match="implementation must be one of numpy.dot, per_call_pool, .*got .fortran."):
        common.Implementation("fortran", 10, 1, "float64")


def test_every_sample_finds_its_process_pool_started():
    """asv runs setup, the timed calls and teardown once per sample, in one process.

    teardown stops the pool; the next setup must start it again (outside
    timing), or every sample after the first times a pool's start-up.
    """
    from paralleldot import _pools

    bench = bench_dot.TimeDot()
    point = ("processes", 10**4, 2, "float64")
    for sample in range(3):
        bench.setup(*point)
        try:
            assert _pools._processes.executor is not None, f"sample {sample}: no pool"
            bench.time_dot(*point)
        finally:
            bench.teardown(*point)
        assert _pools._processes.executor is None


def test_the_process_pool_stays_between_samples_and_stops_after_the_last():
    """asv_runner's ``redo_setup`` runs teardown then setup between two samples.

    There the pool and the shared vectors stay; the last teardown of the
    process (not called from ``redo_setup``) stops the pool.
    """
    from paralleldot import _pools

    bench = bench_dot.TimeDot()
    point = ("processes", 10**4, 2, "float64")

    def redo_setup():  # the name asv_runner's Benchmark method has
        bench.teardown(*point)
        bench.setup(*point)

    bench.setup(*point)
    try:
        executor = _pools._processes.executor
        assert executor is not None
        for _ in range(3):
            bench.time_dot(*point)
            redo_setup()
            assert _pools._processes.executor is executor
    finally:
        bench.teardown(*point)
    assert _pools._processes.executor is None


def test_process_pools_that_outlive_asv_are_skipped(monkeypatch):
    """Commits before 37e390a: their workers and shared vectors outlived asv's processes."""
    from paralleldot import _shm

    common.require_process_pool_that_ends_with_its_owner()
    monkeypatch.delattr(_shm, "unlink_attached")
    for impl in ("processes",):
        with pytest.raises(NotImplementedError, match="outlives asv's benchmark processes"):
            common.Implementation(impl, 10**4, 2, "float64")
    with pytest.raises(NotImplementedError, match="outlives"):
        bench_memory.PeakMemory().setup("shared", 10**6, 2)
    common.Implementation("threads", 10**4, 2, "float64").close()


def test_missing_feature_is_a_skip(monkeypatch):
    monkeypatch.setattr(paralleldot, "BACKENDS", ("serial",))
    for impl in ("threads", "auto", "processes"):
        with pytest.raises(NotImplementedError, match=impl):
            bench_dot.TimeDot().setup(impl, 10**4, 2, "float64")
    with pytest.raises(NotImplementedError):
        bench_speedup.Crossover().setup("float64", 2)
    monkeypatch.delattr(paralleldot, "BACKENDS")
    with pytest.raises(NotImplementedError):
        bench_memory.PeakMemory().setup("shared", 10**6, 2)


def test_crossover_finds_the_first_size_from_which_the_split_wins(monkeypatch):
    """On a tiny grid, with a fake speedup: wins from 3e3 on, but not at 1e3."""
    bench = bench_speedup.Crossover()
    bench.setup("float64", 2)
    try:
        bench.grid = [10, 30, 100, 300]
        ratios = {10: 0.5, 30: 1.2, 100: 0.9, 300: 1.5}  # a noisy win at 30 does not count
        sizes = iter(bench.grid)
        monkeypatch.setattr(common, "speedup", lambda ref, split, samples: ratios[next(sizes)])
        assert bench.track_crossover("float64", 2) == 300.0
        ratios[100] = 1.1
        sizes = iter(bench.grid)
        assert bench.track_crossover("float64", 2) == 30.0
        ratios[300] = 0.99
        sizes = iter(bench.grid)
        assert bench.track_crossover("float64", 2) == 3000.0  # never: 10x the largest N
    finally:
        bench.teardown("float64", 2)


def test_crossover_on_a_real_tiny_grid():
    bench = bench_speedup.Crossover()
    bench.setup("int32", 2)
    try:
        bench.grid = [1000, 3000, 10_000]
        value = bench.track_crossover("int32", 2)
        assert value in (1000.0, 3000.0, 10_000.0, 100_000.0)
    finally:
        bench.teardown("int32", 2)


def test_speedup_helper():
    # Sleeps, not arithmetic: the ratio must not depend on the machine's load.
    import time

    def once():
        time.sleep(0.002)

    def twice():
        time.sleep(0.004)

    ratio = common.speedup(twice, once)
    assert 1.5 < ratio < 2.5


@pytest.mark.parametrize("env, expected", [
    ({}, 2),
    ({"OPENBLAS_NUM_THREADS": "1"}, 1),
    ({"OMP_NUM_THREADS": "1,1"}, 1),
    ({"MKL_NUM_THREADS": "not a number"}, 2),
])
def test_the_numpy_dot_reference_keeps_the_environment_s_blas_cap(env, expected):
    """The gate's OPENBLAS_NUM_THREADS=1 holds for the reference, which asks for 2 workers."""
    script = (
        "import numpy as np\n"
        "from threadpoolctl import threadpool_info\n"
        "from benchmarks import common\n"
        "ref = common.Implementation(common.NUMPY_DOT, 10**4, 2, 'float64')\n"
        "print(max(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'))\n"
        "ref.close()\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in common.BLAS_THREAD_VARIABLES}
    # The library starts with 2 threads (or this machine's cores), then the cap applies.
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, check=True)
    assert int(out.stdout.split()[-1]) == expected, out.stderr


# --- the peers (what users pick instead) ---------------------------------------


def test_the_registry_names_the_peers_once():
    assert common.PEERS == ("numpy.einsum", "numpy.inner", "numpy.vdot", "numpy.mul_sum",
                            "numba.prange", "torch.dot")
    assert common.IMPLEMENTATIONS == (common.NUMPY_DOT, common.PER_CALL_POOL, *common.SPLITS,
                                      *common.PEERS)
    assert len(set(common.IMPLEMENTATIONS)) == len(common.IMPLEMENTATIONS)
    # the default profile (the history's budget) does not grow; full has the peers
    assert common.implementations_in("default") == [common.NUMPY_DOT, *common.SPLITS]
    assert common.implementations_in("gate") == [common.NUMPY_DOT, *common.SPLITS]
    assert common.implementations_in("full") == [common.NUMPY_DOT, *common.SPLITS,
                                                       *common.PEERS]
    assert bench_dot.TimeDot.params[0] == common.implementations_in()
    from benchtools import compare, report

    assert report.IMPLS == common.IMPLEMENTATIONS and compare.PEERS is common.PEERS


def _installed(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "complex128"])
@pytest.mark.parametrize("impl", common.PEERS)
def test_each_peer_computes_the_dot_product_or_skips(impl, dtype):
    bench = bench_dot.TimeDot()
    point = (impl, 10**4, 2, dtype)
    try:
        bench.setup(*point)
    except NotImplementedError as exc:
        bench.teardown(*point)
        assert impl in ("numba.prange", "torch.dot") and not _installed(impl.split(".")[0]), exc
        # scripts/test.sh installs numba, and torch's CPU build where pip finds one
        pytest.skip(f"{impl}: {exc}")
    try:
        assert bench.time_dot(*point) is None
        a, b = common.vectors(10**4, dtype)
        expected = np.vdot(a, b) if impl == "numpy.vdot" else np.dot(a, b)
        value = complex(np.asarray(bench.impl()).item())
        assert value == pytest.approx(complex(expected), rel=1e-4 if dtype == "float32" else 1e-9)
        if impl in common.BLAS_PEERS:
            assert bench.impl.blas is not None  # capped at workers threads like numpy.dot
    finally:
        bench.teardown(*point)


@pytest.mark.parametrize("impl, module", [("numba.prange", "numba"), ("torch.dot", "torch")])
def test_a_peer_that_is_not_installed_is_skipped(impl, module, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    monkeypatch.setattr(common, "_numba_prange", common._numba_prange.__wrapped__)
    bench = bench_dot.TimeDot()
    with pytest.raises(NotImplementedError, match=f"{module} is not installed"):
        bench.setup(impl, 10**3, 2, "float64")
    bench.teardown(impl, 10**3, 2, "float64")  # asv runs it after a skip: it must not fail


def test_torch_skips_a_dtype_it_does_not_take(monkeypatch):
    """torch.dot raises RuntimeError for a dtype it lacks (uint64): the point is skipped.

    A stand-in module answers as torch 2.13 does, so that the rule is tested
    where torch is not installed (CI installs no torch: it is a peer, not a
    dependency).
    """
    fake = types.ModuleType("torch")
    fake.from_numpy = lambda array: array

    def dot(x, y):
        if x.dtype == np.uint64:
            raise RuntimeError('"dot" not implemented for \'UInt64\'')
        return np.dot(x, y)

    fake.dot = dot
    monkeypatch.setitem(sys.modules, "torch", fake)
    with pytest.raises(NotImplementedError, match="torch.dot: \"dot\" not implemented"):
        common.dot_function("torch.dot", *common.vectors(100, "uint64"), 1)


def test_no_pinned_matrix_package_is_a_build_requirement():
    # asv 0.6 installs pyproject.toml's build-system.requires into every
    # environment with "pip install --upgrade", after the matrix's pins: a
    # package pinned by the matrix and listed there is replaced by its newest
    # release (numpy>=1.26 there made the numpy 1.26.4 environment run 2.2.6).
    from asv import util
    from packaging.requirements import Requirement

    try:
        import tomllib
    except ImportError:  # Python 3.10: asv's own dependency
        import tomli as tomllib

    conf = util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    pinned = {name for name, versions in conf["matrix"]["req"].items()
              if any(versions)}
    assert "numpy" in pinned
    with open(ROOT / "pyproject.toml", "rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    built_with = {Requirement(r).name for r in requires}
    assert not built_with & pinned, (
        f"{sorted(built_with & pinned)} in build-system.requires would override the matrix's "
        f"pins: give them to the build in setup.py (setup_requires) instead")


# --- interleaved sampling ------------------------------------------------------


def _recorders(count, log):
    def make(i):
        return lambda: log.append(i)

    return [make(i) for i in range(count)]


def test_interleaved_times_sample_each_function_once_a_round_in_a_fixed_order():
    log = []
    times = common.interleaved_times(_recorders(4, log), samples=5, sample_time=0.0)
    assert [len(t) for t in times] == [5] * 4
    rounds = log[2 * 4:]  # after each function's calibration (a call, then one timed)
    assert rounds == [0, 1, 2, 3] * 5


def test_interleaved_times_can_draw_each_rounds_order_anew():
    log = []
    times = common.interleaved_times(_recorders(6, log), samples=8, sample_time=0.0,
                                     shuffle=random.Random(0))
    assert [len(t) for t in times] == [8] * 6
    rounds = [log[2 * 6 + 6 * r: 2 * 6 + 6 * (r + 1)] for r in range(8)]
    assert all(sorted(r) == list(range(6)) for r in rounds)  # each once a round
    assert len({tuple(r) for r in rounds}) > 1  # and not always in the same order


_FORKSERVER = r'''
import json, os, resource, sys

sys.argv = ["benchmark.py", "run_server"]  # as asv starts its forkserver
from asv_runner.discovery import disc_benchmarks
for _ in disc_benchmarks("benchmarks", ignore_import_errors=False):  # the server's preimport
    pass
import numpy as np
from benchmarks import bench_memory, common

out = {"preloaded": sorted(f"{n}/{d}" for n, d in common._preloaded),
       "same": all(np.array_equal(v, w) for v, w in zip(common.vectors(10**6),
                                                        common._draw(10**6, "float64", np.empty))),
       "bytes": sum(a.nbytes + b.nbytes for a, b in common._preloaded.values())}
for kind in ("shared", "ordinary"):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # one benchmark process, as the server forks it
        bench = bench_memory.PeakMemory()
        bench.setup(kind, 10**6, 2)
        bench.peakmem_processes(kind, 10**6, 2)
        os.write(w, str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024).encode())
        bench.teardown(kind, 10**6, 2)
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    out[kind] = int(os.read(r, 64))
print(json.dumps(out))
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="asv's forkserver and clear_refs: Linux")
def test_the_forkserver_draws_the_vectors_once_and_peak_memory_does_not_count_them():
    env = {**os.environ, common.PROFILE_ENV: "default"}
    proc = subprocess.run([sys.executable, "-c", _FORKSERVER], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    # the default profile's sizes up to 1e7 and Crossover's grid, its dtypes and float64
    assert {"10000000/float64", "10000000/int32", "3000000/float64", "1000/int32"} <= set(out["preloaded"])
    assert out["same"], "preloaded vectors differ from the ones drawn in a process"
    assert out["bytes"] > 300e6
    # The 347 MB a benchmark process inherits are not its peak: without
    # forget_preloaded() both kinds read about 408 MB, and without giving
    # the freed heap back to the system about 144; here about 53 (the
    # imports, and shared's 16 MB of 1e6 inputs held once; ordinary copies
    # them at the call).
    assert out["shared"] < out["bytes"] / 4, out
    assert 8e6 < out["ordinary"] - out["shared"] < 48e6, out


def test_an_imported_suite_draws_nothing_ahead():
    """Only asv's forkserver preloads: tests, tools and asv's discovery import the suite for free."""
    assert not common._in_asv_forkserver()
    assert common._preloaded == {}
    common.forget_preloaded()  # nothing to forget: no error off the forkserver
