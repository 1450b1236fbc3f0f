"""A reader's place in the log: why it cannot be read, each reason once while it lasts, and again once it recurs."""

from __future__ import annotations

from collections.abc import Iterator

from monitoringapp.store.log import BEGINNING, Cursor, LogUnavailable, Page
from monitoringapp.streams.log_tail import LogTail


def test_a_reason_is_said_once_while_the_log_cannot_be_read_and_again_after_it_was_read_in_between() -> None:
    # The history read, NATS away (polled three times), back, away again: each outage said once.
    answers: Iterator[str | None] = iter([None, "unreachable", "unreachable", "unreachable", None, None,
                                          "unreachable", "unreachable"])

    def read(cursor: Cursor = BEGINNING) -> Page[int]:
        reason = next(answers)
        if reason is not None:
            raise LogUnavailable(reason)
        return Page([], Cursor("log", 1, None))

    tail: LogTail[int] = LogTail(read, read)
    news = [tail.poll() for _ in range(8)]
    assert [item.waiting if item is not None else None for item in news] == [
        None, "unreachable", None, None, None, None, "unreachable", None]
    assert news[0] is not None and news[0].history  # the history, empty, is news once
