"""Real `invoicer watcher` processes on the test's database, running the scripted test extractor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from tests.support import REPO, Process
from tests.watcher.extractors import SCRIPTED

# Short lease, backoff and sweep so that the failure scenarios play out in seconds.
FAST_WATCHER = {
    "WATCHER_TEST_EXTRACTOR": SCRIPTED,
    "PYTHONPATH": str(REPO),  # the test extractor lives in tests/, which is not an installed package
    "WATCHER_PREFETCH": "2",
    "LEASE_SECONDS": "3",
    "RETRY_BASE_SECONDS": "0.2",
    "SWEEP_INTERVAL_SECONDS": "2",
    "HEARTBEAT_SECONDS": "1",
    "SHUTDOWN_GRACE_SECONDS": "10",
    "JOB_TIMEOUT_SECONDS": "30",
}
CONCURRENCY = 2


@pytest.fixture
def start_watcher(start_process: Callable[..., Process]) -> Iterator[Callable[..., Process]]:
    """Start a watcher with two workers; keyword arguments override its environment. At teardown, its log
    must hold no traceback unless the test expected one (an extractor told to raise logs its own)."""
    checked: list[Process] = []

    def start(*args: str, tracebacks_expected: bool = False, **env: str) -> Process:
        process = start_process("watcher", "--concurrency", str(CONCURRENCY), *args, **{**FAST_WATCHER, **env})
        if not tracebacks_expected:
            checked.append(process)
        return process

    yield start
    for process in checked:
        process.stop()
        assert "Traceback" not in process.log(), process.log()[-6000:]


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, *processes: Process
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        for process in processes:
            assert process.alive(), f"{process.args} exited while waiting for {what}:\n{process.log()[-6000:]}"
        if time.monotonic() > deadline:
            logs = "\n".join(process.log()[-4000:] for process in processes)
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs}")
        await asyncio.sleep(0.1)


def watcher_ready(database: AsyncDatabase, count: int = 1) -> Callable[[], Awaitable[bool]]:
    """True once `count` watchers have sent a heartbeat (they beat right after connecting)."""
    async def check() -> bool:
        return await database["watchers"].count_documents({}) >= count

    return check
