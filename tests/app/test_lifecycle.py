"""A long-running mode's signals, in this process: SIGHUP reloads, stops like Ctrl-C, or stays ignored under nohup,
as the mode asks; without a handler it killed the process (exit 129)."""

from __future__ import annotations

import os
import signal
import threading
import time

from monitoringapp.app.lifecycle import Hup, Lifecycle


def test_sighup_stops_a_reader_as_ctrl_c_does(hup_default: None) -> None:
    lifecycle = Lifecycle(hup=Hup.STOP)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        assert lifecycle.wait() is None  # a stop, exit 0: not a failure
    finally:
        lifecycle.restore()


def test_sighup_under_nohup_stays_ignored_for_a_reader(hup_default: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup starts it
    lifecycle = Lifecycle(hup=Hup.STOP)
    try:
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGHUP)  # ignored: nothing queued
        timer = threading.Timer(0.05, lifecycle.stop)
        timer.start()
        assert lifecycle.wait() is None
        timer.join()
    finally:
        lifecycle.restore()


def test_sighup_is_a_reload_where_the_mode_reloads_and_does_not_stop_it(hup_default: None) -> None:
    lifecycle = Lifecycle(hup=Hup.RELOAD)
    reloads: list[None] = []
    lifecycle.hups.subscribe(reloads.append)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGHUP)
        lifecycle.stop()  # queued after both: wait handles them in order, then stops
        assert lifecycle.wait() is None
        assert reloads == [None, None]
    finally:
        lifecycle.restore()


def test_sighup_under_nohup_is_still_a_reload_where_the_mode_reloads(hup_default: None) -> None:
    # `nohup monitoringApp -m &`: the handler goes in over the inherited SIG_IGN, so `kill -HUP` still reloads
    # (and a closed terminal's SIGHUP only reloads, it does not end the mode).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup starts it
    lifecycle = Lifecycle(hup=Hup.RELOAD)
    reloads: list[None] = []
    lifecycle.hups.subscribe(reloads.append)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        lifecycle.stop()
        assert lifecycle.wait() is None
        assert reloads == [None]
    finally:
        lifecycle.restore()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN  # as it was found


def test_a_stop_signal_during_a_long_reload_is_seen_by_it_and_then_stops_the_mode(hup_default: None) -> None:
    # A reload waiting for an unreadable log held the main thread: the queued SIGTERM was never acted on.
    lifecycle = Lifecycle(hup=Hup.RELOAD)
    seen: list[bool] = []

    def reload(_: None) -> None:
        seen.append(lifecycle.stop_asked())
        os.kill(os.getpid(), signal.SIGTERM)  # handled on this thread, between two steps of the wait below
        deadline = time.monotonic() + 5.0
        while not lifecycle.stop_asked() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(lifecycle.stop_asked())

    lifecycle.hups.subscribe(reload)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        assert lifecycle.wait() is None  # the SIGTERM, acted on once the reload gave up
    finally:
        lifecycle.restore()
    assert seen == [False, True]
