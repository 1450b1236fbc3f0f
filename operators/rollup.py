"""Probes summed per site per minute or hour: what a page over weeks reads instead of every probe.

`Rollup` is one site's bucket [start, start + span): checks, available checks, the response times'
count, sum, min and max, a `ResponseSketch` of them, and how many probes ended in each status or error
kind. Rollups add (`add` a probe) and merge (`merge` another bucket), so a minute bucket, an hour bucket
and a day made of hours are the same thing at three sizes.

`ResponseSketch` is a log-bucketed histogram (DDSketch's mapping): a response time x ms lands in bucket
ceil(log_g x) with g = (1 + a) / (1 - a), and a percentile read back from it is within ±a (2 %) of the
nearest-rank percentile of the probes it holds. It is stored as a few bytes per bucket used (varints of
bucket deltas and counts), so a minute of one site's probes costs tens of bytes, not kilobytes.

Example:
    >>> from monitoringapp.domain.events import Probe
    >>> bucket = Rollup("http://a/", bucket_start(125.0, MINUTE), MINUTE)
    >>> for t, ms in ((121.0, 10.0), (122.0, 20.0), (123.0, 30.0)):
    ...     bucket.add(Probe(t, "http://a/", True, 200, ms))
    >>> bucket.add(Probe(124.0, "http://a/", False, None, None))
    >>> (bucket.start, bucket.checks, bucket.available, bucket.rt_min, bucket.rt_max, bucket.outcomes)
    (120.0, 4, 3, 10.0, 30.0, {'200': 3, 'none': 1})
    >>> round(bucket.sketch.percentile(0.5), 1)  # 20 ms, within ±2 %
    19.7
    >>> ResponseSketch.decode(bucket.sketch.encode()) == bucket.sketch
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from monitoringapp.domain.events import Probe

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

RELATIVE_ERROR = 0.02
"""A percentile read from a sketch is within this fraction of the exact nearest-rank one."""
_GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(_GAMMA)
_SMALLEST = 0.001  # ms; a response faster than a microsecond is counted as one
NO_ANSWER = "none"
"""The outcome of a probe with neither a status nor an error kind (older rows)."""


def bucket_start(timestamp: float, span: float) -> float:
    """The start of the UTC-aligned bucket of `span` seconds that holds `timestamp`."""
    return timestamp - timestamp % span


class ResponseSketch:
    """Response times (ms) counted in log-sized buckets; percentiles within ±`RELATIVE_ERROR`."""

    __slots__ = ("counts",)

    def __init__(self, counts: dict[int, int] | None = None) -> None:
        self.counts: dict[int, int] = counts if counts is not None else {}

    def add(self, milliseconds: float) -> None:
        index = math.ceil(math.log(max(milliseconds, _SMALLEST)) / _LOG_GAMMA)
        self.counts[index] = self.counts.get(index, 0) + 1

    def merge(self, other: ResponseSketch) -> None:
        counts = self.counts
        for index, count in other.counts.items():
            counts[index] = counts.get(index, 0) + count

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentile(self, fraction: float) -> float | None:
        """The value of the nearest-rank `fraction` percentile, within ±RELATIVE_ERROR; None when empty."""
        total = self.total
        if not total:
            return None
        rank = max(1, math.ceil(fraction * total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return 2 * _GAMMA ** index / (_GAMMA + 1)
        raise AssertionError("unreachable: rank <= total")

    def encode(self) -> bytes:
        """Varints: the first bucket (zigzag), then per bucket its distance from the last and its count."""
        out = bytearray()
        previous = None
        for index in sorted(self.counts):
            if previous is None:
                _varint(out, index * 2 if index >= 0 else -index * 2 - 1)
            else:
                _varint(out, index - previous)
            _varint(out, self.counts[index])
            previous = index
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes | None) -> ResponseSketch:
        counts: dict[int, int] = {}
        if data:
            numbers = _varints(data)
            index = None
            for step, count in zip(numbers[0::2], numbers[1::2], strict=True):
                if index is None:
                    index = step // 2 if step % 2 == 0 else -(step + 1) // 2
                else:
                    index += step
                counts[index] = count
        return cls(counts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResponseSketch) and self.counts == other.counts

    def __repr__(self) -> str:
        return f"ResponseSketch({self.counts!r})"


def _varint(out: bytearray, number: int) -> None:
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)


def _varints(data: bytes) -> list[int]:
    numbers: list[int] = []
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            numbers.append(value)
            value = shift = 0
    return numbers


@dataclass(slots=True)
class Rollup:
    """One site's probes in [start, start + span), summed; `add` a probe, `merge` a bucket."""

    host: str
    start: float
    span: float
    checks: int = 0
    available: int = 0
    rt_count: int = 0
    rt_sum: float = 0.0
    rt_min: float | None = None
    rt_max: float | None = None
    sketch: ResponseSketch = field(default_factory=ResponseSketch)
    outcomes: dict[str, int] = field(default_factory=dict)
    """Checks per outcome: the status (`"200"`) or the error kind (`"timeout"`)."""

    def add(self, probe: Probe) -> None:
        self.checks += 1
        self.available += probe.available
        rt = probe.response_time_ms
        if rt is not None:
            self.rt_count += 1
            self.rt_sum += rt
            self.rt_min = rt if self.rt_min is None or rt < self.rt_min else self.rt_min
            self.rt_max = rt if self.rt_max is None or rt > self.rt_max else self.rt_max
            self.sketch.add(rt)
        outcome = outcome_of(probe)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def merge(self, other: Rollup) -> None:
        self.checks += other.checks
        self.available += other.available
        self.rt_count += other.rt_count
        self.rt_sum += other.rt_sum
        if other.rt_min is not None and (self.rt_min is None or other.rt_min < self.rt_min):
            self.rt_min = other.rt_min
        if other.rt_max is not None and (self.rt_max is None or other.rt_max > self.rt_max):
            self.rt_max = other.rt_max
        self.sketch.merge(other.sketch)
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count

    @property
    def end(self) -> float:
        return self.start + self.span

    @property
    def availability(self) -> float | None:
        return self.available / self.checks if self.checks else None

    @property
    def rt_avg(self) -> float | None:
        return self.rt_sum / self.rt_count if self.rt_count else None


def outcome_of(probe: Probe) -> str:
    if probe.error is not None:
        return probe.error.value
    return str(probe.status) if probe.status is not None else NO_ANSWER


def encode_outcomes(outcomes: dict[str, int]) -> str:
    """`200:58 503:2 timeout:1`: readable in SQL, a few bytes."""
    return " ".join(f"{outcome}:{count}" for outcome, count in sorted(outcomes.items()))


def decode_outcomes(text: str | None) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for part in (text or "").split():
        outcome, _, count = part.rpartition(":")
        outcomes[outcome] = int(count)
    return outcomes


def rollups_of(probes: Iterable[Probe], span: float) -> list[Rollup]:
    """The probes summed per site into buckets of `span` seconds, in (site, time) order."""
    buckets: dict[tuple[str, float], Rollup] = {}
    for probe in probes:
        _bucket(buckets, probe.host, probe.timestamp, span).add(probe)
    return [buckets[key] for key in sorted(buckets)]


def merged(rollups: Iterable[Rollup], span: float) -> list[Rollup]:
    """Rollups merged into buckets of `span` seconds (a multiple of theirs), per site, in (site, time) order."""
    buckets: dict[tuple[str, float], Rollup] = {}
    for rollup in rollups:
        _bucket(buckets, rollup.host, rollup.start, span).merge(rollup)
    return [buckets[key] for key in sorted(buckets)]


def _bucket(buckets: dict[tuple[str, float], Rollup], host: str, timestamp: float, span: float) -> Rollup:
    key = (host, bucket_start(timestamp, span))
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = Rollup(host, key[1], span)
    return bucket
