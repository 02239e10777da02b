"""Files nobody refers to, deleted, once per cluster.

The invoice document is the commit point: an upload or a replacement writes the file first and the
invoice after it, a delete removes the invoice first and the file after it. A process killed between
the two leaves a GridFS file that no invoice names. This sweep finds and deletes those; a file younger
than the grace period may still be waiting for its invoice and is left alone.

Memory stays bounded at any volume: the old files are read through one cursor, a batch at a time, and each
batch is checked against the invoices' `file_id` index. Only one process in the cluster runs a sweep per
interval (`watcher.cluster.claim_turn`): whichever watcher (or `invoicer maintenance`) moves the shared
due time first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from core import storage
from core.models import Invoice, utcnow

BATCH = 100  # ids per `$in` lookup: SecantusDB answers a longer `$in` more than proportionally slower
CURSOR_BATCH = 1_000  # old files read per round trip
ORPHAN_SWEEP = "orphan_files"  # its turn's name in `watcher.cluster`


@dataclass
class SweepReport:
    checked: int = 0  # files older than the grace period
    deleted: int = 0


async def delete_orphaned_files(database: AsyncDatabase, *, grace: timedelta, batch: int = BATCH) -> int:
    """Delete the stored files older than `grace` that no invoice names; how many were deleted."""
    return (await sweep_orphaned_files(database, grace=grace, batch=batch)).deleted


async def sweep_orphaned_files(database: AsyncDatabase, *, grace: timedelta, batch: int = BATCH) -> SweepReport:
    # Files first, invoices second: an invoice can only come to name a file that is newer than the grace.
    report = SweepReport()
    files = database[f"{storage.BUCKET}.files"].find(
        {"uploadDate": {"$lt": utcnow() - grace}}, projection={"_id": 1}, batch_size=CURSOR_BATCH,
    )
    pending: list[ObjectId] = []
    async for document in files:
        pending.append(document["_id"])
        if len(pending) >= batch:
            report.deleted += await _delete_unnamed(database, pending)
            report.checked += len(pending)
            pending = []
    if pending:
        report.deleted += await _delete_unnamed(database, pending)
        report.checked += len(pending)
    return report


async def _delete_unnamed(database: AsyncDatabase, file_ids: list[ObjectId]) -> int:
    named = Invoice.get_pymongo_collection().find({"file_id": {"$in": file_ids}}, projection={"file_id": 1, "_id": 0})
    referenced = {document["file_id"] async for document in named}
    orphans = [file_id for file_id in file_ids if file_id not in referenced]
    for file_id in orphans:
        await storage.delete_file(database, file_id)
    return len(orphans)
