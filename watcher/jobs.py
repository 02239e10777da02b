"""Doing the work of one claim: read the file, run it in a worker process, write the outcome fenced by the
lease, count and log it. A claim not ended by a write stays in `held`, to be handed back at shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from gridfs import NoFile
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from core import storage
from core.backoff import Backoff
from core.errors import WatcherErrorCode
from core.models import InvoiceStatus
from extraction.models import ErrorCode
from watcher import metrics
from watcher.pool import ExtractorError, JobTimeout, OutOfMemory, WorkerCrashed, WorkerPool
from watcher.queue import Claim, Failure, InvoiceQueue, now_ms
from watcher.worker import JobResult

log = logging.getLogger("watcher")
T = TypeVar("T")


@dataclass
class Counters:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    swept: int = 0  # pending invoices the sweep found that the stream never delivered
    lost: int = 0  # results discarded because the lease had passed to someone else


class Jobs:
    def __init__(
        self, queue: InvoiceQueue, database: AsyncDatabase, pool: WorkerPool, *, timeout: float,
        capacity: asyncio.Semaphore, on_retry: Callable[[], None],
    ) -> None:
        self.queue, self.database, self.pool = queue, database, pool
        self.counters = Counters()
        self.held: dict[str, Claim] = {}  # token -> claims not yet ended by a write
        self.tasks: dict[asyncio.Task, bool] = {}  # job task -> running in a worker
        self._timeout = timeout
        self._capacity = capacity  # released when a job ends
        self._on_retry = on_retry

    def start(self, claim: Claim) -> None:
        task = asyncio.create_task(self._process(claim), name=f"invoice {claim.id}")
        self.tasks[task] = False
        task.add_done_callback(self.tasks.pop)

    def hold(self, claim: Claim) -> None:
        """A claim that will not be worked on (the watcher is stopping): it is handed back with the others."""
        self.held[claim.token] = claim

    async def _process(self, claim: Claim) -> None:
        """One claim, start to end. Cancelled (shutdown), it stays in `held` to be handed back."""
        self.held[claim.token] = claim
        metrics.IN_FLIGHT.inc()
        metrics.QUEUED.observe((claim.claimed_at - claim.queued_at).total_seconds())
        started = time.monotonic()
        try:
            try:
                outcome = await self._extract(claim)
            except Exception:  # a bug here must cost one attempt of this invoice, not the process
                log.exception("invoice %s: internal error in the watcher", claim.id)
                outcome = Failure(ErrorCode.internal_error, "The watcher hit an internal error with this invoice.",
                                  True)
            status = await self._finish(claim, outcome)
            del self.held[claim.token]
            self._count(claim, outcome, status, (time.monotonic() - started) * 1000)
        except Exception:
            log.exception("invoice %s: the outcome could not be written; its lease will expire", claim.id)
            self.held.pop(claim.token, None)  # stop renewing it, so the sweep requeues it
        finally:
            metrics.IN_FLIGHT.dec()
            self._capacity.release()

    async def _extract(self, claim: Claim) -> JobResult | Failure:
        data = await self._until_done(f"reading the file of invoice {claim.id}", lambda: self._read_file(claim))
        if data is None:
            return Failure(WatcherErrorCode.file_missing, "The stored file of this invoice is missing; upload it again.",
                           False)
        async with self.pool.worker() as worker:
            task = asyncio.current_task()
            assert task is not None
            self.tasks[task] = True
            try:
                return await self.pool.run(worker, claim.content_type, data, self._timeout)
            except JobTimeout as exc:
                metrics.WORKER_EVENTS.labels("timeout").inc()
                return Failure(WatcherErrorCode.timeout, str(exc), transient=True)
            except OutOfMemory as exc:
                metrics.WORKER_EVENTS.labels("out_of_memory").inc()
                return Failure(WatcherErrorCode.too_large_to_process, str(exc), transient=False)
            except WorkerCrashed as exc:
                metrics.WORKER_EVENTS.labels("crash").inc()
                return Failure(WatcherErrorCode.worker_crashed, f"The extraction crashed its worker process ({exc}).",
                               True)
            except ExtractorError as exc:
                return Failure(ErrorCode.internal_error, f"The extraction raised an error: {exc}", transient=True)

    async def _read_file(self, claim: Claim) -> bytes | None:
        try:
            return await storage.read_file(self.database, claim.file_id)
        except NoFile:
            return None

    async def _finish(self, claim: Claim, outcome: JobResult | Failure) -> InvoiceStatus | None:
        now = now_ms()  # the same on every try, so that a write applied without its reply is recognised
        tries = 0

        async def write() -> InvoiceStatus | None:
            nonlocal tries
            tries += 1
            return await self.queue.finish(claim, outcome, now, retried=tries > 1)

        return await self._until_done(f"writing the outcome of invoice {claim.id}", write)

    async def _until_done(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a database operation of a job until it succeeds: a database that is away holds the job
        (and its slot) until it is back. Shutdown cancels the job and hands the claim back."""
        backoff = Backoff()  # a job's retries are not cut short by a stop: its write matters
        while True:
            try:
                return await operation()
            except PyMongoError as exc:
                log.warning("%s failed (%s); trying again in about %.1f s", what, exc, backoff.delay)
                await backoff.sleep()

    def _count(self, claim: Claim, outcome: JobResult | Failure, status: InvoiceStatus | None, ms: float) -> None:
        """Count the outcome and log it: one line per claim, with the invoice, attempt, duration and code."""
        if isinstance(outcome, JobResult):
            metrics.EXTRACT.observe(outcome.extract_ms / 1000)
        failure = None
        if not (isinstance(outcome, JobResult) and outcome.ok):
            failure = outcome if isinstance(outcome, Failure) else Failure.of(outcome)
        outcome_name = "lost" if status is None else "retried" if status == InvoiceStatus.pending else status.value
        metrics.OUTCOMES.labels(outcome_name).inc()
        if failure is not None:
            metrics.FAILURES.labels(str(failure.code)).inc()
        if status in (InvoiceStatus.processed, InvoiceStatus.failed):
            metrics.UPLOAD_TO_FINAL.labels(status.value).observe((now_ms() - claim.queued_at).total_seconds())
        setattr(self.counters, outcome_name, getattr(self.counters, outcome_name) + 1)
        details = {"invoice_id": str(claim.id), "attempt": claim.attempts, "duration_ms": round(ms),
                   "outcome": outcome_name, "error_code": failure.code if failure else None}
        line = f"invoice {claim.id} attempt {claim.attempts}: {{}} in {ms:.0f} ms"
        if status is None:
            log.warning(line.format("the lease passed to someone else before the result was written; discarded"),
                        extra=details)
        elif failure is None:
            extract_ms = outcome.extract_ms if isinstance(outcome, JobResult) else 0
            log.info(line.format("processed") + f" (extraction {extract_ms:.0f} ms)", extra=details)
        elif status == InvoiceStatus.failed:
            log.info(line.format(f"failed, {failure.code}") + f": {failure.message}", extra=details)
        else:
            log.info(line.format(f"will be retried, {failure.code}") + f": {failure.message}", extra=details)
            self._on_retry()  # the claim loop recomputes when the next retry is due
