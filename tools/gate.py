"""Regression gate: exit 1 when HEAD makes the futures split slower than BASE.

Usage::

    python tools/gate.py BASE HEAD [--factor 1.1] [--rounds 3] [--min-n 1e5]
                         [--bench REGEX] [-E ENVIRONMENT] [--machine NAME]
                         [--config asv.conf.json] [--no-run]

Run it from the repository root, where ``asv.conf.json`` is. BASE and HEAD
are any git names (``main``, ``HEAD~1``, a hash).

What is judged
--------------
A row is a split (``threads``, ``auto``, ``processes``), ``N`` (at least
``--min-n``), ``workers`` and ``dtype`` of ``bench_speedup.Speedup``: its
value is ``time(numpy.dot) / time(split)``, both timed in turn in one
benchmark process. Other jobs on the machine slow numpy.dot and the split
alike while they run side by side, so the ratio keeps what the package
changed and cancels most of the load; numpy.dot's code is the same at
BASE and HEAD (one environment), so a lower ratio at HEAD is a slower
split. The example's per-call pool (a control) and numpy.dot itself are
not judged: paralleldot cannot slow them down.

Raw times (``bench_dot.TimeDot``) are not what decides: on a 2-core
machine with another job running, one numpy.dot measured alone moved by
2 to 200 times between processes (a BLAS thread waiting for a core), which
no factor can tell from a regression.

How it measures
---------------
``--rounds`` times (default 3), ``asv run`` measures the rows at BASE and
HEAD in one environment, in alternating order (BASE, HEAD; HEAD, BASE;
...), each round in fresh benchmark processes, with the ``gate`` profile
(``PARALLELDOT_BENCH_PROFILE``: N 1e5 to 1e7, workers 1, 2, 4, float64 and
int32) and one BLAS thread per process (``OPENBLAS_NUM_THREADS=1`` etc.:
a BLAS thread that waits for a busy core was the largest noise seen;
``--blas-threads default`` turns this off). The gate keeps every round's
value (asv's results keep the last one).

How it decides
--------------
The statistic of a row is the median over the rounds of the ratio at each
commit, and its slowdown ``median(BASE) / median(HEAD)``. A row is

- *regressed* when the slowdown is larger than ``--factor`` (default 1.1)
  and than the row's spread, the larger of the two commits' ``max / min``
  of their rounds (each commit's slowest round left out): the change
  stands out of the noise;
- *OK* when the spread is at most the factor and so is the slowdown
  stretched by the spread (``slowdown x spread``): the rounds are tight
  enough to have shown a change of the factor, and even the slow end of
  what they allow stays within it;
- *noisy* otherwise: the rounds scatter more than the factor, or more than
  the slowdown, so that they cannot tell a change from noise either way.
  On 2 shared cores a benchmark process draws a fast or a slow thread
  placement and keeps it (threads 1e6 float64 with 2 workers: numpy.dot /
  split 0.41 or 0.64 by process, identical code), which no factor can
  tell from a change; more workers than cores and the process backend do
  that by 30 to 50%. Noisy rows are listed, not judged.

Regressed and noisy rows, and *borderline* OK rows (``slowdown x spread``
above the square root of the factor, 1.049 for 1.1: halfway to it), are
measured ``--rounds`` more times (``--confirm 1``) and judged again on all
their rounds: a slowdown that is real stays, a row whose rounds drew
unlucky placements does not, a noisy row may be decided by its new rounds,
and a real slowdown of about the factor that 3 rounds put under it is
measured on twice the rounds before it is called OK. Two CI runs showed
why both factors count: a 1.15x slowdown read as 1.08 with rounds 3%
apart (a260877), and one read as 1.03 with rounds 6% apart (23e18a3,
``auto`` with 2 workers, whose choice between numpy.dot and threads is a
near tie that each process draws anew). Rows that read faster than
``1 / sqrt(factor)`` are measured again as well: in the gate experiment at
03f75f6 a 1.3x slowdown of ``auto`` with 4 workers (1e7 float64) read as a
1.25x speedup, its HEAD rounds 1.24, 1.26 and 0.72 (two processes chose
the threads split, one numpy.dot).

Exit status
-----------
0: no row regressed (noisy rows are listed); 1: at least one row
regressed (each is printed with split, N, workers, dtype, the ratio before
and after, the slowdown and the spread); 2: the gate could not decide
(unknown commit, asv failed before measuring, no row to judge, every row
noisy).
"""

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

#: The benchmark whose rows are judged, and the splits judged.
BENCHMARK = "bench_speedup.Speedup.track_speedup"
SPLITS = ("threads", "auto", "processes")
DEFAULT_BENCH = rf"^{re.escape(BENCHMARK)}\('({'|'.join(SPLITS)})'"
DEFAULT_FACTOR = 1.1
DEFAULT_MIN_N = 1e5
DEFAULT_ROUNDS = 3
DEFAULT_CONFIRM = 1
DEFAULT_PROFILE = "gate"
DEFAULT_BLAS_THREADS = "1"
PROFILE_ENV = "PARALLELDOT_BENCH_PROFILE"
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog="tools/gate.py",
        description="Exit 1 when HEAD makes the futures split slower than BASE, judged "
        "on numpy.dot time / split time measured side by side.",
    )
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
    args = p.parse_args(argv)
    if args.factor <= 1:
        p.error(f"--factor must be > 1, got {args.factor}")
    if args.rounds < 1:
        p.error(f"--rounds must be >= 1, got {args.rounds}")
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


def _asv_env(args=None):
    """Environment for asv: a real interpreter before pyenv's shims on PATH.

    asv passes its environment on to every benchmark process: the profile
    and the BLAS threads set here apply to both commits alike.
    """
    env = dict(os.environ)
    if args is not None:
        env[PROFILE_ENV] = args.profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        if args.blas_threads not in (None, "", "default"):
            for name in BLAS_VARIABLES:
                env[name] = str(args.blas_threads)
    real_bin = os.path.dirname(os.path.realpath(sys.executable))
    env["PATH"] = os.pathsep.join([real_bin, env.get("PATH", "")])
    return env


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
    shown = " ".join(f"{k}={env[k]}" for k in (PROFILE_ENV, *BLAS_VARIABLES) if k in env)
    print(f"gate: {shown} asv run --bench {bench!r} {' '.join(c[:8] for c in order)}",
          flush=True)
    try:
        return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True).returncode
    finally:
        os.unlink(hashfile)


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


def _point(names, combo):
    return {k: v.strip("'\"") for k, v in zip(names, combo)}


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
        if BENCHMARK not in result.get_all_result_keys():
            continue
        params = result.get_result_params(BENCHMARK)
        values = result.get_result_value(BENCHMARK, params)
        names = ["impl", "N", "workers", "dtype"]
        for combo, value in zip(itertools.product(*params), values):
            if not bench_re.search(f"{BENCHMARK}({', '.join(combo)})"):
                continue
            p = _point(names, combo)
            n = int(p["N"])
            if n < min_n:
                continue
            rows[(p["impl"], n, int(p["workers"]), p["dtype"], result.env_name)] = value
    return rows


def _isna(x):
    return x is None or (isinstance(x, float) and x != x)


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
    parts = [
        rf"^{re.escape(BENCHMARK)}\('{re.escape(r['split'])}', {r['N']}, {r['workers']}, "
        rf"'{re.escape(r['dtype'])}'\)$"
        for r in rows
    ]
    return "|".join(parts)


def _print_table(rows, title):
    print(title)
    header = ("split", "N", "workers", "dtype", "before", "after", "slowdown", "spread",
              "rounds", "")
    lines = [header] + [
        (r["split"], f"{r['N']:.0e}".replace("e+0", "e"), str(r["workers"]), r["dtype"],
         "-" if r["before"] is None else f"{r['before']:.3g}",
         "failed" if r["after"] is None else f"{r['after']:.3g}",
         "-" if r["slowdown"] is None else f"{r['slowdown']:.2f}",
         "-" if r["spread"] is None else f"{r['spread']:.2f}",
         f"{r['rounds'][0]}+{r['rounds'][1]}", r["reason"])
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())


def _collect(args, conf, machine, base, head, env_filter, env_name, bench, rounds, samples):
    """Run ``rounds`` alternating rounds of ``bench``; add each round's values to ``samples``."""
    bench_re = re.compile(bench)
    for r in range(rounds):
        order = [base, head] if r % 2 == 0 else [head, base]
        rc = _measure(args, order, env_name, bench)
        if rc not in (0, 2):
            return rc
        found = None
        for name in [machine] if machine else _machines_with(conf, [base, head]):
            found = name
        if found is None:
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
    import json

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


def main(argv=None):
    args = _parse_args(argv)
    if shutil.which("git") is None:
        return _fail("git is not installed")
    try:
        re.compile(args.bench)
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

    samples = {}
    if args.no_run:
        machines = [args.machine] if args.machine else _machines_with(conf, [base, head])
        if len(machines) != 1:
            return _fail(f"results of machines {machines or 'none'} for both commits: "
                         "choose one with --machine")
        bench_re = re.compile(args.bench)
        b = read_rows(conf, machines[0], base, env_filter, bench_re, args.min_n)
        h = read_rows(conf, machines[0], head, env_filter, bench_re, args.min_n)
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


if __name__ == "__main__":
    sys.exit(main())
