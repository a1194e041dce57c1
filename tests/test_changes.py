"""Change points of the paired ratio (benchtools/changes.py), and result files a kill cannot spoil.

Fast tests on results fabricated through asv's own Results API, in a small
git repository whose commits order them:

- a series that steps from 1.0 to 1.5 at a known commit is found there,
  with its means, its step and a small p-value; flat noisy series give no
  change point; the commits are ordered by git, not by their dates;
- ``history changes`` prints the table and writes the HTML page; ``asv
  publish``'s plugin writes html/changes.html and links it from index.html;
- ``benchtools._atomic.write_json`` never leaves a partial file where asv's
  own does; ``history check`` sets aside a result file that does not parse.
"""

import datetime
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("otava.analysis", reason="apache-otava (the bench extra) is not installed")

from benchtools import _atomic, changes, history
from benchtools.__main__ import main as benchtools_main

ENV = "virtualenv-py3.11-dask-numpy2.4.6"
COMMITS = 10
STEP_AT = 6  # the first commit of the new level
PARAMS = [["'threads'", "'auto'"], ["100000"], ["2"], ["'int32'", "'float64'"]]
NAMES = ["impl", "N", "workers", "dtype"]


def _git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    """A git repository of COMMITS empty commits, subjects ``commit 0`` ..., oldest first."""
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q")
    hashes = []
    for i in range(COMMITS):
        _git(path, "commit", "-q", "--allow-empty", "-m", f"commit {i}")
        hashes.append(_git(path, "rev-parse", "HEAD").strip())
    return path, hashes


def _series(seed=0):
    """``{(impl, dtype): [value per commit]}``: threads/int32 steps 1.0 -> 1.5 at STEP_AT.

    The others are flat with scatter: threads/float64 around 0.9 (3 %),
    auto/int32 around 2.0 (5 %), auto/float64 around 1.0 (8 %), which also
    has a skipped commit (NaN: the backend did not exist).
    """
    rng = np.random.default_rng(seed)

    def noise(sd):
        return np.exp(sd * rng.standard_normal(COMMITS))

    step = np.where(np.arange(COMMITS) < STEP_AT, 1.0, 1.5) * noise(0.03)
    auto_float = 1.0 * noise(0.08)
    auto_float[0] = math.nan
    return {("threads", "int32"): step, ("threads", "float64"): 0.9 * noise(0.03),
            ("auto", "int32"): 2.0 * noise(0.05), ("auto", "float64"): auto_float}


def _save(results, hashes, benchmark, values, env=ENV, machine="vm", dates=None):
    """One asv result file per commit holding ``values[i]`` of ``benchmark``, and benchmarks.json."""
    import asv.results
    import asv.runner

    mdir = results / machine
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "machine.json").write_text(json.dumps(
        {"machine": machine, "cpu": "Test CPU", "num_cpu": "2", "os": "Linux", "arch": "x86_64",
         "ram": "1", "version": 1}))
    for i, commit in enumerate(hashes):
        date = (dates or {}).get(commit, 1_764_000_000_000 + i * 60_000)
        result = asv.results.Results({"machine": machine, "python": "3.11"}, {"numpy": "2.4.6"},
                                     commit, date, "3.11", env, {})
        result.add_result(benchmark, asv.runner.BenchmarkResult(
            result=values[i], samples=[None] * len(values[i]), number=[None] * len(values[i]),
            errcode=0, stderr="", profile=None),
            started_at=datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc), duration=1.0)
        result.save(str(results))
    (results / "benchmarks.json").write_text(json.dumps({benchmark["name"]: benchmark,
                                                         "version": 2}))
    return results


def write_results(results, hashes, series, env=ENV, machine="vm", dates=None):
    """One asv result file per commit with ``track_speedup`` = ``series``, and benchmarks.json."""
    benchmark = {"name": changes.BENCHMARK, "params": PARAMS, "param_names": NAMES,
                 "unit": "ratio", "type": "track", "version": "2+quick", "code": "",
                 "timeout": 300}
    values = [[float(series[(impl.strip("'"), dtype.strip("'"))][i])
               for impl in PARAMS[0] for dtype in PARAMS[3]] for i in range(len(hashes))]
    return _save(results, hashes, benchmark, values, env, machine, dates)


def _only_report(reports):
    assert len(reports) == 1
    return reports[0]


# --------------------------------------------------------------- the finder


def test_a_step_is_found_at_its_commit_and_flat_series_give_none(repo, tmp_path):
    path, hashes = repo
    results = write_results(tmp_path / "results", hashes, _series())
    report = _only_report(changes.find_changes(str(results), repo=str(path)))
    assert report.ordered_by == "git topology"
    assert len(report.series) == 4
    assert [(c.series.params, c.commit) for c in report.changes] == \
        [(("threads", 100000, 2, "int32"), hashes[STEP_AT])]
    change = report.changes[0]
    assert change.before == pytest.approx(1.0, rel=0.05)
    assert change.after == pytest.approx(1.5, rel=0.05)
    assert change.step == pytest.approx(1.5, rel=0.08)
    assert change.pvalue < changes.MAX_PVALUE
    assert (change.n_before, change.n_after) == (STEP_AT, COMMITS - STEP_AT)
    # The skipped commit is left out of its series, not read as a value.
    auto_float = next(s for s in report.series if s.params == ("auto", 100000, 2, "float64"))
    assert auto_float.commits == hashes[1:]


@pytest.mark.parametrize("seed", range(5))
def test_flat_noisy_series_give_no_change_point(repo, tmp_path, seed):
    path, hashes = repo
    rng = np.random.default_rng(100 + seed)
    flat = {key: np.exp(0.05 * rng.standard_normal(COMMITS)) for key in _series()}
    results = write_results(tmp_path / "results", hashes, flat)
    assert _only_report(changes.find_changes(str(results), repo=str(path))).changes == []


def test_commits_are_ordered_by_git_not_by_date(repo, tmp_path):
    """Dates that run backwards (a rebase, a clock) must not move the step."""
    path, hashes = repo
    dates = {h: 1_764_000_000_000 - i * 60_000 for i, h in enumerate(hashes)}
    results = write_results(tmp_path / "results", hashes, _series(), dates=dates)
    report = _only_report(changes.find_changes(str(results), repo=str(path)))
    assert report.commits == hashes
    assert [c.commit for c in report.changes] == [hashes[STEP_AT]]


def test_a_smaller_step_than_the_threshold_is_not_reported(repo, tmp_path):
    path, hashes = repo
    results = write_results(tmp_path / "results", hashes, _series())
    report = _only_report(changes.find_changes(str(results), repo=str(path), min_step=1.6))
    assert report.changes == []


def test_a_step_at_the_newest_commit_alone_is_pending_until_a_second_commit(repo, tmp_path):
    """One newest value stepped: listed apart, not counted; with the next commit, counted."""
    path, hashes = repo
    flat = {key: np.ones(COMMITS) for key in _series()}
    flat[("auto", "float64")] = np.array([0.97] * (COMMITS - 1) + [0.54])
    results = write_results(tmp_path / "results", hashes, flat)
    report = _only_report(changes.find_changes(str(results), repo=str(path)))
    assert report.changes == []
    (pending,) = report.pending
    assert pending.commit == hashes[-1] and pending.step == pytest.approx(0.54 / 0.97)
    text = changes.format_report(report)
    assert "none: no series stepped" in text and "newest commit alone" in text
    assert "0.97 -> 0.54" in text
    page = changes.html_page([report])
    assert "waiting for a second commit" in page and hashes[-1][:8] in page
    # The same step one commit earlier holds two commits: a change point.
    flat[("auto", "float64")] = np.array([0.97] * (COMMITS - 2) + [0.54, 0.55])
    results = write_results(tmp_path / "results2", hashes, flat)
    report = _only_report(changes.find_changes(str(results), repo=str(path)))
    assert [c.commit for c in report.changes] == [hashes[-2]] and report.pending == []


def test_find_on_plain_values():
    values = [1.0, 1.02, 0.98, 1.01, 0.99, 1.5, 1.52, 1.49, 1.51]
    [(index, before, after, _, n_before, n_after)] = changes.find(values)
    assert (index, n_before, n_after) == (5, 5, 4)
    assert before == pytest.approx(1.0, abs=0.01) and after == pytest.approx(1.505, abs=0.01)
    assert changes.find([1.0, 2.0]) == []  # too short to test


# --------------------------------------------------------------- the command and the page


def test_history_changes_prints_the_table_and_writes_the_page(repo, tmp_path, capsys, monkeypatch):
    path, hashes = repo
    results = write_results(tmp_path / "results", hashes, _series())
    monkeypatch.chdir(path)
    page = tmp_path / "out" / "changes.html"
    assert benchtools_main(["history", "changes", "--results", str(results),
                            "--html", str(page)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if hashes[STEP_AT][:8] in line)
    assert f"commit {STEP_AT}" in row and "threads" in row and "int32" in row
    assert "1.5" in row and "6+4" in row
    assert "3 of 4 series have no change point" in out
    text = page.read_text()
    assert hashes[STEP_AT][:8] in text and f"commit {STEP_AT}" in text
    assert "<script" not in text and "http" not in text


def test_history_changes_without_results(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert benchtools_main(["history", "changes", "--results", str(tmp_path / "none")]) == 0
    assert "no results" in capsys.readouterr().out


INDEX = """<ul class="nav navbar-nav navbar-left">
\t<li id="nav-li-" class="active"><a href="#/">Benchmark grid</a></li>
\t<li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li>
</ul>"""


def test_the_publish_plugin_writes_the_page_and_links_it_once(repo, tmp_path, monkeypatch):
    path, hashes = repo
    results = write_results(tmp_path / "results", hashes, _series())
    html_dir = tmp_path / "html"
    html_dir.mkdir()
    (html_dir / "index.html").write_text(INDEX)
    monkeypatch.chdir(path)
    conf = types.SimpleNamespace(results_dir=str(results), html_dir=str(html_dir))
    for _ in range(2):
        changes.ChangesPage.publish(conf, None, {}, {}, {})
    index = (html_dir / "index.html").read_text()
    assert index.count('href="changes.html"') == 1
    assert index.index("nav-li-regressions") < index.index("nav-li-changes")
    assert hashes[STEP_AT][:8] in (html_dir / "changes.html").read_text()


def test_the_plugin_is_listed_in_asv_conf():
    from asv import util

    conf = util.load_json(str(Path(__file__).resolve().parents[1] / "asv.conf.json"),
                          js_comments=True)
    assert ".benchtools.changes" in conf["plugins"]


# --------------------------------------------------------------- result files a kill cannot spoil


class _Unserializable:
    pass


def _half_written(write_json, path):
    """Overwrite ``path`` with data json.dump fails on half-way; return what is left there."""
    data = {"a": "x" * 100_000, "z": _Unserializable()}
    with pytest.raises(TypeError):
        write_json(str(path), data)
    return path.read_text()


def test_asvs_own_write_leaves_a_truncated_file(tmp_path):
    """Why benchtools._atomic exists: asv 0.6 writes in place (if asv changes this, drop it)."""
    from asv import util

    path = tmp_path / "r.json"
    path.write_text('{"old": 1}')
    left = _half_written(util.write_json, path)
    with pytest.raises(ValueError):
        json.loads(left)


def test_the_atomic_write_keeps_the_old_file_whole(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"old": 1}')
    assert json.loads(_half_written(_atomic.write_json, path)) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left
    _atomic.write_json(str(path), {"new": 2}, api_version=2, compact=True)
    assert json.loads(path.read_text()) == {"new": 2, "version": 2}


def test_install_replaces_asvs_writer(monkeypatch):
    from asv import util

    monkeypatch.setattr(util, "write_json", util.write_json)  # restored after the test
    _atomic.install()
    assert util.write_json is _atomic.write_json


def test_check_sets_aside_a_truncated_result_file(repo, tmp_path, capsys):
    import asv.results
    from asv import util

    _, hashes = repo
    results = write_results(tmp_path / "results", hashes[:3], _series())
    files = sorted(p for p in (results / "vm").glob("*.json") if p.name != "machine.json")
    whole = files[0].read_text()
    files[1].write_text(whole[: len(whole) // 2])  # a kill while asv wrote it
    partial = results / "vm" / f".{files[2].name}.123{_atomic.PARTIAL_SUFFIX}"
    partial.write_text("{")
    # What a rerun would hit: asv loads the old file to add to it, and stops.
    with pytest.raises(util.UserError, match="Error parsing JSON"):
        asv.results.Results.load(str(files[1]))

    done = history.check_results(str(results))
    assert [(Path(p).name, what.split(":")[0]) for p, what in done] == [
        (partial.name, "removed (an unfinished write)"),
        (files[1].name, "does not parse as JSON"),
    ]
    assert not files[1].exists() and Path(str(files[1]) + ".unreadable").exists()
    assert files[0].read_text() == whole
    loaded = {r.commit_hash for r in asv.results.iter_results_for_machine(str(results), "vm")}
    assert loaded == {h for h in hashes[:3] if not files[1].name.startswith(h[:8])}
    history.print_checked(done)
    out = capsys.readouterr().out
    assert files[1].name in out and "measured again" in out
    assert history.check_results(str(results)) == []  # nothing left to do


# --------------------------------------------------------------- the Regressions page


TIME_PARAMS = [["'numpy.dot'", "'threads'"], ["100000"], ["2"], ["'float64'"]]
TIME_BENCHMARK = history.SIDE_BY_SIDE


def _graph_data(numpy_dot, threads):
    """``Graph.get_data()``'s shape: ``[(revision, [value per combination], weights)]``."""
    return [(rev, [a, b], [1.0, 1.0]) for rev, (a, b) in enumerate(zip(numpy_dot, threads))]


def test_a_splits_time_is_read_relative_to_numpy_dot_at_the_same_commit():
    combos = [("'numpy.dot'", "100000", "2", "'float64'"), ("'threads'", "100000", "2", "'float64'")]
    drift = [1.0] * 5 + [1.6] * 5  # the machine: both series move alike
    data = _graph_data([10e-6 * d for d in drift], [20e-6 * d for d in drift[:-1]] + [None])
    series = changes.regression_series(data, 1, combos, "'numpy.dot'")
    assert [rev for rev, _, _ in series] == list(range(9))  # the missing value left out
    assert all(read == pytest.approx(2.0) for _, _, read in series)
    assert series[6][1] == pytest.approx(32e-6)  # the value itself is kept for the page
    # numpy.dot's own series, and any other benchmark, is read as it is
    own = changes.regression_series(data, 0, combos, "'numpy.dot'")
    assert [read for _, _, read in own] == [10e-6 * d for d in drift]


def test_the_page_reads_splits_against_numpy_dot_and_leaves_out_what_the_package_does_not_run():
    bandwidth = "bench_bandwidth.Bandwidth.track_bandwidth"
    for name in (TIME_BENCHMARK, bandwidth):
        assert changes.reference_of(name) == "'numpy.dot'"
        assert changes.not_read(name, "numpy.dot") and not changes.not_read(name, "threads")
    assert changes.not_read(bandwidth, "ceiling")  # a copy, the suite's own code
    assert changes.not_read("bench_dot.PerCallPool.time_per_call_pool", None)
    speedup = "bench_speedup.Speedup.track_speedup"  # a ratio measured in one process
    assert changes.reference_of(speedup) is None and not changes.not_read(speedup, "threads")
    # GB/s of threads over numpy.dot's: the host's bandwidth moves both alike
    combos = [("'numpy.dot'", "10000000", "2", "'float64'"), ("'threads'", "10000000", "2",
                                                            "'float64'")]
    host = [1.0] * 6 + [1 / 1.35] * 5  # the host's memory gets slower from commit 6 on
    data = _graph_data([30.0 * h for h in host], [27.0 * h for h in host])
    series = changes.regression_series(data, 1, combos, changes.reference_of(bandwidth))
    assert changes.higher_is_better({"unit": "GB/s"})
    assert changes.regression_jumps(series, 0.1, higher_better=True) == []
    raw = changes.regression_series(data, 1, combos)
    assert [j[0] for j in changes.regression_jumps(raw, 0.1, higher_better=True)] == [6]


def test_regressions_are_steps_up_and_a_lone_newest_value_waits_for_a_second_commit():
    rng = np.random.default_rng(1)
    scatter = np.exp(0.03 * rng.standard_normal(10))
    up = [(i, v, v) for i, v in enumerate(np.where(np.arange(10) < 6, 1.0, 1.5) * scatter)]
    (index, before, after, pvalue), = changes.regression_jumps(up, 0.1)
    assert index == 6 and after / before == pytest.approx(1.5, rel=0.05) and pvalue < 1e-3
    down = [(i, 1 / v, 1 / v) for i, v, _ in up]
    assert changes.regression_jumps(down, 0.1) == []
    # one newest value, however clear of the level before, waits for a second commit
    flat = [1.0, 1.1, 0.9, 1.08, 0.95, 1.1, 0.92, 1.05, 0.97]
    clear = [(i, v, v) for i, v in enumerate(flat + [3.0])]
    assert changes.find([v for _, v, _ in clear])  # otava does find it
    assert changes.regression_jumps(clear, 0.1) == []
    second = [(i, v, v) for i, v in enumerate(flat + [3.0, 3.1])]
    assert [j[0] for j in changes.regression_jumps(second, 0.1)] == [9]


def test_where_higher_is_better_a_fall_is_the_regression_and_a_rise_is_not():
    """A speedup (``numpy.dot time / split time``) or a bandwidth that rose is no regression."""
    assert changes.higher_is_better({"unit": "ratio"}) and changes.higher_is_better({"unit": "GB/s"})
    for unit in ("seconds", "N", "ns/byte", None):
        assert not changes.higher_is_better({"unit": unit})
    rng = np.random.default_rng(2)
    scatter = np.exp(0.03 * rng.standard_normal(10))
    faster = [(i, v, v) for i, v in enumerate(np.where(np.arange(10) < 5, 1.0, 3.0) * scatter)]
    assert changes.regression_jumps(faster, 0.1, higher_better=True) == []
    assert [j[0] for j in changes.regression_jumps(faster, 0.1)] == [5]  # asv's convention
    slower = [(i, 1 / v, 1 / v) for i, v, _ in faster]
    (index, before, after, _), = changes.regression_jumps(slower, 0.1, higher_better=True)
    assert index == 5 and before / after == pytest.approx(3.0, rel=0.05)
    assert changes.regression_jumps(slower, 0.1) == []


def _write_time_results(results, hashes, numpy_dot, threads):
    """One asv result file per commit with ``time_dot`` of numpy.dot and threads (seconds)."""
    benchmark = {"name": TIME_BENCHMARK, "params": TIME_PARAMS, "param_names": NAMES,
                 "unit": "seconds", "type": "time", "version": "3+default", "code": "",
                 "timeout": 600}
    _save(results, hashes, benchmark, [list(pair) for pair in zip(numpy_dot, threads)])


def _publish(path, plugins):
    """``asv publish`` in the repository ``path``: (regressions.json's list, {(name, commit)})."""
    branch = _git(path, "rev-parse", "--abbrev-ref", "HEAD").strip()
    # The plugin found as in the repository ("." while asv imports plugins), no PYTHONPATH.
    root = Path(changes.__file__).resolve().parents[1]
    for package in ("benchtools", "benchmarks"):
        if not (path / package).exists():
            (path / package).symlink_to(root / package)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    (path / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "p", "repo": ".", "branches": [branch],
        "results_dir": "results", "html_dir": "html", "plugins": plugins,
        "regressions_thresholds": {".*": 0.1}}))
    # asv's own script, as users run it: "python -m asv" would put the cwd on sys.path
    subprocess.run([str(Path(sys.executable).parent / "asv"), "publish"], cwd=path, env=env,
                   check=True, capture_output=True, text=True)
    html = path / "html"
    regressions = json.loads((html / "regressions.json").read_text())["regressions"]
    revisions = json.loads((html / "index.json").read_text())["revision_to_hash"]
    return regressions, {(name, revisions[str(jump[1])])
                         for name, *_, jumps in regressions for jump in jumps}


@pytest.mark.asv
def test_asv_publish_lists_a_speedup_that_fell_and_not_one_that_rose(repo):
    """``track_speedup`` (numpy.dot time / split time): threads int32 rises 1.5x at commit 6 (the
    split got faster), auto int32 falls 1.5x there (slower). asv's own page lists the rise as
    a regression; the page written again from change points lists the fall alone."""
    path, hashes = repo
    series = _series()
    rise = series["threads", "int32"]
    series["auto", "int32"] = 2.0 / rise  # the same step, the other way
    write_results(path / "results", hashes, series)
    threads, auto = (f"{changes.BENCHMARK}('{impl}', 100000, 2, 'int32')" for impl in ("threads", "auto"))
    _, by_asv = _publish(path, [])
    assert (threads, hashes[STEP_AT]) in by_asv
    regressions, listed = _publish(path, [".benchtools.changes"])
    assert listed == {(auto, hashes[STEP_AT])}
    (name, _, _, _, last, best, [(_, _, before, after)]), = regressions
    assert before / after == pytest.approx(1.5, rel=0.08)
    values = 2.0 / rise
    assert last == pytest.approx(values[-1]) and best == pytest.approx(values.max())


@pytest.mark.asv
def test_asv_publish_lists_the_splits_step_and_not_the_machines(repo, tmp_path):
    """Through ``asv publish``: the machine's drift (every series 1.6x slower from commit 3 on)
    is on asv's own page for numpy.dot; the page written again from change points keeps only
    threads' own step (2x relative to numpy.dot from commit 6 on), with asv's fields."""
    path, hashes = repo
    drift = np.where(np.arange(COMMITS) < 3, 1.0, 1.6)
    own = np.where(np.arange(COMMITS) < STEP_AT, 1.0, 2.0)
    _write_time_results(path / "results", hashes, list(10e-6 * drift), list(20e-6 * drift * own))
    _, by_asv = _publish(path, [])
    assert (f"{TIME_BENCHMARK}('numpy.dot', 100000, 2, 'float64')", hashes[3]) in by_asv
    regressions, listed = _publish(path, [".benchtools.changes"])
    assert listed == {(f"{TIME_BENCHMARK}('threads', 100000, 2, 'float64')", hashes[STEP_AT])}
    name, _, _, _, last, best, [(_, _, before, after)] = regressions[0]
    threads = 20e-6 * drift * own
    assert before == pytest.approx(threads[:STEP_AT].mean())
    assert after == pytest.approx(threads[STEP_AT:].mean())
    assert last == pytest.approx(threads[-1]) and best == pytest.approx(threads.min())
