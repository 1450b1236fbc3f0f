"""`--purge`: delete probe rows (and with `--alerts`, alert rows) older than `--before`, then maybe VACUUM.

On a terminal, stderr shows how far each table's purge is (rate and time left). Interrupted (Ctrl-C,
SIGTERM), it stops between two batches, keeps what it deleted and says how much that was (exit 130).
"""

from __future__ import annotations

from monitoringapp.app.options import PurgeOptions
from monitoringapp.app.sites import hosts_of_site
from monitoringapp.app.usage import OK, Interrupted
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.sinks.progress import ProgressBar
from monitoringapp.store import open_log_reader, purge_log
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.purge import BatchedPurge


def run_purge(options: PurgeOptions) -> int:
    hosts, site = None, ""
    if options.site is not None:
        hosts, site = _hosts(options.database, options.site)
    of_site = f" of {site}" if site else ""
    deleted = {"probes": 0, "alerts": 0}
    bars = {what: ProgressBar(f"purging {what}", "rows") for what in deleted}

    def so_far() -> str:
        return (f"{deleted['probes']} probe row(s)" + (f" and {deleted['alerts']} alert row(s)" if options.alerts
                                                      else "") + f"{of_site} older than {iso_utc(options.cutoff)}")

    def on_batch(what: str, purge: BatchedPurge) -> None:
        deleted[what] = purge.stats.deleted
        bars[what].update(*purge.progress)

    try:
        for step in purge_log(options.database, options.cutoff, hosts, alerts=options.alerts,
                              vacuum=options.vacuum, on_batch=on_batch):
            if step.what in bars:
                bars[step.what].close()
            if step.what == "probes":
                print(f"deleted {step.stats.deleted} probe row(s){of_site} older than {iso_utc(options.cutoff)} "
                      f"from {options.database}")
            elif step.what == "alerts":
                print(f"deleted {step.stats.deleted} alert row(s){of_site} "
                      "(kept: each site's alert state and each certificate's latest warning)")
            else:
                print(f"vacuumed {options.database} in {step.seconds:.1f}s")
    except KeyboardInterrupt:
        for bar in bars.values():
            bar.close()
        raise Interrupted(f"deleted {so_far()} before it was stopped; the rest of them are still there (run --purge "
                          "again to finish)") from None
    except StoreError as error:
        for bar in bars.values():
            bar.close()
        if not any(deleted.values()):
            raise
        # Stopped after some batches went (another process held the database past the busy timeout): not the
        # "nothing touched" of a refused database.
        raise StoreError(f"{error}; deleted {so_far()} before it stopped; the rest of them are still there "
                         "(run --purge again to finish)") from None
    return OK


def _hosts(database: str, given: str) -> tuple[frozenset[str], str]:
    reader = open_log_reader(database)  # a database that is not there: purge_log says so
    try:
        return hosts_of_site(reader, given, database)
    finally:
        reader.close()
