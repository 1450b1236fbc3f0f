"""The console: aligned report tables, '-' for what is unknown, the seed's messages, colour only on a terminal."""

from __future__ import annotations

import io
import os

import pytest

from monitoringapp.domain.events import AlertTransition, ErrorKind, Report, Stall, TransitionKind, WindowStats
from monitoringapp.domain.notices import reminder_notice, transition_notice
from monitoringapp.sinks.console import Console, ReportContext, report_lines, stall_line, transition_line
from monitoringapp.sinks.notice_text import notice_line
from monitoringapp.sinks.table import display_width, format_table

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
        "Website http://a.test/ is down. availability=66.6%, time=2025-11-24T16:00:00.000Z"
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


def test_no_color_turns_colour_off_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            assert not Console(terminal).colour
            monkeypatch.setenv("NO_COLOR", "")  # empty: as if unset (no-color.org)
            assert Console(terminal).colour
    finally:
        os.close(leader)
        os.close(follower)


# ---- reports that fit the terminal -------------------------------------------------------------------------

WIDE_REPORT = Report(T0, 120.0, (
    stats("http://localhost:8000/health", 10, 0, 1.1, status_counts=((503, 10),), current_downtime=19.0,
          since_last_failure=1.0),
    stats("http://127.0.0.1:8000/", 6, 6, 1.4, status_counts=((200, 6),)),
))


def test_a_report_wider_than_the_terminal_takes_two_lines_per_site_within_the_width() -> None:
    wide = report_lines(WIDE_REPORT)
    assert max(map(len, wide)) > 80  # one line per site: as wide as it needs
    lines = report_lines(WIDE_REPORT, width=80)
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    assert lines[0] == wide[0]
    # Each site's URL and codes on one line, its numbers on the next, in the header's columns.
    assert lines[1].split() == ["site", "codes", "errors"]
    assert lines[2].split() == ["checks", "avail", "ms", "min", "avg", "p50", "p90", "p99", "max", "down", "for",
                                "last", "fail"]
    assert lines[3].split() == ["http://127.0.0.1:8000/", "200:6", "-"]
    assert lines[4].split() == ["6", "100.0%", "1.4", "1.4", "1.4", "1.4", "1.4", "1.4", "-", "-"]
    assert lines[5].split() == ["http://localhost:8000/health", "503:10", "-"]
    assert lines[6].split() == ["10", "0.0%", "1.1", "1.1", "1.1", "1.1", "1.1", "1.1", "19s", "1s"]
    header = lines[2]
    for column in ("checks", "avail", "max", "last fail"):  # right-aligned columns still end together
        end = header.index(column) + len(column)
        assert lines[4][end - 1] != " " and lines[6][end - 1] != " "


def test_a_long_url_is_shortened_with_the_full_one_in_a_footnote() -> None:
    long_url = "http://a-very-long-host-name.example.com/with/a/long/path/to/the/health/endpoint?check=full"
    report = Report(T0, 120.0, (stats(long_url, 3, 3, 2.0, status_counts=((200, 3),)),
                                stats("http://b.test/", 3, 3, 2.0, status_counts=((200, 3),))))
    lines = report_lines(report, width=150)
    assert max(map(len, lines)) <= 150, "\n".join(lines)
    assert long_url not in lines[2] and lines[2].split()[0].endswith("…[1]")
    assert lines[-1] == f"[1] {long_url}"
    assert lines[3].split()[0] == "http://b.test/"


def test_wide_characters_keep_the_columns_aligned() -> None:
    report = Report(T0, 120.0, (stats("http://例え.jp/", 3, 3, 2.0), stats("http://plain.test/", 3, 3, 2.0)))
    lines = report_lines(report)
    assert display_width(lines[1]) == display_width(lines[2]) == display_width(lines[3])
    assert lines[1].index("checks") + 6 == display_width(lines[2][:lines[2].index("3") + 1])
    assert display_width("例え") == 4 and display_width("é") == 1 and display_width("e\u0301") == 1


# ---- what a report covers, and how fresh it is ---------------------------------------------------------------


def test_a_report_over_a_window_only_partly_covered_says_how_much() -> None:
    report = Report(T0, 120.0, (stats("http://a.test/", 5, 5, 1.0),))
    assert report_lines(report, context=ReportContext(data_since=T0 - 10))[0] == (
        "== past 2m00s at 2025-11-24T16:00:00.000Z (10s of it covered) ==")
    assert report_lines(report, context=ReportContext(data_since=T0 - 300))[0] == (
        "== past 2m00s at 2025-11-24T16:00:00.000Z ==")


def test_a_report_over_a_window_the_monitor_did_not_run_in_says_only_the_rest_is_covered_and_the_stall_is_told(
) -> None:
    # After a `kill -STOP` of 90 s, the reports said "(1m40s of it covered)" of a window with 10 s of probes.
    report = Report(T0, 120.0, (stats("http://a.test/", 13, 13, 1.0),))
    console = Console(io.StringIO(), colour=False)
    console.report_context.data_since = T0 - 100
    stall = Stall(T0 - 92.5, T0 - 2.5)
    console.show_stall(stall)
    assert report_lines(report, context=console.report_context)[0] == (
        "== past 2m00s at 2025-11-24T16:00:00.000Z (10s of it covered) ==")
    # A stall partly before the window, and the window reaching back before any data: the rest of it.
    console.report_context.data_since = T0 - 3600
    console.show_stall(Stall(T0 - 130, T0 - 110))
    assert report_lines(report, context=console.report_context)[0] == (
        "== past 2m00s at 2025-11-24T16:00:00.000Z (20s of it covered) ==")
    # Stopped for longer than the window: its checks are from before it, and it holds none.
    console.show_stall(Stall(T0 - 200, T0 - 0.5))
    assert report_lines(Report(T0, 120.0, ()), context=console.report_context) == [
        "== past 2m00s at 2025-11-24T16:00:00.000Z (0s of it covered) ==", "(no checks in this window)"]
    assert console.stream.getvalue().splitlines()[0] == stall_line(stall) == (  # type: ignore[attr-defined]
        "no check made from 2025-11-24T15:58:27.500Z to 2025-11-24T15:59:57.500Z (1m30s): the monitor did not run "
        "(stopped, its VM paused or its host starved); the checks due meanwhile are skipped, not made up")


def _stored_last(last: float, seen: float, stale_after: float = 15) -> ReportContext:
    """A reader's context that saw, at `seen`, that the probe stored last was stamped `last`."""
    context = ReportContext(data_since=T0 - 3600, stale_after=stale_after)
    context.stored.saw(last, seen)
    return context


def test_a_readers_report_of_stale_data_says_the_monitor_may_have_stopped() -> None:
    stale = _stored_last(T0 - 372, T0 - 372)
    report = Report(T0, 120.0, (stats("http://a.test/", 5, 0, 1.0, current_downtime=400.0),))
    lines = report_lines(report, context=stale)
    assert lines[-1] == "(no probe stored for 6m12s: is the monitor running?)"
    assert report_lines(Report(T0, 120.0, ()), context=stale)[1:] == [
        "(no checks in this window; no probe stored for 6m12s: is the monitor running?)"]
    fresh = _stored_last(T0 - 2, T0 - 2)
    assert report_lines(report, context=fresh)[-1].startswith("http://a.test/")
    assert report_lines(Report(T0, 120.0, ()), context=fresh)[1:] == ["(no checks in this window)"]
    assert report_lines(Report(T0, 120.0, ()))[1:] == ["(no checks yet)"]


def test_after_a_step_back_of_the_clock_a_reader_times_the_silence_from_when_it_saw_the_last_probe() -> None:
    # The monitor stored its last probe at T0, then the clock stepped back an hour: `now - last` is negative
    # for the hour. 20 s of this reader's clock with the same last probe is stale; a new one stamped by the
    # stepped clock is fresh.
    context = _stored_last(T0, T0 + 0.5)
    context.stored.clock_reads(T0 - 3600)  # at a report: nothing new in the log to read
    report = Report(T0 - 3600 + 10, 120.0, (stats("http://a.test/", 5, 0, 1.0),))
    assert report_lines(report, context=context)[-1].startswith("http://a.test/")
    later = Report(T0 - 3600 + 20, 120.0, (stats("http://a.test/", 5, 0, 1.0),))
    assert report_lines(later, context=context)[-1] == "(no probe stored for 20s: is the monitor running?)"
    context.stored.saw(T0 - 3600 + 19, T0 - 3600 + 20)
    assert report_lines(later, context=context)[-1].startswith("http://a.test/")


def test_an_alert_seen_long_after_its_check_says_both_times() -> None:
    alert = AlertTransition(T0, "http://a.test/", TransitionKind.ALERT, 0.5, start=T0)
    assert transition_line(alert, seen=T0 + 30.25) == (
        "Website http://a.test/ is down. availability=50.0%, time=2025-11-24T16:00:00.000Z "
        "(seen 2025-11-24T16:00:30.250Z, 30s after the check)")
    assert transition_line(alert, seen=T0 + 0.4) == transition_line(alert)  # the seed's line when prompt


def test_a_certificate_warning_and_the_reason_of_an_alert_in_the_live_format() -> None:
    expires = 1_796_551_200.0  # 2026-12-06T10:00:00Z
    warning = AlertTransition(expires - 6 * 86400 - 23 * 3600, "https://shop.test/", TransitionKind.CERTIFICATE,
                              None, expires, expires - 7 * 86400)
    assert transition_line(warning) == ("Website https://shop.test/ certificate expires in 6d23h "
                                        "(2026-12-06T10:00:00.000Z)")
    expired = AlertTransition(expires + 3600, "https://shop.test/", TransitionKind.CERTIFICATE, None, expires, expires)
    assert transition_line(expired) == ("Website https://shop.test/ certificate expired 1h00m ago "
                                        "(2026-12-06T10:00:00.000Z)")
    down = AlertTransition(expires, "shop", TransitionKind.ALERT, 0.5, expires, detail='bodyContains "ok" not found')
    assert transition_line(down) == ('Website shop is down. availability=50.0%, time=2026-12-06T10:00:00.000Z, '
                                     'reason: bodyContains "ok" not found')
    assert notice_line(transition_notice(warning)) == transition_line(warning)


def test_an_alert_just_below_its_threshold_never_reads_as_the_threshold() -> None:
    # 79.96 % is below the 80 % alertThreshold: "is down. availability=80.0%" would contradict the line.
    alert = AlertTransition(T0, "http://a.test/", TransitionKind.ALERT, 0.7996, start=T0)
    located = AlertTransition(T0, "http://a.test/", TransitionKind.LOCATION_ALERT, 0.7996, start=T0, location="eu")
    recovery = AlertTransition(T0 + 60, "http://a.test/", TransitionKind.RECOVERY, 0.7996, start=T0, end=T0 + 60)
    assert "availability=79.9%," in transition_line(alert)
    assert "availability=79.9%," in transition_line(located)
    assert "availability=80.0%," in transition_line(recovery)  # at or above a recoveryThreshold: the nearest
    notice = transition_notice(alert)
    assert notice_line(notice) == transition_line(alert)
    assert "is still down. availability=79.9%," in notice_line(reminder_notice(notice, T0 + 3600))
