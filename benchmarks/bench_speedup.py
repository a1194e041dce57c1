"""Speedup of each split over numpy.dot, measured side by side in one process.

``track_speedup`` returns the ratio
``time(numpy.dot) / time(split)`` for the same vectors (best of interleaved
samples): above 1 the split pays off, below 1 it costs. The reference is
``numpy.dot`` with BLAS capped at ``workers`` threads, the same cores as the
split; with ``workers`` at or above the number of cores that is numpy.dot as
users call it. The cap stays for the whole measurement: a split that does
not pin BLAS to one thread per chunk (the first commit) oversubscribes the
cores and shows it. Timing both sides in turn in one process keeps the
ratio steady when the machine's load changes, which two separate ``time_``
series cannot.
"""

import numpy as np

import paralleldot

from . import common


class _Speedup(common.TrackBenchmark):
    """Shared body: ``self.split()`` against ``numpy.dot`` on the same vectors."""

    unit = "ratio"

    def setup(self, N, workers):
        super().setup(N, workers)
        self.split = self.make_split(workers)
        self.blas = common.limit_blas(workers)
        common.warm((type(self).__name__, N, workers), self.split)

    def teardown(self, N, workers):
        # asv runs teardown after a setup that skipped too.
        blas, self.blas = getattr(self, "blas", None), None
        if blas is not None:
            blas.restore_original_limits()

    def make_split(self, workers):
        raise NotImplementedError

    def _speedup(self):
        a, b = self.a, self.b
        return common.speedup(lambda: np.dot(a, b), self.split)


class Threads(_Speedup):
    """numpy.dot time / ``parallel_dot(backend="threads")`` time."""

    version = "1"

    def make_split(self, workers):
        common.require_backend("threads")
        a, b = self.a, self.b
        return lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="threads")

    def track_speedup(self, N, workers):
        return self._speedup()

    track_speedup.pretty_name = "numpy.dot time / split time: threads"
    track_speedup.unit = "ratio"


class Processes(_Speedup):
    """numpy.dot time / ``parallel_dot(backend="processes")`` time, shared memory."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("processes")
        common.require_attribute("shared_empty")
        super().setup(N, workers)

    def make_split(self, workers):
        a, b = common.shared_vectors(self.a.shape[0])
        return lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="processes")

    def track_speedup(self, N, workers):
        return self._speedup()

    track_speedup.pretty_name = "numpy.dot time / split time: processes, shared memory"
    track_speedup.unit = "ratio"


class Auto(_Speedup):
    """numpy.dot time / ``parallel_dot(backend="auto")`` time (ideally >= 1 everywhere)."""

    version = "1"

    def make_split(self, workers):
        common.require_backend("auto")
        a, b = self.a, self.b
        return lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="auto")

    def track_speedup(self, N, workers):
        return self._speedup()

    track_speedup.pretty_name = "numpy.dot time / split time: auto"
    track_speedup.unit = "ratio"


class PerCallPool(_Speedup):
    """numpy.dot time / the original example's time (new pool per call): fixed baseline."""

    version = "1"

    def make_split(self, workers):
        a, b = self.a, self.b
        return lambda: common.per_call_pool_dot(a, b, workers)

    def track_speedup(self, N, workers):
        return self._speedup()

    track_speedup.pretty_name = "numpy.dot time / split time: example's per-call pool"
    track_speedup.unit = "ratio"
