"""``python -m benchtools scaleout``: the model's arithmetic on fixed inputs, and its command line.

The expected crossovers are computed by hand in the comments: with
``b = 16`` bytes per element, ``N* = (F - c_1) / (b g)`` and
``g = 1/B_1 - 1/(K B_m) - s p``.
"""

import datetime
import itertools
import json
import math
import sys

import pytest

from benchtools import scaleout
from benchtools.__main__ import main as benchtools_main
from benchtools.scaleout import crossover_n

from _clone import REPO as ROOT

GB = 1e9


# --- the arithmetic -----------------------------------------------------------------


def test_crossover_by_hand():
    # g = 1e-10 - 1e-10/2 = 5e-11 s/B; N = 0.01 / (16 * 5e-11) = 1.25e7
    got = crossover_n(0.01, 0.0, 10 * GB, 2, 10 * GB)
    assert got.n == pytest.approx(1.25e7)
    assert not got.never
    # K = 4: g = 1e-10 - 2.5e-11 = 7.5e-11; N = 0.01 / 1.2e-9 = 8.333e6
    assert crossover_n(0.01, 0.0, 10 * GB, 4, 10 * GB).n == pytest.approx(8.0e6 / 0.96)
    # The one machine's own fixed cost counts: (0.01 - 0.002) / (16 * 5e-11) = 1e7
    assert crossover_n(0.01, 0.0, 10 * GB, 2, 10 * GB, one_machine_fixed_s=0.002).n == pytest.approx(1e7)
    # Faster remote machines: B_m = 20 GB/s, K = 2: g = 1e-10 - 2.5e-11 = 7.5e-11
    assert crossover_n(0.01, 0.0, 20 * GB, 2, 10 * GB).n == pytest.approx(0.01 / (16 * 7.5e-11))
    # 8 bytes per element (one vector): twice the N
    assert crossover_n(0.01, 0.0, 10 * GB, 2, 10 * GB, bytes_per_element=8).n == pytest.approx(2.5e7)


def test_sent_each_call_adds_the_transfer():
    # p = 2e-11 s/B, K = 2: g = 5e-11 - 2e-11 = 3e-11; N = 0.01 / (16 * 3e-11) = 2.0833e7
    got = crossover_n(0.01, 2e-11, 10 * GB, 2, 10 * GB, sent_each_call=True)
    assert got.n == pytest.approx(0.01 / 4.8e-10)
    # The per-byte cost is ignored for arrays already distributed.
    assert crossover_n(0.01, 2e-11, 10 * GB, 2, 10 * GB).n == pytest.approx(1.25e7)


def test_never():
    # Sending a byte (1e-10 s) costs what reading it on one machine costs: no K wins.
    for k in (2, 16, 1000):
        got = crossover_n(0.001, 1e-10, 10 * GB, k, 10 * GB, sent_each_call=True)
        assert got.never and got.n == math.inf
        assert "no number of machines wins" in got.reason
    # Some K win, not 2: p = 6e-11 > 5e-11 saved with K = 2, < 7.5e-11 saved with K = 4.
    got = crossover_n(0.001, 6e-11, 10 * GB, 2, 10 * GB, sent_each_call=True)
    assert got.never and "the 2 machines save" in got.reason
    assert not crossover_n(0.001, 6e-11, 10 * GB, 4, 10 * GB, sent_each_call=True).never
    # K machines that read no faster than the one machine together.
    got = crossover_n(0.001, 0.0, 4 * GB, 2, 10 * GB)
    assert got.never and "no faster than the one machine's 10 GB/s" in got.reason
    assert crossover_n(0.001, 0.0, 10 * GB, 1, 10 * GB).never


def test_always():
    got = crossover_n(0.0, 0.0, 10 * GB, 2, 10 * GB)
    assert got.n == 0 and not got.never
    assert crossover_n(0.001, 0.0, 10 * GB, 2, 10 * GB, one_machine_fixed_s=0.002).n == 0


def test_monotonic_in_k_for_a_constant_fixed_cost():
    for sent, p in ((False, 0.0), (True, 1e-11)):
        ns = [crossover_n(0.005, p, 8 * GB, k, 10 * GB, sent_each_call=sent).n for k in range(1, 65)]
        finite = [n for n in ns if math.isfinite(n)]
        assert len(finite) >= 60
        assert all(a > b for a, b in itertools.pairwise(finite)), ns
        assert ns.index(finite[0]) == ns.index(math.inf) + 1 or math.isfinite(ns[0])


def test_fixed_cost_per_chunk_makes_k_non_monotonic():
    # F(K) = 0.005 + 0.001 (K - 1); B_1 = B_m = 10 GB/s: N(K) = F(K) / (16e-10 (1 - 1/K))
    assert scaleout.fixed_cost(0.005, 0.012, 8, 16) == pytest.approx(0.020)
    expected = {2: 7.5e6, 4: 0.008 / 1.2e-9, 8: 0.012 / 1.4e-9, 16: 0.02 / 1.5e-9}
    got = {k: crossover_n(scaleout.fixed_cost(0.005, 0.012, 8, k), 0.0, 10 * GB, k, 10 * GB).n for k in expected}
    assert got == pytest.approx(expected)
    assert min(got, key=got.get) == 4


def test_fixed_cost_interpolation():
    assert scaleout.fixed_cost(0.005, 0.012, 8, 1) == pytest.approx(0.005)
    assert scaleout.fixed_cost(0.005, 0.012, 8, 8) == pytest.approx(0.012)
    assert scaleout.fixed_cost(0.005, 0.012, 8, 2) == pytest.approx(0.006)
    # Noise that makes more chunks cheaper is a zero slope.
    assert scaleout.fixed_cost(0.005, 0.004, 8, 16) == pytest.approx(0.005)


def test_links_and_break_even():
    assert scaleout.per_byte_on_link(0.25e-9) == 0.25e-9
    assert scaleout.per_byte_on_link(0.25e-9, 10e9) == pytest.approx(0.8e-9)  # the wire is slower
    assert scaleout.per_byte_on_link(0.25e-9, 100e9) == pytest.approx(0.25e-9)  # the software is slower
    # p must stay below 1/B_1 - 1/(K B_m) = 5e-11 s/B: 20 GB/s
    assert scaleout.break_even_rate(10 * GB, 2, 10 * GB) == pytest.approx(20 * GB)
    assert scaleout.break_even_rate(10 * GB, 1, 10 * GB) == math.inf


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"machines": 0}, "machines must be an integer >= 1, got 0"),
        ({"machines": 2.0}, "machines must be an integer >= 1, got 2.0"),
        ({"bandwidth_Bps": -1.0}, "bandwidth_Bps must be a positive finite number, got -1.0"),
        ({"one_machine_Bps": 0}, "one_machine_Bps must be a positive finite number, got 0"),
        ({"fixed_s": float("nan")}, "fixed_s must be a non-negative finite number, got nan"),
        ({"per_byte_s": -1e-9}, "per_byte_s must be a non-negative finite number, got -1e-09"),
        ({"bytes_per_element": 0}, "bytes_per_element must be an integer >= 1, got 0"),
    ],
)
def test_bad_inputs_say_what_they_got(kwargs, match):
    args = {"fixed_s": 0.01, "per_byte_s": 0.0, "bandwidth_Bps": GB, "machines": 2, "one_machine_Bps": GB}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        crossover_n(**args)


# --- the tables and the command line -------------------------------------------------------

FIXED = {
    ("on the cluster", 1): 0.005, ("on the cluster", 8): 0.012,
    ("scattered", 1): 0.008, ("scattered", 8): 0.015,
}


def _inputs(**changes):
    values = dict(
        fixed_cost=dict(FIXED), per_byte_s=0.25e-9, worker_Bps=10 * GB, threads_Bps=10 * GB,
        threads_fixed_s=0.0, provenance=[("source", "fixed inputs of tests/test_scaleout.py")],
    )
    values.update(changes)
    return scaleout.Inputs(**values)


def test_table_by_hand():
    table, notes = scaleout.crossover_table(_inputs(), 10 * GB)
    lines = table.splitlines()
    assert lines[0].startswith("| K | already distributed: dask | sent each call: dask, loopback |")
    assert "parallel_dot" not in lines[0]  # not measured in these inputs
    # F(2) = 0.006: 7.5e6 elements, 120 MB; F(4) = 0.008: 6.67e6, 107 MB (see the test above)
    assert lines[2].startswith("| 2 | 7.5e+06 (120 MB) | never [1] | never [1] | never [2] |")
    assert lines[3].startswith("| 4 | 6.7e+06 (107 MB) |")
    assert len(lines) == 2 + 4
    assert "no number of machines wins" in notes[0] and "0.25 ns" in notes[0]
    assert "0.8 ns" in notes[1]  # 10 Gb/s


def test_table_marks_sizes_above_the_ram():
    table, _ = scaleout.crossover_table(_inputs(), 10 * GB, ram_bytes=110e6)
    assert "| 2 | 7.5e+06 (120 MB) * |" in table
    assert "6.7e+06 (107 MB) |" in table


def test_cli_from_json(tmp_path, capsys):
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps(_inputs().to_json()))
    assert benchtools_main(["scaleout", "from-json", str(path), "--no-ram"]) == 0
    out = capsys.readouterr().out
    assert "- source: fixed inputs of tests/test_scaleout.py" in out
    assert "| 2 | 7.5e+06 (120 MB) | never [1] |" in out
    assert "| F: on the cluster, 8 chunks (isolated call) | 12 ms |" in out
    assert "faster than 20 GB/s (160 Gb/s) with K = 2" in out
    # --out writes the same report.
    out_file = tmp_path / "docs" / "table.md"
    assert benchtools_main(["scaleout", "from-json", str(path), "--no-ram", "--out", str(out_file)]) == 0
    assert "| 2 | 7.5e+06 (120 MB) | never [1] |" in out_file.read_text()


def test_cli_from_json_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fixed_cost": []}))
    with pytest.raises(SystemExit, match="not a scale-out inputs file: KeyError"):
        benchtools_main(["scaleout", "from-json", str(bad)])
    with pytest.raises(SystemExit, match="cannot read"):
        benchtools_main(["scaleout", "from-json", str(tmp_path / "missing.json")])


def test_inputs_from_a_measurement():
    measured = {
        "fixed_cost": dict(FIXED), "cost_per_byte": 0.25e-9, "transfer_times": {8: 1.0},
        "bandwidth": {"dask worker, 1 thread": 10.0, "threads split, all cores": 12.0},
        "threads_fixed_cost": 5e-5, "errors": {}, "skipped": None,
    }
    inputs = scaleout.Inputs.from_measurement(measured)
    assert inputs.worker_Bps == 10 * GB and inputs.threads_Bps == 12 * GB
    assert inputs.fixed("on the cluster", 16) == pytest.approx(0.020)
    assert inputs.fixed("parallel_dot, dask arrays", 2) is None
    with pytest.raises(ValueError, match="incomplete.*'dask': 'dask is not installed here'"):
        scaleout.Inputs.from_measurement({**measured, "skipped": "dask is not installed here"})
    with pytest.raises(ValueError, match="incomplete.*cost_per_byte"):
        scaleout.Inputs.from_measurement({**measured, "cost_per_byte": None})


# --- from asv's results ------------------------------------------------------------------------

BENCHMARKS = {
    "bench_dask.ModelFixedCost.track_fixed_cost": (
        [["'on the cluster'", "'scattered'", "'parallel_dot, dask arrays'", "'parallel_dot, numpy vectors'"], ["1", "8"]],
        ["inputs", "chunks"], "seconds",
        [0.005, 0.012, 0.008, 0.015, 0.009, 0.05, float("nan"), None],
    ),
    "bench_dask.ModelTransfer.track_cost_per_byte": ([], [], "ns/byte", [0.25]),
    "bench_dask.ModelBandwidth.track_bandwidth": (
        [["'dask worker, 1 thread'", "'threads split, all cores'"]], ["reader"], "GB/s", [10.0, 10.0],
    ),
    "bench_dask.ModelThreadsFixedCost.track_threads_fixed_cost": ([], [], "seconds", [0.0]),
}


def _fake_results(root, commit="a" * 40, env="virtualenv-py3.12-dask-numpy2.4.6"):
    """A results/ directory as asv writes it, through asv's own Results API."""
    import asv.results
    import asv.runner

    machine = root / "vm"
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps(
        {"machine": "vm", "cpu": "AMD EPYC", "num_cpu": "2", "os": "Linux", "arch": "x86_64", "ram": "25000000000", "version": 1}
    ))
    benchmarks = {}
    result = asv.results.Results(
        {"machine": "vm", "python": "3.12"}, {"numpy": "2.4.6", "dask": ""}, commit,
        1_764_000_000_000, "3.12", env, {},
    )
    for name, (params, names, unit, values) in BENCHMARKS.items():
        benchmarks[name] = {
            "name": name, "params": params, "param_names": names, "unit": unit, "type": "track",
            "version": "1", "code": "", "timeout": 300,
        }
        result.add_result(
            benchmarks[name],
            asv.runner.BenchmarkResult(result=values, samples=[None] * len(values), number=[None] * len(values),
                                       errcode=0, stderr="", profile=None),
            started_at=datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc), duration=1.0,
        )
    result.save(str(root))
    (root / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))
    return root


def test_cli_from_asv(tmp_path, capsys, monkeypatch):
    results = _fake_results(tmp_path / "results")
    monkeypatch.chdir(tmp_path)  # no git repository: commits are ordered by date only
    assert benchtools_main(["scaleout", "from-asv", "--results", str(results), "--no-ram"]) == 0
    out = capsys.readouterr().out
    assert f"`{'a' * 40}`" in out and "virtualenv-py3.12-dask-numpy2.4.6" in out
    header = next(line for line in out.splitlines() if line.startswith("| K |"))
    # parallel_dot: arrays measured (F(1) = 9 ms, F(8) = 50 ms), numpy vectors skipped (nan) and failed (None).
    assert "already distributed: parallel_dot" in header
    assert "sent each call: parallel_dot" not in header
    # dask as from the same inputs in JSON; parallel_dot: F(2) = 0.009 + 0.041 / 7 = 0.014857 s,
    # N = 0.014857 / (16 * 5e-11) = 1.857e7, 297 MB.
    assert "| 2 | 7.5e+06 (120 MB) | 1.9e+07 (297 MB) | never [1] | never [1] | never [2] |" in out


def test_cli_from_asv_without_the_model(tmp_path, monkeypatch):
    results = _fake_results(tmp_path / "results")
    for path in results.glob("vm/*.json"):
        if path.name != "machine.json":
            data = json.loads(path.read_text())
            data["results"].pop("bench_dask.ModelTransfer.track_cost_per_byte")
            path.write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="no value for bench_dask.ModelTransfer.track_cost_per_byte"):
        benchtools_main(["scaleout", "from-asv", "--results", str(results)])


def test_cli_help_runs_as_a_script():
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "benchtools", "scaleout", "--help"], capture_output=True, text=True,
        timeout=60, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "direct" in done.stdout and "from-asv" in done.stdout and "from-json" in done.stdout


def test_check_table_by_hand():
    fixed = {**FIXED, ("parallel_dot, dask arrays", 1): 0.005, ("parallel_dot, dask arrays", 8): 0.02,
             ("parallel_dot, numpy vectors", 1): 0.008, ("parallel_dot, numpy vectors", 8): 0.03}
    inputs = _inputs(fixed_cost=fixed, check={"dask arrays": 0.020, "numpy vectors": 0.2, "n": 10**7})
    table = scaleout.check_table(inputs)
    # arrays: 0.005 + 1.6e8 B / 1e10 B/s = 0.021 s; sent: + 1.6e8 B * 0.25e-9 s/B = 0.064 s
    assert "| dask arrays, one block pair on the worker | 21 ms | 20 ms | 0.95 |" in table
    assert "| numpy vectors, sent in the call | 64 ms | 200 ms | 3.12 |" in table
    assert scaleout.check_table(_inputs()) == ""  # not measured
    assert scaleout.check_table(_inputs(check={"dask arrays": 0.02, "numpy vectors": 0.2, "n": 10})) == ""
    # It survives the JSON round trip and shows in the report.
    again = scaleout.Inputs.from_json(json.loads(json.dumps(inputs.to_json())))
    assert again.check == inputs.check and again.fixed_cost == inputs.fixed_cost
    assert "## Check on this machine" in scaleout.report(again)


def test_best_of_runs(tmp_path, capsys):
    slow = _inputs(
        fixed_cost={**FIXED, ("on the cluster", 1): 0.007}, per_byte_s=0.5e-9, worker_Bps=8 * GB,
        threads_Bps=12 * GB, threads_fixed_s=1e-4, provenance=[("source", "x"), ("date", "run A")],
    )
    fast = _inputs(threads_Bps=10 * GB, threads_fixed_s=0.0, provenance=[("source", "y"), ("date", "run B")])
    best = scaleout.best_of([slow, fast])
    assert best.fixed_cost[("on the cluster", 1)] == 0.005 and best.per_byte_s == 0.25e-9
    assert best.worker_Bps == 10 * GB and best.threads_Bps == 12 * GB and best.threads_fixed_s == 0.0
    assert ("run 1: date", "run A") in best.provenance and ("run 2: date", "run B") in best.provenance
    with pytest.raises(ValueError, match="at least one run, got none"):
        scaleout.best_of([])
    files = []
    for i, run in enumerate((slow, fast)):
        files.append(tmp_path / f"run{i}.json")
        files[-1].write_text(json.dumps(run.to_json()))
    assert benchtools_main(["scaleout", "from-json", *map(str, files), "--no-ram"]) == 0
    out = capsys.readouterr().out
    assert "- source: best value of each input over 2 runs (below)" in out
    assert "| F: on the cluster, 1 chunk (isolated call) | 5 ms | 5 to 7 | " in out
    assert "| B_1: threads split bandwidth (1e7 elements, all cores) | 12 GB/s | 10 to 12 | " in out


def test_the_published_table_is_regenerated_from_the_saved_runs(tmp_path):
    """docs/scaleout/report.md is what from-json makes of docs/scaleout/run*.json, and docs/scaleout.md shows it."""
    runs = sorted((ROOT / "docs" / "scaleout").glob("run*.json"))
    assert len(runs) >= 2
    out = tmp_path / "report.md"
    assert benchtools_main(["scaleout", "from-json", *map(str, runs), "--out", str(out)]) == 0
    published = (ROOT / "docs" / "scaleout" / "report.md").read_text()
    assert out.read_text() == published
    page = (ROOT / "docs" / "scaleout.md").read_text()
    table = [line for line in published.splitlines() if line.startswith("| ")]
    assert len(table) > 20 and all(line in page for line in table)
