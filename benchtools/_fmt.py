"""Formatting shared by the tools: sizes, missing values, tables, provenance.

asv stores a skipped measurement as NaN and a failed one as None: every
tool tells them apart with :func:`ok` and prints them with :func:`cell`.
"""

import math
import os
import platform

__all__ = ["bytes_size", "cell", "cpu_model", "blas_info", "markdown", "ok", "plain",
           "ram_bytes", "size"]


def ok(value):
    """Whether ``value`` is a measurement: not None (failed), not NaN (skipped)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def cell(value, fmt="{:.3g}"):
    """``value`` for a table: ``failed`` (None), ``n/a`` (NaN: skipped) or formatted."""
    if value is None:
        return "failed"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return fmt.format(value)


def size(n):
    """A vector length as the tables show it: ``100000`` -> ``1e5``, ``30000`` -> ``3e4``."""
    return f"{n:.0e}".replace("e+0", "e").replace("e+", "e")


def bytes_size(nbytes):
    """``1.6e9`` -> ``"1.6 GB"`` (decimal units)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.3g} B"


def markdown(header, rows, align=None):
    """A Markdown table; ``align`` is one ``"l"`` or ``"r"`` per column (default: first left)."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"
    lines = ["| " + " | ".join(map(str, header)) + " |", rule]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plain(header, rows, indent="  "):
    """A table for the terminal: left-aligned columns, two spaces apart, no trailing blanks."""
    lines = [list(map(str, header))] + [list(map(str, row)) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in lines)


# --- provenance -------------------------------------------------------------------


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ram_bytes():
    """This machine's RAM in bytes (``/proc/meminfo``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def blas_info():
    """The BLAS libraries numpy loaded, with versions and threads (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return ", ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
            for i in blas) or "none found"
    except Exception:  # provenance must never stop a report
        return "unknown"


def machine_line():
    """``host, N cpus (nproc K), CPU, OS``: the machine of a measurement made now."""
    return (f"{platform.node()}, {os.cpu_count()} cpus (nproc {len(os.sched_getaffinity(0))}), "
            f"{cpu_model()}, {platform.system()} {platform.release()} {platform.machine()}")
