"""The chunk kernels: exact for integers and booleans, which one runs, BLAS restored."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from threadpoolctl import ThreadpoolController

import paralleldot
from paralleldot import _kernels, parallel_dot
from paralleldot.backends import threads

EXACT = ["?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"]


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(EXACT),
    n=st.integers(0, 400),
    data=st.data(),
)
def test_einsum_kernel_equals_numpy_dot_exactly(dtype, n, data):
    """Full-range integers: products and sums wrap; the bits must still agree."""
    a = data.draw(hnp.arrays(np.dtype(dtype), n))
    b = data.draw(hnp.arrays(np.dtype(dtype), n))
    expected = np.dot(a, b)
    result = _kernels.einsum_dot(a, b)
    assert result.dtype == expected.dtype
    assert result == expected


@pytest.mark.parametrize("dtype", EXACT)
@pytest.mark.parametrize("workers", [2, 3, 5])
@pytest.mark.parametrize("backend", ["threads", "processes", "auto"])
def test_integers_that_wrap_are_exact_through_every_backend(dtype, workers, backend):
    info = np.iinfo(dtype) if dtype != "?" else None
    rng = np.random.default_rng(7)
    n = 40_003
    if info is None:
        a, b = rng.integers(0, 2, n).astype(bool), rng.integers(0, 2, n).astype(bool)
    else:
        a = rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)
        b = rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)
    expected = np.dot(a, b)
    result = parallel_dot(a, b, workers=workers, backend=backend)
    assert result.dtype == expected.dtype and result == expected


def test_booleans_are_any_of_and():
    a = np.zeros(100_000, bool)
    b = np.ones(100_000, bool)
    assert parallel_dot(a, b, workers=2, backend="threads") == np.False_
    a[77_777] = True
    result = parallel_dot(a, b, workers=2, backend="threads")
    assert result.dtype == np.bool_ and result == np.True_


@pytest.mark.parametrize(
    "left, right",
    [("i4", "f8"), ("i1", "u1"), ("u8", "i8"), ("?", "i2"), ("f4", "c8"), ("i8", "f2")],
)
def test_mixed_dtypes_promote_like_numpy(left, right):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 50, 30_000).astype(left)
    b = rng.integers(0, 50, 30_000).astype(right)
    expected = np.dot(a, b)
    result = parallel_dot(a, b, workers=3, backend="threads")
    assert result.dtype == expected.dtype
    if expected.dtype.kind in "biu":
        assert result == expected
    else:
        assert result == pytest.approx(expected, rel=1e-3 if expected.dtype.itemsize <= 4 else 1e-12)


def test_which_kernel_runs(monkeypatch):
    f8 = np.ones(1000)
    i4 = np.ones(1000, np.int32)
    assert _kernels.for_vectors(i4, i4) == (_kernels.einsum_dot, False)
    assert _kernels.for_vectors(f8, f8) == (np.dot, True)
    assert _kernels.for_vectors(f8.astype("f2"), f8.astype("f2")) == (np.dot, False)
    assert _kernels.for_vectors(i4, f8) == (np.dot, True)  # numpy.dot casts, then BLAS
    assert _kernels.for_vectors(i4, i4.astype("i8")) == (np.dot, False)
    monkeypatch.setattr(_kernels, "STREAMING_BYTES", 1000)  # past the cache: no BLAS
    assert _kernels.for_vectors(f8, f8) == (_kernels.einsum_dot, False)
    assert _kernels.serial_alternative(i4, i4) is _kernels.einsum_dot
    assert _kernels.serial_alternative(f8, f8) is None
    assert _kernels.serial_alternative(i4, f8) is None


def test_the_cache_size_is_read_or_defaulted():
    assert _kernels.STREAMING_BYTES >= 1 << 20
    assert _kernels._last_level_cache_bytes() == _kernels.STREAMING_BYTES


def _blas_threads():
    return [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]


@pytest.fixture
def two_blas_threads():
    controller = ThreadpoolController().select(user_api="blas")
    if not controller.lib_controllers:
        pytest.fail("numpy has no BLAS that threadpoolctl can control")
    with controller.limit(limits=2):
        yield


def test_the_split_limits_blas_per_chunk_and_restores_it(two_blas_threads, monkeypatch):
    seen = []

    def recording_dot(x, y):
        seen.append(_blas_threads())
        return np.dot(x, y)

    monkeypatch.setattr(_kernels, "for_vectors", lambda a, b: (recording_dot, True))
    a = np.ones(100_000)
    assert parallel_dot(a, a, workers=2, backend="threads") == 100_000.0
    assert seen == [[1], [1]]
    assert _blas_threads() == [2]  # a numpy.dot after the split runs as before


def test_streaming_and_integer_chunks_leave_blas_alone(two_blas_threads, monkeypatch):
    monkeypatch.setattr(_kernels, "STREAMING_BYTES", 1000)
    calls = []
    monkeypatch.setattr(
        paralleldot._blas, "single_threaded_blas", lambda: calls.append(1) or pytest.fail("limited")
    )
    for dtype in ("f8", "i4", "c16"):
        a = np.ones(50_000, dtype)
        assert parallel_dot(a, a, workers=2, backend="threads") == 50_000
    assert calls == [] and _blas_threads() == [2]


def test_a_failing_chunk_still_restores_blas(two_blas_threads):
    class Boom(RuntimeError):
        pass

    def failing(x, y):
        raise Boom("chunk failed")

    a = np.ones(20_000)
    with pytest.raises(Boom):
        threads.run_on(paralleldot._pools.thread_pool(2), a, a, paralleldot.split(20_000, 3),
                       kernel=(failing, True))
    assert _blas_threads() == [2]
