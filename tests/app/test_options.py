"""The command line parsed into one typed options object per mode; `MODE --help` shows that mode's options."""

from __future__ import annotations

import pytest

from monitoringapp.app.options import (
    AlertsOptions,
    CheckOptions,
    MonitorOptions,
    PrintOptions,
    PurgeOptions,
    ScenarioOptions,
    parse_command_line,
)
from monitoringapp.app.usage import UsageError

NOW = 1_790_000_000.0


@pytest.mark.parametrize(("argv", "options"), [
    (["-m"], MonitorOptions("config.json", "monitoring.db")),
    (["-m", "-c", "c.json", "-db", "d.db", "--silent", "--metrics", "m.json"],
     MonitorOptions("c.json", "d.db", silent=True, metrics="m.json")),
    (["-a", "--since", "2h", "--site", "http://a/"], AlertsOptions("monitoring.db", "http://a/", NOW - 7200)),
    (["-a", "--since", "2026-01-01"], AlertsOptions("monitoring.db", since=1_767_225_600.0)),
    (["-p", "-db", "d.db"], PrintOptions("config.json", "d.db")),
    (["-t"], ScenarioOptions()),
    (["-t", "--keep-db"], ScenarioOptions(keep_db="test.db")),
    (["-t", "--keep-db", "/tmp/s.db"], ScenarioOptions(keep_db="/tmp/s.db")),
    (["-m", "--stop-grace", "0.5"], MonitorOptions("config.json", "monitoring.db", stop_grace=0.5)),
    (["--check", "-c", "c.json"], CheckOptions("c.json")),
    (["--purge", "--before", "1d", "--alerts", "--vacuum"],
     PurgeOptions("monitoring.db", NOW - 86400, alerts=True, vacuum=True)),
    (["--purge"], PurgeOptions("monitoring.db", NOW - 7 * 86400)),
])
def test_each_mode_gets_its_own_typed_options_with_every_default_filled_in(argv: list[str],
                                                                          options: object) -> None:
    assert parse_command_line(argv, NOW) == options


def test_a_flag_of_another_mode_names_the_modes_it_goes_with() -> None:
    with pytest.raises(UsageError, match=r"^--since goes with -a$"):
        parse_command_line(["-m", "--since", "2h"], NOW)
    with pytest.raises(UsageError, match=r"^--site goes with -a or -p or --purge$"):
        parse_command_line(["-m", "--site", "http://a/"], NOW)


def test_mode_help_shows_that_modes_options_and_examples_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_command_line(["-m", "--help"], NOW)
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: monitoringApp -m ")
    assert "--silent" in text and "--metrics" in text and "monitoringApp -m -c config.json" in text
    assert "--since" not in text and "--vacuum" not in text and "--keep-db" not in text
    assert "exit status:" in text


def test_the_whole_help_lists_every_mode_and_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_command_line(["--help"], NOW)
    text = capsys.readouterr().out
    assert all(flag in text for flag in ("-m,", "-a,", "-p,", "-t,", "--check", "--purge", "MODE --help"))
    assert "2    a bad command line, config or database" in text
