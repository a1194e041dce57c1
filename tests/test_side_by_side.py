"""``python -m benchtools compare``: the side-by-side ratios, in one process or several.

Run as users run it (a real subprocess from the repository root), on small
vectors so that it takes seconds. Its figures are not checked (a timed test
flakes on shared machines), its shape is: one row per dtype and N, every
column measured, and with ``--processes`` one child per process. How it
reads a ratio to the fastest of several columns is checked on drawn times.
"""

import math
import random
import re
import statistics
import subprocess
import sys

import pytest

from benchtools._git import ROOT
from benchtools.compare import (BANDWIDTH_GOAL, CHEAP_GOAL, PEER_GOAL, _what_would_decide,
                                held_out_ratio, judge, verdict)


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
    # the raw hand-off is measured for float64 at 1e5 only (the points are shuffled: the
    # column order follows the first row measured); float64 numpy.dot in the other dtypes'
    # rows only from 1e7 on, where the bytes/s goal is
    columns = [c.strip() for c in header.strip("|").split("|")][2:]
    assert sorted(columns) == sorted(["numpy.dot", "threads", "auto", "numpy.einsum", "numpy.vdot",
                                      "raw hand-off"])
    for dtype in ("float64", "int32"):
        rows = _rows(proc.stdout, dtype)
        assert set(rows) == {"1e3", "1e5"}, proc.stdout
        for n, row in rows.items():
            cells = dict(zip(columns, row))
            for c in ("numpy.dot", "threads", "auto", "numpy.einsum", "numpy.vdot"):
                assert float(cells[c]) > 0, cells
            assert (cells["raw hand-off"] != "") == ((dtype, n) == ("float64", "1e5")), cells
    assert "auto / fastest peer" in proc.stdout
    assert "bytes per second" not in proc.stdout  # no size of the bytes/s goal


def test_the_bytes_per_second_reference_is_measured_from_1e7_on():
    proc = subprocess.run([sys.executable, "-m", "benchtools", "compare", "--sizes", "1e5", "1e7",
                           "--dtypes", "int32", "--workers", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| dtype | N |"))
    columns = [c.strip() for c in header.strip("|").split("|")][2:]
    rows = {n: dict(zip(columns, row)) for n, row in _rows(proc.stdout, "int32").items()}
    assert rows["1e5"].get("numpy.dot float64", "") == "", rows
    assert float(rows["1e7"]["numpy.dot float64"]) > 0, rows
    table = proc.stdout.split("sampled in turn in the same row")[1].split("\n\n")[1]
    assert table.splitlines()[0] == "| dtype | 1e7 |", table
    assert re.fullmatch(r"\| int32 \| \d+\.\d\d \|", table.splitlines()[2]), table


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
    proc = _compare("--processes", "3", "--max-processes", "2")
    assert proc.returncode != 0
    assert "--max-processes must be at least --processes (3), got 2" in proc.stderr


def test_undecided_goals_are_measured_again_at_their_sizes_only():
    # 95% signed-rank intervals need 6 values: after 2 and 3 processes every
    # goal cell (N = 1e6 here) is undecided, so processes 3 and 4 run, and
    # measure 1e6 alone (every dtype), not 1e5, which holds no goal cell
    proc = _compare("--sizes", "1e5", "1e6", "--processes", "2", "--max-processes", "4",
                    "--peers", "numpy.vdot")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("measured float64 N=1e+05") == 2, proc.stderr
    assert proc.stderr.count("measured int32 N=1e+06") == 4, proc.stderr
    assert "process 4 of at most 4 done; a goal undecided at N = 1e6" in proc.stderr
    assert "the median over 2/4 processes of its best" in proc.stdout
    goal = proc.stdout.split("Goal: auto / fastest other way at most 1.05")[1]
    cells = re.findall(r"\| (\d+\.\d\d) \[(\d+\.\d\d), (inf)\] undecided \((\d)\) \|", goal)
    assert [c[3] for c in cells] == ["4", "4"], goal  # float64 and int32 at 1e6
    assert "cells: 0 met, 0 missed, 2 undecided" in proc.stdout
    assert proc.stdout.count("more processes (too few for an interval)") == 2, proc.stdout


def test_a_verdict_needs_the_whole_interval_on_one_side():
    rng = random.Random(2)

    def draws(centre, sigma, count=9):
        return [centre * rng.lognormvariate(0, sigma) for _ in range(count)]

    limit = PEER_GOAL[2]
    assert limit == pytest.approx(1 / 0.95)
    word, low, estimate, high = verdict(draws(1.0, 0.01), limit)
    assert (word, high < limit) == ("met", True) and low < estimate < high
    assert verdict(draws(1.3, 0.01), limit)[0] == "missed"
    astride = [limit * x for x in (0.90, 0.95, 0.97, 0.99, 1.0, 1.01, 1.03, 1.05, 1.10)]
    assert verdict(astride, limit)[0] == "undecided"
    # two ways equally fast, one process astray: still met, where the worst
    # process alone (the old reading) would say 1.31
    astray = [1.00, 0.99, 1.01, 1.02, 0.98, 1.00, 1.31, 1.01, 0.99, 1.00, 1.01, 0.99]
    assert verdict(astray, limit)[0] == "met"
    # too few processes for a 95% interval: undecided, not met
    assert verdict([1.0, 1.0, 1.0], limit)[1:] == (0.0, 1.0, float("inf"))
    assert verdict([1.0, 1.0, 1.0], limit)[0] == "undecided"
    # "at least": bytes per second
    assert verdict(draws(1.0, 0.02), 0.9, "at least")[0] == "met"
    assert verdict(draws(0.7, 0.02), 0.9, "at least")[0] == "missed"
    with pytest.raises(ValueError, match="side must be 'at most' or 'at least', got 'below'"):
        verdict([1.0], 0.9, "below")
    with pytest.raises(ValueError, match="positive values"):
        verdict([1.0, 0.0], 0.9)


def test_judge_reads_one_value_per_process_that_measured_the_cell():
    rng = random.Random(3)

    def process(auto_scale, sizes):
        result = {}
        for n in sizes:
            row = _draws(rng, ["auto", "numpy.dot", "threads", "numpy.dot float64"], sigma=0.01,
                         scale={"auto": 100.0 * auto_scale, "threads": 300.0,
                                "numpy.dot float64": 200.0})
            result[("int32", n)] = row
        return result, {("int32", n): "native" for n in sizes}

    # 10 processes at 1e6, 4 of them also at 1e7
    per_process = [process(0.5, [10**6, 10**7] if i < 4 else [10**6]) for i in range(10)]
    verdicts = judge(per_process, [10**5, 10**6, 10**7], ["int32"])
    # no goal below 1e6; the bytes/s goal only from 1e7
    assert set(verdicts) == {(PEER_GOAL, "int32", 10**6), (PEER_GOAL, "int32", 10**7),
                             (BANDWIDTH_GOAL, "int32", 10**7)}
    word, low, estimate, high, count = verdicts[(PEER_GOAL, "int32", 10**6)]
    assert (word, count) == ("met", 10) and 0.45 < estimate < 0.55
    assert verdicts[(PEER_GOAL, "int32", 10**7)][0::4] == ("undecided", 4)
    # an int32 element is half a float64's bytes: auto at 50 us against float64 numpy.dot
    # at 200 us reads 4 / 8 x 200 / 50 = 2 times its bytes per second
    assert verdicts[(BANDWIDTH_GOAL, "int32", 10**7)][2] == pytest.approx(2.0, rel=0.05)


def test_auto_where_no_split_wins_is_judged_against_numpy_dot_alone():
    """At 1e3 and 1e4 auto must cost at most 1.2 times numpy.dot, whatever the peers do."""
    rng = random.Random(4)

    def process():
        result = {}
        for dtype, n, auto in [("float64", 10**3, 0.7), ("complex128", 10**3, 3.1),
                               ("complex128", 10**4, 1.18), ("float64", 10**5, 5.0)]:
            # a peer three times faster than numpy.dot does not count here
            result[(dtype, n)] = _draws(rng, ["auto", "numpy.dot", "threads", "torch.dot"],
                                        sigma=0.01, scale={"auto": 100.0 * auto,
                                                           "threads": 900.0, "torch.dot": 33.0})
        return result, dict.fromkeys(result)

    verdicts = judge([process() for _ in range(8)], [10**3, 10**4, 10**5],
                     ["float64", "complex128"])
    assert {key for key in verdicts if key[0] is CHEAP_GOAL} == {
        (CHEAP_GOAL, "float64", 10**3), (CHEAP_GOAL, "complex128", 10**3),
        (CHEAP_GOAL, "complex128", 10**4)}  # none at 1e5
    assert verdicts[(CHEAP_GOAL, "float64", 10**3)][0] == "met"
    word, low, estimate, high, count = verdicts[(CHEAP_GOAL, "complex128", 10**3)]
    assert (word, count) == ("missed", 8) and estimate == pytest.approx(3.1, rel=0.02)
    assert verdicts[(CHEAP_GOAL, "complex128", 10**4)][0] == "met"
    assert CHEAP_GOAL.where() == "at N = 1e3 to 1e4" and PEER_GOAL.where() == "at N >= 1e6"


def _draws(rng, columns, scale=None, samples=15, sigma=0.15):
    """Per-call times drawn from one lognormal law per column (``scale``: its median, default 100)."""
    scale = scale or {}
    return {c: [scale.get(c, 100.0) * rng.lognormvariate(0, sigma) for _ in range(samples)]
            for c in columns}


def test_equally_fast_columns_read_one_when_the_winner_is_chosen_on_other_samples():
    # auto running numpy.dot itself, against four columns of the same speed
    # (numpy.dot, numpy.inner and numpy.vdot are one BLAS routine): the best
    # of the fastest's bests is the luckiest of four draws, and reads auto
    # about 9 % slower than it is; chosen on the even samples and read on
    # the odd ones, the ratio is 1 on average.
    peers = ["numpy.dot", "numpy.inner", "numpy.vdot", "torch.dot"]
    rng = random.Random(0)
    same_samples, held_out = [], []
    for _ in range(400):
        s = _draws(rng, ["auto", *peers])
        same_samples.append(min(s["auto"]) / min(min(s[c]) for c in peers))
        held_out.append(held_out_ratio(s, "auto", peers)[0])
    assert statistics.median(same_samples) > 1.05
    assert 0.97 < statistics.median(held_out) < 1.03


def test_a_faster_peer_is_chosen_and_read_at_its_speed():
    rng = random.Random(1)
    s = _draws(rng, ["auto", "numpy.dot", "numba.prange"], scale={"numba.prange": 50.0}, sigma=0.02)
    ratio, winner = held_out_ratio(s, "auto", ["numpy.dot", "numba.prange"])
    assert winner == "numba.prange"
    assert 1.9 < ratio < 2.1
    # auto is never its own peer; a row with none of the peers is an error, not a 1
    assert held_out_ratio(s, "auto", ["auto", "numpy.dot"])[1] == "numpy.dot"
    with pytest.raises(ValueError, match="none of the columns"):
        held_out_ratio(s, "auto", ["torch.dot"])


def test_what_would_decide_an_undecided_cell():
    # half-width 0.05 in logs, the estimate 0.05 off the limit: as many processes again
    low, estimate, high = math.exp(-0.05), 1.0, math.exp(0.05)
    assert _what_would_decide(low, estimate, high, math.exp(0.05), 10) == \
        "about 10 processes at this spread"
    # twice as far off: a quarter of the processes would do at this spread
    assert _what_would_decide(low, estimate, high, math.exp(0.1), 16) == \
        "about 4 processes at this spread"
    # an estimate on the limit (1.053 against 1/0.95 after 32 processes read "about
    # 77271724 processes"): no count of processes will decide a tie
    for limit in (1.0, 1.0001):
        assert "nothing within reach" in _what_would_decide(low, estimate, high, limit, 32)
    assert "too few" in _what_would_decide(0.0, estimate, math.inf, 1.05, 2)
