import gc
import os

import pytest

import paralleldot
from _clone import AsvClone


def pytest_configure(config):
    config.addinivalue_line("markers", "asv: runs real asv commands in virtualenv environments (slow)")
    config.addinivalue_line("markers", "browser: drives headless Chromium against a published site")
    config.addinivalue_line("markers", "dask: needs dask.distributed")


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

    Usable from fixtures of any scope (the end-to-end modules build their
    clone once per module).

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
