"""``python -m benchtools compare``: the side-by-side ratios, in one process or several.

Run as users run it (a real subprocess from the repository root), on small
vectors so that it takes seconds. Its figures are not checked (a timed test
flakes on shared machines), its shape is: one row per dtype and N, every
column measured, and with ``--processes`` one child per process.
"""

import re
import subprocess
import sys

from benchtools._git import ROOT


def _compare(*args):
    return subprocess.run([sys.executable, "-m", "benchtools", "compare", "--sizes", "1e3", "1e5",
                           "--dtypes", "float64", "int32", "--workers", "2", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def _rows(out, dtype):
    """The cells of the best-time table's rows of ``dtype``, by N."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 3 and cells[0] == dtype and re.fullmatch(r"1e\d", cells[1]):
            rows[cells[1]] = cells[2:]
    return rows


def test_one_process_prints_a_time_for_every_column():
    proc = _compare("--peers", "numpy.einsum", "numpy.vdot")
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| dtype | N |"))
    # the raw hand-off is measured for float64 at 1e5 only
    # and float64 numpy.dot in the other dtypes' rows, for the bytes/s goal (the points are
    # shuffled: the column order follows the first row measured)
    columns = [c.strip() for c in header.strip("|").split("|")][2:]
    assert sorted(columns) == sorted(["numpy.dot", "threads", "auto", "numpy.einsum", "numpy.vdot",
                                      "raw hand-off", "numpy.dot float64"])
    for dtype in ("float64", "int32"):
        rows = _rows(proc.stdout, dtype)
        assert set(rows) == {"1e3", "1e5"}, proc.stdout
        for n, row in rows.items():
            cells = dict(zip(columns, row))
            for c in ("numpy.dot", "threads", "auto", "numpy.einsum", "numpy.vdot"):
                assert float(cells[c]) > 0, cells
            assert (cells["raw hand-off"] != "") == ((dtype, n) == ("float64", "1e5")), cells
            assert (cells["numpy.dot float64"] != "") == (dtype != "float64"), cells
    assert "auto / fastest peer" in proc.stdout
    assert "sampled in turn in the same row" in proc.stdout


def test_several_processes_give_the_median_and_the_worst_of_each():
    proc = _compare("--processes", "2", "--peers", "numpy.einsum")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("process 1 of 2 done") == 1, proc.stderr
    assert proc.stderr.count("process 2 of 2 done") == 1, proc.stderr
    # each child shuffled the points with its own seed, and measured all of them
    assert proc.stderr.count("measured float64 N=1e+05") == 2, proc.stderr
    assert "the median over 2 processes" in proc.stdout
    table = proc.stdout.split("in each of 2 processes")[1]
    cells = re.findall(r"\| (\d+\.\d\d); (\d+\.\d\d) \(([\w.]+); auto ran ([\w ]+)\)", table)
    assert len(cells) == 4, table  # 2 dtypes x 2 sizes
    for median, worst, winner, ran in cells:
        assert 0 < float(median) <= float(worst)
        assert winner in ("numpy.dot", "threads", "numpy.einsum")
        assert ran in ("below the floor", "serial", "inline", "native", "threads")
    # 1e3 (16 or 8 KB) is below auto's floor, 1e5 is measured
    assert sorted(ran for *_, ran in cells).count("below the floor") == 2, table


def test_processes_below_one_is_refused():
    proc = _compare("--processes", "0")
    assert proc.returncode != 0
    assert "--processes must be 1 or more, got 0" in proc.stderr
