"""`ProgressLine`: one line rewritten in place on a terminal (share done, count, rate, time left), a summary at
the end; nothing at all on a stream that is not a terminal."""

from __future__ import annotations

import io

from monitoringapp.sinks.progress import ProgressLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_says_how_far_how_fast_and_how_long_is_left_then_sums_up() -> None:
    now = [100.0]
    terminal = Terminal()
    line = ProgressLine("loading the past 1h00m", "stored probes", terminal, every=0.25, clock=lambda: now[0])
    now[0] = 102.0
    line.show(0.25, 500_000)
    now[0] = 102.1
    line.show(0.3, 600_000)  # under `every` since the last: not drawn
    now[0] = 104.0
    line.show(0.5, 1_000_000)
    now[0] = 108.0
    line.finish()
    assert terminal.getvalue() == (
        "\r\033[Kloading the past 1h00m: 25% (500,000 stored probes, 250,000/s, 6 s left)"
        "\r\033[Kloading the past 1h00m: 50% (1,000,000 stored probes, 250,000/s, 4 s left)"
        "\r\033[Kloading the past 1h00m: 1,000,000 stored probes in 8.0 s\n")


def test_on_a_pipe_or_a_file_nothing_is_written() -> None:
    stream = io.StringIO()
    line = ProgressLine("loading", "rows", stream)
    line.show(0.5, 10)
    line.finish("done")
    assert not line.shown and stream.getvalue() == ""
