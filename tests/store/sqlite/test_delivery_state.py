"""The notifier's state file: progress per channel kept across a reopen, never the monitor's database, no
file changed when it is refused, and writes after close dropped (the next start sends that message again)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from monitoringapp.store.delivery_state import ChannelProgress
from monitoringapp.store.log import Cursor, StoreError
from monitoringapp.store.sqlite.delivery_state import SqliteDeliveryState
from monitoringapp.store.sqlite.schema import open_for_writing

T0 = 1_790_000_000.0


def test_progress_of_each_channel_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "notify.db"
    state = SqliteDeliveryState(path)
    state.started("hook", Cursor("log-1", 7, T0))
    state.started("mail", Cursor("log-1", 7, T0))
    state.failed("hook", 3, "HTTP 503")
    state.delivered("mail", Cursor("log-1", 9, T0 + 2), "id-9", T0 + 3)
    state.delivered("mail", None, "reminder-id", T0 + 4)  # a reminder: the place in the log stays
    state.passed("mail", Cursor("log-1", 12, T0 + 5))  # entries not for it: the place moves, its last delivery stays
    state.set_flag("monitorStale", "2026-11-30T00:00:00.000Z")
    state.close()
    state.failed("hook", 4, "after close")  # dropped, not an error
    again = SqliteDeliveryState(path)
    assert again.progress() == {
        "hook": ChannelProgress("hook", Cursor("log-1", 7, T0), None, 3, "HTTP 503", None),
        "mail": ChannelProgress("mail", Cursor("log-1", 12, T0 + 5), "reminder-id", 0, None, T0 + 4),
    }
    assert again.flag("monitorStale") == "2026-11-30T00:00:00.000Z"
    again.set_flag("monitorStale", None)
    assert again.flag("monitorStale") is None
    again.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("make", "message"), [
    ("monitor", "is a monitor's database; the notifier keeps its state in a file of its own (--state)"),
    ("text", "cannot use as the notifier's state file: file is not a database"),
])
def test_a_file_that_is_not_a_state_file_is_refused_untouched(tmp_path: Path, make: str, message: str) -> None:
    path = tmp_path / "m.db"
    if make == "monitor":
        open_for_writing(path).close()
    else:
        path.write_text("notes\n" * 1000)
    before = (digest(path), sorted(p.name for p in tmp_path.iterdir()))
    with pytest.raises(StoreError) as raised:
        SqliteDeliveryState(path)
    assert str(raised.value) == f"{path}: {message}"
    assert (digest(path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_a_second_notifier_on_the_same_state_file_is_refused_naming_the_first_until_it_closes(
        tmp_path: Path) -> None:
    # Unlocked, two notifiers on one state file both delivered every transition: each message twice.
    path = tmp_path / "m-notify.db"
    first = SqliteDeliveryState(path)
    with pytest.raises(StoreError) as raised:
        SqliteDeliveryState(path)
    assert re.fullmatch(rf"{re.escape(str(path))} is already being written by process {os.getpid()} \(started "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)", str(raised.value)), raised.value
    first.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-notify.db"]
    SqliteDeliveryState(path).close()
