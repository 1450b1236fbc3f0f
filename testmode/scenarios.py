"""The scenarios test mode proves: each is data, a schedule per site and the transitions it must cause.

Times are virtual seconds after the scenario's start; a site is probed at
0, interval, 2·interval, ... up to `duration` inclusive. Each expected time is
worked out by hand in the comment above it, from the config: the alert window
holds the probes in (t - alertWindow, t]; alert when availability < alertThreshold
(with at least alertMinChecks checks), recover at >= recoveryThreshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitoringapp.domain.events import TransitionKind
from monitoringapp.testmode.schedule import (
    FAILING_500,
    FAILING_503,
    HEALTHY,
    JSON_ERROR,
    JSON_OK,
    REFUSED,
    SLOW,
    SLOW_TIMEOUT,
    Phase,
    flapping,
)

FOREVER = 0.0  # the duration of a last phase is never read


@dataclass(frozen=True, slots=True)
class Site:
    """A site's schedule and config: `settings` are its own keys (a condition, an alert policy of its own)."""

    phases: tuple[Phase, ...]
    interval: float = 2.0
    timeout: float = 1.0
    settings: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Expect:
    """One transition: `kind` of `site` at `at` virtual seconds, with `availability` when given."""

    kind: TransitionKind
    at: float
    site: str = "site"
    availability: float | None = None


def alert(at: float, site: str = "site", availability: float | None = None) -> Expect:
    return Expect(TransitionKind.ALERT, at, site, availability)


def recovery(at: float, site: str = "site", availability: float | None = None) -> Expect:
    return Expect(TransitionKind.RECOVERY, at, site, availability)


@dataclass(frozen=True, slots=True)
class Scenario:
    """`settings` are top-level config keys (alertWindow, ...); `restart_at` stops the monitor
    then and starts a second one on the same database; `stored_errors` is each site's
    count of stored probes per error kind."""

    name: str
    sites: Mapping[str, Site]
    duration: float
    expected: tuple[Expect, ...]
    settings: Mapping[str, object] = field(default_factory=dict)
    restart_at: float | None = None
    stored_errors: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


# 20 s of health, then 24 s failing every 4th check (t = 23, 27, ..., 43), then health; 1 s checks,
# 10 s window, so the window holds 10 checks and 2 or 3 of them fail while it flaps.
_FLAPPING_SITE = Site(((20, HEALTHY), (24, flapping(4)), (FOREVER, HEALTHY)), interval=1.0)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("1 always up", {"site": Site(((FOREVER, HEALTHY),))}, duration=1800, expected=()),

    # Checks at 0, 2 up; 4, 6 down; 8..18 up; 20, 22 down; the window (120 s) holds them all.
    # t=4: 2 of 3 = 66.7 % -> alert; t=18: 8 of 10 = 80 % -> recovery; t=20: 8 of 11 = 72.7 % -> alert.
    Scenario("2 seed sequence",
             {"site": Site(((4, HEALTHY), (4, FAILING_500), (12, HEALTHY), (FOREVER, FAILING_503)))},
             duration=22,
             expected=(alert(4, availability=2 / 3), recovery(18, availability=0.8),
                       alert(20, availability=8 / 11))),

    # Up for 300 s, so the 120 s window holds 60 checks; down for 3 min: checks 300..478 fail.
    # Alert: at t = 300 + 2k the window has k+1 failures; 47/60 < 80 % first at k+1 = 13: t = 324.
    # Recovery: at t >= 418 the failures in the window are those in [t-118, 478]: (478-(t-118))/2+1;
    # that is <= 12 (48/60 = 80 %) first at t = 574.
    Scenario("3 hard outage 3 min",
             {"site": Site(((300, HEALTHY), (180, FAILING_503), (FOREVER, HEALTHY)))},
             duration=780,
             expected=(alert(324, availability=47 / 60), recovery(574, availability=48 / 60))),

    # 10 s down (checks 300..308) with a full window: 55/60 = 91.7 % at worst.
    Scenario("4 short blip",
             {"site": Site(((300, HEALTHY), (10, FAILING_500), (FOREVER, HEALTHY)))},
             duration=600, expected=()),

    # 3 failures in the window (7/10) at t = f+8, f+9 for a failure at f, else 2 (8/10).
    # First 3 in the window at t = 31 (23, 27, 31): alert. Hysteresis: recover at >= 90 %, i.e. at most
    # one failure in the window (t-10, t]: after the last failure at 43 that is t = 49 (only 43 left).
    Scenario("5a hysteresis", {"site": _FLAPPING_SITE}, duration=60,
             settings={"alertWindow": 10, "recoveryThreshold": 0.9},
             expected=(alert(31, availability=0.7), recovery(49, availability=0.9))),

    # The same input without hysteresis flaps: alert at each f in 31, 35, 39, 43 (3 failures),
    # recovery two checks later when f-8 has left the window (2 failures, exactly 80 %).
    Scenario("5b no hysteresis", {"site": _FLAPPING_SITE}, duration=60, settings={"alertWindow": 10},
             expected=(alert(31), recovery(33), alert(35), recovery(37),
                       alert(39), recovery(41), alert(43), recovery(45))),

    # Checks 0..8 up (5); 10, 12 time out; 14, 16, 18 refused; from 20 up. Alert at 12: 5/7 = 71.4 %
    # (at 10: 5/6 = 83.3 %). Recovery when (5+k)/(10+k) >= 80 %, k ups since 20: k = 15, t = 48.
    Scenario("6 timeouts and refusals",
             {"site": Site(((10, HEALTHY), (4, SLOW), (6, REFUSED), (FOREVER, HEALTHY)), timeout=SLOW_TIMEOUT)},
             duration=50,
             expected=(alert(12, availability=5 / 7), recovery(48, availability=0.8)),
             stored_errors={"site": {"timeout": 2, "connection": 3}}),

    # "steady": always up every 1 s. "failing" every 3.5 s: check n at 3.5n, up for n <= 9, down for
    # n = 10..19 (35..66.5 s), up from n = 20. The window (3.5n - 120, 3.5n] holds checks n-34..n.
    # Alert: 10 up, 3 down at n = 12 (t = 42): 10/13 = 76.9 % (n = 11: 10/12 = 83.3 %).
    # Recovery: full window of 35 with 54-n failures for n >= 44; <= 7 first at n = 47 (t = 164.5), 28/35.
    Scenario("7 two sites",
             {"steady": Site(((FOREVER, HEALTHY),), interval=1.0),
              "failing": Site(((35, HEALTHY), (35, FAILING_500), (FOREVER, HEALTHY)), interval=3.5)},
             duration=200,
             expected=(alert(42, "failing", 10 / 13), recovery(164.5, "failing", 28 / 35))),

    # 20 s window (10 checks at 2 s). Up 0..18, down 20..38, up from 40. Alert at 24: 3 failures, 7/10.
    # Restart at 31: the first monitor checked 0..30, the second checks 31, 33, ... and, restoring the
    # alert, does not alert again. Window (t-20, t] at t = 55 holds 41..55 up (8) and 37, 39 down: 8/10.
    Scenario("8 restart mid-outage",
             {"site": Site(((20, HEALTHY), (20, FAILING_503), (FOREVER, HEALTHY)))},
             duration=60, restart_at=31, settings={"alertWindow": 20},
             expected=(alert(24, availability=0.7), recovery(55, availability=0.8))),

    # Checks 0, 2, 4 fail, then up. Without alertMinChecks the alert would come at 0 (0/1); with 5 it
    # waits for the 5th check, t = 8: 2/5 = 40 %. Recovery when u/(u+3) >= 80 %: u = 12 ups, t = 6 + 22 = 28.
    Scenario("9 alertMinChecks",
             {"site": Site(((6, FAILING_503), (FOREVER, HEALTHY)))},
             duration=40, settings={"alertMinChecks": 5},
             expected=(alert(8, availability=0.4), recovery(28, availability=0.8))),

    # 200 throughout; its JSON says "error" for checks 20..38. A 20 s window holds 10 checks: 7 of 10 first at
    # t = 24 (alert); at most 2 failures (36, 38) first at t = 54 (recovery). Stored as `condition` failures.
    Scenario("10 condition failure",
             {"site": Site(((20, JSON_OK), (20, JSON_ERROR), (FOREVER, JSON_OK)),
                           settings={"json": [{"path": "$.status", "equals": "ok"}]})},
             duration=70, settings={"alertWindow": 20},
             expected=(alert(24, availability=0.7), recovery(54, availability=0.8)),
             stored_errors={"site": {"condition": 10}}),

    # Two sites fail alike, checks 30..48. "strict" follows the top level (20 s window, 80 %): 7 of 10 at 34,
    # at most 2 failures (46, 48) at 64. "lenient" has its own 40 s window (20 checks) and 60 %: 11 of 20 at 46
    # (12 of 20 at 44 is not below); recovers at its own 60 %: 8 failures (34..48) left at 72.
    Scenario("11 per-site policy",
             {"strict": Site(((30, HEALTHY), (20, FAILING_503), (FOREVER, HEALTHY))),
              "lenient": Site(((30, HEALTHY), (20, FAILING_503), (FOREVER, HEALTHY)),
                              settings={"alertWindow": 40, "alertThreshold": 0.6})},
             duration=80, settings={"alertWindow": 20},
             expected=(alert(34, "strict", 0.7), alert(46, "lenient", 0.55), recovery(64, "strict", 0.8),
                       recovery(72, "lenient", 0.6))),
)
