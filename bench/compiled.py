"""The operators as a wheel compiles them against this checkout's pure Python, alternated in fresh processes.

    python -m bench.compiled [--rounds 3]

Builds the wheel as `pip wheel .` does (build_backend/monitoringapp_build.py compiles the operators' hot modules
with mypyc; with this environment's mypy, setuptools and C compiler, asking no package index), unpacks it, then
runs `micro.operators_events_per_s` and the `--replay` figure in a fresh process on each side in turn, `rounds`
times: the compiled side has the unpacked wheel first on its path. Prints each run and the medians as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# What a build's copy of the checkout leaves out: setuptools builds in the source tree's build/, and a wheel's
# leftovers there (build/lib) would be a second copy of the package beside the sources.
LEFT_OUT = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "*.db", "*.db-*", "results")
# With this environment's build tools (the dev extras: setuptools, mypy) and no package index.
OFFLINE = ["--no-deps", "--no-index", "--no-build-isolation"]
REPLAY_ROWS = 1_000_000
# One run on one side: the figures, and whether the operators imported were compiled.
_RUN = """
import json, sys
from pathlib import Path
from bench import micro
import monitoringapp.operators.window as window
figures = micro.operators_events_per_s()
figures["replay_probes_per_s"] = micro.replay_probes_per_s(Path(sys.argv[1]))["probes_per_s"]
figures["compiled"] = not window.__file__.endswith(".py")
print(json.dumps(figures))
"""
KEYS = ("with_reports_events_per_cpu_s", "events_per_cpu_s", "one_at_a_time_with_reports_events_per_cpu_s",
        "replay_probes_per_s")


def copy_checkout(target: Path) -> Path:
    """This checkout's files a build reads, copied to `target`."""
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(*LEFT_OUT))
    return target


def build_wheel(work: Path, environment: dict[str, str] | None = None) -> tuple[Path, str]:
    """The wheel `pip wheel` builds from a copy of this checkout under `work` (in `environment`, this process's
    by default), and the build's output."""
    dist = work / "dist"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", *OFFLINE, "--wheel-dir", str(dist),
                           str(copy_checkout(work / "source"))], env=environment, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    (wheel,) = dist.glob("monitoringapp-*.whl")
    return wheel, done.stdout + done.stderr


def build_compiled(work: Path) -> Path:
    """The wheel of this checkout, built and unpacked under `work`; the folder to put on the path."""
    wheel, _ = build_wheel(work)
    unpacked = work / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    return unpacked


def without_pythonpath() -> dict[str, str]:
    """This process's environment without a PYTHONPATH: a child imports the wheel it is given, or the install."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def run(log: Path, path: Path | None) -> dict[str, Any]:
    environment = without_pythonpath()
    if path is not None:
        environment["PYTHONPATH"] = str(path)
    done = subprocess.run([sys.executable, "-c", _RUN, str(log)], cwd=REPO, env=environment, check=True,
                          capture_output=True, text=True, timeout=600)
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compiled-") as scratch:
        work = Path(scratch)
        compiled_path = build_compiled(work)
        log = work / "log.db"
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from bench import micro;"
                        f" micro.write_log(Path(sys.argv[1]), {REPLAY_ROWS}, sites=250)", str(log)],
                       cwd=REPO, check=True, timeout=600)
        sides: dict[str, list[dict[str, Any]]] = {"pure": [], "compiled": []}
        for round_ in range(1, args.rounds + 1):
            for side, path in (("pure", None), ("compiled", compiled_path)):
                figures = run(log, path)
                if figures["compiled"] != (side == "compiled"):
                    raise RuntimeError(f"the {side} run imported the wrong operators")
                sides[side].append(figures)
                print(f"round {round_} {side}: " + ", ".join(f"{key} {figures[key]:,}" for key in KEYS), flush=True)
    medians = {side: {key: statistics.median(run[key] for run in runs) for key in KEYS} for side, runs in sides.items()}
    ratios = {key: round(medians["compiled"][key] / medians["pure"][key], 3) for key in KEYS}
    print(json.dumps({"medians": medians, "compiled_over_pure": ratios}, indent=2))


if __name__ == "__main__":
    main()
