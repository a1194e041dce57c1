"""The main command's history: which commits, an asv run a person can follow, the noise floor.

Usage (``scripts/bench.sh`` runs ``run``; it also sets up the environment)::

    python -m benchtools history commits            # the commits measured, with what each brought
    python -m benchtools history run -E ENV [-E ENV] [ASV RUN ARGS...]
    python -m benchtools history spread [--env PART] [--machine NAME]
    python -m benchtools history changes [--env PART] [--machine NAME] [--html PATH]
    python -m benchtools history check              # set aside result files asv cannot read
    python -m benchtools history drift [--seconds 60] [--sizes 1e5 1e6 1e7]

Which commits
-------------
``benchmarks/milestones.txt`` (or the file named by ``PARALLELDOT_MILESTONES``) lists one commit per backend's arrival and per
performance change of the package, oldest first. Every later commit on the
first-parent line of HEAD that changes ``paralleldot/`` or
``pyproject.toml`` is added, so the history grows by the new commits only:
what was measured stays (``asv run --skip-existing``) and a rerun with no
new commit measures nothing. Commits that change neither (documentation,
the suite, tools) would measure the same package again. With a commit
range among the ASV RUN ARGS (``NEW``, ``A..B``, ``HASHFILE:f``, a hash),
that range is run instead.

What it prints
--------------
asv's own output goes to ``results/history.log``. The terminal gets one line
per commit and environment as it starts (``[3/14] 65b19cb one BLAS thread
per chunk | py3.10-numpy1.26.4``), how many remain, the time taken, and
the output of any benchmark that failed. Skipped parameter combinations
(a backend that a commit does not have yet) are results, not news: they
stay in the log.

Killed at any moment
--------------------
asv saves one result file per commit and environment, after all its
benchmarks ran; ``run`` has asv write it atomically (:mod:`benchtools._atomic`),
so a kill (Ctrl-C, SIGKILL) loses the commit and environment in flight and
nothing else, and a rerun measures what is missing. Before it runs asv,
``run`` sets aside any result file that does not parse (``check``: renamed
``*.json.unreadable``, named on the terminal), which asv would otherwise stop
on when it measures that commit again.

The noise floor
---------------
``numpy.dot`` and the example's per-call pool do not depend on the package:
across the commits their times should only move with the machine. ``spread``
prints, per ``N`` >= 1e5 at the largest worker count of the profile,
float64, for each environment, the largest over the smallest of those
times across the commits with results: the smallest change between
commits that the history graphs can show.

``drift`` measures what part of that floor is the machine's own: it times
float64 ``numpy.dot`` back to back in one process, on the same vectors,
for ``--seconds`` per N, and prints the largest over the smallest median of
consecutive windows of 0.5 to 20 seconds. Nothing changes between those
windows but the moment: a control series whose points are measured over
as long a span, each in one window, moves at least that much between
commits, however its points are measured.
"""

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from benchmarks.common import NUMPY_DOT, PER_CALL_POOL

from . import _asv, _fmt, _git
from ._git import ROOT

#: Environment variable naming another milestones file (tests use a short one).
MILESTONES_ENV = "PARALLELDOT_MILESTONES"
MILESTONES = os.path.join(ROOT, "benchmarks", "milestones.txt")
#: Paths whose changes make a commit worth measuring.
PACKAGE_PATHS = ("paralleldot", "pyproject.toml")
#: How many package commits newer than the newest milestone a run adds (the
#: newest ones): the first run's time stays bounded, and a new commit is
#: always among them.
NEWER = 1
LOG_NAME = "history.log"
#: The benchmark that times numpy.dot beside the splits: one of its ``impl`` values is a control.
SIDE_BY_SIDE = "bench_dot.TimeDot.time_dot"
#: The control series: benchmark -> the implementation it is (None: its ``impl`` parameter).
CONTROL_BENCHMARKS = {SIDE_BY_SIDE: None,
                      "bench_dot.PerCallPool.time_per_call_pool": PER_CALL_POOL}
CONTROLS = (NUMPY_DOT, PER_CALL_POOL)


def control_impl(name, impl=None):
    """The control that benchmark ``name`` measures at parameter ``impl``, or None.

    ``impl`` is the point's ``impl`` value (unquoted), for a benchmark that
    has one; a point of any other series gives None.
    """
    if name not in CONTROL_BENCHMARKS:
        return None
    control = CONTROL_BENCHMARKS[name] or impl
    return control if control in CONTROLS else None

#: asv run options that take a value (to find a commit range among the arguments).
_VALUED = {"-b", "--bench", "-a", "--attribute", "-E", "--environment", "--python",
           "-m", "--machine", "-s", "--steps", "--date-period", "--cpu-affinity",
           "--set-commit-hash", "--launch-method", "--config"}
#: asv run options whose value is optional (an integer when given).
_OPTIONAL_VALUE = {"-j", "--parallel"}


# --- which commits ----------------------------------------------------------------


def milestones_path():
    """The milestones file: ``PARALLELDOT_MILESTONES`` or ``benchmarks/milestones.txt``."""
    return os.environ.get(MILESTONES_ENV) or MILESTONES


def read_milestones(path=None):
    """``[(full hash, label)]`` from the milestones file, oldest first.

    Raises ``SystemExit`` naming a line whose commit is not in this repository.
    """
    path = path or milestones_path()
    milestones = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, label = line.partition(" ")
            try:
                full = _git.git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").strip()
            except subprocess.CalledProcessError:
                raise SystemExit(f"{path}:{number}: {name!r} is not a commit of this "
                                 "repository (a shallow clone? fetch the whole history)") from None
            milestones.append((full, label.strip()))
    return milestones


def history(path=None):
    """``[(hash, label)]``: the milestones, then the newest package commit(s), oldest first.

    "Newer" is what the newest milestone (the file's last line) does not
    contain: the commits of ``<newest milestone>..HEAD`` on the first-parent
    line that change the package; the :data:`NEWER` newest of them are kept.
    """
    milestones = read_milestones(path)
    known = {h for h, _ in milestones}
    since = f"{milestones[-1][0]}..HEAD" if milestones else "HEAD"
    later = [h for h in _git.git("rev-list", "--first-parent", "--reverse", since,
                             "--", *PACKAGE_PATHS).split() if h not in known][-NEWER:]
    subjects = _git.subjects(later)
    return milestones + [(h, subjects.get(h, "")[:60]) for h in later]


def _has_range(asv_args):
    """Whether the asv run arguments hold a positional commit range."""
    skip = optional = False
    for arg in asv_args:
        if skip or (optional and arg.isdigit()):
            skip = optional = False
            continue
        skip, optional = arg in _VALUED, arg in _OPTIONAL_VALUE
        if not arg.startswith("-"):
            return True
    return False


def build_parallel(asv_args, envs):
    """``["--parallel=K"]``: build the environments of a commit side by side, or ``[]``.

    asv sets up the environments, and builds and installs each commit in
    them, before it runs that commit's benchmarks; with ``--parallel`` it
    does that for all environments at once (one process each), then
    benchmarks them one after the other, so no measurement shares the
    machine with a build. K is the number of environments, at most the
    number of cores; nothing is added when the arguments choose
    (``-j``/``--parallel``) or when there is one environment.
    """
    if any(a.startswith(("-j", "--parallel")) for a in asv_args):
        return []
    k = min(len(envs), os.cpu_count() or 1)
    return [f"--parallel={k}"] if k > 1 else []


# --- asv, with a progress a person can follow ---------------------------------------


def _measured(results_dir, machine, pairs, bench=()):
    """The (commit, environment) pairs whose results hold every benchmark at its version.

    ``bench``: the ``--bench`` regular expressions of the run (asv's
    ``re.search`` on the name); only those benchmarks count then.
    """
    try:
        benchmarks = _asv.load_benchmarks(results_dir)
    except ValueError:
        benchmarks = None
    if benchmarks is None:
        return set()
    if bench:
        benchmarks = {k: b for k, b in benchmarks.items() if any(re.search(r, k) for r in bench)}
    from asv.results import get_filename

    done = set()
    for commit, env in pairs:
        path = os.path.join(results_dir, get_filename(machine, commit, env))
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        columns = data.get("result_columns", [])
        if "version" not in columns:
            continue
        at = columns.index("version")
        versions = {k: v[at] for k, v in data.get("results", {}).items()}
        if all(versions.get(k) == b.get("version") for k, b in benchmarks.items()):
            done.add((commit, env))
    return done


def _environments(asv_args):
    """Names of the asv environments selected by the -E arguments (asv's own resolution)."""
    conf = _asv.load_config(os.path.join(ROOT, _asv.CONFIG))
    specs = [a.split("=", 1)[1] for a in asv_args if a.startswith("--environment=")]
    specs += [b for a, b in zip(asv_args, asv_args[1:]) if a in ("-E", "--environment")]
    return _asv.environment_names(conf, specs), conf


def _bench_regexes(asv_args):
    """The ``-b``/``--bench`` values among the asv run arguments."""
    found = [a.split("=", 1)[1] for a in asv_args if a.startswith("--bench=")]
    found += [b for a, b in zip(asv_args, asv_args[1:]) if a in ("-b", "--bench")]
    return found


def _machine_name(asv_args):
    for a, b in zip(asv_args, asv_args[1:]):
        if a in ("-m", "--machine"):
            return b
    from asv.machine import Machine

    return Machine.get_unique_machine_name()


def run(asv_args, log_dir=None):
    """Run ``asv run`` over the history (or the range in ``asv_args``); return its exit status."""
    started = time.monotonic()
    envs, conf = _environments(asv_args)
    log_dir = log_dir or conf.results_dir
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, LOG_NAME)
    print_checked(check_results(conf.results_dir))
    labels = {}
    extra = []
    if _has_range(asv_args):
        planned = None
        print(f"history: the range given ({' '.join(a for a in asv_args if not a.startswith('-'))})"
              f" in {len(envs)} environment(s)", flush=True)
    else:
        commits = history()
        labels = {h: label for h, label in commits}
        machine = _machine_name(asv_args)
        pairs = list(itertools.product([h for h, _ in commits], envs))
        done = _measured(conf.results_dir, machine, pairs, _bench_regexes(asv_args))
        planned = len(pairs) - len(done)
        handle, hashfile = tempfile.mkstemp(prefix="paralleldot-history-", suffix=".txt")
        with os.fdopen(handle, "w") as f:
            f.write("".join(f"{h}\n" for h, _ in commits))
        extra = [f"HASHFILE:{hashfile}", "--skip-existing"]
        print(f"history: {len(commits)} commits x {len(envs)} environments "
              f"({', '.join(_asv.short_env(e) for e in envs)}); "
              f"{len(done)} already measured, {planned} to run", flush=True)
    print(f"history: asv's output goes to {os.path.relpath(log_path)}", flush=True)
    # asv through benchtools._atomic: its result files are written atomically.
    cmd = [sys.executable, "-m", "benchtools._atomic", "run", "--show-stderr",
           *build_parallel(asv_args, envs), *asv_args, *extra]
    try:
        status = _follow(cmd, log_path, labels, planned, started)
    finally:
        if extra:
            os.unlink(extra[0].split(":", 1)[1])
    return status


# --- result files asv cannot read -----------------------------------------------

#: The suffix given to a result file that does not parse (asv reads ``*.json`` only).
UNREADABLE_SUFFIX = ".unreadable"


def check_results(results_dir):
    """Set aside the JSON files of ``results_dir`` that do not parse; return what was done.

    A truncated result file (a run killed while asv wrote it, before
    :mod:`benchtools._atomic`) makes ``asv run`` stop when it measures that
    commit and environment again; an unreadable ``benchmarks.json`` stops
    ``asv publish``. Each is renamed ``<name>.json.unreadable`` (numbered if
    that exists): asv then measures that commit and environment again, and
    the bytes stay for a person to look at. Temporary files of an atomic
    write that never finished (``*.partial``) are removed.

    Returns
    -------
    list of (str, str)
        ``(path, what happened)`` per file set aside or removed.
    """
    from ._atomic import PARTIAL_SUFFIX

    done = []
    if not os.path.isdir(results_dir):
        return done
    for root, _, files in os.walk(results_dir):
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith(PARTIAL_SUFFIX):
                os.unlink(path)
                done.append((path, "removed (an unfinished write)"))
                continue
            if not name.endswith(".json"):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    json.load(f)
                continue
            except ValueError:  # JSONDecodeError, UnicodeDecodeError
                pass
            except OSError:
                continue
            target = path + UNREADABLE_SUFFIX
            number = 1
            while os.path.exists(target):
                number += 1
                target = f"{path}{UNREADABLE_SUFFIX}.{number}"
            os.replace(path, target)
            done.append((path, f"does not parse as JSON: set aside as {os.path.basename(target)}"))
    return done


def print_checked(done):
    for path, what in done:
        print(f"history: {os.path.relpath(path)} {what}", flush=True)
    if any(what.startswith("does not parse") for _, what in done):
        print("history: the commits and environments of those files will be measured again",
              flush=True)


def _follow(cmd, log_path, labels, planned, started):
    """Run ``cmd``, write its output to ``log_path``, print one line per commit x environment.

    Ctrl-C (SIGINT) reaches asv too (the terminal sends it to the whole
    process group; it is passed on when only this process got it): asv stops
    without saving the commit and environment in flight, and this returns 130.
    """
    commit = None
    count = 0
    failed = []
    block = None  # lines of a failed benchmark, until the next benchmark line
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                found = re.search(r"For \S+ commit ([0-9a-f]{6,})", line)
                if found:
                    commit = found.group(1)
                    continue
                found = re.search(r"·· (Building for|Benchmarking) (\S+)", line)
                if found and found.group(1) == "Benchmarking":
                    count += 1
                    label = next((v for k, v in labels.items() if commit and k.startswith(commit)), "")
                    total = f"/{planned}" if planned else ""
                    minutes, seconds = divmod(int(time.monotonic() - started), 60)
                    print(f"[{count:>2}{total} {minutes:2d}:{seconds:02d}] {commit[:8] if commit else '?'}"
                          f" {label[:44]:<44} | {_asv.short_env(found.group(2))}", flush=True)
                    continue
                found = re.search(r"··· (\S+)\s+failed\s*$", line)
                if found:
                    failed.append(f"{commit[:8] if commit else '?'} {found.group(1)}")
                    block = [line.rstrip()]
                    continue
                if block is not None:
                    if re.search(r"··· \S+\s+(ok|failed|skipped)\s*$", line) or "·· Benchmarking" in line:
                        _show_failure(block, log_path)
                        block = None
                    else:
                        block.append(line.rstrip())
            status = proc.wait()
        except KeyboardInterrupt:
            status = _interrupt(proc, log)
            print(f"history: interrupted; asv exited {status}. What was measured is kept: "
                  "run the same command again to measure the rest", flush=True)
            return 130
    if block:
        _show_failure(block, log_path)
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    print(f"history: {count} commit x environment run(s) in {minutes} min {seconds:02d} s; "
          f"asv exited {status}" + (f"; failed: {', '.join(failed)}" if failed else ""),
          flush=True)
    return status


def _interrupt(proc, log, grace=30):
    """Pass SIGINT on to asv, log the rest of its output, wait for it (kill it after ``grace`` s)."""
    import signal

    try:
        rest, _ = proc.communicate(timeout=2)  # it got the terminal's SIGINT too
        log.write(rest or "")
        return proc.returncode
    except subprocess.TimeoutExpired:
        pass
    try:
        proc.send_signal(signal.SIGINT)
    except OSError:
        pass
    try:
        rest, _ = proc.communicate(timeout=grace)
        log.write(rest or "")
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        proc.kill()
        proc.wait()
    return proc.returncode


def _show_failure(block, log_path, lines=12):
    """The first lines of a failed benchmark's output, its last line, and where the rest is."""
    shown = block if len(block) <= lines else block[: lines - 1] + ["  ...", block[-1]]
    print("\n".join(shown) + f"\n  (all of it in {os.path.relpath(log_path)})", flush=True)


# --- the noise floor ------------------------------------------------------------


def spread(results_dir, machine=None, env_part=None, min_n=10**5):
    """``{(env, impl, N): (largest / smallest, commits, workers)}`` of the control series.

    numpy.dot (``bench_dot.TimeDot``, float64) and the example's per-call
    pool (``bench_dot.PerCallPool``), at the largest worker count measured,
    over every commit of the machine with a value for ``N``.
    """
    import asv.results

    benchmarks = _asv.load_benchmarks(results_dir)
    if benchmarks is None:
        return {}
    machine = _asv.choose_machine(results_dir, machine)
    values = {}
    for result in asv.results.iter_results_for_machine(results_dir, machine):
        if env_part and env_part not in result.env_name:
            continue
        current = result.get_result_keys(benchmarks)
        for name in CONTROL_BENCHMARKS:
            if name not in current:
                continue
            for point, value in _asv.points(result, name, benchmarks[name]["param_names"]):
                impl = control_impl(name, point.get("impl"))
                if impl is None or not _fmt.ok(value) or point.get("dtype", "float64") != "float64":
                    continue
                key = (result.env_name, impl, point["N"], point["workers"])
                values.setdefault(key, {})[result.commit_hash] = value
    out = {}
    for (env, impl, n, workers), by_commit in values.items():
        top = max(w for e, i, m, w in values if e == env and i == impl and m == n)
        if n >= min_n and workers == top and len(by_commit) > 1:
            out[(env, impl, n)] = (max(by_commit.values()) / min(by_commit.values()),
                                   len(by_commit), workers)
    return out


def print_spread(table):
    if not table:
        print("history: no control series measured at two commits or more yet")
        return
    print("history: noise floor, largest / smallest time of the control series across commits"
          " (float64):")
    for env in sorted({e for e, _, _ in table}):
        for impl in CONTROLS:
            cells = [(n, table[(env, impl, n)]) for e, i, n in sorted(table) if e == env and i == impl]
            if cells:
                commits, workers = cells[0][1][1], cells[0][1][2]
                text = "  ".join(f"N={n:.0e} {r:.2f}" for n, (r, _, _) in cells)
                print(f"  {_asv.short_env(env):<20} {impl:<14} workers={workers} "
                      f"{commits} commits: {text}")


#: ``history drift``: the window lengths, in seconds.
DRIFT_WINDOWS = (0.5, 2.0, 5.0, 10.0, 20.0)


def window_spread(starts, times, window):
    """Largest over smallest median of ``times`` per consecutive ``window`` seconds.

    ``starts[i]`` is when call ``i`` began (seconds from the first) and
    ``times[i]`` how long it took. Windows are ``[k * window, (k + 1) *
    window)``; a last window cut short by the end of the measurement, and
    a window without a call, are left out. Returns ``(ratio, windows)``;
    the ratio is NaN with fewer than two windows.
    """
    import numpy as np

    if window <= 0:
        raise ValueError(f"window must be a positive number of seconds, got {window!r}")
    starts, times = np.asarray(starts, dtype=float), np.asarray(times, dtype=float)
    if starts.shape != times.shape:
        raise ValueError(f"starts and times must have the same length, got {starts.size} "
                         f"and {times.size}")
    if starts.size == 0:
        return float("nan"), 0
    end = starts[-1] + times[-1]
    index = np.floor(starts / window).astype(int)
    groups = (times[index == k] for k in range(int(end // window)))
    medians = [float(np.median(group)) for group in groups if group.size]
    if len(medians) < 2:
        return float("nan"), len(medians)
    return max(medians) / min(medians), len(medians)


#: ``history drift``: a sample times this many seconds of calls at least.
DRIFT_SAMPLE = 1e-3


def drift(sizes, seconds):
    """``{N: (starts, times)}``: float64 numpy.dot timed back to back, ``seconds`` per N.

    Each sample times as many calls in a row as last :data:`DRIFT_SAMPLE`
    (``benchmarks.common._calibrate``, as the suite's interleaved samples;
    one call from about 1e6 on); ``times`` are per call. The vectors are the
    suite's seeded ones (``benchmarks.common.vectors``), and numpy.dot runs
    with its default BLAS threads, as in the control series of
    ``bench_dot.TimeDot``.
    """
    import timeit

    import numpy as np

    from benchmarks.common import _calibrate, vectors

    out = {}
    for n in sizes:
        a, b = vectors(int(n), "float64")

        def call():
            np.dot(a, b)

        number = _calibrate(call, DRIFT_SAMPLE)
        starts, times = [], []
        t0 = time.perf_counter()
        while True:
            begin = time.perf_counter() - t0
            if begin >= seconds:
                break
            times.append(timeit.timeit(call, number=number) / number)
            starts.append(begin)
        out[int(n)] = (starts, times)
    return out


def print_drift(measured, seconds, windows=DRIFT_WINDOWS):
    print(f"history: the machine's drift: float64 numpy.dot timed back to back in one process,"
          f" {seconds:g} s per N, on the same vectors.\n  Largest / smallest median of"
          f" consecutive windows (how many): a control series whose points are measured\n"
          f"  over as long, each in one window, moves at least this much with no change of code:")
    rows = []
    for n, (starts, times) in measured.items():
        cells = []
        for window in windows:
            ratio, count = window_spread(starts, times, window)
            cells.append("n/a" if count < 2 else f"{ratio:.2f} ({count})")
        rows.append([_fmt.size(n), str(len(times))] + cells)
    header = ["N", "samples"] + [f"{w:g} s" for w in windows]
    print(_fmt.plain(header, rows))


# --- command line ---------------------------------------------------------------


def build_parser(parser):
    """The ``history`` sub-commands (``run``'s arguments go to asv run unparsed)."""
    sub = parser.add_subparsers(dest="history_command", required=True, metavar="SUBCOMMAND")
    sub.add_parser("commits", help="print the commits the main command measures")
    sub.add_parser("run", help="asv run over the history, with a readable progress; "
                   "the arguments that follow go to asv run (-E ENV, --bench, a range, ...)")
    p_spread = sub.add_parser("spread", help="the control series' spread across commits")
    p_spread.add_argument("--results", default=None, help="asv results directory")
    p_spread.add_argument("--machine", default=None)
    p_spread.add_argument("--env", default=None, help="a part of the environment name")
    p_changes = sub.add_parser(
        "changes", help="the commits at which numpy.dot time / split time stepped "
        "(track_speedup, per environment, split, N, workers, dtype; apache-otava)")
    p_changes.add_argument("--results", default=None, help="asv results directory")
    p_changes.add_argument("--machine", default=None, help="default: every machine with results")
    p_changes.add_argument("--env", default=None, help="a part of the environment name")
    p_changes.add_argument("--max-pvalue", type=float, default=None,
                           help="keep change points whose t-test p-value is below this (0.001)")
    p_changes.add_argument("--min-step", type=float, default=None,
                           help="keep steps of at least this ratio, either way (1.1)")
    p_changes.add_argument("--html", default=None, metavar="PATH",
                           help="also write the table as a static HTML page")
    p_check = sub.add_parser("check", help="set aside result files that do not parse "
                             "(a run killed while asv wrote them)")
    p_check.add_argument("--results", default=None, help="asv results directory")
    p_drift = sub.add_parser("drift", help="how far numpy.dot's time moves in one process "
                             "with nothing changed but the moment (the floor of the spread)")
    p_drift.add_argument("--seconds", type=float, default=60.0,
                         help="seconds of back-to-back calls per N (default %(default)s)")
    p_drift.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    p_drift.add_argument("--windows", type=float, nargs="+", default=list(DRIFT_WINDOWS),
                         metavar="SECONDS", help="window lengths (default: %(default)s)")


def main(args):
    """Run the ``history`` sub-command of ``args``; return the exit status."""
    if args.history_command == "run":  # reached only without arguments for asv run
        return run([])
    if args.history_command == "drift":
        for option, values in (("--seconds", [args.seconds]), ("--windows", args.windows),
                               ("--sizes", args.sizes)):
            if min(values) <= 0:
                print(f"history drift: {option} must be positive, got {min(values):g}",
                      file=sys.stderr)
                return 2
        print_drift(drift(args.sizes, args.seconds), args.seconds, args.windows)
        return 0
    if args.history_command == "commits":
        for h, label in history():
            print(h[:8], label)
        return 0
    results = args.results or _asv.results_dir(os.path.join(ROOT, _asv.CONFIG))
    if args.history_command == "check":
        done = check_results(results)
        print_checked(done)
        if not done:
            print(f"history: every JSON file of {os.path.relpath(results)} parses")
        return 0
    if args.history_command == "changes":
        return print_changes(results, args)
    print_spread(spread(results, args.machine, args.env))
    return 0


def print_changes(results, args):
    """``history changes``: the change points of the paired ratio, printed (and as a page)."""
    from . import changes

    try:
        reports = changes.find_changes(
            results, args.machine, args.env,
            changes.MAX_PVALUE if args.max_pvalue is None else args.max_pvalue,
            changes.MIN_STEP if args.min_step is None else args.min_step)
    except ImportError as exc:
        print(f"history: change points need apache-otava ({exc}): pip install -e '.[bench]'")
        return 1
    if not reports:
        print(f"history: no results in {results} yet: no change points")
    for report in reports:
        print(changes.format_report(report))
    if args.html:
        os.makedirs(os.path.dirname(os.path.abspath(args.html)), exist_ok=True)
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(changes.html_page(reports))
        print(f"history: change points written to {args.html}")
    return 0
