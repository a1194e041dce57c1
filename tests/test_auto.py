"""backend="auto": measured choice between numpy.dot and the thread split."""

import numpy as np
import pytest

from paralleldot import _auto, parallel_dot
from paralleldot.backends import threads


@pytest.fixture(autouse=True)
def fresh_choices():
    _auto.forget()
    yield
    _auto.forget()


def test_small_vectors_go_straight_to_numpy_dot(monkeypatch):
    calls = []
    monkeypatch.setattr(_auto, "_measure", lambda *args: calls.append(args) or "threads")
    a = np.ones(_auto.FLOOR_BYTES // 16 - 1)
    assert parallel_dot(a, a, workers=2) == np.dot(a, a)
    assert calls == [] and _auto._choices == {}


def test_one_worker_is_numpy_dot(monkeypatch):
    monkeypatch.setattr(_auto, "_measure", lambda *args: pytest.fail("measured"))
    a = np.ones(10**6)
    assert parallel_dot(a, a, workers=1) == np.dot(a, a)


def test_each_size_class_is_measured_once_and_the_choice_is_used(monkeypatch):
    measured = []
    monkeypatch.setattr(_auto, "_measure", lambda a, b, slices: measured.append(len(slices)) or "threads")
    split_calls = []
    original = threads.partial_sums
    monkeypatch.setattr(threads, "partial_sums", lambda *args: split_calls.append(1) or original(*args))
    from paralleldot import _api

    monkeypatch.setitem(_api._RUNNERS, "threads", threads.partial_sums)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(20_000), rng.standard_normal(20_000)
    for _ in range(3):
        assert parallel_dot(a, b, workers=3) == pytest.approx(np.dot(a, b), rel=1e-12)
    assert measured == [3] and len(split_calls) == 3
    parallel_dot(a, b, workers=2)  # another worker count: measured again
    parallel_dot(a[:5000], b[:5000], workers=2)  # another size class: again
    assert measured == [3, 2, 2]


def test_measurement_picks_the_faster(monkeypatch):
    a = np.ones(50_000)
    slices = [slice(0, 25_000), slice(25_000, 50_000)]
    clock = iter(range(1000))

    # Fake timings: each np.dot takes 1 tick, each split 5 ticks.
    def fake_perf_counter():
        return next(clock)

    monkeypatch.setattr(_auto.time, "perf_counter", fake_perf_counter)
    monkeypatch.setattr(_auto.np, "dot", lambda *args: next(clock) and 0.0)
    monkeypatch.setattr(threads, "partial_sums", lambda *args: [next(clock) for _ in range(5)])
    assert _auto._measure(a, a, slices) == "serial"


def test_real_measurement_returns_a_backend_and_auto_equals_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(300_001), rng.standard_normal(300_001)
    result = parallel_dot(a, b, workers=2)
    assert set(_auto._choices.values()) <= {"serial", "threads"} and len(_auto._choices) == 1
    assert result == pytest.approx(np.dot(a, b), rel=1e-9)
