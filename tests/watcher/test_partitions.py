"""Partitioned work: the live watchers split the 256 buckets between them, each claims only the invoices of
its range, and a watcher killed while it owns buckets has them taken over; every invoice is still written
exactly once."""

from __future__ import annotations

import re
import signal

from bson import ObjectId

from core.models import Invoice
from tests.watcher.support import queue_invoices, statuses, wait_until, watcher_ready
from watcher.partitions import ALL_BUCKETS, BUCKETS, bucket_of, buckets_for
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
    ids = await queue_invoices(db, [f"sleep 0.5\ninvoice {n}".encode() for n in range(40)])

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
