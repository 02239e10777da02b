"""What the watcher tests share: invoices queued the way the API queues them (file in GridFS, a `pending`
document, straight through core), real `invoicer watcher` settings that play failures out in seconds, and
waiting for what a watcher does. Imported by `conftest.py` and the test modules alike."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from core import storage
from core.models import Invoice, InvoiceStatus
from core.search import invoice_search_terms
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


ORG = ObjectId("65f000000000000000000001")
OWNER = ObjectId("65f000000000000000000002")


def ids_spread_over_buckets(count: int) -> list[PydanticObjectId]:
    """`count` fresh invoice ids whose buckets (the id's last byte) are spread evenly over all 256, so that
    each watcher of a group gets its fair share whatever the id counter happened to start at."""
    return [
        PydanticObjectId(ObjectId().binary[:-1] + bytes([number * 256 // count])) for number in range(count)
    ]


async def queue_invoices(
    database: AsyncDatabase, files: Sequence[bytes], content_type: str = "text/plain",
    ids: Sequence[PydanticObjectId] | None = None,
) -> list[ObjectId]:
    """Queue `files` as the API would; `ids` chooses the invoices' ids (default: fresh ones)."""
    queued = []
    for number, data in enumerate(files):
        sha256 = hashlib.sha256(data).hexdigest()
        filename = f"invoice-{number}.txt"
        file_id = await storage.put_file(database, data, filename, content_type, sha256)
        invoice = Invoice(
            owner_id=PydanticObjectId(OWNER), org_id=PydanticObjectId(ORG), filename=filename,
            content_type=content_type, size=len(data), sha256=sha256, file_id=PydanticObjectId(file_id),
            search_terms=invoice_search_terms(filename=filename),
        )
        if ids is not None:
            invoice.id = ids[number]
        await invoice.insert()
        queued.append(invoice.id)
    return queued


async def statuses(database: AsyncDatabase) -> dict[str, int]:
    counts = {status.value: 0 for status in InvoiceStatus}
    async for row in await database["invoices"].aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]):
        counts[row["_id"]] = row["n"]
    return counts


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


async def heartbeats(database: AsyncDatabase) -> list[dict]:
    """The last heartbeat of every watcher, from the groups' documents."""
    return [beat async for group in database["watchers"].find() for beat in group.get("members", {}).values()]


def watcher_ready(database: AsyncDatabase, count: int = 1) -> Callable[[], Awaitable[bool]]:
    """True once `count` watchers have sent a heartbeat (they beat right after connecting)."""
    async def check() -> bool:
        return len(await heartbeats(database)) >= count

    return check


def wait_final(client: httpx.Client, invoice_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        invoice = client.get(f"/invoices/{invoice_id}").json()
        if invoice["status"] in ("processed", "failed") or time.monotonic() > deadline:
            return invoice
        time.sleep(0.25)
