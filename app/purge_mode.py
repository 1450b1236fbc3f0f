"""`--purge`: delete probe rows (and with `--alerts`, alert rows) older than `--before`, then maybe VACUUM."""

from __future__ import annotations

import argparse
import sqlite3
import time

from domain.timefmt import iso_utc, parse_age_or_date
from store.purge import ALERT_TABLE, PROBE_TABLE, purge_before
from store.schema import StoreError, open_existing_store

DEFAULT_BEFORE = "7d"


def parse_cutoff(text: str, now: float) -> float:
    """`--before`: an age (`7d`, `12h`) counts back from `now`; an ISO date or date-time is taken as is."""
    from app.cli import UsageError

    try:
        cutoff = parse_age_or_date(text, now)
    except ValueError:
        raise UsageError(f"--before: must be an age such as 7d or an ISO date such as 2026-11-01, "
                         f"got {text!r}") from None
    if cutoff > now:
        raise UsageError(f"--before: {text!r} is in the future; that would delete everything")
    return cutoff


def run_purge(args: argparse.Namespace) -> int:
    now = time.time()
    cutoff = parse_cutoff(args.before or DEFAULT_BEFORE, now)
    connection = open_existing_store(args.database)
    try:
        site = f" of {args.site}" if args.site else ""
        probes = purge_before(connection, PROBE_TABLE, cutoff, args.site)
        print(f"deleted {probes.deleted} probe row(s){site} older than {iso_utc(cutoff)} from {args.database}")
        if args.purge_alerts:
            alerts = purge_before(connection, ALERT_TABLE, cutoff, args.site, keep_latest_per_host=True)
            print(f"deleted {alerts.deleted} alert row(s){site} (each site's latest one is kept)")
        if args.vacuum:
            _vacuum(connection, args.database)
    except sqlite3.OperationalError as error:
        raise StoreError(f"{args.database}: purge stopped: {error}") from None
    finally:
        connection.close()
    return 0


def _vacuum(connection: sqlite3.Connection, path: str) -> None:
    started = time.perf_counter()
    connection.execute("VACUUM")
    print(f"vacuumed {path} in {time.perf_counter() - started:.1f}s")

