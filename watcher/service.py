"""The watcher process: the change stream and sweeps find work, claims take it, the pool does it, and a
write fenced by the lease records it.

Four loops share one event loop and never block it:
- stream: follows the `invoices` change stream (inserts and updates to `pending`), offers the ids to the
  claim loop, and saves the resume token of the group about once a second;
- claims: while fewer than `concurrency + prefetch` claims are held, claims offered ids, then the backlog
  in batches from the database, then sleeps until an event, a due retry, or a sweep wakes it;
- jobs: one task per claim: read the file from GridFS, run it in a worker process, write the outcome;
- maintenance: heartbeat, lease renewal, the periodic sweep (expired leases, missed events), and now
  and then the deletion of stored files no invoice names (`watcher.orphans`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bson import ObjectId
from gridfs import NoFile
from pymongo import AsyncMongoClient
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from core import storage
from core.config import Settings
from core.db import connect
from core.models import Invoice, InvoiceStatus, WatcherHeartbeat, WatcherState
from watcher import metrics
from watcher.orphans import delete_orphaned_files
from watcher.pool import ExtractorError, JobTimeout, WorkerCrashed, WorkerPool
from watcher.queue import FILE_MISSING, Claim, Failure, InvoiceQueue, now_ms
from watcher.worker import DEFAULT_EXTRACTOR, JobResult, extraction_options

log = logging.getLogger("watcher")
T = TypeVar("T")

# Only what can make an invoice claimable travels; `_id` is the resume token and must stay.
STREAM_PIPELINE: list[dict[str, Any]] = [
    {"$match": {"$or": [
        {"operationType": {"$in": ["insert", "replace"]}, "fullDocument.status": InvoiceStatus.pending.value},
        {"operationType": "update", "updateDescription.updatedFields.status": InvoiceStatus.pending.value},
        {"operationType": {"$in": ["invalidate", "drop", "rename", "dropDatabase"]}},
    ]}},
    {"$project": {"operationType": 1, "documentKey": 1}},
]
STREAM_AWAIT_MS = 500  # how long one getMore waits for events: the pace of idle token saves and stop checks
# A resume token the server will never accept again: history lost (286), fatal stream error (280), invalid
# token (260; SecantusDB answers 9). Retrying one in a loop is a known way to take a cluster down.
UNUSABLE_TOKEN_CODES = frozenset({9, 260, 280, 286})
TOKEN_SAVE_SECONDS = 1.0
OFFER_LIMIT = 1_000  # ids waiting to be claimed; past it the backlog is read back from the database
BACKLOG_BATCH = 100
SEEN_LIMIT = 20_000  # ids the stream delivered recently, to tell a missed event from an ordinary backlog
SWEEP_MIN_AGE = timedelta(seconds=5)  # younger pending invoices may still be on their way through the stream
SWEEP_LIMIT = 1_000
DB_TIMEOUT_AT_EXIT = 5.0


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class Counters:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    swept: int = 0  # pending invoices the sweep found that the stream never delivered
    lost: int = 0  # results discarded because the lease had passed to someone else


class Backoff:
    """Exponential waits between attempts against a database that is away, cut short by a stop."""

    def __init__(self, stopping: asyncio.Event, first: float = 0.25, cap: float = 10.0) -> None:
        self._stopping, self._first, self._cap = stopping, first, cap
        self.delay = first

    def reset(self) -> None:
        self.delay = self._first

    async def sleep(self) -> None:
        await _wait_event(self._stopping, self.delay)
        self.delay = min(self.delay * 2, self._cap)


class StreamAudit:
    """Tells the pending invoices the change stream should have delivered but did not (SecantusDB's stream
    can skip events silently when it falls behind oplog pruning) from an ordinary backlog."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.opened_at: datetime | None = None  # invoices pending since before the stream are not misses
        self._delivered: OrderedDict[ObjectId, None] = OrderedDict()  # bounded: oldest forgotten first
        self._limit = limit

    def opened(self) -> None:
        self.opened_at = self.opened_at or now_ms()

    def delivered(self, invoice_id: ObjectId) -> None:
        self._delivered[invoice_id] = None
        self._delivered.move_to_end(invoice_id)
        if len(self._delivered) > self._limit:
            self._delivered.popitem(last=False)

    async def missed(self, queue: InvoiceQueue) -> list[ObjectId]:
        """Ready invoices that became pending after the stream opened, a while ago, and were never
        delivered. Each is reported once."""
        if self.opened_at is None:
            return []
        recent = await queue.ready_since(self.opened_at, now_ms() - SWEEP_MIN_AGE, SWEEP_LIMIT)
        missed = [invoice_id for invoice_id in recent if invoice_id not in self._delivered]
        for invoice_id in missed:
            self.delivered(invoice_id)
        return missed


class Watcher:
    def __init__(
        self, settings: Settings, *, group: str | None = None, watcher_id: str | None = None,
        concurrency: int | None = None, prefetch: int | None = None,
    ) -> None:
        self.settings = settings
        self.group = group or settings.watcher_group
        self.id = watcher_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or settings.watcher_concurrency or available_cpus()
        self.prefetch = settings.watcher_prefetch if prefetch is None else prefetch
        self.counters = Counters()
        self.pool = WorkerPool(
            self.concurrency, settings.watcher_test_extractor or DEFAULT_EXTRACTOR, extraction_options(settings),
            log_level=settings.log_level,
        )
        self._client: AsyncMongoClient | None = None
        self._database: AsyncDatabase | None = None
        self._queue: InvoiceQueue | None = None
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()  # a second signal: do not wait for running jobs
        self._wake = asyncio.Event()
        self._capacity = asyncio.Semaphore(self.concurrency + self.prefetch)
        self._offered: deque[ObjectId] = deque()
        self._backlog = True  # the database may hold ready invoices nobody offered: read it
        self._audit = StreamAudit()
        self._held: dict[str, Claim] = {}  # token -> claims not yet ended by a write
        self._jobs: dict[asyncio.Task, bool] = {}  # job task -> running in a worker
        self._token: dict[str, Any] | None = None
        self._saved_token: dict[str, Any] | None = None
        self._started_at = now_ms()

    @property
    def queue(self) -> InvoiceQueue:
        assert self._queue is not None, "not connected"
        return self._queue

    def stop(self) -> None:
        if self._stopping.is_set():
            log.warning("second stop signal: handing back running jobs without waiting")
            self._hurry.set()
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or `stop()`), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        try:
            metrics.serve(self.settings.watcher_metrics_port)
        except OSError as exc:
            raise SystemExit(f"cannot serve metrics on port {self.settings.watcher_metrics_port}: {exc}") from None
        log.info("watcher %s starting: %d workers, prefetch %d, group %r, extractor %s", self.id,
                 self.concurrency, self.prefetch, self.group, self.settings.watcher_test_extractor or DEFAULT_EXTRACTOR)
        try:
            async with asyncio.TaskGroup() as start:  # workers import the extractor while we connect
                start.create_task(self.pool.start())
                start.create_task(self._connect())
        except BaseExceptionGroup as group:
            await self._close()
            raise group.exceptions[0] from None
        if self._stopping.is_set():
            await self._close()
            return
        log.info("watcher %s ready", self.id)
        maintenance = asyncio.create_task(self._maintenance_loop(), name="maintenance")
        stream = asyncio.create_task(self._stream_loop(), name="stream")
        claims = asyncio.create_task(self._claim_loop(), name="claims")
        await self._stopping.wait()
        await self._shutdown(claims, stream, maintenance)

    # --- connection -----------------------------------------------------------------------------------

    async def _connect(self) -> None:
        backoff = Backoff(self._stopping, first=0.5)
        while not self._stopping.is_set():
            try:
                self._client, self._database = await connect(self.settings)
            except PyMongoError as exc:
                log.warning("the database is not reachable (%s); trying again in %.1f s", exc, backoff.delay)
                await backoff.sleep()
                continue
            self._queue = InvoiceQueue(
                Invoice.get_pymongo_collection(), self.id, lease_seconds=self.settings.lease_seconds,
                max_attempts=self.settings.max_attempts, retry_base_seconds=self.settings.retry_base_seconds,
            )
            state = await WatcherState.get_pymongo_collection().find_one({"_id": self.group})
            self._token = self._saved_token = state.get("resume_token") if state else None
            return

    # --- change stream --------------------------------------------------------------------------------

    async def _stream_loop(self) -> None:
        backoff = Backoff(self._stopping)
        while not self._stopping.is_set():
            try:
                stream = await self.queue.collection.watch(
                    STREAM_PIPELINE, resume_after=self._token, max_await_time_ms=STREAM_AWAIT_MS
                )
                async with stream:
                    self._audit.opened()
                    self._request_backlog()  # whatever became pending while nobody listened
                    backoff.reset()
                    await self._follow(stream)
                if not self._stopping.is_set():
                    log.warning("the change stream was invalidated (the invoices collection was dropped or "
                                "renamed); sweeping and starting a fresh stream")
                    await self._forget_token()
            except OperationFailure as exc:
                if self._token is not None and exc.code in UNUSABLE_TOKEN_CODES:
                    log.error("the stored resume token of group %r cannot be used (%s, code %s): deleting it, "
                              "sweeping, and starting a fresh change stream", self.group, exc, exc.code)
                    await self._forget_token()
                    continue
                log.warning("the change stream failed (%s); reopening in %.1f s", exc, backoff.delay)
                await backoff.sleep()
            except PyMongoError as exc:
                log.warning("the change stream lost the database (%s); reopening in %.1f s", exc, backoff.delay)
                await backoff.sleep()
            except Exception:  # a bug must not leave the watcher deaf for good
                log.exception("the change stream loop failed; reopening in %.1f s", backoff.delay)
                await backoff.sleep()

    async def _follow(self, stream: AsyncChangeStream) -> None:
        saved_at = time.monotonic()
        while stream.alive and not self._stopping.is_set():
            change = await stream.try_next()
            if change is not None and change["operationType"] in ("insert", "update", "replace"):
                invoice_id = change["documentKey"]["_id"]
                self._audit.delivered(invoice_id)
                self._offer(invoice_id)
            elif change is not None and change["operationType"] != "invalidate":  # that one is told below
                log.warning("change stream event %r on the invoices collection", change["operationType"])
            self._token = stream.resume_token or self._token
            if self._token != self._saved_token and time.monotonic() - saved_at >= TOKEN_SAVE_SECONDS:
                await self._save_token()
                saved_at = time.monotonic()

    async def _save_token(self) -> None:
        token = self._token
        await WatcherState.get_pymongo_collection().update_one(
            {"_id": self.group}, {"$set": {"resume_token": token, "updated_at": now_ms()}}, upsert=True
        )
        self._saved_token = token

    async def _forget_token(self) -> None:
        self._token = None
        try:
            await self._save_token()
        except PyMongoError as exc:  # it is also never reused from memory; the next save overwrites it
            log.warning("could not delete the stored resume token yet (%s)", exc)

    # --- claims ---------------------------------------------------------------------------------------

    def _offer(self, invoice_id: ObjectId) -> None:
        if len(self._offered) < OFFER_LIMIT:
            self._offered.append(invoice_id)
        else:
            self._backlog = True  # bounded memory: the database keeps the rest
        self._wake.set()

    def _request_backlog(self) -> None:
        self._backlog = True
        self._wake.set()

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            if not await _acquire_unless(self._capacity, self._stopping):
                return
            claim = await self._next_claim()
            if claim is None:
                self._capacity.release()
                return
            task = asyncio.create_task(self._process(claim), name=f"invoice {claim.id}")
            self._jobs[task] = False
            task.add_done_callback(self._jobs.pop)

    async def _next_claim(self) -> Claim | None:
        """The next claim, waiting for work as long as needed; None when stopping. Never cancelled while
        a claim is in flight (shutdown waits for it), so no claim is ever taken and then forgotten."""
        backoff = Backoff(self._stopping)
        while not self._stopping.is_set():
            self._wake.clear()
            retry_at = None
            try:
                if self._offered:
                    claim = await self.queue.claim(self._offered.popleft())
                    if claim is not None and self._stopping.is_set():
                        self._held[claim.token] = claim  # handed back with the others on the way out
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
                log.warning("claiming failed (%s); trying again in %.1f s", exc, backoff.delay)
                self._backlog = True
                await backoff.sleep()
                continue
            except Exception:  # a bug must not stop the claims for good
                log.exception("claiming failed; trying again in %.1f s", backoff.delay)
                self._backlog = True
                await backoff.sleep()
                continue
            if self._offered or self._backlog:
                continue
            timeout = None if retry_at is None else max(0.0, (retry_at - now_ms()).total_seconds())
            if not await _wait_event(self._wake, timeout):
                self._backlog = True  # a retry came due
        return None

    # --- jobs -----------------------------------------------------------------------------------------

    async def _process(self, claim: Claim) -> None:
        """One claim, start to end. Cancelled (shutdown), it stays in `_held` to be handed back."""
        self._held[claim.token] = claim
        metrics.IN_FLIGHT.inc()
        metrics.QUEUED.observe((claim.claimed_at - claim.queued_at).total_seconds())
        try:
            try:
                outcome = await self._extract(claim)
            except Exception:  # a bug here must cost one attempt of this invoice, not the process
                log.exception("invoice %s: internal error in the watcher", claim.id)
                outcome = Failure("internal_error", "The watcher hit an internal error with this invoice.", True)
            await self._finish(claim, outcome)
            del self._held[claim.token]
        except Exception:
            log.exception("invoice %s: the outcome could not be written; its lease will expire", claim.id)
            self._held.pop(claim.token, None)  # stop renewing it, so the sweep requeues it
        finally:
            metrics.IN_FLIGHT.dec()
            self._capacity.release()

    async def _extract(self, claim: Claim) -> JobResult | Failure:
        data = await self._until_done(f"reading the file of invoice {claim.id}", lambda: self._read_file(claim))
        if data is None:
            return Failure(FILE_MISSING, "The stored file of this invoice is missing; upload it again.", False)
        timeout = self.settings.job_timeout_seconds
        async with self.pool.worker() as worker:
            task = asyncio.current_task()
            assert task is not None
            self._jobs[task] = True
            try:
                return await self.pool.run(worker, claim.content_type, data, timeout)
            except JobTimeout as exc:
                return Failure("timeout", str(exc), transient=True)
            except WorkerCrashed as exc:
                return Failure("worker_crashed", f"The extraction crashed its worker process ({exc}).", True)
            except ExtractorError as exc:
                return Failure("internal_error", f"The extraction raised an error: {exc}", transient=True)

    async def _read_file(self, claim: Claim) -> bytes | None:
        assert self._database is not None
        try:
            return await storage.read_file(self._database, claim.file_id)
        except NoFile:
            return None

    async def _finish(self, claim: Claim, outcome: JobResult | Failure) -> None:
        now = now_ms()  # the same on every try, so that a write applied without its reply is recognised
        tries = 0

        async def write() -> InvoiceStatus | None:
            nonlocal tries
            tries += 1
            return await self.queue.finish(claim, outcome, now, retried=tries > 1)

        status = await self._until_done(f"writing the outcome of invoice {claim.id}", write)
        self._count(claim, outcome, status)

    async def _until_done(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a database operation of a job until it succeeds: a database that is away holds the job
        (and its slot) until it is back. Shutdown cancels the job and hands the claim back."""
        backoff = Backoff(asyncio.Event())  # a job's retries are not cut short by a stop: its write matters
        while True:
            try:
                return await operation()
            except PyMongoError as exc:
                log.warning("%s failed (%s); trying again in %.1f s", what, exc, backoff.delay)
                await backoff.sleep()

    def _count(self, claim: Claim, outcome: JobResult | Failure, status: InvoiceStatus | None) -> None:
        if isinstance(outcome, JobResult):
            metrics.EXTRACT.observe(outcome.extract_ms / 1000)
        if status is None:
            self.counters.lost += 1
            metrics.OUTCOMES.labels("lost").inc()
            log.warning("invoice %s: the lease passed to someone else before the result was written; discarded",
                        claim.id)
        elif status == InvoiceStatus.processed:
            self.counters.processed += 1
            metrics.OUTCOMES.labels("processed").inc()
            log.info("invoice %s processed (attempt %d, extraction %.0f ms)", claim.id, claim.attempts,
                     outcome.extract_ms if isinstance(outcome, JobResult) else 0)
        else:
            failure = outcome if isinstance(outcome, Failure) else Failure.of(outcome)
            if status == InvoiceStatus.failed:
                self.counters.failed += 1
                metrics.OUTCOMES.labels("failed").inc()
                log.info("invoice %s failed (attempt %d): %s: %s", claim.id, claim.attempts, failure.code,
                         failure.message)
            else:
                self.counters.retried += 1
                metrics.OUTCOMES.labels("retried").inc()
                log.info("invoice %s will be retried (attempt %d): %s: %s", claim.id, claim.attempts,
                         failure.code, failure.message)
                self._wake.set()  # the claim loop recomputes when the next retry is due

    # --- maintenance ----------------------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        settings = self.settings
        periods = {
            self._heartbeat: settings.heartbeat_seconds,
            self._renew_leases: settings.lease_seconds / 3,
            self._sweep: settings.sweep_interval_seconds,
            self._delete_orphaned_files: settings.orphan_sweep_interval_seconds,
        }
        due = dict.fromkeys(periods, time.monotonic())
        while True:
            for task, period in periods.items():
                if time.monotonic() >= due[task]:
                    due[task] = time.monotonic() + period
                    try:
                        await task()
                    except PyMongoError as exc:
                        log.warning("%s failed (%s)", task.__name__.strip("_").replace("_", " "), exc)
                    except Exception:  # a bug must not stop the heartbeat for good
                        log.exception("%s failed", task.__name__.strip("_").replace("_", " "))
            await asyncio.sleep(max(0.0, min(due.values()) - time.monotonic()))

    async def _heartbeat(self) -> None:
        now = now_ms()
        counters = self.counters
        beat = {
            "host": socket.gethostname(), "pid": os.getpid(), "started_at": self._started_at, "last_seen": now,
            "in_flight": len(self._held), "processed": counters.processed, "failed": counters.failed,
            "retried": counters.retried, "swept": counters.swept,
            "expires_at": now + timedelta(seconds=3 * self.settings.heartbeat_seconds),
        }
        await WatcherHeartbeat.get_pymongo_collection().update_one({"_id": self.id}, {"$set": beat}, upsert=True)

    async def _renew_leases(self) -> None:
        for token in await self.queue.renew(list(self._held)):
            if token in self._held:  # not just finished meanwhile
                log.info("invoice %s: its lease was taken back (requeued, or expired during an outage); "
                         "its result will not be written", self._held[token].id)

    async def _sweep(self) -> None:
        requeued, failed = await self.queue.expire_leases()
        if requeued or failed:
            log.warning("sweep: %d invoices whose watcher stopped were requeued, %d failed for good",
                        requeued, failed)
        missed = await self._audit.missed(self.queue)
        if missed:
            self.counters.swept += len(missed)
            metrics.SWEPT.inc(len(missed))
            log.warning("sweep: %d pending invoices were never delivered by the change stream; claiming them",
                        len(missed))
        self._request_backlog()

    async def _delete_orphaned_files(self) -> None:
        assert self._database is not None
        grace = timedelta(seconds=self.settings.orphan_grace_seconds)
        if deleted := await delete_orphaned_files(self._database, grace=grace):
            log.warning("deleted %d stored files that no invoice names (left by a process that stopped midway)",
                        deleted)

    # --- shutdown -------------------------------------------------------------------------------------

    async def _shutdown(self, claims: asyncio.Task, stream: asyncio.Task, maintenance: asyncio.Task) -> None:
        loop = asyncio.get_running_loop()
        grace = self.settings.shutdown_grace_seconds
        end = loop.time() + grace
        jobs_end = end - min(2.0, grace / 4)  # the rest is for handing back and saying goodbye
        log.info("stopping: no new claims; %d running jobs get up to %.0f s", len(self._jobs), grace)
        await asyncio.wait({claims}, timeout=max(0.0, jobs_end - loop.time()))
        claims.cancel()
        stream.cancel()
        for task, running in list(self._jobs.items()):
            if not running:  # claimed but not started: give them back at once
                task.cancel()
        running = [task for task, running in self._jobs.items() if running]
        if running and not self._hurry.is_set():
            finished = asyncio.gather(*running, return_exceptions=True)
            hurry = asyncio.create_task(self._hurry.wait())
            await asyncio.wait({finished, hurry}, timeout=max(0.0, jobs_end - loop.time()),
                               return_when=asyncio.FIRST_COMPLETED)
            hurry.cancel()
        for task in list(self._jobs):
            task.cancel()
        await asyncio.gather(claims, stream, *self._jobs, return_exceptions=True)
        maintenance.cancel()
        await asyncio.gather(maintenance, return_exceptions=True)
        await self._close(timeout=max(1.0, end - loop.time()))

    async def _close(self, timeout: float = DB_TIMEOUT_AT_EXIT) -> None:
        if self._queue is not None:
            try:
                await asyncio.wait_for(self._say_goodbye(), timeout)
            except (PyMongoError, TimeoutError) as exc:
                log.warning("could not finish with the database before exiting (%s); the leases of invoices not "
                            "handed back will expire", exc)
        await self.pool.close()
        if self._client is not None:
            await self._client.close()
        log.info("watcher %s stopped: %s", self.id, self.counters)

    async def _say_goodbye(self) -> None:
        """Hand back unfinished claims, save the resume token, remove the heartbeat."""
        if self._held:
            handed = await asyncio.gather(*(self.queue.hand_back(claim) for claim in self._held.values()))
            log.info("handed %d unfinished invoices back to pending", sum(handed))
        await self._save_token()
        await WatcherHeartbeat.get_pymongo_collection().delete_one({"_id": self.id})


async def _wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for `event` up to `timeout` seconds; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True


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
