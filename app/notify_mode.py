"""`-a --notify`: deliver every alert and recovery in the log to the config's notification channels, until
SIGINT or SIGTERM. The config file is followed as `-m` follows it (read again every half second, and at once on
SIGHUP): a new version's channels are applied as a restart would apply them.

A separate process that only reads the monitor's database; its own progress (a cursor per channel) is in its
state file. One line per delivery on stdout unless `--silent`; a channel's failures on stderr, once per
change (failing, delivering again).
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject

from monitoringapp.app.config_warnings import read_config_and_warn, warning_lines
from monitoringapp.app.lifecycle import Hup, Lifecycle, Stopper, dispose_after_its_tick, run_once, run_until_stopped
from monitoringapp.app.options import NotifyOptions
from monitoringapp.domain.config import Config, ConfigError, some_of
from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.domain.notices import NoticeKind, transition_notice
from monitoringapp.domain.notifications import ChannelConfig, channel_tokens, expand_url
from monitoringapp.domain.secrets import MissingVariable, Secrets
from monitoringapp.domain.sites import shown_log
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.graph.notifier import NotifierNews, Progress, notifications
from monitoringapp.operators.delivery import (
    BATCH,
    LINGER,
    Backoff,
    ChannelDelivery,
    Delivered,
    Deliveries,
    Failing,
    Held,
    Message,
    MonitorNews,
    MonitorWatch,
    Passed,
    Restored,
)
from monitoringapp.sinks.channels import Channel, DeliveryFailed, open_channel
from monitoringapp.sinks.console import Console
from monitoringapp.sinks.notice_text import notice_line
from monitoringapp.store import open_delivery_state, open_log_reader
from monitoringapp.store.delivery_state import DeliveryState
from monitoringapp.store.log import (
    BEGINNING,
    Cursor,
    LogNotCreated,
    LogUnavailable,
    StoreError,
    earliest,
    is_after,
)
from monitoringapp.streams.config_state import ConfigBack, ConfigRejected
from monitoringapp.streams.config_watch import ConfigUpdate, config_updates
from monitoringapp.streams.log_tail import LogNews, UnavailableReasons
from monitoringapp.streams.wall_clock import WallClockScheduler
from monitoringapp.transport.proxies import Proxies

STALE_FLAG = "monitorStale"
"""Before each channel had its own (`stale_flag`): the stale told, to every channel; read once, then dropped."""
FAILING_FLAG = "failingSince"
"""The state file's flag of when a channel began failing (`failing_flag`)."""
WITHHELD_FLAG = "withheld"
"""The state file's flag of the alerts a channel holds by maintenance (`withheld_flag`)."""
# On a stop, how long a message in flight may take to land and be recorded (a later one is sent again at
# the next start: the one repeat a stop allows).
_DRAIN = 2.0
# On a reload, the same; longer, as the notifier goes on: a webhook's whole answer is bounded by its 10 s timeout,
# so it lands and is recorded before the channels start again from the state file, and is not sent twice.
_RELOAD_DRAIN = 12.0
# On a reload, how long a log that cannot be read (NATS unreachable or electing a leader, a file being replaced) is
# waited for before the reload is refused: the main thread waits, and the channels of the running config go on.
_RELOAD_PATIENCE = 10.0
# How often a reload's drain looks whether a stop has been asked.
_STOP_POLL = 0.05

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Target:
    """A configured channel, opened: where it sends, and the secrets its URL holds."""

    config: ChannelConfig
    channel: Channel
    secrets: Secrets


def run_notifier(options: NotifyOptions) -> int:
    # Before its lifecycle begins (the log waited for at start: NATS unreachable), SIGTERM stops it as Ctrl-C does
    # (a KeyboardInterrupt, exit 0 for this mode), not by its default action (killed, exit 143).
    return run_once(lambda: _notify(options))


def _notify(options: NotifyOptions) -> int:
    config = read_config_and_warn(options.config)
    # Webhooks, and apprise's services, send through the environment's proxies (requests reads them): one no request
    # can go through is refused here, as `-m` refuses it, not a traceback at the first delivery that shows its password.
    Proxies.from_environment()
    targets = open_targets(config, os.environ)
    log = open_log_reader(options.database, options.nats)
    console = None if options.silent else Console()
    errors = Console(sys.stderr, colour=False)
    say = console.info if console is not None else _say_nothing
    where = shown_log(options.database, options.nats)

    def log_now() -> tuple[Cursor, dict[str, AlertTransition]]:
        """Where the log ends (a new channel starts there), and each site's last transition (an open alert's
        reminders go on)."""
        return log.transitions_end(), log.last_transitions()

    not_created: tuple[Cursor, dict[str, AlertTransition]] = (BEGINNING, {})  # all the log will hold is new

    # A database that cannot be used is refused before the state file is created. Waited for here, before the
    # lifecycle begins, where SIGTERM and Ctrl-C interrupt the wait (`run_once`).
    # Why the log cannot be read goes to stderr with the channels' failures: nothing is delivered meanwhile, and under
    # `--silent` stderr is all there is.
    end, latest = when_readable(log_now, not_created, errors.info, where)
    state = open_delivery_state(options.state)
    if console is not None:
        console.info(f"notifying {len(targets)} channel(s) of the transitions in {where} (state in {options.state}); "
                     "Ctrl-C to stop; the config file is followed (kill -HUP reads it at once)")
    show = _on_news(console, errors)

    def deliver_from(config: Config, targets: list[Target], end: Cursor, latest: Mapping[str, AlertTransition],
                     lifecycle: Lifecycle) -> _Delivering:
        """Deliver to `targets` from each channel's place in the state file (a new one: `end`) until stopped, the
        reminders of the open alerts among `latest` going on. Reads nothing of the log: the thread that runs this
        (the main one at start, the config watch's at a reload) never waits here."""
        failing = failing_channels(state, [target.config.name for target in targets])
        starts = start_cursors(end, state, [target.config.name for target in targets], console, failing)
        # Told of the monitor: the channels that want it.
        announced = stale_announced(state, [t.config.name for t in targets if "monitor-stale" in t.config.events])
        withheld = {target.config.name: withheld_alerts(state, target.config.name) for target in targets}
        open_alerts = [transition_notice(t) for t in latest.values() if t.kind is TransitionKind.ALERT]
        now = time.time()
        master = random.Random()  # each channel's jitter from its own generator (tests seed theirs)

        def make_deliveries() -> Deliveries[Cursor]:
            channels = [channel_delivery(target.config, config, random.Random(master.random())) for target in targets]
            for channel in channels:
                held = channel.resume_reminders(open_alerts, now, withheld[channel.name])
                if held is not None:  # recorded before anything is sent, as the graph records what it holds later
                    record_progress(held)
                if channel.name in failing:  # said to be failing before: said again once it delivers
                    channel.resume_failing(*failing[channel.name])
            watches = {name: MonitorWatch(stale_after(config), told) for name, told in announced.items()}
            return Deliveries(channels, watches, starts, is_after)

        secrets = Secrets.of(secret for target in targets for secret in target.secrets.values) + config.secrets
        in_flight = _InFlight()
        deliver = _deliverer({target.config.name: target.channel for target in targets}, state, secrets, in_flight)
        record_progress = _progress_recorder(state)
        clock = WallClockScheduler()
        workers = {target.config.name: WallClockScheduler() for target in targets}
        subscription = notifications(log, make_deliveries, deliver, earliest(list(starts.values())), clock,
                                     workers, record_progress=record_progress).subscribe(show, lifecycle.fail)

        def stop(drain: float, stopping: Callable[[], bool]) -> None:
            subscription.dispose()
            dispose_after_its_tick(clock)
            if in_flight.count:  # said, as -m says its probes in flight: a stop or reload that waits says why
                say(f"waiting up to {drain:g}s for {_messages(in_flight.count)} in flight")
            if not in_flight.wait_idle(drain, stopping):
                say(f"{_messages(in_flight.count)} in flight abandoned: sent again when its channel starts again")
            for worker in workers.values():
                dispose_after_its_tick(worker)  # a delivery's observer may be between two of its items
            _close(targets)

        return _Delivering(config, stop)

    def start(lifecycle: Lifecycle) -> Stopper:
        if console is not None:
            console.on_closed = lifecycle.stop  # `-a --notify | head`: the reader has gone
            lifecycle.stop_when(console.reader_gone)  # ... even while nothing is delivered
        running = deliver_from(config, targets, end, latest, lifecycle)
        # The config file followed as `-m` and `-w` follow it (read again every half second and on SIGHUP): a
        # notifier only told by SIGHUP kept the intervals it started with, and after `-m` took longer ones from the
        # same edit, told every channel `monitor-stale` a minute later.
        watch = WallClockScheduler()
        reloading = threading.Lock()  # a reload on the watch's thread, and the stop on the main thread
        # A version not applied for want of the log, applied at the next SIGHUP if no newer one comes (the file,
        # unchanged, brings nothing new to apply).
        not_applied: Config | None = None
        reloads = 0

        def reload(new: Config) -> None:
            """A new version of the config: its channels and maintenance applied as a restart would (each channel
            from its place in the state file, a new one from the end of the log), or, if it cannot run, refused
            in one line while the running config stays in force. Neither its wait for the log nor its drain holds
            up a stop: both give up once one is asked, and the stop is then acted on."""
            nonlocal running, not_applied, reloads
            with reloading:
                if lifecycle.stop_asked():
                    return
                reloads += 1
                if new is not not_applied:
                    warnings = warning_lines(new)  # every version's, as at start
                    if warnings:
                        errors.write(warnings)
                not_applied = None
                change = notifier_change(running.config, new)
                if change is None:
                    say(f"config reloaded: {options.config}: nothing the notifier uses changed (channels, sites, "
                        "maintenance, stale after)")
                    return
                try:
                    new_targets = open_targets(new, os.environ)
                except ConfigError as error:
                    errors.info(f"config rejected: {error}; the running config stays in force")
                    return
                try:
                    now_end, now_latest = when_readable(log_now, not_created, errors.info, where,
                                                        patience=_RELOAD_PATIENCE, stopping=lifecycle.stop_asked)
                except StoreError as error:
                    _close(new_targets)
                    not_applied = new
                    errors.info(f"config not reloaded: {error}; the running config stays in force")
                    return
                running.stop(_RELOAD_DRAIN, lifecycle.stop_asked)
                if lifecycle.stop_asked():  # stopped within the stop's own drain: nothing new to start
                    _close(new_targets)
                    running = _Delivering(running.config, _stopped)
                    return
                say(f"config reloaded: {change}")
                running = deliver_from(new, new_targets, now_end, now_latest, lifecycle)

        def on_update(update: ConfigUpdate) -> None:
            if isinstance(update, ConfigRejected):
                errors.info(f"config rejected: {update.error}; the running config stays in force")
            elif isinstance(update, ConfigBack):
                errors.info(update.message())
            else:
                reload(update)

        pokes: Subject[None] = Subject()

        def on_hup(_: None) -> None:
            """SIGHUP, on the watch's thread: the file read at once, and a version the log kept from being applied
            tried again if the file brought none newer."""
            before = reloads
            pokes.on_next(None)
            if not_applied is not None and reloads == before:
                reload(not_applied)

        following = CompositeDisposable(
            config_updates(options.config, watch, pokes=pokes, running=config,
                           probing=False).subscribe(on_update, lifecycle.fail),
            lifecycle.hups.pipe(ops.observe_on(watch)).subscribe(on_hup, lifecycle.fail))

        def stop() -> None:
            following.dispose()
            with reloading:  # a reload under way gives up, the stop being asked
                running.stop(_DRAIN, _never)
            dispose_after_its_tick(watch)
            state.close()
            log.close()

        return stop

    return run_until_stopped(start, hup=Hup.RELOAD)


@dataclass(frozen=True, slots=True)
class _Delivering:
    """The channels of `config` being delivered to; `stop(drain, stopping)` waits up to `drain` seconds for a message
    in flight (once `stopping()`, up to the stop's own drain), then closes them."""

    config: Config
    stop: Callable[[float, Callable[[], bool]], None]


def _stopped(drain: float, stopping: Callable[[], bool]) -> None:
    """The stop of channels stopped already."""


def _close(targets: Sequence[Target]) -> None:
    for target in targets:
        target.channel.close()


def _never() -> bool:
    return False


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


def _messages(count: int) -> str:
    return f"{count} message{'s' if count != 1 else ''}"


def notifier_change(old: Config, new: Config) -> str | None:
    """What a reload changes for the notifier, in words (None: nothing it uses): channels added, removed and
    changed by name, the sites whose open alerts are reminded of, the maintenance windows, and when the monitor
    counts as stale."""
    before = {channel.name: channel for channel in old.notifications}
    after = {channel.name: channel for channel in new.notifications}
    parts = [f"{sign}{len(names)} ({', '.join(names)})" for sign, names in (
        ("+", [name for name in after if name not in before]),
        ("-", [name for name in before if name not in after]),
        ("~", [name for name in after if name in before and _channel_settings(after[name])
               != _channel_settings(before[name])])) if names]
    said = [f"channels {', '.join(parts)}"] if parts else []
    # Only the config's sites' open alerts are reminded of: a site removed while down is reminded of no more.
    sites = [f"{sign}{len(keys)} ({some_of(sorted(keys))})" for sign, keys in (
        ("+", new.keys - old.keys), ("-", old.keys - new.keys)) if keys]
    if sites:
        said.append(f"sites {', '.join(sites)}")
    if new.maintenance != old.maintenance:
        said.append("maintenance changed")
    if stale_after(new) != stale_after(old):
        said.append(f"stale after {stale_after(new):g} s")
    return "; ".join(said) or None


def _channel_settings(channel: ChannelConfig) -> ChannelConfig:
    return replace(channel, entry="")  # where the config gives it is no setting


def open_targets(config: Config, environ: Mapping[str, str]) -> list[Target]:
    """Each configured channel opened, its `${NAME}`s taken from `environ`; ConfigError naming the entry."""
    if not config.notifications:
        raise ConfigError(f'{config.source}: "notifications" is missing: list the channels to deliver to')
    targets = []
    for channel in config.notifications:
        try:
            url, secrets = expand_url(channel.url, environ)
        except MissingVariable as missing:
            raise ConfigError(f"{config.source}: {channel.entry}.url: {missing}") from None
        try:
            opened = open_channel(url, channel.webhook)
        except ValueError as error:
            raise ConfigError(f"{config.source}: {channel.entry}.url: {secrets.redact(str(error))}") from None
        except ImportError:
            raise ConfigError(f"{config.source}: {channel.entry}.url: a non-http channel needs apprise "
                              "(pip install apprise)") from None
        targets.append(Target(channel, opened, secrets + Secrets.of(channel_tokens(channel.url))))
    return targets


def channel_delivery(channel: ChannelConfig, config: Config, rng: random.Random) -> ChannelDelivery[Cursor]:
    """A webhook sends each notice at once; any other channel coalesces a burst into one message."""
    if channel.webhook:
        return ChannelDelivery(channel, Backoff(rng), config.maintenance, monitored=config.keys)
    return ChannelDelivery(channel, Backoff(rng), config.maintenance, linger=LINGER, batch=BATCH,
                           monitored=config.keys)


def stale_after(config: Config) -> float:
    """No probe stored for this long means the monitor is not running: max(3 times the longest interval, 60 s)."""
    return max(60.0, 3 * max(site.check_interval for site in config.sites))


def start_cursors(end: Cursor, state: DeliveryState, names: Sequence[str], console: Console | None,
                  failing: Mapping[str, tuple[int, float]]) -> dict[str, Cursor]:
    """Each channel's place: where its state file says, or, for a channel seen for the first time, `end`, the
    end of the log at start (it does not page anyone for history), recorded at once. `failing`: the channels
    failing when the notifier stopped (`failing_channels`), said so as they resume."""
    progress = state.progress()
    starts: dict[str, Cursor] = {}
    for name in names:
        if name in progress:
            starts[name] = progress[name].cursor
            if console is not None:
                last = progress[name].delivered_at
                attempts, since = failing.get(name, (0, None))
                console.info(f"channel {name}: resuming where it stopped"
                             + (f" (last delivery {iso_utc(last)})" if last is not None else "")
                             + (f", failing since {iso_utc(since)} after {_attempts(attempts)}: "
                                f"{progress[name].last_error}" if since is not None else ""))
            continue
        state.started(name, end)
        starts[name] = end
        if console is not None:
            console.info(f"channel {name}: new, " + (
                "starts at the beginning of the log, not created yet (all it will hold is new)" if end == BEGINNING
                else "starts at the end of the log (nothing stored before now is sent)"))
    return starts


def stale_flag(channel: str) -> str:
    """The state file's flag of the monitor-stale `channel` was delivered (the last probe's time), until the
    monitor-resumed is."""
    return f"{STALE_FLAG}:{channel}"


def failing_flag(channel: str) -> str:
    """The state file's flag of when `channel` began failing, until it delivers again."""
    return f"{FAILING_FLAG}:{channel}"


def failing_channels(state: DeliveryState, names: Sequence[str]) -> dict[str, tuple[int, float]]:
    """The channels among `names` that were failing when the notifier stopped: their failed attempts in a row, and
    since when (a state file of a version that kept no such time has none: the channel starts afresh)."""
    progress = state.progress()
    failing: dict[str, tuple[int, float]] = {}
    for name in names:
        since = state.flag(failing_flag(name)) if name in progress and progress[name].attempts else None
        if since is not None:
            failing[name] = (progress[name].attempts, parse_iso(since))
    return failing


def withheld_flag(channel: str) -> str:
    """The state file's flag of the alerts `channel` holds by maintenance (`operators.delivery.Withheld`)."""
    return f"{WITHHELD_FLAG}:{channel}"


def withheld_alerts(state: DeliveryState, channel: str) -> dict[str, bool]:
    """The alerts `channel` held by maintenance before it stopped, by id: True once delivered at their window's end."""
    recorded = state.flag(withheld_flag(channel))
    return {str(alert): bool(went) for alert, went in json.loads(recorded).items()} if recorded else {}


def stale_announced(state: DeliveryState, names: Sequence[str]) -> dict[str, float | None]:
    """Each channel's monitor-stale delivered and not yet followed by its monitor-resumed: its last probe's
    time, or None. A state file of a version with one flag for all channels has it taken as each one's."""
    shared = state.flag(STALE_FLAG)
    announced: dict[str, float | None] = {}
    for name in names:
        told = state.flag(stale_flag(name))
        if told is None and shared:
            state.set_flag(stale_flag(name), told := shared)
        announced[name] = parse_iso(told) if told else None
    if shared is not None:
        state.set_flag(STALE_FLAG, None)
    return announced


def when_readable(read: Callable[[], R], absent: R, say: Callable[[str], None], where: str, *,
                  busy_for: float = 5.0, pause: float = 0.1, patience: float | None = None,
                  stopping: Callable[[], bool] = _never) -> R:
    """`read()` once the log can be read; `absent` for a log not created yet (all it will hold is new). While
    it exists but cannot be read (NATS unreachable or without a leader, a file being replaced) this waits, each
    reason said once: guessing then would start a new channel at the beginning of a history it never saw, and
    page it for all of it. Tried every `pause` seconds; a log busy without a word (locked) for `busy_for` seconds
    is an error naming `where`, and so is one that cannot be read for `patience` seconds (None: waited for as
    long as it takes), or `stopping()` (the process is stopping: nothing to wait for)."""
    reasons = UnavailableReasons()
    started = time.monotonic()
    busy_until = started + busy_for
    while True:
        try:
            return read()
        except LogNotCreated:
            return absent
        except LogUnavailable as unavailable:
            reason = reasons.news(unavailable)
            if reason is not None:
                say(reason)
            if not str(unavailable) and time.monotonic() > busy_until:
                raise StoreError(f"{where}: cannot read it (busy: locked by another process); try again") from None
            if patience is not None and time.monotonic() - started >= patience:
                why = str(unavailable).removesuffix("; retrying") or "busy: locked by another process"
                raise StoreError(f"{where} still cannot be read after {patience:g} s ({why})") from None
        if stopping():
            raise StoreError(f"stopping before {where} could be read")
        time.sleep(pause)


def _say_nothing(_: str) -> None:
    """`--silent`: the waiting goes unsaid, as the graph's."""


class _InFlight:
    """How many messages are being sent; `wait_idle` waits for none."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    @property
    def count(self) -> int:
        with self._idle:
            return self._count

    def wait_idle(self, timeout: float, stopping: Callable[[], bool] = _never) -> bool:
        """Up to `timeout` seconds, and once `stopping()`, up to the stop's own drain from then (a reload's long
        drain never holds up a stop); False if a message is still in flight."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._count:
                now = time.monotonic()
                if stopping():
                    deadline = min(deadline, now + _DRAIN)
                if now >= deadline:
                    return False
                self._idle.wait(min(deadline - now, _STOP_POLL))
            return True


def _deliverer(channels: Mapping[str, Channel], state: DeliveryState, secrets: Secrets,
               in_flight: _InFlight) -> Callable[[Message[Cursor]], str | None]:
    """Send a message, then record the channel's progress before its next message can start: a kill
    between the two repeats this message only."""

    def deliver(message: Message[Cursor]) -> str | None:
        with in_flight:
            try:
                channels[message.channel].send(message.notices)
            except DeliveryFailed as failure:
                error = secrets.redact(str(failure))
                state.failed(message.channel, message.attempt, error)
                if message.attempt == 1:  # its first failure since it last delivered (attempts go on at a restart)
                    state.set_flag(failing_flag(message.channel), iso_utc(time.time()))
                return error
            state.delivered(message.channel, message.cursor, message.notices[-1].id, time.time())
            if message.attempt > 1:
                state.set_flag(failing_flag(message.channel), None)
            for notice in message.notices:  # what the channel was told of the monitor, once it has been
                if notice.kind is NoticeKind.MONITOR_STALE and notice.start is not None:
                    state.set_flag(stale_flag(message.channel), iso_utc(notice.start))
                elif notice.kind is NoticeKind.MONITOR_RESUMED:
                    state.set_flag(stale_flag(message.channel), None)
            return None

    return deliver


def _progress_recorder(state: DeliveryState) -> Callable[[Progress], None]:
    def record(progress: Progress) -> None:
        if isinstance(progress, Passed):
            state.passed(progress.channel, progress.cursor)
        else:
            state.set_flag(withheld_flag(progress.channel), json.dumps(dict(progress.alerts)) if progress.alerts
                           else None)

    return record


def _on_news(console: Console | None, errors: Console) -> Callable[[NotifierNews], None]:
    """Print what the notifier has to say."""

    def show(news: NotifierNews) -> None:
        if isinstance(news, Failing):
            errors.info(f"notify: channel {news.channel} failing: {news.error}; retrying from 1 s, doubling up to "
                        "5 min (said again when it delivers)")
        elif isinstance(news, Restored):
            errors.info(f"notify: channel {news.channel} delivering again after {news.attempts} attempts "
                        f"(failing since {iso_utc(news.since)})")
        elif isinstance(news, LogNews):
            if news.waiting is not None:  # the log cannot be read: a failure, as a channel's is
                errors.info(news.waiting)
        elif console is None:
            return
        elif isinstance(news, MonitorNews):
            console.info(notice_line(news.notice))
        elif isinstance(news, Delivered):
            attempt = f" (attempt {news.attempts})" if news.attempts > 1 else ""
            console.write([f"{iso_utc(news.at)}  {news.channel}  {n.shown_site or 'monitor'}  {n.kind.value}  "
                           f"delivered{attempt}" for n in news.notices])
        elif isinstance(news, Held):
            held = news.notice
            console.info(f"{iso_utc(held.time)}  {news.channel}  {held.shown_site}  {held.kind.value}  "
                         f"held: {news.reason}")

    return show

