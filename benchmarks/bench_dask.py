"""asv classes of the dask backend and of the scale-out model: they report, they do not measure.

Every class here inherits one ``setup_cache`` (:class:`_Measured`), which
runs :func:`benchmarks.scaleout_model.measure_model_inputs` and
:func:`benchmarks.scaleout_model.measure_ratios` once per commit and
environment, in one process with one cluster per ``workers``, closed at its
end: asv ends its benchmark processes with ``os._exit``, which would leave
a cluster running into the next benchmarks. Each parameter set then reads
its value in a light process. What is measured, on which grid, and what it
costs: ``benchmarks/scaleout_model.py`` and ``docs/scaleout.md``.

- ``ThreadsOverDask``, ``NumpyDotOverDask``, ``ThreadsOverDaskArrays``,
  ``NumpyDotOverDaskArrays``: ``time(reference) / time(dask)``, side by
  side; above 1 dask is faster;
- ``Dask``, ``DaskArrays``: dask's best seconds per call, numpy vectors
  (scattered at each call) and dask arrays already on the cluster;
- ``Model*``: the inputs of the scale-out model.

Environments without dask, and commits without the dask backend, skip
these (``NotImplementedError`` in ``setup``).
"""

from . import common
from .scaleout_model import (
    CHUNKS,
    FIXED_INPUTS,
    GRID_PARAMS,
    READERS,
    close_clusters,
    measure_model_inputs,
    measure_ratios,
    require_dask,
    require_grid,
)


class _Measured:
    """Base of the classes whose values are all measured by one shared ``setup_cache``.

    asv runs ``setup_cache`` once for every class that inherits it (its key
    is the function's place in this file), in one process, and passes its
    result to ``setup``, the ``track_`` method and ``teardown`` of every
    parameter set, each in its own (cheap) process. The one process starts
    the clusters once: the model's inputs first (:func:`measure_model_inputs`),
    then the ratios (:func:`measure_ratios`, which reuses the model's
    cluster at ``workers = 2``).
    """

    rounds = 1
    timeout = 300

    def setup_cache(self):
        """Measure the model's inputs and every ratio of the grid in this one process."""
        try:
            return {"model": measure_model_inputs(), "ratios": measure_ratios()}
        finally:
            close_clusters()

    # The full grid, up to N = 1e8, takes minutes.
    setup_cache.timeout = 3600

    def teardown(self, cache, *params):
        pass


class _Ratio(_Measured):
    """``time(reference) / time(dask)``, read from the shared measurement."""

    # The suite's N and workers grid (only those two: the shared measurement
    # keys its values by them).
    params = GRID_PARAMS
    param_names = ["N", "workers"]
    unit = "ratio"
    ratio = None  # a key of RATIOS

    def setup(self, cache, N, workers):
        require_dask()
        require_grid(N, workers)
        ratios = cache["ratios"]
        if ratios["skipped"]:
            raise NotImplementedError(ratios["skipped"])
        if (N, workers) in ratios["errors"]:
            raise RuntimeError(
                f"measuring the ratios at N={N}, workers={workers} failed: {ratios['errors'][(N, workers)]}"
            )

    def _value(self, cache, N, workers):
        return cache["ratios"]["values"][(self.ratio, N, workers)]


class ThreadsOverDask(_Ratio):
    """threads time / dask time, numpy vectors (>1: dask faster)."""

    version = common.version("1")
    ratio = "threads/dask"

    def track_threads_over_dask(self, cache, N, workers):
        return self._value(cache, N, workers)

    track_threads_over_dask.pretty_name = "threads time / dask time, numpy vectors"
    track_threads_over_dask.unit = "ratio"


class NumpyDotOverDask(_Ratio):
    """numpy.dot time (BLAS capped at workers) / dask time, numpy vectors."""

    version = common.version("1")
    ratio = "numpy.dot/dask"

    def track_numpy_dot_over_dask(self, cache, N, workers):
        return self._value(cache, N, workers)

    track_numpy_dot_over_dask.pretty_name = "numpy.dot time / dask time, numpy vectors"
    track_numpy_dot_over_dask.unit = "ratio"


class ThreadsOverDaskArrays(_Ratio):
    """threads time on numpy vectors / dask time on the same values held by the cluster."""

    version = common.version("2")  # 2: the arrays are persisted (one key per block)
    ratio = "threads/dask arrays"

    def track_threads_over_dask_arrays(self, cache, N, workers):
        return self._value(cache, N, workers)

    track_threads_over_dask_arrays.pretty_name = "threads time / dask time, dask arrays on the cluster"
    track_threads_over_dask_arrays.unit = "ratio"


class NumpyDotOverDaskArrays(_Ratio):
    """numpy.dot time on numpy vectors / dask time on the same values held by the cluster."""

    version = common.version("2")  # 2: the arrays are persisted (one key per block)
    ratio = "numpy.dot/dask arrays"

    def track_numpy_dot_over_dask_arrays(self, cache, N, workers):
        return self._value(cache, N, workers)

    track_numpy_dot_over_dask_arrays.pretty_name = "numpy.dot time / dask time, dask arrays on the cluster"
    track_numpy_dot_over_dask_arrays.unit = "ratio"


# --- seconds per call, from the same measurement ------------------------------------


class Dask(_Ratio):
    """``parallel_dot(backend="dask")`` of numpy vectors: seconds per call (scatter, dot, gather).

    The best of the interleaved samples of the shared measurement, back to
    back (calls under 10 ms include the client's batching, see the module
    doc). Measured there, not in a process of its own: asv ends its
    benchmark processes with ``os._exit``, which would leave a cluster's
    worker processes running into the next benchmarks.
    """

    version = common.version("2")  # 2: measured in the shared setup_cache
    unit = "seconds"

    def track_dask(self, cache, N, workers):
        return cache["ratios"]["seconds"][("numpy vectors", N, workers)]

    track_dask.pretty_name = "parallel_dot, dask, numpy vectors (scattered per call): seconds"
    track_dask.unit = "seconds"


class DaskArrays(_Ratio):
    """``parallel_dot(backend="dask")`` of dask arrays already held by the workers: seconds per call."""

    version = common.version("3")  # 3: measured in the shared setup_cache
    unit = "seconds"

    def track_dask_arrays(self, cache, N, workers):
        return cache["ratios"]["seconds"][("dask arrays", N, workers)]

    track_dask_arrays.pretty_name = "parallel_dot, dask, dask arrays on the cluster: seconds"
    track_dask_arrays.unit = "seconds"


# --- the scale-out model's inputs ---------------------------------------------------


class _Model(_Measured):
    """The model's inputs, read from the shared measurement; no ``N``/``workers`` grid."""

    params = []
    param_names = []
    unit = "seconds"

    def check(self, cache, quantity, value):
        """Return ``value``; raise NotImplementedError (not measured here) or RuntimeError (failed) if missing."""
        model = cache["model"]
        if quantity in model["errors"]:
            raise RuntimeError(f"measuring {quantity} failed: {model['errors'][quantity]}")
        if value is None:
            raise NotImplementedError(model["skipped"] or f"{quantity} was not measured at this commit")
        return value


class ModelFixedCost(_Model):
    """Seconds of one isolated dask call on tiny data: dask's fixed cost per call."""

    version = common.version("1")
    params = [list(FIXED_INPUTS), list(CHUNKS)]
    param_names = ["inputs", "chunks"]

    def setup(self, cache, inputs, chunks):
        self.check(cache, "fixed_cost", cache["model"]["fixed_cost"].get((inputs, chunks)))

    def track_fixed_cost(self, cache, inputs, chunks):
        return cache["model"]["fixed_cost"][(inputs, chunks)]

    track_fixed_cost.pretty_name = "scale-out model: dask's fixed cost per call (tiny blocks, isolated call)"
    track_fixed_cost.unit = "seconds"


class ModelTransfer(_Model):
    """ns per byte of moving a chunk to a worker (scatter over local TCP)."""

    version = common.version("1")
    unit = "ns/byte"

    def setup(self, cache):
        self.check(cache, "cost_per_byte", cache["model"]["cost_per_byte"])

    def track_cost_per_byte(self, cache):
        return cache["model"]["cost_per_byte"] * 1e9

    track_cost_per_byte.pretty_name = "scale-out model: dask scatter to a worker, ns per byte (slope 8 MB to 80 MB)"
    track_cost_per_byte.unit = "ns/byte"


class ModelBandwidth(_Model):
    """GB/s of numpy.dot on one dask worker (one thread) and of this machine's threads split."""

    version = common.version("1")
    unit = "GB/s"
    params = [list(READERS)]
    param_names = ["reader"]

    def setup(self, cache, reader):
        self.check(cache, "bandwidth", cache["model"]["bandwidth"].get(reader))

    def track_bandwidth(self, cache, reader):
        return cache["model"]["bandwidth"][reader]

    track_bandwidth.pretty_name = "scale-out model: numpy.dot GB/s, one dask worker and the threads split (side by side)"
    track_bandwidth.unit = "GB/s"


class ModelThreadsFixedCost(_Model):
    """Seconds of the threads split on all cores for tiny vectors: one machine's fixed cost."""

    version = common.version("1")

    def setup(self, cache):
        self.check(cache, "threads_fixed_cost", cache["model"]["threads_fixed_cost"])

    def track_threads_fixed_cost(self, cache):
        return cache["model"]["threads_fixed_cost"]

    track_threads_fixed_cost.pretty_name = "scale-out model: threads split fixed cost (1024 elements, all cores)"
    track_threads_fixed_cost.unit = "seconds"
