"""Config validation: the seed's file as is, the defaults, and one exact line per mistake."""

from __future__ import annotations

import json

import pytest

from domain.config import DEFAULT_REPORTS, AlertPolicy, ConfigError, ReportSpec, SiteConfig, parse_config

SEED = """{"websites": [{"URL": "http://via.ecp.fr", "checkInterval": 3.5}, {"URL": "http://my.ecp.fr"}],
 "defaultCheckInterval": 3}"""


def config_with(**top: object) -> str:
    document: dict[str, object] = {"websites": [{"URL": "http://a.test/"}]}
    document.update(top)
    return json.dumps(document)


def test_the_seed_config_is_valid_as_is_with_every_default() -> None:
    config = parse_config(SEED, "config.json")
    assert config.sites == (SiteConfig("http://via.ecp.fr", 3.5, 3.5), SiteConfig("http://my.ecp.fr", 3.0, 3.0))
    assert config.alert == AlertPolicy(window=120.0, threshold=0.8, recovery_threshold=0.8, min_checks=1)
    assert config.reports == DEFAULT_REPORTS == (ReportSpec(10.0, (120.0, 600.0)), ReportSpec(60.0, (3600.0,)))
    assert config.warnings == ()
    assert config.longest_window == 3600.0


def test_interval_defaults_to_2_s_and_timeout_to_at_most_10_s() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": "http://a.test/"}, {"URL": "http://b.test/",
                                                                             "checkInterval": 60}]}))
    assert [(s.check_interval, s.timeout) for s in config.sites] == [(2.0, 2.0), (60.0, 10.0)]


def test_timeouts_and_alert_keys_are_read() -> None:
    config = parse_config(json.dumps({
        "websites": [{"URL": "https://a.test/x", "timeout": 1.5}, {"URL": "http://b.test/"}],
        "defaultTimeout": 4, "alertWindow": 30, "alertThreshold": 0.5, "recoveryThreshold": 0.9,
        "alertMinChecks": 3, "reports": [{"every": 5, "windows": [60]}]}))
    assert [s.timeout for s in config.sites] == [1.5, 4.0]
    assert config.alert == AlertPolicy(30.0, 0.5, 0.9, 3)
    assert config.reports == (ReportSpec(5.0, (60.0,)),)


def test_a_site_without_url_is_ignored_with_a_warning_naming_the_entry() -> None:
    config = parse_config(json.dumps({"websites": [{"checkInterval": 1}, {"URL": "http://a.test/"}]}), "c.json")
    assert [s.url for s in config.sites] == ["http://a.test/"]
    assert config.warnings == ('c.json: websites[0]: no "URL", entry ignored',)


def test_unknown_keys_are_warnings_not_errors() -> None:
    config = parse_config(config_with(colour="red"), "c.json")
    assert config.warnings == ("c.json: top level: unknown key(s) ignored: colour",)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "c.json:1:2: invalid JSON: Expecting property name enclosed in double quotes"),
    ("[]", "c.json: the top level must be a JSON object, got a list"),
    ('{"defaultCheckInterval": 2}', 'c.json: "websites" is missing: list the sites to monitor'),
    ('{"websites": [{"checkInterval": 1}]}', "c.json: websites: no site with a URL to monitor"),
    (config_with(defaultCheckInterval=0), "c.json: defaultCheckInterval: must be a finite number > 0, got 0"),
    ('{"websites": [{"URL": "http://a.test/", "checkInterval": NaN}]}',
     "c.json: websites[0].checkInterval: must be a finite number > 0, got nan"),
    ('{"websites": [{"URL": "http://a.test/", "checkInterval": true}]}',
     "c.json: websites[0].checkInterval: must be a number of seconds, got true"),
    ('{"websites": [{"URL": "via.ecp.fr"}]}',
     'c.json: websites[0].URL: needs a scheme, http:// or https://, got "via.ecp.fr"'),
    ('{"websites": [{"URL": "ftp://a.test/"}]}', 'c.json: websites[0].URL: must use http or https, got "ftp://a.test/"'),
    ('{"websites": [{"URL": "http://"}]}', 'c.json: websites[0].URL: has no host, got "http://"'),
    ('{"websites": [{"URL": "http://a.test/"}, {"URL": "http://a.test/"}]}',
     'c.json: websites[1].URL: duplicate of websites[0], got "http://a.test/"'),
    (config_with(alertThreshold=1.5), "c.json: alertThreshold: must be a fraction between 0 and 1, got 1.5"),
    (config_with(alertThreshold=0.8, recoveryThreshold=0.7),
     "c.json: recoveryThreshold: must be at least alertThreshold (0.8), got 0.7"),
    (config_with(alertMinChecks=0), "c.json: alertMinChecks: must be a whole number >= 1, got 0"),
    (config_with(reports=[{"every": 10}]),
     'c.json: reports[0]: must be an object with "every" and "windows", got {"every": 10}'),
])
def test_each_mistake_is_one_line_naming_file_field_and_value(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.json")
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
