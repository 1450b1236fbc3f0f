"""Each site's last success, last failure and failing run, folded from probes read back newest first.

Both backends answer `LogReader.last_outcomes` with it: JetStream reads only forward and its probe subjects are
buckets of sites, so its reader reads the stream back in blocks of sequences, newest block first, and folds each
here until every site asked for is settled or it has read its bound of messages; SQLite folds the last few probes
of every site in one walk of the time index, and looks up only what that leaves open.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from monitoringapp.domain.events import LastOutcomes

Outcome = tuple[str, float, bool]
"""(site, probe time, up)"""


class _Site:
    __slots__ = ("failure", "oldest_failure", "success")

    def __init__(self) -> None:
        self.success: float | None = None
        self.failure: float | None = None
        self.oldest_failure: float | None = None  # of the failures newer than every success read so far


class OutcomeFold:
    """Probes up to `before` (of `hosts` only, when given) folded newest first into each site's `LastOutcomes`.
    What it has of a site is exact for the probes folded: its last success and failure among them, and the
    oldest failure after that success."""

    def __init__(self, before: float, hosts: Collection[str] | None = None) -> None:
        self.before = before
        self.hosts = None if hosts is None else frozenset(hosts)
        self._sites: dict[str, _Site] = {}
        self._settled = 0

    def add_older(self, outcomes: Iterable[Outcome]) -> None:
        """Probes' (site, time, up), older than those added so far (within them, any order)."""
        for host, timestamp, up in sorted(outcomes, key=_time, reverse=True):
            if timestamp > self.before or (self.hosts is not None and host not in self.hosts):
                continue
            site = self._sites.get(host)
            if site is None:
                site = self._sites[host] = _Site()
            if site.success is not None and site.failure is not None:
                continue
            if up:
                if site.success is None:
                    site.success = timestamp
                    self._settled += site.failure is not None
            else:
                if site.success is None:
                    site.oldest_failure = timestamp
                if site.failure is None:
                    site.failure = timestamp
                    self._settled += site.success is not None

    @property
    def settled(self) -> bool:
        """Whether every site asked for has both its last success and its last failure (never, with no sites
        given: any older probe may be of a site not seen yet)."""
        return self.hosts is not None and self._settled == len(self.hosts)

    def outcomes(self) -> dict[str, LastOutcomes]:
        """Each site's outcomes as far as read: a site read failing back to the bound without a success is down
        since the oldest failure read (at least that long)."""
        return {host: LastOutcomes(host, site.success, site.failure, site.oldest_failure)
                for host, site in self._sites.items()}


def _time(outcome: Outcome) -> float:
    return outcome[1]
