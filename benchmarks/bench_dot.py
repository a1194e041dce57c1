"""Time of one dot product of two vectors: numpy.dot against each split.

One class, parametrized over the implementation, so that a graph of the
site can show ``numpy.dot`` and a split side by side for the same ``N``,
``workers`` and ``dtype``:

- ``numpy.dot``: BLAS capped at ``workers`` threads (the fair reference);
- ``threads``, ``auto``, ``processes``: ``paralleldot.parallel_dot`` with
  that backend (``processes`` on vectors in ``paralleldot.shared_empty``
  memory, which its workers read in place);
- ``per-call pool``: the original example's split, a new thread pool per
  call. It does not use paralleldot: a control series, flat across commits
  unless the machine or numpy changed, measured for float64 only.

Inputs are prepared and pools started in ``setup``; ``time_dot`` holds one
call. A backend that does not exist at the commit measured is skipped
(``NotImplementedError`` in ``setup``).
"""

from asv_runner.benchmarks.mark import skip_for_params

from . import common

IMPLS = [common.NUMPY_DOT, *common.SPLITS, common.PER_CALL_POOL]
#: The control series runs for float64 only: it does not depend on the package.
CONTROL_SKIPS = [
    (common.PER_CALL_POOL, n, w, d)
    for n in common.SIZES
    for w in common.WORKERS
    for d in common.DTYPES
    if d != "float64"
]


class TimeDot(common.Benchmark):
    """Seconds per dot product, per implementation, ``N``, ``workers`` and ``dtype``."""

    params = [IMPLS, list(common.SIZES), list(common.WORKERS), list(common.DTYPES)]
    param_names = ["impl", "N", "workers", "dtype"]
    version = common.version("2")

    def setup(self, impl, N, workers, dtype):
        self.impl = None
        self.impl = common.Implementation(impl, N, workers, dtype)

    def teardown(self, impl, N, workers, dtype):
        # asv runs teardown after a setup that skipped too.
        if getattr(self, "impl", None) is not None:
            self.impl.close()

    @skip_for_params(CONTROL_SKIPS)
    def time_dot(self, impl, N, workers, dtype):
        self.impl()

    time_dot.pretty_name = "seconds per dot product"
