"""Claims per invoice as the fleet grows: N cheap watchers (asyncio, in one process) share the real claim
code (stream, claims, partitions, fenced writes; a sleep instead of the extraction) against the embedded
database, while a producer inserts invoices at a steady rate. A PyMongo CommandListener on the watchers'
client counts every command they send, in steady state (after each watcher has handled work).

    .venv/bin/python -m bench.partition [--watchers 1 2 5 10 20 50] [--load fleet|per-watcher|both]
        [--rate 30 150] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from bench.common import console, embedded_database, percentile, print_table, write_json
from core.config import Settings
from core.db import connect, make_client
from core.models import Invoice, utcnow
from watcher.claims import Claims
from watcher.partitions import BUCKETS, Membership
from watcher.queue import Claim, InvoiceQueue, now_ms
from watcher.stream import InvoiceStream
from watcher.worker import JobResult

HEARTBEAT = timedelta(seconds=5)  # the default HEARTBEAT_SECONDS
CONCURRENCY, PREFETCH = 2, 2
DONE = JobResult(ok=True, extract_ms=1.0, extraction={"ok": True}, search_terms=[])


def command_purpose(name: str, command: Mapping[str, Any]) -> str:
    """What a watcher sent this command for, from its shape (the claim code's own filters)."""
    collection = command.get(name)
    if name == "aggregate" and any("$changeStream" in stage for stage in command.get("pipeline", [])):
        return "stream open"
    if name == "getMore":
        return "stream getMore"  # split into empty and with events by the reply
    if name == "update" and collection == "invoices":
        query = command["updates"][0]["q"]
        if query.get("status") == "pending" and "_id" in query:
            return "claim"
        return "final write" if "_id" in query else "lease renewal"
    if name == "find" and collection == "invoices":
        query = command.get("filter", {})
        if "lease.owner" in query:
            return "claim read-back"
        if isinstance(query.get("retry_at"), Mapping) and "$gt" in query["retry_at"]:
            return "next retry read"
        return "backlog read"
    if collection == "watchers":
        return "heartbeat (beat and membership)" if name == "findAndModify" else "heartbeat prune"
    if collection == "watcher_state":
        return "token save"
    return f"other {name} {collection}"


class Commands(monitoring.CommandListener):
    """Counts every command by name and by purpose; a change-stream getMore counts as empty or with events
    by its reply."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.purposes: Counter[str] = Counter()
        self.claims = 0
        self._getmores: set[int] = set()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1
        purpose = command_purpose(event.command_name, event.command)
        if purpose == "stream getMore":
            self._getmores.add(event.request_id)
        else:
            self.purposes[purpose] += 1
        if purpose == "claim":
            self.claims += len(event.command["updates"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.request_id in self._getmores:
            self._getmores.discard(event.request_id)
            batch = event.reply.get("cursor", {}).get("nextBatch") or []
            self.purposes["stream getMore, events" if batch else "stream getMore, empty"] += 1

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if event.request_id in self._getmores:
            self._getmores.discard(event.request_id)
            self.purposes["stream getMore, failed"] += 1

    def reset(self) -> None:
        self.counts.clear()
        self.purposes.clear()
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
        self.stream.follow_partition(self.membership.live)
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
            now = now_ms()
            beat = {"host": "bench", "pid": 0, "started_at": now, "last_seen": now, "in_flight": 0, "processed": 0,
                    "failed": 0, "retried": 0, "swept": 0}  # the fields a real heartbeat writes
            await self.membership.beat(beat, 3 * HEARTBEAT)
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


async def run(uri: str, watchers: int, invoices: int, rate: float, work_seconds: float) -> dict[str, Any]:
    database = f"bench_partition_{watchers}_{int(rate)}"
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
    # Then one invoice per bucket (consecutive ids fill every bucket), so that each watcher has handled work
    # before the count starts: its first resume-token save and its recent event rate are those of a fleet
    # that has been running, not of one just started.
    warm_up = await produce(producer, database, BUCKETS, rate)
    deadline = time.monotonic() + 120
    while len(finished) < len(warm_up) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    finished.clear()
    listener.reset()
    started = time.monotonic()
    inserted = await produce(producer, database, invoices, rate)
    inserting = time.monotonic() - started
    while len(finished) < invoices and time.monotonic() - started < invoices / rate + 120:
        await asyncio.sleep(0.1)
    seconds = time.monotonic() - started
    commands = sum(listener.counts.values())
    purposes = dict(listener.purposes)
    claims = listener.claims
    for watcher in fleet:
        await watcher.stop()
    statuses = {row["_id"]: row["n"] async for row in await client[database]["invoices"].aggregate(
        [{"$match": {"_id": {"$in": list(inserted)}}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}])}
    await client.drop_database(database)
    await client.close()
    await producer.close()
    latencies = [(finished[i] - inserted[i]) * 1000 for i in inserted if i in finished]
    empty = purposes.get("stream getMore, empty", 0)
    return {"watchers": watchers, "invoices": invoices, "rate": rate, "inserted_per_second": invoices / inserting,
            "processed": statuses.get("processed", 0),
            "claims_per_invoice": claims / invoices, "commands_per_invoice": commands / invoices,
            "commands_but_empty_getmores_per_invoice": (commands - empty) / invoices,
            "latency_p50_ms": percentile(latencies, 50), "latency_p99_ms": percentile(latencies, 99),
            "seconds": seconds, "buckets_min": ranges[0], "buckets_max": ranges[-1],
            "commands": dict(listener.counts), "purposes": purposes}


def print_results(title: str, results: list[dict[str, Any]]) -> None:
    print_table(
        title,
        ["watchers", "invoices/s", "inserted/s", "processed", "claims/invoice", "commands/invoice", "without empty getMores",
         "p50 ms", "p99 ms", "buckets each"],
        [[r["watchers"], f"{r['rate']:g}", f"{r['inserted_per_second']:.0f}", r["processed"], f"{r['claims_per_invoice']:.2f}",
          f"{r['commands_per_invoice']:.2f}", f"{r['commands_but_empty_getmores_per_invoice']:.2f}",
          r["latency_p50_ms"], r["latency_p99_ms"], f"{r['buckets_min']}–{r['buckets_max']}"] for r in results],
    )
    purposes = sorted({purpose for r in results for purpose in r["purposes"]})
    print_table(
        f"{title}: commands per invoice by purpose",
        ["purpose", *[f"N={r['watchers']}" for r in results]],
        [[purpose, *[f"{r['purposes'].get(purpose, 0) / r['invoices']:.3f}" for r in results]]
         for purpose in purposes],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, nargs="+", default=[1, 2, 5, 10, 20, 50])
    parser.add_argument("--load", choices=["fleet", "per-watcher", "both"], default="both",
                        help="fleet: the same total rate whatever N; per-watcher: the rate grows with N")
    parser.add_argument("--invoices", type=int, default=1000, help="fleet load: invoices per run")
    parser.add_argument("--rate", type=float, nargs="+", default=[30.0, 150.0],
                        help="fleet load: invoices inserted per second (one table each); 30 the embedded database "
                             "sustains at every N, 150 saturates it at N = 1")
    parser.add_argument("--per-watcher-rate", type=float, default=3.0, help="per-watcher load: invoices/s each")
    parser.add_argument("--seconds", type=float, default=20.0, help="per-watcher load: seconds of inserts")
    parser.add_argument("--work", type=float, default=0.02, help="seconds each job sleeps instead of OCR")
    parser.add_argument("--json")
    args = parser.parse_args()
    loads: dict[str, list[tuple[int, int, float]]] = {}
    if args.load in ("fleet", "both"):
        for rate in args.rate:
            loads[f"fleet load: {args.invoices} invoices at {rate:g}/s"] = [
                (watchers, args.invoices, rate) for watchers in args.watchers]
    if args.load in ("per-watcher", "both"):
        loads[f"per-watcher load: {args.per_watcher_rate:g}/s per watcher for {args.seconds:g} s"] = [
            (watchers, round(watchers * args.per_watcher_rate * args.seconds), watchers * args.per_watcher_rate)
            for watchers in args.watchers]
    results: dict[str, list[dict[str, Any]]] = {}
    with embedded_database(durable=False) as server:
        for title, runs in loads.items():
            results[title] = []
            for watchers, invoices, rate in runs:
                result = asyncio.run(run(server.uri, watchers, invoices, rate, args.work))
                console.print(f"{title}, N={watchers}: {result['commands']}")
                results[title].append(result)
    heading = f"{BUCKETS} buckets, heartbeat {HEARTBEAT.total_seconds():g} s"
    for title, rows in results.items():
        print_results(f"{title}; {heading}", rows)
    console.print(
        "SecantusDB answers a waiting change-stream getMore as soon as anything is written anywhere (its oplog "
        "condition variable), with an empty batch when the stream's filter kept nothing; MongoDB keeps waiting "
        "until maxAwaitTimeMS. 'without empty getMores' is the count with those early empty answers left out.")
    write_json(args.json, results)


if __name__ == "__main__":
    main()
