"""The admin dashboard's counters: per organization and UTC day, kept right by recounting only changed days.

A scan of every invoice per request does not scale (a `$facet` over 100,000 invoices takes seconds), and
counters `$inc`-ed beside each state change drift the first time a process dies between the two writes.
So each day has a `StatsDay` document recounted from that day's invoices, and `refresh()` recounts only the
days touched since its last run:
- every write to an invoice sets `updated_at`, so the `(org_id, updated_at)` index finds the invoices changed
  since the last run; their creation day and their processing day are recounted;
- a write that makes an invoice leave a day without leaving a trace (a delete; a requeue, which clears
  `processed_at`) marks that day dirty first (`mark_dirty`).
Writers stamp `updated_at` a moment before their write lands, so each run looks back `MARGIN` before where
the previous one stopped, and a dirty mark is kept (and recounted again) until it is older than `MARGIN`.
The days before an organization's first refresh are counted once by `count_history`, in the background.

Durations go into log-spaced histogram buckets (each 10 % wider than the previous), so percentiles over any
range come from summing buckets: exact counts, durations within ±5 %.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from beanie import PydanticObjectId
from bson.decimal128 import Decimal128
from pymongo import ReplaceOne

from core.models import Invoice, InvoiceStatus, Organization, StatsDay, StatsRollup, utcnow

MARGIN = timedelta(seconds=30)
BUCKET_RATIO = 1.1
DAY = timedelta(days=1)


def day_of(moment: datetime) -> datetime:
    """00:00 UTC of the day `moment` falls on."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def bucket(ms: float) -> str:
    return str(0 if ms < 1 else int(math.log(ms) / math.log(BUCKET_RATIO)))


def percentile(histogram: dict[str, int], fraction: float) -> float | None:
    """The value below which `fraction` of the histogram's durations fall (the bucket's geometric middle)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank, seen = fraction * total, 0
    for key in sorted(histogram, key=int):
        seen += histogram[key]
        if seen >= rank:
            return round(BUCKET_RATIO ** (int(key) + 0.5), 1) if int(key) > 0 else 1.0
    return None


def merge_counts(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for key, count in more.items():
        into[key] = into.get(key, 0) + count
    return into


async def mark_dirty(org_id: PydanticObjectId, *moments: datetime | None) -> None:
    """Recount the days of `moments` at the next refresh: call before a write that removes an invoice from a
    day without setting a newer `updated_at` on it (delete, requeue)."""
    now = utcnow()
    marks = [{"day": day, "at": now} for day in sorted({day_of(m) for m in moments if m is not None})]
    if marks:
        await StatsRollup.get_pymongo_collection().update_one(
            {"_id": org_id}, {"$push": {"dirty": {"$each": marks}}}, upsert=True
        )


@dataclass(frozen=True)
class Progress:
    recounted: int  # days recounted by this refresh
    history_from: datetime | None  # while the history is still being counted: the oldest day counted so far


async def refresh(org_id: PydanticObjectId) -> Progress:
    """Bring the organization's `StatsDay` documents up to date with what changed since the last refresh.

    The first refresh of an organization that already has invoices only records where the history ends; the
    history itself (every day since the first upload) is counted by `count_history`, newest day first, off
    the request path: on the embedded database that takes about a minute per 100,000 invoices.
    """
    now = utcnow()
    rollups = StatsRollup.get_pymongo_collection()
    state = await rollups.find_one({"_id": org_id}) or {}
    checked_until = state.get("checked_until")
    days: set[datetime] = {day_of(mark["day"]) for mark in state.get("dirty") or []}
    invoices = Invoice.get_pymongo_collection()
    sets: dict[str, Any] = {"checked_until": now}
    if checked_until is None:
        # No invoice is older than its organization. (Asking the invoices for their oldest fetches every one of
        # the organization's on SecantusDB, which applies a limit only after fetching all matches.)
        organization = await Organization.get_pymongo_collection().find_one({"_id": org_id}, {"created_at": 1})
        if organization is not None:
            sets.update(history_next=day_of(now), history_first=day_of(organization["created_at"]))
    else:
        changed = invoices.find(
            {"org_id": org_id, "updated_at": {"$gte": checked_until - MARGIN}}, {"created_at": 1, "processed_at": 1}
        )
        async for document in changed:
            days.update(day_of(document[key]) for key in ("created_at", "processed_at") if document.get(key))
    await recount(org_id, days)
    await rollups.update_one(
        {"_id": org_id}, {"$set": sets, "$pull": {"dirty": {"at": {"$lt": now - MARGIN}}}}, upsert=True
    )
    history_next = sets.get("history_next", state.get("history_next"))
    return Progress(len(days), history_next + DAY if history_next is not None else None)


HISTORY_LEASE = timedelta(seconds=60)
HISTORY_DAYS_PER_STEP = 2


async def count_history(org_id: PydanticObjectId) -> bool:
    """Count the organization's past days, newest first, a few at a time, under a lease so that one process
    does it (a process that dies mid-way lets the lease lapse and the next caller goes on from where it
    stopped). Returns False when another process holds the lease or nothing is left."""
    rollups = StatsRollup.get_pymongo_collection()
    token = uuid.uuid4().hex
    now = utcnow()
    taken = await rollups.update_one(
        {"_id": org_id, "history_next": {"$ne": None}, "history_lease.until": {"$not": {"$gt": now}}},
        {"$set": {"history_lease": {"owner": token, "until": now + HISTORY_LEASE}}},
    )
    if taken.matched_count == 0:
        return False
    while True:
        state = await rollups.find_one({"_id": org_id, "history_lease.owner": token})
        if state is None or state.get("history_next") is None:
            return True
        newest, first = day_of(state["history_next"]), day_of(state["history_first"])
        oldest = max(first, newest - DAY * (HISTORY_DAYS_PER_STEP - 1))
        await recount(org_id, [oldest + DAY * i for i in range((newest - oldest).days + 1)])
        done = oldest <= first
        await rollups.update_one(
            {"_id": org_id, "history_lease.owner": token},
            {"$set": {"history_next": None if done else oldest - DAY,
                      "history_lease": None if done else {"owner": token, "until": utcnow() + HISTORY_LEASE}}},
        )
        if done:
            return True


@dataclass
class _Day:
    uploads: int = 0
    processed: int = 0
    failed: int = 0
    needs_review: int = 0
    in_queue: int = 0
    processing_ms: dict[str, int] = field(default_factory=dict)
    queue_ms: dict[str, int] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploaders: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, Decimal] = field(default_factory=dict)


_CREATED_FIELDS = {"created_at": 1, "owner_id": 1, "review.state": 1, "status": 1}
_QUEUED = (InvoiceStatus.pending.value, InvoiceStatus.processing.value)
_FINISHED_FIELDS = {
    "processed_at": 1, "status": 1, "timings": 1, "error": 1,
    **{f"{where}.{name}.value": 1 for where in ("extraction.fields", "corrections") for name in ("total", "currency")},
}


async def recount(org_id: PydanticObjectId, days: Iterable[datetime]) -> None:
    """Recount `days` from the invoices, one range query per run of consecutive days."""
    invoices = Invoice.get_pymongo_collection()
    now = utcnow()
    for start, end in _runs(sorted(set(days))):
        counted = {start + DAY * i: _Day() for i in range((end - start).days)}
        in_range = {"$gte": start, "$lt": end}
        async for document in invoices.find({"org_id": org_id, "created_at": in_range}, _CREATED_FIELDS):
            day = counted[day_of(document["created_at"])]
            day.uploads += 1
            owner = str(document["owner_id"])
            day.uploaders[owner] = day.uploaders.get(owner, 0) + 1
            if (document.get("review") or {}).get("state") == "needs_review":
                day.needs_review += 1
            if document.get("status") in _QUEUED:
                day.in_queue += 1
        async for document in invoices.find({"org_id": org_id, "processed_at": in_range}, _FINISHED_FIELDS):
            _count_finished(counted[day_of(document["processed_at"])], document)
        await StatsDay.get_pymongo_collection().bulk_write([
            ReplaceOne({"org_id": org_id, "day": day}, _stored(org_id, day, counts, now), upsert=True)
            for day, counts in counted.items()
        ], ordered=False)


def _count_finished(day: _Day, document: dict[str, Any]) -> None:
    status = document.get("status")
    timings = document.get("timings") or {}
    if status == InvoiceStatus.processed:
        day.processed += 1
        total, currency = _effective(document, "total"), _effective(document, "currency")
        amount = _decimal(total)
        if amount is not None and isinstance(currency, str) and currency:
            day.amounts[currency] = day.amounts.get(currency, Decimal(0)) + amount
    elif status == InvoiceStatus.failed:
        day.failed += 1
        error = document.get("error") or {}
        code = str(error.get("code") or "unknown")
        entry = day.failures.setdefault(code, {"count": 0, "message": "", "at": None})
        entry["count"] += 1
        if entry["at"] is None or document["processed_at"] >= entry["at"]:
            entry["message"], entry["at"] = str(error.get("message") or ""), document["processed_at"]
    else:
        return  # requeued since (its processed_at is being cleared): it belongs to no day now
    queued, total_ms = timings.get("queued_ms"), timings.get("total_ms")
    if queued is not None:
        merge_counts(day.queue_ms, {bucket(queued): 1})
    if total_ms is not None:
        merge_counts(day.processing_ms, {bucket(max(0.0, total_ms - (queued or 0.0))): 1})


def _effective(document: dict[str, Any], name: str) -> Any:
    """A person's correction, else the machine's value."""
    corrected = ((document.get("corrections") or {}).get(name) or {}).get("value")
    if corrected is not None:
        return corrected
    return (((document.get("extraction") or {}).get("fields") or {}).get(name) or {}).get("value")


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal128):
        return value.to_decimal()
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _stored(org_id: PydanticObjectId, day: datetime, counts: _Day, now: datetime) -> dict[str, Any]:
    return {
        "org_id": org_id, "day": day, "uploads": counts.uploads, "processed": counts.processed,
        "failed": counts.failed, "needs_review": counts.needs_review, "in_queue": counts.in_queue, "processing_ms": counts.processing_ms,
        "queue_ms": counts.queue_ms, "uploaders": counts.uploaders,
        "failures": {code: {"count": f["count"], "message": f["message"]} for code, f in counts.failures.items()},
        "amounts": {currency: str(total) for currency, total in counts.amounts.items()},
        "computed_at": now,
    }


def _runs(days: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive days as [start, end) ranges."""
    runs: list[tuple[datetime, datetime]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + DAY)
        else:
            runs.append((day, day + DAY))
    return runs
