"""How long a log has stored no probe, on a clock that may step back (no reactivex, no I/O, no wall clock).

A reader asks "is the monitor still storing?" by comparing its clock with the time of the probe the log stored
**last** (in the log's own order, not the greatest timestamp). Most of the time that is `now - last`, but not
always:
- after the clock steps back (an NTP step, a VM restored from a snapshot), the last probe can be stamped ahead of
  `now`: `now - last` is negative for as long as the step, and a monitor that stopped in that time was called
  running until the clock caught up (an hour's step: an hour without `monitor-stale`);
- a probe stamped long ago can be stored now (a prober's spool emptied late), and one stamped ahead by a monitor
  whose clock runs ahead of the reader's.
So the silence is timed from when the last probe was stored, as far as the reader can tell: its stamp when the
reader first looks (nothing better is known), and for a new last probe seen later, its stamp kept between the
reader's previous look and this one (it was stored in that time). A reader's clock that goes back before that
moment times it from then.

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
    time since it was stored, on this reader's clock."""

    def __init__(self) -> None:
        self.last: float | None = None
        self._stored_at = 0.0  # when `last` was stored, as far as this reader can tell, on its clock
        self._looked_at = 0.0  # this reader's previous look

    def saw(self, last: float | None, now: float) -> None:
        if last is None:
            return
        if self.last is None:
            self._stored_at = min(last, now)
        elif last != self.last:
            self._stored_at = min(max(last, self._looked_at), now)
        else:
            self.clock_reads(now)
        self.last, self._looked_at = last, now

    def clock_reads(self, now: float) -> None:
        """This reader's clock reads `now`, whether or not it looked at the log: a clock gone back before the
        moment the last probe was stored times the silence from `now` (a reader that looks only when the log
        has news is told so at its reports)."""
        if now < self._stored_at:
            self._stored_at = now

    @property
    def stored_at(self) -> float | None:
        """When the last probe was stored, as far as this reader can tell, on its clock (None: nothing stored yet)."""
        return None if self.last is None else self._stored_at

    def silent_for(self, now: float) -> float | None:
        """Seconds nothing new has been stored as of `now` (None: nothing stored yet)."""
        stored_at = self.stored_at
        return None if stored_at is None else max(0.0, now - stored_at)
