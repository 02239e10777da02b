"""Catch-up after a reconnect: the status changes a client missed, read from `status_history`.

Bounded to the last 15 minutes and 1,000 events; beyond that the client is told to refetch
its list (`truncated`), which is cheaper and more correct than replaying a long history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from core.models import Invoice, Role
from core.summary import SUMMARY_FIELDS
from realtime.auth import Principal
from realtime.events import Event, Since, iso, replay

WINDOW = timedelta(minutes=15)
MAX_EVENTS = 1000

_PROJECTION: dict[str, Any] = {
    "owner_id": 1, "org_id": 1, "status": 1, "created_at": 1, "status_history": 1,
    **{f"extraction.fields.{name}.value": 1 for name in SUMMARY_FIELDS},
    **{f"corrections.{name}.value": 1 for name in SUMMARY_FIELDS},
}


@dataclass(frozen=True)
class CatchUp:
    events: list[Event]
    since: datetime  # where the replay actually started
    truncated: bool  # older or more changes exist than were replayed: refetch the list

    def summary(self) -> dict[str, Any]:
        """The payload of `catchup.complete`."""
        return {"since": iso(self.since), "count": len(self.events), "truncated": self.truncated}


async def missed_events(database: AsyncDatabase, principal: Principal, since: Since, now: datetime) -> CatchUp:
    window_start = now - WINDOW
    start = max(since.moment, window_start)
    scope = (
        {"org_id": ObjectId(principal.org_id)}
        if principal.role == Role.admin
        else {"owner_id": ObjectId(principal.user_id)}
    )
    # Every status change also sets updated_at, so this finds every invoice with a change since `start`.
    cursor = (
        database[Invoice.Settings.name]
        .find({**scope, "updated_at": {"$gte": start}}, _PROJECTION)
        .sort("updated_at", -1)
        .limit(MAX_EVENTS)
    )
    documents = await cursor.to_list()
    events = replay(documents, Since(start, since.seen_event_id))
    truncated = since.moment < window_start or len(documents) == MAX_EVENTS or len(events) > MAX_EVENTS
    return CatchUp(events=events[-MAX_EVENTS:], since=start, truncated=truncated)
