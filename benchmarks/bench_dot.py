"""Time of one dot product of two vectors: numpy.dot against each split.

One class, parametrized over the implementation, so that a graph of the
site can show ``numpy.dot`` and a split side by side for the same ``N``,
``workers`` and ``dtype``:

- ``numpy.dot``: BLAS capped at ``workers`` threads (the fair reference);
- ``threads``, ``auto``, ``processes``: ``paralleldot.parallel_dot`` with
  that backend (``processes`` on vectors in ``paralleldot.shared_empty``
  memory, which its workers read in place);
- in the ``full`` profile, the peers a user would pick instead
  (``common.PEERS``: ``numpy.einsum``, ``numpy.inner``, ``numpy.vdot``,
  ``(a * b).sum()``, numba's ``prange``, ``torch.dot``); an optional one
  that is not installed is skipped (``NotImplementedError`` in ``setup``).
``PerCallPool`` times the original example's split, a new thread pool per
call, on float64 vectors. It does not use paralleldot: with ``numpy.dot``
it is a control series, flat across commits unless the machine or numpy
changed. Starting two threads costs a fast or a slow amount depending on
the benchmark process (a third more, measured here); it runs in two
processes per point, as the other classes do (four until 2026-12-04: 85 of
the main command's 1033 s, for a series that no decision reads).

Inputs are prepared and pools started in ``setup``; a ``time_`` method holds
one call. A backend that does not exist at the commit measured is skipped
(``NotImplementedError`` in ``setup``).
"""

from . import common

#: numpy.dot, the splits, and in the ``full`` profile the peers (common.PEERS).
IMPLS = common.implementations_in()


class TimeDot(common.Benchmark):
    """Seconds per dot product, per implementation, ``N``, ``workers`` and ``dtype``."""

    params = [IMPLS, list(common.SIZES), list(common.WORKERS), list(common.DTYPES)]
    param_names = ["impl", "N", "workers", "dtype"]
    # 3: every sample of "processes" finds its pool started (version 2,
    # from 441f9c9 on, timed a pool's start-up in each sample after the first)
    version = common.version("3")

    def setup(self, impl, N, workers, dtype):
        self.impl = None
        self.impl = common.Implementation(impl, N, workers, dtype)

    def teardown(self, impl, N, workers, dtype):
        # asv runs teardown after a setup that skipped too. Between two
        # samples the process pool stays (started and warm for the next).
        if getattr(self, "impl", None) is not None:
            self.impl.close(last=not common.between_samples())

    def time_dot(self, impl, N, workers, dtype):
        self.impl()

    time_dot.pretty_name = "seconds per dot product"


class PerCallPool(common.Benchmark):
    """The original example's split, a new thread pool per call: a control series."""

    params = [list(common.SIZES), list(common.WORKERS)]
    param_names = ["N", "workers"]
    version = common.version("2")

    def setup(self, N, workers):
        self.impl = common.Implementation(common.PER_CALL_POOL, N, workers, "float64")

    def time_per_call_pool(self, N, workers):
        self.impl()

    time_per_call_pool.pretty_name = "the example's split, a new thread pool per call (float64)"
