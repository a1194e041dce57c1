"""Side-by-side ratios for the package's performance goals, in one process.

Usage::

    python -m benchtools compare [--sizes 1e3 1e4 1e5 1e6 1e7 1e8] [--workers 2]
                                 [--dtypes float64 float32 int64 int32 complex128]
                                 [--extras] [--peers [PEER ...]] [--seed 0]
                                 [--processes 1] [--max-processes P]
                                 [--confidence 0.95]

For each dtype and N, in a shuffled order (``auto`` must not depend on the
order in which a process meets dtypes and sizes), it times, interleaved (so
that a change of the machine's load lands on every column alike; the order
of the columns drawn anew each round), on the
asv suite's seeded vectors (``benchmarks.common.vectors``):

- ``numpy.dot`` with its default BLAS threads, as users call it;
- ``parallel_dot`` with ``backend="threads"`` and ``backend="auto"``;
- for float64 at N = 1e5, the raw hand-off: the second half of the vectors
  given to a pooled thread with ``concurrent.futures`` and the first half
  computed by the caller, with nothing else (no BLAS limit, no checks);
- with ``--peers``: what users pick instead (``benchmarks.common.PEERS``:
  ``numpy.einsum``, ``numpy.inner``, ``numpy.vdot``, ``numpy.mul_sum``
  (``(a * b).sum()``), ``numba.prange``, ``torch.dot``; all of them, or the
  ones named), each on ``workers`` threads where it has threads; a peer that
  is not installed or does not take the dtype is left out of that row;
- with ``--extras``: the example's split with a new thread pool per call,
  ``parallel_numpy_dot``, ``processes`` on ``shared_empty`` vectors and the
  bandwidth ceiling of the asv suite (a copy in ``workers`` threads).

It prints the best (minimum) per-call time of each column, then the ratios
the goals are stated in:

- ``auto / best``: auto's time over the faster of numpy.dot and threads
  (best and median of the samples; at most 1.05 is the goal);
- ``GB/s / f64 dot``: from N = 1e7 on, the bytes auto reads per second
  over the bytes float64 numpy.dot reads per second, sampled in turn with
  auto in the same row (the column ``numpy.dot float64`` of the other
  dtypes' rows: the machine's memory bandwidth moves between the moments
  two rows are measured; 0.9 or more at N = 1e7 is the goal). Only there:
  float64 ``numpy.dot`` leaves OpenBLAS's thread spinning on a core for
  about 0.1 s after each call, and in the integer and float32 rows of
  smaller N, where no other column calls threaded BLAS, it would take a
  core from every threaded column;
- for float64: threads minus numpy.dot against twice the raw hand-off at
  N = 1e5, and threads / numpy.dot at 1e6 and 1e7 (at most 1.5 and 1.05).

With ``--peers`` it also prints ``auto / best peer`` (auto's time over the
fastest peer's, numpy.dot included; at most 1/0.95 = 1.05 at N >= 1e6 is
the goal) and which peer that was. The fastest peer is chosen on the even
samples and the ratio read on the odd ones (:func:`held_out_ratio`): chosen
and read on the same samples, the ratio is biased against ``auto``.

With ``--processes P`` (P > 1) the whole measurement runs in P fresh
processes, one after the other, the order of the points shuffled with seeds
``seed`` to ``seed + P - 1``. The times printed are then the median over the
processes of each column's best, and the ratio to the fastest peer is given
per process, as its median and its worst: which library's threads hold the
cores, where the vectors' memory falls and what the machine's memory
bandwidth is move from one process to the next, and a goal met in one
process may be missed in the next.

With ``--processes P`` (P > 1) it also judges the goals that are stated as
ratios, cell by cell, over the processes (:func:`verdict`, :data:`GOALS`):
auto's time over the fastest other way at N >= 1e6 (at most 1/0.95 with
``--peers``), auto's bytes per second over float64 numpy.dot's at 1e7 (at
least 0.9), and auto's time over numpy.dot's at 1e3 and 1e4 (at most 1.2).
Each process gives one value; their signed-rank confidence interval
(``--confidence``, the gate's statistics, ``benchtools._stats``) decides:
entirely on the goal's side, **met**; entirely on the other, **missed**;
astride the limit, **undecided**, which counts as missed. Where two ways
run equally fast (auto running ``numpy.dot`` itself against
``numpy.inner``; a memory-bound loop against another), one process reads
1.06 or 0.94 by chance and only the interval over processes says whether
the goal holds. ``--max-processes M`` measures again, one process at a
time and only at the sizes of undecided cells (every dtype, the order
shuffled as before), until every cell is decided or M processes ran.

Absolute times move from run to run on shared machines; ratios taken in one
run hold.
"""

import argparse
import concurrent.futures as cf
import importlib
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import typing

import numpy as np

import paralleldot
from paralleldot import _auto
from benchmarks.common import (
    ALL_DTYPES,
    NUMPY_DOT,
    PEERS,
    PER_CALL_POOL,
    ParallelCopy,
    dot_function,
    interleaved_times,
    vectors,
)

from . import _fmt, _stats
from ._git import ROOT

#: Interleaved samples per column: fewer for the largest vectors. The ratio
#: to the fastest other way reads the best of the odd samples: with 15
#: samples (7 read) it scattered 0.95 to 1.20 between processes for
#: float64 at 1e6 where auto runs numpy.dot itself, with 31 0.97 to 1.04
#: (8 processes each, 2026-12-04).
SAMPLES, SAMPLES_LARGE = 31, 7


class Goal(typing.NamedTuple):
    """A goal judged over processes: one ratio per process, cell by cell (dtype x N)."""

    name: str
    smallest: int
    limit: float
    side: str  # "at most" or "at least"
    largest: float = math.inf

    def covers(self, n):
        return self.smallest <= n <= self.largest

    def where(self):
        if self.largest == math.inf:
            return f"at N >= {_fmt.size(self.smallest)}"
        return f"at N = {_fmt.size(self.smallest)} to {_fmt.size(self.largest)}"


#: auto's time over the fastest other way's (0.95 of its speed), auto's
#: bytes per second over float64 numpy.dot's, and auto's time over
#: numpy.dot's where no split can win (auto must stay cheap there).
PEER_GOAL = Goal("auto / fastest other way", 10**6, 1 / 0.95, "at most")
BANDWIDTH_GOAL = Goal("auto's bytes/s / float64 numpy.dot's", 10**7, 0.9, "at least")
CHEAP_GOAL = Goal("auto / numpy.dot", 10**3, 1.2, "at most", 10**4)
GOALS = (PEER_GOAL, BANDWIDTH_GOAL, CHEAP_GOAL)


def _goal_text(goal):
    """``"at most 1.05 at N >= 1e6"``: a goal's limit and sizes, as the tables print them."""
    return f"{goal.side} {goal.limit:.3g} {goal.where()}"


#: The column of float64 numpy.dot in the other dtypes' rows (bytes/s goal).
F64_REFERENCE = "numpy.dot float64"


def _columns(a, b, n, dtype, k, extras, pool, peers=()):
    funcs = {impl: dot_function(impl, a, b, k) for impl in (NUMPY_DOT, "threads", "auto")}
    if dtype != "float64" and n >= BANDWIDTH_GOAL.smallest:
        fa, fb = vectors(n, "float64")
        funcs[F64_REFERENCE] = dot_function(NUMPY_DOT, fa, fb, k)
    closers = []
    for peer in peers:
        try:
            funcs[peer] = dot_function(peer, a, b, k)
        except NotImplementedError as exc:
            print(f"  {peer} left out of {dtype} N={n:.0e}: {exc}", file=sys.stderr)
    if dtype == "float64" and n == 10**5:
        h = n // 2

        def raw_handoff():
            future = pool.submit(np.dot, a[h:], b[h:])
            return np.dot(a[:h], b[:h]) + future.result()

        funcs["raw hand-off"] = raw_handoff
    if extras:
        sa, sb = paralleldot.shared_empty(n, dtype), paralleldot.shared_empty(n, dtype)
        sa[:], sb[:] = a, b
        ceiling = ParallelCopy(a, k)
        closers.append(ceiling.close)
        funcs.update({
            PER_CALL_POOL: dot_function(PER_CALL_POOL, a, b, k),
            "parallel_numpy_dot": lambda: paralleldot.parallel_numpy_dot(a, b, k),
            "processes": dot_function("processes", sa, sb, k),
            "ceiling": ceiling,
        })
    return funcs, closers


def measure(sizes, dtypes, k, extras=False, seed=0, peers=()):
    """``{(dtype, N): {column: samples}}``, the points taken in a shuffled order; auto's choices.

    The second value is ``{(dtype, N): what auto ran at the end of that
    point}`` (``"serial"``, ``"inline"``, ``"native"``, ``"threads"``).
    """
    points = [(d, n) for d in dtypes for n in sizes]
    random.Random(seed).shuffle(points)
    pool = cf.ThreadPoolExecutor(1)
    out, chosen = {}, {}
    try:
        for dtype, n in points:
            a, b = vectors(n, dtype)
            funcs, closers = _columns(a, b, n, dtype, k, extras, pool, peers)
            try:
                for f in funcs.values():  # start pools, let auto decide
                    f()
                samples = SAMPLES_LARGE if n >= 10**8 else SAMPLES
                times = interleaved_times(list(funcs.values()), samples=samples,
                                          shuffle=random.Random(seed))
            finally:
                for close in closers:
                    close()
            out[(dtype, n)] = dict(zip(funcs, times))
            chosen[(dtype, n)] = _auto.choices().get(_auto.key(a, b, a.nbytes + b.nbytes, k))
            print(f"  measured {dtype} N={n:.0e}", file=sys.stderr, flush=True)
    finally:
        pool.shutdown()
        paralleldot.shutdown()
    return out, chosen


def _us(t):
    return f"{t * 1e6:.1f}"


def held_out_ratio(samples, candidate, others, summary=min):
    """``(ratio, winner)``: ``candidate``'s time over the fastest of ``others``, chosen on other samples.

    ``samples`` is ``{column: [per-call times]}``. The winner is the column
    of ``others`` (those in ``samples``) with the smallest ``summary`` of its
    even-numbered samples; the ratio is ``summary`` of ``candidate``'s
    odd-numbered samples over ``summary`` of the winner's odd-numbered ones.

    Choosing the fastest column by its best samples and dividing by that
    same best is biased against the candidate (the winner's curse): where
    several columns run the same call (float64 ``numpy.dot``, ``numpy.inner``
    and ``numpy.vdot`` are one BLAS routine), the fastest of their bests is
    the luckiest of several draws, set against one draw of the candidate.
    ``auto`` running ``numpy.dot`` itself read 1.10 that way
    (float64, 1e6, median of 5 processes). Chosen on one half and read on
    the other, columns that are equally fast read 1 on average.
    """
    present = [c for c in others if c in samples and c != candidate]
    if not present:
        raise ValueError(f"none of the columns {list(others)} was measured")
    picked = {c: summary(samples[c][0::2]) for c in present}
    winner = min(present, key=picked.get)
    return summary(samples[candidate][1::2]) / summary(samples[winner][1::2]), winner


def bandwidth_ratio(row, dtype, summary=min):
    """auto's bytes per second over float64 numpy.dot's, from one row ``{column: samples}``."""
    reference = row.get(F64_REFERENCE, row[NUMPY_DOT])
    return np.dtype(dtype).itemsize / 8 * summary(reference) / summary(row["auto"])


def verdict(values, limit, side="at most", confidence=0.95):
    """``(word, low, estimate, high)``: whether ``values`` (one per process) meet ``limit``.

    The interval is the signed-rank confidence interval of the logs of the
    values, with the Hodges-Lehmann estimate (the gate's statistics: no
    normality assumed, robust to one process gone astray), mapped back to
    ratios. ``word`` is ``"met"`` when the whole interval is on the goal's
    side of ``limit`` (``side``: ``"at most"`` or ``"at least"``),
    ``"missed"`` when it is wholly on the other side, and ``"undecided"``
    otherwise, which includes too few values for ``confidence``.
    """
    if side not in ("at most", "at least"):
        raise ValueError(f"side must be 'at most' or 'at least', got {side!r}")
    if not values or min(values) <= 0:
        raise ValueError(f"verdict needs positive values, got {list(values)}")
    low, estimate, high = (math.exp(x) for x in
                           _stats.signed_rank_interval([math.log(v) for v in values], confidence))
    good, bad = (high <= limit, low > limit) if side == "at most" else (low >= limit, high < limit)
    word = "met" if good else "missed" if bad else "undecided"
    return word, low, estimate, high


def report(results, sizes, dtypes, k, summary=min):
    """Print the tables; a column's time is ``summary`` of its samples."""
    best = {key: {c: summary(s) for c, s in cols.items()} for key, cols in results.items()}
    median = {key: {c: statistics.median(s) for c, s in cols.items()} for key, cols in results.items()}
    columns = []
    for cols in results.values():
        columns += [c for c in cols if c not in columns]
    by_size = ["dtype"] + [_fmt.size(n) for n in sizes]
    print("\nBest time per call, microseconds:\n")
    print(_fmt.markdown(["dtype", "N", *columns], [
        [dtype, _fmt.size(n), *(_us(best[(dtype, n)][c]) if c in best[(dtype, n)] else ""
                                for c in columns)]
        for dtype in dtypes for n in sizes]))

    def auto_over_best(stat, dtype, n):
        row = stat[(dtype, n)]
        return row["auto"] / min(row[NUMPY_DOT], row["threads"])

    print("auto / faster of numpy.dot and threads (best; median) -- goal 1: at most 1.05\n")
    print(_fmt.markdown(by_size, [
        [dtype, *(f"{auto_over_best(best, dtype, n):.2f}; {auto_over_best(median, dtype, n):.2f}"
                  for n in sizes)]
        for dtype in dtypes]))

    peer_names = [c for c in columns if c in PEERS]
    if peer_names:
        def over_best_peer(dtype, n):
            return held_out_ratio(results[(dtype, n)], "auto", (NUMPY_DOT, *peer_names), summary)

        print("auto / fastest peer, numpy.dot included, and that peer (the peer chosen on the "
              f"even samples, the ratio read on the odd ones) -- goal: {_goal_text(PEER_GOAL)}\n")
        print(_fmt.markdown(by_size, [
            [dtype, *("{:.2f} ({})".format(*over_best_peer(dtype, n)) for n in sizes)]
            for dtype in dtypes]))
        print(f"auto / numpy.dot (best) -- goal: {_goal_text(CHEAP_GOAL)}\n")
        print(_fmt.markdown(by_size, [
            [dtype, *(f"{best[(dtype, n)]['auto'] / best[(dtype, n)][NUMPY_DOT]:.2f}" for n in sizes)]
            for dtype in dtypes]))

    large = [n for n in sizes if BANDWIDTH_GOAL.covers(n)]
    if large:
        print("auto's bytes per second / float64 numpy.dot's, same N, sampled in turn in the "
              f"same row -- goal 2: {_goal_text(BANDWIDTH_GOAL)}\n")
        print(_fmt.markdown(["dtype"] + [_fmt.size(n) for n in large], [
            [dtype, *(f"{bandwidth_ratio(results[(dtype, n)], dtype, summary):.2f}" for n in large)]
            for dtype in dtypes]))

    if "float64" in dtypes:
        print("The lean split, float64 -- goal 3\n")
        for n in sizes:
            b = best[("float64", n)]
            line = (f"- N={_fmt.size(n)}: numpy.dot {_us(b['numpy.dot'])} us, threads {_us(b['threads'])} us, "
                    f"threads / numpy.dot {b['threads'] / b['numpy.dot']:.2f}")
            if n == 10**5:
                extra = b["threads"] - b["numpy.dot"]
                line += (f"; threads - numpy.dot = {_us(extra)} us, the raw hand-off "
                         f"{_us(b['raw hand-off'])} us: {extra / b['raw hand-off']:.2f} x (at most 2)")
            print(line)


def _peer_columns(per_process):
    columns = set().union(*(cols for result, _ in per_process for cols in result.values()))
    return [NUMPY_DOT, *(c for c in PEERS if c in columns), "threads"]


def _peer_ratios(per_process, dtype, n, others):
    """``[(ratio, winner, what auto ran)]`` of each process that measured ``(dtype, n)``.

    The ratio is auto's time over the fastest of ``others`` (:func:`held_out_ratio`).
    """
    return [(*held_out_ratio(result[(dtype, n)], "auto", others),
             chosen[(dtype, n)] or "below the floor")
            for result, chosen in per_process if (dtype, n) in result]


def _goal_values(per_process, goal, dtype, n, others):
    """One value of ``goal`` per process that measured ``(dtype, n)``."""
    if goal is PEER_GOAL:
        return [ratio for ratio, _, _ in _peer_ratios(per_process, dtype, n, others)]
    rows = [result[(dtype, n)] for result, _ in per_process if (dtype, n) in result]
    if goal is CHEAP_GOAL:
        return [min(row["auto"]) / min(row[NUMPY_DOT]) for row in rows]
    return [bandwidth_ratio(row, dtype) for row in rows]


def judge(per_process, sizes, dtypes, confidence=0.95):
    """``{(goal, dtype, n): (word, low, estimate, high, processes)}`` for every cell of a goal."""
    others = _peer_columns(per_process)
    out = {}
    for goal in GOALS:
        for dtype in dtypes:
            for n in sizes:
                values = _goal_values(per_process, goal, dtype, n, others) if goal.covers(n) else []
                if values:
                    out[(goal, dtype, n)] = (*verdict(values, goal.limit, goal.side, confidence),
                                             len(values))
    return out


def _what_would_decide(low, estimate, high, limit, count):
    """The processes that would narrow an undecided interval off ``limit``, at the same spread."""
    if low <= 0 or not math.isfinite(high):
        return "more processes (too few for an interval)"
    distance = abs(math.log(limit) - math.log(estimate))
    half = (math.log(high) - math.log(low)) / 2
    needed = count * (half / distance) ** 2 if distance > 1e-9 else math.inf
    if needed > 10 * count:
        return "nothing within reach: the estimate sits on the limit (a tie with it)"
    return f"about {math.ceil(needed)} processes at this spread"


def _verdict_cell(word, low, estimate, high, count):
    return f"{estimate:.2f} [{low:.2f}, {high:.2f}] {word} ({count})"


def report_processes(per_process, sizes, dtypes, confidence=0.95):
    """Print auto over the fastest peer (or numpy.dot and threads) in each process, and the verdicts.

    Returns the verdicts (:func:`judge`).
    """
    others = _peer_columns(per_process)
    rows = []
    for dtype in dtypes:
        cells = []
        for n in sizes:
            ratios = _peer_ratios(per_process, dtype, n, others)
            worst, worst_peer, choice = max(ratios)
            cells.append(f"{statistics.median(r for r, _, _ in ratios):.2f}; "
                         f"{worst:.2f} ({worst_peer}; auto ran {choice})")
        rows.append([dtype, *cells])
    print(f"auto / fastest other way in each of {len(per_process)} processes (numpy.dot, threads"
          f"{' and the peers' if len(others) > 2 else ''}; the winner chosen on the even "
          "samples, the ratio read on the odd ones): median; worst (the winner there; what auto "
          "ran there)\n")
    print(_fmt.markdown(["dtype"] + [_fmt.size(n) for n in sizes], rows))

    verdicts = judge(per_process, sizes, dtypes, confidence)
    for goal in GOALS:
        goal_sizes = [n for n in sizes if goal.covers(n)]
        if not goal_sizes:
            continue
        print(f"Goal: {goal.name} {_goal_text(goal)}: the Hodges-Lehmann "
              f"estimate over the processes [its {confidence:.0%} signed-rank interval], "
              "the verdict (processes)\n")
        print(_fmt.markdown(["dtype"] + [_fmt.size(n) for n in goal_sizes], [
            [dtype, *(_verdict_cell(*verdicts[(goal, dtype, n)]) for n in goal_sizes)]
            for dtype in dtypes]))
    words = [v[0] for v in verdicts.values()]
    print(f"Goals over the processes, cells: {words.count('met')} met, {words.count('missed')} "
          f"missed, {words.count('undecided')} undecided (an undecided cell counts as missed)")
    for (goal, dtype, n), (word, low, estimate, high, count) in verdicts.items():
        if word == "undecided":
            print(f"- undecided: {goal.name}, {dtype} N={_fmt.size(n)}: {estimate:.3f} "
                  f"[{low:.3f}, {high:.3f}] after {count} processes; would decide it: "
                  f"{_what_would_decide(low, estimate, high, goal.limit, count)}")
    return verdicts


def _child_argv(args, sizes, seed, path):
    argv = [sys.executable, "-m", "benchtools", "compare", "--sizes", *map(str, sizes),
            "--workers", str(args.workers), "--dtypes", *args.dtypes, "--seed", str(seed),
            "--json", path]
    if args.extras:
        argv.append("--extras")
    if args.peers is not None:
        argv += ["--peers", *args.peers]
    return argv


def measure_in_processes(args, sizes):
    """What :func:`measure` returns, once per fresh process.

    ``args.processes`` processes measure every size; then, up to
    ``args.max_processes`` in all, one more process at a time measures the
    sizes at which a goal's cell is still undecided (:func:`judge`), every
    dtype, until none is.
    """
    per_process = []
    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        i, todo = 0, sizes
        while todo and i < max(args.processes, args.max_processes or 0):
            path = os.path.join(tmp, f"{i}.json")
            subprocess.run(_child_argv(args, todo, args.seed + i, path), check=True,
                           stdout=subprocess.DEVNULL, cwd=ROOT)
            with open(path) as f:
                saved = json.load(f)
            per_process.append(({(d, int(n)): cols for d, n, cols, _ in saved},
                                {(d, int(n)): choice for d, n, _, choice in saved}))
            i += 1
            if i >= args.processes:
                verdicts = judge(per_process, sizes, args.dtypes, args.confidence)
                todo = sorted({n for (_, _, n), v in verdicts.items() if v[0] == "undecided"})
            of = (f"{args.processes}" if i <= args.processes
                  else f"at most {args.max_processes}")
            undecided = (f"; a goal undecided at N = {', '.join(map(_fmt.size, todo))}"
                         if i >= args.processes and todo else "")
            print(f"  process {i} of {of} done{undecided}",
                  file=sys.stderr, flush=True)
    return per_process


def build_parser(parser):
    """Add the options of ``compare`` to ``parser``."""
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dtypes", nargs="+", default=list(ALL_DTYPES))
    parser.add_argument("--extras", action="store_true",
                        help="also the per-call pool, parallel_numpy_dot, processes, the ceiling")
    parser.add_argument("--peers", nargs="*", choices=PEERS, default=None, metavar="PEER",
                        help=f"also the peers (all without a name): {', '.join(PEERS)}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the order of the points")
    parser.add_argument("--processes", type=int, default=1,
                        help="measure in this many fresh processes, one after the other, and "
                             "print medians and the worst over them, and judge the goals "
                             "(default %(default)s)")
    parser.add_argument("--max-processes", type=int, default=None, metavar="M",
                        help="then measure again, one process at a time at the sizes where a "
                             "goal is undecided, up to M processes in all (default: --processes)")
    parser.add_argument("--confidence", type=float, default=0.95,
                        help="confidence of the intervals that judge the goals "
                             "(default %(default)s)")
    parser.add_argument("--json", metavar="FILE", help=argparse.SUPPRESS)


def main(args):
    """Measure and print the tables; return 0."""
    sizes = [int(s) for s in args.sizes]
    print(f"# {platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
          f"Python {platform.python_version()}, numpy {np.__version__}, workers={args.workers}, "
          f"order seed {args.seed}")
    native = getattr(importlib.import_module("paralleldot._kernels"), "_native", None)
    print(f"# compiled kernel: {native.isa() if native is not None else 'none'}")
    if args.processes < 1:
        raise SystemExit(f"compare: --processes must be 1 or more, got {args.processes}")
    if args.max_processes is not None and args.max_processes < args.processes:
        raise SystemExit(f"compare: --max-processes must be at least --processes "
                         f"({args.processes}), got {args.max_processes}")
    if not 0 < args.confidence < 1:
        raise SystemExit(f"compare: --confidence must be between 0 and 1, got {args.confidence}")
    if args.processes > 1:
        per_process = measure_in_processes(args, sizes)
        results = [result for result, _ in per_process]
        # each column's best in each process that measured the point: report() prints their median
        bests = {key: {c: [min(result[key][c]) for result in results if key in result]
                       for c in results[0][key]} for key in results[0]}
        counts = sorted({len(next(iter(cols.values()))) for cols in bests.values()})
        print(f"# every time below: the median over {'/'.join(map(str, counts))} processes of its best")
        report(bests, sizes, args.dtypes, args.workers, summary=statistics.median)
        report_processes(per_process, sizes, args.dtypes, args.confidence)
    else:
        peers = () if args.peers is None else (args.peers or PEERS)
        results, chosen = measure(sizes, args.dtypes, args.workers, args.extras, args.seed, peers)
        if args.json:  # a child of --processes
            with open(args.json, "w") as f:
                json.dump([[d, n, cols, chosen[(d, n)]] for (d, n), cols in results.items()], f)
        report(results, sizes, args.dtypes, args.workers)
    print(f"\n# load at the end {os.getloadavg()[0]:.2f}")
    return 0
