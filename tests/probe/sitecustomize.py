"""Test probe: records what every interpreter of a test's process tree creates.

``tests/test_callers.py`` puts this directory first on ``PYTHONPATH`` and
names a log file in ``PARALLELDOT_PROBE_LOG``; every Python process started
below it (the caller, pool workers, resource trackers, a notebook kernel)
then imports this module at startup and appends one line per fact:

- ``pid N``: an interpreter started;
- ``shm NAME``: it created the POSIX shared-memory segment ``NAME``;
- ``sem NAME``: it created the named semaphore ``NAME``.

Without the variable this module does nothing.
"""

import os

_LOG = os.environ.get("PARALLELDOT_PROBE_LOG")


def _record(kind, value):
    # One short write with O_APPEND: lines of concurrent processes do not mix.
    fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{kind} {value}\n".encode())
    finally:
        os.close(fd)


def _install():
    _record("pid", os.getpid())

    import _posixshmem

    shm_open = _posixshmem.shm_open

    def recording_shm_open(path, flags, mode=0o777):
        fd = shm_open(path, flags, mode)
        if flags & os.O_CREAT:
            _record("shm", path)
        return fd

    _posixshmem.shm_open = recording_shm_open

    import _multiprocessing

    class RecordingSemLock(_multiprocessing.SemLock):
        def __new__(cls, kind, value, maxvalue, name, unlink):
            self = super().__new__(cls, kind, value, maxvalue, name, unlink)
            if not unlink:
                _record("sem", name)
            return self

    _multiprocessing.SemLock = RecordingSemLock


if _LOG:
    _install()
