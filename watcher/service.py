"""The watcher process: the change stream and sweeps find work, claims take it, the pool does it, and a
write fenced by the lease records it. This module is the wiring; each part lives in its own module:

- `stream`: follows the `invoices` change stream (inserts and updates to `pending`), offers the ids to the
  claims, and saves this watcher's resume token now and then (after so many events, or so long);
- `partitions`: from the group's heartbeats, the range of buckets this watcher owns; its stream and backlog
  reads keep to them, so each invoice is offered to about one watcher;
- `claims`: while fewer than `concurrency + prefetch` claims are held, claims offered ids, then the backlog
  in batches from the database, then sleeps until an event, a due retry, or a sweep wakes it;
- `jobs`: one task per claim: read the file from GridFS, run it in a worker process (`pool`), write the
  outcome (`queue`, whose writes are `core.transitions`);
- `maintenance`: heartbeat, lease renewal, the periodic sweep (expired leases, missed events), and now
  and then the deletion of stored files no invoice names (`orphans`).

All share one event loop and never block it. Shutdown (below): no new claims, running jobs get
SHUTDOWN_GRACE_SECONDS, the rest is handed back; a second stop signal hands back at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import time
import uuid
from pathlib import Path

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from core.backoff import Backoff
from core.config import Settings
from core.db import connect
from core.models import Invoice, WatcherState
from watcher import metrics
from watcher.claims import Claims
from watcher.jobs import Jobs
from watcher.maintenance import Maintenance
from watcher.partitions import BUCKETS, Membership
from watcher.pool import WorkerPool
from watcher.queue import InvoiceQueue, now_ms
from watcher.stream import InvoiceStream
from watcher.worker import DEFAULT_EXTRACTOR, WorkerConfig, extraction_options

log = logging.getLogger("watcher")

DB_TIMEOUT_AT_EXIT = 5.0


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may really use: its affinity, capped by the cgroup v2 CPU quota (a 2-CPU
    container on a 64-core node gets 2 workers, not 64)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_quota(cpu_max)
    return max(1, min(cpus, math.ceil(quota))) if quota is not None else cpus


def cgroup_cpu_quota(cpu_max: Path = CGROUP_CPU_MAX) -> float | None:
    """CPUs allowed by `cpu.max` ("<quota> <period>" in microseconds, or "max <period>"); None when unlimited
    or unknown."""
    try:
        quota, _, period = cpu_max.read_text().strip().partition(" ")
        return int(quota) / int(period or 100_000) if quota != "max" else None
    except (OSError, ValueError, ZeroDivisionError):
        return None


class Watcher:
    def __init__(
        self, settings: Settings, *, group: str | None = None, watcher_id: str | None = None,
        concurrency: int | None = None, prefetch: int | None = None,
    ) -> None:
        self.settings = settings
        self.group = group or settings.watcher_group
        self.id = watcher_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.token_key = f"{self.group}/{self.id}"  # its own resume token: one per partition owner
        self.concurrency = concurrency or settings.watcher_concurrency or available_cpus()
        self.prefetch = settings.watcher_prefetch if prefetch is None else prefetch
        self.extractor = settings.watcher_test_extractor or DEFAULT_EXTRACTOR
        self.pool = WorkerPool(self.concurrency, WorkerConfig(
            self.extractor, extraction_options(settings), log_level=settings.log_level,
            log_format=settings.log_format, memory_mb=settings.worker_memory_mb,
        ))
        self._client: AsyncMongoClient | None = None
        self._database: AsyncDatabase | None = None
        self._queue: InvoiceQueue | None = None
        self._resume_token: dict | None = None
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()  # a second signal: do not wait for running jobs
        self._capacity = asyncio.Semaphore(self.concurrency + self.prefetch)
        self._started_at = now_ms()
        self.jobs: Jobs | None = None
        self._claims: Claims | None = None
        self._stream: InvoiceStream | None = None
        self._maintenance: Maintenance | None = None
        self._metrics_server: asyncio.Server | None = None

    def stop(self) -> None:
        if self._stopping.is_set():
            log.warning("second stop signal: handing back running jobs without waiting")
            self._hurry.set()
        self._stopping.set()
        if self._claims is not None:
            self._claims.wake.set()

    def health(self, stream: bool = True) -> str | None:
        """None when healthy; else what is wrong. `stream`: the change stream must be open too."""
        if self._stream is None or self._maintenance is None:
            return "starting: not connected to the database yet"
        if stream and not self._stream.follower.open.is_set():
            return "the change stream is not open"
        stalled = time.monotonic() - self._maintenance.looped_at
        if stalled > max(60.0, 3 * self.settings.heartbeat_seconds):
            return f"maintenance has not run for {stalled:.0f} s"
        return None

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or `stop()`), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        try:
            self._metrics_server = await metrics.serve(self.settings.watcher_metrics_port, self.health)
        except OSError as exc:
            raise SystemExit(f"cannot serve metrics on port {self.settings.watcher_metrics_port}: {exc}") from None
        log.info("watcher %s starting: %d workers (memory limit %s), prefetch %d, group %r, extractor %s", self.id,
                 self.concurrency, f"{self.settings.worker_memory_mb} MB" if self.settings.worker_memory_mb else "none",
                 self.prefetch, self.group, self.extractor)
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
        self._assemble()
        assert self._maintenance and self._stream and self._claims
        log.info("watcher %s ready", self.id)
        maintenance = asyncio.create_task(self._maintenance.run(), name="maintenance")
        stream = asyncio.create_task(self._stream.run(), name="stream")
        claims = asyncio.create_task(self._claims.run(), name="claims")
        await self._stopping.wait()
        await self._shutdown(claims, stream, maintenance)

    async def _connect(self) -> None:
        backoff = Backoff(self._stopping, first=0.5)
        while not self._stopping.is_set():
            try:
                self._client, self._database = await connect(self.settings)
                state = await WatcherState.get_pymongo_collection().find_one({"_id": self.token_key})
            except PyMongoError as exc:
                log.warning("the database is not reachable (%s); trying again in about %.1f s", exc, backoff.delay)
                await backoff.sleep()
                continue
            self._queue = InvoiceQueue(
                Invoice.get_pymongo_collection(), self.id, lease_seconds=self.settings.lease_seconds,
                max_attempts=self.settings.max_attempts, retry_base_seconds=self.settings.retry_base_seconds,
                max_lease_expiries=self.settings.max_lease_expiries,
            )
            self._resume_token = state.get("resume_token") if state else None
            return

    def _assemble(self) -> None:
        assert self._queue is not None and self._database is not None
        queue = self._queue

        def on_retry() -> None:
            claims.retry_scheduled()

        self.jobs = jobs = Jobs(queue, self._database, self.pool, timeout=self.settings.job_timeout_seconds,
                                capacity=self._capacity, on_retry=on_retry)
        self._claims = claims = Claims(queue, self._capacity, self._stopping, start_job=jobs.start, hold=jobs.hold)

        def on_partition_change(buckets: frozenset[int]) -> None:
            queue.buckets = buckets
            log.info("watcher %s now owns %d of %d buckets (%d watchers alive)", self.id, len(buckets), BUCKETS,
                     membership.live)
            stream.follow_partition(membership.live)  # reopened from its token, filtered to the new range
            claims.request_backlog()  # what is already pending in the buckets it gained

        membership = Membership(self.id, self.group, on_partition_change)
        self._stream = stream = InvoiceStream(queue, self.token_key, self._resume_token, self._stopping,
                                              offer=claims.offer, request_backlog=claims.request_backlog)
        self._maintenance = Maintenance(self.id, self.settings, queue, self._database, jobs, stream.audit, membership,
                                        started_at=self._started_at, request_backlog=claims.request_backlog)

    async def _shutdown(self, claims: asyncio.Task, stream: asyncio.Task, maintenance: asyncio.Task) -> None:
        assert self.jobs is not None
        loop = asyncio.get_running_loop()
        grace = self.settings.shutdown_grace_seconds
        end = loop.time() + grace
        jobs_end = end - min(2.0, grace / 4)  # the rest is for handing back and saying goodbye
        tasks = self.jobs.tasks
        log.info("stopping: no new claims; %d running jobs get up to %.0f s", len(tasks), grace)
        await asyncio.wait({claims}, timeout=max(0.0, jobs_end - loop.time()))
        claims.cancel()
        stream.cancel()
        for task, running in list(tasks.items()):
            if not running:  # claimed but not started: give them back at once
                task.cancel()
        running = [task for task, running in tasks.items() if running]
        if running and not self._hurry.is_set():
            finished = asyncio.gather(*running, return_exceptions=True)
            hurry = asyncio.create_task(self._hurry.wait())
            await asyncio.wait({finished, hurry}, timeout=max(0.0, jobs_end - loop.time()),
                               return_when=asyncio.FIRST_COMPLETED)
            hurry.cancel()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(claims, stream, *tasks, return_exceptions=True)
        maintenance.cancel()
        await asyncio.gather(maintenance, return_exceptions=True)
        await self._close(timeout=max(1.0, end - loop.time()))

    async def _close(self, timeout: float = DB_TIMEOUT_AT_EXIT) -> None:
        if self._maintenance is not None and self._stream is not None:
            try:
                await asyncio.wait_for(self._maintenance.say_goodbye(self._stream.save_token), timeout)
            except (PyMongoError, TimeoutError) as exc:
                log.warning("could not finish with the database before exiting (%s); the leases of invoices not "
                            "handed back will expire", exc)
        await self.pool.close()
        if self._metrics_server is not None:
            self._metrics_server.close()
        if self._client is not None:
            await self._client.close()
        log.info("watcher %s stopped: %s", self.id, self.jobs.counters if self.jobs else "nothing done")
