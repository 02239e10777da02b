"""The admin dashboard's reads, each scoped to the admin's organization."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from beanie import PydanticObjectId

from api.admin.schemas import (
    Activity, ActivityItem, AdminStats, CurrencyAmount, FailureGroup, Percentiles, StatsCards, StatsDayPublic,
    StatsRange, Uploader, WatcherPublic,
)
from core import stats
from core.models import Invoice, StatsDay, User, WatcherGroup, utcnow

log = logging.getLogger("invoicer.api")

TOP_UPLOADERS = 10
# Activity reads recent invoices through the (org_id, updated_at) index in widening windows, because a
# sorted, limited query without a range fetches every match on SecantusDB before limiting.
ACTIVITY_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=30), None)


def _percentiles(histogram: dict[str, int]) -> Percentiles:
    return Percentiles(p50_ms=stats.percentile(histogram, 0.5), p95_ms=stats.percentile(histogram, 0.95))


_HISTORY_TASKS: set[asyncio.Task] = set()  # referenced until done, so they are not garbage-collected


def _count_history_in_background(org_id: PydanticObjectId) -> None:
    task = asyncio.create_task(stats.count_history(org_id))
    _HISTORY_TASKS.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task) -> None:
    _HISTORY_TASKS.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("counting the dashboard's history stopped: %r; the next request goes on", task.exception())


async def dashboard(org_id: PydanticObjectId, range_: StatsRange) -> AdminStats:
    progress = await stats.refresh(org_id)
    if progress.history_from is not None:
        _count_history_in_background(org_id)
    today = stats.day_of(utcnow())
    start = today - timedelta(days=int(range_.rstrip("d")) - 1)
    collection_days = await StatsDay.get_pymongo_collection().find(
        {"org_id": org_id, "day": {"$gte": start}}, {"_id": 0, "org_id": 0, "version": 0}
    ).to_list()
    by_day = {stats.day_of(d["day"]): d for d in collection_days}
    # "Now" numbers over every day, not only the range: an upload of last year may still wait for a person.
    now_counts = await (await StatsDay.get_pymongo_collection().aggregate([
        {"$match": {"org_id": org_id}},
        {"$group": {"_id": None, "needs_review": {"$sum": "$needs_review"}, "in_queue": {"$sum": "$in_queue"}}},
    ])).to_list()
    waiting = now_counts[0] if now_counts else {"needs_review": 0, "in_queue": 0}
    processing: dict[str, int] = {}
    queue: dict[str, int] = {}
    uploaders: dict[str, int] = {}
    failures: dict[str, FailureGroup] = {}
    series: list[StatsDayPublic] = []
    amounts: list[CurrencyAmount] = []
    for offset in range((today - start).days + 1):
        day = start + timedelta(days=offset)
        counts: dict[str, Any] = by_day.get(day) or {}
        stats.merge_counts(processing, counts.get("processing_ms") or {})
        stats.merge_counts(queue, counts.get("queue_ms") or {})
        stats.merge_counts(uploaders, counts.get("uploaders") or {})
        for code, failure in (counts.get("failures") or {}).items():
            group = failures.setdefault(code, FailureGroup(code=code, count=0, message=""))
            group.count += failure["count"]
            group.message = failure["message"] or group.message  # later days overwrite: the latest message
        amounts.extend(
            CurrencyAmount(day=day.date(), currency=currency, total=str(Decimal(total)))
            for currency, total in sorted((counts.get("amounts") or {}).items())
        )
        series.append(StatsDayPublic(
            day=day.date(), uploads=counts.get("uploads", 0), processed=counts.get("processed", 0),
            failed=counts.get("failed", 0), processing=_percentiles(counts.get("processing_ms") or {}),
            queue_wait=_percentiles(counts.get("queue_ms") or {}),
        ))
    cards = StatsCards(
        uploads_today=series[-1].uploads, processed=sum(d.processed for d in series),
        failed=sum(d.failed for d in series), in_queue=waiting["in_queue"], needs_review=waiting["needs_review"],
        median_processing_ms=stats.percentile(processing, 0.5),
    )
    return AdminStats(
        range=range_, start=start.date(), end=today.date(), complete=progress.history_from is None,
        counted_from=progress.history_from.date() if progress.history_from else None, cards=cards, days=series,
        processing=_percentiles(processing), queue_wait=_percentiles(queue),
        failures=sorted(failures.values(), key=lambda f: (-f.count, f.code)),
        top_uploaders=await _uploaders(org_id, uploaders), amounts=amounts,
    )


async def _uploaders(org_id: PydanticObjectId, uploads: dict[str, int]) -> list[Uploader]:
    top = sorted(uploads.items(), key=lambda item: (-item[1], item[0]))[:TOP_UPLOADERS]
    users = await _users(org_id, (PydanticObjectId(user_id) for user_id, _ in top))
    return [
        Uploader(user_id=PydanticObjectId(user_id), name=getattr(users.get(user_id), "name", None),
                 email=getattr(users.get(user_id), "email", None), uploads=count)
        for user_id, count in top
    ]


async def _users(org_id: PydanticObjectId, ids: Iterable[PydanticObjectId]) -> dict[str, User]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    found = await User.find({"_id": {"$in": wanted}, "org_id": org_id}).to_list()
    return {str(user.id): user for user in found}


async def watchers() -> list[WatcherPublic]:
    """Every watcher with a heartbeat (removed when it stops, or once it expired while its group lives on)."""
    now = utcnow()
    beats = await WatcherGroup.heartbeats()
    return [
        WatcherPublic(
            id=beat.id, host=beat.host, pid=beat.pid, alive=beat.alive(now), started_at=beat.started_at,
            last_seen=beat.last_seen, jobs_running=beat.in_flight, processed=beat.processed, failed=beat.failed,
        )
        for beat in beats
    ]


async def activity(org_id: PydanticObjectId, limit: int) -> Activity:
    """The latest status changes of the organization's invoices, from their `status_history`."""
    now = utcnow()
    projection = {"filename": 1, "owner_id": 1, "status_history": {"$slice": -limit}}
    documents: list[dict[str, Any]] = []
    for window in ACTIVITY_WINDOWS:
        query: dict[str, Any] = {"org_id": org_id}
        if window is not None:
            query["updated_at"] = {"$gte": now - window}
        cursor = Invoice.get_pymongo_collection().find(query, projection, sort=[("org_id", 1), ("updated_at", -1)])
        documents = await cursor.limit(limit).to_list()
        if len(documents) >= limit:
            break
    entries = [
        (entry, document) for document in documents for entry in document.get("status_history") or []
    ]
    entries.sort(key=lambda pair: pair[0]["at"], reverse=True)
    entries = entries[:limit]
    owners = await _users(org_id, (document["owner_id"] for _, document in entries))
    return Activity(items=[
        ActivityItem(
            invoice_id=document["_id"], filename=document["filename"], owner_id=document["owner_id"],
            owner_name=getattr(owners.get(str(document["owner_id"])), "name", None), status=entry["status"],
            previous_status=entry.get("previous_status"), at=entry["at"], error=entry.get("error"),
        )
        for entry, document in entries
    ])
