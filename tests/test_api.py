"""parallel_dot against numpy.dot: values, dtypes, bad input, executors."""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import paralleldot
from paralleldot import parallel_dot, parallel_numpy_dot

BACKENDS = [b for b in paralleldot.BACKENDS]
NUMERIC = ["?", "i1", "i2", "i4", "i8", "u1", "u8", "f2", "f4", "f8", "c8", "c16"]


def assert_same_as_numpy(result, a, b):
    """``result`` equals ``numpy.dot(a, b)`` in dtype and value.

    Integers and booleans must be exact. For floats the two results sum the
    same products in different orders; each has an error of at most
    ``gamma_n * sum(|a_i b_i|)`` with ``gamma_n = n u / (1 - n u)`` (Higham,
    Accuracy and Stability of Numerical Algorithms, 3.1), so they differ by
    at most twice that, ``u`` being the unit roundoff of the result dtype.
    """
    expected = np.dot(a, b)
    assert np.asarray(result).dtype == np.asarray(expected).dtype
    if expected.dtype.kind in "biu":
        assert result == expected
        return
    if not np.isfinite(expected):
        if expected.dtype.kind == "c":
            # A complex inf: which part is NaN and which inf depends on the
            # kernel's arithmetic (OpenBLAS gives nan+nanj for (inf+0j)(1+0j),
            # the compiled loop the textbook inf+nanj; docs/package.md): the
            # same parts are finite.
            for part in (np.real, np.imag):
                assert np.isfinite(part(result)) == np.isfinite(part(expected)), (result, expected)
        else:
            np.testing.assert_equal(result, expected)
        return
    n = max(len(a), 1)
    u = np.finfo(expected.dtype).eps / 2
    magnitude = np.dot(np.abs(a.astype(np.complex128)), np.abs(b.astype(np.complex128)))
    bound = 2 * (n * u / (1 - n * u)) * magnitude
    assert abs(complex(result) - complex(expected)) <= bound, (result, expected, bound)


def run_callers(callers, meanwhile=None):
    """Start ``callers``, run ``meanwhile()`` on this thread, join them; whether all finished."""
    for t in callers:
        t.start()
    if meanwhile is not None:
        meanwhile()
    for t in callers:
        t.join(timeout=120)
    return not any(t.is_alive() for t in callers)


@st.composite
def vector_pairs(draw, dtypes=st.sampled_from(NUMERIC), max_size=300):
    dtype = np.dtype(draw(dtypes))
    n = draw(st.integers(0, max_size))
    if dtype.kind == "f" or dtype.kind == "c":
        # Bounded so that no partial sum overflows: overflow depends on the
        # summation order, which splitting changes by design.
        limit = 1e3 if dtype.itemsize <= 4 else 1e100
        if dtype == np.float16 or dtype == np.complex64:
            limit = 10
        elements = st.floats(-limit, limit, allow_nan=False, width=min(64, dtype.itemsize * 8 // (2 if dtype.kind == "c" else 1)))
        if dtype.kind == "c":
            elements = st.builds(complex, elements, elements)
    else:
        elements = None
    a = draw(hnp.arrays(dtype, n, elements=elements))
    b = draw(hnp.arrays(dtype, n, elements=elements))
    return a, b


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(pair=vector_pairs(), workers=st.integers(1, 9))
def test_equals_numpy_dot(backend, pair, workers):
    a, b = pair
    assert_same_as_numpy(parallel_dot(a, b, workers=workers, backend=backend), a, b)


@settings(max_examples=30, deadline=None)
@given(pair=vector_pairs(dtypes=st.sampled_from(["i4", "f8", "c16"])), other=st.sampled_from(["?", "u1", "i8", "f4", "f8"]), workers=st.integers(1, 5))
def test_mixed_dtypes_promote_like_numpy(pair, other, workers):
    a, b = pair
    with np.errstate(invalid="ignore", over="ignore"):  # drawn values cast by numpy, not by us
        b = b.real.astype(other) if b.dtype.kind == "c" else b.astype(other)
    assert_same_as_numpy(parallel_dot(a, b, workers=workers, backend="threads"), a, b)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_strided_and_reversed_views(backend, workers):
    rng = np.random.default_rng(0)
    base = rng.standard_normal(1001)
    a, b = base[::3], base[::-3]
    assert_same_as_numpy(parallel_dot(a, b, workers=workers, backend=backend), a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_and_non_native_byte_order(backend):
    a = [1, 2, 3, 4, 5]
    b = np.arange(5, dtype=">f8")
    assert_same_as_numpy(parallel_dot(a, b, workers=2, backend=backend), np.asarray(a), b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_integers_wrap_exactly_like_numpy(backend):
    a = np.full(1000, 100, dtype=np.int8)
    assert parallel_dot(a, a, workers=3, backend=backend) == np.dot(a, a)
    big = np.full(10, 2**62, dtype=np.int64)
    assert parallel_dot(big, big, workers=4, backend=backend) == np.dot(big, big)


@pytest.mark.parametrize("backend", BACKENDS)
def test_complex_is_not_conjugated(backend):
    a = np.array([1j, 2, 3 - 1j, 4j])
    result = parallel_dot(a, a, workers=2, backend=backend)
    assert result == np.dot(a, a) and result != np.vdot(a, a)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "values",
    [[np.nan, 1.0, 2.0, 3.0], [np.inf, 1.0, 2.0, 3.0], [np.inf, 1.0, -np.inf, 3.0], [1.0, 2.0, 3.0, -np.inf]],
)
def test_nan_and_inf_as_numpy(backend, values):
    a = np.array(values)
    b = np.ones(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy.dot warns about none of these
        np.testing.assert_equal(parallel_dot(a, b, workers=2, backend=backend), np.dot(a, b))


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_across_chunks_is_silent_as_numpy(backend):
    # Each half sums to 1.5e308, finite; their sum overflows to inf.
    a = np.full(4, 0.75e308)
    b = np.ones(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parallel_dot(a, b, workers=2, backend=backend) == np.dot(a, b) == np.inf


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", NUMERIC)
def test_empty_vectors_give_numpys_zero(backend, dtype):
    a = np.empty(0, dtype=dtype)
    result = parallel_dot(a, a, workers=3, backend=backend)
    expected = np.dot(a, a)
    assert result == expected and np.asarray(result).dtype == np.asarray(expected).dtype


def test_default_workers_is_the_usable_cores():
    a = np.arange(10.0)
    assert parallel_dot(a, a, backend="threads") == np.dot(a, a)


def test_parallel_numpy_dot_is_the_example_for_any_worker_count():
    rng = np.random.default_rng(1)
    va, vb = rng.standard_normal(100), rng.standard_normal(100)
    for max_workers in [1, 2, 3, 4, 5, 8, 100, 1000]:
        assert_same_as_numpy(parallel_numpy_dot(va, vb, max_workers), va, vb)
    assert_same_as_numpy(parallel_numpy_dot(va, vb), va, vb)


# --- bad input -----------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.ones((2, 2)), np.ones(4), "a must be a 1-D vector, got an array with 2 dimension"),
        (np.ones(4), np.float64(2.0), "b must be a 1-D vector, got an array with 0 dimension"),
        (np.ones(3), np.ones(4), "a and b must have the same length, got 3 and 4"),
    ],
)
def test_shapes_are_value_errors(backend, a, b, match):
    with pytest.raises(ValueError, match=match):
        parallel_dot(a, b, workers=2, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "bad",
    [np.array([1, "x"], dtype=object), np.array(["a", "b"]), np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"), np.array([1, 2], dtype="timedelta64[s]")],
    ids=["object", "str", "datetime", "timedelta"],
)
def test_non_numeric_dtypes_are_type_errors(backend, bad):
    with pytest.raises(TypeError, match=r"must have a numeric dtype .*got dtype"):
        parallel_dot(bad, np.ones(2), workers=2, backend=backend)
    with pytest.raises(TypeError, match=r"b must have a numeric dtype"):
        parallel_dot(np.ones(2), bad, workers=2, backend=backend)


@pytest.mark.parametrize("workers, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError), ("2", TypeError)])
def test_bad_workers(workers, error):
    with pytest.raises(error, match=f"workers must be an integer >= 1, got {workers!r}" if error is TypeError else "workers must be an integer >= 1, got"):
        parallel_dot(np.ones(4), np.ones(4), workers=workers)
    with pytest.raises(error, match="max_workers must be an integer >= 1"):
        parallel_numpy_dot(np.ones(4), np.ones(4), max_workers=workers)


def test_unknown_backend_lists_the_backends():
    with pytest.raises(ValueError, match=r"backend must be one of 'auto', 'serial', 'threads', 'processes', 'dask'; got 'gpu'"):
        parallel_dot(np.ones(4), np.ones(4), backend="gpu")


def test_unconvertible_input_is_a_type_error():
    with pytest.raises(TypeError, match="a must have a numeric dtype"):
        parallel_dot({1: 2}, np.ones(1))


# --- executors, exceptions, concurrency ------------------------------------

def test_caller_owned_executor_is_used_and_not_shut_down():
    a = np.arange(1000.0)
    with ThreadPoolExecutor(3) as executor:
        used = []
        original = executor.submit

        def submit(*args, **kwargs):
            used.append(args[0])
            return original(*args, **kwargs)

        executor.submit = submit
        assert_same_as_numpy(parallel_dot(a, a, workers=3, executor=executor), a, a)
        assert len(used) == 3
        assert executor.submit(int, 4).result() == 4  # still running


def test_exception_in_a_thread_worker_reaches_the_caller_as_itself():
    class Boom(Exception):
        pass

    class FailingExecutor(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            def fail(*a, **k):
                raise Boom("raised in a worker")

            return super().submit(fail, *args, **kwargs)

    with FailingExecutor(2) as executor, pytest.raises(Boom, match="raised in a worker"):
        parallel_dot(np.ones(10), np.ones(10), workers=2, executor=executor)


@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_concurrent_callers_get_their_own_results(backend):
    rng = np.random.default_rng(2)
    pairs = [(rng.standard_normal(5000 + i), rng.standard_normal(5000 + i)) for i in range(8)]
    results = [None] * len(pairs)
    errors = []

    def call(i):
        try:
            a, b = pairs[i]
            for _ in range(5):
                results[i] = parallel_dot(a, b, workers=1 + i % 4, backend=backend)
                assert_same_as_numpy(results[i], a, b)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    finished = run_callers([threading.Thread(target=call, args=(i,)) for i in range(len(pairs))])
    assert not errors, errors
    assert finished and all(r is not None for r in results)
