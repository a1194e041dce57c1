"""The original example's report -- its table and log-log plot -- from asv results or measured now.

The sphinx-gallery example this project grew from ended with a table (rows
``N``, columns ``numpy.dot`` and ``futures``) and a log-log plot titled
"Parallel / numpy dot". This command writes the same report, in two modes.

``from-asv`` reads what ``asv run`` stored::

    python tools/report.py from-asv [--results results] [--machine M] [--commit HASH]
                                    [--env NAME] [--bench REGEX] [--speedup-workers 2]
                                    [--out docs/asv]

- ``--results`` defaults to ``results_dir`` of ``asv.conf.json`` (or ``results``);
- ``--machine`` may be left out when ``results/`` holds one machine;
- ``--commit`` is a hash prefix or a git ref (default: the newest commit with
  results, by commit date, for that machine);
- ``--env`` is an environment name or a unique part of one (e.g.
  ``py3.12-numpy2.4.6``); it may be left out when the commit has results for
  one environment only, otherwise the error lists them;
- ``--bench`` selects the ``time_`` benchmarks (default ``^bench_dot\\.``).

It writes into ``--out``:

- ``report.md``: provenance (machine, commit, dates, environment) and the table;
- ``report.csv``: the same table, full precision;
- ``loglog.png``: seconds against ``N``, log-log, one line per implementation
  and workers (the example's plot);
- ``speedup_by_commit.png``: ``numpy.dot`` time / split time at
  ``--speedup-workers`` across every commit with results for that machine and
  environment, one panel per split, one line per ``N``.

Table: one row per ``N`` that has a result, one column per implementation and
workers (``threads w=2``: ``bench_dot.Threads.time_threads`` at
``workers=2``), values in seconds (asv's result: the median of the samples),
then one ``speedup`` column per split and workers = ``numpy.dot`` time at the
same workers (BLAS threads = workers, the suite's fair reference) / split
time; above 1 the split is faster. A skipped size (outside the asv profile,
or a feature missing at that commit) is ``n/a``, a failed one ``failed``.

``direct`` runs the example's experiment now, without asv::

    python tools/report.py direct [--sizes 1e5 1e6 1e7 1e8] [--workers 2]
                                  [--impl numpy.dot per_call_pool threads auto processes]
                                  [--repeat 10] [--number 50] [--warmup 1] [--out docs/direct]

For each size (a tqdm progress bar, as in the example) it times each
implementation like the example's ``measure_time``: ``warmup`` calls, then
``repeat`` samples of ``number`` calls; the time of a call is the sample's
time / ``number``, and it keeps their average, deviation, min and max. The
samples of the implementations are taken in turn (round robin), so that a
change of the machine's load lands on every column alike. It writes
``report.md``, ``report.csv`` (averages, or ``--stat min_exec``, and
speedups), ``measurements.csv`` (every statistic) and ``loglog.png``.

Implementations (``--impl``): ``numpy.dot`` (default BLAS threads, as users
call it); ``per_call_pool``, the example's split that starts a new thread
pool at every call (its ``futures`` column); ``threads``, ``auto`` and
``processes``: ``paralleldot.parallel_dot`` with that backend (``processes``
on vectors in ``paralleldot.shared_empty``). Vectors are the asv suite's
seeded float64 vectors (``benchmarks.common.vectors``).

Needs matplotlib and tqdm (the ``report`` extra); ``from-asv`` also needs asv.
"""

import argparse
import csv
import datetime
import io
import itertools
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = "numpy.dot"
TITLE = "Parallel / numpy dot"
#: Column order of the implementations (others follow, sorted).
IMPL_ORDER = ("numpy.dot", "per_call_pool", "threads", "auto", "processes")


# --- the table --------------------------------------------------------------


def _impl_rank(impl):
    return (IMPL_ORDER.index(impl), "") if impl in IMPL_ORDER else (len(IMPL_ORDER), impl)


class Table:
    """Seconds per call, by row ``N`` and column ``(implementation, workers)``.

    ``values[(impl, workers)][N]`` is a float (seconds), ``nan`` for a
    skipped measurement or ``None`` for a failed one; ``workers`` is
    ``None`` for a column measured without a worker count (``numpy.dot`` in
    the direct mode).
    """

    def __init__(self, values):
        self.values = values
        self.columns = sorted(values, key=lambda c: (_impl_rank(c[0]), c[1] or 0))
        self.rows = sorted({n for col in values.values() for n in col})

    @staticmethod
    def label(column):
        impl, workers = column
        return impl if workers is None else f"{impl} w={workers}"

    def value(self, column, n):
        return self.values.get(column, {}).get(n, math.nan)

    def reference(self, column):
        """The ``numpy.dot`` column a split column is compared with, or None."""
        impl, workers = column
        if impl == REFERENCE:
            return None
        for ref in ((REFERENCE, workers), (REFERENCE, None)):
            if ref in self.values:
                return ref
        return None

    @property
    def speedup_columns(self):
        return [c for c in self.columns if self.reference(c) is not None]

    def speedup(self, column, n):
        """``numpy.dot`` time / ``column`` time at ``N = n`` (nan if either is missing)."""
        ref = self.value(self.reference(column), n)
        val = self.value(column, n)
        if not _ok(ref) or not _ok(val) or val <= 0:
            return math.nan
        return ref / val

    def header(self):
        return (
            ["N"]
            + [self.label(c) for c in self.columns]
            + [f"speedup {self.label(c)}" for c in self.speedup_columns]
        )

    def csv(self):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header())
        for n in self.rows:
            cells = [n]
            cells += [repr(v) if _ok(v) else "" for v in (self.value(c, n) for c in self.columns)]
            cells += [repr(s) if _ok(s) else "" for s in (self.speedup(c, n) for c in self.speedup_columns)]
            writer.writerow(cells)
        return out.getvalue()

    def markdown(self):
        header = self.header()
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---:" for _ in header) + "|",
        ]
        for n in self.rows:
            cells = [f"{n:.0e}".replace("e+0", "e")]
            cells += [_seconds(self.value(c, n)) for c in self.columns]
            cells += [_ratio(self.speedup(c, n)) for c in self.speedup_columns]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _ok(v):
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _seconds(v):
    if v is None:
        return "failed"
    if math.isnan(v):
        return "n/a"
    return f"{v:.3g}"


def _ratio(v):
    return "n/a" if not _ok(v) else f"{v:.3g}"


# --- plots -------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loglog(table, path, subtitle):
    """The example's plot: seconds against N, log-log, one line per column."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    impls = sorted({c[0] for c in table.columns}, key=_impl_rank)
    workers = sorted({c[1] for c in table.columns if c[1] is not None})
    colors = {impl: f"C{i}" for i, impl in enumerate(impls)}
    styles = {w: s for w, s in zip(workers, ["-", "--", ":", "-."] * 4)}
    for column in table.columns:
        points = [(n, table.value(column, n)) for n in table.rows]
        points = [(n, v) for n, v in points if _ok(v) and v > 0]
        if not points:
            continue
        xs, ys = zip(*points)
        ax.plot(
            xs, ys, marker="o", markersize=4, color=colors[column[0]],
            linestyle=styles.get(column[1], "-"), label=Table.label(column),
            linewidth=2.5 if column[0] == REFERENCE else 1.5,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (float64 vectors)")
    ax.set_ylabel("seconds per call")
    ax.set_title(f"{TITLE}\n{subtitle}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_speedup_by_commit(series, path, subtitle):
    """Speedup over numpy.dot across commits: one panel per split, one line per N.

    ``series`` is a list of ``(label, date, Table)`` ordered by commit date.
    """
    plt = _pyplot()
    splits = sorted(
        {c[0] for _, _, t in series for c in t.speedup_columns}, key=_impl_rank
    )
    sizes = sorted({n for _, _, t in series for n in t.rows})
    panels = max(len(splits), 1)
    ncols = min(panels, 2)
    nrows = -(-panels // ncols)
    width = max(4.0, min(0.5 * len(series) + 2.5, 8.0))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, 3.8 * nrows + 0.8), sharey=True, squeeze=False
    )
    axes = [ax for row in axes for ax in row]
    for ax in axes[panels:]:
        ax.set_visible(False)
    x = list(range(len(series)))
    labels = [label for label, _, _ in series]
    for ax, impl in zip(axes, splits):
        for i, n in enumerate(sizes):
            ys = []
            for _, _, t in series:
                cols = [c for c in t.speedup_columns if c[0] == impl]
                ys.append(t.speedup(cols[0], n) if cols else math.nan)
            if not any(_ok(y) for y in ys):
                continue
            ax.plot(x, ys, marker="o", markersize=4, color=f"C{i}", label=f"N={n:.0e}".replace("e+0", "e"))
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_title(impl, fontsize=10)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        ax.set_xlim(-0.5, len(series) - 0.5)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[::ncols]:
        ax.set_ylabel("numpy.dot time / split time")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Speedup over numpy.dot across commits\n{subtitle}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- from asv ------------------------------------------------------------------


def _param(value):
    """asv stores parameter values as their repr: ``'1000'`` -> 1000."""
    try:
        return int(value)
    except ValueError:
        return value.strip("'\"")


def _impl_name(key):
    """``bench_dot.NumpyDot.time_numpy_dot`` -> ``numpy.dot``; ``...time_threads`` -> ``threads``."""
    name = key.rsplit(".", 1)[-1]
    name = re.sub(r"^(time|track|peakmem|mem)_", "", name)
    return REFERENCE if name == "numpy_dot" else name


def load_benchmarks(results_dir):
    """``results/benchmarks.json`` (asv's metadata of the suite), without its version key."""
    path = os.path.join(results_dir, "benchmarks.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        data = json.load(f)
    data.pop("version", None)
    return data


def table_from_results(result, benchmarks=None, bench=r"^bench_dot\."):
    """A :class:`Table` from one ``asv.results.Results`` (one commit, one environment).

    Keeps the ``time_`` benchmarks whose name matches ``bench``, with
    parameters ``N`` and ``workers``; with ``benchmarks`` (benchmarks.json),
    only results of the benchmark's current ``version`` (as asv's graphs do).
    """
    if benchmarks is not None:
        keys = result.get_result_keys(benchmarks)
    else:
        keys = result.get_all_result_keys()
    pattern = re.compile(bench)
    values = {}
    for key in sorted(keys):
        if not pattern.search(key) or not key.rsplit(".", 1)[-1].startswith("time_"):
            continue
        params = result.get_result_params(key)
        names = (benchmarks or {}).get(key, {}).get("param_names") or ["N", "workers"]
        if not params or "N" not in names or "workers" not in names or len(names) != len(params):
            continue
        i_n, i_w = names.index("N"), names.index("workers")
        for combo, value in zip(itertools.product(*params), result.get_result_value(key, params)):
            n, workers = _param(combo[i_n]), _param(combo[i_w])
            column = values.setdefault((_impl_name(key), workers), {})
            column[n] = value
    # Drop the rows (sizes) and columns with no measurement at all.
    measured = {n for col in values.values() for n, v in col.items() if _ok(v)}
    values = {
        c: {n: v for n, v in col.items() if n in measured}
        for c, col in values.items()
        if any(_ok(v) for v in col.values())
    }
    return Table(values)


def _default_results_dir():
    conf = os.path.join(os.getcwd(), "asv.conf.json")
    if os.path.exists(conf):
        try:
            import asv.config

            return asv.config.Config.load(conf).results_dir
        except Exception:  # an unreadable config: fall back to asv's default
            pass
    return "results"


def _machines(results_dir):
    return sorted(
        d for d in os.listdir(results_dir)
        if os.path.exists(os.path.join(results_dir, d, "machine.json"))
    )


def _git_rev(ref):
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def select_runs(results_dir, machine=None, commit=None, env=None):
    """Choose the machine, commit and environment; return them and every run of the machine.

    Returns ``(machine, chosen Results, [Results of that machine and environment])``.
    Raises ``SystemExit`` with the choices when a choice is ambiguous or missing.
    """
    import asv.results

    if not os.path.isdir(results_dir):
        raise SystemExit(f"no asv results directory {results_dir!r}: run `asv run` first")
    machines = _machines(results_dir)
    if machine is None:
        if len(machines) != 1:
            raise SystemExit(
                f"{results_dir} holds machines {machines or 'none'}: choose one with --machine"
            )
        machine = machines[0]
    elif machine not in machines:
        raise SystemExit(f"no results for machine {machine!r} in {results_dir}; there are {machines}")
    runs = list(asv.results.iter_results_for_machine(results_dir, machine))
    if not runs:
        raise SystemExit(f"no result files for machine {machine!r} in {results_dir}")
    order = _git_order()

    if commit is None:
        newest = max(runs, key=lambda r: (r.date or 0, order.get(r.commit_hash, -1)))
        commit_hash = newest.commit_hash
    else:
        hashes = {r.commit_hash for r in runs}
        matches = {h for h in hashes if h.startswith(commit.lower())}
        if not matches:
            full = _git_rev(commit)
            matches = {h for h in hashes if full and h == full}
        if len(matches) != 1:
            shown = ", ".join(sorted(h[:8] for h in hashes))
            raise SystemExit(
                f"--commit {commit!r} matches {len(matches)} commits with results "
                f"for {machine!r}; commits with results: {shown}"
            )
        commit_hash = matches.pop()

    at_commit = [r for r in runs if r.commit_hash == commit_hash]
    envs = sorted(r.env_name for r in at_commit)
    if env is None:
        if len(envs) != 1:
            raise SystemExit(
                f"commit {commit_hash[:8]} has results for environments {envs}: choose one "
                "with --env (a unique part of the name is enough)"
            )
        env_name = envs[0]
    else:
        exact = [e for e in envs if e == env]
        matches = exact or [e for e in envs if env in e]
        if len(matches) != 1:
            raise SystemExit(
                f"--env {env!r} matches {matches or 'no environment'} at commit "
                f"{commit_hash[:8]}; environments there: {envs}"
            )
        env_name = matches[0]
    chosen = next(r for r in at_commit if r.env_name == env_name)
    history = sorted(
        (r for r in runs if r.env_name == env_name),
        key=lambda r: (r.date or 0, order.get(r.commit_hash, -1), r.commit_hash),
    )
    return machine, chosen, history


def _git_order():
    """Hash -> position in the history of the git repository in the current directory.

    Breaks ties between commits of the same second (asv's dates have second
    resolution); empty when there is no repository here.
    """
    try:
        out = subprocess.run(
            ["git", "rev-list", "--all", "--topo-order", "--reverse"],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {h: i for i, h in enumerate(out.split())}


def _ms_to_iso(ms):
    if not ms:
        return "unknown"
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _machine_info(results_dir, machine):
    try:
        with open(os.path.join(results_dir, machine, "machine.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def from_asv(args):
    results_dir = args.results or _default_results_dir()
    machine, result, history = select_runs(results_dir, args.machine, args.commit, args.env)
    benchmarks = load_benchmarks(results_dir)
    table = _only_workers(table_from_results(result, benchmarks, args.bench), args.workers)
    if not table.rows:
        raise SystemExit(
            f"no time_ results matching {args.bench!r} with parameters N and workers for "
            f"{machine} / {result.commit_hash[:8]} / {result.env_name}"
        )
    info = _machine_info(results_dir, machine)
    reqs = getattr(result, "_requirements", None) or {}  # no public accessor in asv 0.6
    reqs = ", ".join(f"{k} {v}" if v else k for k, v in sorted(reqs.items())) or "none recorded"
    run_at = _ms_to_iso(max(result.started_at.values(), default=None))
    provenance = [
        f"- source: asv results in `{results_dir}`, benchmarks matching `{args.bench}`",
        f"- machine: `{machine}` ({info.get('cpu', '?')}, {info.get('num_cpu', '?')} cpus, "
        f"{info.get('os', '?')}, {info.get('arch', '?')})",
        f"- commit: `{result.commit_hash}` (committed {_ms_to_iso(result.date)}); run {run_at}",
        f"- environment: `{result.env_name}` (python {result.params.get('python', '?')}; "
        f"requirements: {reqs})",
        "- values: seconds per call (asv's result, the median of the samples); "
        "speedup = numpy.dot time at the same workers (BLAS threads = workers) / split time, "
        "above 1 the split is faster; n/a: skipped (size outside the profile, or feature "
        "missing at that commit)",
    ]
    subtitle = f"{machine}, {result.commit_hash[:8]}, {result.env_name}"
    os.makedirs(args.out, exist_ok=True)
    written = _write_table(args.out, table, "Dot product of two vectors: numpy.dot and the futures split (asv)", provenance)
    png = os.path.join(args.out, "loglog.png")
    plot_loglog(table, png, subtitle)
    written.append(png)

    series = []
    for r in history:
        t = table_from_results(r, benchmarks, args.bench)
        t = Table({c: t.values[c] for c in t.columns if c[1] == args.speedup_workers})
        if t.speedup_columns:
            series.append((f"{r.commit_hash[:8]}\n{_ms_to_iso(r.date)[:10]}", r.date, t))
    png = os.path.join(args.out, "speedup_by_commit.png")
    if series:
        plot_speedup_by_commit(series, png, f"{machine}, {result.env_name}, workers={args.speedup_workers}")
        written.append(png)
    else:
        print(f"no speedup at workers={args.speedup_workers}: {png} not written", file=sys.stderr)
    print(table.markdown())
    print("wrote " + ", ".join(written))
    return 0


def _only_workers(table, workers):
    """The columns of ``table`` at the given worker counts (all when ``workers`` is empty)."""
    if not workers:
        return table
    return Table({c: v for c, v in table.values.items() if c[1] in workers})


def _write_table(out, table, title, provenance):
    md = os.path.join(out, "report.md")
    with open(md, "w") as f:
        f.write(f"# {title}\n\n" + "\n".join(provenance) + "\n\n" + table.markdown())
    path = os.path.join(out, "report.csv")
    with open(path, "w") as f:
        f.write(table.csv())
    return [md, path]


# --- direct ---------------------------------------------------------------------


def measure_interleaved(funcs, repeat=10, number=50, warmup=1):
    """Time each of ``funcs`` like the example's ``measure_time``, samples taken in turn.

    ``warmup`` untimed calls of each, then ``repeat`` rounds; in a round each
    function runs ``number`` times, timed together. Returns, per name, the
    per-call ``average``, ``deviation`` (population standard deviation of the
    samples), ``min_exec``, ``max_exec``, and ``repeat``, ``number``,
    ``warmup``, ``ttime`` (total timed seconds).
    """
    for func in funcs.values():
        for _ in range(warmup):
            func()
    samples = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            samples[name].append(timeit.timeit(func, number=number) / number)
    return {
        name: {
            "average": statistics.fmean(times),
            "deviation": statistics.pstdev(times),
            "min_exec": min(times),
            "max_exec": max(times),
            "repeat": repeat,
            "number": number,
            "warmup": warmup,
            "ttime": sum(times) * number,
        }
        for name, times in samples.items()
    }


IMPLS = ("numpy.dot", "per_call_pool", "threads", "auto", "processes")


def _direct_funcs(n, impls, workers_list):
    """Name -> callable for one size; also the shared-memory vectors to keep alive."""
    import numpy as np

    import paralleldot
    from benchmarks.common import per_call_pool_dot, vectors

    a, b = vectors(n)
    funcs = {}
    shared = None
    if "processes" in impls:
        shared = (paralleldot.shared_empty(n, np.float64), paralleldot.shared_empty(n, np.float64))
        shared[0][:], shared[1][:] = a, b
    for impl in impls:
        if impl == "numpy.dot":
            funcs[("numpy.dot", None)] = lambda: np.dot(a, b)
            continue
        for k in workers_list:
            if impl == "per_call_pool":
                funcs[(impl, k)] = lambda k=k: per_call_pool_dot(a, b, k)
            elif impl == "processes":
                sa, sb = shared
                funcs[(impl, k)] = lambda k=k: paralleldot.parallel_dot(sa, sb, workers=k, backend="processes")
            else:
                funcs[(impl, k)] = lambda k=k, impl=impl: paralleldot.parallel_dot(a, b, workers=k, backend=impl)
    return funcs, shared


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _blas():
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return ", ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)" for i in blas
        ) or "none found"
    except Exception:
        return "unknown"


def _git_describe():
    try:
        head = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", ROOT, "status", "--porcelain", "--", "paralleldot", "benchmarks"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes to paralleldot/ or benchmarks/)" if dirty else "")


def direct(args):
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import numpy as np
    from tqdm import tqdm

    import paralleldot

    sizes = [int(float(s)) for s in args.sizes]
    unknown = [i for i in args.impl if i not in IMPLS]
    if unknown or REFERENCE not in args.impl:
        raise SystemExit(f"--impl must include numpy.dot and be among {', '.join(IMPLS)}")
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    stats = {}
    try:
        for n in tqdm(sizes, desc="sizes"):
            funcs, shared = _direct_funcs(n, args.impl, args.workers)
            for column, s in measure_interleaved(funcs, args.repeat, args.number, args.warmup).items():
                stats[(column, n)] = s
            del funcs, shared
    finally:
        paralleldot.shutdown()
    load_after = os.getloadavg()
    values = {}
    for (column, n), s in stats.items():
        values.setdefault(column, {})[n] = s[args.stat]
    table = Table(values)

    provenance = [
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; load average before/after: "
        f"{load_before[0]:.2f} / {load_after[0]:.2f}",
        f"- machine: {platform.node()}, {os.cpu_count()} cpus (nproc {len(os.sched_getaffinity(0))}), "
        f"{_cpu_model()}, {platform.system()} {platform.release()} {platform.machine()}",
        f"- environment: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"numpy {np.__version__}, BLAS {_blas()}, paralleldot {paralleldot.__version__} at {_git_describe()}",
        f"- command: `python tools/report.py {' '.join(args.argv)}`",
        f"- measurement: per size, each column {args.warmup} warm-up call(s), then {args.repeat} samples "
        f"of {args.number} calls, taken in turn across columns; values are the {args.stat} seconds per "
        "call over the samples; speedup = numpy.dot time / split time (above 1 the split is faster)",
        "- columns: numpy.dot with default BLAS threads; per_call_pool = the example's split "
        "(a new thread pool per call; its `futures` column); threads, auto, processes = "
        "`paralleldot.parallel_dot` with that backend (processes on shared_empty vectors); "
        "w = workers",
    ]
    os.makedirs(args.out, exist_ok=True)
    written = _write_table(args.out, table, "Dot product of two vectors: numpy.dot and the futures split (direct)", provenance)
    path = os.path.join(args.out, "measurements.csv")
    with open(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        fields = ["average", "deviation", "min_exec", "max_exec", "repeat", "number", "warmup", "ttime"]
        writer.writerow(["N", "implementation", "workers"] + fields)
        for (column, n), s in sorted(stats.items(), key=lambda kv: (kv[0][1], table.columns.index(kv[0][0]))):
            writer.writerow([n, column[0], "" if column[1] is None else column[1]] + [s[k] for k in fields])
    written.append(path)
    png = os.path.join(args.out, "loglog.png")
    plot_loglog(
        table, png,
        f"{os.cpu_count()} cpus {_cpu_model()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{started.strftime('%Y-%m-%d')}",
    )
    written.append(png)
    print(table.markdown())
    print("wrote " + ", ".join(written))
    return 0


# --- command line ------------------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python tools/report.py",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="mode", required=True)

    p = sub.add_parser("from-asv", help="the table and plots from asv's results/")
    p.add_argument("--results", help="asv results directory (default: results_dir of ./asv.conf.json)")
    p.add_argument("--machine", help="machine name (default: the only machine in the results)")
    p.add_argument("--commit", help="commit hash prefix or git ref (default: the newest with results)")
    p.add_argument("--env", help="environment name or a unique part of it")
    p.add_argument("--bench", default=r"^bench_dot\.", help="regex of the time_ benchmarks (default: %(default)s)")
    p.add_argument("--workers", type=int, nargs="+", help="keep only these worker counts in the table")
    p.add_argument("--speedup-workers", type=int, default=2, help="workers of the across-commits plot")
    p.add_argument("--out", default=os.path.join("docs", "asv"), help="output directory (default: %(default)s)")
    p.set_defaults(func=from_asv)

    p = sub.add_parser("direct", help="run the example's experiment now, without asv")
    p.add_argument("--sizes", nargs="+", default=["1e5", "1e6", "1e7", "1e8"], help="vector lengths")
    p.add_argument("--workers", type=int, nargs="+", default=[2])
    p.add_argument("--impl", nargs="+", default=list(IMPLS), help=f"among {', '.join(IMPLS)}")
    p.add_argument("--repeat", type=int, default=10, help="samples per column (default: %(default)s)")
    p.add_argument("--number", type=int, default=50, help="calls per sample (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls first (default: %(default)s)")
    p.add_argument("--stat", default="average", choices=["average", "min_exec", "max_exec"],
                   help="statistic shown in the table and plot (default: %(default)s, as the example)")
    p.add_argument("--out", default=os.path.join("docs", "direct"), help="output directory (default: %(default)s)")
    p.set_defaults(func=direct)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
