"""Every change of an invoice's status, each a named transition that builds its whole write.

    upload ──▶ pending ──claim──▶ processing ──finish──▶ processed
                 ▲  ▲                 │ │ │
                 │  └─retry / hand_back / expire_lease
                 │                    │ └──fail / expire_lease (no attempts left)──▶ failed
                 └─requeue / replace_file (processed, failed, or any status for a new file)

A transition returns a `Write`: the filter that must still match (the fence: a watcher may only end a claim
whose lease token is still its own) and the complete update, so no caller patches a write. Each update also
records the change in `previous_status` and the bounded `status_history`, from which the realtime server
emits `previous_status` and replays what a reconnecting client missed. A person's correction (`correct`)
never changes the status.

Every write that makes a live event names, when its writer knows them, whom the event goes to: `last_event`
(`{id, at, owner_id, org_id}`, new with every event, so it is always among the change's `updatedFields`). The
realtime stream then needs no lookup of the document (`realtime.stream`); a delete, which carries nothing,
is preceded by `deleting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from core.errors import WatcherErrorCode
from core.models import STATUS_HISTORY_LIMIT, InvoiceError, InvoiceStatus, StatusChange, Timings
from core.summary import event_summary
from core.review import review_document, review_of
from core.search import invoice_search_terms

# What a person may send back for a fresh extraction. A pending invoice is queued already, and one being
# processed will have its result shortly; requeueing either would only throw work away.
REPROCESSABLE = (InvoiceStatus.processed, InvoiceStatus.failed)


# The filter that names one invoice: its whole shard key (`{org_id: 1, _id: "hashed"}`), so that a sharded
# cluster routes the write to one shard instead of broadcasting it. `invoice_key` builds it.
InvoiceKey = dict[str, Any]


def invoice_key(invoice_id: ObjectId, org_id: ObjectId | None) -> InvoiceKey:
    """`{_id, org_id}`; without `org_id` (an unsharded collection's change event) the `_id` alone."""
    return {"_id": invoice_id, "org_id": org_id} if org_id is not None else {"_id": invoice_id}


@dataclass(frozen=True)
class Write:
    """One conditional update: apply `update` to the invoice(s) matching `filter`."""

    filter: dict[str, Any]
    update: dict[str, Any]


def last_event(invoice: InvoiceKey, owner_id: ObjectId | None, now: datetime) -> dict[str, Any]:
    """The `$set` naming whom this write's live event goes to; empty when the writer does not know both (the
    realtime server then looks them up). `id`, new each time, makes it differ from the previous one even
    within a millisecond: a `$set` of an unchanged value is not in a change's `updatedFields`."""
    org_id = invoice.get("org_id")
    if owner_id is None or org_id is None:
        return {}
    return {"last_event": {"id": ObjectId(), "at": now, "owner_id": owner_id, "org_id": org_id}}


def status_change(
    new: InvoiceStatus, previous: InvoiceStatus | None, now: datetime, *, error: InvoiceError | None = None
) -> dict[str, dict[str, Any]]:
    """The part every transition shares: the new status, its predecessor, and the history entry."""
    change = StatusChange(status=new, previous_status=previous, at=now, error=error)
    return {
        "$set": {
            "status": new.value,
            "previous_status": previous.value if previous else None,
            "updated_at": now,
            "error": error.model_dump() if error else None,
        },
        "$push": {
            "status_history": {"$each": [change.model_dump(mode="python")], "$slice": -STATUS_HISTORY_LIMIT}
        },
    }


def _write(
    filter: dict[str, Any], new: InvoiceStatus, previous: InvoiceStatus, now: datetime, *,
    error: InvoiceError | None = None, sets: dict[str, Any] | None = None, owner_id: ObjectId | None = None,
    **operators: dict[str, Any],
) -> Write:
    update: dict[str, Any] = status_change(new, previous, now, error=error)
    update["$set"].update(sets or {})
    update["$set"].update(last_event(filter, owner_id, now))
    update.update(operators)
    return Write(filter, update)


def ready_filter(now: datetime) -> dict[str, Any]:
    """`pending` and not waiting for a retry (no retry_at, or one that has come). Not an $or: SecantusDB
    0.7 answers a top-level $or with a collection scan even beside an _id."""
    return {"status": InvoiceStatus.pending.value, "retry_at": {"$not": {"$gt": now}}}


def _held(invoice: InvoiceKey, token: str) -> dict[str, Any]:
    """The fence of every write that ends a claim: still processing, under this claim's lease."""
    return {**invoice, "status": InvoiceStatus.processing.value, "lease.owner": token}


# --- a watcher's transitions ------------------------------------------------------------------------------

def claim(invoice: InvoiceKey, token: str, now: datetime, lease: timedelta, owner_id: ObjectId | None = None) -> Write:
    """pending → processing under a new lease, if the invoice is ready; one attempt more."""
    return _write(
        {**invoice, **ready_filter(now)}, InvoiceStatus.processing, InvoiceStatus.pending, now,
        sets={"lease": {"owner": token, "until": now + lease}}, owner_id=owner_id, **{"$inc": {"attempts": 1}},
    )


def renew_leases(tokens: list[str], until: datetime) -> Write:
    """Not a status change: the holder of these leases is alive and keeps them until `until`."""
    return Write({"status": InvoiceStatus.processing.value, "lease.owner": {"$in": tokens}},
                 {"$set": {"lease.until": until}})


def finish(
    invoice: InvoiceKey, token: str, now: datetime, *, extraction: dict[str, Any], search_terms: list[str],
    timings: Timings, duplicate_of: ObjectId | None = None, corrections: dict[str, Any] | None = None,
    owner_id: ObjectId | None = None,
) -> Write:
    """processing → processed with the extraction's result and its terms (`invoice_search_terms`, built in
    the worker process, where the text is), and its review (`core.review`; corrections kept across a
    reprocess count)."""
    review = review_of(status=InvoiceStatus.processed.value, extraction=extraction, corrections=corrections,
                       duplicate_of=duplicate_of)
    return _write(
        _held(invoice, token), InvoiceStatus.processed, InvoiceStatus.processing, now,
        sets={"lease": None, "timings": timings.model_dump(), "extraction": extraction, "retry_at": None,
              "processed_at": now, "review": review_document(review),
              "summary": event_summary(extraction, corrections)},
        owner_id=owner_id, **{"$addToSet": {"search_terms": {"$each": search_terms}}},
    )


def retry(
    invoice: InvoiceKey, token: str, now: datetime, *, error: InvoiceError, retry_at: datetime, timings: Timings,
    owner_id: ObjectId | None = None,
) -> Write:
    """processing → pending after a failure another attempt may fix, not before `retry_at`."""
    return _write(_held(invoice, token), InvoiceStatus.pending, InvoiceStatus.processing, now, error=error,
                  sets={"lease": None, "timings": timings.model_dump(), "retry_at": retry_at}, owner_id=owner_id)


def fail(
    invoice: InvoiceKey, token: str, now: datetime, *, error: InvoiceError, timings: Timings,
    duplicate_of: ObjectId | None = None, owner_id: ObjectId | None = None,
) -> Write:
    """processing → failed for good; a failed invoice needs a person's review."""
    return _write(_held(invoice, token), InvoiceStatus.failed, InvoiceStatus.processing, now, error=error,
                  sets={"lease": None, "timings": timings.model_dump(), "extraction": None, "retry_at": None,
                        "processed_at": now, "review": _failed_review(error, duplicate_of)}, owner_id=owner_id)


def _failed_review(error: InvoiceError, duplicate_of: ObjectId | None = None) -> dict[str, Any] | None:
    return review_document(review_of(status=InvoiceStatus.failed.value, extraction=None, duplicate_of=duplicate_of,
                                     error=error.model_dump()))


def hand_back(invoice: InvoiceKey, token: str, now: datetime, owner_id: ObjectId | None = None) -> Write:
    """processing → pending, unfinished (the watcher is stopping): not the invoice's fault, so the attempt
    does not count."""
    return _write(_held(invoice, token), InvoiceStatus.pending, InvoiceStatus.processing, now,
                  sets={"lease": None, "retry_at": None}, owner_id=owner_id, **{"$inc": {"attempts": -1}})


def expire_lease(now: datetime, max_lease_expiries: int, *, expiries_left: bool) -> Write:
    """processing → pending for every invoice whose watcher stopped renewing its lease. A node that died is
    not the invoice's fault, so the attempt does not count; the lost leases are counted apart
    (`lease_expiries`), and after `max_lease_expiries` of them the invoice fails for good: a file that
    kills whole watchers must not take down one after another."""
    stale = {"status": InvoiceStatus.processing.value, "lease.until": {"$lt": now}}
    refund = {"$inc": {"attempts": -1, "lease_expiries": 1}}
    if expiries_left:
        error = InvoiceError(code=WatcherErrorCode.lease_expired.value,
                             message="The watcher processing this invoice stopped before finishing; queued again.")
        return _write({**stale, "lease_expiries": {"$not": {"$gte": max_lease_expiries - 1}}}, InvoiceStatus.pending,
                      InvoiceStatus.processing, now, error=error, sets={"lease": None, "retry_at": None}, **refund)
    error = InvoiceError(
        code=WatcherErrorCode.lease_expired.value,
        message=f"The watcher processing this invoice stopped before finishing, {max_lease_expiries} times. "
                "The file may crash the extraction; check it and reprocess it.",
    )
    return _write({**stale, "lease_expiries": {"$gte": max_lease_expiries - 1}}, InvoiceStatus.failed,
                  InvoiceStatus.processing, now, error=error,
                  sets={"lease": None, "retry_at": None, "processed_at": now, "review": _failed_review(error)},
                  **refund)


# --- a person's transitions -------------------------------------------------------------------------------

def _fresh_start(now: datetime) -> dict[str, Any]:
    """What a requeue clears: the attempt count starts over and any lease is dropped, so a watcher still
    working on the invoice loses its fenced write."""
    return {"lease": None, "attempts": 0, "lease_expiries": 0, "retry_at": None, "queued_at": now, "extraction": None, "timings": None,
            "processed_at": None, "review": None}  # the next final write reviews it afresh


def requeue(scope: dict[str, Any], previous: InvoiceStatus, now: datetime, owner_id: ObjectId | None = None) -> Write:
    """processed/failed → pending for a fresh extraction (reprocess); people's corrections are kept. Matches
    the invoices of `scope` whose status is still `previous` (the transition records it). `owner_id`: when
    `scope` is one invoice (its key), its owner, whom the live event goes to."""
    if previous not in REPROCESSABLE:
        raise ValueError(f"a {previous.value} invoice cannot be reprocessed")
    return _write({**scope, "status": previous.value}, InvoiceStatus.pending, previous, now, sets=_fresh_start(now),
                  owner_id=owner_id)


def replace_file(
    invoice: InvoiceKey, previous: InvoiceStatus, now: datetime, *, file: dict[str, Any], owner_id: ObjectId | None = None,
) -> Write:
    """Any status → pending with new bytes (`file`: file_id, content_type, size, sha256, pages, filename). The
    old file's corrections and terms no longer apply."""
    sets = {**_fresh_start(now), **file, "corrections": {},
            "search_terms": invoice_search_terms(filename=file.get("filename"))}
    return _write(dict(invoice), InvoiceStatus.pending, previous, now, sets=sets, owner_id=owner_id)


def correct(
    invoice: InvoiceKey, now: datetime, *, corrections: dict[str, Any], removed: list[str],
    vendor_name: str | None = None, invoice_number: str | None = None, review: dict[str, Any] | None = None,
    owner_id: ObjectId | None = None,
) -> Write:
    """A person's values (`corrections`: name → stored correction) and withdrawn ones (`removed`), kept beside
    the machine's, with the review they lead to (`core.review`; None: unchanged); never a status change. The
    corrected vendor and number become searchable."""
    update: dict[str, Any] = {"$set": {"updated_at": now, **{f"corrections.{n}": c for n, c in corrections.items()},
                                       **last_event(invoice, owner_id, now)}}
    if review is not None:
        update["$set"]["review"] = review
    if removed:
        update["$unset"] = {f"corrections.{name}": "" for name in removed}
    if terms := invoice_search_terms(vendor_name=vendor_name, invoice_number=invoice_number):
        update["$addToSet"] = {"search_terms": {"$each": terms}}
    return Write(dict(invoice), update)


def deleting(invoice: InvoiceKey, owner_id: ObjectId, now: datetime) -> Write:
    """Written just before a delete: a delete event carries only the document's key, so this tells the
    realtime servers whom the `invoice.deleted` that follows goes to. Left behind by a crash before the
    delete, it changes nothing else."""
    return Write(dict(invoice), {"$set": last_event(invoice, owner_id, now)})
