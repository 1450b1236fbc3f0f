"""`FixedGrids` without Rx: many fixed-rate clocks by key, each on its own grid, handed out together when due."""

from __future__ import annotations

import pytest

from monitoringapp.streams.grids import FixedGrids, Tick


def test_each_clock_ticks_on_its_own_grid_and_clocks_due_together_come_out_together() -> None:
    grids: FixedGrids[str, str] = FixedGrids()
    grids.start("a", 2.0, at=10.0, payload="A")
    grids.start("b", 3.0, at=10.0, payload="B")
    assert grids.next_due() == 10.0
    assert grids.due(10.0) == [("A", Tick(10.0)), ("B", Tick(10.0))]
    assert grids.next_due() == 12.0
    assert grids.due(11.9) == []
    assert grids.due(12.0) == [("A", Tick(12.0))]
    assert grids.due(13.0) == [("B", Tick(13.0))]
    assert grids.due(14.0) == [("A", Tick(14.0))]
    assert grids.due(16.0) == [("B", Tick(16.0)), ("A", Tick(16.0))]  # b last ticked before a


def test_a_clock_a_whole_period_late_drops_those_ticks_and_says_how_many() -> None:
    grids: FixedGrids[str, str] = FixedGrids()
    grids.start("a", 3.5, at=200.0, payload="A")
    assert grids.due(200.0) == [("A", Tick(200.0))]
    assert grids.due(203.5) == [("A", Tick(203.5))]
    # Woken at 217 (a stall): 207 and 210.5 are over a period late, dropped; 214 runs late, then the grid goes on.
    assert grids.due(217.0) == [("A", Tick(214.0, missed=2))]
    assert grids.next_due() == 217.5


def test_a_re_timed_clock_starts_a_new_grid_and_a_stopped_one_never_ticks_again() -> None:
    grids: FixedGrids[str, str] = FixedGrids()
    grids.start("a", 2.0, at=0.0, payload="A")
    grids.start("b", 2.0, at=0.0, payload="B")
    grids.due(0.0)
    grids.start("a", 5.0, at=1.0, payload="A5")  # re-timed at 1: ticks at 1, 6, 11, ...
    grids.stop("b")
    grids.stop("nothing")
    assert len(grids) == 1
    assert [grids.due(t) for t in (1.0, 6.0, 11.0)] == [[("A5", Tick(1.0))], [("A5", Tick(6.0))], [("A5", Tick(11.0))]]
    grids.stop("a")
    assert grids.next_due() is None and grids.due(100.0) == []


def test_a_thousand_clocks_on_one_grid_keep_their_order_and_never_drift() -> None:
    grids: FixedGrids[int, int] = FixedGrids()
    for n in range(1000):
        grids.start(n, 0.1, at=0.0, payload=n)
    for k in range(1001):
        fired = grids.due(k * 0.1)  # 0.1 * k, never 0.1 + 0.1 + ...: exactly the grid
        assert [payload for payload, _ in fired] == list(range(1000))
        assert {tick for _, tick in fired} == {Tick(k * 0.1)}


@pytest.mark.parametrize("period", [0.0, -1.0])
def test_a_period_must_be_positive(period: float) -> None:
    with pytest.raises(ValueError):
        FixedGrids[str, str]().start("a", period, at=0.0, payload="A")
