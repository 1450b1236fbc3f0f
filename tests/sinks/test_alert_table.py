"""The alert history table: one line per row, or two on a terminal too narrow for one."""

from __future__ import annotations

import io

import pytest

from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.sinks.alert_table import AlertLog
from monitoringapp.sinks.console import Console
from monitoringapp.sinks.table import display_width

T0 = 1_764_000_000.0
HOST = "http://localhost:8000/health"
ROWS = (AlertTransition(T0, HOST, TransitionKind.ALERT, 2 / 3, start=T0),
        AlertTransition(T0 + 130, HOST, TransitionKind.RECOVERY, 0.8, start=T0, end=T0 + 130))


def shown(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    out = io.StringIO()
    table = AlertLog(Console(out), "-- following --")
    table.show(ROWS[:1])
    table.show(ROWS[1:])
    return out.getvalue().splitlines()


def test_piped_one_line_per_row_as_wide_as_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = shown(None, monkeypatch)
    assert len(lines) == 4 and max(map(display_width, lines)) > 80
    assert lines[1].split() == ["2025-11-24T16:00:00.000Z", HOST, "alert", "2025-11-24T16:00:00.000Z", "-", "-",
                                "66.6%", "-"]


def test_a_columns_that_is_no_number_is_left_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    # "²" is a digit to str.isdigit(), not a number to int(): as if COLUMNS were unset (piped: one line a row).
    assert shown("²", monkeypatch) == shown(None, monkeypatch)


def test_on_80_columns_each_row_takes_two_lines_that_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = shown("80", monkeypatch)
    assert max(map(display_width, lines)) <= 80, "\n".join(lines)
    assert [line.split() for line in lines] == [
        ["time", "host", "type", "availability"],
        ["start", "end", "duration", "detail"],
        ["2025-11-24T16:00:00.000Z", HOST, "alert", "66.6%"],
        ["2025-11-24T16:00:00.000Z", "-", "-", "-"],
        ["--", "following", "--"],
        ["2025-11-24T16:02:10.000Z", HOST, "recovery", "80.0%"],
        ["2025-11-24T16:00:00.000Z", "2025-11-24T16:02:10.000Z", "2m10s", "-"],
    ]


def test_a_certificate_row_shows_when_its_warning_fell_due_as_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    expires = T0 + 6 * 86400
    warning = AlertTransition(T0, "https://shop.test/", TransitionKind.CERTIFICATE, None, expires,
                              expires - 7 * 86400, detail="expires in 6d00h")
    out = io.StringIO()
    AlertLog(Console(out), "-- following --").show([warning])
    assert out.getvalue().splitlines()[1].split() == [
        "2025-11-24T16:00:00.000Z", "https://shop.test/", "certificate", "2025-11-30T16:00:00.000Z",
        "2025-11-23T16:00:00.000Z", "-", "-", "expires", "in", "6d00h"]
