"""The futures split on the shared thread pool.

``numpy.dot`` releases the GIL inside BLAS, so chunks run in parallel on
threads with no copy. The calling thread computes the first chunk itself
while the pool computes the others: one hand-off fewer per call. While the
chunks run, BLAS is limited to one thread each (:mod:`paralleldot._blas`).
"""

from concurrent.futures import wait

import numpy as np

from .. import _blas, _pools


def partial_sums(a, b, slices, workers):
    """Return ``[numpy.dot(a[s], b[s]) for s in slices]``, computed on threads."""
    if len(slices) == 1:
        return [np.dot(a, b)]
    pool = _pools.thread_pool(len(slices) - 1)
    return run_on(pool, a, b, slices, inline_first=True)


def run_on(executor, a, b, slices, inline_first=False):
    """Run one ``numpy.dot`` per slice on ``executor`` and return the results.

    With ``inline_first`` the calling thread computes the first slice. BLAS
    runs one thread per chunk meanwhile. An exception raised by a chunk
    reaches the caller as itself, after every submitted chunk has finished.
    """
    first = 1 if inline_first else 0
    with _blas.single_threaded_blas():
        futures = [executor.submit(np.dot, a[s], b[s]) for s in slices[first:]]
        try:
            head = [np.dot(a[slices[0]], b[slices[0]])] if inline_first else []
            return head + [f.result() for f in futures]
        finally:
            # Whatever happened, no chunk may still run once BLAS is restored.
            wait(futures)
