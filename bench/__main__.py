"""`python -m bench`: the benchmark suite, medians of several runs, as a table and as JSON.

Capacity runs need nothing but this repo (nginx and Prometheus + blackbox_exporter
are used when installed); micro runs need nothing at all. See README "Performance".
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import baseline, capacity, micro, restart
from bench.clock_start import clock_start
from bench.target_server import TargetServer
from monitoringapp.sinks.table import format_table

Figures = dict[str, Any]
RESULTS = Path(__file__).resolve().parent / "results"


def median_figures(runs: list[Figures]) -> Figures:
    """The median of every number across runs (recursively); other values from the first run."""
    merged: Figures = {}
    for key, first in runs[0].items():
        values = [run[key] for run in runs if key in run]
        if isinstance(first, dict):
            merged[key] = median_figures(values)
        elif isinstance(first, int | float) and not isinstance(first, bool) and None not in values:
            middle = statistics.median(values)
            merged[key] = round(middle, 4) if isinstance(middle, float) else middle
        else:
            merged[key] = first
    return merged


def repeated(label: str, runs: int, once: Callable[[], Figures]) -> Figures:
    results = []
    for n in range(runs):
        started = time.monotonic()
        results.append(once())
        print(f"  {label} run {n + 1}/{runs}: {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
    return {"median": median_figures(results), "runs": results}


def _version(command: Sequence[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else None


def machine() -> Figures:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "nginx": _version(["nginx", "-v"]), "prometheus": _version(["prometheus", "--version"]),
            "blackbox_exporter": _version(["prometheus-blackbox-exporter", "--version"])}


def run_capacity(args: argparse.Namespace, results: Figures) -> None:
    with TargetServer(prefer_nginx=not args.python_server) as server:
        results["target_server"] = server.kind
        print(f"target server: {server.kind} on 127.0.0.1:{server.port}", file=sys.stderr)
        results["transport"] = repeated("bare transport", args.runs, lambda: baseline.transport_cpu(server))
        peer = capacity.peer_commands() is not None and not args.no_peer
        if not peer and not args.no_peer:
            print("peer not installed (apt-get install prometheus prometheus-blackbox-exporter): skipped",
                  file=sys.stderr)
        for sites in args.sites:
            ours, theirs = [], []
            for n in range(args.runs):
                started = time.monotonic()
                ours.append(capacity.run_monitor(server, sites, args.interval, args.warmup, args.seconds))
                if peer and sites in args.peer_sites:
                    theirs.append(capacity.run_peer(server, sites, args.interval, args.warmup + 3, args.seconds))
                print(f"  capacity {sites} sites run {n + 1}/{args.runs}: {time.monotonic() - started:.1f}s",
                      file=sys.stderr, flush=True)
            entry: Figures = {"monitor": {"median": median_figures(ours), "runs": ours}}
            if theirs:
                entry["peer"] = {"median": median_figures(theirs), "runs": theirs}
                mine, peer_median = entry["monitor"]["median"], entry["peer"]["median"]
                entry["ratios"] = {
                    "cpu_per_probe": round(mine["cpu_ms_per_probe"] / peer_median["cpu_ms_per_probe"], 3),
                    "peak_rss": round(mine["peak_rss_mb"] / peer_median["peak_rss_mb"], 3),
                }
            results["capacity"][str(sites)] = entry
    if args.far_sites or args.mixed_sites:
        with TargetServer(prefer_nginx=False, delay_ms=args.far_ms) as far:
            for sites in args.far_sites:
                key = f"{sites} far"
                results["capacity"][key] = {"monitor": repeated(
                    f"capacity {sites} sites {args.far_ms:g} ms away", args.runs,
                    functools.partial(capacity.run_monitor, far, sites, args.interval, args.warmup, args.seconds))}
                results["capacity"][key]["far_ms"] = args.far_ms
            if args.mixed_sites:
                with TargetServer(prefer_nginx=not args.python_server) as near:
                    for sites in args.mixed_sites:
                        key = f"{sites} mixed"
                        results["capacity"][key] = {"monitor": repeated(
                            f"capacity {sites} sites and {args.mixed_far} {args.far_ms:g} ms away", args.runs,
                            functools.partial(capacity.run_monitor, near, sites, args.interval, args.warmup,
                                              args.seconds, far=(far, args.mixed_far)))}
                        results["capacity"][key].update(mixed_far=args.mixed_far, far_ms=args.far_ms)


def run_restart(args: argparse.Namespace, results: Figures) -> None:
    """A real -m restarted on an hour of stored probes; and the clocks' first second, in-process."""
    found = results["restart"]
    for sites in args.restart_sites:
        entry = restart.restart_runs(sites, args.runs, args.restart_seconds, prefer_nginx=not args.python_server,
                                     delay_ms=args.restart_far_ms, past_hours=args.restart_past_hours)
        entry["median"] = median_figures(entry["runs"])
        results.setdefault("target_server", entry["target_server"])
        found[str(sites)] = entry
    with TargetServer(prefer_nginx=not args.python_server) as server:
        for sites in args.clock_sites:
            found[f"clock {sites}"] = repeated(f"clock start {sites} sites", args.runs,
                                               functools.partial(clock_start, server, sites, args.clock_seconds))


def run_micro(args: argparse.Namespace, results: Figures) -> None:
    found = results["micro"]
    found["operators"] = repeated("operators", args.runs, micro.operators_events_per_s)
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as scratch:
        log = Path(scratch) / "replay.db"
        micro.write_log(log, args.replay_rows, sites=250)
        found["replay"] = repeated("replay", args.runs, lambda: micro.replay_rows_per_s(log))
        found["replay_mode"] = repeated("--replay", args.runs, lambda: micro.replay_probes_per_s(log))
        found["history"] = repeated("restart fill", args.runs, lambda: micro.history_rows_per_s(log))
    with TargetServer(prefer_nginx=False) as server:
        found["conditions"] = repeated("conditions on 4 kB JSON", args.runs,
                                       lambda: baseline.conditions_cpu(server))
    found["sink"] = repeated("sqlite sink", args.runs, micro.sink_rows_per_s)
    for sites in args.memory_sites:
        # tracemalloc of identical input is deterministic; one run of the large case is enough.
        runs = args.runs if sites <= 100 else 1
        found[f"memory_{sites}"] = repeated(f"memory {sites} sites", runs,
                                            functools.partial(micro.window_memory_mb, sites))


def targets(results: Figures) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, target, met) for each of the issue's targets that this run measured."""
    rows: list[tuple[str, str, str, bool | None]] = []
    cap = results["capacity"]
    if "200" in cap:
        mine = cap["200"]["monitor"]["median"]
        cpu, rss = mine["cpu_ms_per_probe"], mine["peak_rss_mb"]
        rows.append(("200 sites: CPU per probe", f"{cpu:.3f} ms", "<= 1.5 ms", cpu <= 1.5))
        rows.append(("200 sites: peak RSS", f"{rss:.1f} MB", "<= 80 MB", rss <= 80))
        if "ratios" in cap["200"]:
            ratios = cap["200"]["ratios"]
            rows.append(("200 sites: CPU per probe / peer's", f"{ratios['cpu_per_probe']:.2f}", "<= 0.5",
                         ratios["cpu_per_probe"] <= 0.5))
            rows.append(("200 sites: peak RSS / peer's", f"{ratios['peak_rss']:.2f}", "< 0.7",
                         ratios["peak_rss"] < 0.7))
    if "500" in cap:
        runs = cap["500"]["monitor"]["runs"]
        skipped = max(run["skipped"] for run in runs)
        p99 = cap["500"]["monitor"]["median"]["lateness_ms"]["p99"]
        rows.append(("500 sites: skipped ticks (worst run)", str(skipped), "0", skipped == 0))
        rows.append(("500 sites: tick lateness p99", f"{p99:.1f} ms", "< 100 ms", p99 < 100))
    for sites, entry in results["restart"].items():
        if sites.startswith("clock"):
            continue
        first, rss = entry["median"]["first_probe_stored_s"], entry["median"]["peak_rss_mb"]
        loaded = entry["median"]["past_loaded_s"]
        stored = f"{entry.get('past_hours', 1):g} h"
        rows.append((f"restart on {stored} of {sites} sites: first new probe stored", f"{first:.2f} s", "<= 2 s",
                     first is not None and first <= 2))
        rows.append((f"restart on {stored} of {sites} sites: the hour in the report windows",
                     "not in the run" if loaded is None else f"{loaded:.1f} s", "<= 15 s",
                     loaded is not None and loaded <= 15))
        rows.append((f"restart on {stored} of {sites} sites: peak RSS", f"{rss:.1f} MB", "< 150 MB", rss < 150))
        if sites == "200":
            full = entry["median"]["rss_at_end_mb"]
            rows.append(("200 sites, the hour's windows full: RSS", f"{full:.1f} MB", "< 60 MB", full < 60))
    found = results["micro"]
    if "operators" in found:
        rate = found["operators"]["median"]["with_reports_events_per_s"]
        rows.append(("operators answering the default reports, a second's probes a batch: events/s", f"{rate:,}",
                     ">= 200,000", rate >= 200_000))
        rate = found["operators"]["median"]["events_per_s"]
        rows.append(("operators: probe events/s", f"{rate:,}", ">= 300,000", rate >= 300_000))
    if "replay" in found:
        rate = found["replay"]["median"]["rows_per_s"]
        rows.append(("replay from SQLite: rows/s", f"{rate:,}", ">= 200,000", rate >= 200_000))
    if "replay_mode" in found:
        rate = found["replay_mode"]["median"]["probes_per_s"]
        rows.append(("--replay: probes/s", f"{rate:,}", ">= 200,000", rate >= 200_000))
    if "conditions" in found:
        ratio = found["conditions"]["median"]["ratio"]
        rows.append(("CPU per probe, json conditions on 4 kB / plain", f"{ratio:.2f}", "<= 1.20", ratio <= 1.2))
    if "memory_1000" in found:
        mb = found["memory_1000"]["median"]["mb"]
        rows.append(("windows, 1 h of 1,000 sites at 1 s", f"{mb:.1f} MB", "<= 100 MB", mb <= 100))
    return rows


def figure_rows(results: Figures) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "transport" in results:
        bare = results["transport"]["median"]
        rows.append(("bare requests.Session.get, CPU/request", f"{bare['requests_session_get_ms']:.3f} ms"))
        rows.append(("bare HttpProber.probe (our transport), CPU/request", f"{bare['http_prober_probe_ms']:.3f} ms"))
        if "http_client_floor_ms" in bare:
            rows.append(("floor: http.client GET, one kept-alive connection, CPU/request",
                         f"{bare['http_client_floor_ms']:.3f} ms"))
    for sites, entry in results["capacity"].items():
        for who in ("monitor", "peer"):
            if who not in entry:
                continue
            m = entry[who]["median"]
            name = "monitoringApp -m" if who == "monitor" else "prometheus + blackbox_exporter"
            where = (f" and {entry['mixed_far']} {entry['far_ms']:g} ms away" if "mixed_far" in entry
                     else f" {entry['far_ms']:g} ms away" if "far_ms" in entry else "")
            rows.append((f"{sites.split()[0]} sites{where} at {results['interval']:g} s, {name}: probes/s",
                         f"{m['probes_per_s']:.0f}"))
            rows.append(("  CPU per probe / cores used / peak RSS",
                         f"{m['cpu_ms_per_probe']:.3f} ms / {m['cores']:.3f} / {m['peak_rss_mb']:.1f} MB"))
            if who == "monitor":
                late, steady = m["lateness_ms"], m["lateness_after_first_ticks_ms"]
                rows.append(("  ticks / skipped / stored rows / stored response time p50",
                             f"{m['ticks']} / {m['skipped']} / {m['probes_stored']} / {m['response_ms_p50']:.2f} ms"))
                rows.append(("  tick lateness p50 / p99 / max",
                             f"{late['p50']:.1f} / {late['p99']:.1f} / {late['max']:.1f} ms"))
                rows.append(("  the same after each site's first tick",
                             f"{steady['p50']:.1f} / {steady['p99']:.1f} / {steady['max']:.1f} ms"))
    for key, entry in results["restart"].items():
        if key.startswith("clock"):
            m = entry["median"]
            rows.append((f"clocks' start, {m['sites']} sites: connect() / first ticks late p99 / later p99",
                         f"{m['connect_ms']:.1f} / {m['first_ticks_late_ms']['p99']:.1f} / "
                         f"{m['later_ticks_late_ms']['p99']:.1f} ms"))
        else:
            m = entry["median"]
            where = f" {entry['far_ms']:g} ms away" if entry.get("far_ms") else ""
            rows.append((f"restart, {key} sites{where} on {entry['stored_rows']:,} stored rows: first probe sent / "
                         "stored / past loaded / peak RSS / RSS at the end",
                         f"{m['first_probe_sent_s']:.2f} / {m['first_probe_stored_s']:.2f} s / "
                         f"{'-' if m['past_loaded_s'] is None else format(m['past_loaded_s'], '.1f') + ' s'} / "
                         f"{m['peak_rss_mb']:.1f} / {m['rss_at_end_mb']:.1f} MB"))
            rows.append(("  the same runs: skipped ticks / tick lateness p99",
                         f"{m['skipped']:.0f} / {m['lateness_ms']['p99']:.1f} ms"))
    found = results["micro"]
    if "operators" in found:
        ops = found["operators"]["median"]
        rows.append(("operators: probe events/s (per CPU second)",
                     f"{ops['events_per_s']:,} ({ops['events_per_cpu_s']:,})"))
        rows.append(("operators incl. default reports' stats, a second's probes a batch: events/s (per CPU second)",
                     f"{ops['with_reports_events_per_s']:,} ({ops['with_reports_events_per_cpu_s']:,})"))
        rows.append(("  the same, each probe on its own (as -m lands them): events/s (per CPU second)",
                     f"{ops['one_at_a_time_with_reports_events_per_s']:,} "
                     f"({ops['one_at_a_time_with_reports_events_per_cpu_s']:,})"))
    if "replay" in found:
        replay = found["replay"]["median"]
        rows.append((f"replay of {replay['rows']:,} stored rows: rows/s (read {replay['read_s']} s, "
                     f"operators {replay['operators_s']} s)", f"{replay['rows_per_s']:,}"))
    if "replay_mode" in found:
        mode = found["replay_mode"]["median"]
        rows.append((f"--replay of {mode['probes']:,} stored probes through the alert machines: probes/s",
                     f"{mode['probes_per_s']:,}"))
    if "conditions" in found:
        conditions = found["conditions"]["median"]
        rows.append(("CPU per probe of a 4 kB JSON answer: plain / two json conditions",
                     f"{conditions['plain_ms']:.3f} / {conditions['json_conditions_ms']:.3f} ms"))
    if "history" in found:
        history = found["history"]["median"]
        rows.append((f"a restart's fill of {history['rows']:,} stored rows into the report windows: rows/s "
                     f"(read {history['read_s']} s, windows {history['windows_s']} s)", f"{history['rows_per_s']:,}"))
    if "sink" in found:
        rows.append(("SQLite sink: rows/s", f"{found['sink']['median']['rows_per_s']:,}"))
    for key in sorted(k for k in found if k.startswith("memory_")):
        memory = found[key]["median"]
        rows.append((f"windows, 1 h of {memory['sites']:,} sites at 1 s (tracemalloc)",
                     f"{memory['mb']:.1f} MB ({memory['bytes_per_probe_kept']} B/probe kept)"))
    return rows


def render(results: Figures) -> str:
    m = results["machine"]
    lines = [f"monitoringApp benchmarks, {results['started']}: {m['cores']} cores ({m['cpu']}), "
             f"Python {m['python']}, target server {results.get('target_server', '-')}, "
             f"median of {results['runs']} run(s)", f"command: {results['command']}", ""]
    lines += format_table(("figure", "median"), figure_rows(results), (False, True))
    checks = targets(results)
    if checks:
        lines += ["", *format_table(("target", "measured", "wanted", "met"),
                                    [(a, b, c, "yes" if ok else "NO") for a, b, c, ok in checks],
                                    (False, True, True, False))]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    def numbers(text: str) -> list[int]:
        return [int(part) for part in text.split(",") if part]

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=("all", "capacity", "micro", "restart"), default="all")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported (3)")
    parser.add_argument("--sites", type=numbers, default=[200, 500], help="capacity runs' site counts (200,500)")
    parser.add_argument("--peer-sites", type=numbers, default=[200],
                        help="site counts also run through Prometheus + blackbox_exporter (200)")
    parser.add_argument("--interval", type=float, default=1.0, help="check interval, seconds (1)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window of a capacity run (20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the window opens (5)")
    parser.add_argument("--replay-rows", type=int, default=1_000_000)
    parser.add_argument("--memory-sites", type=numbers, default=[100, 1000])
    parser.add_argument("--far-sites", type=numbers, default=[500],
                        help="site counts also run against a server that answers after --far-ms (500)")
    parser.add_argument("--far-ms", type=float, default=100.0, help="the far server's delay, ms (100)")
    parser.add_argument("--mixed-sites", type=numbers, default=[],
                        help="site counts also run together with --mixed-far sites --far-ms away (none)")
    parser.add_argument("--mixed-far", type=int, default=500, help="the far sites of a mixed run (500)")
    parser.add_argument("--restart-sites", type=numbers, default=[1000],
                        help="restart runs: sites, each with --restart-past-hours of stored 1-second probes (1000)")
    parser.add_argument("--restart-past-hours", type=float, default=restart.PAST_HOURS,
                        help="restart runs: hours of stored probes, the hour the windows read and what a monitor "
                             f"that ran longer left before it ({restart.PAST_HOURS:g})")
    parser.add_argument("--restart-seconds", type=float, default=30.0, help="length of a restart run (30)")
    parser.add_argument("--restart-far-ms", type=float, default=0.0,
                        help="the restart runs' sites answer after this many ms (0: nearby, on nginx)")
    parser.add_argument("--clock-sites", type=numbers, default=[200, 1000],
                        help="site counts of the clocks' start-up figure (200,1000)")
    parser.add_argument("--clock-seconds", type=float, default=10.0, help="length of a clock start-up run (10)")
    parser.add_argument("--no-peer", action="store_true", help="skip Prometheus even when installed")
    parser.add_argument("--python-server", action="store_true", help="use the Python target server, not nginx")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 run, 5 s windows, 100,000 replay rows, 100 sites' memory")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds, args.warmup, args.replay_rows = 1, 5.0, 3.0, 100_000
        args.memory_sites = [100]
        args.far_sites = args.mixed_sites = []
        args.restart_sites, args.restart_seconds, args.clock_sites = [100], 10.0, [200]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    results: Figures = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command.strip(),
                        "machine": machine(), "runs": args.runs, "interval": args.interval,
                        "capacity_window_s": args.seconds, "capacity": {}, "micro": {}, "restart": {}}
    if args.only in ("all", "capacity"):
        run_capacity(args, results)
    if args.only in ("all", "micro"):
        run_micro(args, results)
    if args.only in ("all", "restart"):
        run_restart(args, results)
    results["targets"] = [{"what": a, "measured": b, "wanted": c, "met": ok} for a, b, c, ok in targets(results)]
    table = render(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".txt").write_text(table + "\n")
    print(table)
    print(f"\n(JSON: {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
