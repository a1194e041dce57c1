"""The git questions the tools ask, in one place.

Every function runs ``git`` in ``cwd`` (default: the repository this
package belongs to, :data:`ROOT`) and never prompts.
"""

import os
import subprocess

__all__ = ["ROOT", "describe", "git", "rev_parse", "subjects", "topo_order"]

#: The repository root: the parent of ``benchtools/``.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git(*args, cwd=None):
    """The standard output of ``git ARGS``; raises ``subprocess.CalledProcessError`` on failure."""
    return subprocess.run(["git", *args], cwd=cwd or ROOT, capture_output=True, text=True,
                          check=True).stdout


def rev_parse(ref, cwd=None):
    """The full hash of the commit ``ref`` names, or None when it names none."""
    try:
        return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=cwd).strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def subjects(hashes, cwd=None):
    """``{full hash: subject line}`` of ``hashes``."""
    if not hashes:
        return {}
    out = git("show", "-s", "--format=%H %s", *hashes, cwd=cwd)
    return dict(row.split(" ", 1) for row in out.splitlines() if " " in row)


def topo_order(cwd=None):
    """``{hash: position}`` in the topological order of every commit (empty without git).

    Breaks ties between commits of the same second: asv's commit dates have
    second resolution.
    """
    try:
        out = git("rev-list", "--all", "--topo-order", "--reverse", cwd=cwd or os.getcwd())
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {h: i for i, h in enumerate(out.split())}


def describe(paths=("paralleldot", "benchmarks", "benchtools"), cwd=None):
    """HEAD's hash, with a note when ``paths`` have uncommitted changes (provenance)."""
    try:
        head = git("rev-parse", "HEAD", cwd=cwd).strip()
        dirty = git("status", "--porcelain", "--", *paths, cwd=cwd).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (f" (with uncommitted changes to {', '.join(paths)})" if dirty else "")
