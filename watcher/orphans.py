"""Files nobody refers to, deleted.

The invoice document is the commit point: an upload or a replacement writes the file first and the
invoice after it, a delete removes the invoice first and the file after it. A process killed between
the two leaves a GridFS file that no invoice names. This sweep finds and deletes those; a file younger
than the grace period may still be waiting for its invoice and is left alone.
"""

from __future__ import annotations

from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from core import storage
from core.models import Invoice, utcnow


async def delete_orphaned_files(database: AsyncDatabase, *, grace: timedelta) -> int:
    """Delete the stored files older than `grace` that no invoice names; how many were deleted."""
    # Files first, invoices second: an invoice can only come to name a file that is newer than the grace.
    candidates = await storage.file_ids_uploaded_before(database, utcnow() - grace)
    if not candidates:
        return 0
    cursor = Invoice.get_pymongo_collection().find({}, projection={"file_id": 1, "_id": 0})
    referenced = {document["file_id"] async for document in cursor}
    orphans = candidates - referenced
    for file_id in orphans:
        await storage.delete_file(database, file_id)
    return len(orphans)
