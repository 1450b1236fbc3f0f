"""What a scenario's endpoint does over virtual time: a site's phases in, the behaviour at time t out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    HEALTHY = "healthy"
    FAILING = "failing"
    REFUSED = "refused"
    SLOW = "slow"
    FLAPPING = "flapping"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the endpoint answers one GET.

    `status` is the answer of a healthy or failing request, with `body` when given; a slow answer comes
    after `delay` real seconds; flapping fails every `every`-th request of its phase.
    """

    kind: Kind
    status: int = 200
    delay: float = 0.0
    every: int = 0
    body: str | None = None


HEALTHY = Behaviour(Kind.HEALTHY)
FAILING_500 = Behaviour(Kind.FAILING, status=500)
FAILING_503 = Behaviour(Kind.FAILING, status=503)
# The server closes the connection without a word: what a client sees of a refusing or crashed server.
REFUSED = Behaviour(Kind.REFUSED)
# Longer than SLOW_TIMEOUT, the probe timeout scenarios give a site that has slow phases. The timeout
# also bounds that site's healthy answers, so it is far above what a local answer takes on a busy
# machine (at 50 ms, a loaded 2-core machine now and then stored a healthy answer as a timeout).
SLOW = Behaviour(Kind.SLOW, delay=0.75)
# A 200 whose JSON says all is well, and one that says it is not: only a site's `json` condition tells them apart.
JSON_OK = Behaviour(Kind.HEALTHY, body='{"status": "ok"}\n')
JSON_ERROR = Behaviour(Kind.HEALTHY, body='{"status": "error"}\n')
SLOW_TIMEOUT = 0.25


def flapping(every: int) -> Behaviour:
    """Answers 500 to every `every`-th request of the phase, 200 to the others."""
    if every < 1:
        raise ValueError(f"flapping needs every >= 1, got {every}")
    return Behaviour(Kind.FLAPPING, every=every)


Phase = tuple[float, Behaviour]
"""(virtual seconds it lasts, behaviour); a site's last phase lasts for ever."""


def phase_at(phases: tuple[Phase, ...], elapsed: float) -> int:
    """Index of the phase in force `elapsed` virtual seconds after the scenario's start."""
    if not phases:
        raise ValueError("a site needs at least one phase")
    start = 0.0
    for index, (seconds, _) in enumerate(phases[:-1]):
        start += seconds
        if elapsed < start:
            return index
    return len(phases) - 1
