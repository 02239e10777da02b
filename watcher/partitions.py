"""Partitioned work: each invoice is offered to about one watcher, so the claims per invoice do not grow
with the fleet.

An invoice's bucket is the last byte of its `_id`, fixed at insert. The id's counter walks through the
buckets in turn, so over time each gets its share; a short burst of uploads through one API process takes
consecutive buckets, and may fall to few watchers. The live watchers of a
group are the unexpired heartbeats in the group's document; sorted by id, watcher i of n owns the bucket
range [i·256/n, (i+1)·256/n). Each watcher recomputes its range at every heartbeat, filters its change
stream and its backlog reads to it, and reopens the stream (from its resume token) when the range changes.
A watcher that dies drops out when its heartbeat expires (3 heartbeats), and the others' ranges cover its
buckets from their next heartbeat; its claims come back through the lease expiry. While views of the
membership differ for a moment, a bucket may be offered to two watchers (the fenced claim keeps it to one)
or to none (the backlog read after every change catches up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.models import WatcherGroup, utcnow, watcher_member_key

BUCKETS = 256
ALL_BUCKETS = frozenset(range(BUCKETS))
# How long a watcher's change stream may wait between two getMores once the server has answered one early and
# empty (`ChangeFollower.max_empty_wake_pause`): an event arriving meanwhile waits at most this long.
# SecantusDB answers every waiting getMore at each write anywhere; unpaced, each of N watchers would ask again
# after every write (a lone one after each of its own claim and final writes), N times the commands for the
# same work. At least MIN (a watcher of a few invoices a second then asks about once per invoice), PER_WATCHER
# for each live watcher of its group (the group's getMores while its watchers wait stay about as many whatever
# their number), at most MAX (an event never waits long). Never reached on MongoDB, whose empty answers come
# only at maxAwaitTimeMS.
MIN_EMPTY_WAKE_PAUSE = 0.5
EMPTY_WAKE_PAUSE_PER_WATCHER = 0.05
MAX_EMPTY_WAKE_PAUSE = 2.0


def bucket_of(invoice_id: ObjectId) -> int:
    return invoice_id.binary[-1]


def buckets_for(watcher_id: str, live: Iterable[str]) -> frozenset[int]:
    """The bucket range of `watcher_id` among the `live` watchers (itself included)."""
    members = sorted(set(live) | {watcher_id})
    index, count = members.index(watcher_id), len(members)
    return frozenset(range(index * BUCKETS // count, (index + 1) * BUCKETS // count))


def max_empty_wake_pause(live: int) -> float:
    """The longest pause between two getMores of one of `live` watchers. It asks about once per mean time
    between its own events (`core.changestream`), so its getMores stay about as many as its invoices."""
    return min(MAX_EMPTY_WAKE_PAUSE, max(MIN_EMPTY_WAKE_PAUSE, EMPTY_WAKE_PAUSE_PER_WATCHER * live))


def bucket_filter(id_path: str, buckets: frozenset[int]) -> dict[str, Any]:
    """A query (or change-stream `$match`) clause keeping the documents whose id at `id_path` (`$_id`,
    `$documentKey._id`) falls in `buckets`; empty when they are all of them. Evaluated by the server, on the
    documents the rest of the filter selected through its index."""
    if buckets == ALL_BUCKETS:
        return {}
    last_byte = {"$substrCP": [{"$toString": id_path}, 22, 2]}
    return {"$expr": {"$in": [last_byte, [f"{bucket:02x}" for bucket in sorted(buckets)]]}}


class Membership:
    """This watcher's heartbeat and, from the group's, its bucket range. One command per beat: the heartbeat
    is written into the group's document (`core.models.WatcherGroup`) and the document comes back with
    everyone else's."""

    def __init__(self, watcher_id: str, group: str, on_change: Callable[[frozenset[int]], None]) -> None:
        self.watcher_id, self.group = watcher_id, group
        self.buckets = ALL_BUCKETS  # until the first heartbeat tells who else is alive
        self.live = 1
        self._key = watcher_member_key(watcher_id)
        self._on_change = on_change

    async def beat(self, fields: dict[str, Any], ttl: timedelta) -> None:
        now = utcnow()
        groups = WatcherGroup.get_pymongo_collection()
        beat = {f"members.{self._key}": {**fields, "id": self.watcher_id, "expires_at": now + ttl}}
        try:
            group = await groups.find_one_and_update(
                {"_id": self.group}, {"$set": beat}, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # the group's first two watchers created it at once: it exists now
            group = await groups.find_one_and_update(
                {"_id": self.group}, {"$set": beat}, return_document=ReturnDocument.AFTER)
        members = (group or {}).get("members", {})
        live = [member["id"] for member in members.values() if member["expires_at"] > now]
        await self.prune(members, now)
        self.live = len(set(live) | {self.watcher_id})
        buckets = buckets_for(self.watcher_id, live)
        if buckets != self.buckets:
            self.buckets = buckets
            self._on_change(buckets)

    async def prune(self, members: dict[str, Any], now: datetime) -> None:
        """Remove the entries of `members` (as read at `now`) that had expired, each only if it still has:
        a watcher that beat again meanwhile keeps its entry."""
        groups = WatcherGroup.get_pymongo_collection()
        for key, member in members.items():
            if member["expires_at"] <= now:
                await groups.update_one({"_id": self.group, f"members.{key}.expires_at": {"$lte": now}},
                                        {"$unset": {f"members.{key}": ""}})

    async def leave(self) -> None:
        await WatcherGroup.get_pymongo_collection().update_one(
            {"_id": self.group}, {"$unset": {f"members.{self._key}": ""}})
