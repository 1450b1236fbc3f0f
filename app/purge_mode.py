"""`--purge`: delete probe rows (and with `--alerts`, alert rows) older than `--before`, then maybe VACUUM."""

from __future__ import annotations

from monitoringapp.app.options import PurgeOptions
from monitoringapp.app.usage import OK
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store import purge_log


def run_purge(options: PurgeOptions) -> int:
    site = f" of {options.site}" if options.site else ""
    for step in purge_log(options.database, options.cutoff, options.site, alerts=options.alerts,
                          vacuum=options.vacuum):
        if step.what == "probes":
            print(f"deleted {step.stats.deleted} probe row(s){site} older than {iso_utc(options.cutoff)} "
                  f"from {options.database}")
        elif step.what == "alerts":
            print(f"deleted {step.stats.deleted} alert row(s){site} (each site's latest one is kept)")
        else:
            print(f"vacuumed {options.database} in {step.seconds:.1f}s")
    return OK
