"""Peak memory of the process backend: shared vectors against ordinary arrays.

``peakmem_`` reports the largest resident size of the benchmark process
during setup and one call (the worker processes are not counted). Both
classes hold the two input vectors (``16 N`` bytes); vectors made by
``paralleldot.shared_empty`` are read in place, while ordinary arrays are
copied into shared memory at every call, which shows as about ``16 N``
more bytes. A regression that copies shared vectors shows here too.
"""

import paralleldot

from . import common


class Processes(common.Benchmark):
    """``parallel_dot(backend="processes")`` on ``shared_empty`` vectors."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("processes")
        common.require_attribute("shared_empty")
        common.require_size(N)
        self.a, self.b = common.shared_vectors(N)

    def peakmem_processes_shared(self, N, workers):
        paralleldot.parallel_dot(self.a, self.b, workers=workers, backend="processes")

    peakmem_processes_shared.pretty_name = "peak memory: processes, shared vectors"


class ProcessesCopy(common.Benchmark):
    """``parallel_dot(backend="processes")`` on ordinary arrays (one copy per call)."""

    version = "1"

    def setup(self, N, workers):
        common.require_backend("processes")
        super().setup(N, workers)

    def peakmem_processes_copy(self, N, workers):
        paralleldot.parallel_dot(self.a, self.b, workers=workers, backend="processes")

    peakmem_processes_copy.pretty_name = "peak memory: processes, ordinary arrays"
