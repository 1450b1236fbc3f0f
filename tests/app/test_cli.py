"""The command line's exit statuses as a script sees them: one-shot commands interrupted are not a success."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import pytest

from bench.processes import App, exit_after_output_closed, run_app, wait_until

pytestmark = pytest.mark.slow  # real processes


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_check_interrupted_before_it_is_done_exits_130_and_says_so(tmp_path: Path, signum: int) -> None:
    # A config read from a pipe nobody writes yet (`-c <(...)` still being produced): --check waits on it.
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    app = App("--check", "-c", str(fifo))
    writer = None
    try:
        # Opening the write end without blocking succeeds once the reader has the pipe open: it waits on it.
        writer = wait_until(lambda: _open_for_writing(fifo), 20, "--check to open the pipe", alive=app)
        # A signal sent in the instant between its open and its read is handled before the read starts, and
        # the read then waits for the writer regardless: signal it once it waits in the read.
        wait_until(lambda: _waits_in_pipe_read(app.process.pid), 20, "--check to wait in its read", alive=app)
        status, errors = app.stop(signum)
    finally:
        app.kill()
        if writer is not None:
            os.close(writer)
    assert status == 130, (status, errors)
    assert errors == f"monitoringApp: interrupted: {fifo} was not checked\n"
    assert app.output() == []


def _waits_in_pipe_read(pid: int) -> bool:
    return "pipe_read" in Path(f"/proc/{pid}/wchan").read_text()


def _open_for_writing(fifo: Path) -> int | None:
    with contextlib.suppress(OSError):  # ENXIO: no reader yet
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    return None


def test_check_into_a_pipe_whose_reader_has_gone_exits_0_without_a_traceback(tmp_path: Path) -> None:
    # `--check | head -1` of a config whose effective form is far more than a pipe holds (64 kB).
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"websites": [{"URL": f"http://127.0.0.1:8000/{n}"} for n in range(2000)]}))
    status, errors, _ = exit_after_output_closed("--check", "-c", str(config), first="{")
    assert (status, errors) == (0, "")


def test_check_accepts_apprise_urls_as_apprise_writes_them_and_shows_them_as_its_privacy_mode_does(
        tmp_path: Path) -> None:
    # `tgram://BOT_TOKEN/CHAT_ID` was refused, the bot token on screen ("Port could not be cast to integer value as
    # 'AAHsecretTOKEN'"), and the tokens of every other apprise URL were printed as written.
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"websites": [{"URL": "http://127.0.0.1:8000/"}], "notifications": [
        {"url": "https://bot:hunter2@hooks.example.com/x"},
        {"url": "tgram://123456789:AAHsecretTOKEN/987654"},
        {"url": "slack://T1234ABCD/B5678EFGH/abcdefSECRETxyz/#ops"},
        {"url": "tgram://${TG_TOKEN}/987654", "name": "telegram"}]}))
    result = run_app("--check", "-c", str(config), timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    hook, telegram, slack, from_environment = (channel["url"] for channel in json.loads(result.stdout)["notifications"])
    assert hook == "https://bot:***@hooks.example.com/x"  # a webhook as before
    assert telegram.startswith("tgram://1...N/987654/?") and slack.startswith("slack://T...D/B...H/a...z/%23ops/?")
    assert from_environment == "tgram://${TG_TOKEN}/9...4"  # not apprise's to read: its own parts hidden
    assert not any(token in result.stdout for token in ("hunter2", "AAHsecret", "B5678EFGH", "abcdefSECRET"))
