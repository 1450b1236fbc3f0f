"""The command line: parse arguments, run the chosen mode, turn user mistakes into one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from domain.config import ConfigError
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
    modes = parser.add_mutually_exclusive_group(required=True)
    modes.add_argument("-m", "--monitor", action="store_true", help="monitor the config's websites")
    modes.add_argument("-a", "--alerts", action="store_true",
                       help="show the history of alerts and recoveries, and follow new ones")
    modes.add_argument("-p", "--print", dest="print_only", action="store_true",
                       help="print a monitor's reports from the database, probing nothing")
    modes.add_argument("-t", "--test", action="store_true",
                       help="prove the alerting logic against a local server in virtual time")
    modes.add_argument("--check", action="store_true", help="validate the config and print it with defaults")
    parser.add_argument("-c", "--config", default="config.json", help="config file (default: config.json)")
    parser.add_argument("-db", "--database", default="monitoring.db",
                        help="SQLite database file (default: monitoring.db)")
    parser.add_argument("--silent", action="store_true", help="with -m: print nothing but errors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except (UsageError, ConfigError, StoreError) as error:
        print(f"monitoringApp: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 0


def _run(args: argparse.Namespace) -> int:
    from streams.config_file import read_config

    if args.silent and not args.monitor:
        raise UsageError("--silent goes with -m")
    if args.monitor:
        from app.monitoring_mode import run_monitoring

        return run_monitoring(read_config(args.config), args.database, silent=args.silent)
    if args.check:
        import json

        config = read_config(args.config)
        for warning in config.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(json.dumps(config.effective(), indent=2))
        return 0
    raise UsageError("this mode is not available yet")
