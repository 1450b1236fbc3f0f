"""`-e`: judge every location's probes from the JetStream log by quorum, until SIGINT or SIGTERM; SIGHUP (a service
manager's reload) is said on stderr and judging goes on: the config is applied at start only, as what the evaluator
holds (each site's machines, its past read from the projection) is built from it, and a restart resumes where it was.

Publishes each site's transitions to the stream and keeps a SQLite projection (`-db`) in which `-a`, `-p`,
`-w`, `--notify` and `--replay` work unchanged. Two evaluators may run at once: each transition is in the stream
once whoever publishes it first.
"""

from __future__ import annotations

import sys
import time

from reactivex.disposable import CompositeDisposable

from monitoringapp.app.config_warnings import read_config_and_warn
from monitoringapp.app.lifecycle import Hup, Lifecycle, Stopper, run_until_stopped, wait_until_idle
from monitoringapp.app.options import EvaluatorOptions
from monitoringapp.domain.sites import shown_servers
from monitoringapp.graph.evaluator import BatchVerdict, evaluation, quorum_policies
from monitoringapp.graph.monitor import stored_certificate_warnings
from monitoringapp.sinks.console import Console, clock_ahead_line
from monitoringapp.streams.log_consume import consumed_batches
from monitoringapp.streams.ticks import fixed_rate_ticks
from monitoringapp.streams.wall_clock import WallClockScheduler

BATCH = 512
FETCH_WAIT = 0.5
FORGET_EVERY = 60.0


def run_evaluator(options: EvaluatorOptions) -> int:
    from monitoringapp.store.jetstream.evaluator_log import EvaluatorLog
    from monitoringapp.store.jetstream.reader import CLOCK_SKEW

    config = read_config_and_warn(options.config)
    console = None if options.silent else Console()
    errors = Console(sys.stderr, colour=False)
    longest_interval = max(site.check_interval for site in config.sites)
    log = EvaluatorLog(options.nats, options.database, partition=options.partition, ack_wait=longest_interval + 60.0)
    policies = quorum_policies(config)
    pasts, history = log.resume(policies, config.policies.longest_window + longest_interval)
    warned = stored_certificate_warnings(log.projection.reader, config, time.time())
    consumer = WallClockScheduler()  # fetches, judges and commits, one batch at a time
    housekeeping = WallClockScheduler()

    def commit(verdict: BatchVerdict) -> None:
        for ahead in verdict.clocks_ahead:
            errors.info(clock_ahead_line(ahead))
        if verdict.to_commit:
            log.commit(verdict.judged, verdict.transitions, verdict.already_judged)
        if console is not None:
            for transition in verdict.transitions:
                console.show_transition(transition)

    def on_hup(_: None) -> None:
        errors.info(f"SIGHUP: nothing reloaded: -e applies {options.config} at start only (restart it to apply a "
                    "change; it resumes from its projection); evaluating on")

    def start(lifecycle: Lifecycle) -> Stopper:
        batches = consumed_batches(lambda: log.fetch(BATCH, FETCH_WAIT), consumer, waiting=errors.info)
        verdicts = batches.pipe(evaluation(policies, consumer, pasts, history, log.projection.judged_among,
                                           config.policies, warned, clock_skew=CLOCK_SKEW))
        running = CompositeDisposable(
            verdicts.subscribe(commit, lifecycle.fail),
            log.errors.subscribe(errors.info),
            lifecycle.hups.subscribe(on_hup),
            fixed_rate_ticks(FORGET_EVERY, housekeeping, first_after=FORGET_EVERY).subscribe(
                lambda _: log.forget_acknowledged()),
        )
        if console is not None:
            console.on_closed = lifecycle.stop
            part = f" (partition {options.partition[0]}/{options.partition[1]})" if options.partition[1] > 1 else ""
            console.info(f"evaluating {len(config.sites)} site(s) of {config.source}{part} from "
                         f"{shown_servers(options.nats)} by a quorum of {config.quorum}; "
                         f"projection {options.database}; resumed {len(history)} probe(s); Ctrl-C to stop")

        def stop() -> None:
            running.dispose()
            # The batch being judged finishes (its verdict stored and acknowledged) before the log closes.
            wait_until_idle(consumer, timeout=FETCH_WAIT + 15.0)
            consumer.dispose()
            housekeeping.dispose()
            log.close()

        return stop

    return run_until_stopped(start, hup=Hup.RELOAD)
