import pytest
from hypothesis import given, strategies as st

from paralleldot import split


@given(n=st.integers(0, 10_000), workers=st.integers(1, 64))
def test_slices_cover_range_balanced_and_non_empty(n, workers):
    slices = split(n, workers)
    assert len(slices) == min(n, workers)
    covered = [i for s in slices for i in range(n)[s]]
    assert covered == list(range(n))
    sizes = [s.stop - s.start for s in slices]
    assert all(size >= 1 for size in sizes)
    if sizes:
        assert max(sizes) - min(sizes) <= 1
    assert all(s.step is None for s in slices)


def test_known_cuts():
    assert split(10, 3) == [slice(0, 4), slice(4, 7), slice(7, 10)]
    assert split(2, 5) == [slice(0, 1), slice(1, 2)]
    assert split(0, 3) == []


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_below_one_is_value_error(workers):
    with pytest.raises(ValueError, match=f"workers must be an integer >= 1, got {workers}"):
        split(10, workers)


@pytest.mark.parametrize("workers", [2.5, True, "2", None])
def test_workers_not_an_integer_is_type_error(workers):
    with pytest.raises(TypeError, match="workers must be an integer >= 1, got"):
        split(10, workers)


def test_negative_n_is_value_error():
    with pytest.raises(ValueError, match="n must be an integer >= 0, got -1"):
        split(-1, 2)
