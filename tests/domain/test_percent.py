"""Availability as text: rounded to the nearest, but never onto a threshold it is below."""

from __future__ import annotations

import pytest

from monitoringapp.domain.percent import percent_text


@pytest.mark.parametrize(("fraction", "text"), [
    (2 / 3, "66.7%"), (0.8125, "81.2%"), (0.8, "80.0%"), (1.0, "100.0%"), (0.0, "0.0%"), (1e-5, "0.0%"),
    (0.7996, "80.0%"),  # no threshold given: the nearest
])
def test_without_a_threshold_the_nearest_tenth(fraction: float, text: str) -> None:
    assert percent_text(fraction) == text


@pytest.mark.parametrize(("fraction", "text"), [
    (0.7995, "79.9%"), (0.79999, "79.9%"), (0.79949, "79.9%"), (0.7, "70.0%"),
    (0.8, "80.0%"), (0.80049, "80.0%"),  # at or above it: the nearest, as ever
])
def test_a_fraction_below_a_threshold_never_reads_as_it(fraction: float, text: str) -> None:
    assert percent_text(fraction, thresholds=[0.8]) == text


@pytest.mark.parametrize(("fraction", "text"), [(2 / 3, "66.6%"), (0.7996, "79.9%"), (0.29, "29.0%"), (0.0, "0.0%")])
def test_below_an_unknown_threshold_is_rounded_down_exactly(fraction: float, text: str) -> None:
    # 0.29 * 100 is 28.999999999999996 as a float: rounded down from the float it would read 28.9 %.
    assert percent_text(fraction, below=True) == text


def test_more_decimals_and_several_thresholds() -> None:
    bounds = (1.0, 0.999, 0.99, 0.95)
    assert [percent_text(f, 2, bounds) for f in (0.99999, 0.99899, 0.98996, 0.94996, 0.96996)] == [
        "99.99%", "99.89%", "98.99%", "94.99%", "97.00%"]
