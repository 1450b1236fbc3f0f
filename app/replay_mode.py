"""`--replay`: the stored probes judged again by a config's alert policies, in virtual time: every transition that
policy would have produced, in the live format, then one line per site and a total beside what was stored.

Read-only: the database is opened read-only and nothing is written anywhere. With the config that produced the
log, it prints the stored transitions again, exactly (from `--since`, warmed up as a restart there would be).
"""

from __future__ import annotations

from collections import Counter

from reactivex.disposable import SerialDisposable

from monitoringapp.app.config_warnings import read_config_and_warn
from monitoringapp.app.options import ReplayOptions
from monitoringapp.app.sites import of_site
from monitoringapp.app.usage import OK, Interrupted
from monitoringapp.domain.config import some_of
from monitoringapp.domain.events import TransitionKind
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.graph.replay import ReplayedChunk, ReplayStart, replayed
from monitoringapp.sinks.console import Console
from monitoringapp.sinks.progress import ProgressBar
from monitoringapp.store import open_probe_archive
from monitoringapp.store.log import LogNotCreated, LogUnavailable, ProbeArchive, StoreError

_COUNTED = (TransitionKind.ALERT, TransitionKind.RECOVERY, TransitionKind.CERTIFICATE)


def run_replay(options: ReplayOptions) -> int:
    config = of_site(read_config_and_warn(options.config), options.site)
    console = Console()
    archive = open_probe_archive(options.database)
    keys = config.keys
    tally: dict[str, Counter[str]] = {key: Counter() for key in keys}  # site -> probes and kinds replayed
    last: list[float] = []
    located = [0]
    running = SerialDisposable()
    bar = ProgressBar(f"replaying {len(keys)} site(s)", "min of the log")
    span: tuple[float, float] | None = None

    def show(item: ReplayStart | ReplayedChunk) -> None:
        if isinstance(item, ReplayStart):
            since = f" from {iso_utc(options.since)}" if options.since is not None else ""
            warmed = (f"; warmed up with {item.warm_probes} probe(s) before it, {item.open_alerts} alert(s) open then"
                      if options.since is not None else "")
            console.info(f"replaying the probes of {len(keys)} site(s) in {options.database}{since} through the "
                         f"policies of {config.source}{warmed}")
            return
        for transition in item.transitions:
            tally[transition.host][transition.kind.value] += 1
            console.show_transition(transition)
        for site, count in item.probes.items():
            tally[site]["probes"] += count
        located[0] += item.located
        if item.last is not None:
            last[:] = [item.last]
            if span is not None:
                bar.update(round((item.last - span[0]) / 60), round((span[1] - span[0]) / 60))
        if console.closed:  # `--replay | head`: the reader has gone
            running.dispose()

    try:
        # The first read: a file that holds no log is said before any line is printed.
        latest = archive.latest_probe_time()
        span = _log_span(archive, options.since, latest) if bar.enabled else None
        running.disposable = replayed(archive, config, options.since, keys).subscribe(show)
        stored = _stored(archive, options.since, last[0] if last else None, keys)
        unprobed = sorted(key for key in keys if not tally[key]["probes"])
        held = archive.sites() if unprobed else frozenset()
    except LogNotCreated:
        raise StoreError(f"{options.database}: holds no monitoringApp tables (an empty database): "
                         "nothing to replay") from None
    except LogUnavailable as unavailable:
        raise StoreError(f"{options.database}: cannot read it now ({unavailable or 'busy'}); try again") from None
    except KeyboardInterrupt:
        raise Interrupted(f"replay stopped after {sum(c['probes'] for c in tally.values())} probe(s)") from None
    finally:
        bar.close()
        archive.close()
    if console.closed:
        return OK
    lines = [f"{site}: {_counts(tally[site], stored[site], probes=True)}" for site in sorted(keys)]
    total: Counter[str] = sum(tally.values(), Counter())
    stored_total: Counter[str] = sum(stored.values(), Counter())
    lines.append(f"replayed {total['probes']} probes of {len(keys)} sites: {_counts(total, stored_total)}")
    if located[0]:
        lines.append(f"note: {located[0]} of them came from probers in named locations (an evaluator's projection); "
                     "--replay judges them as one monitor would, not by quorum")
    if unprobed:
        lines.append(_unprobed_note(options.database, unprobed, len(keys), held, options.since))
    console.write(lines)
    return OK


def _log_span(archive: ProbeArchive, since: float | None, end: float | None) -> tuple[float, float] | None:
    """(first, last) probe time the replay will read (`end`: the log's latest), for its progress bar; None for
    an empty log. The replay reads every site's rows in time order and keeps its own, so its span starts at the
    first row of any site: one query, where looking for the first of `keys` read row after row up to it (40 s
    of silence on a terminal for a site with no probe in 2 million rows)."""
    first = next((chunk[0].timestamp for chunk in archive.probe_chunks(since, None, None, size=1) if chunk), None)
    return None if end is None or first is None or end <= first else (first, end)


def _unprobed_note(database: str, unprobed: list[str], sites: int, held: frozenset[str],
                   since: float | None) -> str:
    """The sites replayed with no probe, said: a candidate whose keys the log does not use (a `name` added,
    a URL of another port) would otherwise look like a quiet site."""
    when = f" from {iso_utc(since)}" if since is not None else ""
    if len(unprobed) < sites:
        return f"note: {database} holds no probe of {some_of(unprobed)}{when}"
    which = "that site" if sites == 1 else "any of these sites"
    holds = f"the sites it holds: {some_of(sorted(held))}" if held else "it holds no probe at all"
    return f"note: {database} holds no probe of {which}{when}; {holds}"


def _stored(archive: ProbeArchive, since: float | None, until: float | None,
            keys: frozenset[str]) -> dict[str, Counter[str]]:
    """Each site's stored transitions of the replayed range, by kind."""
    found: dict[str, Counter[str]] = {key: Counter() for key in keys}
    if until is None:
        return found
    for transition in archive.transitions_since(since, keys).events:
        if transition.timestamp <= until and transition.kind in _COUNTED:
            found[transition.host][transition.kind.value] += 1
    return found


def _counts(replayed: Counter[str], stored: Counter[str], probes: bool = False) -> str:
    """`A alerts, R recoveries (stored: A' alerts, R' recoveries)`, certificate warnings when there are any."""

    def kinds(counts: Counter[str]) -> str:
        text = f"{counts['alert']} alerts, {counts['recovery']} recoveries"
        if replayed["certificate"] or stored["certificate"]:
            text += f", {counts['certificate']} certificate warnings"
        return text

    head = f"{replayed['probes']} probes: " if probes else ""
    return f"{head}{kinds(replayed)} (stored: {kinds(stored)})"

