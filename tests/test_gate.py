"""End to end: ``python -m benchtools gate`` on a temporary clone, with real slowdowns.

The module makes a ``git clone --no-local`` of this repository with commits
on top of it, as a user's history would have them:

    C0     the repository as committed
    C1     an empty commit: the same code as C0
    S(f)   C1 plus an injected slowdown (one branch per factor f): every
           ``parallel_dot`` call (and so ``parallel_numpy_dot``) busy-waits
           after its result until it has lasted f times as long as the real
           work did -- a slowdown of exactly f on every split, whatever the
           backend, the size or the machine's speed

and runs the gate as docs/gate.md says (both commits built with pip and
timed in turn in one process, factor 1.1, 99% signed-rank intervals):

- ``gate C0 C1`` (identical code) exits 0: every row decided ok;
- ``gate C1 S(1.3)`` exits 1 and flags every row;
- ``gate C1 S(1.15)`` exits 1 and flags at least 90% of the rows at N >= 1e6
  (none of them is called ok).

CI judges a subset of the ``gate`` profile (:data:`CI_ROWS`: N 1e5 and
1e6, workers 1 and 2, float64 and int32, threads and auto).

``test_measurement_quality`` is the experiment behind docs/gate.md's "what the
gate can detect": the whole ``gate`` profile (54 rows), identical code three
times and the slowdowns 1.3 and 1.15, on an idle machine and with one core
kept busy by another process (about 35 minutes). It runs only when
``PARALLELDOT_GATE_EXPERIMENT=1`` is set (``PARALLELDOT_GATE_EXPERIMENT_LOADS=idle``
or ``busy`` runs one half, ``PARALLELDOT_GATE_EXPERIMENT_RUNS=slower-1.15`` only
the runs whose names start so) and writes every verdict and every pair
(``gate --save``) to ``artifacts/gate-experiment-<loads>.json``.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from _clone import REPO
ARTIFACTS = REPO / "artifacts"
MACHINE = "gate-test"
SPLITS = {"threads", "auto"}
#: The rows CI judges: threads and auto, N 1e5 and 1e6, workers 1 and 2 (the
#: cores), both dtypes of the gate profile: 16 rows, a minute or two. The
#: experiment below measures the whole profile (processes, 4 workers, 1e7).
CI_ROWS = (r"^bench_speedup\.Speedup\.track_speedup\('(threads|auto)', "
           r"(100000|1000000), [12], ")
#: Seconds a gate run may take (both commits built and measured).
TIMEOUT = 900

pytestmark = pytest.mark.asv

INJECTED = '''

# --- injected by tests/test_gate.py: every call {factor}x slower -----------
import functools as _gate_functools
import time as _gate_time

_gate_unslowed = parallel_dot


@_gate_functools.wraps(_gate_unslowed)
def parallel_dot(*args, **kwargs):
    start = _gate_time.perf_counter()
    result = _gate_unslowed(*args, **kwargs)
    end = start + {factor} * (_gate_time.perf_counter() - start)
    while _gate_time.perf_counter() < end:
        pass
    return result
'''


# --------------------------------------------------------------- helpers


def make_history(asv_clone, name, factors):
    """A clone with C0, C1 and one slowed-down commit per factor; their hashes."""
    clone = asv_clone(name, profile="gate", machine=MACHINE, timeout=TIMEOUT)
    c0 = clone.rev_parse("HEAD")
    c1 = clone.commit_empty("test: an empty commit, the same code")
    slowed = {}
    for factor in factors:
        clone.git("checkout", "-q", "-B", f"slower-{factor}", c1)
        slowed[factor] = clone.commit_file(
            "paralleldot/_api.py", INJECTED.format(factor=factor),
            f"test: every parallel_dot call {factor}x slower", append=True)
    clone.git("checkout", "-q", clone.branch())
    # The gate being edited: this working tree's tools, uncommitted, over the clone's.
    shutil.copytree(REPO / "benchtools", clone.path / "benchtools", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return clone, c0, c1, slowed


def gate(clone, base, head, *extra, save=None):
    """Run ``python -m benchtools gate`` (this working tree's) in the clone.

    Returns ``(exit status, output, seconds, saved rows or None)``.
    """
    t0 = time.monotonic()
    save = save or clone.workdir / "gate-save.json"
    save.unlink(missing_ok=True)
    proc = clone.run([sys.executable, "-m", "benchtools", "gate", base, head, "--save", save,
                      *extra], check=False)
    rows = json.loads(save.read_text())["rows"] if save.exists() else None
    return proc.returncode, proc.stdout, time.monotonic() - t0, rows


def _key(row):
    return (row["split"], row["N"], row["workers"], row["dtype"])


def _with(rows, verdict):
    return {_key(r) for r in rows if r["verdict"] == verdict}


# --------------------------------------------------------------- CI tests


@pytest.fixture(scope="module")
def history(asv_clone):
    t0 = time.monotonic()
    clone, c0, c1, slowed = make_history(asv_clone, "gate", (1.3, 1.15))
    return {"clone": clone, "c0": c0, "c1": c1, "slowed": slowed, "t0": t0}


EXPECTED_ROWS = {(s, n, w, d) for s in SPLITS for n in (10**5, 10**6) for w in (1, 2)
                 for d in ("float64", "int32")}


def test_gate_passes_identical_commits(history):
    rc, out, seconds, rows = gate(history["clone"], history["c0"], history["c1"],
                                  "--bench", CI_ROWS)
    print(out[-6000:])
    print(f"wall time of the gate: {seconds:.0f} s")
    assert {_key(r) for r in rows} == EXPECTED_ROWS, out[-6000:]
    assert not _with(rows, "regressed") and not _with(rows, "failed"), out[-6000:]
    assert rc == 0 and _with(rows, "ok") == EXPECTED_ROWS, out[-6000:]
    assert "gate: OK" in out


def test_gate_flags_every_row_of_a_13x_slowdown(history):
    rc, out, seconds, rows = gate(history["clone"], history["c1"], history["slowed"][1.3],
                                  "--bench", CI_ROWS)
    print(out[-6000:])
    print(f"wall time of the gate: {seconds:.0f} s")
    assert rc == 1 and "REGRESSED" in out, out[-6000:]
    assert _with(rows, "regressed") == EXPECTED_ROWS, out[-6000:]
    for row in rows:
        assert 1.1 < row["slowdown"] < 1.6, row


def test_gate_flags_a_115x_slowdown_at_large_n(history):
    rc, out, seconds, rows = gate(history["clone"], history["c1"], history["slowed"][1.15],
                                  "--bench", CI_ROWS)
    print(out[-6000:])
    assert rc == 1, out[-6000:]
    assert not _with(rows, "ok"), f"a 1.15x slowdown passed as ok:\n{out[-6000:]}"
    large = [r for r in rows if r["N"] >= 10**6]
    flagged = [r for r in large if r["verdict"] == "regressed"]
    assert len(flagged) >= 0.9 * len(large), out[-6000:]
    print(f"1.15x: {len(flagged)} of {len(large)} rows at N >= 1e6 flagged, "
          f"{len(_with(rows, 'regressed'))} of {len(rows)} in all; module wall time so far "
          f"{time.monotonic() - history['t0']:.0f} s")


def test_gate_refuses_unknown_commit(history):
    rc, out, _, _ = gate(history["clone"], history["c0"], "no-such-commit")
    assert rc == 2
    assert "'no-such-commit' is not a commit" in out


def test_gate_refuses_a_factor_of_one_or_less(history):
    rc, out, _, _ = gate(history["clone"], history["c0"], history["c1"], "--factor", "0.9")
    assert rc == 2 and "--factor must be > 1, got 0.9" in out


# --------------------------------------------------------------- the experiment


class Busy:
    """One other process keeping a core busy while a gate runs."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def _summary(rc, out, seconds, rows):
    """One gate run of the experiment: its exit, verdicts and every pair (to replay new rules)."""
    return {"exit": rc, "seconds": round(seconds), "rows": rows}


FACTORS = (1.3, 1.15)


@pytest.mark.skipif(os.environ.get("PARALLELDOT_GATE_EXPERIMENT") != "1",
                    reason="the measurement-quality experiment takes about 35 minutes: "
                    "set PARALLELDOT_GATE_EXPERIMENT=1")
def test_measurement_quality(asv_clone):
    """The whole gate profile: identical code 3 x 2 times and two slowdowns, idle and busy.

    Goals (issue 20): identical code flags no row and exits 0; 1.3x flags
    every row; 1.15x at least 90% of the rows at N >= 1e6; at most 5% of
    the rows undecided in any run; a run within 10 minutes. The noise floor
    (the smallest slowdown flagged on 95% of the rows) is reported.
    """
    t0 = time.monotonic()
    clone, c0, c1, slowed = make_history(asv_clone, "gate-exp", FACTORS)
    report = {}
    ARTIFACTS.mkdir(exist_ok=True)
    loads = os.environ.get("PARALLELDOT_GATE_EXPERIMENT_LOADS", "idle,busy").split(",")
    saved = ARTIFACTS / f"gate-experiment-{'-'.join(loads)}.json"

    # PARALLELDOT_GATE_EXPERIMENT_RUNS=slower-1.15,identical: only the runs so named
    only = [r for r in os.environ.get("PARALLELDOT_GATE_EXPERIMENT_RUNS", "").split(",") if r]

    def run(name, base, head):
        if only and not any(name.startswith(r) for r in only):
            return
        with Busy() if "busy" in name else _nothing():
            report[name] = _summary(*gate(clone, base, head))
        saved.write_text(json.dumps(report, indent=1))

    for load in loads:
        for i in range(3):
            run(f"identical-{load}-{i + 1}", c0, c1)
        for factor in FACTORS:
            run(f"slower-{factor}-{load}", c1, slowed[factor])
    report["wall_seconds"] = round(time.monotonic() - t0)
    saved.write_text(json.dumps(report, indent=1))
    problems = []
    for name, run in report.items():
        if not isinstance(run, dict):
            continue
        rows = run["rows"]
        undecided = [r for r in rows if r["verdict"] == "undecided"]
        if len(undecided) > 0.05 * len(rows):
            problems.append(f"{name}: {len(undecided)} of {len(rows)} rows undecided")
        if name.startswith("identical") and (run["exit"] != 0 or _with(rows, "regressed")):
            problems.append(f"{name}: identical code flagged {sorted(_with(rows, 'regressed'))}")
        if name.startswith("slower-1.3-") and _with(rows, "regressed") != {_key(r) for r in rows}:
            problems.append(f"{name}: {len(_with(rows, 'regressed'))} of {len(rows)} rows flagged")
        if name.startswith("slower-1.15-"):
            large = [r for r in rows if r["N"] >= 10**6]
            flagged = [r for r in large if r["verdict"] == "regressed"]
            if run["exit"] != 1 or len(flagged) < 0.9 * len(large):
                problems.append(f"{name}: {len(flagged)} of {len(large)} rows at N >= 1e6")
        if run["seconds"] > 10 * 60:
            problems.append(f"{name}: {run['seconds']} s, over 10 minutes")
    assert not problems, "\n".join(problems)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
