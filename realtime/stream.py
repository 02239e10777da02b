"""One change stream per process on `invoices`, feeding every connection of that process.

The pipeline keeps only what the events need (never the extraction text or line items), so a
busy watcher does not push megabytes through every API process. Resuming, backing off and dropping
a token whose history is gone are `core.changestream`'s; a client that missed something while the
stream restarted recovers with `since` on its next connect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from core.changestream import ChangeFollower, ChangeHandler
from core.summary import SUMMARY_FIELDS

# Top-level fields of an update that can produce an event; everything else (lease renewals,
# extraction results, search terms) is dropped inside the database.
_WATCHED_FIELDS = ["status", "previous_status", "status_history", "updated_at", "error", "corrections", "review"]

_PROJECTION: dict[str, Any] = {
    "_id": 1,  # the resume token: a stream without it cannot resume
    "operationType": 1,
    "documentKey": 1,
    "wallTime": 1,
    **{f"fullDocument.{name}": 1 for name in ("owner_id", "org_id", "status", "error", "created_at", "updated_at")},
    "fullDocument.status_history": {"$slice": ["$fullDocument.status_history", -1]},
    **{f"fullDocument.extraction.fields.{name}.value": 1 for name in SUMMARY_FIELDS},
    **{f"fullDocument.corrections.{name}.value": 1 for name in SUMMARY_FIELDS},
    # The summary a final write carried (core.transitions.finish): the event's own, whatever came after it.
    "written_summary": "$updateDescription.updatedFields.summary",
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


class ChangeTailer(ChangeFollower):
    """Tails the invoices collection until cancelled, calling `handle` for each change in order."""

    def __init__(
        self, collection: AsyncCollection, handle: ChangeHandler, *, resume_after: Mapping[str, Any] | None = None,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        super().__init__(
            "realtime", collection, PIPELINE, handle, resume_after=resume_after,
            max_backoff_seconds=max_backoff_seconds,
            full_document="updateLookup",
            # Used when the collection keeps pre-images (then deletes of long-unseen invoices still
            # reach their owner); null, at no cost, when it does not.
            full_document_before_change="whenAvailable",
        )
