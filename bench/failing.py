"""`-m` against sites that fail: what a monitor costs when its targets (or its network) are down.

    python -m bench.failing refusing 1000                      # this checkout, 3 runs
    python -m bench.failing refusing 1000 --runs 3 ../a ../b   # two checkouts (each with its .venv), alternated
    python -m bench.failing half 1000      # half healthy (nginx, else the Python server), half refusing
    python -m bench.failing backlog 200    # a listener whose backlog is full: each connect times out
    python -m bench.failing silent 200     # a listener that accepts and never answers: each read times out
    python -m bench.failing healthy 1000   # none failing (nginx, else the Python server): the same figures to compare

Refusing targets are loopback ports held bound and never listening (`bench.ports`), `--ports` of them (1: one host
down). Each run starts `monitoringApp.py -m --silent --metrics` of a checkout, waits out a warm-up, and measures a
window: probes stored in it (a failure reaches no server to count it), the process's CPU, its clock's ticks,
skipped ticks and lateness (the whole run, as `--metrics` reports them), peak RSS, the most threads seen, and the
stored rows' error kinds and details (which must not change between checkouts).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.capacity import write_config
from bench.ports import held_port, port_of
from bench.processes import check_monitor_exit, stop_process
from bench.procstat import peak_rss_mb, thread_count, tree_cpu_seconds
from bench.target_server import TargetServer

REPO = Path(__file__).resolve().parent.parent
KINDS = ("refusing", "half", "backlog", "silent", "healthy")
Figures = dict[str, Any]


@contextlib.contextmanager
def refusing_ports(count: int) -> Iterator[list[int]]:
    """`count` loopback ports that refuse every connection, held for the block."""
    held = [held_port() for _ in range(count)]
    try:
        yield [port_of(sock) for sock in held]
    finally:
        for sock in held:
            sock.close()


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    """A listener that never accepts, its backlog filled: a connect to it gets no answer to its SYN (Linux drops
    it), so it times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = port_of(listener)
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):  # backlog 0 holds one connection; a few more are left waiting in SYN_SENT
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        yield port
    finally:
        for sock in (*fillers, listener):
            sock.close()


@contextlib.contextmanager
def silent_listener(hold: float = 5.0) -> Iterator[int]:
    """A listener that accepts every connection and never answers; each is closed after `hold` seconds."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    listener.settimeout(0.2)
    stop = threading.Event()
    held: deque[tuple[float, socket.socket]] = deque()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                sock, _ = listener.accept()
                held.append((time.monotonic(), sock))
            while held and held[0][0] < time.monotonic() - hold:
                held.popleft()[1].close()

    thread = threading.Thread(target=accept, name="silent-listener", daemon=True)
    thread.start()
    try:
        yield port_of(listener)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for _, sock in held:
            sock.close()


def _python_of(checkout: Path) -> Path:
    venv = checkout / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def _last_row(db: Path) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as connection:
        try:
            return int(connection.execute("SELECT coalesce(max(id), 0) FROM website_monitoring").fetchone()[0])
        except sqlite3.OperationalError:  # not made yet
            return 0


def one_run(checkout: Path, urls: list[str], warmup: float, seconds: float, timeout: float | None = None) -> Figures:
    """One `-m` run of `checkout` over `urls` at 1 s (each probe's timeout `timeout`, else the interval): the
    window's figures."""
    with tempfile.TemporaryDirectory(prefix="bench-failing-") as scratch:
        work = Path(scratch)
        config, db, metrics = work / "config.json", work / "monitoring.db", work / "metrics.json"
        write_config(config, urls, 1.0)
        if timeout is not None:
            config.write_text(json.dumps({**json.loads(config.read_text()), "defaultTimeout": timeout}))
        process = subprocess.Popen([str(_python_of(checkout)), str(checkout / "monitoringApp.py"), "-m", "--silent",
                                    "--metrics", str(metrics), "-c", str(config), "-db", str(db)],
                                   cwd=checkout, stderr=subprocess.PIPE)
        most_threads = 0
        try:
            time.sleep(warmup)
            cpu0, rows0, t0 = tree_cpu_seconds([process.pid]), _last_row(db), time.monotonic()
            while time.monotonic() < t0 + seconds:
                most_threads = max(most_threads, thread_count(process.pid))
                time.sleep(0.25)
            cpu1, rows1, t1 = tree_cpu_seconds([process.pid]), _last_row(db), time.monotonic()
            rss = peak_rss_mb(process.pid)
        finally:
            stop_process(process, 20.0)
        check_monitor_exit(process)
        clock = json.loads(metrics.read_text())
        with contextlib.closing(sqlite3.connect(db)) as connection:
            kinds = Counter(f"{kind}: {detail}" for kind, detail in connection.execute(
                "SELECT errorKind, detail FROM website_monitoring WHERE errorKind IS NOT NULL"))
    probes, cpu = rows1 - rows0, cpu1 - cpu0
    return {"probes_per_s": round(probes / (t1 - t0), 1), "cores": round(cpu / (t1 - t0), 3),
            "cpu_ms_per_probe": round(cpu * 1000 / probes, 4) if probes else None,
            "ticks": clock["ticks"], "skipped": clock["skipped"],
            "skipped_pct": round(100 * clock["skipped"] / max(1, clock["ticks"] + clock["skipped"]), 2),
            "lateness_p99_ms": clock["lateness_ms"]["p99"], "peak_rss_mb": round(rss, 1),
            "most_threads": most_threads, "errors": dict(kinds.most_common(5))}


@contextlib.contextmanager
def targets(kind: str, sites: int, ports: int) -> Iterator[list[str]]:
    """The URLs of `sites` sites of `kind`."""
    with contextlib.ExitStack() as stack:
        if kind == "healthy":
            server = stack.enter_context(TargetServer())
            yield [server.url(n) for n in range(sites)]
            return
        if kind in ("refusing", "half"):
            held = stack.enter_context(refusing_ports(ports))
            refusing = [f"http://127.0.0.1:{held[n % len(held)]}/{n}" for n in range(sites)]
            if kind == "refusing":
                yield refusing
                return
            server = stack.enter_context(TargetServer())
            yield [server.url(n) if n % 2 else refusing[n] for n in range(sites)]
            return
        port = stack.enter_context(full_backlog() if kind == "backlog" else silent_listener())
        yield [f"http://127.0.0.1:{port}/{n}" for n in range(sites)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failing", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("sites", type=int)
    parser.add_argument("checkouts", type=Path, nargs="*", help="checkouts to run, alternated (this one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ports", type=int, default=1, help="refusing ports the sites are spread over (1)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=None,
                        help="each probe's timeout, seconds (the interval, 1 s: a probe that takes all of it skips "
                             "its site's next tick)")
    args = parser.parse_intermixed_args(argv)
    checkouts = [c.resolve() for c in args.checkouts] or [REPO]
    found: dict[Path, list[Figures]] = {c: [] for c in checkouts}
    with targets(args.kind, args.sites, args.ports) as urls:
        for n in range(args.runs):
            for checkout in checkouts:
                figures = one_run(checkout, urls, args.warmup, args.seconds, args.timeout)
                figures["load"] = round(os.getloadavg()[0], 2)
                found[checkout].append(figures)
                print(f"  {checkout.name} run {n + 1}/{args.runs}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    for checkout, runs in found.items():
        numbers = {key: statistics.median(run[key] for run in runs) for key, value in runs[0].items()
                   if isinstance(value, int | float) and all(run[key] is not None for run in runs)}
        print(f"{checkout.name}: {args.kind} {args.sites} sites, median of {len(runs)}: {json.dumps(numbers)}")
        print(f"  errors stored (first run): {json.dumps(runs[0]['errors'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
