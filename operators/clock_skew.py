"""A location's clock ahead of the NATS server's: each probe's own time beside its arrival in the stream in, a
warning out, once (no reactivex or NATS here: `graph.evaluator` wires it).

A probe is stamped by its prober's clock and its arrival by the server's, and it arrives after it is taken (a
spool holds it back, never forward): arriving late is normal, arriving before its own time is only clocks that
disagree. Reads by time start `limit` (the reader's CLOCK_SKEW) before the moment asked for, so a probe stamped
more than that ahead of its arrival can be missed by them, silently: that is what is warned of.

Once per location, and again only after none of its probes has been out of line for `rearm_after` seconds on the
evaluator's clock: a clock left ahead is one standing fault, told once rather than every hour it lasts, while one
put right and gone off again (or a prober restarted still off after a stop) is news. A clock hovering at the limit
says it once too, since its probes keep crossing it.
"""

from __future__ import annotations

from dataclasses import dataclass

REARM_AFTER = 3600.0


@dataclass(frozen=True, slots=True)
class ClockAhead:
    """`location`'s probe stamped `ahead` seconds after it arrived in the stream."""

    location: str
    ahead: float


class ClockSkewWatch:
    """Each location's last probe stamped more than `limit` seconds ahead of its arrival (on the evaluator's
    clock), to warn once per location."""

    __slots__ = ("last_ahead", "limit", "rearm_after")

    def __init__(self, limit: float, rearm_after: float = REARM_AFTER) -> None:
        self.limit = limit
        self.rearm_after = rearm_after
        self.last_ahead: dict[str, float] = {}  # location -> when (evaluator's clock) its last probe was ahead

    def on_probe(self, location: str, stamped: float, arrived: float, now: float) -> ClockAhead | None:
        """A probe of `location` stamped `stamped`, arrived at `arrived` (the server's clock), delivered at `now`:
        a warning when it is ahead by more than the limit and its location has not been warned of since it was
        last in line for `rearm_after` seconds."""
        ahead = stamped - arrived
        if ahead <= self.limit:  # nearly every probe: one subtraction and one comparison
            return None
        last = self.last_ahead.get(location)
        self.last_ahead[location] = now
        if last is not None and now - last < self.rearm_after:
            return None
        return ClockAhead(location, ahead)
