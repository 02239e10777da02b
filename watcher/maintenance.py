"""What a watcher does now and then: its heartbeat, renewing the leases it holds, the sweep (expired leases,
events the stream missed), and deleting stored files no invoice names (`watcher.orphans`)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from core.config import Settings
from watcher import metrics
from watcher.cluster import claim_turn, hold_lease, release_lease
from watcher.jobs import Jobs
from watcher.orphans import ORPHAN_SWEEP, sweep_orphaned_files
from watcher.partitions import Membership
from watcher.queue import InvoiceQueue, now_ms
from watcher.stream import StreamAudit

log = logging.getLogger("watcher")

QUEUE_EXPORTER = "queue_exporter"  # the lease of the one watcher that counts the queue for Prometheus
QUEUE_EXPORT_SECONDS = 15.0
ORPHAN_TURN_CHECK_SECONDS = 300.0  # how often a watcher asks whether the cluster's orphan sweep is due


async def _logged(task: Callable[[], Awaitable[None]]) -> None:
    """Run a chore; a failure is logged, never raised: a bug must not stop the heartbeat for good."""
    what = task.__name__.strip("_").replace("_", " ")
    try:
        await task()
    except PyMongoError as exc:
        log.warning("%s failed (%s)", what, exc)
    except Exception:
        log.exception("%s failed", what)


class Maintenance:
    def __init__(
        self, watcher_id: str, settings: Settings, queue: InvoiceQueue, database: AsyncDatabase, jobs: Jobs,
        audit: StreamAudit, membership: Membership, *, started_at: datetime, request_backlog: Callable[[], None],
    ) -> None:
        self.watcher_id, self.settings, self.queue, self.database = watcher_id, settings, queue, database
        self.jobs, self.audit, self.membership = jobs, audit, membership
        self._started_at = started_at
        self._request_backlog = request_backlog
        self.looped_at = time.monotonic()  # the health check's sign that maintenance is alive
        self._orphan_sweep: asyncio.Task | None = None

    async def run(self) -> None:
        settings = self.settings
        periods: dict[Callable[[], Awaitable[None]], float] = {
            self.heartbeat: settings.heartbeat_seconds,
            self.renew_leases: settings.lease_seconds / 3,
            self.sweep: settings.sweep_interval_seconds,
            self.export_queue: QUEUE_EXPORT_SECONDS,
            # only asks whether it is this watcher's turn; the sweep itself runs beside the loop (below)
            self.delete_orphaned_files: min(settings.orphan_sweep_interval_seconds, ORPHAN_TURN_CHECK_SECONDS),
        }
        due = dict.fromkeys(periods, time.monotonic())
        try:
            while True:
                for task, period in periods.items():
                    if time.monotonic() >= due[task]:
                        due[task] = time.monotonic() + period
                        await _logged(task)
                self.looped_at = time.monotonic()
                await asyncio.sleep(max(0.0, min(due.values()) - time.monotonic()))
        finally:
            if self._orphan_sweep is not None:
                self._orphan_sweep.cancel()

    async def heartbeat(self) -> None:
        now = now_ms()
        counters = self.jobs.counters
        beat = {
            "host": socket.gethostname(), "pid": os.getpid(), "started_at": self._started_at, "last_seen": now,
            "in_flight": len(self.jobs.held), "processed": counters.processed, "failed": counters.failed,
            "retried": counters.retried, "swept": counters.swept,
        }
        await self.membership.beat(beat, timedelta(seconds=3 * self.settings.heartbeat_seconds))

    async def renew_leases(self) -> None:
        held = self.jobs.held
        for token in await self.queue.renew(list(held)):
            if token in held:  # not just finished meanwhile
                log.info("invoice %s: its lease was taken back (requeued, or expired during an outage); "
                         "its result will not be written", held[token].id)

    async def sweep(self) -> None:
        requeued, failed = await self.queue.expire_leases()
        if requeued or failed:
            log.warning("sweep: %d invoices whose watcher stopped were requeued, %d failed for good",
                        requeued, failed)
        missed = await self.audit.missed(self.queue)
        if missed:
            self.jobs.counters.swept += len(missed)
            metrics.SWEPT.inc(len(missed))
            log.warning("sweep: %d pending invoices were never delivered by the change stream; claiming them",
                        len(missed))
        self._request_backlog()

    async def export_queue(self) -> None:
        """The watcher holding the exporter lease counts the queue for Prometheus; the others export nothing."""
        ttl = timedelta(seconds=3 * QUEUE_EXPORT_SECONDS)
        if not await hold_lease(self.database, QUEUE_EXPORTER, self.watcher_id, ttl):
            metrics.QUEUE.depth = None
            return
        depth, oldest = await self.queue.depth()
        metrics.QUEUE.depth = depth
        metrics.QUEUE.oldest_pending_seconds = (now_ms() - oldest).total_seconds() if oldest else 0.0

    async def delete_orphaned_files(self) -> None:
        """Once per cluster per interval: the watcher that takes the turn sweeps, beside the maintenance loop
        (a long sweep must not hold up heartbeats and renewals); the others skip."""
        if self._orphan_sweep is not None and not self._orphan_sweep.done():
            return
        interval = timedelta(seconds=self.settings.orphan_sweep_interval_seconds)
        if await claim_turn(self.database, ORPHAN_SWEEP, self.watcher_id, interval):
            self._orphan_sweep = asyncio.create_task(_logged(self._sweep_orphaned_files), name="orphan sweep")

    async def _sweep_orphaned_files(self) -> None:
        grace = timedelta(seconds=self.settings.orphan_grace_seconds)
        report = await sweep_orphaned_files(self.database, grace=grace)
        if report.deleted:
            log.warning("deleted %d stored files that no invoice names (left by a process that stopped midway)",
                        report.deleted)

    async def say_goodbye(self, save_token: Callable[[], Awaitable[None]]) -> None:
        """Hand back unfinished claims, save the resume token, remove the heartbeat."""
        held = self.jobs.held
        if held:
            handed = await asyncio.gather(*(self.queue.hand_back(claim) for claim in held.values()))
            log.info("handed %d unfinished invoices back to pending", sum(handed))
        await save_token()
        await release_lease(self.database, QUEUE_EXPORTER, self.watcher_id)
        await self.membership.leave()
