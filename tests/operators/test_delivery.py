"""The delivery logic at exact times: backoff, failures said once, order, coalescing, summaries, reminders,
maintenance, the monitor watch, and channels at different places in the log. Cursors are plain integers."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime

import pytest

from monitoringapp.domain.config import parse_config
from monitoringapp.domain.events import AlertTransition, TransitionKind, transition_id
from monitoringapp.domain.notices import Notice, NoticeKind, transition_notice
from monitoringapp.domain.notifications import ChannelConfig, MaintenanceWindow
from monitoringapp.operators.delivery import (
    Backoff,
    ChannelDelivery,
    Delivered,
    Deliveries,
    Failing,
    Held,
    Message,
    MonitorNews,
    MonitorWatch,
    Outcome,
    Passed,
    Restored,
    Withheld,
    another_probe,
)

A, B, C = "http://a.test/", "http://b.test/", "http://c.test/"
T0 = 1_795_000_000.0
# random.Random(7)'s first draws are 0.323833, 0.150849, 0.650934, 0.072436, ...: the delays 1·(1 - 0.2·0.323833),
# 2·(1 - 0.2·0.150849), ...
SEED_7_DELAYS = (0.935233, 1.93966, 3.479252, 7.884102, 14.285178, 29.659591, 63.257614, 115.009645, 254.080222,
                 273.981259, 295.808675)


def alert(site: str, at: float, availability: float = 0.5) -> Notice:
    return transition_notice(AlertTransition(at, site, TransitionKind.ALERT, availability, at))


def recovery(site: str, start: float, at: float) -> Notice:
    return transition_notice(AlertTransition(at, site, TransitionKind.RECOVERY, 0.9, start, at))


def channel(name: str = "hook", *, linger: float = 0.0, batch: int = 1, maintenance: tuple[MaintenanceWindow, ...] = (),
            **settings: object) -> ChannelDelivery[int]:
    config = ChannelConfig(name, "http://127.0.0.1:9/", **settings)  # type: ignore[arg-type]
    return ChannelDelivery(config, Backoff(random.Random(7)), maintenance, linger=linger, batch=batch)


def test_backoff_doubles_from_1_s_to_5_min_each_delay_shortened_by_at_most_a_fifth() -> None:
    backoff = Backoff(random.Random(7))
    delays = [backoff.delay(failures) for failures in range(1, 12)]
    assert delays == pytest.approx(SEED_7_DELAYS, abs=1e-6)
    for failures, delay in enumerate(delays, start=1):
        base = min(300.0, 2.0 ** (failures - 1))
        assert 0.8 * base <= delay <= base


def test_a_failing_channel_resends_the_same_message_at_its_backoff_times_says_so_once_and_keeps_order() -> None:
    hook = channel()
    first, second = alert(A, T0), alert(B, T0 + 0.5)
    hook.offer(first, 1, T0)
    assert hook.next_message(T0) == Message("hook", (first,), 1, attempt=1)
    (failing,) = hook.on_failed("HTTP 503", T0 + 0.1)
    assert failing == Failing("hook", "HTTP 503", 1, pytest.approx(T0 + 0.1 + SEED_7_DELAYS[0], abs=1e-6))
    hook.offer(second, 2, T0 + 0.5)
    retry = failing.retry_at
    assert hook.next_wake() == retry
    assert hook.next_message(retry - 0.001) is None
    assert hook.next_message(retry) == Message("hook", (first,), 1, attempt=2)  # the same message, not the newer one
    assert hook.on_failed("cannot connect: Connection refused", retry + 0.2) == []  # said once, not per retry
    second_retry = hook.next_wake()
    assert second_retry == pytest.approx(retry + 0.2 + SEED_7_DELAYS[1], abs=1e-6)
    assert hook.next_message(second_retry - 0.001) is None
    assert hook.next_message(second_retry) == Message("hook", (first,), 1, attempt=3)
    assert hook.on_delivered(second_retry + 0.01) == [Delivered("hook", (first,), 3, second_retry + 0.01),
                                                      Restored("hook", 3, T0 + 0.1)]
    assert hook.next_message(second_retry + 0.01) == Message("hook", (second,), 2, attempt=1)
    assert hook.on_delivered(second_retry + 0.02) == [Delivered("hook", (second,), 1, second_retry + 0.02)]
    assert hook.next_message(second_retry + 10) is None and hook.next_wake() is None


def test_a_channel_failing_before_a_restart_or_reload_says_it_delivers_again_and_its_backoff_goes_on() -> None:
    # Restarted with a fresh count, it delivered without a word: its failure, said on stderr before, was never
    # said to be over.
    hook = channel()
    hook.resume_failing(attempts=4, since=T0 - 60)
    first = alert(A, T0)
    hook.offer(first, 1, T0)
    assert hook.next_message(T0) == Message("hook", (first,), 1, attempt=5)
    assert hook.on_failed("HTTP 500", T0 + 0.1) == []  # said before the restart
    fifth = 16 * (1 - 0.2 * random.Random(7).random())  # the 5th failure's delay, shortened by the first draw
    assert hook.next_wake() == pytest.approx(T0 + 0.1 + fifth, abs=1e-6)
    retry = hook.next_message(T0 + 0.1 + fifth)
    assert retry == Message("hook", (first,), 1, attempt=6)
    assert hook.on_delivered(T0 + 20) == [Delivered("hook", (first,), 6, T0 + 20), Restored("hook", 6, T0 - 60)]


def test_two_channels_one_dead_the_live_one_gets_every_transition_at_the_time_it_is_seen() -> None:
    hub = Deliveries([channel("live"), channel("dead")])
    live: list[tuple[float, str]] = []
    transitions = [AlertTransition(T0 + n, f"http://site{n}.test/", TransitionKind.ALERT, 0.5, T0 + n)
                   for n in range(5)]
    for n, transition in enumerate(transitions):
        now = T0 + n
        hub.on_entries([(transition, n + 1)], now)
        for message in hub.messages(now):
            if message.channel == "dead":
                hub.on_outcome(Outcome("dead", "no answer within 10 s"), now + 10)  # a dead one hangs, then fails
            else:
                live.extend((now, notice.id) for notice in message.notices)
                hub.on_outcome(Outcome("live"), now)
    assert live == [(T0 + n, transition.id) for n, transition in enumerate(transitions)]


def test_a_coalescing_channel_sends_a_burst_as_one_message_1_5_s_after_its_first_notice() -> None:
    mail = channel("mail", linger=1.5, batch=50)
    burst = [alert(f"http://site{n}.test/", T0 + n * 0.02) for n in range(50)]
    for n, notice in enumerate(burst):
        mail.offer(notice, n + 1, T0 + 0.25 + n * 0.02)  # seen from 0.25 s on, the last at 1.23 s
    assert mail.next_wake() == T0 + 1.75
    assert mail.next_message(T0 + 1.7499) is None
    message = mail.next_message(T0 + 1.75)
    assert message is not None and message.notices == tuple(burst) and message.cursor == 50
    mail.on_delivered(T0 + 1.9)
    late = alert(A, T0 + 10)
    mail.offer(late, 51, T0 + 10.25)  # an idle channel lingers again for the next burst
    assert mail.next_message(T0 + 11.74) is None
    assert mail.next_message(T0 + 11.75) == Message("mail", (late,), 51)


def test_a_backlog_turns_outages_older_than_max_age_into_one_summary_each_and_keeps_the_rest() -> None:
    hook = channel(max_age=3600.0)
    now = T0 + 10_000
    a_down, c_down = alert(A, now - 7200), alert(C, now - 7000)
    a_back = recovery(A, now - 7200, now - 6000)
    b_down, b_back = alert(B, now - 4000), recovery(B, now - 4000, now - 100)  # recovered within the hour
    for cursor, notice in enumerate((a_down, c_down, a_back, b_down, b_back), start=1):
        hook.offer(notice, cursor, now)
    sent = []
    while (message := hook.next_message(now)) is not None:
        sent.append((message.notices[0].kind, message.notices[0].site, message.cursor))
        if message.notices[0].kind is NoticeKind.SUMMARY:
            summary = message.notices[0]
        hook.on_delivered(now)
    assert sent == [(NoticeKind.ALERT, C, 2), (NoticeKind.SUMMARY, A, 3), (NoticeKind.ALERT, B, 4),
                    (NoticeKind.RECOVERY, B, 5)]
    assert (summary.start, summary.end, summary.id) == (now - 7200, now - 6000,
                                                         transition_id(A, "local", "summary", now - 7200))


def test_a_recovery_that_grows_old_while_its_channel_fails_is_sent_as_a_summary_after_the_message_in_flight(
        ) -> None:
    hook = channel(max_age=3600.0)
    b_down, a_down, a_back = alert(B, T0), alert(A, T0 + 1), recovery(A, T0 + 1, T0 + 2)
    for cursor, notice in enumerate((b_down, a_down, a_back), start=1):
        hook.offer(notice, cursor, T0 + 2)
    assert hook.next_message(T0 + 2) == Message("hook", (b_down,), 1)
    hook.on_failed("HTTP 502", T0 + 2)
    now = T0 + 2
    while now < T0 + 7300:  # two hours of retries (at most 5 min apart), the receiver still down
        now = hook.next_wake() or math.inf
        message = hook.next_message(now)
        assert message is not None and message.notices == (b_down,)
        hook.on_failed("HTTP 502", now)
    message = hook.next_message(hook.next_wake() or math.inf)
    assert message is not None and message.notices == (b_down,)
    hook.on_delivered(now)
    message = hook.next_message(now)
    assert message is not None and [(n.kind, n.site) for n in message.notices] == [(NoticeKind.SUMMARY, A)]
    assert message.cursor == 3 and hook.on_delivered(now) and hook.next_message(now) is None


def test_an_unresolved_alert_is_reminded_every_period_until_its_recovery() -> None:
    hook = channel(remind_every=3600.0)
    down = alert(A, T0)
    hook.offer(down, 1, T0)
    assert hook.next_message(T0) is not None
    hook.on_delivered(T0)
    assert hook.next_wake() == T0 + 3600
    assert hook.next_message(T0 + 3599.9) is None
    reminders = []
    for at in (T0 + 3600, T0 + 7200):
        message = hook.next_message(at)
        assert message is not None and message.cursor is None
        reminders.append(message.notices[0])
        hook.on_delivered(at)
    assert [(r.kind, r.time, r.start, r.site) for r in reminders] == [
        (NoticeKind.REMINDER, T0 + 3600, T0, A), (NoticeKind.REMINDER, T0 + 7200, T0, A)]
    assert reminders[0].id != reminders[1].id != down.id
    hook.offer(recovery(A, T0, T0 + 8000), 2, T0 + 8000)
    assert hook.next_message(T0 + 8000) is not None
    hook.on_delivered(T0 + 8000)
    assert hook.next_message(T0 + 20_000) is None and hook.next_wake() is None


def test_a_channel_back_after_failing_for_ten_periods_gets_its_alert_then_one_reminder_of_it_not_ten() -> None:
    # Each reminder that fell due while the channel failed was queued: back after ten minutes with remindEvery 60 s,
    # it sent the alert and then a reminder for every minute it had been down, one POST each.
    hook = channel(remind_every=60.0)
    down = alert(A, T0)
    hook.offer(down, 1, T0)
    sent: list[tuple[float, NoticeKind, float]] = []
    for tick in range(4000):  # the graph asks every 0.25 s, and again as soon as a message is delivered
        now = T0 + tick / 4
        while not sent and (message := hook.next_message(now)) is not None:
            if now < T0 + 620:  # the receiver answers 500 for ten minutes and more
                hook.on_failed("HTTP 500", now)
                continue
            sent.extend((now, notice.kind, notice.time) for notice in message.notices)
            hook.on_delivered(now)
            while (message := hook.next_message(now)) is not None:
                sent.extend((now, notice.kind, notice.time) for notice in message.notices)
                hook.on_delivered(now)
    assert [(kind, time - T0) for _, kind, time in sent] == [(NoticeKind.ALERT, 0.0), (NoticeKind.REMINDER, 720.0)]
    assert T0 + 620 < sent[0][0] == sent[1][0] < T0 + 780  # at the first retry after it is back


def test_only_the_open_alerts_of_the_configs_sites_are_reminded_of_not_one_of_a_site_removed_while_down() -> None:
    """A was removed from the config while down: no monitor probes it, so its alert stays open in the log for good.
    The notifier (started, or reloaded, with that config) reminds of B's open alert, not of A's; before, A's was
    reminded of every period for ever. C, not in the notifier's config either, alerts while it runs: a monitor
    judges it (added to -m's config since the notifier read its own), so it is reminded of."""
    hook = ChannelDelivery(ChannelConfig("hook", "http://127.0.0.1:9/", remind_every=600.0),
                           Backoff(random.Random(7)), monitored=frozenset({B}))
    hook.resume_reminders([alert(A, T0), alert(B, T0 + 10)], now=T0 + 100)
    assert hook.next_wake() == T0 + 610
    hook.offer(alert(C, T0 + 200), 1, T0 + 200)
    sent = []
    for at in (T0 + 200, T0 + 610, T0 + 800, T0 + 1210):
        while (message := hook.next_message(at)) is not None:
            sent.extend((n.kind, n.site, n.time - T0) for n in message.notices)
            hook.on_delivered(at)
    assert sent == [(NoticeKind.ALERT, C, 200), (NoticeKind.REMINDER, B, 610), (NoticeKind.REMINDER, C, 800),
                    (NoticeKind.REMINDER, B, 1210)]


def test_reminders_missed_while_the_notifier_was_not_running_are_one_catch_up_not_a_flood() -> None:
    hook = channel(remind_every=600.0)
    hook.resume_reminders([alert(A, T0)], now=T0 + 3000)  # down since T0, notifier restarted at +3000
    assert hook.next_wake() == T0 + 3600
    message = hook.next_message(T0 + 5000)  # stalled past three periods of A: one reminder
    assert message is not None and [(n.site, n.time) for n in message.notices] == [(A, T0 + 4800)]


def test_a_channel_told_of_alerts_only_reminds_of_no_outage_once_it_is_over_however_many_there_were() -> None:
    # `"events": ["alert"]` with `remindEvery`: the recovery, not for this channel, was dropped before it ended its
    # outage's reminders, so every outage was reminded of for ever, one more per outage, as long as the notifier ran.
    hook = channel(events=frozenset({"alert"}), remind_every=3600.0)
    for n in range(50):
        start = T0 + n * 10_000
        down = alert(A, start)
        hook.offer(down, 2 * n, start)
        assert hook.next_message(start) == Message("hook", (down,), 2 * n)
        hook.on_delivered(start)
        assert hook.offer(recovery(A, start, start + 100), 2 * n + 1, start + 100) == []
        assert hook.next_wake() is None
    assert hook.next_message(T0 + 50 * 10_000 + 7200) is None


def test_a_channel_told_of_alerts_only_does_not_deliver_an_alert_held_by_maintenance_whose_site_recovered_in_it(
        ) -> None:
    window = MaintenanceWindow(frozenset({A}), T0 + 100, T0 + 200)
    hook = channel(maintenance=(window,), events=frozenset({"alert"}), remind_every=3600.0)
    down = alert(A, T0 + 150)
    assert hook.offer(down, 1, T0 + 150)[0] == Held("hook", down, "maintenance")
    hook.offer(recovery(A, T0 + 150, T0 + 180), 2, T0 + 180)
    assert hook.next_message(T0 + 200) is None and hook.next_wake() is None


def test_transitions_in_a_maintenance_window_are_held_with_the_recovery_of_an_outage_that_began_in_one() -> None:
    window = MaintenanceWindow(frozenset({A}), T0 + 100, T0 + 200)
    hook = channel(maintenance=(window,))
    a_down, b_down = alert(A, T0 + 150), alert(B, T0 + 150)
    a_back = recovery(A, T0 + 150, T0 + 250)
    assert hook.offer(a_down, 1, T0 + 150) == [Held("hook", a_down, "maintenance"),
                                               Withheld("hook", ((a_down.id, False),))]
    assert hook.offer(b_down, 2, T0 + 150) == []
    assert hook.offer(a_back, 3, T0 + 250) == [Held("hook", a_back, "maintenance"), Withheld("hook", ())]
    a_again = alert(A, T0 + 300)
    assert hook.offer(a_again, 4, T0 + 300) == []
    sent = []
    while (message := hook.next_message(T0 + 300)) is not None:
        sent.extend(message.notices)
        hook.on_delivered(T0 + 300)
    assert sent == [b_down, a_again]


def test_a_certificate_warning_in_a_maintenance_window_is_delivered_at_once_not_held() -> None:
    # It was held, and never delivered: unlike an outage's alert it is not released when the window ends, and the
    # next warning for that certificate comes days later.
    window = MaintenanceWindow(frozenset({A}), T0 + 100, T0 + 200)
    hook = channel(maintenance=(window,))
    not_after = T0 + 14 * 86400
    warning = transition_notice(AlertTransition(T0 + 150, A, TransitionKind.CERTIFICATE, None, not_after,
                                                not_after - 14 * 86400, detail="expires in 13d23h"))
    down = alert(A, T0 + 160)
    assert hook.offer(warning, 1, T0 + 150) == []
    assert hook.offer(down, 2, T0 + 160)[0] == Held("hook", down, "maintenance")
    message = hook.next_message(T0 + 160)
    assert message is not None and (message.notices, message.cursor) == ((warning,), 1)


def test_the_recovery_of_an_alert_delivered_before_a_maintenance_window_is_delivered_though_it_falls_in_one(
        ) -> None:
    # Held for its own time in the window, the recovery never went out: the channel had the alert and kept the
    # site down for good (an incident never resolved).
    window = MaintenanceWindow(frozenset({A}), T0 + 100, T0 + 200)
    hook = channel(maintenance=(window,), remind_every=60.0)
    down = alert(A, T0 + 50)
    assert hook.offer(down, 1, T0 + 50) == []
    assert hook.next_message(T0 + 50) == Message("hook", (down,), 1)
    hook.on_delivered(T0 + 50)
    reminder = hook.next_message(T0 + 110)  # the reminder due in the window is not sent
    assert reminder is None and hook.next_wake() == T0 + 170
    back = recovery(A, T0 + 50, T0 + 150)
    assert hook.offer(back, 2, T0 + 150) == []
    assert hook.next_message(T0 + 150) == Message("hook", (back,), 2)
    hook.on_delivered(T0 + 150)
    assert hook.next_wake() is None  # no reminder of an outage that is over


def test_an_outage_that_outlasts_its_maintenance_window_is_delivered_when_the_window_ends_then_its_recovery(
        ) -> None:
    # Every Sunday 02:00-04:00 UTC; 2026-11-29 is a Sunday.
    (window,) = parse_config(json.dumps({"websites": [{"URL": A}], "maintenance": [
        {"sites": [A], "weekly": "sun 02:00-04:00"}]})).maintenance
    two = datetime(2026, 11, 29, 2, tzinfo=UTC).timestamp()
    hook = channel(maintenance=(window,), remind_every=3600.0)
    down = alert(A, two + 600)
    assert hook.offer(down, 1, two + 600) == [Held("hook", down, "maintenance"), Withheld("hook", ((down.id, False),))]
    assert hook.next_message(two + 600) is None and hook.next_wake() == two + 7200
    assert hook.next_message(two + 7199.9) is None
    assert hook.next_message(two + 7200) == Message("hook", (down,), None)  # the same notice, the same id
    assert hook.on_delivered(two + 7200)[1:] == [Withheld("hook", ((down.id, True),))]
    back = recovery(A, two + 600, two + 8000)
    assert hook.offer(back, 2, two + 8000) == [Withheld("hook", ())]
    assert hook.next_message(two + 8000) == Message("hook", (back,), 2)
    hook.on_delivered(two + 8000)
    assert hook.next_wake() is None  # no reminder of an outage that is over


def test_an_alert_held_when_the_notifier_stopped_is_delivered_at_the_restart_once_its_window_is_gone_then_its_recovery(
        ) -> None:
    # The window removed from the config (a reload, a restart) while its alert was held: the alert's place had been
    # passed, so it was only reminded of (with remindEvery; else nothing at all), and its recovery was delivered.
    window = MaintenanceWindow(frozenset({A}), T0 + 100, T0 + 3600)
    before = channel(maintenance=(window,))
    down = alert(A, T0 + 150)
    assert before.offer(down, 1, T0 + 150)[1:] == [Withheld("hook", ((down.id, False),))]
    assert before.next_message(T0 + 150) is None and before.passed(T0 + 150) == Passed("hook", 1)
    after = channel(remind_every=600.0)  # the window gone; the channel's place is 1
    after.resume_reminders([down], T0 + 300, {down.id: False})
    assert after.next_message(T0 + 300) == Message("hook", (down,), None)  # at once, its own id
    assert after.on_delivered(T0 + 300)[1:] == [Withheld("hook", ((down.id, True),))]
    assert after.next_wake() == T0 + 750  # reminded from its own time, as any alert
    back = recovery(A, T0 + 150, T0 + 400)
    assert after.offer(back, 2, T0 + 400) == [Withheld("hook", ())]
    assert after.next_message(T0 + 400) == Message("hook", (back,), 2)


def test_an_open_alert_held_at_the_start_is_to_be_recorded_before_anything_is_sent_and_again_once_delivered(
        ) -> None:
    window = MaintenanceWindow(frozenset({A}), T0 + 100, T0 + 200)
    hook = channel(maintenance=(window,))
    down = alert(A, T0 + 150)
    assert hook.resume_reminders([alert(B, T0 + 150)], T0 + 160) is None  # delivered before the restart
    assert hook.resume_reminders([down], T0 + 160) == Withheld("hook", ((down.id, False),))
    assert hook.resume_reminders([down], T0 + 160, {down.id: False}) is None  # recorded already
    assert hook.next_message(T0 + 199.9) is None
    assert hook.next_message(T0 + 200) == Message("hook", (down,), None)
    assert hook.on_delivered(T0 + 200)[1:] == [Withheld("hook", ((down.id, True),))]


def test_what_was_held_before_a_restart_decides_the_recovery_the_window_no_longer_does() -> None:
    # Released at its window's end before the restart: the recovery after it was held (it began in the window), and
    # the site, told down, was never told up. Held and its window since removed: the recovery of an alert never told
    # went out.
    window = MaintenanceWindow(frozenset({A, B}), T0 + 100, T0 + 200)
    a_down, b_down = alert(A, T0 + 150), alert(B, T0 + 160)
    a_back, b_back = recovery(A, T0 + 150, T0 + 400), recovery(B, T0 + 160, T0 + 400)
    released = channel(maintenance=(window,))
    released.resume_reminders([], T0 + 300, {a_down.id: True})  # both recovered while the notifier was stopped
    assert released.offer(a_down, 4, T0 + 400) == []  # read again (its place not passed yet): not held nor sent again
    assert released.offer(a_back, 5, T0 + 400) == [Withheld("hook", ())]
    assert released.next_message(T0 + 400) == Message("hook", (a_back,), 5)
    gone = channel()
    gone.resume_reminders([], T0 + 300, {b_down.id: False})
    assert gone.offer(b_back, 5, T0 + 400) == [Held("hook", b_back, "maintenance"), Withheld("hook", ())]
    assert gone.next_message(T0 + 400) is None and gone.passed(T0 + 400) == Passed("hook", 5)


def test_a_channel_keeps_only_its_sites_and_events() -> None:
    hook = channel(sites=frozenset({A}), events=frozenset({"recovery"}))
    hook.offer(alert(A, T0), 1, T0)
    hook.offer(recovery(B, T0 - 10, T0), 2, T0)
    back = recovery(A, T0, T0 + 5)
    hook.offer(back, 3, T0 + 5)
    assert hook.next_message(T0 + 5) == Message("hook", (back,), 3)


def test_the_monitor_watch_says_stale_once_after_the_threshold_and_resumed_at_the_next_probe() -> None:
    watch = MonitorWatch(60.0)
    assert watch.on_latest_probe(None, T0) is None  # no monitor has stored anything yet
    assert watch.on_latest_probe(T0, T0 + 60) is None  # exactly the threshold is not stale
    stale = watch.on_latest_probe(T0, T0 + 60.5)
    assert stale is not None and (stale.kind, stale.time, stale.start) == (NoticeKind.MONITOR_STALE, T0 + 60, T0)
    assert watch.on_latest_probe(T0, T0 + 500) is None
    resumed = watch.on_latest_probe(T0 + 900, T0 + 901)
    assert resumed is not None and (resumed.kind, resumed.start, resumed.end) == (NoticeKind.MONITOR_RESUMED, T0,
                                                                                 T0 + 900)
    assert MonitorWatch(60.0, announced=T0).on_latest_probe(T0, T0 + 500) is None  # told before a restart


def test_a_monitor_stopped_before_the_clock_stepped_back_an_hour_is_stale_a_threshold_after_the_step() -> None:
    # The last probe (T0) is an hour ahead of the stepped clock: `now - latest` is negative for the hour.
    watch = MonitorWatch(60.0)
    assert watch.on_latest_probe(T0, T0 + 1) is None
    assert watch.on_latest_probe(T0, T0 - 3600) is None  # the step: silent from here, on this clock
    assert watch.on_latest_probe(T0, T0 - 3600 + 60) is None
    stale = watch.on_latest_probe(T0, T0 - 3600 + 60.5)
    assert stale is not None and (stale.kind, stale.time, stale.start) == (NoticeKind.MONITOR_STALE, T0 - 3540, T0)
    # It starts again, stamping by the stepped clock: its probes are before the one the stale was told of.
    resumed = watch.on_latest_probe(T0 - 3000, T0 - 2999, {})
    assert resumed is not None and (resumed.kind, resumed.start, resumed.end) == (NoticeKind.MONITOR_RESUMED, T0,
                                                                                 T0 - 3000)


def test_a_monitor_storing_through_a_step_back_of_the_clock_is_not_stale_and_is_when_it_stops() -> None:
    watch = MonitorWatch(60.0)
    for second in range(0, 120, 5):
        assert watch.on_latest_probe(T0 + second, T0 + second + 0.5) is None
    # Stepped back an hour: the log's last probe is the newest by time no more, but it changes.
    for second in range(0, 300, 5):
        assert watch.on_latest_probe(T0 - 3600 + second, T0 - 3600 + second + 0.5) is None
    last = T0 - 3600 + 295
    assert watch.on_latest_probe(last, last + 60) is None
    stale = watch.on_latest_probe(last, last + 61)
    assert stale is not None and (stale.kind, stale.time, stale.start) == (NoticeKind.MONITOR_STALE, last + 60, last)


def test_a_resumption_after_a_step_back_is_told_at_the_probe_that_ended_it_not_at_one_from_before_the_step() -> None:
    # A monitor ran past a step back and stopped at `last`; the log holds probes stamped after `last` from before
    # the step, which the first probe after `last` would find: not the resumption.
    last = T0 - 3600 + 295
    hub = Deliveries([channel("hook")], {"hook": MonitorWatch(60.0, announced=last)})
    assert hub.resumptions_to_find(last) == set() and hub.resumptions_to_find(last - 100) == {last}
    (news,) = hub.on_latest_probe(last - 100, last + 200, {last: T0 + 5})
    assert isinstance(news, MonitorNews)
    assert (news.notice.kind, news.notice.start, news.notice.time) == (NoticeKind.MONITOR_RESUMED, last, last - 100)


def test_a_stale_told_before_a_restart_is_the_same_probe_to_the_millisecond_the_state_file_keeps() -> None:
    # The state file keeps the last probe's time to the millisecond; read back, it is the same probe.
    assert not another_probe(T0 + 0.1234, T0 + 0.123) and another_probe(T0 + 0.124, T0 + 0.123)
    assert MonitorWatch(60.0, announced=T0 + 0.123).on_latest_probe(T0 + 0.1234, T0 + 500) is None


def test_monitoring_resumed_at_the_first_probe_after_the_gap_not_when_the_resumption_is_noticed() -> None:
    # Noticed at T0 + 905 (a check every 5 s, or a notifier restarted long after), the newest probe is T0 + 904;
    # monitoring resumed at the first probe after the gap, T0 + 900.
    hub = Deliveries([channel("hook")], {"hook": MonitorWatch(60.0, announced=T0)})
    assert hub.resumptions_to_find(None) == set() and hub.resumptions_to_find(T0) == set()
    assert hub.resumptions_to_find(T0 + 904) == {T0}
    (news,) = hub.on_latest_probe(T0 + 904, T0 + 905, {T0: T0 + 900})
    assert isinstance(news, MonitorNews)
    resumed = news.notice
    assert (resumed.kind, resumed.start, resumed.time, resumed.end) == (NoticeKind.MONITOR_RESUMED, T0, T0 + 900,
                                                                        T0 + 900)
    assert hub.resumptions_to_find(T0 + 910) == set()  # told: not stale any more


def test_monitor_news_goes_to_every_channel_that_wants_it() -> None:
    quiet = channel("quiet", events=frozenset({"alert"}))
    hub = Deliveries([channel("hook"), quiet], {"hook": MonitorWatch(60.0), "quiet": MonitorWatch(60.0)})
    events = hub.on_latest_probe(T0, T0 + 61)
    assert [type(event) for event in events] == [MonitorNews]
    assert [(m.channel, m.notices[0].kind) for m in hub.messages(T0 + 61)] == [("hook", NoticeKind.MONITOR_STALE)]


def test_each_channel_is_told_of_the_monitor_by_its_own_watch_said_once_for_all() -> None:
    # One watch for all, marked as told when the stale was seen: a channel failing then, and the notifier
    # restarted, was never told (and got the monitor-resumed of a stale it never had).
    told, failing = channel("told"), channel("failing")
    hub = Deliveries([told, failing], {"told": MonitorWatch(60.0, announced=T0), "failing": MonitorWatch(60.0)})
    events = hub.on_latest_probe(T0, T0 + 100)
    (news,) = events
    assert isinstance(news, MonitorNews) and (news.notice.kind, news.notice.start) == (NoticeKind.MONITOR_STALE, T0)
    assert [(m.channel, m.notices) for m in hub.messages(T0 + 100)] == [("failing", (news.notice,))]
    hub.on_outcome(Outcome("failing"), T0 + 100)
    events = hub.on_latest_probe(T0 + 150, T0 + 151)
    assert [e.notice.kind for e in events if isinstance(e, MonitorNews)] == [NoticeKind.MONITOR_RESUMED]
    assert [m.channel for m in hub.messages(T0 + 151)] == ["told", "failing"]


def test_each_channel_gets_only_the_entries_after_its_own_place_in_the_log() -> None:
    hub: Deliveries[int] = Deliveries([channel("ahead"), channel("behind", batch=10)], starts={"ahead": 5, "behind": 2},
                                      after=lambda cursor, place: cursor > place)
    entries = [(AlertTransition(T0 + n, A, TransitionKind.ALERT, 0.5, T0 + n), n) for n in range(3, 7)]
    hub.on_entries(entries, T0 + 10)
    sent = {message.channel: [n.time for n in message.notices] for message in hub.messages(T0 + 10)}
    assert sent == {"ahead": [T0 + 6], "behind": [T0 + 3, T0 + 4, T0 + 5, T0 + 6]}


def test_a_certificate_warning_is_a_notice_of_its_own_for_the_channels_that_want_it_and_a_silence_is_none() -> None:
    everything, alerts_only = channel("all"), channel("alerts", events=frozenset({"alert"}))
    hub = Deliveries([everything, alerts_only])
    warning = AlertTransition(T0, A, TransitionKind.CERTIFICATE, None, T0 + 6 * 86400, T0 - 86400,
                              detail="expires in 6d00h")
    silent = AlertTransition(T0, A, TransitionKind.SILENT, None, T0, None, "eu")
    down = AlertTransition(T0 + 1, A, TransitionKind.ALERT, 0.5, T0 + 1, detail='$.status is "error", expected "ok"')
    hub.on_entries([(warning, 1), (silent, 2), (down, 3)], T0 + 1)
    sent = {message.channel: message for message in hub.messages(T0 + 1)}
    assert [(n.kind, n.id, n.detail) for n in sent["all"].notices] == [
        (NoticeKind.CERTIFICATE, warning.id, "expires in 6d00h")]
    assert [(n.kind, n.detail) for n in sent["alerts"].notices] == [
        (NoticeKind.ALERT, '$.status is "error", expected "ok"')]
    body = sent["all"].notices[0].body()
    assert (body["kind"], body["start"], body["detail"]) == ("certificate", "2026-11-24T11:06:40.000Z",
                                                             "expires in 6d00h")


def entry(site: str, at: float) -> AlertTransition:
    return AlertTransition(at, site, TransitionKind.ALERT, 0.5, at)


def test_a_channel_passes_over_what_is_not_for_it_at_most_once_every_5_s_and_only_while_idle() -> None:
    # Its place stayed at its last delivery: each restart read the log again from there.
    hub = Deliveries([channel("a-only", sites=frozenset({A}))])
    hub.on_entries([(entry(B, T0 + k), k) for k in range(1, 1001)], T0 + 1000)
    assert hub.passes(T0 + 1000) == [Passed("a-only", 1000)]  # one write for a thousand entries
    hub.on_entries([(entry(B, T0 + 1001), 1001)], T0 + 1001)
    assert hub.passes(T0 + 1004.9) == []  # batched: not before 5 s after the last
    assert hub.passes(T0 + 1005) == [Passed("a-only", 1001)]
    assert hub.passes(T0 + 1020) == []  # nothing passed over since


def test_a_notice_queued_or_failing_holds_the_place_until_it_is_delivered() -> None:
    # Killed between the read and the delivery, the restart must read A's alert again: the place never passes it.
    hub = Deliveries([channel("a-only", sites=frozenset({A}))])
    hub.on_entries([(entry(B, T0), 1), (entry(A, T0 + 1), 2), (entry(B, T0 + 2), 3)], T0 + 2)
    assert hub.passes(T0 + 2) == []  # A's alert is queued
    (sent,) = hub.messages(T0 + 2)
    assert sent.cursor == 2
    assert hub.passes(T0 + 2) == []  # ... then in flight
    hub.on_outcome(Outcome("a-only", "HTTP 503"), T0 + 3)
    hub.on_entries([(entry(B, T0 + 4), 4)], T0 + 4)
    assert hub.passes(T0 + 4) == []  # ... then failing
    (retry,) = hub.messages(T0 + 4)
    hub.on_outcome(Outcome("a-only"), T0 + 4.5)
    assert (retry.cursor, hub.passes(T0 + 4.5)) == (2, [Passed("a-only", 4)])  # delivered: on past B's


def test_a_notice_for_the_channel_after_those_it_passed_over_moves_the_place_itself() -> None:
    hub = Deliveries([channel("a-only", sites=frozenset({A}))])
    hub.on_entries([(entry(B, T0), 1), (entry(A, T0 + 1), 2)], T0 + 1)
    (message,) = hub.messages(T0 + 1)
    hub.on_outcome(Outcome("a-only"), T0 + 1)
    assert (message.cursor, hub.passes(T0 + 1)) == (2, [])
