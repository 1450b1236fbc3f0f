"""The package's entry points load nats-py only when called: `-m` without `--nats` imports `subjects` through the
package and must not load nats-py."""

from __future__ import annotations

import subprocess
import sys


def test_monitoring_without_nats_imports_no_nats_py() -> None:
    probe = ("import sys, monitoringapp.app.monitoring_mode, monitoringapp.app.cli; "
             "import monitoringapp.store.jetstream as j; print('nats' in sys.modules, callable(j.open_prober_log))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr
