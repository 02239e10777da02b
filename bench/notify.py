"""Notification latency and memory per connection of the realtime server (Socket.IO beside the API).

Latency is from just before the database write of a status change (`status_change`, as the
watcher writes it) to a real socketio.AsyncClient receiving `invoice.status`, with 1, 100 and
1,000 clients connected to one `invoicer api` process, each client its own user. Memory per
idle connection is the growth of the API process's RSS divided by the connections added.

    .venv/bin/python -m bench.notify [--levels 1,100,1000] [--events 500] [--rate 50] [--json OUT]
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Annotated

import socketio
import typer
from bson import ObjectId

from bench.common import api_process, console, embedded_database, print_table, rss_mb, summary_ms, write_json
from core.db import make_client
from core.models import InvoiceStatus, Role
from core.transitions import status_change
from core.security import DUMMY_PASSWORD_HASH, create_token
from realtime.events import event_id

SECRET = "notify-benchmark-secret-0123456789abcdef"
TARGET_P50_MS, TARGET_P99_MS = 20.0, 100.0
LOSS_TIMEOUT_SECONDS = 5.0


class Receipts:
    """When each event arrived, by event_id, on the benchmark's clock."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    def handler(self):  # noqa: ANN201 - a socketio event handler
        async def on_status(data: dict) -> None:
            self.arrived[data["event_id"]] = time.perf_counter()

        return on_status


async def seed(database, count: int) -> list[tuple[str, str, ObjectId]]:  # noqa: ANN001
    """`count` employees of one organisation, each with one pending invoice: (user id, token, invoice id)."""
    org_id, now = ObjectId(), datetime.now(timezone.utc)
    users = [{"_id": ObjectId(), "email": f"bench-{i}@example.com", "name": f"Bench {i}",
              "password_hash": DUMMY_PASSWORD_HASH, "role": Role.employee.value, "org_id": org_id,
              "disabled": False, "created_at": now, "updated_at": now} for i in range(count)]
    await database["users"].insert_many(users)
    invoices = [{"_id": ObjectId(), "owner_id": u["_id"], "org_id": org_id, "filename": "bench.png",
                 "content_type": "image/png", "size": 1, "sha256": "0", "file_id": ObjectId(), "status": "pending",
                 "previous_status": None, "status_history": [], "corrections": {}, "search_terms": [],
                 "created_at": now, "updated_at": now, "queued_at": now} for u in users]
    await database["invoices"].insert_many(invoices)
    seeded = []
    for user, invoice in zip(users, invoices, strict=True):
        token, _ = create_token(secret=SECRET, algorithm="HS256", subject=str(user["_id"]), org_id=str(org_id),
                                role=Role.employee.value, token_type="access", lifetime=timedelta(hours=2))
        seeded.append((str(user["_id"]), token, invoice["_id"]))
    return seeded


async def connect_clients(url: str, tokens: list[str], receipts: Receipts) -> list[socketio.AsyncClient]:
    clients: list[socketio.AsyncClient] = []

    async def connect(token: str) -> None:
        client = socketio.AsyncClient(reconnection=False)
        client.on("invoice.status", receipts.handler())
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
        clients.append(client)

    for start in range(0, len(tokens), 50):  # 50 handshakes in flight at a time
        await asyncio.gather(*(connect(t) for t in tokens[start:start + 50]))
    return clients


async def measure_latency(invoices_collection, targets: list[ObjectId], events: int, rate: float,  # noqa: ANN001
                          receipts: Receipts) -> tuple[list[float], list[float], int]:
    """Paced status writes to random connected clients' invoices: (latencies, write acknowledgements) in ms, lost."""
    status = dict.fromkeys(targets, InvoiceStatus.pending)
    sent: dict[str, float] = {}
    acknowledged: list[float] = []
    interval, started = 1.0 / rate, time.perf_counter()
    for index in range(events):
        await asyncio.sleep(max(0.0, started + index * interval - time.perf_counter()))
        invoice_id = random.choice(targets)
        previous = status[invoice_id]
        new = InvoiceStatus.processing if previous == InvoiceStatus.pending else InvoiceStatus.pending
        now = datetime.now(timezone.utc)
        expected = event_id(now, str(invoice_id), new.value)
        if expected in sent:  # the same invoice twice in one millisecond: skip, the id would be ambiguous
            continue
        sent[expected] = time.perf_counter()
        await invoices_collection.update_one({"_id": invoice_id}, status_change(new, previous, now))
        acknowledged.append((time.perf_counter() - sent[expected]) * 1000)
        status[invoice_id] = new
    deadline = time.perf_counter() + LOSS_TIMEOUT_SECONDS
    while time.perf_counter() < deadline and any(eid not in receipts.arrived for eid in sent):
        await asyncio.sleep(0.05)
    latencies = [(receipts.arrived[eid] - t0) * 1000 for eid, t0 in sent.items() if eid in receipts.arrived]
    return latencies, acknowledged, len(sent) - len(latencies)


async def run(levels: list[int], events: int, rate: float) -> list[dict]:
    results = []
    with embedded_database() as server, api_process(server.uri, JWT_SECRET=SECRET, LOG_LEVEL="WARNING") as (url, proc):
        client = make_client(server.uri)
        database = client["bench"]
        seeded = await seed(database, max(levels))
        await asyncio.sleep(1.0)  # let the inserts' events drain before anyone listens
        receipts = Receipts()
        connected: list[socketio.AsyncClient] = []
        baseline_mb = rss_mb(proc.pid)
        try:
            for level in sorted(levels):
                connected += await connect_clients(url, [t for _, t, _ in seeded[len(connected):level]], receipts)
                await asyncio.sleep(3.0)  # idle: handshakes done, buffers settled
                idle_mb = rss_mb(proc.pid)
                targets = [invoice for _, _, invoice in seeded[:level]]
                console.print(f"{level} clients connected; sending {events} status changes at {rate:g}/s")
                latencies, acks, lost = await measure_latency(database["invoices"], targets, events, rate, receipts)
                results.append({
                    "clients": level, **summary_ms(latencies), "max_ms": max(latencies, default=float("nan")),
                    "write_ack_p50_ms": summary_ms(acks)["p50_ms"], "lost": lost, "server_rss_mb": idle_mb,
                    "load_average_1min": os.getloadavg()[0],
                    "kib_per_idle_connection": (idle_mb - baseline_mb) * 1024 / level,
                })
        finally:
            await asyncio.gather(*(c.disconnect() for c in connected), return_exceptions=True)
            await client.close()
    return results


def main(
    levels: Annotated[str, typer.Option(help="Comma-separated numbers of connected clients.")] = "1,100,1000",
    events: Annotated[int, typer.Option(help="Status changes measured per level.")] = 500,
    rate: Annotated[float, typer.Option(help="Status changes written per second.")] = 50.0,
    json_out: Annotated[str | None, typer.Option("--json", help="Also write the results to this JSON file.")] = None,
) -> None:
    counts = sorted({int(part) for part in levels.split(",") if part.strip()})
    results = asyncio.run(run(counts, events, rate))
    print_table(
        f"Notification latency in ms: database write -> client receipt ({events} events at {rate:g}/s per level)",
        ["clients", "p50", "p99", "max", "write", "lost", "RSS MiB", "KiB/conn", "load"],
        [[r["clients"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["write_ack_p50_ms"], r["lost"],
          r["server_rss_mb"], r["kib_per_idle_connection"], r["load_average_1min"]] for r in results],
    )
    top = results[-1]
    verdict = "meets" if top["p50_ms"] < TARGET_P50_MS and top["p99_ms"] < TARGET_P99_MS and not top["lost"] else "MISSES"
    console.print(f"At {top['clients']} clients: {verdict} the target (p50 < {TARGET_P50_MS:g} ms, "
                  f"p99 < {TARGET_P99_MS:g} ms, nothing lost). 'write': p50 of the database write alone; "
                  "'KiB/conn': API RSS growth per idle connection; 'load': 1-minute load average (2 cores).")
    write_json(json_out, {"levels": results, "events_per_level": events, "rate_per_second": rate,
                          "targets": {"p50_ms": TARGET_P50_MS, "p99_ms": TARGET_P99_MS}})


if __name__ == "__main__":
    typer.run(main)
