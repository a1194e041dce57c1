"""The process backend: shared memory, cleanup, pool reuse, dead workers."""

import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import loky
import numpy as np
import pytest

import paralleldot
from paralleldot import _pools, parallel_dot, shared_empty
from paralleldot.backends import processes

from conftest import segment_exists


def test_shared_empty_is_a_writable_numeric_vector(no_leaked_segments):
    a = shared_empty(10, np.int32)
    assert a.shape == (10,) and a.dtype == np.int32 and a.flags.writeable
    a[:] = np.arange(10)
    assert parallel_dot(a, a, workers=3, backend="processes") == 285
    assert shared_empty(0).shape == (0,)


@pytest.mark.parametrize("dtype", [object, "U3", "M8[s]"])
def test_shared_empty_refuses_non_numeric_dtypes(dtype):
    with pytest.raises(TypeError, match="dtype must be numeric .*got"):
        shared_empty(3, dtype)


@pytest.mark.parametrize("n, error", [(-1, ValueError), (2.5, TypeError)])
def test_shared_empty_bad_length(n, error):
    with pytest.raises(error, match="n must be an integer >= 0"):
        shared_empty(n)


def test_shared_vectors_are_read_in_place(no_leaked_segments, monkeypatch):
    a = shared_empty(1000)
    a[:] = np.linspace(0, 1, 1000)
    copies = []
    original = processes._shm._copy_to_segment
    monkeypatch.setattr(processes._shm, "_copy_to_segment", lambda x: copies.append(x) or original(x))
    for view in [a, a[10:500], a[::-7]]:
        assert parallel_dot(view, view, workers=2, backend="processes") == pytest.approx(np.dot(view, view), rel=1e-12)
    assert copies == []
    plain = np.ones(1000)
    parallel_dot(a, plain, workers=2, backend="processes")
    assert len(copies) == 1  # only the ordinary array is copied, once


def test_segments_are_released_when_the_array_dies():
    a = shared_empty(100)
    name = a.base.name
    view = a[::2]
    del a
    assert segment_exists(name)  # the view keeps it alive
    del view
    assert not segment_exists(name)


def test_temporary_copies_are_unlinked_after_each_call(no_leaked_segments):
    a = np.arange(1000.0)
    parallel_dot(a, a, workers=2, backend="processes")
    assert len(no_leaked_segments) == 1  # one copy of a (b is a)
    parallel_dot(a, a.copy(), workers=2, backend="processes")
    assert len(no_leaked_segments) == 3


def test_no_segment_left_after_calls_errors_and_shutdown(no_leaked_segments):
    a = np.arange(1000.0)
    parallel_dot(a, a, workers=2, backend="processes")
    with pytest.raises(ValueError):
        parallel_dot(a, a[:10], backend="processes")
    with _SqrtOfMinusOneExecutor(1) as executor:
        with pytest.raises(ValueError, match="math domain error"):
            parallel_dot(a, a, workers=2, executor=executor)
    paralleldot.shutdown()


class _SqrtOfMinusOneExecutor(ProcessPoolExecutor):
    """A caller-owned process pool whose every task raises ValueError."""

    def submit(self, fn, *args, **kwargs):
        return super().submit(math.sqrt, -1)


def test_exception_in_a_worker_process_reaches_the_caller_as_itself():
    with _SqrtOfMinusOneExecutor(2) as executor:
        with pytest.raises(ValueError, match="math domain error"):
            parallel_dot(np.ones(8), np.ones(8), workers=2, executor=executor)


def test_caller_owned_process_pool_reads_shared_memory_and_stays_open():
    a = shared_empty(1000)
    a[:] = 2.0
    with ProcessPoolExecutor(2) as executor:
        assert parallel_dot(a, a, workers=2, executor=executor) == 4000.0
        assert parallel_dot(np.ones(5), np.ones(5), workers=2, executor=executor) == 5.0
        assert executor.submit(abs, -3).result() == 3


@pytest.mark.parametrize("make", ["private", "reusable"])
def test_caller_owned_loky_executor_reads_shared_memory_and_stays_open(make, monkeypatch):
    a = shared_empty(1000)
    a[:] = 2.0
    b = np.ones(1000)
    copies = []
    original = processes._shm._copy_to_segment
    monkeypatch.setattr(processes._shm, "_copy_to_segment", lambda x: copies.append(x) or original(x))
    executor = loky.ProcessPoolExecutor(2) if make == "private" else loky.get_reusable_executor(2)
    try:
        assert parallel_dot(a, a, workers=2, executor=executor) == 4000.0
        assert copies == []  # the shared vector was read in place
        assert parallel_dot(a, b, workers=3, executor=executor) == 2000.0
        assert len(copies) == 1  # the ordinary array went through shared memory
        paralleldot.shutdown()
        assert executor.submit(abs, -3).result() == 3
        assert _pools._processes.executor is not executor
    finally:
        executor.shutdown(wait=True)


def test_pool_is_created_once_and_reused():
    paralleldot.shutdown()
    a = np.ones(100)
    parallel_dot(a, a, workers=2, backend="processes")
    pool = _pools._processes.executor
    pids = set(pool._processes)
    for _ in range(5):
        parallel_dot(a, a, workers=2, backend="processes")
    assert _pools._processes.executor is pool and set(pool._processes) == pids
    parallel_dot(a, a, workers=1, backend="processes")  # fewer workers: same pool
    assert _pools._processes.executor is pool
    parallel_dot(a, a, workers=3, backend="processes")  # more: a larger one
    assert _pools._processes.executor is not pool and _pools._processes.size == 3
    paralleldot.shutdown()
    assert _pools._processes.executor is None


@pytest.mark.slow
def test_workers_that_map_large_shared_vectors_are_kept(no_leaked_segments):
    """Pages of shared vectors are no leak: loky must not restart the workers.

    loky (with psutil, which the test extra brings) restarts a worker whose
    resident size grew by 300 MB since its first task, checked at most once
    a second; each worker here maps 400 MB of the vectors.
    """
    import psutil  # noqa: F401 - loky's memory check needs it

    paralleldot.shutdown()
    n = 5 * 10**7
    a, b = shared_empty(n), shared_empty(n)
    a[:] = 1.0
    b[:] = 1.0
    assert parallel_dot(np.ones(4), np.ones(4), workers=2, backend="processes") == 4
    pids = set(_pools._processes.executor._processes)
    for _ in range(3):
        time.sleep(1.1)
        assert parallel_dot(a, b, workers=2, backend="processes") == n
    assert set(_pools._processes.executor._processes) == pids
    paralleldot.shutdown()


def test_thread_pool_is_created_once_and_reused():
    paralleldot.shutdown()
    a = np.ones(100)
    parallel_dot(a, a, workers=3, backend="threads")
    pool = _pools._threads.executor
    for _ in range(5):
        parallel_dot(a, a, workers=2, backend="threads")
    assert _pools._threads.executor is pool


def test_killed_worker_gives_a_clear_error_and_the_next_call_works(no_leaked_segments):
    paralleldot.shutdown()
    # float16 is not BLAS: each chunk of this call takes about a second.
    a = np.ones(4 * 10**8, dtype=np.float16)
    parallel_dot(np.ones(4), np.ones(4), workers=2, backend="processes")
    pool = _pools._processes.executor
    victim = next(iter(pool._processes))

    def kill_soon():
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_soon)
    killer.start()
    started = time.monotonic()
    with pytest.raises(BrokenProcessPool, match=r"a worker process died during parallel_dot \(.*SIGKILL.*\)") as info:
        with np.errstate(over="ignore"):
            parallel_dot(a, a, workers=2, backend="processes")
    killer.join()
    assert time.monotonic() - started < 60
    del a
    b = np.arange(100.0)
    assert parallel_dot(b, b, workers=2, backend="processes") == np.dot(b, b)
    assert _pools._processes.executor is not pool


def test_killed_worker_of_a_caller_executor_says_so_and_is_left_alone(no_leaked_segments):
    executor = loky.ProcessPoolExecutor(2)
    try:
        a = np.ones(4 * 10**8, dtype=np.float16)  # about a second per chunk
        assert parallel_dot(np.ones(4), np.ones(4), workers=2, executor=executor) == 4
        victim = next(iter(executor._processes))
        killer = threading.Timer(0.5, os.kill, (victim, signal.SIGKILL))
        killer.start()
        with pytest.raises(BrokenProcessPool, match=r"\(.*SIGKILL.*\); the executor passed as executor= is broken"):
            with np.errstate(over="ignore"):
                parallel_dot(a, a, workers=2, executor=executor)
        killer.join()
    finally:
        executor.shutdown(wait=True)


def test_no_resource_tracker_warning_and_no_leak_in_a_fresh_interpreter():
    script = textwrap.dedent(
        """
        import numpy as np
        import paralleldot
        from paralleldot import _shm

        created = []
        original = _shm._Segment.__init__

        def recording_init(self, *args):
            original(self, *args)
            created.append(self.name)

        _shm._Segment.__init__ = recording_init

        if __name__ == "__main__":
            a = paralleldot.shared_empty(10_000)
            a[:] = 1.0
            b = np.arange(10_000.0)
            for _ in range(3):
                assert paralleldot.parallel_dot(a, b, workers=2, backend="processes") == b.sum()
            kept = paralleldot.shared_empty(50)  # alive at exit: unlinked by atexit
            kept[:] = 1
            assert paralleldot.parallel_dot(kept, kept, workers=2, backend="processes") == 50
            paralleldot.shutdown()
            assert paralleldot.parallel_dot(kept, kept, workers=2, backend="processes") == 50
            print(" ".join(created))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(paralleldot.__file__))),
    )
    assert proc.returncode == 0, proc.stderr
    created = proc.stdout.split()
    assert len(created) == 5  # a, b copied 3 times, kept
    assert proc.stderr == ""  # no resource_tracker warning, no traceback
    assert [name for name in created if segment_exists(name)] == []


@pytest.mark.parametrize("death", ["os._exit", "SIGKILL"])
def test_workers_and_trackers_exit_when_their_owner_dies_abruptly(death):
    """The workers exit and unlink the dead owner's shared vectors."""
    # loky's workers wait for tasks for ever when their owner dies without
    # shutting the pool down (asv's benchmark processes end with os._exit),
    # and they keep loky's resource tracker alive with them.
    script = textwrap.dedent(
        f"""
        import os, signal
        import numpy as np
        import paralleldot
        from loky.backend import resource_tracker as loky_tracker
        from multiprocessing import resource_tracker
        from paralleldot import _pools

        a = paralleldot.shared_empty(1000)
        a[:] = 1.0
        paralleldot.parallel_dot(a, a, workers=2, backend="processes")
        pids = list(_pools._processes.executor._processes)
        pids.append(loky_tracker._resource_tracker._pid)
        print(a.base.name, " ".join(map(str, pids)), flush=True)
        # Like asv's kill of the process group: the resource tracker,
        # which would unlink the segment, dies before it can.
        os.kill(resource_tracker._resource_tracker._pid, signal.SIGKILL)
        if {death!r} == "os._exit":
            os._exit(0)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    # Output to a file, not a pipe: a pipe would wait for the workers too.
    with tempfile.TemporaryFile("w+") as out:
        subprocess.run(
            [sys.executable, "-c", script], stdout=out, stderr=subprocess.DEVNULL, timeout=120,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(paralleldot.__file__))),
        )
        out.seek(0)
        name, *pids = out.read().split()
    pids = [int(pid) for pid in pids]
    assert len(pids) == 3, (name, pids)

    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:  # do not leave them to the next tests
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert not segment_exists(name)  # unlinked by the workers on their way out


def _alive(pid):
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
