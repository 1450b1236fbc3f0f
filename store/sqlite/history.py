"""A restart's past read in a child process: `SqliteLogReader.probe_history`'s pages, SQL and decoding, on the
other core with a GIL of its own, handed back as the raw bytes of their columns.

In the monitor's process the reading competed for the GIL with the clock and the probes: an hour of 1,000 sites
(3.6 million rows) is about 30,000 instructions a row there, SQLite's and Python's. The child does them all; the
parent copies each page's columns back at C speed (`array.frombytes`).

The child is started with the interpreter (not forked: the monitor has threads) and imports the store alone (no
reactivex, no requests). It reads its request on stdin, then writes one frame a page on stdout, newest first,
and ends with a frame saying it is done, or why the log could not be read (the reader's own errors, raised
again in the parent). It runs ahead of the parent by what the pipe holds (a page), and no further: a write
waits for the parent to read. It never outlives the parent: a write to a pipe nobody reads fails (EPIPE) and
the child exits, whether the parent closed it, stopped reading or died (`kill -9`); the parent kills it when
the reading is closed. It runs in a session of its own, so a terminal's signals reach the monitor alone.

```text
parent:  [bounds]--start--------------------page 1---------page 2------...--done
child:           [start][read p1][read p2: waits for the pipe][read p3]...
```
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from struct import Struct
from typing import IO

from monitoringapp.domain.events import ProbeColumns
from monitoringapp.store.log import LogNotCreated, LogUnavailable, StoreError

Page = tuple[tuple[ProbeColumns, ...], int]
"""One page: its sites' columns (none of the hosts asked for: empty) and the rowid it starts at."""

PIPE_BYTES = 1 << 20
"""The pipe the pages come through (Linux's largest for a process without privileges): over half a page of 100,000
probes (`streams.past.CHUNK_ROWS`, 1.7 MB), so the child reads its next page while the parent takes the last."""
NICENESS = 10
"""The child's scheduling priority below the monitor's (nice(1)): it gets a core the monitor leaves idle."""
_PAGE, _DONE, _REFUSED = b"P", b"D", b"E"
_PAGE_HEADER = Struct("<qII")  # the rowid the page starts at, its sites, its probes
_LENGTH = Struct("<I")
_REFUSALS: dict[str, type[Exception]] = {kind.__name__: kind for kind in (LogNotCreated, LogUnavailable, StoreError)}
# The child's start: the interpreter and this module's imports; `main` imports the reader.
_CHILD = "from monitoringapp.store.sqlite.history import main; main()"


@dataclass(frozen=True, slots=True)
class HistorySpan:
    """The past to read: probes with `low` < timestamp <= `high` (ISO texts, as stored), of `hosts` only when
    given, with rowids from `lowest` up to (not including) `above`, newest first, `rows` rowids a page."""

    low: str
    high: str
    hosts: tuple[str, ...] | None
    rows: int
    lowest: int
    above: int


class HistoryChildFailed(Exception):
    """The child could not start, or ended before it had read all: the message says how, in a few words."""


class HistoryChild:
    """One reading of `span` of the log at `path` in a child process; `stop` (from any thread) kills it."""

    def __init__(self, path: Path, busy_timeout: float, span: HistorySpan) -> None:
        self._request = json.dumps({"path": str(path), "busy_timeout": busy_timeout, "low": span.low,
                                    "high": span.high, "hosts": span.hosts, "rows": span.rows,
                                    "lowest": span.lowest, "above": span.above}).encode()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.stopped = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def pages(self) -> Iterator[Page]:
        """The pages, newest first, each once it has come whole; HistoryChildFailed if the child cannot start or
        ends first (the pages given are all whole: the rest can be read elsewhere, none twice); the log's own
        LogUnavailable or StoreError as the child met them."""
        process = self._start()
        assert process.stdout is not None
        try:
            while not self.stopped:  # pages already in the pipe are not given once stopped
                kind = process.stdout.read(1)
                if kind == _PAGE:
                    yield _read_page(process.stdout)
                elif kind == _DONE:
                    process.wait(5.0)  # it closes its reader and exits
                    return
                elif kind == _REFUSED:
                    (length,) = _LENGTH.unpack(_read_exactly(process.stdout, _LENGTH.size))
                    refusal = json.loads(_read_exactly(process.stdout, length))
                    raise _REFUSALS[refusal["kind"]](refusal["message"])
                else:
                    raise _ChildEnded
        except (_ChildEnded, OSError, ValueError, subprocess.TimeoutExpired):
            raise HistoryChildFailed(self._how_it_ended()) from None
        finally:
            self._end()
            process.stdout.close()

    def stop(self) -> None:
        """No more pages; the child is killed."""
        with self._lock:
            self.stopped = True
        self._end()

    def _end(self) -> None:
        with self._lock:
            process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            process.wait()

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            with self._lock:
                if self.stopped:
                    raise HistoryChildFailed("the reading was closed")
                # stderr to nowhere: what a failing child would say, the parent says in one line. A session of its
                # own: a terminal's Ctrl-C or hang-up reaches the monitor's process group, and the monitor ends its
                # child itself (a killed child was a warning on every Ctrl-C while the past loaded).
                process = self._process = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                                           start_new_session=True)
        except OSError as error:
            raise HistoryChildFailed(f"cannot start a process to read the past ({error.strerror})") from None
        assert process.stdin is not None and process.stdout is not None
        # Linux's; elsewhere, or beyond the system's limit, the pipe stays as it is.
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(process.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        try:
            with process.stdin:
                process.stdin.write(self._request)
        except OSError:
            pass  # it ended before it read the request: `pages` finds it has ended
        return process

    def _how_it_ended(self) -> str:
        process = self._process
        assert process is not None
        try:
            code = process.wait(5.0)  # its stdout has closed: it is ending, if it has not ended
        except subprocess.TimeoutExpired:
            return "the process reading the past stopped writing"
        if code < 0:
            return f"the process reading the past was killed (signal {-code})"
        return f"the process reading the past ended early (exit code {code})"


class _ChildEnded(Exception):
    """The child's output ended before a frame did."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise _ChildEnded
    return data


def _read_page(stream: IO[bytes]) -> Page:
    # One read of the whole frame (a page of 100,000 probes is about 1.7 MB, more than the pipe holds: the read takes
    # it as it comes), not a read a column: each read that waits lets the GIL go and waits to get it back.
    (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    frame = memoryview(_read_exactly(stream, size))
    below, count, total = _PAGE_HEADER.unpack_from(frame)
    at = _PAGE_HEADER.size
    counts, lengths = array("I"), array("I")
    counts.frombytes(frame[at:at + 4 * count])
    lengths.frombytes(frame[at + 4 * count:at + 8 * count])
    at += 8 * count
    names = bytes(frame[at:at + sum(lengths)])
    at += len(names)
    timestamps, response_times, outcomes = array("d"), array("f"), array("I")
    timestamps.frombytes(frame[at:at + 8 * total])
    response_times.frombytes(frame[at + 8 * total:at + 12 * total])
    outcomes.frombytes(frame[at + 12 * total:at + 16 * total])
    sites = []
    first = name = 0
    for probes, length in zip(counts, lengths, strict=True):
        last = first + probes
        sites.append(ProbeColumns(names[name:name + length].decode(), timestamps[first:last],
                                  response_times[first:last], outcomes[first:last]))
        first, name = last, name + length
    return tuple(sites), below


def _page_frame(sites: tuple[ProbeColumns, ...], below: int) -> bytes:
    names = [site.host.encode() for site in sites]
    body = [_PAGE_HEADER.pack(below, len(sites), sum(len(site) for site in sites)),
            array("I", (len(site) for site in sites)).tobytes(), array("I", map(len, names)).tobytes(), *names,
            *(_bytes_of(site.timestamps) for site in sites), *(_bytes_of(site.response_times) for site in sites),
            *(_bytes_of(site.outcomes) for site in sites)]
    size = sum(map(len, body))
    return b"".join([_PAGE, _LENGTH.pack(size), *body])


def _bytes_of(column: Sequence[float]) -> bytes:
    assert isinstance(column, array)  # as the reader packs them
    return column.tobytes()


def main() -> None:
    """The child: read the request on stdin, then write the pages on stdout until done or refused."""
    from monitoringapp.store.sqlite.reader import SqliteLogReader, history_columns

    # The monitor's clock and probes come first: on a busy machine the past loads later, the ticks stay on time.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)
    request = json.loads(sys.stdin.buffer.read())
    hosts = request["hosts"]
    span = HistorySpan(request["low"], request["high"], None if hosts is None else tuple(hosts), request["rows"],
                       request["lowest"], request["above"])
    out = sys.stdout.buffer
    reader = SqliteLogReader(request["path"], busy_timeout=request["busy_timeout"], history_child_from=None)
    wanted = None if span.hosts is None else frozenset(span.hosts)
    # One thread: a second one running the next page's SQL while this one decoded waited for the GIL after each
    # of SQLite's steps (a site's row each), and the reading took twice as long.
    try:
        above = span.above
        while above > span.lowest:
            found, above = reader.history_rows(span, above)
            out.write(_page_frame(history_columns(found, wanted), above))
            out.flush()
        out.write(_DONE)
        out.flush()
    except (LogUnavailable, StoreError) as error:
        refusal = json.dumps({"kind": type(error).__name__, "message": str(error)}).encode()
        out.write(_REFUSED + _LENGTH.pack(len(refusal)) + refusal)
        out.flush()
    except BrokenPipeError:
        # The parent stopped reading (closed, or died): done. Nothing more goes to the pipe, not even at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    finally:
        reader.close()
