"""Every benchmark of benchmarks/ called directly once on the smallest size.

For each benchmark method and each ``workers``: ``setup``, the method,
``teardown`` -- what asv does, without asv. A benchmark skipped because its
feature does not exist at this commit is reported as a pytest skip; on HEAD
the only such skips should be features not merged yet.
"""

import inspect
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import paralleldot  # noqa: E402
from benchmarks import (  # noqa: E402
    bench_bandwidth,
    bench_dot,
    bench_memory,
    bench_speedup,
    common,
)

MODULES = (bench_dot, bench_speedup, bench_bandwidth, bench_memory)
PREFIXES = ("time_", "track_", "peakmem_", "mem_", "timeraw_")
SMALLEST = min(common.SIZES)


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


@pytest.fixture(scope="module", autouse=True)
def _release_pools():
    yield
    paralleldot.shutdown()


def test_suite_is_discovered():
    names = {_id(b) for b in BENCHMARKS}
    assert "bench_dot.NumpyDot.time_numpy_dot" in names
    assert "bench_dot.Threads.time_threads" in names
    assert "bench_speedup.Threads.track_speedup" in names
    assert len(names) >= 12


@pytest.mark.parametrize("item", BENCHMARKS, ids=_id)
def test_conventions(item):
    module, cls, attr = item
    assert "version" in vars(cls), f"{_id(item)} has no explicit version"
    assert cls.param_names[:2] == ["N", "workers"]
    assert list(cls.params[0]) == list(common.SIZES)
    assert {1, 2, 4} <= set(cls.params[1])
    method = getattr(cls, attr)
    assert getattr(method, "pretty_name", "")
    assert list(inspect.signature(method).parameters) == ["self", "N", "workers"]
    if attr.startswith("track_"):
        assert getattr(method, "unit", None) or getattr(cls, "unit", None)


@pytest.mark.parametrize("workers", common.WORKERS)
@pytest.mark.parametrize("item", BENCHMARKS, ids=_id)
def test_runs_once_on_smallest_size(item, workers):
    module, cls, attr = item
    bench = cls()
    try:
        bench.setup(SMALLEST, workers)
    except NotImplementedError as exc:
        # asv runs teardown after a skipping setup too: it must not fail.
        if hasattr(bench, "teardown"):
            bench.teardown(SMALLEST, workers)
        pytest.skip(f"skipped by design at this commit: {exc}")
    try:
        value = getattr(bench, attr)(SMALLEST, workers)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(SMALLEST, workers)
    if attr.startswith("track_"):
        assert isinstance(value, float) and np.isfinite(value) and value > 0
    else:
        assert value is None


def test_profiles(monkeypatch):
    monkeypatch.delenv(common.PROFILE_ENV, raising=False)
    assert common.profile() == "default"
    common.require_size(10**7)
    with pytest.raises(NotImplementedError):
        common.require_size(10**8)
    monkeypatch.setenv(common.PROFILE_ENV, "quick")
    common.require_size(10**5)
    with pytest.raises(NotImplementedError):
        common.require_size(10**6)
    monkeypatch.setenv(common.PROFILE_ENV, "full")
    common.require_size(10**8)
    monkeypatch.setenv(common.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match="quick, default, full"):
        common.profile()


def test_vectors_are_seeded_cached_and_read_only():
    a, b = common.vectors(SMALLEST)
    assert a.dtype == np.float64 and a.shape == (SMALLEST,)
    assert common.vectors(SMALLEST)[0] is a
    assert not a.flags.writeable
    rng = np.random.default_rng([common.SEED, SMALLEST])
    np.testing.assert_array_equal(a, rng.standard_normal(SMALLEST))
    np.testing.assert_array_equal(b, rng.standard_normal(SMALLEST))


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
def test_per_call_pool_matches_numpy_and_example_cuts(workers):
    a, b = common.vectors(SMALLEST)
    expected = np.dot(a, b)
    got = common.per_call_pool_dot(a, b, workers)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_parallel_copy_copies():
    a, _ = common.vectors(SMALLEST)
    for workers in (1, 2, 4):
        copy = common.ParallelCopy(a, workers)
        try:
            copy()
            np.testing.assert_array_equal(copy.dst, a)
        finally:
            copy.close()


@pytest.mark.parametrize("item", BENCHMARKS, ids=_id)
def test_size_outside_profile_is_a_skip_and_teardown_survives(item, monkeypatch):
    module, cls, attr = item
    monkeypatch.setenv(common.PROFILE_ENV, "quick")
    bench = cls()
    with pytest.raises(NotImplementedError):
        bench.setup(10**6, 2)
    if hasattr(bench, "teardown"):
        bench.teardown(10**6, 2)


def test_missing_feature_is_a_skip(monkeypatch):
    monkeypatch.setattr(paralleldot, "BACKENDS", ("serial",))
    for cls in (bench_dot.Threads, bench_speedup.Threads, bench_bandwidth.Threads):
        with pytest.raises(NotImplementedError):
            cls().setup(SMALLEST, 2)
    monkeypatch.delattr(paralleldot, "BACKENDS")
    with pytest.raises(NotImplementedError):
        bench_dot.Processes().setup(SMALLEST, 2)


def test_speedup_helper():
    # Sleeps, not arithmetic: the ratio must not depend on the machine's load.
    import time

    def once():
        time.sleep(0.002)

    def twice():
        time.sleep(0.004)

    ratio = common.speedup(twice, once)
    assert 1.5 < ratio < 2.5
