"""paralleldot: the futures split of ``numpy.dot`` of two vectors.

The dot product of two vectors is cut into balanced contiguous chunks,
``numpy.dot`` runs on each chunk in a ``concurrent.futures`` pool and the
partial sums are added. The public API is:

- :func:`parallel_dot` -- the split, on a chosen backend;
- :func:`parallel_numpy_dot` -- drop-in for the original example's function;
- :func:`split` -- the slices used;
- :func:`shared_empty` -- vectors in shared memory for ``"processes"``;
- :func:`shutdown` -- stop the pooled workers.
"""

from ._api import BACKENDS, parallel_dot, parallel_numpy_dot
from ._pools import shutdown
from ._shm import shared_empty
from ._split import split

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "parallel_dot",
    "parallel_numpy_dot",
    "shared_empty",
    "shutdown",
    "split",
]
