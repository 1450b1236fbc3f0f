"""Output in a locale that cannot spell every site: a non-UTF-8 terminal (`LANG=en_US.ISO-8859-1`) or pipe
(`PYTHONIOENCODING=latin-1`) gets the characters it cannot show as `\\uXXXX` escapes, never a traceback."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from bench.processes import App
from monitoringapp.app.cli import main
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z
SHOP = "店舗"  # a site's name (its key) that Latin-1 cannot write


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Three failing probes of the site named SHOP, and the alert they raised."""
    db = tmp_path / "m.db"
    connection = open_for_writing(db)
    insert_events(connection, [Probe(T0 + i, SHOP, False, 503, 1.0) for i in range(3)],
                  [AlertTransition(T0, SHOP, TransitionKind.ALERT, 0.0, T0)])
    connection.close()
    return db


def test_replay_to_a_latin_1_stdout_escapes_what_it_cannot_write(
        database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What Python gives a process whose locale is Latin-1: a text stream that refuses what it cannot encode.
    written = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(written, encoding="latin-1", line_buffering=True))
    config = tmp_path / "config.json"
    config.write_text(f'{{"websites": [{{"URL": "http://127.0.0.1:9/", "name": "{SHOP}"}}], "alertWindow": 10}}',
                      encoding="utf-8")
    assert main(["--replay", "-c", str(config), "-db", str(database)]) == 0
    out = written.getvalue().decode("latin-1").splitlines()
    assert out[1] == (r"Website \u5e97\u8217 is down. availability=0.0%, time=2026-11-18T11:06:40.000Z, "
                      "reason: status 503")
    assert out[-1] == "replayed 3 probes of 1 sites: 1 alerts, 0 recoveries (stored: 1 alerts, 0 recoveries)"


@pytest.mark.slow  # a real process
def test_alerts_reader_in_a_latin_1_locale_shows_the_history_and_follows_on(database: Path) -> None:
    # -a printed its table on a thread of its own: the error killed that thread, and the reader hung on, mute.
    app = App("-a", "-db", str(database), env={"PYTHONIOENCODING": "latin-1"})
    try:
        app.wait_for_line(lambda line: line.startswith("-- following"), 20)
        status, errors = app.stop()
    finally:
        app.kill()
    assert (status, errors) == (0, "")
    assert app.output()[1].startswith(r"2026-11-18T11:06:40.000Z  \u5e97\u8217")

