"""Each site's last success, last failure and failing run, folded from probes read back newest first (no nats here).

The `MONITOR` stream has no per-site subject for probes (their subjects are buckets of sites) and JetStream reads
only forward, so `JetStreamLogReader.last_outcomes` reads the stream back in blocks of sequences, newest block
first, and folds each block's probes here, newest first, until every site asked for is settled or it has read its
bound of messages.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from monitoringapp.domain.events import LastOutcomes, Probe


class _Site:
    __slots__ = ("failure", "oldest_failure", "success")

    def __init__(self) -> None:
        self.success: float | None = None
        self.failure: float | None = None
        self.oldest_failure: float | None = None  # of the failures newer than every success read so far


class OutcomeFold:
    """Probes up to `before` (of `hosts` only, when given) folded newest first into each site's `LastOutcomes`."""

    def __init__(self, before: float, hosts: Collection[str] | None = None) -> None:
        self.before = before
        self.hosts = None if hosts is None else frozenset(hosts)
        self._sites: dict[str, _Site] = {}
        self._settled = 0

    def add_older(self, probes: Iterable[Probe]) -> None:
        """Probes older than those added so far (within them, any order)."""
        for probe in sorted(probes, key=_time, reverse=True):
            if probe.timestamp > self.before or (self.hosts is not None and probe.host not in self.hosts):
                continue
            site = self._sites.get(probe.host)
            if site is None:
                site = self._sites[probe.host] = _Site()
            if site.success is not None and site.failure is not None:
                continue
            if probe.available:
                if site.success is None:
                    site.success = probe.timestamp
                    self._settled += site.failure is not None
            else:
                if site.success is None:
                    site.oldest_failure = probe.timestamp
                if site.failure is None:
                    site.failure = probe.timestamp
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


def _time(probe: Probe) -> float:
    return probe.timestamp
