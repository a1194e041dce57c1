"""Effective memory bandwidth (GB/s) of numpy.dot, the splits and a copy.

A dot product of two float64 vectors of length N reads ``16 N`` bytes.
``track_bandwidth`` returns ``16 N / time`` in GB/s (median of interleaved
samples). ``Ceiling`` copies the same number of bytes (read ``8 N``, write
``8 N``) with ``workers`` threads: past the caches no split can beat memory
bandwidth, it can only approach it, so compare each series to the ceiling
at the same N and workers.
"""

import numpy as np

import paralleldot

from . import common


class _Bandwidth(common.TrackBenchmark):
    unit = "GB/s"

    def _rate(self, func):
        return common.gigabytes_per_second(self.a.shape[0], func)


class NumpyDot(_Bandwidth):
    """numpy.dot with BLAS capped at ``workers`` threads."""

    version = "1"

    def setup(self, N, workers):
        super().setup(N, workers)
        self.blas = common.limit_blas(workers)

    def teardown(self, N, workers):
        # asv runs teardown after a setup that skipped too.
        blas, self.blas = getattr(self, "blas", None), None
        if blas is not None:
            blas.restore_original_limits()

    def track_bandwidth(self, N, workers):
        a, b = self.a, self.b
        return self._rate(lambda: np.dot(a, b))

    track_bandwidth.pretty_name = "GB/s: numpy.dot, BLAS threads = workers"
    track_bandwidth.unit = "GB/s"


class Threads(_Bandwidth):
    """``parallel_dot(backend="threads")``."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("threads")
        super().setup(N, workers)
        a, b = self.a, self.b
        self.split = lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="threads")
        common.warm(("threads", N, workers), self.split)

    def track_bandwidth(self, N, workers):
        return self._rate(self.split)

    track_bandwidth.pretty_name = "GB/s: parallel_dot, threads"
    track_bandwidth.unit = "GB/s"


class Processes(_Bandwidth):
    """``parallel_dot(backend="processes")`` on vectors in shared memory."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("processes")
        common.require_attribute("shared_empty")
        super().setup(N, workers)
        a, b = common.shared_vectors(N)
        self.split = lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="processes")
        common.warm(("processes", N, workers), self.split)

    def track_bandwidth(self, N, workers):
        return self._rate(self.split)

    track_bandwidth.pretty_name = "GB/s: parallel_dot, processes, shared memory"
    track_bandwidth.unit = "GB/s"


class Ceiling(_Bandwidth):
    """``np.copyto`` of ``16 N`` bytes in ``workers`` chunks on threads: the ceiling."""

    version = "1"

    def setup(self, N, workers):
        super().setup(N, workers)
        self.copy = common.ParallelCopy(self.a, workers)
        self.copy()

    def teardown(self, N, workers):
        # asv runs teardown after a setup that skipped too.
        copy, self.copy = getattr(self, "copy", None), None
        if copy is not None:
            copy.close()

    def track_bandwidth(self, N, workers):
        return self._rate(self.copy)

    track_bandwidth.pretty_name = "GB/s: ceiling, parallel copy of the same bytes"
    track_bandwidth.unit = "GB/s"
