"""Phases of a site's schedule: which one is in force at a virtual time."""

from __future__ import annotations

import pytest

from monitoringapp.testmode.schedule import FAILING_500, HEALTHY, REFUSED, flapping, phase_at

PHASES = ((4.0, HEALTHY), (4.0, FAILING_500), (0.0, REFUSED))


@pytest.mark.parametrize(("elapsed", "index"), [(0, 0), (3.999, 0), (4, 1), (7.5, 1), (8, 2), (1e6, 2)])
def test_a_phase_holds_from_its_start_up_to_but_excluding_the_next_start(elapsed: float, index: int) -> None:
    assert phase_at(PHASES, elapsed) == index


def test_the_last_phase_lasts_for_ever_whatever_its_duration() -> None:
    assert phase_at(((0.0, HEALTHY),), 86400) == 0


def test_a_schedule_needs_a_phase_and_flapping_a_positive_period() -> None:
    with pytest.raises(ValueError):
        phase_at((), 0)
    with pytest.raises(ValueError):
        flapping(0)
