"""One site's probes over sliding time windows, in compact arrays with bounded memory.

`SlidingWindow` is the state class the Rx operators wrap (bytewax style): `add`
a probe, `advance` the clock, read `counts` or `columns` for a span. It keeps the
probes of the longest span only, 16 bytes each (plus at most 1/8 slack), evicting
as it goes, so one hour of 1-second checks costs about 58 kB per site.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

from monitoringapp.domain.events import ERROR_KINDS, ErrorKind, Probe

NO_RESPONSE = -1.0  # response-time slot of a probe that got no response
_ERROR_CODE = {kind: code for code, kind in enumerate(ERROR_KINDS, start=1)}
ERROR_BY_CODE: dict[int, ErrorKind] = {code: kind for kind, code in _ERROR_CODE.items()}


class SlidingWindow:
    """Probes in (now - span, now] for each span in `spans`, with a running count of available ones.

    Timestamps must not go backwards; one that does is taken as the latest seen.
    A `lazy` window evicts on `advance` and only every 64th `add`: for an owner
    that advances before it reads (the reports), this halves the cost of `add`.
    """

    __slots__ = (
        "_horizon",
        "_lazy_adds",
        "_left",
        "_offset",
        "_spans",
        "_starts",
        "errors",
        "failing_since",
        "last_failure",
        "latest",
        "response_times",
        "seen_statuses",
        "statuses",
        "timestamps",
        "up",
        "ups_added",
    )

    def __init__(self, spans: tuple[float, ...], lazy: bool = False) -> None:
        # Counts down to the next eviction; a non-lazy window evicts on every add.
        self._lazy_adds = 64 if lazy else 0
        self._spans: tuple[float, ...] = ()
        self._starts: list[int] = []
        # Available probes ever added, and per span those evicted: a span's count is the difference,
        # so adding a probe bumps one counter whatever the number of spans.
        self.ups_added = 0
        self._left: list[int] = []
        self._offset = 0  # absolute index of the arrays' first element
        self.timestamps = array("d")
        self.response_times = array("f")
        self.statuses = array("H")
        self.seen_statuses: set[int] = set()  # every status the arrays may hold, so counts need no scan
        self.errors = array("B")
        self.up = array("B")
        self.failing_since: float | None = None
        self.last_failure: float | None = None
        self.latest = float("-inf")
        # The furthest time evicted up to. Every span is evicted to the same horizon, so a
        # shorter span never starts before a longer one, even when a probe stamped before a
        # report's time arrives after the report.
        self._horizon = float("-inf")
        self.set_spans(spans)

    @property
    def spans(self) -> tuple[float, ...]:
        return self._spans

    def set_spans(self, spans: tuple[float, ...]) -> None:
        """Window lengths to answer for; a span longer than before fills up as probes come."""
        ordered = tuple(sorted(set(spans)))
        if not ordered or ordered[0] <= 0:
            raise ValueError(f"spans must be positive, got {spans!r}")
        old = dict(zip(self._spans, self._starts, strict=True))
        self._spans = ordered
        self._starts = [old.get(span, self._offset) for span in ordered]
        end = self._offset + len(self.timestamps)
        self._left = [self.ups_added - (sum(self.up[s - self._offset:]) if s < end else 0) for s in self._starts]
        if self._horizon > float("-inf"):
            self.advance(self._horizon)

    def add(self, probe: Probe) -> None:
        now = probe.timestamp
        if now > self.latest:
            self.latest = now
        else:
            now = self.latest
        self.timestamps.append(now)
        rt = probe.response_time_ms
        self.response_times.append(NO_RESPONSE if rt is None else rt)
        status = probe.status or 0
        self.statuses.append(status)
        self.seen_statuses.add(status)
        error = probe.error
        self.errors.append(0 if error is None else _ERROR_CODE[error])
        if probe.available:
            self.up.append(1)
            self.failing_since = None
            self.ups_added += 1
        else:
            self.up.append(0)
            self.last_failure = now
            if self.failing_since is None:
                self.failing_since = now
        if self._lazy_adds:
            self._lazy_adds -= 1
            if self._lazy_adds:
                return
            self._lazy_adds = 64
        self.advance(now)

    def advance(self, now: float) -> None:
        """Forget, for every span, the probes at or before `now - span`; `now` never goes back
        (at least the latest add, what a lazy window's skipped evictions would have done)."""
        if now < self.latest:
            now = self.latest
        if now < self._horizon:
            now = self._horizon
        else:
            self._horizon = now
        timestamps = self.timestamps
        offset = self._offset
        starts = self._starts
        for i, span in enumerate(self._spans):
            start = starts[i] - offset
            first_kept = bisect_right(timestamps, now - span, start)
            if first_kept != start:
                # Mostly one probe leaves per probe added: index it rather than slice and sum.
                self._left[i] += (self.up[start] if first_kept == start + 1
                                  else sum(self.up[start:first_kept]))
                starts[i] = first_kept + offset
        dead = starts[-1] - offset
        if dead >= 64:
            self._compact(dead)

    def _compact(self, dead: int) -> None:
        # Deleting from the front is a memmove; doing it once an eighth is dead keeps
        # the cost amortised O(1) per probe and the slack under 1/8 of the arrays.
        if dead * 8 >= len(self.timestamps):
            for column in (self.timestamps, self.response_times, self.statuses, self.errors, self.up):
                del column[:dead]
            self._offset += dead
            self.seen_statuses = {s for s in self.seen_statuses if s in self.statuses}

    def _bounds(self, span: float) -> tuple[int, int]:
        index = self._spans.index(span)
        return self._starts[index] - self._offset, len(self.timestamps)

    def counts(self, span: float) -> tuple[int, int]:
        """(checks, available checks) in the span, as of the last `add` or `advance`."""
        index = self._spans.index(span)
        return len(self.timestamps) - (self._starts[index] - self._offset), self.ups_added - self._left[index]

    def columns(self, span: float) -> tuple[array[float], array[int], array[int]]:
        """Copies of (response times, statuses, error codes) in the span; C-speed slices."""
        start, end = self._bounds(span)
        return (self.response_times[start:end], self.statuses[start:end], self.errors[start:end])

    def code_counts(self, span: float) -> tuple[dict[int, int], dict[ErrorKind, int]]:
        """({status: checks}, {error kind: checks}) in the span; status 0 (no response) left out,
        error kinds in `ERROR_KINDS` order. Counted at C speed, one pass per status seen."""
        start, end = self._bounds(span)
        statuses = self.statuses[start:end]
        status_counts = {s: n for s in self.seen_statuses if s and (n := statuses.count(s))}
        errors = self.errors[start:end].tobytes()
        error_counts = ({} if errors.count(0) == len(errors) else
                        {kind: n for code, kind in ERROR_BY_CODE.items() if (n := errors.count(code))})
        return status_counts, error_counts

    def __len__(self) -> int:
        return len(self.timestamps)


class AvailabilityWindow:
    """Checks and available checks in (now - span, now]: all the alert machine reads of a site's past.

    The lean sibling of `SlidingWindow`: 9 bytes per probe (time, up) instead of 16, and an `add` that
    answers the counts at once. Timestamps must not go backwards; one that does is taken as the latest seen.
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

    def __len__(self) -> int:
        return len(self.times) - self._start
