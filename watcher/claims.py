"""Taking work: while fewer than `concurrency + prefetch` claims are held, claim the ids the stream offered,
then the backlog in batches from the database, then sleep until an offer, a due retry, or a sweep wakes it.
Each claim won is handed to `start_job`.

When the next retry is due is read from the database only when it may have changed (after a backlog read, a
retry written here, a claim lost), not every time the loop falls idle: an idle loop is the common case of a
watcher owning a small share of the buckets."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime

from bson import ObjectId
from pymongo.errors import PyMongoError

from core.backoff import Backoff, wait_event
from watcher.queue import Claim, InvoiceQueue, Offer, now_ms

log = logging.getLogger("watcher")

OFFER_LIMIT = 1_000  # ids waiting to be claimed; past it the backlog is read back from the database
BACKLOG_BATCH = 100


class Claims:
    def __init__(
        self, queue: InvoiceQueue, capacity: asyncio.Semaphore, stopping: asyncio.Event, *,
        start_job: Callable[[Claim], None], hold: Callable[[Claim], None],
    ) -> None:
        self.queue = queue
        self.capacity = capacity  # a slot per claim held; the job releases it when it ends
        self.wake = asyncio.Event()
        self._stopping = stopping
        self._start_job, self._hold = start_job, hold
        self._offered: deque[Offer] = deque()
        self._backlog = True  # the database may hold ready invoices nobody offered: read it
        self._retry_at: datetime | None = None  # when the earliest waiting retry of its buckets becomes ready
        self._retry_known = False  # whether `_retry_at` is still what the database would answer

    def offer(self, invoice_id: ObjectId, org_id: ObjectId | None = None, owner_id: ObjectId | None = None) -> None:
        if len(self._offered) < OFFER_LIMIT:
            self._offered.append(Offer(invoice_id, org_id, owner_id))
        else:
            self._backlog = True  # bounded memory: the database keeps the rest
        self.wake.set()

    def request_backlog(self) -> None:
        self._backlog = True
        self.wake.set()

    def retry_scheduled(self) -> None:
        """A retry was written: when the next one is due must be read again."""
        self._retry_known = False
        self.wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            if not await _acquire_unless(self.capacity, self._stopping):
                return
            claim = await self._next_claim()
            if claim is None:
                self.capacity.release()
                return
            self._start_job(claim)

    async def _next_claim(self) -> Claim | None:
        """The next claim, waiting for work as long as needed; None when stopping. Never cancelled while
        a claim is in flight (shutdown waits for it), so no claim is ever taken and then forgotten."""
        backoff = Backoff(self._stopping)
        while not self._stopping.is_set():
            self.wake.clear()
            retry_at = None
            try:
                if self._offered:
                    claim = await self.queue.claim(*self._offered.popleft())
                    if claim is not None and self._stopping.is_set():
                        self._hold(claim)  # handed back with the others on the way out
                        return None
                    if claim is not None:
                        return claim
                    self._retry_known = False  # not ready (a retry written elsewhere), or claimed elsewhere
                    continue
                if self._backlog:
                    self._backlog = False  # cleared first: a request arriving during the read is kept
                    batch = await self.queue.ready_ids(BACKLOG_BATCH)
                    self._offered.extend(batch)
                    self._backlog = self._backlog or len(batch) == BACKLOG_BATCH
                    self._retry_known = False
                    continue
                if not self._retry_known:
                    self._retry_at = await self.queue.next_retry_at()
                    self._retry_known = True
                retry_at = self._retry_at
                backoff.reset()
            except PyMongoError as exc:
                log.warning("claiming failed (%s); trying again in about %.1f s", exc, backoff.delay)
                self._backlog = True
                await backoff.sleep()
                continue
            except Exception:  # a bug must not stop the claims for good
                log.exception("claiming failed; trying again in about %.1f s", backoff.delay)
                self._backlog = True
                await backoff.sleep()
                continue
            if self._offered or self._backlog:
                continue
            timeout = None if retry_at is None else max(0.0, (retry_at - now_ms()).total_seconds())
            if not await wait_event(self.wake, timeout):
                self._backlog = True  # a retry came due
                self._retry_known = False
        return None


async def _acquire_unless(semaphore: asyncio.Semaphore, stopping: asyncio.Event) -> bool:
    """Acquire `semaphore` unless `stopping` is set first; True if acquired."""
    acquire = asyncio.ensure_future(semaphore.acquire())
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if acquire.done() and not acquire.cancelled():
        if stopping.is_set():
            semaphore.release()
            return False
        return True
    acquire.cancel()
    return False
