"""The futures split on the shared thread pool.

``numpy.dot`` releases the GIL inside BLAS, so chunks run in parallel on
threads with no copy. The calling thread computes the first chunk itself
while the pool computes the others: one hand-off fewer per call.
"""

from concurrent.futures import wait

import numpy as np

from .. import _pools


def partial_sums(a, b, slices, workers):
    """Return ``[numpy.dot(a[s], b[s]) for s in slices]``, computed on threads."""
    if len(slices) == 1:
        return [np.dot(a, b)]
    pool = _pools.thread_pool(len(slices) - 1)
    return run_on(pool, a, b, slices, inline_first=True)


def run_on(executor, a, b, slices, inline_first=False):
    """Run one ``numpy.dot`` per slice on ``executor`` and return the results.

    With ``inline_first`` the calling thread computes the first slice. An
    exception raised by a chunk reaches the caller as itself, after every
    submitted chunk has finished.
    """
    first = 1 if inline_first else 0
    futures = [executor.submit(np.dot, a[s], b[s]) for s in slices[first:]]
    try:
        head = [np.dot(a[slices[0]], b[slices[0]])] if inline_first else []
    except BaseException:
        wait(futures)
        raise
    return head + [f.result() for f in futures]
