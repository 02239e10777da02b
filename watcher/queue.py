"""The invoices collection as a work queue: atomic claims under a lease, renewals, fenced final writes.

Exactly one final write per claim: a claim sets `lease.owner` to a token unique to that claim, and every
write that moves an invoice out of `processing` matches on `{status: "processing", lease.owner: token}`.
Whoever requeues an expired or handed-back invoice clears the lease in the same atomic update, so a late
writer holding the old token matches nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure

from core import transitions
from core.errors import WatcherErrorCode
from core.models import InvoiceError, InvoiceStatus, Timings
from extraction.models import ErrorCode
from watcher import metrics
from watcher.partitions import ALL_BUCKETS, bucket_filter
from watcher.worker import JobResult

# Failures that another attempt cannot fix: fail at once.
PERMANENT_CODES = frozenset(
    code.value for code in (
        ErrorCode.unreadable_file, ErrorCode.unsupported_type, ErrorCode.encrypted_pdf, ErrorCode.too_many_pages,
        ErrorCode.too_many_pixels, ErrorCode.empty_document, WatcherErrorCode.too_large_to_process,
        WatcherErrorCode.file_missing,
    )
)
CLAIM_FIELDS = {"org_id": 1, "owner_id": 1, "file_id": 1, "content_type": 1, "attempts": 1, "queued_at": 1, "duplicate_of": 1, "corrections": 1}
RETRY_JITTER = 0.1  # ±10 %, so invoices that failed together do not all come back in the same instant


def now_ms() -> datetime:
    """Now, at the millisecond precision BSON keeps, so a value written can be matched exactly later."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Offer(NamedTuple):
    """An invoice to try to claim, with what its offerer knew: `org_id` completes the shard key, `owner_id`
    names whom the claim's live event goes to."""

    id: ObjectId
    org_id: ObjectId | None = None
    owner_id: ObjectId | None = None


@dataclass(frozen=True)
class Claim:
    id: ObjectId
    org_id: ObjectId  # with `id`, the invoice's shard key: every write of the claim names both
    token: str  # lease.owner: unique to this claim, the fence of every write that ends it
    file_id: ObjectId
    content_type: str
    attempts: int  # including this one
    queued_at: datetime
    claimed_at: datetime
    # What the review of the final write needs besides the result (core.review)
    duplicate_of: ObjectId | None = None
    corrections: dict[str, Any] = field(default_factory=dict)
    owner_id: ObjectId | None = None  # whom its live events go to (`transitions.last_event`)

    @property
    def key(self) -> transitions.InvoiceKey:
        return transitions.invoice_key(self.id, self.org_id)


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    transient: bool

    @classmethod
    def of(cls, result: JobResult) -> Failure:
        code = result.error_code or ErrorCode.internal_error.value
        return cls(code, result.error_message or "The extraction failed.", transient=code not in PERMANENT_CODES)


class InvoiceQueue:
    def __init__(
        self, collection: AsyncCollection, owner: str, *, lease_seconds: float, max_attempts: int,
        retry_base_seconds: float, max_lease_expiries: int = 5,
    ) -> None:
        self.collection = collection
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.max_lease_expiries = max_lease_expiries
        self.buckets = ALL_BUCKETS  # this watcher's partition (`watcher.partitions`): its backlog reads keep to it

    async def claim(
        self, invoice_id: ObjectId, org_id: ObjectId | None = None, owner_id: ObjectId | None = None
    ) -> Claim | None:
        """Atomically take `invoice_id` from ready `pending` to `processing` under a new lease. `org_id`, when
        the offer carried it, completes the shard key (a change event on an unsharded collection lacks it);
        `owner_id`, when known, goes into the write for its live event.

        A conditional update_one, not find_one_and_update: equally atomic (matched_count says who won), and
        on SecantusDB 0.7 find_one_and_update scans the collection (30 ms at 2,000 invoices, 73 ms at 6,000)
        where update_one by _id stays at ~4 ms. The fields the job needs are then read under the new token.
        """
        token = f"{self.owner}#{uuid.uuid4().hex[:12]}"
        now = now_ms()
        key = transitions.invoice_key(invoice_id, org_id)
        write = transitions.claim(key, token, now, self.lease, owner_id)
        try:
            result = await self.collection.update_one(write.filter, write.update)
            won: int | None = result.matched_count
        except ConnectionFailure:
            won = None  # it may have been applied without the reply reaching us: the read below tells
        if won == 0:
            metrics.CLAIMS.labels("lost").inc()
            return None  # another watcher was first, or it is not ready
        document = await self.collection.find_one({**key, "lease.owner": token}, CLAIM_FIELDS)
        if document is None:
            metrics.CLAIMS.labels("lost").inc()
            return None  # requeued or deleted in between (or the unconfirmed claim was not applied)
        metrics.CLAIMS.labels("won").inc()
        return Claim(
            id=document["_id"], org_id=document["org_id"], token=token, file_id=document["file_id"], content_type=document["content_type"],
            attempts=document["attempts"], queued_at=document.get("queued_at") or now, claimed_at=now,
            duplicate_of=document.get("duplicate_of"), corrections=document.get("corrections") or {},
            owner_id=document.get("owner_id"),
        )

    async def ready_ids(self, limit: int) -> list[Offer]:
        """Candidates to claim from the backlog, oldest first in the (status, retry_at) index's order."""
        cursor = self.collection.find(
            {**transitions.ready_filter(now_ms()), **bucket_filter("$_id", self.buckets)},
            {"_id": 1, "org_id": 1, "owner_id": 1}, sort=[("status", 1), ("retry_at", 1)],
        )
        return [Offer(doc["_id"], doc.get("org_id"), doc.get("owner_id")) async for doc in cursor.limit(limit)]

    async def renew(self, tokens: list[str]) -> set[str]:
        """Extend the leases of `tokens`; returns the tokens whose lease is no longer ours."""
        if not tokens:
            return set()
        write = transitions.renew_leases(tokens, now_ms() + self.lease)
        result = await self.collection.update_many(write.filter, write.update)
        if result.matched_count == len(tokens):
            return set()
        still = {doc["lease"]["owner"] async for doc in self.collection.find(write.filter, {"lease.owner": 1})}
        return set(tokens) - still

    async def finish(
        self, claim: Claim, outcome: JobResult | Failure, now: datetime, *, retried: bool = False
    ) -> InvoiceStatus | None:
        """The fenced write that ends a claim: `processed`, `failed`, or back to `pending` for a retry.

        Returns the status written, or None when the lease was no longer ours (nothing written). `retried`
        says an earlier call with the same `now` may have been applied without its reply arriving.
        """
        status, write = self._outcome_write(claim, outcome, now)
        result = await self.collection.update_one(write.filter, write.update)
        if result.matched_count:
            return status
        if retried and await self.collection.find_one({**claim.key, "status": status.value, "updated_at": now}):
            return status
        return None

    async def hand_back(self, claim: Claim) -> bool:
        """Give an unfinished claim back to `pending` (shutdown): not the invoice's fault, so no attempt counts."""
        write = transitions.hand_back(claim.key, claim.token, now_ms(), claim.owner_id)
        return (await self.collection.update_one(write.filter, write.update)).modified_count == 1

    async def expire_leases(self) -> tuple[int, int]:
        """Requeue `processing` invoices whose watcher stopped renewing, without counting the attempt; fail
        those whose lease was lost `max_lease_expiries` times (a file that kills whole watchers must not take
        down one after another). Returns (requeued, failed)."""
        now = now_ms()
        give_up = transitions.expire_lease(now, self.max_lease_expiries, expiries_left=False)
        failed = await self.collection.update_many(give_up.filter, give_up.update)
        requeue = transitions.expire_lease(now, self.max_lease_expiries, expiries_left=True)
        requeued = await self.collection.update_many(requeue.filter, requeue.update)
        return requeued.modified_count, failed.modified_count

    async def next_retry_at(self) -> datetime | None:
        """When the earliest invoice waiting for a retry becomes ready."""
        document = await self.collection.find_one(
            {"status": InvoiceStatus.pending.value, "retry_at": {"$gt": now_ms()}, **bucket_filter("$_id", self.buckets)},
            {"retry_at": 1}, sort=[("status", 1), ("retry_at", 1)],
        )
        return document["retry_at"] if document else None

    async def depth(self) -> tuple[dict[str, int], datetime | None]:
        """Invoices waiting (`pending`, of which `retry_wait` are not due yet) and being processed, and when the
        oldest waiting one was queued. Only the unfinished states: the finished ones are the dashboard's."""
        now = now_ms()
        pipeline = [
            {"$match": {"status": {"$in": [InvoiceStatus.pending.value, InvoiceStatus.processing.value]}}},
            {"$group": {"_id": "$status", "count": {"$sum": 1},
                        "waiting": {"$sum": {"$cond": [{"$gt": ["$retry_at", now]}, 1, 0]}},
                        "oldest": {"$min": "$queued_at"}}},
        ]
        depth = dict.fromkeys((InvoiceStatus.pending.value, "retry_wait", InvoiceStatus.processing.value), 0)
        oldest = None
        async for group in await self.collection.aggregate(pipeline):
            depth[group["_id"]] = group["count"]
            if group["_id"] == InvoiceStatus.pending.value:
                depth["retry_wait"], oldest = group["waiting"], group["oldest"]
        return depth, oldest

    async def ready_since(self, since: datetime, until: datetime, limit: int) -> list[ObjectId]:
        """Ready invoices that became pending between `since` and `until` (for the sweep's count of misses)."""
        query = {**transitions.ready_filter(now_ms()), "updated_at": {"$gte": since, "$lte": until},
                 **bucket_filter("$_id", self.buckets)}
        return [doc["_id"] async for doc in self.collection.find(query, {"_id": 1}).limit(limit)]

    def _outcome_write(
        self, claim: Claim, outcome: JobResult | Failure, now: datetime
    ) -> tuple[InvoiceStatus, transitions.Write]:
        extract_ms = outcome.extract_ms if isinstance(outcome, JobResult) else None
        timings = Timings(
            queued_ms=_ms(claim.claimed_at - claim.queued_at), extract_ms=extract_ms,
            total_ms=_ms(now - claim.queued_at),
        )
        if isinstance(outcome, JobResult) and outcome.ok:
            return InvoiceStatus.processed, transitions.finish(
                claim.key, claim.token, now, extraction=outcome.extraction or {}, search_terms=outcome.search_terms,
                timings=timings, duplicate_of=claim.duplicate_of, corrections=claim.corrections,
                owner_id=claim.owner_id,
            )
        failure = outcome if isinstance(outcome, Failure) else Failure.of(outcome)
        if failure.transient and claim.attempts < self.max_attempts:
            jitter = random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
            delay = self.retry_base_seconds * 2 ** (claim.attempts - 1) * jitter
            error = InvoiceError(code=str(failure.code), message=failure.message)
            return InvoiceStatus.pending, transitions.retry(
                claim.key, claim.token, now, error=error, retry_at=now + timedelta(seconds=delay), timings=timings,
                owner_id=claim.owner_id,
            )
        message = failure.message
        if failure.transient:
            message = f"{message.rstrip('.')}. Gave up after {claim.attempts} attempts."
        error = InvoiceError(code=str(failure.code), message=message)
        return InvoiceStatus.failed, transitions.fail(claim.key, claim.token, now, error=error, timings=timings,
                                                      duplicate_of=claim.duplicate_of, owner_id=claim.owner_id)


def _ms(delta: timedelta) -> float:
    return round(delta.total_seconds() * 1000, 3)
