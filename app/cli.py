"""The command line: parse it into the chosen mode's options, run the mode, turn user mistakes into one
line and exit 2, and an interrupted one-shot command into one line and exit 130."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence

from monitoringapp.app.lifecycle import run_once
from monitoringapp.app.options import (
    AlertsOptions,
    CheckOptions,
    EvaluatorOptions,
    HealthOptions,
    MonitorOptions,
    NotifyOptions,
    Options,
    PrintOptions,
    PurgeOptions,
    ReplayOptions,
    ScenarioOptions,
    WebOptions,
    parse_command_line,
)
from monitoringapp.app.usage import FAILED, INTERRUPTED, OK, USAGE_ERROR, Failure, Interrupted, UsageError
from monitoringapp.domain.config import ConfigError
from monitoringapp.store.log import LogLost, StoreError

ONE_SHOT = (ScenarioOptions, CheckOptions, PurgeOptions, HealthOptions, ReplayOptions)
"""Modes that finish by themselves: stopped before they are done, they exit 130, never 0."""


def main(argv: Sequence[str] | None = None) -> int:
    options: Options | None = None
    _escape_what_stdout_cannot_encode()
    try:
        options = parse_command_line(argv, time.time())
        return run(options)
    except (UsageError, ConfigError, StoreError) as error:
        print(f"monitoringApp: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (Failure, LogLost) as error:
        print(f"monitoringApp: error: {error}", file=sys.stderr)
        return FAILED
    except BrokenPipeError:
        # `--check | head`: the reader has what it wanted and has gone, as `-m | head` does; no traceback, and
        # nothing more written to the closed pipe when the interpreter flushes stdout on its way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except Interrupted as interrupted:
        print(f"monitoringApp: interrupted: {interrupted}", file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        # Ctrl-C is how -m, -a and -p are stopped (their lifecycle handles it; this is one before it
        # started); for any other mode, or before the mode is known, it means "not done".
        if options is not None and not isinstance(options, ONE_SHOT):
            return OK
        print("monitoringApp: interrupted", file=sys.stderr)
        return INTERRUPTED


def _escape_what_stdout_cannot_encode() -> None:
    """A site's name or URL that the locale's encoding cannot write (`店舗` on a Latin-1 terminal or pipe) goes out
    as `\\u5e97\\u8217`, as Python writes it on stderr: stdout's default refuses it with an exception, which killed a
    monitor at its first alert and left `-a` following on mute."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="backslashreplace")


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

        return run_once(lambda: run_test_mode(options))
    if isinstance(options, PurgeOptions):
        from monitoringapp.app.purge_mode import run_purge

        return run_once(lambda: run_purge(options))
    if isinstance(options, ReplayOptions):
        from monitoringapp.app.replay_mode import run_replay

        return run_once(lambda: run_replay(options))
    if isinstance(options, HealthOptions):
        from monitoringapp.app.health_mode import run_health

        return run_once(lambda: run_health(options))
    return run_once(lambda: run_check(options))


def run_check(options: CheckOptions) -> int:
    """`--check`: the config with every default filled in, itself a valid config; warnings on stderr."""
    from monitoringapp.app.config_warnings import read_config_and_warn

    try:
        config = read_config_and_warn(options.config, probing=True)  # would -m start with it, here?
    except KeyboardInterrupt:
        raise Interrupted(f"{options.config} was not checked") from None
    shown_by_apprise: Callable[[str], str | None] | None = None
    if any(not channel.webhook for channel in config.notifications):  # apprise only for its own URLs: -m never needs it
        from monitoringapp.sinks import apprise_channel

        shown_by_apprise = apprise_channel.shown_by_apprise
    print(json.dumps(config.effective(shown_by_apprise), indent=2))
    return OK
