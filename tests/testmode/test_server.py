"""The scenario server over real HTTP: each behaviour as a probe sees it, keyed to the time `now` gives."""

from __future__ import annotations

from monitoringapp.domain.events import ErrorKind
from monitoringapp.streams.http_probe import HttpProber, ProbeOutcome
from monitoringapp.testmode.schedule import FAILING_503, HEALTHY, REFUSED, SLOW, SLOW_TIMEOUT, flapping
from monitoringapp.testmode.server import ScenarioServer


def seen(outcome: ProbeOutcome) -> int | ErrorKind | None:
    return outcome.status if outcome.status is not None else outcome.error


def test_each_phase_answers_as_scheduled_at_the_time_now_gives(server: ScenarioServer, prober: HttpProber) -> None:
    clock = [0.0]
    server.play({"/s/a": ((1, HEALTHY), (1, FAILING_503), (1, REFUSED), (1, SLOW), (0, HEALTHY))},
                lambda: clock[0])
    answers = []
    for at in (0, 1, 2, 3, 4, 2.5, 0.5):
        clock[0] = at
        answers.append(seen(prober.probe(server.base_url + "/s/a", SLOW_TIMEOUT)))
    assert answers == [200, 503, ErrorKind.CONNECTION, ErrorKind.TIMEOUT, 200, ErrorKind.CONNECTION, 200]
    assert server.requests == 7


def test_flapping_fails_every_kth_request_of_its_phase(server: ScenarioServer, prober: HttpProber) -> None:
    server.play({"/s/flap": ((0, flapping(3)),)}, lambda: 0.0)
    answers = [seen(prober.probe(server.base_url + "/s/flap", 1.0)) for _ in range(7)]
    assert answers == [200, 200, 500, 200, 200, 500, 200]


def test_playing_a_scenario_resets_the_request_count_and_unknown_paths_are_404(
        server: ScenarioServer, prober: HttpProber) -> None:
    server.play({"/s/a": ((0, HEALTHY),)}, lambda: 0.0)
    prober.probe(server.base_url + "/s/a", 1.0)
    server.play({"/t/a": ((0, HEALTHY),)}, lambda: 0.0)
    assert server.requests == 0
    assert seen(prober.probe(server.base_url + "/s/a", 1.0)) == 404
    assert server.requests == 1
