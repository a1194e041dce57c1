"""``python -m benchtools report``: the example's tables and plots, per dtype, from asv results and measured directly.

- Fast tests: the table logic on small results directories written in asv's
  documented format (read back through ``asv.results``), in the suite's
  layout (``bench_dot.TimeDot.time_dot``: impl, N, workers, dtype; the
  crossover) and in the earlier one (one class per implementation, N and
  workers, float64); the choice of machine, commit, environment and dtypes;
  and the direct mode on tiny sizes with two dtypes.
- ``asv`` tests: a REAL results directory, the session's measured clone
  (the ``measured_clone`` fixture of ``tests/conftest.py``): ``asv run
  --quick`` of the whole suite (the ``quick`` profile: float64 and int32;
  every implementation of ``bench_dot.TimeDot`` and the crossover) over two
  commits in one virtualenv environment, machine ``testmachine``.
"""

import csv
import itertools
import json
import math
import pathlib
import sys

import pytest

from _clone import REPO, run

from benchtools import _asv, report
from benchtools.__main__ import main as benchtools_main

ROOT = REPO

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


#: The earlier layout: one class per implementation, parameters N and workers (float64).
OLD_SPECS = {name: (["N", "workers"], [SIZES, WORKERS], "1") for name in BENCHES}


def write_results(results_dir, machine, commit, date_ms, env, benches, versions=None, specs=None):
    """One result file as asv 0.6 writes it (results/<machine>/<hash8>-<env>.json).

    ``benches``: name -> values over the product of its parameters;
    ``specs``: name -> (param_names, params, version) of the suite, written
    to benchmarks.json too (default: the earlier layout); ``versions``: name
    -> the version stored with the result, when it differs from the suite's.
    """
    specs = OLD_SPECS if specs is None else specs
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
            name: [values, specs[name][1], (versions or {}).get(name, specs[name][2]),
                   date_ms + 1000, 1.0]
            for name, values in benches.items()
        },
        "durations": {},
        "version": 2,
    }
    path = mdir / f"{commit[:8]}-{env}.json"
    path.write_text(json.dumps(data))
    benchmarks = {
        name: {
            "name": name, "type": name.rsplit(".", 1)[-1].split("_")[0], "unit": "seconds",
            "version": version, "param_names": names, "params": params,
        }
        for name, (names, params, version) in specs.items()
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
    machine, result, history = _asv.select_runs(str(results), commit=old)
    assert machine == "m1" and result.commit_hash == old and result.env_name == "env-a"
    table = report.table_from_results(result, _asv.load_benchmarks(str(results)))
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
    _, result, _ = _asv.select_runs(str(results), commit=new[:6], env="env-a")
    table = report.table_from_results(result, _asv.load_benchmarks(str(results)))
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
        _asv.select_runs(str(results))
    _, result, history = _asv.select_runs(str(results), env="b")
    assert result.commit_hash == new and result.env_name == "env-b"
    assert [r.commit_hash for r in history] == [new]
    _, result, history = _asv.select_runs(str(results), env="env-a")
    assert [r.commit_hash for r in history] == [old, new]
    with pytest.raises(SystemExit, match="matches 0 commits"):
        _asv.select_runs(str(results), commit="ccc")
    with pytest.raises(SystemExit, match="machine"):
        _asv.select_runs(str(results), machine="other")
    write_results(results, "m2", old, 1_700_000_000_000, "env-a", {})
    with pytest.raises(SystemExit, match="--machine"):
        _asv.select_runs(str(results))


def test_old_benchmark_versions_are_left_out(tmp_path):
    results = tmp_path / "results"
    write_results(results, "m1", "c" * 40, 1_700_000_000_000, "env",
                  {k: _values(v) for k, v in BENCHES.items()},
                  versions={"bench_dot.Threads.time_threads": "0"})
    _, result, _ = _asv.select_runs(str(results))
    table = report.table_from_results(result, _asv.load_benchmarks(str(results)))
    assert {c[0] for c in table.columns} == {"numpy.dot", "per_call_pool"}


def test_from_asv_writes_report(small_results, tmp_path):
    results, old, new = small_results
    out = tmp_path / "out"
    assert benchtools_main(["report", "from-asv", "--results", str(results), "--env", "env-a", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "loglog.png", "report.csv", "report.md", "speedup_by_commit.png",
    ]
    md = (out / "report.md").read_text()
    assert f"`{new}`" in md and "`env-a`" in md and "Test CPU" in md
    # The earlier layout has no dtype parameter: float64, one table.
    assert md.count("\n## ") == 1 and "\n## float64\n" in md
    assert "Crossover" not in md  # no track_crossover in these results
    header, rows = read_csv(out / "report.csv")
    assert header[:2] == ["dtype", "N"]
    assert [r[:2] for r in rows] == [["float64", "1000"], ["float64", "10000"], ["float64", "100000"]]
    assert_valid_png(out / "loglog.png")
    assert_valid_png(out / "speedup_by_commit.png")


# --- the suite's layout: one TimeDot, impl and dtype as parameters -----------------

TIME_DOT = "bench_dot.TimeDot.time_dot"
CROSSOVER = "bench_speedup.Crossover.track_crossover"
NEW_IMPLS = ["numpy.dot", "threads", "auto", "processes", "per_call_pool"]
NEW_DTYPES = ["float64", "int32"]
NEW_SPECS = {
    # asv stores string parameters as their repr, numbers as digits.
    TIME_DOT: (["impl", "N", "workers", "dtype"],
               [[repr(i) for i in NEW_IMPLS], SIZES, WORKERS, [repr(d) for d in NEW_DTYPES]],
               "2+quick"),
    CROSSOVER: (["dtype", "workers"], [[repr(d) for d in NEW_DTYPES], WORKERS], "1+quick"),
}
#: Seconds per element of each implementation (auto: skipped everywhere).
IMPL_SCALE = {"numpy.dot": 1.0, "threads": 2.0, "auto": math.nan, "processes": 4.0,
              "per_call_pool": 10.0}
DTYPE_SCALE = {"float64": 1.0, "int32": 3.0}


def seconds(impl, n, workers, dtype, scale=1.0):
    """The made-up time of a point: impl scale x dtype scale x N x 1e-9, less with 2 workers."""
    return scale * IMPL_SCALE[impl] * DTYPE_SCALE[dtype] * int(n) * 1e-9 / (1 if workers == "1" else 1.5)


def time_dot_values(scale=1.0, fail=None):
    """TimeDot's values over impl x N x workers x dtype, in asv's order (the product).

    1e6 is skipped (NaN) everywhere, the per-call pool at int32 (the
    suite's skip_params), auto everywhere (a backend missing at the
    commit); ``fail`` = (impl, N, workers, dtype) failed (None).
    """
    out = []
    for impl, n, w, d in itertools.product(NEW_IMPLS, SIZES, WORKERS, NEW_DTYPES):
        if n == "1000000" or (impl == "per_call_pool" and d != "float64"):
            out.append(math.nan)
        elif (impl, n, w, d) == fail:
            out.append(None)
        else:
            out.append(seconds(impl, n, w, d, scale))
    return out


#: track_crossover over dtype x workers: 1e6 = 10x the largest N of the quick profile (never).
CROSSOVER_VALUES = [1e6, 30000.0, 10000.0, None]


@pytest.fixture
def new_results(tmp_path):
    results = tmp_path / "results"
    old, new = "d" * 40, "e" * 40
    write_results(results, "m1", old, 1_700_000_000_000, "env-a",
                  {TIME_DOT: time_dot_values(scale=2.0)}, specs=NEW_SPECS)
    write_results(results, "m1", new, 1_700_100_000_000, "env-a",
                  {TIME_DOT: time_dot_values(fail=("threads", "10000", "2", "int32")),
                   CROSSOVER: CROSSOVER_VALUES}, specs=NEW_SPECS)
    return results, old, new


def test_new_layout_tables_per_dtype(new_results):
    results, old, new = new_results
    _, result, _ = _asv.select_runs(str(results))
    assert result.commit_hash == new
    tables = report.tables_from_results(result, _asv.load_benchmarks(str(results)))
    assert list(tables) == ["float64", "int32"]
    f64, i32 = tables["float64"], tables["int32"]
    assert f64.rows == i32.rows == [1000, 10000, 100000]
    # impl comes from the parameter (the per-call pool is per_call_pool everywhere);
    # auto (skipped everywhere) and 1e6 (skipped) are left out.
    assert [f64.label(c) for c in f64.columns] == [
        "numpy.dot w=1", "numpy.dot w=2", "per_call_pool w=1", "per_call_pool w=2",
        "threads w=1", "threads w=2", "processes w=1", "processes w=2",
    ]
    # The control series is float64 only (skip_params): no column at int32.
    assert [i32.label(c) for c in i32.columns] == [
        "numpy.dot w=1", "numpy.dot w=2", "threads w=1", "threads w=2",
        "processes w=1", "processes w=2",
    ]
    # Values of each dtype are its own: int32 is 3x float64 in these results.
    assert f64.value(("threads", 2), 1000) == pytest.approx(2e-6 / 1.5)
    assert i32.value(("threads", 2), 1000) == pytest.approx(6e-6 / 1.5)
    assert i32.value(("numpy.dot", 1), 100000) == pytest.approx(3e-4)
    # Speedup: numpy.dot at the same workers AND dtype / split.
    assert i32.speedup(("threads", 1), 1000) == pytest.approx(0.5)
    assert i32.speedup(("processes", 2), 100000) == pytest.approx(0.25)
    assert f64.speedup(("per_call_pool", 2), 10000) == pytest.approx(0.1)
    # The failed point: 'failed' in its cell, no speedup.
    assert i32.value(("threads", 2), 10000) is None
    assert math.isnan(i32.speedup(("threads", 2), 10000))
    assert f64.value(("threads", 2), 10000) == pytest.approx(2e-5 / 1.5)
    # table_from_results: one dtype's table.
    assert report.table_from_results(result, _asv.load_benchmarks(str(results)),
                                     dtype="int32").columns == i32.columns


def test_new_layout_without_benchmarks_json(new_results):
    """Without benchmarks.json the parameter names are taken from their count."""
    results, old, new = new_results
    (results / "benchmarks.json").unlink()
    _, result, _ = _asv.select_runs(str(results))
    tables = report.tables_from_results(result)
    assert list(tables) == ["float64", "int32"]
    assert tables["int32"].speedup(("threads", 1), 1000) == pytest.approx(0.5)
    crossover, version = report.crossover_from_results(result)
    assert crossover[("float64", 2)] == 30000.0 and version == "1+quick"


def test_old_version_of_the_new_layout_is_left_out(tmp_path):
    results = tmp_path / "results"
    write_results(results, "m1", "f" * 40, 1_700_000_000_000, "env",
                  {TIME_DOT: time_dot_values(), CROSSOVER: CROSSOVER_VALUES},
                  versions={TIME_DOT: "2+default", CROSSOVER: "0+quick"}, specs=NEW_SPECS)
    _, result, _ = _asv.select_runs(str(results))
    benchmarks = _asv.load_benchmarks(str(results))
    assert report.tables_from_results(result, benchmarks) == {}
    assert report.crossover_from_results(result, benchmarks) == ({}, None)
    with pytest.raises(SystemExit, match="no time_ results"):
        benchtools_main(["report", "from-asv", "--results", str(results), "--out", str(tmp_path / "out")])


def test_crossover_table(new_results):
    results, old, new = new_results
    _, result, _ = _asv.select_runs(str(results))
    crossover, version = report.crossover_from_results(result, _asv.load_benchmarks(str(results)))
    assert crossover == {("float64", 1): 1e6, ("float64", 2): 30000.0,
                         ("int32", 1): 10000.0, ("int32", 2): None}
    assert version == "1+quick"
    assert report.profile_of(version) == "quick"
    assert report.largest_size("quick") == 10**5  # benchmarks.common.PROFILES
    assert report.largest_size("no-such-profile", fallback=7) == 7
    md = report.crossover_markdown(crossover, largest=10**5).splitlines()
    assert md[0] == "| dtype | w=1 | w=2 |"
    assert md[2] == "| float64 | never (> 1e5) | 3e4 |"
    assert md[3] == "| int32 | 1e4 | failed |"
    # Without the largest N, values as recorded; a skipped point is n/a.
    md = report.crossover_markdown({("int32", 1): 1e6, ("int32", 4): math.nan}).splitlines()
    assert md[2] == "| int32 | 1e6 | n/a |"
    assert report.crossover_markdown({}) == ""


def test_from_asv_new_layout(new_results, tmp_path, monkeypatch):
    results, old, new = new_results
    drawn = {}

    def recording(name):
        original = getattr(report, name)

        def plot(*args, **kwargs):
            drawn[name] = (args, original(*args, **kwargs))
            return drawn[name][1]

        monkeypatch.setattr(report, name, plot)

    recording("plot_loglog")
    recording("plot_speedup_by_commit")
    out = tmp_path / "out"
    assert benchtools_main(["report", "from-asv", "--results", str(results), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    # Provenance first, then one table per dtype, then the crossover.
    assert md.index("- machine:") < md.index("## float64") < md.index("## int32") < md.index("## Crossover")
    assert f"`{TIME_DOT}` (version 2+quick)" in md
    assert "| float64 | never (> 1e5) | 3e4 |" in md
    assert "| int32 | 1e4 | failed |" in md
    int32_table = md[md.index("## int32"):md.index("## Crossover")]
    assert "per_call_pool" not in int32_table and "| 1e4 |" in int32_table
    header, rows = read_csv(out / "report.csv")
    assert header[:2] == ["dtype", "N"]
    assert "per_call_pool w=2" in header and "speedup processes w=1" in header
    assert [r[:2] for r in rows] == [[d, n] for d in NEW_DTYPES for n in SIZES[:3]]
    by_key = {(r[0], r[1]): dict(zip(header, r)) for r in rows}
    assert by_key[("int32", "1000")]["per_call_pool w=1"] == ""  # not measured at int32
    assert by_key[("int32", "10000")]["threads w=2"] == ""  # failed
    assert float(by_key[("int32", "1000")]["speedup threads w=1"]) == pytest.approx(0.5)
    assert float(by_key[("float64", "100000")]["speedup per_call_pool w=1"]) == pytest.approx(0.1)
    # loglog.png: one panel per dtype.
    assert drawn["plot_loglog"][1] == ["float64", "int32"]
    # speedup_by_commit.png: rows dtypes, columns splits, both commits on the x axis.
    (series, _, _), panels = drawn["plot_speedup_by_commit"]
    assert [label.split()[0] for label, _, _ in series] == [old[:8], new[:8]]
    assert panels == [(d, s) for d in NEW_DTYPES for s in ("per_call_pool", "threads", "processes")]
    assert all(c[1] == 2 for _, _, tables in series for t in tables.values() for c in t.columns)
    assert series[0][2]["int32"].speedup(("processes", 2), 1000) == pytest.approx(0.25)
    for name in ("loglog.png", "speedup_by_commit.png"):
        assert_valid_png(out / name)


def test_from_asv_dtype_and_workers_options(new_results, tmp_path):
    results, old, new = new_results
    out = tmp_path / "out"
    assert benchtools_main(["report", "from-asv", "--results", str(results), "--dtype", "int32",
                        "--workers", "1", "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "## int32" in md and "## float64" not in md
    assert "| dtype | w=1 |" in md and "| int32 | 1e4 |" in md and "float64 |" not in md
    assert "with results: float64, int32" in md
    header, rows = read_csv(out / "report.csv")
    assert {r[0] for r in rows} == {"int32"}
    assert header == ["dtype", "N", "numpy.dot w=1", "threads w=1", "processes w=1",
                      "speedup threads w=1", "speedup processes w=1"]
    # numpy's names: "float" is float64.
    assert benchtools_main(["report", "from-asv", "--results", str(results), "--dtype", "float",
                        "--out", str(out)]) == 0
    assert read_csv(out / "report.csv")[1][0][0] == "float64"
    with pytest.raises(SystemExit, match=r"--dtype: got float32, .*dtypes with results: float64, int32"):
        benchtools_main(["report", "from-asv", "--results", str(results), "--dtype", "float32", "--out", str(out)])
    with pytest.raises(SystemExit, match="--dtype: got 'nope'"):
        benchtools_main(["report", "from-asv", "--results", str(results), "--dtype", "nope", "--out", str(out)])
    with pytest.raises(SystemExit, match="--workers: got 8"):
        benchtools_main(["report", "from-asv", "--results", str(results), "--workers", "8", "--out", str(out)])


def test_tables_csv_union_of_columns():
    f64 = report.Table({("numpy.dot", 2): {10: 1.0}, ("per_call_pool", 2): {10: 4.0}})
    i32 = report.Table({("numpy.dot", 2): {10: 3.0, 20: 6.0}, ("threads", 2): {10: 1.5, 20: math.nan}})
    rows = list(csv.reader(report.tables_csv({"int32": i32, "float64": f64}).splitlines()))
    assert rows[0] == ["dtype", "N", "numpy.dot w=2", "per_call_pool w=2", "threads w=2",
                       "speedup per_call_pool w=2", "speedup threads w=2"]
    assert rows[1] == ["float64", "10", "1.0", "4.0", "", "0.25", ""]
    assert rows[2] == ["int32", "10", "3.0", "", "1.5", "", "2.0"]
    assert rows[3] == ["int32", "20", "6.0", "", "", "", ""]


# --- direct -------------------------------------------------------------------------


def test_direct_mode(tmp_path, capsys, monkeypatch):
    drawn = []
    original = report.plot_loglog
    monkeypatch.setattr(report, "plot_loglog",
                        lambda *a, **k: drawn.append(original(*a, **k)) or drawn[-1])
    out = tmp_path / "direct"
    code = benchtools_main(["report",
        "direct", "--sizes", "1e3", "2e3", "--workers", "1", "2", "--repeat", "3",
        "--number", "2", "--impl", "numpy.dot", "per_call_pool", "threads",
        "--dtypes", "int32", "float64", "--out", str(out),
    ])
    assert code == 0
    header, rows = read_csv(out / "report.csv")
    assert header == [
        "dtype", "N", "numpy.dot", "per_call_pool w=1", "per_call_pool w=2", "threads w=1",
        "threads w=2", "speedup per_call_pool w=1", "speedup per_call_pool w=2",
        "speedup threads w=1", "speedup threads w=2",
    ]
    # One row per dtype and N, dtypes in the report's order (float64 first).
    assert [r[:2] for r in rows] == [["float64", "1000"], ["float64", "2000"],
                                     ["int32", "1000"], ["int32", "2000"]]
    for row in rows:
        times = [float(x) for x in row[2:7]]
        assert all(t > 0 for t in times)
        assert float(row[9]) == pytest.approx(times[0] / times[3])
    mheader, mrows = read_csv(out / "measurements.csv")
    assert mheader == ["dtype", "N", "implementation", "workers", "average", "deviation",
                       "min_exec", "max_exec", "repeat", "number", "warmup", "ttime"]
    assert len(mrows) == 2 * 2 * 5
    assert [r[0] for r in mrows] == ["float64"] * 10 + ["int32"] * 10
    averages = {}
    for r in mrows:
        avg, dev, lo, hi = map(float, r[4:8])
        assert lo <= avg <= hi and dev >= 0 and r[8:11] == ["3", "2", "1"]
        averages[(r[0], r[1], r[2], r[3])] = avg
    # report.csv holds the averages of measurements.csv (--stat average).
    assert float(rows[2][header.index("threads w=2")]) == averages[("int32", "1000", "threads", "2")]
    md = (out / "report.md").read_text()
    assert "numpy" in md and "Python" in md and "cpus" in md
    assert "## float64" in md and "## int32" in md and "benchmarks.common.vectors" in md
    assert drawn == [["float64", "int32"]]  # one panel per dtype
    # Each size and dtype's vectors are dropped once measured (1e8 float64: 1.6 GB).
    from benchmarks.common import vectors

    assert vectors.cache_info().currsize == 0
    assert_valid_png(out / "loglog.png")
    assert "sizes" in capsys.readouterr().err  # the tqdm bar


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
def test_direct_funcs_compute_the_suites_dot(dtype):
    """Every column of a direct run computes the dot product of the suite's vectors."""
    import numpy as np

    from benchmarks.common import vectors

    funcs, shared = report._direct_funcs(
        1000, dtype, ["numpy.dot", "per_call_pool", "threads", "auto", "processes"], [1, 2])
    assert sorted(funcs) == sorted([("numpy.dot", None)] + [
        (impl, w) for impl in ("per_call_pool", "threads", "auto", "processes") for w in (1, 2)
    ])
    a, b = vectors(1000, dtype)
    expected = np.dot(a, b)
    assert shared[0].dtype == a.dtype and np.array_equal(shared[0], a)
    for column, func in funcs.items():
        got = func()
        if a.dtype.kind == "f":
            assert got == pytest.approx(expected, rel=1e-4), column
        else:
            assert got == expected, column
    del funcs, shared


def test_direct_mode_rejects_bad_options(tmp_path):
    out = tmp_path / "direct"
    with pytest.raises(SystemExit, match="--dtypes: got 'nope'"):
        benchtools_main(["report", "direct", "--sizes", "1e3", "--dtypes", "float64", "nope", "--out", str(out)])
    with pytest.raises(SystemExit, match="--impl: got threads"):
        benchtools_main(["report", "direct", "--sizes", "1e3", "--impl", "threads", "--out", str(out)])
    with pytest.raises(SystemExit, match="--sizes: got 'big'"):
        benchtools_main(["report", "direct", "--sizes", "big", "--out", str(out)])
    assert not out.exists()  # nothing measured, nothing written


def test_measure_interleaved_statistics():
    calls = []
    stats = report.measure_interleaved({"a": lambda: calls.append(1)}, repeat=4, number=5, warmup=2)
    assert len(calls) == 2 + 4 * 5
    s = stats["a"]
    assert s["min_exec"] <= s["average"] <= s["max_exec"]
    assert (s["repeat"], s["number"], s["warmup"]) == (4, 5, 2)


# --- a real asv results directory ----------------------------------------------

#: The quick profile (benchmarks/common.py).
QUICK_SIZES, QUICK_WORKERS, QUICK_DTYPES = [1000, 10000, 100000], [1, 2], ["float64", "int32"]
#: The columns of a TimeDot table, in the report's order, at float64 (the
#: per-call pool, float64 only, is the control series).
QUICK_IMPLS = ("numpy.dot", "per_call_pool", "threads", "auto", "processes")


@pytest.fixture(scope="module")
def asv_results_dir(measured_clone):
    """A real asv results directory: the session's measured clone.

    The whole suite at two commits (HEAD~1, HEAD) of a clone, one
    virtualenv environment, machine ``testmachine``. Exit status 2 (some
    benchmark failed: test_asv reports it) is accepted: its results are
    saved all the same, and the report must cope with failed entries.
    """
    measured_clone.require((0, 2))
    results = measured_clone.path / "results"
    for commit in measured_clone.commits:
        measured_clone.results_file(commit)  # exactly one per commit
    return results, list(measured_clone.commits), measured_clone.env_name


def asv_values(result, key):
    """``{(impl, N, workers, dtype): value}`` of TimeDot, as asv itself reads the file."""
    params = result.get_result_params(key)
    combos = [(i.strip("'"), int(n), int(w), d.strip("'")) for i, n, w, d in itertools.product(*params)]
    return dict(zip(combos, result.get_result_value(key, params)))


@pytest.mark.asv
def test_real_results_table(asv_results_dir):
    results, (old, new), env_name = asv_results_dir
    machine, result, history = _asv.select_runs(str(results))
    assert machine == "testmachine"
    assert result.commit_hash == new  # the newest by default
    assert [r.commit_hash for r in history] == [old, new]
    benchmarks = _asv.load_benchmarks(str(results))
    assert benchmarks[TIME_DOT]["param_names"] == ["impl", "N", "workers", "dtype"]
    tables = report.tables_from_results(result, benchmarks)
    assert list(tables) == QUICK_DTYPES
    raw = asv_values(result, TIME_DOT)
    for dtype, table in tables.items():
        # The quick profile measures 1e3, 1e4 and 1e5 (--quick: one sample each).
        assert table.rows == QUICK_SIZES
        # Every implementation; the per-call pool is float64 only.
        impls = QUICK_IMPLS if dtype == "float64" else tuple(i for i in QUICK_IMPLS if i != "per_call_pool")
        assert [table.label(c) for c in table.columns] == [
            f"{impl} w={w}" for impl in impls for w in QUICK_WORKERS
        ]
        # Against asv's own reading of the file.
        for n in table.rows:
            for w in QUICK_WORKERS:
                split, ref = raw[("threads", n, w, dtype)], raw[("numpy.dot", n, w, dtype)]
                assert table.value(("threads", w), n) == split > 0
                assert table.speedup(("threads", w), n) == pytest.approx(ref / split)
    # The older commit's tables are its own results, not the newest's.
    old_tables = report.tables_from_results(history[0], benchmarks)
    assert list(old_tables) == QUICK_DTYPES
    old_raw = asv_values(history[0], TIME_DOT)
    assert old_raw != raw  # two runs: no two timings of every point are all equal
    for dtype, table in old_tables.items():
        assert table.rows == QUICK_SIZES
        for impl in ("numpy.dot", "threads", "auto", "processes"):
            for n in table.rows:
                for w in QUICK_WORKERS:
                    assert table.value((impl, w), n) == old_raw[(impl, n, w, dtype)] > 0
    crossover, version = report.crossover_from_results(result, benchmarks)
    assert sorted(crossover) == [(d, w) for d in QUICK_DTYPES for w in QUICK_WORKERS]
    assert report.profile_of(version) == "quick"
    largest = report.largest_size("quick")
    grid = [1000, 3000, 10000, 30000, 100000]  # half_decades(1e3, 1e5)
    for value in crossover.values():
        assert value in grid or value == 10 * largest


@pytest.mark.asv
def test_real_results_report(asv_results_dir, tmp_path):
    results, (old, new), env_name = asv_results_dir
    out = tmp_path / "out"
    proc = run([sys.executable, "-m", "benchtools", "report", "from-asv",
                "--results", results, "--machine", "testmachine",
                "--commit", new[:10], "--env", env_name, "--out", out], cwd=ROOT,
               merge_stderr=False)
    assert "| N | numpy.dot w=1 |" in proc.stdout
    header, rows = read_csv(out / "report.csv")
    assert header[:4] == ["dtype", "N", "numpy.dot w=1", "numpy.dot w=2"]
    assert "speedup threads w=2" in header and "speedup per_call_pool w=1" in header
    assert [(r[0], int(r[1])) for r in rows] == [(d, n) for d in QUICK_DTYPES for n in QUICK_SIZES]
    for row in rows:
        for name in header[2:]:
            cell = row[header.index(name)]
            if row[0] != "float64" and "per_call_pool" in name:
                assert cell == ""  # the control series is float64 only
            else:
                assert float(cell) > 0
    md = (out / "report.md").read_text()
    assert new in md and "testmachine" in md and "(version 2+quick)" in md
    assert "## float64" in md and "## int32" in md and "## Crossover" in md
    crossover_rows = [line for line in md.splitlines() if line.startswith(("| float64 |", "| int32 |"))]
    assert len(crossover_rows) == 2
    for line in crossover_rows:
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        assert len(cells) == 2
        for cell in cells:
            assert cell == "never (> 1e5)" or cell in ("1e3", "3e3", "1e4", "3e4", "1e5")
    assert_valid_png(out / "loglog.png")
    assert_valid_png(out / "speedup_by_commit.png")
