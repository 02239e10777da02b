"""Commands that must not grow with the fleet: the claim loop's next-retry read, a partitioned stream's
answers to SecantusDB's early empty getMores, and the resume-token saves (seen by a PyMongo
`CommandListener` on the commands the client really sends)."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import monitoring

from core.changestream import EVENT_RATE_WINDOW, ChangeFollower
from core.config import Settings
from core.db import connect
from core.models import Invoice
from tests.watcher.support import queue_invoices
from watcher.claims import Claims
from watcher.queue import Claim, InvoiceQueue, now_ms
from watcher.stream import InvoiceStream
from watcher.worker import JobResult

DONE = JobResult(ok=True, extraction={"fields": {}}, search_terms=[], extract_ms=1.0)


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.next_retry_reads = 0
        self.token_saves = 0
        self.getmores = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "getMore":
            self.getmores += 1
        if event.command_name == "update" and event.command.get("update") == "watcher_state":
            self.token_saves += 1
        retry_at = event.command.get("filter", {}).get("retry_at") if event.command_name == "find" else None
        if isinstance(retry_at, dict) and "$gt" in retry_at:
            self.next_retry_reads += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_an_idle_claim_loop_reads_the_next_retry_only_when_it_may_have_changed(db, settings: Settings):
    listener = Commands()
    client, _ = await connect(settings, event_listeners=[listener])
    queue = InvoiceQueue(Invoice.get_pymongo_collection(), "w", lease_seconds=30, max_attempts=3,
                         retry_base_seconds=10)
    capacity, stopping = asyncio.Semaphore(2), asyncio.Event()
    finished: list[Any] = []

    async def work(claim: Claim) -> None:
        await queue.finish(claim, DONE, now_ms())
        finished.append(claim.id)
        capacity.release()

    tasks: list[asyncio.Task[Any]] = []
    claims = Claims(queue, capacity, stopping, start_job=lambda claim: tasks.append(asyncio.create_task(work(claim))),
                    hold=lambda _: None)
    loop = asyncio.create_task(claims.run())
    try:
        for number in range(10):  # one at a time, as a watcher owning a small share of the buckets sees them
            [invoice_id] = await queue_invoices(db, [b"invoice %d" % number])
            claims.offer(invoice_id)
            async with asyncio.timeout(10):
                while len(finished) <= number:
                    await asyncio.sleep(0.01)
        assert listener.next_retry_reads <= 2, "read after the first backlog read, not each time the loop fell idle"
    finally:
        stopping.set()
        claims.wake.set()
        await asyncio.wait_for(loop, 10)
        await asyncio.gather(*tasks)
        await client.close()


def test_after_an_early_empty_answer_a_follower_waits_about_the_time_between_its_own_events():
    follower = ChangeFollower("test", None, [], None)  # type: ignore[arg-type]  # never run: the rule alone
    assert follower._empty_wake_pause(100.0) == 0.0, "off unless the watcher shares the work"
    follower.max_empty_wake_pause = 1.0
    assert follower._empty_wake_pause(100.0) == 1.0, "no recent event: the longest pause"
    follower._event_times.extend(100.0 - EVENT_RATE_WINDOW + 0.1 * n for n in range(40))
    assert follower._empty_wake_pause(100.0) == EVENT_RATE_WINDOW / 40
    assert follower._empty_wake_pause(100.0 + EVENT_RATE_WINDOW - 0.05) == 1.0, "old events are forgotten"


async def test_a_paced_follower_asks_about_once_per_event_though_every_write_answers_its_getmore(
    db, settings: Settings,
):
    """SecantusDB answers a waiting getMore at every write; a follower of one write in five, paced, does not
    ask after each of them, nor once after each of its events and once more at the next write."""
    listener = Commands()
    client, database = await connect(settings, event_listeners=[listener])
    events: list[int] = []

    async def handle(change: Any) -> None:
        events.append(change["fullDocument"]["n"])

    follower = ChangeFollower("paced", database["pace_probe"], [{"$match": {"fullDocument.mine": True}}], handle,
                              max_await_time_ms=5000)
    follower.max_empty_wake_pause = 1.0
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(follower.open.wait(), 10)
        for n in range(120):  # 15 writes a second for 8 s, one in five of them this follower's
            await db["pace_probe"].insert_one({"n": n, "mine": n % 5 == 0})
            await asyncio.sleep(1 / 15)
        async with asyncio.timeout(10):
            while len(events) < 24:
                await asyncio.sleep(0.05)
        assert sorted(events) == list(range(0, 120, 5))
        # About one a second (the pause's cap); unpaced, 120; paced only after empty answers, twice as many.
        assert listener.getmores <= 18, f"{listener.getmores} getMores for {len(events)} events among 120 writes"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()


async def test_a_busy_stream_saves_its_token_per_hundred_events_not_every_few_seconds(db, settings: Settings):
    listener = Commands()
    client, _ = await connect(settings, event_listeners=[listener])
    queue = InvoiceQueue(Invoice.get_pymongo_collection(), "w", lease_seconds=30, max_attempts=3,
                         retry_base_seconds=10)
    offered: list[Any] = []
    stopping = asyncio.Event()
    stream = InvoiceStream(queue, "group/w", None, stopping, offer=lambda *offer: offered.append(offer),
                           request_backlog=lambda: None)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(stream.follower.open.wait(), 10)
        await queue_invoices(db, [b"first"])
        async with asyncio.timeout(10):
            while stream.follower.resume_token is None:
                await asyncio.sleep(0.05)
        await stream.save_token()  # a token is stored: the next ones wait for 100 events or a minute
        saved = listener.token_saves
        for _ in range(8):  # 16 events over 8 s: more than one old save period
            await queue_invoices(db, [b"a", b"b"])
            await asyncio.sleep(1)
        assert len(offered) == 17
        assert listener.token_saves == saved == 1, "no save for 16 events within a minute"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
