"""End to end: ``asv compare A B`` prints one row per N and workers.

A ``git clone --no-local`` of this repository gets a second commit (a
docs-only change); ``asv run --quick`` measures bench_dot over both commits in
one real virtualenv environment (``quick`` profile, a throwaway HOME for
``asv machine --yes``); then plain ``asv compare C0 C1``, as the README
says, must print one row per benchmark, N and workers -- the sizes the
profile skipped as ``n/a`` -- and exit 0.

``--quick`` takes one sample per benchmark: enough to check the table, not
to judge a change (that is tools/gate.py's job, see tests/test_gate.py).
"""

import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
MACHINE = "compare-test"

pytestmark = pytest.mark.asv


@pytest.fixture(scope="module")
def compared(asv_clone):
    t0 = time.monotonic()
    clone = asv_clone("compare", profile="quick", machine=MACHINE)
    c0 = clone.rev_parse("HEAD")
    c1 = clone.commit_file("README.md", "\nA docs-only commit, made by tests/test_compare.py.\n",
                           "test: docs only", append=True)
    hashfile = clone.write_hashfile([c0, c1])

    env_name = clone.default_environment()  # this Python, the newest numpy
    clone.asv("run", "--quick", "--show-stderr", "--machine", MACHINE, "-E", env_name,
              "-b", r"^bench_dot\.", f"HASHFILE:{hashfile}")
    t_run = time.monotonic() - t0
    proc = clone.asv("compare", c0, c1, check=False, timeout=300)
    print(proc.stdout[-6000:])
    print(f"wall time: asv run {t_run:.0f} s, module {time.monotonic() - t0:.0f} s")
    return {"c0": c0, "c1": c1, "rc": proc.returncode, "out": proc.stdout}


def _table_rows(out):
    """{benchmark name with params: (before, after, ratio)} from asv compare's table."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.match(r"^bench_\w+\.\w+\.\w+\(", cells[4]):
            rows[cells[4]] = tuple(cells[1:4])
    return rows


def test_compare_prints_one_row_per_n_and_workers(compared):
    from benchmarks import bench_dot, common

    assert compared["rc"] == 0
    rows = _table_rows(compared["out"])
    names = [
        f"bench_dot.{cls}.{attr}"
        for cls, obj in vars(bench_dot).items()
        if isinstance(obj, type) and obj.__module__ == bench_dot.__name__
        for attr in dir(obj) if attr.startswith("time_")
    ]
    assert "bench_dot.Threads.time_threads" in names
    expected = {f"{name}({n}, {w})" for name in names
                for n in common.SIZES for w in common.WORKERS}
    missing = sorted(expected - set(rows))
    assert not missing, f"rows missing from asv compare:\n{missing}\n{compared['out'][-6000:]}"
    # One row each: no duplicate lines for the same benchmark, N and workers.
    printed = [line for line in compared["out"].splitlines()
               if re.search(r"bench_dot\.\w+\.\w+\(", line)]
    assert len(printed) == len(rows) == len(expected)


def test_compare_shows_measured_and_skipped_sizes(compared):
    rows = _table_rows(compared["out"])
    quick, skipped = "bench_dot.Threads.time_threads(100000, 2)", \
        "bench_dot.Threads.time_threads(10000000, 2)"
    before, after, ratio = rows[quick]
    assert re.search(r"\d", before) and re.search(r"\d", after), rows[quick]
    assert re.search(r"\d", ratio), rows[quick]
    assert rows[skipped][0] == "n/a" and rows[skipped][1] == "n/a", rows[skipped]
