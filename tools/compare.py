"""Side-by-side ratios for the package's performance goals, in one process.

Usage::

    python tools/compare.py [--sizes 1e5 1e6 1e7 1e8] [--workers 2]

For each N it times, interleaved (so that a change of the machine's load
lands on every column alike), on the same seeded float64 vectors:

- ``numpy.dot`` with its default BLAS threads;
- the example's split with a new thread pool per call (``per_call_pool``);
- ``parallel_numpy_dot`` and ``parallel_dot`` with backends auto, threads
  and processes (on ``shared_empty`` vectors);
- the bandwidth ceiling of the asv suite (``benchmarks.common.ParallelCopy``):
  a copy of ``a`` in ``workers`` chunks on threads, the same 16 N bytes moved
  with no arithmetic.

It prints the best time of each column and the ratios that the goals are
stated in. Absolute times move from run to run on shared machines; ratios
taken in one run hold.
"""

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import paralleldot  # noqa: E402
from benchmarks.common import (  # noqa: E402
    ParallelCopy,
    interleaved_times,
    per_call_pool_dot,
    vectors,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    k = args.workers
    print(
        f"# {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, workers={k}"
    )
    header = ["N", "numpy.dot", "per_call", "pnd", "auto", "threads", "processes", "ceiling"]
    print("| " + " | ".join(header) + " | pnd / per_call | dot / auto | dot / threads | threads / ceiling | processes / threads |")
    print("|" + "---|" * (len(header) + 5))
    for n in [int(s) for s in args.sizes]:
        a, b = vectors(n)
        sa, sb = paralleldot.shared_empty(n), paralleldot.shared_empty(n)
        sa[:], sb[:] = a, b
        ceiling = ParallelCopy(a, k)
        funcs = {
            "numpy.dot": lambda: np.dot(a, b),
            "per_call": lambda: per_call_pool_dot(a, b, k),
            "pnd": lambda: paralleldot.parallel_numpy_dot(a, b, k),
            "auto": lambda: paralleldot.parallel_dot(a, b, k),
            "threads": lambda: paralleldot.parallel_dot(a, b, k, backend="threads"),
            "processes": lambda: paralleldot.parallel_dot(sa, sb, k, backend="processes"),
            "ceiling": ceiling,
        }
        for f in funcs.values():  # start pools, calibrate auto
            f()
        samples = 5 if n >= 10**8 else 9
        times = dict(zip(funcs, (min(t) for t in interleaved_times(list(funcs.values()), samples=samples))))
        ceiling.close()
        del sa, sb
        cells = [f"{n:.0e}"] + [f"{times[name] * 1e6:.1f} us" for name in header[1:]]
        ratios = [
            times["per_call"] / times["pnd"],
            times["numpy.dot"] / times["auto"],
            times["numpy.dot"] / times["threads"],
            times["ceiling"] / times["threads"],
            times["processes"] / times["threads"],
        ]
        print("| " + " | ".join(cells + [f"{r:.2f}" for r in ratios]) + " |", flush=True)
    paralleldot.shutdown()


if __name__ == "__main__":
    main()
