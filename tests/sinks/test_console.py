"""The console: aligned report tables, '-' for what is unknown, the seed's messages, colour only on a terminal."""

from __future__ import annotations

import io
import os

from monitoringapp.domain.events import AlertTransition, ErrorKind, Report, TransitionKind, WindowStats
from monitoringapp.sinks.console import Console, report_lines, transition_line
from monitoringapp.sinks.table import format_table

T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z


def stats(host: str, checks: int, available: int, rt: float | None, **extra: object) -> WindowStats:
    fields: dict[str, object] = dict(
        host=host, span=120.0, now=T0, checks=checks, available=available,
        rt_min=rt, rt_avg=rt, rt_p50=rt, rt_p90=rt, rt_p99=rt, rt_max=rt,
        status_counts=(), error_counts=(), current_downtime=None, since_last_failure=None)
    fields.update(extra)
    return WindowStats(**fields)  # type: ignore[arg-type]


def test_format_table_pads_columns_to_the_widest_cell_numbers_right() -> None:
    lines = format_table(("name", "n"), [["a", "1"], ["longer", "100"]], (False, True))
    assert lines == ["name      n", "a         1", "longer  100"]


def test_report_is_an_aligned_table_sorted_by_site_with_dashes_for_none() -> None:
    report = Report(T0, 120.0, (
        stats("http://z.test/", 10, 10, 12.25, status_counts=((200, 10),)),
        stats("http://a.test/", 4, 0, None, error_counts=((ErrorKind.TIMEOUT, 3), (ErrorKind.DNS, 1)),
              current_downtime=65.0, since_last_failure=2.0),
    ))
    lines = report_lines(report)
    assert lines[0] == "== past 2m00s at 2025-11-24T16:00:00.000Z =="
    assert lines[1].split() == ["site", "checks", "avail", "min", "ms", "avg", "ms", "p50", "ms", "p90", "ms",
                                "p99", "ms", "max", "ms", "codes", "errors", "down", "for", "last", "fail"]
    assert lines[2].split() == ["http://a.test/", "4", "0.0%", "-", "-", "-", "-", "-", "-", "-",
                                "timeout:3", "dns:1", "1m05s", "2s"]
    assert lines[3].split() == ["http://z.test/", "10", "100.0%", "12.2", "12.2", "12.2", "12.2", "12.2", "12.2",
                                "200:10", "-", "-", "-"]
    # Right-aligned columns end at the same place on every line.
    header = lines[1]
    for column in ("checks", "avail", "max ms"):
        end = header.index(column) + len(column)
        assert all(line[end - 1] != " " and (len(line) == end or line[end] == " ") for line in lines[1:])
    assert "inf" not in "\n".join(lines) and "nan" not in "\n".join(lines)


def test_a_report_without_checks_says_so() -> None:
    assert report_lines(Report(T0, 3600.0, ())) == ["== past 1h00m at 2025-11-24T16:00:00.000Z ==",
                                                   "(no checks yet)"]


def test_the_seed_messages_for_an_alert_and_a_recovery() -> None:
    alert = AlertTransition(T0, "http://a.test/", TransitionKind.ALERT, 2 / 3, start=T0)
    recovery = AlertTransition(T0 + 126.5, "http://a.test/", TransitionKind.RECOVERY, 0.8, start=T0, end=T0 + 126.5)
    assert transition_line(alert) == \
        "Website http://a.test/ is down. availability=66.7%, time=2025-11-24T16:00:00.000Z"
    assert transition_line(recovery) == (
        "Website http://a.test/ recovered. availability=80.0%, time=2025-11-24T16:02:06.500Z, "
        "down since 2025-11-24T16:00:00.000Z (2m06s)")


def test_plain_text_when_piped_colour_when_asked() -> None:
    alert = AlertTransition(T0, "http://a.test/", TransitionKind.ALERT, 0.5, start=T0)
    piped = io.StringIO()
    Console(piped).show_transition(alert)
    assert piped.getvalue() == transition_line(alert) + "\n"
    asked = io.StringIO()
    Console(asked, colour=True).show_transition(alert)
    assert asked.getvalue() == f"\033[31m{transition_line(alert)}\033[0m\n"


def test_colour_by_default_on_a_terminal() -> None:
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            console = Console(terminal)
            assert console.colour
            console.show_report(Report(T0, 120.0, ()))
        output = os.read(leader, 4096).decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert output.startswith("\033[1m== past 2m00s")


def test_a_console_whose_reader_has_gone_closes_once_and_drops_later_writes() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w")
    closed: list[bool] = []
    console = Console(stream, colour=False, on_closed=lambda: closed.append(True))
    console.info("first line")      # EPIPE: the console closes instead of raising
    console.info("second line")     # dropped
    assert console.closed and closed == [True]
    stream.close()                  # the descriptor now goes to /dev/null: no BrokenPipeError at exit
