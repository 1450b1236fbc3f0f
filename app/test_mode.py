"""`-t`: the alerting logic proved against a local flask server in virtual time; exit 0 when every scenario passes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from monitoringapp.app.options import ScenarioOptions
from monitoringapp.app.usage import FAILED, OK, UsageError
from monitoringapp.testmode.runner import run_scenarios
from monitoringapp.testmode.scenarios import SCENARIOS, Scenario

TEST_DB = Path("test.db")


def run_test_mode(options: ScenarioOptions, scenarios: Sequence[Scenario] = SCENARIOS) -> int:
    if Path(options.database).resolve() == TEST_DB.resolve():
        raise UsageError(f"-t writes {TEST_DB} and removes it; -db must name another file, got {options.database}")
    _remove(TEST_DB)  # fresh: nothing of an earlier run restored
    try:
        outcomes = run_scenarios(scenarios, TEST_DB, sys.stdout)
    finally:
        if options.keep_db:
            print(f"kept {TEST_DB.resolve()}")
        else:
            _remove(TEST_DB)
    return OK if all(outcome.passed for outcome in outcomes) else FAILED


def _remove(db: Path) -> None:
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
