"""asv's command line, with every JSON file it writes written atomically.

    python -m benchtools._atomic run ...      # as ``python -m asv run ...``

asv 0.6 writes a result file (``results/<machine>/<hash>-<env>.json``),
``benchmarks.json`` and ``machine.json`` with ``asv.util.write_json``: an
``open(path, "w")`` and a ``json.dump`` into it. A process killed while that
runs (Ctrl-C, SIGKILL, a full disk) leaves a truncated file, and asv cannot
read it back: ``asv run --skip-existing`` then measures that commit and
environment again and stops when it loads the old file to add to it
("Error parsing JSON in file ..."). asv saves a (commit, environment)
result file once, after all its benchmarks ran, so a kill at any other
moment loses only the (commit, environment) in flight and leaves the other
files whole; this module closes the window of the write itself.

:func:`write_json` is asv's, writing to a temporary file in the same
directory (``.<name>.<pid>.partial``, a name asv never reads), flushed and
``fsync``-ed, then ``os.replace``-d over the target: a reader sees the old
file or the new one, never a part. ``python -m benchtools history run``
runs asv through this module. :func:`benchtools.history.check_results`
sets aside what an earlier, unprotected run may have left.
"""

import json
import os
import sys

#: The suffix of a temporary file being written (asv reads ``*.json`` only).
PARTIAL_SUFFIX = ".partial"


def write_json(path, data, api_version=None, compact=False):
    """``asv.util.write_json``, atomic: a temporary file, then ``os.replace``."""
    from asv import util

    path = os.path.abspath(path)
    dirname = util.long_path(os.path.dirname(path))
    os.makedirs(dirname, exist_ok=True)
    if api_version is not None:
        data = dict(data)
        data["version"] = api_version
    tmp = os.path.join(dirname, f".{os.path.basename(path)}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        with open(tmp, "w", encoding="utf-8") as fd:
            if compact:
                json.dump(data, fd)
            else:
                json.dump(data, fd, indent=4, sort_keys=True)
            fd.flush()
            os.fsync(fd.fileno())
        os.replace(tmp, util.long_path(path))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def install():
    """Make asv (in this process) write its JSON files with :func:`write_json`.

    Every asv module calls ``util.write_json`` through the module, so
    replacing the attribute reaches results, benchmarks.json, machine.json
    and the published site's JSON alike.
    """
    from asv import util

    util.write_json = write_json


def main(argv=None):
    """``asv ARGV`` with :func:`install` done first; return its exit status."""
    install()
    from asv.main import main as asv_main

    sys.argv = ["asv", *(sys.argv[1:] if argv is None else argv)]
    try:
        asv_main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
