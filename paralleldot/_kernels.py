"""The dot product of one chunk: which numpy function computes it, per dtype.

``numpy.dot`` of two vectors runs BLAS for float32, float64, complex64 and
complex128 (the same dtype on both sides): vectorised, and multi-threaded by
OpenBLAS. For every other dtype it runs numpy's own loop, one element at a
time on one core. ``numpy.einsum("i,i->", x, y)`` computes the same sum of
products with a vectorised loop of its own and no BLAS. Measured on a 2-core
AMD EPYC VM (numpy 2.4.6, OpenBLAS 0.3.31), one core, N = 1e6: einsum 3.9
times faster than ``numpy.dot`` for int32 and 1.6 times for int64; for
float64 4 times *slower* while the vectors fit in the last-level cache, and
as fast once they stream from memory (both are then bound by bandwidth).

So a chunk runs:

==========================================  ================  ============
vectors                                     kernel            BLAS limited
==========================================  ================  ============
integers or booleans, one dtype             ``einsum``        no
a BLAS dtype, both vectors in the cache     ``numpy.dot``     yes
a BLAS dtype, larger than the cache         ``einsum``        no
anything else (mixed dtypes, float16, ...)  ``numpy.dot``     if BLAS runs
==========================================  ================  ============

"BLAS limited": while chunks run on several threads, BLAS must run one
thread per chunk (:mod:`paralleldot._blas`), or ``k`` chunks start ``k``
times the BLAS threads on the same cores. Changing the BLAS thread count is
not free: OpenBLAS parks its threads when the count drops, and the caller's
next multi-threaded ``numpy.dot`` of 1e7 float64 took 1.6 times as long after
a limit and restore (measured). Past the cache, where einsum is as fast,
the split therefore leaves BLAS alone.

Results equal ``numpy.dot``: both kernels return ``numpy.result_type(x, y)``;
integers wrap modulo ``2**bits`` in any order of summation (numpy.dot sums
in a wider integer and casts, einsum sums in the dtype: the same bits);
booleans are ``any(x & y)`` in both; floats differ by the rounding of
another summation order only.
"""

import os

import numpy as np

__all__ = ["einsum_dot", "for_vectors", "serial_alternative"]

#: numpy.dot runs these through BLAS (same dtype on both sides).
BLAS_DTYPES = frozenset(
    np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128)
)
_EXACT_KINDS = "biu"
#: Bytes assumed for the last-level cache when the system does not tell.
DEFAULT_CACHE_BYTES = 32 << 20


def einsum_dot(x, y):
    """``numpy.dot(x, y)`` of two vectors, computed by ``numpy.einsum``."""
    return np.einsum("i,i->", x, y)


def _last_level_cache_bytes():
    """Size of the largest CPU cache (Linux sysfs), or :data:`DEFAULT_CACHE_BYTES`."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    sizes = []
    root = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = os.listdir(root)
    except OSError:
        return DEFAULT_CACHE_BYTES
    for entry in entries:
        try:
            with open(os.path.join(root, entry, "size")) as f:
                text = f.read().strip()
        except OSError:
            continue
        scale = units.get(text[-1:], 1)
        digits = text[:-1] if text[-1:] in units else text
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes, default=DEFAULT_CACHE_BYTES)


#: Above this many bytes (both vectors), a BLAS dtype's chunks use einsum.
STREAMING_BYTES = _last_level_cache_bytes()


def for_vectors(a, b):
    """Return ``(kernel, limit_blas)`` for the chunks of ``a`` and ``b``.

    ``kernel(x, y)`` equals ``numpy.dot(x, y)`` for slices of the vectors;
    ``limit_blas`` says whether chunks run concurrently need BLAS limited to
    one thread (see the module's table).
    """
    dtype = a.dtype
    if dtype == b.dtype:
        if dtype.kind in _EXACT_KINDS:
            return einsum_dot, False
        if dtype in BLAS_DTYPES:
            if a.nbytes + b.nbytes > STREAMING_BYTES:
                return einsum_dot, False
            return np.dot, True
        return np.dot, False
    return np.dot, np.result_type(a, b) in BLAS_DTYPES


def serial_alternative(a, b):
    """A one-core kernel that may beat ``numpy.dot`` on ``a`` and ``b``, or None.

    Integers and booleans: ``numpy.dot`` runs them one element at a time,
    einsum vectorises them. For BLAS dtypes ``numpy.dot`` is already the
    fastest one-call kernel.
    """
    if a.dtype == b.dtype and a.dtype.kind in _EXACT_KINDS:
        return einsum_dot
    return None
