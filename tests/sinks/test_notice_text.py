"""The monitor's own notices as people read them, also across a step back of the clock."""

from __future__ import annotations

from monitoringapp.domain.notices import monitor_resumed_notice, monitor_stale_notice
from monitoringapp.sinks.notice_text import notice_line

T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z


def test_the_monitor_stale_and_resumed_lines_say_since_when_and_for_how_long() -> None:
    assert notice_line(monitor_stale_notice(T0, T0 + 60)) == (
        "No probe stored since 2026-11-18T11:06:40.000Z (1m00s): is the monitor running? "
        "time=2026-11-18T11:07:40.000Z")
    assert notice_line(monitor_resumed_notice(T0, T0 + 900)) == (
        "Probes are stored again. time=2026-11-18T11:21:40.000Z, none stored since 2026-11-18T11:06:40.000Z (15m00s)")


def test_after_a_step_back_of_the_clock_the_lines_say_so_not_0s() -> None:
    # The last probe was stamped an hour ahead of the clock that noticed the silence, and of the resumption.
    assert notice_line(monitor_stale_notice(T0 + 3600, T0 + 60)) == (
        "No probe stored since 2026-11-18T12:06:40.000Z (stamped 59m00s ahead of this clock, which was stepped back "
        "since): is the monitor running? time=2026-11-18T11:07:40.000Z")
    assert notice_line(monitor_resumed_notice(T0 + 3600, T0 + 70)) == (
        "Probes are stored again. time=2026-11-18T11:07:50.000Z, none stored since 2026-11-18T12:06:40.000Z "
        "(stamped before the clock was stepped back)")
