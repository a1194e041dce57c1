"""The dot product of one chunk: which kernel computes it, per dtype.

``numpy.dot`` of two vectors runs BLAS for float32, float64, complex64 and
complex128 (the same dtype on both sides): vectorised, and multi-threaded by
OpenBLAS. For every other dtype it runs numpy's own loop, one element at a
time on one core. ``numpy.einsum("i,i->", x, y)`` computes the same sum of
products with a vectorised loop of its own and no BLAS. Measured on a 2-core
AMD EPYC VM (numpy 2.4.6, OpenBLAS 0.3.31), one core, N = 1e6: einsum 3.9
times faster than ``numpy.dot`` for int32 and 1.6 times for int64; for
float64 4 times *slower* while the vectors fit in the cache, and no faster
once they stream from memory.

The compiled kernel
-------------------
When the package was built with its C extension (:mod:`paralleldot._native`,
built by ``pip install`` wherever a C compiler is found; nothing to
install), contiguous vectors of one dtype among int8..int64, uint8..uint64,
float32, float64, complex64 and complex128 run its loops instead: compiled
for AVX-512, AVX2 and the baseline (the CPU picks at load time), the GIL
released. It also has a team of threads of its own (``native_dot(a, b,
workers)``), which hands a chunk over in about a microsecond where a
``concurrent.futures`` pool takes 20 to 60. Why a C extension and not numba
is in ``docs/package.md``. ``PARALLELDOT_NO_NATIVE=1`` in the environment at
import turns it off (then everything runs as below).

Without it, a chunk runs ``numpy.einsum`` for integer and boolean vectors of
one dtype, ``numpy.dot`` for everything else (BLAS dtypes, mixed dtypes,
float16, longdouble, strided views with the extension).

BLAS is left as the caller set it. Limiting it to one thread per chunk
while chunks run (so that ``k`` chunks do not each start BLAS threads on
the same cores) was measured slower, called back to back on 2 cores with
OpenBLAS: at N = 1e6 float64 the split took 3.4 times numpy.dot with the
limit and 1.55 times without, at 1e7 1.35 and 1.06; and the limit's
restore made the caller's next multi-threaded numpy.dot of 1e7 float64
1.6 times slower (OpenBLAS parks its threads when the count drops).
OpenBLAS runs concurrent calls from several threads safely.

Results equal ``numpy.dot``: every kernel returns ``numpy.result_type(x, y)``;
integers wrap modulo ``2**bits`` in any order of summation (numpy.dot sums
in a wider integer and casts, einsum and the compiled loops sum in the
dtype's width: the same bits); booleans are ``any(x & y)``; floats differ by
the rounding of another summation order only.
"""

import os

import numpy as np

try:
    if os.environ.get("PARALLELDOT_NO_NATIVE", "").strip() not in ("", "0"):
        raise ImportError("PARALLELDOT_NO_NATIVE is set")
    from . import _native
except ImportError:  # built without a C compiler, or turned off
    _native = None

__all__ = ["einsum_dot", "for_vectors", "native_dot", "native_serial_dot", "serial_alternative"]

_EXACT_KINDS = "biu"


def einsum_dot(x, y):
    """``numpy.dot(x, y)`` of two vectors, computed by ``numpy.einsum``."""
    return np.einsum("i,i->", x, y)


def native_serial_dot(x, y):
    """``numpy.dot(x, y)`` by the compiled loop on the calling thread (GIL released)."""
    return _native.dot(x, y, 1)


def native_dot(x, y, threads):
    """``numpy.dot(x, y)`` by the compiled loop on ``threads`` threads of its team."""
    return _native.dot(x, y, threads)


def has_native(a, b):
    """Whether the compiled kernel computes ``a`` and ``b`` (and their slices)."""
    return _native is not None and _native.supports(a, b)


def for_vectors(a, b):
    """The chunk kernel for slices of ``a`` and ``b``: ``kernel(x, y) == numpy.dot(x, y)``."""
    return serial_alternative(a, b) or np.dot


def serial_alternative(a, b):
    """A one-core kernel that beats ``numpy.dot`` on ``a`` and ``b``, or None.

    The compiled loop where it applies; else, for integers and booleans of
    one dtype, ``numpy.einsum`` (``numpy.dot`` runs them one element at a
    time, einsum vectorises them). For other BLAS dtypes ``numpy.dot`` is
    already the fastest kernel.
    """
    if has_native(a, b):
        return native_serial_dot
    if a.dtype == b.dtype and a.dtype.kind in _EXACT_KINDS:
        return einsum_dot
    return None
