"""Regression gate: exit 1 when HEAD makes the futures split slower than BASE.

Usage::

    python tools/gate.py BASE HEAD [--factor 1.25] [--bench REGEX] [--min-n 1e5]
                         [-E ENVIRONMENT] [--machine NAME] [--config asv.conf.json]
                         [--no-run]

Run it from the repository root, where ``asv.conf.json`` is. BASE and HEAD
are any git names (``main``, ``HEAD~1``, a hash).

How it works
------------
1. **Measure** (skipped with ``--no-run``): ``asv continuous`` runs the
   selected benchmarks for BASE and HEAD in one session, in one
   environment, with the rounds of the two commits interleaved (BASE, HEAD,
   HEAD, BASE, ...). A change of the machine's load during the run then
   lands on both commits alike, which two separate ``asv run`` calls cannot
   promise. The gate asks for 4 shorter rounds (``-a rounds=4 -a
   "repeat=(10, 100, 0.3)"``) instead of the suite's 2 longer ones: twice as
   many alternations for about the same time. It runs asv with
   ``OPENBLAS_NUM_THREADS=1`` (and OMP/MKL): on 2 shared cores a numpy.dot
   with 2 BLAS threads sometimes waits milliseconds for its second thread,
   which was the largest noise seen (``--blas-threads default`` turns this
   off). Results and samples are saved under ``results/`` like any ``asv
   run``.
2. **Judge**: the gate reads both commits' results with asv's own results
   API (``asv.results``), not the text ``asv continuous`` prints, and flags
   a row (benchmark, N, workers) with ``N >= --min-n`` when
   ``after / before > --factor``, where the time of a commit is

   - ``--statistic min`` (default): its fastest sample over every round.
     Other jobs on the machine only ever add time; the minimum of 40 to 400
     samples is the steadiest estimate of what a call costs, and a real
     slowdown (more work, more hand-offs) raises it too. A row is flagged
     only if asv's median also moved by more than the factor: a thread
     hand-off is bimodal here, and one commit may draw a few fast samples
     that the other does not (min 1.66x, median 0.93x was seen);
   - ``--statistic median``: asv's value, flagged only when asv's
     statistical test (Mann-Whitney U, as ``asv compare``) also says the
     commits differ (``--no-stats`` drops the test).

   A row that ran at BASE and fails at HEAD is flagged too. Rows below
   ``--min-n`` (default 1e5) are not judged: a call lasts microseconds there.
3. **Confirm** (``--confirm 1``, default): when rows are flagged, their
   benchmarks are measured again the same way, and a row regresses only if
   the new measurement flags it too. A real slowdown is flagged every time;
   a benchmark process that drew a slow thread hand-off (on a shared VM
   one sometimes costs ten times its usual 20 microseconds for a whole
   process) is not flagged twice in a row.

Why not just ``asv continuous --factor``? Its exit code judges every
benchmark it ran (the fixed baselines too) on the median, cannot leave out
the small sizes, and only its printed table names the rows. Reading the
results keeps asv's measurement and adds the choice of rows and statistic.

What is judged
--------------
By default the timed split benchmarks of ``benchmarks/bench_dot.py``
(threads, processes, auto, ``parallel_numpy_dot`` when the suite has it):
every class of that module except ``NumpyDot`` (numpy.dot itself) and
``PerCallPool`` (the example's split, which does not use the package: a
fixed baseline that a commit of paralleldot cannot slow down). The track_
ratios of bench_speedup/bench_bandwidth are not judged: they are measured
against numpy.dot in the same process and are not times.

Exit status
-----------
0: no row regressed; 1: at least one row regressed (each is printed with
benchmark, N, workers, before, after and ratio); 2: the gate could not
decide (asv failed before giving results, no result for a commit, no row
to judge).
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys

#: The split benchmarks: bench_dot classes except the reference and the baseline.
DEFAULT_BENCH = r"^bench_dot\.(?!NumpyDot\.|PerCallPool\.)"
DEFAULT_FACTOR = 1.25
DEFAULT_MIN_N = 1e5
#: Measurement settings (see the README, "Regression gate"): more, shorter
#: rounds alternate BASE and HEAD more often; one BLAS thread per process
#: removes the slowest noise on a loaded machine.
DEFAULT_STATISTIC = "min"
DEFAULT_ROUNDS = 4
DEFAULT_REPEAT = "(10, 100, 0.3)"
DEFAULT_BLAS_THREADS = "1"
#: Re-measurements of flagged rows before a regression is believed: a
#: thread hand-off on a shared VM sometimes costs 10 times its usual few
#: microseconds for a whole benchmark process, which one measurement can
#: mistake for a slowdown; a real slowdown is flagged again.
DEFAULT_CONFIRM = 1
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog="tools/gate.py",
        description="Exit 1 when HEAD makes the futures split slower than BASE "
        "by more than --factor (asv continuous, then asv's results).",
    )
    p.add_argument("base", help="the reference commit (any git name)")
    p.add_argument("head", help="the commit under test (any git name)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help="flag a row when after/before exceeds this (default %(default)s)")
    p.add_argument("--bench", "-b", default=DEFAULT_BENCH,
                   help="regex of the benchmarks to run and judge "
                   "(default: bench_dot's split benchmarks, %(default)r)")
    p.add_argument("--min-n", type=float, default=DEFAULT_MIN_N,
                   help="judge only rows with N >= this (default %(default)g)")
    p.add_argument("--environment", "-E", default=None,
                   help="asv environment (name or spec); default: one virtualenv "
                   "environment of the matrix, with this Python and the newest numpy")
    p.add_argument("--machine", default=None, help="asv machine name")
    p.add_argument("--config", default="asv.conf.json", help="asv configuration file")
    p.add_argument("--no-run", action="store_true",
                   help="do not measure: judge results already saved for both commits")
    p.add_argument("--statistic", choices=("min", "median"), default=DEFAULT_STATISTIC,
                   help="time of a row: the fastest sample over every round (min) or "
                   "asv's value, the median (default %(default)s)")
    p.add_argument("--no-stats", action="store_true",
                   help="with --statistic median: judge on the ratio alone, without "
                   "asv's significance test")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                   help="asv rounds per commit, interleaved BASE/HEAD/HEAD/BASE... "
                   "(default %(default)s; 0 keeps the benchmarks' own)")
    p.add_argument("--repeat", default=DEFAULT_REPEAT,
                   help="asv repeat per round: N or (min, max, seconds) "
                   "(default %(default)s; '' keeps the benchmarks' own)")
    p.add_argument("--blas-threads", default=DEFAULT_BLAS_THREADS,
                   help="OPENBLAS/OMP/MKL_NUM_THREADS for the benchmark processes "
                   "(default %(default)s; 'default' leaves them unset)")
    p.add_argument("--confirm", type=int, default=DEFAULT_CONFIRM,
                   help="measure the benchmarks of regressed rows this many more "
                   "times; a row regresses only if every measurement flags it "
                   "(default %(default)s; 0: believe the first)")
    p.add_argument("--show-stderr", action="store_true",
                   help="pass --show-stderr to asv continuous")
    args = p.parse_args(argv)
    if args.factor <= 1:
        p.error("--factor must be > 1")
    return args


def _fail(message):
    print(f"gate: {message}", file=sys.stderr)
    return 2


# --------------------------------------------------------------- asv pieces


def _load_conf(path):
    from asv import config

    return config.Config.load(path)


def _git_hash(conf, name):
    out = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
        cwd=conf.repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    if out.returncode != 0:
        raise SystemExit(_fail(f"{name!r} is not a commit of {conf.repo}"))
    return out.stdout.strip()


def _default_environment(conf):
    """One virtualenv environment: this Python if the matrix has it, newest numpy."""
    from asv import environment

    envs = [e for e in environment.get_environments(conf, None, verbose=False)
            if e.tool_name == "virtualenv"]
    if not envs:
        return None
    here = f"{sys.version_info.major}.{sys.version_info.minor}"

    def numpy_version(env):
        v = str(env.requirements.get("numpy", "") or "")
        return tuple(int(x) for x in re.findall(r"\d+", v)) or (0,)

    envs.sort(key=lambda e: (e.python == here, numpy_version(e)))
    return envs[-1].name


def _asv_env(blas_threads=None):
    """Environment for asv: a real interpreter before pyenv's shims on PATH.

    asv passes its environment on to every benchmark process: BLAS threads
    set here apply to both commits alike.
    """
    env = dict(os.environ)
    if blas_threads not in (None, "", "default"):
        for name in BLAS_VARIABLES:
            env[name] = str(blas_threads)
    real_bin = os.path.dirname(os.path.realpath(sys.executable))
    env["PATH"] = os.pathsep.join([real_bin, env.get("PATH", "")])
    return env


def _measure(args, base, head, env_name, bench=None):
    cmd = [sys.executable, "-m", "asv", "--config", args.config, "continuous",
           "--factor", str(args.factor), "--bench", bench or args.bench,
           "--interleave-rounds", "--no-only-changed"]
    if env_name:
        cmd += ["-E", env_name]
    if args.machine:
        cmd += ["--machine", args.machine]
    if args.rounds:
        cmd += ["-a", f"rounds={args.rounds}"]
    if args.repeat:
        cmd += ["-a", f"repeat={args.repeat}"]
    if args.show_stderr:
        cmd += ["--show-stderr"]
    cmd += [base, head]
    env = _asv_env(args.blas_threads)
    pinned = " ".join(f"{k}={env[k]}" for k in BLAS_VARIABLES if k in env)
    print(f"gate: {pinned} " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env).returncode


def _machines_with(conf, commits):
    from asv.machine import iter_machine_files
    from asv.results import iter_results_for_machine_and_hash
    from asv.util import load_json

    found = []
    for path in iter_machine_files(conf.results_dir):
        name = load_json(path)["machine"]
        if all(any(True for _ in iter_results_for_machine_and_hash(
                conf.results_dir, name, c)) for c in commits):
            found.append(name)
    return found


def _rows(conf, machine, commit, env_name, bench_re):
    """{(benchmark, N, workers, env): (value, stats, samples)} of one commit."""
    from asv.results import iter_results_for_machine_and_hash

    rows = {}
    for result in iter_results_for_machine_and_hash(conf.results_dir, machine, commit):
        if env_name and result.env_name != env_name:
            continue
        for key in result.get_all_result_keys():
            if not bench_re.search(key):
                continue
            params = result.get_result_params(key)
            values = result.get_result_value(key, params)
            stats = result.get_result_stats(key, params)
            samples = result.get_result_samples(key, params)
            combos = _product(params)
            for i, combo in enumerate(combos):
                n, workers = _n_workers(combo)
                rows[(key, n, workers, result.env_name)] = (
                    values[i], stats[i] if stats else None, samples[i] if samples else None,
                )
    return rows


def _product(params):
    import itertools

    return list(itertools.product(*params)) if params else [()]


def _n_workers(combo):
    def num(s):
        try:
            return int(float(str(s).strip("'\"")))
        except ValueError:
            return None

    n = num(combo[0]) if len(combo) > 0 else None
    workers = num(combo[1]) if len(combo) > 1 else None
    return n, workers


def _isna(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def _significant(before, after):
    """asv's test (asv compare's): do the two commits' samples differ?"""
    (v1, st1, s1), (v2, st2, s2) = before, after
    if not st1 or not st2:
        return True  # nothing to test with: the ratio decides
    if st1.get("repeat", 0) == 1 or st2.get("repeat", 0) == 1:
        return True  # one sample (--quick): asv compares on the ratio alone
    from asv import _stats

    return _stats.is_different(s1, s2, st1, st2)


def _fmt_time(t):
    if _isna(t):
        return "failed" if t is None else "n/a"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} s"


def _estimate(row, statistic):
    """The time of one commit's row: asv's value (median) or the fastest sample."""
    value, _stats_, samples = row
    if statistic == "min" and samples:
        clean = [x for x in samples if not _isna(x)]
        if clean:
            return min(clean)
    return value


def judge(conf, machine, base, head, env_name, bench_re, factor, min_n,
          statistic="min", use_stats=True):
    """Return (judged rows, regressed rows); each row is a dict.

    ``statistic="min"``: the fastest sample of each commit (over every
    round); noise from other jobs only adds time, so the minimum is the
    steadiest estimate of a call's cost on a shared machine.
    ``statistic="median"``: asv's value, plus asv's significance test
    unless ``use_stats`` is false (what ``asv compare`` does).
    """
    r1 = _rows(conf, machine, base, env_name, bench_re)
    r2 = _rows(conf, machine, head, env_name, bench_re)
    judged, regressed = [], []
    for key in sorted(set(r1) & set(r2), key=lambda k: (k[0], k[3], k[1] or 0, k[2] or 0)):
        name, n, workers, env = key
        if n is None or n < min_n:
            continue
        b, a = r1[key], r2[key]
        if _isna(b[0]):
            continue  # skipped or failed at BASE: nothing to compare with
        t1, t2 = _estimate(b, statistic), _estimate(a, statistic)
        row = {"benchmark": name, "N": n, "workers": workers, "env": env,
               "before": t1, "after": t2, "ratio": None, "reason": ""}
        if a[0] is None:
            row["reason"] = "fails at HEAD"
            row["after"] = None
            regressed.append(row)
        elif _isna(a[0]):
            continue  # skipped at HEAD (profile, missing feature)
        else:
            row["ratio"] = t2 / t1
            # With the fastest sample, asv's median must agree: a thread
            # hand-off is bimodal on these VMs (20 or 40+ us), and one
            # commit may draw a few fast samples that the other does not;
            # a real slowdown moves both statistics.
            median_agrees = statistic != "min" or _isna(a[0]) or _isna(b[0]) or (
                a[0] / b[0] > factor)
            if row["ratio"] > factor and median_agrees:
                if statistic == "min" or not use_stats or _significant(b, a):
                    row["reason"] = f"slower by more than {factor:g}x"
                    regressed.append(row)
                else:
                    row["reason"] = "over the factor, not significant (asv's test)"
        judged.append(row)
    return judged, regressed


def _row_key(row):
    return (row["benchmark"], row["N"], row["workers"], row["env"])


def _print_table(rows, title):
    print(title)
    header = ("benchmark", "N", "workers", "before", "after", "ratio", "")
    lines = [header] + [
        (r["benchmark"], f"{r['N']:.0e}".replace("e+0", "e"), str(r["workers"]),
         _fmt_time(r["before"]), _fmt_time(r["after"]),
         "-" if r["ratio"] is None else f"{r['ratio']:.2f}", r["reason"])
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())


def main(argv=None):
    args = _parse_args(argv)
    if shutil.which("git") is None:
        return _fail("git is not installed")
    try:
        bench_re = re.compile(args.bench)
    except re.error as exc:
        return _fail(f"--bench is not a regular expression: {exc}")
    if not os.path.isfile(args.config):
        return _fail(f"no {args.config} here: run the gate from the repository root")
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = _asv_env()["PATH"]  # environment discovery, as in asv itself
    try:
        conf = _load_conf(args.config)
        base, head = _git_hash(conf, args.base), _git_hash(conf, args.head)
        env_name = args.environment or _default_environment(conf)
    finally:
        os.environ["PATH"] = old_path
    # A spec such as "virtualenv:3.11" is not a name: results of every
    # environment it selects are judged.
    env_filter = env_name if env_name and ":" not in env_name else None

    rc = 0
    if not args.no_run:
        rc = _measure(args, base, head, env_name)
        if rc not in (0, 1):
            print(f"gate: asv continuous exited {rc} (a build or a benchmark failed?); "
                  "judging what it saved", file=sys.stderr)

    machines = [args.machine] if args.machine else _machines_with(conf, [base, head])
    if not machines:
        return _fail(f"no results saved for both {base[:8]} and {head[:8]} "
                     f"under {conf.results_dir}")
    if len(machines) > 1:
        return _fail(f"results of several machines ({', '.join(machines)}): "
                     "choose one with --machine")
    judged, regressed = judge(conf, machines[0], base, head, env_filter, bench_re,
                              args.factor, args.min_n, statistic=args.statistic,
                              use_stats=not args.no_stats)
    for attempt in range(0 if args.no_run else args.confirm):
        if not regressed:
            break
        flagged = {_row_key(row) for row in regressed}
        names = sorted({row["benchmark"] for row in regressed})
        print(f"\ngate: {len(flagged)} row(s) flagged; measuring "
              f"{', '.join(names)} again to confirm ({attempt + 1}/{args.confirm})",
              flush=True)
        alternatives = "|".join(re.escape(name) for name in names)
        # asv matches --bench against "name(param, ...)" for parametrized
        # benchmarks, the results against the bare name.
        rc_confirm = _measure(args, base, head, env_name,
                              bench=f"^({alternatives})(\\(|$)")
        if rc_confirm not in (0, 1):
            return _fail(f"asv continuous exited {rc_confirm} while confirming")
        again_judged, again = judge(conf, machines[0], base, head, env_filter,
                                    re.compile(f"^({alternatives})$"), args.factor,
                                    args.min_n,
                                    statistic=args.statistic,
                                    use_stats=not args.no_stats)
        again_keys = {_row_key(row) for row in again_judged}
        judged = [row for row in judged if _row_key(row) not in again_keys] + again_judged
        regressed = [row for row in again if _row_key(row) in flagged]
    print()
    print(f"gate: BASE {base[:8]} ({args.base}) -> HEAD {head[:8]} ({args.head}), "
          f"machine {machines[0]}, factor {args.factor:g} on the {args.statistic}, "
          f"N >= {args.min_n:g}, "
          f"benchmarks {args.bench!r}")
    if not judged:
        return _fail("no row to judge (no benchmark matched, or every size was "
                     "skipped: check --bench, --min-n and PARALLELDOT_BENCH_PROFILE)")
    _print_table(judged, f"{len(judged)} rows judged:")
    print()
    if regressed:
        _print_table(regressed, f"REGRESSED: {len(regressed)} of {len(judged)} rows "
                     f"got slower by more than {args.factor:g}x:")
        return 1
    if rc not in (0, 1):
        return _fail(f"asv continuous exited {rc}; no judged row regressed, but "
                     "the measurement is incomplete")
    print(f"gate: OK, no row slower by more than {args.factor:g}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
