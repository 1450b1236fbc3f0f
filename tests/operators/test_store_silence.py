"""`StoreSilence`: how long a log has stored nothing, on a clock that may step back."""

from __future__ import annotations

from monitoringapp.operators.store_silence import StoreSilence

T0 = 1_795_000_000.0


def test_nothing_stored_is_no_silence_and_a_last_probe_behind_the_clock_is_timed_from_its_stamp() -> None:
    silence = StoreSilence()
    silence.saw(None, T0)
    assert silence.last is None and silence.silent_for(T0 + 100) is None
    silence.saw(T0 - 300, T0)  # a reader started five minutes after the monitor stopped: 300 s, not 0
    assert (silence.last, silence.silent_for(T0), silence.silent_for(T0 + 60)) == (T0 - 300, 300.0, 360.0)


def test_a_last_probe_ahead_of_the_clock_is_timed_from_when_it_was_seen_and_again_after_each_step_back() -> None:
    silence = StoreSilence()
    silence.saw(T0 + 3600, T0)  # stamped before the clock stepped back an hour
    assert (silence.silent_for(T0), silence.silent_for(T0 + 45)) == (0.0, 45.0)
    silence.saw(T0 + 3600, T0 + 50)  # seen again, unchanged: still silent since T0
    assert silence.silent_for(T0 + 50) == 50.0
    silence.saw(T0 + 3600, T0 - 600)  # the clock steps back again: from this moment
    assert (silence.silent_for(T0 - 600), silence.silent_for(T0 - 580)) == (0.0, 20.0)
    assert silence.silent_for(T0 - 700) == 0.0  # asked before it was seen: not negative
    silence.saw(T0 - 590, T0 - 589)  # stored again by the stepped clock
    assert (silence.last, silence.silent_for(T0 - 580)) == (T0 - 590, 10.0)


def test_a_monitor_whose_clock_runs_ahead_is_not_silent_while_it_stores_and_is_once_it_stops() -> None:
    # A prober's clock 30 s ahead of this reader's: each probe it stores is stamped ahead of `now`.
    silence = StoreSilence()
    for second in range(0, 100, 5):
        silence.saw(T0 + 30 + second, T0 + second)
        assert silence.silent_for(T0 + second + 1) == 1.0
    silence.saw(T0 + 125, T0 + 100)  # its last probe (stored by T0 + 95), then nothing: silent from T0 + 95,
    # also once this clock has passed the probe's stamp (not 0 again at T0 + 125)
    assert [silence.silent_for(T0 + s) for s in (120, 124, 125, 130, 155)] == [25.0, 29.0, 30.0, 35.0, 60.0]


def test_a_probe_stamped_long_ago_and_stored_now_is_no_silence() -> None:
    # A prober's spool emptied late: the last probe to arrive was taken ten minutes before; it was stored
    # between this reader's two looks, timed from the first of them (not 605 s).
    silence = StoreSilence()
    silence.saw(T0, T0 + 0.5)
    silence.saw(T0 - 600, T0 + 5)
    assert (silence.last, silence.silent_for(T0 + 5), silence.silent_for(T0 + 65)) == (T0 - 600, 4.5, 64.5)


def test_a_clock_gone_back_without_a_look_at_the_log_times_the_silence_from_then() -> None:
    # `-p` reads the log when it has news; its reports still read the clock.
    silence = StoreSilence()
    silence.saw(T0, T0 + 0.5)
    silence.clock_reads(T0 + 30)  # forward: nothing changes
    assert silence.silent_for(T0 + 30) == 30.0
    silence.clock_reads(T0 - 3600)  # back an hour: silent from here
    assert (silence.silent_for(T0 - 3600), silence.silent_for(T0 - 3580)) == (0.0, 20.0)
