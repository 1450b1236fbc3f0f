"""Every user mistake through the real CLI: one line on stderr, no traceback, exit 2, the database untouched.

Each row is (argv, files to set up, expected message substring, exit code). `{cfg}` and `{db}` in argv
are the config file and the database in the test's directory; the directory holds a good database with
one row unless the row says otherwise, and every file in it is hashed before and after.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.processes import run_app
from monitoringapp.app.cli import main
from monitoringapp.domain.events import Probe
from monitoringapp.store.sqlite.projection import SqliteProjection
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

SITE = "http://127.0.0.1:9/"


def doc(**top: object) -> str:
    """A config document: one good site unless `websites` is given."""
    top.setdefault("websites", [{"URL": SITE}])
    return json.dumps(top)


def site(**keys: object) -> str:
    return doc(websites=[{"URL": SITE, **keys}])


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    message: str
    config: str | bytes | None = None
    setup: Callable[[Path], None] | None = None
    code: int = 2
    stdout: str = ""


def text_db(directory: Path) -> None:
    (directory / "m.db").write_text("these are my notes, not a database\n")


def newer_db(directory: Path) -> None:
    (directory / "m.db").unlink()
    connection = open_for_writing(directory / "m.db")
    connection.execute("PRAGMA user_version = 7")
    connection.close()


def projection_of_every_site(directory: Path) -> None:
    projection = SqliteProjection(directory / "m.db", "MONITOR")  # an evaluator's, run without --partition
    projection.consumer_name("0/1", "evaluator-0of1-0123456789")
    projection.close()


def no_db(directory: Path) -> None:
    (directory / "m.db").unlink()


def config_is_a_directory(directory: Path) -> None:
    (directory / "config.json").mkdir()


def blocking_file(directory: Path) -> None:
    (directory / "file").write_text("a regular file where a directory should be")


def foreign_schema_db(directory: Path) -> None:
    # Another application's table of the same name: refused before anything is written (it was switched
    # to WAL first), the file byte-identical and nothing created beside it.
    (directory / "m.db").unlink()
    connection = sqlite3.connect(directory / "m.db")
    connection.execute("CREATE TABLE website_monitoring (a)")
    connection.commit()
    connection.close()


def a_directory_named_like_the_file(directory: Path) -> None:
    (directory / "taken").mkdir()


CHECK = ("--check", "-c", "{cfg}")
MONITOR = ("-m", "-c", "{cfg}", "-db", "{db}")
GOOD = doc()

CASES = [
    # the config file
    Case("json-line-and-column", CHECK, "config.json:3:13: invalid JSON: Expecting value",
         '{\n  "websites": [\n    {"URL": http://a/}\n  ]\n}'),
    Case("json-trailing-comma-in-object", CHECK,
         "config.json:3:24: invalid JSON: trailing comma before '}' (remove it)",
         '{\n  "websites": [\n    {"URL": "http://a/",}\n  ]\n}'),
    # The seed's own example, verbatim: its trailing comma after the last site.
    Case("json-seed-example-trailing-comma", CHECK,
         "config.json:9:2: invalid JSON: trailing comma before ']' (remove it)",
         '{\n"websites": [\n{\n"URL": "http://via.ecp.fr",\n"checkInterval": 3.5\n},\n{\n"URL":"http://my.ecp.fr"\n},\n],\n'
         '"defaultCheckInterval": 3\n}\n'),
    Case("json-truncated", MONITOR, "config.json:1:", '{"websites": ['),
    Case("json-nested-too-deeply", CHECK, "invalid JSON: nested too deeply", "[" * 100_000),
    Case("not-utf8", CHECK, "not UTF-8 text (byte 14)", b'{"websites": "\xff\xfe"}'),
    Case("top-level-list", CHECK, "the top level must be a JSON object, got a list", "[1, 2]"),
    Case("websites-missing", MONITOR, '"websites" is missing', "{}"),
    Case("websites-not-a-list", CHECK, 'websites: must be a list of sites, got {"URL": "http://a/"}',
         '{"websites": {"URL": "http://a/"}}'),
    Case("site-not-an-object", CHECK, 'websites[0]: must be an object with a URL, got "http://a/"',
         '{"websites": ["http://a/"]}'),
    # A string is a duration with its unit ("30s"); "5" alone, as a command line's `--since 30`, says none.
    Case("interval-a-string", CHECK, 'websites[0].checkInterval: must be a number of seconds or a duration such as '
         '"30s" or "2m", got "5"', site(checkInterval="5")),
    Case("interval-a-boolean", CHECK, "must be a number of seconds or a duration", site(checkInterval=True)),
    Case("interval-not-a-duration", CHECK, 'websites[0].checkInterval: must be a number of seconds or a duration such '
         'as "30s" or "2m", got "soon"', site(checkInterval="soon")),
    Case("interval-zero-as-a-duration", CHECK, 'websites[0].checkInterval: must be a finite number > 0, got "0s"',
         site(checkInterval="0s")),
    Case("interval-zero", MONITOR, "websites[0].checkInterval: must be a finite number > 0, got 0",
         site(checkInterval=0)),
    Case("timeout-negative", CHECK, "websites[0].timeout: must be a finite number > 0, got -1",
         site(timeout=-1)),
    Case("interval-nan", CHECK, "defaultCheckInterval: must be a finite number > 0, got nan",
         '{"websites": [{"URL": "http://a/"}], "defaultCheckInterval": NaN}'),
    Case("timeout-infinite", CHECK, "defaultTimeout: must be a finite number > 0, got inf",
         '{"websites": [{"URL": "http://a/"}], "defaultTimeout": Infinity}'),
    Case("interval-absurd", CHECK, "websites[0].checkInterval: must be at most 86400 seconds, got 1e+300",
         site(checkInterval=1e300)),
    Case("interval-huge-integer", CHECK, "must be at most 86400 seconds",
         '{"websites": [{"URL": "http://a/", "checkInterval": 1' + "0" * 400 + "}]}"),
    Case("site-quorum-zero", CHECK, "websites[0].quorum: must be a whole number of locations from 1 to 1000, got 0",
         site(quorum=0)),
    Case("quorum-a-fraction", CHECK, "quorum: must be a whole number of locations from 1 to 1000, got 1.5",
         doc(quorum=1.5)),
    Case("site-quorum-shown-by-check", CHECK, "", site(quorum=2), code=0, stdout='"quorum": 2'),
    Case("timeout-absurd", CHECK, "websites[0].timeout: must be at most 600 seconds, got 3600",
         site(timeout=3600)),
    Case("url-no-scheme", CHECK, 'websites[0].URL: needs a scheme, http://, https:// or tcp://, got "example.com"',
         doc(websites=[{"URL": "example.com"}])),
    Case("url-host-port-no-scheme", CHECK, 'needs a scheme, http://, https:// or tcp://, got "localhost:8000"',
         doc(websites=[{"URL": "localhost:8000"}])),
    Case("url-unsupported-scheme", MONITOR, 'websites[0].URL: must use http, https or tcp, got "ftp://a.test/"',
         doc(websites=[{"URL": "ftp://a.test/"}])),
    Case("url-no-host", CHECK, 'websites[0].URL: has no host, got "http:///health"',
         doc(websites=[{"URL": "http:///health"}])),
    Case("url-spaces", CHECK, 'URL: must not contain spaces or control characters, got "http://a.test/my page"',
         doc(websites=[{"URL": "http://a.test/my page"}])),
    Case("url-bad-port", CHECK, "is not a valid URL (its port is not 0 to 65535)",
         doc(websites=[{"URL": "http://a.test:99999/"}])),
    Case("url-not-a-string", CHECK, "websites[0].URL: must be a string, got 42", doc(websites=[{"URL": 42}])),
    Case("url-duplicate", MONITOR, 'websites[1].URL: the same site as websites[0] ("http://a.test/"), got "http://a.test/"',
         doc(websites=[{"URL": "http://a.test/"}, {"URL": "http://a.test/"}])),
    Case("threshold-above-one", CHECK, "alertThreshold: must be a fraction between 0 and 1, got 1.5",
         doc(alertThreshold=1.5)),
    Case("threshold-below-zero", CHECK, "recoveryThreshold: must be a fraction between 0 and 1, got -0.1",
         doc(recoveryThreshold=-0.1)),
    Case("recovery-below-alert", CHECK, "recoveryThreshold: must be at least alertThreshold (0.8), got 0.5",
         doc(recoveryThreshold=0.5)),
    Case("min-checks-zero", CHECK, "alertMinChecks: must be a whole number >= 1, got 0", doc(alertMinChecks=0)),
    Case("retention-not-a-duration", CHECK, 'retention: must be a duration such as 7d or 12h, got "forever"',
         doc(retention="forever")),
    Case("retention-too-short", CHECK, 'retention: must keep at least one hour (1h), got "10m"',
         doc(retention="10m")),
    Case("reports-bad", CHECK, "reports[0].windows: must be a non-empty list of seconds, got []",
         doc(reports=[{"every": 10, "windows": []}])),
    Case("json-empty-file", CHECK, 'config.json: is empty; a config needs at least {"websites": ', ""),
    Case("json-blank-file", MONITOR, "config.json: is empty", "\n  \n"),
    Case("json-duplicate-key", CHECK,
         'websites[0]: duplicate key "checkInterval" (JSON keeps only the last value; write it once)',
         '{"websites": [{"URL": "http://a/", "checkInterval": 2, "checkInterval": 5}]}'),
    Case("json-duplicate-top-key", MONITOR, 'top level: duplicate key "alertWindow"',
         '{"websites": [{"URL": "http://a/"}], "alertWindow": 60, "alertWindow": 30}'),
    Case("config-endless", ("--check", "-c", "/dev/zero"), "/dev/zero: larger than 1024 kB: not a config file"),
    Case("url-duplicate-other-case", CHECK,
         'websites[1].URL: the same site as websites[0] ("http://a.test/"), got "HTTP://A.TEST/"',
         doc(websites=[{"URL": "http://a.test/"}, {"URL": "HTTP://A.TEST/"}])),
    Case("url-duplicate-default-port-and-empty-path", CHECK,
         'websites[1].URL: the same site as websites[0] ("https://a.test/"), got "https://a.test:443"',
         doc(websites=[{"URL": "https://a.test/"}, {"URL": "https://a.test:443"}])),
    Case("url-password-never-shown", CHECK, 'is not a valid URL (its port is not 0 to 65535), got '
         '"http://ops:***@a.test:99999/"', doc(websites=[{"URL": "http://ops:s3cret@a.test:99999/"}])),
    Case("empty-site-list", MONITOR, "websites: no site with a URL to monitor", doc(websites=[])),
    Case("only-sites-without-url", CHECK, "websites: no site with a URL to monitor",
         doc(websites=[{"checkInterval": 3}])),
    Case("unknown-keys-warn", CHECK, "warning: {cfg}: top level: unknown key(s) ignored: colour, defaultInterval",
         doc(defaultInterval=3, colour="red"), code=0, stdout='"alertWindow": 120.0'),
    Case("site-without-url-warns", CHECK, 'websites[1]: no "URL", entry ignored',
         doc(websites=[{"URL": SITE}, {"checkInterval": 3}]), code=0, stdout=SITE),
    Case("url-in-lower-case-warns", CHECK,
         'websites[1]: no "URL" (found "url": keys are case-sensitive), entry ignored',
         doc(websites=[{"URL": SITE}, {"url": "http://b.test/"}]), code=0, stdout=SITE),
    Case("typo-key-warns", CHECK, "top level: unknown key(s) ignored: alertTreshold", doc(alertTreshold=0.5),
         code=0, stdout='"alertThreshold": 0.8'),
    Case("min-checks-beyond-the-window-warns", CHECK,
         "alertMinChecks (20) is more than the 10 check(s) alertWindow (10s) holds for websites[0] (every 1s): "
         "it can never alert", doc(websites=[{"URL": SITE, "checkInterval": 1}], alertMinChecks=20,
                                   alertWindow=10), code=0, stdout='"alertMinChecks": 20'),
    Case("threshold-zero-warns", CHECK, "alertThreshold is 0: availability is never below 0%",
         doc(alertThreshold=0), code=0, stdout='"alertThreshold": 0.0'),
    Case("window-of-one-check-warns", CHECK, "alertWindow (1s) holds only the latest check of websites[0]",
         doc(websites=[{"URL": SITE, "checkInterval": 60}], alertWindow=1), code=0, stdout='"alertWindow": 1.0'),
    Case("timeout-above-interval-warns", CHECK, "websites[0].timeout (30s) is longer than its checkInterval (5s)",
         site(checkInterval=5, timeout=30), code=0, stdout='"timeout": 30.0'),
    Case("interval-below-the-floor-warns", CHECK, "websites[0].checkInterval (0.001) is below the floor of 0.1s",
         site(checkInterval=0.001), code=0, stdout='"checkInterval": 0.1'),
    # the command line
    Case("unknown-flag", ("-x",), "error: unknown option -x (see --help)"),
    Case("unknown-long-flag", (*MONITOR, "--colour"), "unknown option --colour", GOOD),
    Case("stray-argument", ("-m", "config.json"), "unexpected argument 'config.json'"),
    Case("no-mode", ("-c", "{cfg}"), "choose a mode: -m, -e, -a, -p, -w, -t, --check, --purge, --replay, --health",
         GOOD),
    Case("two-modes", ("-m", "-t"), "argument -t/--test: not allowed with argument -m/--monitor"),
    Case("flag-of-another-mode", ("--check", "-c", "{cfg}", "--vacuum"), "--vacuum goes with --purge", GOOD),
    Case("purge-flag-without-purge", ("-m", "-c", "{cfg}", "--before", "7d"), "--before goes with --purge", GOOD),
    Case("option-without-value", ("-m", "-c"), "argument -c/--config: expected one argument"),
    Case("stop-grace-negative", (*MONITOR, "--stop-grace", "-1"),
         "--stop-grace: must be a number of seconds from 0 to 3600, got '-1'", GOOD),
    Case("stop-grace-not-a-number", (*MONITOR, "--stop-grace", "soon"),
         "--stop-grace: must be a number of seconds from 0 to 3600, got 'soon'", GOOD),
    Case("stop-grace-without-monitor", ("-a", "--stop-grace", "5"), "--stop-grace goes with -m"),
    Case("max-age-negative", ("--health", "--max-age", "-5"),
         "--max-age: must be a number of seconds from 0 to 2592000, got '-5'"),
    Case("max-age-without-health", ("-m", "--max-age", "5"), "--max-age goes with --health"),
    Case("metrics-in-missing-directory", (*MONITOR, "--metrics", "{dir}/missing/m.json"),
         "--metrics: {dir}/missing/m.json: directory '{dir}/missing' does not exist", GOOD),
    Case("metrics-a-directory", (*MONITOR, "--metrics", "{dir}/taken"), "--metrics: {dir}/taken: is not a file",
         GOOD, setup=a_directory_named_like_the_file),
    Case("keep-db-exists", ("-t", "--keep-db", "{db}"),
         "--keep-db: {dir}/m.db already exists; -t keeps its database only in a new file"),
    Case("keep-db-a-directory", ("-t", "--keep-db", "{dir}/taken"), "--keep-db: {dir}/taken already exists",
         setup=a_directory_named_like_the_file),
    Case("keep-db-in-missing-directory", ("-t", "--keep-db", "{dir}/missing/t.db"),
         "--keep-db: {dir}/missing/t.db: directory '{dir}/missing' does not exist"),
    # An empty path (`-c "$CANDIDATE"`, the variable unset) is neither the default file nor the working directory.
    Case("config-empty-path", ("--replay", "-c", "", "-db", "{db}"), "-c: an empty path (an unset variable?)", GOOD),
    Case("db-empty-path", ("--replay", "-c", "{cfg}", "-db", ""), "-db: an empty path (an unset variable?)", GOOD),
    Case("keep-db-empty-path", ("-t", "--keep-db", ""), "--keep-db: an empty path (an unset variable?)"),
    Case("metrics-empty-path", (*MONITOR, "--metrics", ""), "--metrics: an empty path (an unset variable?)", GOOD),
    Case("config-missing", ("-m", "-c", "{dir}/nope.json", "-db", "{db}"), "nope.json: config file not found"),
    Case("config-unreadable-directory", MONITOR, "config.json: is a directory, not a config file",
         setup=config_is_a_directory),
    # the database
    Case("db-in-missing-directory", ("-m", "-c", "{cfg}", "-db", "{dir}/missing/m.db"),
         "missing/m.db: directory", GOOD),
    Case("db-location-unwritable", ("-m", "-c", "{cfg}", "-db", "{dir}/file/m.db"),
         "file/m.db: '{dir}/file' is not a directory", GOOD,
         setup=blocking_file),
    Case("db-not-sqlite", MONITOR, "m.db: cannot use as a monitoringApp database: file is not a database",
         GOOD, setup=text_db),
    Case("db-foreign-schema", MONITOR, "m.db: website_monitoring lacks column(s) available, host, responseTime, "
         "status, timestamp: not a monitoringApp database", GOOD, setup=foreign_schema_db),
    Case("purge-db-foreign-schema", ("--purge", "-db", "{db}"), "website_monitoring lacks column(s)",
         setup=foreign_schema_db),
    Case("reader-db-in-missing-directory", ("-a", "-db", "{dir}/missing/m.db"),
         "missing/m.db: directory '{dir}/missing' does not exist"),
    Case("reader-db-foreign-schema", ("-a", "-db", "{db}"), "website_monitoring lacks column(s)",
         setup=foreign_schema_db),
    Case("db-newer-schema", MONITOR, "m.db: schema version 7 is newer than this monitoringApp understands (4)",
         GOOD, setup=newer_db),
    Case("purge-db-missing", ("--purge", "-db", "{db}"), "m.db: database not found", setup=no_db),
    # Where the readers said the directory, these said the file: `database not found` of a path whose directory is
    # misspelt sends a user looking for a file.
    Case("purge-db-in-missing-directory", ("--purge", "-db", "{dir}/missing/m.db"),
         "missing/m.db: directory '{dir}/missing' does not exist"),
    Case("purge-db-not-sqlite", ("--purge", "-db", "{db}"), "file is not a database", setup=text_db),
    Case("purge-db-newer-schema", ("--purge", "-db", "{db}"), "schema version 7 is newer", setup=newer_db),
    # several locations (NATS: refused before any connection is tried)
    Case("evaluator-without-nats", ("-e", "-c", "{cfg}"), "-e needs --nats URLS", GOOD),
    Case("nats-not-a-nats-url", ("-m", "-c", "{cfg}", "--nats", "http://h:4222"),
         "--nats: each server must be nats://[USER:PASSWORD@]HOST:PORT, tls://... or HOST:PORT, got 'http://h:4222'",
         GOOD),
    Case("nats-password-not-echoed", ("-m", "-c", "{cfg}", "--nats", "nats://u:pw-secret@h"),
         "got 'nats://u:***@h'", GOOD),
    Case("nats-token-not-echoed", ("-m", "-c", "{cfg}", "--nats", "nats://pw-secret@h"), "got 'nats://***@h'", GOOD),
    Case("nats-two-logins", ("-m", "-c", "{cfg}", "--nats", "nats://u:pw-secret@h1:4222,nats://u:other@h2:4222"),
         "--nats: nats://u:***@h1:4222 and nats://u:***@h2:4222 log in differently; a cluster is logged in to once: "
         "give the credentials on one URL, or the same on each", GOOD),
    Case("nats-location-not-a-token", ("-m", "-c", "{cfg}", "--nats", "h:4222", "--location", "eu west"),
         "--location: must be letters, digits, _ and -, got 'eu west'", GOOD),
    Case("nats-location-the-evaluators", ("-m", "-c", "{cfg}", "--nats", "h:4222", "--location", "quorum"),
         "--location: 'quorum' is where an evaluator puts each site's own verdicts; name the location another way",
         GOOD),
    Case("nats-replicas-above-5", ("-m", "-c", "{cfg}", "--nats", "h:4222", "--replicas", "7"),
         "--replicas: must be from 1 to 5 (JetStream's limit), got 7", GOOD),
    Case("nats-partition-out-of-range", ("-e", "-c", "{cfg}", "--nats", "h:4222", "--partition", "2/2"),
         "--partition: must be I/N with 0 <= I < N <= 64, e.g. 0/2, got '2/2'", GOOD),
    Case("nats-spool-in-missing-directory", ("-m", "-c", "{cfg}", "--nats", "h:4222", "--spool", "{dir}/no/s.db"),
         "--spool: {dir}/no/s.db: directory '{dir}/no' does not exist", GOOD),
    Case("nats-with-web", ("-w", "--nats", "h:4222", "-db", "{db}"), "--nats goes with -m or -e or -a or -p"),
    Case("nats-projection-of-another-partition",
         ("-e", "-c", "{cfg}", "--nats", "127.0.0.1:9", "-db", "{db}", "--partition", "1/2"),
         "{dir}/m.db: holds the verdicts of every site (no --partition); judging --partition 1/2 into it would judge "
         "every probe in the stream again: give it a projection of its own (-db NEW.db)", GOOD,
         setup=projection_of_every_site),
    Case("purge-before-garbage", ("--purge", "--before", "last week", "-db", "{db}"),
         "--before: must be an age such as 7d or an ISO date such as 2026-11-01, got 'last week'"),
    Case("purge-before-without-a-unit", ("--purge", "--before", "30", "-db", "{db}"),
         "--before: '30' has no unit; say 30d, 30h, 30m or 30s"),
    Case("purge-before-future", ("--purge", "--before", "2999-01-01", "-db", "{db}"),
         "--before: '2999-01-01' is in the future"),
    # checks, per-site policies, tcp:// (issue 13)
    Case("check-bad-regex", MONITOR, 'websites[0].bodyMatches: is not a valid regular expression (missing ), '
         'unterminated subpattern at position 0), got "(ok"', site(bodyMatches="(ok")),
    Case("check-bad-jsonpath", CHECK, 'websites[0].json[0].path: is not a valid JSONPath (Parse error near the end '
         'of string!), got "$.queue["', site(json=[{"path": "$.queue[", "below": 10}])),
    Case("check-unknown-header-variable", MONITOR,
         "websites[0].headers.Authorization: environment variable MONITORINGAPP_UNSET_TOKEN is not set",
         site(headers={"Authorization": "Bearer ${MONITORINGAPP_UNSET_TOKEN}"})),
    Case("check-expected-status-out-of-range", CHECK, 'websites[0].expectedStatus: must be a status from 100 to '
         '599 or a range such as "200-299", got "200-999"', site(expectedStatus=["200-999"])),
    Case("check-tcp-without-port", MONITOR, 'websites[0].URL: a tcp:// site needs a port (tcp://host:port), got '
         '"tcp://db.example"', doc(websites=[{"URL": "tcp://db.example"}])),
    Case("check-site-threshold-above-one", CHECK,
         "websites[0].alertThreshold: must be a fraction between 0 and 1, got 1.2", site(alertThreshold=1.2)),
    Case("check-defaults-threshold-below-zero", CHECK,
         "defaults.recoveryThreshold: must be a fraction between 0 and 1, got -1",
         doc(defaults={"recoveryThreshold": -1})),
    Case("check-ca-file-missing", MONITOR, "websites[0].caFile: file not found, got '{dir}/no-ca.pem'",
         site(caFile="no-ca.pem"), setup=lambda d: (d / "config.json").write_text(site(caFile=str(d / "no-ca.pem")))),
    Case("replay-db-missing", ("--replay", "-c", "{cfg}", "-db", "{db}"), "m.db: database not found", GOOD,
         setup=no_db),
    Case("replay-db-in-missing-directory", ("--replay", "-c", "{cfg}", "-db", "{dir}/missing/m.db"),
         "missing/m.db: directory '{dir}/missing' does not exist", GOOD),
    Case("replay-since-garbage", ("--replay", "-c", "{cfg}", "--since", "last week"),
         "--since: must be an age such as 7d or an ISO date such as 2026-11-24T12:00, got 'last week'", GOOD),
]


def prepare(case: Case, directory: Path) -> list[str]:
    connection = open_for_writing(directory / "m.db")
    insert_events(connection, [Probe(0.0, SITE, True, 200, 1.0)])
    connection.close()
    if case.config is not None:
        config = directory / "config.json"
        config.write_bytes(case.config if isinstance(case.config, bytes) else case.config.encode())
    if case.setup is not None:
        case.setup(directory)
    values = {"cfg": str(directory / "config.json"), "db": str(directory / "m.db"), "dir": str(directory)}
    return [word.format(**values) for word in case.argv]


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under `directory` and its SHA-256: a file created, changed or removed shows."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_leaves_files_alone(case: Case, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    argv = prepare(case, tmp_path)
    before = snapshot(tmp_path)
    code = main(argv)
    out, err = capsys.readouterr()
    message = case.message.replace("{cfg}", str(tmp_path / "config.json")).replace("{dir}", str(tmp_path))
    assert (code, message in err) == (case.code, True), err
    assert "pw-secret" not in err + out  # a password given on the command line is never echoed
    if case.code == 2:
        assert err.count("\n") == 1 and err.startswith("monitoringApp: error: "), err
        assert out == ""
    else:
        assert case.stdout in out
    assert snapshot(tmp_path) == before


def test_there_are_at_least_70_bad_inputs() -> None:
    assert sum(case.code == 2 for case in CASES) >= 70


@pytest.mark.slow
def test_unreadable_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(GOOD)
    config.chmod(0)
    # A real process held to file modes (root would read any file).
    done = run_app("--check", "-c", str(config), timeout=20, unprivileged=True)
    assert (done.returncode, done.stderr) == (
        2, f"monitoringApp: error: {config}: config file not readable (permission denied)\n")


SUBPROCESS_CASES = [c for c in CASES if c.id in {
    "json-line-and-column", "json-seed-example-trailing-comma", "unknown-flag", "db-not-sqlite",
    "purge-db-missing", "two-modes", "config-endless", "json-duplicate-key", "metrics-in-missing-directory",
    "keep-db-a-directory"}]


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_bad_input_in_a_real_process_prints_one_line_and_no_traceback(case: Case, tmp_path: Path) -> None:
    argv = prepare(case, tmp_path)
    before = snapshot(tmp_path)
    result = run_app(*argv, timeout=20, cwd=tmp_path)
    assert result.returncode == 2
    message = case.message.replace("{dir}", str(tmp_path))
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert snapshot(tmp_path) == before


SCHEMES = "http, https, socks4, socks4a, socks5 or socks5h"


@pytest.mark.slow
@pytest.mark.parametrize(("proxy", "reason"), [
    ("socks6://ops:pw-secret@127.0.0.1:1080", f"a proxy's scheme is {SCHEMES}, not socks6"),
    ("sock5h://ops:pw-secret@127.0.0.1:1080", f"a proxy's scheme is {SCHEMES}, not sock5h"),
    ("socks5h://ops:pw-secret@", "a proxy's host or port cannot be read from it (scheme://host:port, as "
                                 "socks5h://user:password@proxy.example:1080)"),
], ids=["unknown-socks-version", "misspelt-scheme", "no-host"])
@pytest.mark.parametrize("mode", [("-m",), ("-a", "--notify")], ids=["monitor", "notifier"])
def test_a_proxy_no_request_can_go_through_is_refused_at_start_naming_the_variable_its_password_hidden(
        proxy: str, reason: str, mode: tuple[str, ...], tmp_path: Path) -> None:
    # Before, `-m`: `socks6` a traceback per probe that printed the proxy's password and stored nothing; `sock5h`
    # every probe stored as `connection`, saying nothing of why; no host a traceback per probe. `-a --notify`
    # (a webhook goes through the environment's proxies too): `socks6` a traceback that printed the password at the
    # first delivery, exit 1.
    config = doc(notifications=[{"url": "http://127.0.0.1:9/hook", "name": "hook"}])
    case = Case("proxy", (*mode, "-c", "{cfg}", "-db", "{db}"), "", config=config)
    argv = prepare(case, tmp_path)
    before = snapshot(tmp_path)
    others = {name: "" for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")}
    result = run_app(*argv, timeout=20, cwd=tmp_path, env={**others, "ALL_PROXY": proxy, "all_proxy": proxy})
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", f"monitoringApp: error: ALL_PROXY={proxy.replace('pw-secret', '***')}: {reason}\n")
    assert snapshot(tmp_path) == before
