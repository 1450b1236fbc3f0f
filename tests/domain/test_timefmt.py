"""Time formats: fixed-width ISO-8601 UTC text both ways, durations both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitoringapp.domain.timefmt import epoch_seconds, format_duration, iso_utc, parse_duration, parse_iso


def test_iso_utc_is_millisecond_text_with_a_z() -> None:
    assert iso_utc(1_795_089_600.123) == "2026-11-19T12:00:00.123Z"
    assert iso_utc(0.0) == "1970-01-01T00:00:00.000Z"


def test_iso_utc_of_a_year_before_1000_keeps_its_width_and_so_its_text_order() -> None:
    # A `--since 0500-01-01` was compared with the rows as `500-01-01T...`, after every one of them.
    assert iso_utc(parse_iso("0500-01-01")) == "0500-01-01T00:00:00.000Z"
    assert iso_utc(parse_iso("0001-01-01T00:00:00.001")) == "0001-01-01T00:00:00.001Z"
    assert iso_utc(parse_iso("0500-01-01")) < iso_utc(0.0) < iso_utc(parse_iso("9999-12-31T23:59:59.999"))


def test_parse_iso_reads_back_what_iso_utc_writes_and_takes_no_zone_as_utc() -> None:
    assert parse_iso("2026-11-19T12:00:00.123Z") == pytest.approx(1_795_089_600.123, abs=1e-6)
    assert parse_iso("2026-11-19T12:00:00") == parse_iso("2026-11-19T12:00:00+00:00") == 1_795_089_600.0
    assert parse_iso("2026-11-19") == 1_795_046_400.0


def test_naive_datetimes_are_utc_as_schedulers_give_them() -> None:
    assert epoch_seconds(datetime(1970, 1, 1, 0, 1)) == 60.0
    assert epoch_seconds(datetime(1970, 1, 1, 0, 1, tzinfo=UTC)) == 60.0


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("1.5m", 90.0), ("2h", 7200.0),
                                               ("7d", 604800.0), ("1w", 604800.0), ("250ms", 0.25)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "-5s", "5 parsecs", "1h30m", "\uff11h", "\u0661\u0662s"])
def test_parse_duration_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(0.0, "0s"), (45.9, "45s"), (185.0, "3m05s"), (7380.0, "2h03m"),
                                               (352800.0, "4d02h"), (-3.0, "0s"), (float("nan"), "-")])
def test_format_duration_is_two_units_at_most_rounded_down(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
