"""backend="auto": per-class measured choice between numpy.dot, the inline kernel and threads."""

import itertools

import numpy as np
import pytest

from paralleldot import _auto, _kernels, parallel_dot
from paralleldot.backends import threads


@pytest.fixture(autouse=True)
def fresh_choices():
    _auto.forget()
    yield
    _auto.forget()


@pytest.fixture
def recorded(monkeypatch):
    """Record every measurement: (class key, candidate names); the real decide runs."""
    calls = []
    real = _auto.decide

    def recording(class_key, candidates, redraw=None):
        calls.append((class_key, sorted(candidates)))
        return real(class_key, candidates, redraw)

    monkeypatch.setattr(_auto, "decide", recording)
    return calls


class FakeClock:
    """``time.perf_counter`` that candidates advance by their own cost."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def candidate(self, cost, value=1.0):
        def run():
            self.now += cost
            return value

        return run


def test_small_vectors_go_straight_to_numpy_dot(recorded):
    a = np.ones(_auto.FLOOR_BYTES // 16 - 1)
    assert parallel_dot(a, a, workers=2) == np.dot(a, a)
    assert recorded == [] and _auto.choices() == {}


@pytest.fixture
def without_native(monkeypatch):
    """paralleldot as built without its C extension."""
    from paralleldot import _api

    monkeypatch.setattr(_kernels, "_native", None)
    monkeypatch.setattr(_api, "_FAST", None)


NATIVE = _kernels._native is not None


def test_one_worker_float_has_one_candidate_and_is_not_timed(recorded, monkeypatch, without_native):
    monkeypatch.setattr(_auto.time, "perf_counter", lambda: pytest.fail("timed"))
    a = np.ones(10**5)
    for _ in range(3):
        assert parallel_dot(a, a, workers=1) == np.dot(a, a)
    assert [names for _, names in recorded] == [["serial"]]
    assert list(_auto.choices().values()) == ["serial"]


def test_integers_compare_numpy_dot_with_the_inline_kernel(recorded, without_native):
    a = np.arange(20_000, dtype=np.int32)
    assert parallel_dot(a, a, workers=1) == np.dot(a, a)
    assert parallel_dot(a, a, workers=2) == np.dot(a, a)
    assert [names for _, names in recorded] == [
        ["inline", "serial"],
        ["inline", "serial", "threads"],
    ]


@pytest.mark.skipif(not NATIVE, reason="built without the C extension")
@pytest.mark.parametrize("dtype", ["f8", "f4", "c16", "i8", "i4"])
def test_with_the_compiled_kernel_every_dtype_it_takes_has_three_candidates(recorded, dtype):
    # the team replaces the split: on as many threads it was faster in every cell measured
    a = (np.arange(20_000) % 7).astype(dtype)  # sums exact in every dtype
    assert parallel_dot(a, a, workers=1) == np.dot(a, a)
    assert parallel_dot(a, a, workers=2) == np.dot(a, a)
    assert [names for _, names in recorded] == [
        ["inline", "serial"],
        ["inline", "native", "serial"],
    ]


@pytest.mark.skipif(not NATIVE, reason="built without the C extension")
@pytest.mark.parametrize("choice", ["serial", "inline", "native", "threads"])
def test_a_known_choice_is_followed_and_counted_down(choice, monkeypatch):
    """The C fast path follows _auto's record and counts its calls down, as lookup does."""
    split = []
    real = threads.partial_sums
    monkeypatch.setattr(threads, "partial_sums", lambda *args: split.append(1) or real(*args))
    a = np.arange(50_000, dtype=np.int64)
    b = a[::-1].copy()
    class_key = _auto.key(a, b, a.nbytes + b.nbytes, 2)
    _auto._states[class_key] = [choice, 3, _auto.FIRST_SPACING]
    for left in (2, 1, 0):
        assert parallel_dot(a, b, workers=2) == np.dot(a, b)
        assert _auto._states[class_key][:2] == [choice, left]
    assert len(split) == (3 if choice == "threads" else 0)
    assert parallel_dot(a, b, workers=2) == np.dot(a, b)  # measured again
    assert _auto._states[class_key][1] > 0


def test_each_class_is_measured_once_and_its_choice_used(recorded, monkeypatch):
    split_calls = []
    original = threads.partial_sums
    monkeypatch.setattr(
        threads, "partial_sums", lambda *args: split_calls.append(1) or original(*args)
    )
    redraws = []
    if _kernels._native is not None:
        stop = _kernels._native.stop
        monkeypatch.setattr(_kernels._native, "stop", lambda: redraws.append(1) or stop())
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(20_000), rng.standard_normal(20_000)
    for _ in range(5):
        assert parallel_dot(a, b, workers=3) == pytest.approx(np.dot(a, b), rel=1e-12)
    assert len(recorded) == 1
    (class_key, choice), = _auto.choices().items()
    assert class_key == _auto.key(a, b, a.nbytes + b.nbytes, 3)
    # Without the compiled team, measuring runs the split ROUNDS times;
    # afterwards only if it was chosen. With it the split is no candidate
    # (the team is: again after its redraw, if it measured slower than inline).
    if _kernels.has_native(a, b):
        assert len(split_calls) == 0 and choice != "threads"
    else:
        assert not redraws
        assert len(split_calls) == _auto.ROUNDS + (4 if choice == "threads" else 0)
    parallel_dot(a, b, workers=2)  # another worker count: measured again
    parallel_dot(a[:5000], b[:5000], workers=2)  # another size class: again
    assert len(recorded) == 3


def test_an_int64_call_does_not_decide_float64s_choice(recorded):
    """Same bytes, same workers, other dtype: another class, measured on its own."""
    ints = np.arange(50_000, dtype=np.int64)
    floats = np.linspace(0, 1, 50_000)
    assert ints.nbytes == floats.nbytes
    parallel_dot(ints, ints, workers=2)
    forced = _auto.key(ints, ints, 2 * ints.nbytes, 2)
    _auto._states[forced][0] = "threads"  # whatever int64 chose
    parallel_dot(floats, floats, workers=2)
    keys = [k for k, _ in recorded]
    assert keys == [forced, _auto.key(floats, floats, 2 * floats.nbytes, 2)]
    assert keys[0] != keys[1]
    # And mixed dtypes are a class of their own too.
    parallel_dot(ints, floats, workers=2)
    assert len(recorded) == 3


def test_the_fastest_candidate_wins(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    candidates = {
        "serial": clock.candidate(5.0),
        "inline": clock.candidate(2.0),
        "threads": clock.candidate(3.0),
    }
    assert _auto.decide("k", candidates) == 1.0
    assert _auto.choices() == {"k": "inline"}


def test_serial_keeps_a_tie_within_the_margin(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    faster = 1.0 / (1 + _auto.MARGIN / 2)
    _auto.decide("tie", {"serial": clock.candidate(1.0), "threads": clock.candidate(faster)})
    much_faster = 1.0 / (1 + 2 * _auto.MARGIN)
    _auto.decide("win", {"serial": clock.candidate(1.0), "threads": clock.candidate(much_faster)})
    assert _auto.choices() == {"tie": "serial", "win": "threads"}


def _costs(clock, *costs):
    """A candidate whose k-th run costs ``costs[k]`` (the last one from then on)."""
    runs = []

    def run():
        clock.now += costs[min(len(runs), len(costs) - 1)]
        runs.append(1)
        return 1.0

    return run


@pytest.mark.parametrize("native_rounds, choice", [
    ([0.8, 0.8, 0.8], "native"),   # faster by more than MARGIN in every round
    ([0.8, 1.1, 0.8], "serial"),   # as fast at its best, but one round lost: a tie's scatter
    ([0.8, 1.0, 0.8], "serial"),   # one round within the margin
    ([0.6, 5.0, 0.6], "native"),   # CLEAR times faster at its best: one disturbed round
                                   # does not hide a real win
])
def test_serial_gives_way_only_to_a_win_in_every_round_or_a_clear_one(monkeypatch, native_rounds,
                                                                       choice):
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    assert _auto.ROUNDS == len(native_rounds)
    _auto.decide("k", {"serial": clock.candidate(1.0), "native": _costs(clock, *native_rounds)})
    assert _auto.choices() == {"k": choice}


def test_best_time_of_the_rounds_decides(monkeypatch):
    """One slow sample (another job) does not make a candidate lose."""
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    costs = itertools.chain([50.0], itertools.repeat(1.0))  # threads' first run is disturbed

    def threads_run():
        clock.now += next(costs)
        return 0.0

    _auto.decide("k", {"serial": clock.candidate(2.0), "threads": threads_run})
    assert _auto.choices() == {"k": "threads"}


@pytest.mark.parametrize("costs, redraws, choice, suspect", [
    ([2.0, 0.7], 1, "native", False),  # a bad draw, then a good one
    ([2.0, 1.5], 1, "inline", True),   # still slow after its redraw (the other core taken):
                                       # drawn once, and the choice checked again soon
    ([0.7], 0, "native", False),       # faster than inline: its team is kept
])
def test_native_slower_than_inline_is_drawn_anew_and_measured_again(monkeypatch, costs, redraws,
                                                                     choice, suspect):
    """``native`` costs ``costs[k]`` after ``k`` redraws; inline costs 1, serial 5."""
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    draws = []

    def native():
        clock.now += costs[min(len(draws), len(costs) - 1)]
        return 1.0

    _auto.decide("k", {"serial": clock.candidate(5.0), "inline": clock.candidate(1.0),
                       "native": native}, lambda: draws.append(1))
    assert len(draws) == redraws and _auto.choices() == {"k": choice}
    # the class's first measurement: checked again soon either way
    spacing = _auto.SUSPECT_SPACING if suspect else _auto.COLD_SPACING
    assert _auto._states["k"][2] == spacing
    # the next check comes after that share of the calls that keep measuring at
    # OVERHEAD; each timed call follows an untimed one of its own
    spent = 2 * (5.0 + 1.0 + costs[0] + (5.0 + 1.0 + costs[-1] if redraws else 0)) * _auto.ROUNDS
    winner = costs[-1] if choice == "native" else 1.0
    steady = spent / (_auto.OVERHEAD * winner)  # calls between checks that cost OVERHEAD
    assert _auto._states["k"][1] == int(steady * spacing)
    if suspect:  # checked again at least 16 times sooner than a steady choice
        assert _auto._states["k"][1] <= steady / 16


def test_a_suspect_choice_that_holds_is_checked_less_and_less_often(monkeypatch):
    """Where the team keeps losing (a core taken for good), the soon checks double away."""
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    candidates = {"serial": clock.candidate(5.0), "inline": clock.candidate(1.0),
                  "native": clock.candidate(1.5)}
    spacings = []
    for _ in range(8):
        _auto.decide("k", candidates, lambda: None)
        spacings.append(_auto._states["k"][2])
    assert spacings == [_auto.SUSPECT_SPACING * 2 ** i for i in range(8)]


def test_each_candidate_is_timed_on_a_call_that_follows_its_own(monkeypatch):
    """A team that must be woken after another candidate ran is timed as it runs in a row.

    ``native`` costs 3 after another candidate's call (its workers asleep)
    and 0.5 after its own (they spin); ``serial`` costs 1 either way. Timed
    on the call after another's, ``native`` would lose every round.
    """
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    last = []

    def candidate(name, cold, warm):
        def run():
            clock.now += warm if last[-1:] == [name] else cold
            last.append(name)
            return 1.0

        return run

    _auto.decide("k", {"serial": candidate("serial", 1.0, 1.0),
                       "native": candidate("native", 3.0, 0.5)})
    assert _auto.choices() == {"k": "native"}


def test_after_a_redraw_every_candidate_is_measured_again_in_turns(monkeypatch):
    """The redrawn native is judged against times of the same moments, in as many draws.

    Before the redraw the machine is slow for everyone (serial 1.0, inline
    0.9, native 2.0: the team lost its core); after it, serial takes 0.6 and
    the redrawn native 0.7. Against serial's older 1.0, native would win.
    """
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    draws, runs = [], {"serial": 0, "inline": 0, "native": 0}
    costs = {"serial": (1.0, 0.6), "inline": (0.9, 0.9), "native": (2.0, 0.7)}

    def candidate(name):
        def run():
            runs[name] += 1
            clock.now += costs[name][min(len(draws), 1)]
            return 1.0

        return run

    _auto.decide("k", {name: candidate(name) for name in costs}, lambda: draws.append(1))
    assert draws == [1]
    assert runs == dict.fromkeys(costs, 2 * 2 * _auto.ROUNDS)  # an untimed call before each timed one
    assert _auto.choices() == {"k": "serial"}


@pytest.mark.skipif(_kernels._native is None, reason="the compiled kernel was not built")
def test_parallel_dot_hands_auto_the_teams_redraw(monkeypatch):
    seen = []
    real = _auto.decide

    def spy(class_key, candidates, redraw=None):
        seen.append(redraw)
        return real(class_key, candidates, redraw)

    monkeypatch.setattr(_auto, "decide", spy)
    a = np.arange(10**5, dtype=np.int32)
    assert parallel_dot(a, a, workers=2) == np.dot(a, a)
    assert seen == [_kernels._native.stop]


def test_a_choice_is_measured_again_and_the_interval_doubles_while_it_holds(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(_auto.time, "perf_counter", clock)
    cost = {"serial": 1.0, "threads": 2.0}
    candidates = {name: (lambda name=name: clock.candidate(cost[name])()) for name in cost}

    def calls_until_next_measurement():
        n = 0
        while _auto.lookup("k") is not None:
            n += 1
        return n

    _auto.decide("k", candidates)
    # Measuring costs 2 * ROUNDS * (1 + 2) = 18 units (an untimed call before
    # each timed one); at most OVERHEAD of the time, times COLD_SPACING for the
    # class's first measurement, then FIRST_SPACING: a new choice is checked soon.
    steady = 2 * _auto.ROUNDS * 3 / (_auto.OVERHEAD * 1.0)
    assert calls_until_next_measurement() == int(_auto.COLD_SPACING * steady)
    _auto.decide("k", candidates)  # the check of the cold measurement starts the spacing
    first = calls_until_next_measurement()
    assert first == pytest.approx(_auto.FIRST_SPACING * steady, rel=0.01)
    assert _auto.COLD_SPACING < _auto.FIRST_SPACING < 1 < _auto.MAX_SPACING
    _auto.decide("k", candidates)  # confirmed: twice as long
    assert calls_until_next_measurement() == pytest.approx(2 * first, rel=0.01)
    _auto.decide("k", candidates)
    assert calls_until_next_measurement() == pytest.approx(4 * first, rel=0.01)
    cost["serial"] = 4.0  # the machine changed: threads now wins, and the interval starts over
    _auto.decide("k", candidates)
    assert _auto.choices() == {"k": "threads"}
    expected = _auto.FIRST_SPACING * 2 * _auto.ROUNDS * 6 / (_auto.OVERHEAD * 2.0)
    assert calls_until_next_measurement() == pytest.approx(expected, rel=0.01)
    for _ in range(20):  # confirmed again and again: the spacing stops at MAX_SPACING
        _auto.decide("k", candidates)
    steady = _auto.MAX_SPACING * 2 * _auto.ROUNDS * 6 / (_auto.OVERHEAD * 2.0)
    assert calls_until_next_measurement() == pytest.approx(steady, rel=0.01)


def test_a_stale_choice_is_measured_again_through_parallel_dot(recorded):
    a = np.ones(20_000)
    parallel_dot(a, a, workers=2)
    (class_key,) = _auto.choices()
    _auto._states[class_key][1] = 2  # two calls left
    for _ in range(3):
        parallel_dot(a, a, workers=2)
    assert len(recorded) == 2


@pytest.mark.parametrize("dtype", ["f8", "f4", "i8", "i4", "c16", "?", "u1", "i2"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_choice_equals_numpy_dot(dtype, workers):
    rng = np.random.default_rng(1)
    n = 30_001
    if np.dtype(dtype).kind in "biu":
        a = rng.integers(0, 2 if dtype == "?" else 200, n).astype(dtype)
        b = rng.integers(0, 2 if dtype == "?" else 200, n).astype(dtype)
    else:
        a = rng.standard_normal(n).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
    expected = np.dot(a, b)
    for _ in range(3):
        result = parallel_dot(a, b, workers=workers)
        assert result.dtype == expected.dtype
        if expected.dtype.kind in "biu":
            assert result == expected
        else:
            tolerance = 4 * n * np.finfo(expected.dtype).eps * np.dot(np.abs(a), np.abs(b))
            assert abs(result - expected) <= tolerance
    assert set(_auto.choices().values()) <= {"serial", "inline", "native", "threads"}
    if _kernels.serial_alternative(a, b) is None and workers == 1:
        assert set(_auto.choices().values()) == {"serial"}
