"""The dot product of one chunk: which numpy function computes it, per dtype.

``numpy.dot`` of two vectors runs BLAS for float32, float64, complex64 and
complex128 (the same dtype on both sides): vectorised, and multi-threaded by
OpenBLAS. For every other dtype it runs numpy's own loop, one element at a
time on one core. ``numpy.einsum("i,i->", x, y)`` computes the same sum of
products with a vectorised loop of its own and no BLAS. Measured on a 2-core
AMD EPYC VM (numpy 2.4.6, OpenBLAS 0.3.31), one core, N = 1e6: einsum 3.9
times faster than ``numpy.dot`` for int32 and 1.6 times for int64; for
float64 4 times *slower* while the vectors fit in the cache, and no faster
once they stream from memory.

So a chunk runs ``numpy.einsum`` for integer and boolean vectors of one
dtype, ``numpy.dot`` for everything else (BLAS dtypes, mixed dtypes,
float16, longdouble).

BLAS is left as the caller set it. Limiting it to one thread per chunk
while chunks run (so that ``k`` chunks do not each start BLAS threads on
the same cores) was measured slower, called back to back on 2 cores with
OpenBLAS: at N = 1e6 float64 the split took 3.4 times numpy.dot with the
limit and 1.55 times without, at 1e7 1.35 and 1.06; and the limit's
restore made the caller's next multi-threaded numpy.dot of 1e7 float64
1.6 times slower (OpenBLAS parks its threads when the count drops).
OpenBLAS runs concurrent calls from several threads safely.

Results equal ``numpy.dot``: both kernels return ``numpy.result_type(x, y)``;
integers wrap modulo ``2**bits`` in any order of summation (numpy.dot sums
in a wider integer and casts, einsum sums in the dtype: the same bits);
booleans are ``any(x & y)`` in both; floats differ by the rounding of
another summation order only.
"""

import numpy as np

__all__ = ["einsum_dot", "for_vectors", "serial_alternative"]

_EXACT_KINDS = "biu"


def einsum_dot(x, y):
    """``numpy.dot(x, y)`` of two vectors, computed by ``numpy.einsum``."""
    return np.einsum("i,i->", x, y)


def for_vectors(a, b):
    """The chunk kernel for slices of ``a`` and ``b``: ``kernel(x, y) == numpy.dot(x, y)``."""
    return serial_alternative(a, b) or np.dot


def serial_alternative(a, b):
    """A one-core kernel that beats ``numpy.dot`` on ``a`` and ``b``, or None.

    Integers and booleans of one dtype: ``numpy.dot`` runs them one element
    at a time, einsum vectorises them. For BLAS dtypes ``numpy.dot`` is
    already the fastest kernel.
    """
    if a.dtype == b.dtype and a.dtype.kind in _EXACT_KINDS:
        return einsum_dot
    return None
