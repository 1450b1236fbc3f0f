"""The progress bar: redrawn on a terminal with its rate and time left, silent anywhere else."""

from __future__ import annotations

import io
import os

from monitoringapp.sinks.progress import ProgressBar


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bar_says_how_far_how_fast_and_how_long_is_left_and_clears_its_line() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar("purging probes", "rows", stream, enabled=True, clock=clock)
    bar.update(0, 1_000_000)
    clock.now += 2.0
    bar.update(250_000, 1_000_000)
    clock.now += 0.05
    bar.update(260_000, 1_000_000)  # within a tenth of a second: not redrawn
    bar.close()
    frames = stream.getvalue().split("\r")
    assert frames[1].rstrip() == "purging probes [--------------------]   0%  0 of 1,000,000 rows"
    assert frames[2] == ("purging probes [#####---------------]  25%  250,000 of 1,000,000 rows  "
                         "125,000 rows/s, 6s left")
    assert frames[3:] == [" " * len(frames[2]), ""]


def test_the_last_update_is_always_drawn() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar("purging", "rows", stream, enabled=True, clock=clock)
    bar.update(1, 10)
    clock.now += 0.01
    bar.update(10, 10)
    assert stream.getvalue().split("\r")[-1].startswith("purging [####################] 100%  10 of 10 rows")


def test_nothing_is_drawn_where_stderr_is_no_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar("purging", "rows", stream)
    bar.update(5, 10)
    bar.close()
    assert stream.getvalue() == "" and not bar.enabled


def test_a_terminal_gets_the_bar_by_default() -> None:
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            bar = ProgressBar("purging", "rows", terminal)
            bar.update(5, 10)
        assert bar.enabled and os.read(leader, 4096).decode().startswith("\rpurging [")
    finally:
        os.close(leader)
        os.close(follower)
