"""A prober's spool on a real file: order kept, bounded by dropping the oldest, kept across a restart."""

from __future__ import annotations

from pathlib import Path

from monitoringapp.store.sqlite.spool import ProbeSpool


def message(n: int) -> tuple[str, str, bytes]:
    return "monitor.probe.00.eu", f"id{n}", f"payload {n}".encode()


def test_messages_come_out_in_the_order_they_went_in_and_go_once_acknowledged(tmp_path: Path) -> None:
    spool = ProbeSpool(tmp_path / "spool.db", capacity=100)
    spool.push([message(n) for n in range(5)])
    first = spool.peek(3)
    assert [mid for _, _, mid, _ in first] == ["id0", "id1", "id2"] and spool.count == 5
    spool.remove_through(first[-1][0])
    assert [mid for _, _, mid, _ in spool.peek(10)] == ["id3", "id4"] and spool.count == 2


def test_past_its_capacity_the_oldest_are_dropped_and_counted(tmp_path: Path) -> None:
    spool = ProbeSpool(tmp_path / "spool.db", capacity=3)
    spool.push([message(n) for n in range(2)])
    spool.push([message(n) for n in range(2, 6)])
    assert [mid for _, _, mid, _ in spool.peek(10)] == ["id3", "id4", "id5"]
    assert (spool.count, spool.dropped) == (3, 3)


def test_what_a_stopped_prober_left_waits_for_the_next_run(tmp_path: Path) -> None:
    spool = ProbeSpool(tmp_path / "spool.db", capacity=10)
    spool.push([message(1), message(2)])
    spool.close()
    again = ProbeSpool(tmp_path / "spool.db", capacity=10)
    assert again.count == 2 and [p for _, _, _, p in again.peek(5)] == [b"payload 1", b"payload 2"]
