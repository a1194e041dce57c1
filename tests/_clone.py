"""A temporary clone of this repository, set up for real asv commands.

The end-to-end modules run asv in a ``git clone --no-local`` of the
repository, so that the repository's own ``results/``, ``html/``, ``env/``
and ``~/.asv-machine.json`` are never touched. :class:`AsvClone` is that
clone: its environment for asv, its git with a test identity, extra commits,
and the choice of the asv environment to run in. The ``asv_clone`` fixture
of ``tests/conftest.py`` makes them (test_gate and test_history each make
their own).

test_asv, test_compare, test_report and test_site read one clone measured
once per session, :class:`MeasuredClone` (the ``measured_clone`` fixture):
the working tree's suite, two commits, the whole suite at both in the
``quick`` profile, one virtualenv environment, one machine name.

The helpers :func:`run` (a command whose failure fails the test with its
output) and :func:`missing` (skip locally, fail in CI) serve the test
modules too.
"""

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The environment variable that selects the suite's profile (benchmarks/common.py).
PROFILE_ENV = "PARALLELDOT_BENCH_PROFILE"
#: Seconds a command of the clone may take unless the call says otherwise.
DEFAULT_TIMEOUT = 1200
#: Seconds ``asv machine --yes`` may take.
MACHINE_TIMEOUT = 120
#: The asv machine name of the session's measured clone.
MEASURED_MACHINE = "testmachine"
#: The asv plugin that makes ``asv publish`` offline (asv.conf.json's ``plugins``).
OFFLINE_PLUGIN = ".asv_offline"
#: Seconds the measured clone's ``asv run`` may take (environment created, both commits).
MEASURED_TIMEOUT = 30 * 60


def missing(reason):
    """Skip the test for a missing tool; fail it when ``CI`` is set.

    In CI a missing tool is a broken setup, not a reason to skip.

    Parameters
    ----------
    reason : str
        What is missing, for the skip or failure message.
    """
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: a missing tool fails this test)")
    pytest.skip(reason)


def run(cmd, cwd=None, env=None, *, check=True, ok_codes=(0,), timeout=DEFAULT_TIMEOUT,
        merge_stderr=True):
    """Run a command and return its :class:`subprocess.CompletedProcess`.

    Parameters
    ----------
    cmd : sequence
        The command; its items are converted with ``str``.
    cwd, env : optional
        Working directory and environment of the command (default: this
        process's).
    check : bool
        Fail the test, with the end of the output, when the exit code is not
        in `ok_codes`.
    ok_codes : tuple of int
        Exit codes that count as success when `check` is true.
    timeout : float or None
        Seconds before :class:`subprocess.TimeoutExpired` is raised.
    merge_stderr : bool
        True: standard error goes to ``stdout`` too, interleaved as written
        (``stderr`` is None). False: the two are captured apart.
    """
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, timeout=timeout, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
    )
    if check and proc.returncode not in ok_codes:
        output = proc.stdout[-20000:]
        if not merge_stderr:
            output = f"--- stdout ---\n{output}\n--- stderr ---\n{proc.stderr[-5000:]}"
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{output}")
    return proc


def real_python_dirs():
    """Directories of real CPython interpreters, to put first on PATH for asv.

    asv finds the ``pythons`` of asv.conf.json as ``python3.X`` on PATH, and
    pyenv's shims crash its discovery: the real interpreters must come
    before them. This is the one place of the tests that knows it (the
    scripts have their own copy in bash).

    Returns
    -------
    list of str
        The directory of the interpreter running the tests, followed through
        its links (a venv's ``bin`` would give asv the venv's python); then,
        when pyenv is there, the ``bin`` of every CPython 3 release it has,
        newest first.
    """
    dirs = [os.path.dirname(os.path.realpath(sys.executable))]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True,
                              check=False).stdout.strip()
        versions = Path(root, "versions")
        if root and versions.is_dir():
            releases = [v for v in versions.iterdir() if re.fullmatch(r"3\.\d+\.\d+", v.name)]
            releases.sort(key=lambda v: tuple(int(x) for x in v.name.split(".")), reverse=True)
            dirs += [str(v / "bin") for v in releases]
    return dirs


def asv_environment(home, profile):
    """The environment of a clone's commands: this process's, adjusted for asv.

    Parameters
    ----------
    home : pathlib.Path
        The throwaway HOME (``asv machine --yes`` writes
        ``~/.asv-machine.json`` there).
    profile : str
        The suite's profile, for ``PARALLELDOT_BENCH_PROFILE``.

    Returns
    -------
    dict
        A copy of ``os.environ`` with

        - ``PATH``: :func:`real_python_dirs` first;
        - ``HOME``: `home`;
        - ``PIP_CACHE_DIR``: pip's cache of the real HOME (or the one already
          set), so that new environments do not download everything again;
        - ``PARALLELDOT_BENCH_PROFILE``: `profile`;
        - no ``PYENV_VERSION`` (it would choose the shims' python) and no
          ``PYTHONPATH`` (the benchmarks import what their environment has).
    """
    env = dict(os.environ)
    env.update({
        "PATH": os.pathsep.join(real_python_dirs() + [os.environ.get("PATH", "")]),
        "HOME": str(home),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR",
                                        str(Path.home() / ".cache" / "pip")),
        PROFILE_ENV: profile,
    })
    env.pop("PYENV_VERSION", None)
    env.pop("PYTHONPATH", None)
    return env


class AsvClone:
    """A ``git clone --no-local`` of the repository, ready for asv commands.

    Made by the ``asv_clone`` fixture (see :meth:`create`), which has
    already checked out the first branch of asv.conf.json and run ``asv
    machine --yes``.

    Attributes
    ----------
    name : str
        What the clone is for ("gate", "site", ...): names its directory and
        its git identity.
    workdir : pathlib.Path
        The temporary directory that holds the clone and its HOME; room for a
        module's other files (a hash file, a venv, a log).
    path : pathlib.Path
        The clone (``workdir / "repo"``): every command runs there.
    home : pathlib.Path
        The throwaway HOME of its commands (``~/.asv-machine.json`` goes there).
    env : dict
        The environment of its commands (see :func:`asv_environment`). A test
        may add variables to it before running a command.
    machine : str or None
        The asv machine name registered by ``asv machine``; None: asv's
        default (the host name).
    timeout : float or None
        Default seconds for :meth:`run`, :meth:`git` and :meth:`asv`.
    """

    def __init__(self, name, workdir, env, machine, timeout):
        self.name = name
        self.workdir = Path(workdir)
        self.path = self.workdir / "repo"
        self.home = self.workdir / "home"
        self.env = env
        self.machine = machine
        self.timeout = timeout

    @classmethod
    def create(cls, name, workdir, *, profile="quick", machine=None, copy_worktree=False,
               needs_virtualenv=True, timeout=DEFAULT_TIMEOUT):
        """Clone the committed repository into `workdir` and set it up for asv.

        Parameters
        ----------
        name : str
            What the clone is for; the git identity of its commits is
            ``"<name> test" <<name>-test@localhost>``.
        workdir : pathlib.Path
            An empty temporary directory.
        profile : str
            The suite's profile (``quick``, ``default``, ``full``), given to
            every command as ``PARALLELDOT_BENCH_PROFILE``.
        machine : str or None
            Register this asv machine name (``asv machine --yes --machine
            NAME``); None: asv's default, the host name.
        copy_worktree : bool
            Copy this working tree's ``asv.conf.json`` and ``benchmarks/``
            over the clone, uncommitted: asv then runs the suite being edited
            (on the package as committed, which asv builds from a commit).
        needs_virtualenv : bool
            The tests build virtualenv environments (False: they use an
            ``existing:`` one), so the ``virtualenv`` package is needed.
        timeout : float or None
            Default seconds for each command of the clone.

        Returns
        -------
        AsvClone

        Notes
        -----
        Without git, asv or (if needed) virtualenv the test is skipped, or
        fails when ``CI`` is set (:func:`missing`).
        """
        if shutil.which("git") is None:
            missing("git is not installed")
        for module in ("asv", "virtualenv") if needs_virtualenv else ("asv",):
            if importlib.util.find_spec(module) is None:
                missing(f"the {module} Python package is not installed")
        if not (REPO / "asv.conf.json").is_file() or not (REPO / "benchmarks").is_dir():
            pytest.fail("the repository has no asv.conf.json or benchmarks/")

        workdir = Path(workdir)
        home = workdir / "home"
        home.mkdir()
        clone = cls(name, workdir, asv_environment(home, profile), machine, timeout)
        run(["git", "clone", "-q", "--no-local", REPO, clone.path], workdir, clone.env,
            timeout=timeout)
        if copy_worktree:
            shutil.copy2(REPO / "asv.conf.json", clone.path / "asv.conf.json")
            shutil.rmtree(clone.path / "benchmarks")
            shutil.copytree(REPO / "benchmarks", clone.path / "benchmarks",
                            ignore=shutil.ignore_patterns("__pycache__"))
        clone.git("checkout", "-q", "-B", clone.branch())
        clone.asv("machine", "--yes", *(["--machine", machine] if machine else []),
                  timeout=MACHINE_TIMEOUT)
        return clone

    # ----------------------------------------------------------- commands

    def run(self, cmd, *, check=True, ok_codes=(0,), timeout=None, merge_stderr=True):
        """Run `cmd` in the clone with its environment (see :func:`run`).

        `timeout` None means the clone's default, :attr:`timeout`.
        """
        return run(cmd, self.path, self.env, check=check, ok_codes=ok_codes,
                   timeout=self.timeout if timeout is None else timeout,
                   merge_stderr=merge_stderr)

    def git(self, *args, **run_options):
        """Run ``git ARGS`` in the clone, as the clone's test identity."""
        identity = ["-c", f"user.name={self.name} test",
                    "-c", f"user.email={self.name}-test@localhost"]
        return self.run(["git", *identity, *args], **run_options)

    def asv(self, *args, **run_options):
        """Run ``python -m asv ARGS`` in the clone, with this interpreter's asv."""
        return self.run([sys.executable, "-m", "asv", *args], **run_options)

    # ----------------------------------------------------------- history

    def rev_parse(self, ref):
        """The full hash of `ref` (``HEAD``, ``HEAD~1``, a branch) in the clone."""
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}").stdout.strip()

    def commit_empty(self, message):
        """Commit nothing (``--allow-empty``): a new commit with HEAD's code. Return its hash."""
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.rev_parse("HEAD")

    def commit_file(self, relpath, text, message, *, append=False):
        """Write `text` to the clone's file `relpath` and commit that file alone.

        Parameters
        ----------
        relpath : str
            A path relative to the clone, of a tracked file or a new one.
        text : str
            The new content, or what to add at the end with `append`.
        message : str
            The commit message.
        append : bool
            Add `text` at the end of the file instead of replacing it.

        Returns
        -------
        str
            The hash of the new commit.
        """
        with open(self.path / relpath, "a" if append else "w") as f:
            f.write(text)
        self.git("add", "--", relpath)
        self.git("commit", "-q", "-m", message, "--", relpath)
        return self.rev_parse("HEAD")

    def write_hashfile(self, commits):
        """Write `commits` to ``workdir/hashes.txt`` for ``asv run HASHFILE:<path>``; return the path."""
        path = self.workdir / "hashes.txt"
        path.write_text("".join(f"{c}\n" for c in commits))
        return path

    # ----------------------------------------------------------- asv configuration

    def read_conf_json(self):
        """The clone's asv.conf.json as a dict, as asv reads it (``//`` comments allowed)."""
        from asv import util

        return util.load_json(str(self.path / "asv.conf.json"), js_comments=True)

    def branch(self):
        """The branch asv follows: the first of asv.conf.json's ``branches`` (``main``)."""
        return (self.read_conf_json().get("branches") or ["main"])[0]

    def config(self):
        """The clone's asv.conf.json as asv's :class:`asv.config.Config`."""
        from asv import config

        return config.Config.load(str(self.path / "asv.conf.json"))

    @contextlib.contextmanager
    def _discovery_path(self):
        """Let asv's interpreter discovery, in this process, see the clone's PATH."""
        old_path = os.environ.get("PATH", "")
        os.environ["PATH"] = self.env["PATH"]
        try:
            yield
        finally:
            os.environ["PATH"] = old_path

    def environments(self, python=None):
        """The virtualenv environments of the clone's matrix that this machine has a Python for.

        Parameters
        ----------
        python : str, optional
            Only those of this Python version (``"3.11"``).

        Returns
        -------
        list of asv.environment.Environment
            In the matrix's order; ``.name`` is what ``asv run -E`` takes,
            ``.python`` and ``.requirements`` what it installs.
        """
        from asv import environment

        with self._discovery_path():
            envs = list(environment.get_environments(self.config(), None, verbose=False))
        return [e for e in envs if e.tool_name == "virtualenv"
                and (python is None or e.python == python)]

    def default_environment(self):
        """The name of the environment to run in when any one will do.

        This Python's virtualenv environment with the newest numpy; of
        those, the one with the fewest requirements (the plain one of the
        matrix, not one that asv.conf.json's ``include`` gives extras such
        as dask). When the matrix has no environment for this Python, the
        same order over the others. Fails the test when the matrix has no
        virtualenv environment for this machine at all.
        """
        envs = self.environments()
        if not envs:
            pytest.fail(f"asv.conf.json gives no virtualenv environment for this machine "
                        f"(pythons={self.config().pythons}, PATH={self.env['PATH']})")
        here = f"{sys.version_info.major}.{sys.version_info.minor}"

        def preference(e):
            numpy = str(e.requirements.get("numpy") or "")
            return (e.python == here, tuple(int(x) for x in re.findall(r"\d+", numpy)),
                    -len(e.requirements))

        return max(envs, key=preference).name


# ----------------------------------------------------------- leftover processes


def processes_from(base):
    """Pids of the processes (other than this one) whose command line names `base`."""
    me, pids = os.getpid(), []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(base) in cmd:
            pids.append(int(d.name))
    return pids


def reap_leftovers(base, grace=15.0):
    """Kill the processes still running from ``base`` (a clone's own tree).

    Pool workers exit by themselves once the benchmark process that owns
    them is gone, and the resource tracker then unlinks that process's
    shared-memory segments: they get ``grace`` seconds to do so. What is
    still running after that should not pile up on the machine: it is
    killed and reported (a warning); the pids are returned.
    """
    deadline = time.monotonic() + grace
    while processes_from(base) and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = processes_from(base)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if pids:
        warnings.warn(f"{len(pids)} processes from {base} outlived asv and were killed")
    return pids


# ----------------------------------------------------------- the session's measured clone


class MeasuredClone:
    """One clone measured once for test_asv, test_compare, test_report and test_site.

    Made by the ``measured_clone`` fixture (see :meth:`create`).

    Attributes
    ----------
    clone : AsvClone
        The clone: the working tree's ``asv.conf.json`` and ``benchmarks/``
        copied over it (uncommitted), machine :data:`MEASURED_MACHINE`.
    path : pathlib.Path
        ``clone.path``.
    commits : list of str
        ``[c0, c1]``: the repository's HEAD and a docs-only commit on it
        (README.md), both measured.
    env_name : str
        The one virtualenv environment measured
        (:meth:`AsvClone.default_environment`).
    environment : asv.environment.Environment
        That environment (``.python``, ``.requirements``).
    run : subprocess.CompletedProcess
        ``asv run --quick --show-stderr`` of the whole suite over both
        commits, its standard output and error apart; not checked here:
        each module decides which exit codes it accepts (:meth:`require`).
    plugin_listed : bool
        Whether the working tree's asv.conf.json lists
        :data:`OFFLINE_PLUGIN` (when not, the clone's copy gets it, so that
        the site can still be tested; test_site reports the gap).
    seconds : float
        Wall time of the clone, the commit and the run.
    leftovers : list of int
        Processes of the clone's tree still alive after the run (killed).
    """

    def __init__(self, clone, commits, env_name, environment, run, plugin_listed,
                 seconds, leftovers):
        self.clone = clone
        self.path = clone.path
        self.commits = commits
        self.env_name = env_name
        self.environment = environment
        self.run = run
        self.plugin_listed = plugin_listed
        self.seconds = seconds
        self.leftovers = leftovers

    @classmethod
    def create(cls, workdir, *, timeout=MEASURED_TIMEOUT):
        """Clone, add the second commit, run the whole quick suite at both commits.

        Parameters
        ----------
        workdir : pathlib.Path
            An empty temporary directory.
        timeout : float
            Seconds for ``asv run`` (the environment is created in it).
        """
        t0 = time.monotonic()
        clone = AsvClone.create("measured", workdir, profile="quick", machine=MEASURED_MACHINE,
                                copy_worktree=True, timeout=timeout)
        # asv reads asv.conf.json from the working tree, whatever the commit.
        conf = clone.read_conf_json()
        plugin_listed = OFFLINE_PLUGIN in conf.get("plugins", [])
        if not plugin_listed:
            import json

            conf["plugins"] = list(conf.get("plugins", [])) + [OFFLINE_PLUGIN]
            (clone.path / "asv.conf.json").write_text(json.dumps(conf, indent=4))
        c0 = clone.rev_parse("HEAD")
        c1 = clone.commit_file(
            "README.md", "\nA docs-only commit, made by the measured_clone fixture of tests/conftest.py.\n",
            "test: docs only", append=True)
        hashfile = clone.write_hashfile([c0, c1])
        env_name = clone.default_environment()  # this Python, the newest numpy
        environment = next(e for e in clone.environments() if e.name == env_name)
        proc = clone.asv("run", "--quick", "--show-stderr", "--machine", MEASURED_MACHINE,
                         "-E", env_name, f"HASHFILE:{hashfile}", check=False, merge_stderr=False)
        seconds = time.monotonic() - t0
        leftovers = reap_leftovers(clone.workdir)
        return cls(clone, [c0, c1], env_name, environment, proc, plugin_listed, seconds, leftovers)

    @property
    def output(self):
        """The run's standard output followed by its standard error."""
        return self.run.stdout + self.run.stderr

    def require(self, ok_codes=(0,)):
        """Fail the test, with the run's output, unless it exited with one of `ok_codes`."""
        if self.run.returncode not in ok_codes:
            pytest.fail(f"asv run exited {self.run.returncode}:\n{self.run.stdout[-20000:]}\n"
                        f"--- stderr ---\n{self.run.stderr[-5000:]}")

    def results_file(self, commit):
        """The results file of `commit` in the measured environment (exactly one)."""
        files = [p for p in (self.path / "results" / MEASURED_MACHINE).glob("*.json")
                 if p.name == f"{commit[:8]}-{self.env_name}.json"]
        assert len(files) == 1, (f"expected one results file of {commit[:8]} for {self.env_name}, "
                                 f"got {files}\n{self.run.stdout[-5000:]}")
        return files[0]
