"""Change points of the paired ratio across the history: where the answer changed.

    python -m benchtools history changes [--results DIR] [--machine NAME] [--env PART]
                                         [--max-pvalue P] [--min-step S] [--html PATH]

The series read is ``bench_speedup.Speedup.track_speedup``: numpy.dot time
/ split time, measured in turn in one process, one value per commit and
environment. The two times of a ratio share the machine's state of the
moment (where the BLAS threads run, the memory bandwidth of those minutes),
which moves raw times between commits by 1.2 to 2.3 times here
(docs/history.md, the noise floor); the ratio cancels most of it. For each
(environment, split, N, workers, dtype) the values are put in the order of
the commits in git (topological; by date when a commit is not in the
repository), skipped points (a split a commit does not have) and failed
ones left out, and a change-point finder names the commits at which the
ratio stepped: each change point is the first commit of the new level,
with the mean of the ratio over the segment before it and after it (up to
the neighbouring change points), the step (after / before), the p-value of
the finder's test and how many commits each side holds.

The finder: apache-otava
------------------------
apache-otava 0.8.0 (``otava.analysis.compute_change_points``: E-Divisive
means split the series, a two-sided Student's t-test between the segments
decides, weak points are merged away; Fleming et al., "Hunter", ICPE 2023,
from MongoDB's and DataStax's performance CI). Chosen over
signal-processing-algorithms 2.1.6 (MongoDB's E-Divisive) because

- signal-processing-algorithms 2.1.6 declares ``Requires-Python >=3.11,<3.12``
  and ``numpy<2``: pip refuses it on 3.10, 3.12 and 3.13, and elsewhere it
  would downgrade the tools' numpy to 1.x; it is an sdist only (a C
  extension built at install) and pulls gevent and structlog;
- its significance is a permutation test: with the ~10 commits of a
  history, the few distinct permutations give p-values too coarse to mean
  much, and a seed decides borderline points; otava's t-test is
  deterministic and, its documentation says, "works well even with tiny
  numbers of points (<10)";
- otava supports Python 3.10 to 3.14 with a pure-Python wheel, and the
  part used here (``otava.analysis``) needs numpy and scipy only and no
  network.

Its cost: the wheel pins ``numpy==2.2.0`` (Python < 3.14) and pulls ~40
packages for its command line (Google BigQuery, Postgres, Slack clients,
grpcio, cryptography) that this module does not use; they go into the
tools' ``.venv`` (the ``bench`` extra), not into asv's benchmark
environments, whose numpy the matrix chooses.

Thresholds: a change point is kept when its p-value is below
``--max-pvalue`` (default 0.001, otava's own) and its step is at least
``--min-step`` (default 1.1 either way: asv.conf.json's
``regressions_thresholds``, the issue's 10 %). Simulated on 10 commits with
log-normal scatter (seeded, 200 to 300 series each): at a scatter of 10 %
a 1.5x step in the middle is found 83 % of the time, at 8 of 10 80 %, and a
flat series gets a false change point 1.7 to 3 % of the time; at p < 0.01
the false rate is 14 to 16 % per series, too many for a history of ~40
series; at 20 % scatter a 1.5x step is found 17 to 22 % of the time only.
otava's t-test uses the population standard deviation (``np.std``): a
segment of one commit (a step at the newest commit) has none, which makes
its p-value optimistic: such a step is listed apart, as waiting for a
second commit (:attr:`Change.pending`), and counted once one holds it.

asv's own ``step_detect`` (its regressions page) fits piecewise-constant
levels to one run's values; this is a second opinion with a test, on the
series that cancels the machine.

``asv publish`` writes the same table to ``html/changes.html`` (the
``benchtools.changes`` plugin of asv.conf.json), linked from the site's
navigation bar, and writes asv's Regressions page again from otava's
change points (:class:`ChangePointRegressions`: the controls not read, a
split's raw time read relative to numpy.dot's, steps the worse way only
(:func:`higher_is_better`), asv's format).
"""

import dataclasses
import datetime
import html
import itertools
import math
import os
import statistics
import subprocess
import warnings

# The suite's names come in with the module: asv puts the repository on
# sys.path only while it imports its plugins, not when it runs them.
from benchmarks.common import NUMPY_DOT

from . import _asv, _git
from .history import SIDE_BY_SIDE, control_impl

try:
    from asv.publishing import OutputPublisher
except ImportError:  # asv not installed: the command line still works
    OutputPublisher = object

#: The series read: the paired ratio.
BENCHMARK = "bench_speedup.Speedup.track_speedup"
#: The parameters of a series besides the environment, in the order shown.
SERIES_PARAMS = ("impl", "N", "workers", "dtype")
MAX_PVALUE = 0.001
#: Raw series of the Regressions page read over numpy.dot's value at the same
#: commit and point (measured in the same asv run), with the series that do
#: not depend on the package and are not controls of the noise floor
#: (:func:`benchtools.history.control_impl`, which holds time_dot's
#: numpy.dot), which are not read either: numpy.dot's bandwidth and the copy
#: ceiling. On a fresh clone of 9f68283 the page listed numpy.dot's own
#: bandwidth at 1e7 (1.35x at 7f73f3a) and the threads split's, read raw
#: (1.41x): the machine's memory bandwidth at two moments.
READ_AGAINST_NUMPY_DOT = {SIDE_BY_SIDE: (),
                          "bench_bandwidth.Bandwidth.track_bandwidth": (NUMPY_DOT, "ceiling")}
#: Units whose higher values are better: every ``ratio`` of this suite is a
#: reference's time over the one measured (``numpy.dot time / split time``,
#: ``threads time / dask time``: above 1 the one measured is faster), and
#: bytes per second. The Regressions page lists a *fall* of these, and a
#: rise of the others (seconds, N, ns/byte), asv's convention. With asv's
#: convention alone the page of a fresh clone (cce0106) listed 19 steps of
#: which 16 were splits becoming faster (``track_speedup`` of int32
#: ``auto`` 5.69x at 3bbe1b3, the chunk kernel), under "Regressions".
HIGHER_IS_BETTER_UNITS = ("ratio", "GB/s")
MIN_STEP = 1.1
#: Fewer values than this make no series to test.
MIN_POINTS = 3
#: otava's sliding window: longer than any history measured here, so one window.
WINDOW = 50
PAGE = "changes.html"


@dataclasses.dataclass
class Series:
    """One (environment, split, N, workers, dtype) series of the ratio, commits in order."""

    env: str
    params: tuple  # values of SERIES_PARAMS
    commits: list
    values: list


@dataclasses.dataclass
class Change:
    """A change point: the ratio's level moved at ``commit`` (the first commit of the new level)."""

    series: Series
    index: int
    before: float
    after: float
    pvalue: float
    n_before: int
    n_after: int

    @property
    def commit(self):
        return self.series.commits[self.index]

    @property
    def step(self):
        return self.after / self.before if self.before else math.inf

    @property
    def pending(self):
        """The new level is the newest commit alone: one value, waiting for a second commit.

        otava's t-test on a segment of one value is optimistic (no scatter
        of its own), and that value carries whatever the machine was doing
        when it was measured: on a fresh clone of 321482e, ``auto`` 1e6
        float64 (Python 3.10) read 0.97 -> 0.54 at the newest commit, p
        1.2e-07, where the gate, measuring both commits side by side, gave
        0.998 [0.994, 1.002].
        """
        return self.n_after == 1 and self.index == len(self.series.values) - 1


@dataclasses.dataclass
class Report:
    """What :func:`find_changes` found for one machine.

    ``changes`` holds the change points whose new level has two commits or
    more; ``pending`` the steps at the newest commit alone
    (:attr:`Change.pending`), which the next commit confirms or not (or
    ``python -m benchtools gate``, which measures two commits side by side).
    """

    machine: str
    series: list
    changes: list
    pending: list
    subjects: dict
    ordered_by: str
    max_pvalue: float
    min_step: float
    commits: list


def find(values, max_pvalue=MAX_PVALUE, min_step=MIN_STEP):
    """Change points of ``values`` with otava: ``[(index, before, after, pvalue, n_before, n_after)]``.

    ``index`` is the first value of the new level. ``min_step`` is the
    smallest step (after / before, or its inverse) kept.
    """
    from otava.analysis import compute_change_points

    values = [float(v) for v in values]
    if len(values) < MIN_POINTS:
        return []
    with warnings.catch_warnings():
        # scipy's t-test on segments without scatter (equal values): p is 0 or 1 anyway.
        warnings.simplefilter("ignore", RuntimeWarning)
        points, _ = compute_change_points(values, window_len=WINDOW, max_pvalue=max_pvalue,
                                          min_magnitude=max(0.0, min_step - 1.0))
    indexes = [int(cp.index) for cp in points]
    out = []
    for k, cp in enumerate(points):
        start = indexes[k - 1] if k else 0
        stop = indexes[k + 1] if k + 1 < len(indexes) else len(values)
        out.append((indexes[k], float(cp.stats.mean_1), float(cp.stats.mean_2),
                    float(cp.stats.pvalue), indexes[k] - start, stop - indexes[k]))
    return out


def _order(hashes, dates, repo):
    """``(hashes in order, how)``: git's topological order, or the commit dates when git lacks one."""
    topo = _git.topo_order(cwd=repo)
    if hashes and all(h in topo for h in hashes):
        return sorted(hashes, key=lambda h: topo[h]), "git topology"
    return sorted(hashes, key=lambda h: (dates.get(h) or 0, topo.get(h, -1), h)), "commit date"


def collect(results_dir, machine, env_part=None, repo=None):
    """``(series, commits in order, how ordered, dates)`` of :data:`BENCHMARK` for ``machine``."""
    import asv.results

    benchmarks = _asv.load_benchmarks(results_dir) or {}
    if BENCHMARK not in benchmarks:
        return [], [], "", {}
    names = benchmarks[BENCHMARK]["param_names"]
    values = {}  # (env, params) -> {commit: value}
    dates = {}
    for result in asv.results.iter_results_for_machine(results_dir, machine):
        if env_part and env_part not in result.env_name:
            continue
        if BENCHMARK not in result.get_result_keys(benchmarks):
            continue  # another version of the benchmark (another profile)
        dates[result.commit_hash] = result.date
        for point, value in _asv.points(result, BENCHMARK, names):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            key = (result.env_name, tuple(point.get(p) for p in SERIES_PARAMS))
            values.setdefault(key, {})[result.commit_hash] = value
    order, how = _order(sorted(dates), dates, repo)
    position = {h: i for i, h in enumerate(order)}
    series = []
    for (env, params), by_commit in sorted(values.items(), key=lambda kv: _series_key(*kv[0])):
        commits = sorted(by_commit, key=position.get)
        series.append(Series(env, params, commits, [by_commit[c] for c in commits]))
    return series, order, how, dates


def _series_key(env, params):
    return (env, *[(str(type(p)), p) for p in params])


def find_changes(results_dir, machine=None, env_part=None, max_pvalue=MAX_PVALUE,
                 min_step=MIN_STEP, repo=None):
    """One :class:`Report` per machine (``machine``, or every machine with results)."""
    repo = repo or os.getcwd()
    machines = [machine] if machine else _asv.machines(results_dir)
    reports = []
    for name in machines:
        series, order, how, _ = collect(results_dir, name, env_part, repo)
        found = [Change(s, *point) for s in series
                 for point in find(s.values, max_pvalue, min_step)]
        changes = [c for c in found if not c.pending]
        pending = [c for c in found if c.pending]
        try:
            subjects = _git.subjects(order, cwd=repo) if how == "git topology" else {}
        except (OSError, subprocess.CalledProcessError):  # a commit git does not know
            subjects = {}
        reports.append(Report(name, series, changes, pending, subjects, how, max_pvalue,
                              min_step, order))
    return reports


# --- output ---------------------------------------------------------------------


def _n(n):
    return f"{n:.0e}".replace("e+0", "e") if isinstance(n, int) and n >= 1000 else str(n)


def _describe(params):
    impl, n, workers, dtype = params
    return f"{impl} N={_n(n)} workers={workers} {dtype}"


def rows(report):
    """Table rows of the change points: strings, in the order printed."""
    out = []
    for c in report.changes:
        out.append([_asv.short_env(c.series.env), *[_n(p) if i == 1 else str(p)
                                                    for i, p in enumerate(c.series.params)],
                    c.commit[:8], report.subjects.get(c.commit, "")[:50],
                    f"{c.before:.2f}", f"{c.after:.2f}", f"{c.step:.2f}x", f"{c.pvalue:.1e}",
                    f"{c.n_before}+{c.n_after}"])
    return out


HEADER = ["environment", "split", "N", "workers", "dtype", "commit", "subject", "before",
          "after", "step", "p-value", "commits"]


def format_report(report):
    """The plain-text table of one machine's change points, with what was read."""
    lines = []
    tested = [s for s in report.series if len(s.values) >= MIN_POINTS]
    lines.append(f"history: change points of numpy.dot time / split time ({BENCHMARK}), "
                 f"machine {report.machine}: {len(tested)} series of {MIN_POINTS}+ commits "
                 f"({len(report.commits)} commits, ordered by {report.ordered_by or '-'}), "
                 f"apache-otava t-test p < {report.max_pvalue:g}, step >= {report.min_step:g}x "
                 "either way")
    if not report.series:
        lines.append(f"  no {BENCHMARK} results yet")
        return "\n".join(lines)
    table = rows(report)
    if not table:
        lines.append("  none: no series stepped")
    else:
        widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(HEADER)]
        right = {"N", "workers", "before", "after", "step", "p-value", "commits"}

        def fmt(row):
            return "  " + "  ".join(c.rjust(w) if h in right else c.ljust(w)
                                    for c, w, h in zip(row, widths, HEADER))

        lines.append(fmt(HEADER).rstrip())
        lines.extend(fmt(r).rstrip() for r in table)
    if report.pending:
        lines.append(f"  at the newest commit alone, not counted until a second commit (or "
                     f"`python -m benchtools gate A B`) confirms it: {len(report.pending)}")
        for c in report.pending:
            lines.append(f"    {_asv.short_env(c.series.env)} {_describe(c.series.params)}: "
                         f"{c.before:.2f} -> {c.after:.2f} ({c.step:.2f}x) at {c.commit[:8]}")
    stepped = {id(c.series) for c in report.changes}
    lines.append(f"  {len(tested) - len(stepped)} of {len(tested)} series have no change point"
                 + (f"; {len(report.series) - len(tested)} with fewer than {MIN_POINTS} "
                    "commits not tested" if len(report.series) > len(tested) else ""))
    return "\n".join(lines)


def html_page(reports, generated=None):
    """A static HTML page (no script, no network) of the change points of ``reports``."""
    e = html.escape
    generated = generated or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>Change points of the split's speedup</title>",
        ("<style>body{font-family:sans-serif;margin:1.5em;max-width:75em}"
         "table{border-collapse:collapse;margin:.5em 0 1.5em}"
         "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
         "td.num{text-align:right}tr.up td.step{color:#070}tr.down td.step{color:#a00}"
         "</style></head><body>"),
        '<p><a href="index.html">&larr; the benchmark site</a></p>',
        "<h1>Where the answer changed</h1>",
        (f"<p>Change points of <code>{e(BENCHMARK)}</code>, numpy.dot time / split time "
         "measured in turn in one process (above 1 the split is faster), per environment, "
         "split, N, workers and dtype, across the commits in git order. A change point is the "
         "first commit of a new level; <em>before</em> and <em>after</em> are the ratio's mean "
         "over the commits on each side (up to the neighbouring change points). Found with "
         "apache-otava (E-Divisive means, Student's t-test). Written by <code>asv publish</code> "
         f"(<code>python -m benchtools history changes</code> prints the same), {e(generated)}.</p>"),
    ]
    if not reports:
        parts.append("<p>No results.</p>")
    for report in reports:
        tested = [s for s in report.series if len(s.values) >= MIN_POINTS]
        parts.append(f"<h2>Machine {e(report.machine)}</h2>")
        parts.append(f"<p>{len(tested)} series of {MIN_POINTS} commits or more, "
                     f"{len(report.commits)} commits ordered by {e(report.ordered_by or '-')}; "
                     f"kept: p &lt; {report.max_pvalue:g} and a step of at least "
                     f"{report.min_step:g}x either way.</p>")
        table = rows(report)
        if not table:
            parts.append("<p><strong>No change point</strong>: no series stepped.</p>")
        else:
            parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in HEADER)
                         + "</tr></thead><tbody>")
            numeric = {"N", "workers", "before", "after", "step", "p-value", "commits"}
            for change, row in zip(report.changes, table):
                cls = "up" if change.step >= 1 else "down"
                cells = "".join(
                    f'<td class="{"num " if h in numeric else ""}{"step" if h == "step" else ""}"'
                    f' title="{e(change.commit) if h == "commit" else ""}">{e(c)}</td>'
                    for h, c in zip(HEADER, row))
                parts.append(f'<tr class="{cls}">{cells}</tr>')
            parts.append("</tbody></table>")
        if report.pending:
            parts.append(
                "<h3>At the newest commit alone: waiting for a second commit</h3>"
                "<p>A new level of one value: the t-test has no scatter of its own to go on, "
                "and the value carries whatever the machine did when it was measured. These "
                "count once the next commit holds them, or once <code>python -m benchtools "
                "gate A B</code> (both commits side by side) says so.</p><ul>")
            for c in report.pending:
                parts.append(f"<li>{e(_asv.short_env(c.series.env))} {e(_describe(c.series.params))}"
                             f": {c.before:.2f} &rarr; {c.after:.2f} ({c.step:.2f}x) at "
                             f'<code title="{e(c.commit)}">{e(c.commit[:8])}</code> '
                             f"{e(report.subjects.get(c.commit, '')[:60])}</li>")
            parts.append("</ul>")
        parts.append("<details><summary>Every series read</summary><table><thead><tr>"
                     "<th>environment</th><th>series</th><th>commits</th><th>ratio, oldest to "
                     "newest</th><th>change points</th></tr></thead><tbody>")
        for s in report.series:
            found = [c.commit[:8] for c in report.changes if c.series is s]
            found += [f"{c.commit[:8]} (newest alone)" for c in report.pending if c.series is s]
            parts.append(
                f"<tr><td>{e(_asv.short_env(s.env))}</td><td>{e(_describe(s.params))}</td>"
                f'<td class="num">{len(s.values)}</td>'
                f"<td>{e(' '.join(f'{v:.2f}' for v in s.values))}</td>"
                f"<td>{e(', '.join(found) or '-')}</td></tr>")
        parts.append("</tbody></table></details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_page(html_dir, reports):
    """Write ``html_dir/changes.html`` and link it from ``index.html``'s navigation bar."""
    path = os.path.join(html_dir, PAGE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(html_page(reports))
    link_from_index(html_dir)
    return path


#: The navigation entry added to asv's index.html, after its "Regressions" entry.
NAV_ITEM = f'<li id="nav-li-changes"><a href="{PAGE}">Change points</a></li>'
_NAV_ANCHOR = '<li id="nav-li-regressions">'


def link_from_index(html_dir):
    """Add :data:`NAV_ITEM` to asv's index.html (idempotent); False when there is no place for it."""
    index = os.path.join(html_dir, "index.html")
    try:
        with open(index, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return False
    if NAV_ITEM in text:
        return True
    at = text.find(_NAV_ANCHOR)
    if at < 0:
        return False
    end = text.find("</li>", at)
    if end < 0:
        return False
    end += len("</li>")
    with open(index, "w", encoding="utf-8") as f:
        f.write(text[:end] + "\n\t" + NAV_ITEM + text[end:])
    return True


# --- asv publish ----------------------------------------------------------------


class ChangesPage(OutputPublisher):
    """Runs inside ``asv publish``: writes html/changes.html from the results published."""

    name = "changes"
    button_label = None
    description = "Change points of the paired ratio (apache-otava)"
    order = 10**6 - 1  # after asv's own pages, before asv_offline's check of every page

    @classmethod
    def publish(cls, conf, repo, benchmarks, graphs, revisions):
        from asv.console import log

        try:
            reports = find_changes(conf.results_dir)
        except ImportError as exc:
            reports = None
            why = (f"apache-otava is not installed ({exc}): "
                   "pip install -e '.[bench]' and publish again")
        if reports is None:
            log.warning(f"changes: {why}")
            with open(os.path.join(conf.html_dir, PAGE), "w", encoding="utf-8") as f:
                f.write(f"<!DOCTYPE html><html><body><p>{html.escape(why)}</p></body></html>\n")
            link_from_index(conf.html_dir)
            return
        write_page(conf.html_dir, reports)
        found = sum(len(r.changes) for r in reports)
        pending = sum(len(r.pending) for r in reports)
        log.info(f"changes: {found} change point(s) in {PAGE}"
                 + (f", {pending} more at the newest commit alone" if pending else ""))


# --- asv's Regressions page, from change points ----------------------------------

def not_read(name, impl):
    """Whether the Regressions page leaves benchmark ``name``'s series at ``impl`` out.

    ``impl`` is the point's ``impl`` value (unquoted), or None. The controls
    (:func:`benchtools.history.control_impl`) and the series of
    :data:`READ_AGAINST_NUMPY_DOT` that do not depend on the package.
    """
    return (control_impl(name, impl) is not None
            or impl in READ_AGAINST_NUMPY_DOT.get(name, ()))


def reference_of(name):
    """The ``impl`` value (asv's string) a series of ``name`` is read against, or None."""
    return repr(NUMPY_DOT) if name in READ_AGAINST_NUMPY_DOT else None


def regression_series(data, combo_index, combos, reference=None):
    """``[(revision, value, value read)]`` of one parameter combination of one graph.

    ``data`` is ``Graph.get_data()``, ``combos`` the graph's parameter
    combinations (asv's strings). The value read is the value itself, except
    with ``reference``, the ``impl`` value (asv's string) of numpy.dot
    (:func:`reference_of`: ``time_dot`` and ``track_bandwidth``): a split's
    value is then read over numpy.dot's at the same
    commit and (N, workers, dtype), measured in the same asv run seconds
    apart, which takes out most of the machine's drift between commits
    (memory bandwidth moved 2.0 to 4.8 ms at 1e7 between identical
    processes minutes apart here). Missing and failed values are left out.
    """
    combo = combos[combo_index]
    at = None  # the index of the reference's combination
    if reference is not None and combo[0] != reference:
        wanted = (reference, *combo[1:])
        if wanted not in combos:
            return []
        at = combos.index(wanted)
    out = []
    for revision, values, _ in data:
        value = values[combo_index] if isinstance(values, list) else values
        if value is None or not math.isfinite(value):
            continue
        read = value
        if at is not None:
            ref = values[at]
            if ref is None or not math.isfinite(ref) or ref <= 0:
                continue
            read = value / ref
        out.append((revision, value, read))
    return out


def higher_is_better(benchmark):
    """Whether a higher value of ``benchmark`` (asv's dict) is better (:data:`HIGHER_IS_BETTER_UNITS`)."""
    return benchmark.get("unit") in HIGHER_IS_BETTER_UNITS


def regression_jumps(series, threshold, max_pvalue=MAX_PVALUE, higher_better=False):
    """``[(index, before, after, pvalue)]``: otava's change points where the value read got worse.

    Worse is higher (asv's convention: a longer time), or lower with
    ``higher_better`` (:func:`higher_is_better`: a speedup or a bandwidth
    that fell). A step of at least ``1 + threshold`` that way, with p below
    ``max_pvalue``. ``before`` and ``after`` are the means of the values
    themselves (not those read) on each side.

    A new level of one commit (the newest) waits for its second commit (or
    for the gate, which measures the two commits side by side): the
    t-test's p-value on one value is optimistic, and that value carries
    whatever the machine was doing at that moment. Measured on 2026-12-04:
    the dask cluster's fixed cost read 1.63x at the newest commit, whose
    change was to the compiled kernel only; and a paired ratio is not
    spared (:attr:`Change.pending`: ``auto`` 1e6 float64 read 0.97 -> 0.54
    at the newest commit, 0.998 in the gate). Until then a one-value level
    clear of every value before it by the threshold was listed.
    """
    reads = [read for _, _, read in series]
    out = []
    for index, before_read, after_read, pvalue, n_before, n_after in find(
            reads, max_pvalue, 1.0 + threshold):
        worse, better = (before_read, after_read) if higher_better else (after_read, before_read)
        if worse < (1.0 + threshold) * better:
            continue  # a step the better way: an improvement
        if n_after < 2:
            continue
        start, stop = index - n_before, index + n_after
        before = statistics.fmean(v for _, v, _ in series[start:index])
        after = statistics.fmean(v for _, v, _ in series[index:stop])
        out.append((index, before, after, pvalue))
    return out


try:
    from asv.plugins.regressions import Regressions as _AsvRegressions
    from asv.plugins.regressions import _GraphDataFilter
except ImportError:  # asv not installed: the command line still works
    _AsvRegressions = None

if _AsvRegressions is not None:

    class ChangePointRegressions(_AsvRegressions):
        """asv's Regressions page and feed, written again from otava's change points.

        asv's own ``step_detect`` fits levels to the values of one run and
        takes every move of the machine between commits for a step: on a
        fresh clone it listed 19 "regressions" of which the control series'
        and most others were the machine. This runs after it (``order``)
        and writes ``regressions.json`` and ``regressions.xml`` again, in
        asv's format, so the page and its feed stay asv's:

        - each series of each graph (environment), per parameter
          combination, in the graph's commit order;
        - the controls and the other series that do not depend on the
          package are not read (:func:`not_read`);
        - a split's ``time_dot`` and ``track_bandwidth`` are read relative
          to numpy.dot's (:func:`regression_series`);
        - a regression is a change point of apache-otava (p <
          :data:`MAX_PVALUE`) at which the value got worse (rose, or fell
          where higher is better: :func:`higher_is_better`) by at least the
          threshold of ``regressions_thresholds`` (asv.conf.json),
          ``regressions_first_commits`` honoured;
        - a new level of one commit waits for its second
          (:func:`regression_jumps`).
        """

        order = 4  # after asv's Regressions (3), whose files this replaces

        @classmethod
        def publish(cls, conf, repo, benchmarks, graphs, revisions):
            from asv.console import log

            try:
                import otava.analysis  # noqa: F401
            except ImportError as exc:
                log.warning(f"changes: apache-otava is not installed ({exc}); the Regressions "
                            "page keeps asv's own step detection")
                return
            revision_to_hash = {r: h for h, r in revisions.items()}
            data_filter = _GraphDataFilter(conf, repo, revisions)
            all_params = graphs.get_params()
            regressions = []
            for file_name, graph in graphs:
                if "summary" in graph.params:
                    continue
                benchmark = benchmarks.get(os.path.basename(file_name))
                if not benchmark:
                    continue
                combos = (list(itertools.product(*benchmark["params"]))
                          if benchmark.get("params") else [None])
                data = graph.get_data()
                reference = reference_of(benchmark["name"])
                higher_better = higher_is_better(benchmark)
                graph_params = {k: v for k, v in graph.params.items() if len(all_params[k]) > 1}
                names = benchmark.get("param_names") or []
                at_impl = names.index("impl") if "impl" in names else None
                for j, entry_name, _, threshold in data_filter.get_graph_data(graph, benchmark):
                    impl = None if at_impl is None else combos[j or 0][at_impl].strip("'")
                    if not_read(benchmark["name"], impl):
                        continue
                    start = data_filter._get_start_revision(graph, benchmark, entry_name)
                    series = [p for p in regression_series(data, j or 0, combos, reference)
                              if p[0] >= start]
                    jumps = []
                    for index, before, after, _ in regression_jumps(series, threshold,
                                                                    higher_better=higher_better):
                        rev_a, rev_b = series[index - 1][0], series[index][0]
                        commits = repo.get_hashes_from_range(repo.get_range_spec(
                            revision_to_hash[rev_a], revision_to_hash[rev_b]))
                        jumps.append([None if len(commits) == 1 else rev_a, rev_b, before, after])
                    if jumps:
                        values = [v for _, v, _ in series]
                        best = max(values) if higher_better else min(values)
                        regressions.append([entry_name, graph.path + ".json", graph_params, j,
                                            values[-1], best, jumps])
            cls._save(conf, {"regressions": regressions})
            cls._save_feed(conf, benchmarks, regressions, revisions, revision_to_hash)
            log.info(f"changes: {len(regressions)} regression(s) from change points "
                     "on the Regressions page")
