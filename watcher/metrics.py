"""Prometheus metrics of one watcher process, and its health check, served on WATCHER_METRICS_PORT when it
is set: `/metrics` and `/healthz` (the heartbeat document carries the main counters for `/ready` and the
dashboard). The queue's depth is counted by one watcher of the cluster only (`QueueExporter`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("watcher")

OUTCOMES = Counter("invoicer_watcher_claims_ended", "Claims ended, by what was written", ["outcome"])
CLAIMS = Counter("invoicer_watcher_claims", "Claim attempts, by result: won, or lost to another watcher",
                 ["result"])
FAILURES = Counter("invoicer_watcher_failures", "Extraction failures, by error code", ["code"])
SWEPT = Counter("invoicer_watcher_swept", "Pending invoices the sweep found that the change stream never delivered")
IN_FLIGHT = Gauge("invoicer_watcher_in_flight", "Invoices claimed and not yet written")
QUEUED = Histogram("invoicer_watcher_queued_seconds", "From queued to claimed",
                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 120, 600))
EXTRACT = Histogram("invoicer_watcher_extract_seconds", "Extraction time per invoice in a worker",
                    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120))
UPLOAD_TO_FINAL = Histogram("invoicer_upload_to_final_seconds",
                            "From upload (or requeue) to processed or failed", ["status"],
                            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600))
STREAM_LAG = Gauge("invoicer_watcher_stream_lag_seconds",
                   "Now minus the wall time of the last change-stream event handled")
STREAM_RESTARTS = Counter("invoicer_watcher_stream_restarts",
                          "Change stream reopened, by reason: interrupted, or its resume token unusable (286)",
                          ["reason"])
WORKER_EVENTS = Counter("invoicer_watcher_worker_events", "Worker processes: crashes, timeouts, respawns",
                        ["event"])


class QueueExporter(Collector):
    """Queue depth by status and the age of the oldest ready invoice, exported by the one watcher holding
    the exporter lease (the others export nothing, so a sum over the fleet counts each invoice once)."""

    def __init__(self) -> None:
        self.depth: dict[str, int] | None = None  # None: not the exporter now
        self.oldest_pending_seconds = 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.depth is None:
            return
        depth = GaugeMetricFamily("invoicer_queue_invoices", "Invoices by status (one exporter per cluster)",
                                  labels=["status"])
        for status, count in sorted(self.depth.items()):
            depth.add_metric([status], count)
        yield depth
        yield GaugeMetricFamily("invoicer_queue_oldest_pending_seconds",
                                "Age of the oldest invoice waiting to be claimed", value=self.oldest_pending_seconds)


QUEUE = QueueExporter()
REGISTRY.register(QUEUE)

Health = Callable[[bool], str | None]  # (stream too?) -> None when healthy, else what is wrong


async def serve(port: int, health: Health) -> asyncio.Server | None:
    """Serve `/metrics`, `/healthz` (stream open and maintenance alive: readiness, and compose's check) and
    `/livez` (maintenance alive: a liveness probe that does not restart a watcher for a database outage) on
    `port`, each 200 or 503 with the reason; nothing when `port` is 0."""
    if not port:
        return None

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
            if path == "/metrics":
                status, kind, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
            elif path in ("/healthz", "/livez"):
                problem = health(path == "/healthz")
                status = "200 OK" if problem is None else "503 Service Unavailable"
                kind, body = "text/plain; charset=utf-8", (problem or "ok").encode() + b"\n"
            else:
                status, kind, body = "404 Not Found", "text/plain; charset=utf-8", b"/metrics, /healthz or /livez\n"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(answer, "0.0.0.0", port)
