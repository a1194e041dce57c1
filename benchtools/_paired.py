"""The gate's measurement: two builds of the package in one process, timed in turn.

Run by ``python -m benchtools gate`` as ``python -m benchtools._paired
SPEC.json`` from the repository root, with ``PYTHONPATH`` holding a
directory where the two commits are installed as the packages
``paralleldot_base`` and ``paralleldot_head`` (the gate renames them). Both
builds run in this one process, on the same vectors, at the same moments:
the machine's load, the placement of the process and the memory bandwidth
it draws are the same for both, which separate benchmark processes (asv's
rounds) cannot give.

For each row (split, N, workers, dtype) it times blocks of calls of BASE and
HEAD alternately, in ABBA order (BASE HEAD, HEAD BASE, ...), and reads the
log of HEAD's block time over BASE's for each pair. After every batch of
pairs it computes the signed-rank interval of those logs
(:mod:`benchtools._stats`) and stops the row as soon as the interval lies
entirely under ``log(factor)`` (ok) or entirely over it (regressed); a row
whose interval still straddles it at its cap of pairs or seconds is
undecided. It writes one JSON object per row on standard output, as soon
as the row is done, and a line of progress on standard error.
"""

import functools
import importlib
import json
import math
import sys
import time
import timeit

from benchmarks import common

from . import _stats

#: The two builds, as the gate installs them.
PACKAGES = ("paralleldot_base", "paralleldot_head")
#: Seconds of calls of each build before a row's first pair (pools start, auto decides).
WARM_SECONDS = 0.1


def _calls(package, split, n, workers, dtype, shared):
    """A function of no argument: one ``parallel_dot`` call of ``package`` on the row's vectors.

    ``processes`` reads vectors in its own build's shared memory (kept in
    ``shared`` for the rows of the same N and dtype), as the suite does.
    """
    a, b = common.vectors(n, dtype)
    if split == "processes":
        key = (package.__name__, n, dtype)
        if key not in shared:
            x, y = package.shared_empty(n, dtype), package.shared_empty(n, dtype)
            x[:], y[:] = a, b
            shared[key] = (x, y)
        a, b = shared[key]
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


def verdict(low, high, factor):
    """``ok``, ``regressed`` or ``undecided`` from the interval of the log of HEAD / BASE."""
    limit = math.log(factor)
    if high < limit:
        return "ok"
    if low > limit:
        return "regressed"
    return "undecided"


def measure_row(base, head, factor, confidence, batch, min_pairs, max_pairs, block_seconds,
                deadline):
    """Pairs of blocks of ``base`` and ``head`` until the interval decides; the row's result."""
    _warm((base, head), WARM_SECONDS)
    number = _number((base, head), block_seconds)
    logs, base_times, head_times = [], [], []
    low = estimate = high = math.nan
    while True:
        for _ in range(batch):
            if len(logs) % 2 == 0:
                t_base = timeit.timeit(base, number=number)
                t_head = timeit.timeit(head, number=number)
            else:
                t_head = timeit.timeit(head, number=number)
                t_base = timeit.timeit(base, number=number)
            base_times.append(t_base / number)
            head_times.append(t_head / number)
            logs.append(math.log(t_head / t_base))
        if len(logs) < min_pairs:
            continue
        low, estimate, high = _stats.signed_rank_interval(logs, confidence)
        decided = verdict(low, high, factor)
        if decided != "undecided" or len(logs) >= max_pairs or time.monotonic() >= deadline:
            break
    return {
        "verdict": decided, "pairs": len(logs), "number": number,
        "slowdown": math.exp(estimate), "low": math.exp(low), "high": math.exp(high),
        "base": sorted(base_times)[len(base_times) // 2],
        "head": sorted(head_times)[len(head_times) // 2],
        "logs": logs,
    }


def main(spec_path):
    """Measure every row of the spec; one JSON line per row on stdout."""
    with open(spec_path) as f:
        spec = json.load(f)
    base_pkg, head_pkg = (importlib.import_module(name) for name in PACKAGES)
    shared = {}
    rows = spec["rows"]
    try:
        for i, row in enumerate(rows, 1):
            split, n, workers, dtype = row["split"], row["N"], row["workers"], row["dtype"]
            started = time.monotonic()
            try:
                base = _calls(base_pkg, split, n, workers, dtype, shared)
                head = _calls(head_pkg, split, n, workers, dtype, shared)
                result = measure_row(base, head, spec["factor"], spec["confidence"], spec["batch"],
                                     spec["min_pairs"], spec["max_pairs"], spec["block_seconds"],
                                     started + spec["row_seconds"])
            except Exception as exc:  # a build that fails a row fails that row only
                result = {"verdict": "failed", "error": f"{type(exc).__name__}: {exc}"}
            result.update(row, seconds=time.monotonic() - started)
            print(json.dumps(result), flush=True)
            if i == len(rows) or (rows[i]["N"], rows[i]["dtype"]) != (n, dtype):
                shared.clear()  # the shared vectors of this size: unlinked when dropped
    finally:
        shared.clear()
        base_pkg.shutdown()
        head_pkg.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
