"""End to end: ``python -m benchtools gate`` on a temporary clone, with real asv and real slowdowns.

The module makes a ``git clone --no-local`` of this repository with commits
on top of it, as a user's history would have them:

    C0     the repository as committed
    C1     an empty commit: the same code as C0
    S(f)   C1 plus an injected slowdown (one branch per factor f): every
           ``parallel_dot`` call (and so ``parallel_numpy_dot``) busy-waits
           after its result until it has lasted f times as long as the real
           work did -- a slowdown of exactly f on every split, whatever the
           backend, the size or the machine's speed

and runs the gate, as docs/gate.md says, in one real virtualenv environment
(this Python, the newest numpy of the matrix), with a throwaway HOME for
``asv machine --yes``, with its default settings (3 alternating rounds per
commit, factor 1.1, one confirmation of flagged, noisy and borderline rows):

- ``gate C0 C1`` (identical code) exits 0 and flags nothing;
- ``gate C1 S(1.3)`` exits 1, flags at least half of the rows and lists
  the others as noisy (none is called OK);
- ``gate C1 S(1.15)`` exits 1, decides at least 6 of the 16 rows and flags
  at least 90% of those, and of those at N >= 1e6 (at least 2 of 8 decided).

The bounds on decided rows sit below the fewest seen in 8 gate runs of
these rows at 1.15x recorded on 2026-11-26 (idle and busy, 6 rounds per
commit, each replayed 200 times through the gate's rules; in
``docs/gate/rounds-2026-11-26*.json``): 7 rows decided, 4 of them with 1
worker, 3 at N >= 1e6. On a noisy hour the int32 rows with 1 worker
scatter by 20 to 30% between processes and are rightly called noisy; a CI
run at a260877 decided 11 of 16, which a bound of 75% failed.

CI judges a subset of the ``gate`` profile (:data:`CI_ROWS`: N 1e5 and
1e6, workers 1 and 2, float64 and int32, threads and auto) so that the module
stays within a few minutes on 2 cores.

``test_measurement_quality`` is the experiment behind docs/gate.md's "what the
gate can detect": the whole ``gate`` profile, identical code three times and
both slowdowns, on an idle machine and with one core kept busy by another
process (41 to 47 minutes). It runs only when
``PARALLELDOT_GATE_EXPERIMENT=1`` is set and writes its figures, with every
round of every row (``gate --save``, to replay a new decision rule on them),
to ``artifacts/gate-experiment.json``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
MACHINE = "gate-test"
SPLITS = {"threads", "auto"}
#: The rows CI judges: threads and auto, N 1e5 and 1e6, workers 1 and 2 (the
#: cores), both dtypes of the gate profile. Rows of the process backend and
#: of more workers than cores are mostly noisy on 2 cores (see the gate's
#: docstring): the experiment below measures them.
CI_ROWS = (r"^bench_speedup\.Speedup\.track_speedup\('(threads|auto)', "
           r"(100000|1000000), [12], ")
#: Seconds a gate run may take (both commits measured, environment created).
TIMEOUT = 1500

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


def gate(clone, base, head, *extra):
    """Run ``python -m benchtools gate`` (this working tree's) in the clone; return (rc, output, seconds)."""
    t0 = time.monotonic()
    proc = clone.run([sys.executable, "-m", "benchtools", "gate", base, head, "--machine", MACHINE,
                      *extra], check=False)
    return proc.returncode, proc.stdout, time.monotonic() - t0


ROW = re.compile(r"^\s+(threads|auto|processes)\s+(\S+)\s+(\d+)\s+(\w+)\s+(\S+)\s+(\S+)\s+"
                 r"(\S+)\s+(\S+)\s+(\d+\+\d+)(?:\s+(.*))?$")


def parse_gate(out, with_noisy=False):
    """The gate's tables: (judged rows, regressed rows[, noisy rows]) as dicts."""
    judged, regressed, noisy, section = [], [], [], None
    for line in out.splitlines():
        if re.match(r"^\d+ rows judged", line):
            section = judged
            continue
        if line.startswith("REGRESSED:"):
            section = regressed
            continue
        if line.startswith("NOISY:"):
            section = noisy
            continue
        m = ROW.match(line)
        if m and section is not None:
            section.append({
                "split": m.group(1), "N": int(float(m.group(2))), "workers": int(m.group(3)),
                "dtype": m.group(4), "slowdown": float(m.group(7)) if m.group(7) != "-" else None,
                "spread": float(m.group(8)) if m.group(8) != "-" else None,
                "reason": (m.group(10) or "").strip(),
            })
    return (judged, regressed, noisy) if with_noisy else (judged, regressed)


def _key(row):
    return (row["split"], row["N"], row["workers"], row["dtype"])


# --------------------------------------------------------------- CI tests


@pytest.fixture(scope="module")
def history(asv_clone):
    t0 = time.monotonic()
    clone, c0, c1, slowed = make_history(asv_clone, "gate", (1.3, 1.15))
    return {"clone": clone, "c0": c0, "c1": c1, "slowed": slowed, "t0": t0}


EXPECTED_ROWS = {(s, n, w, d) for s in SPLITS for n in (10**5, 10**6) for w in (1, 2)
                 for d in ("float64", "int32")}
#: At least this share of the CI rows must be decided (regressed or OK, not
#: noisy): 6 of 16, below the 7 of the noisiest recorded run (see the module
#: docstring). A gate that calls every row noisy fails it.
DECIDED = 6 / 16


def test_gate_passes_identical_commits(history):
    rc, out, seconds = gate(history["clone"], history["c0"], history["c1"], "--bench", CI_ROWS)
    print(out[-5000:])
    print(f"wall time of the gate (environment created): {seconds:.0f} s")
    judged, regressed = parse_gate(out)
    assert rc == 0, f"identical code flagged:\n{out[-5000:]}"
    assert "gate: OK" in out and not regressed
    assert {_key(r) for r in judged} == EXPECTED_ROWS, out[-5000:]


def test_gate_flags_every_row_of_a_13x_slowdown(history):
    rc, out, seconds = gate(history["clone"], history["c1"], history["slowed"][1.3],
                            "--bench", CI_ROWS)
    print(out[-5000:])
    print(f"wall time of the gate: {seconds:.0f} s")
    judged, regressed, noisy = parse_gate(out, with_noisy=True)
    assert rc == 1, f"a 1.3x slowdown was not flagged:\n{out[-5000:]}"
    assert "REGRESSED" in out
    assert {_key(r) for r in judged} == EXPECTED_ROWS, out[-5000:]
    # Every row shows the slowdown: regressed, or noisy (within its spread).
    assert {_key(r) for r in regressed} | {_key(r) for r in noisy} == EXPECTED_ROWS, out[-5000:]
    assert len(regressed) >= DECIDED * len(EXPECTED_ROWS), out[-5000:]
    for row in regressed:
        assert row["slowdown"] > 1.1


def test_gate_flags_a_115x_slowdown_at_large_n(history):
    rc, out, seconds = gate(history["clone"], history["c1"], history["slowed"][1.15],
                            "--bench", CI_ROWS)
    print(out[-5000:])
    judged, regressed, noisy = parse_gate(out, with_noisy=True)
    assert rc == 1, f"a 1.15x slowdown was not flagged:\n{out[-5000:]}"
    assert {_key(r) for r in judged} == EXPECTED_ROWS, out[-5000:]
    noisy_keys = {_key(r) for r in noisy}
    decided = [r for r in judged if _key(r) not in noisy_keys]
    # At least half the rows are decided, most of those with 1 worker (which
    # does not share its core with a second one), and a decided row is a
    # flagged row.
    assert len(decided) >= DECIDED * len(judged), out[-5000:]
    assert sum(r["workers"] == 1 for r in decided) >= 4, out[-5000:]
    assert len(regressed) >= 0.9 * len(decided), out[-5000:]
    # At N >= 1e6, where 2 workers on 2 shared cores scatter most (rounds 1.5
    # to 2 times apart in CI), at least 2 of 8 are decided, 90% of them flagged.
    large = [r for r in decided if r["N"] >= 10**6]
    flagged = [r for r in regressed if r["N"] >= 10**6]
    assert len(large) >= 2 and len(flagged) >= 0.9 * len(large), out[-5000:]
    print(f"1.15x: {len(flagged)} of {len(large)} decided rows at N >= 1e6 flagged; module "
          f"wall time so far {time.monotonic() - history['t0']:.0f} s")


def test_gate_reuses_saved_results(history):
    """--no-run judges what the runs above saved (the last round), without measuring."""
    rc, out, seconds = gate(history["clone"], history["c1"], history["slowed"][1.3], "--no-run",
                            "--bench", CI_ROWS)
    assert rc == 1, out[-4000:]
    assert "asv run" not in out
    assert seconds < 60
    rc, out, _ = gate(history["clone"], history["c1"], history["slowed"][1.3],
                      "--no-run", "--factor", "50", "--bench", CI_ROWS)
    assert rc == 0, out[-4000:]


def test_gate_refuses_unknown_commit(history):
    rc, out, _ = gate(history["clone"], history["c0"], "no-such-commit", "--no-run")
    assert rc == 2
    assert "no-such-commit" in out


def test_gate_refuses_a_factor_of_one_or_less(history):
    rc, out, _ = gate(history["clone"], history["c0"], history["c1"], "--factor", "0.9")
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


def _summary(rc, out, seconds, saved):
    """One gate run of the experiment: verdicts, and every round (to replay new rules)."""
    judged, regressed, noisy = parse_gate(out, with_noisy=True)
    rounds = json.loads(saved.read_text())["samples"] if saved.exists() else None
    return {"exit": rc, "seconds": round(seconds), "rows": len(judged),
            "flagged": sorted(_key(r) for r in regressed),
            "noisy": sorted(_key(r) for r in noisy),
            "slowdowns": {"/".join(map(str, _key(r))): r["slowdown"] for r in judged},
            "spreads": {"/".join(map(str, _key(r))): r["spread"] for r in judged},
            "rounds": rounds}


@pytest.mark.skipif(os.environ.get("PARALLELDOT_GATE_EXPERIMENT") != "1",
                    reason="the measurement-quality experiment takes 41 to 47 min: "
                    "set PARALLELDOT_GATE_EXPERIMENT=1")
def test_measurement_quality(asv_clone):
    """The whole gate profile: identical code 3 x 2 times, 1.3x and 1.15x, idle and busy.

    Goals: identical code flags no row; 1.3x flags every row that is not
    noisy, 1.15x at least 90% of those at N >= 1e6; a run within 8 minutes.
    The share of noisy rows is reported, not asserted: it is what the
    machine allows.
    """
    t0 = time.monotonic()
    clone, c0, c1, slowed = make_history(asv_clone, "gate-exp", (1.3, 1.15))
    report = {}
    saved = clone.path / "gate-rounds.json"

    def run(name, base, head):
        saved.unlink(missing_ok=True)
        with Busy() if name.endswith("busy") or "-busy-" in name else _nothing():
            report[name] = _summary(*gate(clone, base, head, "--save", str(saved)), saved)

    for load in ("idle", "busy"):
        for i in range(3):
            run(f"identical-{load}-{i + 1}", c0, c1)
        for factor in (1.3, 1.15):
            run(f"slower-{factor}-{load}", c1, slowed[factor])
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "gate-experiment.json").write_text(json.dumps(report, indent=1))
    report["wall_seconds"] = round(time.monotonic() - t0)
    (ARTIFACTS / "gate-experiment.json").write_text(json.dumps(report, indent=1))
    problems = []
    for name, run in report.items():
        if not isinstance(run, dict):
            continue
        decided = run["rows"] - len(run["noisy"])
        if name.startswith("identical") and (run["exit"] != 0 or run["flagged"]):
            problems.append(f"{name}: identical code flagged {run['flagged']}")
        if name.startswith("slower-1.3") and (run["exit"] != 1 or len(run["flagged"]) != decided):
            problems.append(f"{name}: {len(run['flagged'])} of {decided} decided rows flagged")
        if name.startswith("slower-1.15"):
            large = [k for k in run["slowdowns"] if int(k.split("/")[1]) >= 10**6]
            noisy = {"/".join(map(str, k)) for k in run["noisy"]}
            decided_large = [k for k in large if k not in noisy]
            flagged = [k for k in run["flagged"] if k[1] >= 10**6]
            if run["exit"] != 1 or len(flagged) < 0.9 * len(decided_large):
                problems.append(f"{name}: {len(flagged)} of {len(decided_large)} decided rows "
                                "at N >= 1e6")
        if run.get("seconds", 0) > 8 * 60:
            problems.append(f"{name}: {run['seconds']} s, over 8 minutes")
    assert not problems, "\n".join(problems)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
