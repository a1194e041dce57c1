"""The suite under real asv: ``asv check`` and ``asv run --quick`` on HEAD.

Runs in a temporary clone of the repository (the working tree's
``asv.conf.json`` and ``benchmarks/`` copied over it, a throwaway HOME for
``asv machine --yes``), so the repository's ``results/``, ``html/``,
``env/`` and ``~/.asv-machine.json`` are never touched. One real virtualenv
environment is built: the Python running the tests with the newest numpy
of the matrix that has a wheel for it. About two to four minutes on a
2-core machine, most of it creating the environment.

Select with ``-m asv``; deselect with ``-m "not asv"``.
"""

import itertools
import json
import math
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

asv = pytest.importorskip("asv")
pytest.importorskip("virtualenv")

pytestmark = pytest.mark.asv

PROFILE = "quick"
TIMEOUT = 20 * 60


@pytest.fixture(scope="module")
def quick_run(asv_clone):
    # Test what is being edited: the working tree's suite and configuration
    # (the package itself is built from HEAD, as asv always does).
    clone = asv_clone("asv", profile=PROFILE, copy_worktree=True, timeout=TIMEOUT)
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if not clone.environments(python=mine):
        pytest.skip(f"asv.conf.json has no environment for Python {mine}")
    env_name = clone.default_environment()  # this Python, the newest numpy

    run = clone.asv("run", "--quick", "--show-stderr", "-E", env_name, "HEAD^!",
                    check=False, merge_stderr=False)
    return clone, env_name, run


def _results(repo, env_name):
    files = [
        p
        for p in (repo / "results").glob("*/*.json")
        if p.name != "machine.json" and p.stem.endswith(env_name)
    ]
    assert len(files) == 1, f"expected one results file for {env_name}, got {files}"
    return json.loads(files[0].read_text())


def test_asv_run_quick_completes(quick_run):
    clone, env_name, run = quick_run
    assert run.returncode == 0, (
        f"asv run exited {run.returncode}\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    )


def _points(params, names):
    """Every parameter combination as a dict (asv's order: the last parameter varies fastest)."""
    return [
        {k: v.strip("'\"") for k, v in zip(names, combo)}
        for combo in itertools.product(*params)
    ]


def test_every_benchmark_succeeds_and_skips_only_by_design(quick_run):
    """Every point of the quick grid has a value: nothing failed, nothing skipped."""
    clone, env_name, run = quick_run
    benchmarks = json.loads((clone.path / "results" / "benchmarks.json").read_text())
    benchmarks = {k: v for k, v in benchmarks.items() if k != "version"}
    data = _results(clone.path, env_name)
    columns = data["result_columns"]
    results = {k: dict(zip(columns, v)) for k, v in data["results"].items()}

    assert len(benchmarks) >= 5
    missing = sorted(set(benchmarks) - set(results))
    assert not missing, f"benchmarks without a result: {missing}"

    grid = common.PROFILES[PROFILE]
    problems = []
    for name, bench in sorted(benchmarks.items()):
        assert bench["version"].endswith(f"+{PROFILE}"), (name, bench["version"])
        points = _points(results[name]["params"], bench["param_names"])
        if "N" in bench["param_names"]:
            sizes = {int(p["N"]) for p in points}
            assert sizes <= set(grid.sizes), f"{name} ran outside the profile: {sizes}"
        if "dtype" in bench["param_names"]:
            assert {p["dtype"] for p in points} == set(grid.dtypes), name
        for point, value in zip(points, results[name]["result"]):
            if value is None:
                problems.append(f"{name} {point} failed")
            elif isinstance(value, float) and math.isnan(value):
                problems.append(f"{name} {point} skipped")
    assert not problems, "\n".join(problems) + "\n" + run.stdout[-20000:]


def test_skipped_points_print_nothing(quick_run):
    """On HEAD every feature exists: no 'asv: skipped' line."""
    clone, env_name, run = quick_run
    assert "asv: skipped" not in run.stdout + run.stderr


def test_asv_check_passes(quick_run):
    clone, env_name, run = quick_run
    check = clone.asv("check", "-E", env_name, merge_stderr=False)
    assert "No problems found" in check.stdout
