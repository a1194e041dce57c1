"""benchtools: the command line around paralleldot's asv suite.

One entrance, run from the repository root (where ``asv.conf.json`` is)::

    python -m benchtools history commits|run|spread ...   the main command's asv run and noise floor
    python -m benchtools gate BASE HEAD ...               the regression gate (exit 0, 1, 2)
    python -m benchtools compare ...                      side-by-side ratios in one process
    python -m benchtools report from-asv|direct ...       the original example's table and plot
    python -m benchtools scaleout direct|from-asv|from-json ...   when K machines pay

Each command is one module with one job. They share:

- :mod:`benchtools._asv`: asv's configuration, results, machines and
  environments, and the environment asv's subprocesses need;
- :mod:`benchtools._git`: the git questions the tools ask;
- :mod:`benchtools._fmt`: sizes, missing values, tables and the provenance
  of a measurement.

The names the suite and the tools share (profiles, implementations, splits,
dtypes, BLAS variables) have one source, ``benchmarks/common.py``: the suite
runs inside asv's environments, where only ``benchmarks/`` and the package
are importable, so the tools import from it rather than the other way round.
"""

__all__ = ["COMMANDS"]

#: Sub-command -> module of :mod:`benchtools` that implements it.
COMMANDS = {
    "history": "history",
    "gate": "gate",
    "compare": "compare",
    "report": "report",
    "scaleout": "scaleout",
}
