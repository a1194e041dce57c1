"""When would scale-out pay? A model of K machines against one, from measured inputs.

The question
------------
``parallel_dot(a, b)`` of two float64 vectors of length ``N`` reads ``b N``
bytes (``b = 16``: 8 bytes of ``a`` and 8 of ``b`` per element). Past the
caches one machine is bound by its memory bandwidth. Above which ``N`` do
``K`` machines (``K`` = 2, 4, 8, 16), each with this machine's memory
bandwidth, running one dask worker each, beat one machine running the
threads split on all its cores?

The model
---------
One machine (the threads split on all cores)::

    T_1(N) = c_1 + b N / B_1

K machines, one dask worker each, one chunk of ``N / K`` elements per
machine::

    T_K(N) = F(K) + s * b N * p + b N / (K B_m)

- ``c_1``: the threads split's fixed cost (tiny vectors), ``B_1``: its
  bandwidth (GB/s over ``b N`` bytes, large ``N``);
- ``F(K)``: dask's fixed cost of a call with ``K`` chunks: tiny data, an
  isolated call (submit, schedule, run, gather the partial sums, release),
  measured with 1 and ``k_0`` chunks (``k_0 = 8``) and interpolated
  linearly, ``F(K) = F(1) + (K - 1) (F(k_0) - F(1)) / (k_0 - 1)``: the
  scheduler and the client handle every chunk's task in turn;
- ``B_m``: the bandwidth of each of the K machines: one dask worker with
  one thread (measured: ``numpy.dot`` timed inside a worker), or, as a
  labelled variant, the threads split's ``B_1`` (a worker using all the
  cores of its machine);
- ``s = 0`` for *arrays already distributed* (each machine holds its
  chunk; only a small graph goes out and the partial sums come back, both
  in ``F``), ``s = 1`` for *vectors sent at each call*: the caller scatters
  all ``b N`` bytes, every chunk of both vectors, from its one machine, one
  after the other (the caller is not one of the K workers, as with
  paralleldot's backend), at ``p`` seconds per byte; the work starts when
  the data has arrived (no overlap of sending and reading: a bound that
  favours dask by at most the smaller of the two terms).

K machines win when ``T_K(N) < T_1(N)``, that is when::

    N > N* = (F(K) - c_1) / (b g),   g = 1 / B_1 - 1 / (K B_m) - s p

``g`` is the time saved per byte. If ``g <= 0`` the K machines never win,
whatever ``N``: either ``K B_m <= B_1`` (they read no faster than the one
machine), or, for vectors sent at each call, moving a byte costs more than
the machine would spend reading it (``p >= 1 / B_1 - 1 / (K B_m)``). If
``F(K) <= c_1`` they win at every ``N``. ``N*`` is not monotonic in ``K``
when ``F`` grows with ``K``: past some ``K`` the extra tasks cost more than
the extra bandwidth saves.

The cost per byte ``p`` is measured on the loopback interface of this
machine (local TCP: serialization, two kernel copies, no wire): a best case
for a real network. The tables also use a named link of ``R`` bits per
second, an *assumption*, not a measurement: ``p_R = max(p, 8 / R)``
(sending is pipelined, so the slower of the software path and the wire
sets the rate). The fixed costs are also loopback figures; a LAN adds some
tens of microseconds per message, negligible against the milliseconds of
``F``.

Other assumptions: float64 vectors (``b = 16``); one machine can hold the
vectors (above its RAM only K machines can run at all, which the table
marks); each remote machine has this machine's memory bandwidth; the
chunks are equal; the tiny-chunk fixed costs hold for large chunks (only
the per-byte and bandwidth terms grow with ``N``).

The inputs
----------
Measured by ``benchmarks/bench_dask.py`` (:func:`measure_model_inputs`, one
process, one LocalCluster on 127.0.0.1), either by asv (the ``Model*``
``track_`` benchmarks, whose history shows in the site) or now::

    python -m benchtools scaleout direct [--json inputs.json] [--out docs/scaleout-table.md]
    python -m benchtools scaleout from-asv [--results results] [--machine M] [--env E] [--commit C] [--out FILE]
    python -m benchtools scaleout from-json inputs.json [more.json ...] [--out FILE]

With several files, ``from-json`` keeps the best value of each input over
the runs (smallest costs, largest bandwidths: the least disturbed
estimates on a shared machine, as best-of-samples within a run) and shows
each input's range. Each prints (or writes to ``--out``) the inputs with their provenance and
the crossover tables in Markdown. ``direct`` needs dask and distributed;
``from-asv`` needs asv.
"""

import dataclasses
import datetime
import json
import math
import os
import platform
import sys

from benchmarks.scaleout_model import FIXED_INPUTS, READERS

from . import _asv, _fmt, _git
from ._fmt import ok as _ok

#: Bytes read per element of a dot product of two float64 vectors.
BYTES_PER_ELEMENT = 16
#: Machine counts of the table.
MACHINES = (2, 4, 8, 16)
#: Named links of the table, bits per second (assumptions, not measurements).
NETWORKS = {"100 Gb/s": 100e9, "10 Gb/s": 10e9}
#: Keys of the fixed costs: (inputs, chunks) as in bench_dask.ModelFixedCost.
DASK_ARRAYS, DASK_SCATTERED, PD_ARRAYS, PD_NUMPY = FIXED_INPUTS
#: The asv benchmarks that hold the inputs.
ASV_FIXED = "bench_dask.ModelFixedCost.track_fixed_cost"
ASV_TRANSFER = "bench_dask.ModelTransfer.track_cost_per_byte"
ASV_BANDWIDTH = "bench_dask.ModelBandwidth.track_bandwidth"
ASV_THREADS_FIXED = "bench_dask.ModelThreadsFixedCost.track_threads_fixed_cost"
WORKER_READER, THREADS_READER = READERS


# --- the model ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Crossover:
    """``n``: the N above which K machines beat one (``0``: always, ``inf``: never); ``reason`` says why."""

    n: float
    reason: str

    @property
    def never(self):
        return math.isinf(self.n)


def _positive(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _non_negative(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")


def crossover_n(
    fixed_s,
    per_byte_s,
    bandwidth_Bps,
    machines,
    one_machine_Bps,
    bytes_per_element=BYTES_PER_ELEMENT,
    sent_each_call=False,
    one_machine_fixed_s=0.0,
):
    """The N above which ``machines`` machines beat one machine (see the module doc).

    Parameters
    ----------
    fixed_s : float
        ``F(K)``, seconds of a call with tiny data on the K machines.
    per_byte_s : float
        ``p``, seconds to send one byte from the caller to a worker (used
        only with ``sent_each_call``).
    bandwidth_Bps : float
        ``B_m``, bytes per second each of the K machines reads.
    machines : int
        ``K >= 1``.
    one_machine_Bps : float
        ``B_1``, bytes per second of the one machine.
    bytes_per_element : int
        ``b``, bytes read per element (16 for two float64 vectors).
    sent_each_call : bool
        True when the caller sends the ``b N`` bytes at each call.
    one_machine_fixed_s : float
        ``c_1``, seconds of the one machine's call on tiny vectors.

    Returns
    -------
    Crossover
        ``n = (F - c_1) / (b g)`` with ``g = 1/B_1 - 1/(K B_m) - s p``;
        ``inf`` when ``g <= 0`` (never), ``0`` when ``F <= c_1`` and
        ``g > 0`` (always), with the reason.
    """
    _non_negative("fixed_s", fixed_s)
    _non_negative("per_byte_s", per_byte_s)
    _positive("bandwidth_Bps", bandwidth_Bps)
    _positive("one_machine_Bps", one_machine_Bps)
    _non_negative("one_machine_fixed_s", one_machine_fixed_s)
    if not isinstance(machines, int) or isinstance(machines, bool) or machines < 1:
        raise ValueError(f"machines must be an integer >= 1, got {machines!r}")
    if not isinstance(bytes_per_element, int) or isinstance(bytes_per_element, bool) or bytes_per_element < 1:
        raise ValueError(f"bytes_per_element must be an integer >= 1, got {bytes_per_element!r}")
    read_one = 1.0 / one_machine_Bps
    read_k = 1.0 / (machines * bandwidth_Bps)
    send = per_byte_s if sent_each_call else 0.0
    gain = read_one - read_k - send
    if gain <= 0:
        if send >= read_one:
            reason = (
                f"sending a byte costs {send * 1e9:.3g} ns, at least the {read_one * 1e9:.3g} ns "
                f"the one machine spends reading it: no number of machines wins"
            )
        elif read_k >= read_one:
            reason = (
                f"{machines} machines read {machines * bandwidth_Bps / 1e9:.3g} GB/s together, "
                f"no faster than the one machine's {one_machine_Bps / 1e9:.3g} GB/s"
            )
        else:
            reason = (
                f"sending a byte costs {send * 1e9:.3g} ns, more than the "
                f"{(read_one - read_k) * 1e9:.3g} ns the {machines} machines save reading it "
                f"(one machine reads a byte in {read_one * 1e9:.3g} ns)"
            )
        return Crossover(math.inf, reason)
    excess = fixed_s - one_machine_fixed_s
    if excess <= 0:
        return Crossover(0.0, "the K machines' fixed cost is no larger than the one machine's")
    n = excess / (bytes_per_element * gain)
    return Crossover(
        n,
        f"({excess * 1e3:.3g} ms more fixed cost) / ({bytes_per_element} B x {gain * 1e9:.3g} ns saved per byte)",
    )


def break_even_rate(bandwidth_Bps, machines, one_machine_Bps):
    """Bytes per second the caller must send at, at least, for vectors sent at each call to ever pay.

    The per-byte cost ``p`` must be below ``1/B_1 - 1/(K B_m)``: returns
    ``1 / (1/B_1 - 1/(K B_m))``, or ``inf`` when the K machines read no
    faster than the one machine.
    """
    _positive("bandwidth_Bps", bandwidth_Bps)
    _positive("one_machine_Bps", one_machine_Bps)
    gain = 1.0 / one_machine_Bps - 1.0 / (machines * bandwidth_Bps)
    return math.inf if gain <= 0 else 1.0 / gain


def fixed_cost(f1, fk, k, machines):
    """``F(K)``: the fixed cost of ``machines`` chunks, linear through ``(1, f1)`` and ``(k, fk)``.

    A slope below zero (``fk < f1``, noise) is taken as zero.
    """
    _non_negative("f1", f1)
    _non_negative("fk", fk)
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    if not isinstance(machines, int) or machines < 1:
        raise ValueError(f"machines must be an integer >= 1, got {machines!r}")
    slope = max(0.0, (fk - f1) / (k - 1))
    return f1 + (machines - 1) * slope


def per_byte_on_link(loopback_per_byte_s, link_bits_per_s=None):
    """Seconds per byte over a link of ``link_bits_per_s`` (None: loopback): ``max(p, 8 / R)``."""
    _non_negative("loopback_per_byte_s", loopback_per_byte_s)
    if link_bits_per_s is None:
        return loopback_per_byte_s
    _positive("link_bits_per_s", link_bits_per_s)
    return max(loopback_per_byte_s, 8.0 / link_bits_per_s)


# --- the inputs ---------------------------------------------------------------------


@dataclasses.dataclass
class Inputs:
    """The measured inputs of the model and where they come from.

    ``fixed_cost`` maps ``(inputs, chunks)`` (as ``bench_dask.ModelFixedCost``)
    to seconds; the other fields are in seconds, seconds per byte and bytes
    per second; ``provenance`` is a list of ``(label, text)`` lines.
    """

    fixed_cost: dict
    per_byte_s: float
    worker_Bps: float
    threads_Bps: float
    threads_fixed_s: float
    provenance: list = dataclasses.field(default_factory=list)
    transfer_times: dict = dataclasses.field(default_factory=dict)
    #: Optional: ``bench_dask.model_check``'s large single-chunk calls, for :func:`check_table`.
    check: dict = None
    #: Optional: RAM of the measured machine, bytes (crossovers above it are marked).
    ram_bytes: int = None

    def chunk_counts(self, inputs):
        """The chunk counts measured for ``inputs``, sorted."""
        return sorted(k for (i, k), v in self.fixed_cost.items() if i == inputs and _ok(v))

    def fixed(self, inputs, machines):
        """``F(K)`` for ``inputs`` (a key of :attr:`fixed_cost`), or None when not measured."""
        counts = self.chunk_counts(inputs)
        if 1 not in counts or len(counts) < 2:
            return None
        k = counts[-1]
        return fixed_cost(self.fixed_cost[(inputs, 1)], self.fixed_cost[(inputs, k)], k, machines)

    def to_json(self):
        return {
            "fixed_cost": [[i, k, v] for (i, k), v in sorted(self.fixed_cost.items())],
            "per_byte_s": self.per_byte_s,
            "worker_Bps": self.worker_Bps,
            "threads_Bps": self.threads_Bps,
            "threads_fixed_s": self.threads_fixed_s,
            "transfer_times": [[b, t] for b, t in sorted(self.transfer_times.items())],
            "provenance": [list(p) for p in self.provenance],
            "check": self.check,
            "ram_bytes": self.ram_bytes,
        }

    @classmethod
    def from_json(cls, data):
        try:
            return cls(
                fixed_cost={(i, int(k)): v for i, k, v in data["fixed_cost"]},
                per_byte_s=data["per_byte_s"],
                worker_Bps=data["worker_Bps"],
                threads_Bps=data["threads_Bps"],
                threads_fixed_s=data["threads_fixed_s"],
                transfer_times={int(b): t for b, t in data.get("transfer_times", [])},
                provenance=[tuple(p) for p in data.get("provenance", [])],
                check=data.get("check"),
                ram_bytes=data.get("ram_bytes"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a scale-out inputs file: {type(exc).__name__}: {exc}") from None

    @classmethod
    def from_measurement(cls, measured, provenance=(), check=None, ram_bytes=None):
        """From the dict of ``scaleout_model.measure_model_inputs``; raises ValueError if an input is missing."""
        problems = dict(measured.get("errors", {}))
        if measured.get("skipped"):
            problems["dask"] = measured["skipped"]
        bandwidth = measured.get("bandwidth", {})
        missing = [
            name for name, value in (
                ("cost_per_byte", measured.get("cost_per_byte")),
                (WORKER_READER, bandwidth.get(WORKER_READER)),
                (THREADS_READER, bandwidth.get(THREADS_READER)),
                ("threads_fixed_cost", measured.get("threads_fixed_cost")),
            ) if value is None
        ]
        if missing or problems or not measured.get("fixed_cost"):
            raise ValueError(f"the measurement is incomplete: missing {missing or 'fixed_cost'}, problems {problems}")
        return cls(
            fixed_cost=dict(measured["fixed_cost"]),
            per_byte_s=measured["cost_per_byte"],
            worker_Bps=bandwidth[WORKER_READER] * 1e9,
            threads_Bps=bandwidth[THREADS_READER] * 1e9,
            threads_fixed_s=measured["threads_fixed_cost"],
            transfer_times=dict(measured.get("transfer_times", {})),
            provenance=list(provenance),
            check=check,
            ram_bytes=ram_bytes,
        )


# --- tables -----------------------------------------------------------------------------


def columns(inputs):
    """The table's columns: ``(label, fixed-cost key, sent_each_call, link bits/s or None)``."""
    cols = [
        ("already distributed: dask", DASK_ARRAYS, False, None),
        ("already distributed: parallel_dot", PD_ARRAYS, False, None),
        ("sent each call: dask, loopback", DASK_SCATTERED, True, None),
    ]
    cols += [(f"sent each call: dask, {name}", DASK_SCATTERED, True, rate) for name, rate in NETWORKS.items()]
    cols.append(("sent each call: parallel_dot, loopback", PD_NUMPY, True, None))
    return [c for c in cols if inputs.chunk_counts(c[1])]


def crossover_table(inputs, machine_Bps, machines=MACHINES, ram_bytes=None, notes=None):
    """Markdown table of the crossover N for each K (rows) and column of :func:`columns`.

    ``machine_Bps`` is ``B_m``. Returns ``(markdown, notes)``: a cell is
    ``N*`` with the bytes of the two vectors (`` *`` when they exceed
    ``ram_bytes``), ``always`` or ``never [i]``, where ``notes[i - 1]`` is
    the reason; pass ``notes`` to number the reasons of several tables in
    one list.
    """
    cols = columns(inputs)
    lines = []
    notes = [] if notes is None else notes
    for k in machines:
        cells = []
        for _, key, sent, rate in cols:
            result = crossover_n(
                inputs.fixed(key, k),
                per_byte_on_link(inputs.per_byte_s, rate),
                machine_Bps,
                k,
                inputs.threads_Bps,
                sent_each_call=sent,
                one_machine_fixed_s=inputs.threads_fixed_s,
            )
            if result.never:
                if result.reason not in notes:
                    notes.append(result.reason)
                cells.append(f"never [{notes.index(result.reason) + 1}]")
            elif result.n == 0:
                cells.append("always")
            else:
                nbytes = BYTES_PER_ELEMENT * result.n
                mark = " *" if ram_bytes and nbytes > ram_bytes else ""
                cells.append(f"{result.n:.2g} ({_fmt.bytes_size(nbytes)}){mark}")
        lines.append([k, *cells])
    return _fmt.markdown(["K", *(c[0] for c in cols)], lines, align=["r"] * (len(cols) + 1)), notes


def _input_rows(inputs):
    """``(label, value in display units, unit, asv benchmark)`` of each input (None: not measured)."""
    rows = [
        ("c_1: threads split, fixed cost (1024 elements, all cores)", inputs.threads_fixed_s * 1e6, "us", ASV_THREADS_FIXED),
        ("B_1: threads split bandwidth (1e7 elements, all cores)", inputs.threads_Bps / 1e9, "GB/s", f"{ASV_BANDWIDTH} ({THREADS_READER})"),
        ("B_m: one dask worker, 1 thread, numpy.dot inside the worker", inputs.worker_Bps / 1e9, "GB/s", f"{ASV_BANDWIDTH} ({WORKER_READER})"),
        ("p: scatter to a worker, loopback (slope 8 MB to 80 MB)", inputs.per_byte_s * 1e9, "ns/byte", ASV_TRANSFER),
    ]
    for kind in (DASK_ARRAYS, DASK_SCATTERED, PD_ARRAYS, PD_NUMPY):
        for chunks in sorted(k for (i, k) in inputs.fixed_cost if i == kind):
            value = inputs.fixed_cost[(kind, chunks)]
            rows.append((
                f"F: {kind}, {chunks} chunk{'s' if chunks > 1 else ''} (isolated call)",
                value * 1e3 if _ok(value) else None, "ms", f"{ASV_FIXED} ({kind!r}, {chunks})",
            ))
    for nbytes, seconds in sorted(inputs.transfer_times.items()):
        rows.append((f"scatter of {_fmt.bytes_size(nbytes)} to a worker (best)", seconds * 1e3, "ms", f"inside {ASV_TRANSFER}"))
    return rows


def inputs_table(inputs, runs=()):
    """Markdown table of the measured inputs, with the asv benchmark of each.

    With ``runs`` (the :class:`Inputs` that :func:`best_of` combined into
    ``inputs``), a column gives each input's range over the runs.
    """
    spread = {}
    for run in runs:
        for label, value, _, _ in _input_rows(run):
            if value is not None:
                lo, hi = spread.get(label, (value, value))
                spread[label] = (min(lo, value), max(hi, value))
    header = ["input", "value", *(["range over the runs"] if runs else []), "asv benchmark"]
    lines = []
    for label, value, unit, bench in _input_rows(inputs):
        if value is None:
            continue
        cells = [label, f"{value:.3g} {unit}"]
        if runs:
            lo, hi = spread.get(label, (math.nan, math.nan))
            cells.append(f"{lo:.3g} to {hi:.3g}")
        cells.append(f"`{bench}`")
        lines.append(cells)
    return _fmt.markdown(header, lines, align=["l", "r", *(["r"] if runs else []), "l"])


def best_of(runs):
    """One :class:`Inputs` from several runs: the best value of each input, as best-of-samples does.

    The least disturbed estimate of each quantity on a shared machine:
    the smallest fixed costs, cost per byte and times, the largest
    bandwidths. The provenance lists every run.
    """
    if not runs:
        raise ValueError("best_of needs at least one run, got none")
    fixed = {}
    for run in runs:
        for key, value in run.fixed_cost.items():
            if _ok(value):
                fixed[key] = min(fixed.get(key, value), value)
    transfer = {}
    for run in runs:
        for key, value in run.transfer_times.items():
            transfer[key] = min(transfer.get(key, value), value)
    checks = [r.check for r in runs if r.check]
    check = None
    if checks and len({c["n"] for c in checks}) == 1:
        check = {"n": checks[0]["n"]}
        for key in ("dask arrays", "numpy vectors"):
            values = [c[key] for c in checks if _ok(c.get(key))]
            if values:
                check[key] = min(values)
    provenance = [("source", f"best value of each input over {len(runs)} runs (below)")]
    for i, run in enumerate(runs, 1):
        provenance += [(f"run {i}: {label}", text) for label, text in run.provenance if label != "source"]
    return Inputs(
        fixed_cost=fixed,
        per_byte_s=min(r.per_byte_s for r in runs),
        worker_Bps=max(r.worker_Bps for r in runs),
        threads_Bps=max(r.threads_Bps for r in runs),
        threads_fixed_s=min(r.threads_fixed_s for r in runs),
        provenance=provenance,
        transfer_times=transfer,
        check=check,
        ram_bytes=min((r.ram_bytes for r in runs if r.ram_bytes), default=None),
    )


def check_table(inputs):
    """Markdown: the model's prediction for one large chunk on one worker (K = 1) against the measured call.

    Empty when ``inputs.check`` is None (only ``direct`` measures it) or
    paralleldot's fixed costs are missing. Predicted: ``F(1) + b N / B_m``
    for the dask arrays, plus ``b N p`` for the numpy vectors sent in the
    call.
    """
    check = inputs.check
    if not check:
        return ""
    n = check["n"]
    nbytes = BYTES_PER_ELEMENT * n
    rows = []
    for label, key, sent in (("dask arrays, one block pair on the worker", PD_ARRAYS, False),
                             ("numpy vectors, sent in the call", PD_NUMPY, True)):
        f1 = inputs.fixed_cost.get((key, 1))
        measured = check.get(label.split(",")[0])
        if not _ok(f1) or not _ok(measured):
            continue
        predicted = f1 + nbytes / inputs.worker_Bps + (nbytes * inputs.per_byte_s if sent else 0.0)
        rows.append([label, f"{predicted * 1e3:.3g} ms", f"{measured * 1e3:.3g} ms",
                     f"{measured / predicted:.2f}"])
    if not rows:
        return ""
    return (
        f"## Check on this machine: one worker, one chunk of N = {n:.0e} (K = 1)\n\n"
        "`parallel_dot(backend=\"dask\", workers=1)`, best of isolated calls, against the model's "
        "F(1) + 16 N / B_m (+ 16 N p when the vectors are sent):\n\n"
        + _fmt.markdown(["call", "model", "measured", "measured / model"], rows)
    )


def report(inputs, title="When would scale-out pay: K machines against one", ram_bytes=None, runs=()):
    """The whole Markdown report: provenance, inputs (their range over ``runs``), check, crossover table."""
    out = [f"# {title}\n"]
    out += [f"- {label}: {text}" for label, text in inputs.provenance]
    out.append("")
    out.append("## Inputs\n")
    out.append(inputs_table(inputs, runs))
    checked = check_table(inputs)
    if checked:
        out.append(checked)
    notes_all = []
    out.append(
        f"## Crossover N: K machines, one dask worker with one thread each "
        f"(B_m = {inputs.worker_Bps / 1e9:.3g} GB/s), against this machine's threads split "
        f"(B_1 = {inputs.threads_Bps / 1e9:.3g} GB/s)\n"
    )
    table, _ = crossover_table(inputs, inputs.worker_Bps, ram_bytes=ram_bytes, notes=notes_all)
    out.append(table)
    out.append(
        "N above which K machines beat one machine; in brackets the bytes of the two "
        "float64 vectors (16 N). \"already distributed\": each machine holds its chunks; \"sent each call\": "
        "the caller scatters all 16 N bytes at each call. \"dask\" columns use dask's own calls, "
        "\"parallel_dot\" columns the same call through paralleldot's backend. 100 Gb/s and 10 Gb/s "
        "are assumed links (per byte: max(loopback, 8 / rate)), not measurements."
        + (f" `*`: more than the measured machine's RAM ({_fmt.bytes_size(ram_bytes)})." if ram_bytes else "")
        + "\n"
    )
    if notes_all:
        out.append("Why never:\n")
        out += [f"{i}. {note}" for i, note in enumerate(notes_all, 1)]
        out.append("")
    rates = [break_even_rate(inputs.worker_Bps, k, inputs.threads_Bps) for k in MACHINES]
    out.append(
        "For vectors sent at each call to pay at all, the caller would have to send faster than "
        + ", ".join(f"{r / 1e9:.3g} GB/s ({8 * r / 1e9:.3g} Gb/s) with K = {k}" for k, r in zip(MACHINES, rates))
        + f", end to end (software included); measured on loopback: {1 / inputs.per_byte_s / 1e9:.3g} GB/s.\n"
        if inputs.per_byte_s > 0 else ""
    )
    return "\n".join(out)


# --- sources of the inputs ----------------------------------------------------------------


def _versions():
    import numpy

    parts = [f"Python {platform.python_version()}", f"numpy {numpy.__version__}"]
    for name in ("dask", "distributed"):
        try:
            module = __import__(name)
            parts.append(f"{name} {module.__version__}")
        except ImportError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def measure_direct():
    """Measure the inputs now (``scaleout_model.measure_model_inputs``) and return :class:`Inputs`."""
    from benchmarks import scaleout_model

    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        measured = scaleout_model.measure_model_inputs()
        check = None
        if not measured["skipped"]:
            check = scaleout_model.model_check(scaleout_model.client(scaleout_model.MODEL_WORKERS))
    finally:
        scaleout_model.close_clusters()
    load_after = os.getloadavg()
    s = measured["settings"]
    provenance = [
        ("source", "measured now by `python -m benchtools scaleout direct` (`scaleout_model.measure_model_inputs`, "
                   f"one LocalCluster of {s['model_workers']} workers with one thread each on 127.0.0.1)"),
        ("date", started.strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{platform.node()} ({_fmt.cpu_model()}, {os.cpu_count()} cpus, {_fmt.bytes_size(_fmt.ram_bytes() or 0)} RAM, "
                    f"{platform.system()} {platform.release()})"),
        ("software", _versions()),
        ("commit", _git.describe()),
        ("load average (1 min) before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f} (other jobs share the machine)"),
        ("settings", f"best of {s['samples']} isolated calls ({s['pause'] * 1e3:.0f} ms idle before each) for F; "
                     f"scatter of {s['transfer_sizes'][0]:.0e} and {s['transfer_sizes'][1]:.0e} float64; "
                     f"bandwidth on {s['bandwidth_n']:.0e}-element vectors, {s['bandwidth_number']} calls per sample; "
                     f"threads split on {s['threads_workers']} workers"),
    ]
    return Inputs.from_measurement(measured, provenance, check, _fmt.ram_bytes())


def _one_value(result, key, params, benchmarks):
    """The value of ``key`` at the parameter values ``params``, or None."""
    if benchmarks is not None and key not in result.get_result_keys(benchmarks):
        return None
    names = [f"p{i}" for i in range(len(params))]
    for point, v in _asv.points(result, key, names):
        if [str(point[n]) for n in names] == [str(p) for p in params]:
            return v if _ok(v) else None
    return None


def inputs_from_asv(results_dir, machine=None, commit=None, env=None):
    """:class:`Inputs` from the ``Model*`` benchmarks of one asv result (machine, commit, environment)."""
    machine, result, _ = _asv.select_runs(results_dir, machine, commit, env)
    benchmarks = _asv.load_benchmarks(results_dir)
    fixed = {}
    if benchmarks is None or ASV_FIXED in result.get_result_keys(benchmarks):
        for point, v in _asv.points(result, ASV_FIXED, ["inputs", "chunks"]):
            if point["inputs"] in FIXED_INPUTS and _ok(v):
                fixed[(point["inputs"], int(point["chunks"]))] = v
    per_byte = _one_value(result, ASV_TRANSFER, [], benchmarks)
    worker = _one_value(result, ASV_BANDWIDTH, [WORKER_READER], benchmarks)
    threads = _one_value(result, ASV_BANDWIDTH, [THREADS_READER], benchmarks)
    threads_fixed = _one_value(result, ASV_THREADS_FIXED, [], benchmarks)
    missing = [
        name for name, v in (
            (ASV_TRANSFER, per_byte), (f"{ASV_BANDWIDTH} ({WORKER_READER})", worker),
            (f"{ASV_BANDWIDTH} ({THREADS_READER})", threads), (ASV_THREADS_FIXED, threads_fixed),
        ) if v is None
    ]
    if not any(k == 1 for _, k in fixed) or not fixed:
        missing.append(ASV_FIXED)
    if missing:
        raise SystemExit(
            f"no value for {', '.join(missing)} in {results_dir} for {machine} / "
            f"{result.commit_hash[:8]} / {result.env_name}: run bench_dask there "
            f"(asv run --bench bench_dask) in an environment with dask"
        )
    info = _asv.machine_info(results_dir, machine)
    reqs = getattr(result, "_requirements", None) or {}
    reqs = ", ".join(f"{k} {v}" if v else k for k, v in sorted(reqs.items())) or "none recorded"
    run_at = _asv.ms_to_iso(max(result.started_at.values(), default=None))
    provenance = [
        ("source", f"asv results in `{results_dir}` (benchmarks `bench_dask.Model*`)"),
        ("machine", f"`{machine}` ({info.get('cpu', '?')}, {info.get('num_cpu', '?')} cpus, "
                    f"{info.get('os', '?')}, RAM {info.get('ram', '?')} bytes)"),
        ("commit", f"`{result.commit_hash}` (committed {_asv.ms_to_iso(result.date)}); run {run_at}"),
        ("environment", f"`{result.env_name}` (python {result.params.get('python', '?')}; requirements: {reqs})"),
    ]
    return Inputs(
        fixed_cost=fixed,
        per_byte_s=per_byte / 1e9,
        worker_Bps=worker * 1e9,
        threads_Bps=threads * 1e9,
        threads_fixed_s=threads_fixed,
        provenance=provenance,
        ram_bytes=_int_or_none(info.get("ram")),
    )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- command line -------------------------------------------------------------------------


def _emit(text, out):
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(text)


def _ram_for(inputs, args):
    """RAM of the measured machine (recorded in the inputs), or None with --no-ram."""
    return None if args.no_ram else inputs.ram_bytes


def cmd_direct(args):
    try:
        inputs = measure_direct()
    except ValueError as exc:
        raise SystemExit(f"direct: {exc}") from None
    if args.json:
        with open(args.json, "w") as f:
            json.dump(inputs.to_json(), f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    _emit(report(inputs, ram_bytes=_ram_for(inputs, args)), args.out)
    return 0


def cmd_from_asv(args):
    results_dir = args.results or _asv.results_dir()
    inputs = inputs_from_asv(results_dir, args.machine, args.commit, args.env)
    _emit(report(inputs, ram_bytes=_ram_for(inputs, args)), args.out)
    return 0


def cmd_from_json(args):
    runs = []
    for path in args.files:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"cannot read {path}: {exc}") from None
        try:
            runs.append(Inputs.from_json(data))
        except ValueError as exc:
            raise SystemExit(f"{path}: {exc}") from None
    if len(runs) == 1:
        inputs, runs = runs[0], ()
    else:
        inputs = best_of(runs)
    _emit(report(inputs, ram_bytes=_ram_for(inputs, args), runs=runs), args.out)
    return 0


def build_parser(parser):
    """Add the ``direct``, ``from-asv`` and ``from-json`` modes to ``parser``."""
    import argparse

    sub = parser.add_subparsers(dest="mode", required=True, metavar="MODE")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", help="write the Markdown report to this file (default: print it)")
    common.add_argument("--no-ram", action="store_true", help="do not mark crossovers above the measured machine's RAM")

    p = sub.add_parser("direct", parents=[common], help="measure the inputs now (needs dask), then the tables")
    p.add_argument("--json", help="also save the measured inputs to this JSON file (for from-json)")
    p.set_defaults(func=cmd_direct)

    p = sub.add_parser("from-asv", parents=[common], help="the inputs from asv's results (bench_dask.Model*)")
    p.add_argument("--results", help="asv results directory (default: results_dir of ./asv.conf.json)")
    p.add_argument("--machine", help="machine name (default: the only machine in the results)")
    p.add_argument("--commit", help="commit hash prefix or git ref (default: the newest with results)")
    p.add_argument("--env", help="environment name or a unique part of it")
    p.set_defaults(func=cmd_from_asv)

    p = sub.add_parser(
        "from-json", parents=[common],
        help="the inputs from JSON files written by direct --json (several: the best value of each input)",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_from_json)


def main(args):
    """Run the mode of ``args``; return the exit status."""
    return args.func(args)
