"""Invoices queued the way the API queues them (file in GridFS, a `pending` document), straight through core."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from core import storage
from core.models import Invoice, InvoiceStatus
from core.search import invoice_search_terms

ORG = ObjectId("65f000000000000000000001")
OWNER = ObjectId("65f000000000000000000002")


async def queue_invoices(
    database: AsyncDatabase, files: Sequence[bytes], content_type: str = "text/plain"
) -> list[ObjectId]:
    ids = []
    for number, data in enumerate(files):
        sha256 = hashlib.sha256(data).hexdigest()
        filename = f"invoice-{number}.txt"
        file_id = await storage.put_file(database, data, filename, content_type, sha256)
        invoice = Invoice(
            owner_id=PydanticObjectId(OWNER), org_id=PydanticObjectId(ORG), filename=filename,
            content_type=content_type, size=len(data), sha256=sha256, file_id=PydanticObjectId(file_id),
            search_terms=invoice_search_terms(filename=filename),
        )
        await invoice.insert()
        ids.append(invoice.id)
    return ids


async def statuses(database: AsyncDatabase) -> dict[str, int]:
    counts = {status.value: 0 for status in InvoiceStatus}
    async for row in await database["invoices"].aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]):
        counts[row["_id"]] = row["n"]
    return counts
