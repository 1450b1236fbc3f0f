"""The command line: parse it into the chosen mode's options, run the mode, turn user mistakes into one
line and exit 2."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

from monitoringapp.app.options import (
    AlertsOptions,
    CheckOptions,
    EvaluatorOptions,
    MonitorOptions,
    NotifyOptions,
    Options,
    PrintOptions,
    PurgeOptions,
    ScenarioOptions,
    WebOptions,
    parse_command_line,
)
from monitoringapp.app.usage import OK, USAGE_ERROR, UsageError
from monitoringapp.domain.config import ConfigError
from monitoringapp.store.log import StoreError


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(parse_command_line(argv, time.time()))
    except (UsageError, ConfigError, StoreError) as error:
        print(f"monitoringApp: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return OK


def run(options: Options) -> int:
    """Run the mode `options` are for. Each mode is imported only when chosen: `-m` loads no test server."""
    if isinstance(options, MonitorOptions):
        from monitoringapp.app.monitoring_mode import run_monitoring

        return run_monitoring(options)
    if isinstance(options, EvaluatorOptions):
        from monitoringapp.app.evaluator_mode import run_evaluator

        return run_evaluator(options)
    if isinstance(options, NotifyOptions):
        from monitoringapp.app.notify_mode import run_notifier

        return run_notifier(options)
    if isinstance(options, AlertsOptions):
        from monitoringapp.app.notification_mode import run_notifications

        return run_notifications(options)
    if isinstance(options, PrintOptions):
        from monitoringapp.app.print_mode import run_print

        return run_print(options)
    if isinstance(options, WebOptions):
        from monitoringapp.app.web_mode import run_web

        return run_web(options)
    if isinstance(options, ScenarioOptions):
        from monitoringapp.app.test_mode import run_test_mode

        return run_test_mode(options)
    if isinstance(options, PurgeOptions):
        from monitoringapp.app.purge_mode import run_purge

        return run_purge(options)
    return run_check(options)


def run_check(options: CheckOptions) -> int:
    """`--check`: the config with every default filled in, itself a valid config; warnings on stderr."""
    from monitoringapp.app.config_warnings import read_config_and_warn

    print(json.dumps(read_config_and_warn(options.config).effective(), indent=2))
    return OK
