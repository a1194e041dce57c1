"""Regression gate: exit 1 when HEAD makes the futures split slower than BASE.

Usage, from the repository root::

    python -m benchtools gate BASE HEAD [--factor 1.1] [--min-n 1e5] [--bench REGEX]
                              [--profile gate] [--python PATH] [--save FILE]
    python -m benchtools gate BASE HEAD --no-run     # judge the values asv saved

BASE and HEAD are any git names (``main``, ``HEAD~1``, a hash). The rows are
the points of ``bench_speedup.Speedup`` in the ``gate`` profile (split
``threads``, ``auto``, ``processes``; N 1e5 to 1e7; workers 1, 2, 4;
float64 and int32) whose asv name matches ``--bench``.

How it measures: both commits are built (``pip install --target``) and
loaded side by side in one process, as the packages ``paralleldot_base``
and ``paralleldot_head``; for each row, blocks of calls of each are timed
in turn, in ABBA order, on the suite's seeded vectors
(:mod:`benchtools._paired`). Both builds meet the same load, placement and
memory bandwidth, pair by pair.

How it decides, per row: batches of 8 ABBA pairs (2 for ``auto`` below
1e7), each batch after both builds' pools and ``auto``'s choices were drawn
anew; a batch's value is the median over its pairs of the log of HEAD's
time over BASE's. From 8 batches on, the Hodges-Lehmann estimate and
signed-rank confidence interval of the batches' values (``--confidence``, 99%,
:mod:`benchtools._stats`): entirely under ``log(--factor)``, ok; entirely
over it, regressed; otherwise one more batch, up to the row's cap
(``--max-batches``, ``--row-seconds``). When every row has had its turn,
the undecided ones are measured further with the time the others left
(``--total-seconds``, 9 minutes in all), in turns, the row that the fewest
batches are estimated to decide first. A row still straddling the factor
then is *undecided* and counts as missed, not as passed. Why this rule, and what it was
measured to detect: ``docs/gate.md``.

Exit status: 0, every row decided ok; 1, at least one row regressed;
2, the gate could not measure (unknown commit, a build failed, no row);
3, no row regressed but some are undecided (each undecided row is printed
with what would decide it).
"""

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import BLAS_THREAD_VARIABLES, PROFILE_ENV, PROFILES, SPLITS

from . import _asv, _fmt, _git, _paired
from ._git import ROOT

#: The benchmark whose points are the rows (its ``impl`` parameter is the split).
BENCHMARK = "bench_speedup.Speedup.track_speedup"
#: Its parameters, in asv's order.
PARAM_NAMES = ["impl", "N", "workers", "dtype"]
DEFAULT_BENCH = rf"^{re.escape(BENCHMARK)}\('({'|'.join(SPLITS)})'"
DEFAULT_FACTOR = 1.1
DEFAULT_MIN_N = 1e5
DEFAULT_PROFILE = "gate"
DEFAULT_BLAS_THREADS = "1"
DEFAULT_CONFIDENCE = 0.99
#: Pairs of a batch (each batch gives one value: the median of its pairs).
DEFAULT_BATCH = 8
#: Batches before the first look: the fewest that bound a 99% interval.
DEFAULT_MIN_BATCHES = 8
DEFAULT_MAX_BATCHES = 40
DEFAULT_ROW_SECONDS = 15.0
#: Seconds for the whole measurement: what the rows leave goes to the undecided ones.
DEFAULT_TOTAL_SECONDS = 540.0
#: Seconds of calls in one block (one build's half of a pair).
DEFAULT_BLOCK_SECONDS = 0.02
#: The names the two builds are installed under, side by side.
PACKAGES = {"base": "paralleldot_base", "head": "paralleldot_head"}

EXIT_OK, EXIT_REGRESSED, EXIT_ERROR, EXIT_UNDECIDED = 0, 1, 2, 3


def build_parser(p):
    """Add the gate's arguments to the (sub-)parser ``p``."""
    p.add_argument("base", help="the reference commit (any git name)")
    p.add_argument("head", help="the commit under test (any git name)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help="a row regressed when HEAD's time / BASE's exceeds this, with "
                   "confidence (default %(default)s)")
    p.add_argument("--min-n", type=float, default=DEFAULT_MIN_N,
                   help="judge only rows with N >= this (default %(default)g)")
    p.add_argument("--bench", "-b", default=DEFAULT_BENCH,
                   help="regex on the rows' asv names (default %(default)r)")
    p.add_argument("--profile", default=None,
                   help=f"the suite's profile whose grid gives the rows (default: "
                   f"{PROFILE_ENV} if set, else {DEFAULT_PROFILE!r})")
    p.add_argument("--python", default=sys.executable,
                   help="the interpreter that builds and runs both commits, e.g. an asv "
                   "environment's (default: this one)")
    p.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE,
                   help="two-sided confidence of each row's interval (default %(default)s)")
    p.add_argument("--max-batches", type=int, default=DEFAULT_MAX_BATCHES,
                   help="most batches per row before it is called undecided (default %(default)s)")
    p.add_argument("--row-seconds", type=float, default=DEFAULT_ROW_SECONDS,
                   help="most seconds per row before it is called undecided (default %(default)s)")
    p.add_argument("--total-seconds", type=float, default=DEFAULT_TOTAL_SECONDS,
                   help="seconds for the whole measurement; the time the rows leave goes "
                   "to measuring the undecided ones further (default %(default)s)")
    p.add_argument("--block-seconds", type=float, default=DEFAULT_BLOCK_SECONDS,
                   help="seconds of calls in each timed block (default %(default)s)")
    p.add_argument("--blas-threads", default=DEFAULT_BLAS_THREADS,
                   help="BLAS thread caps of the measuring process (default %(default)s; "
                   "'default' leaves them unset)")
    p.add_argument("--save", metavar="FILE", default=None,
                   help="write every row's batches of pairs and verdict as JSON")
    p.add_argument("--no-run", action="store_true",
                   help="do not measure: judge the track_speedup values asv saved for both "
                   "commits (one per commit: a point comparison, not a test)")
    p.add_argument("--environment", "-E", default=None,
                   help="with --no-run: the asv environment whose results are read")
    p.add_argument("--machine", default=None, help="with --no-run: the asv machine")
    p.add_argument("--config", default=_asv.CONFIG, help="with --no-run: asv's configuration")


def _check_args(args):
    """The message of the first invalid option, or None."""
    if args.factor <= 1:
        return f"--factor must be > 1, got {args.factor}"
    if not 0.5 <= args.confidence < 1:
        return f"--confidence must be in [0.5, 1), got {args.confidence}"
    if args.max_batches < DEFAULT_MIN_BATCHES:
        return f"--max-batches must be >= {DEFAULT_MIN_BATCHES}, got {args.max_batches}"
    if args.row_seconds <= 0 or args.block_seconds <= 0:
        return "--row-seconds and --block-seconds must be > 0"
    try:
        re.compile(args.bench)
    except re.error as exc:
        return f"--bench is not a regular expression: {exc}"
    return None


def _fail(message):
    print(f"gate: {message}", file=sys.stderr)
    return EXIT_ERROR


# ------------------------------------------------------------------ the rows


def _asv_name(point):
    """asv's name of a row: ``bench_speedup.Speedup.track_speedup('threads', 100000, 2, 'int32')``."""
    return (f"{BENCHMARK}('{point['impl']}', {point['N']}, {point['workers']}, "
            f"'{point['dtype']}')")


def rows(profile, min_n, bench):
    """The rows to judge: the profile's ``Speedup`` points with ``N >= min_n`` matching ``bench``.

    Grouped by N and dtype (the measuring process keeps one size's vectors
    at a time), then split and workers.
    """
    grid = PROFILES[profile]
    pattern = re.compile(bench)
    out = []
    for n in sorted(grid.sizes):
        for dtype in grid.dtypes:
            for split in SPLITS:
                for workers in grid.workers:
                    point = {"impl": split, "N": n, "workers": workers, "dtype": dtype}
                    if n >= min_n and pattern.search(_asv_name(point)):
                        out.append({"split": split, "N": n, "workers": workers, "dtype": dtype})
    return out


def _key(row):
    return row["split"], row["N"], row["workers"], row["dtype"]


def _label(row):
    return f"{row['split']} {_fmt.size(row['N'])} w{row['workers']} {row['dtype']}"


# ------------------------------------------------------------------ building


def _build(commit, name, lib, python):
    """Install ``commit``'s package into ``lib`` as the package ``name``; raise on failure."""
    work = tempfile.mkdtemp(prefix=f"gate-{name}-", dir=os.path.dirname(lib))
    src, target = os.path.join(work, "src"), os.path.join(work, "target")
    os.makedirs(src)
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT,
                             stdout=subprocess.PIPE, check=True).stdout
    subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    base_cmd = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                "--target", target, src]
    proc = subprocess.run(base_cmd[:4] + ["--no-build-isolation"] + base_cmd[4:],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # no setuptools in that interpreter: let pip fetch it
        proc = subprocess.run(base_cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip could not build {commit[:8]}:\n{proc.stderr[-3000:]}")
    shutil.move(os.path.join(target, "paralleldot"), os.path.join(lib, name))
    shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------ measuring


def _measure(args, base, head, todo, lib):
    """Run :mod:`benchtools._paired` on both builds; yield each row's result as it comes."""
    spec = {"rows": todo, "factor": args.factor, "confidence": args.confidence,
            "batch": DEFAULT_BATCH, "min_batches": DEFAULT_MIN_BATCHES,
            "max_batches": args.max_batches,
            "block_seconds": args.block_seconds, "row_seconds": args.row_seconds,
            "total_seconds": args.total_seconds}
    spec_path = os.path.join(lib, "..", "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [lib] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    if args.blas_threads not in (None, "", "default"):
        env.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(args.blas_threads)))
    proc = subprocess.Popen([args.python, "-m", "benchtools._paired", spec_path], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("{"):
                yield json.loads(line)
    finally:
        if proc.wait() != 0:
            raise RuntimeError(f"the measuring process exited {proc.returncode}")


def _progress(i, total, result, started):
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    if result["verdict"] == "failed":
        text = f"failed: {result['error']}"
    else:
        text = (f"{result['slowdown']:.3f}x [{result['low']:.3f}, {result['high']:.3f}] "
                f"{result['batches']:>2} batches {result['seconds']:4.1f} s  {result['verdict']}")
    count = "again" if result.get("again") else f"{i:>2}/{total}"
    print(f"[{count} {minutes:2d}:{seconds:02d}] {_label(result):<28} {text}", flush=True)


def _what_would_decide(row, factor):
    """A sentence: how many batches would narrow the row's interval off the factor, if any."""
    if not (row["low"] > 0 and math.isfinite(row["high"])):  # also nan: under 8 batches
        return "too few batches for an interval: raise --row-seconds"
    needed = _paired.batches_to_decide(row, factor)
    if math.isinf(needed):
        return (f"its slowdown is the factor itself ({row['slowdown']:.3f}x): no number of "
                "batches decides it; judge it against another --factor")
    return (f"about {needed} batches would (--max-batches {needed}, --row-seconds "
            f"{max(DEFAULT_ROW_SECONDS, row['seconds'] * needed / row['batches']):.0f}), "
            "or a quieter machine")


def _table(results):
    header = ("split", "N", "workers", "dtype", "BASE us", "HEAD us", "HEAD/BASE",
              "interval", "batches", "verdict")
    return _fmt.plain(header, [
        (r["split"], _fmt.size(r["N"]), r["workers"], r["dtype"],
         *(("-", "-", "-", "-", "-", f"failed: {r['error']}") if r["verdict"] == "failed" else
           (f"{r['base'] * 1e6:.1f}", f"{r['head'] * 1e6:.1f}", f"{r['slowdown']:.3f}",
            f"[{r['low']:.3f}, {r['high']:.3f}]", r["batches"], r["verdict"])))
        for r in results])


def run_gate(args, base, head):
    """Build, measure and judge; print the outcome; return the exit status."""
    profile = args.profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    if profile not in PROFILES:
        return _fail(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    todo = rows(profile, args.min_n, args.bench)
    if not todo:
        return _fail("no row to judge: check --bench, --min-n and --profile")
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="paralleldot-gate-")
    lib = os.path.join(work, "lib")
    os.makedirs(lib)
    results = []
    try:
        for commit, name in ((base, PACKAGES["base"]), (head, PACKAGES["head"])):
            try:
                _build(commit, name, lib, args.python)
            except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
                return _fail(f"building {commit[:8]} failed: {exc}")
        print(f"gate: built BASE {base[:8]} and HEAD {head[:8]} in "
              f"{time.monotonic() - started:.0f} s; {len(todo)} rows of the {profile!r} profile, "
              f"factor {args.factor:g}, {args.confidence:.0%} intervals", flush=True)
        try:
            by_row = {}
            for result in _measure(args, base, head, todo, lib):
                by_row[_key(result)] = result
                _progress(len(by_row), len(todo), result, started)
            results = [by_row[_key(r)] for r in todo if _key(r) in by_row]
        except RuntimeError as exc:
            return _fail(f"{exc} after {len(results)} of {len(todo)} rows")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _report(args, base, head, results, time.monotonic() - started)


def _report(args, base, head, results, seconds):
    if args.save:
        with open(args.save, "w") as f:
            json.dump({"base": base, "head": head, "factor": args.factor,
                       "confidence": args.confidence, "seconds": seconds, "rows": results},
                      f, indent=1)
    regressed = [r for r in results if r["verdict"] in ("regressed", "failed")]
    undecided = [r for r in results if r["verdict"] == "undecided"]
    print(f"\ngate: BASE {base[:8]} ({args.base}) -> HEAD {head[:8]} ({args.head}): "
          f"HEAD's time / BASE's per row, Hodges-Lehmann estimate and "
          f"{args.confidence:.0%} signed-rank interval over batches of ABBA pairs in one "
          "process; "
          f"{seconds:.0f} s")
    print(_table(results))
    if undecided:
        print(f"\nUNDECIDED: {len(undecided)} of {len(results)} rows: their interval contains "
              f"{args.factor:g}, so they neither pass nor fail (missed, not passed):")
        for r in undecided:
            print(f"  {_label(r)}: {r['slowdown']:.3f}x [{r['low']:.3f}, {r['high']:.3f}] after "
                  f"{r['batches']} batches; {_what_would_decide(r, args.factor)}")
    if regressed:
        print(f"\nREGRESSED: {len(regressed)} of {len(results)} rows slower by more than "
              f"{args.factor:g}x with {args.confidence:.0%} confidence (or failing at HEAD):")
        for r in regressed:
            detail = r.get("error") or f"{r['slowdown']:.3f}x [{r['low']:.3f}, {r['high']:.3f}]"
            print(f"  {_label(r)}: {detail}")
        return EXIT_REGRESSED
    if undecided:
        print(f"gate: no row regressed, {len(undecided)} undecided (exit {EXIT_UNDECIDED})")
        return EXIT_UNDECIDED
    print(f"gate: OK, every one of the {len(results)} rows is under {args.factor:g}x "
          "with confidence")
    return EXIT_OK


# ------------------------------------------------------------------ --no-run: asv's values


def read_rows(conf, machine, commit, env_name, bench_re, min_n):
    """``{(split, N, workers, dtype, env): value}`` of one commit, from asv's results.

    Only rows whose asv name (``name(params)``) matches ``bench_re``, with
    ``N >= min_n``; a failed row is None, a skipped one NaN.
    """
    from asv.results import iter_results_for_machine_and_hash

    rows = {}
    for result in iter_results_for_machine_and_hash(conf.results_dir, machine, commit):
        if env_name and result.env_name != env_name:
            continue
        for p, value in _asv.points(result, BENCHMARK, PARAM_NAMES):
            if p["N"] < min_n or not bench_re.search(_asv_name(p)):
                continue
            rows[(p["impl"], p["N"], p["workers"], p["dtype"], result.env_name)] = value
    return rows


def _spread(values):
    """Largest over smallest of a commit's rounds, the slowest round left out (3 rounds or more)."""
    values = sorted(values)
    if len(values) >= 3:
        values = values[1:]  # the lowest ratio: the round whose split ran slowest
    return max(values) / min(values)


def judge(samples, factor):
    """Judge rows from their rounds: ``samples[row] = (base values, head values)``.

    Returns ``(judged, regressed, noisy)``, lists of dicts with ``split``,
    ``N``, ``workers``, ``dtype``, ``env``, ``before``, ``after`` (median
    ratios), ``slowdown`` (before / after), ``spread`` (the larger of the
    two commits' spreads, see :func:`_spread`), ``rounds`` and ``reason``.
    A row regresses when its slowdown exceeds ``factor`` and the spread of
    its rounds, and is OK when neither the spread nor ``slowdown x spread``
    exceeds ``factor``; otherwise its rounds cannot tell a change from
    noise: the row is *noisy*.
    """
    judged, regressed, noisy = [], [], []
    for key in sorted(samples):
        split, n, workers, dtype, env = key
        base, head = samples[key]
        row = {"split": split, "N": n, "workers": workers, "dtype": dtype, "env": env,
               "before": None, "after": None, "slowdown": None, "spread": None,
               "rounds": (len(base), len(head)), "reason": ""}
        base = [v for v in base if _fmt.ok(v)]
        if not base:
            continue  # skipped or failed at BASE: nothing to compare with
        row["before"] = statistics.median(base)
        if any(v is None for v in head):
            row["reason"] = "fails at HEAD"
            regressed.append(row)
        elif not head or not any(_fmt.ok(v) for v in head):
            continue  # skipped at HEAD
        else:
            head = [v for v in head if _fmt.ok(v)]
            row["after"] = statistics.median(head)
            row["slowdown"] = row["before"] / row["after"]
            row["spread"] = max(_spread(base), _spread(head))
            if row["slowdown"] > factor:
                if row["slowdown"] > row["spread"]:
                    row["reason"] = f"slower by more than {factor:g}x"
                    regressed.append(row)
                else:
                    row["reason"] = "noisy: the rounds spread more than the slowdown"
                    noisy.append(row)
            elif row["spread"] > factor:
                row["reason"] = f"noisy: the rounds spread more than {factor:g}x"
                noisy.append(row)
            elif row["slowdown"] * row["spread"] > factor:
                row["reason"] = f"noisy: slowdown x spread above {factor:g}x"
                noisy.append(row)
        judged.append(row)
    return judged, regressed, noisy


def _print_judged(rows_, title):
    print(title)
    header = ("split", "N", "workers", "dtype", "before", "after", "slowdown", "")
    print(_fmt.plain(header, [
        (r["split"], _fmt.size(r["N"]), r["workers"], r["dtype"],
         "-" if r["before"] is None else f"{r['before']:.3g}",
         "failed" if r["after"] is None else f"{r['after']:.3g}",
         "-" if r["slowdown"] is None else f"{r['slowdown']:.2f}", r["reason"])
        for r in rows_]))


def judge_saved(args, base, head):
    """``--no-run``: one asv value per commit and row, compared point to point."""
    conf = _asv.load_config(args.config)
    try:
        machine = _asv.choose_machine(conf.results_dir, args.machine, [base, head])
    except SystemExit as exc:
        return _fail(str(exc))
    env_filter = args.environment if args.environment and ":" not in args.environment else None
    bench_re = re.compile(args.bench)
    b = read_rows(conf, machine, base, env_filter, bench_re, args.min_n)
    h = read_rows(conf, machine, head, env_filter, bench_re, args.min_n)
    judged, regressed, _ = judge({k: ([b[k]], [h[k]] if k in h else []) for k in b}, args.factor)
    if not judged:
        return _fail("no row to judge in asv's results (check --bench, --min-n, -E)")
    judged.sort(key=lambda r: (r["split"], r["dtype"], r["N"], r["workers"]))
    _print_judged(judged, f"gate --no-run: numpy.dot time / split time as asv saved it "
                  f"(one value per commit: a point comparison, not a test), factor {args.factor:g}:")
    if regressed:
        _print_judged(regressed, f"\nREGRESSED: {len(regressed)} of {len(judged)} rows:")
        return EXIT_REGRESSED
    return EXIT_OK


def main(args):
    """Run the gate for the parsed ``args``; return the exit status."""
    problem = _check_args(args)
    if problem:
        return _fail(problem)
    if shutil.which("git") is None:
        return _fail("git is not installed")
    base, head = _git.rev_parse(args.base), _git.rev_parse(args.head)
    for given, full in ((args.base, base), (args.head, head)):
        if full is None:
            return _fail(f"{given!r} is not a commit of {ROOT}")
    if args.no_run:
        return judge_saved(args, base, head)
    return run_gate(args, base, head)
