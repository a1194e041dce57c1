"""The chunk kernels: exact for integers and booleans, which one runs, BLAS restored."""

import os
import shutil

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
    """Without the compiled kernel (as built without a compiler)."""
    monkeypatch.setattr(_kernels, "_native", None)
    f8 = np.ones(1000)
    i4 = np.ones(1000, np.int32)
    assert _kernels.for_vectors(i4, i4) is _kernels.einsum_dot
    assert _kernels.for_vectors(i4.astype(bool), i4.astype(bool)) is _kernels.einsum_dot
    assert _kernels.for_vectors(f8, f8) is np.dot
    assert _kernels.for_vectors(f8.astype("f2"), f8.astype("f2")) is np.dot
    assert _kernels.for_vectors(i4, f8) is np.dot  # numpy.dot casts, then BLAS
    assert _kernels.for_vectors(i4, i4.astype("i8")) is np.dot
    assert _kernels.serial_alternative(i4, i4) is _kernels.einsum_dot
    assert _kernels.serial_alternative(f8, f8) is None
    assert _kernels.serial_alternative(i4, f8) is None


@pytest.mark.skipif(_kernels._native is None, reason="built without the C extension")
def test_which_kernel_runs_with_the_compiled_kernel():
    f8 = np.ones(1000)
    for dtype in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8", "c8", "c16"]:
        x = f8.astype(dtype)
        assert _kernels.for_vectors(x, x) is _kernels.native_serial_dot, dtype
        assert _kernels.serial_alternative(x, x) is _kernels.native_serial_dot, dtype
    i4 = np.ones(1000, np.int32)
    assert _kernels.for_vectors(i4.astype(bool), i4.astype(bool)) is _kernels.einsum_dot
    assert _kernels.for_vectors(i4[::2], i4[::2]) is _kernels.einsum_dot  # strided: numpy
    assert _kernels.for_vectors(f8[::2], f8[::2]) is np.dot
    assert _kernels.for_vectors(f8.astype("f2"), f8.astype("f2")) is np.dot
    assert _kernels.for_vectors(f8.astype("g"), f8.astype("g")) is np.dot
    assert _kernels.for_vectors(i4, f8) is np.dot
    assert _kernels.for_vectors(f8.astype(">f8"), f8.astype(">f8")) is np.dot


def _numpy_blas():
    """threadpoolctl's controllers of numpy's own BLAS.

    scipy, which other tests load, brings a BLAS of its own; a wheel of
    numpy keeps its library in ``numpy.libs`` (or ``numpy/.libs``). Where
    none is there (a system BLAS), every BLAS counts.
    """
    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    own = [lib for lib in libs if "numpy" in os.path.basename(os.path.dirname(lib.filepath))
           or os.sep + "numpy" + os.sep in lib.filepath]
    return own or libs


def _blas_threads():
    return [lib.num_threads for lib in _numpy_blas()]


@pytest.fixture
def two_blas_threads():
    controller = ThreadpoolController().select(filepath=[lib.filepath for lib in _numpy_blas()])
    if not controller.lib_controllers:
        pytest.fail("numpy has no BLAS that threadpoolctl can control")
    with controller.limit(limits=2):
        yield


@pytest.mark.parametrize("dtype", ["f8", "f4", "c16", "i4", "?"])
def test_the_split_leaves_the_callers_blas_as_it_was(two_blas_threads, monkeypatch, dtype):
    """Chunks run with the caller's BLAS threads, and a numpy.dot afterwards too."""
    seen = []
    kernel = _kernels.for_vectors

    def recording(a, b):
        real = kernel(a, b)

        def dot(x, y):
            seen.append(_blas_threads())
            return real(x, y)

        return dot

    monkeypatch.setattr(_kernels, "for_vectors", recording)
    a = np.ones(100_000, dtype)
    expected = np.dot(a, a)
    assert parallel_dot(a, a, workers=2, backend="threads") == expected
    assert seen == [[2], [2]]
    assert _blas_threads() == [2]


def test_a_failing_chunk_waits_for_the_others():
    class Boom(RuntimeError):
        pass

    finished = []

    def kernel(x, y):
        if x[0] == 0:
            raise Boom("chunk failed")
        import time

        time.sleep(0.05)
        finished.append(1)
        return np.dot(x, y)

    a = np.arange(30_000.0)
    with pytest.raises(Boom):
        threads.run_on(paralleldot._pools.thread_pool(2), a, a, paralleldot.split(30_000, 3),
                       inline_first=True, kernel=kernel)
    assert finished == [1, 1]


def test_the_compiled_kernel_is_built_wherever_a_c_compiler_is():
    """Without it every test of tests/test_native.py skips: a build that lost it must fail here.

    ``pip install .`` builds it wherever a C compiler is found (CI has one);
    ``PARALLELDOT_NO_NATIVE=1`` turns it off on purpose.
    """
    if os.environ.get("PARALLELDOT_NO_NATIVE", "").strip() not in ("", "0"):
        pytest.skip("PARALLELDOT_NO_NATIVE is set")
    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler: the package runs its numpy kernels")
    assert _kernels._native is not None, "paralleldot._native was not built; reinstall with pip"
