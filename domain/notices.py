"""What the notifier tells people: one `Notice` per alert, recovery, reminder, summary or word about the monitor.

A notice's `id` is derived from what it says, never from where or when it was sent, so the same notice sent
twice (a crash between a delivery and its record) carries the same id and a receiver drops the second. A
notice of a stored transition has the transition's own id (`AlertTransition.id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from monitoringapp.domain.events import LOCAL, AlertTransition, TransitionKind, transition_id
from monitoringapp.domain.sites import shown_url
from monitoringapp.domain.timefmt import iso_utc

WEBHOOK_VERSION = 1
"""The `version` of the webhook's JSON body; a change that is not an addition bumps it."""


class NoticeKind(StrEnum):
    ALERT = "alert"
    RECOVERY = "recovery"
    REMINDER = "reminder"  # an alert still unresolved, every `remindEvery`
    SUMMARY = "summary"  # an alert and its recovery both older than `maxAge`, told as one outage
    MONITOR_STALE = "monitor-stale"  # no probe stored for a while: is the monitor running?
    MONITOR_RESUMED = "monitor-resumed"  # probes stored again after a monitor-stale
    CERTIFICATE = "certificate"  # a site's certificate within one of its warning days (`start`: its notAfter)


MONITOR_SITE = ""
"""The `site` part of the id of a notice about the monitor itself."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell, as the webhook's body says it. `site` is None for a notice about the monitor."""

    id: str
    kind: NoticeKind
    time: float
    site: str | None = None
    availability: float | None = None
    start: float | None = None
    end: float | None = None
    location: str = LOCAL
    detail: str | None = None  # why the site is down (an alert), when its certificate expires (a warning)

    @property
    def shown_site(self) -> str | None:
        """The site as every output shows it: a password in its URL as `***`."""
        return None if self.site is None else shown_url(self.site)

    def body(self) -> dict[str, Any]:
        """The webhook's JSON object (README: "Notifications")."""
        return {"version": WEBHOOK_VERSION, "id": self.id, "kind": self.kind.value, "site": self.shown_site,
                "availability": self.availability, "time": iso_utc(self.time),
                "start": None if self.start is None else iso_utc(self.start),
                "end": None if self.end is None else iso_utc(self.end), "location": self.location,
                "detail": self.detail}

    @property
    def outage(self) -> tuple[str | None, str, float | None]:
        """The outage a site's notice is about: its alert, reminders, recovery and summary share it."""
        return self.site, self.location, self.start


_NOTICE_OF = {TransitionKind.ALERT: NoticeKind.ALERT, TransitionKind.RECOVERY: NoticeKind.RECOVERY,
              TransitionKind.CERTIFICATE: NoticeKind.CERTIFICATE}


TOLD = frozenset(_NOTICE_OF)
"""The transition kinds told to people; the others (a location gone silent, one location's own view) are not:
the site's own alert says what matters."""


def transition_notice(transition: AlertTransition) -> Notice:
    """The notice of a stored alert, recovery or certificate warning (a kind in `TOLD`), with the transition's
    id."""
    kind = _NOTICE_OF[transition.kind]
    return Notice(transition.id, kind, transition.timestamp, transition.host, transition.availability,
                  transition.start, transition.end, transition.location, transition.detail)


def summary_notice(recovery: Notice) -> Notice:
    """An old outage told as one line: from its alert (`start`) to its recovery (`end`)."""
    assert recovery.site is not None and recovery.start is not None
    return Notice(transition_id(recovery.site, recovery.location, NoticeKind.SUMMARY, recovery.start),
                  NoticeKind.SUMMARY, recovery.time, recovery.site, recovery.availability, recovery.start,
                  recovery.end, recovery.location)


def reminder_notice(alert: Notice, at: float) -> Notice:
    """The reminder due at `at` of an alert still unresolved (its id names the alert and `at`)."""
    assert alert.site is not None
    return Notice(transition_id(alert.site, alert.location, NoticeKind.REMINDER, at), NoticeKind.REMINDER, at,
                  alert.site, alert.availability, alert.start, None, alert.location, alert.detail)


def monitor_stale_notice(last_probe: float, stale_at: float) -> Notice:
    """No probe stored since `last_probe`; stale from `stale_at` on."""
    return Notice(transition_id(MONITOR_SITE, LOCAL, NoticeKind.MONITOR_STALE, last_probe),
                  NoticeKind.MONITOR_STALE, stale_at, start=last_probe)


def monitor_resumed_notice(last_probe: float, resumed: float) -> Notice:
    """Probes stored again from `resumed` on, after none since `last_probe`."""
    return Notice(transition_id(MONITOR_SITE, LOCAL, NoticeKind.MONITOR_RESUMED, last_probe),
                  NoticeKind.MONITOR_RESUMED, resumed, start=last_probe, end=resumed)
