"""How long a log has stored no probe, on a clock that may step back (no reactivex, no I/O, no wall clock).

A reader asks "is the monitor still storing?" by comparing its clock with the time of the probe the log stored
**last** (in the log's own order, not the greatest timestamp). Most of the time that is `now - last`. After the
clock steps back (an NTP step, a VM restored from a snapshot), the last probe can be stamped ahead of `now`:
`now - last` is then negative for as long as the step, and a monitor that stopped in that time would be called
running until the clock caught up (an hour's step: an hour without `monitor-stale`); a monitor whose clock runs
ahead of the reader's was called stopped that much late. A probe was stored no later than the moment the reader
saw it, so the silence is timed from the earlier of the two: the last probe's time, or when this reader first
saw it last (on its own clock; again from now if that clock has since gone back before that moment).

Example:

>>> silence = StoreSilence()
>>> silence.saw(1000.0, now=1000.5)
>>> silence.silent_for(1060.0)
60.0
>>> silence.saw(1000.0, now=400.0)  # the clock stepped back 10 minutes; nothing new stored
>>> silence.silent_for(430.0)  # not -570 s: 30 s seen without a new probe
30.0
>>> silence.saw(431.0, now=431.2)  # the monitor stores again, stamped by the stepped clock
>>> silence.silent_for(432.0)
1.0
"""

from __future__ import annotations


class StoreSilence:
    """The time of the probe a log stored last (`last`) and how long it has been the last (`silent_for`).

    `saw(last, now)` is told the log's last stored probe's time whenever it is read; `silent_for(now)` is the
    time since `last` or since this reader first saw it last, whichever is earlier."""

    def __init__(self) -> None:
        self.last: float | None = None
        self._seen_at = 0.0  # when `last` was first seen, on this reader's clock

    def saw(self, last: float | None, now: float) -> None:
        if last is None:
            return
        if last != self.last or now < self._seen_at:
            self.last, self._seen_at = last, now

    def silent_for(self, now: float) -> float | None:
        """Seconds nothing new has been stored as of `now` (None: nothing stored yet)."""
        if self.last is None:
            return None
        return max(0.0, now - min(self.last, self._seen_at))
