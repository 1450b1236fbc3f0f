"""Rollups and the response-time sketch: sums that merge, percentiles within their stated error, a few bytes."""

from __future__ import annotations

import random

import pytest

from monitoringapp.domain.events import ErrorKind, Probe
from monitoringapp.operators.rollup import (
    HOUR,
    MINUTE,
    RELATIVE_ERROR,
    ResponseSketch,
    Rollup,
    decode_outcomes,
    encode_outcomes,
    merged,
    rollups_of,
)
from monitoringapp.operators.stats import nearest_rank


@pytest.mark.parametrize("seed", range(5))
def test_every_percentile_read_from_a_sketch_is_within_the_stated_error_of_the_exact_nearest_rank(seed: int) -> None:
    generator = random.Random(seed)
    values = [generator.lognormvariate(3, 1.2) for _ in range(5000)] + [0.0, 0.0005, 90_000.0]
    sketch = ResponseSketch()
    for value in values:
        sketch.add(value)
    ordered = sorted(values)
    for fraction in (0.01, 0.5, 0.9, 0.99, 0.999, 1.0):
        exact = nearest_rank(ordered, fraction)
        approximate = sketch.percentile(fraction)
        assert approximate is not None
        if exact >= 0.001:
            assert abs(approximate - exact) <= RELATIVE_ERROR * exact, (fraction, exact, approximate)
        else:
            assert approximate <= 0.001  # under a microsecond is counted as one


def test_a_sketch_survives_encoding_and_a_minute_of_one_site_costs_tens_of_bytes() -> None:
    generator = random.Random(7)
    sketch = ResponseSketch()
    for _ in range(60):
        sketch.add(generator.uniform(10.0, 14.0))
    data = sketch.encode()
    assert ResponseSketch.decode(data) == sketch
    assert len(data) <= 2 * len(sketch.counts) + 1 <= 30
    assert ResponseSketch.decode(b"").percentile(0.5) is None


def test_merging_buckets_equals_counting_every_probe_in_one() -> None:
    generator = random.Random(3)
    probes = [Probe(1000.0 + n * 7.3, "http://a/", n % 9 != 0, 200 if n % 9 else 503, generator.uniform(1, 50))
              for n in range(2000)] + [Probe(1000.0 + n, "http://a/", False, None, None, ErrorKind.TIMEOUT)
                                       for n in range(0, 2000, 50)]
    minutes = rollups_of(probes, MINUTE)
    hours = merged(minutes, HOUR)
    direct = rollups_of(probes, HOUR)
    assert [(h.start, h.checks, h.available, h.rt_count, round(h.rt_sum, 6), h.rt_min, h.rt_max, h.sketch, h.outcomes)
            for h in hours] == [
        (h.start, h.checks, h.available, h.rt_count, round(h.rt_sum, 6), h.rt_min, h.rt_max, h.sketch, h.outcomes)
        for h in direct]
    assert sum(h.checks for h in hours) == len(probes)
    assert {o for h in hours for o in h.outcomes} == {"200", "503", "timeout"}


def test_outcomes_read_back_as_written() -> None:
    outcomes = {"200": 58, "503": 2, "timeout": 1, "none": 3}
    assert encode_outcomes(outcomes) == "200:58 503:2 none:3 timeout:1"
    assert decode_outcomes(encode_outcomes(outcomes)) == outcomes
    assert decode_outcomes(None) == {}


def test_a_bucket_with_no_response_has_no_response_times() -> None:
    bucket = Rollup("http://a/", 0.0, MINUTE)
    bucket.add(Probe(1.0, "http://a/", False, None, None, ErrorKind.DNS))
    assert (bucket.checks, bucket.available, bucket.rt_avg, bucket.rt_min, bucket.sketch.percentile(0.5)) == (
        1, 0, None, None, None)
    assert bucket.availability == 0.0
