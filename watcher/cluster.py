"""Work done once per cluster, not once per watcher: turns (one caller per interval, for periodic chores)
and leases (one holder at a time, renewed while it lives, taken over when it expires). Both live in one
small collection, one document per name."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from core.models import utcnow

COLLECTION = "cluster_duties"


async def claim_turn(database: AsyncDatabase, name: str, owner: str, interval: timedelta,
                     now: datetime | None = None) -> bool:
    """True for exactly one caller per `interval` across the cluster: it moved the duty's due time on.
    A caller that dies midway only delays the work to the next interval (the chores are idempotent)."""
    now = now or utcnow()
    duties = database[COLLECTION]
    turn = {"due_at": now + interval, "last_owner": owner, "last_started_at": now}
    if (await duties.update_one({"_id": name, "due_at": {"$lte": now}}, {"$set": turn})).matched_count:
        return True
    try:
        await duties.insert_one({"_id": name, **turn})
    except DuplicateKeyError:
        return False  # someone else has the turn, or it is not due yet
    return True


async def hold_lease(database: AsyncDatabase, name: str, owner: str, ttl: timedelta,
                     now: datetime | None = None) -> bool:
    """Keep (or take, once it has expired) the lease `name` for `ttl`; True while `owner` holds it."""
    now = now or utcnow()
    duties = database[COLLECTION]
    until = {"lease_owner": owner, "lease_until": now + ttl}
    if (await duties.update_one({"_id": name, "lease_owner": owner}, {"$set": until})).matched_count:
        return True
    if (await duties.update_one({"_id": name, "lease_until": {"$lt": now}}, {"$set": until})).matched_count:
        return True
    try:
        await duties.insert_one({"_id": name, **until})
    except DuplicateKeyError:
        return False
    return True


async def release_lease(database: AsyncDatabase, name: str, owner: str) -> None:
    """Give the lease up at once (a clean stop), so another holder need not wait for it to expire."""
    await database[COLLECTION].update_one({"_id": name, "lease_owner": owner}, {"$set": {"lease_until": utcnow()}})
