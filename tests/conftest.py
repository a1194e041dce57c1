import gc
import os

import pytest

import paralleldot
from _clone import AsvClone, MeasuredClone

#: The markers that put a test in the slow tier.
SLOW_TIER = ("asv", "browser", "slow")
#: The environment variable that selects every tier (value ``all``), as ``--all-tiers``.
TIERS_ENV = "PARALLELDOT_TEST_TIERS"
HOW_TO_RUN_ALL = "bash scripts/test.sh or pytest --all-tiers"


def pytest_addoption(parser):
    parser.addoption(
        "--all-tiers", action="store_true", default=False,
        help=f"run every tier: without it (or {TIERS_ENV}=all) the slow tier "
             f"(markers {', '.join(SLOW_TIER)}) is deselected, unless -m is given",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "asv: runs real asv commands in virtualenv environments (slow tier)")
    config.addinivalue_line("markers", "browser: drives headless Chromium against a published site (slow tier)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds: subprocess callers, "
                                       "Jupyter kernels, dask clusters (slow tier)")
    config.addinivalue_line("markers", "dask: needs dask.distributed")
    config._paralleldot_tier_deselected = None


def _tiers(config):
    """``"all"``: every tier; ``"marker"``: the user's ``-m`` decides; ``"fast"``: the fast tier."""
    if config.getoption("--all-tiers") or os.environ.get(TIERS_ENV, "").strip().lower() == "all":
        return "all"
    if config.getoption("markexpr", ""):
        return "marker"
    return "fast"


def pytest_report_header(config):
    tiers = _tiers(config)
    if tiers == "all":
        return "tiers: all (fast and slow)"
    if tiers == "marker":
        return "tiers: as selected by -m"
    return f"tiers: fast only; the slow tier ({', '.join(SLOW_TIER)}) runs with {HOW_TO_RUN_ALL}"


def pytest_collection_modifyitems(config, items):
    """Deselect the slow tier unless every tier or a ``-m`` expression was asked for."""
    if _tiers(config) != "fast":
        return
    keep, slow = [], []
    for item in items:
        (slow if any(item.get_closest_marker(m) for m in SLOW_TIER) else keep).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = keep
    config._paralleldot_tier_deselected = len(slow)


def pytest_terminal_summary(terminalreporter, config):
    count = config._paralleldot_tier_deselected
    if count:
        terminalreporter.write_line(
            f"fast tier only: {count} slow-tier tests deselected "
            f"({', '.join(SLOW_TIER)}); run every tier with {HOW_TO_RUN_ALL}")


def segment_exists(name):
    """Whether the POSIX shared-memory segment ``name`` exists (Linux)."""
    return os.path.exists(os.path.join("/dev/shm", name.lstrip("/")))


@pytest.fixture
def no_leaked_segments(monkeypatch):
    """Fail the test if a segment it created is still there at its end.

    Only the segments made by this process during the test are checked:
    other processes of the machine (asv runs, other tests) make their own.
    """
    from paralleldot import _shm

    created = []
    original = _shm._Segment.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self.name)

    monkeypatch.setattr(_shm._Segment, "__init__", recording_init)
    yield created
    gc.collect()
    leaked = [name for name in created if segment_exists(name)]
    assert not leaked, f"shared-memory segments left behind: {leaked}"


@pytest.fixture(scope="session", autouse=True)
def _shutdown_pools_at_end():
    yield
    paralleldot.shutdown()


@pytest.fixture(scope="session")
def asv_clone(tmp_path_factory):
    """Factory of temporary clones of the repository for real asv commands.

    Usable from fixtures of any scope: test_gate and test_history build
    their own clone once per module (they change its code or run the main
    command in it); the other end-to-end modules share
    :func:`measured_clone`.

    Examples
    --------
    A small history measured in one environment::

        clone = asv_clone("gate", profile="quick", machine="gate-test")
        c0 = clone.rev_parse("HEAD")
        c1 = clone.commit_empty("test: an empty commit")
        hashes = clone.write_hashfile([c0, c1])
        clone.asv("run", "--quick", "-E", clone.default_environment(), f"HASHFILE:{hashes}")

    A script of the clone, with its environment, in two environments::

        envs = clone.environments()
        clone.run(["bash", "scripts/bench.sh", "-E", envs[0].name, "-E", envs[-1].name],
                  timeout=1800)

    Parameters
    ----------
    name : str
        What the clone is for: the prefix of its temporary directory and its
        git identity (``"<name> test"``).
    **options
        ``profile``, ``machine``, ``copy_worktree``, ``needs_virtualenv``,
        ``timeout``: see :meth:`_clone.AsvClone.create`.

    Returns
    -------
    callable
        ``asv_clone(name, **options)`` returns a new :class:`_clone.AsvClone`
        each call: the committed repository cloned with ``git clone
        --no-local``, the first branch of asv.conf.json checked out, ``asv
        machine --yes`` run with a throwaway HOME.
    """
    def make(name, **options):
        return AsvClone.create(name, tmp_path_factory.mktemp(name), **options)

    return make


@pytest.fixture(scope="session")
def measured_clone(tmp_path_factory):
    """The session's one measured clone, shared by test_asv, test_compare, test_report and test_site.

    Made once, at the first test that asks for it: a clone with the working
    tree's ``asv.conf.json`` and ``benchmarks/`` copied over it, a docs-only
    second commit, and ``asv run --quick`` of the whole suite (``quick``
    profile) over both commits in one virtualenv environment, on machine
    ``testmachine``. Each module reads what it needs from it (test_site
    publishes it); none may change its results.

    Returns
    -------
    _clone.MeasuredClone
    """
    measured = MeasuredClone.create(tmp_path_factory.mktemp("measured"))
    print(f"measured clone: {measured.seconds:.0f} s to results")
    return measured
