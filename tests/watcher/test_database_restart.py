"""Issue #4, scenario 3: the database server stops under load and comes back on the same port and storage;
the watcher reconnects, finishes the work exactly once, and its change stream resumes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pymongo.errors import PyMongoError

from core.config import Settings
from core.db import connect
from core.embedded import free_port, start_embedded
from tests.watcher.support import queue_invoices, statuses, wait_until


def tolerant(check: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    """The test's own client sees the outage too: an error just means "not yet"."""

    async def guarded() -> bool:
        try:
            return await check()
        except PyMongoError:
            return False

    return guarded


@pytest.mark.slow
async def test_the_watcher_rides_out_a_database_restart(tmp_path: Path, db_name: str, start_watcher):
    port = free_port()
    server = start_embedded(tmp_path / "db", port, durable=True, log_file=tmp_path / "secantusd.log")
    client, database = await connect(Settings(env="test", mongodb_uri=server.uri, mongodb_db=db_name))
    try:
        ids = await queue_invoices(database, [b"sleep 0.1\ninvoice %d" % n for n in range(60)])
        # No periodic sweep during the test: what the restart leaves must be found by reconnecting.
        watcher = start_watcher(MONGODB_URI=server.uri, SWEEP_INTERVAL_SECONDS="600")

        async def processed(count: int) -> bool:
            return (await statuses(database))["processed"] >= count

        await wait_until(lambda: processed(10), 60, "the first invoices processed", watcher)
        unfinished = len(ids) - (await statuses(database))["processed"]
        server.stop()
        await asyncio.sleep(3)
        assert watcher.alive()
        server = start_embedded(tmp_path / "db", port, durable=True, log_file=tmp_path / "secantusd.log")

        await wait_until(tolerant(lambda: processed(len(ids))), 90, "every invoice processed", watcher)
        late = await queue_invoices(database, [b"late %d" % n for n in range(5)])
        await wait_until(lambda: processed(len(ids) + len(late)), 15, "new uploads seen by the stream", watcher)

        assert (await statuses(database))["processing"] == 0
        async for doc in database["invoices"].find():
            steps = [entry["status"] for entry in doc["status_history"]]
            assert steps.count("processed") == 1, steps
        assert unfinished >= 30  # the restart came under load
        assert watcher.stop() == 0  # while the database is still there to say goodbye to
    finally:
        await client.close()
        server.stop()
