"""The command line parsed into one typed options object per mode; `MODE --help` shows that mode's options."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

from monitoringapp.app.cli import ONE_SHOT
from monitoringapp.app.options import (
    AlertsOptions,
    CheckOptions,
    EvaluatorOptions,
    MonitorOptions,
    NotifyOptions,
    PrintOptions,
    PurgeOptions,
    ReplayOptions,
    ScenarioOptions,
    WebOptions,
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
    (["--replay"], ReplayOptions("config.json", "monitoring.db")),
    (["--replay", "-c", "c.json", "--since", "1d", "--site", "shop"], ReplayOptions("c.json", "monitoring.db",
                                                                                  NOW - 86400, "shop")),
    # An age written as journalctl writes it, `-5d`, is 5 days ago, separate or attached.
    (["-a", "--since", "-5d"], AlertsOptions("monitoring.db", since=NOW - 5 * 86400)),
    (["-a", "--since=-90m"], AlertsOptions("monitoring.db", since=NOW - 5400)),
    (["--replay", "--since", "-1.5h"], ReplayOptions("config.json", "monitoring.db", NOW - 5400)),
    (["--purge", "--before", "-30d"], PurgeOptions("monitoring.db", NOW - 30 * 86400)),
    (["-a", "--since", "0s"], AlertsOptions("monitoring.db", since=NOW)),  # now itself is no future
])
def test_each_mode_gets_its_own_typed_options_with_every_default_filled_in(argv: list[str],
                                                                          options: object) -> None:
    assert parse_command_line(argv, NOW) == options


def test_a_flag_of_another_mode_names_the_modes_it_goes_with() -> None:
    with pytest.raises(UsageError, match=r"^--since goes with -a or --replay$"):
        parse_command_line(["-m", "--since", "2h"], NOW)
    with pytest.raises(UsageError, match=r"^--site goes with -a or -p or --purge or --replay$"):
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


@pytest.mark.parametrize("mode", ["-m", "-e", "-a", "-p", "-w", "-t", "--check", "--purge", "--health"])
def test_every_flag_a_modes_examples_use_is_in_its_options(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_command_line([mode, "--help"], NOW)
    options, examples = capsys.readouterr().out.split("\nexamples:\n")
    examples = examples.split("\nexit status:")[0]
    used = {word for word in examples.split() if word.startswith("-") and word != mode}
    assert used, f"{mode} --help shows no example with a flag"
    assert {flag for flag in used if f"{flag} " not in options and f"{flag}," not in options} == set()


def test_the_whole_help_lists_every_mode_and_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_command_line(["--help"], NOW)
    text = capsys.readouterr().out
    assert all(flag in text for flag in ("-m,", "-a,", "-p,", "-t,", "--check", "--purge", "MODE --help"))
    assert "2    a bad command line, config or database" in text


@pytest.mark.parametrize("mode", ["-m", "-a", "-p", "-w", "-t", "--check", "--purge", "--replay", "--health"])
def test_the_helps_130_line_names_exactly_the_modes_that_exit_130_when_interrupted(
        mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_command_line(["--help"], NOW)
    line_130 = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  130  "))
    named = set(re.findall(r"(?<![\w-])(-t|--\w+|-[mapwe])(?![\w-])", line_130.split("interrupted")[0]))
    assert (mode in named) == isinstance(parse_command_line([mode], NOW), ONE_SHOT), line_130


def test_notify_takes_its_config_database_state_and_silent_and_refuses_history_flags() -> None:
    assert parse_command_line(["-a"], NOW) == AlertsOptions("monitoring.db")
    assert parse_command_line(["-a", "--notify", "-db", "data/m.db"], NOW) == NotifyOptions(
        "config.json", "data/m.db", "data/m-notify.db")
    assert parse_command_line(["-a", "--notify", "-c", "c.json", "--state", "s.db", "--silent"], NOW) == \
        NotifyOptions("c.json", "monitoring.db", "s.db", silent=True)
    with pytest.raises(UsageError, match=r"^--since does not go with --notify \(channels choose"):
        parse_command_line(["-a", "--notify", "--since", "1d"], NOW)
    with pytest.raises(UsageError, match=r"^--state goes with -a --notify$"):
        parse_command_line(["-a", "--state", "s.db"], NOW)
    with pytest.raises(UsageError, match=r"^--notify goes with -a$"):
        parse_command_line(["-m", "--notify"], NOW)


@pytest.mark.parametrize(("argv", "message"), [
    # Named "-a", as these were, they sent the user to a mode that refuses them in turn.
    (["-p", "--silent"], "--silent goes with -m or -e or -a --notify"),
    (["-w", "--state", "s.db"], "--state goes with -a --notify"),
])
def test_a_flag_of_the_notifier_only_names_it_as_a_notify(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=f"^{re.escape(message)}$"):
        parse_command_line(argv, NOW)


def test_web_mode_listens_on_loopback_by_default_and_reads_config_json_only_when_it_is_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_command_line(["-w"], NOW) == WebOptions(None, "monitoring.db", "127.0.0.1", 8080)
    (tmp_path / "config.json").write_text("{}")
    assert parse_command_line(["-w", "-db", "d.db"], NOW) == WebOptions("config.json", "d.db", "127.0.0.1", 8080)
    assert parse_command_line(["-w", "-c", "other.json", "--listen", "[::1]:9000"], NOW) == WebOptions(
        "other.json", "monitoring.db", "::1", 9000)
    assert parse_command_line(["-w", "--listen", "localhost:0"], NOW).loopback


@pytest.mark.parametrize(("argv", "message"), [
    (["-w", "--listen", "0.0.0.0:8080"], "--listen 0.0.0.0:8080: not a loopback address"),
    (["-w", "--listen", "example.com:80"], "not a loopback address"),
    (["-w", "--listen", "8080"], "--listen: must be HOST:PORT"),
    (["-w", "--listen", "127.0.0.1:99999"], "--listen: must be HOST:PORT"),
    (["-w", "--listen", "127.0.0.1:²"], "--listen: must be HOST:PORT"),
    (["-w", "--auth-file", "u.txt", "--no-auth"], "--auth-file and --no-auth: choose one"),
    (["-m", "--listen", "127.0.0.1:1"], "--listen goes with -w"),
    (["-a", "--no-auth"], "--no-auth goes with -w"),
])
def test_web_mode_refuses_an_open_listen_without_a_word_on_authentication(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_command_line(argv, NOW)


def test_a_non_loopback_listen_is_accepted_with_users_or_an_explicit_no_auth() -> None:
    with_users = parse_command_line(["-w", "--listen", "0.0.0.0:8080", "--auth-file", "u.txt"], NOW)
    assert isinstance(with_users, WebOptions) and with_users.auth_file == "u.txt" and not with_users.loopback
    open_one = parse_command_line(["-w", "--listen", "192.0.2.1:8080", "--no-auth"], NOW)
    assert isinstance(open_one, WebOptions) and open_one.no_auth


def test_version_is_the_installed_distributions_and_the_exit_is_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_command_line(["--version"], NOW)
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"monitoringApp {importlib.metadata.version('monitoringapp')}\n"


@pytest.mark.parametrize(("argv", "message"), [
    (["-a", "--since", "2099-01-01"], "--since: '2099-01-01' is in the future (it is 2026-09-21T14:13:20.000Z now); "
                                      "give a past date or an age such as 2h"),
    (["--replay", "--since=2026-09-21T14:13:21Z"], "--since: '2026-09-21T14:13:21Z' is in the future"),
    # A minus on a bare number is still no unit: `--before -30` must not delete all but the last 30 s.
    (["--purge", "--before", "-30"], "--before: '-30' has no unit; say 30d, 30h, 30m or 30s"),
    # Nor is a history's start read as seconds: `-a --since 30` meant as days showed the last half minute.
    (["-a", "--since", "30"], "--since: '30' has no unit; say 30d, 30h, 30m or 30s"),
    (["-a", "--since", "20261202"], "--since: '20261202' has no unit; for that date, say 2026-12-02"),
    (["-a", "--since", "20261302"],  # no 13th month: a number
     "--since: '20261302' has no unit; say 20261302d, 20261302h, 20261302m or 20261302s"),
    (["--replay", "--since", "7.5"], "--since: '7.5' has no unit; say 7.5d, 7.5h, 7.5m or 7.5s"),
    (["-a", "--since", "+1d"], "--since: must be an age such as 2h or an ISO date such as 2026-11-24T12:00, "
                               "got '+1d'"),
    # A full-width digit was read as its ASCII twin: `--since` of a full-width 1 and `h` was an hour.
    (["-a", "--since", "\uff11h"], "--since: must be an age such as 2h or an ISO date such as 2026-11-24T12:00, "
                                    "got '\uff11h'"),
    # The form is right, the day is not: said so, not that the text is no ISO date (2025 is no leap year).
    (["--purge", "--before", "2025-02-29"], "--before: '2025-02-29' is no such date: day is out of range for month"),
    (["-a", "--since", "2026-04-31T12:00"], "--since: '2026-04-31T12:00' is no such date: day is out of range for "
                                            "month"),
    (["--replay", "--since", "2026-11-24T24:30Z"], "--since: '2026-11-24T24:30Z' is no such date: hour must be in "
                                                   "0..23"),
])
def test_a_history_start_after_now_or_an_age_without_unit_is_a_usage_error(argv: list[str],
                                                                            message: str) -> None:
    with pytest.raises(UsageError, match=f"^{re.escape(message)}"):
        parse_command_line(argv, NOW)


NATS = ["--nats", "127.0.0.1:4222"]


@pytest.mark.parametrize(("argv", "message"), [
    (["-m", *NATS, "-db", "d.db"], "-db and --nats: a prober (-m --nats) publishes its probes to JetStream and "
                                   "keeps no database (--spool is where they wait while NATS is away); give one of "
                                   "them"),
    (["-a", *NATS, "-db", "d.db"], "-db and --nats: -a reads one log, the database or the JetStream stream; "
                                   "give one of them"),
    (["-a", "--since", "1h", "-db", "d.db", *NATS], "-db and --nats: -a reads one log"),
    (["-p", *NATS, "-db", "d.db"], "-db and --nats: -p reads one log, the database or the JetStream stream; "
                                   "give one of them"),
    (["-a", "--notify", *NATS, "-db", "d.db"], "-db and --nats: -a --notify --nats follows the JetStream stream and "
                                               "keeps no database (--state PATH is its own state file); give one "
                                               "of them"),
    (["-w", *NATS, "-db", "d.db"], "--nats goes with -m or -e or -a or -p; -w reads the database -db names (with "
                                   "NATS, an evaluator's projection: -e -db FILE)"),
    (["--purge", *NATS, "-db", "d.db"], "--nats goes with -m or -e or -a or -p; --purge reads the "
                                           "database -db names"),
    (["--replay", *NATS, "-db", "d.db"], "--nats goes with -m or -e or -a or -p; --replay reads the "
                                           "database -db names"),
    (["--health", *NATS, "-db", "d.db"], "--nats goes with -m or -e or -a or -p; --health reads the "
                                           "database -db names"),
])
def test_a_database_and_nats_where_one_log_is_read_are_refused_naming_both(argv: list[str], message: str) -> None:
    # `-a --nats -db FILE` read the stream and silently ignored the file the user named.
    with pytest.raises(UsageError, match=f"^{re.escape(message)}"):
        parse_command_line(argv, NOW)


def test_either_log_alone_is_taken_and_the_evaluator_takes_both_the_stream_and_its_projection() -> None:
    assert parse_command_line(["-a", *NATS], NOW) == AlertsOptions("monitoring.db", nats=("nats://127.0.0.1:4222",))
    assert parse_command_line(["-p", "-db", "d.db"], NOW) == PrintOptions("config.json", "d.db")
    assert parse_command_line(["-m", *NATS, "--spool", "s.db"], NOW).spool == "s.db"  # type: ignore[union-attr]
    assert parse_command_line(["-a", "--notify", *NATS, "--state", "n.db"], NOW) == NotifyOptions(
        "config.json", "monitoring.db", "n.db", nats=("nats://127.0.0.1:4222",))
    assert parse_command_line(["-e", *NATS, "-db", "p.db"], NOW) == EvaluatorOptions(
        "config.json", "p.db", ("nats://127.0.0.1:4222",))
