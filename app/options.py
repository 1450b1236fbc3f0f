"""The command line parsed into one typed options object per mode.

Modes are exclusive flags (`-m`, `-a`, `-p`, `-w`, `-t`, `--check`, `--purge`, `--replay`, ...); every other
flag says which modes it goes with, and one used with another mode is a usage error naming them. `MODE --help`
shows that mode's options only, with examples; `--help` shows them all, and the exit statuses.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from monitoringapp import __version__
from monitoringapp.app.usage import UsageError
from monitoringapp.domain.events import LOCAL, QUORUM
from monitoringapp.domain.nats_login import DifferentLogins, cluster_login
from monitoringapp.domain.sites import shown_server, shown_url
from monitoringapp.domain.timefmt import impossible_date, iso_utc, parse_age_or_date, unit_missing
from monitoringapp.store.jetstream.subjects import BUCKETS, valid_location

_NEGATIVE_AGE = re.compile(r"-\d")  # `-5d`: an age counted back, as journalctl --since writes it
_NATS_URL = re.compile(r"^((nats|tls)://([^@/\s]+@)?)?[A-Za-z0-9._\[\]:-]+:\d{1,5}$")

DEFAULT_CONFIG = "config.json"
DEFAULT_DATABASE = "monitoring.db"
DEFAULT_PURGE_BEFORE = "7d"
DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_KEPT_TEST_DB = "test.db"
DEFAULT_STOP_GRACE = 2.0
MAX_STOP_GRACE = 3600.0
MAX_MAX_AGE = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class MonitorOptions:
    """`-m`: monitor the config's sites, store every probe, print stats and alerts."""

    config: str
    database: str
    silent: bool = False
    metrics: str | None = None
    stop_grace: float = DEFAULT_STOP_GRACE
    nats: tuple[str, ...] = ()  # with servers: a prober, publishing to JetStream instead of storing
    location: str = LOCAL
    replicas: int | None = None  # None: 1 for a new stream, an existing stream's left alone
    spool: str | None = None


@dataclass(frozen=True, slots=True)
class EvaluatorOptions:
    """`-e`: judge every location's probes from JetStream by quorum; publish the transitions, keep a projection."""

    config: str
    database: str
    nats: tuple[str, ...]
    partition: tuple[int, int] = (0, 1)
    silent: bool = False


@dataclass(frozen=True, slots=True)
class AlertsOptions:
    """`-a`: the history of alerts and recoveries, then each new one."""

    database: str
    site: str | None = None
    since: float | None = None
    nats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    """`-a --notify`: deliver every transition to the config's notification channels."""

    config: str
    database: str
    state: str
    silent: bool = False
    nats: tuple[str, ...] = ()  # with servers: follow the JetStream log instead of the database


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """`-p`: a monitor's reports, computed from the probes it stores (of one site with `site`)."""

    config: str
    database: str
    site: str | None = None
    nats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebOptions:
    """`-w`: the status page, the JSON API and /metrics, read from the database.

    `config` is None when `-c` was not given and no `config.json` is there: the page then shows every site
    the database holds."""

    config: str | None
    database: str
    host: str
    port: int
    auth_file: str | None = None
    no_auth: bool = False

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


@dataclass(frozen=True, slots=True)
class ScenarioOptions:
    """`-t`: the alerting logic proved against a local server in virtual time, in a private temporary
    directory; `keep_db` is where to keep its database afterwards (a path that must not exist yet)."""

    keep_db: str | None = None


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """`--check`: validate the config and print it with every default filled in."""

    config: str


@dataclass(frozen=True, slots=True)
class PurgeOptions:
    """`--purge`: delete old rows, safely while monitors and readers run."""

    database: str
    cutoff: float
    site: str | None = None
    alerts: bool = False
    vacuum: bool = False


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """`--replay`: the stored probes judged by `config`'s policies (from `since`, of one site with `site`)."""

    config: str
    database: str
    since: float | None = None
    site: str | None = None


@dataclass(frozen=True, slots=True)
class HealthOptions:
    """`--health`: is a monitor storing probes? The age of the newest one against `max_age` (None: what the
    config's intervals allow)."""

    config: str
    database: str
    max_age: float | None = None


Options = (MonitorOptions | EvaluatorOptions | AlertsOptions | NotifyOptions | PrintOptions | WebOptions
           | ScenarioOptions | CheckOptions | PurgeOptions | HealthOptions | ReplayOptions)


@dataclass(frozen=True, slots=True)
class _Mode:
    dest: str
    flags: tuple[str, ...]
    help: str
    examples: tuple[str, ...]


_MODES = (
    _Mode("monitor", ("-m", "--monitor"), "monitor the config's websites",
          ("monitoringApp -m", "monitoringApp -m -c config.json -db monitoring.db --silent",
           "monitoringApp -m --stop-grace 5     # wait up to 5 s for slow probes on Ctrl-C / SIGTERM",
           "monitoringApp -m --nats nats://h1:4222 --location eu-west   # a prober in a location")),
    _Mode("evaluate", ("-e", "--evaluate"), "judge every location's probes from NATS JetStream by quorum",
          ("monitoringApp -e -c config.json --nats nats://h1:4222,nats://h2:4222 -db projection.db",
           "monitoringApp -e -c config.json --nats nats://h1:4222 --partition 0/2")),
    _Mode("notify", ("-a", "--notifications"), "show the history of alerts and recoveries, and follow new ones; "
          "with --notify, deliver them",
          ("monitoringApp -a --since 1d", "monitoringApp -a --site http://example.com/ -db monitoring.db",
           "monitoringApp -a --notify -c config.json -db monitoring.db --state notify.db")),
    _Mode("print_only", ("-p", "--print"), "print a monitor's reports from the database, probing nothing",
          ("monitoringApp -p -c config.json -db monitoring.db", "monitoringApp -p --site http://example.com/")),
    _Mode("web", ("-w", "--web"), "serve the status page, the JSON API and /metrics from the database",
          ("monitoringApp -w", "monitoringApp -w -c config.json -db monitoring.db --listen 127.0.0.1:8080",
           "monitoringApp -w --listen 0.0.0.0:8080 --auth-file users.txt")),
    _Mode("test", ("-t", "--test"), "prove the alerting logic against a local server in virtual time",
          ("monitoringApp -t", "monitoringApp -t --keep-db", "monitoringApp -t --keep-db /tmp/scenarios.db")),
    _Mode("check", ("--check",), "validate the config and print it with defaults",
          ("monitoringApp --check -c config.json",)),
    _Mode("purge", ("--purge",), "delete old rows from the database",
          ("monitoringApp --purge --before 30d", "monitoringApp --purge --before 2026-11-01 --alerts --vacuum")),
    _Mode("replay", ("--replay",), "judge the stored probes again by a config's alert policies, in virtual time, "
          "beside what was stored",
          ("monitoringApp --replay -c candidate.json --since 7d",
           "monitoringApp --replay -c candidate.json -db monitoring.db --site http://example.com/ --since 2026-11-20")),
    _Mode("health", ("--health",), "exit 0 if a monitor stored a probe lately, 1 if not (a container's HEALTHCHECK)",
          ("monitoringApp --health -c config.json -db monitoring.db", "monitoringApp --health --max-age 300")),
)
_FLAG_OF = {mode.dest: mode.flags[0] for mode in _MODES}


@dataclass(frozen=True, slots=True)
class _Flag:
    names: tuple[str, ...]
    modes: tuple[str, ...]  # the modes it goes with; empty: accepted with any (as round one accepted -c, -db)
    shown_in: tuple[str, ...]  # the modes whose --help lists it
    arguments: dict[str, Any]


_ALL = tuple(mode.dest for mode in _MODES)
_AGE_FLAGS = frozenset({"--since", "--before"})  # AGE|DATE
_NOTIFIER_ONLY = frozenset({"--silent", "--state"})  # of -a's flags, those that go with -a --notify only
_PATH_FLAGS = frozenset({"-c", "-db", "--spool", "--metrics", "--state", "--auth-file", "--keep-db"})
_FLAGS = (
    # No argparse default: -w tells "-c not given" (use config.json if it is there) from a -c it must read.
    _Flag(("-c", "--config"), (), ("monitor", "evaluate", "notify", "print_only", "web", "check", "health",
                                   "replay"),
          {"help": f"config file (default: {DEFAULT_CONFIG})"}),
    _Flag(("-db", "--database"), (), ("monitor", "evaluate", "notify", "print_only", "web", "purge", "health",
                                      "replay"),
          {"help": f"SQLite database file (default: {DEFAULT_DATABASE}); with -e the "
                                                "projection it keeps for -w, -a, -p and --replay"}),
    _Flag(("--silent",), ("monitor", "evaluate", "notify"), ("monitor", "evaluate", "notify"),
          {"action": "store_true", "help": "print nothing but errors"}),
    _Flag(("--nats",), ("monitor", "evaluate", "notify", "print_only"), ("monitor", "evaluate", "notify", "print_only"),
          {"metavar": "URLS", "help": "NATS servers, comma-separated (nats://h1:4222,nats://h2:4222): with -m a "
                                      "prober publishing to JetStream; -e judges from it; -a, -p, --notify read "
                                      "the JetStream log instead of a database (not with -db)"}),
    _Flag(("--location",), ("monitor",), ("monitor",),
          {"metavar": "NAME", "help": f"where this monitor probes from (default {LOCAL}); letters, digits, _ and -"}),
    _Flag(("--replicas",), ("monitor",), ("monitor",),
          {"type": int, "metavar": "N",
           "help": "replicas of the JetStream stream: those it is created with (default 1); given, an existing stream "
                   "is changed to N (a cluster of N nodes or more; refused, it keeps its own, said on stderr)"}),
    _Flag(("--partition",), ("evaluate",), ("evaluate",),
          {"metavar": "I/N", "help": "judge partition I of N of the sites (a stable hash), e.g. 0/2"}),
    _Flag(("--spool",), ("monitor",), ("monitor",),
          {"metavar": "PATH", "help": "with --nats: where probes wait while NATS is unreachable "
                                      "(default spool-LOCATION.db)"}),
    _Flag(("--metrics",), ("monitor",), ("monitor",),
          {"metavar": "FILE", "help": "write the clocks' figures (ticks, skips, lateness) to FILE as JSON at exit; "
                   "the lateness is kept only then, 8 bytes a tick (the first million)"}),
    _Flag(("--stop-grace",), ("monitor",), ("monitor",),
          {"metavar": "SECONDS",
           "help": f"on SIGINT / SIGTERM, wait this long for probes in flight, then stop without them "
                   f"(default {DEFAULT_STOP_GRACE:g}; a second signal stops at once)"}),
    _Flag(("--max-age",), ("health",), ("health",),
          {"metavar": "SECONDS", "help": "the age of the newest stored probe past which the monitor is unhealthy "
                                         "(default: twice the config's longest checkInterval, its longest "
                                         "timeout and 5 s)"}),
    _Flag(("--site",), ("notify", "print_only", "purge", "replay"), ("notify", "print_only", "purge", "replay"),
          {"metavar": "URL", "help": "only this site (any spelling of its URL, or its name)"}),
    _Flag(("--since",), ("notify", "replay"), ("notify", "replay"),
          {"metavar": "AGE|DATE", "help": "history from 2h (or -2h) ago, or from an ISO date (UTC unless a zone "
                                           "is given), not after now"}),
    _Flag(("--notify",), ("notify",), ("notify",),
          {"dest": "deliver", "action": "store_true",
           "help": "deliver every alert and recovery to the config's notifications (the config file is followed; "
                   "kill -HUP: read it at once)"}),
    _Flag(("--state",), ("notify",), ("notify",),
          {"metavar": "PATH", "help": "with --notify: the notifier's own state file (default: beside the database, "
                                      "<database>-notify.db)"}),
    _Flag(("--listen",), ("web",), ("web",),
          {"metavar": "HOST:PORT", "help": f"address to serve on (default {DEFAULT_LISTEN}); one that is not "
           "loopback needs --auth-file or --no-auth"}),
    _Flag(("--auth-file",), ("web",), ("web",),
          {"metavar": "PATH", "help": "basic-auth users, one user:hash a line "
           "(python -m monitoringapp.web.passwords USER makes a line; kill -HUP: read it again)"}),
    _Flag(("--no-auth",), ("web",), ("web",),
          {"action": "store_true", "help": "serve a non-loopback address without authentication "
           "(behind a proxy that authenticates)"}),
    _Flag(("--keep-db",), ("test",), ("test",),
          {"nargs": "?", "const": DEFAULT_KEPT_TEST_DB, "metavar": "PATH",
           "help": f"keep the scenarios' database at PATH (default {DEFAULT_KEPT_TEST_DB}), which must not exist"}),
    _Flag(("--before",), ("purge",), ("purge",),
          {"metavar": "AGE|DATE", "help": f"delete rows older than this (default {DEFAULT_PURGE_BEFORE})"}),
    _Flag(("--alerts",), ("purge",), ("purge",),
          {"dest": "purge_alerts", "action": "store_true",
           "help": "delete old alert rows too (each site's alert state and each certificate's latest warning are "
                   "kept)"}),
    _Flag(("--vacuum",), ("purge",), ("purge",),
          {"action": "store_true", "help": "give the freed space back to the file system"}),
)

EXIT_STATUSES = """exit status:
  0    done, or stopped by Ctrl-C / SIGTERM (-m, -a, -p, -w, -e: that is how they stop), or -a / -p by
       SIGHUP (their terminal closed); SIGHUP never stops -m, -e, -w or -a --notify: each reloads what it can
       (-m and --notify the config, -w its --auth-file and, at once, the config's sites it also follows as
       -m does; -e nothing, and says so on stderr)
  1    test mode found a failing scenario, a monitor's database was deleted under it, --health found
       no recent probe, or an internal error
  2    a bad command line, config or database (one line on stderr; nothing is touched)
  130  -t, --check, --purge, --replay or --health interrupted (Ctrl-C / SIGTERM) before it was done;
       stderr says how far it got

environment:
  NO_COLOR         set (to anything but empty): no colour, even on a terminal
  COLUMNS          the width reports fit, instead of the terminal's
  HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY
                   the proxy probes and notifications go through, as for curl:
                   http, https or SOCKS (socks5h://user:password@host:1080;
                   read once at start)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every mode and every flag."""
    parser = _Parser(prog="monitoringApp", description="Uptime and performance monitoring of HTTP endpoints.",
                     epilog=f"MODE --help (e.g. -m --help) shows that mode's options.\n\n{EXIT_STATUSES}",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # Not `required=True`: argparse would then report a missing mode before an unknown flag.
    modes = parser.add_mutually_exclusive_group()
    for mode in _MODES:
        modes.add_argument(*mode.flags, dest=mode.dest, action="store_true", help=mode.help)
    for flag in _FLAGS:
        parser.add_argument(*flag.names, **flag.arguments)
    parser.add_argument("--version", action="version", version=f"monitoringApp {__version__}")
    return parser


def mode_parser(dest: str) -> argparse.ArgumentParser:
    """`MODE --help`: one mode's options, with examples."""
    mode = next(m for m in _MODES if m.dest == dest)
    examples = "\n".join(f"  {line}" for line in mode.examples)
    parser = _Parser(prog=f"monitoringApp {mode.flags[0]}", description=f"{mode.help[0].upper()}{mode.help[1:]}.",
                     epilog=f"examples:\n{examples}\n\n{EXIT_STATUSES}",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in _FLAGS:
        if dest in flag.shown_in:
            parser.add_argument(*flag.names, **flag.arguments)
    return parser


def parse_command_line(argv: Sequence[str] | None, now: float) -> Options:
    """The options of the mode the command line chose (`now` anchors ages such as `--since 2h`), or a
    UsageError naming the first thing wrong with it. `MODE --help` prints that mode's help and exits."""
    words = _ages_attached(list(sys.argv[1:] if argv is None else argv))
    _mode_help(words)
    args, unknown = build_parser().parse_known_args(words)
    if unknown:
        flags = [word for word in unknown if word.startswith("-")]
        if flags:
            raise UsageError(f"unknown option {flags[0]} (see --help)")
        raise UsageError(f"unexpected argument {unknown[0]!r} (see --help)")
    chosen = [mode.dest for mode in _MODES if getattr(args, mode.dest)]
    if not chosen:
        raise UsageError(f"choose a mode: {', '.join(_FLAG_OF.values())} (see --help)")
    mode = chosen[0]
    for flag in _FLAGS:
        dest = flag.arguments.get("dest", flag.names[-1].lstrip("-").replace("-", "_"))
        if flag.modes and mode not in flag.modes and getattr(args, dest) not in (None, False):
            goes_with = " or ".join(_flag_of(m, flag) for m in flag.modes)
            raise UsageError(f"{flag.names[-1]} goes with {goes_with}{_reads_database(mode, flag)}")
        if flag.names[0] in _PATH_FLAGS and getattr(args, dest) == "":
            # `-c "$CANDIDATE"` with the variable unset: not the default file, nor the working directory.
            raise UsageError(f"{flag.names[0]}: an empty path (an unset variable?)")
    _one_log(mode, args)
    if args.database is None:  # not given: only now, so that `-db FILE --nats` is told from `--nats` alone
        args.database = DEFAULT_DATABASE
    return _options(mode, args, now)


def _flag_of(mode: str, flag: _Flag) -> str:
    """How the error names a mode `flag` goes with: `-a --notify` for the notifier's own flags, as `-a` alone
    refuses them too."""
    if mode == "notify" and flag.names[-1] in _NOTIFIER_ONLY:
        return "-a --notify"
    return _FLAG_OF[mode]


def _reads_database(mode: str, flag: _Flag) -> str:
    """Why `--nats` is not for a mode that reads only a database: where its data is with NATS."""
    if flag.names[0] != "--nats" or mode not in ("web", "purge", "replay", "health"):
        return ""
    return f"; {_FLAG_OF[mode]} reads the database -db names (with NATS, an evaluator's projection: -e -db FILE)"

_NOT_BOTH = {
    "monitor": "a prober (-m --nats) publishes its probes to JetStream and keeps no database (--spool is where "
               "they wait while NATS is away)",
    "notify": "-a reads one log, the database or the JetStream stream",
    "print_only": "-p reads one log, the database or the JetStream stream",
}
"""Modes that read or write either a database or JetStream, never both: `-db FILE` with `--nats` would be ignored."""


def _one_log(mode: str, args: argparse.Namespace) -> None:
    """`-db FILE` and `--nats` together where only one of them is used: refused, rather than one silently
    ignored (`-a --nats -db FILE` read the stream and never the file). `-e` uses both: the stream it judges and
    the projection it keeps."""
    if args.nats is None or args.database is None or mode not in _NOT_BOTH:
        return
    why = _NOT_BOTH[mode]
    if mode == "notify" and args.deliver:
        why = ("-a --notify --nats follows the JetStream stream and keeps no database (--state PATH is its own "
               "state file)")
    raise UsageError(f"-db and --nats: {why}; give one of them")


def _ages_attached(words: list[str]) -> list[str]:
    """`--since -5d` as `--since=-5d`: argparse takes a word that starts with `-` and is no number for a flag
    (`expected one argument`), but after an AGE|DATE flag it can only be a negative age (5 days ago)."""
    attached: list[str] = []
    for word in words:
        if attached and attached[-1] in _AGE_FLAGS and _NEGATIVE_AGE.match(word):
            attached[-1] = f"{attached[-1]}={word}"
        else:
            attached.append(word)
    return attached


def _mode_help(words: list[str]) -> None:
    if not {"-h", "--help"} & set(words):
        return
    chosen = [mode.dest for mode in _MODES if set(mode.flags) & set(words)]
    if len(chosen) == 1:
        mode_parser(chosen[0]).print_help()
        raise SystemExit(0)


def _options(mode: str, args: argparse.Namespace, now: float) -> Options:
    nats = _nats_servers(args.nats)
    config = args.config or DEFAULT_CONFIG
    if mode == "monitor":
        location = args.location or LOCAL
        if not valid_location(location):
            raise UsageError(f"--location: must be letters, digits, _ and -, got {location!r}")
        if location == QUORUM:  # a prober's rows and verdicts would read as the evaluator's site-level ones
            raise UsageError(f"--location: {QUORUM!r} is where an evaluator puts each site's own verdicts; "
                             "name the location another way")
        grace = DEFAULT_STOP_GRACE if args.stop_grace is None else _seconds("--stop-grace", args.stop_grace,
                                                                             MAX_STOP_GRACE)
        return MonitorOptions(config, args.database, args.silent, args.metrics, grace, nats, location,
                              _replicas(args.replicas), args.spool)
    if mode == "evaluate":
        if not nats:
            raise UsageError("-e needs --nats URLS: the evaluator reads the probers' JetStream log")
        return EvaluatorOptions(config, args.database, nats, _partition(args.partition), args.silent)
    if mode == "notify" and args.deliver:
        return _notify_options(args, config, nats)
    if mode == "notify":
        for flag, given in (("--state", args.state is not None), ("--silent", args.silent)):
            if given:
                raise UsageError(f"{flag} goes with -a --notify")
        since = _history_start(args.since, now, "an age such as 2h or an ISO date such as 2026-11-24T12:00")
        return AlertsOptions(args.database, args.site, since, nats)
    if mode == "print_only":
        return PrintOptions(config, args.database, args.site, nats)
    if mode == "web":
        return _web_options(args)
    if mode == "test":
        return ScenarioOptions(args.keep_db)
    if mode == "check":
        return CheckOptions(config)
    if mode == "replay":
        since = _history_start(args.since, now, "an age such as 7d or an ISO date such as 2026-11-24T12:00")
        return ReplayOptions(config, args.database, since, args.site)
    if mode == "health":
        max_age = None if args.max_age is None else _seconds("--max-age", args.max_age, MAX_MAX_AGE)
        return HealthOptions(config, args.database, max_age)
    text = args.before or DEFAULT_PURGE_BEFORE
    cutoff = _age_or_date("--before", text, now, "an age such as 7d or an ISO date such as 2026-11-01")
    if cutoff > now:
        raise UsageError(f"--before: {text!r} is in the future; that would delete everything")
    return PurgeOptions(args.database, cutoff, args.site, args.purge_alerts, args.vacuum)


def _nats_servers(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    servers = tuple(part.strip() for part in text.split(",") if part.strip())
    for server in servers:
        if not _NATS_URL.match(server):
            raise UsageError(f"--nats: each server must be nats://[USER:PASSWORD@]HOST:PORT, tls://... or "
                             f"HOST:PORT, got {shown_server(server)!r}")
    if not servers:
        raise UsageError(f"--nats: no server given in {shown_url(text)!r}")
    try:  # the link logs in to every node, given or discovered, with one login (domain.nats_login)
        cluster_login(servers)
    except DifferentLogins as different:
        raise UsageError(f"--nats: {different}") from None
    return tuple(server if "://" in server else f"nats://{server}" for server in servers)


def _replicas(value: int | None) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= 5:
        raise UsageError(f"--replicas: must be from 1 to 5 (JetStream's limit), got {value}")
    return value


def _partition(text: str | None) -> tuple[int, int]:
    if text is None:
        return (0, 1)
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if match is None or not 0 <= int(match[1]) < int(match[2]) <= BUCKETS:
        raise UsageError(f"--partition: must be I/N with 0 <= I < N <= {BUCKETS}, e.g. 0/2, got {text!r}")
    return int(match[1]), int(match[2])


def _notify_options(args: argparse.Namespace, config: str, nats: tuple[str, ...] = ()) -> NotifyOptions:
    for flag, given in (("--since", args.since is not None), ("--site", args.site is not None)):
        if given:
            raise UsageError(f"{flag} does not go with --notify (channels choose their sites in the config)")
    database = Path(args.database)
    state = args.state if args.state is not None else str(database.with_name(f"{database.stem}-notify.db"))
    if Path(state).resolve() == database.resolve():
        raise UsageError(f"--state: {state} is the monitor's database; the notifier keeps its state in a file "
                         "of its own")
    return NotifyOptions(config, args.database, state, args.silent, nats)


def _web_options(args: argparse.Namespace) -> WebOptions:
    host, port = parse_listen(args.listen or DEFAULT_LISTEN)
    if args.auth_file is not None and args.no_auth:
        raise UsageError("--auth-file and --no-auth: choose one")
    if not is_loopback(host) and args.auth_file is None and not args.no_auth:
        raise UsageError(f"--listen {args.listen}: not a loopback address, so the page would be open to the "
                         "network: give --auth-file PATH, or --no-auth behind a proxy that authenticates")
    config = args.config
    if config is None and Path(DEFAULT_CONFIG).exists():
        config = DEFAULT_CONFIG
    return WebOptions(config, args.database, host, port, args.auth_file, args.no_auth)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8080` for IPv6) as (host, port); UsageError otherwise."""
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen: must be HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got {text!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _seconds(flag: str, text: str, maximum: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= maximum:
        raise UsageError(f"{flag}: must be a number of seconds from 0 to {maximum:.10g}, got {text!r}")
    return value


def _age_or_date(flag: str, text: str, now: float, expected: str) -> float:
    # `--before 30` meant as days would delete all but the last 30 seconds (see unit_missing).
    missing = unit_missing(text)
    if missing is not None:
        raise UsageError(f"{flag}: {missing}")
    try:
        return parse_age_or_date(text, now)
    except ValueError:
        impossible = impossible_date(text)
        if impossible is not None:  # `2025-02-29`, `2026-04-31`: the form is right, the day is not
            raise UsageError(f"{flag}: {text!r} is no such date: {impossible}") from None
        raise UsageError(f"{flag}: must be {expected}, got {text!r}") from None


def _history_start(text: str | None, now: float, expected: str) -> float | None:
    """`--since`: where a reader's history starts; one after now would be an empty history and a silent wait."""
    if text is None:
        return None
    since = _age_or_date("--since", text, now, expected)
    if since > now:
        raise UsageError(f"--since: {text!r} is in the future (it is {iso_utc(now)} now); give a past date or "
                         "an age such as 2h")
    return since
