"""``backend="processes"`` from every way of starting Python (issue 11).

Each test runs the same caller code in a real subprocess, started one way:
a script with and without an ``if __name__ == "__main__":`` guard, ``python
-`` reading stdin, ``python -c``, ``python -m``, an interactive session, a
Jupyter kernel, and asv running the suite's process benchmarks. Each checks
that the caller

- gets ``numpy.dot``'s result (exactly: the values are sums of halves);
- runs once, not once per worker;
- leaves stderr free of resource-tracker warnings and tracebacks;
- leaves nothing behind once it has exited: no process of its tree alive,
  no shared-memory segment or semaphore that the tree created in /dev/shm.

What the tree creates is recorded by ``tests/probe/sitecustomize.py``,
which every interpreter started below the test imports (``PYTHONPATH``):
other jobs of the machine create and remove their own segments meanwhile,
so comparing listings of /dev/shm would not be reliable.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from _clone import REPO as ROOT

PROBE = ROOT / "tests" / "probe"
TIMEOUT = 180

#: Every test starts a subprocess caller (a Jupyter kernel, asv): the slow tier.
pytestmark = pytest.mark.slow

#: The caller's code, without a guard. It records each run of itself.
CALLER = textwrap.dedent(
    """
    import os
    import loky
    import numpy as np
    import paralleldot

    with open(os.environ["PARALLELDOT_PROBE_LOG"], "a") as log:
        log.write(f"ran {os.getpid()}\\n")
    a = paralleldot.shared_empty(100_000)
    a[:] = 0.5
    b = np.arange(100_000.0)
    got = [paralleldot.parallel_dot(a, b, workers=w, backend="processes") for w in (2, 3)]
    got.append(paralleldot.parallel_dot(b, b, workers=2, backend="processes"))
    executor = loky.ProcessPoolExecutor(2)
    got.append(paralleldot.parallel_dot(a, b, workers=2, executor=executor))
    assert executor.submit(abs, -1).result() == 1
    executor.shutdown()
    expected = [np.dot(a, b)] * 2 + [np.dot(b, b), np.dot(a, b)]
    print("RESULTS", got == expected, flush=True)
    """
)


def _guarded(code):
    return 'if __name__ == "__main__":\n' + textwrap.indent(code, "    ")


def _env(log):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROBE), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["PARALLELDOT_PROBE_LOG"] = str(log)
    return env


def _start(way, tmp_path, log):
    """Run CALLER started ``way``; return (returncode, stdout, stderr)."""
    cmd, stdin = [sys.executable], None
    if way == "script with guard":
        path = tmp_path / "caller.py"
        path.write_text(_guarded(CALLER))
        cmd.append(str(path))
    elif way == "script without guard":
        path = tmp_path / "caller.py"
        path.write_text(CALLER)
        cmd.append(str(path))
    elif way == "python -":
        cmd.append("-")
        stdin = CALLER
    elif way == "python -c":
        cmd += ["-c", CALLER]
    elif way == "python -m":
        (tmp_path / "caller_module.py").write_text(CALLER)
        cmd += ["-m", "caller_module"]
    elif way == "interactive":
        cmd += ["-i", "-q"]
        stdin = f"exec({CALLER!r})\n"
    else:  # pragma: no cover
        raise ValueError(way)
    # Files, not pipes: a pipe would also wait for any process that inherited it.
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with open(out, "w") as fout, open(err, "w") as ferr:
        proc = subprocess.run(
            cmd, input=stdin, stdout=fout, stderr=ferr, text=True, cwd=tmp_path,
            env=_env(log), timeout=TIMEOUT,
        )
    return proc.returncode, out.read_text(), err.read_text()


def _records(log):
    records = {"pid": [], "shm": [], "sem": [], "ran": []}
    for line in log.read_text().splitlines():
        kind, value = line.split(" ", 1)
        records[kind].append(value)
    return records


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _check_nothing_left(log, deadline=30):
    """Every process of the tree exits, and everything it created is gone."""
    records = _records(log)
    pids = [int(p) for p in records["pid"]]
    assert pids, "the probe recorded no process: is tests/probe on PYTHONPATH?"
    end = time.monotonic() + deadline
    while any(_alive(pid) for pid in pids) and time.monotonic() < end:
        time.sleep(0.1)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:  # do not leave them to the next tests
        os.kill(pid, 9)
    assert left == [], f"processes still alive {deadline} s after the caller exited"
    segments = [n for n in records["shm"] if os.path.exists("/dev/shm/" + n.lstrip("/"))]
    semaphores = [n for n in records["sem"] if os.path.exists("/dev/shm/sem." + n.lstrip("/"))]
    assert segments == [] and semaphores == [], (segments, semaphores)
    return records


def _check_stderr(stderr):
    for word in ("resource_tracker", "leaked", "Traceback", "Error", "UserWarning"):
        assert word not in stderr, stderr


WAYS = [
    "script with guard",
    "script without guard",
    "python -",
    "python -c",
    "python -m",
    "interactive",
]


@pytest.mark.parametrize("way", WAYS)
def test_processes_backend_from_any_caller(way, tmp_path):
    log = tmp_path / "probe.log"
    code, stdout, stderr = _start(way, tmp_path, log)
    assert code == 0, stderr
    assert stdout.count("RESULTS True") == 1, (stdout, stderr)
    if way == "interactive":
        stderr = stderr.replace(">>> ", "")  # the prompts
    assert stderr.strip() == "", stderr
    records = _check_nothing_left(log)
    assert len(records["ran"]) == 1, f"the caller's code ran {len(records['ran'])} times"
    assert records["shm"], "no segment recorded: the probe does not see shared memory"
    assert len(records["pid"]) >= 4, records["pid"]  # caller, 2+ pool workers, tracker


@pytest.mark.parametrize("release_first", [True, False])
def test_processes_backend_from_a_jupyter_kernel(release_first, tmp_path):
    """The caller's code in a notebook kernel, which is then shut down.

    Shutting a kernel down signals its children first (ipykernel's
    SIGTERM to its process group, which multiprocessing's and loky's
    resource trackers ignore), then jupyter_client kills the kernel before
    its ``atexit`` hooks run. Whatever the kernel still holds is then
    cleaned up by the resource trackers, which say so on stderr: with
    ``release_first`` the notebook calls ``paralleldot.shutdown()`` and drops
    its shared vector first, and stderr stays clean. Either way nothing is
    left behind.
    """
    from jupyter_client.manager import start_new_kernel

    log = tmp_path / "probe.log"
    err = tmp_path / "kernel-stderr"
    outputs = []

    def on_output(msg):
        if msg["msg_type"] == "stream":
            outputs.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            outputs.append("\n".join(msg["content"]["traceback"]))

    cells = [CALLER] + (["del a, b\nparalleldot.shutdown()"] if release_first else [])
    with open(err, "w") as ferr:
        km, kc = start_new_kernel(
            kernel_name="python3", env=_env(log), cwd=str(tmp_path), stderr=ferr,
            stdout=subprocess.DEVNULL,
        )
        try:
            for cell in cells:
                reply = kc.execute_interactive(cell, timeout=TIMEOUT, output_hook=on_output)
                assert reply["content"]["status"] == "ok", "".join(outputs)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)
    assert "".join(outputs).count("RESULTS True") == 1, outputs
    records = _check_nothing_left(log)
    assert len(records["ran"]) == 1
    if release_first:
        _check_stderr(err.read_text())


@pytest.mark.asv
def test_processes_benchmarks_under_asv(tmp_path):
    """asv (forkserver launch, as asv.conf.json) runs the process benchmarks."""
    log = tmp_path / "probe.log"
    env = _env(log)
    env["PARALLELDOT_BENCH_PROFILE"] = "quick"
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    # A throwaway HOME: asv needs ~/.asv-machine.json, and the user's is not touched.
    env["HOME"] = str(tmp_path / "home")
    os.mkdir(env["HOME"])
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes"], cwd=ROOT, env=env,
                   capture_output=True, text=True, check=True, timeout=TIMEOUT)
    proc = subprocess.run(
        [
            sys.executable, "-m", "asv", "run", "--python=same", "--quick", "--dry-run",
            "--show-stderr", "--launch-method", "forkserver",
            "--bench", r"^bench_(dot\.TimeDot\.time_dot|speedup\.Speedup\.track_speedup)"
            r"\('processes'", "--set-commit-hash",
            subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip(),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "failed" not in output.lower(), output
    for name in ("bench_dot.TimeDot.time_dot", "bench_speedup.Speedup.track_speedup"):
        assert f"{name}  " in output and "ok" in output.split(name, 1)[1].splitlines()[0], output
    rows = [line.split() for line in output.splitlines() if " processes " in line]
    assert rows and all(row[-1] != "n/a" for row in rows), output
    records = _check_nothing_left(log)
    assert records["shm"], "the benchmarks made no shared vector: did they run?"
    # Sizes outside the quick profile are skipped with NotImplementedError.
    # asv's benchmark processes end with os._exit and asv kills their process
    # group: the suite's teardown releases the shared vectors and shuts the
    # pool down first, so no resource tracker has anything to clean or say.
    lines = [line for line in output.splitlines() if "asv: skipped" not in line]
    _check_stderr("\n".join(lines))


if shutil.which("git") is None:  # pragma: no cover
    test_processes_benchmarks_under_asv = pytest.mark.skip("git is needed by asv")(
        test_processes_benchmarks_under_asv
    )
