"""A location's clock ahead of the stream's server, told once per location, with exact times (stamped, arrived,
the evaluator's now)."""

from __future__ import annotations

from monitoringapp.operators.clock_skew import REARM_AFTER, ClockAhead, ClockSkewWatch

LIMIT = 60.0


def test_a_probe_stamped_more_than_the_limit_ahead_of_its_arrival_is_told_once_per_location() -> None:
    watch = ClockSkewWatch(LIMIT)
    said = [watch.on_probe("eu", 1120.0, 1000.0, now=1000.0),
            watch.on_probe("eu", 1121.0, 1001.0, now=1001.0),
            watch.on_probe("us", 1062.5, 1001.5, now=1001.5),
            watch.on_probe("eu", 1122.0, 1002.0, now=1002.0),
            watch.on_probe("us", 1063.5, 1002.5, now=1002.5)]
    assert said == [ClockAhead("eu", 120.0), None, ClockAhead("us", 61.0), None, None]


def test_in_line_at_the_limit_or_behind_by_any_amount_is_never_told() -> None:
    # Behind is normal: a probe is taken before it is sent, and a prober's spool sends it much later.
    watch = ClockSkewWatch(LIMIT)
    said = [watch.on_probe("eu", 1060.0, 1000.0, now=1000.0),  # exactly the limit: a read by time still finds it
            watch.on_probe("eu", 1000.0, 1000.0, now=1000.0),
            watch.on_probe("eu", 100.0, 1000.0, now=1000.0),  # 900 s behind: a spool sent after an outage
            watch.on_probe("eu", 1000.0, 1000.3, now=1001.0)]
    assert said == [None, None, None, None]
    assert watch.last_ahead == {}


def test_told_again_only_after_none_of_its_probes_was_ahead_for_the_rearm_time() -> None:
    watch = ClockSkewWatch(LIMIT)
    first = watch.on_probe("eu", 2120.0, 2000.0, now=2000.0)
    # Still ahead an hour later, and every probe since: one standing fault, not told again.
    lasting = [watch.on_probe("eu", t + 120.0, t, now=t) for t in (2600.0, 4000.0, 5600.0)]
    # Back in line (an in-line probe is not ahead), then ahead again 1 s short of the rearm time: not yet, and that
    # probe being ahead starts the rearm time again.
    watch.on_probe("eu", 6000.0, 6000.0, now=6000.0)
    short = watch.on_probe("eu", 9199.0 + 90.0, 9199.0, now=5600.0 + REARM_AFTER - 1.0)
    # The whole rearm time after that one, ahead again: told again, by how much it is now.
    again = watch.on_probe("eu", 12_799.0 + 90.0, 12_799.0, now=9199.0 + REARM_AFTER)
    assert (first, lasting, short, again) == (ClockAhead("eu", 120.0), [None, None, None], None,
                                              ClockAhead("eu", 90.0))
