"""Live reload in a real `-m` process: edits, renames, SIGHUP and an invalid edit (the diff itself:
tests/graph/test_monitor.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from bench.processes import App, wait_until
from tests.local_http import LocalServer

pytestmark = pytest.mark.slow  # real processes

# ---- a real monitor process -------------------------------------------------------------------------------


def write_sites(path: Path, *urls: str, **top: object) -> None:
    path.write_text(json.dumps({"websites": [{"URL": u, "checkInterval": 0.2} for u in urls],
                                "reports": [{"every": 60, "windows": [60]}], **top}))


def count_rows(db: Path, host: str) -> int:
    if not db.exists():
        return 0
    connection = sqlite3.connect(db, timeout=5)
    try:
        return int(connection.execute("SELECT count(*) FROM website_monitoring WHERE host = ?", (host,))
                   .fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def test_running_monitor_reloads_edits_and_renames_and_survives_an_invalid_edit(
        tmp_path: Path, server: LocalServer) -> None:
    keep, drop, new = (server.url(f"/ok?{name}") for name in ("keep", "drop", "new"))
    cfg, db = tmp_path / "config.json", tmp_path / "m.db"
    write_sites(cfg, keep, drop)
    app = App("-m", "-c", str(cfg), "-db", str(db))
    try:
        wait_until(lambda: count_rows(db, drop) > 0, 8, "first probe rows", alive=app)

        temp = tmp_path / "config.json.tmp"  # an editor's save: write aside, rename over
        write_sites(temp, keep, new)
        os.replace(temp, cfg)
        app.wait_for_line(lambda text: text == f"config reloaded: sites +1 ({new}), -1 ({drop})", 4)
        wait_until(lambda: count_rows(db, new) >= 3, 8, "the added site's rows", alive=app)
        dropped = count_rows(db, drop)

        cfg.write_text('{"websites": [{"URL": "no-scheme.test"}]}')  # edited in place, invalid
        wait_until(lambda: "config rejected:" in app.stderr(), 4, "the rejection", alive=app)
        before = count_rows(db, new)
        wait_until(lambda: count_rows(db, new) >= before + 5, 8, "monitoring going on after the rejection",
                   alive=app)
        assert count_rows(db, drop) == dropped, "the removed site was probed after its removal"

        write_sites(cfg, keep, alertTreshold=0.5)  # in place, with a typo, then SIGHUP
        app.process.send_signal(signal.SIGHUP)
        app.wait_for_line(lambda text: text == f"config reloaded: sites -1 ({new})", 4)
        assert app.running(), "the monitor exited during reloads"
        # The typo warned of as at start; the version back after the rejection said so.
        wait_until(lambda: "unknown key(s) ignored: alertTreshold" in app.stderr(), 2, "the warning", alive=app)

        # A change of a site's request is said with what changed in it (not as a bare re-timing) ...
        cfg.write_text(json.dumps({"websites": [{"URL": keep, "checkInterval": 0.2, "headers": {"X-Team": "b"}}],
                                   "reports": [{"every": 60, "windows": [60]}]}))
        app.wait_for_line(lambda text: text == f"config reloaded: sites ~1 ({keep}: headers)", 4)
        # ... and a file back from being a directory is no file "back" from an absence.
        aside = tmp_path / "aside.json"
        cfg.rename(aside)
        cfg.mkdir()
        wait_until(lambda: "is a directory" in app.stderr(), 4, "the directory's rejection", alive=app)
        cfg.rmdir()
        aside.rename(cfg)
        wait_until(lambda: "again, the same" in app.stderr(), 4, "the file again", alive=app)
    finally:
        status, errors = app.stop(signal.SIGINT, timeout=10)
    said = [line for line in errors.splitlines() if "config rejected" in line or "again" in line or "warning" in line]
    assert said == [f'config rejected: {cfg}: websites[0].URL: needs a scheme, http://, https:// or tcp://, '
                    f'got "no-scheme.test"',
                    f"{cfg} is valid again",
                    f"warning: {cfg}: top level: unknown key(s) ignored: alertTreshold",
                    f"config rejected: {cfg}: is a directory, not a config file",
                    f"{cfg} is a file again, the same as the running config: nothing to reload"]
    assert status == 0
    assert "Traceback" not in errors
