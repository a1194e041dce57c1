"""The main command's history: commit selection, progress, and the whole path end to end.

- Fast tests: ``benchtools/history.py``'s choice of commits (milestones, then
  every later commit that changes the package), the detection of a commit
  range among asv's arguments, the noise-floor table.
- ``asv`` test: ``bash scripts/bench.sh`` -- the README's main command --
  in a temporary clone with a small history (one milestone, then two
  commits that change the package; the ``quick`` profile), in its two
  corner environments. A published graph must hold real values for the
  three commits in both environments; a second run measures nothing; a new
  package commit adds its own measurements only. About 6 to 10 minutes on
  2 cores, most of it creating the two environments.
"""

import json
import math
import os
import re
import sys
import time
from pathlib import Path

import pytest

from _clone import reap_leftovers
from benchtools import _git, history


PACKAGE_FILE = "paralleldot/__init__.py"


# --------------------------------------------------------------- fast tests


def test_milestones_file_is_read_with_labels_and_comments(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("# a comment\n\n689a305 threads split   # trailing\n65b19cb one BLAS thread\n")
    read = history.read_milestones(str(path))
    assert [label for _, label in read] == ["threads split", "one BLAS thread"]
    assert all(len(h) == 40 for h, _ in read)


def test_unknown_milestone_names_the_line(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("689a305 ok\nffffff0 not a commit\n")
    with pytest.raises(SystemExit, match=r"m.txt:2: 'ffffff0' is not a commit"):
        history.read_milestones(str(path))


def test_the_repository_milestones_exist_and_later_package_commits_follow():
    commits = history.history()
    milestones = history.read_milestones()
    assert len(milestones) >= 6
    assert commits[: len(milestones)] == milestones
    hashes = [h for h, _ in commits]
    assert len(set(hashes)) == len(hashes)
    newer = _git.git("rev-list", "--first-parent", f"{milestones[-1][0]}..HEAD", "--",
                         *history.PACKAGE_PATHS).split()
    # The newest package commit after the newest milestone is measured, and only it.
    assert set(hashes) == {h for h, _ in milestones} | set(newer[:history.NEWER])


def test_a_milestones_file_from_the_environment(tmp_path, monkeypatch):
    """Even a milestone that does not change the package (HEAD here) bounds the history."""
    path = tmp_path / "m.txt"
    head = _git.git("rev-parse", "HEAD").strip()
    path.write_text(f"{head} the newest milestone\n")
    monkeypatch.setenv(history.MILESTONES_ENV, str(path))
    assert history.history() == [(head, "the newest milestone")]


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], False),
        (["-E", "virtualenv:3.10", "--bench", "TimeDot"], False),
        (["NEW"], True),
        (["--bench", "x", "main~3..main"], True),
        (["-a", "rounds=1", "HASHFILE:h.txt"], True),
        (["--quick", "-m", "box"], False),
        (["-j", "2", "-E", "virtualenv:3.10"], False),
        (["--parallel", "NEW"], True),
        (["-j", "2", "NEW"], True),
        (["-j2", "-E", "virtualenv:3.10"], False),
        (["-j", "-E", "virtualenv:3.10", "2"], True),  # -j took no value: 2 is a range
    ],
)
def test_a_commit_range_among_asv_arguments(args, expected):
    assert history._has_range(args) == expected


def test_environments_are_built_side_by_side_unless_the_arguments_say(monkeypatch):
    monkeypatch.setattr(history.os, "cpu_count", lambda: 2)
    two = ["virtualenv-py3.10-x", "virtualenv-py3.13-x"]
    assert history.build_parallel([], two) == ["--parallel=2"]
    assert history.build_parallel([], two + ["virtualenv-py3.11-x"]) == ["--parallel=2"]
    assert history.build_parallel([], two[:1]) == []
    assert history.build_parallel(["-j", "1"], two) == []
    assert history.build_parallel(["--parallel=3"], two) == []
    assert history.build_parallel(["-j2"], two) == []


def test_spread_table_is_printed_per_environment(capsys):
    table = {
        ("virtualenv-py3.10-numpy1.26.4-x", "numpy.dot", 10**5): (1.04, 3, 2),
        ("virtualenv-py3.10-numpy1.26.4-x", "numpy.dot", 10**6): (1.10, 3, 2),
        ("virtualenv-py3.10-numpy1.26.4-x", "per_call_pool", 10**5): (1.2, 3, 2),
    }
    history.print_spread(table)
    out = capsys.readouterr().out
    assert "py3.10-numpy1.26.4" in out
    assert re.search(r"numpy\.dot\s+workers=2 3 commits: N=1e\+05 1\.04  N=1e\+06 1\.10", out)
    history.print_spread({})
    assert "no control series" in capsys.readouterr().out


def test_window_spread_is_the_largest_over_the_smallest_window_median():
    # a call every 0.1 s for 10 s: 1.0 s each for 5 s, then 1.5 s
    starts = [k / 10 for k in range(100)]
    times = [1.0 if t < 5 else 1.5 for t in starts]
    times[-1] = 0.05  # the last call ends at 9.95 s: the last 1 s window is cut short
    ratio, windows = history.window_spread(starts, times, 1.0)
    assert windows == 9 and ratio == pytest.approx(1.5)
    ratio, windows = history.window_spread(starts, times, 2.0)  # [4, 6) holds both levels
    assert windows == 4 and ratio == pytest.approx(1.5)
    flat = [1.0] * 100
    assert history.window_spread(starts, flat, 0.5)[0] == pytest.approx(1.0)
    ratio, windows = history.window_spread(starts, times, 20.0)
    assert windows == 0 and math.isnan(ratio)
    assert math.isnan(history.window_spread([], [], 1.0)[0])


def test_window_spread_names_what_was_wrong():
    with pytest.raises(ValueError, match="window must be a positive number of seconds, got 0"):
        history.window_spread([0.0], [1.0], 0)
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        history.window_spread([0.0, 1.0], [1.0], 1.0)


def test_drift_times_numpy_dot_back_to_back_and_prints_its_windows(capsys):
    measured = history.drift([1e3, 2e3], 0.3)
    assert sorted(measured) == [1000, 2000]
    for starts, times in measured.values():
        assert len(starts) == len(times) > 10
        assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] < 0.3
        assert all(t > 0 for t in times)
    history.print_drift(measured, 0.3, windows=(0.1, 1.0))
    out = capsys.readouterr().out
    assert re.search(r"^  1e3\s+\d+\s+\d\.\d\d \([23]\)\s+n/a$", out, re.M), out
    from benchtools.__main__ import main

    assert main(["history", "drift", "--seconds", "0"]) == 2
    assert "--seconds must be positive, got 0" in capsys.readouterr().err
    assert main(["history", "drift", "--windows", "2", "-1"]) == 2
    assert "--windows must be positive, got -1" in capsys.readouterr().err


# --------------------------------------------------------------- end to end


def _graph_files(clone, benchmark):
    """``{graph path: [(revision, value)]}`` of a benchmark in the published site."""
    out = {}
    for path in (clone.path / "html" / "graphs").rglob(f"{benchmark}.json"):
        if "summary" in path.parts:
            continue
        out[path] = json.loads(path.read_text())
    return out


def _segments():
    return {p.name for p in Path("/dev/shm").glob("psm_*")}


def _run_main(clone):
    """The README's main command in the clone; its output. It leaves no shared memory behind."""
    before = _segments()
    proc = clone.run(["bash", "scripts/bench.sh"], timeout=1800)
    print(proc.stdout[-6000:])
    deadline = time.monotonic() + 15  # workers of dead owners unlink within a second or so
    while _segments() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _segments() - before, f"left in /dev/shm: {sorted(_segments() - before)}"
    return proc.stdout


@pytest.mark.asv
def test_main_command_publishes_history_and_reruns_measure_only_new_commits(asv_clone):
    clone = asv_clone("history", profile="quick", timeout=1800)
    first = clone.rev_parse("HEAD")
    second = clone.commit_file(PACKAGE_FILE, "\n# history test: a package commit\n",
                               "test: a package commit", append=True)
    milestones = clone.workdir / "milestones.txt"
    milestones.write_text(f"{first} where this test starts\n{second} a milestone\n")
    clone.env[history.MILESTONES_ENV] = str(milestones)
    clone.commit_file("README.md", "\nnot a package commit\n", "test: docs only", append=True)
    third = clone.commit_file(PACKAGE_FILE, "\n# history test: another\n",
                              "test: another package commit", append=True)

    out = _run_main(clone)
    assert "3 commits x 2 environments" in out, out
    runs = re.findall(r"^\[\s*\d+/6\s+\d+:\d\d\] ([0-9a-f]{8}) .*\| (py[\d.]+-numpy[\d.]+)$",
                      out, re.MULTILINE)
    assert sorted(runs) == sorted((c[:8], e) for c in (first, second, third)
                                  for e in {e for _, e in runs}), out
    envs = {e for _, e in runs}
    assert len(envs) == 2 and any("numpy1.26" in e for e in envs) and any("numpy2." in e for e in envs)
    # Output a person can follow: no line per skipped parameter, no warning.
    assert "asv: skipped" not in out
    assert not re.search(r"warning", out, re.IGNORECASE), out
    assert "history: noise floor" in out and "asv preview" in out

    # A published graph with real values for the three commits in both environments.
    graphs = _graph_files(clone, "bench_dot.TimeDot.time_dot")
    assert len(graphs) == 2, sorted(graphs)  # one per environment
    index = json.loads((clone.path / "html" / "index.json").read_text())
    revisions = {index["revision_to_hash"][str(r)][:8]: r
                 for r in map(int, index["revision_to_hash"])}
    wanted = {revisions[c[:8]] for c in (first, second, third)}
    for path, points in graphs.items():
        measured = {rev for rev, values in points
                    if any(v is not None and not (isinstance(v, float) and math.isnan(v))
                           for v in (values if isinstance(values, list) else [values]))}
        assert wanted <= measured, (path, points)

    # Rerun with no new commit: nothing measured again.
    again = _run_main(clone)
    assert "0 commit x environment run(s)" in again and "6 already measured, 0 to run" in again

    # A new package commit: its own measurements only (it takes the place of
    # the third as the newest package commit; the third's results stay).
    fourth = clone.commit_file(PACKAGE_FILE, "\n# history test: a fourth\n",
                               "test: a new package commit", append=True)
    last = _run_main(clone)
    assert "3 commits x 2 environments" in last and "4 already measured, 2 to run" in last
    assert sorted(re.findall(r"^\[\s*\d+/2\s+\d+:\d\d\] ([0-9a-f]{8})", last, re.MULTILINE)) \
        == [fourth[:8]] * 2


def test_bench_regexes_among_asv_arguments():
    args = ["-E", "x", "-b", "^bench_dot", "--bench=Crossover", "--bench", "Speedup", "NEW"]
    assert history._bench_regexes(args) == ["Crossover", "^bench_dot", "Speedup"]


# --------------------------------------------------------------- killed at any moment

#: Two small benchmarks (threads only: a kill leaves no shared memory behind).
KILL_BENCH = ["-b", r"^bench_dot\.PerCallPool", "-b", r"^bench_speedup\.Crossover"]


def _result_files(clone, env):
    return sorted(clone.path.glob(f"results/*/*-{env}.json"))


def _start(clone, env):
    """``history run`` in the clone, in its own process group, output to a file; (proc, log path)."""
    import subprocess

    log = clone.workdir / f"run-{time.monotonic_ns()}.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchtools", "history", "run", "-E", env, *KILL_BENCH],
            cwd=clone.path, env=clone.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    return proc, log


def _wait_for(proc, log, files_wanted, progress_line, clone, env, timeout=1200):
    """Wait until ``files_wanted`` result files exist and ``progress_line`` is printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text()
        if len(_result_files(clone, env)) >= files_wanted and re.search(progress_line, out, re.MULTILINE):
            return out
        if proc.poll() is not None:
            pytest.fail(f"history run ended ({proc.returncode}) before the moment to kill it:\n{out}")
        time.sleep(0.1)
    pytest.fail(f"no such moment within {timeout} s:\n{log.read_text()}")


def _parsed(files):
    """``{name: parsed JSON}``; fails the test on a file that does not parse."""
    out = {}
    for path in files:
        try:
            out[path.name] = json.loads(path.read_text())
        except ValueError as exc:
            pytest.fail(f"{path} does not parse: {exc}")
    return out


def _benchmarked(out):
    """The commits (8 hex digits) of the progress lines of a history run's output."""
    return re.findall(r"^\[\s*\d+(?:/\d+)?\s+\d+:\d\d\] ([0-9a-f]{8}) ", out, re.MULTILINE)


@pytest.mark.asv
def test_killed_at_any_moment_the_history_loses_only_the_commit_in_flight(asv_clone):
    """SIGKILL, then Ctrl-C, mid-run: each rerun measures what is missing, files stay whole.

    One environment, three commits, two small benchmarks. The first run is
    killed (SIGKILL to its process group) while the second commit is being
    benchmarked, after the first commit's result file appeared; the second
    run gets SIGINT (Ctrl-C) while the third commit is benchmarked; the third
    run completes. Then ``asv publish`` must succeed, with the change-point page.
    """
    import signal
    import subprocess

    t0 = time.monotonic()
    clone = asv_clone("kill", profile="quick", timeout=1800)
    first = clone.rev_parse("HEAD")
    second = clone.commit_file(PACKAGE_FILE, "\n# kill test: a package commit\n",
                               "test: a package commit", append=True)
    third = clone.commit_file(PACKAGE_FILE, "\n# kill test: another\n",
                              "test: another package commit", append=True)
    milestones = clone.workdir / "milestones.txt"
    milestones.write_text(f"{first} where this test starts\n{second} a milestone\n")
    clone.env[history.MILESTONES_ENV] = str(milestones)
    env = clone.default_environment()
    short = [c[:8] for c in (first, second, third)]

    # 1. SIGKILL while the second commit is benchmarked.
    proc, log = _start(clone, env)
    _wait_for(proc, log, 1, rf"^\[\s*2/3 .*\] {short[1]} ", clone, env)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = time.monotonic() - t0
    reap_leftovers(clone.workdir)
    after_kill = _parsed(_result_files(clone, env))
    assert [n[:8] for n in after_kill] == [short[0]], log.read_text()

    # 2. Ctrl-C while the third commit is benchmarked: the first is not measured again.
    proc, log = _start(clone, env)
    _wait_for(proc, log, 2, rf"^\[\s*2/2 .*\] {short[2]} ", clone, env)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    out = log.read_text()
    print(out)
    assert "1 already measured, 2 to run" in out
    assert _benchmarked(out) == short[1:], out
    reap_leftovers(clone.workdir)
    after_int = _parsed(_result_files(clone, env))
    assert after_int[next(iter(after_kill))] == next(iter(after_kill.values()))
    # The third commit's quick run (seconds) may end before Ctrl-C lands: then
    # the run completed (exit 0) and nothing is left for the rerun.
    interrupted = proc.returncode == 130
    assert interrupted or proc.returncode == 0, out
    if interrupted:
        assert "interrupted" in out
        assert sorted(n[:8] for n in after_int) == sorted(short[:2]), out
    else:
        assert sorted(n[:8] for n in after_int) == sorted(short), out

    # 3. The rerun completes the rest, and only the rest.
    rerun = clone.run([sys.executable, "-m", "benchtools", "history", "run", "-E", env,
                       *KILL_BENCH], timeout=1200)
    print(rerun.stdout)
    if interrupted:
        assert "2 already measured, 1 to run" in rerun.stdout
        assert _benchmarked(rerun.stdout) == [short[2]], rerun.stdout
    else:
        assert "3 already measured, 0 to run" in rerun.stdout
        assert _benchmarked(rerun.stdout) == [], rerun.stdout
    final = _parsed(_result_files(clone, env))
    assert sorted(n[:8] for n in final) == sorted(short)
    for name, data in after_int.items():
        assert final[name] == data, f"{name} was measured again"
    for data in final.values():
        assert {"bench_dot.PerCallPool.time_per_call_pool",
                "bench_speedup.Crossover.track_crossover"} <= set(data["results"])
    leftovers = [p for p in (clone.path / "results").rglob("*")
                 if p.name.endswith((".partial", ".unreadable"))]
    assert not leftovers

    # 4. The site publishes, with the change-point page linked from its index.
    clone.asv("publish", timeout=600)
    assert (clone.path / "html" / "changes.html").is_file()
    assert 'href="changes.html"' in (clone.path / "html" / "index.html").read_text()
    print(f"kill test: killed at {killed_at:.0f} s, done in {time.monotonic() - t0:.0f} s")
