"""The watcher's metrics port: `/healthz` (stream open, maintenance alive), `/livez`, and the Prometheus
metrics an operator needs (claims won and lost, outcomes, latency, the queue counted by one exporter)."""

from __future__ import annotations

import asyncio

import httpx

from core.embedded import free_port
from tests.watcher.support import queue_invoices, statuses, wait_until


def scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


async def test_health_and_metrics_on_the_metrics_port(db, start_watcher):
    ids = await queue_invoices(db, [b"one", b"two", b"three"])
    port = free_port()
    watcher = start_watcher(WATCHER_METRICS_PORT=str(port))

    async def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(healthy, 60, "/healthz to answer 200", watcher)
    assert httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).text.strip() == "ok"

    async def done() -> bool:
        return (await statuses(db))["processed"] == len(ids)

    await wait_until(done, 60, "every invoice processed", watcher)

    async def exported() -> bool:
        text = await asyncio.to_thread(scrape, port)
        return 'invoicer_queue_invoices{status="pending"} 0.0' in text and "claims_ended_total" in text

    await wait_until(exported, 30, "the queue exported by the only watcher", watcher)
    text = scrape(port)
    assert 'invoicer_watcher_claims_total{result="won"} 3.0' in text
    assert 'invoicer_upload_to_final_seconds_count{status="processed"} 3.0' in text
    assert "invoicer_queue_oldest_pending_seconds" in text
    assert httpx.get(f"http://127.0.0.1:{port}/nothing", timeout=2).status_code == 404
