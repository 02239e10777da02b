"""`Idempotency-Key` on the upload routes: a phone that lost its answer sends again and gets the first invoice.

The same key with the same bytes within 24 h answers the invoice of the first request (202, header
`Idempotent-Replayed: true`); the same key with other bytes answers 409. The record names the invoice id before
the invoice is written, so the invoice's own `_id` is the commit point: a request that died half-way is finished
by the retry, and two racing requests write one invoice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from beanie import PydanticObjectId
from fastapi import Header, Response
from pymongo.errors import DuplicateKeyError

from api.errors import Conflict
from core.models import IdempotencyRecord, Invoice, User, utcnow

KEY_LIFETIME = timedelta(hours=24)
KEY_PATTERN = r"^[A-Za-z0-9._:\-]{8,128}$"
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=KEY_PATTERN,
    description=(
        "A key the client makes once per upload (e.g. a UUID), 8-128 characters of letters, digits and `._:-`. "
        "Sending the same key with the same file within 24 h answers the first invoice instead of a new one; "
        "the same key with another file answers 409."
    ),
)]
IDEMPOTENCY_ERRORS = {409: {"description": "This Idempotency-Key was used for another file"}}

Create = Callable[[PydanticObjectId], Awaitable[Invoice]]


async def create_once(user: User, key: str | None, data: bytes, response: Response, create: Create) -> Invoice:
    """`create(invoice_id)` at most once per (user, key); a repeat answers the invoice the key names."""
    if key is None:
        return await create(PydanticObjectId())
    sha256 = hashlib.sha256(data).hexdigest()
    record = IdempotencyRecord(
        user_id=user.id, key=key, sha256=sha256, invoice_id=PydanticObjectId(), expires_at=utcnow() + KEY_LIFETIME)
    try:
        await record.insert()
        first = True
    except DuplicateKeyError:
        found = await IdempotencyRecord.find_one({"user_id": user.id, "key": key})
        if found is None:  # expired between the two calls: rare enough to answer "try again"
            raise Conflict("This Idempotency-Key is being reused right now; send the request again") from None
        record, first = found, False
    if record.sha256 != sha256:
        raise Conflict("This Idempotency-Key was already used for another file; make a new key for a new upload")
    if not first:
        existing = await Invoice.get(record.invoice_id)
        if existing is not None:
            response.headers[REPLAYED_HEADER] = "true"
            return existing
        if record.completed:
            raise Conflict("The invoice sent with this Idempotency-Key was deleted; make a new key to upload again")
    try:
        invoice = await create(record.invoice_id)
    except DuplicateKeyError:
        # A racing request with the same key wrote it first: answer that one.
        existing = await Invoice.get(record.invoice_id)
        if existing is None:
            raise
        response.headers[REPLAYED_HEADER] = "true"
        return existing
    await IdempotencyRecord.get_pymongo_collection().update_one({"_id": record.id}, {"$set": {"completed": True}})
    return invoice
