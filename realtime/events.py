"""What the realtime server tells clients, and how a change-stream event becomes that.

Pure code: no database, no sockets. `ChangeTranslator` turns one projected change event
(see `stream.PIPELINE`) into zero or more `Event`s; `replay` turns the stored
`status_history` of invoices into the status events a reconnecting client missed.

An `event_id` is `<epoch milliseconds, 13 digits>-<invoice id>-<kind>` where kind is the new
status, `updated` or `deleted`, e.g. `1718000000123-665f1c2e9b1d4c3a2f0e1d2c-processed`.
It is unique per change, sorts by time, and tells the server where a reconnecting client
stopped (`since`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from core.models import STATUS_HISTORY_LIMIT, InvoiceStatus
from core.summary import SUMMARY_FIELDS, event_summary

STATUS = "invoice.status"
UPDATED = "invoice.updated"
DELETED = "invoice.deleted"


_EVENT_ID = re.compile(r"^(?P<ms>\d{13})-(?P<id>[0-9a-f]{24})-(?P<kind>[a-z]+)$")


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any]
    owner_id: str
    org_id: str

    @property
    def event_id(self) -> str:
        return self.payload["event_id"]

    @property
    def rooms(self) -> list[str]:
        return [user_room(self.owner_id), admin_room(self.org_id)]


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def admin_room(org_id: str) -> str:
    return f"org:{org_id}:admins"


def iso(moment: datetime) -> str:
    """Milliseconds, UTC, `Z`: what MongoDB stores, in the form JavaScript's Date parses."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def event_id(moment: datetime, invoice_id: str, kind: str) -> str:
    return f"{epoch_ms(moment):013d}-{invoice_id}-{kind}"


@dataclass(frozen=True)
class Since:
    """Where a reconnecting client stopped: a moment, and the event it already has (if it sent an event_id)."""

    moment: datetime
    seen_event_id: str | None = None


def parse_since(raw: object) -> Since:
    """An ISO 8601 timestamp (naive means UTC) or an `event_id`; ValueError with a message otherwise."""
    if isinstance(raw, str):
        text = raw.strip()
        match = _EVENT_ID.match(text)
        if match:
            moment = datetime.fromtimestamp(int(match["ms"]) / 1000, timezone.utc)
            return Since(moment, seen_event_id=text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return Since(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    raise ValueError("`since` must be an ISO 8601 timestamp or the event_id of the last event received")


def status_event(
    invoice_id: str,
    owner_id: str,
    org_id: str,
    change: Mapping[str, Any],
    document: Mapping[str, Any] | None,
    written_summary: Mapping[str, Any] | None = None,
) -> Event:
    """`invoice.status` from one `status_history` entry. The summary is the one the final write carried
    (`written_summary`), else one made from `document` (if known): a looked-up document may already hold a
    correction made after this change."""
    status = str(change["status"])
    payload: dict[str, Any] = {
        "event_id": event_id(change["at"], invoice_id, status),
        "id": invoice_id,
        "status": status,
        "previous_status": change.get("previous_status"),
        "updated_at": iso(change["at"]),
    }
    if change.get("error"):
        payload["error"] = dict(change["error"])
    if status == InvoiceStatus.processed and written_summary is not None:
        payload["summary"] = {name: written_summary.get(name) for name in SUMMARY_FIELDS}
    elif status == InvoiceStatus.processed and document is not None:
        payload["summary"] = event_summary(document.get("extraction"), document.get("corrections"))
    return Event(STATUS, payload, owner_id, org_id)


def _history_entry(changes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The entry a `$push` added to `status_history`, from an update's changed fields.

    MongoDB reports a push as `status_history.<n>`; a push whose `$slice` dropped old entries
    (and SecantusDB, always) as the whole `status_history` array.
    """
    newest: tuple[int, Mapping[str, Any]] | None = None
    for key, value in changes.items():
        if key == "status_history" and isinstance(value, list) and value:
            candidate = (len(value) - 1, value[-1])
        elif key.startswith("status_history.") and key.split(".", 2)[1].isdigit() and isinstance(value, Mapping):
            candidate = (int(key.split(".", 2)[1]), value)
        else:
            continue
        if newest is None or candidate[0] > newest[0]:
            newest = candidate
    return newest[1] if newest else None


def _corrected_fields(changes: Mapping[str, Any], removed: Iterable[str]) -> list[str]:
    names: set[str] = set()
    for key, value in changes.items():
        if key.startswith("corrections."):
            names.add(key.split(".", 2)[1])
        elif key == "corrections" and isinstance(value, Mapping):
            names.update(value)
    names.update(key.split(".", 2)[1] for key in removed if key.startswith("corrections."))
    return sorted(names)


class ChangeTranslator:
    """Turns projected change events into client events.

    Whom an event goes to comes from the change itself: an insert's document, an update's `last_event`
    (`core.transitions.last_event`), or the document the tailer read for a writer that did not name them.
    The owner and org of recently seen invoices are remembered (bounded LRU), because a delete event
    carries only the `_id` unless the collection keeps pre-images (the delete's `last_event` write, just
    before it, is what teaches them).
    """

    def __init__(self, remember: int = 100_000) -> None:
        self._owners: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._remember = remember

    def _learn(self, invoice_id: str, document: Mapping[str, Any] | None) -> tuple[str, str] | None:
        if document and document.get("owner_id") is not None and document.get("org_id") is not None:
            self._owners[invoice_id] = (str(document["owner_id"]), str(document["org_id"]))
            if len(self._owners) > self._remember:
                self._owners.popitem(last=False)
        parties = self._owners.get(invoice_id)
        if parties is not None:
            self._owners.move_to_end(invoice_id)
        return parties

    def translate(self, change: Mapping[str, Any]) -> list[Event]:
        operation = change.get("operationType")
        invoice_id = str((change.get("documentKey") or {}).get("_id"))
        document = change.get("fullDocument")
        if document is not None and document.get("owner_id") is None:
            document = None  # the lookup found nothing: the invoice was deleted since
        written_at = change.get("wallTime") or datetime.now(timezone.utc)
        if operation == "delete":
            return self._deleted(invoice_id, change.get("fullDocumentBeforeChange"), written_at)
        parties = self._learn(invoice_id, document or change.get("last_event"))
        if parties is None:
            return []  # deleted before we could look it up, and never seen: nobody to tell
        owner_id, org_id = parties
        if operation == "insert":
            history = document.get("status_history") or []
            change_entry = history[-1] if history else {
                "status": document.get("status", InvoiceStatus.pending.value),
                "previous_status": None,
                "at": document.get("created_at") or written_at,
                "error": document.get("error"),
            }
            return [status_event(invoice_id, owner_id, org_id, change_entry, document)]
        if operation == "replace":
            # A whole-document write carries no diff: report its latest status change. If that is not new,
            # the event repeats one already sent, with the same event_id, which clients drop.
            history = (document or {}).get("status_history") or []
            return [status_event(invoice_id, owner_id, org_id, history[-1], document)] if history else []
        if operation != "update":
            return []
        changes = {item["k"]: item["v"] for item in change.get("changes") or []}
        events: list[Event] = []
        entry = _history_entry(changes)
        if entry is None and "status" in changes:  # a writer that bypassed core.transitions
            entry = {"status": changes["status"], "previous_status": changes.get("previous_status"),
                     "at": changes.get("updated_at") or written_at, "error": changes.get("error")}
        if entry is not None:
            events.append(
                status_event(invoice_id, owner_id, org_id, entry, document, change.get("written_summary")))
        corrected = _corrected_fields(changes, change.get("removed") or [])
        if entry is None and not corrected and any(key.split(".", 1)[0] == "review" for key in changes):
            # A confirmation. A status event covers a final write's review, and a correction's event its fields
            # (the review that follows them is part of it).
            corrected = ["review"]
        if corrected:
            moment = changes.get("updated_at") or (document or {}).get("updated_at") or written_at
            payload = {"event_id": event_id(moment, invoice_id, "updated"), "id": invoice_id,
                       "updated_at": iso(moment), "fields_changed": corrected}
            events.append(Event(UPDATED, payload, owner_id, org_id))
        return events

    def _deleted(self, invoice_id: str, before: Mapping[str, Any] | None, written_at: datetime) -> list[Event]:
        parties = self._owners.pop(invoice_id, None)
        if before and before.get("owner_id") is not None:
            parties = (str(before["owner_id"]), str(before["org_id"]))
        if parties is None:
            return []
        payload = {"event_id": event_id(written_at, invoice_id, "deleted"), "id": invoice_id}
        return [Event(DELETED, payload, *parties)]


def replay(documents: Iterable[Mapping[str, Any]], since: Since) -> list[Event]:
    """Status events recorded in `status_history` at or after `since`, oldest first.

    Events in the same millisecond as `since` are included (their ids are unique, so a client
    drops any it has), except the very event the client named.
    """
    since_ms = epoch_ms(since.moment)
    found: list[tuple[int, str, int, Event]] = []
    for document in documents:
        invoice_id, owner_id, org_id = str(document["_id"]), str(document["owner_id"]), str(document["org_id"])
        for position, entry in enumerate(_history_with_creation(document)):
            moment_ms = epoch_ms(entry["at"])
            if moment_ms < since_ms:
                continue
            event = status_event(invoice_id, owner_id, org_id, entry, document)
            if event.event_id != since.seen_event_id:
                found.append((moment_ms, invoice_id, position, event))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


def _history_with_creation(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The document's status changes, with its creation as the first one when the writer did not record it."""
    history = list(document.get("status_history") or [])
    created = document.get("created_at")
    if created is None:
        return history
    if not history:
        return [{"status": document.get("status"), "previous_status": None, "at": created}]
    if history[0].get("previous_status") is not None and len(history) < STATUS_HISTORY_LIMIT:
        return [{"status": history[0]["previous_status"], "previous_status": None, "at": created}, *history]
    return history
