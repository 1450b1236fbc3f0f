"""Many fixed-rate clocks kept as one schedule (no reactivex here: `streams.ticks.grid_ticks` drives it).

Each clock ticks on its own fixed grid: tick n is due at start + n·period, never drifting. A tick that comes a
whole period late or more is dropped, and the next one says how many were, as `fixed_rate_ticks` does for one
clock. Clocks are started, re-timed and stopped by key while the others run undisturbed; `due(now)` hands out
every tick due by `now` at once, so clocks that share a due time cost one timer, not one each.
"""

from __future__ import annotations

import heapq
from itertools import count
from typing import Generic, NamedTuple, TypeVar

K = TypeVar("K")
P = TypeVar("P")


class Tick(NamedTuple):
    """A clock's tick: when it was due (UTC epoch seconds), and how many ticks before it were dropped
    because the clock came a whole period late or more."""

    due: float
    missed: int = 0


class FixedClock(Generic[P]):
    """One fixed grid: tick `n` due at `origin + n * period`; `n` is the next tick to `fire` (at `next_due`)."""

    __slots__ = ("n", "origin", "payload", "period")

    def __init__(self, period: float, origin: float, payload: P) -> None:
        self.period = period
        self.origin = origin
        self.payload = payload
        self.n = 0

    def fire(self, now: float) -> Tick:
        due = self.origin + self.n * self.period
        late_periods = int((now - due) // self.period)
        if late_periods >= 1:
            self.n += late_periods
            due = self.origin + self.n * self.period
        self.n += 1
        return Tick(due, max(0, late_periods))

    @property
    def next_due(self) -> float:
        return self.origin + self.n * self.period


class FixedGrids(Generic[K, P]):
    """Fixed-rate clocks by key, each carrying a payload (what its ticks are for).

    ```text
    start(a, 2.0, at=0)   start(b, 3.0, at=0)          due(6.0)
    a: 0----2----4----6       b: 0-------3-------6     -> [(a, T(6)), (b, T(6))]   one wake-up for both
    ```
    """

    __slots__ = ("_clocks", "_heap", "_order")

    def __init__(self) -> None:
        self._clocks: dict[K, FixedClock[P]] = {}
        # (due, order, key, clock): `order` keeps clocks due together in the order they were last handed out.
        self._heap: list[tuple[float, int, K, FixedClock[P]]] = []
        self._order = count()

    def start(self, key: K, period: float, at: float, payload: P) -> None:
        """Start `key`'s clock (or restart it, re-timed: the old grid is dropped) with tick 0 due `at`."""
        if not period > 0:
            raise ValueError(f"period must be positive, got {period!r}")
        clock = self._clocks[key] = FixedClock(period, at, payload)
        heapq.heappush(self._heap, (at, next(self._order), key, clock))

    def stop(self, key: K) -> None:
        """Stop `key`'s clock; nothing if it has none."""
        self._clocks.pop(key, None)

    def shift(self, seconds: float) -> None:
        """Move every clock's grid by `seconds`: the wall clock the ticks are due by was stepped by as much."""
        for clock in self._clocks.values():
            clock.origin += seconds
        # The same shift for every entry keeps the heap's order.
        self._heap = [(due + seconds, order, key, clock) for due, order, key, clock in self._heap]

    def next_due(self) -> float | None:
        """When the next tick of any clock is due; None when no clock runs."""
        heap = self._heap
        while heap and self._clocks.get(heap[0][2]) is not heap[0][3]:
            heapq.heappop(heap)  # a clock stopped or re-timed since: forget it
        return heap[0][0] if heap else None

    def due(self, now: float) -> list[tuple[P, Tick]]:
        """Every tick due at or before `now`, in due order, with its clock's payload; each clock moves on."""
        heap, clocks, fired = self._heap, self._clocks, []
        while heap and heap[0][0] <= now:
            _, _, key, clock = heapq.heappop(heap)
            if clocks.get(key) is not clock:
                continue
            fired.append((clock.payload, clock.fire(now)))
            heapq.heappush(heap, (clock.next_due, next(self._order), key, clock))
        return fired

    def __len__(self) -> int:
        return len(self._clocks)
