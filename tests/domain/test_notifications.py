"""The config's `notifications` and `maintenance`: defaults read back, one exact line per mistake naming the
entry, `${NAME}` taken from the environment only at start, secrets kept out of names and text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import pytest

from monitoringapp.domain.config import ConfigError, parse_config
from monitoringapp.domain.notifications import (
    ChannelConfig,
    MaintenanceWindow,
    default_name,
    expand_url,
    in_maintenance,
    maintenance_until,
)
from monitoringapp.domain.secrets import MissingVariable

SITE = "http://a.test/"


def parsed(**top: object) -> tuple[tuple[ChannelConfig, ...], tuple[MaintenanceWindow, ...], tuple[str, ...]]:
    config = parse_config(json.dumps({"websites": [{"URL": SITE}], **top}), "c.json")
    return config.notifications, config.maintenance, config.warnings


def test_the_issues_example_is_read_with_every_default() -> None:
    channels, _, warnings = parsed(notifications=[
        {"url": "http://127.0.0.1:9000/hooks/monitor"},
        {"url": "slack://TokenA/TokenB/TokenC/#ops", "sites": [SITE], "events": ["alert", "recovery"]},
        {"url": "mailto://user:${SMTP_PASSWORD}@smtp.example.com?to=oncall@example.com", "remindEvery": "1h"},
    ])
    assert warnings == ()
    hook, slack, mail = channels
    assert hook == ChannelConfig("http://127.0.0.1:9000/hooks/monitor", "http://127.0.0.1:9000/hooks/monitor",
                                 entry="notifications[0]")
    assert hook.webhook and not slack.webhook and not mail.webhook
    assert hook.events == {"alert", "recovery", "monitor-stale", "certificate"} and hook.max_age == 3600.0
    assert (slack.sites, slack.events) == (frozenset({SITE}), frozenset({"alert", "recovery"}))
    assert (mail.name, mail.remind_every) == ("mailto://user@smtp.example.com", 3600.0)
    assert slack.name.startswith("slack:") and "Token" not in slack.name


def test_a_default_name_keeps_no_password_query_or_apprise_token() -> None:
    assert default_name("https://bot:pw@hooks.example.com:8443/x/y?token=abc") == "https://hooks.example.com:8443/x/y"
    assert default_name("mailto://user:${P}@smtp.example.com?to=a@b.c") == "mailto://user@smtp.example.com"
    assert "Secret" not in default_name("discord://1234/SecretToken")


def test_a_webhook_with_a_variable_in_its_path_and_no_name_is_named_by_the_variable_not_its_value() -> None:
    # The token of a hook's path from the environment, as the README's "a hook's token missing from its path" has it:
    # its default name, holding the ${NAME}, was refused as if the config had written it (notifications[0].name: must
    # be a non-empty string without ${...}), so neither -m nor the notifier started on such a config.
    (hook,), _, _ = parsed(notifications=[{"url": "https://hooks.example.com/services/${HOOK_TOKEN}?key=${KEY}"}])
    assert (hook.name, hook.url) == ("https://hooks.example.com/services/${HOOK_TOKEN}",
                                     "https://hooks.example.com/services/${HOOK_TOKEN}?key=${KEY}")
    checked = parse_config(json.dumps({"websites": [{"URL": SITE}], "notifications": [hook.effective()]}))
    assert checked.notifications[0].name == hook.name, "--check prints a config that reads back"
    with pytest.raises(ConfigError, match=r"notifications\[0\]\.name: must be a non-empty string without"):
        parsed(notifications=[{"url": "http://127.0.0.1:9/hook", "name": "hook ${ENV}"}])


@pytest.mark.parametrize("url", [
    "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi",  # user key @ application token
    "ntfys://tk_s3cretTOKEN@ntfy.sh/alerts",  # access token @ server
    "matrixs://s3cretTOKEN@matrix.example.com/#ops",
    "pagerduty://s3cretTOKEN@apikey",
])
def test_a_default_name_keeps_no_apprise_token_written_as_its_user(url: str) -> None:
    # `scheme://user@host` was kept for any scheme, meant for e-mail's login: it named a Pushover channel by its
    # user key and token, an ntfy one by its token, in every line and in the state file.
    name = default_name(url)
    assert name.startswith(f"{url.partition(':')[0]}:") and "s3cret" not in name and "uQiRz" not in name
    assert "azGDO" not in name


# apprise's documented URL forms (its services' `templates`), each as apprise's docs write it.
APPRISE_URLS = [
    "tgram://123456789:AAHsecretTOKEN/987654",  # a Telegram bot token holds a colon
    "tgram://123456789:AAHsecretTOKEN",
    "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
    "discord://botname@4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
    "slack://T1234ABCD/B5678EFGH/abcdefSECRETxyz/#ops",
    "slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general",
    "workflows://prod-01.westus.logic.azure.com:443/WORKFLOWID/SIGNATURE",  # apprise 2's Microsoft Teams
    "ntfy://alerts",
    "ntfy://user:pass@ntfy.example.com:8080/alerts",
    "ntfys://tk_s3cretTOKEN@ntfy.sh/alerts",
    "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi/iphone",
    "matrix://user:pass@matrix.example.com/#ops",
    "matrixs://s3cretTOKEN@matrix.example.com:8448/#ops",
    "mailto://user:pw@smtp.example.com:587?to=oncall@example.com",
    "mailtos://user:pw@smtp.example.com:465/oncall@example.com",
    "json://user:pass@127.0.0.1:8080/path",
    "form://user:pass@example.com:8080/path",
    "gotify://gotify.example.com/AbCdEfGhIjKlMnO",
    "gotifys://gotify.example.com:8443/path/AbCdEfGhIjKlMnO",
]


@pytest.mark.parametrize("url", APPRISE_URLS)
def test_every_apprise_url_form_apprise_reads_passes_the_check(url: str) -> None:
    # A webhook's port check was applied to every scheme: `tgram://123456789:AAH...` was refused, "Port could
    # not be cast to integer value as 'AAH...'", the token on screen.
    apprise = pytest.importorskip("apprise")
    assert apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None, "apprise reads it"
    channels, _, _ = parsed(notifications=[{"url": url}])
    assert channels[0].url == url and not channels[0].webhook


@pytest.mark.parametrize(("notifications", "message"), [
    ({"url": "http://a/"}, 'c.json: notifications: must be a list of channels, got {"url": "http://a/"}'),
    ([{"name": "x"}], 'c.json: notifications[0]: must be an object with a "url", got {"name": "x"}'),
    ([{"url": "hooks.example.com/x"}],  # with no scheme, any part may be a token: each is hidden
     'c.json: notifications[0].url: needs a scheme (http://, https://, or an apprise one such as mailto://), '
     'got "h...m/x...x"'),
    ([{"url": "http:///x"}], 'c.json: notifications[0].url: has no host, got "http:///x"'),
    ([{"url": "mailto://u:${SMTP-PASSWORD}@h"}],
     'c.json: notifications[0].url: ${SMTP-PASSWORD} is not an environment variable name, '
     'got "mailto://u:***@h"'),  # a password that is no `${NAME}` is not shown
    ([{"url": "mailto://u:${P@h"}],
     'c.json: notifications[0].url: has a ${ without its closing }, got "mailto://u:***@h"'),
    ([{"url": "http://a/"}, {"url": "http://a/"}],
     'c.json: notifications[1].name: duplicate of notifications[0] (give each channel a name), got "http://a/"'),
    ([{"url": "http://a/", "events": ["down"]}],
     'c.json: notifications[0].events: must be a non-empty list of alert, recovery, monitor-stale, certificate, '
     'got ["down"]'),
    ([{"url": "http://a/", "remindEvery": "5s"}],
     'c.json: notifications[0].remindEvery: must be between 60 s and 365d, got "5s"'),
    ([{"url": "http://a/", "maxAge": "soon"}],
     'c.json: notifications[0].maxAge: must be a duration such as 30m or 1h, got "soon"'),
    ([{"url": "http://a/", "sites": "http://a.test/"}],
     'c.json: notifications[0].sites: must be a non-empty list of site URLs, got "http://a.test/"'),
])
def test_each_channel_mistake_is_one_line_naming_the_entry(notifications: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parsed(notifications=notifications)
    assert str(raised.value) == message


@pytest.mark.parametrize(("url", "message"), [
    ("http://bot:hunter2@hooks.example.com:99999/x",
     'c.json: notifications[0].url: is not a valid URL (its port is not 0 to 65535), '
     'got "http://bot:***@hooks.example.com:99999/x"'),
    ("https://bot:hunter2@hooks.example.com/x y",
     'c.json: notifications[0].url: must not contain spaces or control characters, '
     'got "https://bot:***@hooks.example.com/x y"'),
    ("bot:hunter2@hooks.example.com/x",
     'c.json: notifications[0].url: needs a scheme (http://, https://, or an apprise one such as mailto://), '
     'got "b...t:***@h...m/x...x"'),
    ("mailto://bot:hunter2@smtp.example.com/${PW",
     'c.json: notifications[0].url: has a ${ without its closing }, got "mailto://bot:***@smtp.example.com/${...W"'),
    # An apprise URL's tokens (a Telegram bot token) were shown as written too.
    ("tgram://[123456789:AAHsecretTOKEN/987654",
     'c.json: notifications[0].url: is not a valid URL (its host has a [ without its ], or a ] without its [), got "tgram://[...9:A...N/9...4"'),
    ("tgram://123456789:AAHsecretTOKEN/${CHAT-ID}",
     'c.json: notifications[0].url: ${CHAT-ID} is not an environment variable name, got "tgram://1...9:A...N/${...}"'),
    ("tgram://123456789:AAHsecretTOKEN/987654 ",
     'c.json: notifications[0].url: must not contain spaces or control characters, got "tgram://1...9:A...N/9... "'),
    ("123456789:AAHsecretTOKEN/987654",
     'c.json: notifications[0].url: needs a scheme (http://, https://, or an apprise one such as mailto://), '
     'got "1...9:A...N/9...4"'),
])
def test_a_channel_url_refused_is_shown_with_its_written_password_as_stars_and_no_token(url: str, message: str) -> None:
    # The error showed the URL as written, password and all, where a site's URL refused shows it as `***`.
    with pytest.raises(ConfigError) as raised:
        parsed(notifications=[{"url": url}])
    assert str(raised.value) == message


def test_a_sites_list_refused_is_shown_with_its_passwords_as_stars() -> None:
    with pytest.raises(ConfigError) as raised:
        parsed(maintenance=[{"sites": ["http://ops:s3cret@a.test/", 7], "weekly": "sun 03:00-04:00"}])
    assert str(raised.value) == \
        'c.json: maintenance[0].sites: must be a non-empty list of site URLs, got ["http://ops:***@a.test/", 7]'


def test_a_channel_site_that_is_none_of_the_websites_is_a_warning() -> None:
    _, _, warnings = parsed(notifications=[{"url": "http://h/", "sites": ["http://b.test/"], "colour": 1}])
    assert warnings == ("c.json: notifications[0]: unknown key(s) ignored: colour",
                        "c.json: notifications[0].sites: http://b.test/ is none of the websites")


def test_a_site_written_with_its_password_is_that_site_and_the_password_is_never_shown() -> None:
    # Sites are keyed by their URL with the password as `***`: written as in `websites`, the site matched nothing
    # (its transitions silently not delivered) and the warning and --check showed the password.
    config = parse_config(json.dumps({"websites": [{"URL": "http://ops:s3cret@a.test/"}], "notifications": [
        {"url": "http://h/", "sites": ["http://ops:s3cret@a.test/"]}],
        "maintenance": [{"sites": ["http://ops:s3cret@b.test/"], "start": "2026-12-01T02:00Z",
                         "end": "2026-12-01T04:00Z"}]}), "c.json")
    assert config.notifications[0].sites == frozenset({"http://ops:***@a.test/"}) == config.keys
    assert config.warnings == ("c.json: maintenance[0].sites: http://ops:***@b.test/ is none of the websites",)
    assert "s3cret" not in json.dumps(config.effective())


def test_a_site_is_named_as_site_names_it_by_its_key_or_any_spelling_of_its_url() -> None:
    # Matched as written only, `HTTP://A.test:80` (or `http://a.test`) was none of the websites and the URL of a
    # named site was not that site: their transitions were never delivered, or never held by the window.
    config = parse_config(json.dumps({
        "websites": [{"URL": "http://a.test/"}, {"URL": "https://shop.test/health", "name": "shop"}],
        "notifications": [{"url": "http://h/", "sites": ["HTTP://A.test:80", "https://shop.test/health"]}],
        "maintenance": [{"sites": ["shop", "http://a.test"], "start": "2026-12-01T02:00Z", "end": "2026-12-01T04:00Z"}],
    }), "c.json")
    assert config.notifications[0].sites == frozenset({"http://a.test/", "shop"}) == config.maintenance[0].sites
    assert config.warnings == ()


def test_environment_variables_are_taken_at_start_and_their_values_are_the_secrets() -> None:
    url, secrets = expand_url("mailto://user:${PW}@smtp.example.com?to=${TO}", {"PW": "p@ss/w0rd", "TO": "a@b.c"})
    # In the user information a value goes in percent-encoded: as is, its @ and / ended the user information
    # early (the host was "ss", the password "p"), and every delivery failed naming a piece of the password.
    assert url == "mailto://user:p%40ss%2Fw0rd@smtp.example.com?to=a@b.c"
    assert set(secrets.values) == {"p@ss/w0rd", "a@b.c"}
    with pytest.raises(KeyError, match="PW"):
        expand_url("mailto://user:${PW}@smtp.example.com", {})
    _, literal = expand_url("https://bot:hunter2@hooks.example.com/x", {})
    assert literal.values == ("hunter2",)
    assert secrets.redact("POST to https://bot:p%40ss%2Fw0rd@h failed: p@ss/w0rd") == \
        "POST to https://bot:***@h failed: ***"


@pytest.mark.parametrize(("url", "message"), [
    # An empty password went out as `user:@host` (a login refused, or worse, accepted), an empty token as a
    # path that is the hook's parent: each a delivery failing for ever, or to the wrong place.
    ("mailto://user:${PW}@smtp.example.com", "environment variable PW is set but empty"),
    ("mailto://${CREDENTIALS}@smtp.example.com", "environment variable CREDENTIALS is set but empty"),
    ("https://hooks.example.com/services/${TOKEN}", "environment variable TOKEN is set but empty"),
    ("https://hooks.example.com/x?key=${TOKEN}", "environment variable TOKEN is set but empty"),
    ("https://hooks.example.com/${UNSET}", "environment variable UNSET is not set"),
])
def test_a_variable_set_but_empty_is_refused_wherever_the_url_holds_it(url: str, message: str) -> None:
    with pytest.raises(MissingVariable) as missing:
        expand_url(url, {"PW": "", "CREDENTIALS": "", "TOKEN": ""})
    assert str(missing.value) == message


def test_check_shows_a_literal_password_masked_and_a_variable_as_written() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": SITE}], "notifications": [
        {"url": "https://bot:hunter2@hooks.example.com/x", "name": "ops"},
        {"url": "mailto://u:${PW}@smtp.example.com"}]}))
    text = json.dumps(config.effective())
    assert "hunter2" not in text and "https://bot:***@hooks.example.com/x" in text and "${PW}" in text


def test_an_apprise_url_is_shown_by_apprise_and_without_it_with_each_part_hidden_but_its_names() -> None:
    # Shown as written but for a password: the tokens of `slack://A/B/C` were in --check's output. An e-mail URL's
    # login and server stay shown, as apprise and the channel's default name show them.
    config = parse_config(json.dumps({"websites": [{"URL": SITE}], "notifications": [
        {"url": "slack://T1234ABCD/B5678EFGH/abcdefSECRETxyz/#ops"},
        {"url": "tgram://${TG_TOKEN}/987654?silent=yes"},
        {"url": "mailto://user:${PW}@smtp.example.com?to=oncall@example.com&pass=hunter2"}]}))
    without_apprise = [channel["url"] for channel in config.effective()["notifications"]]
    assert without_apprise == ["slack://T...D/B...H/a...z/#o...s", "tgram://${TG_TOKEN}/9...4?silent=y...s",
                               "mailto://user:${PW}@smtp.example.com?to=o...l@e...m&pass=h...2"]
    shown = [channel["url"] for channel in config.effective(lambda url: f"by apprise: {url[:5]}")["notifications"]]
    assert shown == ["by apprise: slack", *without_apprise[1:]]  # a `${NAME}` is shown as written, never apprise's


def moment(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_maintenance_windows_once_and_weekly_across_midnight() -> None:
    _, (once, weekly), _ = parsed(maintenance=[
        {"sites": [SITE], "start": "2026-12-01T02:00Z", "end": "2026-12-01T04:00Z"},
        {"weekly": "sat,sun 23:00-01:00"}])
    assert once.covers(SITE, moment("2026-12-01T02:00")) and not once.covers(SITE, moment("2026-12-01T04:00"))
    assert not once.covers("http://b.test/", moment("2026-12-01T03:00"))
    # 2026-12-05 is a Saturday: Saturday 23:00 to Sunday 01:00, Sunday 23:00 to Monday 01:00.
    assert weekly.covers("http://b.test/", moment("2026-12-05T23:30"))
    assert weekly.covers(SITE, moment("2026-12-06T00:59:59"))
    assert weekly.covers(SITE, moment("2026-12-07T00:30"))
    assert not weekly.covers(SITE, moment("2026-12-07T01:00")) and not weekly.covers(SITE, moment("2026-12-05T00:30"))
    assert in_maintenance((once, weekly), SITE, moment("2026-12-01T03:00"))
    assert not in_maintenance((once, weekly), SITE, moment("2026-12-02T03:00"))


def test_maintenance_ends_when_the_last_of_the_windows_that_follow_on_ends() -> None:
    _, windows, _ = parsed(maintenance=[{"start": "2026-11-29T02:00Z", "end": "2026-11-29T04:00Z"},
                                        {"weekly": "sun 04:00-05:00"}, {"weekly": "sat 23:00-01:00"}])
    # 2026-11-29 is a Sunday.
    assert maintenance_until(windows, SITE, moment("2026-11-29T03:00")) == moment("2026-11-29T05:00")
    assert maintenance_until(windows, SITE, moment("2026-11-28T23:30")) == moment("2026-11-29T01:00")
    assert maintenance_until(windows, SITE, moment("2026-11-29T00:30")) == moment("2026-11-29T01:00")
    assert maintenance_until(windows, SITE, moment("2026-11-29T05:00")) is None


@pytest.mark.parametrize(("maintenance", "message"), [
    ([{"start": "2026-12-01"}],
     'c.json: maintenance[0]: needs "start" and "end" (ISO dates, UTC unless a zone is given), or "weekly", '
     'got {"start": "2026-12-01"}'),
    ([{"start": "2026-12-02", "end": "2026-12-01"}],
     'c.json: maintenance[0].end: must be after start, got "2026-12-01"'),
    ([{"start": "tomorrow", "end": "2026-12-01"}],
     'c.json: maintenance[0].start: must be an ISO date such as 2026-12-01T02:00Z, got "tomorrow"'),
    ([{"weekly": "weekends 02:00-04:00"}],
     'c.json: maintenance[0].weekly: must be days and a UTC time range such as "sat,sun 02:00-04:00" or '
     '"mon-fri 22:00-06:00", got "weekends 02:00-04:00"'),
    ([{"weekly": "mon 02:00-02:00"}],
     'c.json: maintenance[0].weekly: must not start and end at the same time, got "mon 02:00-02:00"'),
])
def test_each_maintenance_mistake_is_one_line_naming_the_entry(maintenance: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parsed(maintenance=maintenance)
    assert str(raised.value) == message


def test_the_effective_config_with_notifications_is_itself_a_valid_config() -> None:
    text = json.dumps({"websites": [{"URL": SITE}], "notifications": [{"url": "http://h/", "remindEvery": 600}],
                       "maintenance": [{"weekly": "mon-fri 22:00-06:00"},
                                       {"start": "2026-12-01", "end": "2026-12-02"}]})
    effective = parse_config(text).effective()
    assert parse_config(json.dumps(effective)).effective() == effective


def test_a_value_in_the_user_information_is_percent_encoded_and_the_rest_of_the_url_is_left_as_given() -> None:
    url, secrets = expand_url("https://${USER}:${PW}@hooks.example.com/${PATH}?t=${PW}",
                              {"USER": "ops@example.com", "PW": "a:b/c?d#e%f@g", "PATH": "T0/T1"})
    assert url == "https://ops%40example.com:a%3Ab%2Fc%3Fd%23e%25f%40g@hooks.example.com/T0/T1?t=a:b/c?d#e%f@g"
    assert set(secrets.values) == {"ops@example.com", "a:b/c?d#e%f@g", "T0/T1"}
    parts = urlsplit(url)
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == ("ops@example.com", "a:b/c?d#e%f@g")
    # No colon written: the value is user and password.
    url, secrets = expand_url("https://${CREDENTIALS}@h/", {"CREDENTIALS": "ops:p@ss"})
    assert (url, secrets.redact(f"{url} ops:p@ss")) == ("https://ops:p%40ss@h/", "https://***@h/ ***")
    assert expand_url("slack://${TOKENS}/#ops", {"TOKENS": "A/B/C"})[0] == "slack://A/B/C/#ops"  # no user information

