"""``backend="auto"``: the fastest way this machine computes this dot product.

There is no fixed crossover size: it depends on the cores, the caches, the
memory bandwidth, the BLAS and the dtype (``numpy.dot`` uses BLAS threads
for floats, one non-vectorised core for integers). So ``auto`` measures.

What is compared
----------------
Calls are grouped into classes: the dtypes of both vectors, their total
bytes rounded to a power of two, and the worker count. The candidates of a
class are

- ``"serial"``: ``numpy.dot``;
- ``"inline"``: the chunk kernel on the caller's thread, where it is not
  ``numpy.dot`` (integers and booleans: ``numpy.einsum``, see
  :mod:`paralleldot._kernels`);
- ``"native"``: the compiled kernel on ``workers`` threads of its own team
  (``workers > 1``, where :mod:`paralleldot._native` was built and computes
  the vectors);
- ``"threads"``: the split on ``workers`` threads (``workers > 1``, where
  ``"native"`` is not a candidate). On as many threads the compiled team
  was faster in each of 30 cells (5 dtypes, N = 1e5 to 1e7, 2 workers,
  2 processes, 2026-12-04): the split took 1.02 to 8 times its time. A
  measurement that chose the split over the team was an accident of the
  moment, and ran 1.07 to 2.07 times the fastest peer's time until the
  class was measured again (``benchtools compare``, int32 and int64 at
  1e7).

With the compiled kernel, ``"inline"`` is its loop on the caller's thread
(every dtype it computes, floats included), and a call whose class has a
known choice other than ``"threads"`` is answered in C without running any
Python (``_native.fast``).

A team can lose its second core for the rest of a process: in 4 of 14
processes measured side by side with the peers (2026-12-04, 2 cores),
``native`` on 2 threads took 130 to 160 us for int32 at N = 1e6 where
``inline``, one thread, took 83 (and ``native`` 60 to 80 in the others),
at every measurement of the process (why is not known). For complex128
at 1e6, ``native`` took 300 to 360 us until numba and torch had run in
the process, and in 2 of 3 processes 600 to 700 (``inline``'s time)
from then on. There OpenBLAS's worker thread is the likely thief: it
spins for 105 to 107 ms after each threaded call (``numpy.dot`` of
float64 and complex128 from N = 1e5 on; never for float32 or integers;
OpenBLAS 0.3.28), and with the columns of ``benchtools compare`` sampled
in turn, about every 2 ms, it never stopped. With it told to sleep at
once (``OPENBLAS_THREAD_TIMEOUT=4``) ``native`` took 366 to 397 us in the
same measurement, against 715 to 770, and numba's ``prange`` 520 to 600
against 4700 to 6700 (2026-12-04). Measuring ``numpy.dot`` last in
:func:`decide`, so that its spin would not be charged to ``native``, was
tried and dropped: in processes calling ``parallel_dot`` alone it chose
``numpy.dot`` for complex128 at 1e6 in 3 of 4 processes, where the turns
chose ``native`` in 4 of 4, which ran at 0.64 to 1.03 times
``numpy.dot``'s time. So when
``native`` measures slower than ``inline`` (two threads slower than one,
with the caller taking chunks itself), the team is started anew
(``redraw``, :func:`paralleldot._native.stop`) and every candidate is
measured again in turns, once per measurement (measuring ``native`` alone
again gave it twice the draws at its best time: for complex128 at 1e6 it
won on one lucky 565 us against ``serial``'s 930, then ran at 745 to 4210
while ``numpy.dot`` ran at 559 to 6556): after the redraw, int32's 131 and 149 us
became 82 and 82 (``inline`` 87 and 83), a tie with one thread rather
than a team's full speed; the choice then follows whichever is faster.

How a choice is made
--------------------
The first call of a class runs every candidate on the caller's vectors, in
turns, :data:`ROUNDS` times, and keeps the one with the best time. Each timed
call follows an untimed call of the same candidate, as the calls of a class
follow each other once it has chosen: timed right after another candidate,
the team's workers had slept since its last call and woke inside the timed
one. For float32 at N = 1e6 with 2 workers (2 cores, 2026-12-05, 900 calls
a process), ``auto`` then kept ``numpy.dot`` in 2 of 4 processes (113 and
116 us a call at the end), whose measurements read the team at 94 to 161
us at its best where blocks of its calls ran 56 to 62 us; with the untimed
call it ended on the team in 6 of 6 (52 to 54 us a call, its best 51 to 55
in the last measurement). ``serial``
keeps the class unless another candidate is faster by more than
:data:`MARGIN`, both at its best and in every round (each round's calls
run one after the other, a paired comparison), or is :data:`CLEAR` times
faster at its best. A tie costs nothing and ``numpy.dot`` needs no thread;
and one call's time scatters more than a tie's difference. For float64 at
N = 1e6 (2 cores, 2026-12-04), where the team and ``numpy.dot``'s BLAS
threads tie in blocks of calls, the best single calls of three rounds put
the team at 0.81 to 1.64 times ``numpy.dot``'s time, and with the best
times alone ``auto`` ended on the team in 8 of 16 processes; measured side
by side with ``numpy.dot``, ``numpy.inner`` and ``numpy.vdot`` (whose
OpenBLAS thread spins on the other core after each call), it then ran at
1.03 to 1.54 times ``numpy.dot``'s time (0.98 to 1.06 where it ended on
``numpy.dot``). Asking every round to agree, it ended on ``numpy.dot`` in
10 of 10 processes (1.00 to 1.06). A real win by a clear factor (integers
at 1e4 and up: 4 to 10 times) is not lost to one disturbed round. The
call's result is the last candidate's. A class with a single candidate is
not timed.

How it is refreshed
-------------------
A choice is not kept for ever on a few samples: it is measured again after
a number of calls chosen so that measuring costs at most :data:`OVERHEAD`
of the time spent in the class's calls (measurement time / (OVERHEAD x the
winner's time)), times a spacing. The first measurement of a class is made
cold, on vectors the process has just made or met, and its choice is
checked again after :data:`COLD_SPACING`, a few dozen calls: for float32 at
N = 1e6 with 2 workers (2 cores, 2026-12-05), ``numpy.dot``'s best single
call read 147 to 173 us in the first measurement of 6 of 6 processes and
106 to 120 in their last (of 2 or 3 in 900 calls), and the team's 107 to
169 against 68 to 78, so that a first measurement too close to call left
``numpy.dot`` in place (``MARGIN`` below) where the team runs in 53 to 61
us a call, until the check some hundreds of calls later. The second
measurement then starts the spacing as a new choice would. A new choice
starts with a spacing of :data:`FIRST_SPACING`, so that a first measurement
disturbed by another job is checked again soon (after some hundreds of
calls, a second or two of a large class); each time a measurement confirms
the choice, the spacing doubles, up to :data:`MAX_SPACING`; a choice that
changes starts over. A choice made while ``native`` measured slower than
``inline`` even after its redraw starts at :data:`SUSPECT_SPACING` instead,
checked again after a few dozen calls. A machine whose load changes, or a
first measurement disturbed by another job, is therefore corrected after a
bounded number of calls, at a cost that falls to nothing when the answer is
stable. :func:`forget` drops every choice.

Below :data:`FLOOR_BYTES` nothing is measured: the compiled loop computes
the call on the caller's thread where it applies (it beats ``numpy.dot``
there, whose own dispatch costs more than the loop), else ``numpy.dot``.
``numpy.dot`` of 64 KiB
takes a microsecond or two, less than handing one chunk to another thread
(20 to 60 microseconds measured on the 2-core machines this project runs
on, rarely under 5 on any operating system), so no split can win there.

The process backend is not a candidate: on one machine it does the same
work as threads plus inter-process messages, so it never beats them.
"""

import math
import sys
import threading
import time

__all__ = ["FLOOR_BYTES", "decide", "forget", "key", "lookup"]

FLOOR_BYTES = 1 << 16
#: Turns of the candidates in one measurement (best time kept).
ROUNDS = 3
#: ``serial`` keeps a class unless another candidate is this much faster,
#: at its best and in every round...
MARGIN = 0.03
#: ... or this many times faster at its best (beyond the scatter of single
#: calls: a team that ties ``numpy.dot`` read up to 1.23 times faster).
CLEAR = 1.5
#: Largest share of a class's time spent measuring it again.
OVERHEAD = 0.01
#: Spacing of the measurement that checks a new choice (see the module doc).
#: At 1/16 the first checks cost 16, 8, 4 % of a class's time: over its
#: first 600 calls ``auto`` running ``numpy.dot`` took 1.06 to 1.12 times
#: ``numpy.dot``'s total (float64, N = 1e6, 2 cores, 2026-12-04), and 1.02
#: at 1/4.
FIRST_SPACING = 1 / 4
#: Spacing of the check of a class's first, cold measurement (see the module doc).
COLD_SPACING = 1 / 64
#: Calls between measurements are at most this many times the interval of OVERHEAD.
MAX_SPACING = 1 << 10
#: Spacing of the first check of a choice made while ``native`` measured
#: slower than ``inline`` even after its redraw: two threads slower than one
#: is most often a moment (another library's thread spinning on a core),
#: so that choice is checked again after a few dozen calls; each check that
#: confirms it doubles the spacing, as for any choice.
SUSPECT_SPACING = 1 / 64

_lock = threading.Lock()
#: key -> [choice, calls left before the next measurement, spacing]
_states = {}


def key(a, b, nbytes, workers):
    """The class of a call: dtypes, size class (bytes, power of two), workers."""
    return (a.dtype.num, b.dtype.num, nbytes.bit_length(), workers)


def lookup(class_key):
    """The choice for ``class_key``, or None when it must be measured (again)."""
    state = _states.get(class_key)
    if state is None or state[1] <= 0:
        return None
    state[1] -= 1
    return state[0]


def decide(class_key, candidates, redraw=None):
    """Measure ``candidates`` for ``class_key``, record the winner, return a result.

    Parameters
    ----------
    class_key : tuple
        From :func:`key`.
    candidates : dict
        Name (``"serial"``, ``"inline"``, ``"native"``, ``"threads"``) -> function of no
        argument that computes the call's dot product that way.
    redraw : callable, optional
        Draws the ``"native"`` candidate's team of threads anew; called once,
        and every candidate measured again, when ``"native"`` measured
        slower than ``"inline"`` (see the module's docstring).

    Returns
    -------
    numpy scalar
        The dot product, from the last candidate run.
    """
    if len(candidates) == 1:
        (name, run), = candidates.items()
        _record(class_key, name, sys.maxsize)
        return run()
    clock = time.perf_counter

    def measure():
        """Every candidate :data:`ROUNDS` times, in turns: ([{name: time}] per round, last result)."""
        rounds = []
        for _ in range(ROUNDS):
            times = {}
            for name, run in candidates.items():
                run()  # untimed: the timed call follows one of its own kind
                t0 = clock()
                result = run()
                times[name] = clock() - t0
            rounds.append(times)
        return rounds, result

    def best_of(rounds):
        return {name: min(times[name] for times in rounds) for name in candidates}

    def team_lost():
        return redraw is not None and best.get("native", 0.0) > best.get("inline", math.inf)

    start = clock()
    rounds, result = measure()
    best = best_of(rounds)
    first = FIRST_SPACING
    if team_lost():
        # Every candidate again, in turns, from the redraw on: native alone
        # would get twice the draws at its best time, and the others' times
        # would be of another moment.
        redraw()
        rounds, result = measure()
        best = best_of(rounds)
        if team_lost():
            first = SUSPECT_SPACING
    spent = clock() - start
    choice = min(best, key=best.get)
    if "serial" in best and not _beats_serial(choice, best, rounds):
        choice = "serial"
    calls = spent / (OVERHEAD * max(best[choice], 1e-9))
    _record(class_key, choice, calls, first)
    return result


def _beats_serial(choice, best, rounds):
    """Whether ``choice`` wins over ``serial`` clearly enough to replace it (see the module doc)."""
    if choice == "serial":
        return False
    if best["serial"] > best[choice] * CLEAR:
        return True
    return (best["serial"] > best[choice] * (1 + MARGIN)
            and all(times["serial"] > times[choice] * (1 + MARGIN) for times in rounds))


def _record(class_key, choice, calls, first=FIRST_SPACING):
    """Keep ``choice`` for ``calls`` times the spacing: ``first`` for a new choice, doubled while it holds.

    A class measured for the first time is checked again after
    :data:`COLD_SPACING` at most; the measurement after it starts at ``first``
    whether or not it confirms the choice.
    """
    with _lock:
        previous = _states.get(class_key)
        if previous is None:
            spacing = min(first, COLD_SPACING)
        elif previous[0] == choice:
            spacing = min(max(2 * previous[2], first), MAX_SPACING)
        else:
            spacing = first
        _states[class_key] = [choice, max(1, min(int(calls * spacing), sys.maxsize)), spacing]


def choices():
    """``{class key: choice}`` of the classes measured so far (for tests, reports)."""
    with _lock:
        return {k: state[0] for k, state in _states.items()}


def forget():
    """Forget every choice (for tests, or after the machine's load changed)."""
    with _lock:
        _states.clear()
