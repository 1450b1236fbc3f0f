"""`-t`: the alerting logic proved against a local flask server in virtual time; exit 0 when every scenario passes.

Everything it writes goes to a private temporary directory, removed at the end however the run ends (a
failure, Ctrl-C, SIGTERM): a `test.db` of the user's, or a read-only working directory, is no concern of
it. `--keep-db PATH` copies the scenarios' database to PATH afterwards, a file that must not exist yet.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from monitoringapp.app.options import ScenarioOptions
from monitoringapp.app.paths import check_file_to_write
from monitoringapp.app.usage import FAILED, OK, Interrupted, UsageError
from monitoringapp.testmode.runner import Outcome, run_scenarios
from monitoringapp.testmode.scenarios import SCENARIOS, Scenario


def run_test_mode(options: ScenarioOptions, scenarios: Sequence[Scenario] = SCENARIOS) -> int:
    kept = None if options.keep_db is None else check_file_to_write("--keep-db", options.keep_db, new=True)
    done: list[Outcome] = []
    try:
        scratch = tempfile.TemporaryDirectory(prefix="monitoringApp-t-")
    except OSError as error:
        raise UsageError(f"-t needs a writable temporary directory (set TMPDIR): {error}") from None
    with scratch:
        database = Path(scratch.name) / "test.db"
        try:
            outcomes = run_scenarios(scenarios, database, sys.stdout, on_outcome=done.append)
        except KeyboardInterrupt:
            passed = sum(outcome.passed for outcome in done)
            raise Interrupted(f"{len(done)} of {len(scenarios)} scenario(s) run ({passed} passed), "
                              f"{len(scenarios) - len(done)} not run: not a pass") from None
        if kept is not None:
            _keep(database, kept)
            print(f"kept {kept.resolve()}")
    return OK if all(outcome.passed for outcome in outcomes) else FAILED


def _keep(database: Path, kept: Path) -> None:
    # Every log is closed: the database is one file. "x": never over a file that appeared meanwhile.
    try:
        with database.open("rb") as source, kept.open("xb") as copy:
            shutil.copyfileobj(source, copy)
    except FileExistsError:
        raise UsageError(f"--keep-db: {kept} already exists; -t keeps its database only in a new file") from None
