"""Where the split pays: speedups over numpy.dot and the crossover size.

Both are measured side by side in one process (interleaved samples, best
of each), which keeps a ratio steady when the machine's load changes, as
two separate ``time_`` series cannot. The reference is ``numpy.dot`` with
BLAS capped at ``workers`` threads for the whole measurement; with
``workers`` at or above the number of cores that is numpy.dot as users call
it. A split that does not pin BLAS to one thread per chunk (the first
commit) oversubscribes the cores and shows it.

- ``Speedup.track_speedup``: ``time(numpy.dot) / time(split)``; above 1 the
  split pays off.
- ``Crossover.track_crossover``: the smallest ``N`` of a log grid from
  which ``parallel_dot(backend="threads")`` beats numpy.dot at every larger
  ``N`` of the grid: the answer to the original example's question for a
  dtype and a worker count, at one commit. A split that does not win even
  at the largest ``N`` records 10 times that ``N`` ("never").
"""

import numpy as np

import paralleldot
from . import common

SPLITS = list(common.SPLITS)
#: Interleaved samples per function of one crossover point.
CROSSOVER_SAMPLES = 7


class Speedup(common.TrackBenchmark):
    """numpy.dot time / split time, per split, ``N`` >= 1e5, ``workers``, ``dtype``."""

    params = [SPLITS, common.sizes_from(10**5), list(common.WORKERS), list(common.DTYPES)]
    param_names = ["impl", "N", "workers", "dtype"]
    version = common.version("2")
    unit = "ratio"

    def setup(self, impl, N, workers, dtype):
        self.split = self.reference = None
        self.split = common.Implementation(impl, N, workers, dtype)
        self.reference = common.Implementation(common.NUMPY_DOT, N, workers, dtype)

    def teardown(self, impl, N, workers, dtype):
        for impl in (getattr(self, "split", None), getattr(self, "reference", None)):
            if impl is not None:
                impl.close()

    def track_speedup(self, impl, N, workers, dtype):
        return common.speedup(self.reference, self.split)

    track_speedup.pretty_name = "numpy.dot time / split time"
    track_speedup.unit = "ratio"


class Crossover(common.TrackBenchmark):
    """Smallest N from which the threads split beats numpy.dot, per dtype and workers."""

    params = [list(common.DTYPES), list(common.WORKERS)]
    param_names = ["dtype", "workers"]
    version = common.version("1")
    unit = "N"

    def setup(self, dtype, workers):
        common.require_backend("threads")
        self.grid = common.half_decades(10**3, max(common.SIZES))
        self.blas = common.limit_blas(workers)

    def teardown(self, dtype, workers):
        blas, self.blas = getattr(self, "blas", None), None
        if blas is not None:
            blas.restore_original_limits()

    def track_crossover(self, dtype, workers):
        wins = []
        for n in self.grid:
            a, b = common.vectors(n, dtype)
            split = lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="threads")
            wins.append(common.speedup(lambda: np.dot(a, b), split, CROSSOVER_SAMPLES) > 1)
        crossover = 10 * self.grid[-1]  # never, within the grid
        for n, won in zip(reversed(self.grid), reversed(wins)):
            if not won:
                break
            crossover = n
        return float(crossover)

    track_crossover.pretty_name = (
        "smallest N from which the threads split beats numpy.dot (10x the largest N: never)"
    )
    track_crossover.unit = "N"
