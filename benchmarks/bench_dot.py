"""Time of one dot product of two float64 vectors: numpy.dot against each split.

Every class has the same grid (``N`` x ``workers``) and one ``time_`` method
with one operation in it; inputs are prepared and pools started in
``setup``. A backend that does not exist at the commit being measured is
skipped (``NotImplementedError`` in ``setup``).
"""

import numpy as np

import paralleldot

from . import common


class NumpyDot(common.Benchmark):
    """``numpy.dot`` with BLAS capped at ``workers`` threads: the fair reference.

    With ``workers`` at or above the number of cores this is numpy.dot as
    users call it (OpenBLAS starts one thread per core by default).
    """

    version = "1"

    def setup(self, N, workers):
        super().setup(N, workers)
        self.blas = common.limit_blas(workers)

    def teardown(self, N, workers):
        # asv runs teardown after a setup that skipped too.
        blas, self.blas = getattr(self, "blas", None), None
        if blas is not None:
            blas.restore_original_limits()

    def time_numpy_dot(self, N, workers):
        np.dot(self.a, self.b)

    time_numpy_dot.pretty_name = "numpy.dot, BLAS threads = workers"


class PerCallPool(common.Benchmark):
    """The original example's split: a new ThreadPoolExecutor at every call.

    Independent of paralleldot: a fixed baseline, flat across commits.
    """

    version = "1"

    def time_per_call_pool(self, N, workers):
        common.per_call_pool_dot(self.a, self.b, workers)

    time_per_call_pool.pretty_name = "example's split, new thread pool per call"


class Threads(common.Benchmark):
    """``parallel_dot(backend="threads")``: the split on the reused thread pool."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("threads")
        super().setup(N, workers)
        common.warm(
            ("threads", N, workers),
            lambda: paralleldot.parallel_dot(
                self.a, self.b, workers=workers, backend="threads"
            ),
        )

    def time_threads(self, N, workers):
        paralleldot.parallel_dot(self.a, self.b, workers=workers, backend="threads")

    time_threads.pretty_name = "parallel_dot, threads"


class Processes(common.Benchmark):
    """``parallel_dot(backend="processes")`` on vectors in shared memory.

    The vectors come from ``paralleldot.shared_empty``: workers read them in
    place, a call sends only slices and receives partial sums.
    """

    version = "1"

    def setup(self, N, workers):
        common.require_backend("processes")
        common.require_attribute("shared_empty")
        common.require_size(N)
        self.a, self.b = common.shared_vectors(N)
        common.warm(
            ("processes", N, workers),
            lambda: paralleldot.parallel_dot(
                self.a, self.b, workers=workers, backend="processes"
            ),
        )

    def time_processes(self, N, workers):
        paralleldot.parallel_dot(self.a, self.b, workers=workers, backend="processes")

    time_processes.pretty_name = "parallel_dot, processes, shared memory"


class Auto(common.Benchmark):
    """``parallel_dot(backend="auto")``: serial or threads, chosen by the package."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("auto")
        super().setup(N, workers)
        common.warm(
            ("auto", N, workers),
            lambda: paralleldot.parallel_dot(
                self.a, self.b, workers=workers, backend="auto"
            ),
        )

    def time_auto(self, N, workers):
        paralleldot.parallel_dot(self.a, self.b, workers=workers, backend="auto")

    time_auto.pretty_name = "parallel_dot, auto"

