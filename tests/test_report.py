"""tools/report.py: the example's table and plots, from asv results and measured directly.

- Fast tests: the table logic on small results directories written in asv's
  documented format (read back through ``asv.results``), the choice of
  machine, commit and environment, and the direct mode on tiny sizes.
- ``asv`` tests: a REAL results directory made by ``asv run`` in a temporary
  clone of this repository (``--quick``, the ``quick`` profile, three of the
  ``bench_dot`` benchmarks, two commits), in an existing environment that
  runs this interpreter: no download, about a minute on 2 cores.
"""

import csv
import json
import math
import os
import pathlib
import site
import sys
import sysconfig
import time

import pytest

from _clone import run

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import report  # noqa: E402

pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")
asv_results = pytest.importorskip("asv.results")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(path):
    """The file is a PNG that decodes to a non-empty RGB(A) image."""
    from PIL import Image

    data = pathlib.Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        image.load()
        width, height = image.size
        assert width >= 200 and height >= 200
        assert image.mode in ("RGB", "RGBA")
        extrema = image.convert("L").getextrema()
        assert extrema[0] < extrema[1], "blank image"


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# --- small results directories in asv's format --------------------------------

SIZES = ["1000", "10000", "100000", "1000000"]
WORKERS = ["1", "2"]
BENCHES = {
    "bench_dot.NumpyDot.time_numpy_dot": 1.0,
    "bench_dot.Threads.time_threads": 2.0,
    "bench_dot.PerCallPool.time_per_call_pool": 10.0,
}


def _values(scale, skip_from=3, fail=None):
    """Values over SIZES x WORKERS: scale * N * 1e-9 * workers-factor; NaN past skip_from."""
    out = []
    for i, n in enumerate(SIZES):
        for w in WORKERS:
            if i >= skip_from:
                out.append(math.nan)
            elif fail == (n, w):
                out.append(None)
            else:
                out.append(scale * int(n) * 1e-9 / (1 if w == "1" else 1.5))
    return out


def write_results(results_dir, machine, commit, date_ms, env, benches, versions=None):
    """One result file as asv 0.6 writes it (results/<machine>/<hash8>-<env>.json)."""
    mdir = pathlib.Path(results_dir, machine)
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "machine.json").write_text(json.dumps(
        {"machine": machine, "cpu": "Test CPU", "num_cpu": "2", "os": "Linux", "arch": "x86_64", "version": 1}
    ))
    data = {
        "commit_hash": commit,
        "env_name": env,
        "date": date_ms,
        "params": {"machine": machine, "python": "3.11", "numpy": "2.4.6"},
        "python": "3.11",
        "requirements": {"numpy": "2.4.6"},
        "env_vars": {},
        "result_columns": ["result", "params", "version", "started_at", "duration"],
        "results": {
            name: [values, [SIZES, WORKERS], (versions or {}).get(name, "1"), date_ms + 1000, 1.0]
            for name, values in benches.items()
        },
        "durations": {},
        "version": 2,
    }
    path = mdir / f"{commit[:8]}-{env}.json"
    path.write_text(json.dumps(data))
    benchmarks = {
        name: {
            "name": name, "type": "time", "unit": "seconds", "version": "1",
            "param_names": ["N", "workers"], "params": [SIZES, WORKERS],
        }
        for name in BENCHES
    }
    benchmarks["version"] = 2
    pathlib.Path(results_dir, "benchmarks.json").write_text(json.dumps(benchmarks))
    return path


@pytest.fixture
def small_results(tmp_path):
    results = tmp_path / "results"
    old, new = "a" * 40, "b" * 40
    write_results(results, "m1", old, 1_700_000_000_000, "env-a",
                  {k: _values(v) for k, v in BENCHES.items()})
    write_results(results, "m1", new, 1_700_100_000_000, "env-a",
                  {k: _values(v, fail=("10000", "2") if "Threads" in k else None) for k, v in BENCHES.items()})
    write_results(results, "m1", new, 1_700_100_000_000, "env-b",
                  {k: _values(v / 2) for k, v in BENCHES.items()})
    return results, old, new


def test_table_rows_columns_and_speedup(small_results):
    results, old, new = small_results
    machine, result, history = report.select_runs(str(results), commit=old)
    assert machine == "m1" and result.commit_hash == old and result.env_name == "env-a"
    table = report.table_from_results(result, report.load_benchmarks(str(results)))
    # Rows: the sizes with a measurement (1e6 was skipped everywhere).
    assert table.rows == [1000, 10000, 100000]
    assert [table.label(c) for c in table.columns] == [
        "numpy.dot w=1", "numpy.dot w=2", "per_call_pool w=1", "per_call_pool w=2",
        "threads w=1", "threads w=2",
    ]
    assert table.header()[-4:] == [
        "speedup per_call_pool w=1", "speedup per_call_pool w=2",
        "speedup threads w=1", "speedup threads w=2",
    ]
    # Speedup = numpy.dot time at the same workers / split time.
    assert table.speedup(("threads", 2), 1000) == pytest.approx(0.5)
    assert table.speedup(("per_call_pool", 1), 100000) == pytest.approx(0.1)
    assert table.value(("numpy.dot", 2), 10000) == pytest.approx(1e4 * 1e-9 / 1.5)


def test_markdown_and_csv(small_results):
    results, old, new = small_results
    _, result, _ = report.select_runs(str(results), commit=new[:6], env="env-a")
    table = report.table_from_results(result, report.load_benchmarks(str(results)))
    md = table.markdown().splitlines()
    assert md[0].startswith("| N | numpy.dot w=1 |")
    assert len(md) == 2 + 3
    assert md[2].startswith("| 1e3 | 1e-06 |")
    row_1e4 = [cell.strip() for cell in md[3].strip("|").split("|")]
    assert "failed" in row_1e4  # threads w=2 failed at 1e4 in this run
    assert "n/a" in row_1e4  # ... so its speedup is not available
    lines = list(csv.reader(table.csv().splitlines()))
    header, rows = lines[0], lines[1:]
    assert header == table.header()
    assert [int(r[0]) for r in rows] == [1000, 10000, 100000]
    cell = rows[1][header.index("threads w=2")]
    assert cell == ""
    assert float(rows[0][header.index("speedup threads w=1")]) == pytest.approx(0.5)


def test_choices(small_results, capsys):
    results, old, new = small_results
    # The newest commit is the default; it has two environments: --env is needed.
    with pytest.raises(SystemExit, match="env-a.*env-b"):
        report.select_runs(str(results))
    _, result, history = report.select_runs(str(results), env="b")
    assert result.commit_hash == new and result.env_name == "env-b"
    assert [r.commit_hash for r in history] == [new]
    _, result, history = report.select_runs(str(results), env="env-a")
    assert [r.commit_hash for r in history] == [old, new]
    with pytest.raises(SystemExit, match="matches 0 commits"):
        report.select_runs(str(results), commit="ccc")
    with pytest.raises(SystemExit, match="machine"):
        report.select_runs(str(results), machine="other")
    write_results(results, "m2", old, 1_700_000_000_000, "env-a", {})
    with pytest.raises(SystemExit, match="--machine"):
        report.select_runs(str(results))


def test_old_benchmark_versions_are_left_out(tmp_path):
    results = tmp_path / "results"
    write_results(results, "m1", "c" * 40, 1_700_000_000_000, "env",
                  {k: _values(v) for k, v in BENCHES.items()},
                  versions={"bench_dot.Threads.time_threads": "0"})
    _, result, _ = report.select_runs(str(results))
    table = report.table_from_results(result, report.load_benchmarks(str(results)))
    assert {c[0] for c in table.columns} == {"numpy.dot", "per_call_pool"}


def test_from_asv_writes_report(small_results, tmp_path):
    results, old, new = small_results
    out = tmp_path / "out"
    assert report.main(["from-asv", "--results", str(results), "--env", "env-a", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "loglog.png", "report.csv", "report.md", "speedup_by_commit.png",
    ]
    md = (out / "report.md").read_text()
    assert f"`{new}`" in md and "`env-a`" in md and "Test CPU" in md
    header, rows = read_csv(out / "report.csv")
    assert header[0] == "N" and [r[0] for r in rows] == ["1000", "10000", "100000"]
    assert_valid_png(out / "loglog.png")
    assert_valid_png(out / "speedup_by_commit.png")


def test_direct_mode(tmp_path, capsys):
    out = tmp_path / "direct"
    code = report.main([
        "direct", "--sizes", "1e3", "2e3", "--workers", "1", "2", "--repeat", "3",
        "--number", "2", "--impl", "numpy.dot", "per_call_pool", "threads",
        "--out", str(out),
    ])
    assert code == 0
    header, rows = read_csv(out / "report.csv")
    assert header == [
        "N", "numpy.dot", "per_call_pool w=1", "per_call_pool w=2", "threads w=1", "threads w=2",
        "speedup per_call_pool w=1", "speedup per_call_pool w=2", "speedup threads w=1",
        "speedup threads w=2",
    ]
    assert [r[0] for r in rows] == ["1000", "2000"]
    for row in rows:
        times = [float(x) for x in row[1:6]]
        assert all(t > 0 for t in times)
        assert float(row[8]) == pytest.approx(times[0] / times[3])
    mheader, mrows = read_csv(out / "measurements.csv")
    assert mheader == ["N", "implementation", "workers", "average", "deviation", "min_exec",
                       "max_exec", "repeat", "number", "warmup", "ttime"]
    assert len(mrows) == 2 * 5
    for r in mrows:
        avg, dev, lo, hi = map(float, r[3:7])
        assert lo <= avg <= hi and dev >= 0 and r[7:10] == ["3", "2", "1"]
    md = (out / "report.md").read_text()
    assert "numpy" in md and "Python" in md and "cpus" in md
    assert_valid_png(out / "loglog.png")
    assert "sizes" in capsys.readouterr().err  # the tqdm bar


def test_measure_interleaved_statistics():
    calls = []
    stats = report.measure_interleaved({"a": lambda: calls.append(1)}, repeat=4, number=5, warmup=2)
    assert len(calls) == 2 + 4 * 5
    s = stats["a"]
    assert s["min_exec"] <= s["average"] <= s["max_exec"]
    assert (s["repeat"], s["number"], s["warmup"]) == (4, 5, 2)


# --- a real asv results directory ----------------------------------------------

ASV_BENCH = r"^bench_dot\.(NumpyDot|PerCallPool|Threads)\."


@pytest.fixture(scope="module")
def asv_results_dir(asv_clone):
    """A real asv results directory: two commits of a clone, one existing environment.

    The environment is a venv of this interpreter without pip whose only
    addition is a .pth file: the clone (so that its ``paralleldot`` is
    imported) then this interpreter's site-packages (numpy, threadpoolctl,
    asv_runner). asv runs it as ``-E existing:<its python>``, so nothing is
    downloaded or built. The clone's HOME is a temporary directory so that
    ``asv machine`` does not touch the user's ~/.asv-machine.json.
    """
    clone = asv_clone("report", profile="quick", machine="testmachine",
                      needs_virtualenv=False)
    venv = clone.workdir / "venv"
    clone.run([sys.executable, "-m", "venv", "--without-pip", venv])
    vpython = venv / "bin" / "python"
    purelib = clone.run([vpython, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    here = [p for p in dict.fromkeys(site.getsitepackages() + [sysconfig.get_paths()["purelib"]]) if os.path.isdir(p)]
    pathlib.Path(purelib, "paralleldot_clone.pth").write_text("\n".join([str(clone.path)] + here) + "\n")
    hashes = [clone.rev_parse("HEAD~1"), clone.rev_parse("HEAD")]
    started = time.monotonic()
    for commit, bench in ((hashes[0], r"^bench_dot\.(NumpyDot|Threads)\."), (hashes[1], ASV_BENCH)):
        # Exit status 2: some benchmark failed (a suite bug, e.g. a teardown
        # after a skipping setup); its results are saved all the same, and
        # the report must cope with failed entries.
        clone.asv("run", "--quick", "--machine", "testmachine", "-E", f"existing:{vpython}",
                  "--set-commit-hash", commit, "-b", bench, "--show-stderr", ok_codes=(0, 2))
        assert list((clone.path / "results" / "testmachine").glob(f"{commit[:8]}-existing-*.json"))
    print(f"asv runs: {time.monotonic() - started:.0f} s")
    return clone.path / "results", hashes


@pytest.mark.asv
def test_real_results_table(asv_results_dir):
    results, (old, new) = asv_results_dir
    machine, result, history = report.select_runs(str(results))
    assert machine == "testmachine"
    assert result.commit_hash == new  # the newest by default
    assert [r.commit_hash for r in history] == [old, new]
    benchmarks = report.load_benchmarks(str(results))
    table = report.table_from_results(result, benchmarks)
    # The quick profile measures 1e3, 1e4 and 1e5; the grid's larger sizes are skipped.
    assert table.rows == [1000, 10000, 100000]
    assert [table.label(c) for c in table.columns] == [
        f"{impl} w={w}" for impl in ("numpy.dot", "per_call_pool", "threads") for w in (1, 2, 4)
    ]
    # Against asv's own reading of the file.
    params = result.get_result_params("bench_dot.Threads.time_threads")
    raw = dict(zip(
        [(int(n), int(w)) for n in params[0] for w in params[1]],
        result.get_result_value("bench_dot.Threads.time_threads", params),
    ))
    ref = dict(zip(
        [(int(n), int(w)) for n in params[0] for w in params[1]],
        result.get_result_value("bench_dot.NumpyDot.time_numpy_dot", params),
    ))
    for n in table.rows:
        for w in (1, 2, 4):
            assert table.value(("threads", w), n) == raw[(n, w)] > 0
            assert table.speedup(("threads", w), n) == pytest.approx(ref[(n, w)] / raw[(n, w)])


@pytest.mark.asv
def test_real_results_report(asv_results_dir, tmp_path):
    results, (old, new) = asv_results_dir
    out = tmp_path / "out"
    proc = run([sys.executable, ROOT / "tools" / "report.py", "from-asv",
                "--results", results, "--machine", "testmachine",
                "--commit", new[:10], "--env", "existing", "--out", out], merge_stderr=False)
    assert "| N | numpy.dot w=1 |" in proc.stdout
    header, rows = read_csv(out / "report.csv")
    assert [r[0] for r in rows] == ["1000", "10000", "100000"]
    assert header[1:4] == ["numpy.dot w=1", "numpy.dot w=2", "numpy.dot w=4"]
    assert "speedup threads w=2" in header and "speedup per_call_pool w=4" in header
    for row in rows:
        for name in header[1:]:
            assert float(row[header.index(name)]) > 0
    md = (out / "report.md").read_text()
    assert new in md and "testmachine" in md
    assert_valid_png(out / "loglog.png")
    assert_valid_png(out / "speedup_by_commit.png")
