"""The config's `notifications` (where the notifier delivers) and `maintenance` (when it does not), validated.

`domain.config` calls `parse_notifications` and `parse_maintenance` with its own `fail` (one-line errors
naming the entry) and `warn`. A channel's `url` is kept as written: `${NAME}` is taken from the
environment only when a notifier starts (`expand_url`), so `--check` and `-m` never need the secrets and
never show them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

from monitoringapp.domain.secrets import Secrets, bad_variable, expand, url_password, value_of, variables
from monitoringapp.domain.sites import (
    authority_end,
    hidden_parts,
    key_named,
    shown_in_error,
    shown_url,
    shown_without_tokens,
    url_problem,
)
from monitoringapp.domain.timefmt import iso_utc, parse_duration, parse_iso

Fail = Callable[[str, str, object], Exception]
"""`fail(where, problem, value)`: the config's one-line error, to raise."""

WEBHOOK_SCHEMES = frozenset({"http", "https"})
MAIL_SCHEMES = frozenset({"mailto", "mailtos"})  # apprise's e-mail: its user is a login, never a token
EVENTS = ("alert", "recovery", "monitor-stale", "certificate")
DEFAULT_MAX_AGE = 3600.0
MIN_REMIND_EVERY = 60.0
MAX_PERIOD = 365 * 86400.0
_CHANNEL_KEYS = {"url", "name", "sites", "events", "remindEvery", "maxAge"}
_MAINTENANCE_KEYS = {"sites", "start", "end", "weekly"}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(r"^\s*([a-z,\-]+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """One place to deliver to. `url` is as written (with `${NAME}` unexpanded); `sites` None means all."""

    name: str
    url: str = field(repr=False)  # a password or an apprise token written as is
    sites: frozenset[str] | None = None
    events: frozenset[str] = frozenset(EVENTS)
    remind_every: float | None = None
    max_age: float = DEFAULT_MAX_AGE
    entry: str = "notifications[0]"  # where the config gives it, for errors found at start

    @property
    def webhook(self) -> bool:
        return is_webhook(self.url)

    def wants_site(self, site: str | None) -> bool:
        return site is None or self.sites is None or site in self.sites

    def effective(self, shown_by_apprise: Callable[[str], str | None] | None = None) -> dict[str, Any]:
        """As the config would give it, with its URL as `shown_channel_url` shows it."""
        return {"url": shown_channel_url(self.url, shown_by_apprise), "name": self.name,
                "sites": None if self.sites is None else sorted(self.sites),
                "events": [event for event in EVENTS if event in self.events],
                "remindEvery": self.remind_every, "maxAge": self.max_age}


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Sites (None: all) whose transitions are not delivered from `start` to `end`, or every week on `days`
    (0 is Monday) from `begins` to `ends` seconds into the day, UTC; a weekly range whose end is not after
    its start runs past midnight into the next day."""

    sites: frozenset[str] | None = None
    start: float | None = None
    end: float | None = None
    days: frozenset[int] = frozenset()
    begins: int = 0
    ends: int = 0
    weekly: str | None = None  # as written

    def covers(self, site: str | None, moment: float) -> bool:
        if site is not None and self.sites is not None and site not in self.sites:
            return False
        if self.start is not None and self.end is not None:
            return self.start <= moment < self.end
        when = datetime.fromtimestamp(moment, UTC)
        second = when.hour * 3600 + when.minute * 60 + when.second
        day = when.weekday()
        if self.begins < self.ends:
            return day in self.days and self.begins <= second < self.ends
        return (day in self.days and second >= self.begins) or ((day - 1) % 7 in self.days and second < self.ends)

    def end_of(self, moment: float) -> float:
        """When the occurrence of this window that covers `moment` ends."""
        if self.start is not None and self.end is not None:
            return self.end
        when = datetime.fromtimestamp(moment, UTC)
        midnight = moment - (when.hour * 3600 + when.minute * 60 + when.second + when.microsecond / 1e6)
        second = moment - midnight
        if self.begins < self.ends or second < self.ends:
            return midnight + self.ends
        return midnight + 86400 + self.ends  # begun today, ends tomorrow

    def effective(self) -> dict[str, Any]:
        window: dict[str, Any] = {"sites": None if self.sites is None else sorted(self.sites)}
        if self.weekly is not None:
            window["weekly"] = self.weekly
        else:
            assert self.start is not None and self.end is not None
            window.update(start=iso_utc(self.start), end=iso_utc(self.end))
        return window


def in_maintenance(windows: Collection[MaintenanceWindow], site: str | None, moment: float) -> bool:
    return any(window.covers(site, moment) for window in windows)


def maintenance_until(windows: Collection[MaintenanceWindow], site: str | None, moment: float) -> float | None:
    """When the maintenance of `site` going on at `moment` ends (windows that overlap or follow on count as
    one); None when none is going on."""
    end = moment
    for _ in range(1000):  # windows chained back to back; a bound all the same
        ends = [window.end_of(end) for window in windows if window.covers(site, end)]
        if not ends:
            break
        end = max(ends)
    return end if end > moment else None


def expand_url(url: str, environ: Mapping[str, str]) -> tuple[str, Secrets]:
    """`url` with every `${NAME}` taken from `environ`, and the secrets it now holds (those values, and a
    password written in it), to be kept out of every line, file and notification. MissingVariable for one not set
    or empty.

    In the user information (`user:${PASSWORD}@host`) a value goes in percent-encoded, as a URL carries it
    (requests and apprise decode it): a password holding an @, a / or a : stays that password instead of ending
    the user information early. Where no colon is written there (`${CREDENTIALS}@host`), a value's colons stay:
    it is user and password, split at its first colon. Elsewhere a value goes in as is (a token may be several path
    segments)."""
    split = _user_information_end(url)
    user_information, rest = url[:split], url[split:]
    written = _VARIABLE.sub("", user_information.partition("://")[2])
    both = ":" not in written
    encode = _user_and_password if both else partial(quote, safe="")
    encoded = {name: encode(value_of(name, environ)) for name in variables(user_information)}
    expanded_user_information, _ = expand(user_information, encoded)
    expanded_rest, values = expand(rest, environ)
    # As is; and as the URL holds user and password (`redact` knows the fully encoded form already).
    taken = (*(environ[name] for name in encoded), *(encoded.values() if both else ()), *values)
    # A password written as is, read from the URL as written (an expanded value may hold an @ or a /).
    return expanded_user_information + expanded_rest, Secrets.of((*taken, *filter(None, [url_password(url)])))


def _user_and_password(value: str) -> str:
    """`user:password` as a URL's user information carries it: the first colon ends the user, as RFC 3986 reads
    it; the password's own colons are encoded, since apprise ends a password at its next colon."""
    user, colon, password = value.partition(":")
    return quote(user, safe="") + colon + quote(password, safe="")


def _user_information_end(url: str) -> int:
    """Where the user information of `url` as written ends (its last @ before the path): 0 when it has none.
    A `${NAME}` holds none of / ? # @, so the URL as written shows where its parts are."""
    start = url.find("://") + 3 if "://" in url else 0
    at = url.rfind("@", start, authority_end(url, start))
    return at if at >= 0 else 0


def shown_channel_url(url: str, shown_by_apprise: Callable[[str], str | None] | None = None) -> str:
    """A channel's URL as it may be shown: a webhook's with a password written in it as `***`; an apprise one (whose
    tokens sit in its host, user and path too) as `shown_by_apprise` shows it (apprise's privacy mode, None where
    apprise cannot read it) unless it holds a `${NAME}`, else as `_shown_apprise_url` shows it."""
    if is_webhook(url):
        return shown_url(url)
    shown = None if shown_by_apprise is None or "${" in url else shown_by_apprise(url)
    return _shown_apprise_url(url, shown_url) if shown is None else shown


def _shown_apprise_url(url: str, shown_authority: Callable[[str], str]) -> str:
    """An apprise URL shown without apprise: an e-mail one's login and server as `shown_authority` shows them (its
    password as `***`), as apprise's privacy mode and the channel's default name show them, the rest each part
    hidden; any other with each part hidden (`shown_without_tokens`), since its tokens may sit anywhere."""
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in MAIL_SCHEMES:
        return shown_without_tokens(url)
    end = authority_end(url, len(scheme) + len(separator))
    return shown_authority(url[:end]) + shown_without_tokens(url[end:])


TOKEN_AT_LEAST = 4
"""A part of an apprise URL shorter than this (`ops` of `#ops`, a port `25`) is taken for no token: hidden in every
error line, it would only mangle the words and numbers it stands beside."""


def channel_tokens(url: str) -> tuple[str, ...]:
    """What an apprise URL as written may hold as tokens, to be hidden in every error line as its secrets are (apprise
    names some in its own failures: `... to topic 's3cret-topic'`): each part `shown_channel_url` hides without
    apprise; none for a webhook, and an e-mail URL's login and server stay, as they are shown."""
    if is_webhook(url):
        return ()
    scheme, separator, _ = url.partition("://")
    start = authority_end(url, len(scheme) + len(separator)) if separator and scheme.lower() in MAIL_SCHEMES else 0
    return tuple(part for part in hidden_parts(url[start:]) if len(part) >= TOKEN_AT_LEAST)


def is_webhook(url: str) -> bool:
    """Our own JSON webhook (http, https); any other scheme is apprise's."""
    return url.partition("://")[0].lower() in WEBHOOK_SCHEMES


def default_name(url: str) -> str:
    """A channel's name when the config gives none: its URL without what may be a secret. A webhook keeps
    scheme, host, port and path (no user, password or query); an e-mail URL keeps `scheme://user@host`
    (the login and the server); any other only the scheme and a short hash, since apprise URLs carry their
    tokens in the host, user and path (`slack://TokenA/TokenB/TokenC`, `pover://USER_KEY@TOKEN`)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.netloc.rsplit("@", 1)[-1]
    if scheme in WEBHOOK_SCHEMES:
        return f"{scheme}://{host}{parts.path}"
    if scheme in MAIL_SCHEMES and "@" in parts.netloc and parts.username:
        return f"{scheme}://{parts.username}@{host}"
    return f"{scheme}:{hashlib.sha256(url.encode()).hexdigest()[:8]}"


def parse_notifications(document: Mapping[str, Any], fail: Fail, warn: Callable[[str], None],
                        sites: Mapping[str, str], source: str) -> tuple[ChannelConfig, ...]:
    """The `notifications` list of a config document (none when absent); `sites`: each site's key -> its URL."""
    channels: list[ChannelConfig] = []
    names: dict[str, int] = {}
    for index, (where, entry) in enumerate(_entries(document, "notifications", "channels", fail)):
        if not isinstance(entry, dict) or "url" not in entry:
            raise fail(where, 'must be an object with a "url"', entry)
        _warn_unknown(entry, _CHANNEL_KEYS, where, warn, source)
        url = _channel_url(entry["url"], f"{where}.url", fail)
        # A webhook's default name keeps a `${NAME}` of its path as written (`/hook/${HOOK_TOKEN}`): a name, not
        # the secret (and --check prints it so). Any other name must be without one: it is never taken from the
        # environment.
        name = entry.get("name", default_name(url))
        if not isinstance(name, str) or not name.strip() or ("${" in name and name != default_name(url)):
            raise fail(f"{where}.name", "must be a non-empty string without ${...}", name)
        if name in names:
            raise fail(f"{where}.name", f"duplicate of notifications[{names[name]}] (give each channel a name)",
                       name)
        names[name] = index
        channel_sites = _sites(entry, where, fail, warn, sites, source)
        events = entry.get("events", list(EVENTS))
        if (not isinstance(events, list) or not events
                or any(not isinstance(event, str) or event not in EVENTS for event in events)):
            raise fail(f"{where}.events", f"must be a non-empty list of {', '.join(EVENTS)}", events)
        remind = _period(entry, "remindEvery", f"{where}.remindEvery", fail, MIN_REMIND_EVERY)
        max_age = _period(entry, "maxAge", f"{where}.maxAge", fail, 60.0)
        channels.append(ChannelConfig(name, url, channel_sites, frozenset(events), remind,
                                      DEFAULT_MAX_AGE if max_age is None else max_age, where))
    return tuple(channels)


def parse_maintenance(document: Mapping[str, Any], fail: Fail, warn: Callable[[str], None],
                      sites: Mapping[str, str], source: str) -> tuple[MaintenanceWindow, ...]:
    """The `maintenance` list of a config document (none when absent); `sites`: each site's key -> its URL."""
    windows: list[MaintenanceWindow] = []
    for where, entry in _entries(document, "maintenance", "windows", fail):
        if not isinstance(entry, dict):
            raise fail(where, 'must be an object with "start" and "end", or "weekly"', entry)
        _warn_unknown(entry, _MAINTENANCE_KEYS, where, warn, source)
        window_sites = _sites(entry, where, fail, warn, sites, source)
        if "weekly" in entry and ("start" in entry or "end" in entry):
            raise fail(where, 'takes "start" and "end", or "weekly", not both', entry)
        if "weekly" in entry:
            days, begins, ends = _weekly(entry["weekly"], f"{where}.weekly", fail)
            windows.append(MaintenanceWindow(window_sites, days=days, begins=begins, ends=ends,
                                             weekly=entry["weekly"]))
            continue
        if "start" not in entry or "end" not in entry:
            raise fail(where, 'needs "start" and "end" (ISO dates, UTC unless a zone is given), or "weekly"',
                       entry)
        start = _date(entry["start"], f"{where}.start", fail)
        end = _date(entry["end"], f"{where}.end", fail)
        if end <= start:
            raise fail(f"{where}.end", "must be after start", entry["end"])
        windows.append(MaintenanceWindow(window_sites, start, end))
    return tuple(windows)


def _entries(document: Mapping[str, Any], key: str, what: str, fail: Fail) -> list[tuple[str, Any]]:
    """The entries of the list at `key` (none when absent), each with where it is (`key[i]`)."""
    entries = document.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise fail(key, f"must be a list of {what}", entries)
    return [(f"{key}[{index}]", entry) for index, entry in enumerate(entries)]


def _warn_unknown(entry: Mapping[str, Any], known: set[str], where: str, warn: Callable[[str], None],
                  source: str) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        warn(f"{source}: {where}: unknown key(s) ignored: {', '.join(unknown)}")


def _channel_url(value: object, where: str, fail: Fail) -> str:
    if not isinstance(value, str) or not value:
        raise fail(where, "must be a URL string", value)
    # A webhook's, read from how it begins (`http:/ops:pw@host`, one slash short, is a webhook mistyped): what any
    # message shows is never a password written in it, nor (where it may be apprise's) a token.
    webhook = value.lower().startswith(("http:", "https:"))
    shown = shown_in_error(value) if webhook else _shown_apprise_url(value, shown_in_error)
    if any(c.isspace() or not c.isprintable() for c in value):
        raise fail(where, "must not contain spaces or control characters", shown)
    problem = bad_variable(value)
    if problem is not None:
        raise fail(where, problem, shown)
    # Checked with each ${NAME} standing in as a plain word, since its value is not known here.
    try:
        parts = urlsplit(_VARIABLE.sub("x", value))
    except ValueError as error:  # a [ ] around the host that is unbalanced or holds no IP address
        raise fail(where, f"is not a valid URL ({url_problem(error)})", shown) from None
    if not parts.scheme or "://" not in value:
        raise fail(where, "needs a scheme (http://, https://, or an apprise one such as mailto://)", shown)
    if webhook:
        # A webhook's port only: apprise reads its URLs its own way, where a colon in the host need start no port
        # (a Telegram bot token, `tgram://123456789:AAH.../ChatID`).
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number or out of range
        except ValueError as error:
            raise fail(where, f"is not a valid URL ({url_problem(error)})", shown) from None
        if not parts.hostname:
            raise fail(where, "has no host", shown)
    return value


def _sites(entry: Mapping[str, Any], where: str, fail: Fail, warn: Callable[[str], None],
           known: Mapping[str, str], source: str) -> frozenset[str] | None:
    if "sites" not in entry or entry["sites"] is None:
        return None
    value = entry["sites"]
    if not isinstance(value, list) or not value or any(not isinstance(site, str) for site in value):
        shown = [shown_in_error(site) if isinstance(site, str) else site for site in value] \
            if isinstance(value, list) else value
        raise fail(f"{where}.sites", "must be a non-empty list of site URLs", shown)
    # A site is named as `--site` names it: by its key, or any spelling of its URL (with its password too, which
    # is shown as `***`); the transitions carry its key.
    keys: set[str] = set()
    for site in value:
        key = key_named(site, known)
        if key is None:
            key = shown_url(site)
            warn(f"{source}: {where}.sites: {key} is none of the websites")
        keys.add(key)
    return frozenset(keys)


def _period(entry: Mapping[str, Any], key: str, where: str, fail: Fail, minimum: float) -> float | None:
    if key not in entry or entry[key] is None:
        return None
    value = entry[key]
    if isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise fail(where, "must be a duration such as 30m or 1h", value) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise fail(where, "must be a duration such as 30m or 1h", value)
    if not minimum <= seconds <= MAX_PERIOD:
        raise fail(where, f"must be between {minimum:g} s and 365d", value)
    return seconds


def _date(value: object, where: str, fail: Fail) -> float:
    if not isinstance(value, str):
        raise fail(where, "must be an ISO date such as 2026-12-01T02:00Z", value)
    try:
        return parse_iso(value)
    except ValueError:
        raise fail(where, "must be an ISO date such as 2026-12-01T02:00Z", value) from None


def _weekly(value: object, where: str, fail: Fail) -> tuple[frozenset[int], int, int]:
    problem = "must be days and a UTC time range such as \"sat,sun 02:00-04:00\" or \"mon-fri 22:00-06:00\""
    match = _WEEKLY.match(value.lower()) if isinstance(value, str) else None
    if match is None:
        raise fail(where, problem, value)
    days: set[int] = set()
    for part in match.group(1).split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise fail(where, problem, value)
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    h1, m1, h2, m2 = (int(match.group(n)) for n in range(2, 6))
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise fail(where, problem, value)
    begins, ends = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if begins == ends % 86400 and h2 != 24:
        raise fail(where, "must not start and end at the same time", value)
    return frozenset(days), begins, ends
