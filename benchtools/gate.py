"""Regression gate: exit 1 when HEAD makes the futures split slower than BASE.

Usage, from the repository root (where ``asv.conf.json`` is)::

    python -m benchtools gate BASE HEAD [--factor 1.1] [--rounds 3] [--min-n 1e5]
                              [--bench REGEX] [-E ENVIRONMENT] [--machine NAME]
                              [--no-run] [--save FILE]

BASE and HEAD are any git names (``main``, ``HEAD~1``, a hash). A row is a
split (``threads``, ``auto``, ``processes``), ``N``, ``workers`` and
``dtype`` of ``bench_speedup.Speedup.track_speedup``: ``time(numpy.dot) /
time(split)``, both timed in turn in one benchmark process, so that load on
the machine cancels and a lower ratio at HEAD is a slower split. Each of
``--rounds`` rounds runs asv at both commits in alternating order, in fresh
benchmark processes, with the ``gate`` profile and one BLAS thread per
process; :func:`judge` and :func:`to_confirm` decide. The rule, why it is
so, and what it was measured to detect: ``docs/gate.md``.

Exit status: 0, no row regressed (noisy rows are listed); 1, at least one
row regressed; 2, the gate could not decide (unknown commit, asv failed
before measuring, no row to judge, every row noisy).
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchmarks.common import BLAS_THREAD_VARIABLES, PROFILE_ENV, SPLITS

from . import _asv, _fmt, _git

#: The benchmark whose rows are judged (its ``impl`` parameter is the split).
BENCHMARK = "bench_speedup.Speedup.track_speedup"
#: Its parameters, in asv's order.
PARAM_NAMES = ["impl", "N", "workers", "dtype"]
DEFAULT_BENCH = rf"^{re.escape(BENCHMARK)}\('({'|'.join(SPLITS)})'"
DEFAULT_FACTOR = 1.1
DEFAULT_MIN_N = 1e5
DEFAULT_ROUNDS = 3
DEFAULT_CONFIRM = 1
DEFAULT_PROFILE = "gate"
DEFAULT_BLAS_THREADS = "1"


def build_parser(p):
    """Add the gate's arguments to the (sub-)parser ``p``."""
    p.add_argument("base", help="the reference commit (any git name)")
    p.add_argument("head", help="the commit under test (any git name)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help="flag a row when its ratio at BASE / at HEAD exceeds this "
                   "(default %(default)s)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                   help="measurements of each commit, alternating (default %(default)s)")
    p.add_argument("--confirm", type=int, default=DEFAULT_CONFIRM,
                   help="measure flagged, noisy and borderline rows this many more "
                   "times --rounds rounds (default %(default)s; 0: believe the first)")
    p.add_argument("--min-n", type=float, default=DEFAULT_MIN_N,
                   help="judge only rows with N >= this (default %(default)g)")
    p.add_argument("--bench", "-b", default=DEFAULT_BENCH,
                   help="asv regex of the rows to run and judge (default %(default)r)")
    p.add_argument("--profile", default=None,
                   help=f"{PROFILE_ENV} for the run (default: the variable if set, "
                   f"else {DEFAULT_PROFILE!r})")
    p.add_argument("--environment", "-E", default=None,
                   help="asv environment (name or spec); default: one virtualenv "
                   "environment of the matrix, with this Python and the newest numpy")
    p.add_argument("--machine", default=None, help="asv machine name")
    p.add_argument("--config", default="asv.conf.json", help="asv configuration file")
    p.add_argument("--no-run", action="store_true",
                   help="do not measure: judge the values asv saved for both commits "
                   "(one per commit)")
    p.add_argument("--blas-threads", default=DEFAULT_BLAS_THREADS,
                   help="OPENBLAS/OMP/MKL_NUM_THREADS of the benchmark processes "
                   "(default %(default)s; 'default' leaves them unset)")
    p.add_argument("--show-stderr", action="store_true", help="pass --show-stderr to asv run")
    p.add_argument("--save", metavar="FILE", default=None,
                   help="write every row's values of every round, and the verdicts, as JSON")


def _check_args(args):
    """The message of the first invalid option, or None."""
    if args.factor <= 1:
        return f"--factor must be > 1, got {args.factor}"
    if args.rounds < 1:
        return f"--rounds must be >= 1, got {args.rounds}"
    return None


def _fail(message):
    print(f"gate: {message}", file=sys.stderr)
    return 2


# --------------------------------------------------------------- asv pieces


def _commit(conf, name):
    """The full hash of ``name`` in asv's repository; exits 2 when it names no commit."""
    full = _git.rev_parse(name, cwd=conf.repo)
    if full is None:
        raise SystemExit(_fail(f"{name!r} is not a commit of {conf.repo}"))
    return full


def _asv_env(args):
    """The environment of the gate's ``asv run``: the profile and the BLAS cap, for both commits."""
    extra = {PROFILE_ENV: args.profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE}
    if args.blas_threads not in (None, "", "default"):
        extra.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(args.blas_threads)))
    return _asv.subprocess_env(extra)


def _measure(args, order, env_name, bench):
    """One ``asv run`` of ``bench`` at the commits of ``order``; its exit status."""
    handle, hashfile = tempfile.mkstemp(prefix="gate-", suffix=".txt")
    with os.fdopen(handle, "w") as f:
        f.write("".join(f"{c}\n" for c in order))
    cmd = [sys.executable, "-m", "asv", "--config", args.config, "run",
           "--bench", bench, f"HASHFILE:{hashfile}"]
    if env_name:
        cmd += ["-E", env_name]
    if args.machine:
        cmd += ["--machine", args.machine]
    if args.show_stderr:
        cmd += ["--show-stderr"]
    env = _asv_env(args)
    shown = " ".join(f"{k}={env[k]}" for k in (PROFILE_ENV, *BLAS_THREAD_VARIABLES) if k in env)
    print(f"gate: {shown} asv run --bench {bench!r} {' '.join(c[:8] for c in order)}",
          flush=True)
    try:
        return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True).returncode
    finally:
        os.unlink(hashfile)


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


def _asv_name(point):
    """asv's name of a row: ``bench_speedup.Speedup.track_speedup('threads', 100000, 2, 'int32')``."""
    return (f"{BENCHMARK}('{point['impl']}', {point['N']}, {point['workers']}, "
            f"'{point['dtype']}')")


def _isna(x):
    return not _fmt.ok(x)


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
        base = [v for v in base if not _isna(v)]
        if not base:
            continue  # skipped or failed at BASE: nothing to compare with
        row["before"] = statistics.median(base)
        if any(v is None for v in head):
            row["reason"] = "fails at HEAD"
            regressed.append(row)
        elif not head or all(_isna(v) for v in head):
            continue  # skipped at HEAD
        else:
            head = [v for v in head if not _isna(v)]
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


def to_confirm(judged, regressed, noisy, factor):
    """Rows to measure again: regressed, noisy, and borderline OK rows.

    An OK row is borderline when its slowdown stretched by its spread
    (``slowdown x spread``) is more than halfway, on a log scale, to the
    factor (``sqrt(factor)``): it may be a real slowdown of about the factor
    that its first rounds read low; its new rounds decide. An OK row that
    reads *faster* at HEAD by more than ``sqrt(factor)`` is measured again
    too: a split whose value flips between two modes from one benchmark
    process to the next (``auto`` choosing numpy.dot in one and threads in
    another) can show a real slowdown as a speedup on three rounds, with its
    one round in the slow mode left out of the spread. Rows are returned in
    ``judged``'s order.
    """
    undecided = {_key(r) for r in regressed + noisy}
    return [r for r in judged
            if _key(r) in undecided
            or (r["slowdown"] is not None
                and (r["slowdown"] * r["spread"] > factor ** 0.5
                     or r["slowdown"] < factor ** -0.5))]


def _key(row):
    """The key of a row in the samples: split, N, workers, dtype, environment."""
    return row["split"], row["N"], row["workers"], row["dtype"], row["env"]


def _row_regex(rows):
    """An asv --bench regex selecting exactly these rows."""
    return "|".join(
        "^" + re.escape(_asv_name({"impl": r["split"], "N": r["N"], "workers": r["workers"],
                                   "dtype": r["dtype"]})) + "$"
        for r in rows)


def _print_table(rows, title):
    print(title)
    header = ("split", "N", "workers", "dtype", "before", "after", "slowdown", "spread",
              "rounds", "")
    print(_fmt.plain(header, [
        (r["split"], _fmt.size(r["N"]), r["workers"], r["dtype"],
         "-" if r["before"] is None else f"{r['before']:.3g}",
         "failed" if r["after"] is None else f"{r['after']:.3g}",
         "-" if r["slowdown"] is None else f"{r['slowdown']:.2f}",
         "-" if r["spread"] is None else f"{r['spread']:.2f}",
         f"{r['rounds'][0]}+{r['rounds'][1]}", r["reason"])
        for r in rows]))


def _collect(args, conf, machine, base, head, env_filter, env_name, bench, rounds, samples):
    """Run ``rounds`` alternating rounds of ``bench``; add each round's values to ``samples``."""
    bench_re = re.compile(bench)
    for r in range(rounds):
        order = [base, head] if r % 2 == 0 else [head, base]
        rc = _measure(args, order, env_name, bench)
        if rc not in (0, 2):
            return rc
        try:
            found = _asv.choose_machine(conf.results_dir, machine, [base, head])
        except SystemExit:
            return 2
        b = read_rows(conf, found, base, env_filter, bench_re, args.min_n)
        h = read_rows(conf, found, head, env_filter, bench_re, args.min_n)
        for key in set(b) | set(h):
            pair = samples.setdefault(key, ([], []))
            if key in b:
                pair[0].append(b[key])
            if key in h:
                pair[1].append(h[key])
    return 0


def _save(path, base, head, args, samples, judged, regressed, noisy):
    """Write the rounds and the verdicts to ``path`` (JSON), for experiments."""
    def name(key):
        return "/".join(str(k) for k in key[:4])

    data = {
        "base": base, "head": head, "factor": args.factor, "rounds": args.rounds,
        "samples": {name(k): {"base": b, "head": h} for k, (b, h) in samples.items()},
        "judged": [dict(r, rounds=list(r["rounds"])) for r in judged],
        "regressed": [name(_key(r)) for r in regressed],
        "noisy": [name(_key(r)) for r in noisy],
    }
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def main(args):
    """Run the gate for the parsed ``args``; return the exit status (0, 1 or 2)."""
    problem = _check_args(args)
    if problem:
        return _fail(problem)
    if shutil.which("git") is None:
        return _fail("git is not installed")
    try:
        re.compile(args.bench)
    except re.error as exc:
        return _fail(f"--bench is not a regular expression: {exc}")
    if not os.path.isfile(args.config):
        return _fail(f"no {args.config} here: run the gate from the repository root")
    conf = _asv.load_config(args.config)
    try:
        base, head = _commit(conf, args.base), _commit(conf, args.head)
    except SystemExit as exc:
        return exc.code
    env_name = args.environment or _asv.default_environment(conf)
    # A spec such as "virtualenv:3.11" is not a name: results of every
    # environment it selects are judged.
    env_filter = env_name if env_name and ":" not in env_name else None

    samples = {}
    if args.no_run:
        try:
            machine = _asv.choose_machine(conf.results_dir, args.machine, [base, head])
        except SystemExit as exc:
            return _fail(str(exc))
        bench_re = re.compile(args.bench)
        b = read_rows(conf, machine, base, env_filter, bench_re, args.min_n)
        h = read_rows(conf, machine, head, env_filter, bench_re, args.min_n)
        samples = {k: ([b[k]], [h[k]] if k in h else []) for k in b}
    else:
        rc = _collect(args, conf, args.machine, base, head, env_filter, env_name,
                      args.bench, args.rounds, samples)
        if rc != 0:
            return _fail(f"asv run exited {rc} (a build failed?) or left no results")
    judged, regressed, noisy = judge(samples, args.factor)
    for attempt in range(0 if args.no_run else args.confirm):
        undecided = to_confirm(judged, regressed, noisy, args.factor)
        if not undecided:
            break
        borderline = len(undecided) - len(regressed) - len(noisy)
        print(f"\ngate: {len(regressed)} row(s) flagged, {len(noisy)} noisy, {borderline} OK "
              f"but with slowdown x spread above {args.factor ** 0.5:.3f}x; measuring them {args.rounds} more "
              f"times ({attempt + 1}/{args.confirm})", flush=True)
        again_keys = {_key(r) for r in undecided}
        rc = _collect(args, conf, args.machine, base, head, env_filter, env_name,
                      _row_regex(undecided), args.rounds, samples)
        if rc != 0:
            return _fail(f"asv run exited {rc} while confirming")
        again_judged, regressed, noisy = judge({k: samples[k] for k in again_keys}, args.factor)
        judged = [r for r in judged if _key(r) not in again_keys] + again_judged
    if args.save:
        _save(args.save, base, head, args, samples, judged, regressed, noisy)
    print()
    print(f"gate: BASE {base[:8]} ({args.base}) -> HEAD {head[:8]} ({args.head}): "
          f"numpy.dot time / split time, median of the rounds, factor {args.factor:g}, "
          f"N >= {args.min_n:g}")
    if not judged:
        return _fail("no row to judge (no benchmark matched, or every point was "
                     "skipped: check --bench, --min-n and the profile)")
    judged.sort(key=lambda r: (r["split"], r["dtype"], r["N"], r["workers"]))
    _print_table(judged, f"{len(judged)} rows judged (before, after: numpy.dot time / split "
                 "time, median of the rounds; slowdown: before / after; spread: of the rounds "
                 "of a commit, its slowest round left out):")
    print()
    if noisy:
        _print_table(noisy, f"NOISY: {len(noisy)} of {len(judged)} rows whose rounds spread "
                     f"more than {args.factor:g}x or than their slowdown: not judged "
                     "(more --rounds, or an idle machine, may decide them):")
        print()
    if regressed:
        _print_table(regressed, f"REGRESSED: {len(regressed)} of {len(judged)} rows got "
                     f"slower by more than {args.factor:g}x and their spread:")
        return 1
    if len(noisy) == len(judged):
        return _fail("every row is noisy: nothing could be decided")
    print(f"gate: OK, no row slower by more than {args.factor:g}x"
          + (f" ({len(noisy)} noisy rows not judged)" if noisy else ""))
    return 0

