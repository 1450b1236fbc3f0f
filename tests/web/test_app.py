"""The web application through flask's test client, on a real log written by the real writer."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.sites import site_id
from monitoringapp.store import open_history_reader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.web import render
from monitoringapp.web.app import CSP, WebContext, create_app, publish_changes, publish_list_change
from monitoringapp.web.auth import Users
from monitoringapp.web.board import SiteListChange, SiteSpec, State, StatusBoard
from monitoringapp.web.events import Broadcaster
from monitoringapp.web.feed import BoardFeed
from monitoringapp.web.passwords import auth_line
from tests.web.history import DOWN, FLAKY, HOSTILE, NOW, SITES, UP, History


@pytest.fixture(scope="module")
def client(context: WebContext) -> FlaskClient:
    return create_app(context).test_client()


def test_the_status_page_lists_every_site_in_trouble_first_with_state_in_text_and_shape(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = re.findall(r'<tr id="site-(\w+)" class="site" data-id="\w+" data-rank="(\d)"', html)
    assert [key for key, _ in rows] == [site_id(DOWN), site_id(UP), site_id(FLAKY), site_id(HOSTILE)]
    assert [rank for _, rank in rows] == ["0", "3", "3", "3"]
    down_row = html[html.index(f'id="site-{site_id(DOWN)}"'):html.index(f'id="site-{site_id(UP)}"')]
    assert "▲" in down_row and ">Alerting<" in down_row and "since 2026-11-30 11:56 UTC (4m00s)" in down_row
    assert html.count('<rect class="bar ') == 4 * 90, "90 daily bars per site"
    assert '<h1 id="headline">1 of 4 sites in trouble</h1>' in html


def test_the_heading_never_counts_a_site_without_data_as_up(tmp_path: Path) -> None:
    # Before any monitor has written: every site has no data, so "All 2 sites up" would be false.
    log = open_history_reader(tmp_path / "none-yet.db")
    board = StatusBoard([SiteSpec(UP, 10.0), SiteSpec(DOWN, 10.0)])
    client = create_app(WebContext(board, log, clock=lambda: NOW)).test_client()
    assert '<h1 id="headline">0 of 2 sites up, 2 with no data</h1>' in client.get("/").get_data(as_text=True)
    board.seed([], [], [Probe(NOW - 5, UP, True, 200, 3.0)], [])
    assert '<h1 id="headline">1 of 2 sites up, 1 with no data</h1>' in client.get("/").get_data(as_text=True)
    board.add_probes([Probe(NOW - 4, DOWN, True, 200, 3.0)])
    assert '<h1 id="headline">All 2 sites up</h1>' in client.get("/").get_data(as_text=True)
    log.close()


def test_the_heading_of_one_site_says_the_site_and_a_charts_note_says_its_step_in_the_unit_it_is() -> None:
    # "All 1 site up", and the 90-day chart's note said "per 1440 minutes".
    assert [render.headline(states) for states in ([State.UP], [State.DOWN], [State.ALERTING], [State.NO_DATA])] == [
        "The site is up", "The site is in trouble", "The site is in trouble", "The site has no data yet"]
    assert [render.per_step(step) for step in (900.0, 2 * 3600.0, 6 * 3600.0, 86400.0, 60.0, 90.0)] == [
        "15 minutes", "2 hours", "6 hours", "day", "minute", "90 seconds"]


def test_a_day_bar_says_its_figures_and_outages(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    flaky = html[html.index(f'id="site-{site_id(FLAKY)}"'):]
    titles = re.findall(r"<title>(2026-11-2[789][^<]*)</title>", flaky)
    # Probes every 10 minutes from 2026-11-27T12:00, one in ten failing: a day holds 144, 14 or 15 failed.
    assert titles[:3] == ["2026-11-27: 90.28% up (65 of 72 checks)", "2026-11-28: 89.58% up (129 of 144 checks)",
                          "2026-11-29: 90.28% up (130 of 144 checks); outage 12:00 to 12:20 UTC (20m00s)"]


def test_a_hostile_url_is_shown_as_text_without_its_password(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "http://user:***@x.test/?q=&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "hunter2" not in html
    for path in ("/api/v1/sites", f"/site/{site_id(HOSTILE)}", "/metrics", "/api/v1/alerts?since=30d"):
        assert "hunter2" not in client.get(path).get_data(as_text=True), path


def test_every_response_has_a_strict_content_security_policy_and_the_page_loads_nothing_from_elsewhere(
        client: FlaskClient) -> None:
    for path in ("/", f"/site/{site_id(UP)}", "/api/v1/sites", "/static/style.css", "/nowhere"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == CSP, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "'unsafe-inline'" not in CSP and "default-src 'none'" in CSP
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html), "no asset from another origin"
    assert "<script>" not in html and " style=" not in html and "onclick" not in html, "nothing inline"
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


def test_the_pages_ask_for_their_script_and_style_by_their_content_so_an_upgrade_is_never_served_from_a_cache(
        client: FlaskClient) -> None:
    # A browser keeps /static/ files an hour: after an upgrade the new page ran last version's live.js and
    # style.css from its cache (unversioned, they were the same URLs).
    static = Path(__file__).resolve().parents[2] / "web" / "static"
    for path in ("/", f"/site/{site_id(UP)}"):
        html = client.get(path).get_data(as_text=True)
        assets = re.findall(r'(?:src|href)="/static/([^"?]+)\?v=([0-9a-f]+)"', html)
        assert {name for name, _ in assets} >= {"style.css", "favicon.svg"}, html[:600]
        assert len(assets) == html.count('"/static/'), "every asset versioned"
        for name, version in assets:
            assert version == hashlib.sha256((static / name).read_bytes()).hexdigest()[:12], name


def test_a_site_page_shows_percentile_bands_labelled_approximate_outcomes_and_alerts(client: FlaskClient) -> None:
    html = client.get(f"/site/{site_id(FLAKY)}?range=7d").get_data(as_text=True)
    assert 'class="line p50"' in html and 'class="line p90"' in html and 'class="line p99"' in html
    assert "approximate: each within ±2% of the exact value" in html
    assert "<td>timeout</td>" in html and "<td>200</td>" in html
    assert "2026-11-29 12:00 UTC" in html and "20m00s" in html
    assert client.get("/site/nosuchsite").status_code == 404
    assert client.get(f"/site/{site_id(UP)}?range=bogus").status_code == 200, "an unknown range shows 24h"


def test_the_api_gives_the_sites_with_state_and_uptime(client: FlaskClient) -> None:
    body = client.get("/api/v1/sites").get_json()
    by_url = {site["url"]: site for site in body["sites"]}
    assert by_url[DOWN]["state"] == "alerting" and by_url[UP]["state"] == "up"
    assert by_url[UP]["uptime"]["24h"] == 1.0
    assert 0.85 < by_url[FLAKY]["uptime"]["7d"] < 0.95
    one = client.get(f"/api/v1/sites/{site_id(UP)}").get_json()
    assert one["site"]["id"] == site_id(UP)


def test_the_api_gives_probes_rollups_and_alerts_for_a_range(client: FlaskClient, history: History) -> None:
    probes = client.get(f"/api/v1/sites/{site_id(UP)}/probes?since=30m&limit=5").get_json()
    assert probes["truncated"] is True and len(probes["probes"]) == 5
    assert probes["probes"][0]["status"] == 200
    rollups = client.get(f"/api/v1/sites/{site_id(FLAKY)}/rollups?since=3d&step=1d").get_json()
    assert sum(bucket["checks"] for bucket in rollups["buckets"]) == history.probes // 4
    assert rollups["approximate"]["relativeError"] == 0.02
    first = rollups["buckets"][0]["responseTimeMs"]
    assert first["min"] <= first["p50"] <= first["p90"] <= first["p99"] <= first["max"] * 1.02
    alerts = client.get("/api/v1/alerts?since=7d").get_json()["alerts"]
    assert [(a["site"], a["kind"]) for a in alerts] == [
        (site_id(FLAKY), "alert"), (site_id(FLAKY), "recovery"), (site_id(DOWN), "alert"), (site_id(UP), "certificate")]
    assert alerts[1]["durationSeconds"] == 1200.0
    assert (alerts[2]["detail"], alerts[3]["detail"], alerts[3]["durationSeconds"]) == (
        "status 503, expected 200-299", "expires in 6d00h", None)
    mine = client.get(f"/api/v1/alerts?since=7d&site={site_id(DOWN)}").get_json()["alerts"]
    assert [a["kind"] for a in mine] == ["alert"]
    assert client.get("/api/v1/alerts?since=7d").get_json()["truncated"] is False
    first_two = client.get("/api/v1/alerts?since=7d&limit=2").get_json()
    assert (first_two["truncated"], [a["id"] for a in first_two["alerts"]]) == (True, [a["id"] for a in alerts[:2]])


def test_an_alert_of_a_named_site_gives_its_url_not_its_name_again(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "m.db", flush_interval=60.0)
    log.append_transition(AlertTransition(NOW - 60, "shop", TransitionKind.ALERT, 0.5, start=NOW - 60))
    log.close()
    reader = open_history_reader(tmp_path / "m.db")
    board = StatusBoard([SiteSpec("shop", 10.0, "shop", "http://ops:hunter2@shop.test/")])
    assert BoardFeed(reader, board, NOW).poll(NOW).seeded
    client = create_app(WebContext(board, reader, clock=lambda: NOW)).test_client()
    [alert] = client.get("/api/v1/alerts").get_json()["alerts"]
    assert (alert["site"], alert["url"]) == ("shop", "http://ops:***@shop.test/")
    reader.close()


def test_rollups_over_a_range_of_years_get_a_step_that_fits_it(client: FlaskClient) -> None:
    # 56 years: too long for 200 weekly buckets (the longest default step), short enough for 5,000 of them.
    body = client.get(f"/api/v1/sites/{site_id(UP)}/rollups?since=1970-01-01").get_json()
    assert (body["since"], body["step"]) == ("1970-01-01T00:00:00.000Z", 7 * 86400.0)
    days = client.get(f"/api/v1/sites/{site_id(UP)}/rollups?since=4d&step=1d").get_json()["buckets"]
    assert sum(bucket["checks"] for bucket in body["buckets"]) == sum(bucket["checks"] for bucket in days)


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/v1/sites/{up}/probes?since=yesterday", "since"),
    ("/api/v1/sites/{up}/probes?until=2026-13-01", "until"),
    ("/api/v1/sites/{up}/probes?since=1h&until=2h", "since"),
    ("/api/v1/sites/{up}/probes?limit=0", "limit"),
    ("/api/v1/sites/{up}/probes?limit=-1", "limit"),
    ("/api/v1/sites/{up}/probes?limit=%C2%B2", "limit"),  # "²" is a digit to str.isdigit, not to int()
    ("/api/v1/alerts?limit=%C2%B2", "limit"),
    ("/api/v1/sites/{up}/rollups?step=30s", "step"),
    ("/api/v1/sites/{up}/rollups?step=1m&since=90d", "step"),
    ("/api/v1/sites/{up}/rollups?step=abc", "step"),
    ("/api/v1/alerts?since=99999999999d", None),
    ("/api/v1/alerts?since=9999-01-01", "since"),
    ("/api/v1/alerts?site=nope", "site"),
    ("/api/v1/sites/nope", "id"),
    # Taken as 1h: int() reads any script's digits.
    ("/api/v1/alerts?since=%EF%BC%91h", "since"),
    ("/api/v1/sites/{up}/rollups?step=%EF%BC%91h", "step"),
    # The first value silently won.
    ("/api/v1/alerts?since=1h&since=30d", "since"),
    ("/api/v1/alerts?limit=5&limit=10", "limit"),
    ("/api/v1/sites/{up}/rollups?step=1h&step=1d", "step"),
])
def test_a_bad_parameter_is_a_4xx_naming_it_never_a_500(client: FlaskClient, path: str,
                                                       parameter: str | None) -> None:
    response = client.get(path.format(up=site_id(UP)))
    if parameter is None:
        assert response.status_code == 200  # a huge age is "since the epoch"
        return
    assert response.status_code in (400, 404)
    assert response.get_json()["parameter"] == parameter
    assert response.get_json()["error"]


@pytest.mark.parametrize("query", ["since=30", "until=-7", "since=1.5"])
def test_a_time_without_a_unit_is_a_400_that_asks_for_one_as_the_command_line_does(client: FlaskClient,
                                                                                   query: str) -> None:
    # Read as seconds, `?since=30` meant as days gave the last half minute with a 200, as `-a --since 30` once did.
    response = client.get(f"/api/v1/sites/{site_id(UP)}/probes?{query}")
    name, text = query.split("=")
    number = text.removeprefix("-")
    assert (response.status_code, response.get_json()) == (400, {
        "error": f"{name}: {text!r} has no unit; say {number}d, {number}h, {number}m or {number}s",
        "parameter": name})


def test_a_date_of_the_right_form_that_names_no_day_is_a_400_that_says_so(client: FlaskClient) -> None:
    response = client.get(f"/api/v1/sites/{site_id(UP)}/probes?since=2025-02-29")  # 2025: no leap year
    assert (response.status_code, response.get_json()) == (400, {
        "error": "since: '2025-02-29' is no such date: day is out of range for month", "parameter": "since"})


@pytest.mark.parametrize("path", ["/site//{up}", "/api/v1//sites", "/static//style.css", "/api//v1/sites/{up}//probes",
                                  "/metrics", "/site/{up}", "/nowhere", "/api/v1/nowhere"])
def test_no_answer_names_the_host_the_client_says_it_asked(client: FlaskClient, path: str) -> None:
    # A doubled slash was a 308 to the URL made absolute from the Host header (Location: http://evil.test/site/...):
    # a redirect anywhere, for a cache before -w to keep, at the word of a header the client chose.
    response = client.get(path.format(up=site_id(UP)), headers={"Host": "evil.test"})
    assert response.status_code in (200, 404)
    assert "Location" not in response.headers
    assert "evil.test" not in response.get_data(as_text=True)


def test_the_openapi_description_is_served(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200 and b"/api/v1/sites/{id}/rollups" in response.data


def test_metrics_name_every_site_with_success_duration_availability_and_alerting(client: FlaskClient) -> None:
    text = client.get("/metrics").get_data(as_text=True)
    down, up = site_id(DOWN), site_id(UP)
    assert f'monitoringapp_site_info{{site="{down}",url="{DOWN}"}} 1.0' in text
    assert f'monitoringapp_probe_success{{site="{down}"}} 0.0' in text
    assert f'monitoringapp_probe_success{{site="{up}"}} 1.0' in text
    assert f'monitoringapp_alerting{{site="{down}"}} 1.0' in text
    assert f'monitoringapp_availability_ratio{{site="{up}",window="1h"}} 1.0' in text
    # DOWN failed its last 30 probes of 10 s: 5 minutes; 2 minutes of them are all the 2m window holds.
    assert f'monitoringapp_availability_ratio{{site="{down}",window="2m"}} 0.0' in text
    assert f'monitoringapp_probe_duration_seconds{{site="{up}"}} 0.02' in text
    assert "process_cpu_seconds_total" in text
    assert "# TYPE monitoringapp_probe_response_time_seconds histogram" in text


def test_live_events_send_what_changed_on_a_row_and_nothing_when_nothing_did(context: WebContext) -> None:
    live = WebContext(context.board, context.log, Broadcaster(keepalive=0.05), clock=context.clock)
    stream = live.broadcaster.open()
    assert stream is not None
    assert next(stream).startswith("retry: 2000")
    publish_changes(live, frozenset({site_id(DOWN), site_id(UP)}))
    message = next(stream)
    assert message.startswith("event: sites\ndata: ")
    body = json.loads(message.split("data: ", 1)[1])
    assert {site["id"]: (site["state"], site["rank"], site["shape"], site["sinceText"]) for site in body["sites"]} == {
        site_id(DOWN): ("alerting", 0, "▲", "since 2026-11-30 11:56 UTC"), site_id(UP): ("up", 3, "●", "")}
    assert body["headline"] == "1 of 4 sites in trouble", "the heading follows the rows"
    publish_changes(live, frozenset({site_id(DOWN)}))
    assert next(stream) == ": keepalive\n\n", "the same summary is not sent twice"
    stream.close()
    assert live.broadcaster.streams == 0


def test_a_page_opened_later_is_sent_each_sites_summary_again_even_one_an_earlier_page_had(
        context: WebContext) -> None:
    # The first page was told DOWN is alerting; a page opened since shows what it was drawn with, which may be
    # older or newer: what was sent before is no guide to what it shows.
    live = WebContext(context.board, context.log, Broadcaster(keepalive=0.05), clock=context.clock)
    client = create_app(live).test_client()
    first = live.broadcaster.open()
    assert first is not None and next(first).startswith("retry: ")
    publish_changes(live, frozenset({site_id(DOWN)}))
    assert '"state": "alerting"' in next(first)
    first.close()
    with client.get("/events", buffered=False) as later:
        stream = iter(later.response)
        assert next(stream).startswith(b"retry: ")
        publish_changes(live, frozenset({site_id(DOWN)}))
        message = json.loads(next(stream).split(b"data: ", 1)[1])
        assert [(site["id"], site["state"]) for site in message["sites"]] == [(site_id(DOWN), "alerting")]
        live.broadcaster.close()


def test_a_new_list_of_sites_tells_open_pages_to_load_again_only_when_their_rows_changed(
        context: WebContext) -> None:
    live = WebContext(context.board, context.log, Broadcaster(keepalive=0.05), clock=context.clock)
    stream = live.broadcaster.open()
    assert stream is not None and next(stream).startswith("retry: ")
    publish_changes(live, frozenset({site_id(DOWN)}))
    assert next(stream).startswith("event: sites\n")
    publish_list_change(live, SiteListChange(removed=(site_id(DOWN),)))
    assert next(stream) == ": keepalive\n\n", "no row a page drew changed: nothing to load again"
    assert site_id(DOWN) not in live.published, "a removed site's summary is forgotten: added back, it is sent again"
    publish_list_change(live, SiteListChange(added=("http://new.test/",), relisted=True))
    assert next(stream) == 'event: reload\ndata: {"at": "2026-11-30T12:00:00.000Z"}\n\n'
    # Its page loads again and opens a stream of its own: this one ends, so its place is free for that one (it was
    # held until its next keepalive, and with 5 pages open some were refused).
    assert next(stream, None) is None and live.broadcaster.streams == 0


def test_the_drawings_kept_between_pages_are_those_of_the_sites_shown_however_many_reloads_renamed_sites(
        tmp_path: Path) -> None:
    # A long run whose config renamed or replaced a few sites a minute: every id that left the page kept its 90-day
    # strip and sparkline (about 10 kB) for as long as -w ran.
    log = open_history_reader(tmp_path / "none-yet.db")
    shown = [SiteSpec(f"http://s{n}.test/", 10.0) for n in range(3)]
    board = StatusBoard(shown)
    board.seed([], [], [], [])
    context = WebContext(board, log, clock=lambda: NOW)
    client = create_app(context).test_client()
    for reload in range(30):
        assert client.get("/").status_code == 200
        shown = [*shown[1:], SiteSpec(f"http://new{reload}.test/", 10.0, name=f"new-{reload}")]
        publish_list_change(context, board.reshape(shown))
    assert client.get("/").status_code == 200
    assert len(context.drawings) == len(shown) == 3
    log.close()


def test_event_streams_are_bounded(context: WebContext) -> None:
    context.broadcaster.max_streams = 1
    try:
        first = context.broadcaster.open()
        assert first is not None and context.broadcaster.open() is None
        assert create_app(context).test_client().get("/events").status_code == 503
        first.close()
    finally:
        context.broadcaster.max_streams = 8


def test_a_stream_closed_before_its_first_message_gives_its_place_back(context: WebContext) -> None:
    # A HEAD request (an uptime checker's, a link preview's) gets the headers of /events and no body: werkzeug
    # closes the stream without reading it, and 8 of them took every place for good (live updates refused, 503).
    live = WebContext(context.board, context.log, Broadcaster(), clock=context.clock)
    client = create_app(live).test_client()
    for _ in range(live.broadcaster.max_streams + 1):
        with client.head("/events") as answered:  # the server closes the body it sent, as waitress does
            assert answered.status_code == 200
    assert live.broadcaster.streams == 0
    unread = live.broadcaster.open()
    assert unread is not None
    unread.close()
    assert live.broadcaster.streams == 0
    with client.get("/events", buffered=False) as opened:
        assert opened.status_code == 200 and next(iter(opened.response)).startswith(b"retry: ")


def test_with_users_every_route_needs_basic_auth(history: History, context: WebContext) -> None:
    users = Users({"alice": auth_line("alice", "s3cret").split(":", 1)[1]})
    guarded = WebContext(context.board, context.log, clock=context.clock, users=users)
    client = create_app(guarded).test_client()
    for path in ("/", "/metrics", "/api/v1/sites", "/events", "/static/style.css"):
        response = client.get(path)
        assert response.status_code == 401 and "Basic" in response.headers["WWW-Authenticate"], path

    def basic(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    assert client.get("/", headers=basic("alice", "wrong")).status_code == 401
    assert client.get("/", headers=basic("bob", "s3cret")).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get("/", headers=basic("alice", "s3cret")).status_code == 200
    assert client.get("/metrics", headers=basic("alice", "s3cret")).status_code == 200


def test_without_a_config_the_page_shows_every_site_the_log_holds(history: History) -> None:
    from tests.web.history import seeded_context

    context = seeded_context(history, sites=None)
    try:
        urls = {site["url"] for site in create_app(context).test_client().get("/api/v1/sites").get_json()["sites"]}
        assert urls == {DOWN, UP, FLAKY, "http://user:***@x.test/?q=<script>alert(1)</script>"}
        assert len(SITES) == 4
    finally:
        context.log.close()


def test_without_a_config_a_named_site_keeps_the_id_its_config_gives_it(tmp_path: Path) -> None:
    # The log's key of a named site is its name (a name never looks like a URL): /site/shop and the metrics'
    # labels stay the same whether -w is given the config or not.
    log = SqliteEventLog(tmp_path / "m.db", flush_interval=60.0)
    for host in ("shop", "Shop é", UP):
        log.append_probe(Probe(NOW - 5, host, True, 200, 3.0))
    log.close()
    reader = open_history_reader(tmp_path / "m.db")
    board = StatusBoard()
    assert BoardFeed(reader, board, NOW).poll(NOW).seeded
    assert {(status.id, status.title) for status in board.statuses(NOW)} == {
        (site_id("http://shop.test/", "shop"), "shop"), (site_id("http://shop.test/", "Shop é"), "Shop é"),
        (site_id(UP), UP)}
    reader.close()


def test_why_a_site_went_down_and_a_certificate_about_to_expire_are_on_the_pages_and_in_the_api(
        client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    up_row = html[html.index(f'id="site-{site_id(UP)}"'):html.index(f'id="site-{site_id(FLAKY)}"')]
    assert '<span class="certificate">certificate expires in 6d00h (2026-12-06 12:00 UTC)</span>' in up_row
    down_page = client.get(f"/site/{site_id(DOWN)}").get_data(as_text=True)
    assert "<th scope=\"col\">reason</th>" in down_page and "<td>status 503, expected 200-299</td>" in down_page
    up_page = client.get(f"/site/{site_id(UP)}").get_data(as_text=True)
    assert "<h3>Certificate warnings</h3>" in up_page and "<td>expires in 6d00h</td>" in up_page
    site = client.get(f"/api/v1/sites/{site_id(UP)}").get_json()["site"]
    assert site["certificate"] == {"notAfter": "2026-12-06T12:00:00.000Z", "warnedAt": "2026-11-30T11:59:00.000Z",
                                   "text": "certificate expires in 6d00h (2026-12-06 12:00 UTC)"}
    assert site["reason"] is None


def test_while_the_database_is_missing_a_page_is_an_html_503_that_reloads_itself_and_the_api_stays_json(
        tmp_path: Path) -> None:
    database = tmp_path / "later.db"
    reader = open_history_reader(database)
    board = StatusBoard([SiteSpec(UP, 10.0)])
    client = create_app(WebContext(board, reader, clock=lambda: NOW)).test_client()
    try:
        page = client.get(f"/site/{site_id(UP)}")
        assert (page.status_code, page.mimetype, page.headers["Retry-After"]) == (503, "text/html", "2")
        html = page.get_data(as_text=True)
        assert f'<p class="notice" role="alert">waiting for {database} to be created by a monitor (-m)</p>' in html
        assert '<meta http-equiv="refresh" content="2">' in html, "a browser ignores Retry-After"
        assert page.headers["Content-Security-Policy"] == CSP
        api = client.get(f"/api/v1/sites/{site_id(UP)}/rollups")
        assert (api.status_code, api.get_json()) == (
            503, {"error": f"waiting for {database} to be created by a monitor (-m)"})
        assert not database.exists(), "a reader never creates the file"
        writer = SqliteEventLog(database, flush_interval=60.0)
        writer.append_probe(Probe(NOW - 5, UP, True, 200, 2.0))
        writer.close()
        again = client.get(f"/site/{site_id(UP)}")
        assert again.status_code == 200 and "refresh" not in again.get_data(as_text=True)
    finally:
        reader.close()


@pytest.mark.parametrize("path", ["/", "/api/v1/sites", "/metrics", f"/site/{site_id(DOWN)}"])
def test_a_client_that_accepts_gzip_gets_the_same_body_compressed(client: FlaskClient, path: str) -> None:
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers, "a client that did not ask gets the body as is"
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    if path == "/metrics":  # the process's own figures (CPU, memory) move between two scrapes: its families do not
        def families(text: bytes) -> list[bytes]:
            return [line for line in text.splitlines() if line.startswith(b"# TYPE ")]
        assert families(body) == families(plain.get_data()) != []
    else:
        assert body == plain.get_data()
    assert len(packed.get_data()) < len(body) / 2
    assert int(packed.headers["Content-Length"]) == len(packed.get_data())


def test_what_gzip_would_not_help_goes_as_it_is(context: WebContext) -> None:
    live = WebContext(context.board, context.log, Broadcaster(keepalive=0.05), clock=context.clock)
    client = create_app(live).test_client()
    accepts = {"Accept-Encoding": "gzip"}
    with client.get("/events", headers=accepts, buffered=False) as stream:
        # Compressed, the live events would wait in the compressor instead of reaching the page as they come.
        assert "Content-Encoding" not in stream.headers
        assert next(iter(stream.response)).startswith(b"retry: ")
        live.broadcaster.close()
    small = client.get("/api/v1/sites/nope", headers=accepts)  # a short error: gzip's header would outweigh it
    assert small.status_code == 404 and "Content-Encoding" not in small.headers
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "gzip;q=0"}).headers
