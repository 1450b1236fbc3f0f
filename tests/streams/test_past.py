"""A restart's past read back in the background: newest first, a chunk at a time, never more than a few read
ahead of what the clock has taken; a log that cannot be read gives no past rather than an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from reactivex.scheduler import HistoricalScheduler, ImmediateScheduler

from monitoringapp.domain.events import LastOutcomes, OutcomesBefore, PastChunk, Probe
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.past import LoggedPast, OutcomesPast

A, B = "http://a.test/", "http://b.test/"
T0 = 1_790_000_000.0


def test_chunks_come_newest_first_read_at_most_two_ahead_of_the_clock(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "m.db", flush_interval=30.0)
    for t in range(100):
        for host in (A, B):
            log.append_probe(Probe(T0 + t, host, True, 200, 1.0))
    log.close()
    reader = SqliteLogReader(tmp_path / "m.db")
    clock = HistoricalScheduler(datetime(2026, 1, 1, tzinfo=UTC))
    seen: list[tuple[PastChunk, int]] = []  # each chunk, and how many chunks had been read when it came
    done: list[bool] = []
    past = LoggedPast(reader, frozenset({A, B}), T0 + 9, T0 + 99, rows=30)
    past.chunks(ImmediateScheduler(), clock, ahead=2).subscribe(lambda chunk: seen.append((chunk, reader.reads)),
                                                                on_completed=lambda: done.append(True))
    assert seen == []  # delivered on the clock, not on the reading thread
    clock.advance_by(timedelta(seconds=1))
    reader.close()
    assert done == [True]
    assert len(seen) > 3
    assert all(taken <= reads <= taken + 1 for taken, (_, reads) in enumerate(seen, 1))  # the one taken, one more
    chunks = [chunk for chunk, _ in seen]
    assert sum(len(site) for chunk in chunks for site in chunk.sites) == 2 * 90  # (T0 + 9, T0 + 99]
    assert [chunk.probes for chunk in chunks] == [sum(len(site) for c in chunks[:n + 1] for site in c.sites)
                                                  for n in range(len(chunks))]
    reached = [chunk.reached for chunk in chunks]
    assert reached == sorted(reached, reverse=True) and reached[-1] == T0 + 10
    assert 0 < chunks[0].done < chunks[-1].done == (99 - 10) / 90  # the oldest probe read is at T0 + 10


def test_a_log_that_cannot_be_read_gives_no_past(tmp_path: Path) -> None:
    reader = SqliteLogReader(tmp_path / "missing.db")
    clock = HistoricalScheduler(datetime(2026, 1, 1, tzinfo=UTC))
    seen: list[PastChunk] = []
    done: list[bool] = []
    LoggedPast(reader, frozenset({A}), T0, T0 + 60).chunks(ImmediateScheduler(), clock).subscribe(
        seen.append, on_completed=lambda: done.append(True))
    clock.advance_by(timedelta(seconds=1))
    assert (seen, done) == ([], [True])


def test_the_outcomes_from_before_are_read_once_and_delivered_on_the_clock_or_none_if_the_log_cannot_be_read(
        tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "m.db", flush_interval=30.0)
    log.append_probe(Probe(T0, A, True, 200, 1.0))
    log.append_probe(Probe(T0 + 1, A, False, 503, 1.0))
    log.append_probe(Probe(T0 + 2, B, True, 200, 1.0))
    log.close()
    clock = HistoricalScheduler(datetime(2026, 1, 1, tzinfo=UTC))
    got: list[OutcomesBefore] = []
    done: list[bool] = []
    reader = SqliteLogReader(tmp_path / "m.db")
    OutcomesPast(reader, frozenset({A}), T0 + 5).read(ImmediateScheduler(), clock).subscribe(
        got.append, on_completed=lambda: done.append(True))
    missing = SqliteLogReader(tmp_path / "none.db")  # not created yet: no outcomes, no error
    OutcomesPast(missing, frozenset({A}), T0 + 5).read(ImmediateScheduler(), clock).subscribe(
        got.append, on_completed=lambda: done.append(True))
    assert got == []  # delivered on the clock, not on the reading thread
    clock.advance_by(timedelta(seconds=1))
    reader.close()
    assert got == [OutcomesBefore(T0 + 5, (LastOutcomes(A, T0, T0 + 1, T0 + 1),))]
    assert done == [True, True]
