import gc
import os

import pytest

import paralleldot


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
