"""Plain ``numpy.dot``: the reference every other backend is measured against."""

import numpy as np


def partial_sums(a, b, slices, workers):
    """Return ``[numpy.dot(a, b)]``: one chunk, whatever ``slices`` says."""
    return [np.dot(a, b)]
