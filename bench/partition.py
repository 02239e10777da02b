"""Claims per invoice as the fleet grows: N cheap watchers (asyncio, in one process) share the real claim
code (stream, claims, partitions, fenced writes; a sleep instead of the extraction) against the embedded
database, while a producer inserts invoices at a steady rate. A PyMongo CommandListener on the watchers'
client counts every command they send.

    .venv/bin/python -m bench.partition [--watchers 1 2 5 10 20 50] [--invoices 1000] [--rate 150] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from bench.common import console, embedded_database, percentile, print_table, write_json
from core.config import Settings
from core.db import connect, make_client
from core.models import Invoice, utcnow
from watcher.claims import Claims
from watcher.partitions import ALL_BUCKETS, BUCKETS, EMPTY_WAKE_PAUSE, Membership
from watcher.queue import Claim, InvoiceQueue, now_ms
from watcher.stream import InvoiceStream
from watcher.worker import JobResult

HEARTBEAT = timedelta(seconds=5)  # the default HEARTBEAT_SECONDS
CONCURRENCY, PREFETCH = 2, 2
DONE = JobResult(ok=True, extract_ms=1.0, extraction={"ok": True}, search_terms=[])


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.claims = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1
        if event.command_name == "update" and event.command.get("update") == "invoices":
            self.claims += sum(1 for update in event.command["updates"] if update["q"].get("status") == "pending"
                               and "_id" in update["q"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.counts.clear()
        self.claims = 0


class CheapWatcher:
    """The watcher's claim path with a sleep for the extraction: stream, claims, membership, fenced finish."""

    def __init__(self, number: int, group: str, work_seconds: float, finished: dict[ObjectId, float]) -> None:
        self.id = f"bench-{number:02d}"
        self.stopping = asyncio.Event()
        self.queue = InvoiceQueue(Invoice.get_pymongo_collection(), self.id, lease_seconds=30, max_attempts=3,
                                  retry_base_seconds=1)
        self.capacity = asyncio.Semaphore(CONCURRENCY + PREFETCH)
        self.claims = Claims(self.queue, self.capacity, self.stopping, start_job=self._start, hold=lambda _: None)
        self.stream = InvoiceStream(self.queue, f"{group}/{self.id}", None, self.stopping, offer=self.claims.offer,
                                    request_backlog=self.claims.request_backlog)
        self.membership = Membership(self.id, group, self._partition_changed)
        self.work_seconds, self.finished = work_seconds, finished
        self.tasks: list[asyncio.Task[Any]] = []

    def _partition_changed(self, buckets: frozenset[int]) -> None:
        self.queue.buckets = buckets
        self.stream.follower.empty_wake_pause = 0.0 if buckets == ALL_BUCKETS else EMPTY_WAKE_PAUSE
        self.stream.follower.reopen()
        self.claims.request_backlog()

    def _start(self, claim: Claim) -> None:
        self.tasks.append(asyncio.create_task(self._work(claim)))

    async def _work(self, claim: Claim) -> None:
        try:
            await asyncio.sleep(self.work_seconds)
            if await self.queue.finish(claim, DONE, now_ms()) is not None:
                self.finished[claim.id] = time.time()
        finally:
            self.capacity.release()

    async def _beat(self) -> None:
        while not self.stopping.is_set():
            await self.membership.beat({"host": "bench"}, 3 * HEARTBEAT)
            await asyncio.sleep(HEARTBEAT.total_seconds())

    def start(self) -> None:
        self.tasks += [asyncio.create_task(self.stream.run()), asyncio.create_task(self.claims.run()),
                       asyncio.create_task(self._beat())]

    async def stop(self) -> None:
        self.stopping.set()
        self.claims.wake.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def produce(client: AsyncMongoClient, database: str, count: int, rate: float) -> dict[ObjectId, float]:
    """Insert `count` pending invoices at `rate` per second; when each was inserted."""
    invoices = client[database]["invoices"]
    org = ObjectId()
    inserted: dict[ObjectId, float] = {}
    started = time.monotonic()
    for number in range(count):
        await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
        now = utcnow()
        document = {"org_id": org, "owner_id": org, "file_id": ObjectId(), "content_type": "text/plain",
                    "filename": "f.txt", "size": 1, "sha256": "0", "status": "pending", "attempts": 0,
                    "queued_at": now, "created_at": now, "updated_at": now, "status_history": []}
        inserted[(await invoices.insert_one(document)).inserted_id] = time.time()
    return inserted


async def run(uri: str, watchers: int, invoices: int, rate: float, work_seconds: float) -> dict[str, float]:
    database = f"bench_partition_{watchers}"
    listener = Commands()
    settings = Settings(env="test", mongodb_uri=uri, mongodb_db=database,
                        jwt_secret="bench-secret-0123456789abcdef0123456789")
    client, _ = await connect(settings, event_listeners=[listener])
    producer = make_client(uri)
    finished: dict[ObjectId, float] = {}
    fleet = [CheapWatcher(number, "bench", work_seconds, finished) for number in range(watchers)]
    for watcher in fleet:
        watcher.start()
    # Two heartbeats: everyone has seen everyone, and the streams reopened on their ranges.
    await asyncio.sleep(2 * HEARTBEAT.total_seconds() + 1)
    ranges = sorted(len(watcher.queue.buckets) for watcher in fleet)
    listener.reset()
    started = time.monotonic()
    inserted = await produce(producer, database, invoices, rate)
    while len(finished) < invoices and time.monotonic() - started < invoices / rate + 120:
        await asyncio.sleep(0.1)
    seconds = time.monotonic() - started
    commands = sum(listener.counts.values())
    claims = listener.claims
    for watcher in fleet:
        await watcher.stop()
    statuses = {row["_id"]: row["n"] async for row in await client[database]["invoices"].aggregate(
        [{"$group": {"_id": "$status", "n": {"$sum": 1}}}])}
    await client.drop_database(database)
    await client.close()
    await producer.close()
    latencies = [(finished[i] - inserted[i]) * 1000 for i in inserted if i in finished]
    return {"watchers": watchers, "invoices": invoices, "processed": statuses.get("processed", 0),
            "claims_per_invoice": claims / invoices, "commands_per_invoice": commands / invoices,
            "latency_p50_ms": percentile(latencies, 50), "latency_p99_ms": percentile(latencies, 99),
            "seconds": seconds, "buckets_min": ranges[0], "buckets_max": ranges[-1],
            "commands": dict(listener.counts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, nargs="+", default=[1, 2, 5, 10, 20, 50])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=150.0, help="invoices inserted per second")
    parser.add_argument("--work", type=float, default=0.02, help="seconds each job sleeps instead of OCR")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = []
    with embedded_database(durable=False) as server:
        for watchers in args.watchers:
            result = asyncio.run(run(server.uri, watchers, args.invoices, args.rate, args.work))
            console.print(f"N={watchers}: {result['commands']}")
            results.append(result)
    print_table(
        f"{args.invoices} invoices at {args.rate:g}/s, {BUCKETS} buckets, heartbeat {HEARTBEAT.total_seconds():g} s",
        ["watchers", "processed", "claims/invoice", "commands/invoice", "p50 ms", "p99 ms", "buckets each"],
        [[r["watchers"], r["processed"], f"{r['claims_per_invoice']:.2f}", f"{r['commands_per_invoice']:.2f}",
          r["latency_p50_ms"], r["latency_p99_ms"], f"{r['buckets_min']}–{r['buckets_max']}"] for r in results],
    )
    write_json(args.json, results)


if __name__ == "__main__":
    main()
