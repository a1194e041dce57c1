"""The suite under real asv: ``asv check`` and ``asv run --quick`` on HEAD.

Runs in a temporary clone of the repository (the working tree's
``asv.conf.json`` and ``benchmarks/`` copied over it), so the repository's
``results/``, ``html/`` and ``env/`` are never touched. One real virtualenv
environment is built: the Python running the tests with the newest numpy
of the matrix that has a wheel for it. About two to four minutes on a
2-core machine, most of it creating the environment.

Select with ``-m asv``; deselect with ``-m "not asv"``.
"""

import json
import math
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_dask, common  # noqa: E402

asv = pytest.importorskip("asv")
pytest.importorskip("virtualenv")

pytestmark = pytest.mark.asv

PROFILE = "quick"
TIMEOUT = 20 * 60
#: Modules skipped by design when their optional dependency is not in the
#: environment (asv.conf.json's matrix does not install it).
OPTIONAL = {"bench_dask.": "distributed"}
#: The scale-out model's inputs (bench_dask.Model*): no N and workers grid.
MODEL_PREFIX = "bench_dask.Model"


def _python_dirs():
    """Directories of real CPython 3.10-3.13 interpreters (pyenv), if any."""
    dirs = [os.path.dirname(sys.executable)]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, check=False
        ).stdout.strip()
        versions = pathlib.Path(root, "versions")
        if versions.is_dir():
            for v in sorted(versions.iterdir(), reverse=True):
                if v.name.startswith(("3.10.", "3.11.", "3.12.", "3.13.")):
                    dirs.append(str(v / "bin"))
    return dirs


def _asv(args, cwd, env, check=True):
    cmd = [sys.executable, "-m", "asv", *args]
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-20000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
        )
    return proc


def _pick_environment(conf_path, env):
    """Name of the matrix environment for this Python with the newest numpy."""
    from asv.config import Config
    from asv.environment import get_environments

    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = env["PATH"]
    try:
        conf = Config.load(str(conf_path))
        envs = list(get_environments(conf, None, verbose=False))
    finally:
        os.environ["PATH"] = old_path
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [e for e in envs if e.python == mine]
    if not candidates:
        pytest.skip(f"asv.conf.json has no environment for Python {mine}")

    def numpy_version(e):
        return tuple(int(x) for x in e.requirements["numpy"].split("."))

    return max(candidates, key=numpy_version).name


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is needed")
    repo = tmp_path_factory.mktemp("asv") / "repo"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(repo)], check=True
    )
    # Test what is being edited: the working tree's suite and configuration
    # (the package itself is built from HEAD, as asv always does).
    shutil.copy2(ROOT / "asv.conf.json", repo / "asv.conf.json")
    shutil.rmtree(repo / "benchmarks")
    shutil.copytree(
        ROOT / "benchmarks", repo / "benchmarks", ignore=shutil.ignore_patterns("__pycache__")
    )

    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(_python_dirs() + [env.get("PATH", "")])
    env[common.PROFILE_ENV] = PROFILE
    env_name = _pick_environment(repo / "asv.conf.json", env)

    _asv(["machine", "--yes"], repo, env)
    run = _asv(
        ["run", "--quick", "--show-stderr", "-E", env_name, "HEAD^!"], repo, env, check=False
    )
    return repo, env, env_name, run


def _results(repo, env_name):
    files = [
        p
        for p in (repo / "results").glob("*/*.json")
        if p.name != "machine.json" and p.stem.endswith(env_name)
    ]
    assert len(files) == 1, f"expected one results file for {env_name}, got {files}"
    return json.loads(files[0].read_text())


def test_asv_run_quick_completes(quick_run):
    repo, env, env_name, run = quick_run
    assert run.returncode == 0, (
        f"asv run exited {run.returncode}\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    )


def test_every_benchmark_succeeds_and_skips_only_by_design(quick_run):
    repo, env, env_name, run = quick_run
    benchmarks = json.loads((repo / "results" / "benchmarks.json").read_text())
    benchmarks = {k: v for k, v in benchmarks.items() if k != "version"}
    data = _results(repo, env_name)
    columns = data["result_columns"]
    results = {k: dict(zip(columns, v)) for k, v in data["results"].items()}

    assert len(benchmarks) >= 12
    missing = sorted(set(benchmarks) - set(results))
    assert not missing, f"benchmarks without a result: {missing}"

    in_profile = set(common.PROFILES[PROFILE])
    # bench_dask's split benchmarks run a lean grid of (N, workers): see its module doc.
    dask_lean = {(n, w) for n in bench_dask.LEAN_SIZES if n in in_profile for w in bench_dask.LEAN_WORKERS}
    installed = set(data.get("requirements", {}))
    problems = []
    for name, bench in sorted(benchmarks.items()):
        values = results[name]["result"]
        if name.startswith(MODEL_PREFIX):
            # The scale-out model's inputs: no N grid, fixed sizes, every value
            # measured (without dask only the threads split's).
            assert "N" not in bench["param_names"], name
            assert all(v is not None for v in values), f"{name} failed"
            if "distributed" in installed:
                assert not any(isinstance(v, float) and math.isnan(v) for v in values), f"{name} skipped"
            continue
        assert bench["param_names"][:2] == ["N", "workers"], name
        optional = [dep for prefix, dep in OPTIONAL.items() if name.startswith(prefix)]
        if optional and optional[0] not in installed:
            assert all(v is not None for v in values), f"{name} failed"
            continue
        params = results[name]["params"]
        sizes = [int(x) for x in params[0]]
        workers = [int(x) for x in params[1]]
        # asv flattens the parameter grid in row-major order (N outermost).
        per_size = len(values) // len(sizes)
        for i, value in enumerate(values):
            n = sizes[i // per_size]
            by_design = n in in_profile
            if name.startswith("bench_dask."):
                by_design = (n, workers[(i % per_size) // (per_size // len(workers))]) in dask_lean
            if value is None:
                problems.append(f"{name}[{i}] (N={n}) failed")
            elif isinstance(value, float) and math.isnan(value):
                if by_design:
                    problems.append(f"{name}[{i}] (N={n}) skipped, not by design")
            elif n not in in_profile:
                problems.append(f"{name}[{i}] (N={n}) ran outside the profile")
    assert not problems, "\n".join(problems) + "\n" + run.stdout[-20000:]


def test_asv_check_passes(quick_run):
    repo, env, env_name, run = quick_run
    check = _asv(["check", "-E", env_name], repo, env)
    assert "No problems found" in check.stdout
