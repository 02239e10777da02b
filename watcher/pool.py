"""Worker processes, one per job slot, each of which can be killed and replaced on its own.

`ProcessPoolExecutor` cannot stop one stuck task, and one crashed worker breaks the whole executor. Here a
timeout or a crash costs only that slot's process: it is killed, reported for that invoice alone, and
replaced while the other slots go on. Pipes are read and written in threads so the event loop never waits.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from watcher import metrics
from watcher.worker import JobResult, WorkerConfig

log = logging.getLogger(__name__)

RESPAWN_BACKOFF_MAX = 30.0


class JobTimeout(Exception):
    """The job ran past its time limit; its worker was killed."""


class WorkerCrashed(Exception):
    """The worker process died during the job (segfault, os._exit, out of memory)."""


class OutOfMemory(Exception):
    """The job needed more memory than a worker may use (WORKER_MEMORY_MB); the worker was replaced."""


class ExtractorError(Exception):
    """The extractor raised instead of returning a result."""


class WorkerStartError(RuntimeError):
    """A worker could not start (the extractor cannot be imported): a configuration error."""


class Worker:
    """One worker process and the watcher's end of its pipe.

    Started as `python -P -m watcher.worker FD` rather than by multiprocessing's spawn, which would import
    the `invoicer` script (the whole CLI) again in every worker; -P keeps the working directory off sys.path.
    """

    def __init__(self, config: WorkerConfig) -> None:
        self.conn, child_conn = multiprocessing.Pipe(duplex=True)
        fd = child_conn.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "watcher.worker", str(fd)], pass_fds=(fd,), stdin=subprocess.DEVNULL
        )
        child_conn.close()  # so that the worker's death reads as EOF here
        self.conn.send((config, os.getpid()))
        self.memory_mb = config.memory_mb
        self.broken = False
        self._killed = False

    def alive(self) -> bool:
        return not self.broken and self.process.poll() is None

    def join(self, timeout: float) -> None:
        """Wait for the process to end (reaping it); called from a pipe thread, never the event loop."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    async def ready(self, io: ThreadPoolExecutor, timeout: float) -> None:
        try:
            message = await self._receive(io, timeout)
        except (EOFError, OSError):
            raise WorkerStartError(f"a worker died while starting ({await self.exit_reason(io)})") from None
        if message is None:
            raise WorkerStartError(f"a worker did not start within {timeout:.0f} s")
        kind, payload = message
        if kind != "ready":
            self.broken = True
            raise WorkerStartError(payload)

    async def run(self, io: ThreadPoolExecutor, content_type: str, data: bytes, timeout: float) -> JobResult:
        sending = io.submit(self._send, content_type, data)
        try:
            await _awaitable(sending)
        except OSError:
            raise await self._died(io) from None
        except asyncio.CancelledError:
            self.kill(sending)
            raise
        try:
            message = await self._receive(io, timeout)
        except (EOFError, OSError):
            raise await self._died(io) from None
        if message is None:
            raise JobTimeout(f"The extraction took longer than {timeout:g} s and was stopped.")
        kind, payload = message
        if kind == "error":
            raise ExtractorError(payload)
        if kind == "out_of_memory":
            self.broken = True  # what a failed allocation left behind is not worth keeping: start afresh
            raise OutOfMemory(payload)
        return payload

    async def _receive(self, io: ThreadPoolExecutor, timeout: float) -> tuple[str, Any] | None:
        """The worker's next message, or None when none came in `timeout` s (the worker is then killed).
        EOFError or OSError: the worker died.

        The pipe is read in a thread; its concurrent future, not an asyncio one, tells when that thread
        has returned, and only then may a killed worker's pipe be closed."""
        reply = io.submit(self.conn.recv)
        try:
            done, _ = await asyncio.wait({_awaitable(reply)}, timeout=timeout)
        except asyncio.CancelledError:
            self.kill(reply)
            raise
        if not done:
            self.kill(reply)
            return None
        return reply.result()

    def _send(self, content_type: str, data: bytes) -> None:
        self.conn.send(content_type)
        self.conn.send_bytes(data)

    def kill(self, in_use: Future | None = None) -> None:
        """SIGKILL the process; the pipe is closed once the thread using it (`in_use`) has returned."""
        if self._killed:
            return
        self._killed = self.broken = True
        if self.process.poll() is None:
            self.process.kill()
        if in_use is None:
            self.conn.close()
        else:
            in_use.add_done_callback(lambda _: self.conn.close())

    async def _died(self, io: ThreadPoolExecutor) -> Exception:
        """What the worker's death during a job means. Native libraries abort() when an allocation fails
        under the worker's address-space limit (pdfium on a PDF whose streams inflate to gigabytes, C++
        code on std::bad_alloc), where Python code raises MemoryError: under a limit, SIGABRT is reported
        as the file being too large to process rather than as a crash worth retrying."""
        reason = await self.exit_reason(io)
        if self.memory_mb and self.process.returncode == -signal.SIGABRT:
            return OutOfMemory(f"The file needs more memory to read than a worker may use ({self.memory_mb} MB, "
                               f"WORKER_MEMORY_MB): it is too large to process ({reason}).")
        return WorkerCrashed(reason)

    async def exit_reason(self, io: ThreadPoolExecutor) -> str:
        self.broken = True
        await asyncio.get_running_loop().run_in_executor(io, self.join, 5.0)
        code = self.process.returncode
        if code is None:
            return "the worker stopped answering"
        if code < 0:
            return f"the worker process was killed by {signal.Signals(-code).name}"
        return f"the worker process exited with code {code}"


class WorkerPool:
    """`size` long-lived worker processes, each of which imports the extractor once. New processes, not
    forks: the watcher's event loop and driver threads make fork unsafe."""

    def __init__(
        self, size: int, config: WorkerConfig, *, start_timeout: float = 180.0) -> None:
        self.size = size
        self._config = config
        self._start_timeout = start_timeout
        self._io = ThreadPoolExecutor(max_workers=2 * size + 2, thread_name_prefix="worker-pipe")
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._workers: set[Worker] = set()
        self._respawns: set[asyncio.Task] = set()
        self._closed = False

    async def start(self) -> None:
        """Start every worker and wait until each has imported the extractor."""
        workers = [self._spawn() for _ in range(self.size)]
        outcomes = await asyncio.gather(
            *(worker.ready(self._io, self._start_timeout) for worker in workers), return_exceptions=True
        )
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if errors:
            await self.close()
            raise errors[0]
        for worker in workers:
            self._idle.put_nowait(worker)

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[Worker]:
        """Wait for an idle worker and lend it; a worker that broke on the job is replaced."""
        worker = await self._idle.get()
        while not worker.alive():  # died while idle (e.g. killed by the OOM killer)
            self._replace(worker)
            worker = await self._idle.get()
        try:
            yield worker
        finally:
            if worker.broken:
                self._replace(worker)
            else:
                self._idle.put_nowait(worker)

    async def run(self, worker: Worker, content_type: str, data: bytes, timeout: float) -> JobResult:
        return await worker.run(self._io, content_type, data, timeout)

    def _spawn(self) -> Worker:
        worker = Worker(self._config)
        self._workers.add(worker)
        return worker

    def _replace(self, dead: Worker) -> None:
        if self._closed:
            return
        task = asyncio.create_task(self._respawn(dead))
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self, dead: Worker) -> None:
        dead.kill()
        await asyncio.get_running_loop().run_in_executor(self._io, dead.join, 5.0)  # reap the zombie
        self._workers.discard(dead)
        delay = 1.0
        while not self._closed:
            worker = self._spawn()
            try:
                await worker.ready(self._io, self._start_timeout)
            except WorkerStartError as exc:
                log.error("a replacement worker failed to start: %s; trying again in %.0f s", exc, delay)
                worker.kill()
                self._workers.discard(worker)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESPAWN_BACKOFF_MAX)
                continue
            self._idle.put_nowait(worker)
            metrics.WORKER_EVENTS.labels("respawn").inc()
            return

    async def close(self) -> None:
        """Stop every worker. Nothing of value is lost: a job still running has been abandoned by now."""
        self._closed = True
        for task in list(self._respawns):
            task.cancel()
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            worker.kill()
        for worker in self._workers:
            await loop.run_in_executor(self._io, worker.join, 3.0)
        self._workers.clear()
        self._io.shutdown(wait=False, cancel_futures=True)


def _awaitable(future: Future) -> asyncio.Future:
    """An asyncio view of a pipe thread's future whose exception counts as seen even when nobody awaits it
    any more (a killed worker's read ends in EOFError long after the job was given up)."""
    waiter = asyncio.wrap_future(future)
    waiter.add_done_callback(lambda done: done.cancelled() or done.exception())
    return waiter
