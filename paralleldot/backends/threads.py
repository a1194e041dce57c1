"""The futures split on the shared thread pool.

``numpy.dot`` and ``numpy.einsum`` release the GIL while they compute, so
chunks run in parallel on threads with no copy. The calling thread computes
the first chunk itself while the pool computes the others: one hand-off
fewer per call. Each chunk runs the kernel of :mod:`paralleldot._kernels`
for its dtype; BLAS is left as the caller set it (see there why).
"""

from concurrent.futures import wait

from .. import _kernels, _pools


def partial_sums(a, b, slices, workers):
    """Return ``[numpy.dot(a[s], b[s]) for s in slices]``, computed on threads."""
    kernel = _kernels.for_vectors(a, b)
    if len(slices) == 1:
        return [kernel(a, b)]
    pool = _pools.thread_pool(len(slices) - 1)
    return run_on(pool, a, b, slices, inline_first=True, kernel=kernel)


def run_on(executor, a, b, slices, inline_first=False, kernel=None):
    """Run one chunk kernel per slice on ``executor`` and return the results.

    With ``inline_first`` the calling thread computes the first slice.
    ``kernel`` is :func:`paralleldot._kernels.for_vectors`'s (looked up when
    None). An exception raised by a chunk reaches the caller as itself,
    after every submitted chunk has finished.
    """
    dot = _kernels.for_vectors(a, b) if kernel is None else kernel
    first = 1 if inline_first else 0
    futures = [executor.submit(dot, a[s], b[s]) for s in slices[first:]]
    try:
        head = [dot(a[slices[0]], b[slices[0]])] if inline_first else []
        return head + [f.result() for f in futures]
    finally:
        # Whatever happened, no chunk may still run when the call returns.
        wait(futures)
