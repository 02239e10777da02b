"""Beanie documents: the shape of everything Invoicer keeps in MongoDB, with the indexes the flow needs.

References between documents are plain ObjectIds (SecantusDB has no DBRef/`Link` support).
Money inside `Invoice.extraction` is stored as Decimal128 (see `core.bson`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from core.review import Review


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(StrEnum):
    admin = "admin"
    employee = "employee"


class InvoiceStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    processed = "processed"
    failed = "failed"


FINAL_STATUSES = (InvoiceStatus.processed, InvoiceStatus.failed)


class Organization(Document):
    name: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "organizations"


class User(Document):
    email: str  # normalised to lower case
    name: str
    password_hash: str
    role: Role = Role.employee
    org_id: PydanticObjectId
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", pymongo.ASCENDING)], unique=True),
            IndexModel([("org_id", pymongo.ASCENDING), ("created_at", pymongo.ASCENDING)]),
        ]


class RefreshToken(Document):
    """One row per issued refresh token; rotation marks it used, logout revokes it."""

    jti: str
    user_id: PydanticObjectId
    family: str  # all tokens rotated from one login; reuse of a used token revokes the family
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "refresh_tokens"
        indexes = [
            IndexModel([("jti", pymongo.ASCENDING)], unique=True),
            IndexModel([("family", pymongo.ASCENDING)]),
            IndexModel([("user_id", pymongo.ASCENDING)]),  # revoking a user's other sessions
            IndexModel([("expires_at", pymongo.ASCENDING)], expireAfterSeconds=0),
        ]


class IdempotencyRecord(Document):
    """An upload's `Idempotency-Key`: the invoice id is chosen before the invoice is written, so a retry after a
    crash writes (or finds) that same invoice, never a second one. Kept 24 h by a TTL index."""

    user_id: PydanticObjectId
    key: str
    sha256: str  # the same key with other bytes is a client bug, answered 409
    invoice_id: PydanticObjectId
    completed: bool = False  # the invoice was written; if it is gone now, it was deleted on purpose
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "idempotency_keys"
        indexes = [
            IndexModel([("user_id", pymongo.ASCENDING), ("key", pymongo.ASCENDING)], unique=True),
            IndexModel([("expires_at", pymongo.ASCENDING)], expireAfterSeconds=0),
        ]


class Device(Document):
    """A phone that asked for push notifications: its Expo push token, owned by one user."""

    token: str
    user_id: PydanticObjectId
    org_id: PydanticObjectId
    platform: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "devices"
        indexes = [
            IndexModel([("token", pymongo.ASCENDING)], unique=True),
            IndexModel([("user_id", pymongo.ASCENDING)]),
        ]


class InvoiceError(BaseModel):
    code: str
    message: str


class Lease(BaseModel):
    owner: str
    until: datetime


class Correction(BaseModel):
    """A person's value for one field, kept beside the machine's value in `extraction`."""

    value: Any
    by: PydanticObjectId
    at: datetime


class StatusChange(BaseModel):
    status: InvoiceStatus
    previous_status: InvoiceStatus | None = None
    at: datetime
    error: InvoiceError | None = None


class Timings(BaseModel):
    queued_ms: float | None = None
    extract_ms: float | None = None
    total_ms: float | None = None


STATUS_HISTORY_LIMIT = 50


class InvoiceBase(BaseModel):
    """What the stored invoice and its public view share."""

    owner_id: PydanticObjectId
    org_id: PydanticObjectId
    filename: str
    original_filename: str | None = None  # as sent, control characters escaped, when `filename` had to be cleaned
    content_type: str
    size: int
    sha256: str
    pages: int | None = None
    duplicate_of: PydanticObjectId | None = None
    status: InvoiceStatus = InvoiceStatus.pending
    previous_status: InvoiceStatus | None = None
    error: InvoiceError | None = None
    attempts: int = 0
    timings: Timings | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None
    review: Review | None = Field(default=None, description="Set when the invoice is processed or failed")


class Invoice(InvoiceBase, Document):
    file_id: PydanticObjectId  # GridFS id of the original bytes
    status_history: list[StatusChange] = Field(default_factory=list)
    extraction: dict[str, Any] | None = None
    corrections: dict[str, Correction] = Field(default_factory=dict)
    search_terms: list[str] = Field(default_factory=list)

    # Watcher bookkeeping
    lease: Lease | None = None
    lease_expiries: int = 0  # leases lost because a watcher died: not the invoice's fault, counted apart
    retry_at: datetime | None = None
    queued_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "invoices"
        indexes = [
            IndexModel([("org_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
            IndexModel([("status", pymongo.ASCENDING), ("retry_at", pymongo.ASCENDING)]),
            IndexModel([("org_id", pymongo.ASCENDING), ("sha256", pymongo.ASCENDING)]),
            IndexModel([("org_id", pymongo.ASCENDING), ("search_terms", pymongo.ASCENDING)]),
            IndexModel([("org_id", pymongo.ASCENDING), ("updated_at", pymongo.ASCENDING)]),
            # The review queue, for admins and for employees; the dashboard's per-day recount.
            IndexModel([("org_id", pymongo.ASCENDING), ("review.state", pymongo.ASCENDING),
                        ("created_at", pymongo.DESCENDING)]),
            IndexModel([("owner_id", pymongo.ASCENDING), ("review.state", pymongo.ASCENDING),
                        ("created_at", pymongo.DESCENDING)]),
            IndexModel([("org_id", pymongo.ASCENDING), ("processed_at", pymongo.ASCENDING)]),
            IndexModel([("file_id", pymongo.ASCENDING)]),  # the orphan-file sweep asks which files are named
        ]


class WatcherState(Document):
    """The change-stream resume token of a watcher group (`_id` = group name)."""

    id: str  # type: ignore[assignment]
    resume_token: dict[str, Any] | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "watcher_state"


class WatcherHeartbeat(BaseModel):
    """One running watcher process, as its last heartbeat described it."""

    id: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    in_flight: int = 0
    processed: int = 0
    failed: int = 0
    retried: int = 0
    swept: int = 0
    expires_at: datetime

    def alive(self, now: datetime | None = None) -> bool:
        """Whether the watcher still beats: the one rule for it, the same its group applies
        (`watcher.partitions.Membership`)."""
        return self.expires_at > (now or utcnow())


def watcher_member_key(watcher_id: str) -> str:
    """The key of a watcher in `WatcherGroup.members`: its id with the characters a field name cannot hold
    (`.`, a leading `$`) escaped."""
    return watcher_id.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


class WatcherGroup(Document):
    """The watchers of one group (`_id` = the group name) and their last heartbeats, in one document: one
    command both beats and reads who else is alive (`watcher.partitions.Membership`). A watcher's entry is
    removed when it stops cleanly, or by a live member once it has expired; the entries of a group whose
    watchers all died stay, not alive, until one starts again."""

    id: str  # type: ignore[assignment]
    members: dict[str, WatcherHeartbeat] = Field(default_factory=dict)

    class Settings:
        name = "watchers"

    @classmethod
    async def heartbeats(cls) -> list[WatcherHeartbeat]:
        """Every watcher of every group, newest heartbeat first: the one source of "who is alive" (a
        heartbeat whose `expires_at` has passed is a watcher that stopped beating)."""
        groups = await cls.find({"members": {"$exists": True}}).to_list()
        beats = [beat for group in groups for beat in group.members.values()]
        return sorted(beats, key=lambda beat: beat.last_seen, reverse=True)


class FailureCount(BaseModel):
    count: int = 0
    message: str = ""  # the latest one seen for this code


class StatsCounts(BaseModel):
    """What one hour counts, or one day (the sum of its hours)."""

    uploads: int = 0  # invoices created then (that still exist)
    processed: int = 0  # invoices that reached `processed` then
    failed: int = 0  # … and `failed`
    needs_review: int = 0  # of the uploads, those waiting for a person now
    in_queue: int = 0  # of the uploads, those pending or processing now
    processing_ms: dict[str, int] = Field(default_factory=dict)  # histogram: bucket (core.stats) -> count
    queue_ms: dict[str, int] = Field(default_factory=dict)
    failures: dict[str, FailureCount] = Field(default_factory=dict)  # error code ->
    uploaders: dict[str, int] = Field(default_factory=dict)  # owner id -> uploads
    amounts: dict[str, str] = Field(default_factory=dict)  # currency -> decimal string, totals of processed


class StatsDay(StatsCounts, Document):
    """The admin dashboard's numbers for one organization and one UTC day: the sum of its `StatsHour`s. Small on
    purpose (the dashboard reads 90 of them per request; the hours live apart)."""

    org_id: PydanticObjectId
    day: datetime  # 00:00 UTC
    computed_at: datetime = Field(default_factory=utcnow)
    version: int = 0  # bumped after every write of the day's hours; the totals are merged under it

    class Settings:
        name = "stats_days"
        indexes = [IndexModel([("org_id", pymongo.ASCENDING), ("day", pymongo.ASCENDING)], unique=True)]


class StatsHour(StatsCounts, Document):
    """One hour of `StatsDay`, the unit `core.stats` recounts from the invoices whenever one of them changed
    (never incremented in place, so it cannot drift from them)."""

    org_id: PydanticObjectId
    hour: datetime
    computed_at: datetime = Field(default_factory=utcnow)  # the recount saw every write committed before it

    class Settings:
        name = "stats_hours"
        indexes = [IndexModel([("org_id", pymongo.ASCENDING), ("hour", pymongo.ASCENDING)], unique=True)]


class DirtyHour(BaseModel):
    hour: datetime
    at: datetime  # when it was marked: marks are consumed only once they are older than the roll-up's margin


class StatsRollup(Document):
    """Where `core.stats` stopped for one organization (`_id` = org id), and hours a delete or requeue touched
    (a vanished invoice or a cleared `processed_at` leaves no newer `updated_at` to find)."""

    id: PydanticObjectId  # type: ignore[assignment]
    checked_until: datetime | None = None
    dirty: list[DirtyHour] = Field(default_factory=list)
    # The history before the first refresh, counted newest day first (core.stats.count_history)
    history_next: datetime | None = None  # the next day to count; None when all are counted
    history_first: datetime | None = None  # the day of the first upload
    history_lease: Lease | None = None

    class Settings:
        name = "stats_rollups"


DOCUMENT_MODELS: list[type[Document]] = [
    Organization,
    User,
    RefreshToken,
    Invoice,
    WatcherState,
    WatcherGroup,
    StatsDay,
    StatsHour,
    StatsRollup,
    IdempotencyRecord,
    Device,
]

