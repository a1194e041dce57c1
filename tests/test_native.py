"""The compiled kernel (paralleldot._native) against numpy.dot, and the package without it."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from paralleldot import _kernels, parallel_dot

from test_api import assert_same_as_numpy, run_callers  # noqa: E402  (tests/ is on sys.path: rootdir conftest)

native = _kernels._native
pytestmark = pytest.mark.skipif(native is None, reason="built without the C extension")

INTEGERS = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"]
FLOATS = ["f4", "f8", "c8", "c16"]
#: Lengths around the loops' lanes (up to 64 elements) and the team's cuts (64 elements).
LENGTHS = [0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 127, 129, 1000, 4097]
#: Enough elements that 2 to 5 threads each get a chunk (32 KiB per thread at least).
LARGE = 300_007


def _full_range(dtype, n, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("threads", [1, 2, 3, 5, 64, 1000])
@pytest.mark.parametrize("dtype", INTEGERS)
def test_integers_wrap_exactly_like_numpy_dot(dtype, threads):
    for n in [*LENGTHS, LARGE]:
        a, b = _full_range(dtype, n, 1), _full_range(dtype, n, 2)
        expected = np.dot(a, b)
        result = native.dot(a, b, threads)
        assert result.dtype == expected.dtype and result == expected, (n, result, expected)


@settings(max_examples=80, deadline=None)
@given(dtype=st.sampled_from(INTEGERS), n=st.integers(0, 700), threads=st.integers(1, 6), data=st.data())
def test_integers_any_values(dtype, n, threads, data):
    a = data.draw(hnp.arrays(np.dtype(dtype), n))
    b = data.draw(hnp.arrays(np.dtype(dtype), n))
    expected = np.dot(a, b)
    result = native.dot(a, b, threads)
    assert result.dtype == expected.dtype and result == expected


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
@pytest.mark.parametrize("dtype", FLOATS)
def test_floats_within_the_rounding_bound(dtype, threads):
    rng = np.random.default_rng(5)
    for n in [*LENGTHS, LARGE]:
        a = rng.standard_normal(2 * n).view("c16")[:n] if dtype[0] == "c" else rng.standard_normal(n)
        b = rng.standard_normal(2 * n).view("c16")[:n] if dtype[0] == "c" else rng.standard_normal(n)
        a, b = a.astype(dtype), b.astype(dtype)
        assert_same_as_numpy(native.dot(a, b, threads), a, b)


def test_complex_is_not_conjugated():
    a = np.array([1j, 2, 3 - 1j, 4j] * 20)
    for dtype in ("c8", "c16"):
        x = a.astype(dtype)
        result = native.dot(x, x, 2)
        assert result == np.dot(x, x) and result != np.vdot(x, x)


@pytest.mark.parametrize("dtype", ["f4", "f8", "c16"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(dtype, bad):
    a = np.ones(LARGE, dtype)
    a[LARGE // 2] = bad
    b = np.ones(LARGE, dtype)
    with np.errstate(invalid="ignore"):  # OpenBLAS's complex inf * 1 (see docs/package.md)
        expected = np.dot(a, b)
    for threads in (1, 2):
        result = native.dot(a, b, threads)
        if a.dtype.kind == "f":
            np.testing.assert_equal(result, expected)
        else:
            # A complex inf: which part is NaN and which inf depends on the
            # BLAS kernel's arithmetic (OpenBLAS gives nan+nanj for
            # (inf+0j)(1+0j), the textbook product inf+nanj): only the
            # non-finite parts are the same.
            for part in (np.real, np.imag):
                assert np.isfinite(part(result)) == np.isfinite(part(expected))


def test_what_it_does_not_take_returns_none():
    f8 = np.arange(1000.0)
    i4 = np.arange(1000, dtype=np.int32)
    unaligned = np.frombuffer(bytes(8001), dtype=np.uint8)[1:].view("f8")
    for a, b in [
        (f8[::2], f8[::2]),                    # strided
        (f8[::-1], f8),                        # reversed
        (f8.astype(">f8"), f8.astype(">f8")),  # other byte order
        (unaligned, unaligned),
        (i4, f8),                              # mixed dtypes
        (i4, i4.astype("i8")),
        (f8.astype("f2"), f8.astype("f2")),    # no loop for these
        (f8.astype("g"), f8.astype("g")),
        (f8.astype("G"), f8.astype("G")),
        (i4.astype("?"), i4.astype("?")),
        (f8.reshape(10, 100), f8.reshape(10, 100)),
        (f8, f8[:999]),                        # lengths differ
        (f8.tolist(), f8),                     # not an ndarray
    ]:
        assert native.dot(a, b, 2) is None
        if isinstance(a, np.ndarray):
            assert not native.supports(a, b)
        if isinstance(a, np.ndarray) and a.ndim == 1 and a.shape == b.shape:
            with np.errstate(over="ignore"):  # float16 overflows, in numpy.dot too
                assert_same_as_numpy(parallel_dot(a, b, workers=2), a, b)  # numpy does them
    for threads in (0, -1, 2.0, True, "2"):
        assert native.dot(f8, f8, threads) is None


def test_workers_none_is_the_default_count():
    a = np.arange(LARGE, dtype=np.int32)
    assert native.dot(a, a, None) == np.dot(a, a)


def test_concurrent_callers_share_the_team():
    pairs = [(_full_range("i8", LARGE + i, i), _full_range("i8", LARGE + i, 100 + i)) for i in range(6)]
    errors = []

    def call(i):
        a, b = pairs[i]
        for _ in range(20):
            if native.dot(a, b, 1 + i % 4) != np.dot(a, b):
                errors.append(i)

    finished = run_callers([threading.Thread(target=call, args=(i,)) for i in range(len(pairs))])
    assert not errors and finished


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_rebuilds_the_team():
    a = _full_range("i4", LARGE, 9)
    expected = np.dot(a, a)
    assert native.dot(a, a, 3) == expected and native.team_size() >= 2  # the parent's team
    pid = os.fork()
    if pid == 0:  # the child: no worker survived the fork
        ok = native.team_size() == 0 and native.dot(a, a, 3) == expected and native.team_size() >= 2
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert native.dot(a, a, 3) == expected


@pytest.mark.parametrize("dtype", FLOATS)
def test_floats_same_bits_whichever_thread_takes_a_chunk(dtype):
    # Chunks go to whichever thread takes them first; their sums are added
    # in chunk order, so a call's result never depends on that race.
    rng = np.random.default_rng(13)
    a = rng.standard_normal(2 * LARGE).astype(np.empty(0, dtype).real.dtype).view(dtype)
    first = native.dot(a, a, 3)
    results = {native.dot(a, a, 3).tobytes() for _ in range(200)}
    assert results == {first.tobytes()}


def _os_threads():
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="no /proc")
def test_shutdown_ends_the_team_and_the_next_call_starts_one():
    import paralleldot

    a = _full_range("i8", LARGE, 11)
    expected = np.dot(a, a)
    assert native.dot(a, a, 4) == expected
    workers = native.team_size()
    assert workers >= 3
    before = _os_threads()
    paralleldot.shutdown()
    assert native.team_size() == 0
    # The workers' threads are gone, not parked. A worker has said it leaves
    # when shutdown() returns; the kernel removes its task a moment later.
    deadline = time.monotonic() + 5
    while _os_threads() > before - workers and time.monotonic() < deadline:
        time.sleep(0.001)
    assert _os_threads() <= before - workers
    assert native.dot(a, a, 4) == expected and native.team_size() >= 3
    native.stop()
    native.stop()  # twice, or with no team: harmless
    assert native.team_size() == 0


def test_stop_while_other_threads_call():
    a = _full_range("i4", LARGE, 12)
    expected = np.dot(a, a)
    errors, done = [], threading.Event()

    def call():
        try:
            while not done.is_set():
                if native.dot(a, a, 3) != expected:
                    errors.append("wrong result")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    def stop_them():
        for _ in range(200):
            native.stop()
        done.set()

    finished = run_callers([threading.Thread(target=call) for _ in range(3)], meanwhile=stop_them)
    assert not errors and finished


@pytest.mark.parametrize("dtype", [*INTEGERS, *FLOATS])
def test_auto_small_and_large_through_the_fast_path(dtype):
    for n in (0, 1, 1000, 5000, LARGE):
        if np.dtype(dtype).kind in "iu":
            a, b = _full_range(dtype, n, 4), _full_range(dtype, n, 6)
        else:
            a = (np.arange(n) % 11 - 5).astype(dtype)
            b = (np.arange(n) % 5 - 2).astype(dtype)
        for workers in (None, 1, 2, 3):
            for _ in range(3):
                assert_same_as_numpy(parallel_dot(a, b, workers=workers), a, b)


def test_fast_path_leaves_bad_input_to_python():
    with pytest.raises(ValueError, match="same length"):
        parallel_dot(np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match="workers must be"):
        parallel_dot(np.ones(5), np.ones(5), workers=0)
    with pytest.raises(TypeError, match="workers must be"):
        parallel_dot(np.ones(5), np.ones(5), workers=2.0)
    with pytest.raises(ValueError, match="backend must be one of"):
        parallel_dot(np.ones(5), np.ones(5), backend="gpu")


def test_the_package_without_the_compiled_kernel():
    """PARALLELDOT_NO_NATIVE=1: what a build without a C compiler runs (numpy kernels)."""
    code = (
        "import numpy as np, paralleldot\n"
        "from paralleldot import _kernels, _api\n"
        "assert _kernels._native is None and _api._FAST is None\n"
        "for dt in ['i4', 'i8', 'u1', 'f4', 'f8', 'c16', '?']:\n"
        "    a = (np.arange(100_003) % 7).astype(dt)\n"
        "    for backend in ('auto', 'threads', 'serial'):\n"
        "        for _ in range(3):\n"
        "            assert paralleldot.parallel_dot(a, a, workers=2, backend=backend) == np.dot(a, a)\n"
        "assert _kernels.for_vectors(a.astype('i4'), a.astype('i4')) is _kernels.einsum_dot\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PARALLELDOT_NO_NATIVE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


_OFF_CALLER = r"""
import json, os, subprocess, sys, threading, time
import numpy as np
from paralleldot import _kernels
native = _kernels._native
cpus = sorted(os.sched_getaffinity(0))
caller_cpu, other_cpu = cpus[0], cpus[1]
rng = np.random.default_rng(0)
a, b = rng.random(10**6), rng.random(10**6)
before = set(map(int, os.listdir("/proc/self/task")))
first = native.dot(a, b, 2)  # starts the team with the process's whole affinity
workers = sorted(set(map(int, os.listdir("/proc/self/task"))) - before)
# Every CPU busy, as when another library's thread spins: the caller pinned
# to one CPU, a process that never yields on the other.
# (The hog dies with this process: PR_SET_PDEATHSIG, SIGKILL.)
hog = subprocess.Popen([sys.executable, "-c",
                        "import ctypes, os\nctypes.CDLL(None).prctl(1, 9)\n"
                        f"os.sched_setaffinity(0, {{{other_cpu}}})\nwhile True: pass"])


def sleep_on_the_callers_cpu():
    # The worker falls asleep on the caller's CPU (pinned there), then may
    # run anywhere again; woken with no CPU idle, it wakes where it slept.
    for w in workers:
        os.sched_setaffinity(w, {caller_cpu})
    time.sleep(0.002)
    for w in workers:
        os.sched_setaffinity(w, cpus)


def call_after_sleeping_on_the_callers_cpu():
    sleep_on_the_callers_cpu()
    result = native.dot(a, b, 2)
    # The worker takes its affinity back just after its last chunk: wait for it.
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline and any(os.sched_getaffinity(w) != set(cpus) for w in workers):
        time.sleep(0.001)
    masks.append([sorted(os.sched_getaffinity(w)) for w in workers])
    return result if masks[-1] == [cpus] else None


masks = []
try:
    os.sched_setaffinity(0, {caller_cpu})
    same = True
    for _ in range(50):
        result = call_after_sleeping_on_the_callers_cpu()
        if result is None:  # an affinity not taken back: stop there
            break
        same = same and result.tobytes() == first.tobytes()
    moved = native.moves()
    # Pinned between calls once settle() has returned (as the gate pins a
    # build's threads after warming it), a worker keeps the pin: none puts
    # back an affinity of its own after that.
    kept = []
    for _ in range(20):
        sleep_on_the_callers_cpu()
        native.dot(a, b, 2)  # a job that moves, half the time
        native.settle()
        for w in workers:
            os.sched_setaffinity(w, {other_cpu})
        time.sleep(0.02)  # a worker that would put its affinity back has done it
        kept.append([sorted(os.sched_getaffinity(w)) for w in workers] == [[other_cpu]])
    # A worker pinned to the caller's CPU alone is left there.
    before_pinned = native.moves()
    for w in workers:
        os.sched_setaffinity(w, {caller_cpu})
    same_pinned = all(native.dot(a, b, 2).tobytes() == first.tobytes() for _ in range(100))
    pinned = [sorted(os.sched_getaffinity(w)) for w in workers]
    print(json.dumps({"cpus": cpus, "workers": len(workers), "same": same, "moved": moved,
                      "kept": kept,
                      "masks": masks, "same_pinned": same_pinned,
                      "moved_pinned": native.moves() - before_pinned, "pinned": pinned,
                      "close": bool(np.isclose(first, np.dot(a, b), rtol=1e-12))}))
finally:
    hog.kill()
    hog.wait()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                    reason="Linux affinity with two CPUs or more")
def test_a_worker_woken_on_the_callers_cpu_runs_the_job_off_it():
    # In a child process: its affinity changes and the CPU hog stay there.
    done = subprocess.run([sys.executable, "-c", _OFF_CALLER], capture_output=True, text=True,
                          timeout=120, check=True)
    out = json.loads(done.stdout)
    assert out["workers"] == 1 and out["same"] and out["close"]
    # Woken on the caller's CPU, it leaves it for the job...
    assert out["moved"] >= 1
    # ... for the job only: after each call its affinity is the one it had.
    assert out["masks"] == [[out["cpus"]]] * 50
    # Pinned between calls after settle(): the pin stays.
    assert out["kept"] == [True] * 20
    # Pinned to the caller's CPU alone, it stays there and computes the same.
    assert out["same_pinned"] and out["moved_pinned"] == 0 and out["pinned"] == [[out["cpus"][0]]]
