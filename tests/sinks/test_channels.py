"""The channels with real servers on 127.0.0.1: our webhook (body, Idempotency-Key, what counts as delivered),
apprise's json:// to the same receiver and its mailto:// to a real SMTP server, and what a failure says."""

from __future__ import annotations

import ssl
import sys
import threading
from collections.abc import Iterator

import pytest
import trustme

from bench.webhook_receiver import WebhookReceiver
from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.domain.notices import reminder_notice, transition_notice
from monitoringapp.domain.notifications import expand_url
from monitoringapp.sinks.apprise_channel import shown_by_apprise
from monitoringapp.sinks.channels import DeliveryFailed, open_channel
from monitoringapp.sinks.console import transition_line
from monitoringapp.sinks.notice_text import message_title, notice_line
from tests.local_http import local_server, refused_port
from tests.local_smtp import mail_server

T0 = 1_795_000_000.0
SITE = "https://shop.example.com/"
DOWN = AlertTransition(T0, SITE, TransitionKind.ALERT, 2 / 3, T0)
BACK = AlertTransition(T0 + 130, SITE, TransitionKind.RECOVERY, 0.8, T0, T0 + 130)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def test_the_webhook_posts_one_versioned_json_object_per_notice_with_its_id_as_idempotency_key(
        receiver: WebhookReceiver) -> None:
    hook = open_channel(receiver.url("/hooks/monitor"), webhook=True)
    hook.send([transition_notice(DOWN), transition_notice(BACK)])
    hook.close()
    assert [(item.path, item.key) for item in receiver.received] == [("/hooks/monitor", DOWN.id),
                                                                     ("/hooks/monitor", BACK.id)]
    assert receiver.received[1].body == {
        "version": 1, "id": BACK.id, "kind": "recovery", "site": SITE, "availability": 0.8,
        "time": "2026-11-18T11:08:50.000Z", "start": "2026-11-18T11:06:40.000Z", "end": "2026-11-18T11:08:50.000Z",
        "location": "local", "detail": None}


def test_a_webhook_answer_other_than_2xx_or_no_server_is_a_failure_that_names_no_url(
        receiver: WebhookReceiver) -> None:
    receiver.status = 500
    with pytest.raises(DeliveryFailed, match=r"^HTTP 500$"):
        open_channel(receiver.url(), webhook=True).send([transition_notice(DOWN)])
    receiver.status = 302  # a redirect is not followed: a POST redirected is not delivered
    with pytest.raises(DeliveryFailed, match=r"^HTTP 302$"):
        open_channel(receiver.url(), webhook=True).send([transition_notice(DOWN)])
    dead = f"http://127.0.0.1:{refused_port()}/hook/s3cret-token"
    with pytest.raises(DeliveryFailed) as failed:
        open_channel(dead, webhook=True).send([transition_notice(DOWN)])
    assert str(failed.value) == "cannot connect: Connection refused"


def test_a_webhook_refused_by_tls_says_the_verifiers_reason_and_names_no_url(receiver: WebhookReceiver) -> None:
    # Caught as a connection error, it said "cannot connect: connection failed": nothing to go on.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)  # a CA this machine does not trust
    with local_server(tls=context) as server, pytest.raises(DeliveryFailed) as untrusted:
        open_channel(server.url("/echo?token=s3cret"), webhook=True).send([transition_notice(DOWN)])
    with pytest.raises(DeliveryFailed) as plain:  # https:// to a server that speaks plain HTTP
        open_channel(f"https://127.0.0.1:{receiver.port}/hook", webhook=True).send([transition_notice(DOWN)])
    assert (str(untrusted.value), str(plain.value)) == (
        "TLS: certificate verify failed: unable to get local issuer certificate", "TLS: wrong version number")


def test_apprise_json_to_the_receiver_sends_the_seeds_words() -> None:
    receiver = WebhookReceiver()
    try:
        channel = open_channel(f"json://127.0.0.1:{receiver.port}/apprise", webhook=False)
        channel.send([transition_notice(DOWN), transition_notice(BACK)])
        channel.close()
        (item,) = receiver.received
        assert item.body["title"] == "monitoringApp: 1 alert, 1 recovery"
        assert item.body["message"] == f"{transition_line(DOWN)}\n{transition_line(BACK)}"
        assert transition_line(DOWN) == ("Website https://shop.example.com/ is down. availability=66.6%, "
                                         "time=2026-11-18T11:06:40.000Z")
        receiver.stop()
        with pytest.raises(DeliveryFailed):
            channel.send([transition_notice(DOWN)])
    finally:
        receiver.stop()


def test_apprise_mailto_delivers_to_a_real_smtp_server_with_the_password() -> None:
    with mail_server("monitor", "p4ss") as server:
        url = (f"mailto://monitor:p4ss@127.0.0.1:{server.port}?to=oncall@example.com&from=monitor@example.com"
               "&mode=insecure")
        channel = open_channel(url, webhook=False)
        reminder = reminder_notice(transition_notice(DOWN), T0 + 3600)
        channel.send([reminder])
        (mail,) = server.messages
        assert mail["To"] == "oncall@example.com"
        assert mail["Subject"] == f"monitoringApp: {SITE} is still down"
        body = mail.get_body(("plain",))
        assert body is not None and body.get_content().strip() == notice_line(reminder) == (
            "Website https://shop.example.com/ is still down. availability=66.6%, time=2026-11-18T12:06:40.000Z, "
            "down since 2026-11-18T11:06:40.000Z (1h00m)")
        assert message_title([reminder]) == mail["Subject"]
    dead = f"mailto://monitor:s3cr3t@127.0.0.1:{refused_port()}?to=oncall@example.com&from=m@example.com&mode=insecure"
    with pytest.raises(DeliveryFailed) as failed:
        open_channel(dead, webhook=False).send([reminder])
    assert "s3cr3t" not in str(failed.value)


def test_a_failed_mail_says_why_the_server_refused_it_not_only_that_it_failed() -> None:
    # apprise warns `Connection error while submitting email to "127.0.0.1"` for a refused login as for a server
    # that is not there, and says which only in a debug line: the operator was told "connection error" for a
    # wrong password.
    query = "?to=oncall@example.com&from=monitor@example.com&mode=insecure"
    with mail_server("monitor", "p4ss") as server:
        with pytest.raises(DeliveryFailed) as refused_login:
            open_channel(f"mailto://monitor:wrong@127.0.0.1:{server.port}{query}", webhook=False).send(
                [transition_notice(DOWN)])
        assert server.messages == []
    with pytest.raises(DeliveryFailed) as nobody_there:
        open_channel(f"mailto://monitor:wrong@127.0.0.1:{refused_port()}{query}", webhook=False).send(
            [transition_notice(DOWN)])
    assert str(refused_login.value) == (
        'Connection error while submitting email to "127.0.0.1": 535 5.7.8 Authentication credentials invalid')
    assert str(nobody_there.value) == 'Connection error while submitting email to "127.0.0.1": Connection refused'


def test_a_mailed_burst_is_one_line_per_notice_in_plain_text_a_detail_with_markup_as_written() -> None:
    # Sent without a body format, apprise took the text for HTML: the mail's HTML part was the raw lines (one
    # paragraph in a mail reader, a detail's "<html>" read as a tag) and its plain part those lines joined by spaces.
    tagged = AlertTransition(T0 + 1, "https://api.example.com/", TransitionKind.ALERT, 0.0, T0 + 1,
                             detail='bodyContains "<html>" not found')
    with mail_server("monitor", "p4ss") as server:
        url = (f"mailto://monitor:p4ss@127.0.0.1:{server.port}?to=oncall@example.com&from=monitor@example.com"
               "&mode=insecure")
        open_channel(url, webhook=False).send([transition_notice(DOWN), transition_notice(tagged)])
        (mail,) = server.messages
        assert mail.get_content_type() == "text/plain"
        assert mail.get_content().strip().splitlines() == [transition_line(DOWN), transition_line(tagged)]
        assert transition_line(tagged).endswith('reason: bodyContains "<html>" not found')


@pytest.mark.parametrize(("user_information", "environment", "shown"), [
    # The value went into the URL as is: apprise read "ss" as the host, every delivery failed with
    # `Connection error while submitting email to "ss"` (a piece of the password on stderr and in the state file).
    ("monitor:${SMTP_PASSWORD}", {"SMTP_PASSWORD": "p@ss/w0:rd"}, "monitor:***"),
    # `${CREDENTIALS}@host` kept the value's colons: apprise read the password up to its own colon ("p%40ss%2Fw0"),
    # and every delivery failed, said as a connection error.
    ("${CREDENTIALS}", {"CREDENTIALS": "monitor:p@ss/w0:rd"}, "***"),
], ids=["password", "user-and-password"])
def test_a_login_from_the_environment_whose_password_has_an_at_a_slash_and_a_colon_logs_in_to_the_smtp_server(
        user_information: str, environment: dict[str, str], shown: str) -> None:
    with mail_server("monitor", "p@ss/w0:rd") as server:
        query = "?to=oncall@example.com&from=monitor@example.com&mode=insecure"
        url, secrets = expand_url(f"mailto://{user_information}@127.0.0.1:{server.port}{query}", environment)
        open_channel(url, webhook=False).send([transition_notice(DOWN)])
        (mail,) = server.messages
        assert (mail["To"], mail["Subject"]) == ("oncall@example.com", f"monitoringApp: {SITE} is down")
        assert secrets.redact(url) == f"mailto://{shown}@127.0.0.1:{server.port}{query}"


def test_two_apprise_channels_failing_at_once_each_say_their_own_error() -> None:
    # apprise logs to one logger for all: each send took the last line logged by any thread meanwhile, so a json://
    # channel could fail with "... sending Form notification ..." (another channel's error, under its name).
    channels = {"json": open_channel(f"json://127.0.0.1:{refused_port()}/a", webhook=False),
                "form": open_channel(f"form://127.0.0.1:{refused_port()}/b", webhook=False)}
    errors: dict[str, set[str]] = {name: set() for name in channels}
    start = threading.Barrier(len(channels))

    def fail(name: str) -> None:
        start.wait(5)
        for _ in range(20):
            with pytest.raises(DeliveryFailed) as failed:
                channels[name].send([transition_notice(DOWN)])
            errors[name].add(str(failed.value))

    threads = [threading.Thread(target=fail, args=(name,)) for name in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == {
        "json": {"A Connection error occurred sending JSON notification to 127.0.0.1: Connection refused"},
        "form": {"A Connection error occurred sending Form notification to 127.0.0.1: Connection refused"}}


def test_apprise_refuses_a_url_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="apprise does not understand this URL"):
        open_channel("nosuchservice://x/y", webhook=False)


def test_an_apprise_url_is_shown_as_apprise_privacy_mode_shows_it_and_not_at_all_without_apprise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    telegram = shown_by_apprise("tgram://123456789:AAHsecretTOKEN/987654")
    assert telegram is not None and telegram.startswith("tgram://1...N/987654/?")
    pushover = shown_by_apprise("pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi")
    assert pushover is not None and pushover.startswith("pover://u...G@a...i/")
    mail = shown_by_apprise("mailtos://user:hunter2@smtp.example.com:465/oncall@example.com")
    assert mail is not None and mail.startswith("mailtos://user:****@smtp.example.com:465/oncall%40example.com?")
    assert shown_by_apprise("nosuchservice://x/y") is None
    monkeypatch.setitem(sys.modules, "apprise", None)  # apprise is optional: not installed, `import apprise` fails
    assert shown_by_apprise("tgram://123456789:AAHsecretTOKEN/987654") is None


def test_a_password_in_a_site_url_is_shown_as_stars_in_the_body_and_the_text(receiver: WebhookReceiver) -> None:
    down = AlertTransition(T0, "https://probe:hunter2@shop.example.com/", TransitionKind.ALERT, 0.5, T0)
    notice = transition_notice(down)
    open_channel(receiver.url(), webhook=True).send([notice])
    (item,) = receiver.received
    assert (item.key, item.body["site"]) == (down.id, "https://probe:***@shop.example.com/")
    assert notice_line(notice).startswith("Website https://probe:***@shop.example.com/ is down.")
