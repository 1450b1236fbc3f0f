"""The command line: parse arguments, run the chosen mode, turn user mistakes into one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from domain.config import Config, ConfigError
from store.schema import StoreError

USAGE_ERROR = 2


class UsageError(Exception):
    """A command line that cannot be run; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="monitoringApp",
        description="Uptime and performance monitoring of HTTP endpoints.",
    )
    # Not `required=True`: argparse would then report a missing mode before an unknown flag.
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("-m", "--monitor", action="store_true", help="monitor the config's websites")
    modes.add_argument("-a", "--notifications", dest="notify", action="store_true",
                       help="show the history of alerts and recoveries, and follow new ones")
    modes.add_argument("-p", "--print", dest="print_only", action="store_true",
                       help="print a monitor's reports from the database, probing nothing")
    modes.add_argument("-t", "--test", action="store_true",
                       help="prove the alerting logic against a local server in virtual time")
    modes.add_argument("--check", action="store_true", help="validate the config and print it with defaults")
    modes.add_argument("--purge", action="store_true", help="delete old rows from the database")
    parser.add_argument("-c", "--config", default="config.json", help="config file (default: config.json)")
    parser.add_argument("-db", "--database", default="monitoring.db",
                        help="SQLite database file (default: monitoring.db)")
    parser.add_argument("--silent", action="store_true", help="with -m: print nothing but errors")
    parser.add_argument("--metrics", metavar="FILE",
                        help="with -m: write the clocks' figures (ticks, skips, lateness) to FILE as JSON")
    parser.add_argument("--site", metavar="URL", help="with -a or --purge: only this site")
    parser.add_argument("--since", metavar="AGE|DATE", help="with -a: history from 2h ago, or from an ISO date")
    parser.add_argument("--keep-db", action="store_true", help="with -t: keep test.db afterwards")
    parser.add_argument("--before", metavar="AGE|DATE",
                        help="with --purge: delete rows older than this (default 7d)")
    parser.add_argument("--alerts", dest="purge_alerts", action="store_true",
                        help="with --purge: delete old alert rows too")
    parser.add_argument("--vacuum", action="store_true", help="with --purge: give the freed space back")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(parse_arguments(argv))
    except (UsageError, ConfigError, StoreError) as error:
        print(f"monitoringApp: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 0


_MODES = {"monitor": "-m", "notify": "-a", "print_only": "-p", "test": "-t", "check": "--check", "purge": "--purge"}


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line, or a UsageError naming the first thing wrong with it."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        flags = [word for word in unknown if word.startswith("-")]
        if flags:
            raise UsageError(f"unknown option {flags[0]} (see --help)")
        raise UsageError(f"unexpected argument {unknown[0]!r} (see --help)")
    if not any(getattr(args, mode) for mode in _MODES):
        raise UsageError(f"choose a mode: {', '.join(_MODES.values())} (see --help)")
    return args


def _run(args: argparse.Namespace) -> int:
    _check_flag_modes(args)
    if args.monitor:
        from app.monitoring_mode import run_monitoring

        return run_monitoring(_read_config(args.config), args.database, silent=args.silent,
                              metrics_path=args.metrics)
    if args.notify:
        from app.notification_mode import run_notifications

        return run_notifications(args)
    if args.print_only:
        from app.print_mode import run_print

        return run_print(_read_config(args.config), args.database)
    if args.test:
        from app.test_mode import run_test_mode

        return run_test_mode(args)
    if args.purge:
        from app.purge_mode import run_purge

        return run_purge(args)
    # --check: parse_arguments has made sure that one mode was chosen.
    import json

    print(json.dumps(_read_config(args.config).effective(), indent=2))
    return 0


def _read_config(path: str) -> Config:
    """The validated config file at `path`, its warnings (unknown keys, a site without URL) on stderr."""
    from streams.config_file import read_config

    config = read_config(path)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return config


_FLAG_MODES = {
    "silent": ("-m", ("monitor",)),
    "metrics": ("-m", ("monitor",)),
    "site": ("-a or --purge", ("notify", "purge")),
    "since": ("-a", ("notify",)),
    "keep_db": ("-t", ("test",)),
    "before": ("--purge", ("purge",)),
    "purge_alerts": ("--purge", ("purge",)),
    "vacuum": ("--purge", ("purge",)),
}


def _check_flag_modes(args: argparse.Namespace) -> None:
    for flag, (modes_text, modes) in _FLAG_MODES.items():
        if getattr(args, flag) not in (None, False) and not any(getattr(args, m) for m in modes):
            raise UsageError(f"--{flag.replace('_', '-').replace('purge-', '')} goes with {modes_text}")
