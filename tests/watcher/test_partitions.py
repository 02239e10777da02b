"""Partitioned work: the live watchers split the 256 buckets between them, each claims only the invoices of
its range, and a watcher killed while it owns buckets has them taken over; every invoice is still written
exactly once."""

from __future__ import annotations

import re
import signal
from datetime import timedelta

from bson import ObjectId
from pymongo import monitoring

from core.config import Settings
from core.db import connect
from core.models import Invoice, WatcherGroup, utcnow
from tests.watcher.support import ids_spread_over_buckets, queue_invoices, statuses, wait_until, watcher_ready
from watcher.partitions import ALL_BUCKETS, BUCKETS, Membership, bucket_of, buckets_for
from watcher.queue import InvoiceQueue


def test_the_live_watchers_split_every_bucket_between_them():
    for count in (1, 2, 3, 7, 50):
        live = [f"w{n}" for n in range(count)]
        ranges = [buckets_for(watcher, live) for watcher in live]
        assert sum(len(r) for r in ranges) == BUCKETS and frozenset().union(*ranges) == ALL_BUCKETS
        assert max(map(len, ranges)) - min(map(len, ranges)) <= 1
    assert buckets_for("new", ["a", "b"]) == buckets_for("new", ["a", "b", "new"])  # itself counts as alive


async def test_backlog_reads_keep_to_the_watchers_buckets(db):
    ids = await queue_invoices(db, [f"invoice {n}".encode() for n in range(40)])
    queue = InvoiceQueue(Invoice.get_pymongo_collection(), "w", lease_seconds=30, max_attempts=3,
                         retry_base_seconds=10)
    halves = buckets_for("a", ["a", "b"]), buckets_for("b", ["a", "b"])
    seen: list[ObjectId] = []
    for half in halves:
        queue.buckets = half
        found = [offer.id for offer in await queue.ready_ids(100)]
        assert all(bucket_of(invoice_id) in half for invoice_id in found)
        seen += found
    assert sorted(seen) == sorted(ids)


def processed_by(log: str) -> set[str]:
    return set(re.findall(r"invoice ([0-9a-f]{24}) attempt \d+: processed", log))


async def test_two_watchers_share_the_work_and_a_killed_ones_buckets_are_taken_over(db, start_watcher):
    first = start_watcher("--id", "w-a")
    second = start_watcher("--id", "w-b")
    await wait_until(watcher_ready(db, 2), 60, "both watchers to start", first)

    async def split() -> bool:
        return "owns 128 of 256 buckets" in first.log() and "owns 128 of 256 buckets" in second.log()

    await wait_until(split, 30, "the buckets split in two", first)
    # Ids spread evenly over the buckets: with ids as they come, one half can get so few invoices that the
    # watcher killed below has finished them all and holds no claim to be taken over.
    ids = await queue_invoices(db, [f"sleep 0.5\ninvoice {n}".encode() for n in range(40)],
                               ids=ids_spread_over_buckets(40))

    async def some_done() -> bool:
        return (await statuses(db))["processed"] >= 10

    await wait_until(some_done, 60, "a quarter processed", first)
    assert processed_by(first.log()) and processed_by(second.log())  # both had work: their own buckets
    first.signal(signal.SIGKILL)
    first.wait(10)

    async def all_done() -> bool:
        return (await statuses(db))["processed"] == len(ids)

    async def taken_over() -> bool:
        return "owns 256 of 256 buckets" in second.log()

    await wait_until(taken_over, 30, "the dead watcher's range taken over", second)
    await wait_until(all_done, 90, "every invoice processed after the kill", second)
    assert (await db["invoices"].count_documents({"lease_expiries": 1})) > 0  # it died holding claims
    async for doc in db["invoices"].find():
        assert [entry["status"] for entry in doc["status_history"]].count("processed") == 1, doc
    by_first, by_second = processed_by(first.log()), processed_by(second.log())
    assert not by_first & by_second  # written once: no invoice processed by both


def beat(host: str) -> dict:
    now = utcnow()
    return {"host": host, "pid": 1, "started_at": now, "last_seen": now}


async def test_one_command_per_heartbeat_beats_and_reads_the_group_and_an_expired_member_is_pruned(
    db, settings: Settings,
):
    listener = CommandNames()
    client, _ = await connect(settings, event_listeners=[listener])
    try:
        changes: dict[str, list[frozenset[int]]] = {"a.host:1": [], "b$:2": []}
        first = Membership("a.host:1", "g", changes["a.host:1"].append)  # a '.' and a '$' are kept in field names
        second = Membership("b$:2", "g", changes["b$:2"].append)
        await first.beat(beat("a"), timedelta(seconds=30))
        assert first.buckets == ALL_BUCKETS and not changes["a.host:1"]
        listener.names.clear()
        await second.beat(beat("b"), timedelta(seconds=30))
        assert listener.names == ["findAndModify"], "one command both beats and reads the membership"
        assert second.live == 2 and len(second.buckets) == BUCKETS // 2
        await first.beat(beat("a"), timedelta(seconds=30))
        assert first.buckets | second.buckets == ALL_BUCKETS and not first.buckets & second.buckets
        assert sorted(beat.id for beat in await WatcherGroup.heartbeats()) == ["a.host:1", "b$:2"]

        # The second stops beating: its entry expires, and the next beat of the first prunes it.
        await second.beat(beat("b"), timedelta(seconds=-1))
        await first.beat(beat("a"), timedelta(seconds=30))
        assert first.buckets == ALL_BUCKETS and first.live == 1
        assert [beat.id for beat in await WatcherGroup.heartbeats()] == ["a.host:1"]

        # A member that beat again before the prune keeps its entry: only still-expired entries are removed.
        await second.beat(beat("b"), timedelta(seconds=-1))
        read_at = utcnow()
        stale = await WatcherGroup.get_pymongo_collection().find_one({"_id": "g"})
        await second.beat(beat("b"), timedelta(seconds=30))
        await first.prune(stale["members"], read_at)
        assert len(await WatcherGroup.heartbeats()) == 2

        await second.leave()
        assert [beat.id for beat in await WatcherGroup.heartbeats()] == ["a.host:1"]
    finally:
        await client.close()


class CommandNames(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
