"""The original example's report -- its table and log-log plot, per dtype -- from asv results or measured now.

The sphinx-gallery example this project grew from ended with a table (rows
``N``, columns ``numpy.dot`` and ``futures``) and a log-log plot titled
"Parallel / numpy dot", for float64 vectors. This command writes the same
report for each dtype, in two modes::

    python -m benchtools report from-asv [--results DIR] [--machine M] [--commit C] [--env E]
                                         [--bench REGEX] [--dtype ...] [--workers ...]
                                         [--speedup-workers K] [--out docs/asv]
    python -m benchtools report direct [--sizes 1e5 1e6 1e7 1e8] [--workers 2] [--dtypes ...]
                                       [--impl ...] [--repeat 10] [--number 50] [--warmup 1]
                                       [--stat average] [--out docs/direct]

``from-asv`` reads ``bench_dot.TimeDot`` (and the earlier layout of one
class per implementation) from asv's results and writes ``report.md``
(provenance, one table per dtype, the crossover of ``track_crossover``),
``report.csv``, ``loglog.png`` and ``speedup_by_commit.png``. ``direct``
times the implementations of the suite's registry
(``benchmarks.common.dot_function``) like the example's ``measure_time``,
samples taken in turn across the columns, and writes ``report.md``,
``report.csv``, ``measurements.csv`` and ``loglog.png``; ``--impl`` takes
the peers of ``benchmarks.common.PEERS`` too (one not installed is left
out, with a line on stderr). A table has one
row per ``N``, one column per implementation and workers (seconds), and a
``speedup`` column per split: numpy.dot time / split time at the same
workers and dtype. A skipped point is ``n/a``, a failed one ``failed``.
Every option, both layouts and the outputs: ``docs/report.md``. Needs
matplotlib and tqdm (the ``report`` extra); ``from-asv`` also asv.
"""

import csv
import datetime
import io
import itertools
import math
import os
import platform
import re
import statistics
import sys
import timeit

from benchmarks.common import (
    ALL_DTYPES,
    IMPLEMENTATIONS,
    NUMPY_DOT,
    PROFILES,
    SEED,
    dot_function,
    vectors,
)

from . import _asv, _fmt, _git
from ._fmt import ok as _ok, size as _size

REFERENCE = NUMPY_DOT
TITLE = "Parallel / numpy dot"
#: Column order of the implementations (others follow, sorted).
IMPL_ORDER = IMPLEMENTATIONS
#: Order of the dtypes in tables and plots (others follow, sorted).
DTYPE_ORDER = ALL_DTYPES
#: The dtype of a benchmark without a ``dtype`` parameter (the earlier layout).
DEFAULT_DTYPE = "float64"
#: The dtypes the direct mode measures unless told otherwise.
DIRECT_DTYPES = ("float64", "float32", "int64", "int32")
#: Parameter names of the two layouts of the ``time_`` benchmarks, by count.
LAYOUTS = {4: ["impl", "N", "workers", "dtype"], 2: ["N", "workers"]}
#: Parameters a ``time_`` benchmark may have to enter the tables.
TABLE_PARAMS = {"impl", "N", "workers", "dtype"}
#: The method of the crossover benchmark, and its parameters.
CROSSOVER_METHOD = "track_crossover"
CROSSOVER_PARAMS = ["dtype", "workers"]
#: A crossover of this many times the largest N means "never" (bench_speedup).
NEVER_FACTOR = 10


# --- names and orders ----------------------------------------------------------


def _impl_rank(impl):
    return (IMPL_ORDER.index(impl), "") if impl in IMPL_ORDER else (len(IMPL_ORDER), impl)


def dtype_rank(dtype):
    """Sort key of a dtype name: :data:`DTYPE_ORDER` first, then the others by name."""
    return (DTYPE_ORDER.index(dtype), "") if dtype in DTYPE_ORDER else (len(DTYPE_ORDER), dtype)


def dtype_name(name, option="--dtype"):
    """numpy's name of the dtype ``name`` (``"float"`` -> ``"float64"``).

    Parameters
    ----------
    name : str
        A dtype as given on the command line.
    option : str
        The option it came from, for the error message.

    Raises
    ------
    SystemExit
        When numpy does not know ``name``.
    """
    import numpy as np

    try:
        return np.dtype(name).name
    except TypeError:
        raise SystemExit(f"{option}: got {name!r}, which is not a numpy dtype "
                         "(e.g. float64, float32, int64, int32)") from None


# --- the table --------------------------------------------------------------


class Table:
    """Seconds per call, by row ``N`` and column ``(implementation, workers)``, for one dtype.

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
        return _fmt.markdown(header, [
            [_size(n), *(_seconds(self.value(c, n)) for c in self.columns),
             *(_ratio(self.speedup(c, n)) for c in self.speedup_columns)]
            for n in self.rows], align=["r"] * len(header))


def _seconds(v):
    return _fmt.cell(v)


def _ratio(v):
    return "n/a" if not _ok(v) else f"{v:.3g}"


def _ordered(tables):
    """``{dtype: Table}`` in :func:`dtype_rank` order."""
    return {d: tables[d] for d in sorted(tables, key=dtype_rank)}


def tables_csv(tables):
    """One CSV of several dtypes' tables: a ``dtype`` column first, then each table's columns.

    Parameters
    ----------
    tables : dict of str to Table
        The tables by dtype.

    Returns
    -------
    str
        Header ``dtype, N, <columns>, speedup <columns>`` over the union of
        the tables' columns (in the tables' order); one row per dtype and
        ``N``; an empty cell where a table has no such column or no value.
    """
    tables = _ordered(tables)
    columns = sorted({c for t in tables.values() for c in t.columns},
                     key=lambda c: (_impl_rank(c[0]), c[1] or 0))
    speedups = [c for c in columns if any(c in t.speedup_columns for t in tables.values())]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dtype", "N"] + [Table.label(c) for c in columns]
                    + [f"speedup {Table.label(c)}" for c in speedups])
    for dtype, table in tables.items():
        for n in table.rows:
            cells = [dtype, n]
            cells += [repr(v) if _ok(v) else "" for v in (table.value(c, n) for c in columns)]
            cells += [
                repr(s) if _ok(s) else ""
                for s in (table.speedup(c, n) if c in table.values else math.nan for c in speedups)
            ]
            writer.writerow(cells)
    return out.getvalue()


def tables_markdown(tables, level="##"):
    """The tables of several dtypes in markdown, each under a ``## <dtype>`` heading."""
    return "\n".join(
        f"{level} {dtype}\n\n{table.markdown()}" for dtype, table in _ordered(tables).items()
    )


# --- the crossover -------------------------------------------------------------


def crossover_markdown(crossover, largest=None):
    """The crossover sizes as a markdown table: one row per dtype, one column per workers.

    Parameters
    ----------
    crossover : dict of (str, int) to float or None
        ``track_crossover`` by ``(dtype, workers)``: a size, ``nan``
        (skipped) or ``None`` (failed).
    largest : int or None
        The largest ``N`` of the profile that measured it: a value of
        :data:`NEVER_FACTOR` times it or more is ``never (> <largest>)``.
        None: the values are shown as recorded.

    Returns
    -------
    str
        The table, ``""`` when ``crossover`` is empty.
    """
    if not crossover:
        return ""
    dtypes = sorted({d for d, _ in crossover}, key=dtype_rank)
    workers = sorted({w for _, w in crossover})
    return _fmt.markdown(["dtype", *(f"w={w}" for w in workers)], [
        [dtype, *(crossover_cell(crossover.get((dtype, w), math.nan), largest) for w in workers)]
        for dtype in dtypes])


def crossover_cell(value, largest=None):
    """One crossover value as the report shows it: ``3e4``, ``never (> 1e5)``, ``n/a``, ``failed``."""
    if value is None:
        return "failed"
    if math.isnan(value):
        return "n/a"
    if largest is not None and value >= NEVER_FACTOR * largest:
        return f"never (> {_size(largest)})"
    return _size(value)


# --- plots -------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(panels, max_cols=2):
    ncols = max(1, min(panels, max_cols))
    return -(-max(panels, 1) // ncols), ncols


def plot_loglog(tables, path, subtitle):
    """The example's plot for each dtype: seconds against N, log-log, one line per column.

    Parameters
    ----------
    tables : dict of str to Table
        The tables by dtype: one panel each (two panels a row).
    path : str
        The PNG to write.
    subtitle : str
        The second line of the title (machine, commit, environment).

    Returns
    -------
    list of str
        The dtypes of the panels drawn, in order.
    """
    plt = _pyplot()
    tables = _ordered(tables)
    nrows, ncols = _grid(len(tables))
    fig, axes = plt.subplots(nrows, ncols, figsize=(7 * ncols, 5 * nrows + 0.6), squeeze=False)
    axes = [ax for row in axes for ax in row]
    for ax in axes[len(tables):]:
        ax.set_visible(False)
    columns = {c for t in tables.values() for c in t.columns}
    impls = sorted({c[0] for c in columns}, key=_impl_rank)
    workers = sorted({c[1] for c in columns if c[1] is not None})
    colors = {impl: f"C{i}" for i, impl in enumerate(impls)}
    styles = {w: s for w, s in zip(workers, ["-", "--", ":", "-."] * 4)}
    drawn = []
    for ax, (dtype, table) in zip(axes, tables.items()):
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
        ax.set_xlabel(f"N ({dtype} vectors)")
        ax.set_ylabel("seconds per call")
        ax.set_title(dtype, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=8, ncol=2)
        drawn.append(dtype)
    fig.suptitle(f"{TITLE}\n{subtitle}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return drawn


def plot_speedup_by_commit(series, path, subtitle):
    """Speedup over numpy.dot across commits: rows dtypes, columns splits, one line per N.

    Parameters
    ----------
    series : list of (str, int, dict of str to Table)
        ``(label, date, tables by dtype)`` per commit, ordered by commit date.
    path : str
        The PNG to write.
    subtitle : str
        The second line of the title.

    Returns
    -------
    list of (str, str)
        The ``(dtype, split)`` of the panels, row by row. A panel whose
        split has no result at that dtype says so.
    """
    plt = _pyplot()
    dtypes = sorted({d for _, _, tables in series for d in tables}, key=dtype_rank)
    splits = sorted(
        {c[0] for _, _, tables in series for t in tables.values() for c in t.speedup_columns},
        key=_impl_rank,
    )
    sizes = sorted({n for _, _, tables in series for t in tables.values() for n in t.rows})
    colors = {n: f"C{i}" for i, n in enumerate(sizes)}
    nrows, ncols = max(len(dtypes), 1), max(len(splits), 1)
    width = max(3.5, min(0.45 * len(series) + 2.0, 7.0))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, 3.4 * nrows + 1.0), sharey=True, squeeze=False
    )
    x = list(range(len(series)))
    labels = [label for label, _, _ in series]
    panels = []
    for row, dtype in zip(axes, dtypes):
        for ax, impl in zip(row, splits):
            panels.append((dtype, impl))
            for n in sizes:
                ys = []
                for _, _, tables in series:
                    table = tables.get(dtype)
                    cols = [c for c in table.speedup_columns if c[0] == impl] if table else []
                    ys.append(table.speedup(cols[0], n) if cols else math.nan)
                if any(_ok(y) for y in ys):
                    ax.plot(x, ys, marker="o", markersize=4, color=colors[n], label=f"N={_size(n)}")
            if not ax.get_lines():
                ax.text(0.5, 0.5, "no results", transform=ax.transAxes,
                        ha="center", va="center", color="gray")
            else:
                ax.axhline(1.0, color="black", linewidth=0.8)
                ax.set_yscale("log")
                ax.legend(fontsize=7)
            ax.set_title(f"{impl}, {dtype}", fontsize=10)
            ax.set_xticks(x)
            ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
            ax.set_xlim(-0.5, len(series) - 0.5)
            ax.grid(True, which="both", alpha=0.3)
        row[0].set_ylabel("numpy.dot time / split time")
    fig.suptitle(f"Speedup over numpy.dot across commits\n{subtitle}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return panels


# --- from asv ------------------------------------------------------------------


def _impl_name(key):
    """``bench_dot.NumpyDot.time_numpy_dot`` -> ``numpy.dot``; ``...time_threads`` -> ``threads``."""
    name = key.rsplit(".", 1)[-1]
    name = re.sub(r"^(time|track|peakmem|mem)_", "", name)
    return REFERENCE if name == "numpy_dot" else name  # per_call_pool is PER_CALL_POOL


def _result_keys(result, benchmarks):
    """The result keys of ``result``; with ``benchmarks``, those of the current versions only."""
    if benchmarks is not None:
        return sorted(result.get_result_keys(benchmarks))
    return sorted(result.get_all_result_keys())


def _param_names(key, params, benchmarks, guesses=LAYOUTS):
    """The parameter names of ``key``: benchmarks.json's, else guessed from their count."""
    names = (benchmarks or {}).get(key, {}).get("param_names")
    if names is None:
        names = guesses.get(len(params))
    return names


def tables_from_results(result, benchmarks=None, bench=r"^bench_dot\."):
    """The tables, one per dtype, of one ``asv.results.Results`` (one commit, one environment).

    Parameters
    ----------
    result : asv.results.Results
        The results of one commit in one environment.
    benchmarks : dict, optional
        ``results/benchmarks.json`` (:func:`load_benchmarks`): only results
        of a benchmark's current ``version`` are kept (as asv's graphs do),
        and the parameter names come from it. Without it, every result is
        kept and four parameters are taken as ``impl, N, workers, dtype``,
        two as ``N, workers``.
    bench : str
        Regular expression of the benchmark names to read; only ``time_``
        benchmarks are read.

    Returns
    -------
    dict of str to Table
        By dtype, in :data:`DTYPE_ORDER`. A benchmark enters when its
        parameters are ``N`` and ``workers`` plus, optionally, ``impl``
        (otherwise the implementation is the method's name:
        ``time_numpy_dot`` -> ``numpy.dot``) and ``dtype`` (otherwise
        float64). Rows (sizes) and columns without any measurement are left
        out, per dtype.
    """
    pattern = re.compile(bench)
    values = {}
    for key in _result_keys(result, benchmarks):
        if not pattern.search(key) or not key.rsplit(".", 1)[-1].startswith("time_"):
            continue
        params = result.get_result_params(key)
        names = _param_names(key, params, benchmarks)
        if (not params or not names or len(names) != len(params)
                or not {"N", "workers"} <= set(names) or not set(names) <= TABLE_PARAMS):
            continue
        for combo, value in zip(itertools.product(*params), result.get_result_value(key, params)):
            point = {name: _asv.param(v) for name, v in zip(names, combo)}
            impl = point.get("impl", _impl_name(key))
            dtype = point.get("dtype", DEFAULT_DTYPE)
            column = values.setdefault(dtype, {}).setdefault((impl, point["workers"]), {})
            column[point["N"]] = value
    tables = {dtype: _measured(columns) for dtype, columns in values.items()}
    return _ordered({dtype: table for dtype, table in tables.items() if table.rows})


def _measured(columns):
    """A :class:`Table` of ``columns`` without the rows (sizes) and columns that have no value."""
    measured = {n for col in columns.values() for n, v in col.items() if _ok(v)}
    return Table({
        c: {n: v for n, v in col.items() if n in measured}
        for c, col in columns.items()
        if any(_ok(v) for v in col.values())
    })


def table_from_results(result, benchmarks=None, bench=r"^bench_dot\.", dtype=DEFAULT_DTYPE):
    """The :class:`Table` of one dtype (:func:`tables_from_results`); empty when it has no result."""
    return tables_from_results(result, benchmarks, bench).get(dtype, Table({}))


def crossover_from_results(result, benchmarks=None):
    """``track_crossover`` of one ``asv.results.Results``, by ``(dtype, workers)``.

    Parameters
    ----------
    result : asv.results.Results
        The results of one commit in one environment.
    benchmarks : dict, optional
        ``results/benchmarks.json``: only the current version is read.

    Returns
    -------
    crossover : dict of (str, int) to float or None
        The smallest ``N`` from which the threads split beats numpy.dot,
        ``nan`` when skipped, ``None`` when failed; empty when the results
        hold no crossover.
    version : str or None
        The benchmark's version (``"1+quick"``), which names its profile.
    """
    keys = [k for k in _result_keys(result, benchmarks)
            if k.rsplit(".", 1)[-1] == CROSSOVER_METHOD]
    crossover, version = {}, None
    for key in keys:
        params = result.get_result_params(key)
        names = _param_names(key, params, benchmarks, {2: CROSSOVER_PARAMS})
        if not names or sorted(names) != sorted(CROSSOVER_PARAMS) or len(params) != 2:
            continue
        version = result.benchmark_version.get(key) or (benchmarks or {}).get(key, {}).get("version")
        for combo, value in zip(itertools.product(*params), result.get_result_value(key, params)):
            point = {name: _asv.param(v) for name, v in zip(names, combo)}
            crossover[(point["dtype"], point["workers"])] = value
    return crossover, version


def profile_of(version):
    """The profile named by a benchmark version: ``"2+quick"`` -> ``"quick"`` (None without ``+``)."""
    if not version or "+" not in version:
        return None
    return version.rpartition("+")[2] or None


def largest_size(profile, fallback=None):
    """The largest ``N`` of a profile of the suite (``benchmarks.common.PROFILES``).

    Parameters
    ----------
    profile : str or None
        A profile name (``quick``, ``default``, ``gate``, ``full``).
    fallback : int or None
        Returned when the profile is unknown.
    """
    if profile is None:
        return fallback
    grid = PROFILES.get(profile)
    return max(grid.sizes) if grid else fallback


def _only(tables, dtypes=None, workers=None):
    """The tables of ``dtypes`` (all when None), with the columns at ``workers`` (all when empty)."""
    out = {}
    for dtype, table in tables.items():
        if dtypes and dtype not in dtypes:
            continue
        if workers:
            table = _measured({c: v for c, v in table.values.items() if c[1] in workers})
        if table.rows:
            out[dtype] = table
    return out


def _requested_dtypes(dtypes, available, where):
    """The dtypes asked for with ``--dtype``, checked against those with results.

    Parameters
    ----------
    dtypes : list of str or None
        The ``--dtype`` values (None: every dtype of ``available``).
    available : list of str
        The dtypes with results.
    where : str
        Machine / commit / environment, for the error message.

    Raises
    ------
    SystemExit
        When a dtype asked for has no results.
    """
    if not dtypes:
        return list(available)
    wanted = list(dict.fromkeys(dtype_name(d) for d in dtypes))
    missing = [d for d in wanted if d not in available]
    if missing:
        raise SystemExit(
            f"--dtype: got {', '.join(missing)}, which has no results for {where}; "
            f"dtypes with results: {', '.join(available) or 'none'}"
        )
    return wanted


def _versions(result, benchmarks, keys):
    """``name (version v)`` of each of ``keys``, for the provenance."""
    shown = []
    for key in keys:
        version = result.benchmark_version.get(key) or (benchmarks or {}).get(key, {}).get("version")
        shown.append(f"`{key}` (version {version})" if version else f"`{key}`")
    return ", ".join(shown)


def from_asv(args):
    """The ``from-asv`` command: report.md, report.csv and the two plots from asv's results.

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`build_parser`'s ``from-asv``.

    Returns
    -------
    int
        0; a missing or ambiguous choice raises ``SystemExit`` with the choices.
    """
    results_dir = args.results or _asv.results_dir()
    machine, result, history = _asv.select_runs(results_dir, args.machine, args.commit, args.env)
    benchmarks = _asv.load_benchmarks(results_dir)
    where = f"{machine} / {result.commit_hash[:8]} / {result.env_name}"
    all_tables = tables_from_results(result, benchmarks, args.bench)
    if not all_tables:
        raise SystemExit(
            f"no time_ results matching {args.bench!r} with parameters N and workers "
            f"(and optionally impl, dtype) for {where}"
        )
    dtypes = _requested_dtypes(args.dtype, list(all_tables), where)
    tables = _only(all_tables, dtypes, args.workers)
    if not tables:
        raise SystemExit(
            f"--workers: got {' '.join(map(str, args.workers))}, which has no results for "
            f"{', '.join(dtypes)} at {where}"
        )
    crossover, crossover_version = crossover_from_results(result, benchmarks)
    crossover = {
        (d, w): v for (d, w), v in crossover.items()
        if (not args.dtype or d in dtypes) and (not args.workers or w in args.workers)
    }
    sizes = [n for table in all_tables.values() for n in table.rows]
    largest = largest_size(profile_of(crossover_version), max(sizes, default=None))

    info = _asv.machine_info(results_dir, machine)
    reqs = getattr(result, "_requirements", None) or {}  # no public accessor in asv 0.6
    reqs = ", ".join(f"{k} {v}" if v else k for k, v in sorted(reqs.items())) or "none recorded"
    run_at = _asv.ms_to_iso(max(result.started_at.values(), default=None))
    pattern = re.compile(args.bench)
    used = [k for k in _result_keys(result, benchmarks)
            if pattern.search(k) and k.rsplit(".", 1)[-1].startswith("time_")]
    provenance = [
        f"- source: asv results in `{results_dir}`, benchmarks matching `{args.bench}`: "
        f"{_versions(result, benchmarks, used)}",
        f"- machine: `{machine}` ({info.get('cpu', '?')}, {info.get('num_cpu', '?')} cpus, "
        f"{info.get('os', '?')}, {info.get('arch', '?')})",
        f"- commit: `{result.commit_hash}` (committed {_asv.ms_to_iso(result.date)}); run {run_at}",
        f"- environment: `{result.env_name}` (python {result.params.get('python', '?')}; "
        f"requirements: {reqs})",
        f"- dtypes: {', '.join(tables)} (one table each)"
        + (f"; with results: {', '.join(all_tables)}" if list(all_tables) != list(tables) else ""),
        "- values: seconds per call (asv's result, the median of the samples); "
        "speedup = numpy.dot time at the same workers and dtype (BLAS threads = workers) / "
        "split time, above 1 the split is faster; n/a: skipped (size outside the profile, "
        "feature missing at that commit, or the per-call pool control at a dtype other than "
        "float64); per_call_pool is the suite's `per-call pool`",
    ]
    sections = [tables_markdown(tables)]
    if crossover:
        keys = [k for k in _result_keys(result, benchmarks)
                if k.rsplit(".", 1)[-1] == CROSSOVER_METHOD]
        never = (f"`never (> {_size(largest)})`: the split did not win up to the largest N "
                 f"of the profile ({_size(largest)})" if largest else
                 "largest N of the run unknown: values as recorded")
        sections.append(
            "## Crossover: smallest N from which the threads split beats numpy.dot\n\n"
            f"{_versions(result, benchmarks, keys)}, by dtype and workers; {never}.\n\n"
            + crossover_markdown(crossover, largest)
        )
    subtitle = f"{machine}, {result.commit_hash[:8]}, {result.env_name}"
    os.makedirs(args.out, exist_ok=True)
    title = "Dot product of two vectors: numpy.dot and the futures split (asv)"
    written = _write_report(args.out, tables, title, provenance, sections)
    png = os.path.join(args.out, "loglog.png")
    plot_loglog(tables, png, subtitle)
    written.append(png)

    series = []
    for r in history:
        at_workers = _only(tables_from_results(r, benchmarks, args.bench), dtypes,
                           [args.speedup_workers])
        at_workers = {d: t for d, t in at_workers.items() if t.speedup_columns}
        if at_workers:
            series.append((f"{r.commit_hash[:8]}\n{_asv.ms_to_iso(r.date)[:10]}", r.date, at_workers))
    png = os.path.join(args.out, "speedup_by_commit.png")
    if series:
        plot_speedup_by_commit(series, png, f"{machine}, {result.env_name}, workers={args.speedup_workers}")
        written.append(png)
    else:
        print(f"no speedup at workers={args.speedup_workers}: {png} not written", file=sys.stderr)
    print("\n".join(sections))
    print("wrote " + ", ".join(written))
    return 0


def _write_report(out, tables, title, provenance, sections):
    """Write ``report.md`` (title, provenance, ``sections``) and ``report.csv``; return their paths."""
    md = os.path.join(out, "report.md")
    with open(md, "w") as f:
        f.write(f"# {title}\n\n" + "\n".join(provenance) + "\n\n" + "\n".join(sections))
    path = os.path.join(out, "report.csv")
    with open(path, "w") as f:
        f.write(tables_csv(tables))
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


IMPLS = IMPLEMENTATIONS


def _direct_funcs(n, dtype, impls, workers_list):
    """Name -> callable for one size and dtype; also the shared-memory vectors to keep alive.

    Parameters
    ----------
    n : int
        The vectors' length.
    dtype : str
        Their dtype; the values are the suite's seeded ones
        (``benchmarks.common.vectors(n, dtype)``).
    impls : list of str
        Implementations among :data:`IMPLS`.
    workers_list : list of int
        Worker counts of the splits.

    Returns
    -------
    funcs : dict of (str, int or None) to callable
        One dot product each (``benchmarks.common.dot_function``), by column
        ``(implementation, workers)``; ``numpy.dot`` has no worker count
        (default BLAS threads).
    shared : tuple of numpy.ndarray or None
        The vectors in ``paralleldot.shared_empty`` memory of ``processes``.
    """
    import numpy as np

    import paralleldot

    a, b = vectors(n, dtype)
    funcs = {}
    shared = None
    if "processes" in impls:
        shared = (paralleldot.shared_empty(n, np.dtype(dtype)), paralleldot.shared_empty(n, np.dtype(dtype)))
        shared[0][:], shared[1][:] = a, b
    for impl in impls:
        if impl == REFERENCE:
            funcs[(REFERENCE, None)] = dot_function(REFERENCE, a, b, None)
            continue
        x, y = shared if impl == "processes" else (a, b)
        for k in workers_list:
            try:
                funcs[(impl, k)] = dot_function(impl, x, y, k)
            except NotImplementedError as exc:  # an optional peer not installed
                print(f"{impl} left out ({dtype}): {exc}", file=sys.stderr)
                break
    return funcs, shared


def direct(args):
    """The ``direct`` command: measure now, write report.md, report.csv, measurements.csv, loglog.png.

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`build_parser`'s ``direct``.

    Returns
    -------
    int
        0; an invalid option raises ``SystemExit`` before anything is measured.
    """
    import numpy as np
    from tqdm import tqdm

    import paralleldot

    sizes = []
    for s in args.sizes:
        try:
            sizes.append(int(float(s)))
        except ValueError:
            raise SystemExit(f"--sizes: got {s!r}, which is not a number (e.g. 1e5)") from None
    impls = list(args.impl)
    unknown = [i for i in impls if i not in IMPLS]
    if unknown or REFERENCE not in impls:
        raise SystemExit(
            f"--impl: got {' '.join(args.impl)}; it must include numpy.dot and be among "
            f"{', '.join(IMPLS)}"
        )
    dtypes = list(dict.fromkeys(dtype_name(d, "--dtypes") for d in args.dtypes))
    points = [(n, dtype) for n in sizes for dtype in dtypes]
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    stats = {}
    try:
        bar = tqdm(points, desc="sizes x dtypes", unit="point")
        for n, dtype in bar:
            bar.set_postfix_str(f"N={_size(n)} {dtype}")
            funcs, shared = _direct_funcs(n, dtype, impls, args.workers)
            for column, s in measure_interleaved(funcs, args.repeat, args.number, args.warmup).items():
                stats[(dtype, column, n)] = s
            del funcs, shared
            vectors.cache_clear()  # at most one size and dtype in memory (1e8: 1.6 GB)
    finally:
        paralleldot.shutdown()
    load_after = os.getloadavg()
    values = {}
    for (dtype, column, n), s in stats.items():
        values.setdefault(dtype, {}).setdefault(column, {})[n] = s[args.stat]
    tables = _ordered({dtype: Table(columns) for dtype, columns in values.items()})

    provenance = [
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; load average before/after: "
        f"{load_before[0]:.2f} / {load_after[0]:.2f}",
        f"- machine: {_fmt.machine_line()}",
        f"- environment: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"numpy {np.__version__}, BLAS {_fmt.blas_info()}, paralleldot {paralleldot.__version__} at {_git.describe()}",
        f"- command: `python -m benchtools {' '.join(args.argv)}`",
        f"- inputs: dtypes {', '.join(tables)} (one table each), the asv suite's seeded vectors "
        f"(`benchmarks.common.vectors(N, dtype)`, seed {SEED}: floats uniform in [-1, 1), "
        "integers in [-100, 100))",
        f"- measurement: per size and dtype, each column {args.warmup} warm-up call(s), then "
        f"{args.repeat} samples of {args.number} calls, taken in turn across columns; values are "
        f"the {args.stat} seconds per call over the samples; speedup = numpy.dot time / split "
        "time at the same dtype (above 1 the split is faster)",
        "- columns: numpy.dot with default BLAS threads; per_call_pool = the example's split "
        "(a new thread pool per call; its `futures` column); threads, auto, processes = "
        "`paralleldot.parallel_dot` with that backend (processes on shared_empty vectors); "
        "w = workers",
    ]
    os.makedirs(args.out, exist_ok=True)
    title = "Dot product of two vectors: numpy.dot and the futures split (direct)"
    sections = [tables_markdown(tables)]
    written = _write_report(args.out, tables, title, provenance, sections)
    path = os.path.join(args.out, "measurements.csv")
    fields = ["average", "deviation", "min_exec", "max_exec", "repeat", "number", "warmup", "ttime"]
    with open(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["dtype", "N", "implementation", "workers"] + fields)
        order = lambda item: (  # noqa: E731
            dtype_rank(item[0][0]), item[0][2], tables[item[0][0]].columns.index(item[0][1])
        )
        for (dtype, column, n), s in sorted(stats.items(), key=order):
            writer.writerow([dtype, n, column[0], "" if column[1] is None else column[1]]
                            + [s[k] for k in fields])
    written.append(path)
    png = os.path.join(args.out, "loglog.png")
    plot_loglog(
        tables, png,
        f"{os.cpu_count()} cpus {_fmt.cpu_model()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{started.strftime('%Y-%m-%d')}",
    )
    written.append(png)
    print("\n".join(sections))
    print("wrote " + ", ".join(written))
    return 0


# --- command line ------------------------------------------------------------------


def build_parser(parser):
    """Add the ``from-asv`` and ``direct`` modes to ``parser``."""
    sub = parser.add_subparsers(dest="mode", required=True, metavar="MODE")

    p = sub.add_parser("from-asv", help="the tables and plots from asv's results/")
    p.add_argument("--results", help="asv results directory (default: results_dir of ./asv.conf.json)")
    p.add_argument("--machine", help="machine name (default: the only machine in the results)")
    p.add_argument("--commit", help="commit hash prefix or git ref (default: the newest with results)")
    p.add_argument("--env", help="environment name or a unique part of it")
    p.add_argument("--bench", default=r"^bench_dot\.", help="regex of the time_ benchmarks (default: %(default)s)")
    p.add_argument("--dtype", nargs="+", help="keep only these dtypes (default: every dtype with results)")
    p.add_argument("--workers", type=int, nargs="+", help="keep only these worker counts in the tables")
    p.add_argument("--speedup-workers", type=int, default=2, help="workers of the across-commits plot")
    p.add_argument("--out", default=os.path.join("docs", "asv"), help="output directory (default: %(default)s)")
    p.set_defaults(func=from_asv)

    p = sub.add_parser("direct", help="run the example's experiment now, without asv")
    p.add_argument("--sizes", nargs="+", default=["1e5", "1e6", "1e7", "1e8"], help="vector lengths")
    p.add_argument("--workers", type=int, nargs="+", default=[2])
    p.add_argument("--dtypes", nargs="+", default=list(DIRECT_DTYPES),
                   help=f"dtypes of the vectors (default: {' '.join(DIRECT_DTYPES)})")
    p.add_argument("--impl", nargs="+", default=list(IMPLS), help=f"among {', '.join(IMPLS)}")
    p.add_argument("--repeat", type=int, default=10, help="samples per column (default: %(default)s)")
    p.add_argument("--number", type=int, default=50, help="calls per sample (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls first (default: %(default)s)")
    p.add_argument("--stat", default="average", choices=["average", "min_exec", "max_exec"],
                   help="statistic shown in the table and plot (default: %(default)s, as the example)")
    p.add_argument("--out", default=os.path.join("docs", "direct"), help="output directory (default: %(default)s)")
    p.set_defaults(func=direct)


def main(args):
    """Run the mode of ``args``; return the exit status."""
    return args.func(args)
