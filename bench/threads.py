"""Where a running monitor's CPU goes, thread by thread, and the same for two checkouts side by side.

    python -m bench.threads 200                      # this checkout: CPU per probe of each thread
    python -m bench.threads 200 --runs 4 ../a ../b   # two checkouts (each with its .venv), runs alternated

Each run starts `monitoringApp.py -m --silent` of a checkout against N local URLs, waits out a warm-up, and
reads every thread's CPU from /proc over the measured seconds: per probe served, so the figures of two
checkouts compare even when one is slower to start. Thread names come from `py-spy dump` (py-spy comes with
the developer tools; Python 3.11 does not give its thread names to the kernel); without it, the thread ids.
Exact where py-spy's samples are not: a sampler counts a thread waking on a lock as busy, /proc counts CPU.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.capacity import write_config
from bench.processes import stop_process
from bench.procstat import thread_cpu_seconds
from bench.target_server import TargetServer

REPO = Path(__file__).resolve().parent.parent


def thread_names(pid: int) -> dict[int, str]:
    """Python's names of the threads of `pid`, by thread id, from `py-spy dump` (empty without py-spy)."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return {}
    dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30).stdout
    return {int(tid): name for tid, name in re.findall(r'^Thread (\d+) \(\w+\): "([^"]*)"', dump, re.MULTILINE)}


def one_run(checkout: Path, server: TargetServer, sites: int, warmup: float, seconds: float) -> dict[str, float]:
    """CPU per probe (ms) of each thread of one `-m` run of `checkout`, and their `total`."""
    python = _python_of(checkout)
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as scratch:
        work = Path(scratch)
        config = work / "config.json"
        write_config(config, [server.url(n) for n in range(sites)], 1.0)
        process = subprocess.Popen([str(python), str(checkout / "monitoringApp.py"), "-m", "--silent",
                                    "-c", str(config), "-db", str(work / "monitoring.db")], cwd=checkout)
        try:
            time.sleep(warmup)
            names = thread_names(process.pid)
            before, served_before = thread_cpu_seconds(process.pid), server.served()
            time.sleep(seconds)
            after, served_after = thread_cpu_seconds(process.pid), server.served()
        finally:
            stop_process(process, 30.0)
    probes = served_after - served_before
    figures = {names.get(tid, str(tid)): (cpu - before.get(tid, 0.0)) * 1000 / probes for tid, cpu in after.items()}
    figures["total"] = sum(figures.values())
    return figures


def _python_of(checkout: Path) -> Path:
    """The interpreter that runs `checkout`'s own code: its `.venv`'s, or this one's for this checkout."""
    python = checkout / ".venv" / "bin" / "python"
    return python if python.exists() or checkout.resolve() != REPO else Path(sys.executable)


def _checkout_problem(checkout: Path) -> str | None:
    if not (checkout / "monitoringApp.py").is_file():
        return f"{checkout}: no monitoringApp.py there (give checkouts of monitoringApp)"
    if not _python_of(checkout).exists():
        return (f"{checkout}: no .venv/bin/python there (set it up as the README says, so that its own code is "
                "measured)")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.threads", description=__doc__.split("\n\n")[0])
    parser.add_argument("sites", type=int, help="sites probed every second")
    parser.add_argument("checkouts", type=Path, nargs="*", default=[REPO],
                        help="checkouts to compare, each with its .venv (this one)")
    parser.add_argument("--runs", type=int, default=1, help="runs per checkout, alternated (1)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring (5)")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds measured (15)")
    options = parser.parse_intermixed_args(argv)
    for checkout in options.checkouts:
        problem = _checkout_problem(checkout)
        if problem is not None:
            parser.error(problem)
    totals: dict[Path, list[float]] = {checkout: [] for checkout in options.checkouts}
    with TargetServer() as server:
        for run in range(options.runs):
            order = options.checkouts if run % 2 == 0 else options.checkouts[::-1]
            for checkout in order:
                figures = one_run(checkout, server, options.sites, options.warmup, options.seconds)
                totals[checkout].append(figures["total"])
                threads = ", ".join(f"{name} {ms:.3f}" for name, ms in sorted(
                    figures.items(), key=lambda item: -item[1]) if name != "total" and ms > 0)
                print(f"{checkout}: {figures['total']:.3f} ms per probe ({threads})", flush=True)
    for checkout, runs in totals.items():
        print(f"{checkout}: median {statistics.median(runs):.3f} ms per probe over {len(runs)} run(s): "
              + ", ".join(f"{total:.3f}" for total in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
