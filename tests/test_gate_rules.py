"""The gate's rules on fixed data, no measurement: the signed-rank interval, the verdicts, the rows.

The paired rule (``benchtools._stats``, ``benchtools._paired.verdict``)
decides a measured run; :func:`benchtools.gate.judge` decides ``--no-run``
on the one value per commit that asv saved.
"""

import itertools
import json
import math
import os
import random
import statistics
import sys
import threading
import time
import types

import pytest

from benchtools import _paired, _stats, gate

ROW = ("threads", 10**6, 2, "float64", "env")


def verdict(base, head, factor=1.1):
    judged, regressed, noisy = gate.judge({ROW: (base, head)}, factor)
    assert len(judged) == 1
    if regressed:
        return "regressed", judged[0]
    if noisy:
        return "noisy", judged[0]
    return "ok", judged[0]


def test_tight_rounds_of_the_same_ratio_are_ok():
    kind, row = verdict([1.00, 1.02, 0.99], [1.01, 0.98, 1.00])
    assert kind == "ok"
    assert row["slowdown"] == pytest.approx(1.00 / 1.00)
    assert row["spread"] == pytest.approx(1.02 / 1.00)  # the lowest round left out


def test_a_slowdown_beyond_factor_and_spread_regresses():
    kind, row = verdict([1.00, 1.02, 0.99], [0.87, 0.86, 0.88])
    assert kind == "regressed"
    assert row["slowdown"] == pytest.approx(1.00 / 0.87)


def test_a_slowdown_within_the_spread_is_noisy():
    kind, _ = verdict([1.00, 1.40, 1.10], [0.85, 0.84, 1.30])
    assert kind == "noisy"


def test_rounds_that_scatter_more_than_the_factor_cannot_say_ok():
    # No slowdown by the medians, but rounds 25% apart: a 15% change would not show.
    kind, row = verdict([2.95, 2.40, 3.00], [3.14, 2.50, 3.14 * 1.25])
    assert kind == "noisy" and row["slowdown"] < 1.1 and row["spread"] > 1.1


def test_a_head_that_fails_regresses_and_one_that_skips_is_not_judged():
    judged, regressed, _ = gate.judge({ROW: ([1.0, 1.0, 1.0], [None, None, None])}, 1.1)
    assert regressed and regressed[0]["reason"] == "fails at HEAD"
    judged, regressed, noisy = gate.judge(
        {ROW: ([1.0, 1.0, 1.0], [float("nan")] * 3)}, 1.1)
    assert judged == regressed == noisy == []


def test_signed_rank_critical_values_match_the_published_table():
    # Two-sided 5% and 1% critical values of the Wilcoxon signed-rank test
    # (e.g. Hollander, Wolfe and Chicken, table A.4): n -> (alpha 0.05, 0.01).
    table = {6: (0, -1), 8: (3, 0), 10: (8, 3), 15: (25, 15), 20: (52, 37), 25: (89, 68)}
    for n, (five, one) in table.items():
        assert _stats.signed_rank_critical(n, 0.05) == five, n
        assert _stats.signed_rank_critical(n, 0.01) == one, n


def test_interval_and_estimate_on_known_values():
    low, estimate, high = _stats.signed_rank_interval([0.1] * 16, 0.99)
    assert low == estimate == high == pytest.approx(0.1)
    values = [-0.02, 0.01, 0.03, 0.05, 0.04, 0.02, 0.06, 0.00, 0.03, 0.02, 0.01, 0.04, 0.05,
              0.03, 0.02, 0.01]
    low, estimate, high = _stats.signed_rank_interval(values, 0.99)
    assert low < estimate < high
    assert estimate == pytest.approx(sorted(_stats.walsh_averages(values))[67], abs=0.011)
    # Too few values for 99%: unbounded, never a verdict.
    assert _stats.signed_rank_interval([0.5, 0.6, 0.7], 0.99)[::2] == (-math.inf, math.inf)
    with pytest.raises(ValueError, match="confidence must be in"):
        _stats.signed_rank_interval(values, 1.5)


def test_interval_covers_the_centre_as_often_as_it_says():
    rng = random.Random(7)
    covered = 0
    for _ in range(400):
        values = [0.2 + rng.gauss(0, 0.1) + (rng.random() < 0.1) * rng.choice([-1, 1])
                  for _ in range(24)]  # 10% outliers, symmetric
        low, _, high = _stats.signed_rank_interval(values, 0.95)
        covered += low <= 0.2 <= high
    assert 0.91 <= covered / 400 <= 0.99


@pytest.mark.parametrize("logs, expected", [
    ([0.0] * 8 + [0.02, -0.02] * 4, "ok"),                 # identical code
    ([math.log(1.3)] * 10 + [math.log(1.25)] * 6, "regressed"),
    ([math.log(1.1) + d for d in (-0.05, 0.05) * 8], "undecided"),  # exactly the factor
])
def test_verdict_from_the_interval(logs, expected):
    low, _, high = _stats.signed_rank_interval(logs, 0.99)
    assert _paired.verdict(low, high, 1.1) == expected


def test_rows_of_the_gate_profile_and_the_bench_filter():
    rows = gate.rows("gate", 1e5, gate.DEFAULT_BENCH)
    assert len(rows) == 3 * 2 * 3 * 3  # N, dtypes, splits, workers
    assert [r["N"] for r in rows] == sorted(r["N"] for r in rows)
    ci = gate.rows("gate", 1e5, r"\('(threads|auto)', (100000|1000000), [12], ")
    assert len(ci) == 16 and {r["split"] for r in ci} == {"threads", "auto"}
    assert gate.rows("gate", 1e6, gate.DEFAULT_BENCH)[0]["N"] == 10**6
    assert gate.rows("gate", 1e5, "nothing matches this") == []


def test_an_undecided_row_says_what_would_decide_it():
    row = {"slowdown": 1.12, "low": 1.05, "high": 1.19, "batches": 20, "seconds": 15.0}
    text = gate._what_would_decide(row, 1.1)
    assert "batches would" in text and "--max-batches" in text
    row = {"slowdown": 1.1, "low": 1.05, "high": 1.15, "batches": 20, "seconds": 15.0}
    assert "no number of batches decides it" in gate._what_would_decide(row, 1.1)


def _fake_build(name, factor, monkeypatch, scatter=0.3):
    """A stand-in for a built package: ``parallel_dot`` busy-waits ``factor`` x 20 us, +-30 %.

    The scatter (uniform, per call, ``scatter``) stands for the machine's:
    without it a block's median call would give the factor to a few parts
    in a thousand. ``factor`` may be a list: the next one after each
    ``shutdown()`` (the gate's redraw before each batch), in turn. It may
    also be a dict, ``workers`` -> such a factor, for rows that differ by
    their workers; every ``shutdown()`` moves each of them on.
    """
    module = types.ModuleType(name)
    draw = random.Random(name).uniform
    factors = factor if isinstance(factor, dict) else {None: factor}
    cycles = {w: itertools.cycle(f if isinstance(f, list) else [f]) for w, f in factors.items()}
    now = {w: next(cycle) for w, cycle in cycles.items()}

    def parallel_dot(a, b, workers=1, backend="threads"):
        _spin(now[workers if workers in now else None] * 20e-6 * draw(1 - scatter, 1 + scatter))
        return 0.0

    def shutdown():
        now.update((w, next(cycle)) for w, cycle in cycles.items())

    module.parallel_dot = parallel_dot
    module.shutdown = shutdown
    monkeypatch.setitem(sys.modules, name, module)


def test_the_measuring_process_measures_undecided_rows_further(monkeypatch, tmp_path, capsys):
    """A row whose batches straddle the factor stays undecided, and gets the time left.

    HEAD is 0.9 or 1.3 times BASE, by turns from one batch to the next: an
    interval about as wide, whatever the machine. A HEAD of exactly the
    factor was decided once in two fast-tier runs (2026-12-04): the calls'
    own cost, the same in both builds, pulls the ratio under the factor.
    """
    _fake_build("paralleldot_base", 1.0, monkeypatch)
    _fake_build("paralleldot_head", [0.9, 1.3], monkeypatch)
    spec = {"rows": [{"split": "threads", "N": 1000, "workers": 1, "dtype": "float64"}],
            "factor": 1.1, "confidence": 0.99, "batch": 4, "min_batches": 8, "max_batches": 8,
            "block_seconds": 0.0005, "row_seconds": 0.5, "total_seconds": 5.0}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert _paired.main(str(path)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["again"] for line in lines[:2]] == [False, True]
    assert all(line["again"] for line in lines[1:])
    first, again = lines[0], lines[-1]
    assert first["verdict"] == "undecided" and first["batches"] == 8
    assert again["batches"] > first["batches"] and again["seconds"] > first["seconds"]
    assert 1.0 < again["slowdown"] < 1.25
    assert not any(k.startswith("_") for k in again)


def test_the_time_left_goes_first_to_the_row_nearest_a_verdict(monkeypatch, tmp_path, capsys):
    """Two rows undecided after their turn: the one a few batches would decide is measured first.

    Row ``workers=2`` comes first in the grid and no number of batches
    decides it (HEAD 0.9 or 1.3 times BASE by turns); row ``workers=1`` is
    1.5 times slower in three batches of four and 1.05 in the fourth, so 8
    batches leave its interval astride the factor and a few more do not.
    Taken in the grid's order with equal shares, the hopeless row took its
    share first.
    """
    _fake_build("paralleldot_base", 1.0, monkeypatch, scatter=0)
    _fake_build("paralleldot_head", {1: [1.05, 1.5, 1.5, 1.5], 2: [0.9, 1.3]}, monkeypatch,
                scatter=0)
    rows = [{"split": "threads", "N": 1000, "workers": w, "dtype": "float64"} for w in (2, 1)]
    spec = {"rows": rows, "factor": 1.1, "confidence": 0.99, "batch": 4, "min_batches": 8,
            "max_batches": 8, "block_seconds": 0.0005, "row_seconds": 0.5, "total_seconds": 6.0}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert _paired.main(str(path)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["workers"], line["again"], line["verdict"]) for line in lines[:2]] == [
        (2, False, "undecided"), (1, False, "undecided")]
    assert (lines[2]["workers"], lines[2]["again"]) == (1, True)
    assert lines[2]["verdict"] == "regressed"
    assert [line["workers"] for line in lines[3:]] and all(
        line["workers"] == 2 for line in lines[3:])


def test_auto_rows_below_1e7_take_batches_of_fewer_pairs(monkeypatch, tmp_path, capsys):
    """``auto`` rows below 1e7 take ``FEW_PAIRS`` pairs a batch; other rows the spec's."""
    _fake_build("paralleldot_base", 1.0, monkeypatch, scatter=0)
    _fake_build("paralleldot_head", 1.0, monkeypatch, scatter=0)
    rows = [{"split": split, "N": n, "workers": 1, "dtype": "float64"}
            for split, n in (("auto", 1000), ("auto", 10**7), ("threads", 1000))]
    spec = {"rows": rows, "factor": 1.1, "confidence": 0.99, "batch": 4, "min_batches": 8,
            "max_batches": 8, "block_seconds": 0.0005, "row_seconds": 5.0, "total_seconds": 15.0}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert _paired.FEW_PAIRS != spec["batch"]
    assert _paired.main(str(path)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["split"], line["N"], line["verdict"], line["pairs"]) for line in lines] == [
        ("auto", 1000, "ok", 8 * _paired.FEW_PAIRS), ("auto", 10**7, "ok", 8 * 4),
        ("threads", 1000, "ok", 8 * 4)]


def test_a_row_without_a_bounded_interval_has_no_estimate_of_the_seconds_to_decide_it():
    """At 99.9% 8 batches bound no interval: the row's low end is exp(-inf) = 0, not an error."""
    row = {"low": 0.0, "slowdown": 1.05, "high": math.inf, "batches": 8, "seconds": 4.0}
    assert _paired.seconds_to_decide(row, 1.1) == math.inf
    assert "too few batches" in gate._what_would_decide(row, 1.1)
    row = {"low": 1.0, "slowdown": 1.2, "high": 1.4, "batches": 8, "seconds": 4.0}
    assert 0.5 <= _paired.seconds_to_decide(row, 1.1) < math.inf


def test_batches_to_decide_grows_as_the_estimate_nears_the_limit():
    limit = math.log(1.1)
    far = _stats.batches_to_decide(math.log(1.05), math.log(1.2), math.log(1.35), 10, limit)
    near = _stats.batches_to_decide(math.log(1.05), math.log(1.12), math.log(1.35), 10, limit)
    assert 10 <= far < near < math.inf
    assert _stats.batches_to_decide(-0.2, limit, 0.3, 10, limit) == math.inf
    assert _stats.batches_to_decide(-math.inf, 0.0, math.inf, 5, limit) == math.inf


def test_batches_to_decide_reads_the_side_of_the_interval_that_faces_the_limit():
    """1.001 [0.941, 1.130] after 80 batches (a busy gate run, 2026-12-05): its high end decides.

    Half the width (0.092 in the log) is less than the estimate's distance
    to 1.1 (0.094), which made the estimate 80 batches, as many as it had.
    """
    needed = _stats.batches_to_decide(math.log(0.941), math.log(1.001), math.log(1.130), 80,
                                      math.log(1.1))
    assert 120 < needed < 150


def _spin(seconds):
    """Busy-wait ``seconds`` (a call that holds its core, as a dot product does)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _timed_block(durations, number, split):
    """``_paired._block`` of calls that last ``durations`` in turn, on a clock of their own.

    A fake clock, advanced by each call, instead of real calls: the rule is
    tested on exact times, not on how a loaded machine ran a busy-wait.
    """
    now = [0.0]
    left = iter(durations)

    def func():
        now[0] += next(left)

    return _paired._block(func, number, _paired.block_statistic(split), clock=lambda: now[0])


def test_a_block_drops_its_slowest_quarter_so_a_rare_wait_for_a_core_does_not_move_it():
    """One call in five waits 20 times as long (a worker waiting for a core): the block ignores it."""
    value = _timed_block([1e-4, 1e-4, 1e-4, 1e-4, 2e-3], 5, "threads")
    assert value == pytest.approx(1e-4)  # the four fast calls; the mean of all five is 4.8e-4


def test_a_block_keeps_both_modes_of_a_call_so_a_shift_between_them_shows():
    """Calls alternate between a fast and a slow mode (4 threads on 2 cores): the block reads both.

    The slowed build has 3 slow calls in 5 where the base has 2: the median
    call reads 1x or 2x depending on which mode holds the middle call; the
    block's value must rise by about the mean's ratio instead.
    """
    def calls(slow_calls):
        return [1e-3 if i % 5 < slow_calls else 5e-4 for i in range(20)]

    base = _timed_block(calls(2), 20, "threads")
    head = _timed_block(calls(3), 20, "threads")
    # Without the slowest quarter (5 of 20): base keeps 3 slow of 15, head 7 of 15.
    assert head / base == pytest.approx((7e-3 + 8 * 5e-4) / (3e-3 + 12 * 5e-4))
    assert statistics.median(calls(3)) / statistics.median(calls(2)) == 2  # what the median reads


def test_a_block_of_processes_is_its_median_call_so_waits_in_many_calls_do_not_move_it():
    """Busy, a worker process waits for a core in 2 calls of 5: the processes block reads the fast call.

    The trimmed mean of the threads keeps one of the two waits; a
    ``processes`` block must not.
    """
    waits = [2e-4, 2e-3, 2e-4, 2e-3, 2e-4]
    assert _timed_block(waits, 5, "processes") == pytest.approx(2e-4)
    for split in ("threads", "auto"):  # the trimmed mean keeps a wait
        assert _timed_block(waits, 5, split) == pytest.approx((3 * 2e-4 + 2e-3) / 4)


def _logging_builds():
    """``(log, packages, make_calls)``: two builds that log their calls and their redraws.

    ``make_calls.made`` counts the calls of ``make_calls``.
    """
    log = []
    packages = [types.SimpleNamespace(shutdown=lambda: log.append("redraw"))] * 2

    def make_calls():
        make_calls.made += 1

        def base():
            log.append("base")
            _spin(1e-5)

        def head():
            log.append("head")
            _spin(1e-5)
        return base, head

    make_calls.made = 0
    return log, packages, make_calls


def test_each_batch_alternates_which_build_is_called_first_after_the_redraw():
    """The first build called after a redraw starts its pools and auto's choice with the other idle.

    The same build first in every batch made that a bias of the whole row;
    alternated, it is noise over the batches.
    """
    log, packages, make_calls = _logging_builds()
    _paired.measure_row(packages, make_calls, 1.1, 0.99, 2, 6, 6, 1e-4, time.monotonic() + 60,
                        _paired.block_statistic("threads"))
    firsts = [log[i + 1] for i in range(len(log) - 1) if log[i] == "redraw" and log[i + 1] != "redraw"]
    assert firsts == ["base", "head"] * 3


def test_a_row_can_draw_its_pools_every_few_batches_and_draws_at_each_continuation():
    """``draw_every=4``: 8 batches, 2 draws, the calls (a process row's segments) anew at each.

    A row measured further (``previous``) starts with a draw whatever its
    count of batches: the pools alive then are the last row's.
    """
    log, packages, make_calls = _logging_builds()
    result = _paired.measure_row(packages, make_calls, 1.1, 0.99, 2, 8, 8, 1e-4,
                                 time.monotonic() + 60, _paired.block_statistic("processes"),
                                 pin=False, draw_every=4)
    assert result["batches"] == 8 and result["draws"] == 2
    assert log.count("redraw") == 2 * 2  # both builds, at batches 0 and 4
    assert make_calls.made == 1 + 2  # the row's first calls, then anew at each draw
    firsts = [log[i + 1] for i in range(len(log) - 1) if log[i] == "redraw" and log[i + 1] != "redraw"]
    assert firsts == ["base", "head"]
    log.clear()
    again = _paired.measure_row(packages, make_calls, 1.1, 0.99, 2, 8, 9, 1e-4,
                                time.monotonic() + 60, _paired.block_statistic("processes"),
                                previous=result, pin=False, draw_every=3)
    assert again["batches"] == 9 and again["draws"] == 3 and log.count("redraw") == 2


def _build_with_a_thread(stop):
    """A call that starts one thread of its own the first time, as a build's team does."""
    started = []

    def call():
        if not started:
            thread = threading.Thread(target=stop.wait, daemon=True)
            thread.start()
            started.append(thread.native_id)
        return started
    return call, started


def test_start_builds_returns_the_threads_each_build_started_first_build_first():
    stop = threading.Event()
    try:
        base, base_ids = _build_with_a_thread(stop)
        head, head_ids = _build_with_a_thread(stop)
        started = _paired.start_builds((base, head), 1, 1e-3)
        assert started == [base_ids, head_ids]
        assert base_ids[0] != head_ids[0]
    finally:
        stop.set()


def test_pin_threads_puts_the_caller_on_the_first_core_and_each_builds_threads_alike():
    """A build's k-th thread runs on core k + 1 (mod the cores), the same for both builds."""
    stop = threading.Event()
    try:
        calls = [_build_with_a_thread(stop) for _ in range(4)]
        for call, _ in calls:
            call()
        base = [ids[0] for _, ids in calls[:2]]
        head = [ids[0] for _, ids in calls[2:]]
        _paired.pin_threads([base, head])
        cores = _paired.CORES
        assert os.sched_getaffinity(0) == {cores[0]}
        for threads in (base, head):
            assert [os.sched_getaffinity(tid) for tid in threads] == [
                {cores[1 % len(cores)]}, {cores[2 % len(cores)]}]
    finally:
        _paired.unpin_caller()
        stop.set()
    assert os.sched_getaffinity(0) == set(_paired.CORES)


def test_measure_row_leaves_the_caller_free_to_run_on_every_core():
    """The caller is pinned while a row is timed, and let go after it (the next redraw's
    threads, and the gate's next row, would inherit its pin)."""
    packages = [types.SimpleNamespace(shutdown=lambda: None)] * 2
    seen = []

    def make_calls():
        def call():
            seen.append(os.sched_getaffinity(0))
            _spin(1e-5)
        return call, call

    _paired.measure_row(packages, make_calls, 1.1, 0.99, 2, 3, 3, 1e-4, time.monotonic() + 60,
                        _paired.block_statistic("threads"))
    assert {_paired.CORES[0]} in [set(s) for s in seen]  # pinned while timing
    assert os.sched_getaffinity(0) == set(_paired.CORES)


def test_measure_row_without_pin_leaves_the_caller_alone():
    """``processes`` rows are timed unpinned: the caller passes every message to the workers."""
    packages = [types.SimpleNamespace(shutdown=lambda: None)] * 2
    seen = []

    def make_calls():
        def call():
            seen.append(os.sched_getaffinity(0))
            _spin(1e-5)
        return call, call

    _paired.measure_row(packages, make_calls, 1.1, 0.99, 2, 3, 3, 1e-4, time.monotonic() + 60,
                        _paired.block_statistic("processes"), pin=False)
    assert seen and all(set(s) == set(_paired.CORES) for s in seen)
