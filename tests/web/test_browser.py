"""The status page in a real browser (Debian's Chromium driven by Playwright) against a real monitor's database:
rows and states, a site going down shown live without a reload, dark and light mode, and the README's
screenshot (written to docs/status-page.png when UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.processes import App
from monitoringapp.domain.events import Probe
from monitoringapp.domain.sites import site_id
from monitoringapp.store.sqlite.writer import SqliteEventLog
from tests.web.live import LiveWeb

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         # Chromium still looked up update.googleapis.com and accounts.google.com (seen with strace, 36 queries a test
         # to the machine's DNS server): every name but the loopback's is "not found" without asking anyone.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no browser: apt-get install -y chromium (CI's .ci/run installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (a dev dependency)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=30_000)
        yield launched
        launched.close()


def test_the_page_shows_every_site_and_a_site_going_down_changes_it_live_without_a_reload(
        browser: Any, live: LiveWeb, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1360, "height": 420})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live.url + "/", timeout=15_000)
    rows = page.locator("#sites tbody tr")
    assert rows.count() == 4
    health = page.locator(f"#site-{live.key('health')}")
    refused = page.locator(f"#site-{live.key('refused')}")
    # "No data" until the monitor's first probes are committed (its history ends an hour ago), then up.
    health.locator(".label").filter(has_text="Up").wait_for(timeout=15_000)
    # The refused site alerts once its first checks fail (a 3 s window), and moves to the top, live.
    refused.locator(".label").filter(has_text="Alerting").wait_for(timeout=15_000)
    assert rows.first.get_attribute("id") == f"site-{live.key('refused')}"
    assert page.locator("#live").get_attribute("data-state") == "on"
    headline = page.locator("#headline")
    headline.filter(has_text="1 of 4 sites in trouble").wait_for(timeout=15_000)
    # The hostile URL is text on the page, not markup: no script of it, no dialog.
    assert "?q=<script>alert(1)</script>" in page.inner_text("#sites")
    assert page.locator("script").count() == 1 and dialogs == []
    assert "api:***@127.0.0.1" in page.inner_text("#sites") and "hunter2" not in page.content()
    assert page.locator(f"#site-{live.key('shop')} rect.bar").count() == 90

    page.evaluate("window.__notReloaded = true")
    live.server.healthy = False
    health.locator(".label").filter(has_text="Alerting").wait_for(timeout=15_000)
    assert health.locator(".shape").inner_text() == "▲"
    assert headline.inner_text() == "2 of 4 sites in trouble", "the heading follows the rows, live"
    assert page.evaluate("window.__notReloaded") is True, "changed in place, not by a reload"
    top_two = {rows.nth(0).get_attribute("id"), rows.nth(1).get_attribute("id")}
    assert top_two == {f"site-{live.key('refused')}", f"site-{live.key('health')}"}
    live.server.healthy = True
    health.locator(".label").filter(has_text="Up").wait_for(timeout=15_000)
    assert errors == [], "no console error (a CSP violation would be one)"

    # A day with an outage says so on hover (its title) and on keyboard focus (under the strip).
    bad_day = page.locator(f"#site-{live.key('health')} rect.bar").filter(
        has=page.locator("title", has_text="outage")).first
    bad_day.focus()
    detail = page.locator(f"#site-{live.key('health')} .detail").inner_text()
    assert "outage" in detail and "(1h30m)" in detail
    shot = tmp_path / "status-page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / "status-page.png")
    page.close()


def test_the_page_follows_the_systems_dark_or_light_mode(browser: Any, live: LiveWeb) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        page = browser.new_page(color_scheme=scheme)
        page.goto(live.url + "/", timeout=15_000)
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.close()
    assert colours == {"light": "rgb(255, 255, 255)", "dark": "rgb(13, 17, 23)"}


def test_a_site_page_draws_its_percentiles(browser: Any, live: LiveWeb) -> None:
    page = browser.new_page()
    page.goto(f"{live.url}/site/{live.key('shop')}?range=90d", timeout=15_000)
    assert page.locator("polyline.p50").count() >= 1
    assert "approximate" in page.inner_text("main")
    page.close()


def test_head_requests_for_the_live_events_leave_the_page_live(browser: Any, live: LiveWeb) -> None:
    # An uptime checker's HEAD gets the stream's headers and no body: each took one of the 8 places for good, and
    # the page then stayed "off" (its /events refused with a 503, for as long as -w ran).
    for _ in range(9):
        request = urllib.request.Request(live.url + "/events", method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    page = browser.new_page()
    refused: list[int] = []
    page.on("response", lambda response: refused.append(response.status) if response.status >= 500 else None)
    page.goto(live.url + "/", timeout=15_000)
    page.locator("#live[data-state=on]").wait_for(timeout=15_000)
    assert refused == []
    page.close()


def test_a_page_refused_its_live_events_while_every_place_is_taken_asks_again_and_goes_live(
        browser: Any, live: LiveWeb) -> None:
    # An EventSource answered with a 503 is closed for good (the browser retries a lost connection, not a refusal):
    # the page stayed "off", never updated, though a place came free seconds later.
    held: list[Any] = []

    def take_every_free_place() -> None:
        for _ in range(20):
            try:
                stream = urllib.request.urlopen(live.url + "/events", timeout=10)
            except urllib.error.HTTPError as refused:
                refused.close()
                assert refused.code == 503
                return
            held.append(stream)
            assert stream.readline().startswith(b"retry: ")

    try:
        page = browser.new_page()
        # Earlier tests' pages hold places until their streams' next keepalive, so one may come free between the
        # last place taken and the page's request: the places are taken again then (a few times at most).
        for _ in range(5):
            take_every_free_place()
            with page.expect_response(lambda response: response.url.endswith("/events"), timeout=15_000) as first:
                page.goto(live.url + "/", timeout=15_000)
            if first.value.status == 503:
                break
        assert first.value.status == 503
    finally:
        for stream in held:
            stream.close()
    # -w sees a place come free at that stream's next keepalive (15 s); the page asks again every 5 to 10 s.
    page.locator("#live[data-state=on]").wait_for(timeout=45_000)
    page.close()


def test_pages_opened_before_the_database_exists_say_so_and_show_themselves_once_it_does(
        browser: Any, tmp_path: Path) -> None:
    url = "http://shop.test/"
    config, database = tmp_path / "config.json", tmp_path / "later.db"
    config.write_text(json.dumps({"websites": [{"URL": url}]}))
    web = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
    try:
        _, line = web.wait_for_line(lambda text: text.startswith("serving "), timeout=20)
        base = line.split(" on ", 1)[1].split("/ ", 1)[0]
        site_page, status_page = browser.new_page(), browser.new_page()
        answer = site_page.goto(f"{base}/site/{site_id(url)}", timeout=15_000)
        assert answer is not None and answer.status == 503
        assert site_page.inner_text("p.notice") == f"waiting for {database} to be created by a monitor (-m)"
        status_page.goto(base, timeout=15_000)
        assert "waiting for" in status_page.inner_text("main")
        writer = SqliteEventLog(database, flush_interval=0.01)
        writer.append_probe(Probe(time.time(), url, True, 200, 2.0))
        writer.close()
        # Nobody reloads them: each comes back by itself (2 s and 5 s), the site's chart and the site up.
        site_page.wait_for_selector("svg.chart", timeout=10_000)
        status_page.locator("p.notice").wait_for(state="detached", timeout=12_000)
        assert "Up" in status_page.inner_text("#sites")
        site_page.close()
        status_page.close()
    finally:
        web.stop(signal.SIGINT)


def test_an_open_page_shows_a_site_a_reloaded_config_adds_and_drops_one_it_removes(
        browser: Any, tmp_path: Path) -> None:
    shop, added = "http://shop.test/", "http://added.test/"
    config, database = tmp_path / "config.json", tmp_path / "m.db"
    writer = SqliteEventLog(database, flush_interval=0.01)
    writer.append_probe(Probe(time.time(), shop, True, 200, 2.0))
    writer.append_probe(Probe(time.time(), added, False, 503, 2.0))
    writer.close()
    config.write_text(json.dumps({"websites": [{"URL": shop}]}))
    web = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
    try:
        _, line = web.wait_for_line(lambda text: text.startswith("serving "), timeout=20)
        base = line.split(" on ", 1)[1].split("/ ", 1)[0]
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(base, timeout=15_000)
        page.locator(f"#site-{site_id(shop)} .label").filter(has_text="Up").wait_for(timeout=15_000)
        page.locator('#live[data-state="on"]').wait_for(timeout=15_000)  # the live events stream is open
        config.write_text(json.dumps({"websites": [{"URL": added}]}))
        web.process.send_signal(signal.SIGHUP)
        # Nobody reloads it: the page loads itself again on the live event, with the new row and its stored past.
        page.locator(f"#site-{site_id(added)} .label").filter(has_text="Down").wait_for(timeout=15_000)
        page.locator(f"#site-{site_id(shop)}").wait_for(state="detached", timeout=15_000)
        assert page.locator("#sites tbody tr").count() == 1
        assert page.inner_text("#headline") == "The site is in trouble"
        assert errors == [], "no console error (a CSP violation would be one)"
        page.close()
    finally:
        web.stop(signal.SIGINT)
