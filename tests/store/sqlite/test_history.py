"""A restart's past read in a child process (`store.sqlite.history`): the very columns this process reads, each
page once when the child cannot start or dies, and no child left once the reading or the reader is closed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bench.procstat import children
from monitoringapp.domain.events import ErrorKind, Probe, ProbeColumns
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.sqlite import history
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import INSERT_PROBE, insert_events, open_for_writing

A, B, C = "http://a.test/", "http://bücher.test/", "http://c.test/"  # B's name is longer in UTF-8 than in text
T0 = 1_790_000_000.0
Pages = list[list[tuple[str, bytes, bytes, bytes]]]


def stored(path: Path, probes: list[Probe], *raw: tuple[object, ...]) -> Path:
    connection = open_for_writing(path)
    with connection:
        insert_events(connection, probes)
        connection.executemany(INSERT_PROBE, raw)
    connection.close()
    return path


def every_kind_of_probe(count: int) -> list[Probe]:
    """Three sites' probes, their rowids interleaved, with every error kind, NULL response times, statuses from
    none to 5xx, and times that are no whole number of milliseconds apart."""
    kinds = [None, *ErrorKind]
    probes = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        probes.append(Probe(T0 + n * 0.137, (A, B, C)[n % 3], kind is None and n % 4 != 0,
                            None if kind is not None else (200, 503, 418, 301)[n % 4],
                            None if kind is not None or n % 11 == 0 else 0.1 + n / 7, kind))
    return probes


def as_bytes(chunks: Iterator[tuple[ProbeColumns, ...]]) -> Pages:
    """Every column of every page, bit for bit."""
    return [[(site.host, raw(site.timestamps), raw(site.response_times), raw(site.outcomes)) for site in page]
            for page in chunks]


def raw(column: Sequence[float]) -> bytes:
    assert isinstance(column, array)
    return column.tobytes()


def history_children() -> list[int]:
    """The children of this process that read a past (none of another test's servers)."""
    found = []
    for pid in children(os.getpid()):
        with contextlib.suppress(OSError):
            if b"store.sqlite.history" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def read(path: Path, *, child: bool, hosts: set[str] | None = None, rows: int = 700,
         warnings: list[str] | None = None) -> Pages:
    reader = SqliteLogReader(path, history_child_from=0 if child else None,
                             warn=None if warnings is None else warnings.append)
    try:
        return as_bytes(reader.probe_history(T0 + 1, T0 + 10_000, hosts, rows))
    finally:
        reader.close()


@pytest.mark.slow  # a real child process
def test_the_child_gives_the_very_columns_read_here_page_by_page_odd_rows_and_a_site_filter_included(
        tmp_path: Path) -> None:
    path = stored(tmp_path / "m.db", every_kind_of_probe(3_000),
                  # Times as other writers wrote them (no milliseconds, fewer digits), and a kind never heard of.
                  (iso_utc(T0 + 500)[:19] + "Z", A, 1, 200, 2.5, None, "local", None, None),
                  (iso_utc(T0 + 501)[:21] + "Z", C, 0, None, None, "a-kind-from-a-newer-version", "local", None,
                   None),
                  (iso_utc(T0 + 502), B, 0, 503, 1e-9, None, "local", None, None))
    here = read(path, child=False)
    assert len(here) > 3 and {site[0] for page in here for site in page} == {A, B, C}
    assert read(path, child=True) == here
    only = read(path, child=True, hosts={B, C})
    assert only == read(path, child=False, hosts={B, C}) and {site[0] for page in only for site in page} == {B, C}


@pytest.mark.slow  # real child processes
def test_a_site_filter_gives_each_pages_probes_of_those_sites_as_the_whole_reading_has_them(tmp_path: Path) -> None:
    # The filter is in the SQL (a reload's few added sites): the pages keep their bounds, those with none of the
    # sites are left out, and each site's columns are the very ones the reading of every site gives.
    d = "http://d.test/"  # in two pages only
    path = stored(tmp_path / "m.db", every_kind_of_probe(1_500),
                  *((iso_utc(T0 + 300 + n), d, 1, 200, 2.5, None, "local", None, None) for n in range(20)),
                  *((iso_utc(T0 + 400 + n), d, 0, None, None, "timeout", "local", None, None) for n in range(10)))
    whole = read(path, child=False, rows=20)
    for hosts in ({B}, {A, C}, {d}, {d, B}):
        expected = [kept for page in whole if (kept := [site for site in page if site[0] in hosts])]
        assert len(expected) == 2 if hosts == {d} else len(expected) > 70
        assert read(path, child=False, hosts=hosts, rows=20) == expected
        assert read(path, child=True, hosts=hosts, rows=20) == expected


@pytest.mark.slow  # a real child process, killed
def test_a_child_killed_mid_reading_leaves_the_rest_to_this_process_each_page_once_and_says_so_once(
        tmp_path: Path) -> None:
    # 30,000 probes in pages of 1,000: far more than a pipe holds, so the child is still writing when killed.
    path = stored(tmp_path / "m.db", every_kind_of_probe(30_000))
    expected = read(path, child=False, rows=1_000)
    warnings: list[str] = []
    reader = SqliteLogReader(path, history_child_from=0, warn=warnings.append)
    try:
        chunks = reader.probe_history(T0 + 1, T0 + 10_000, None, 1_000)
        first = as_bytes(iter([next(chunks)]))
        (child,) = history_children()
        os.kill(child, signal.SIGKILL)
        rest = as_bytes(chunks)
    finally:
        reader.close()
    assert first + rest == expected
    assert warnings == [f"warning: {path}: the process reading the past was killed (signal 9); the rest of the past "
                        "is read in this process"]


# A monitor in a terminal: it reads the first page, then Ctrl-C reaches its whole process group (the monitor
# stops on it); the reading goes on until the monitor closes it.
_CTRL_C_MID_READING = """
import json, os, signal, sys
from monitoringapp.store.sqlite.reader import SqliteLogReader
signal.signal(signal.SIGINT, lambda number, frame: None)
warnings = []
reader = SqliteLogReader(sys.argv[1], history_child_from=0, warn=warnings.append)
chunks = reader.probe_history(float(sys.argv[2]), float(sys.argv[3]), None, 1_000)
pages = [next(chunks)]
os.killpg(0, signal.SIGINT)
pages.extend(chunks)
reader.close()
print(json.dumps({"pages": len(pages), "probes": sum(len(site) for page in pages for site in page),
                  "warnings": warnings}))
"""


@pytest.mark.slow  # a real monitor-like process and its child
def test_a_ctrl_c_to_the_monitors_process_group_does_not_reach_the_child(tmp_path: Path) -> None:
    path = stored(tmp_path / "m.db", every_kind_of_probe(30_000))
    expected = read(path, child=False, rows=1_000)
    # Its own session, as a shell gives a command it starts: the SIGINT stays within that process group.
    done = subprocess.run([sys.executable, "-c", _CTRL_C_MID_READING, str(path), str(T0 + 1), str(T0 + 10_000)],
                          capture_output=True, text=True, timeout=60, start_new_session=True, check=True)
    probes = sum(len(timestamps) // 8 for page in expected for _, timestamps, _, _ in page)
    assert probes > 29_000
    assert json.loads(done.stdout) == {"pages": len(expected), "probes": probes, "warnings": []}
    assert done.stderr == ""


def test_a_child_that_cannot_start_leaves_the_whole_past_to_this_process_in_one_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = stored(tmp_path / "m.db", every_kind_of_probe(3_000))
    expected = read(path, child=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    warnings: list[str] = []
    assert read(path, child=True, warnings=warnings) == expected
    assert warnings == [f"warning: {path}: cannot start a process to read the past (No such file or directory); "
                        "the rest of the past is read in this process"]


@pytest.mark.slow  # a real child process
def test_a_child_that_fails_before_its_first_page_leaves_the_whole_past_to_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = stored(tmp_path / "m.db", every_kind_of_probe(3_000))
    expected = read(path, child=False)
    monkeypatch.setattr(history, "_CHILD", "raise SystemExit(3)")  # an interpreter that cannot import us, say
    warnings: list[str] = []
    assert read(path, child=True, warnings=warnings) == expected
    assert warnings == [f"warning: {path}: the process reading the past ended early (exit code 3); the rest of the "
                        "past is read in this process"]


@pytest.mark.slow  # a real child process
def test_closing_the_reading_or_the_reader_ends_the_child_and_reads_nothing_more(tmp_path: Path) -> None:
    path = stored(tmp_path / "m.db", every_kind_of_probe(30_000))
    warnings: list[str] = []
    reader = SqliteLogReader(path, history_child_from=0, warn=warnings.append)
    try:
        chunks = reader.probe_history(T0 + 1, T0 + 10_000, None, 1_000)
        next(chunks)
        assert len(history_children()) == 1
        chunks.close()
        assert history_children() == []  # killed and reaped
        chunks = reader.probe_history(T0 + 1, T0 + 10_000, None, 1_000)
        next(chunks)
        assert len(history_children()) == 1
        reader.close()  # from under the reading (the monitor stopping while its past loads)
        assert history_children() == []
        assert list(chunks) == []  # nothing more, and not read here instead
    finally:
        reader.close()
    assert warnings == []


def test_a_short_past_is_read_here_without_a_child(tmp_path: Path) -> None:
    path = stored(tmp_path / "m.db", every_kind_of_probe(3_000))
    reader = SqliteLogReader(path, history_child_from=3_000)  # the past's rowids span 2,999
    try:
        chunks = reader.probe_history(T0 + 1, T0 + 10_000, None, 700)
        next(chunks)
        assert history_children() == []
    finally:
        reader.close()

