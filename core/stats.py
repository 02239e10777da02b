"""The admin dashboard's counters: per organization and UTC day, kept right by recounting only changed days.

A scan of every invoice per request does not scale (a `$facet` over 100,000 invoices takes seconds), and
counters `$inc`-ed beside each state change drift the first time a process dies between the two writes.
So each hour has a `StatsHour` document recounted from that hour's invoices, and each day a `StatsDay` with
the sum of its hours; `refresh()` recounts only the hours touched since its last run (an hour holds a few
dozen invoices where a busy day holds a thousand):
- every write to an invoice sets `updated_at`, so the `(org_id, updated_at)` index finds the invoices changed
  since the last run; the hours they were created and processed in are recounted;
- a write that makes an invoice leave an hour without leaving a trace (a delete; a requeue, which clears
  `processed_at`) marks that hour dirty first (`mark_dirty`).
Writers stamp `updated_at` a moment before their write lands, so each run looks back `MARGIN` before where
the previous one stopped, and a dirty mark is kept (and recounted again) until it is older than `MARGIN`.
The days before an organization's first refresh are counted once by `count_history`, in the background.
Two processes may recount hours of one day at once: each writes its hours, then merges the day's totals under
the day's `version`; a merge that lost the race is redone by the writer that won it.

Durations go into log-spaced histogram buckets (each 10 % wider than the previous), so percentiles over any
range come from summing buckets: exact counts, durations within ±5 %.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from beanie import PydanticObjectId
from bson.decimal128 import Decimal128
from pydantic import Field
from pymongo import UpdateOne

from core.models import (
    FailureCount, Invoice, InvoiceStatus, Organization, StatsCounts, StatsDay, StatsHour, StatsRollup, utcnow,
)

MARGIN = timedelta(seconds=30)
BUCKET_RATIO = 1.1
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def day_of(moment: datetime) -> datetime:
    """00:00 UTC of the day `moment` falls on."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def hour_of(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


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
    """Recount the hours of `moments` at the next refresh: call before a write that removes an invoice from an
    hour without setting a newer `updated_at` on it (delete, requeue)."""
    now = utcnow()
    marks = [{"hour": hour, "at": now} for hour in sorted({hour_of(m) for m in moments if m is not None})]
    if marks:
        await StatsRollup.get_pymongo_collection().update_one(
            {"_id": org_id}, {"$push": {"dirty": {"$each": marks}}}, upsert=True
        )


@dataclass(frozen=True)
class Progress:
    recounted: int  # hours recounted by this refresh
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
    hours: set[datetime] = {hour_of(mark["hour"]) for mark in state.get("dirty") or []}
    sets: dict[str, Any] = {"checked_until": now}
    if checked_until is None:
        # No invoice is older than its organization. (Asking the invoices for their oldest fetches every one of
        # the organization's on SecantusDB, which applies a limit only after fetching all matches.)
        organization = await Organization.get_pymongo_collection().find_one({"_id": org_id}, {"created_at": 1})
        if organization is not None:
            sets.update(history_next=day_of(now), history_first=day_of(organization["created_at"]))
    else:
        hours |= await _hours_to_recount(org_id, checked_until, now)
    await recount(org_id, hours)
    await rollups.update_one(
        {"_id": org_id}, {"$set": sets, "$pull": {"dirty": {"at": {"$lt": now - MARGIN}}}}, upsert=True
    )
    history_next = sets.get("history_next", state.get("history_next"))
    return Progress(len(hours), history_next + DAY if history_next is not None else None)


async def _hours_to_recount(org_id: PydanticObjectId, checked_until: datetime, now: datetime) -> set[datetime]:
    """The hours of the invoices changed since `checked_until` (looking back `MARGIN`), less those already
    recounted since the change: a change stamped `u` has landed by `u + MARGIN`, so its hour is recounted
    once when first seen and once more after `u + MARGIN`, not on every refresh in between."""
    changed: dict[datetime, datetime] = {}  # hour -> latest change stamp touching it
    cursor = Invoice.get_pymongo_collection().find(
        {"org_id": org_id, "updated_at": {"$gte": checked_until - MARGIN}},
        {"created_at": 1, "processed_at": 1, "updated_at": 1},
    )
    async for document in cursor:
        for key in ("created_at", "processed_at"):
            if document.get(key) is not None:
                hour = hour_of(document[key])
                changed[hour] = max(changed.get(hour, document["updated_at"]), document["updated_at"])
    if not changed:
        return set()
    counted_at = {
        hour_of(document["hour"]): document.get("computed_at")
        async for document in StatsHour.get_pymongo_collection().find(
            {"org_id": org_id, "hour": {"$in": list(changed)}}, {"hour": 1, "computed_at": 1}
        )
    }
    due = set()
    for hour, stamp in changed.items():
        counted = counted_at.get(hour)
        if counted is None or counted < stamp or (counted < stamp + MARGIN <= now):
            due.add(hour)
    return due


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
        await recount(org_id, [oldest + HOUR * i for i in range(((newest - oldest).days + 1) * 24)])
        done = oldest <= first
        await rollups.update_one(
            {"_id": org_id, "history_lease.owner": token},
            {"$set": {"history_next": None if done else oldest - DAY,
                      "history_lease": None if done else {"owner": token, "until": utcnow() + HISTORY_LEASE}}},
        )
        if done:
            return True


class _Counts(StatsCounts):
    """A recount in progress: `StatsCounts` plus when each failure code's message was seen (a later one wins)."""

    failure_seen: dict[str, datetime] = Field(default_factory=dict, exclude=True)

    def stored(self) -> dict[str, Any]:
        return self.model_dump()

    def add(self, stored: dict[str, Any]) -> None:
        """Add an hour's stored counts (hours in order: a later hour's failure message wins)."""
        for name in ("uploads", "processed", "failed", "needs_review", "in_queue"):
            setattr(self, name, getattr(self, name) + stored.get(name, 0))
        for name in ("processing_ms", "queue_ms", "uploaders"):
            merge_counts(getattr(self, name), stored.get(name) or {})
        for code, failure in (stored.get("failures") or {}).items():
            entry = self.failures.setdefault(code, FailureCount())
            entry.count += failure["count"]
            entry.message = failure["message"] or entry.message
        for currency, total in (stored.get("amounts") or {}).items():
            self.add_amount(currency, Decimal(total))

    def add_amount(self, currency: str, amount: Decimal) -> None:
        # Kept as decimal strings, as stored: exact, and no float ever touches money.
        self.amounts[currency] = str(Decimal(self.amounts.get(currency, "0")) + amount)


_CREATED_FIELDS = {"created_at": 1, "owner_id": 1, "review.state": 1, "status": 1}
_QUEUED = (InvoiceStatus.pending.value, InvoiceStatus.processing.value)
_FINISHED_FIELDS = {
    "processed_at": 1, "status": 1, "timings": 1, "error": 1,
    **{f"{where}.{name}.value": 1 for where in ("extraction.fields", "corrections") for name in ("total", "currency")},
}


async def recount(org_id: PydanticObjectId, hours: Iterable[datetime]) -> None:
    """Recount `hours` from the invoices (one range query per run of consecutive hours), then their days."""
    invoices = Invoice.get_pymongo_collection()
    started = utcnow()  # every write committed before this is in the counts
    counted: dict[datetime, _Counts] = {}
    for start, end in _runs(sorted({hour_of(h) for h in hours}), HOUR):
        counted.update({start + HOUR * i: _Counts() for i in range(int((end - start) / HOUR))})
        in_range = {"$gte": start, "$lt": end}
        async for document in invoices.find({"org_id": org_id, "created_at": in_range}, _CREATED_FIELDS):
            hour = counted[hour_of(document["created_at"])]
            hour.uploads += 1
            owner = str(document["owner_id"])
            hour.uploaders[owner] = hour.uploaders.get(owner, 0) + 1
            if (document.get("review") or {}).get("state") == "needs_review":
                hour.needs_review += 1
            if document.get("status") in _QUEUED:
                hour.in_queue += 1
        async for document in invoices.find({"org_id": org_id, "processed_at": in_range}, _FINISHED_FIELDS):
            _count_finished(counted[hour_of(document["processed_at"])], document)
    by_day: dict[datetime, dict[datetime, _Counts]] = {}
    for hour, counts in counted.items():
        by_day.setdefault(day_of(hour), {})[hour] = counts
    for day, day_hours in by_day.items():
        await _store_day(org_id, day, day_hours, started)


async def _store_day(
    org_id: PydanticObjectId, day: datetime, hours: dict[datetime, _Counts], counted_at: datetime
) -> None:
    """Write the day's recounted hours, then its totals merged from all its hours, under the day's version:
    every hour write is followed by a version bump, and the totals are read after the version, so a merge
    whose guarded write succeeds saw every hour written before that version."""
    await StatsHour.get_pymongo_collection().bulk_write([
        UpdateOne({"org_id": org_id, "hour": hour}, {"$set": {**counts.stored(), "computed_at": counted_at}},
                  upsert=True)
        for hour, counts in hours.items()
    ], ordered=False)
    days = StatsDay.get_pymongo_collection()
    key = {"org_id": org_id, "day": day}
    await days.update_one(key, {"$inc": {"version": 1}}, upsert=True)
    current = await days.find_one(key, {"version": 1})
    if current is None:
        return
    total = _Counts()
    stored = StatsHour.get_pymongo_collection().find(
        {"org_id": org_id, "hour": {"$gte": day, "$lt": day + DAY}}, {"_id": 0, "org_id": 0, "computed_at": 0},
        sort=[("hour", 1)]
    )
    async for hour in stored:
        total.add(hour)
    # A later version means a later hour write, whose writer merges after it, with ours in.
    await days.update_one({**key, "version": current["version"]}, {"$set": {**total.stored(), "computed_at": utcnow()}})


def _count_finished(counts: _Counts, document: dict[str, Any]) -> None:
    status = document.get("status")
    timings = document.get("timings") or {}
    if status == InvoiceStatus.processed:
        counts.processed += 1
        total, currency = _effective(document, "total"), _effective(document, "currency")
        amount = _decimal(total)
        if amount is not None and isinstance(currency, str) and currency:
            counts.add_amount(currency, amount)
    elif status == InvoiceStatus.failed:
        counts.failed += 1
        error = document.get("error") or {}
        code = str(error.get("code") or "unknown")
        entry = counts.failures.setdefault(code, FailureCount())
        entry.count += 1
        seen = counts.failure_seen.get(code)
        if seen is None or document["processed_at"] >= seen:
            entry.message, counts.failure_seen[code] = str(error.get("message") or ""), document["processed_at"]
    else:
        return  # requeued since (its processed_at is being cleared): it belongs to no day now
    queued, total_ms = timings.get("queued_ms"), timings.get("total_ms")
    if queued is not None:
        merge_counts(counts.queue_ms, {bucket(queued): 1})
    if total_ms is not None:
        merge_counts(counts.processing_ms, {bucket(max(0.0, total_ms - (queued or 0.0))): 1})


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


def _runs(moments: list[datetime], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Consecutive moments `step` apart as [start, end) ranges."""
    runs: list[tuple[datetime, datetime]] = []
    for moment in moments:
        if runs and runs[-1][1] == moment:
            runs[-1] = (runs[-1][0], moment + step)
        else:
            runs.append((moment, moment + step))
    return runs
