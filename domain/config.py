"""The monitoring configuration: JSON text in, a validated, defaulted `Config` out.

Every mistake a user can make is one `ConfigError` whose message names the file,
the field and the value; things that are merely odd (a site without URL, an
unknown key) come back as warnings and do not stop the monitor.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from monitoringapp.domain.notifications import ChannelConfig, MaintenanceWindow, parse_maintenance, parse_notifications
from monitoringapp.domain.timefmt import parse_duration

DEFAULT_CHECK_INTERVAL = 2.0
MAX_TIMEOUT_DEFAULT = 10.0
MAX_INTERVAL = 86400.0
MAX_TIMEOUT = 600.0
MAX_WINDOW = 86400.0
MAX_RETENTION = 3650 * 86400.0
DEFAULT_ROLLUP_RETENTION = 400 * 86400.0
MAX_MIN_CHECKS = 100_000


class ConfigError(Exception):
    """A configuration a user wrote that monitoringApp cannot run with; the message is one line."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    url: str
    check_interval: float
    timeout: float


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

    def effective(self) -> dict[str, Any]:
        """The config with every default filled in, in the file's own format."""
        return {
            "websites": [
                {"URL": s.url, "checkInterval": s.check_interval, "timeout": s.timeout}
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
_SITE_KEYS = {"URL", "checkInterval", "timeout"}


def parse_config(text: str, source: str = "config.json") -> Config:
    """Validate the JSON text of a config file named `source`; raise ConfigError on the first mistake."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(_json_problem(source, error)) from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid JSON: nested too deeply") from None
    return _Validator(source).config(document)


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

    def fail(self, where: str, problem: str, value: object) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {problem}, got {_show(value)}")

    def config(self, document: object) -> Config:
        if not isinstance(document, dict):
            raise ConfigError(f"{self.source}: the top level must be a JSON object, got {_kind(document)}")
        self._warn_unknown(document, _TOP_KEYS, "top level")
        default_interval = self._number(document, "defaultCheckInterval", "defaultCheckInterval",
                                        DEFAULT_CHECK_INTERVAL, MAX_INTERVAL)
        default_timeout = (
            self._number(document, "defaultTimeout", "defaultTimeout", None, MAX_TIMEOUT)
            if "defaultTimeout" in document else None
        )
        sites = self._sites(document, default_interval, default_timeout)
        urls = [site.url for site in sites]
        return Config(
            sites=sites,
            alert=self._alert_policy(document),
            reports=self._reports(document),
            retention=self._retention(document, "retention"),
            rollup_retention=self._retention(document, "rollupRetention") or DEFAULT_ROLLUP_RETENTION,
            notifications=parse_notifications(document, self.fail, self.warnings.append, urls, self.source),
            maintenance=parse_maintenance(document, self.fail, self.warnings.append, urls, self.source),
            quorum=self._quorum(document),
            source=self.source,
            warnings=tuple(self.warnings),
        )

    def _sites(self, document: dict[str, Any], default_interval: float,
               default_timeout: float | None) -> tuple[SiteConfig, ...]:
        if "websites" not in document:
            raise ConfigError(f'{self.source}: "websites" is missing: list the sites to monitor')
        entries = document["websites"]
        if not isinstance(entries, list):
            raise self.fail("websites", "must be a list of sites", entries)
        sites: list[SiteConfig] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            where = f"websites[{index}]"
            if not isinstance(entry, dict):
                raise self.fail(where, "must be an object with a URL", entry)
            if "URL" not in entry:
                self.warnings.append(f'{self.source}: {where}: no "URL", entry ignored')
                continue
            self._warn_unknown(entry, _SITE_KEYS, where)
            url = self._url(entry["URL"], f"{where}.URL")
            if url in seen:
                raise self.fail(f"{where}.URL", f"duplicate of websites[{seen[url]}]", url)
            seen[url] = index
            interval = self._number(entry, "checkInterval", f"{where}.checkInterval",
                                    default_interval, MAX_INTERVAL)
            fallback_timeout = default_timeout if default_timeout is not None else min(interval, MAX_TIMEOUT_DEFAULT)
            timeout = self._number(entry, "timeout", f"{where}.timeout", fallback_timeout, MAX_TIMEOUT)
            sites.append(SiteConfig(url, interval, timeout))
        if not sites:
            raise ConfigError(f"{self.source}: websites: no site with a URL to monitor")
        return tuple(sites)

    def _url(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "must be a string", value)
        if any(c.isspace() or not c.isprintable() for c in value):
            raise self.fail(where, "must not contain spaces or control characters", value)
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError as error:
            raise self.fail(where, f"is not a valid URL ({error})", value) from None
        del port
        if parts.scheme not in ("http", "https"):
            # `localhost:8000/x` parses as scheme "localhost" with path "8000/x": a host and port, no scheme.
            has_scheme = bool(parts.scheme) and not parts.path.split("/")[0].isdigit()
            problem = "must use http or https" if has_scheme else "needs a scheme, http:// or https://"
            raise self.fail(where, problem, value)
        if not parts.hostname:
            raise self.fail(where, "has no host", value)
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
            every = self._number(entry, "every", f"{where}.every", None, MAX_INTERVAL)
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

    def _quorum(self, document: dict[str, Any]) -> int:
        """How many locations must see a site down for it to alert (with probers in several locations)."""
        value = document.get("quorum", 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise self.fail("quorum", "must be a whole number of locations from 1 to 1000", value)
        return value

    def _warn_unknown(self, table: dict[str, Any], known: set[str], where: str) -> None:
        unknown = sorted(set(table) - known)
        if unknown:
            self.warnings.append(f"{self.source}: {where}: unknown key(s) ignored: {', '.join(unknown)}")


def _finite(value: int | float) -> bool:
    # A JSON integer may be too big for a float; it is finite all the same.
    return isinstance(value, int) or math.isfinite(value)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
