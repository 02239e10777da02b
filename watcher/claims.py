"""Taking work: while fewer than `concurrency + prefetch` claims are held, claim the ids the stream offered,
then the backlog in batches from the database, then sleep until an offer, a due retry, or a sweep wakes it.
Each claim won is handed to `start_job`."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from bson import ObjectId
from pymongo.errors import PyMongoError

from core.backoff import Backoff, wait_event
from watcher.queue import Claim, InvoiceQueue, now_ms

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
        self._offered: deque[tuple[ObjectId, ObjectId | None]] = deque()  # (id, org_id when known)
        self._backlog = True  # the database may hold ready invoices nobody offered: read it

    def offer(self, invoice_id: ObjectId, org_id: ObjectId | None = None) -> None:
        if len(self._offered) < OFFER_LIMIT:
            self._offered.append((invoice_id, org_id))
        else:
            self._backlog = True  # bounded memory: the database keeps the rest
        self.wake.set()

    def request_backlog(self) -> None:
        self._backlog = True
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
                    continue
                if self._backlog:
                    self._backlog = False  # cleared first: a request arriving during the read is kept
                    batch = await self.queue.ready_ids(BACKLOG_BATCH)
                    self._offered.extend(batch)
                    self._backlog = self._backlog or len(batch) == BACKLOG_BATCH
                    continue
                retry_at = await self.queue.next_retry_at()
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
