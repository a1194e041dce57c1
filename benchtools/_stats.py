"""The statistics of a paired comparison: Wilcoxon signed-rank confidence interval.

The gate times two builds of the package in turn, many times, and reads
the log of each pair's time ratio. Those logs are not normal (a pair that
another job interrupted is an outlier), so the interval is the
distribution-free one that goes with the Wilcoxon signed-rank test: the
Hodges-Lehmann estimate (the median of the Walsh averages) and the order
statistics of the Walsh averages that the exact null distribution of the
signed-rank statistic gives (Hollander, Wolfe and Chicken, *Nonparametric
Statistical Methods*, 3rd ed., 3.2). It assumes the pairs' logs are
independent and symmetric about their centre, not normal.
"""

import math

__all__ = ["batches_to_decide", "signed_rank_critical", "signed_rank_interval", "walsh_averages"]


def walsh_averages(values):
    """The ``n (n + 1) / 2`` averages ``(x_i + x_j) / 2`` for ``i <= j``, sorted."""
    x = list(values)
    return sorted((x[i] + x[j]) / 2 for i in range(len(x)) for j in range(i, len(x)))


def signed_rank_critical(n, alpha):
    """The largest ``k`` with ``P(T <= k) <= alpha / 2`` for the signed-rank statistic ``T`` of ``n``.

    ``T`` is the sum of the ranks with a positive sign; under the null
    hypothesis each of the ``2**n`` sign patterns is equally likely, so its
    distribution is counted exactly (subsets of ``1..n`` by their sum).
    Returns -1 when even ``T = 0`` is too likely (``n`` too small for that
    ``alpha``): the interval is then unbounded.
    """
    if n < 1:
        return -1
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for rank in range(1, n + 1):
        for s in range(top, rank - 1, -1):
            counts[s] += counts[s - rank]
    total = 2.0 ** n
    cumulative, k = 0.0, -1
    for s, c in enumerate(counts):
        cumulative += c / total
        if cumulative > alpha / 2:
            break
        k = s
    return k


def signed_rank_interval(values, confidence=0.99):
    """``(low, estimate, high)``: the signed-rank interval and the Hodges-Lehmann estimate.

    Parameters
    ----------
    values : sequence of float
        Paired differences (here: logs of time ratios), at least one.
    confidence : float
        Two-sided confidence of the interval, in (0, 1).

    Returns
    -------
    tuple of float
        ``low`` and ``high`` are ``-inf`` and ``inf`` when there are too few
        values for that confidence.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    walsh = walsh_averages(values)
    if not walsh:
        raise ValueError("signed_rank_interval needs at least one value, got none")
    m = len(walsh)
    estimate = (walsh[(m - 1) // 2] + walsh[m // 2]) / 2
    k = signed_rank_critical(len(values), 1 - confidence)
    if k < 0:
        return -math.inf, estimate, math.inf
    return walsh[k], estimate, walsh[m - 1 - k]


def batches_to_decide(low, estimate, high, n, limit):
    """How many values in all would move the interval off ``limit``, at the same estimate and spread.

    The interval's width shrinks as ``1 / sqrt(n)``: with the estimate
    ``margin`` away from ``limit`` and the interval reaching ``side`` beyond
    the estimate towards ``limit`` after ``n`` values, about
    ``n * (side / margin) ** 2`` values put the whole interval on one side.
    (The side towards ``limit``, not half the width: the interval is not
    symmetric, and 1.001 [0.941, 1.130] after 80 values needs about 133
    values to fall under 1.1, not 80.) Returns ``math.inf`` when no number
    would: the interval is unbounded (too few values), or the estimate lies
    within an eighth of that side of ``limit`` (the difference is the
    limit itself).

    Parameters
    ----------
    low, estimate, high : float
        The interval and estimate of :func:`signed_rank_interval`.
    n : int
        The number of values they were computed from.
    limit : float
        The value the interval is to be told from (the gate: ``log(factor)``).
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return math.inf
    side = high - estimate if estimate < limit else estimate - low
    margin = abs(estimate - limit)
    if margin < side / 8:
        return math.inf
    return max(n, math.ceil(n * (side / margin) ** 2))
