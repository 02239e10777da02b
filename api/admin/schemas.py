"""The admin dashboard's response bodies. Days are UTC; durations are milliseconds; money is a decimal string."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from beanie import PydanticObjectId
from pydantic import BaseModel, Field

from core.models import InvoiceError, InvoiceStatus

StatsRange = Literal["7d", "30d", "90d"]


class StatsCards(BaseModel):
    uploads_today: int = Field(description="Invoices uploaded since 00:00 UTC")
    processed: int = Field(description="Invoices processed within the range")
    failed: int = Field(description="Invoices failed within the range")
    in_queue: int = Field(description="Invoices pending or processing now")
    needs_review: int = Field(description="Invoices waiting for a person now (any upload day)")
    median_processing_ms: float | None = Field(description="Claim to result, over the range; null without data")


class Percentiles(BaseModel):
    p50_ms: float | None
    p95_ms: float | None


class StatsDayPublic(BaseModel):
    day: date
    uploads: int
    processed: int
    failed: int
    processing: Percentiles
    queue_wait: Percentiles


class FailureGroup(BaseModel):
    code: str
    count: int
    message: str = Field(description="The latest message written for this code")


class Uploader(BaseModel):
    user_id: PydanticObjectId
    name: str | None = Field(description="Null when the user was removed")
    email: str | None
    uploads: int


class CurrencyAmount(BaseModel):
    day: date
    currency: str
    total: str = Field(description="Sum of the processed invoices' totals (a person's correction wins)",
                       examples=["1234.50"])


class AdminStats(BaseModel):
    range: StatsRange
    start: date = Field(description="First day of the range (UTC)")
    end: date = Field(description="Last day of the range: today (UTC)")
    complete: bool = Field(description="False while the history from before the first look is still being "
                                       "counted (in the background, newest day first)")
    counted_from: date | None = Field(description="While not complete: the oldest day counted so far")
    cards: StatsCards
    days: list[StatsDayPublic] = Field(description="One entry per day of the range, oldest first, zero-filled")
    processing: Percentiles = Field(description="Claim to result over the range (±5 %)")
    queue_wait: Percentiles = Field(description="Upload (or requeue) to claim over the range (±5 %)")
    failures: list[FailureGroup] = Field(description="By error code, most frequent first")
    top_uploaders: list[Uploader] = Field(description="Most uploads within the range first, at most 10")
    amounts: list[CurrencyAmount] = Field(description="Per day and currency; invoices without a currency are left out")


class WatcherPublic(BaseModel):
    id: str
    host: str
    pid: int
    alive: bool = Field(description="A heartbeat arrived within three heartbeat intervals")
    started_at: datetime
    last_seen: datetime
    jobs_running: int
    processed: int
    failed: int


class ActivityItem(BaseModel):
    invoice_id: PydanticObjectId
    filename: str
    owner_id: PydanticObjectId
    owner_name: str | None
    status: InvoiceStatus
    previous_status: InvoiceStatus | None
    at: datetime
    error: InvoiceError | None = None


class Activity(BaseModel):
    items: list[ActivityItem] = Field(description="Status changes, newest first")
