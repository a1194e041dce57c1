import os

import pytest

import paralleldot


def pytest_configure(config):
    config.addinivalue_line("markers", "asv: runs real asv commands in virtualenv environments (slow)")
    config.addinivalue_line("markers", "browser: drives headless Chromium against a published site")
    config.addinivalue_line("markers", "dask: needs dask.distributed")


def shm_segments():
    """Names of the POSIX shared-memory segments of this machine."""
    return {name for name in os.listdir("/dev/shm") if name.startswith("psm_")}


@pytest.fixture
def no_leaked_segments():
    """Fail the test if it leaves a shared-memory segment behind."""
    before = shm_segments()
    yield
    import gc

    gc.collect()
    leaked = shm_segments() - before
    assert not leaked, f"shared-memory segments left behind: {sorted(leaked)}"


@pytest.fixture(scope="session", autouse=True)
def _shutdown_pools_at_end():
    yield
    paralleldot.shutdown()
