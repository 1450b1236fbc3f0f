"""Time as the store and the console show it: fixed-width ISO-8601 UTC text and short durations."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime


def epoch_seconds(moment: datetime) -> float:
    """UTC seconds since the epoch; a naive datetime is taken as UTC (as schedulers give it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def utc_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso_utc(seconds: float) -> str:
    """`2026-11-24T12:00:00.123Z`: 24 characters, so text order is time order."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    if whole < _YEAR_1000:
        # glibc's %Y does not pad a year before 1000 (`500-01-01`), which sorts after `2026-...`: a `--since
        # 0500-01-01` read nothing at all. Padded here only, where it is needed: this runs for every probe stored.
        moment = time.gmtime(whole)
        return f"{moment.tm_year:04d}" + time.strftime("-%m-%dT%H:%M:%S", moment) + f".{millis:03d}Z"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


_YEAR_1000 = -30_610_224_000  # 1000-01-01T00:00:00Z


def whole_millis(seconds: float) -> float:
    """`seconds` at the store's resolution, so that `parse_iso(iso_utc(t)) == whole_millis(t)`:
    an event judged live and the same event read back from the store are the same number."""
    return round(seconds * 1000) / 1000


def parse_iso(text: str) -> float:
    """Seconds since the epoch of an ISO-8601 date or date-time; no zone means UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return epoch_seconds(moment)


# ASCII digits only: `\d` also matches a full-width one, which float() reads as its ASCII twin (`--since` of a
# full-width 1 and `h` was an hour).
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$", re.ASCII)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """Seconds in `90`, `90s`, `15m`, `2h`, `7d` or `1w`; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 7d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


_BARE_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$", re.ASCII)


def unit_missing(text: str) -> str | None:
    """What to say of an age or a date given as a number alone (`30`), None for anything else. Such a number is
    read nowhere as seconds: `30` meant as days would cover half a minute, or delete all but it, without a word."""
    if _BARE_NUMBER.match(text) is None:
        return None
    number = text.strip().removeprefix("-")
    if len(number) == 8 and number.isdigit():  # `20261202`: a date as `date +%Y%m%d` writes it, not an age
        try:
            day = datetime.strptime(number, "%Y%m%d")
        except ValueError:
            pass
        else:
            return f"{text!r} has no unit; for that date, say {day:%Y-%m-%d}"
    return f"{text!r} has no unit; say {number}d, {number}h, {number}m or {number}s"


_OUT_OF_RANGE = re.compile(r"^(year|month|day|hour|minute|second) (is out of range|must be in)")


def impossible_date(text: str) -> str | None:
    """Why `text`, written as an ISO date, names no moment (`day is out of range for month` for `2025-02-29`), None
    for anything else: told as such, not as a text that is no date at all, which it is not."""
    try:
        datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as error:
        return str(error) if _OUT_OF_RANGE.match(str(error)) else None
    return None


def parse_age_or_date(text: str, now: float) -> float:
    """Seconds since the epoch of an age (`2h`, `7d`, or `-7d` as journalctl writes it) counted back from `now`,
    but not before the epoch, or of an ISO-8601 date or date-time (no zone means UTC); ValueError otherwise."""
    try:
        return max(0.0, now - parse_duration(text.strip().removeprefix("-")))
    except ValueError:
        return parse_iso(text)


def format_duration(seconds: float) -> str:
    """`45s`, `3m05s`, `2h03m`, `4d02h`: two units at most, rounded down."""
    if math.isnan(seconds):
        return "-"
    total = int(max(0.0, seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
