"""Vectors in shared memory: allocating them here, attaching to them in workers.

In the calling process, :func:`shared_empty` allocates a vector in a POSIX
shared-memory segment (``multiprocessing.shared_memory``). The array does not
export a buffer of the segment: it is built from an ``__array_interface__``
whose owner, a :class:`_Segment`, is the array's ``base``. Views of the array
keep that owner alive, and when the last of them is gone the segment's name
is unlinked and its memory unmapped. At interpreter exit the names are
unlinked too, so nothing is left under ``/dev/shm``.

A worker process receives a :class:`Descriptor` (name, offset, stride,
length, dtype), never the data, and attaches to the segment by name. Workers
do not register the segments they attach to with the resource tracker: the
creating process owns them (``track=False`` from Python 3.13; before that,
registration is skipped in the worker).
"""

import ctypes
import sys
import threading
import weakref
from multiprocessing import resource_tracker, shared_memory
from typing import NamedTuple

import numpy as np

from ._split import _check_count

__all__ = ["shared_empty"]

_NUMERIC_KINDS = "biufc"
_live = weakref.WeakSet()  # segments of shared_empty arrays still alive


class _Segment:
    """Owner of one shared-memory segment created by this process.

    It is the ``base`` of the arrays made on the segment; its finalizer
    unlinks the segment's name when it is collected or at exit.
    """

    __slots__ = ("shm", "address", "__array_interface__", "__weakref__")

    def __init__(self, n, dtype):
        nbytes = n * dtype.itemsize
        self.shm = shared_memory.SharedMemory(create=True, size=max(nbytes, 1))
        # The address is read through a temporary export, released at once,
        # so that closing the segment later never meets a live export.
        probe = ctypes.c_char.from_buffer(self.shm.buf)
        self.address = ctypes.addressof(probe)
        del probe
        self.__array_interface__ = {
            "version": 3,
            "shape": (n,),
            "typestr": dtype.str,
            "descr": dtype.descr,
            "data": (self.address, False),
        }
        weakref.finalize(self, _unlink, self.shm)

    @property
    def name(self):
        return self.shm.name


def _unlink(shm):
    try:
        shm.unlink()
    except FileNotFoundError:  # pragma: no cover - already gone
        pass


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
        raise TypeError(
            "dtype must be numeric (bool, integer, unsigned, float or "
            f"complex), got {dtype}"
        )
    return dtype


def shared_empty(n, dtype=np.float64):
    """Allocate an uninitialised vector in shared memory.

    ``backend="processes"`` reads such vectors (and any view of them) in
    place from its worker processes: repeated calls copy nothing. Ordinary
    arrays are copied into a temporary segment once per call instead, which
    costs one extra read and write of each vector, about as much as two to
    three ``numpy.dot`` calls on the same data.

    Parameters
    ----------
    n : int
        Length of the vector, ``n >= 0``.
    dtype : data-type, default numpy.float64
        A numeric dtype (bool, integer, unsigned, float or complex).

    Returns
    -------
    numpy.ndarray, shape (n,)
        A writable array, like ``numpy.empty(n, dtype)``. Its memory lives
        until the array and every view of it are garbage collected; the
        segment is then removed from ``/dev/shm``.

    Raises
    ------
    TypeError
        If ``n`` is not an integer or ``dtype`` is not numeric.
    ValueError
        If ``n < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> a = shared_empty(1000)
    >>> a[:] = 1.0
    >>> float(parallel_dot(a, a, workers=2, backend="processes"))
    1000.0
    """
    n = _check_count(n, "n", 0)
    dtype = _check_dtype(dtype)
    segment = _Segment(n, dtype)
    _live.add(segment)
    return np.asarray(segment)


def _copy_to_segment(x):
    """Return a contiguous copy of ``x`` in a new segment (for one call)."""
    copy = np.asarray(_Segment(x.shape[0], x.dtype))
    np.copyto(copy, x)
    return copy


def unlink_now(x):
    """Unlink the segment under ``x`` (made by :func:`_copy_to_segment`) now."""
    _unlink(x.base.shm)


class Descriptor(NamedTuple):
    """How a worker finds a vector: segment name, byte offset, stride, length, dtype.

    Every field is a builtin (``dtype`` is the dtype's ``str``, e.g.
    ``"<f8"``), so that ``tuple(descriptor)`` travels to a worker without
    any pickler callback: loky pickles tasks with cloudpickle, which is
    several times slower on numpy objects and classes than on builtins.
    """

    name: str
    offset: int
    stride: int
    length: int
    dtype: str
    persistent: bool


def describe(x):
    """Return ``(descriptor, holder)`` for passing ``x`` to worker processes.

    A vector that lives in a segment of :func:`shared_empty` (or a view of
    one) is described in place. Any other vector is copied into a temporary
    segment; ``holder`` is that copy, which the caller keeps alive for the
    call and then releases with :func:`unlink_now`, or ``None``.
    """
    segment = x.base
    while isinstance(segment, np.ndarray):  # a view of a view of a segment
        segment = segment.base
    holder = None
    if type(segment) is not _Segment:
        holder = x = _copy_to_segment(x)
        segment = x.base
    offset = x.__array_interface__["data"][0] - segment.address
    descriptor = Descriptor(
        segment.name, offset, x.strides[0], x.shape[0], x.dtype.str, holder is None
    )
    return descriptor, holder


# --- the worker side ---------------------------------------------------

_attached = {}  # name -> SharedMemory, for persistent segments (worker only)


if sys.version_info >= (3, 13):

    def _open(name):
        return shared_memory.SharedMemory(name=name, track=False)

else:
    _tracker_lock = threading.Lock()

    def _open(name):
        # SharedMemory registers every segment it opens with the resource
        # tracker, which would then warn about or unlink the creator's
        # segment. The creating process owns it: skip the registration.
        with _tracker_lock:
            register = resource_tracker.register
            resource_tracker.register = _skip_registration
            try:
                return shared_memory.SharedMemory(name=name)
            finally:
                resource_tracker.register = register

    def _skip_registration(name, rtype):
        pass


def unlink_attached():
    """In a worker whose owner died: unlink the owner's persistent segments.

    The process that created them is gone and nobody else may use them;
    unlinking them here does what the owner's resource tracker would do,
    even when that tracker is killed with its process group first (as asv
    does at the end of a run).
    """
    for shm in list(_attached.values()):
        try:
            shm.unlink()
        except Exception:  # already unlinked, or the tracker is gone
            pass


def forget_except(live):
    """Close the attachments of persistent segments not in ``live``."""
    live = frozenset(live)
    for name in [name for name in _attached if name not in live]:
        _attached.pop(name).close()


def attach(descriptor):
    """Return ``(vector, shm)`` for ``descriptor`` in a worker.

    Persistent segments stay attached (page tables stay warm across calls);
    the caller must close ``shm`` of a temporary one, after dropping
    ``vector``.
    """
    shm = _attached.get(descriptor.name) if descriptor.persistent else None
    if shm is None:
        shm = _open(descriptor.name)
        if descriptor.persistent:
            _attached[descriptor.name] = shm
    vector = np.ndarray(
        (descriptor.length,),
        dtype=descriptor.dtype,
        buffer=shm.buf,
        offset=descriptor.offset,
        strides=(descriptor.stride,),
    )
    return vector, shm


def live_names():
    """Names of the segments of :func:`shared_empty` arrays still alive (a tuple)."""
    return tuple(segment.name for segment in _live)
