"""Finding work through the change stream: inserts and updates to `pending` are offered to the claims, this
watcher's resume token is saved now and then, and the sweep learns which invoices the stream missed.

Resuming, backing off and unusable tokens are `core.changestream`'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import PyMongoError

from core.changestream import ChangeFollower
from core.models import InvoiceStatus, WatcherState
from watcher import metrics
from watcher.partitions import ALL_BUCKETS, bucket_filter, max_empty_wake_pause
from watcher.queue import InvoiceQueue, now_ms

log = logging.getLogger("watcher")

def stream_pipeline(buckets: frozenset[int] = ALL_BUCKETS) -> list[dict[str, Any]]:
    """Only what can make an invoice of `buckets` claimable travels; `_id` is the resume token and must stay."""
    mine = bucket_filter("$documentKey._id", buckets)
    return [
        {"$match": {"$or": [
            {"operationType": {"$in": ["insert", "replace"]}, "fullDocument.status": InvoiceStatus.pending.value,
             **mine},
            {"operationType": "update", "updateDescription.updatedFields.status": InvoiceStatus.pending.value, **mine},
            {"operationType": {"$in": ["invalidate", "drop", "rename", "dropDatabase"]}},
        ]}},
        # `fullDocument.org_id` (inserts) completes the shard key; a sharded collection's documentKey has it too.
        # The owner (of an insert, or from an update's `last_event`) goes into the claim for its live event.
        {"$project": {"operationType": 1, "documentKey": 1, "wallTime": 1, "fullDocument.org_id": 1,
                      "fullDocument.owner_id": 1, "last_event": "$updateDescription.updatedFields.last_event"}},
    ]


# How long one getMore waits for events. On MongoDB the number of idle getMores of the fleet is
# watchers / this; a partition change abandons the one in flight (`ChangeFollower.reopen`).
STREAM_AWAIT_MS = 5000
# Token saves, per owner. An older token only re-offers, after a restart, the events handled since it was
# saved, each then a claim that fails (they are fenced): bounded by a number of events and a time, not paid
# every few seconds by every watcher. Saved at most every TOKEN_SAVE_SECONDS: once TOKEN_SAVE_EVENTS were
# handled, or when none is stored (a restart would start from now), else after BUSY_TOKEN_SAVE_SECONDS ...
TOKEN_SAVE_SECONDS = 5.0
TOKEN_SAVE_EVENTS = 100
BUSY_TOKEN_SAVE_SECONDS = 60.0
# ... and without any event handled, this often: a token that only skipped others' events costs nothing to
# replay, but one kept for hours could fall off the oplog.
IDLE_TOKEN_SAVE_SECONDS = 300.0
SEEN_LIMIT = 20_000  # ids the stream delivered recently, to tell a missed event from an ordinary backlog
SWEEP_MIN_AGE = timedelta(seconds=5)  # younger pending invoices may still be on their way through the stream
SWEEP_LIMIT = 1_000


class StreamAudit:
    """Tells the pending invoices the change stream should have delivered but did not (SecantusDB's stream
    can skip events silently when it falls behind oplog pruning) from an ordinary backlog."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.opened_at: datetime | None = None  # invoices pending since before the stream are not misses
        self._delivered: OrderedDict[ObjectId, None] = OrderedDict()  # bounded: oldest forgotten first
        self._limit = limit

    def opened(self) -> None:
        self.opened_at = self.opened_at or now_ms()

    def delivered(self, invoice_id: ObjectId) -> None:
        self._delivered[invoice_id] = None
        self._delivered.move_to_end(invoice_id)
        if len(self._delivered) > self._limit:
            self._delivered.popitem(last=False)

    async def missed(self, queue: InvoiceQueue) -> list[ObjectId]:
        """Ready invoices that became pending after the stream opened, a while ago, and were never
        delivered. Each is reported once."""
        if self.opened_at is None:
            return []
        recent = await queue.ready_since(self.opened_at, now_ms() - SWEEP_MIN_AGE, SWEEP_LIMIT)
        missed = [invoice_id for invoice_id in recent if invoice_id not in self._delivered]
        for invoice_id in missed:
            self.delivered(invoice_id)
        return missed


class InvoiceStream:
    """This watcher's view of the `invoices` change stream: the invoices of its buckets (`queue.buckets`),
    resumed from its own token (saved under `token_key`)."""

    def __init__(
        self, queue: InvoiceQueue, token_key: str, resume_token: Mapping[str, Any] | None, stopping: asyncio.Event, *,
        offer: Callable[[ObjectId, ObjectId | None, ObjectId | None], None], request_backlog: Callable[[], None],
    ) -> None:
        self.token_key = token_key
        self.audit = StreamAudit()
        self._offer, self._request_backlog = offer, request_backlog
        self._saved_token = resume_token
        self._saved_at = time.monotonic()
        self._handled_since_save = 0
        self._restarts_counted = 0
        self.follower = ChangeFollower(
            f"watcher {token_key!r}", queue.collection, lambda: stream_pipeline(queue.buckets), self._handle,
            resume_after=resume_token, stopping=stopping, on_open=self._opened, on_progress=self._progress,
            on_reset=self._forget_token, max_await_time_ms=STREAM_AWAIT_MS,
        )
        self.follower.max_empty_wake_pause = max_empty_wake_pause(1)  # alone, until its heartbeat tells

    def follow_partition(self, live: int) -> None:
        """The bucket range changed (`live` watchers now): reopen the stream at once from its token, filtered
        to the new range, paced for `live` watchers (`partitions.max_empty_wake_pause`)."""
        self.follower.max_empty_wake_pause = max_empty_wake_pause(live)
        self.follower.reopen()

    async def run(self) -> None:
        await self.follower.run()

    def _opened(self) -> None:
        self.audit.opened()
        self._request_backlog()  # whatever became pending while nobody listened

    async def _handle(self, change: Mapping[str, Any]) -> None:
        if wall_time := change.get("wallTime"):  # MongoDB 6+; the lag the operator watches
            metrics.STREAM_LAG.set(max(0.0, (now_ms() - wall_time).total_seconds()))
        if change["operationType"] in ("insert", "update", "replace"):
            key = change["documentKey"]
            invoice_id = key["_id"]
            self.audit.delivered(invoice_id)
            self._handled_since_save += 1
            parties = change.get("fullDocument") or change.get("last_event") or {}
            self._offer(invoice_id, key.get("org_id") or parties.get("org_id"), parties.get("owner_id"))
        else:
            log.warning("change stream event %r on the invoices collection", change["operationType"])

    async def _progress(self) -> None:
        if (restarts := self.follower.restarts) != self._restarts_counted:
            metrics.STREAM_RESTARTS.labels("interrupted").inc(restarts - self._restarts_counted)
            self._restarts_counted = restarts
        if self.follower.resume_token == self._saved_token:
            return
        handled = self._handled_since_save
        if not handled:
            due = IDLE_TOKEN_SAVE_SECONDS
        elif handled >= TOKEN_SAVE_EVENTS or self._saved_token is None:
            due = TOKEN_SAVE_SECONDS
        else:
            due = BUSY_TOKEN_SAVE_SECONDS
        if time.monotonic() - self._saved_at >= due:
            await self.save_token()

    async def save_token(self) -> None:
        token = self.follower.resume_token
        await WatcherState.get_pymongo_collection().update_one(
            {"_id": self.token_key}, {"$set": {"resume_token": token, "updated_at": now_ms()}}, upsert=True
        )
        self._saved_token = token
        self._saved_at = time.monotonic()
        self._handled_since_save = 0

    async def _forget_token(self) -> None:
        """The stored token is of no use any more: delete it, and let the backlog read catch what fell between."""
        metrics.STREAM_RESTARTS.labels("history_lost").inc()
        self._request_backlog()
        try:
            await self.save_token()
        except PyMongoError as exc:  # it is also never reused from memory; the next save overwrites it
            log.warning("could not delete the stored resume token yet (%s)", exc)
