"""Config validation as a table: a document in, the validated value (or the one-line error) out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.config import DEFAULT_REPORTS, AlertPolicy, ConfigError, SiteConfig, parse_config

URL = "http://a.test/"


def doc(sites: list[dict[str, Any]] | None = None, **top: object) -> str:
    return json.dumps({"websites": sites if sites is not None else [{"URL": URL}], **top})


@pytest.mark.parametrize(("text", "field", "expected"), [
    (doc(), "sites", (SiteConfig(URL, 2.0, 2.0),)),
    (doc([{"URL": URL, "checkInterval": 30}]), "sites", (SiteConfig(URL, 30.0, 10.0),)),
    (doc([{"URL": URL, "checkInterval": 30, "timeout": 25}]), "sites", (SiteConfig(URL, 30.0, 25.0),)),
    (doc(defaultCheckInterval=5, defaultTimeout=1), "sites", (SiteConfig(URL, 5.0, 1.0),)),
    (doc([{"URL": "HTTPS://[::1]:8443/x?q=1"}]), "sites", (SiteConfig("HTTPS://[::1]:8443/x?q=1", 2.0, 2.0),)),
    (doc(), "alert", AlertPolicy(120.0, 0.8, 0.8, 1)),
    (doc(alertWindow=60, alertThreshold=0.5, recoveryThreshold=0.9, alertMinChecks=3), "alert",
     AlertPolicy(60.0, 0.5, 0.9, 3)),
    (doc(alertThreshold=0, recoveryThreshold=1), "alert", AlertPolicy(120.0, 0.0, 1.0, 1)),
    (doc(), "reports", DEFAULT_REPORTS),
    (doc(), "retention", None),
    (doc(retention=None), "retention", None),
    (doc(retention="7d"), "retention", 604800.0),
    (doc(retention="12h"), "retention", 43200.0),
    (doc(retention=7200), "retention", 7200.0),
    (doc(retention="3650d"), "retention", 3650 * 86400.0),
    (doc([{"URL": URL}, {"checkInterval": 3}], colour="red"), "warnings", (
        "config.json: top level: unknown key(s) ignored: colour",
        'config.json: websites[1]: no "URL", entry ignored')),
])
def test_valid_config_field(text: str, field: str, expected: object) -> None:
    assert getattr(parse_config(text), field) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("{\n  \"websites\": [,]\n}", "config.json:2:16: invalid JSON: Expecting value"),
    ("[" * 50_000, "config.json: invalid JSON: nested too deeply"),
    ("null", "config.json: the top level must be a JSON object, got null"),
    (doc([{"URL": URL, "checkInterval": -0.5}]), "websites[0].checkInterval: must be a finite number > 0, got -0.5"),
    ('{"websites": [{"URL": "http://a/", "timeout": NaN}]}', "websites[0].timeout: must be a finite number > 0"),
    ('{"websites": [{"URL": "http://a/"}], "alertWindow": -Infinity}', "alertWindow: must be a finite number > 0"),
    (doc(alertWindow=86401), "alertWindow: must be at most 86400 seconds, got 86401"),
    (doc(alertThreshold=True), "alertThreshold: must be a fraction between 0 and 1, got true"),
    ('{"websites": [{"URL": "http://a/"}], "alertThreshold": NaN}', "alertThreshold: must be a fraction"),
    (doc(alertMinChecks=2.5), "alertMinChecks: must be a whole number >= 1, got 2.5"),
    (doc([{"URL": "http://a.test/\u0000"}]), "must not contain spaces or control characters"),
    (doc([{"URL": " http://a.test/"}]), "must not contain spaces or control characters"),
    (doc([{"URL": "mailto:me@a.test"}]), 'must use http or https, got "mailto:me@a.test"'),
    (doc([{"URL": "file:///etc/passwd"}]), "must use http or https"),
    (doc([{"URL": "localhost:8000/health"}]), "needs a scheme, http:// or https://"),
    (doc([{"URL": "http://[::1/"}]), "is not a valid URL (Invalid IPv6 URL)"),
    (doc(retention="3651d"), 'retention: must be at most 3650d, got "3651d"'),
    (doc(retention=10**400), "retention: must be at most 3650d"),
    (doc(retention=False), "retention: must be a duration such as 7d or 12h, got false"),
    (doc(reports={"every": 10}), 'reports: must be a list of {every, windows}, got {"every": 10}'),
    (doc(reports=[{"every": 0, "windows": [60]}]), "reports[0].every: must be a finite number > 0, got 0"),
])
def test_invalid_config_is_one_line_naming_field_and_value(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_effective_config_fills_every_default() -> None:
    effective = parse_config(doc(retention="2d")).effective()
    assert effective == {
        "websites": [{"URL": URL, "checkInterval": 2.0, "timeout": 2.0}],
        "alertWindow": 120.0, "alertThreshold": 0.8, "recoveryThreshold": 0.8, "alertMinChecks": 1,
        "reports": [{"every": 10.0, "windows": [120.0, 600.0]}, {"every": 60.0, "windows": [3600.0]}],
        "retention": 172800.0,
    }
    assert parse_config(json.dumps(effective)).effective() == effective, "the effective config is a valid config"
