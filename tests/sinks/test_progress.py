"""The progress bar: redrawn on a terminal with its rate and time left, silent anywhere else."""

from __future__ import annotations

import io
import os

from monitoringapp.sinks.console import Console
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


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_line_the_console_prints_on_the_terminal_clears_the_bar_first_and_the_bar_comes_back_under_it() -> None:
    screen, clock = Terminal(), Clock()
    bar = ProgressBar("loading the past 1h00m into the reports", "min", screen, clock=clock)
    console = Console(screen, colour=False)
    bar.update(15, 60)
    console.info("== past 2m00s at 2026-11-30T14:00:00.000Z ==")
    clock.now += 0.01  # sooner than a redraw would be: drawn anyway, the line it was on is gone
    bar.update(17, 60)
    first, cleared, rest = screen.getvalue().split("\r", 3)[1:]
    assert first == "loading the past 1h00m into the reports [#####---------------]  25%  15 of 60 min"
    assert cleared == " " * len(first)
    assert rest == ("== past 2m00s at 2026-11-30T14:00:00.000Z ==\n"
                    "\rloading the past 1h00m into the reports [######--------------]  28%  17 of 60 min  "
                    "1,700 min/s, 0s left")


def test_a_console_on_a_pipe_leaves_the_terminal_bar_alone() -> None:
    screen, pipe, clock = Terminal(), io.StringIO(), Clock()
    bar = ProgressBar("purging probes", "rows", screen, clock=clock)
    bar.update(5, 10)
    Console(pipe, colour=False).info("a line")
    assert screen.getvalue().count("\r") == 1 and pipe.getvalue() == "a line\n"
    bar.close()
