"""The gate's measurement: two builds of the package in one process, timed in turn.

Run by ``python -m benchtools gate`` as ``python -m benchtools._paired
SPEC.json`` from the repository root, with ``PYTHONPATH`` holding a
directory where the two commits are installed as the packages
``paralleldot_base`` and ``paralleldot_head`` (the gate renames them). Both
builds run in this one process, on the same vectors, at the same moments:
the machine's load, the placement of the process and the memory bandwidth
it draws are the same for both, which separate benchmark processes (asv's
rounds) cannot give.

For each row (split, N, workers, dtype) it measures batches. A batch starts
with both builds' pools and ``auto``'s choices drawn anew (:func:`redraw`),
then times pairs of blocks of calls of BASE and HEAD alternately, in ABBA
order (BASE HEAD, HEAD BASE, ...), 8 pairs or 2 for ``auto`` rows below
1e7 (:func:`pairs_per_batch`), and keeps the median over its pairs of the
log of HEAD's block time over BASE's. A block is at least ``block_seconds`` and
:data:`MIN_CALLS` calls, each timed on its own; its time is the median
call for ``processes`` and the mean without the slowest quarter for the
others (:func:`block_statistic`). From the minimum number of batches on,
after every batch, it computes the signed-rank interval of the batches'
values (:mod:`benchtools._stats`) and stops the row as soon as the interval
lies entirely under ``log(factor)`` (ok) or entirely over it (regressed); a
row whose interval still straddles it at its cap of batches or seconds is
undecided. When every row has had its turn, the rows still undecided are
measured further while the gate's total budget lasts, in turns, the row
that the fewest batches are estimated to decide first (:func:`main`). It
writes one JSON object per row on standard output as soon
as the row is done, and another for a row measured further.
"""

import functools
import gc
import importlib
import itertools
import json
import math
import os
import statistics
import sys
import time
import timeit

from benchmarks import common

from . import _stats

#: The two builds, as the gate installs them.
PACKAGES = ("paralleldot_base", "paralleldot_head")
#: Seconds of calls of each build before a row's first pair (pools start, auto decides).
WARM_SECONDS = 0.1
#: Calls per block at least: a block's value is made of its calls' times (:func:`block_statistic`).
MIN_CALLS = 5


def _calls(package, split, n, workers, dtype):
    """A function of no argument: one ``parallel_dot`` call of ``package`` on the row's vectors.

    ``processes`` reads vectors in its own build's shared memory, as the
    suite does: new segments at each call of this function (each draw),
    unlinked when the returned function is dropped.
    """
    a, b = common.vectors(n, dtype)
    if split == "processes":
        x, y = package.shared_empty(n, dtype), package.shared_empty(n, dtype)
        x[:], y[:] = a, b
        a, b = x, y
    return functools.partial(package.parallel_dot, a, b, workers=workers, backend=split)


def _warm(funcs, seconds):
    """Call each of ``funcs`` in turn for about ``seconds`` (once at least)."""
    end = time.perf_counter() + seconds
    while True:
        for f in funcs:
            f()
        if time.perf_counter() >= end:
            return


def _number(funcs, block_seconds):
    """Calls per block: the smallest count whose block lasts ``block_seconds`` for the slower build."""
    number = 1
    while True:
        elapsed = max(timeit.timeit(f, number=number) for f in funcs)
        if elapsed >= block_seconds or number >= 1_000_000:
            return number
        number = max(number + 1, int(number * min(10.0, 1.2 * block_seconds / max(elapsed, 1e-9))))


def _trimmed_mean(times):
    """The mean of the calls without the slowest quarter (see :func:`block_statistic`)."""
    kept = sorted(times)[:len(times) - len(times) // 4]
    return math.fsum(kept) / len(kept)


#: Splits whose block is not the trimmed mean (see :func:`block_statistic`).
BLOCK_STATISTICS = {"processes": statistics.median}


def block_statistic(split):
    """How a block's calls make its time for rows of ``split``: a function of the calls' times.

    - ``processes``: the median call. With a core taken by another job, a
      worker process waits for its share of that core in many calls, a
      long tail which a block's mean carries: busy, identical code
      scattered by about 0.4 in the log of a block's mean, and 7 of 54 rows
      stayed undecided; without only the slowest quarter, 3 rows of
      ``processes`` at 1e6 still did. The median call decided every row of
      identical code, 3 runs of 3, idle and busy (docs/gate.md).
    - any other (``threads``, ``auto``): the mean without the slowest
      quarter. With 4 threads on 2 cores a call's time has two modes; the
      median reads only the mode that holds the middle call, and an
      injected 1.15x that moved calls between the modes read as 0.98x to
      1.10x (two rows called ok, idle). The trimmed mean keeps both modes
      and still drops the rare waits for a core: idle it decided all 54
      rows right in 5 runs of 5.
    """
    return BLOCK_STATISTICS.get(split, _trimmed_mean)


def _block(func, number, statistic, clock=time.perf_counter):
    """The time of a block: ``number`` calls of ``func``, each timed on its own, gc off.

    ``statistic`` makes one value of the calls' times (:func:`block_statistic`).
    """
    times = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(number):
            start = clock()
            func()
            times.append(clock() - start)
    finally:
        if enabled:
            gc.enable()
    return statistic(times)


def verdict(low, high, factor):
    """``ok``, ``regressed`` or ``undecided`` from the interval of the log of HEAD / BASE."""
    limit = math.log(factor)
    if high < limit:
        return "ok"
    if low > limit:
        return "regressed"
    return "undecided"


def redraw(packages):
    """Stop both builds' pools and forget ``auto``'s choices: the next calls draw them anew.

    ``package.shutdown()`` stops every pool of a build: its thread and
    process pools, and the compiled kernel's team of threads where the
    build has one (paralleldot._native).

    (:func:`measure_row` also makes the process backend's shared vectors
    anew at each draw: where the pages of one build's segments fall was
    a bias of its own, identical code read 1.083 times slower on 40
    batches, processes 1e6 with 1 worker, float64, with one pair of
    segments for the whole row.)

    Without it, a build's worker processes, its pool threads, its kernel
    team and ``auto``'s choice would be drawn once for a whole row, and
    where the scheduler put a worker, or a near tie that ``auto`` broke one
    way in one build and the other way in the other, would differ between
    the two builds for the whole row (identical code read 1.43 times
    slower, processes 1e5 with 1 worker, when one build's worker drew a
    worse place than the other's). Drawn again before every batch, they are
    part of each batch's noise, which the interval over batches accounts
    for.
    """
    for package in packages:
        package.shutdown()
        forget = getattr(getattr(package, "_auto", None), "forget", None)
        if forget is not None:
            forget()


#: The cores this process may use, read at import, before any thread is pinned
#: (``os.sched_getaffinity(0)`` reads the calling thread's, pinned by :func:`pin_threads`).
CORES = tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()


def _thread_ids():
    """The ids of this process's OS threads (Linux), or an empty set where /proc has none."""
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def _pin(ids, cores):
    """Pin each thread or process of ``ids`` to the core ``cores`` gives for it, in turn."""
    for task, core in zip(ids, cores):
        try:
            os.sched_setaffinity(task, {core})
        except OSError:  # a thread or process that just exited
            pass


def start_builds(calls, first, seconds):
    """Warm each build alone, ``calls[first]`` first, ``seconds`` each; the threads each started.

    Returns a list of two sorted lists, the OS threads that appeared while
    BASE (index 0) and HEAD (index 1) were called: their pool threads and
    their compiled kernel's team, started anew after the redraw.
    """
    started = [[], []]
    for k in (first, 1 - first):
        before = _thread_ids()
        _warm([calls[k]], seconds)
        started[k] = sorted(_thread_ids() - before)
    return started


def settle(packages):
    """Wait until no thread of either build is about to put its own affinity back.

    A worker of the compiled kernel's team that wakes on the caller's CPU
    leaves it for the job and takes its affinity back afterwards, possibly
    just after the call returned (``paralleldot._native``, 2026-12-04).
    Pinned in that moment, it would lose its pin for the whole batch: in a
    CI run the injected 1.3x read 1.98x [1.30, 3.04] on ``auto`` 1e6 w2
    float64. Builds without it (older commits) need no wait.
    """
    for package in packages:
        native = getattr(getattr(package, "_kernels", None), "_native", None)
        wait = getattr(native, "settle", None)
        if wait is not None:
            wait()


def pin_threads(started):
    """Pin the calling thread to the first core and each build's threads the same way.

    Thread ``k`` of a build (in the order it started them) runs on core
    ``k + 1`` modulo the cores: the caller on core 0 and a build's one
    worker on core 1, for both builds. Left to the scheduler, the two
    builds' teams were placed differently and kept that for a whole row:
    identical code read 0.92 to 1.13 from one gate run to the next (auto
    1e6 w2 float64, 15 runs of the row), and an injected 1.15x read 1.035
    (called ok) to 1.30 (20 runs). Pinned, identical code read 0.97 to
    1.08 (12 runs) and the 1.15x 1.12 to 1.21, every run regressed (15).
    :func:`unpin_caller` undoes the caller's pin before the next redraw,
    whose new threads would inherit it.

    Not used for ``processes`` rows (``measure_row(..., pin=False)``):
    there the caller passes every message, and pinned to a core shared
    with another job it left 10 to 12 of the 18 process rows undecided
    with identical code on a busy machine (about 10 batches each); left to
    the scheduler, 0 to 2 (up to 27 batches). See ``docs/gate.md``.
    """
    if not CORES:
        return
    os.sched_setaffinity(0, {CORES[0]})
    for threads in started:
        _pin(threads, itertools.islice(itertools.cycle(CORES), 1, None))


def unpin_caller():
    """Let the calling thread run on every core of :data:`CORES` again."""
    if CORES:
        os.sched_setaffinity(0, set(CORES))


def pin_workers(packages):
    """Pin each build's process-pool workers to the cores, the same way for both builds.

    Worker ``k`` of a build (in the order the pool started them) runs on
    core ``k`` modulo the cores this process may use: with more workers
    than cores, or one core busy with another job, both builds' workers
    then share the cores alike instead of each batch drawing its own
    placement (4 workers on 2 cores: identical code still read anywhere
    from 0.66 to 1.28 at the end of a 15 s row). The builds' threads are
    pinned by :func:`pin_threads`. A build whose pool is not where this
    looks (another layout at an old commit) is left alone.
    """
    for package in packages:
        pool = getattr(getattr(package, "_pools", None), "_processes", None)
        executor = getattr(pool, "executor", None)
        workers = getattr(executor, "_processes", None) or {}
        _pin(list(workers), itertools.cycle(CORES))


#: Batches per draw of the pools, by split (1 where not named). A
#: ``processes`` batch with 2 or 4 workers took 0.9 to 3.1 s (busy,
#: 2026-12-05, 517d7ed), of which its 16 blocks of 0.02 s are about 0.35:
#: the rest was starting both builds' worker processes anew. Rows with 4
#: workers got 17 to 31 batches, their 99% intervals about 0.2 wide: 5 of
#: the 6 rows left undecided in 3 runs of identical code. What a draw adds
#: was not seen in those runs: over the 36 ``processes`` rows with 2 and 4
#: workers, the batches' values scattered by 0.02 to 0.20 (standard
#: deviation of the log), and each value's own sampling error, the
#: bootstrap of its 8 pairs' median, was as large or larger in 30 of the
#: 36 (0.03 to 0.23). The workers are pinned alike in both builds
#: (:func:`pin_workers`). The shared segments are made anew with the pools
#: (until 2026-12-05 every batch): at 1e7 float64 making both builds' took
#: about 0.35 s and their first calls, which map them in the workers, 0.1 s
#: more, against the 0.55 s of the batch's blocks (idle); the same bootstrap
#: above had each batch's segments in it.
BATCHES_PER_DRAW = {"processes": 4}

#: Pairs per batch of ``auto`` rows below :data:`FEW_PAIRS_BELOW` elements
#: (the spec's ``batch``, 8, elsewhere; see :func:`pairs_per_batch`).
FEW_PAIRS = 2
#: From this N on, ``auto`` rows take the spec's ``batch`` too.
FEW_PAIRS_BELOW = 10**7


def pairs_per_batch(split, n, default):
    """The pairs of a batch of the row (``split``, ``n``): ``default`` but for ``auto`` below 1e7.

    An ``auto`` row's batches scatter mostly from draw to draw, not from
    pair to pair, at N = 1e5 and 1e6. Busy, identical code, ``auto`` 1e6
    int32 with 4 workers: a batch's value (the median of 8 pairs) scattered
    by 0.29 to 0.37 in the log, the pairs themselves by 0.41, so 8 pairs
    narrowed a draw's value little, and a row that read 1.05 to 1.08 stayed
    undecided for 80 to 242 batches. It is each build's kernel team,
    started anew, more than ``auto``'s choice: in 110 of 137 batches both
    builds chose the team, and those scattered by 0.34 too. Batches of 2
    pairs, in the same 30 to 45 s, gave intervals 1.4 to 10 times narrower
    there (busy: 1e6 int32 w4 0.09 wide against 0.13 to 0.16; 1e6 float32
    w2 0.02 to 0.06 against 0.21). At 1e7 they did worse: a draw costs
    ``auto``'s measurement of its candidates at milliseconds a call, and
    the median of 8 pairs held off single slow pairs. In a busy 1.15x run
    with 2 pairs everywhere, three ``auto`` rows at 1e7 stayed undecided,
    their batches scattered by 0.10 to 0.18 where 8 pairs had given 0.02
    to 0.09. ``threads`` rows, whose draws matter less, and ``processes``
    rows, whose draws are costly, take ``default`` (2026-12-05,
    docs/gate.md).
    """
    return FEW_PAIRS if split == "auto" and n < FEW_PAIRS_BELOW else default


def measure_row(packages, make_calls, factor, confidence, batch, min_batches, max_batches,
                block_seconds, deadline, statistic, previous=None, pin=True, draw_every=1):
    """Batches of ABBA pairs of BASE and HEAD until the interval decides; the row.

    ``make_calls()`` returns the two functions (BASE, HEAD), made anew at
    each draw (a process row's segments). A batch gives one value, the
    median of its pairs' logs of HEAD's time over BASE's; the interval is
    taken over the batches' values.
    Every ``draw_every`` batches, and at the first batch of each call, the
    pools and choices are drawn anew (:func:`redraw`; see
    :data:`BATCHES_PER_DRAW`).
    ``previous``, the result of an earlier call for the same row, is
    continued: its batches count, and at least one more is measured.
    ``statistic`` makes a block's time from its calls' times (:func:`_block`).
    ``pin=False`` leaves the caller and the builds' threads to the scheduler
    (:func:`pin_threads`); process-pool workers are pinned either way.
    """
    calls = make_calls()
    _warm(calls, WARM_SECONDS)
    if previous is None:
        number = max(MIN_CALLS, _number(calls, block_seconds))
        batches, base_times, head_times = [], [], []
    else:
        number = previous["number"]
        batches = previous["logs"]
        base_times, head_times = previous["_base_times"], previous["_head_times"]
    low = estimate = high = math.nan
    draws = 0
    try:
        while True:
            if draws == 0 or len(batches) % draw_every == 0:
                unpin_caller()
                redraw(packages)
                calls = base, head = make_calls()  # a process row's segments anew too
                # The build called first after the redraw starts its pools, its
                # kernel team and auto's choice while the other's are idle, the
                # second while the first's threads still spin: alternated between
                # draws, that difference is noise over the batches instead of a
                # bias of the row (busy, identical code read auto 1e7 w2 int32
                # 1.25x [1.15, 1.42] over 21 batches, base always first).
                started = start_builds(calls, draws % 2, WARM_SECONDS / 4)
                draws += 1
                if pin:
                    settle(packages)
                    pin_threads(started)
                pin_workers(packages)
            logs = []
            for i in range(batch):
                if (i + len(batches)) % 2 == 0:
                    t_base = _block(base, number, statistic)
                    t_head = _block(head, number, statistic)
                else:
                    t_head = _block(head, number, statistic)
                    t_base = _block(base, number, statistic)
                base_times.append(t_base)
                head_times.append(t_head)
                logs.append(math.log(t_head / t_base))
            batches.append(logs)
            if len(batches) < min_batches:
                continue
            medians = [statistics.median(b) for b in batches]
            low, estimate, high = _stats.signed_rank_interval(medians, confidence)
            decided = verdict(low, high, factor)
            if (decided != "undecided" or len(batches) >= max_batches
                    or time.monotonic() >= deadline):
                break
        return {
            "verdict": decided, "batches": len(batches), "pairs": sum(map(len, batches)),
            "draws": draws + (previous or {}).get("draws", 0),
            "number": number, "slowdown": math.exp(estimate), "low": math.exp(low),
            "high": math.exp(high), "base": statistics.median(base_times),
            "head": statistics.median(head_times), "logs": batches,
            "_base_times": base_times, "_head_times": head_times,
        }
    finally:
        unpin_caller()


def _measure(packages, row, spec, deadline, max_batches, previous=None):
    """One row, or more of it (``previous``); the result, never an exception."""
    base_pkg, head_pkg = packages
    point = (row["split"], row["N"], row["workers"], row["dtype"])

    def make_calls():
        return _calls(base_pkg, *point), _calls(head_pkg, *point)

    started = time.monotonic()
    try:
        result = measure_row(packages, make_calls, spec["factor"], spec["confidence"],
                             pairs_per_batch(row["split"], row["N"], spec["batch"]),
                             spec["min_batches"], max_batches,
                             spec["block_seconds"], deadline, block_statistic(row["split"]),
                             previous, pin=row["split"] != "processes",
                             draw_every=BATCHES_PER_DRAW.get(row["split"], 1))
    except Exception as exc:  # a build that fails a row fails that row only
        result = {"verdict": "failed", "error": f"{type(exc).__name__}: {exc}"}
    spent = time.monotonic() - started + (previous or {}).get("seconds", 0.0)
    result.update(row, seconds=spent, again=previous is not None)
    return result


def _emit(result):
    print(json.dumps({k: v for k, v in result.items() if not k.startswith("_")}), flush=True)


def batches_to_decide(result, factor):
    """The batches in all that would decide the row ``result`` (``inf``: no number would).

    :func:`benchtools._stats.batches_to_decide` on the logs of the row's
    interval and estimate; the low end of an unbounded interval is 0 here.
    """
    low, estimate, high = (math.log(result[k]) if result[k] > 0 else -math.inf
                           for k in ("low", "slowdown", "high"))
    return _stats.batches_to_decide(low, estimate, high, result["batches"], math.log(factor))


def seconds_to_decide(result, factor):
    """About how many more seconds of batches would decide an undecided row (``inf``: none would).

    The batches :func:`batches_to_decide` asks for beyond those the row has
    (one at least), at the row's seconds per batch so far.
    """
    needed = batches_to_decide(result, factor)
    return max(1, needed - result["batches"]) * result["seconds"] / result["batches"]


def main(spec_path):
    """Measure every row of the spec; one JSON line per row on stdout (again for a row measured more).

    First every row within its own cap (``row_seconds``, ``max_batches``).
    Then, while ``total_seconds`` since the start allow it, the rows still
    undecided are measured further, in turns, the row nearest a verdict
    first (:func:`seconds_to_decide`). Each turn gives a row twice the
    seconds it is estimated to need, or its fair share of the time left
    when that is more; a row that no number of batches is estimated to
    decide gets its fair share. Turns go on while time is left: in a busy
    run of identical code taken in one turn each, 50 of the 540 s were left
    over while a row stayed undecided (docs/gate.md).
    """
    started = time.monotonic()
    with open(spec_path) as f:
        spec = json.load(f)
    packages = tuple(importlib.import_module(name) for name in PACKAGES)
    end = started + spec["total_seconds"]
    try:
        results = []
        for row in spec["rows"]:
            result = _measure(packages, row, spec, time.monotonic() + spec["row_seconds"],
                              spec["max_batches"])
            results.append(result)
            _emit(result)
        undecided = [r for r in results if r["verdict"] == "undecided"]
        while undecided and time.monotonic() < end - 1:
            turns = sorted(((seconds_to_decide(r, spec["factor"]), r) for r in undecided),
                           key=lambda turn: turn[0])
            undecided = []
            for i, (need, previous) in enumerate(turns):
                left = end - time.monotonic()
                if left < 1:
                    break
                fair = left / (len(turns) - i)
                share = fair if math.isinf(need) else min(left, max(2 * need, fair))
                row = {k: previous[k] for k in ("split", "N", "workers", "dtype")}
                result = _measure(packages, row, spec, time.monotonic() + share, sys.maxsize,
                                  previous)
                _emit(result)
                if result["verdict"] == "undecided":
                    undecided.append(result)
    finally:
        for package in packages:
            package.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
