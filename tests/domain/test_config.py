"""Config validation: the seed's file as is, defaults, valid values read back, and one exact line per mistake."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitoringapp.domain.config import DEFAULT_REPORTS, AlertPolicy, ConfigError, ReportSpec, SiteConfig, parse_config
from monitoringapp.domain.events import ErrorKind
from monitoringapp.domain.sites import shown_url

URL = "http://a.test/"

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


def test_a_variable_in_a_sites_url_is_taken_from_the_environment_and_kept_as_its_name() -> None:
    # A site's URL took nothing from the environment: a token its API takes in the query only (`?api_key=`) was
    # either sent as `${API_KEY}` (every answer a 401) or written as is, and stored in every row as the site's key.
    document = json.dumps({"websites": [{"URL": "https://ops:${PW}@a.test/health?api_key=${API_KEY}"}]})
    config = parse_config(document, "c.json", {"PW": "p@ss/w0rd", "API_KEY": "k-123456789"})
    site = config.sites[0]
    assert (site.url, site.key) == ("https://ops:${PW}@a.test/health?api_key=${API_KEY}",) * 2  # the key: the names
    assert site.probe_url == "https://ops:p%40ss%2Fw0rd@a.test/health?api_key=k-123456789"
    assert site.secrets.redact("k-123456789 p@ss/w0rd") == "*** ***"
    assert config.warnings == ()
    assert "k-123456789" not in repr(site) and "k-123456789" not in json.dumps(config.effective())
    # The readers send no request and need no value: the same site, by the same key.
    read = parse_config(document, "c.json").sites[0]
    assert (read.key, read.secret_url) == (site.key, None)
    with pytest.raises(ConfigError) as missing:
        parse_config(document, "c.json", {"PW": "x"})
    assert str(missing.value) == "c.json: websites[0].URL: environment variable API_KEY is not set"


def test_a_url_that_its_variables_make_no_url_is_refused_without_their_values() -> None:
    document = json.dumps({"websites": [{"URL": "https://a.test/hook/${TOKEN}"}]})
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "c.json", {"TOKEN": "s3cret 99"})
    assert str(raised.value) == ('c.json: websites[0].URL: must not contain spaces or control characters, got '
                                 '"https://a.test/hook/***"')


def test_a_token_written_in_a_sites_query_is_warned_of_as_shown_and_stored() -> None:
    # The URL is the site's key (every row's `host`, `--site`, the page): a token in its query is shown and stored as
    # written, where a header's is hidden; nothing said so, and `?api_key=...` went into the database without a word.
    config = parse_config(json.dumps({"websites": [
        {"URL": "https://a.test/health?api_key=k-123&verbose=1"}, {"URL": "https://b.test/?page=2"},
        {"URL": "https://c.test/?token=${TOKEN}"}]}), "c.json")
    assert config.sites[0].url == "https://a.test/health?api_key=k-123&verbose=1"
    assert config.warnings == (
        "c.json: websites[0].URL: its query's api_key is shown and stored as written, as the whole URL is (the "
        'site\'s key): write it as ${NAME}, taken from the environment and hidden (api_key=${API_KEY})',)


def test_a_query_key_that_only_begins_with_a_secrets_word_is_not_warned_of() -> None:
    # A search page's `keyword=shoes` and an `author=` were warned of as tokens to move to the environment, at every
    # start and reload: the header's words were looked for anywhere in the key.
    config = parse_config(json.dumps({"websites": [
        {"URL": "https://a.test/search?keyword=shoes&author=bob&keys=a"},
        {"URL": "https://b.test/?apiKey=1&apikey=2&access_token=3&authToken=4&authorization=5&sessionid=6&sid=7"}]}),
        "c.json")
    assert config.warnings == (
        "c.json: websites[1].URL: its query's apiKey, apikey, access_token and 3 more is shown and stored as written, "
        "as the whole URL is (the site's key): write it as ${NAME}, taken from the environment and hidden "
        "(apiKey=${API_KEY})",)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "c.json:1:2: invalid JSON: Expecting property name enclosed in double quotes"),
    ("[]", "c.json: the top level must be a JSON object, got a list"),
    ('{"defaultCheckInterval": 2}', 'c.json: "websites" is missing: list the sites to monitor'),
    ('{"websites": [{"checkInterval": 1}]}',
     'c.json: websites: no site with a URL to monitor (websites[0]: no "URL")'),
    # The hint was a warning, never printed: the error came first.
    ('{"websites": [{"url": "http://a.test/"}]}', 'c.json: websites: no site with a URL to monitor (websites[0]: no '
                                                  '"URL"; found "url": keys are case-sensitive)'),
    (config_with(defaultCheckInterval=0), "c.json: defaultCheckInterval: must be a finite number > 0, got 0"),
    ('{"websites": [{"URL": "http://a.test/", "checkInterval": NaN}]}',
     "c.json: websites[0].checkInterval: must be a finite number > 0, got nan"),
    ('{"websites": [{"URL": "http://a.test/", "checkInterval": true}]}',
     'c.json: websites[0].checkInterval: must be a number of seconds or a duration such as "30s" or "2m", got true'),
    ('{"websites": [{"URL": "via.ecp.fr"}]}',
     'c.json: websites[0].URL: needs a scheme, http://, https:// or tcp://, got "via.ecp.fr"'),
    ('{"websites": [{"URL": "ftp://a.test/"}]}', 'c.json: websites[0].URL: must use http, https or tcp, got "ftp://a.test/"'),
    ('{"websites": [{"URL": "http://"}]}', 'c.json: websites[0].URL: has no host, got "http://"'),
    ('{"websites": [{"URL": "http://a.test/"}, {"URL": "http://a.test/"}]}',
     'c.json: websites[1].URL: the same site as websites[0] ("http://a.test/"), got "http://a.test/"'),
    # A plain name that is another site's id (its URL's hash): both at one address on the page, in the API, in /metrics.
    ('{"websites": [{"URL": "http://a.test/"}, {"URL": "http://b.test/", "name": "b28e3efd69"}]}',
     'c.json: websites[1].name: is the id the page and the API give websites[0] ("http://a.test/"); choose another '
     'name, got "b28e3efd69"'),
    ('{"websites": [{"URL": "http://b.test/", "name": "b28e3efd69"}, {"URL": "http://a.test/"}]}',
     'c.json: websites[0].name: is the id the page and the API give websites[1] ("http://a.test/"); choose another '
     'name, got "b28e3efd69"'),
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


def doc(sites: list[dict[str, Any]] | None = None, **top: object) -> str:
    return json.dumps({"websites": sites if sites is not None else [{"URL": URL}], **top})


@pytest.mark.parametrize(("text", "field", "expected"), [
    (doc(), "sites", (SiteConfig(URL, 2.0, 2.0),)),
    (doc([{"URL": URL, "checkInterval": 30}]), "sites", (SiteConfig(URL, 30.0, 10.0),)),
    (doc([{"URL": URL, "checkInterval": 30, "timeout": 25}]), "sites", (SiteConfig(URL, 30.0, 25.0),)),
    (doc(defaultCheckInterval=5, defaultTimeout=1), "sites", (SiteConfig(URL, 5.0, 1.0),)),
    (doc([{"URL": "HTTPS://[::1]:8443/x?q=1"}]), "sites", (SiteConfig("HTTPS://[::1]:8443/x?q=1", 2.0, 2.0),)),
    (doc([{"URL": "http://b\u00fccher.test./"}, {"URL": "http://_acme.test/"}, {"URL": "http://[fe80::1%25eth0]/"}]),
     "sites", (SiteConfig("http://b\u00fccher.test./", 2.0, 2.0), SiteConfig("http://_acme.test/", 2.0, 2.0),
               SiteConfig("http://[fe80::1%25eth0]/", 2.0, 2.0))),
    (doc(), "alert", AlertPolicy(120.0, 0.8, 0.8, 1)),
    (doc(alertWindow=60, alertThreshold=0.5, recoveryThreshold=0.9, alertMinChecks=3), "alert",
     AlertPolicy(60.0, 0.5, 0.9, 3)),
    (doc(alertThreshold=0, recoveryThreshold=1), "alert", AlertPolicy(120.0, 0.0, 1.0, 1)),
    # Seconds as a duration with its unit, as `retention` and `remindEvery` take them (a Gatus config's `30s`).
    (doc([{"URL": URL, "checkInterval": "30s", "timeout": "1500ms"}]), "sites", (SiteConfig(URL, 30.0, 1.5),)),
    (doc(alertWindow="5m"), "alert", AlertPolicy(300.0, 0.8, 0.8, 1)),
    (doc(reports=[{"every": "1m", "windows": ["1h", 7200]}]), "reports", (ReportSpec(60.0, (3600.0, 7200.0)),)),
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
    (doc(alertMinChecks=100_001), "alertMinChecks: must be at most 100000, got 100001"),
    (doc([{"URL": "http://a.test/\u0000"}]), "must not contain spaces or control characters"),
    (doc([{"URL": " http://a.test/"}]), "must not contain spaces or control characters"),
    # `mailto:me@` reads as `ops:s3cret@` would (a scheme forgotten): all before the "@" is hidden, to be safe.
    (doc([{"URL": "mailto:me@a.test"}]), 'must use http, https or tcp, got "***@a.test"'),
    (doc([{"URL": "file:///etc/passwd"}]), "must use http, https or tcp"),
    (doc([{"URL": "localhost:8000/health"}]), "needs a scheme, http://, https:// or tcp://"),
    (doc([{"URL": "http://[::1/"}]), "is not a valid URL (its host has a [ without its ], or a ] without its [)"),
    # Hosts and ports no probe can reach: taken, they were down at every check, error kind `other` with no detail.
    (doc([{"URL": "http://a..test/"}]), 'websites[0].URL: has a host name that cannot be looked up (label empty or '
                                        'too long), got "http://a..test/"'),
    (doc([{"URL": f"http://{'a' * 64}.test/"}]), "has a host name that cannot be looked up (label empty or too long)"),
    (doc([{"URL": "tcp://.db.test:5432"}]), "has a host name that cannot be looked up (label empty or too long)"),
    (doc([{"URL": "http://127.0.0.1:0/"}]), 'websites[0].URL: port 0 cannot be connected to, got "http://127.0.0.1:0/"'),
    (doc([{"URL": "tcp://db.test:0"}]), "port 0 cannot be connected to"),
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
        "websites": [{"URL": URL, "checkInterval": 2.0, "timeout": 2.0, "method": "GET", "followRedirects": True,
                      "verifyTls": True, "alertWindow": 120.0, "alertThreshold": 0.8, "recoveryThreshold": 0.8,
                      "alertMinChecks": 1, "certificateExpiryDays": [14.0, 7.0, 1.0]}],
        "alertWindow": 120.0, "alertThreshold": 0.8, "recoveryThreshold": 0.8, "alertMinChecks": 1,
        "reports": [{"every": 10.0, "windows": [120.0, 600.0]}, {"every": 60.0, "windows": [3600.0]}],
        "retention": 172800.0,
        "quorum": 1,
        "rollupRetention": 400 * 86400.0,
    }
    assert parse_config(json.dumps(effective)).effective() == effective, "the effective config is a valid config"


# ---- one site under one name, duplicate keys, empty files -------------------------------------------------


@pytest.mark.parametrize("second", ["HTTP://A.test/", "http://a.test", "http://a.test:80/", "http://a.test/#top"])
def test_one_site_under_another_spelling_is_named_a_duplicate(second: str) -> None:
    text = json.dumps({"websites": [{"URL": "http://a.test/"}, {"URL": second}]})
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "c.json")
    assert str(refused.value) == (f'c.json: websites[1].URL: the same site as websites[0] ("http://a.test/"), '
                                  f'got "{second}"')


@pytest.mark.parametrize(("first", "second"), [
    ("http://bücher.test/", "http://xn--bcher-kva.test/"),
    ("http://xn--bcher-kva.test/", "HTTP://BÜCHER.test:80/"),
    ("https://straße.test/", "https://xn--strae-oqa.test/"),
])
def test_an_international_host_name_and_its_ascii_form_are_one_site(first: str, second: str) -> None:
    # Two sites probing one host: the probe sends the ASCII form (IDNA) whichever was written.
    text = json.dumps({"websites": [{"URL": first}, {"URL": second}]})
    with pytest.raises(ConfigError, match=r"^c\.json: websites\[1\]\.URL: the same site as websites\[0\] "):
        parse_config(text, "c.json")


def test_sites_that_only_look_alike_are_two_sites() -> None:
    urls = ["http://a.test/", "https://a.test/", "http://a.test:8080/", "http://a.test/x", "http://a.test/?q=1",
            "http://A.test/X"]
    assert [s.url for s in parse_config(json.dumps({"websites": [{"URL": u} for u in urls]})).sites] == urls


@pytest.mark.parametrize(("text", "message"), [
    ('{"websites": [{"URL": "http://a.test/", "checkInterval": 2, "checkInterval": 5}]}',
     'c.json: websites[0]: duplicate key "checkInterval" (JSON keeps only the last value; write it once)'),
    ('{"websites": [{"URL": "http://a.test/"}], "alertWindow": 60, "websites": []}',
     'c.json: top level: duplicate key "websites" (JSON keeps only the last value; write it once)'),
    ('{"websites": [{"URL": "http://a.test/"}], "reports": [{"every": 5, "windows": [60], "every": 9}]}',
     'c.json: reports[0]: duplicate key "every" (JSON keeps only the last value; write it once)'),
    # JSON's \ud800 escape makes a string no probe can send: every probe raised UnicodeEncodeError, a traceback.
    ('{"websites": [{"URL": "http://a.test/", "bodyContains": "ok\\ud800"}]}',
     'c.json: websites[0].bodyContains: has a lone surrogate (\\ud800), which is no text, got "ok\\ud800"'),
    ('{"websites": [{"URL": "http://a.test/", "method": "POST", "body": "x\\udfff"}]}',
     'c.json: websites[0].body: has a lone surrogate (\\udfff), which is no text, got "x\\udfff"'),
    ('{"websites": [{"URL": "http://a.test/"}], "defaults": {"json": [{"path": "$.a", "equals": "\\ud800"}]}}',
     'c.json: defaults.json[0].equals: has a lone surrogate (\\ud800), which is no text, got "\\ud800"'),
    ('{"websites": [{"URL": "http://a.test/", "headers": {"X-\\ud800": "1"}}]}',
     'c.json: websites[0].headers: has a lone surrogate (\\ud800), which is no text, got "X-\\ud800"'),
])
def test_a_duplicate_key_or_a_lone_surrogate_is_named_with_where_it_is(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "c.json")
    assert str(refused.value) == message


@pytest.mark.parametrize("text", ["", "  \n\t\n", "\ufeff"])
def test_an_empty_file_is_named_as_such(text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(text.lstrip("\ufeff"), "c.json")
    assert str(refused.value) == 'c.json: is empty; a config needs at least {"websites": [{"URL": "http://..."}]}'


# ---- configs that can never alert, or cost for nothing: warned, everywhere the config is read ---------------


@pytest.mark.parametrize(("top", "sites", "warning"), [
    ({"alertMinChecks": 20, "alertWindow": 10}, [{"URL": URL, "checkInterval": 1}],
     "c.json: alertMinChecks (20) is more than the 10 check(s) alertWindow (10s) holds for websites[0] "
     "(every 1s): it can never alert"),
    ({"alertThreshold": 0}, [{"URL": URL}],
     "c.json: alertThreshold is 0: availability is never below 0%, so no alert is ever raised"),
    ({"alertWindow": 1}, [{"URL": URL, "checkInterval": 60}],
     "c.json: alertWindow (1s) holds only the latest check of websites[0] (every 1m00s): one failure alerts "
     "and one success recovers"),
    ({}, [{"URL": URL, "checkInterval": 5, "timeout": 30}],
     "c.json: websites[0].timeout (30s) is longer than its checkInterval (5s): while a probe hangs, "
     "the ticks it spans are skipped"),
    ({}, [{"URL": URL, "checkInterval": 0.001}],
     "c.json: websites[0].checkInterval (0.001) is below the floor of 0.1s; it runs every 0.1s"),
    ({"defaultCheckInterval": 0.01}, [{"URL": URL}],
     "c.json: defaultCheckInterval (0.01) is below the floor of 0.1s; it runs every 0.1s"),
    ({"reports": [{"every": 0.001, "windows": [60]}]}, [{"URL": URL}],
     "c.json: reports[0].every (0.001) is below the floor of 0.1s; it runs every 0.1s"),
])
def test_a_config_that_can_never_alert_or_wastes_a_core_is_warned(top: dict[str, object],
                                                                  sites: list[object], warning: str) -> None:
    config = parse_config(json.dumps({"websites": sites, **top}), "c.json")
    assert warning in config.warnings, config.warnings


def test_the_floor_applies_and_a_warning_names_at_most_three_sites() -> None:
    sites = [{"URL": f"http://s{i}.test/", "checkInterval": 1, "timeout": 3} for i in range(5)]
    config = parse_config(json.dumps({"websites": [*sites, {"URL": URL, "checkInterval": 0.001}]}), "c.json")
    assert (config.sites[-1].check_interval, config.sites[-1].timeout) == (0.1, 0.1)
    assert config.warnings == (
        "c.json: websites[5].checkInterval (0.001) is below the floor of 0.1s; it runs every 0.1s",
        "c.json: websites[0], websites[1], websites[2] and 2 more: timeout is longer than checkInterval: "
        "while a probe hangs, the ticks it spans are skipped",
    )


def test_a_sensible_config_has_no_warning() -> None:
    assert parse_config(SEED).warnings == ()
    assert parse_config(json.dumps({"websites": [{"URL": URL, "checkInterval": 1}], "alertMinChecks": 5,
                                    "alertWindow": 10, "alertThreshold": 0.5})).warnings == ()


# ---- secrets ---------------------------------------------------------------------------------------------


def test_a_password_in_a_url_is_kept_for_the_probe_only() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": "https://ops:s3cret@a.test/health"}]}), "c.json")
    (site,) = config.sites
    assert site.url == "https://ops:***@a.test/health"  # the site's key: stored, printed, compared
    assert site.probe_url == "https://ops:s3cret@a.test/health"
    assert "s3cret" not in repr(config) and "s3cret" not in json.dumps(config.effective())


@pytest.mark.parametrize("text", [
    '{"websites": [{"URL": "http://ops:s3cret@a.test:99999/"}]}',
    '{"websites": [{"URL": "ftp://ops:s3cret@a.test/"}]}',
    '{"websites": [{"URL": "http://ops:s3cret@a.test/my page"}]}',
    '{"websites": [{"URL": "http://ops:s3cret@a.test/"}, {"URL": "http://ops:other@a.test"}]}',
    # The scheme forgotten or mistyped: no `scheme://` for the password to follow, yet a password all the same.
    '{"websites": [{"URL": "ops:s3cret@a.test:8080/health"}]}',
    '{"websites": [{"URL": "http:/ops:s3cret@a.test/"}]}',
    '{"websites": [{"URL": "http:ops:s3cret@a.test/"}]}',
    # Python's own words quoted the URL: a / in the password made its first part the "port" ('s3cret'), and a host
    # that NFKC changes had the whole network location quoted, password and all.
    '{"websites": [{"URL": "http://ops:s3cret/x@a.test/"}]}',
    '{"websites": [{"URL": "http://ops:s3cret@a.test\\uff0fx/"}]}',
])
def test_a_password_never_appears_in_an_error(text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "c.json")
    assert "s3cret" not in str(refused.value) and "***@a.test" in str(refused.value), refused.value


@pytest.mark.parametrize("url", ["http://ops:p\u20acss@a.test/", "http://ops:p%E2%82%ACss@a.test/",
                                 "http://\u20acops:pass@a.test/"])
def test_credentials_no_basic_authentication_can_carry_are_refused_when_the_config_is_read(url: str) -> None:
    # requests encodes Basic credentials as ISO-8859-1: every probe raised UnicodeEncodeError, a traceback per tick.
    with pytest.raises(ConfigError) as refused:
        parse_config(json.dumps({"websites": [{"URL": url}]}), "c.json")
    assert str(refused.value) == (
        f"c.json: websites[0].URL: its user and password must be ISO-8859-1 text (Basic authentication carries no "
        f"other), got {json.dumps(shown_url(url))}")
    assert "ss@" not in str(refused.value)


# -- checks, names, defaults and per-site policies ------------------------------------------------------------


def test_a_site_with_a_name_is_keyed_by_it_and_two_checks_of_one_url_live_side_by_side() -> None:
    config = parse_config(json.dumps({"websites": [
        {"URL": URL}, {"URL": URL, "name": "a-status", "json": [{"path": "$.status", "equals": "ok"}]},
        {"URL": URL, "name": "a-queue", "json": [{"path": "$.queue.depth", "below": 1000}]}]}), "c.json")
    assert [site.key for site in config.sites] == [URL, "a-status", "a-queue"]
    assert config.keys == frozenset({URL, "a-status", "a-queue"})
    with pytest.raises(ConfigError, match=r'^c\.json: websites\[1\]\.name: the same site as websites\[0\] '
                                          r'\("shop"\), got "shop"$'):
        parse_config(json.dumps({"websites": [{"URL": URL, "name": "shop"}, {"URL": "http://b.test/",
                                                                              "name": "shop"}]}), "c.json")


def test_a_sites_own_value_wins_then_defaults_then_the_legacy_top_level_keys() -> None:
    config = parse_config(json.dumps({
        "websites": [{"URL": URL, "alertWindow": 30, "checkInterval": 5},
                     {"URL": "http://b.test/"},
                     {"URL": "http://c.test/", "alertThreshold": 0.5}],
        "defaults": {"alertWindow": 60, "timeout": 1, "maxResponseTime": 0.5, "certificateExpiryDays": [30, 7]},
        "alertWindow": 120, "alertThreshold": 0.9, "recoveryThreshold": 0.95, "defaultCheckInterval": 10}))
    a, b, c = config.sites
    assert (a.check_interval, b.check_interval, a.timeout, b.timeout) == (5.0, 10.0, 1.0, 1.0)
    assert a.policy == AlertPolicy(30.0, 0.9, 0.95, 1)
    assert b.policy == AlertPolicy(60.0, 0.9, 0.95, 1)
    # A site's own threshold is its recovery threshold too, unless it says otherwise.
    assert c.policy == AlertPolicy(60.0, 0.5, 0.5, 1)
    assert config.alert == AlertPolicy(120.0, 0.9, 0.95, 1)
    assert a.conditions.max_response_time == b.conditions.max_response_time == 0.5
    assert a.certificate_days == (30.0, 7.0)
    policies = config.policies
    assert (policies.alert(URL), policies.alert("http://elsewhere/")) == (a.policy, config.alert)
    assert policies.certificate("http://b.test/") == (30.0, 7.0)


def test_without_any_per_site_key_a_site_follows_the_top_level_policy() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": URL}], "alertWindow": 30}))
    assert config.sites[0].policy is None
    assert config.policies.alert(URL) == AlertPolicy(30.0)
    assert config.sites[0].certificate_days == (14.0, 7.0, 1.0)


def test_request_options_and_conditions_are_read() -> None:
    site = parse_config(json.dumps({"websites": [{
        "URL": URL, "method": "post", "headers": {"X-Token": "${TOKEN}", "Accept": "application/json"},
        "body": {"q": 1}, "followRedirects": False, "verifyTls": False, "expectedStatus": [200, "204-206"],
        "bodyContains": "ok", "bodyMatches": "^o", "maxResponseTime": 0.25}]}), "c.json", {"TOKEN": "t0k"}).sites[0]
    request = site.request
    assert (request.method, request.headers, request.values, request.body, request.json_body) == (
        "POST", (("X-Token", "${TOKEN}"), ("Accept", "application/json")),
        (("X-Token", "t0k"), ("Accept", "application/json")), '{"q": 1}', True)
    assert (request.follow_redirects, request.verify_tls, request.verify) == (False, False, False)
    assert site.conditions.expected_status is not None and site.conditions.expected_status.ranges == (
        (200, 200), (204, 206))
    assert site.secrets.values == ("t0k",) and "t0k" not in repr(site)
    # Checked only (no environment given, as -p and -w read it): the header is kept as written.
    unexpanded = parse_config(json.dumps({"websites": [{"URL": URL, "headers": {"X-Token": "${TOKEN}"}}]}))
    assert unexpanded.sites[0].request.values == (("X-Token", "${TOKEN}"),)


@pytest.mark.parametrize(("value", "environ", "message"), [
    ("Bearer \u20ac", {}, 'websites[0].headers.X-A: must be ISO-8859-1 text (a header cannot carry "\\u20ac"), got '
                          '"Bearer \\u20ac"'),
    (" lead", {}, 'websites[0].headers.X-A: must not begin with a space or a tab, got " lead"'),
    ("${V}", {"V": "s3cret\u20ac"}, "websites[0].headers.X-A: the value environment variable V gives it is not "
                                    "one a header can carry (on one line, ISO-8859-1, not beginning with a space)"),
    ("x ${V}", {"V": "s3cret\nX-Evil: 1"}, "websites[0].headers.X-A: the value environment variable V gives it is "
                                           "not one a header can carry (on one line, ISO-8859-1, not beginning with "
                                           "a space)"),
])
def test_a_header_value_no_request_can_carry_is_refused_when_the_config_is_read(
        value: str, environ: dict[str, str], message: str) -> None:
    # Each once failed every probe: a traceback per tick (UnicodeEncodeError) or a `connection` error for ever.
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps({"websites": [{"URL": URL, "headers": {"X-A": value}}]}), "c.json", environ)
    assert str(raised.value) == f"c.json: {message}"
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(("value", "message"), [
    ("Bearer lit-s3cret\n", "websites[0].headers.Authorization: must be a string on one line, got \"***\""),
    ("Bearer lit-s3cret\u20ac", 'websites[0].headers.Authorization: must be ISO-8859-1 text (a header cannot carry '
                               '"\\u20ac"), got "***"'),
    ("lit-s3cret ${1X}", 'websites[0].headers.Authorization: ${1X} is not an environment variable name, got '
                         '"lit-s3cret ${1X}"'),
])
def test_a_header_that_may_hold_a_secret_is_shown_as_stars_in_an_error_as_check_shows_it(
        value: str, message: str) -> None:
    # As --check prints it: a value written under such a name is `***`; one that names a variable is shown.
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps({"websites": [{"URL": URL, "headers": {"Authorization": value}}]}), "c.json", {})
    assert str(raised.value) == f"c.json: {message}"


def test_a_tcp_site_is_a_host_and_a_port_and_takes_no_http_keys() -> None:
    site = parse_config(json.dumps({"websites": [{"URL": "tcp://db.test:5432", "maxResponseTime": 1}],
                                    "defaults": {"method": "HEAD"}})).sites[0]
    assert (site.scheme, site.key, site.request.method, site.conditions.max_response_time) == (
        "tcp", "tcp://db.test:5432", "GET", 1.0)


def test_the_effective_config_of_every_new_key_is_itself_a_valid_config_and_hides_a_literal_secret() -> None:
    text = json.dumps({"websites": [
        {"URL": URL, "name": "shop", "method": "POST", "body": "x",
         "headers": {"Authorization": "Bearer literal-s3cret", "X-Env": "${TOKEN}", "Accept": "text/plain"},
         "expectedStatus": ["200-299"], "json": [{"path": "$.a", "exists": True}], "alertWindow": 30,
         "certificateExpiryDays": [3]},
        {"URL": "tcp://db.test:5432"}]})
    effective = parse_config(text, "c.json", {"TOKEN": "env-s3cret"}).effective()
    shown = json.dumps(effective)
    assert "literal-s3cret" not in shown and "env-s3cret" not in shown
    assert effective["websites"][0]["headers"] == {"Authorization": "***", "X-Env": "${TOKEN}", "Accept": "text/plain"}
    again = parse_config(shown, "c.json", {"TOKEN": "env-s3cret"}).effective()
    assert again == effective


@pytest.mark.parametrize(("site", "message"), [
    ({"bodyMatches": "(ok"}, 'websites[0].bodyMatches: is not a valid regular expression (missing ), unterminated '
                             'subpattern at position 0), got "(ok"'),
    ({"json": [{"path": "$..[", "equals": 1}]}, 'websites[0].json[0].path: is not a valid JSONPath'),
    ({"json": [{"path": "$.a", "equals": 1, "below": 2}]}, "websites[0].json[0]: needs exactly one of"),
    ({"json": [{"path": "$.a", "below": "x"}]}, 'websites[0].json[0]: below must be a number, got "x"'),
    ({"expectedStatus": [700]}, 'websites[0].expectedStatus: must be a status from 100 to 599 or a range such as '
                                '"200-299", got 700'),
    ({"expectedStatus": ["299-200"]}, 'got "299-200"'),
    ({"alertThreshold": 1.5}, "websites[0].alertThreshold: must be a fraction between 0 and 1, got 1.5"),
    ({"recoveryThreshold": 0.5, "alertThreshold": 0.6}, "websites[0].recoveryThreshold: must be at least "
                                                        "alertThreshold (0.6), got 0.5"),
    ({"headers": {"X": "${NOT SET}"}}, "websites[0].headers.X: ${NOT SET} is not an environment variable name"),
    ({"headers": {"X": "${UNSET_FOR_SURE}"}}, "websites[0].headers.X: environment variable UNSET_FOR_SURE is not set"),
    # Set but empty (`TOKEN=` in an env file): the header went out as "Bearer ", the token silently missing.
    ({"headers": {"Authorization": "Bearer ${EMPTY_FOR_SURE}"}},
     "websites[0].headers.Authorization: environment variable EMPTY_FOR_SURE is set but empty"),
    ({"method": "GET /"}, 'websites[0].method: must be an HTTP method such as GET, HEAD or POST, got "GET /"'),
    ({"name": " shop"}, "websites[0].name: must be a name of 1 to 100 printable characters"),
    ({"name": "http://a/"}, "websites[0].name: must not look like a URL"),
    # A URL pasted whole as the name: its password was quoted in the error.
    ({"name": "http://ops:s3cret@a/"}, 'websites[0].name: must not look like a URL (it is the site\'s key, as a URL is '
                                       'for a site without a name), got "http://ops:***@a/"'),
    ({"certificateExpiryDays": [0]}, "websites[0].certificateExpiryDays: must be a list of at most 10 numbers"),
    ({"verifyTls": "no"}, 'websites[0].verifyTls: must be true or false, got "no"'),
    ({"bodyNotContains": ""}, 'websites[0].bodyNotContains: must be a non-empty string, got ""'),
    ({"bodyNotMatches": "*error*"}, "websites[0].bodyNotMatches: is not a valid regular expression (nothing to "
                                    'repeat at position 0), got "*error*"'),
])
def test_each_check_mistake_is_one_line_naming_the_site_and_field(site: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps({"websites": [{"URL": URL, **site}]}), "c.json", {"EMPTY_FOR_SURE": ""})
    assert str(raised.value).startswith("c.json: ") and message in str(raised.value), str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("url", "message"), [
    ("tcp://db.test", 'websites[0].URL: a tcp:// site needs a port (tcp://host:port), got "tcp://db.test"'),
    ("tcp://db.test:5432/x", "websites[0].URL: a tcp:// site is a host and a port only"),
])
def test_a_tcp_url_needs_a_port_and_nothing_else(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps({"websites": [{"URL": url}]}), "c.json")
    assert message in str(raised.value)
    with pytest.raises(ConfigError, match=r"websites\[0\]\.method: does not apply to a tcp:// site"):
        parse_config(json.dumps({"websites": [{"URL": "tcp://db.test:1", "method": "GET"}]}), "c.json")


@pytest.mark.parametrize(("site", "defaults", "message"), [
    ({"method": "HEAD", "bodyContains": "ok"}, {},
     'websites[0].bodyContains: cannot be checked: a HEAD request gets no body (method GET reads one), got "ok"'),
    ({"method": "head", "json": [{"path": "$.status", "equals": "ok"}]}, {}, "websites[0].json: cannot be checked"),
    ({"bodyMatches": "^ok"}, {"method": "HEAD"}, "websites[0].bodyMatches: cannot be checked"),
    ({"method": "HEAD"}, {"bodyContains": "ok"}, "defaults.bodyContains: cannot be checked"),
])
def test_a_body_condition_on_a_head_request_is_refused(site: dict[str, object], defaults: dict[str, object],
                                                       message: str) -> None:
    # Such a site was accepted and then down at every check: "bodyContains "ok" not found".
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps({"websites": [{"URL": "http://a.test/", **site}], "defaults": defaults}), "c.json")
    assert str(raised.value).startswith(f"c.json: {message}")


@pytest.mark.parametrize(("site", "defaults", "message"), [
    # A redirect's status is never the answer while redirects are followed: down at every check, "status 200,
    # expected 301", for a blackbox valid_status_codes [301] or a Gatus [STATUS] == 301 moved over as is.
    ({"expectedStatus": [301]}, {}, "websites[0].expectedStatus: lists only redirects, and redirects are followed "
                                    "to their answer (followRedirects false checks the redirect itself), got [301]"),
    ({}, {"expectedStatus": [302, "307-308"]}, "defaults.expectedStatus: lists only redirects"),
    ({"expectedStatus": [204], "bodyContains": "ok"}, {},
     'websites[0].bodyContains: cannot be checked: an answer of status 204 has no body, got "ok"'),
    ({"expectedStatus": ["304"], "json": [{"path": "$.a", "exists": True}]}, {},
     "websites[0].json: cannot be checked: an answer of status 304 has no body"),
    ({"bodyContains": "x" * (64 * 1024 + 1)}, {},
     "websites[0].bodyContains: can never be found: it is longer than the 64 kB a probe reads of a body"),
    ({"json": [{"path": "$.status", "equals": "UP"}, {"path": "$.status", "equals": "ok"}]}, {},
     'websites[0].json[1]: can never pass where websites[0].json[0] ({"path": "$.status", "equals": "UP"}) does, '
     'got {"path": "$.status", "equals": "ok"}'),
    ({}, {"json": [{"path": "$.n", "equals": "UP"}, {"path": "$.n", "below": 5}]}, "defaults.json[1]: can never pass"),
    ({"json": [{"path": "$.n", "equals": 3}, {"path": "$.n", "notEquals": 3.0}]}, {}, "websites[0].json[1]"),
    ({"json": [{"path": "$.n", "below": 5}, {"path": "$.x", "exists": True}, {"path": "$.n", "above": 5}]}, {},
     "websites[0].json[2]: can never pass where websites[0].json[0]"),
    ({"json": [{"path": "$.n", "exists": False}, {"path": "$.n", "contains": "a"}]}, {}, "websites[0].json[1]"),
    ({"json": [{"path": "$.n", "equals": 1}, {"path": "$.n", "exists": False}]}, {}, "websites[0].json[1]"),
    ({"bodyContains": "status: error", "bodyNotContains": "error"}, {},
     'websites[0].bodyNotContains: can never pass: a body that contains bodyContains contains it, got "error"'),
    ({"method": "HEAD", "bodyNotMatches": "x"}, {}, "websites[0].bodyNotMatches: cannot be checked: a HEAD request"),
    ({"expectedStatus": [204]}, {"bodyNotContains": "x"}, "defaults.bodyNotContains: cannot be checked: an answer"),
], ids=["redirect-status", "redirect-range-in-defaults", "no-content", "not-modified", "longer-than-read",
        "two-equals", "equals-not-a-number", "equals-and-not", "below-above", "absent-and-contains", "equals-absent",
        "contains-what-it-must-not", "head-not-matches", "no-content-not-contains"])
def test_a_condition_no_answer_can_pass_is_refused(site: dict[str, object], defaults: dict[str, object],
                                                   message: str) -> None:
    # Each was taken, and its site was then down at every check whatever it answered.
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps({"websites": [{"URL": "http://a.test/", **site}], "defaults": defaults}), "c.json")
    assert str(raised.value).startswith(f"c.json: {message}"), str(raised.value)


@pytest.mark.parametrize("site", [
    {"expectedStatus": [301], "followRedirects": False},
    {"expectedStatus": ["300-399"]},  # a 304 or a 300 is an answer
    {"expectedStatus": ["200-204"], "bodyContains": "ok"},
    {"bodyContains": "x" * (64 * 1024)},  # a body of exactly 64 kB is read whole
    {"json": [{"path": "$.n", "above": 1}, {"path": "$.n", "below": 5}, {"path": "$.n", "equals": 3},
              {"path": "$.n", "equals": 3.0}, {"path": "$.n", "exists": True}, {"path": "$.s", "exists": False},
              {"path": "$.s", "exists": False}, {"path": "$..n", "equals": 4}]},
], ids=["redirect-not-followed", "any-3xx", "some-with-a-body", "exactly-the-limit", "compatible-json"])
def test_conditions_some_answer_can_pass_are_taken(site: dict[str, object]) -> None:
    assert parse_config(json.dumps({"websites": [{"URL": "http://a.test/", **site}]}), "c.json").sites


def test_a_max_response_time_not_below_the_timeout_is_warned_of_as_never_slow() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": "http://a.test/", "timeout": 1, "maxResponseTime": 1},
                                                   {"URL": "tcp://b.test:1", "timeout": 2, "maxResponseTime": 1.5}]}),
                          "c.json")
    assert config.warnings == ("c.json: websites[0].maxResponseTime (1s) is not below its timeout (1s): an answer "
                               "that slow is a timeout, never slow",)


def test_a_head_request_with_status_and_time_checks_only_is_taken() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": "http://a.test/", "method": "HEAD",
                                                    "expectedStatus": [200], "maxResponseTime": 1}]}), "c.json")
    assert config.sites[0].request.method == "HEAD"


def test_a_per_site_policy_that_can_never_alert_is_warned_for_that_site() -> None:
    config = parse_config(json.dumps({"websites": [
        {"URL": URL, "checkInterval": 10, "alertWindow": 20, "alertMinChecks": 5}, {"URL": "http://b.test/"}]}),
        "c.json")
    assert config.warnings == ("c.json: alertMinChecks (5) is more than the 2 check(s) alertWindow (20s) holds for "
                               "websites[0] (every 10s): it can never alert",)


def test_a_json_condition_on_a_list_or_an_object_is_read_and_judged() -> None:
    # A list or an object as the operand (a JSON value like any other) once made the config unhashable: a traceback.
    text = json.dumps({"websites": [{"URL": URL, "json": [
        {"path": "$.flags", "equals": ["a", "b"]}, {"path": "$.items", "contains": {"n": 1}},
        {"path": "$.queue", "notEquals": {"depth": 0}}]}]})
    config = parse_config(text, "c.json")
    site = config.sites[0]
    assert hash(site) == hash(parse_config(text, "c.json").sites[0])
    body = b'{"flags": ["a", "b"], "items": [{"n": 1}], "queue": {"depth": 0}}'
    assert site.conditions.judge(200, body, True, 0.1) == (
        ErrorKind.CONDITION, '$.queue is {"depth": 0}, expected anything but {"depth": 0}')
    assert parse_config(json.dumps(config.effective()), "c.json").effective() == config.effective()


def test_a_json_condition_on_an_integer_beyond_a_float_is_read_and_judged() -> None:
    huge = 10 ** 400
    site = parse_config(json.dumps({"websites": [{"URL": URL, "json": [{"path": "$.n", "below": huge}]}]}),
                        "c.json").sites[0]
    assert site.conditions.judge(200, b'{"n": 5}', True, 0.1) == (None, None)
    assert site.conditions.judge(200, f'{{"n": {huge}}}'.encode(), True, 0.1) == (
        ErrorKind.CONDITION, f"$.n is {str(huge)[:57]}..., expected below {str(huge)[:57]}...")


def test_a_configs_repr_holds_none_of_its_secrets_written_as_is() -> None:
    # A value from the environment and a URL's password were kept out of the repr (a traceback's message, a debugger),
    # but a header written as is under a name that may hold a secret, a channel's password and an apprise token were
    # in it whole.
    config = parse_config(json.dumps({
        "websites": [{"URL": "http://a.test/", "headers": {"X-Api-Key": "lit-key-123"}}],
        "notifications": [{"url": "http://u:lit-pw-456@h.test/x"}, {"url": "tgram://123456789:AAHlit-tok-789/987"}]}),
        "c.json", {})
    shown = repr(config)
    assert [secret for secret in ("lit-key-123", "lit-pw-456", "AAHlit-tok-789") if secret in shown] == []
