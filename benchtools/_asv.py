"""asv's configuration, results, machines and environments, read the same way by every tool.

asv stores one JSON file per machine, commit and environment under its
``results_dir``, and the suite's metadata (parameters, versions) in
``benchmarks.json``. A parameter value is stored as its repr
(``"'float64'"``, ``"100000"``): :func:`param` turns it back into the value
and :func:`points` walks a benchmark's grid with its values.
"""

import contextlib
import datetime
import itertools
import json
import os
import re
import sys

from . import _git

__all__ = ["CONFIG", "choose_machine", "default_environment", "discovery_path",
           "environment_names", "load_benchmarks", "load_config", "machine_info", "machines",
           "ms_to_iso", "param", "points", "results_dir", "select_runs", "short_env",
           "subprocess_env"]

#: asv's configuration file, at the repository root.
CONFIG = "asv.conf.json"


def load_config(path=CONFIG):
    """asv's :class:`asv.config.Config` of ``path``."""
    from asv import config

    return config.Config.load(path)


def results_dir(path=CONFIG):
    """``results_dir`` of ``path`` (asv.conf.json here), or asv's default ``results``."""
    if os.path.exists(path):
        try:
            return load_config(path).results_dir
        except Exception:  # an unreadable configuration: asv's default
            pass
    return "results"


# --- the environment of asv's subprocesses ------------------------------------------


def real_python_bin():
    """The directory of the interpreter running this, links followed (not a venv's, not a shim)."""
    return os.path.dirname(os.path.realpath(sys.executable))


def subprocess_env(extra=None):
    """``os.environ`` for an asv subprocess: a real interpreter before pyenv's shims on PATH.

    asv finds the ``pythons`` of asv.conf.json as ``python3.X`` on PATH, and
    pyenv's shims crash its discovery. asv passes its environment on to
    every benchmark process, so ``extra`` (a profile, BLAS thread caps)
    reaches both commits of a comparison alike.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([real_python_bin(), env.get("PATH", "")])
    env.update(extra or {})
    return env


@contextlib.contextmanager
def discovery_path():
    """Let asv's interpreter discovery, in this process, see :func:`subprocess_env`'s PATH."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = subprocess_env()["PATH"]
    try:
        yield
    finally:
        os.environ["PATH"] = old


def environment_names(conf, specs=None):
    """Names of the environments ``specs`` (``-E`` values; None: all) select, as asv resolves them."""
    from asv import environment

    with discovery_path():
        return [e.name for e in environment.get_environments(conf, specs or None, verbose=False)]


def default_environment(conf):
    """One virtualenv environment: this Python if the matrix has it, then the newest numpy."""
    from asv import environment

    with discovery_path():
        envs = [e for e in environment.get_environments(conf, None, verbose=False)
                if e.tool_name == "virtualenv"]
    if not envs:
        return None
    here = f"{sys.version_info.major}.{sys.version_info.minor}"

    def numpy_version(env):
        v = str(env.requirements.get("numpy", "") or "")
        return tuple(int(x) for x in re.findall(r"\d+", v)) or (0,)

    return max(envs, key=lambda e: (e.python == here, numpy_version(e))).name


def short_env(name):
    """``virtualenv-py3.10-...-numpy1.26.4-...`` -> ``py3.10-numpy1.26.4``."""
    python = re.search(r"py[\d.]+", name)
    numpy = re.search(r"numpy[\d.]*", name)
    return "-".join(m.group(0) for m in (python, numpy) if m) or name


# --- results -------------------------------------------------------------------------


def load_benchmarks(results):
    """``benchmarks.json`` of a results directory (the suite's metadata), or None."""
    path = os.path.join(results, "benchmarks.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        data = json.load(f)
    data.pop("version", None)
    return data


def machines(results):
    """The machines with a ``machine.json`` in ``results``, sorted."""
    if not os.path.isdir(results):
        return []
    return sorted(d for d in os.listdir(results)
                  if os.path.exists(os.path.join(results, d, "machine.json")))


def machine_info(results, machine):
    """The ``machine.json`` asv recorded for ``machine`` (empty when missing)."""
    try:
        with open(os.path.join(results, machine, "machine.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def choose_machine(results, machine=None, commits=()):
    """The machine to read: ``machine`` if it has results, else the only one (with ``commits``).

    Raises ``SystemExit`` naming the machines there when the choice is
    missing or ambiguous.
    """
    found = machines(results)
    if commits:
        from asv.results import iter_results_for_machine_and_hash

        found = [m for m in found if all(
            next(iter_results_for_machine_and_hash(results, m, c), None) is not None
            for c in commits)]
    if machine is not None:
        if machine not in found:
            raise SystemExit(f"no results for machine {machine!r} in {results}"
                             + (" at both commits" if commits else "") + f"; there are {found}")
        return machine
    if len(found) != 1:
        raise SystemExit(f"{results} holds results of machines {found or 'none'}"
                         + (" at both commits" if commits else "")
                         + ": choose one with --machine")
    return found[0]


def param(value):
    """A parameter value as asv stores it, back to a value: ``'1000'`` -> 1000, ``"'f8'"`` -> ``'f8'``."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        return value.strip("'\"")


def points(result, key, names):
    """``[(point, value)]`` of benchmark ``key`` in one :class:`asv.results.Results`.

    ``point`` maps each of ``names`` (the benchmark's ``param_names``, from
    ``benchmarks.json`` or a known layout) to its value (:func:`param`).
    ``value`` is a float, NaN when skipped, None when failed. Empty when the
    result has no such benchmark.
    """
    if key not in result.get_all_result_keys():
        return []
    params = result.get_result_params(key)
    values = result.get_result_value(key, params)
    return [({n: param(v) for n, v in zip(names, combo)}, value)
            for combo, value in zip(itertools.product(*params), values)]


def ms_to_iso(ms):
    """asv's milliseconds since the epoch as ``YYYY-MM-DD HH:MM UTC``."""
    if not ms:
        return "unknown"
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")


def select_runs(results, machine=None, commit=None, env=None):
    """Choose the machine, commit and environment; return them and every run of the machine.

    Parameters
    ----------
    results : str
        asv's results directory.
    machine : str, optional
        May be left out when ``results`` holds one machine.
    commit : str, optional
        A hash prefix or a git name; default: the newest commit with results.
    env : str, optional
        An environment name or a unique part of one; may be left out when the
        commit has results in one environment only.

    Returns
    -------
    (machine, chosen, history)
        The machine's name, the :class:`asv.results.Results` chosen, and
        every Results of that machine and environment, oldest first.

    Raises
    ------
    SystemExit
        Naming the choices when one is ambiguous or missing.
    """
    import asv.results

    if not os.path.isdir(results):
        raise SystemExit(f"no asv results directory {results!r}: run `asv run` first")
    machine = choose_machine(results, machine)
    runs = list(asv.results.iter_results_for_machine(results, machine))
    if not runs:
        raise SystemExit(f"no result files for machine {machine!r} in {results}")
    order = _git.topo_order()

    if commit is None:
        commit_hash = max(runs, key=lambda r: (r.date or 0, order.get(r.commit_hash, -1))).commit_hash
    else:
        hashes = {r.commit_hash for r in runs}
        matches = {h for h in hashes if h.startswith(commit.lower())}
        if not matches:
            full = _git.rev_parse(commit, cwd=os.getcwd())
            matches = {h for h in hashes if full and h == full}
        if len(matches) != 1:
            shown = ", ".join(sorted(h[:8] for h in hashes))
            raise SystemExit(f"--commit {commit!r} matches {len(matches)} commits with results "
                             f"for {machine!r}; commits with results: {shown}")
        commit_hash = matches.pop()

    at_commit = [r for r in runs if r.commit_hash == commit_hash]
    envs = sorted(r.env_name for r in at_commit)
    if env is None:
        if len(envs) != 1:
            raise SystemExit(f"commit {commit_hash[:8]} has results for environments {envs}: "
                             "choose one with --env (a unique part of the name is enough)")
        env_name = envs[0]
    else:
        matches = [e for e in envs if e == env] or [e for e in envs if env in e]
        if len(matches) != 1:
            raise SystemExit(f"--env {env!r} matches {matches or 'no environment'} at commit "
                             f"{commit_hash[:8]}; environments there: {envs}")
        env_name = matches[0]
    chosen = next(r for r in at_commit if r.env_name == env_name)
    history = sorted((r for r in runs if r.env_name == env_name),
                     key=lambda r: (r.date or 0, order.get(r.commit_hash, -1), r.commit_hash))
    return machine, chosen, history
