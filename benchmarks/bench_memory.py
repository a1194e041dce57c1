"""Peak memory of the process backend: shared vectors against ordinary arrays.

``peakmem_`` reports the largest resident size of the benchmark process
during setup and one call (the worker processes are not counted), for
float64 vectors, ``N`` >= 1e6 and the largest worker count of the profile.
Vectors made by ``paralleldot.shared_empty`` are read in place, while
ordinary arrays are copied into shared memory at every call, which shows
as about ``16 N`` more bytes. A regression that copies shared vectors shows
here too.
"""

import paralleldot

from . import common


class PeakMemory(common.Benchmark):
    """Peak resident memory of one ``parallel_dot(backend="processes")`` call."""

    params = [["shared", "ordinary"], common.sizes_from(10**6), [max(common.WORKERS)]]
    param_names = ["vectors", "N", "workers"]
    version = common.version("2")

    def setup(self, vectors, N, workers):
        common.require_backend("processes")
        common.require_process_pool_that_ends_with_its_owner()
        # Not the vectors the forkserver drew for the timing benchmarks.
        common.forget_preloaded()
        if vectors == "shared":
            self.a, self.b = common.shared_vectors(N)
        else:
            self.a, self.b = common.vectors(N)

    def teardown(self, vectors, N, workers):
        self.a = self.b = None
        common.close_process_pools()

    def peakmem_processes(self, vectors, N, workers):
        paralleldot.parallel_dot(self.a, self.b, workers=workers, backend="processes")

    peakmem_processes.pretty_name = "peak memory of a processes call"
