"""The change stream's life: resume after a restart, an unusable resume token, a dropped collection, a reopen
for a new bucket range, and the sweep's count of pending invoices the stream never delivered."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from core.changestream import ChangeFollower
from core.models import Invoice
from watcher.queue import InvoiceQueue, now_ms
from watcher.stream import STREAM_AWAIT_MS, StreamAudit
from tests.watcher.support import queue_invoices, statuses, wait_until, watcher_ready

NO_SWEEP = {"SWEEP_INTERVAL_SECONDS": "600"}  # whatever is processed was delivered by the stream


def processed(db, count: int):  # noqa: ANN001, ANN201
    async def check() -> bool:
        return (await statuses(db))["processed"] >= count

    return check


@pytest.mark.slow
async def test_a_restarted_watcher_resumes_from_the_saved_token(db, start_watcher):
    first = start_watcher("--id", "w1", **NO_SWEEP)
    await wait_until(watcher_ready(db), 60, "the watcher to start", first)
    await queue_invoices(db, [b"one", b"two"])
    await wait_until(processed(db, 2), 15, "two invoices processed", first)
    first.signal(signal.SIGTERM)
    assert first.wait(15) == 0
    saved = (await db["watcher_state"].find_one({"_id": "default/w1"}))["resume_token"]  # one per owner
    assert saved is not None

    await queue_invoices(db, [b"three", b"four"])  # while no watcher runs
    second = start_watcher("--id", "w1", **NO_SWEEP)
    await wait_until(processed(db, 4), 30, "the invoices queued meanwhile", second)
    await queue_invoices(db, [b"five"])
    await wait_until(processed(db, 5), 15, "an invoice queued after the restart", second)
    assert "resume token" not in second.log()


@pytest.mark.slow
async def test_an_unusable_resume_token_is_deleted_not_retried_and_work_goes_on(db, start_watcher):
    bogus = {"_data": "82deadbeef"}
    await db["watcher_state"].insert_one({"_id": "default/w1", "resume_token": bogus, "updated_at": now_ms()})
    await queue_invoices(db, [b"one", b"two"])
    watcher = start_watcher("--id", "w1", **NO_SWEEP)
    await wait_until(processed(db, 2), 30, "the backlog processed", watcher)
    await queue_invoices(db, [b"three"])
    await wait_until(processed(db, 3), 15, "a new invoice through the fresh stream", watcher)
    assert watcher.log().count("cannot be used") == 1

    async def token_replaced() -> bool:
        state = await db["watcher_state"].find_one({"_id": "default/w1"})
        return state["resume_token"] not in (bogus, None)

    await wait_until(token_replaced, 10, "a fresh token saved", watcher)


@pytest.mark.slow
async def test_a_dropped_collection_invalidates_the_stream_and_the_watcher_goes_on(db, start_watcher):
    watcher = start_watcher(**NO_SWEEP)
    await wait_until(watcher_ready(db), 60, "the watcher to start", watcher)
    await queue_invoices(db, [b"one"])
    await wait_until(processed(db, 1), 15, "the first invoice", watcher)
    await db["invoices"].drop()
    await queue_invoices(db, [b"two", b"three"])
    await wait_until(processed(db, 2), 20, "invoices queued after the drop", watcher)
    assert "invalidated" in watcher.log()


async def test_the_sweep_reports_only_pending_invoices_the_stream_never_delivered(db):
    queue = InvoiceQueue(Invoice.get_pymongo_collection(), "w", lease_seconds=30, max_attempts=3,
                         retry_base_seconds=1)
    audit = StreamAudit()
    audit.opened_at = now_ms() - timedelta(minutes=1)
    backlog, delivered, skipped, _fresh = await queue_invoices(db, [b"a", b"b", b"c", b"d"])
    invoices = Invoice.get_pymongo_collection()
    await invoices.update_one({"_id": backlog}, {"$set": {"updated_at": audit.opened_at - timedelta(seconds=1)}})
    await invoices.update_many({"_id": {"$in": [delivered, skipped]}},
                               {"$set": {"updated_at": audit.opened_at + timedelta(seconds=10)}})
    audit.delivered(delivered)
    # The backlog predates the stream, `_fresh` may still be on its way: only `skipped` was missed.
    assert await audit.missed(queue) == [skipped]
    assert await audit.missed(queue) == []  # reported once


async def test_a_reopen_abandons_the_getmore_in_flight_and_loses_or_repeats_no_event(db):
    """A watcher given a new bucket range reopens at once, not after its current getMore's wait (up to
    STREAM_AWAIT_MS on MongoDB); the changes an abandoned getMore carried come again from the resume token."""
    collection = db["reopen_probe"]
    handled: list[int] = []
    opened: list[float] = []
    loop = asyncio.get_running_loop()

    async def handle(change: Mapping[str, Any]) -> None:
        handled.append(change["fullDocument"]["n"])

    follower = ChangeFollower("probe", collection, [{"$match": {"operationType": "insert"}}], handle,
                              on_open=lambda: opened.append(loop.time()), max_await_time_ms=STREAM_AWAIT_MS)
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(follower.open.wait(), 10)
        await collection.insert_one({"n": 0})
        async with asyncio.timeout(10):
            while handled != [0]:
                await asyncio.sleep(0.01)

        # Nothing is written: the getMore now in flight would wait the whole STREAM_AWAIT_MS.
        await asyncio.sleep(0.5)
        asked = loop.time()
        follower.reopen()
        async with asyncio.timeout(10):
            while len(opened) < 2:
                await asyncio.sleep(0.01)
        assert opened[1] - asked < 1.0, "reopened without waiting out the getMore in flight"

        # Reopens racing writes: each write wakes the getMore the reopen abandons, at varied moments.
        for n in range(1, 31):
            write = asyncio.create_task(collection.insert_one({"n": n}))
            await asyncio.sleep(random.uniform(0, 0.01))
            follower.reopen()
            await write
            await asyncio.sleep(random.uniform(0, 0.02))
        async with asyncio.timeout(20):
            while len(handled) < 31:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        assert sorted(handled) == list(range(31)), "each change handled exactly once"
        assert len(opened) > 10, "the reopens happened"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
