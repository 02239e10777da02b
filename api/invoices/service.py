"""Invoice operations. Every query is scoped: employees to their own invoices, admins to their organization."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from beanie import PydanticObjectId
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DocumentTooLarge, WriteError

from api.invoices.files import escaped_filename, safe_filename
from api.invoices.schemas import CORRECTABLE, LINE_ITEMS, InvoicePublic
from api.review.service import reviewed
from core import stats, storage, transitions
from core.bson_codec import from_bson, to_bson
from core.config import Settings
from core.models import FINAL_STATUSES, Invoice, InvoiceBase, Role, User, utcnow
from core.search import invoice_search_terms
from extraction.models import FIELD_NAMES, ExtractionResult
from extraction.upload_check import CheckedUpload

# Server error codes for a document (or an update's result) over MongoDB's 16 MB limit.
_TOO_LARGE_CODES = {10334, 17419, 17420, 10329}
MONEY_DECIMALS = 4


class BadCorrection(ValueError):
    pass


class TooLarge(ValueError):
    pass


def scope(user: User) -> dict[str, Any]:
    """The filter that limits a query to what `user` may see."""
    if user.role == Role.admin:
        return {"org_id": user.org_id}
    return {"org_id": user.org_id, "owner_id": user.id}


async def get_visible(invoice_id: PydanticObjectId, user: User) -> Invoice | None:
    return await Invoice.find_one({"_id": invoice_id, **scope(user)})


async def create(
    database: AsyncDatabase, user: User, data: bytes, sent_filename: str | None, checked: CheckedUpload,
    invoice_id: PydanticObjectId | None = None,
) -> Invoice:
    sha256 = hashlib.sha256(data).hexdigest()
    filename = safe_filename(sent_filename)
    # Independent round trips, run together: the duplicate lookup and the file write. A duplicate is named
    # only among the invoices the uploader can see.
    duplicate, file_id = await asyncio.gather(
        Invoice.get_pymongo_collection().find_one({**scope(user), "sha256": sha256}, projection={"_id": 1}),
        storage.put_file(database, data, filename, checked.content_type, sha256),
    )
    now = utcnow()
    invoice = Invoice(
        id=invoice_id, owner_id=user.id, org_id=user.org_id, filename=filename, original_filename=escaped_filename(sent_filename),
        content_type=checked.content_type, size=len(data),
        sha256=sha256, file_id=PydanticObjectId(file_id), pages=checked.pages,
        duplicate_of=duplicate["_id"] if duplicate else None, search_terms=invoice_search_terms(filename=filename),
        queued_at=now, created_at=now, updated_at=now,
    )
    try:
        await invoice.insert()
    except BaseException:
        await storage.delete_file(database, file_id)  # leave nothing half-written behind
        raise
    return invoice


async def requeue(invoice: Invoice) -> Invoice:
    """Back to `pending` for a fresh extraction, when `core.transitions` allows it (processed or failed)."""
    if invoice.status not in transitions.REPROCESSABLE:
        return invoice  # queued already, or being processed: its result is on its way
    now = utcnow()
    await stats.mark_dirty(invoice.org_id, invoice.processed_at)  # it leaves the day it was processed on
    write = transitions.requeue(transitions.invoice_key(invoice.id, invoice.org_id), invoice.status, now,
                                invoice.owner_id)
    await Invoice.get_pymongo_collection().update_one(write.filter, write.update)
    return await Invoice.find_one(transitions.invoice_key(invoice.id, invoice.org_id))  # type: ignore[return-value]


async def replace_file(
    database: AsyncDatabase, invoice: Invoice, data: bytes, sent_filename: str | None, checked: CheckedUpload
) -> Invoice:
    sha256 = hashlib.sha256(data).hexdigest()
    filename = safe_filename(sent_filename) if sent_filename else None
    file_id = await storage.put_file(database, data, filename or invoice.filename, checked.content_type, sha256)
    now = utcnow()
    await stats.mark_dirty(invoice.org_id, invoice.processed_at)  # it leaves the day it was processed on
    write = transitions.replace_file(transitions.invoice_key(invoice.id, invoice.org_id), invoice.status, now,
                                     owner_id=invoice.owner_id, file={
        "file_id": file_id, "content_type": checked.content_type, "size": len(data), "sha256": sha256,
        "pages": checked.pages, "filename": filename or invoice.filename,
        "original_filename": escaped_filename(sent_filename) if sent_filename else invoice.original_filename,
    })
    result = await Invoice.get_pymongo_collection().update_one(write.filter, write.update)
    if result.matched_count == 0:  # deleted meanwhile
        await storage.delete_file(database, file_id)
    else:
        await storage.delete_file(database, invoice.file_id)
    return await Invoice.find_one(transitions.invoice_key(invoice.id, invoice.org_id))  # type: ignore[return-value]


async def delete(database: AsyncDatabase, invoice: Invoice) -> None:
    await stats.mark_dirty(invoice.org_id, invoice.created_at, invoice.processed_at)
    key = transitions.invoice_key(invoice.id, invoice.org_id)
    stamp = transitions.deleting(key, invoice.owner_id, utcnow())  # a delete event carries nothing: whom it goes to
    await Invoice.get_pymongo_collection().update_one(stamp.filter, stamp.update)
    await Invoice.get_pymongo_collection().delete_one(key)
    await storage.delete_file(database, invoice.file_id)


def _check_name(name: str) -> None:
    if name != "line_items" and name not in CORRECTABLE:
        allowed = ", ".join([*FIELD_NAMES, "line_items"])
        raise BadCorrection(f"'{name[:100]}' is not a field that can be corrected; use one of: {allowed}")


def _check_size(name: str, value: Any, settings: Settings) -> None:
    """A person's value within the limits: text length, money digits and scale (Decimal128 holds 34 digits,
    and an amount nobody invoices is a typo or an attack)."""
    if isinstance(value, str) and len(value) > settings.max_text_field_chars:
        raise BadCorrection(f"{name}: at most {settings.max_text_field_chars} characters")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BadCorrection(f"{name}: an amount must be a finite number")
        _, digits, exponent = value.as_tuple()
        if exponent < -MONEY_DECIMALS:  # type: ignore[operator]
            raise BadCorrection(f"{name}: at most {MONEY_DECIMALS} digits after the decimal point")
        if len(digits) + max(0, exponent) > settings.max_money_digits:  # type: ignore[operator]
            raise BadCorrection(f"{name}: at most {settings.max_money_digits} significant digits")
    if isinstance(value, dict):
        for key, inner in value.items():
            _check_size(f"{name}.{key}", inner, settings)
    if isinstance(value, list):
        for index, inner in enumerate(value):
            _check_size(f"{name}[{index}]", inner, settings)


def _parse_correction(name: str, value: Any, settings: Settings) -> Any:
    """Validate a person's value and return it in its stored form (Decimal128 money, ISO dates)."""
    if name == "line_items":
        if isinstance(value, list) and len(value) > settings.max_line_items:
            raise BadCorrection(f"line_items: at most {settings.max_line_items} lines")
        items = [item.model_dump(mode="python") for item in LINE_ITEMS.validate_python(value)]
        _check_size(name, items, settings)
        return to_bson(items)
    parsed = CORRECTABLE[name].validate_python(value)
    _check_size(name, parsed, settings)
    if isinstance(parsed, date):
        return parsed.isoformat()
    if name == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", parsed):
            raise BadCorrection("currency must be a three-letter ISO 4217 code such as EUR")
        return parsed.upper()
    return to_bson(parsed)


async def correct(invoice: Invoice, fields: dict[str, Any], user: User, settings: Settings) -> Invoice:
    now = utcnow()
    sets: dict[str, Any] = {"updated_at": now}
    unsets: dict[str, str] = {}
    for name, value in fields.items():
        _check_name(name)
        if value is None:
            unsets[f"corrections.{name}"] = ""
            continue
        try:
            stored = _parse_correction(name, value, settings)
        except ValidationError as exc:
            raise BadCorrection(f"{name}: {exc.errors()[0]['msg']}") from None
        sets[f"corrections.{name}"] = {"value": stored, "by": user.id, "at": now}
    if invoice.status in FINAL_STATUSES:
        # The review's reasons follow the corrections (a corrected field is no longer doubtful).
        merged = {name: c.model_dump() for name, c in invoice.corrections.items() if f"corrections.{name}" not in unsets}
        merged.update({key.split(".", 1)[1]: value for key, value in sets.items() if key.startswith("corrections.")})
        sets["review"] = reviewed(invoice, merged)
    write = transitions.correct(
        transitions.invoice_key(invoice.id, invoice.org_id), now,
        corrections={key.split(".", 1)[1]: value for key, value in sets.items() if key.startswith("corrections.")},
        removed=[key.split(".", 1)[1] for key in unsets], review=sets.get("review"), owner_id=invoice.owner_id,
        **{name: fields[name] for name in ("vendor_name", "invoice_number") if isinstance(fields.get(name), str)},
    )
    try:
        await Invoice.get_pymongo_collection().update_one(write.filter, write.update)
    except (DocumentTooLarge, WriteError) as exc:
        if isinstance(exc, WriteError) and exc.code not in _TOO_LARGE_CODES:
            raise
        raise TooLarge("the corrected invoice would be over the database's 16 MB document limit; "
                       "send shorter values or fewer line items") from None
    return await Invoice.find_one(transitions.invoice_key(invoice.id, invoice.org_id))  # type: ignore[return-value]


def current_values(extraction: Mapping[str, Any] | None, corrections: Mapping[str, Any]) -> dict[str, Any]:
    """Each scalar field's current value in the API's JSON form: a person's correction, else the machine's.
    From the stored documents, so that a list row and the whole invoice say the same."""
    fields = (extraction or {}).get("fields") or {}
    values: dict[str, Any] = {}
    for name in FIELD_NAMES:
        if name in corrections:
            values[name] = from_bson(corrections[name]["value"])
        elif extraction is not None:
            values[name] = from_bson((fields.get(name) or {}).get("value"))
    return _jsonable(values)


def to_public(invoice: Invoice) -> InvoicePublic:
    extraction = ExtractionResult.model_validate(from_bson(invoice.extraction)) if invoice.extraction else None
    corrections = {name: c.model_dump() | {"value": from_bson(c.value)} for name, c in invoice.corrections.items()}
    values = current_values(invoice.extraction, corrections)
    if "line_items" in corrections:
        values |= _jsonable({"line_items": corrections["line_items"]["value"]})
    elif extraction is not None:
        values |= _jsonable({"line_items": extraction.fields.line_items})
    data = invoice.model_dump(include={"id", *InvoiceBase.model_fields})
    return InvoicePublic(**data, extraction=extraction, corrections=corrections, values=values)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Money as decimal strings and dates as ISO, as everywhere in the API's JSON."""
    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return [convert(v.model_dump(mode="json") if hasattr(v, "model_dump") else v) for v in value]
        return value

    return {name: convert(value) for name, value in values.items()}

