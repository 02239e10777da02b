"""The invoice list: filters, cursor pages, and light rows (`InvoiceSummary`) read with a projection.

The embedded database fetches every document that matches before it sorts and limits, and a top-level `$or`
(or `$nor`) makes it scan the collection. So a page is read in slices of the sort key, nearest first: each
slice is one index range, a few times wider than the one before, until the page is full. The cursor's
own instant is read apart (equal key, `_id` past the last row), so no slice needs an `$or`. A search is
one read from the terms index. On MongoDB the same reads are plain index ranges as well.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from api.invoices.schemas import InvoiceSummary, SortKey
from api.invoices.service import current_values, scope
from core.models import Invoice, InvoiceBase, InvoiceStatus, Organization, User, utcnow
from core.review import ReviewState
from core.search import tokens
from extraction.models import FIELD_NAMES

# What a list row reads from the database: the invoice's own fields, and of the extraction and the corrections
# only each scalar field's value, so neither the boxes and line items nor the page sizes leave the server.
# `extraction.ok` is always stored with an extraction: it tells "not read yet" from "read, nothing found".
SUMMARY_PROJECTION: dict[str, int] = {
    **{name: 1 for name in InvoiceBase.model_fields},
    "extraction.ok": 1,
    **{f"extraction.fields.{name}.value": 1 for name in FIELD_NAMES},
    **{f"corrections.{name}.value": 1 for name in FIELD_NAMES},
}
FIRST_SLICE = timedelta(days=1)
SLICE_GROWTH = 4
SLICES = 8  # 1 day, then 4, 16, … 4,096 days (15 years in all), then the rest


class BadCursor(ValueError):
    pass


def encode_cursor(sort: SortKey, invoice: InvoiceSummary) -> str:
    key = sort.lstrip("-")
    payload = {"v": getattr(invoice, key).isoformat(), "id": str(invoice.id)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, ObjectId]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return _utc(datetime.fromisoformat(payload["v"])), ObjectId(payload["id"])
    except (ValueError, KeyError, TypeError, InvalidId) as exc:
        raise BadCursor("next_cursor is not one this API issued; start again without it") from exc


def to_summary(document: Mapping[str, Any]) -> InvoiceSummary:
    """A list row from a document read with `SUMMARY_PROJECTION`."""
    values = current_values(document.get("extraction"), document.get("corrections") or {})
    return InvoiceSummary.model_validate({**document, "id": document["_id"], "values": values})


async def list_visible(
    user: User,
    *,
    status: InvoiceStatus | None,
    q: str | None,
    review: ReviewState | None = None,
    date_from: datetime | None,
    date_to: datetime | None,
    sort: SortKey,
    limit: int,
    cursor: str | None,
) -> tuple[list[InvoiceSummary], str | None]:
    query: dict[str, Any] = scope(user)
    if status:
        query["status"] = status.value
    if review:
        query["review.state"] = review.value
    if q and (words := tokens(q)):
        # Every word of the query must be the start of one of the invoice's terms.
        query["search_terms"] = {"$all": [re.compile("^" + re.escape(word)) for word in words]}
    if date_from or date_to:
        query["created_at"] = {k: _utc(v) for k, v in (("$gte", date_from), ("$lt", date_to)) if v}
    key = sort.lstrip("-")
    newest_first = sort.startswith("-")
    after = _decode_cursor(cursor) if cursor else None
    found = await _read_page(query, key, newest_first, limit + 1, after, user)
    items = [to_summary(document) for document in found[:limit]]
    next_cursor = encode_cursor(sort, items[-1]) if len(found) > limit else None
    return items, next_cursor


async def _read_page(
    query: dict[str, Any], key: str, newest_first: bool, wanted: int, after: tuple[datetime, ObjectId] | None,
    user: User,
) -> list[Mapping[str, Any]]:
    """Up to `wanted` documents in (key, _id) order, past the cursor `after`, slice by slice."""
    direction = -1 if newest_first else 1
    order = [(key, direction), ("_id", direction)]
    collection = Invoice.get_pymongo_collection()

    async def read(condition: dict[str, Any], count: int) -> list[Mapping[str, Any]]:
        bounded = _within(query, key, condition)
        if bounded is None:
            return []
        return await collection.find(bounded, projection=SUMMARY_PROJECTION).sort(order).limit(count).to_list()

    found: list[Mapping[str, Any]] = []
    if after is not None:
        value, last_id = after
        # The cursor's own instant: the rows sharing it that come after the last one shown. Filtered here, not
        # by an `_id` range, which the embedded database would answer from the `_id` index by a scan.
        tied = await read({"$gte": value, "$lte": value}, 0)  # 0: no limit
        found += [doc for doc in tied if (doc["_id"] < last_id if newest_first else doc["_id"] > last_id)][:wanted]
    if "search_terms" in query:
        # A search is answered from the terms index in one read: slices of the sort key would add a range the
        # embedded database plans worse, and the terms narrow the matches already.
        past = {("$lt" if newest_first else "$gt"): after[0]} if after is not None else {}
        return found + (await read(past, wanted - len(found)) if len(found) < wanted else [])
    if after is not None:
        pivot = after[0]
    elif newest_first:
        pivot = utcnow()
    else:
        # Oldest first begins where the organization does: no invoice of it is older.
        organization = await Organization.get_pymongo_collection().find_one(
            {"_id": user.org_id}, projection={"created_at": 1})
        pivot = _utc(organization["created_at"]) if organization else utcnow()
    width, edge = FIRST_SLICE, None  # `edge`: where the previous slice stopped
    for slice_number in range(SLICES):
        if len(found) >= wanted:
            break
        last = slice_number == SLICES - 1
        if newest_first:
            lower = None if last else pivot - width
            upper = {"$lt": edge} if edge is not None else ({"$lt": pivot} if after else {})
            condition = {**upper, **({"$gte": lower} if lower is not None else {})}
            edge = lower
        else:
            upper = None if last else pivot + width
            lower = {"$gte": edge} if edge is not None else ({"$gt": pivot} if after else {})
            condition = {**lower, **({"$lt": upper} if upper is not None else {})}
            edge = upper
        found += await read(condition, wanted - len(found))
        if _past_filter(query, key, newest_first, edge):
            break
        width *= SLICE_GROWTH
    return found


def _within(query: dict[str, Any], key: str, condition: dict[str, Any]) -> dict[str, Any] | None:
    """The query narrowed to one slice of `key`, or None when the slice and the date filter do not meet."""
    bounds = dict(query.get(key) or {})
    for op, value in condition.items():
        if op in ("$gte", "$gt"):
            # The tighter lower bound wins; an exclusive bound beats an inclusive one at the same instant.
            current = bounds.get("$gte") or bounds.get("$gt")
            if current is None or value > current or (value == current and op == "$gt"):
                bounds.pop("$gte", None)
                bounds.pop("$gt", None)
                bounds[op] = value
        else:
            current = bounds.get("$lt") or bounds.get("$lte")
            if current is None or value < current or (value == current and op == "$lt"):
                bounds.pop("$lt", None)
                bounds.pop("$lte", None)
                bounds[op] = value
    low = bounds.get("$gte") or bounds.get("$gt")
    high = bounds.get("$lt") or bounds.get("$lte")
    if low is not None and high is not None and (low > high or (low == high and ("$gt" in bounds or "$lt" in bounds))):
        return None
    return {**query, key: bounds} if bounds else query


def _past_filter(query: dict[str, Any], key: str, newest_first: bool, edge: datetime | None) -> bool:
    """Whether the slices have gone past the date filter on `key`, so that no later slice can match."""
    if edge is None:
        return True  # the open-ended slice was read
    bounds = query.get(key) or {}
    if newest_first:
        return "$gte" in bounds and edge <= bounds["$gte"]
    return "$lt" in bounds and edge >= bounds["$lt"]


def _utc(moment: datetime) -> datetime:
    """A moment without a zone is UTC, as the database reads it; with one, comparisons between bounds work."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
