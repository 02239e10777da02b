"""One change stream per process on `invoices`, feeding every connection of that process.

No document lookup (`updateLookup`): every write that makes an event carries what the event needs. An
update names whom it goes to in `last_event` (`core.transitions.last_event`) and carries its own status
history entry and, for a final write, the summary it stored; an insert is the whole document; a delete was
preceded by a `last_event` write (`transitions.deleting`). The pipeline first keeps, cheaply, only the
changes that can make an event (inserts, replaces, deletes, and updates of `last_event`, `updated_at`,
`status`, `status_history` or `review`), then projects away everything heavy (extraction text, line items,
search terms). An update written without `last_event` (a lease expiry, a bulk reprocess, a writer from
before it) is completed as `updateLookup` would, by one read of its key, with only the fields an event needs.

Resuming, backing off and dropping a token whose history is gone are `core.changestream`'s; a client that
missed something while the stream restarted recovers with `since` on its next connect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from core.changestream import ChangeFollower, ChangeHandler
from core.summary import SUMMARY_FIELDS

# Top-level fields of an update that can produce an event; everything else (lease renewals,
# extraction results, search terms) is dropped inside the database.
_WATCHED_FIELDS = ["status", "previous_status", "status_history", "updated_at", "error", "corrections", "review",
                   "last_event"]

_UPDATED = "updateDescription.updatedFields"

# Before anything else: only what can make an event goes on. Field names, not values: cheap on any server.
# Every write that makes an event sets `updated_at` or `last_event` (lease renewals and result-only writes do
# not); `status` and `status_history` catch a writer whose `updated_at` did not change.
_MAY_MAKE_AN_EVENT: dict[str, Any] = {"$match": {"$or": [
    {"operationType": {"$in": ["insert", "replace", "delete"]}},
    *({f"{_UPDATED}.{name}": {"$exists": True}} for name in
      ("last_event", "updated_at", "status", "status_history", "review")),
]}}

_PROJECTION: dict[str, Any] = {
    "_id": 1,  # the resume token: a stream without it cannot resume
    "operationType": 1,
    "documentKey": 1,
    "wallTime": 1,
    # Inserts and replaces carry their document; updates do not (no lookup).
    **{f"fullDocument.{name}": 1 for name in ("owner_id", "org_id", "status", "error", "created_at", "updated_at")},
    "fullDocument.status_history": {"$slice": ["$fullDocument.status_history", -1]},
    **{f"fullDocument.extraction.fields.{name}.value": 1 for name in SUMMARY_FIELDS},
    **{f"fullDocument.corrections.{name}.value": 1 for name in SUMMARY_FIELDS},
    # The summary a final write carried (core.transitions.finish): the event's own, whatever came after it.
    "written_summary": f"${_UPDATED}.summary",
    # Whom the event goes to, as the write named it (core.transitions.last_event).
    "last_event": f"${_UPDATED}.last_event",
    "fullDocumentBeforeChange.owner_id": 1,
    "fullDocumentBeforeChange.org_id": 1,
    # Changed fields as [{k, v}], keeping only the watched ones; keys may be dotted ("corrections.total").
    "changes": {
        "$filter": {
            "input": {"$objectToArray": f"${_UPDATED}"},
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

# What the read for an update without `last_event` fetches: whom the event goes to, and a summary's fields.
_LOOKUP_FIELDS: dict[str, Any] = {
    "_id": 0, "owner_id": 1, "org_id": 1, "updated_at": 1,
    **{f"extraction.fields.{name}.value": 1 for name in SUMMARY_FIELDS},
    **{f"corrections.{name}.value": 1 for name in SUMMARY_FIELDS},
}

PIPELINE: list[dict[str, Any]] = [
    _MAY_MAKE_AN_EVENT,
    {"$project": _PROJECTION},
    {"$match": {"$or": [{"operationType": {"$ne": "update"}}, {"changes.0": {"$exists": True}},
                        {"removed.0": {"$exists": True}}]}},
]


class ChangeTailer(ChangeFollower):
    """Tails the invoices collection until cancelled, calling `handle` for each change in order. An update
    that does not name whom its event goes to (no `last_event`) gets its `fullDocument` (`_LOOKUP_FIELDS`)
    first."""

    def __init__(
        self, collection: AsyncCollection, handle: ChangeHandler, *, resume_after: Mapping[str, Any] | None = None,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self._handle_completed, self._invoices = handle, collection
        self.lookups = 0  # updates that had to be looked up (writers that did not name their event's parties)
        super().__init__(
            "realtime", collection, PIPELINE, self._complete, resume_after=resume_after,
            max_backoff_seconds=max_backoff_seconds,
            # Used when the collection keeps pre-images (then deletes of long-unseen invoices still
            # reach their owner); null, at no cost, when it does not.
            full_document_before_change="whenAvailable",
        )

    async def _complete(self, change: Mapping[str, Any]) -> None:
        if change.get("operationType") == "update" and not change.get("last_event"):
            self.lookups += 1
            # The document key is the whole shard key on a sharded collection: routed to one shard.
            found = await self._invoices.find_one(change.get("documentKey") or {}, _LOOKUP_FIELDS)
            change = {**change, "fullDocument": found}
        await self._handle_completed(change)
