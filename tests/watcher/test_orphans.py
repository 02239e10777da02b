"""Stored files that no invoice names are deleted once they are older than the grace period; files of
invoices, and files whose invoice may still be on its way, stay."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from core import storage
from core.models import Invoice, utcnow
from watcher.orphans import delete_orphaned_files
from tests.watcher.support import queue_invoices, wait_until


async def put_orphan(db, data: bytes, age: timedelta):  # noqa: ANN001, ANN201
    """A file as an upload writes it, left by a process that died before it wrote the invoice."""
    file_id = await storage.put_file(db, data, "lost.jpg", "image/jpeg", hashlib.sha256(data).hexdigest())
    await db[f"{storage.BUCKET}.files"].update_one({"_id": file_id}, {"$set": {"uploadDate": utcnow() - age}})
    return file_id


async def stored_file_ids(db) -> set:  # noqa: ANN001
    return {doc["_id"] async for doc in db[f"{storage.BUCKET}.files"].find({}, projection={"_id": 1})}


async def test_old_orphans_go_and_everything_else_stays(db):
    [kept_invoice] = await queue_invoices(db, [b"an invoice's file"])
    kept_file = (await Invoice.get_pymongo_collection().find_one({"_id": kept_invoice}))["file_id"]
    await db[f"{storage.BUCKET}.files"].update_one({"_id": kept_file}, {"$set": {"uploadDate": utcnow() - timedelta(days=2)}})
    old_orphan = await put_orphan(db, b"x" * (300 * 1024), age=timedelta(hours=2))  # two chunks
    recent_orphan = await put_orphan(db, b"upload in flight", age=timedelta(minutes=5))

    assert await delete_orphaned_files(db, grace=timedelta(hours=1)) == 1

    assert await stored_file_ids(db) == {kept_file, recent_orphan}
    assert await db[f"{storage.BUCKET}.chunks"].count_documents({"files_id": old_orphan}) == 0
    assert await storage.read_file(db, kept_file) == b"an invoice's file"
    assert await delete_orphaned_files(db, grace=timedelta(hours=1)) == 0  # nothing left to do, and idempotent


@pytest.mark.slow
async def test_a_running_watcher_deletes_orphans_on_its_schedule(db, start_watcher):
    [invoice_id] = await queue_invoices(db, [b"fine"])
    orphan = await put_orphan(db, b"left by a killed upload", age=timedelta(minutes=2))
    watcher = start_watcher(ORPHAN_SWEEP_INTERVAL_SECONDS="1", ORPHAN_GRACE_SECONDS="60")

    async def orphan_gone() -> bool:
        return orphan not in await stored_file_ids(db)

    await wait_until(orphan_gone, 30, "the orphaned file to be deleted", watcher)
    invoice = await Invoice.get_pymongo_collection().find_one({"_id": invoice_id})
    assert invoice["file_id"] in await stored_file_ids(db)
    assert "no invoice names" in watcher.log()
