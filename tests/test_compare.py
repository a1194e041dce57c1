"""End to end: ``asv compare A B`` prints one row per point of the grid.

Reads the session's measured clone (the ``measured_clone`` fixture of
``tests/conftest.py``): a ``git clone --no-local`` of this repository with a
second commit (docs only), the whole suite measured by ``asv run --quick``
over both commits in one real virtualenv environment (``quick`` profile, a
throwaway HOME for ``asv machine --yes``). Then plain ``asv compare C0 C1``,
as the README says, must print one row per point of bench_dot
(implementation, N, workers and dtype; N and workers for the per-call pool),
each with both values, and exit 0.

``--quick`` takes one sample per benchmark: enough to check the table, not
to judge a change (that is the gate's job, ``python -m benchtools gate``, see tests/test_gate.py).
"""

import itertools
import json
import re
import time

import pytest

pytestmark = pytest.mark.asv


@pytest.fixture(scope="module")
def compared(measured_clone):
    # Exit status 2: a benchmark failed somewhere in the suite (test_asv
    # reports it); the rows of bench_dot are checked below.
    measured_clone.require((0, 2))
    c0, c1 = measured_clone.commits
    t0 = time.monotonic()
    proc = measured_clone.clone.asv("compare", c0, c1, check=False, timeout=300)
    print(proc.stdout[-6000:])
    print(f"wall time: asv compare {time.monotonic() - t0:.0f} s")
    return {"c0": c0, "c1": c1, "rc": proc.returncode, "out": proc.stdout,
            "path": measured_clone.path}


def _table_rows(out):
    """{bench_dot name with params: (before, after, ratio)} from asv compare's table."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.match(r"^bench_dot\.\w+\.\w+\(", cells[4]):
            rows[cells[4]] = tuple(cells[1:4])
    return rows


def _expected_rows(clone_path):
    """``name(params)`` of every point of bench_dot's time_ benchmarks, as asv compare names them."""
    benchmarks = json.loads((clone_path / "results" / "benchmarks.json").read_text())
    rows = {}
    for name, bench in benchmarks.items():
        if not name.startswith("bench_dot.") or ".time_" not in name:
            continue
        for combo in itertools.product(*bench["params"]):
            point = dict(zip(bench["param_names"], (v.strip("'\"") for v in combo)))
            rows[f"{name}({', '.join(combo)})"] = point
    return rows


def test_compare_prints_one_row_per_point(compared):
    assert compared["rc"] == 0
    rows = _table_rows(compared["out"])
    expected = _expected_rows(compared["path"])
    assert "bench_dot.TimeDot.time_dot('threads', 100000, 2, 'int32')" in expected
    assert "bench_dot.PerCallPool.time_per_call_pool(100000, 2)" in expected
    missing = sorted(set(expected) - set(rows))
    assert not missing, f"rows missing from asv compare:\n{missing}\n{compared['out'][-6000:]}"
    # One row each: no duplicate lines for the same point.
    printed = [line for line in compared["out"].splitlines()
               if re.search(r"bench_dot\.\w+\.\w+\(", line)]
    assert len(printed) == len(rows) == len(expected)


def test_compare_shows_both_values_of_every_point(compared):
    rows = _table_rows(compared["out"])
    for name in _expected_rows(compared["path"]):
        before, after, ratio = rows[name]
        assert re.search(r"\d", before) and re.search(r"\d", after), (name, rows[name])
        assert re.search(r"\d", ratio), (name, rows[name])
