"""The monitoring configuration: JSON text in, a validated, defaulted `Config` out.

Every mistake a user can make is one `ConfigError` whose message names the file,
the field and the value; things that are merely odd (a site without URL, an
unknown key, settings under which a site can never alert) come back as warnings
and do not stop the monitor.

A site's URL may carry a password (`https://user:secret@host/`): the probe uses it, but the site is known
everywhere else (stored, printed, compared, keyed) by its URL with the password shown as `***`, and no
message, repr or effective config holds it. Sites are compared in canonical form (scheme and host case,
a default port, an empty path), so one site cannot be configured twice under two spellings.

A site's `key` is what the log stores in `host` and every reader groups by: its `name` when the config
gives one, else its URL as shown (so an unnamed site, and every database made before names, stays exactly
as it was). Per-site settings (the request, its conditions, the alert policy, certificate warnings) come
from the site, else from the top-level `defaults` object, else from the legacy top-level keys.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from monitoringapp.domain.checks import (
    BODILESS_STATUSES,
    BODY_LIMIT,
    NO_CONDITIONS,
    PLAIN_REQUEST,
    REDIRECT_STATUSES,
    SENSITIVE_HEADER,
    ConditionError,
    Conditions,
    JsonCondition,
    RequestSpec,
    compile_body_pattern,
    is_finite,
    is_number,
    never_passing,
    parse_expected_status,
    parse_json_condition,
    shown_header,
)
from monitoringapp.domain.notifications import (
    ChannelConfig,
    MaintenanceWindow,
    expand_url,
    parse_maintenance,
    parse_notifications,
)
from monitoringapp.domain.secrets import MissingVariable, Secrets, bad_variable, expand, url_secrets, variables
from monitoringapp.domain.sites import comparable_url, shown_in_error, shown_url, site_id, url_problem
from monitoringapp.domain.timefmt import format_duration, parse_duration, unit_missing

if TYPE_CHECKING:
    import regex

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
DEFAULT_CERTIFICATE_DAYS = (14.0, 7.0, 1.0)
MAX_CERTIFICATE_DAYS = 3650.0
MAX_NAME = 100
TCP = "tcp"
_METHOD = re.compile(r"[A-Z]{1,16}\Z")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}\Z")


class ConfigError(Exception):
    """A configuration a user wrote that monitoringApp cannot run with; the message is one line."""


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Alert when availability over `window` seconds < `threshold` (with `min_checks` checks);
    recover when it is back at `recovery_threshold` or more."""

    window: float = 120.0
    threshold: float = 0.8
    recovery_threshold: float = 0.8
    min_checks: int = 1

    def effective(self) -> dict[str, Any]:
        return {"alertWindow": self.window, "alertThreshold": self.threshold,
                "recoveryThreshold": self.recovery_threshold, "alertMinChecks": self.min_checks}


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """One site. `url` is its URL as shown everywhere (a password as `***`); `secret_url`, the URL with its
    password, is for the probe only and never shown. `key` names it in the log and everywhere else: its
    `name`, else its URL. `policy` is its own alert policy (None: the config's); `entry` where the config
    gives it (`websites[2]`), for messages."""

    url: str
    check_interval: float
    timeout: float
    secret_url: str | None = field(default=None, repr=False)
    name: str | None = None
    request: RequestSpec = PLAIN_REQUEST
    conditions: Conditions = NO_CONDITIONS
    policy: AlertPolicy | None = None
    certificate_days: tuple[float, ...] = DEFAULT_CERTIFICATE_DAYS
    entry: str = field(default="websites[0]", compare=False)
    quorum: int | None = None  # its own quorum of locations (with probers in several); None: the config's
    url_values: tuple[str, ...] = field(default=(), repr=False, compare=False)  # what its URL took from the environment
    secrets: Secrets = field(init=False, repr=False, compare=False)
    """What this site's probe sends that must never be shown: its URL's password (in every form a server may echo
    it), the values its URL and headers take from the environment. Worked out once: each probe's reasons are redacted
    by it."""

    def __post_init__(self) -> None:
        passwords = url_secrets(self.secret_url) if self.secret_url is not None else ()
        object.__setattr__(self, "secrets", Secrets.of((*self.request.secrets, *passwords, *self.url_values)))

    @property
    def key(self) -> str:
        """The site's key: stored in `host`, printed, compared, matched by `--site`."""
        return self.name or self.url

    @property
    def probe_url(self) -> str:
        """The URL the probe requests."""
        return self.secret_url or self.url

    @property
    def scheme(self) -> str:
        return self.url.partition(":")[0].lower()

    def changed_keys(self, later: SiteConfig) -> tuple[str, ...]:
        """The config keys whose values differ in `later` (a later version of this site), in the config's
        order: what a reload says changed. A password (in the URL or a header) counts, though never shown."""
        top = AlertPolicy()  # the site's own policy only: the top level's is said as the config's own change
        mine, theirs = self.effective(top), later.effective(top)
        hidden = {"URL": self.secret_url != later.secret_url,  # shown as *** in both
                  "headers": self.request.headers != later.request.headers}
        return tuple(key for key in {**mine, **theirs} if mine.get(key) != theirs.get(key) or hidden.get(key))

    def effective(self, top: AlertPolicy) -> dict[str, Any]:
        found: dict[str, Any] = {"URL": self.url}
        if self.name is not None:
            found["name"] = self.name
        found.update(checkInterval=self.check_interval, timeout=self.timeout)
        if self.scheme != TCP:
            found.update(self.request.effective())
        found.update(self.conditions.effective())
        found.update((self.policy or top).effective())
        found["certificateExpiryDays"] = list(self.certificate_days)
        if self.quorum is not None:
            found["quorum"] = self.quorum
        return found


@dataclass(frozen=True, slots=True)
class SitePolicies:
    """Each site's alert policy and certificate warning days, by site key; `default` and `certificate_days`
    for a site not listed. An `AlertPolicy` alone in a policies stream means the same for every site."""

    default: AlertPolicy = field(default_factory=AlertPolicy)
    alerts: Mapping[str, AlertPolicy] = field(default_factory=dict)
    certificates: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    certificate_days: tuple[float, ...] = DEFAULT_CERTIFICATE_DAYS

    def alert(self, site: str) -> AlertPolicy:
        return self.alerts.get(site, self.default)

    def certificate(self, site: str) -> tuple[float, ...]:
        return self.certificates.get(site, self.certificate_days)

    @property
    def longest_window(self) -> float:
        return max([self.default.window, *(policy.window for policy in self.alerts.values())])


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """Every `every` seconds, one report per window length in `windows`."""

    every: float
    windows: tuple[float, ...]


DEFAULT_REPORTS = (ReportSpec(10.0, (120.0, 600.0)), ReportSpec(60.0, (3600.0,)))


@dataclass(frozen=True, slots=True)
class Config:
    sites: tuple[SiteConfig, ...]
    alert: AlertPolicy = field(default_factory=AlertPolicy)  # the top level's; a site may have its own
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
        return max([self.policies.longest_window, *self.report_windows])

    @property
    def keys(self) -> frozenset[str]:
        """Every site's key: what the log's `host` holds for this config's sites."""
        return frozenset(site.key for site in self.sites)

    @property
    def policies(self) -> SitePolicies:
        """Each site's alert policy and certificate warning days."""
        return SitePolicies(self.alert, {s.key: s.policy for s in self.sites if s.policy is not None},
                            {s.key: s.certificate_days for s in self.sites})

    @property
    def secrets(self) -> Secrets:
        """Every secret the sites' probes send (the notifier adds its channels')."""
        return Secrets.of(secret for site in self.sites for secret in site.secrets.values)

    @property
    def quiet_limit(self) -> float:
        """How long a monitor of this config may store no probe before something is wrong: two of its longest
        check intervals, its longest timeout, and 5 s for the store's commit and a reader's poll."""
        return (2 * max(site.check_interval for site in self.sites) + max(site.timeout for site in self.sites)
                + 5.0)

    def effective(self, shown_by_apprise: Callable[[str], str | None] | None = None) -> dict[str, Any]:
        """The config with every default filled in, in the file's own format; an apprise channel's URL as
        `shown_by_apprise` shows it (see `shown_channel_url`)."""
        return {
            "websites": [site.effective(self.alert) for site in self.sites],
            **self.alert.effective(),
            "reports": [{"every": r.every, "windows": list(r.windows)} for r in self.reports],
            "retention": self.retention,
            "quorum": self.quorum,
            **({"notifications": [c.effective(shown_by_apprise) for c in self.notifications]}
               if self.notifications else {}),
            **({"maintenance": [m.effective() for m in self.maintenance]} if self.maintenance else {}),
            "rollupRetention": self.rollup_retention,
        }


_POLICY_KEYS = ("alertWindow", "alertThreshold", "recoveryThreshold", "alertMinChecks")
_REQUEST_KEYS = ("method", "headers", "body", "followRedirects", "verifyTls", "caFile", "clientCert", "clientKey")
_BODY_KEYS = ("bodyContains", "bodyNotContains", "bodyMatches", "bodyNotMatches", "json")  # in the order judged
_CONDITION_KEYS = ("expectedStatus", *_BODY_KEYS, "maxResponseTime")
_HTTP_ONLY_KEYS = (*_REQUEST_KEYS, "expectedStatus", *_BODY_KEYS)
_DEFAULTS_KEYS = {"checkInterval", "timeout", *_REQUEST_KEYS, *_CONDITION_KEYS, *_POLICY_KEYS,
                  "certificateExpiryDays", "quorum"}
_SITE_KEYS = {"URL", "name", *_DEFAULTS_KEYS}
_TOP_KEYS = {
    "websites", "defaultCheckInterval", "defaultTimeout", *_POLICY_KEYS, "reports", "retention", "rollupRetention",
    "notifications", "maintenance", "quorum", "defaults", "certificateExpiryDays",
}


def parse_config(text: str, source: str = "config.json", environ: Mapping[str, str] | None = None,
                 folder: str | None = None) -> Config:
    """Validate the JSON text of a config file named `source`; raise ConfigError on the first mistake.

    A relative path in it (a `caFile`) is taken from `folder`, the config file's (None: as written, from the
    working directory).

    `${NAME}` in a header's value is taken from `environ` (an unset one is a mistake); without `environ` the
    value is kept as written (a config only checked, never probed with)."""
    if not text.strip():
        raise ConfigError(f'{source}: is empty; a config needs at least {{"websites": [{{"URL": "http://..."}}]}}')
    try:
        document = json.loads(text, object_pairs_hook=_JsonObject.of)
    except json.JSONDecodeError as error:
        raise ConfigError(_json_problem(source, error)) from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid JSON: nested too deeply") from None
    for where, node in _nodes(document, "top level"):
        if isinstance(node, _JsonObject) and node.duplicate is not None:
            raise ConfigError(f'{source}: {where}: duplicate key "{node.duplicate}" (JSON keeps only the last value; '
                              'write it once)')
        # JSON's `\ud800` escape makes a string that cannot be encoded: no probe could send or look for it.
        for string in list(node) if isinstance(node, dict) else [node]:
            if isinstance(string, str) and (lone := _lone_surrogate(string)) is not None:
                raise ConfigError(f"{source}: {where}: has a lone surrogate ({lone}), which is no text, got "
                                  f"{_show(string)}")
    return _Validator(source, environ, folder).config(document)


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


def _nodes(node: object, where: str) -> Iterator[tuple[str, object]]:
    """(where, node) of `node` and of everything in it, depth first: `websites[0].headers`."""
    yield where, node
    if isinstance(node, dict):
        children: list[tuple[str, object]] = [
            (key if where == "top level" else f"{where}.{key}", value) for key, value in node.items()]
    elif isinstance(node, list):
        children = [(f"{where}[{index}]", value) for index, value in enumerate(node)]
    else:
        return
    for child_where, child in children:
        yield from _nodes(child, child_where)


def _lone_surrogate(text: str) -> str | None:
    """`\ud800`: the first lone surrogate in `text`, as JSON writes it; None when `text` is text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"\\u{ord(text[error.start]):04x}"
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
    def __init__(self, source: str, environ: Mapping[str, str] | None = None, folder: str | None = None) -> None:
        self.source = source
        self.environ = environ
        self.folder = folder
        self.warnings: list[str] = []
        self.defaults: dict[str, Any] = {}

    def fail(self, where: str, problem: str, value: object) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {problem}, got {_show(value)}")

    def config(self, document: object) -> Config:
        if not isinstance(document, dict):
            raise ConfigError(f"{self.source}: the top level must be a JSON object, got {_kind(document)}")
        self._warn_unknown(document, _TOP_KEYS, "top level")
        defaults = document.get("defaults", {})
        if not isinstance(defaults, dict):
            raise self.fail("defaults", "must be an object of per-site settings", defaults)
        self._warn_unknown(defaults, _DEFAULTS_KEYS, "defaults")
        self.defaults = defaults
        default_interval = self._at_least_floor(
            document, "defaultCheckInterval", "defaultCheckInterval",
            self._number(document, "defaultCheckInterval", "defaultCheckInterval", DEFAULT_CHECK_INTERVAL,
                         MAX_INTERVAL))
        default_timeout = (
            self._number(document, "defaultTimeout", "defaultTimeout", None, MAX_TIMEOUT)
            if "defaultTimeout" in document else None
        )
        alert = self._alert_policy(document)
        certificate_days = self._certificate_days(document, "certificateExpiryDays", DEFAULT_CERTIFICATE_DAYS)
        sites = self._sites(document, default_interval, default_timeout, alert, certificate_days)
        reports = self._reports(document)
        retention = self._retention(document, "retention")
        self._warn_futile(sites, alert)
        keys = {site.key: site.url for site in sites}
        return Config(
            sites=sites,
            alert=alert,
            reports=reports,
            retention=retention,
            rollup_retention=self._retention(document, "rollupRetention") or DEFAULT_ROLLUP_RETENTION,
            notifications=parse_notifications(document, self.fail, self.warnings.append, keys, self.source),
            maintenance=parse_maintenance(document, self.fail, self.warnings.append, keys, self.source),
            quorum=self._quorum(document),
            source=self.source,
            warnings=tuple(self.warnings),
        )

    def _warn_futile(self, sites: tuple[SiteConfig, ...], top: AlertPolicy) -> None:
        """Warn of settings under which sites can never alert, or alert on every single failure, or have
        ticks skipped by design."""
        slow = [site for site in sites if site.timeout > site.check_interval]
        if len(slow) == 1:
            (site,) = slow
            self.warnings.append(
                f"{self.source}: {site.entry}.timeout ({_span(site.timeout)}) is longer than its checkInterval "
                f"({_span(site.check_interval)}): while a probe hangs, the ticks it spans are skipped")
        elif slow:
            self.warnings.append(f"{self.source}: {some_of(s.entry for s in slow)}: timeout is longer than "
                                 "checkInterval: while a probe hangs, the ticks it spans are skipped")
        for site in sites:
            limit = site.conditions.max_response_time
            if limit is not None and limit >= site.timeout:
                self.warnings.append(
                    f"{self.source}: {site.entry}.maxResponseTime ({_span(limit)}) is not below its timeout "
                    f"({_span(site.timeout)}): an answer that slow is a timeout, never slow")
        own = any(site.policy is not None for site in sites)
        if top.threshold == 0 and not own:
            self.warnings.append(f"{self.source}: alertThreshold is 0: availability is never below 0%, "
                                 "so no alert is ever raised")
        for site in sites:
            if site.policy is not None and site.policy.threshold == 0:
                self.warnings.append(f"{self.source}: {site.entry}: alertThreshold is 0: availability is never "
                                     "below 0%, so no alert is ever raised")
        policy = {site: site.policy or top for site in sites}
        held = {site: _checks_held(policy[site].window, site.check_interval) for site in sites}
        starved = [site for site in sites if held[site] < policy[site].min_checks]
        if len(starved) == 1 or (starved and own):
            for site in starved:
                self.warnings.append(
                    f"{self.source}: alertMinChecks ({policy[site].min_checks}) is more than the {held[site]} "
                    f"check(s) alertWindow ({_span(policy[site].window)}) holds for {site.entry} (every "
                    f"{_span(site.check_interval)}): it can never alert")
        elif starved:
            self.warnings.append(
                f"{self.source}: alertMinChecks ({top.min_checks}) is more than the checks alertWindow "
                f"({_span(top.window)}) holds for {some_of(s.entry for s in starved)}: they can never alert")
        single = [site for site in sites
                  if held[site] == 1 and policy[site].min_checks == 1 and policy[site].threshold > 0]
        if single:
            every = f" (every {_span(single[0].check_interval)})" if len(single) == 1 else ""
            window = _span(policy[single[0]].window)
            self.warnings.append(
                f"{self.source}: alertWindow ({window}) holds only the latest check of "
                f"{some_of(s.entry for s in single)}{every}: one failure alerts and one success recovers")

    def _sites(self, document: dict[str, Any], default_interval: float, default_timeout: float | None,
               top: AlertPolicy, certificate_days: tuple[float, ...]) -> tuple[SiteConfig, ...]:
        if "websites" not in document:
            raise ConfigError(f'{self.source}: "websites" is missing: list the sites to monitor')
        entries = document["websites"]
        if not isinstance(entries, list):
            raise self.fail("websites", "must be a list of sites", entries)
        sites: list[SiteConfig] = []
        seen: dict[str, tuple[str, str]] = {}  # a site's key in canonical form -> (where, as shown)
        addressed: dict[str, tuple[str, str]] = {}  # a site's id on the page and in the API -> (where, as shown)
        without_url = ""  # the first entry without "URL", and why
        for index, entry in enumerate(entries):
            where = f"websites[{index}]"
            if not isinstance(entry, dict):
                raise self.fail(where, "must be an object with a URL", entry)
            if "URL" not in entry:
                spelled = next((key for key in entry if key.lower() == "url"), None)
                hint = f'found "{spelled}": keys are case-sensitive' if spelled is not None else ""
                self.warnings.append(f'{self.source}: {where}: no "URL"{f" ({hint})" if hint else ""}, entry ignored')
                without_url = without_url or f'{where}: no "URL"{f"; {hint}" if hint else ""}'
                continue
            self._warn_unknown(entry, _SITE_KEYS, where)
            url = self._url(entry["URL"], f"{where}.URL")
            problem = bad_variable(url)
            if problem is not None:
                raise self.fail(f"{where}.URL", problem, shown_in_error(url))
            probed, taken = self._url_from_environment(url, where)
            exposed = _secret_query_keys(url)
            if exposed:  # the URL is the site's key, stored in every row: what is written in it is shown
                self.warnings.append(
                    f"{self.source}: {where}.URL: its query's {some_of(exposed)} is shown and stored as written, as "
                    f"the whole URL is (the site's key): write it as ${{NAME}}, taken from the environment and hidden "
                    f"({exposed[0]}=${{API_KEY}})")
            shown = shown_url(url)
            name = self._name(entry, where)
            tcp = urlsplit(url).scheme.lower() == TCP
            # Two spellings of one URL are one site, unless each check of it has a name of its own.
            key = comparable_url(url) if name is None else f"name:{name}"
            first = seen.get(key)
            if first is not None:
                field_name, value = ("URL", shown) if name is None else ("name", name)
                raise self.fail(f"{where}.{field_name}", f'the same site as {first[0]} ("{first[1]}")', value)
            seen[key] = (where, shown if name is None else name)
            # A plain name that is another site's id (10 hex digits of its URL's hash) would address both on the
            # page, in the API and in /metrics: one of them unreachable, its series twice.
            address = site_id(url, name)
            first = addressed.get(address)
            if first is not None:
                # The name to change is the one written: the other site's id is its URL's.
                (named, value), (other, shown_other) = ((where, name), first) if name is not None else (
                    first, (where, shown))
                raise self.fail(f"{named}.name", f'is the id the page and the API give {other} ("{shown_other}"); '
                                "choose another name", value)
            addressed[address] = seen[key]
            interval = self._at_least_floor(
                entry, "checkInterval", f"{where}.checkInterval",
                self._site_number(entry, "checkInterval", where, default_interval, MAX_INTERVAL))
            fallback_timeout = default_timeout if default_timeout is not None else min(interval, MAX_TIMEOUT_DEFAULT)
            timeout = self._site_number(entry, "timeout", where, fallback_timeout, MAX_TIMEOUT)
            if tcp:
                for key_name in _HTTP_ONLY_KEYS:
                    if key_name in entry:
                        raise self.fail(f"{where}.{key_name}", "does not apply to a tcp:// site", entry[key_name])
            request = PLAIN_REQUEST if tcp else self._request(entry, where)
            conditions = self._conditions(entry, where, tcp)
            if request.method == "HEAD" and conditions.reads_body:
                self._refuse_body_condition_of_head(entry, where)
            self._refuse_never_passing(entry, where, request, conditions)
            sites.append(SiteConfig(
                shown, interval, timeout, probed if shown != probed else None, name, request,
                conditions, self._site_policy(entry, where, top),
                self._certificate_days(entry, f"{where}.certificateExpiryDays", certificate_days, site=True),
                where, self._site_quorum(entry, where), taken))
        if not sites:  # what the warning would have said, since the error stops it from being printed
            raise ConfigError(f"{self.source}: websites: no site with a URL to monitor"
                              + (f" ({without_url})" if without_url else ""))
        return tuple(sites)

    def _url_from_environment(self, url: str, where: str) -> tuple[str, tuple[str, ...]]:
        """The URL a probe of `url` requests, its `${NAME}`s taken from the environment as a notification's URL takes
        them (`expand_url`), and the values taken; as written, and none, for a reader (no environment)."""
        if self.environ is None or not variables(url):
            return url, ()
        try:
            probed, secrets = expand_url(url, self.environ)
        except MissingVariable as missing:
            raise ConfigError(f"{self.source}: {where}.URL: {missing}") from None
        try:
            self._url(probed, f"{where}.URL")
        except ConfigError as error:  # said as written: a value may be a secret
            raise ConfigError(secrets.redact(str(error))) from None
        return probed, secrets.values

    def _refuse_body_condition_of_head(self, entry: dict[str, Any], where: str) -> None:
        """A HEAD request's answer has no body, so a site with a body condition would be down at every check."""
        for key in _BODY_KEYS:
            given, value, at = self._setting(entry, key, where)
            if given:
                raise self.fail(at, "cannot be checked: a HEAD request gets no body (method GET reads one)", value)

    def _refuse_never_passing(self, entry: dict[str, Any], where: str, request: RequestSpec,
                              conditions: Conditions) -> None:
        """A condition no answer can pass would keep its site down at every check, whatever the site does."""
        expected = conditions.expected_status
        if expected is not None and request.follow_redirects and expected.only(REDIRECT_STATUSES):
            _, value, at = self._setting(entry, "expectedStatus", where)
            raise self.fail(at, "lists only redirects, and redirects are followed to their answer (followRedirects "
                            "false checks the redirect itself)", value)
        if expected is not None and conditions.reads_body and expected.only(BODILESS_STATUSES):
            for key in _BODY_KEYS:
                given, value, at = self._setting(entry, key, where)
                if given:
                    raise self.fail(at, f"cannot be checked: an answer of status {expected.text()} has no body",
                                    value)
        if conditions.body_contains is not None and len(conditions.body_contains.encode()) > BODY_LIMIT:
            _, value, at = self._setting(entry, "bodyContains", where)
            raise self.fail(at, f"can never be found: it is longer than the {BODY_LIMIT // 1024} kB a probe reads of a "
                            "body", value)
        wanted, unwanted = conditions.body_contains, conditions.body_not_contains
        if wanted is not None and unwanted is not None and unwanted in wanted:
            _, value, at = self._setting(entry, "bodyNotContains", where)
            raise self.fail(at, "can never pass: a body that contains bodyContains contains it", value)
        contradiction = never_passing(conditions.json)
        if contradiction is not None:
            later, earlier = contradiction
            _, value, at = self._setting(entry, "json", where)
            raise self.fail(f"{at}[{later}]", f"can never pass where {at}[{earlier}] ({_show(value[earlier])}) does",
                            value[later])

    def _setting(self, entry: dict[str, Any], key: str, where: str) -> tuple[bool, Any, str]:
        """(given, value, where it was written) of a per-site setting: the site's own, else `defaults`'."""
        if key in entry:
            return True, entry[key], f"{where}.{key}"
        if key in self.defaults:
            return True, self.defaults[key], f"defaults.{key}"
        return False, None, ""

    def _site_number(self, entry: dict[str, Any], key: str, where: str, fallback: float, maximum: float) -> float:
        given, value, at = self._setting(entry, key, where)
        return self._number({key: value}, key, at, None, maximum) if given else fallback

    def _name(self, entry: dict[str, Any], where: str) -> str | None:
        if "name" not in entry:
            return None
        name = entry["name"]
        if (not isinstance(name, str) or not name.strip() or name != name.strip() or len(name) > MAX_NAME
                or any(not c.isprintable() for c in name)):
            raise self.fail(f"{where}.name", f"must be a name of 1 to {MAX_NAME} printable characters, without "
                            "spaces at either end", name)
        if "://" in name:
            raise self.fail(f"{where}.name", "must not look like a URL (it is the site's key, as a URL is "
                            "for a site without a name)", shown_in_error(name))  # a URL pasted whole: its password
        return name

    def _request(self, entry: dict[str, Any], where: str) -> RequestSpec:
        given, method, at = self._setting(entry, "method", where)
        if not given:
            method = "GET"
        elif not isinstance(method, str) or not _METHOD.match(method.upper()):
            raise self.fail(at, "must be an HTTP method such as GET, HEAD or POST", method)
        headers, values, secrets = self._headers(entry, where)
        given, body, at = self._setting(entry, "body", where)
        text: str | None = None
        json_body = False
        if given and body is not None:
            if isinstance(body, str):
                text = body
            else:
                text, json_body = json.dumps(body), True
            if len(text) > 64 * 1024:
                raise self.fail(at, "must be at most 64 kB", body)
        return RequestSpec(method.upper(), headers, values, secrets, text, json_body,
                           self._flag(entry, "followRedirects", where, True),
                           self._flag(entry, "verifyTls", where, True),
                           *self._path(entry, "caFile", where, "the path of a PEM file of CA certificates"),
                           *self._client_certificate(entry, where))

    def _headers(self, entry: dict[str, Any], where: str) -> tuple[tuple[tuple[str, str], ...],
                                                                     tuple[tuple[str, str], ...], tuple[str, ...]]:
        """The headers as written, with their values, and what those took from the environment."""
        given, headers, at = self._setting(entry, "headers", where)
        if not given:
            return (), (), ()
        if not isinstance(headers, dict):
            raise self.fail(at, "must be an object of header names and values", headers)
        written: list[tuple[str, str]] = []
        values: list[tuple[str, str]] = []
        secrets: list[str] = []
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                raise self.fail(f"{at}", "has a header name that is not a token", name)
            if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
                raise self.fail(f"{at}.{name}", "must be a string on one line", shown_header(name, value))
            problem = bad_variable(value) or _header_value_problem(value)
            if problem is not None:
                raise self.fail(f"{at}.{name}", problem, shown_header(name, value))
            expanded = value
            if self.environ is not None:
                try:
                    expanded, taken = expand(value, self.environ)
                    secrets.extend(taken)
                except MissingVariable as missing:
                    raise ConfigError(f"{self.source}: {at}.{name}: {missing}") from None
                if _header_value_problem(expanded) is not None:  # said without the value: it may be a secret
                    raise ConfigError(
                        f"{self.source}: {at}.{name}: the value environment variable {some_of(variables(value))} "
                        "gives it is not one a header can carry (on one line, ISO-8859-1, not beginning with a space)")
            if "${" not in value and SENSITIVE_HEADER.search(name):
                # Written as is under a name that may hold a secret: `--check` shows it as `***`, so no detail may
                # quote it either; after an authentication scheme, its credentials (`Bearer ***`, as from the
                # environment), else all of it (a cookie's `a=1; b=2`).
                scheme, _, credentials = value.partition(" ")
                secrets.append(credentials.strip() if scheme.isalpha() and credentials.strip() else value)
            written.append((name, value))
            values.append((name, expanded))
        return tuple(written), tuple(values), tuple(secrets)

    def _flag(self, entry: dict[str, Any], key: str, where: str, default: bool) -> bool:
        given, value, at = self._setting(entry, key, where)
        if not given:
            return default
        if not isinstance(value, bool):
            raise self.fail(at, "must be true or false", value)
        return value

    def _path(self, entry: dict[str, Any], key: str, where: str, what: str) -> tuple[str | None, str | None]:
        """A file's path (`caFile`, `clientCert`, `clientKey`) as written, and where it is: a relative one in the
        config file's folder, as Docker Compose and most tools read a path in a config, not wherever the monitor was
        started."""
        given, value, at = self._setting(entry, key, where)
        if not given or value is None:
            return None, None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(at, f"must be {what}", value)
        return value, value if self.folder is None else os.path.join(self.folder, value)

    def _client_certificate(self, entry: dict[str, Any], where: str) -> tuple[str | None, ...]:
        """clientCert and clientKey, each as written and where it is; a key needs its certificate."""
        cert = self._path(entry, "clientCert", where, "the path of a PEM file of a client certificate (and its key)")
        key = self._path(entry, "clientKey", where, "the path of a PEM file of the client certificate's private key")
        if key[0] is not None and cert[0] is None:
            _, value, at = self._setting(entry, "clientKey", where)
            raise self.fail(at, "needs the clientCert it is the key of", value)
        return (*cert, *key)

    def _conditions(self, entry: dict[str, Any], where: str, tcp: bool) -> Conditions:
        def setting(key: str) -> tuple[bool, Any, str]:
            # A tcp:// site takes only maxResponseTime from `defaults`: the others are about HTTP answers.
            if tcp and key != "maxResponseTime" and key not in entry:
                return False, None, ""
            return self._setting(entry, key, where)

        given, value, at = setting("expectedStatus")
        try:
            expected = parse_expected_status(value) if given else None
        except ConditionError as error:
            raise ConfigError(f"{self.source}: {at}: {error}") from None
        return Conditions(expected, self._text(setting("bodyContains")), self._pattern(setting("bodyMatches")),
                          self._json_conditions(setting("json")), self._max_response_time(setting("maxResponseTime")),
                          self._text(setting("bodyNotContains")), self._pattern(setting("bodyNotMatches")))

    def _text(self, setting: tuple[bool, Any, str]) -> str | None:
        given, text, at = setting
        if given and (not isinstance(text, str) or not text):
            raise self.fail(at, "must be a non-empty string", text)
        return text if given else None

    def _pattern(self, setting: tuple[bool, Any, str]) -> regex.Pattern[str] | None:
        given, written, at = setting
        if not given:
            return None
        if not isinstance(written, str) or not written:
            raise self.fail(at, "must be a regular expression", written)
        try:
            return compile_body_pattern(written)
        except ConditionError as error:
            raise self.fail(at, str(error), written) from None

    def _json_conditions(self, setting: tuple[bool, Any, str]) -> tuple[JsonCondition, ...]:
        given, value, at = setting
        if not given:
            return ()
        if not isinstance(value, list) or not value:
            raise self.fail(at, 'must be a non-empty list of {"path": ..., "equals": ...} conditions', value)
        conditions = []
        for index, condition in enumerate(value):
            try:
                conditions.append(parse_json_condition(condition))
            except ConditionError as error:
                place = f"{at}[{index}].path" if "JSONPath" in str(error) else f"{at}[{index}]"
                raise ConfigError(f"{self.source}: {place}: {error}") from None
        return tuple(conditions)

    def _max_response_time(self, setting: tuple[bool, Any, str]) -> float | None:
        given, value, at = setting
        return self._number({"v": value}, "v", at, None, MAX_TIMEOUT) if given else None

    def _site_policy(self, entry: dict[str, Any], where: str, top: AlertPolicy) -> AlertPolicy | None:
        """The site's own alert policy, from its keys and `defaults`' over the top level's; None when neither
        sets one."""
        table: dict[str, Any] = {}
        places: dict[str, str] = {}
        for key in _POLICY_KEYS:
            given, value, at = self._setting(entry, key, where)
            if given:
                table[key], places[key] = value, at
        if not table:
            return None
        inherited: dict[str, Any] = {"alertWindow": top.window, "alertThreshold": top.threshold,
                                     "alertMinChecks": top.min_checks}
        if "alertThreshold" not in table:  # a site's own threshold is also its recovery's unless it says
            inherited["recoveryThreshold"] = top.recovery_threshold
        merged = {**inherited, **table}
        return self._alert_policy(merged, places)

    def _certificate_days(self, table: dict[str, Any], where: str, default: tuple[float, ...],
                          site: bool = False) -> tuple[float, ...]:
        if site:
            given, value, where = self._setting(table, "certificateExpiryDays", where.rpartition(".")[0])
        else:
            given, value = "certificateExpiryDays" in table, table.get("certificateExpiryDays")
        if not given:
            return default
        if (not isinstance(value, list) or len(value) > 10
                or any(not is_number(v) or not 0 < v <= MAX_CERTIFICATE_DAYS for v in value)):
            raise self.fail(where, f"must be a list of at most 10 numbers of days from 0 to {MAX_CERTIFICATE_DAYS:g} "
                            "(such as [14, 7, 1]; [] for no warning)", value)
        return tuple(sorted({float(v) for v in value}, reverse=True))

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
        shown = shown_in_error(value)  # what any message shows: never the password
        if any(c.isspace() or not c.isprintable() for c in value):
            raise self.fail(where, "must not contain spaces or control characters", shown)
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError as error:
            raise self.fail(where, f"is not a valid URL ({url_problem(error)})", shown) from None
        del port
        if parts.scheme.lower() not in ("http", "https", TCP):
            # `localhost:8000/x` parses as scheme "localhost" with path "8000/x": a host and port, no scheme.
            has_scheme = bool(parts.scheme) and not parts.path.split("/")[0].isdigit()
            problem = ("must use http, https or tcp" if has_scheme
                       else "needs a scheme, http://, https:// or tcp://")
            raise self.fail(where, problem, shown)
        if not parts.hostname:
            raise self.fail(where, "has no host", shown)
        if ":" not in parts.hostname:  # a name (or IPv4 address), not an IPv6 literal
            try:
                parts.hostname.encode("idna")  # what the probe's lookup does with it, at every check
            except UnicodeError as error:
                reason = str(error.__cause__ or error).removeprefix("UnicodeError: ")
                raise self.fail(where, f"has a host name that cannot be looked up ({reason})", shown) from None
        if parts.port == 0:
            raise self.fail(where, "port 0 cannot be connected to", shown)
        try:  # requests sends them as Basic credentials, ISO-8859-1 (else it raises at every probe)
            unquote(f"{parts.username or ''}:{parts.password or ''}").encode("latin-1")
        except UnicodeEncodeError:
            raise self.fail(where, "its user and password must be ISO-8859-1 text (Basic authentication carries "
                            "no other)", shown) from None
        if parts.scheme.lower() == TCP:
            if parts.port is None:
                raise self.fail(where, "a tcp:// site needs a port (tcp://host:port)", shown)
            if parts.path not in ("", "/") or parts.query or parts.username is not None:
                raise self.fail(where, "a tcp:// site is a host and a port only (tcp://host:port)", shown)
        return value

    def _number(self, table: dict[str, Any], key: str, where: str,
                default: float | None, maximum: float) -> float:
        if key not in table:
            assert default is not None
            return default
        value = table[key]
        if isinstance(value, str) and unit_missing(value) is None:
            # A duration with its unit, as `retention` and `remindEvery` take one: `"30s"`, `"2m"`, `"500ms"`.
            with contextlib.suppress(ValueError):
                value = parse_duration(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, 'must be a number of seconds or a duration such as "30s" or "2m"', table[key])
        if not is_finite(value) or value <= 0:
            raise self.fail(where, "must be a finite number > 0", table[key])
        if value > maximum:
            raise self.fail(where, f"must be at most {maximum:g} seconds", table[key])
        return float(value)

    def _fraction(self, table: dict[str, Any], key: str, default: float, where: str) -> float:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.fail(where, "must be a fraction between 0 and 1", value)
        return float(value)

    def _alert_policy(self, table: dict[str, Any], places: Mapping[str, str] | None = None) -> AlertPolicy:
        """The alert policy of the top level's keys, or of a site's (`places` says where each was written)."""
        places = places or {}

        def at(key: str) -> str:
            return places.get(key, key)

        window = self._number(table, "alertWindow", at("alertWindow"), 120.0, MAX_WINDOW)
        threshold = self._fraction(table, "alertThreshold", 0.8, at("alertThreshold"))
        recovery = self._fraction(table, "recoveryThreshold", threshold, at("recoveryThreshold"))
        if recovery < threshold:
            raise self.fail(at("recoveryThreshold"), f"must be at least alertThreshold ({threshold:g})", recovery)
        min_checks = table.get("alertMinChecks", 1)
        if isinstance(min_checks, bool) or not isinstance(min_checks, int) or min_checks < 1:
            raise self.fail(at("alertMinChecks"), "must be a whole number >= 1", min_checks)
        if min_checks > MAX_MIN_CHECKS:
            raise self.fail(at("alertMinChecks"), f"must be at most {MAX_MIN_CHECKS}", min_checks)
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
        elif is_number(value):
            seconds = float(value) if value <= MAX_RETENTION else math.inf  # a huge int overflows float()
        else:
            raise self.fail(key, "must be a duration such as 7d or 12h", value)
        if seconds < 3600:
            raise self.fail(key, "must keep at least one hour (1h)", value)
        if seconds > MAX_RETENTION:
            raise self.fail(key, "must be at most 3650d", value)
        return seconds

    def _site_quorum(self, entry: dict[str, Any], where: str) -> int | None:
        given, value, at = self._setting(entry, "quorum", where)
        return self._quorum({"quorum": value}, at) if given else None

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


# A query key that may hold a secret: one of a header's words (`SENSITIVE_HEADER`, or two of their longer forms)
# ending a word of the key (`api_key`, `apiKey`, `apikey`, `access_token`, `authToken`), not the start of a longer
# one: a search's `keyword=shoes` or an `author=` is no secret, and was warned of at every start and reload as one to
# move to the environment.
_SECRET_QUERY_KEY = re.compile(rf"(?i:authorization|sessionid|{SENSITIVE_HEADER.pattern})(?![a-z])")


def _secret_query_keys(url: str) -> tuple[str, ...]:
    """The keys of `url`'s query whose names may hold a secret (`token`, `api_key`, ...) and whose values are
    written as is (a `${NAME}` is warned of apart)."""
    pairs = (field.partition("=") for field in urlsplit(url).query.split("&"))
    return tuple(dict.fromkeys(key for key, _, value in pairs
                               if value and "${" not in value and _SECRET_QUERY_KEY.search(unquote(key))))


def some_of(names: Iterable[str], shown: int = 3, separator: str = ", ") -> str:
    """`a, b, c and 2 more`: a list a line can hold."""
    listed = list(names)
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    return separator.join(listed[:shown]) + more


def _header_value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a header's value (http.client and requests would refuse it at every probe)."""
    if any(c in value for c in "\r\n\0"):
        return "must be a string on one line"
    if value[:1] in (" ", "\t"):
        return "must not begin with a space or a tab"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as error:
        return f"must be ISO-8859-1 text (a header cannot carry {json.dumps(value[error.start])})"
    return None


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
