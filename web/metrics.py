"""/metrics: the board in Prometheus' text format, through `prometheus_client`, with the reader's own
process metrics. Counters and the histogram count the probes this reader has seen since it started."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from monitoringapp.web.board import DURATION_BUCKETS, StatusBoard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class BoardCollector(Collector):
    def __init__(self, board: StatusBoard, clock: Callable[[], float]) -> None:
        self.board = board
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        # The URL is a label of one info metric only: every other sample names the site by its id, which
        # keeps each scrape's label work small (and a query joins on `site` for the URL).
        info = GaugeMetricFamily("monitoringapp_site_info", "The site's URL (a password in it shown as ***)",
                                 labels=["site", "url"])
        labels = ["site"]
        success = GaugeMetricFamily("monitoringapp_probe_success", "1 if the site's last probe was up, else 0",
                                    labels=labels)
        duration = GaugeMetricFamily("monitoringapp_probe_duration_seconds",
                                     "Response time of the site's last probe that got a response", labels=labels)
        taken = GaugeMetricFamily("monitoringapp_probe_timestamp_seconds", "When the site's last probe was taken",
                                  labels=labels)
        histogram = HistogramMetricFamily("monitoringapp_probe_response_time_seconds",
                                          "Response times of the probes seen since this reader started",
                                          labels=labels)
        availability = GaugeMetricFamily("monitoringapp_availability_ratio",
                                         "Share of the site's probes that were up over the window",
                                         labels=[*labels, "window"])
        alerting = GaugeMetricFamily("monitoringapp_alerting", "1 while the site has an open alert, else 0",
                                     labels=labels)
        probes = CounterMetricFamily("monitoringapp_probes", "Probes seen since this reader started, by result",
                                     labels=[*labels, "result", "error_kind"])
        for site in self.board.metrics(self.clock()):
            key = [site.id]
            info.add_metric([site.id, site.url], 1.0)
            if site.latest is not None:
                success.add_metric(key, float(site.latest.available))
                taken.add_metric(key, site.latest.timestamp)
                if site.latest.response_time_ms is not None:
                    duration.add_metric(key, site.latest.response_time_ms / 1000)
            cumulative, buckets = 0, []
            for bound, count in zip((*DURATION_BUCKETS, math.inf), site.buckets, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == math.inf else repr(bound), float(cumulative)))
            histogram.add_metric(key, buckets, site.duration_sum)
            for window, value in site.availability:
                if value is not None:
                    availability.add_metric([*key, window], value)
            alerting.add_metric(key, float(site.alerting))
            for (result, error_kind), count in site.results:
                probes.add_metric([*key, result, error_kind or "none"], float(count))
        yield from (info, success, duration, taken, histogram, availability, alerting, probes)


def metrics_registry(board: StatusBoard, clock: Callable[[], float]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(board, clock))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
