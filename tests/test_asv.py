"""The suite under real asv: ``asv check`` and ``asv run --quick``.

Reads the session's measured clone (the ``measured_clone`` fixture of
``tests/conftest.py``): a temporary clone of the repository with the working
tree's ``asv.conf.json`` and ``benchmarks/`` copied over it (a throwaway HOME
for ``asv machine --yes``), so the repository's ``results/``, ``html/``,
``env/`` and ``~/.asv-machine.json`` are never touched; ``asv run --quick``
of the whole suite over its two commits (HEAD and a docs-only commit) in one
real virtualenv environment: the Python running the tests with the newest
numpy of the matrix that has a wheel for it.

In the slow tier (marker ``asv``): ``pytest --all-tiers`` or ``-m asv``.
"""

import itertools
import json
import math
import sys

import pytest

from benchmarks import common

asv = pytest.importorskip("asv")
pytest.importorskip("virtualenv")

pytestmark = pytest.mark.asv

PROFILE = "quick"


@pytest.fixture(scope="module")
def quick_run(measured_clone):
    # The measured clone runs the working tree's suite and configuration
    # (the package itself is built from each commit, as asv always does).
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if measured_clone.environment.python != mine:
        pytest.skip(f"asv.conf.json has no environment for Python {mine}")
    return measured_clone


def _results(measured, commit):
    return json.loads(measured.results_file(commit).read_text())


def test_asv_run_quick_completes(quick_run):
    run = quick_run.run
    assert run.returncode == 0, (
        f"asv run exited {run.returncode}\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    )


def _points(params, names):
    """Every parameter combination as a dict (asv's order: the last parameter varies fastest)."""
    return [
        {k: v.strip("'\"") for k, v in zip(names, combo)}
        for combo in itertools.product(*params)
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["HEAD", "docs-commit"])
def test_every_benchmark_succeeds_and_skips_only_by_design(quick_run, which):
    """Every point of the quick grid has a value at both commits: nothing failed, nothing skipped."""
    run = quick_run.run
    benchmarks = json.loads((quick_run.path / "results" / "benchmarks.json").read_text())
    benchmarks = {k: v for k, v in benchmarks.items() if k != "version"}
    data = _results(quick_run, quick_run.commits[which])
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
    """On HEAD (and the docs-only commit on it) every feature exists: no 'asv: skipped' line."""
    assert "asv: skipped" not in quick_run.output


def test_asv_check_passes(quick_run):
    check = quick_run.clone.asv("check", "-E", quick_run.env_name, merge_stderr=False)
    assert "No problems found" in check.stdout
