"""Prometheus metrics of one watcher process, served on WATCHER_METRICS_PORT when it is set (the heartbeat
document carries the same counters for `/ready` and the dashboard)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

OUTCOMES = Counter("invoicer_watcher_claims_ended", "Claims ended, by what was written", ["outcome"])
SWEPT = Counter("invoicer_watcher_swept", "Pending invoices the sweep found that the change stream never delivered")
IN_FLIGHT = Gauge("invoicer_watcher_in_flight", "Invoices claimed and not yet written")
QUEUED = Histogram("invoicer_watcher_queued_seconds", "From queued to claimed",
                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 120, 600))
EXTRACT = Histogram("invoicer_watcher_extract_seconds", "Extraction time per invoice in a worker",
                    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120))


def serve(port: int) -> None:
    if port:
        start_http_server(port)
