"""The monitoring configuration: JSON text in, a validated, defaulted `Config` out.

Every mistake a user can make is one `ConfigError` whose message names the file,
the field and the value; things that are merely odd (a site without URL, an
unknown key, settings under which a site can never alert) come back as warnings
and do not stop the monitor.

A site's URL may carry a password (`https://user:secret@host/`): the probe uses it, but the site is known
everywhere else (stored, printed, compared, keyed) by its URL with the password shown as `***`, and no
message, repr or effective config holds it. Sites are compared in canonical form (scheme and host case,
a default port, an empty path), so one site cannot be configured twice under two spellings.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitoringapp.domain.notifications import ChannelConfig, MaintenanceWindow, parse_maintenance, parse_notifications
from monitoringapp.domain.timefmt import format_duration, parse_duration

DEFAULT_CHECK_INTERVAL = 2.0
MAX_TIMEOUT_DEFAULT = 10.0
MAX_INTERVAL = 86400.0
MAX_TIMEOUT = 600.0
MAX_WINDOW = 86400.0
MAX_RETENTION = 3650 * 86400.0
DEFAULT_ROLLUP_RETENTION = 400 * 86400.0
MAX_MIN_CHECKS = 100_000
MIN_INTERVAL = 0.1
"""The floor of `checkInterval` and of a report's `every`: a smaller value runs at the floor, with a warning
(ten checks a second per site is already more than any uptime check needs; 1 ms spent most of a core on
ticks skipped while the previous probe was in flight)."""
MAX_CONFIG_BYTES = 1 << 20
"""A config file is a few kB; past this it is not one (`-c /dev/zero`)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*):[^/?#@]*@")


class ConfigError(Exception):
    """A configuration a user wrote that monitoringApp cannot run with; the message is one line."""


def redact_url(url: str) -> str:
    """`url` with the password of its user information, if any, shown as `***` (works on any text that
    starts like a URL, so an invalid one is safe to print too)."""
    return _PASSWORD.sub(r"\1:***@", url)


def shown_servers(servers: Iterable[str]) -> str:
    """Server URLs (NATS's) as they may be shown: comma-separated, each password as `***`."""
    return ", ".join(redact_url(server) for server in servers)


def canonical_url(url: str) -> str:
    """The form two spellings of one site share: scheme and host lower case, no default port, `/` for an
    empty path, no fragment (never sent), the password redacted. Text that is no URL comes back as it is."""
    try:
        parts = urlsplit(redact_url(url))
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if parts.username is not None:
        netloc = f"{parts.username}{':***' if parts.password is not None else ''}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """One site: `url` is its name everywhere (stored, printed, compared: the URL as written, a password
    shown as `***`); `secret_url`, the URL with its password, is for the probe only and never shown."""

    url: str
    check_interval: float
    timeout: float
    secret_url: str | None = field(default=None, repr=False)
    quorum: int | None = None  # its own quorum of locations; None: the config's

    @property
    def probe_url(self) -> str:
        """The URL the probe requests."""
        return self.secret_url or self.url


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Alert when availability over `window` seconds < `threshold` (with `min_checks` checks);
    recover when it is back at `recovery_threshold` or more."""

    window: float = 120.0
    threshold: float = 0.8
    recovery_threshold: float = 0.8
    min_checks: int = 1


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """Every `every` seconds, one report per window length in `windows`."""

    every: float
    windows: tuple[float, ...]


DEFAULT_REPORTS = (ReportSpec(10.0, (120.0, 600.0)), ReportSpec(60.0, (3600.0,)))


@dataclass(frozen=True, slots=True)
class Config:
    sites: tuple[SiteConfig, ...]
    alert: AlertPolicy = field(default_factory=AlertPolicy)
    reports: tuple[ReportSpec, ...] = DEFAULT_REPORTS
    retention: float | None = None
    quorum: int = 1
    notifications: tuple[ChannelConfig, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()
    rollup_retention: float = DEFAULT_ROLLUP_RETENTION
    source: str = "config.json"
    warnings: tuple[str, ...] = ()

    @property
    def report_windows(self) -> tuple[float, ...]:
        """Every report's window length, in the order the config gives them."""
        return tuple(w for spec in self.reports for w in spec.windows)

    @property
    def longest_window(self) -> float:
        return max([self.alert.window, *self.report_windows])

    @property
    def quiet_limit(self) -> float:
        """How long a monitor of this config may store no probe before something is wrong: two of its longest
        check intervals, its longest timeout, and 5 s for the store's commit and a reader's poll."""
        return (2 * max(site.check_interval for site in self.sites) + max(site.timeout for site in self.sites)
                + 5.0)

    def effective(self) -> dict[str, Any]:
        """The config with every default filled in, in the file's own format."""
        return {
            "websites": [
                {"URL": s.url, "checkInterval": s.check_interval, "timeout": s.timeout,
                 **({"quorum": s.quorum} if s.quorum is not None else {})}
                for s in self.sites
            ],
            "alertWindow": self.alert.window,
            "alertThreshold": self.alert.threshold,
            "recoveryThreshold": self.alert.recovery_threshold,
            "alertMinChecks": self.alert.min_checks,
            "reports": [{"every": r.every, "windows": list(r.windows)} for r in self.reports],
            "retention": self.retention,
            "quorum": self.quorum,
            **({"notifications": [c.effective() for c in self.notifications]} if self.notifications else {}),
            **({"maintenance": [m.effective() for m in self.maintenance]} if self.maintenance else {}),
            "rollupRetention": self.rollup_retention,
        }


_TOP_KEYS = {
    "websites", "defaultCheckInterval", "defaultTimeout", "alertWindow", "alertThreshold",
    "recoveryThreshold", "alertMinChecks", "reports", "retention", "rollupRetention", "notifications", "maintenance",
    "quorum",
}
_SITE_KEYS = {"URL", "checkInterval", "timeout", "quorum"}


def parse_config(text: str, source: str = "config.json") -> Config:
    """Validate the JSON text of a config file named `source`; raise ConfigError on the first mistake."""
    if not text.strip():
        raise ConfigError(f'{source}: is empty; a config needs at least {{"websites": [{{"URL": "http://..."}}]}}')
    try:
        document = json.loads(text, object_pairs_hook=_JsonObject.of)
    except json.JSONDecodeError as error:
        raise ConfigError(_json_problem(source, error)) from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid JSON: nested too deeply") from None
    duplicate = _first_duplicate(document, "top level")
    if duplicate is not None:
        where, key = duplicate
        raise ConfigError(f'{source}: {where}: duplicate key "{key}" (JSON keeps only the last value; write it once)')
    return _Validator(source).config(document)


class _JsonObject(dict[str, Any]):
    """A JSON object that remembers the first key it was given twice (JSON itself keeps the last value)."""

    duplicate: str | None = None

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]]) -> _JsonObject:
        made = cls(pairs)
        if len(made) < len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    made.duplicate = key
                    break
                seen.add(key)
        return made


def _first_duplicate(node: object, where: str) -> tuple[str, str] | None:
    """(where, key) of the first key written twice in one object of `node`, depth first."""
    if isinstance(node, _JsonObject):
        if node.duplicate is not None:
            return where, node.duplicate
        children: list[tuple[str, object]] = [
            (key if where == "top level" else f"{where}.{key}", value) for key, value in node.items()]
    elif isinstance(node, list):
        children = [(f"{where}[{index}]", value) for index, value in enumerate(node)]
    else:
        return None
    for child_where, child in children:
        found = _first_duplicate(child, child_where)
        if found is not None:
            return found
    return None


def _json_problem(source: str, error: json.JSONDecodeError) -> str:
    """`file:line:column: invalid JSON: ...`; a trailing comma (the seed's own example has one) is named as such."""
    text, position = error.doc, error.pos
    before = text[:position].rstrip()
    if position < len(text) and text[position] in "]}" and before.endswith(","):
        comma = len(before) - 1
        line = text.count("\n", 0, comma) + 1
        column = comma - text.rfind("\n", 0, comma)
        return f"{source}:{line}:{column}: invalid JSON: trailing comma before '{text[position]}' (remove it)"
    return f"{source}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}"


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[str] = []
        self.site_names: list[str] = []  # where each site was written, e.g. "websites[2]"

    def fail(self, where: str, problem: str, value: object) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {problem}, got {_show(value)}")

    def config(self, document: object) -> Config:
        if not isinstance(document, dict):
            raise ConfigError(f"{self.source}: the top level must be a JSON object, got {_kind(document)}")
        self._warn_unknown(document, _TOP_KEYS, "top level")
        default_interval = self._at_least_floor(
            document, "defaultCheckInterval", "defaultCheckInterval",
            self._number(document, "defaultCheckInterval", "defaultCheckInterval", DEFAULT_CHECK_INTERVAL,
                         MAX_INTERVAL))
        default_timeout = (
            self._number(document, "defaultTimeout", "defaultTimeout", None, MAX_TIMEOUT)
            if "defaultTimeout" in document else None
        )
        sites = self._sites(document, default_interval, default_timeout)
        alert = self._alert_policy(document)
        reports = self._reports(document)
        retention = self._retention(document, "retention")
        self._warn_futile(sites, alert)
        urls = [site.url for site in sites]
        return Config(
            sites=sites,
            alert=alert,
            reports=reports,
            retention=retention,
            rollup_retention=self._retention(document, "rollupRetention") or DEFAULT_ROLLUP_RETENTION,
            notifications=parse_notifications(document, self.fail, self.warnings.append, urls, self.source),
            maintenance=parse_maintenance(document, self.fail, self.warnings.append, urls, self.source),
            quorum=self._quorum(document),
            source=self.source,
            warnings=tuple(self.warnings),
        )

    def _warn_futile(self, sites: tuple[SiteConfig, ...], alert: AlertPolicy) -> None:
        """Warn of settings under which sites can never alert, or alert on every single failure, or have
        ticks skipped by design."""
        names = dict(zip(sites, self.site_names, strict=True))
        slow = [site for site in sites if site.timeout > site.check_interval]
        if len(slow) == 1:
            (site,) = slow
            self.warnings.append(
                f"{self.source}: {names[site]}.timeout ({_span(site.timeout)}) is longer than its checkInterval "
                f"({_span(site.check_interval)}): while a probe hangs, the ticks it spans are skipped")
        elif slow:
            self.warnings.append(f"{self.source}: {some_of(names[s] for s in slow)}: timeout is longer than "
                                 "checkInterval: while a probe hangs, the ticks it spans are skipped")
        if alert.threshold == 0:
            self.warnings.append(f"{self.source}: alertThreshold is 0: availability is never below 0%, "
                                 "so no alert is ever raised")
        held = {site: _checks_held(alert.window, site.check_interval) for site in sites}
        starved = [site for site in sites if held[site] < alert.min_checks]
        if len(starved) == 1:
            (site,) = starved
            self.warnings.append(
                f"{self.source}: alertMinChecks ({alert.min_checks}) is more than the {held[site]} check(s) "
                f"alertWindow ({_span(alert.window)}) holds for {names[site]} (every {_span(site.check_interval)})"
                ": it can never alert")
        elif starved:
            self.warnings.append(
                f"{self.source}: alertMinChecks ({alert.min_checks}) is more than the checks alertWindow "
                f"({_span(alert.window)}) holds for {some_of(names[s] for s in starved)}: they can never alert")
        single = [site for site in sites if held[site] == 1 and alert.min_checks == 1 and alert.threshold > 0]
        if single:
            every = f" (every {_span(single[0].check_interval)})" if len(single) == 1 else ""
            self.warnings.append(
                f"{self.source}: alertWindow ({_span(alert.window)}) holds only the latest check of "
                f"{some_of(names[s] for s in single)}{every}: one failure alerts and one success recovers")

    def _sites(self, document: dict[str, Any], default_interval: float,
               default_timeout: float | None) -> tuple[SiteConfig, ...]:
        if "websites" not in document:
            raise ConfigError(f'{self.source}: "websites" is missing: list the sites to monitor')
        entries = document["websites"]
        if not isinstance(entries, list):
            raise self.fail("websites", "must be a list of sites", entries)
        sites: list[SiteConfig] = []
        seen: dict[str, tuple[int, str]] = {}
        for index, entry in enumerate(entries):
            where = f"websites[{index}]"
            if not isinstance(entry, dict):
                raise self.fail(where, "must be an object with a URL", entry)
            if "URL" not in entry:
                spelled = next((key for key in entry if key.lower() == "url"), None)
                hint = f' (found "{spelled}": keys are case-sensitive)' if spelled is not None else ""
                self.warnings.append(f'{self.source}: {where}: no "URL"{hint}, entry ignored')
                continue
            self._warn_unknown(entry, _SITE_KEYS, where)
            url = self._url(entry["URL"], f"{where}.URL")
            shown = redact_url(url)
            first = seen.get(canonical_url(url))
            if first is not None:
                raise self.fail(f"{where}.URL", f'the same site as websites[{first[0]}] ("{first[1]}")', shown)
            seen[canonical_url(url)] = (index, shown)
            interval = self._at_least_floor(
                entry, "checkInterval", f"{where}.checkInterval",
                self._number(entry, "checkInterval", f"{where}.checkInterval", default_interval, MAX_INTERVAL))
            fallback_timeout = default_timeout if default_timeout is not None else min(interval, MAX_TIMEOUT_DEFAULT)
            timeout = self._number(entry, "timeout", f"{where}.timeout", fallback_timeout, MAX_TIMEOUT)
            quorum = self._quorum(entry, f"{where}.quorum") if "quorum" in entry else None
            sites.append(SiteConfig(shown, interval, timeout, url if shown != url else None, quorum))
            self.site_names.append(where)
        if not sites:
            raise ConfigError(f"{self.source}: websites: no site with a URL to monitor")
        return tuple(sites)

    def _at_least_floor(self, table: dict[str, Any], key: str, where: str, value: float) -> float:
        if value >= MIN_INTERVAL:
            return value
        if key in table:
            self.warnings.append(f"{self.source}: {where} ({value:g}) is below the floor of {MIN_INTERVAL:g}s; "
                                 f"it runs every {MIN_INTERVAL:g}s")
        return MIN_INTERVAL

    def _url(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "must be a string", value)
        shown = redact_url(value)  # what any message shows: never the password
        if any(c.isspace() or not c.isprintable() for c in value):
            raise self.fail(where, "must not contain spaces or control characters", shown)
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError as error:
            raise self.fail(where, f"is not a valid URL ({error})", shown) from None
        del port
        if parts.scheme.lower() not in ("http", "https"):
            # `localhost:8000/x` parses as scheme "localhost" with path "8000/x": a host and port, no scheme.
            has_scheme = bool(parts.scheme) and not parts.path.split("/")[0].isdigit()
            problem = "must use http or https" if has_scheme else "needs a scheme, http:// or https://"
            raise self.fail(where, problem, shown)
        if not parts.hostname:
            raise self.fail(where, "has no host", shown)
        return value

    def _number(self, table: dict[str, Any], key: str, where: str,
                default: float | None, maximum: float) -> float:
        if key not in table:
            assert default is not None
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, "must be a number of seconds", value)
        if not _finite(value) or value <= 0:
            raise self.fail(where, "must be a finite number > 0", value)
        if value > maximum:
            raise self.fail(where, f"must be at most {maximum:g} seconds", value)
        return float(value)

    def _fraction(self, table: dict[str, Any], key: str, default: float) -> float:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.fail(key, "must be a fraction between 0 and 1", value)
        return float(value)

    def _alert_policy(self, document: dict[str, Any]) -> AlertPolicy:
        window = self._number(document, "alertWindow", "alertWindow", 120.0, MAX_WINDOW)
        threshold = self._fraction(document, "alertThreshold", 0.8)
        recovery = self._fraction(document, "recoveryThreshold", threshold)
        if recovery < threshold:
            raise self.fail("recoveryThreshold", f"must be at least alertThreshold ({threshold:g})", recovery)
        min_checks = document.get("alertMinChecks", 1)
        if isinstance(min_checks, bool) or not isinstance(min_checks, int) or min_checks < 1:
            raise self.fail("alertMinChecks", "must be a whole number >= 1", min_checks)
        if min_checks > MAX_MIN_CHECKS:
            raise self.fail("alertMinChecks", f"must be at most {MAX_MIN_CHECKS}", min_checks)
        return AlertPolicy(window, threshold, recovery, min_checks)

    def _reports(self, document: dict[str, Any]) -> tuple[ReportSpec, ...]:
        if "reports" not in document:
            return DEFAULT_REPORTS
        entries = document["reports"]
        if not isinstance(entries, list):
            raise self.fail("reports", "must be a list of {every, windows}", entries)
        specs: list[ReportSpec] = []
        for index, entry in enumerate(entries):
            where = f"reports[{index}]"
            if not isinstance(entry, dict) or "every" not in entry or "windows" not in entry:
                raise self.fail(where, 'must be an object with "every" and "windows"', entry)
            self._warn_unknown(entry, {"every", "windows"}, where)
            every = self._at_least_floor(entry, "every", f"{where}.every",
                                         self._number(entry, "every", f"{where}.every", None, MAX_INTERVAL))
            windows = entry["windows"]
            if not isinstance(windows, list) or not windows:
                raise self.fail(f"{where}.windows", "must be a non-empty list of seconds", windows)
            spans = tuple(
                self._number({"w": w}, "w", f"{where}.windows[{i}]", None, MAX_WINDOW)
                for i, w in enumerate(windows)
            )
            specs.append(ReportSpec(every, spans))
        return tuple(specs)

    def _retention(self, document: dict[str, Any], key: str) -> float | None:
        if key not in document or document[key] is None:
            return None
        value = document[key]
        if isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError:
                raise self.fail(key, "must be a duration such as 7d or 12h", value) from None
        elif isinstance(value, int | float) and not isinstance(value, bool) and _finite(value):
            seconds = float(value) if value <= MAX_RETENTION else math.inf  # a huge int overflows float()
        else:
            raise self.fail(key, "must be a duration such as 7d or 12h", value)
        if seconds < 3600:
            raise self.fail(key, "must keep at least one hour (1h)", value)
        if seconds > MAX_RETENTION:
            raise self.fail(key, "must be at most 3650d", value)
        return seconds

    def _quorum(self, table: dict[str, Any], where: str = "quorum") -> int:
        """How many locations must see a site down for it to alert (with probers in several locations)."""
        value = table.get("quorum", 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise self.fail(where, "must be a whole number of locations from 1 to 1000", value)
        return value

    def _warn_unknown(self, table: dict[str, Any], known: set[str], where: str) -> None:
        unknown = sorted(set(table) - known)
        if unknown:
            self.warnings.append(f"{self.source}: {where}: unknown key(s) ignored: {', '.join(unknown)}")


def _checks_held(window: float, interval: float) -> int:
    """How many checks `interval` apart a window (now - window, now] holds at most."""
    return max(1, math.ceil(window / interval - 1e-9))


def _span(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 60 else format_duration(seconds)


def some_of(names: Iterable[str], shown: int = 3) -> str:
    """`a, b, c and 2 more`: a list a line can hold."""
    listed = list(names)
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    return ", ".join(listed[:shown]) + more


def _finite(value: int | float) -> bool:
    # A JSON integer may be too big for a float; it is finite all the same.
    return isinstance(value, int) or math.isfinite(value)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
