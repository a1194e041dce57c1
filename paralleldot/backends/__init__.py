"""Backends: each turns two vectors and their slices into partial sums.

Every backend module has a function of the same shape::

    partial_sums(a, b, slices, workers) -> list of numpy scalars

where ``a`` and ``b`` are validated 1-D arrays of equal length, ``slices``
comes from :func:`paralleldot.split`, and the list holds one
``numpy.dot(a[s], b[s])`` per slice, in order.
"""
