"""The drawings kept between pages are drawn again when what they show changes."""

from __future__ import annotations

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.sites import site_id
from monitoringapp.operators.rollup import DAY, Rollup
from monitoringapp.web.board import SiteSpec, StatusBoard
from monitoringapp.web.render import Drawings, percent, uptime_class

SITE = "http://a.test/"
NOW = 1_796_040_000.0 + 3600


def test_a_strip_shows_a_new_outage_a_late_probe_and_todays_latest_figures() -> None:
    board = StatusBoard([SiteSpec(SITE, 60.0)])
    board.seed([], [], [], [])
    board.add_probes([Probe(NOW - DAY, SITE, True, 200, 1.0), Probe(NOW - 60, SITE, True, 200, 1.0)])
    drawings = Drawings(board)
    key = site_id(SITE)
    first = drawings.strip(board.status(key, NOW), NOW)  # type: ignore[arg-type]
    assert first.count("<rect") == 90 and "(1 of 1 checks)" in first
    board.add_probes([Probe(NOW, SITE, False, 503, 1.0)])
    assert "50.00% up (1 of 2 checks)" in drawings.strip(board.status(key, NOW), NOW)  # type: ignore[arg-type]
    board.add_transitions([AlertTransition(NOW - DAY, SITE, TransitionKind.ALERT, 0.5, start=NOW - DAY)])
    assert "outage" in drawings.strip(board.status(key, NOW), NOW)  # type: ignore[arg-type]
    board.add_probes([Probe(NOW - 2 * DAY, SITE, False, 503, 1.0)])  # late, for a past day
    assert "0.00% up (0 of 1 checks)" in drawings.strip(board.status(key, NOW), NOW)  # type: ignore[arg-type]
    tomorrow = NOW + DAY
    assert drawings.strip(board.status(key, tomorrow), tomorrow).count("<rect") == 90  # type: ignore[arg-type]


def test_a_site_removed_and_added_back_by_reloads_is_drawn_from_the_past_it_is_seeded_with() -> None:
    board = StatusBoard([SiteSpec(SITE, 60.0)])
    board.seed([], [], [], [])
    board.add_probes([Probe(NOW - DAY, SITE, True, 200, 1.0)])
    drawings = Drawings(board)
    key = site_id(SITE)
    assert "(1 of 1 checks)" in drawings.strip(board.status(key, NOW), NOW)  # type: ignore[arg-type]
    board.reshape([])
    board.reshape([SiteSpec(SITE, 60.0)])
    yesterday = NOW - DAY - (NOW - DAY) % DAY
    board.seed([Rollup(SITE, yesterday, DAY, checks=2, available=1)], [], [], [])
    assert "50.00% up (1 of 2 checks)" in drawings.strip(board.status(key, NOW), NOW)  # type: ignore[arg-type]


def test_a_percentage_is_never_rounded_up_to_100() -> None:
    assert (percent(1.0), percent(0.99999), percent(0.5), percent(None)) == ("100%", "99.99%", "50.00%", "\N{EN DASH}")


def test_an_uptime_under_a_bars_colour_bound_never_reads_as_the_bound() -> None:
    # 98.996 % is coloured as under 99 % (u-mid): "99.00%" in its title would contradict the colour.
    assert (percent(0.98996), uptime_class(0.98996)) == ("98.99%", "u-mid")
    assert (percent(0.99896), percent(0.94996), percent(0.96996)) == ("99.89%", "94.99%", "97.00%")
