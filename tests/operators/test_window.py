"""`SlidingWindow` without Rx: exact (now - span, now] boundaries, several spans, widening, compaction."""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from collections.abc import Iterator

import pytest

from monitoringapp.domain.events import ErrorKind, LastOutcomes, Probe, ProbeColumns, outcome_key
from monitoringapp.operators.window import NO_RESPONSE, AvailabilityWindow, SlidingWindow

SITE = "http://site.test/"


def probe(at: float, up: bool = True, rt: float | None = 1.0) -> Probe:
    return Probe(at, SITE, up, (200 if up else 500) if rt is not None else None, rt,
                 None if rt is not None else ErrorKind.TIMEOUT)


def filled(spans: tuple[float, ...], times: list[float], up: bool = True) -> SlidingWindow:
    window = SlidingWindow(spans)
    for at in times:
        window.add(probe(at, up))
    return window


def test_window_holds_probes_after_now_minus_span_up_to_now() -> None:
    window = filled((10.0,), [0.0, 5.0, 10.0])
    assert window.counts(10.0) == (2, 2)  # 0 is at now - span: out
    window.advance(14.999)
    assert window.counts(10.0) == (2, 2)
    window.advance(15.0)
    assert window.counts(10.0) == (1, 1)  # 5 leaves exactly at 5 + span
    window.advance(20.0)
    assert window.counts(10.0) == (0, 0)


def test_each_span_counts_its_own_checks_and_available_ones() -> None:
    window = SlidingWindow((10.0, 5.0))
    for second in range(1, 11):
        window.add(probe(float(second), up=second % 3 != 0))  # 3, 6, 9 down
    assert window.spans == (5.0, 10.0)
    assert window.counts(5.0) == (5, 3)   # 6..10, 6 and 9 down
    assert window.counts(10.0) == (10, 7)  # 1..10
    window.advance(13.0)
    assert window.counts(5.0) == (2, 1)   # (8, 13] = 9 (down), 10
    assert window.counts(10.0) == (7, 5)  # (3, 13] = 4..10, 6 and 9 down


def test_advancing_does_not_recount_already_evicted_probes() -> None:
    window = filled((4.0,), [1.0, 2.0, 3.0])
    window.advance(6.0)
    window.advance(6.0)
    window.advance(5.5)  # an earlier time never brings probes back
    assert window.counts(4.0) == (1, 1)


def test_widening_a_span_counts_what_is_kept_then_fills_up_as_probes_come() -> None:
    window = filled((5.0,), [float(s) for s in range(1, 201)])
    kept_before = len(window)
    assert window.counts(5.0) == (5, 5) and kept_before < 100  # compacted: older probes are gone
    window.set_spans((5.0, 100.0))
    assert window.counts(100.0) == (kept_before, kept_before)
    assert window.counts(5.0) == (5, 5)
    for second in range(201, 301):
        window.add(probe(float(second), up=second > 290))
    assert window.counts(100.0) == (100, 10)
    assert window.counts(5.0) == (5, 5)


def test_narrowing_spans_drops_the_long_one() -> None:
    window = filled((5.0, 50.0), [float(s) for s in range(1, 41)])
    window.set_spans((5.0,))
    assert window.spans == (5.0,)
    assert window.counts(5.0) == (5, 5)
    with pytest.raises(ValueError):
        window.counts(50.0)


@pytest.mark.parametrize("spans", [(), (0.0,), (-1.0, 5.0)])
def test_spans_must_be_positive(spans: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        SlidingWindow(spans)


def test_compaction_keeps_every_answer_right_over_10k_probes() -> None:
    rng = random.Random(2)
    spans = (7.0, 30.0, 120.0)
    window = SlidingWindow(spans)
    history: list[Probe] = []
    at = 0.0
    for _ in range(10_000):
        at += rng.choice((0.5, 1.0, 1.5))
        answered = rng.random() < 0.9
        p = probe(at, up=rng.random() < 0.7, rt=float(rng.randint(1, 500)) if answered else None)
        history.append(p)
        window.add(p)
        for span in spans:
            inside = [h for h in history[-400:] if at - span < h.timestamp <= at]
            assert window.counts(span) == (len(inside), sum(h.available for h in inside))
        rts, statuses, errors = window.columns(120.0)
        inside = [h for h in history[-400:] if at - 120.0 < h.timestamp <= at]
        assert list(rts) == [h.response_time_ms if h.response_time_ms is not None else NO_RESPONSE for h in inside]
        assert list(statuses) == [h.status or 0 for h in inside]
        assert [e != 0 for e in errors] == [h.error is not None for h in inside]
        # Memory stays bounded: the longest span's probes plus under an eighth of slack (or 64).
        assert len(window) <= max(len(inside) * 8 // 7 + 1, len(inside) + 64)


def test_a_timestamp_that_goes_backwards_is_taken_as_the_latest_seen() -> None:
    window = filled((10.0,), [10.0])
    window.add(probe(8.0, up=False))
    assert window.latest == 10.0
    assert list(window.timestamps) == [10.0, 10.0]
    assert window.last_failure == 10.0 and window.failing_since == 10.0
    window.advance(19.9)
    assert window.counts(10.0) == (2, 1)
    window.advance(20.0)
    assert window.counts(10.0) == (0, 0)


def test_a_timestamp_a_whole_span_before_the_latest_is_the_wall_clock_stepped_back_and_the_probes_held_move_with_it(
) -> None:
    # 1-s checks, the 10th from last a failure, then the clock stepped back an hour. Taken as the latest, the 20
    # probes after the step stayed in the 10 s span with the 10 before it, and `last fail` grew for an hour.
    window = SlidingWindow((10.0, 60.0), follows_clock_steps=True)
    for n in range(30):
        window.add(probe(100_000.0 + n, up=n != 25))
    for n in range(20):
        window.add(probe(96_430.0 + n))
    window.advance(96_449.5)
    assert window.latest == 96_449.0
    assert window.counts(10.0) == (10, 10)
    assert window.counts(60.0) == (50, 49)  # all 30 from before the step still within the minute
    assert window.last_failure == 100_025.0 - 3599  # 23 s before the latest, as it was (the step's tick is one)
    assert window.failing_since is None


def test_a_window_fed_by_several_locations_takes_a_backlog_from_far_back_as_the_latest_not_as_a_clock_step() -> None:
    # A location's spooled probes, 5 minutes old, arriving between fresh ones of another: taken as a step of the wall
    # clock, every probe held would move back and forth by minutes with each of them.
    window = SlidingWindow((10.0, 60.0))
    for n in range(30):
        window.add(probe(100_000.0 + n))
    for n in range(5):
        window.add(probe(99_700.0 + n, up=False))  # the backlog
        window.add(probe(100_030.0 + n))
    window.advance(100_034.5)
    assert window.latest == 100_034.0
    assert window.counts(10.0) == (15, 10)  # the backlog counted as it came, with the newest probes
    assert window.counts(60.0) == (40, 35)
    assert window.last_failure == 100_033.0  # the last of the backlog, taken as the latest then


def test_failing_run_and_last_failure_follow_the_probes_not_the_window() -> None:
    window = SlidingWindow((2.0,))
    window.add(probe(1.0))
    assert (window.failing_since, window.last_failure) == (None, None)
    window.add(probe(2.0, up=False))
    window.add(probe(3.0, up=False, rt=None))
    assert (window.failing_since, window.last_failure) == (2.0, 3.0)
    window.add(probe(10.0))
    assert (window.failing_since, window.last_failure) == (None, 3.0)


def test_a_reload_after_reports_ran_ahead_of_the_probes_evicts_every_span_to_the_same_time() -> None:
    # A site goes quiet after t=85; reports carry on to t=199; a reload then replaces the 120 s span
    # by a new 5 s one. The new span must be evicted to 199 like the others, not to the last probe
    # (85), or compaction drops what it still points at (this used to raise ValueError). 66 probes:
    # few enough that nothing was compacted before the reload.
    window = filled((10.0, 30.0, 120.0), [float(t) for t in range(20, 86)])
    window.advance(199.0)
    assert window.counts(120.0) == (6, 6)    # (79, 199]: 80..85
    window.set_spans((5.0, 10.0, 30.0))
    window.advance(200.0)
    assert [window.counts(span) for span in (5.0, 10.0, 30.0)] == [(0, 0)] * 3
    window.add(probe(201.0))
    assert [window.counts(span) for span in (5.0, 10.0, 30.0)] == [(1, 1)] * 3


@pytest.mark.parametrize("seed", range(6))
def test_random_adds_reports_and_span_changes_stay_within_brute_force_bounds(seed: int) -> None:
    """Reports (advances) run ahead of probes still arriving, and spans change as reloads would.
    A span holds at most the probes of its window, and at least those that came since it was added."""
    chooser = random.Random(seed)
    spans: tuple[float, ...] = (10.0, 30.0)
    window = SlidingWindow(spans, lazy=seed % 2 == 1)
    history: list[tuple[float, bool]] = []
    added_at = dict.fromkeys(spans, 0)
    clock = horizon = 0.0
    for _ in range(3000):
        roll = chooser.random()
        if roll < 0.7:
            clock += chooser.choice([0.5, 1.0, 2.0])
            up = chooser.random() < 0.7
            window.add(probe(clock, up))
            history.append((clock, up))
            horizon = max(horizon, clock)
        elif roll < 0.9:
            horizon = max(horizon, clock) + chooser.choice([0.0, 1.0, 5.0, 50.0])  # a report's time
            window.advance(horizon)
        else:
            spans = tuple(sorted(chooser.sample([5.0, 10.0, 30.0, 60.0, 120.0], chooser.randint(1, 3))))
            added_at = {span: added_at.get(span, len(history)) for span in spans}
            window.set_spans(spans)
        window.advance(horizon)
        for span in spans:
            inside = [up for at, up in history if at > horizon - span]
            since_added = [up for at, up in history[added_at[span]:] if at > horizon - span]
            checks, available = window.counts(span)
            assert len(since_added) <= checks <= len(inside)
            assert sum(since_added) <= available <= sum(inside)


@pytest.mark.parametrize(("seed", "statuses"), [(0, (200, 500)), (1, (200,)), (2, tuple(range(100, 1000)))])
def test_ordered_times_and_tallies_equal_a_sort_and_a_count_of_the_span(seed: int, statuses: tuple[int, ...]) -> None:
    """What reports read, kept up to date as probes come and go, against the span sorted and counted afresh:
    spans read at different rates, a span added later, compaction, and (900 statuses) more distinct
    outcomes than one byte codes."""
    chooser = random.Random(seed)
    spans = (10.0, 60.0, 300.0)
    window = SlidingWindow(spans, lazy=seed % 2 == 0)
    history: list[Probe] = []
    at = 0.0
    for step in range(4000):
        at += chooser.choice((0.5, 1.0, 1.0, 2.0))
        error = None if chooser.random() < 0.9 else chooser.choice(list(ErrorKind))
        status = None if error is not None else chooser.choice(statuses)
        rt = None if error is not None else float(array("f", [chooser.uniform(0.05, 900.0)])[0])
        p = Probe(at, SITE, status is not None and status < 400 and chooser.random() < 0.95, status, rt, error)
        history.append(p)
        window.add(p)
        if step == 1500:
            spans = (*spans, 120.0)
            window.set_spans(spans)
        for span in spans:
            if chooser.random() < (0.3 if span < 100 else 0.05):
                window.advance(at)
                inside = [h for h in history[-700:] if at - span < h.timestamp <= at]
                received = sorted(h.response_time_ms for h in inside if h.response_time_ms is not None)
                ordered = window.ordered(span)
                assert list(ordered.values) == received
                assert (ordered.mean() if received else None) == (math.fsum(received) / len(received)
                                                                   if received else None)
                status_counts = Counter(h.status for h in inside if h.status)
                error_counts = Counter(list(ErrorKind).index(h.error) + 1 for h in inside if h.error)
                assert window.tallies(span) == (len(inside), sum(h.available for h in inside),
                                                tuple(sorted(status_counts.items())),
                                                tuple(sorted(error_counts.items())))
    assert isinstance(window.outcomes, bytearray) == (len(statuses) < 256)  # one-byte codes while they fit


def test_a_spans_mean_stays_exact_with_zero_tiny_huge_and_missing_response_times() -> None:
    """The exact sum behind a span's mean takes C-speed `sum` only when the times span few enough binary orders
    for it to be exact. 0 ms, 1e-30 ms, 2**100 ms, 1e6 ms beside 3.3e-5 ms (a double's sum of those four is not
    exact) and probes with no response, coming and going, keep the mean what `math.fsum` of the span's times
    gives, and the times in order."""
    cycle = [0.0, 1e-30, 3.0, None, 1e20, 0.0, 7.1, 2.0 ** 100, 1e6, 1.3e-4, 0.3, 3.3e-5, 0.25, None]
    window = SlidingWindow((4.0, 9.0))
    history: list[tuple[float, float | None]] = []
    for second in range(1, 3 * len(cycle) + 1):
        rt = cycle[(second - 1) % len(cycle)]
        rt = None if rt is None else float(array("f", [rt])[0])
        history.append((float(second), rt))
        window.add(Probe(float(second), SITE, rt is not None, 200 if rt is not None else None, rt,
                         None if rt is not None else ErrorKind.TIMEOUT))
        for span in (4.0, 9.0) if second % 4 == 0 else ():  # read every 4 probes: 4 come at once
            received = sorted(t for at, t in history if second - span < at and t is not None)
            ordered = window.ordered(span)
            assert list(ordered.values) == received
            assert ordered.mean() == math.fsum(received) / len(received)


def columns_of(probes: list[Probe]) -> ProbeColumns:
    return ProbeColumns(SITE, [p.timestamp for p in probes],
                        [NO_RESPONSE if p.response_time_ms is None else p.response_time_ms for p in probes],
                        [outcome_key(p.status, p.error, p.available) for p in probes])


def interleaved(window: SlidingWindow, chunks: list[list[Probe]], live: list[Probe],
                chooser: random.Random) -> Iterator[tuple[list[Probe], int]]:
    """Give `window` the live probes in order and the past's `chunks` (newest first) among them at random, as a
    restart does; after each, (the past given so far, oldest first; how many live probes were given)."""
    given: list[Probe] = []
    fed = 0
    while fed < len(live) or chunks:
        if chunks and (fed == len(live) or chooser.random() < 0.3):
            chunk = chunks.pop(0)
            window.add_earlier(columns_of(chunk))
            given[:0] = chunk
        else:
            window.add(live[fed])
            fed += 1
        yield given, fed


def answers(window: SlidingWindow, spans: tuple[float, ...], now: float) -> list[object]:
    window.advance(now)
    return [(window.tallies(span), list(window.ordered(span).values), window.failing_since, window.last_failure)
            for span in spans]


@pytest.mark.parametrize("seed", range(8))
def test_earlier_probes_given_newest_first_answer_as_if_they_had_come_first(seed: int) -> None:
    """A restart's window: its live probes come while its past arrives newest first, in chunks. At every read
    it answers as a window that was given, in time order, the past received so far and then the live probes."""
    chooser = random.Random(seed)
    spans = (10.0, 60.0, 200.0)
    at, probes = 0.0, []
    for _ in range(chooser.choice((30, 400))):
        at += chooser.choice((0.5, 1.0, 2.0))
        run_down = chooser.random() < (0.9 if probes and not probes[-1].available else 0.2)
        probes.append(Probe(at, SITE, not run_down, 503 if run_down else 200, chooser.uniform(0.1, 50.0))
                      if chooser.random() < 0.9 else Probe(at, SITE, False, None, None, ErrorKind.TIMEOUT))
    cut = chooser.randrange(len(probes))
    past, live = probes[:cut], probes[cut:]
    chunks: list[list[Probe]] = []
    while past:
        size = chooser.randint(1, 40)
        chunks.append(past[-size:])
        past = past[:-size]
    window = SlidingWindow(spans, lazy=seed % 2 == 0)
    clock = 0.0
    steps = len(live) + len(chunks)
    for step, (given, fed) in enumerate(interleaved(window, chunks, live, chooser)):
        if chooser.random() < 0.3 or step == steps - 1:
            latest = (live[fed - 1] if fed else given[-1] if given else probes[0]).timestamp
            clock = max(clock, latest + chooser.choice((0.0, 3.0)))  # a report's time never goes back
            reference = SlidingWindow(spans)
            for probe in [*given, *live[:fed]]:
                reference.add(probe)
            assert answers(window, spans, clock) == answers(reference, spans, clock)


def last_outcomes(probes: list[Probe]) -> LastOutcomes:
    """The definition, by brute force: last success, last failure, first failure after that success."""
    successes = [p.timestamp for p in probes if p.available]
    failures = [p.timestamp for p in probes if not p.available]
    success = max(successes, default=None)
    failing = [t for t in failures if success is None or t > success]
    return LastOutcomes(SITE, success, max(failures, default=None), min(failing, default=None))


def test_a_failing_run_from_before_the_probes_given_goes_on_while_every_probe_given_fails() -> None:
    """A restart 2 hours into an outage, after a gap with no monitor: down since the run began (150), not since
    the first probe given; the last failure from before counts until one is given."""
    window = SlidingWindow((60.0,))
    window.start_after(LastOutcomes(SITE, 100.0, 200.0, 150.0))
    assert (window.failing_since, window.last_failure) == (150.0, 200.0)  # nothing given yet
    window.add(probe(7200.0, up=False))
    window.add(probe(7201.0, up=False))
    assert (window.failing_since, window.last_failure) == (150.0, 7201.0)
    window.add_earlier(columns_of([probe(7000.0, up=False)]))  # a restart's past, read back later: still failing
    assert (window.failing_since, window.last_failure) == (150.0, 7201.0)
    window.add(probe(7202.0))
    assert (window.failing_since, window.last_failure) == (None, 7201.0)
    window.add(probe(7203.0, up=False))
    assert (window.failing_since, window.last_failure) == (7203.0, 7203.0)


def test_a_success_among_the_probes_given_ends_the_run_from_before_and_one_read_back_later_too() -> None:
    window = SlidingWindow((60.0,))
    window.start_after(LastOutcomes(SITE, 100.0, 200.0, 150.0))
    window.add(probe(7200.0, up=False))
    window.add_earlier(columns_of([probe(7000.0), probe(7100.0, up=False)]))
    assert (window.failing_since, window.last_failure) == (7100.0, 7200.0)
    up = SlidingWindow((60.0,))
    up.start_after(LastOutcomes(SITE, 300.0, 200.0, None))  # up when the probes given begin: no run from before
    up.add(probe(7200.0, up=False))
    assert (up.failing_since, up.last_failure) == (7200.0, 7200.0)
    never = SlidingWindow((60.0,))
    never.start_after(LastOutcomes(SITE, 300.0, None, None))
    never.add(probe(7200.0))
    assert (never.failing_since, never.last_failure) == (None, None)


@pytest.mark.parametrize("seed", range(8))
def test_outcomes_from_before_plus_the_probes_given_answer_as_if_every_probe_had_been_given(seed: int) -> None:
    """The oldest probes only summed up as `LastOutcomes` (what the log says of the past before the loaded one),
    the rest read back newest first while live probes come: "down for" and "last fail" are at every read those
    of a window given every probe in time order."""
    chooser = random.Random(seed)
    at, probes = 0.0, []
    for _ in range(chooser.choice((30, 300))):
        at += chooser.choice((0.5, 1.0, 2.0, 900.0))  # now and then a gap with no monitor
        run_down = chooser.random() < (0.9 if probes and not probes[-1].available else 0.2)
        probes.append(probe(at, not run_down))
    first, cut = sorted(chooser.sample(range(len(probes) + 1), 2))
    prior, past, live = probes[:first], probes[first:cut], probes[cut:]
    window = SlidingWindow((10.0, 60.0), lazy=seed % 2 == 0)
    window.start_after(last_outcomes(prior))
    chunks = [past[max(0, end - 7):end] for end in range(len(past), 0, -7)]  # newest first
    for given, fed in interleaved(window, chunks, live, chooser):
        reference = SlidingWindow((10.0, 60.0))
        for each in [*prior, *given, *live[:fed]]:
            reference.add(each)
        assert (window.failing_since, window.last_failure) == (reference.failing_since, reference.last_failure)


def test_an_availability_window_widened_takes_earlier_probes_in_front_of_those_it_holds_and_no_others() -> None:
    window = AvailabilityWindow(3.0)
    for second in range(10):
        window.add(float(second), True)
    assert len(window) == 3  # 7, 8, 9
    window.set_span(60.0)
    window.add_earlier([(float(second), second % 2 == 0) for second in range(-50, 9)])  # 7 and 8 held already
    assert len(window) == 60
    assert window.add(10.0, False) == (60, 28 + 3)  # (-50, 10]: -49..6 (28 of them up), 7, 8, 9 up, 10 down
