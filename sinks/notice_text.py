"""Notices as people read them: one line each, in the seed's words, and a title for a message of several."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.domain.notices import Notice, NoticeKind
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.sinks.console import percent, transition_line

_TRANSITION_OF = {NoticeKind.ALERT: TransitionKind.ALERT, NoticeKind.RECOVERY: TransitionKind.RECOVERY,
                  NoticeKind.CERTIFICATE: TransitionKind.CERTIFICATE}


def notice_line(notice: Notice) -> str:
    """`Website {URL} is down. availability=..., time=...` and its siblings; alerts and recoveries exactly as
    the monitor's console prints them."""
    time = iso_utc(notice.time)
    if notice.kind in _TRANSITION_OF:
        assert notice.shown_site is not None and notice.start is not None
        return transition_line(AlertTransition(notice.time, notice.shown_site, _TRANSITION_OF[notice.kind],
                                               notice.availability, notice.start, notice.end, notice.location,
                                               notice.detail))
    start = iso_utc(notice.start) if notice.start is not None else "-"
    if notice.kind is NoticeKind.REMINDER:
        why = f", reason: {notice.detail}" if notice.detail else ""
        availability = percent(notice.availability, below=True)  # still down: below the threshold
        return (f"Website {notice.shown_site} is still down. availability={availability}, time={time}, "
                f"down since {start} ({_since(notice)}){why}")
    if notice.kind is NoticeKind.SUMMARY:
        end = iso_utc(notice.end) if notice.end is not None else "-"
        return (f"Website {notice.shown_site} was down from {start} to {end} ({_lasted(notice)}) and recovered. "
                f"availability={percent(notice.availability)}")
    # The last probe stamped after the notice: the clock was stepped back since (`operators.store_silence`), and
    # a duration between the two would be 0s.
    ahead = notice.start - notice.time if notice.start is not None and notice.start > notice.time else None
    if notice.kind is NoticeKind.MONITOR_STALE:
        since = f"stamped {format_duration(ahead)} ahead of this clock, which was stepped back since" if ahead else (
            _since(notice))
        return f"No probe stored since {start} ({since}): is the monitor running? time={time}"
    lasted = "stamped before the clock was stepped back" if ahead else _lasted(notice)
    return f"Probes are stored again. time={time}, none stored since {start} ({lasted})"


def message_title(notices: Sequence[Notice]) -> str:
    """`monitoringApp: Website X is down` for one notice; `monitoringApp: 3 alert, 1 recovery` for several."""
    if len(notices) == 1:
        notice = notices[0]
        what = {NoticeKind.ALERT: "is down", NoticeKind.RECOVERY: "recovered", NoticeKind.REMINDER: "is still down",
                NoticeKind.SUMMARY: "was down and recovered",
                NoticeKind.CERTIFICATE: "certificate expires soon"}.get(notice.kind)
        if what is not None:
            return f"monitoringApp: {notice.shown_site} {what}"
        return f"monitoringApp: {notice.kind.value}"
    counts = Counter(notice.kind.value for notice in notices)
    return "monitoringApp: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())


def message_body(notices: Sequence[Notice]) -> str:
    return "\n".join(notice_line(notice) for notice in notices)


def _since(notice: Notice) -> str:
    return format_duration(notice.time - notice.start) if notice.start is not None else "-"


def _lasted(notice: Notice) -> str:
    return format_duration(notice.end - notice.start) if notice.start is not None and notice.end is not None else "-"
