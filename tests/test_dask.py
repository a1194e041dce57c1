"""backend="dask" on real clusters: the embedded LocalCluster and `dask scheduler`/`dask worker`.

The external cluster is a scheduler and two workers started by the
fixtures as separate processes with the ``dask scheduler`` and ``dask
worker`` commands (``python -m dask ...`` of this interpreter), everything
on 127.0.0.1, and stopped by the fixtures whatever happens. Without dask
these tests are skipped, except under CI (``CI`` set), which installs
``paralleldot[dask]``: there a missing dask fails.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import paralleldot
from paralleldot import parallel_dot
from paralleldot.backends import dask_cluster

from _clone import REPO
from test_api import NUMERIC, assert_same_as_numpy, vector_pairs

if os.environ.get("CI"):
    import distributed  # CI installs paralleldot[dask]: missing dask is a failure
else:
    distributed = pytest.importorskip("distributed")
import dask  # noqa: E402
import dask.array as da  # noqa: E402

from benchmarks import scaleout_model  # noqa: E402

pytestmark = pytest.mark.dask
#: The tests that start a dask cluster (embedded or external): the slow tier.
cluster = pytest.mark.slow

LOCAL = "tcp://127.0.0.1:"
ROOT = str(REPO)
START_TIMEOUT = 120  # seconds for a scheduler or a worker to come up


# --- helpers and fixtures ---------------------------------------------------


def _stat(pid):
    """(state, process group) of ``pid`` from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[2])


def _alive(pid):
    """True while ``pid`` runs (a zombie counts as gone)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _group(pgid):
    """Live (not zombie) processes of the process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pgid and stat[0] != "Z":
                members.append(int(entry))
    return members


def _is_resource_tracker(pid):
    """Whether ``pid`` runs multiprocessing's resource tracker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"resource_tracker" in f.read()
    except OSError:
        return False


def _wait_gone(pids, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _refuse_local_compute(*args, **kwargs):
    raise AssertionError("a dask array was computed in the calling process")


@pytest.fixture(autouse=True)
def _no_scheduler_variable(monkeypatch):
    """Tests choose their cluster themselves: the caller's variable is ignored."""
    monkeypatch.delenv(dask_cluster.SCHEDULER_ENV, raising=False)


@pytest.fixture(scope="module", autouse=True)
def _close_the_embedded_cluster():
    yield
    paralleldot.shutdown()


@pytest.fixture
def embedded():
    """The embedded LocalCluster, with two workers at least (started if needed)."""
    a = np.arange(4.0)
    parallel_dot(a, a, workers=2, backend="dask")
    cluster = dask_cluster.embedded_cluster()
    assert cluster is not None
    return cluster


class ExternalCluster:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, tmp_path, workers=2):
        self.processes = []  # Popen, each the leader of its own process group
        self.logs = []
        scheduler_file = tmp_path / "scheduler.json"
        self._start(
            "scheduler",
            "--host", "127.0.0.1", "--port", "0",
            "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
            "--scheduler-file", str(scheduler_file),
            "--idle-timeout", "900",  # a leaked scheduler ends by itself
            log=tmp_path / "scheduler.log",
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            self._check_running(deadline)
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers = [
            self._start(
                "worker", self.address,
                "--nthreads", "1", "--host", "127.0.0.1",
                "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                "--death-timeout", "60",  # a leaked worker ends by itself
                log=tmp_path / f"worker-{i}.log",
            )
            for i in range(workers)
        ]
        self.client = distributed.Client(
            self.address, set_as_default=False, timeout=START_TIMEOUT
        )
        self.client.wait_for_workers(workers, timeout=START_TIMEOUT)

    def _start(self, command, *args, log):
        out = open(log, "wb")
        self.logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "dask", command, *args],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # killpg reaches the nanny and its worker
            # The workers import paralleldot (its task functions), as
            # workers of a real cluster would have it installed.
            env={**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])},
        )
        out.close()
        self.processes.append(process)
        return process

    def _check_running(self, deadline):
        for p in self.processes:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args} exited with {p.returncode}: {self.log_text()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dask cluster did not start: {self.log_text()}")

    def log_text(self):
        return "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in self.logs if log.exists())

    def kill_worker(self, process):
        """SIGKILL a ``dask worker`` command: its nanny and its worker process.

        The group's multiprocessing resource tracker is spared: it unlinks
        the semaphores the nanny made once its last user is gone, as it
        would for any killed program. Killed with the group, it left 6
        ``sem.mp-*`` files under /dev/shm per run of the test module, which
        a lost machine takes with it but a test machine keeps.
        """
        for pid in _group(process.pid):
            if not _is_resource_tracker(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        process.wait(timeout=30)

    def stop(self):
        self.client.close()
        for p in self.processes:  # workers then scheduler would be nicer; all at once is enough
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        # The process groups must empty: no nanny's worker left behind.
        deadline = time.monotonic() + 30
        while any(_group(p.pid) for p in self.processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        leftovers = {p.pid: _group(p.pid) for p in self.processes}
        for pgid, members in leftovers.items():
            if members:
                os.killpg(pgid, signal.SIGKILL)
        assert not any(leftovers.values()), f"processes outlived their dask command: {leftovers}"


def _semaphores():
    """Names of the standard library's named semaphores under /dev/shm."""
    return {n for n in os.listdir("/dev/shm") if n.startswith("sem.mp-")}


@pytest.fixture
def external(tmp_path):
    """A cluster of ``dask`` commands that a test may harm; nothing of it stays."""
    before = _semaphores()
    cluster = ExternalCluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()
    deadline = time.monotonic() + 10
    while _semaphores() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _semaphores() - before, f"semaphores left: {_semaphores() - before}"


@pytest.fixture(scope="module")
def shared_external(tmp_path_factory):
    """One external cluster for the tests that do not harm it."""
    cluster = ExternalCluster(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster
    finally:
        cluster.stop()


# --- the embedded LocalCluster ----------------------------------------------


@cluster
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=vector_pairs(), workers=st.integers(1, 2))
def test_embedded_equals_numpy_dot(embedded, pair, workers):
    a, b = pair
    assert_same_as_numpy(parallel_dot(a, b, workers=workers, backend="dask"), a, b)


@cluster
def test_embedded_cluster_is_local_reused_and_per_worker(embedded):
    client = dask_cluster.client_for(2)
    info = client.scheduler_info()
    assert info["address"].startswith(LOCAL)
    assert len(info["workers"]) >= 2
    assert all(w.startswith(LOCAL) for w in info["workers"])
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    a = np.arange(1000.0)
    for _ in range(3):
        parallel_dot(a, a, workers=2, backend="dask")
    assert dask_cluster.embedded_cluster() is embedded
    # One chunk per worker: the two pairs were scattered to different workers.
    pids = set(client.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) >= 2


@cluster
def test_each_worker_receives_only_its_chunk(embedded):
    client = dask_cluster.client_for(2)
    a = np.arange(10_000.0)
    seen = []
    original = client.scatter

    def scatter(data, **kwargs):
        futures = original(data, **kwargs)
        seen.append(client.who_has(futures))
        return futures

    client.scatter = scatter
    try:
        assert_same_as_numpy(parallel_dot(a, a, workers=2, backend="dask"), a, a)
    finally:
        del client.scatter
    (who_has,) = seen
    holders = [tuple(w) for w in who_has.values()]
    assert len(holders) == 2 and all(len(h) == 1 for h in holders)
    assert holders[0] != holders[1]


@cluster
def test_embedded_cluster_grows_and_shutdown_closes_it():
    paralleldot.shutdown()
    a = np.arange(100.0)
    parallel_dot(a, a, workers=1, backend="dask")
    small = dask_cluster.embedded_cluster()
    assert len(small.workers) == 1
    assert_same_as_numpy(parallel_dot(a, a, workers=3, backend="dask"), a, a)
    assert dask_cluster.embedded_cluster() is small and len(small.workers) == 3
    pids = list(dask_cluster.client_for(3).run(os.getpid).values())
    paralleldot.shutdown()
    assert dask_cluster.embedded_cluster() is None
    assert _wait_gone(pids) == [], "worker processes outlived paralleldot.shutdown()"
    paralleldot.shutdown()  # harmless twice
    assert_same_as_numpy(parallel_dot(a, a, workers=2, backend="dask"), a, a)
    assert dask_cluster.embedded_cluster() is not small
    paralleldot.shutdown()


@cluster
@pytest.mark.parametrize("dtype", NUMERIC)
def test_dask_arrays_blockwise_equal_numpy(embedded, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(1001) * 3).astype(dtype)
    y = (rng.standard_normal(1001) * 3).astype(dtype)
    if x.dtype.kind == "c":
        x = x + 1j * x[::-1]
    dx = da.from_array(x, chunks=100)
    dy = da.from_array(y, chunks=(300, 300, 401))  # chunks that differ
    with dask.config.set(scheduler=_refuse_local_compute):
        assert_same_as_numpy(parallel_dot(dx, dy, workers=2, backend="dask"), x, y)
        assert_same_as_numpy(parallel_dot(dx, dy, workers=2), x, y)  # auto
        assert_same_as_numpy(parallel_dot(dx, y, workers=2, backend="dask"), x, y)
        assert_same_as_numpy(parallel_dot(x, dy, workers=2, backend="dask"), x, y)


@cluster
def test_dask_arrays_give_one_partial_sum_per_block(embedded):
    x = da.ones(1000, chunks=100, dtype=np.int64)
    y = da.arange(1000, chunks=250, dtype=np.int64)
    with dask.config.set(scheduler=_refuse_local_compute):
        partials = dask_cluster.lazy_partial_sums(x, y, 2)
    # Common chunks of 100 and 250: boundaries at every 100 and at 250, 750.
    assert len(partials) == 12
    assert all(np.ndim(p) == 0 for p in partials)
    assert sum(partials) == np.arange(1000).sum()


@cluster
def test_dask_integers_wrap_and_empty_vectors(embedded):
    a = np.full(1000, 100, dtype=np.int8)
    assert parallel_dot(da.from_array(a, chunks=7), a, backend="dask") == np.dot(a, a)
    for dtype in NUMERIC:
        e = np.empty(0, dtype)
        result = parallel_dot(da.from_array(e), da.from_array(e), backend="dask")
        assert result == np.dot(e, e) and result.dtype == np.dot(e, e).dtype


# --- errors -----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["serial", "threads", "processes"])
def test_dask_arrays_with_other_backends_are_type_errors(backend):
    x = da.ones(10, chunks=5)
    with dask.config.set(scheduler=_refuse_local_compute):
        with pytest.raises(TypeError, match=f"dask arrays are computed only by backend='dask'.*got backend='{backend}'"):
            parallel_dot(x, x, backend=backend)
        with pytest.raises(TypeError, match="dask arrays"):
            parallel_dot(np.ones(10), x, backend=backend)


def test_dask_array_with_an_executor_is_a_type_error():
    x = da.ones(10, chunks=5)
    with ThreadPoolExecutor(2) as executor, pytest.raises(TypeError, match="got executor="):
        parallel_dot(x, x, executor=executor)


@pytest.mark.parametrize(
    "a, b, error, match",
    [
        (da.ones((2, 2)), da.ones(4), ValueError, "a must be a 1-D vector, got an array with 2 dimension"),
        (da.ones(3), da.ones(4), ValueError, "a and b must have the same length, got 3 and 4"),
        (np.ones(3), da.ones(4), ValueError, "a and b must have the same length, got 3 and 4"),
        (da.from_array(np.array(["a", "b"])), da.ones(2), TypeError, "a must have a numeric dtype .*got dtype <U1"),
        (da.ones(2), da.from_array(np.array([1, 2], "m8[s]")), TypeError, "b must have a numeric dtype"),
    ],
)
def test_bad_dask_inputs_are_caught_before_computing(a, b, error, match):
    with dask.config.set(scheduler=_refuse_local_compute):
        with pytest.raises(error, match=match):
            parallel_dot(a, b, workers=2, backend="dask")


def test_unknown_chunk_sizes_are_a_clear_error():
    x = da.arange(10, chunks=5)
    x = x[x > 3]
    with pytest.raises(ValueError, match=r"b must have a known length.*compute_chunk_sizes"):
        parallel_dot(np.ones(6), x, backend="dask")


@cluster
def test_client_needs_the_dask_backend(shared_external):
    a = np.ones(4)
    with pytest.raises(ValueError, match="client= .* needs backend='dask' or 'auto'.*got backend='threads'"):
        parallel_dot(a, a, backend="threads", client=shared_external.client)
    with ThreadPoolExecutor(1) as executor, pytest.raises(ValueError, match="got executor="):
        parallel_dot(a, a, executor=executor, client=shared_external.client)
    with pytest.raises(TypeError, match="client must be a distributed.Client, got an object of type str"):
        parallel_dot(a, a, backend="dask", client=shared_external.address)


def test_unreachable_scheduler_variable_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(dask_cluster.SCHEDULER_ENV, "tcp://127.0.0.1:9")
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(OSError, match=r"cannot connect to the Dask scheduler PARALLELDOT_DASK_SCHEDULER='tcp://127.0.0.1:9'"):
            parallel_dot(np.ones(4), np.ones(4), backend="dask")


def test_without_dask_the_package_works_and_says_what_to_install(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        for name in ("dask", "distributed"):
            sys.modules[name] = None  # as if not installed
        import numpy as np
        import paralleldot
        a = np.arange(10.0)
        assert paralleldot.parallel_dot(a, a, workers=2, backend="threads") == 285.0
        assert paralleldot.parallel_dot(a, a) == 285.0
        try:
            paralleldot.parallel_dot(a, a, workers=2, backend="dask")
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("no ImportError")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    assert "backend='dask' needs dask and distributed" in done.stdout
    assert "pip install 'paralleldot[dask]'" in done.stdout


def test_importing_paralleldot_does_not_import_dask(tmp_path):
    script = "import sys, paralleldot; print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- an external cluster: `dask scheduler` and `dask worker` ------------------


def _prefixes(client):
    return set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))


@cluster
@settings(max_examples=15, deadline=None)
@given(pair=vector_pairs(), workers=st.integers(1, 5))
def test_client_argument_equals_numpy_dot(shared_external, pair, workers):
    a, b = pair
    result = parallel_dot(a, b, workers=workers, backend="dask", client=shared_external.client)
    assert_same_as_numpy(result, a, b)


@cluster
def test_client_argument_runs_there_and_stays_open(shared_external):
    client = shared_external.client
    assert client.scheduler_info()["address"].startswith(LOCAL)
    paralleldot.shutdown()
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(100_000), rng.standard_normal(100_000)
    assert_same_as_numpy(parallel_dot(a, b, workers=4, client=client), a, b)  # auto -> dask
    assert dask_cluster.embedded_cluster() is None
    assert "pair_dot" in _prefixes(client)  # key_split drops the leading "_"
    x, y = da.from_array(a, chunks=30_000), da.from_array(b, chunks=20_000)
    assert_same_as_numpy(parallel_dot(x, y, client=client), a, b)
    assert "aligned_dot" in _prefixes(client)
    paralleldot.shutdown()
    assert client.status == "running"  # the caller's client is not closed


@cluster
def test_scheduler_variable_connects_to_the_cluster(shared_external, monkeypatch):
    monkeypatch.setenv(dask_cluster.SCHEDULER_ENV, shared_external.address)
    paralleldot.shutdown()
    before = set(shared_external.client.scheduler_info()["workers"])
    a = np.arange(50_000, dtype=np.float32)
    assert_same_as_numpy(parallel_dot(a, a, workers=2, backend="dask"), a, a)
    assert dask_cluster.embedded_cluster() is None
    connected = dask_cluster.client_for(2)
    assert connected is not shared_external.client
    assert set(connected.scheduler_info()["workers"]) == before
    assert parallel_dot(a, a, workers=2, backend="dask") is not None
    assert dask_cluster.client_for(2) is connected  # reused
    paralleldot.shutdown()
    assert connected.status != "running"  # closed by shutdown
    assert shared_external.client.status == "running"  # the cluster still runs
    assert len(shared_external.client.scheduler_info()["workers"]) == 2


# --- a worker killed during a long call -----------------------------------------


def _long_vectors():
    """float16 vectors: numpy.dot does not use BLAS for them and takes ~1 s per 1e8.

    Values keep every partial sum exact (numpy accumulates float16 in float32).
    """
    n = 200_000_000
    a = np.zeros(n, np.float16)
    a[::10_000] = 1
    b = np.ones(n, np.float16)
    return a, b


def _kill_during_dot(client, kill, timeout=120):
    """Kill a worker as soon as one runs a chunk's dot; return the worker address."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(str(k).startswith("_pair_dot-") for k in keys):
                kill(worker)
                return worker
        time.sleep(0.01)
    raise AssertionError("no chunk started within the timeout")


@cluster
@pytest.mark.parametrize("where", ["external", "embedded"])
def test_worker_killed_during_a_long_call(request, where, monkeypatch):
    runs = []
    run_pairs = dask_cluster._run_pairs

    def counted(*args):
        runs.append(time.monotonic())
        return run_pairs(*args)

    monkeypatch.setattr(dask_cluster, "_run_pairs", counted)
    a, b = _long_vectors()
    expected = np.dot(a, b)
    assert expected == a.shape[0] // 10_000
    if where == "external":
        cluster = request.getfixturevalue("external")
        client = cluster.client
        by_address = {}
        for process in cluster.workers:
            # A worker's address is known once it is connected: match by pid.
            by_address.update(
                {addr: process for addr, pid in client.run(os.getppid).items() if pid == process.pid}
            )
        assert len(by_address) == 2, cluster.log_text()

        def kill(address):
            cluster.kill_worker(by_address[address])

        call = lambda: parallel_dot(a, b, workers=2, backend="dask", client=client)  # noqa: E731
    else:
        paralleldot.shutdown()
        parallel_dot(np.ones(2), np.ones(2), workers=2, backend="dask")
        client = dask_cluster.client_for(2)
        pids = client.run(os.getpid)

        def kill(address):
            os.kill(pids[address], signal.SIGKILL)  # the nanny starts a new one

        call = lambda: parallel_dot(a, b, workers=2, backend="dask")  # noqa: E731
    try:
        runs.clear()
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(call)
            victim = _kill_during_dot(client, kill)
            try:
                result = future.result(timeout=300)
            except RuntimeError as exc:  # the clear error the backend documents
                assert "Dask workers died during parallel_dot" in str(exc)
            else:
                assert result == expected and result.dtype == expected.dtype
                # The lost chunk was noticed and the call ran again.
                assert len(runs) == 2
        assert victim not in client.scheduler_info()["workers"] or where == "embedded"
        # The cluster still computes.
        x = np.arange(1000.0)
        assert_same_as_numpy(parallel_dot(x, x, workers=2, backend="dask", client=client), x, x)
    finally:
        if where == "embedded":
            paralleldot.shutdown()


# --- the asv benchmarks of the dask backend -------------------------------------


def _dask_benchmarks():
    import inspect

    from benchmarks import bench_dask, common

    found = []
    for name, cls in vars(bench_dask).items():
        if name.startswith("_") or not inspect.isclass(cls) or cls.__module__ != bench_dask.__name__:
            continue
        for attr in sorted(dir(cls)):
            if attr.startswith(("time_", "track_")):
                found.append((cls, attr))
    return bench_dask, common, found


@pytest.fixture(scope="module")
def bench():
    bench_dask, common, found = _dask_benchmarks()
    yield bench_dask, common, found
    scaleout_model.close_clusters()


def _combos(cls):
    import itertools

    return list(itertools.product(*cls.params)) if cls.params else [()]


def _cached(cls):
    return hasattr(cls, "setup_cache")


@pytest.fixture(scope="module")
def small_model(bench):
    """The model's inputs and the ratios at N = 1e3, measured once with few, small samples."""
    bench_dask, common, _ = bench
    patch = pytest.MonkeyPatch()
    patch.setattr(scaleout_model, "MODEL_SAMPLES", 3)
    patch.setattr(scaleout_model, "TRANSFER_SIZES", (10**5, 10**6))
    patch.setattr(scaleout_model, "BANDWIDTH_N", 10**6)
    try:
        cache = {
            "model": scaleout_model.measure_model_inputs(),
            "ratios": scaleout_model.measure_ratios([(1000, 1), (1000, 2)]),
        }
    finally:
        patch.undo()
    return cache


def test_dask_benchmarks_follow_the_suite_conventions(bench):
    import inspect

    from asv_runner.benchmarks._base import get_setup_cache_key

    bench_dask, common, found = bench
    names = {f"{cls.__name__}.{attr}" for cls, attr in found}
    assert {
        "Dask.track_dask", "DaskArrays.track_dask_arrays", "ThreadsOverDask.track_threads_over_dask",
        "ModelFixedCost.track_fixed_cost", "ModelTransfer.track_cost_per_byte",
        "ModelBandwidth.track_bandwidth", "ModelThreadsFixedCost.track_threads_fixed_cost",
    } <= names
    cache_keys = set()
    for cls, attr in found:
        assert "version" in vars(cls), cls
        method = getattr(cls, attr)
        assert getattr(method, "pretty_name", ""), (cls, attr)
        if attr.startswith("track_"):
            assert getattr(method, "unit", None) or getattr(cls, "unit", None)
        expected = ["self"] + (["cache"] if _cached(cls) else []) + list(cls.param_names)
        assert list(inspect.signature(method).parameters) == expected, (cls, attr)
        assert list(inspect.signature(cls.setup).parameters) == expected, cls
        if cls.__name__.startswith("Model"):
            # The model's inputs: few parameters, none of them N or workers.
            assert not {"N", "workers"} & set(cls.param_names)
            assert len(_combos(cls)) <= 8
        else:
            assert cls.param_names[:2] == ["N", "workers"]
            # The lean grid of the profile: nothing to skip (see test_lean_grid).
            assert cls.params == scaleout_model.GRID_PARAMS
            assert set(cls.params[0]) <= set(common.SIZES) and set(cls.params[1]) <= set(common.WORKERS)
        if _cached(cls):
            cache_keys.add(get_setup_cache_key(cls().setup_cache))
        assert getattr(cls, "rounds", None) == 1
    # The ratios and the model share one setup_cache: asv runs it once.
    assert len(cache_keys) == 1


def test_model_task_functions_travel_by_value(bench):
    """asv imports bench_dask under a name the workers cannot import: its tasks must not pickle by name."""
    import pickle

    import cloudpickle

    bench_dask, _, _ = bench
    for func in (scaleout_model._pair_dot, scaleout_model._dot_seconds):
        with pytest.raises((pickle.PicklingError, AttributeError)):
            pickle.dumps(func)
        assert pickle.loads(cloudpickle.dumps(func)) is not func


def _use_profile(monkeypatch, common, name):
    """Make the suite's grid the one of profile ``name`` (it is read once, at import)."""
    grid = common.PROFILES[name]
    monkeypatch.setattr(common, "PROFILE", name)
    monkeypatch.setattr(common, "SIZES", grid.sizes)
    monkeypatch.setattr(common, "WORKERS", grid.workers)
    monkeypatch.setattr(common.Benchmark, "params", [list(grid.sizes), list(grid.workers)])


def test_lean_grid(bench, monkeypatch):
    bench_dask, common, _ = bench
    monkeypatch.delenv(scaleout_model.GRID_ENV, raising=False)
    for profile, points in {
        "quick": [(10**5, 2)],
        "default": [(10**7, 2)],
        "full": [(10**7, 2), (10**8, 2)],
    }.items():
        _use_profile(monkeypatch, common, profile)
        assert scaleout_model.grid_points() == points
        assert scaleout_model._grid_params() == [[n for n, _ in points], [2]]
        scaleout_model.require_grid(*points[0])
        with pytest.raises(NotImplementedError, match="outside the lean dask grid"):
            scaleout_model.require_grid(points[0][0], 4 if profile != "default" else 1)
    monkeypatch.setenv(scaleout_model.GRID_ENV, "full")
    _use_profile(monkeypatch, common, "quick")
    assert scaleout_model.grid_points() == [(n, w) for n in (10**3, 10**4, 10**5) for w in (1, 2)]
    scaleout_model.require_grid(10**3, 1)
    with pytest.raises(NotImplementedError, match="not in the 'quick' profile"):
        scaleout_model.require_grid(10**6, 2)
    monkeypatch.setenv(scaleout_model.GRID_ENV, "everything")
    with pytest.raises(ValueError, match="must be 'lean' or 'full', got 'everything'"):
        scaleout_model.grid_points()
    # A profile with none of the lean sizes runs its largest size up to 1e7.
    monkeypatch.delenv(scaleout_model.GRID_ENV)
    _use_profile(monkeypatch, common, "full")

    def only(*sizes):
        def require_size(n):
            if n not in sizes:
                raise NotImplementedError(f"N={n} is not in the profile")

        return require_size

    monkeypatch.setattr(common, "require_size", only(10**3, 10**6))
    assert scaleout_model.lean_sizes() == [10**6]
    monkeypatch.setattr(common, "require_size", only(10**8))
    assert scaleout_model.lean_sizes() == [10**8]


def test_no_dask_benchmark_starts_a_cluster_in_its_own_process(bench):
    """asv ends benchmark processes with os._exit: a cluster there would outlive them."""
    bench_dask, common, found = bench
    assert found and all(_cached(cls) for cls, _ in found)


@cluster
def test_cached_dask_benchmarks_report_the_shared_measurement(bench, small_model, monkeypatch):
    bench_dask, common, found = bench
    monkeypatch.setenv(scaleout_model.GRID_ENV, "full")
    _use_profile(monkeypatch, common, "full")
    cache = small_model
    assert not cache["model"]["errors"] and cache["model"]["skipped"] is None, cache["model"]
    assert not cache["ratios"]["errors"] and cache["ratios"]["skipped"] is None, cache["ratios"]
    seen = 0
    for cls, attr in found:
        if not _cached(cls):
            continue
        combos = [(1000, 1), (1000, 2)] if "N" in cls.param_names else _combos(cls)
        for params in combos:
            b = cls()
            b.setup(cache, *params)
            value = getattr(b, attr)(cache, *params)
            b.teardown(cache, *params)
            assert isinstance(value, float) and np.isfinite(value) and value > 0, (cls, params, value)
            seen += 1
    assert seen == 6 * 2 + 8 + 1 + 2 + 1  # 4 ratios and 2 times at 2 points, the model


@cluster
def test_model_inputs_are_plausible(small_model):
    model = small_model["model"]
    fixed = model["fixed_cost"]
    assert set(fixed) == {(i, k) for i in ("on the cluster", "scattered", "parallel_dot, dask arrays",
                                            "parallel_dot, numpy vectors") for k in (1, 8)}
    for (inputs, chunks), seconds in fixed.items():
        assert 1e-5 < seconds < 5, (inputs, chunks, seconds)
    for inputs in ("on the cluster", "scattered"):
        assert fixed[(inputs, 8)] > 0.5 * fixed[(inputs, 1)]  # more tasks do not make a call cheaper
    assert 1e-12 < model["cost_per_byte"] < 1e-7
    assert set(model["transfer_times"]) == {8 * 10**5, 8 * 10**6}
    for reader in ("dask worker, 1 thread", "threads split, all cores"):
        assert 0.1 < model["bandwidth"][reader] < 2000, model["bandwidth"]
    assert 1e-7 < model["threads_fixed_cost"] < 0.1
    # The ratios: dask is far slower than threads on 1000 elements.
    for (name, n, workers), ratio in small_model["ratios"]["values"].items():
        assert 0 < ratio < 1, (name, n, workers, ratio)


def test_model_inputs_do_not_need_the_dask_backend(bench, monkeypatch):
    """At commits without backend="dask", dask itself is still measured (a long history)."""
    bench_dask, common, _ = bench
    monkeypatch.setattr(paralleldot, "BACKENDS", ("serial", "threads"))
    monkeypatch.setattr(scaleout_model, "MODEL_SAMPLES", 2)
    monkeypatch.setattr(scaleout_model, "TRANSFER_SIZES", (10**5, 10**6))
    monkeypatch.setattr(scaleout_model, "BANDWIDTH_N", 10**5)
    cache = {"model": scaleout_model.measure_model_inputs(), "ratios": scaleout_model.measure_ratios()}
    assert cache["model"]["skipped"] is None and not cache["model"]["errors"]
    assert set(cache["model"]["fixed_cost"]) == {(i, k) for i in ("on the cluster", "scattered") for k in (1, 8)}
    assert bench_dask.ModelFixedCost().track_fixed_cost(cache, "scattered", 8) > 0
    with pytest.raises(NotImplementedError, match="fixed_cost was not measured at this commit"):
        bench_dask.ModelFixedCost().setup(cache, "parallel_dot, dask arrays", 1)
    assert "backend 'dask' does not exist" in cache["ratios"]["skipped"]
    with pytest.raises(NotImplementedError, match="backend 'dask' does not exist"):
        bench_dask.ThreadsOverDask().setup(cache, 10**5, 2)


def test_dask_benchmarks_skip_without_dask_or_backend(bench, monkeypatch):
    bench_dask, common, found = bench
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.setattr(scaleout_model, "MODEL_SAMPLES", 2)
    monkeypatch.setattr(scaleout_model, "BANDWIDTH_N", 10**5)
    cache = {"model": scaleout_model.measure_model_inputs(), "ratios": scaleout_model.measure_ratios()}
    assert "dask is not installed" in cache["model"]["skipped"]
    assert "dask is not installed" in cache["ratios"]["skipped"]
    for cls, attr in found:
        b = cls()
        for params in ([(min(common.SIZES), 2)] if "N" in cls.param_names else _combos(cls)):
            if cls is bench_dask.ModelThreadsFixedCost or params == ("threads split, all cores",):
                # The one-machine reference needs no dask: measured anyway.
                b.setup(cache, *params)
                assert getattr(b, attr)(cache, *params) > 0
                continue
            with pytest.raises(NotImplementedError, match="dask is not installed"):
                b.setup(*(((cache,) if _cached(cls) else ()) + tuple(params)))
            if hasattr(b, "teardown"):
                b.teardown(*(((cache,) if _cached(cls) else ()) + tuple(params)))
    monkeypatch.undo()
    monkeypatch.setattr(paralleldot, "BACKENDS", ("serial", "threads"))
    for cls, attr in found:
        if not cls.__name__.startswith("Model") and not _cached(cls):
            with pytest.raises(NotImplementedError, match="backend 'dask' does not exist"):
                cls().setup(min(common.SIZES), 2)


def test_failed_measurements_fail_their_benchmark_only(bench):
    bench_dask, _, _ = bench
    cache = {
        "model": {"fixed_cost": {}, "cost_per_byte": 1e-10, "transfer_times": {}, "bandwidth": {},
                  "threads_fixed_cost": None, "errors": {"fixed_cost": "OSError: boom"}, "skipped": None},
        "ratios": {"values": {}, "errors": {(10**7, 2): "TimeoutError: slow"}, "skipped": None},
    }
    with pytest.raises(RuntimeError, match="measuring fixed_cost failed: OSError: boom"):
        bench_dask.ModelFixedCost().setup(cache, "scattered", 1)
    bench_dask.ModelTransfer().setup(cache)
    assert bench_dask.ModelTransfer().track_cost_per_byte(cache) == pytest.approx(0.1)
    with pytest.raises(RuntimeError, match=r"N=10000000, workers=2 failed: TimeoutError: slow"):
        bench_dask.ThreadsOverDask().setup(cache, 10**7, 2)


def test_a_noisy_transfer_slope_is_an_error_not_a_value(bench, monkeypatch):
    bench_dask, _, _ = bench
    monkeypatch.setattr(scaleout_model, "MODEL_SAMPLES", 1)
    monkeypatch.setattr(scaleout_model, "BANDWIDTH_N", 10**4)
    monkeypatch.setattr(scaleout_model, "cost_per_byte", lambda c: (-1e-9, {8: 0.002, 80: 0.001}))
    model = scaleout_model.measure_model_inputs()
    assert model["cost_per_byte"] is None
    assert "scatter of 80 bytes (0.001 s) was not slower than that of 8 bytes" in model["errors"]["cost_per_byte"]
    with pytest.raises(RuntimeError, match="measuring cost_per_byte failed: the scatter of 80 bytes"):
        bench_dask.ModelTransfer().setup({"model": model})


@cluster
def test_scaleout_direct_end_to_end(bench, tmp_path, monkeypatch, capsys):
    """``benchtools scaleout direct``: measures (small sizes here), reports, and its JSON gives the same report."""
    bench_dask, common, _ = bench
    monkeypatch.setattr(scaleout_model, "MODEL_SAMPLES", 2)
    monkeypatch.setattr(scaleout_model, "TRANSFER_SIZES", (10**5, 10**6))
    monkeypatch.setattr(scaleout_model, "BANDWIDTH_N", 10**5)
    from benchtools.__main__ import main as benchtools_main

    inputs_file, report_file = tmp_path / "inputs.json", tmp_path / "report.md"
    assert benchtools_main(["scaleout", "direct", "--json", str(inputs_file), "--out",
                            str(report_file)]) == 0
    text = report_file.read_text()
    for expected in ("- date: ", "- commit: ", "- load average", f"dask {dask.__version__}",
                     "## Check on this machine: one worker, one chunk of N = 1e+05",
                     "| K | already distributed: dask | already distributed: parallel_dot |", "| 16 | "):
        assert expected in text, expected
    assert benchtools_main(["scaleout", "from-json", str(inputs_file)]) == 0
    assert capsys.readouterr().out.strip() == text.strip()
    assert scaleout_model._clusters == {}  # closed after measuring
