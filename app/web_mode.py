"""`-w`: the status page, the JSON API, live events and /metrics, served from the log until SIGINT or SIGTERM;
the config's sites follow its file as `-m`'s do (read again every half second and on SIGHUP), and SIGHUP reads the
auth file again; serving goes on.

A reader like `-a`: the database is opened read-only and may not exist yet. Served by waitress (a production
WSGI server) on `--listen`; a non-loopback address needs `--auth-file` unless `--no-auth` (checked when the
command line is parsed).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject

from monitoringapp.app.config_warnings import read_config_and_warn, warning_lines
from monitoringapp.app.lifecycle import Hup, Lifecycle, Stopper, dispose_after_its_tick, run_until_stopped
from monitoringapp.app.options import WebOptions
from monitoringapp.app.usage import UsageError
from monitoringapp.domain.config import Config
from monitoringapp.sinks.console import Console
from monitoringapp.store import open_history_reader
from monitoringapp.store.log import LogUnavailable
from monitoringapp.streams.config_state import ConfigBack, ConfigRejected
from monitoringapp.streams.config_watch import ConfigUpdate, config_updates
from monitoringapp.streams.probes import ConfigChange
from monitoringapp.streams.wall_clock import WallClockScheduler
from monitoringapp.web.app import WebContext, create_app, publish_changes, publish_list_change
from monitoringapp.web.auth import AuthFileError, Users
from monitoringapp.web.board import SiteSpec, StatusBoard
from monitoringapp.web.feed import BoardFeed, FeedNews
from monitoringapp.web.live import board_news

THREADS = 12  # waitress workers; live event streams hold one each, at most MAX_STREAMS of them
MAX_STREAMS = 8
FORGET_EVERY = 600.0


def run_web(options: WebOptions) -> int:
    config = None if options.config is None else read_config_and_warn(options.config, probing=False)  # no secret
    sites = None if config is None else shown_sites(config)
    users = None
    if options.auth_file is not None:
        try:
            users = Users.from_file(options.auth_file)
        except AuthFileError as error:
            raise UsageError(f"--auth-file: {error}") from None
    console = Console()
    errors = Console(sys.stderr, colour=False)
    log = open_history_reader(options.database)
    # A file that is no monitoringApp database: StoreError, one line, before serving. One not created yet, or
    # busy: served, and the page says it is waiting.
    with contextlib.suppress(LogUnavailable):
        log.schema_version()
    board = StatusBoard(sites)
    context = WebContext(board, log, users=users)
    context.broadcaster.max_streams = MAX_STREAMS
    app = create_app(context)

    from waitress.server import TcpWSGIServer, create_server  # only -w needs it

    sockets: dict[int, Any] = {}  # the server's loop's: its own socket, the trigger's, every connection's
    try:
        server = create_server(app, map=sockets, host=options.host, port=options.port, threads=THREADS,
                               ident="monitoringApp", clear_untrusted_proxy_headers=True, channel_timeout=60)
    except OSError as error:
        raise UsageError(f"--listen {options.host}:{options.port}: cannot listen: {error.strerror}") from None
    assert isinstance(server, TcpWSGIServer)  # one HOST:PORT is one socket
    clock = WallClockScheduler()
    feed = BoardFeed(log, board, time.time())
    last_forget = [time.monotonic()]

    def on_news(news: FeedNews) -> None:
        if news.waiting is not None and news.waiting != context.waiting:
            console.info(news.waiting)
        context.waiting = news.waiting if news.waiting is not None else (None if board.seeded else context.waiting)
        if news.reshaped is not None:
            publish_list_change(context, news.reshaped)
        if news.reshaped is None or not news.reshaped.relisted:  # else the open pages load themselves again
            publish_changes(context, news.touched)
        if time.monotonic() - last_forget[0] > FORGET_EVERY:
            last_forget[0] = time.monotonic()
            board.forget_before(time.time())

    # The config file's polls and SIGHUP's reloads, off the feed's clock (a poll may wait on the database) and in
    # order: the config first, then the auth file.
    watch = WallClockScheduler()

    def show_sites(news: SitesNews) -> None:
        if news.lines:
            errors.write(list(news.lines))
        if news.sites is not None:
            feed.show(news.sites)

    def reload_auth_file() -> None:
        """The users of the auth file read again, in force from the next request (a removed one is refused at
        once) and for the live events streams open; one that cannot be used is refused in one line and the
        running users stay."""
        assert options.auth_file is not None
        try:
            context.users = Users.from_file(options.auth_file)
        except AuthFileError as error:
            errors.info(f"auth file rejected: {error}; the running users stay in force")
        else:
            # A live events stream was authenticated once, when it opened: each ends now (a page opens another at
            # once, authenticated again), so a removed user's page is not told the sites' news for 5 minutes more.
            context.broadcaster.close()
            errors.info(f"auth file reloaded: {options.auth_file}: {len(context.users.hashes)} user(s)")

    def start(lifecycle: Lifecycle) -> Stopper:
        console.on_closed = lifecycle.stop
        serving = threading.Thread(target=server.run, name="waitress", daemon=True)
        running = CompositeDisposable(board_news(feed, clock).subscribe(on_news, lifecycle.fail))
        config_pokes: Subject[None] = Subject()
        if options.config is not None:
            updates = config_updates(options.config, watch, pokes=config_pokes, running=config, probing=False)
            running.add(updates.pipe(sites_news(options.config, sites or ())).subscribe(show_sites, lifecycle.fail))

        def on_hup(_: None) -> None:
            """SIGHUP (a service manager's reload), on the watch's thread: the config file read at once (what it
            brings said as a poll would say it, nothing if it is unchanged), then the auth file."""
            if options.config is None and options.auth_file is None:
                errors.info("SIGHUP: nothing to reload (no config, no --auth-file); serving on")
                return
            config_pokes.on_next(None)
            if options.auth_file is not None:
                reload_auth_file()

        hups = lifecycle.hups.pipe(ops.observe_on(watch)).subscribe(on_hup, lifecycle.fail)
        serving.start()
        host = f"[{options.host}]" if ":" in options.host else options.host
        console.info(f"serving {options.database} on http://{host}:{server.getsockname()[1]}/ "
                     f"({_access(options, users)}); Ctrl-C to stop")

        def stop() -> None:
            hups.dispose()
            context.broadcaster.close()
            running.dispose()
            # Its workers first, as waitress's own shutdown does: a request still being answered wakes the
            # server's loop when done, through a trigger that closing the server closes (a traceback on stderr).
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
            stop_serving(server, sockets, serving)
            dispose_after_its_tick(clock)
            dispose_after_its_tick(watch)
            log.close()

        return stop

    return run_until_stopped(start, hup=Hup.RELOAD)


LOOP_STOP_WAIT = 10.0
"""Seconds a stop waits for the server's loop to close its sockets and end."""


def stop_serving(server: Any, sockets: dict[int, Any], serving: threading.Thread, wait: float = LOOP_STOP_WAIT,
                 ) -> bool:
    """Close a waitress server's sockets (`sockets`, its loop's map) on its loop's own thread, `serving`, through a
    thunk its trigger runs there, and wait up to `wait` seconds for the loop, its map empty, to end; whether it did.

    Nothing is closed from the calling thread while the loop may run, even when the loop is slow to take the thunk:
    closed from here, a select() under way found a closed descriptor (EBADF, about one stop in 30 with a page open,
    on a loaded machine), and a close from here while the loop ran the thunk could close the trigger's pipe twice
    (its `closed` flag is not taken under a lock). The thunk leaves the trigger's pipe open, only out of the loop's
    map: `pull_trigger` queues the thunk before it writes to the pipe, so a wake already on its way (a worker's,
    done) can run the thunk first, and a thunk that closed the pipe made that write fail (EBADF, a traceback and
    exit 1; caught under strace beside two busy loops, the 13th stop of a series; none in 120 since) or land in
    whatever file took the descriptor number meanwhile. The pipe is closed here once the loop has ended; a loop that
    has not ended in time is left to the process's exit: its thread is a daemon, and the thunk is queued."""
    from waitress import wasyncore

    trigger: Any = server.trigger  # the stubs call it an int; it is waitress's trigger

    def close_all_but_the_trigger() -> None:
        trigger.del_channel()  # out of the map, so the loop ends with it empty; the pipe stays open for the pull
        wasyncore.dispatcher.close(server)  # its listening socket: the server's own close() closes the pipe too
        wasyncore.close_all(sockets)  # the connections

    trigger.pull_trigger(close_all_but_the_trigger)
    serving.join(timeout=wait)
    if serving.is_alive():
        return False
    trigger.close()
    return True


def shown_sites(config: Config) -> list[SiteSpec]:
    """The config's sites as the board shows them."""
    return [SiteSpec(site.key, site.check_interval, site.name, site.url) for site in config.sites]


@dataclass(frozen=True, slots=True)
class SitesNews:
    """What a config update means to the page: the lines it says on stderr, and the sites shown from now on (None:
    the list shown stays)."""

    lines: tuple[str, ...]
    sites: tuple[SiteSpec, ...] | None = None

    def says_something(self) -> bool:
        return bool(self.lines) or self.sites is not None


class ShownSites:
    """The sites the page shows of the config file at `path`, `sites` at start; `take` says what each of its
    updates changes."""

    def __init__(self, path: str, sites: Sequence[SiteSpec]) -> None:
        self.path = path
        self.sites = tuple(sites)

    def take(self, update: ConfigUpdate) -> SitesNews:
        """A version's warnings (as at start) and its `config reloaded: ...` line with the new list, or its warnings
        alone if it changes nothing the page shows (a new alert threshold); a rejection's or a file back's line
        as `-m` says it (the running list stays)."""
        if isinstance(update, ConfigRejected):
            return SitesNews((f"config rejected: {update.error}; the sites shown stay as they are",))
        if isinstance(update, ConfigBack):
            return SitesNews((update.message(),))
        warnings = tuple(warning_lines(update))
        new = tuple(shown_sites(update))
        change = sites_change(self.path, self.sites, new)
        if change is None:
            return SitesNews(warnings)
        self.sites = new
        return SitesNews((*warnings, f"config reloaded: {change}"), new)


def sites_news(path: str, sites: Sequence[SiteSpec]) -> Callable[[Observable[ConfigUpdate]], Observable[SitesNews]]:
    """What the updates of the config file at `path` (`config_updates`) change in the page shown `sites` at start,
    each said once; an update that changes nothing the page shows and says nothing is left out.

    ```text
    updates:  --v2(+1 site)---R(broken)----B(valid again)--v3(a new alert threshold)--
              [sites_news(path, sites)]
    out:      --N(reloaded)---N(rejected)--N(valid again)----------------------------
    ```

    Example: ``config_updates(path, EventLoopScheduler(), probing=False).pipe(sites_news(path, sites))``
    """

    def follow(updates: Observable[ConfigUpdate]) -> Observable[SitesNews]:
        def factory(_: abc.SchedulerBase | None) -> Observable[SitesNews]:
            shown = ShownSites(path, sites)  # each subscription follows from the start's list
            return updates.pipe(ops.map(shown.take), ops.filter(SitesNews.says_something))

        return reactivex.defer(factory)

    return follow


def sites_change(path: str, old: Sequence[SiteSpec], new: Sequence[SiteSpec]) -> str | None:
    """What a new version changes in the sites shown, said as `-m` says it of the sites it probes (`sites +1
    (http://b/), -1 (http://a/), ~1 (shop: URL)`; each by its key), or None if it changes nothing the page shows."""
    before = {spec.host: spec for spec in old}
    after = {spec.host: spec for spec in new}
    changed = tuple((host, keys) for host, spec in after.items() if host in before
                    if (keys := _changed_keys(before[host], spec)))
    change = ConfigChange(added=tuple(host for host in after if host not in before),
                          removed=tuple(host for host in before if host not in after), retimed=(), changed=changed)
    if change.added or change.removed or change.changed:
        return change.summary()
    if list(before) != list(after):
        return f"{path}: sites reordered"
    return None


def _changed_keys(before: SiteSpec, after: SiteSpec) -> tuple[str, ...]:
    """The config keys the page shows whose values differ (a site's name is its key: a new name is a new site)."""
    return tuple(key for key, differs in (("URL", before.url != after.url),
                                          ("checkInterval", before.interval != after.interval)) if differs)


def _access(options: WebOptions, users: Users | None) -> str:
    if users is not None:
        return f"basic auth: {len(users.hashes)} user(s) from {options.auth_file}"
    if options.loopback:
        return "loopback only, no authentication"
    return "NO authentication (--no-auth): put it behind a proxy that authenticates"
