"""`--health`: is a monitor alive? The age of the newest probe in its database, read through the log's
interface like any reader, against the longest quiet its config allows (`Config.quiet_limit`) or `--max-age`.

For a container's HEALTHCHECK: exit 0 and `healthy: ...`, or exit 1 and `unhealthy: ...` on stdout, one
line either way. Everything that makes the answer "no" is 1, a config or database that cannot be read
included: Docker reserves 2.
"""

from __future__ import annotations

import time

from monitoringapp.app.options import HealthOptions
from monitoringapp.app.usage import FAILED, OK
from monitoringapp.domain.config import ConfigError
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.store import open_log_reader
from monitoringapp.store.log import LogUnavailable, StoreError
from monitoringapp.streams.config_file import read_config


def run_health(options: HealthOptions, now: float | None = None) -> int:
    at = time.time() if now is None else now
    try:
        limit = options.max_age if options.max_age is not None else read_config(options.config).quiet_limit
        newest = _newest_probe(options.database)
    except (ConfigError, StoreError, LogUnavailable) as error:
        print(f"unhealthy: {error}")
        return FAILED
    if newest is None:
        print(f"unhealthy: no probe stored in {options.database} yet")
        return FAILED
    if newest - at > limit:
        # Stored by a clock since stepped back, and nothing stored after it: taken as 0 s old, a monitor that died
        # with it was healthy until the clock caught up (an hour, for a clock corrected by an hour). A monitor that
        # runs stores its next probe within the limit, on the clock as it is now.
        print(f"unhealthy: the newest probe in {options.database} is {format_duration(newest - at)} ahead of the "
              f"clock ({iso_utc(newest)}): the clock was stepped back since it was stored, and no probe was stored "
              f"after it (a monitor stores one within {format_duration(limit)})")
        return FAILED
    age = max(0.0, at - newest)
    verdict = "healthy" if age <= limit else "unhealthy"
    shown_age, shown_limit = format_duration(age), format_duration(limit)
    if shown_age == shown_limit:  # whole seconds would hide which is larger (6.7 s old, at most 6.5 s: "6s", "6s")
        shown_age, shown_limit = f"{age:.3f}s", f"{limit:.3f}s"
    print(f"{verdict}: the newest probe in {options.database} is {shown_age} old (at most {shown_limit})")
    return OK if verdict == "healthy" else FAILED


def _newest_probe(database: str) -> float | None:
    reader = open_log_reader(database)
    try:
        return reader.last_stored_probe_time()
    finally:
        reader.close()
