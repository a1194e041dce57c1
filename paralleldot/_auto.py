"""``backend="auto"``: serial or threads, whichever this machine runs faster.

There is no fixed crossover size: it depends on the cores, the caches, the
memory bandwidth and the BLAS. The first call of a size class (the total
bytes of both vectors, rounded to a power of two) and a worker count times
both candidates on the caller's own vectors, alternately, and the faster
one serves every later call of that class. A measurement costs a few dot
products, once per class and worker count in the life of the process.

Below :data:`FLOOR_BYTES` nothing is measured: ``numpy.dot`` of 64 KiB
takes a microsecond or two, less than handing one chunk to another thread
(about 20 microseconds measured on the 2-core machines this project runs
on, rarely under 5 on any operating system), so a split cannot win there.

The process backend is not a candidate: on one machine it does the same
work as threads plus inter-process messages (and a copy for ordinary
arrays), so it never beats them.
"""

import threading
import time

import numpy as np

from ._split import _split
from .backends import threads

FLOOR_BYTES = 1 << 16
_REPEATS = 3
_lock = threading.Lock()
_choices = {}  # (size class, workers) -> "serial" or "threads"


def choose(a, b, nbytes, workers):
    """Return the faster backend name for ``a`` and ``b`` (``nbytes`` in all)."""
    key = (nbytes.bit_length(), workers)
    choice = _choices.get(key)
    if choice is None:
        choice = _measure(a, b, _split(a.shape[0], workers))
        with _lock:
            choice = _choices.setdefault(key, choice)
    return choice


def _measure(a, b, slices):
    serial_best = split_best = float("inf")
    for _ in range(_REPEATS):
        start = time.perf_counter()
        np.dot(a, b)
        middle = time.perf_counter()
        threads.partial_sums(a, b, slices, len(slices))
        end = time.perf_counter()
        serial_best = min(serial_best, middle - start)
        split_best = min(split_best, end - middle)
    return "threads" if split_best < serial_best else "serial"


def forget():
    """Forget every choice (for tests, or after the machine's load changed)."""
    with _lock:
        _choices.clear()
