"""One site's probes over sliding time windows, in compact arrays with bounded memory.

`SlidingWindow` is the state class the Rx operators wrap (bytewax style): `add`
a probe, `advance` the clock, read `counts`, `tallies` or `ordered` for a span.
It keeps the probes of the longest span only, 13 bytes each (time, response time,
a one-byte outcome code) plus at most 1/8 slack, evicting as it goes, so one hour
of 1-second checks costs about 47 kB per site; and, for each span a report reads,
its response times in order (4 bytes each).

Percentiles are exact (nearest rank) without sorting a span at each report: each
span read keeps its received response times in order (`OrderedTimes`), brought up
to date at the next read with the probes that left the span and those that came,
so a report costs what changed since the previous one. Outcomes (status, error
kind, available) are coded per window in one byte, so a span's counts are a few
C-speed byte counts rather than a pass in Python.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable

from monitoringapp.domain.events import (
    ERROR_MASK,
    ERROR_NUMBER,
    NO_RESPONSE_MS,
    STATUS_SHIFT,
    LastOutcomes,
    Probe,
    ProbeColumns,
    outcome_parts,
)

NO_RESPONSE = NO_RESPONSE_MS  # response-time slot of a probe that got no response


class OrderedTimes:
    """One span's received response times in ascending order, with their exact sum, as of the window's
    probes from index `start` to `end` (absolute).

    The window brings it up to date when the span is read (`update`): the times of the probes that have left
    the span go, those that have come in since go in, so percentiles are read by index and a report costs
    what changed since the last one. The times are 4-byte floats in one array: compact, and faster to search
    and shift than a list of floats scattered over the heap (measured: 25 % more events per second through
    the reports). The sum is kept in units of 2**-149 (every float32 time is a whole number of them), so it
    is exact whatever the order the times came and went in: `mean` is what `math.fsum` of the times over
    their count gives.
    """

    __slots__ = ("end", "start", "total", "values")

    def __init__(self, times: list[float], total: int, start: int, end: int) -> None:
        """`times` received (none negative), in any order, and their exact sum in units (see `_received_units`)."""
        self.total = total
        times.sort()
        self.values = array("f", times)
        self.start, self.end = start, end

    def update(self, gone: list[float], gone_units: int, came: list[float], came_units: int) -> None:
        """Take out the times in `gone`, put in those in `came` (each list's exact sum given in units)."""
        self.total += came_units - gone_units
        values = self.values
        for time in gone:
            del values[bisect_left(values, time)]
        # `insort` looks `insert` up by name for each time on anything but a list: a quarter of its cost here.
        insert = values.insert
        for time in came:
            insert(bisect_right(values, time), time)

    def mean(self) -> float:
        return float(self.total) * _UNIT / len(self.values)

    def __len__(self) -> int:
        return len(self.values)


_UNIT = math.ldexp(1.0, -149)  # every float32 is a whole number of these
_PER_UNIT = math.ldexp(1.0, 149)
_TO_UNITS = _PER_UNIT.__mul__


def _sorted_received_units(times: list[float]) -> tuple[list[float], int]:
    """`times` in ascending order without the no-response slots, and their exact sum in units: a span's times
    taken afresh (after a restart's earlier probes went in front of it, thousands of them), sorted first so the
    slots, negative, are cut from the front at C speed rather than left out one by one in Python."""
    times.sort()
    if times and times[0] < 0.0:
        del times[:bisect_left(times, 0.0)]
    return times, _exact_units(times, times[0]) if times else 0


def _received_units(times: list[float]) -> tuple[list[float], int]:
    """`times` without the no-response slots (a pass in Python only when there is one), and their exact sum
    in units: the smallest time tells both whether there is a slot to leave out and how far `sum` is exact."""
    if not times:
        return times, 0
    smallest = min(times)
    if smallest < 0.0:
        times = [time for time in times if time >= 0.0]
        if not times:
            return times, 0
        smallest = min(times)
    return times, _exact_units(times, smallest)


def _exact_units(times: list[float], smallest: float) -> int:
    """The exact sum of float32 `times` (none negative, the least of them `smallest`) in units of 2**-149."""
    # A double holds the sum exactly when the times span few enough binary orders for their count: each is
    # then a whole multiple of the smallest one's last bit, and every partial sum has under 53 bits of them.
    # Then `sum` is exact at C speed; otherwise each time is converted to a whole number of units.
    if not smallest:  # a 0 ms time adds nothing and sets no last bit: the smallest other one does
        smallest = min(filter(None, times), default=0.0)
    if max(times) <= math.ldexp(smallest, 28 - len(times).bit_length()):
        return int(sum(times) * _PER_UNIT)
    return sum(map(int, map(_TO_UNITS, times)))


def _last_index(codes: bytes | array[int], code: int) -> int:
    """Where `code` is last in `codes` (it is there)."""
    if isinstance(codes, bytes):
        return codes.rfind(code)
    return len(codes) - 1 - codes[::-1].index(code)


class SlidingWindow:
    """Probes in (now - span, now] for each span in `spans`.

    Timestamps must not go backwards; one that does is taken as the latest seen. A window that
    `follows_clock_steps` (fed by one clock: a monitor's own probes) takes one a whole (shortest) span or more
    before the latest as the wall clock stepped back, and the times held move back with it; one fed by a log of
    several locations does not, since a location's spooled backlog, or its clock behind, comes that far back too.
    A `lazy` window evicts on `advance` and only every 64th `add`: for an owner
    that advances before it reads (the reports), this halves the cost of `add`.
    Probes from before the first one held (a restart's past, read newest first
    while live probes already come) are given to `add_earlier`.
    """

    __slots__ = (
        "_earlier",
        "_earlier_count",
        "_failing_at",
        "_failing_since",
        "_follows_clock_steps",
        "_horizon",
        "_last_came",
        "_last_failure",
        "_lazy_adds",
        "_offset",
        "_oldest",
        "_ordered",
        "_outcome_code",
        "_prior_failing",
        "_prior_failure",
        "_settled",
        "_spans",
        "_starts",
        "_step_back",
        "latest",
        "outcome_keys",
        "outcomes",
        "response_times",
        "timestamps",
    )

    def __init__(self, spans: tuple[float, ...], lazy: bool = False, follows_clock_steps: bool = False) -> None:
        # Counts down to the next eviction; a non-lazy window evicts on every add.
        self._lazy_adds = 64 if lazy else 0
        self._follows_clock_steps = follows_clock_steps
        self._step_back = math.inf  # how far back a probe is the wall clock stepped back (see `set_spans`)
        self._spans: tuple[float, ...] = ()
        self._starts: list[int] = []
        self._ordered: list[OrderedTimes | None] = []
        self._offset = 0  # absolute index of the arrays' first element
        self.timestamps = array("d")
        self.response_times = array("f")
        # Per probe, its outcome's code: an index into `outcome_keys` (one byte while the window has seen
        # at most 256 distinct outcomes since its last compaction; then four).
        self.outcomes: bytearray | array[int] = bytearray()
        self.outcome_keys: list[int] = []
        self._outcome_code: dict[int, int] = {}
        self._failing_since: float | None = None  # of the probes held or evicted (see `failing_since`)
        self._failing_at = 0  # absolute index of the probe `_failing_since` is the time of
        self._last_failure: float | None = None
        # What the log holds from before every probe this window is given (see `start_after`).
        self._prior_failure: float | None = None
        self._prior_failing: float | None = None
        self.latest = float("-inf")
        self._earlier: list[ProbeColumns] = []  # newest first, waiting to go in front (see `add_earlier`)
        self._earlier_count = 0
        self._oldest = 0  # absolute index of the oldest probe ever held
        # The furthest time evicted up to. Every span is evicted to the same horizon, so a
        # shorter span never starts before a longer one, even when a probe stamped before a
        # report's time arrives after the report.
        self._horizon = float("-inf")
        self._settled = -1  # the arrays' end (absolute) when the window was last advanced to its horizon
        self._last_came: tuple[int, int, list[float], int] = (0, 0, [], 0)  # see `_came`
        self.set_spans(spans)

    @property
    def spans(self) -> tuple[float, ...]:
        return self._spans

    def set_spans(self, spans: tuple[float, ...]) -> None:
        """Window lengths to answer for; a span longer than before fills up as probes come."""
        ordered = tuple(sorted(set(spans)))
        if not ordered or ordered[0] <= 0:
            raise ValueError(f"spans must be positive, got {spans!r}")
        starts = dict(zip(self._spans, self._starts, strict=True))
        kept = dict(zip(self._spans, self._ordered, strict=True))
        self._spans = ordered
        self._step_back = ordered[0] if self._follows_clock_steps else math.inf
        self._starts = [starts.get(span, self._offset) for span in ordered]
        self._ordered = [kept.get(span) for span in ordered]
        self._settled = -1
        if self._horizon > float("-inf"):
            self.advance(self._horizon)

    def add(self, probe: Probe) -> None:
        now = probe.timestamp
        if now > self.latest:
            self.latest = now
        elif self.steps_back(now):
            self._move_back(now - self.latest)
        else:
            now = self.latest
        self.timestamps.append(now)
        rt = probe.response_time_ms
        self.response_times.append(NO_RESPONSE if rt is None else rt)
        error = probe.error
        up = probe.available
        # outcome_key(), inlined: this runs once per probe.
        key = (probe.status or 0) << STATUS_SHIFT | (0 if error is None else ERROR_NUMBER[error]) << 1 | up
        code = self._outcome_code.get(key)
        if code is None:
            code = self._new_outcome(key)
        self.outcomes.append(code)
        if up:
            self._failing_since = None
        else:
            self._last_failure = now
            if self._failing_since is None:
                self._failing_since = now
                self._failing_at = self._offset + len(self.timestamps) - 1
        if self._lazy_adds:
            self._lazy_adds -= 1
            if self._lazy_adds:
                return
            self._lazy_adds = 64
        self.advance(now)

    def steps_back(self, timestamp: float) -> bool:
        """Whether a probe at `timestamp` is taken as the wall clock stepped back (a window that
        `follows_clock_steps`: a whole shortest span or more before the latest), and moves the times held back."""
        return timestamp <= self.latest - self._step_back

    def _move_back(self, moved: float) -> None:
        """The wall clock was stepped back by -`moved` seconds (a probe a whole span before the latest): every time
        held moves back with it, so the spans go on holding what they held, the probes of the step's length do not
        pile up at the latest time, and `down for` and `last fail` stay the durations they were."""
        if self._earlier:
            self._take_earlier()
        self.timestamps = array("d", [held + moved for held in self.timestamps])
        self.latest += moved
        self._horizon += moved
        if self._failing_since is not None:
            self._failing_since += moved
        if self._last_failure is not None:
            self._last_failure += moved
        if self._prior_failing is not None:
            self._prior_failing += moved
        if self._prior_failure is not None:
            self._prior_failure += moved

    def start_after(self, outcomes: LastOutcomes) -> None:
        """What the log holds from before every probe this window is given, here or to `add_earlier` (a restart's
        or a reader's past: the probes after a moment, and the site's `LastOutcomes` up to it): the last
        failure, and the failing run open then, which goes on while every probe given since is a failure."""
        self._prior_failure = outcomes.last_failure
        self._prior_failing = outcomes.failing_since

    @property
    def last_failure(self) -> float | None:
        """The time of the last failure given, or known from before them (`start_after`); None if none."""
        if self._earlier:
            self._take_earlier()
        return self._prior_failure if self._last_failure is None else self._last_failure

    @property
    def failing_since(self) -> float | None:
        """The time of the first failure of the run the latest probe ends, None while it is a success: a
        run that began before the probes given (every probe given a failure) began when `start_after` says."""
        if self._earlier:
            self._take_earlier()
        since = self._failing_since
        if self._prior_failing is not None and (
                self.latest == float("-inf") or (since is not None and self._failing_at == self._oldest)):
            return self._prior_failing
        return since

    def add_earlier(self, probes: ProbeColumns) -> None:
        """Probes from before every probe this window holds, and from before those given to this method
        already: a restart's past, read back newest first while live probes come. They wait, to go in front
        of the arrays in one copy when the window is next read, or once a thousand or so are waiting."""
        if len(probes):
            self._earlier.append(probes)
            self._earlier_count += len(probes)
            if self._earlier_count >= 1024:  # so few wait at once (while a report is 10 s away)
                self._take_earlier()

    def _take_earlier(self) -> None:
        chunks, self._earlier, self._earlier_count = self._earlier[::-1], [], 0
        timestamps, response_times, keys = array("d"), array("f"), array("I")
        for chunk in chunks:
            timestamps.extend(chunk.timestamps)
            response_times.extend(chunk.response_times)
            keys.extend(chunk.outcomes)
        distinct = set(keys)
        new = distinct.difference(self._outcome_code)
        if new and len(self.outcome_keys) + len(new) > 256 and isinstance(self.outcomes, bytearray):
            self.outcomes = array("I", list(self.outcomes))  # rare: more outcomes than one byte codes
        for key in new:
            self._outcome_code[key] = len(self.outcome_keys)
            self.outcome_keys.append(key)
        coded = map(self._outcome_code.__getitem__, keys)
        codes = bytes(coded) if isinstance(self.outcomes, bytearray) else array("I", coded)
        count = len(timestamps)
        offset = self._offset - count
        # The failing run and the last failure, as if the earlier probes had come first: each found from the end
        # of the codes, once for each of the few outcomes there (a pass in C, not one in Python per probe).
        last_up = last_down = -1
        for key in distinct:
            if key & 1:
                last_up = max(last_up, _last_index(codes, self._outcome_code[key]))
            else:
                last_down = max(last_down, _last_index(codes, self._outcome_code[key]))
        if self._last_failure is None and last_down >= 0:
            self._last_failure = timestamps[last_down]
        fresh = self.latest == float("-inf")  # nothing came before these
        failing_throughout = self._failing_since is not None and self._failing_at == self._oldest
        if last_up < count - 1 and (fresh or failing_throughout):
            self._failing_since, self._failing_at = timestamps[last_up + 1], offset + last_up + 1
        if fresh:
            self.latest = timestamps[-1]
        timestamps.extend(self.timestamps)
        response_times.extend(self.response_times)
        held = self.outcomes
        if isinstance(held, bytearray):
            self.outcomes = bytearray(codes) + held
        else:
            self.outcomes = array("I", codes) + held
        self.timestamps, self.response_times = timestamps, response_times
        # A span that still holds the first probe held may reach back into the earlier ones: it starts
        # at them (the next eviction trims it to its time) and sorts its times afresh.
        for i, start in enumerate(self._starts):
            if start == self._offset:
                self._starts[i] = offset
                self._ordered[i] = None
        self._offset = self._oldest = offset
        self._settled = -1

    def _new_outcome(self, key: int) -> int:
        if len(self.outcome_keys) == 256 and isinstance(self.outcomes, bytearray):
            self._recode()
            if len(self.outcome_keys) == 256:  # 256 outcomes at once in the window: rare, wider codes
                self.outcomes = array("I", list(self.outcomes))
        code = self._outcome_code[key] = len(self.outcome_keys)
        self.outcome_keys.append(key)
        return code

    def _recode(self) -> None:
        """Codes for the outcomes the arrays still hold only, in the order first seen."""
        outcomes = self.outcomes
        live = sorted(set(outcomes))
        self.outcome_keys = [self.outcome_keys[code] for code in live]
        self._outcome_code = {key: code for code, key in enumerate(self.outcome_keys)}
        if isinstance(outcomes, bytearray):
            table = bytearray(256)
            for new, old in enumerate(live):
                table[old] = new
            self.outcomes = bytearray(outcomes.translate(table))
        else:
            recoded = dict(zip(live, range(len(live)), strict=True))
            self.outcomes = array("I", (recoded[code] for code in outcomes))

    def advance(self, now: float) -> None:
        """Forget, for every span, the probes at or before `now - span`; `now` never goes back
        (at least the latest add, what a lazy window's skipped evictions would have done)."""
        if self._earlier:
            self._take_earlier()
        if now < self.latest:
            now = self.latest
        timestamps = self.timestamps
        offset = self._offset
        if now <= self._horizon:
            if self._settled == offset + len(timestamps):
                return  # already evicted to here, and nothing came since (a report's second span)
            now = self._horizon
        else:
            self._horizon = now
        self._settled = offset + len(timestamps)
        starts = self._starts
        for i, span in enumerate(self._spans):
            start = starts[i] - offset
            starts[i] = bisect_right(timestamps, now - span, start) + offset
        if starts[-1] - offset >= 64:
            self._compact()

    def _compact(self) -> None:
        # Deleting from the front is a memmove; doing it once an eighth is dead keeps
        # the cost amortised O(1) per probe and the slack under 1/8 of the arrays. A span's
        # ordered times still need the probes that left it since it was last read (to take
        # them out): those are kept, unless it has not been read for a quarter of the arrays
        # (it is then sorted afresh when it is).
        held = len(self.timestamps)
        keep_from = self._starts[-1]
        for i, ordered in enumerate(self._ordered):
            if ordered is not None and ordered.start < keep_from:
                if (keep_from - ordered.start) * 4 > held:
                    self._ordered[i] = None
                else:
                    keep_from = ordered.start
        dead = keep_from - self._offset
        if dead >= 64 and dead * 8 >= held:
            for column in (self.timestamps, self.response_times, self.outcomes):
                del column[:dead]
            self._offset += dead
            if len(self.outcome_keys) > 16:
                self._recode()

    def _bounds(self, span: float) -> tuple[int, int]:
        if self._earlier:
            self._take_earlier()
        index = self._spans.index(span)
        return self._starts[index] - self._offset, len(self.timestamps)

    def tallies(self, span: float) -> tuple[int, int, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """(checks, available checks, ((status, checks), ...), ((error code, checks), ...)) in the span, as of
        the last `add` or `advance`; statuses and error codes ascending, no-response (status 0) left out.
        Counted at C speed, one pass over the span's outcome bytes per outcome the window holds."""
        start, end = self._bounds(span)
        outcomes, keys = self.outcomes, self.outcome_keys
        if start == end:
            return 0, 0, (), ()
        if len(keys) == 1:  # one outcome ever held: nothing to count (the usual healthy site)
            counted = [(keys[0], end - start)]
        elif isinstance(outcomes, bytearray) and len(keys) <= 16:
            # Counted and summed in one pass over the outcomes (a report makes this for every site and span).
            count = outcomes.count
            available = 0
            statuses: dict[int, int] = {}
            errors: dict[int, int] = {}
            for code, key in enumerate(keys):
                n = count(code, start, end)
                if n:
                    if key & 1:
                        available += n
                    status = key >> STATUS_SHIFT
                    if status:
                        statuses[status] = statuses.get(status, 0) + n
                    error = (key >> 1) & ERROR_MASK
                    if error:
                        errors[error] = errors.get(error, 0) + n
            return end - start, available, tuple(sorted(statuses.items())), tuple(sorted(errors.items()))
        else:
            counted = [(keys[code], n) for code, n in Counter(outcomes[start:end]).items()]
        if len(counted) == 1:  # one outcome throughout
            key, n = counted[0]
            status, error = key >> STATUS_SHIFT, (key >> 1) & ERROR_MASK
            return n, n if key & 1 else 0, ((status, n),) if status else (), ((error, n),) if error else ()
        available = 0
        statuses = {}
        errors = {}
        for key, n in counted:
            if key & 1:
                available += n
            status, error = key >> STATUS_SHIFT, (key >> 1) & ERROR_MASK
            if status:
                statuses[status] = statuses.get(status, 0) + n
            if error:
                errors[error] = errors.get(error, 0) + n
        return end - start, available, tuple(sorted(statuses.items())), tuple(sorted(errors.items()))

    def counts(self, span: float) -> tuple[int, int]:
        """(checks, available checks) in the span, as of the last `add` or `advance`."""
        return self.tallies(span)[:2]

    def ordered(self, span: float) -> OrderedTimes:
        """The span's received response times in ascending order, as of the last `add` or `advance`."""
        if self._earlier:
            self._take_earlier()
        index = self._spans.index(span)
        ordered = self._ordered[index]
        offset = self._offset
        start, end = self._starts[index], offset + len(self.timestamps)
        times = self.response_times
        if ordered is None:
            ordered = self._ordered[index] = OrderedTimes(*_sorted_received_units(times[start - offset:].tolist()),
                                                          start, end)
        elif ordered.start != start or ordered.end != end:
            gone, gone_units = _received_units(times[ordered.start - offset:min(start, ordered.end) - offset].tolist())
            came_from = max(start, ordered.end)
            came, came_units = self._came(came_from, end) if came_from < end else ([], 0)
            ordered.update(gone, gone_units, came, came_units)
            ordered.start, ordered.end = start, end
        return ordered

    def _came(self, start: int, end: int) -> tuple[list[float], int]:
        """The received times of the probes from `start` to `end` (absolute) and their exact sum: the spans
        read at one report mostly take in the same new probes, so the last answer is kept."""
        last = self._last_came
        if last[0] != start or last[1] != end:
            came, units = _received_units(self.response_times[start - self._offset:end - self._offset].tolist())
            last = self._last_came = (start, end, came, units)
        return last[2], last[3]

    def columns(self, span: float) -> tuple[array[float], list[int], list[int]]:
        """Copies of (response times, statuses, error codes) in the span, in time order."""
        start, end = self._bounds(span)
        keys = self.outcome_keys
        outcomes = [outcome_parts(keys[code]) for code in self.outcomes[start:end]]
        return (self.response_times[start:end], [status for status, _, _ in outcomes],
                [error for _, error, _ in outcomes])

    def __len__(self) -> int:
        if self._earlier:
            self._take_earlier()
        return len(self.timestamps)


class AvailabilityWindow:
    """Checks and available checks in (now - span, now]: all the alert machine reads of a site's past.

    The lean sibling of `SlidingWindow`: 9 bytes per probe (time, up) instead of 16, and an `add` that
    answers the counts at once. Timestamps must not go backwards; one that does is taken as the latest seen, but
    for one a whole span or more before it: the wall clock was stepped back, and the probes held move back with it.
    A longer span set later fills up as probes come (the older ones are gone), a shorter one applies at once.
    """

    __slots__ = ("_available", "_start", "latest", "span", "times", "ups")

    def __init__(self, span: float) -> None:
        if span <= 0:
            raise ValueError(f"span must be positive, got {span!r}")
        self.span = span
        self.times = array("d")
        self.ups = bytearray()
        self._start = 0  # the first kept probe; what is before it waits for compaction
        self._available = 0  # among the kept probes
        self.latest = float("-inf")

    def set_span(self, span: float) -> None:
        if span <= 0:
            raise ValueError(f"span must be positive, got {span!r}")
        self.span = span

    def add(self, timestamp: float, up: bool) -> tuple[int, int]:
        """Take one probe; (checks, available checks) in the span ending at it."""
        if timestamp > self.latest:
            self.latest = timestamp
        elif timestamp <= self.latest - self.span:
            # The wall clock was stepped back (a probe a whole span before the latest): the probes held move back
            # with it. Taken as the latest, this one and every one after it for the step's length would have
            # stayed in the span, and an outage then been told late, by as much as the step (an hour, say).
            moved = timestamp - self.latest
            self.times = array("d", [held + moved for held in self.times])
            self.latest = timestamp
        else:
            timestamp = self.latest
        self.times.append(timestamp)
        self.ups.append(up)
        self._available += up
        times, start, horizon = self.times, self._start, timestamp - self.span
        # Mostly one probe leaves per probe added: step rather than bisect.
        while times[start] <= horizon:
            self._available -= self.ups[start]
            start += 1
        self._start = start
        if start >= 64 and start * 8 >= len(times):  # amortised O(1), slack under 1/8
            del times[:start]
            del self.ups[:start]
            start = self._start = 0
        return len(times) - start, self._available

    def add_earlier(self, probes: Iterable[tuple[float, bool]]) -> None:
        """Take (time, up) of probes from before every probe it holds, oldest first (those not before are left out):
        a span a reload widened, filled from the log as a restart fills it, where it would fill up only as probes
        come."""
        first = self.times[self._start] if len(self) else float("inf")
        earlier = [(timestamp, up) for timestamp, up in probes if timestamp < first]
        if not earlier:
            return
        times = array("d", (timestamp for timestamp, _ in earlier))
        ups = bytearray(up for _, up in earlier)
        times.extend(self.times[self._start:])
        ups.extend(self.ups[self._start:])
        self.times, self.ups, self._start = times, ups, 0
        self._available = sum(ups)
        self.latest = max(self.latest, times[-1])

    def __len__(self) -> int:
        return len(self.times) - self._start
