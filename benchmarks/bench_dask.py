"""backend="dask" against the threads split and numpy.dot, over N and workers.

Two kinds of input, each its own class:

- *numpy vectors* (``Dask``): what a numpy user passes; every call scatters
  the chunks to the workers (``16 N`` bytes through local TCP) and gathers
  the partial sums.
- *dask arrays already on the cluster* (``DaskArrays``): the vectors are
  persisted in ``workers`` chunks before timing, as data larger than one
  machine would be; a call sends one small graph and gathers the partial
  sums. This is the case the backend is for.

The cluster is a ``distributed.LocalCluster`` like the backend's embedded
one (``workers`` worker processes with one thread each, everything on
127.0.0.1, no dashboard), started once per benchmark process in ``setup``
(outside timing) and passed with ``client=``. It is closed when the
process ends.

The ``track_`` classes time dask and its reference side by side in one
process (:func:`common.speedup`, best of interleaved samples) and return
``time(reference) / time(dask)``: above 1 dask is faster.

Environments without dask, and commits without the dask backend, skip
every benchmark here (``NotImplementedError`` in ``setup``).
"""

import atexit

import numpy as np

import paralleldot

from . import common

#: Interleaved samples per function in the track_ ratios: a call that
#: scatters 1.6 GB (N = 1e8) lasts seconds.
SAMPLES = 7

_clusters = {}  # workers -> (LocalCluster, Client), one per process
_persisted = {}  # (N, workers) -> (x, y) dask arrays held by the cluster


def require_dask():
    """Skip unless dask.distributed is installed and the backend exists."""
    common.require_backend("dask")
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise NotImplementedError(f"dask is not installed here: {exc}") from None


def client(workers):
    """A client of a LocalCluster with ``workers`` worker processes (cached)."""
    if workers not in _clusters:
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )
        _clusters[workers] = (cluster, distributed.Client(cluster, set_as_default=False))
    return _clusters[workers][1]


@atexit.register
def close_clusters():
    """Close the clusters of this process (at exit; tests call it earlier)."""
    _persisted.clear()
    while _clusters:
        _, (cluster, c) = _clusters.popitem()
        c.close()
        cluster.close()


def persisted_vectors(n, workers):
    """:func:`common.vectors` as dask arrays in ``workers`` chunks held by the workers.

    Chunk ``i`` of both vectors is scattered to worker ``i`` and copied
    there once (``numpy.copy``): blocks computed on the workers, as the
    blocks of a real dask array are, start aligned, whereas scattered arrays
    land at any byte offset. No copy of the vectors stays in the graph or on
    the scheduler. The copies finish during the warm-up call of ``setup``.
    """
    key = (n, workers)
    if key not in _persisted:
        import dask.array as da

        a, b = common.vectors(n)
        c = client(workers)
        addresses = sorted(c.ncores())
        blocks_a, blocks_b = [], []
        for i, s in enumerate(paralleldot.split(n, workers)):
            worker = [addresses[i % len(addresses)]]
            fa, fb = c.map(
                np.copy, c.scatter([a[s], b[s]], workers=worker, hash=False), workers=worker, pure=False
            )
            size = s.stop - s.start
            blocks_a.append(da.from_delayed(fa, shape=(size,), dtype=a.dtype))
            blocks_b.append(da.from_delayed(fb, shape=(size,), dtype=b.dtype))
        _persisted[key] = (da.concatenate(blocks_a), da.concatenate(blocks_b))
    return _persisted[key]


class _Dask(common.Benchmark):
    """Setup shared by the dask benchmarks: skip, cluster, inputs, one warm call."""

    def setup(self, N, workers):
        require_dask()
        super().setup(N, workers)
        self.client = client(workers)
        self.x, self.y = self.inputs(N, workers)
        x, y, c = self.x, self.y, self.client
        common.warm(
            (type(self).__name__, N, workers),
            lambda: paralleldot.parallel_dot(x, y, workers=workers, backend="dask", client=c),
        )

    def inputs(self, N, workers):
        return self.a, self.b


class Dask(_Dask):
    """``parallel_dot(backend="dask")`` of numpy vectors: scatter, dot, gather per call."""

    version = "1"

    def time_dask(self, N, workers):
        paralleldot.parallel_dot(self.x, self.y, workers=workers, backend="dask", client=self.client)

    time_dask.pretty_name = "parallel_dot, dask, numpy vectors (scattered per call)"


class DaskArrays(_Dask):
    """``parallel_dot(backend="dask")`` of dask arrays already held by the workers."""

    version = "1"

    def inputs(self, N, workers):
        return persisted_vectors(N, workers)

    def time_dask_arrays(self, N, workers):
        paralleldot.parallel_dot(self.x, self.y, workers=workers, backend="dask", client=self.client)

    time_dask_arrays.pretty_name = "parallel_dot, dask, dask arrays on the cluster"


class _Ratio(_Dask, common.TrackBenchmark):
    """``time(reference) / time(dask)`` measured side by side in one process."""

    unit = "ratio"

    def setup(self, N, workers):
        super().setup(N, workers)
        self.blas = common.limit_blas(workers) if self.caps_blas else None
        a, b, x, y, c = self.a, self.b, self.x, self.y, self.client
        self.reference = self.make_reference(a, b, workers)
        self.candidate = lambda: paralleldot.parallel_dot(
            x, y, workers=workers, backend="dask", client=c
        )
        common.warm(("reference", type(self).__name__, N, workers), self.reference)

    def teardown(self, N, workers):
        # asv runs teardown after a setup that skipped too.
        blas, self.blas = getattr(self, "blas", None), None
        if blas is not None:
            blas.restore_original_limits()

    caps_blas = False

    def make_reference(self, a, b, workers):
        raise NotImplementedError

    def _ratio(self):
        ref, cand = common.interleaved_times([self.reference, self.candidate], samples=SAMPLES)
        return min(ref) / min(cand)


def _threads(a, b, workers):
    return lambda: paralleldot.parallel_dot(a, b, workers=workers, backend="threads")


def _numpy_dot(a, b, workers):
    return lambda: np.dot(a, b)


class ThreadsOverDask(_Ratio):
    """threads time / dask time, numpy vectors (>1: dask faster)."""

    version = "1"
    make_reference = staticmethod(_threads)

    def track_threads_over_dask(self, N, workers):
        return self._ratio()

    track_threads_over_dask.pretty_name = "threads time / dask time, numpy vectors"
    track_threads_over_dask.unit = "ratio"


class NumpyDotOverDask(_Ratio):
    """numpy.dot time (BLAS capped at workers) / dask time, numpy vectors."""

    version = "1"
    caps_blas = True
    make_reference = staticmethod(_numpy_dot)

    def track_numpy_dot_over_dask(self, N, workers):
        return self._ratio()

    track_numpy_dot_over_dask.pretty_name = "numpy.dot time / dask time, numpy vectors"
    track_numpy_dot_over_dask.unit = "ratio"


class ThreadsOverDaskArrays(_Ratio):
    """threads time on numpy vectors / dask time on the same values held by the cluster."""

    version = "1"
    make_reference = staticmethod(_threads)

    def inputs(self, N, workers):
        return persisted_vectors(N, workers)

    def track_threads_over_dask_arrays(self, N, workers):
        return self._ratio()

    track_threads_over_dask_arrays.pretty_name = "threads time / dask time, dask arrays on the cluster"
    track_threads_over_dask_arrays.unit = "ratio"


class NumpyDotOverDaskArrays(_Ratio):
    """numpy.dot time on numpy vectors / dask time on the same values held by the cluster."""

    version = "1"
    caps_blas = True
    make_reference = staticmethod(_numpy_dot)

    def inputs(self, N, workers):
        return persisted_vectors(N, workers)

    def track_numpy_dot_over_dask_arrays(self, N, workers):
        return self._ratio()

    track_numpy_dot_over_dask_arrays.pretty_name = "numpy.dot time / dask time, dask arrays on the cluster"
    track_numpy_dot_over_dask_arrays.unit = "ratio"
