"""Effective memory bandwidth (GB/s) of numpy.dot, the splits and a copy.

A dot product of two vectors reads ``a.nbytes + b.nbytes`` bytes.
``track_bandwidth`` returns those bytes / the best time of interleaved
samples, in GB/s, for ``N`` >= 1e7 (the vectors stream from memory).
``ceiling`` copies ``a`` (reads and writes as many bytes) with ``workers``
threads: past the caches no split can beat memory bandwidth, it can only
approach it, so compare each series to the ceiling at the same N, workers
and dtype.
"""

from . import common

IMPLS = [common.NUMPY_DOT, "threads", "processes", "ceiling"]


class Bandwidth(common.TrackBenchmark):
    """GB/s read per dot product (or copied, for the ceiling)."""

    params = [IMPLS, common.sizes_from(10**7), list(common.WORKERS), list(common.DTYPES)]
    param_names = ["impl", "N", "workers", "dtype"]
    version = common.version("2")
    unit = "GB/s"

    def setup(self, impl, N, workers, dtype):
        self.func = None
        a, b = common.vectors(N, dtype)
        self.nbytes = a.nbytes + b.nbytes
        if impl == "ceiling":
            self.func = common.ParallelCopy(a, workers)
            self.func()
        else:
            self.func = common.Implementation(impl, N, workers, dtype)

    def teardown(self, impl, N, workers, dtype):
        func, self.func = getattr(self, "func", None), None
        if func is not None:
            func.close()

    def track_bandwidth(self, impl, N, workers, dtype):
        return common.gigabytes_per_second(self.nbytes, self.func)

    track_bandwidth.pretty_name = "GB/s read by one dot product (ceiling: copied)"
    track_bandwidth.unit = "GB/s"
