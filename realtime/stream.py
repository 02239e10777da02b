"""One change stream per process on `invoices`, feeding every connection of that process.

The pipeline keeps only what the events need (never the extraction text or line items), so a
busy watcher does not push megabytes through every API process. The stream resumes from its
last token after a database hiccup; when that history is gone (code 286) it starts afresh and
clients that missed something recover with `since` on their next connect.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

from realtime.events import SUMMARY_FIELDS

log = logging.getLogger(__name__)

# Top-level fields of an update that can produce an event; everything else (lease renewals,
# extraction results, search terms) is dropped inside the database.
_WATCHED_FIELDS = ["status", "previous_status", "status_history", "updated_at", "error", "corrections"]

_PROJECTION: dict[str, Any] = {
    "_id": 1,  # the resume token: a stream without it cannot resume
    "operationType": 1,
    "documentKey": 1,
    "wallTime": 1,
    **{f"fullDocument.{name}": 1 for name in ("owner_id", "org_id", "status", "error", "created_at", "updated_at")},
    "fullDocument.status_history": {"$slice": ["$fullDocument.status_history", -1]},
    **{f"fullDocument.extraction.fields.{name}.value": 1 for name in SUMMARY_FIELDS},
    **{f"fullDocument.corrections.{name}.value": 1 for name in SUMMARY_FIELDS},
    "fullDocumentBeforeChange.owner_id": 1,
    "fullDocumentBeforeChange.org_id": 1,
    # Changed fields as [{k, v}], keeping only the watched ones; keys may be dotted ("corrections.total").
    "changes": {
        "$filter": {
            "input": {"$objectToArray": "$updateDescription.updatedFields"},
            "cond": {"$in": [{"$arrayElemAt": [{"$split": ["$$this.k", "."]}, 0]}, _WATCHED_FIELDS]},
        }
    },
    "removed": {
        "$filter": {
            "input": "$updateDescription.removedFields",
            "cond": {"$eq": [{"$arrayElemAt": [{"$split": ["$$this", "."]}, 0]}, "corrections"]},
        }
    },
}

PIPELINE: list[dict[str, Any]] = [
    {"$match": {"operationType": {"$in": ["insert", "update", "replace", "delete"]}}},
    {"$project": _PROJECTION},
    {"$match": {"$or": [{"operationType": {"$ne": "update"}}, {"changes.0": {"$exists": True}},
                        {"removed.0": {"$exists": True}}]}},
]

HISTORY_LOST = 286
INVALID_RESUME_TOKEN = 260

ChangeHandler = Callable[[Mapping[str, Any]], Awaitable[None]]


class ChangeTailer:
    """Tails `collection` until cancelled, calling `handle` for each change in order."""

    def __init__(
        self,
        collection: AsyncCollection,
        handle: ChangeHandler,
        *,
        resume_after: Mapping[str, Any] | None = None,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self._collection = collection
        self._handle = handle
        self.resume_token: Mapping[str, Any] | None = resume_after
        self._max_backoff = max_backoff_seconds
        self.open = asyncio.Event()  # set while a stream is open; tests and start-up wait on it
        self.restarts = 0

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._tail()
                log.warning("the invoices change stream was invalidated; opening a new one")
                self.resume_token = None
            except OperationFailure as exc:
                if exc.code in (HISTORY_LOST, INVALID_RESUME_TOKEN):
                    # Events between the token and now are gone from the oplog. Start from now;
                    # clients recover what they missed with `since` (status_history) on reconnect.
                    log.warning("change stream history lost (%s); starting from now", exc.code)
                    self.resume_token = None
                    continue
                backoff = await self._pause(exc, backoff)
            except PyMongoError as exc:
                backoff = await self._pause(exc, backoff)
            else:
                backoff = 0.1

    async def _tail(self) -> None:
        async with await self._collection.watch(
            PIPELINE,
            full_document="updateLookup",
            # Used when the collection keeps pre-images (then deletes of long-unseen invoices still
            # reach their owner); null, at no cost, when it does not.
            full_document_before_change="whenAvailable",
            resume_after=self.resume_token,
        ) as stream:
            self.open.set()
            try:
                while stream.alive:
                    change = await stream.try_next()
                    if change is not None:
                        await self._deliver(change)
                    # Also after an empty wait: the token keeps up with the oplog while nothing matches,
                    # so a resume after a quiet hour does not find its history pruned.
                    self.resume_token = stream.resume_token
            finally:
                self.open.clear()

    async def _deliver(self, change: Mapping[str, Any]) -> None:
        try:
            await self._handle(change)
        except Exception:  # one bad event must not stop the notifications of everyone else
            log.exception("could not deliver change %s", change.get("documentKey"))

    async def _pause(self, exc: Exception, backoff: float) -> float:
        self.restarts += 1
        log.warning("change stream interrupted (%s); reconnecting in %.1f s", exc, backoff)
        await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
        return min(backoff * 2, self._max_backoff)
