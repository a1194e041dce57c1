"""End to end: tools/gate.py on a temporary clone, with real asv and a real slowdown.

The module makes a ``git clone --no-local`` of this repository with three
commits on top of it, as a user's history would have them:

    C0  the repository as committed
    C1  an empty commit: the same code as C0
    C2  C1 plus an injected slowdown: every ``parallel_dot`` call (and so
        ``parallel_numpy_dot``) busy-waits after its result until it has
        lasted ``SLOWDOWN`` times as long as the real work did -- a
        slowdown of exactly that factor on every split benchmark, whatever
        the backend, the size or the machine's speed

and runs the gate, as the README says, in one real virtualenv environment
(this Python, the newest numpy of the matrix), with a throwaway HOME for
``asv machine --yes``:

- ``gate C0 C1`` (identical code) exits 0;
- ``gate C1 C2`` (1.5x slower) exits 1 and names the regressed rows.

CI uses the ``quick`` profile (N up to 1e5) so that the module stays within
a few minutes on 2 cores (environment creation included); the gate judges
the 9 rows with N = 1e5, with its default settings.

``test_measurement_quality`` is the experiment behind the README's "what the
gate can detect" (default profile, N up to 1e7, 15 to 25 minutes on 2 shared cores): it runs
only when ``PARALLELDOT_GATE_EXPERIMENT=1`` is set. It checks that the same
code measured twice flags no row at N >= 1e5, and that an injected 1.3x
slowdown is flagged on every row at N >= 1e6, and writes the figures to
``artifacts/gate-experiment.json``.
"""

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GATE = REPO / "tools" / "gate.py"
ARTIFACTS = REPO / "artifacts"
MACHINE = "gate-test"
#: CI runs the gate with its own settings (4 interleaved rounds per commit).
#: With 2 rounds, a processes row at N = 1e5 was flagged on identical code
#: (ratio 1.53): its time depends on the benchmark process, and 2 processes
#: per commit were too few to see the fast one.
CI_SETTINGS = ()
SLOWDOWN = 1.5
#: Seconds a gate run may take (both commits measured, environment created).
TIMEOUT = 1500
#: bench_dot's classes the gate does not judge: numpy.dot and the fixed baseline.
NOT_JUDGED = ("NumpyDot", "PerCallPool")

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


def make_history(asv_clone, name, profile, factor):
    """A clone with the module's three commits C0, C1, C2 (see the docstring); its hashes."""
    clone = asv_clone(name, profile=profile, machine=MACHINE, timeout=TIMEOUT)
    c0 = clone.rev_parse("HEAD")
    c1 = clone.commit_empty("test: an empty commit, the same code")
    c2 = clone.commit_file("paralleldot/_api.py", INJECTED.format(factor=factor),
                           f"test: every parallel_dot call {factor}x slower", append=True)
    return clone, c0, c1, c2


def gate(clone, base, head, *extra):
    """Run tools/gate.py (this working tree's) in the clone; return (rc, output, seconds)."""
    t0 = time.monotonic()
    proc = clone.run([sys.executable, GATE, base, head, "--machine", MACHINE, *extra],
                     check=False)
    return proc.returncode, proc.stdout, time.monotonic() - t0


ROW = re.compile(r"^\s+(bench_dot\.\w+\.\w+)\s+(\S+)\s+(\d+)\s+(.+?)\s{2,}(.+?)\s{2,}"
                 r"(\d+\.\d+)(?:\s+(.*))?$")


def parse_gate(out):
    """The gate's two tables: (judged rows, regressed rows) as dicts."""
    judged, regressed, section = [], [], None
    for line in out.splitlines():
        if re.match(r"^\d+ rows judged:", line):
            section = judged
            continue
        if line.startswith("REGRESSED:"):
            section = regressed
            continue
        m = ROW.match(line)
        if m and section is not None:
            section.append({
                "benchmark": m.group(1), "N": int(float(m.group(2))),
                "workers": int(m.group(3)), "ratio": float(m.group(6)),
                "reason": (m.group(7) or "").strip(),
            })
    return judged, regressed


# --------------------------------------------------------------- CI tests


@pytest.fixture(scope="module")
def history(asv_clone):
    t0 = time.monotonic()
    clone, c0, c1, c2 = make_history(asv_clone, "gate", "quick", SLOWDOWN)
    return {"clone": clone, "c0": c0, "c1": c1, "c2": c2, "t0": t0,
            "split_classes": split_classes(clone.path)}


def split_classes(clone):
    """The timed split benchmarks of the clone's bench_dot (threads, processes, auto, ...)."""
    text = (clone / "benchmarks" / "bench_dot.py").read_text()
    found = set(re.findall(r"^class (\w+)\(common\.Benchmark\)", text, re.M)) - set(NOT_JUDGED)
    assert {"Threads", "Processes", "Auto"} <= found, found
    return found


def test_gate_passes_identical_commits(history):
    rc, out, seconds = gate(history["clone"], history["c0"], history["c1"], *CI_SETTINGS)
    print(out[-4000:])
    print(f"wall time of the gate (env creation included): {seconds:.0f} s")
    judged, regressed = parse_gate(out)
    assert rc == 0, f"identical code flagged:\n{out[-4000:]}"
    assert "gate: OK" in out
    assert not regressed
    # Every split benchmark is judged at N = 1e5, for every workers.
    assert {(r["benchmark"].split(".")[1], r["N"], r["workers"]) for r in judged} == {
        (cls, 10**5, w) for cls in history["split_classes"] for w in (1, 2, 4)
    }, out[-4000:]


def test_gate_flags_injected_slowdown_and_names_rows(history):
    rc, out, seconds = gate(history["clone"], history["c1"], history["c2"], *CI_SETTINGS)
    print(out[-4000:])
    print(f"wall time of the gate: {seconds:.0f} s")
    judged, regressed = parse_gate(out)
    assert rc == 1, f"a {SLOWDOWN}x slowdown was not flagged:\n{out[-4000:]}"
    assert "REGRESSED" in out
    # The flagged benchmarks were measured a second time, for real.
    assert "again to confirm" in out and "No benchmarks selected" not in out, out[-4000:]
    assert regressed, out[-4000:]
    for row in regressed:
        assert row["benchmark"].split(".")[1] in history["split_classes"]
        assert row["N"] >= 10**5
        assert row["ratio"] > 1.0
    # The slowdown touches every split benchmark: each one has a flagged row.
    assert {r["benchmark"].split(".")[1] for r in regressed} == history["split_classes"], \
        out[-4000:]
    # The baselines are never judged.
    assert not any(r["benchmark"].split(".")[1] in NOT_JUDGED for r in judged)
    print(f"flagged {len(regressed)} of {len(judged)} rows; "
          f"module wall time so far {time.monotonic() - history['t0']:.0f} s")


def test_gate_reuses_saved_results(history):
    """--no-run judges what the two runs above saved, without measuring again."""
    rc, out, seconds = gate(history["clone"], history["c1"], history["c2"], "--no-run")
    assert rc == 1, out[-4000:]
    assert "asv continuous" not in out
    assert seconds < 60
    rc, out, _ = gate(history["clone"], history["c1"], history["c2"],
                      "--no-run", "--factor", "50")
    assert rc == 0, out[-4000:]


def test_gate_refuses_unknown_commit(history):
    rc, out, _ = gate(history["clone"], history["c0"], "no-such-commit", "--no-run")
    assert rc == 2
    assert "no-such-commit" in out


# --------------------------------------------------------------- the experiment


@pytest.mark.skipif(os.environ.get("PARALLELDOT_GATE_EXPERIMENT") != "1",
                    reason="the measurement-quality experiment takes ~15 min: "
                    "set PARALLELDOT_GATE_EXPERIMENT=1")
def test_measurement_quality(asv_clone):
    """Default profile: identical code flags nothing at N >= 1e5; 1.3x is flagged at N >= 1e6."""
    factor = os.environ.get("PARALLELDOT_GATE_FACTOR")  # None: the gate's default
    extra = ["--factor", factor] if factor else []
    t0 = time.monotonic()
    clone, c0, c1, c2 = make_history(asv_clone, "gate-exp", "default", 1.3)

    rc_same, out_same, s_same = gate(clone, c0, c1, *extra)
    judged_same, flagged_same = parse_gate(out_same)
    rc_slow, out_slow, s_slow = gate(clone, c1, c2, *extra)
    judged_slow, flagged_slow = parse_gate(out_slow)

    big = [r for r in judged_slow if r["N"] >= 10**6]
    missed = [r for r in big if not r["reason"].startswith("slower")]
    report = {
        "factor": factor or "default",
        "identical": {"exit": rc_same, "rows": len(judged_same),
                      "flagged": flagged_same, "seconds": round(s_same),
                      "max_ratio": max((r["ratio"] for r in judged_same), default=None),
                      "ratios": judged_same},
        "slowdown_1.3": {"exit": rc_slow, "rows_N_ge_1e6": len(big),
                         "missed_N_ge_1e6": missed, "seconds": round(s_slow),
                         "ratios": judged_slow},
        "wall_seconds": round(time.monotonic() - t0),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "gate-experiment.json").write_text(json.dumps(report, indent=2))
    print(out_same[-5000:])
    print(out_slow[-5000:])
    assert judged_same and rc_same == 0 and not flagged_same, out_same[-5000:]
    assert big and not missed, out_slow[-5000:]
