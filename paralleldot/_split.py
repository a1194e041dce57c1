"""Balanced contiguous slices: how a vector of length ``n`` is cut into chunks."""

import operator

__all__ = ["split"]


def _check_count(value, name, minimum):
    """Return ``value`` as an int >= ``minimum`` or raise a clear error.

    Booleans are refused: ``True`` is an int to Python but never a count.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} "
            f"of type {type(value).__name__}"
        ) from None
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def split(n, workers):
    """Cut ``range(n)`` into contiguous, balanced slices, one per worker.

    Parameters
    ----------
    n : int
        Length of the vectors to cut, ``n >= 0``.
    workers : int
        Number of chunks wanted, ``workers >= 1``.

    Returns
    -------
    slices : list of slice
        ``min(n, workers)`` slices with step 1 that cover ``range(n)`` in
        order. Their lengths differ by at most one (the first ``n % workers``
        slices are one longer) and none is empty, so ``workers > n`` gives
        ``n`` slices and ``n == 0`` gives no slice.

    Raises
    ------
    TypeError
        If ``n`` or ``workers`` is not an integer (``bool`` included).
    ValueError
        If ``n < 0`` or ``workers < 1``.

    Examples
    --------
    >>> split(10, 3)
    [slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
    >>> split(2, 4)
    [slice(0, 1, None), slice(1, 2, None)]
    """
    n = _check_count(n, "n", 0)
    workers = _check_count(workers, "workers", 1)
    return _split(n, workers)


def _split(n, workers):
    """:func:`split` without the argument checks, for the hot path."""
    k = min(n, workers)
    if k == 0:
        return []
    size, extra = divmod(n, k)
    slices = []
    start = 0
    for i in range(k):
        stop = start + size + (i < extra)
        slices.append(slice(start, stop))
        start = stop
    return slices
