"""The pure half of the realtime server: change events and stored history to client events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from bson import ObjectId
from bson.decimal128 import Decimal128

from realtime.events import ChangeTranslator, Since, event_id, parse_since, replay

T0 = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
INVOICE, OWNER, ORG = ObjectId(), ObjectId(), ObjectId()


def entry(status: str, previous: str | None, at: datetime, error: dict | None = None) -> dict:
    return {"status": status, "previous_status": previous, "at": at, "error": error}


def update(changes: dict, document: dict | None = None, removed: list[str] | None = None) -> dict:
    return {
        "operationType": "update", "documentKey": {"_id": INVOICE}, "wallTime": T0,
        "fullDocument": document if document is not None else {"owner_id": OWNER, "org_id": ORG},
        "changes": [{"k": k, "v": v} for k, v in changes.items()], "removed": removed or [],
    }


def test_event_id_carries_time_invoice_and_kind_and_parses_back_as_since():
    eid = event_id(T0, str(INVOICE), "processed")
    assert eid == f"1740830400123-{INVOICE}-processed"
    since = parse_since(eid)
    assert since.moment == T0 and since.seen_event_id == eid


@pytest.mark.parametrize("raw, expected", [
    ("2025-03-01T12:00:00.123Z", T0),
    ("2025-03-01T12:00:00.123+00:00", T0),
    ("2025-03-01T13:00:00.123+01:00", T0),
    ("2025-03-01T12:00:00.123", T0),  # naive means UTC
])
def test_since_accepts_iso_timestamps(raw, expected):
    assert parse_since(raw) == Since(expected)


@pytest.mark.parametrize("raw", ["", "yesterday", "123-abc-processed", 42, None, ["2025-03-01"]])
def test_since_rejects_anything_else_with_a_message(raw):
    with pytest.raises(ValueError, match="ISO 8601 timestamp or the event_id"):
        parse_since(raw)


def test_insert_without_history_is_the_pending_event_of_its_owner_and_org():
    [event] = ChangeTranslator().translate({
        "operationType": "insert", "documentKey": {"_id": INVOICE}, "wallTime": T0,
        "fullDocument": {"owner_id": OWNER, "org_id": ORG, "status": "pending", "created_at": T0, "status_history": []},
    })
    assert event.name == "invoice.status"
    assert event.payload == {"event_id": event_id(T0, str(INVOICE), "pending"), "id": str(INVOICE),
                             "status": "pending", "previous_status": None, "updated_at": "2025-03-01T12:00:00.123Z"}
    assert event.rooms == [f"user:{OWNER}", f"org:{ORG}:admins"]


def test_status_comes_from_the_pushed_history_entry_in_either_server_shape():
    translator = ChangeTranslator()
    failed = entry("failed", "processing", T0, {"code": "ocr_failed", "message": "no text"})
    # SecantusDB (and MongoDB after a $slice) report the whole array; MongoDB reports `status_history.<n>`.
    whole = update({"status_history": [entry("processing", "pending", T0), failed]})
    dotted = update({"status_history.3": entry("processing", "pending", T0), "status_history.4": failed})
    for change in (whole, dotted):
        [event] = translator.translate(change)
        assert (event.payload["status"], event.payload["previous_status"]) == ("failed", "processing")
        assert event.payload["error"] == {"code": "ocr_failed", "message": "no text"}


def test_processed_carries_a_summary_with_exact_money_and_corrections_winning():
    document = {
        "owner_id": OWNER, "org_id": ORG,
        "extraction": {"fields": {"total": {"value": Decimal128("118.00")}, "vendor_name": {"value": "ACME"},
                                  "currency": {"value": "EUR"}}},
        "corrections": {"vendor_name": {"value": "ACME GmbH"}},
    }
    [event] = ChangeTranslator().translate(update({"status_history": [entry("processed", "processing", T0)]}, document))
    assert event.payload["summary"] == {"vendor_name": "ACME GmbH", "invoice_number": None, "total": "118.00",
                                        "currency": "EUR"}


def test_corrections_become_updated_with_the_fields_changed_and_lease_noise_nothing():
    translator = ChangeTranslator()
    later = T0 + timedelta(seconds=5)
    [event] = translator.translate(update(
        {"corrections.total": {"value": Decimal128("1")}, "updated_at": later}, removed=["corrections.currency"]))
    assert event.name == "invoice.updated"
    assert event.payload == {"event_id": event_id(later, str(INVOICE), "updated"), "id": str(INVOICE),
                             "updated_at": "2025-03-01T12:00:05.123Z", "fields_changed": ["currency", "total"]}
    # A first correction can arrive as the whole `corrections` object.
    [event] = translator.translate(update({"corrections": {"invoice_number": {"value": "A-1"}}}))
    assert event.payload["fields_changed"] == ["invoice_number"]
    assert translator.translate(update({"updated_at": later})) == []


def test_delete_reaches_the_parties_remembered_from_earlier_events_or_the_pre_image():
    translator = ChangeTranslator()
    translator.translate(update({"status_history": [entry("processing", "pending", T0)]}))
    delete = {"operationType": "delete", "documentKey": {"_id": INVOICE}, "wallTime": T0}
    [event] = translator.translate(delete)
    assert event.name == "invoice.deleted" and event.payload == {
        "event_id": event_id(T0, str(INVOICE), "deleted"), "id": str(INVOICE)}
    assert event.rooms == [f"user:{OWNER}", f"org:{ORG}:admins"]
    assert translator.translate(delete) == []  # forgotten once deleted, and never seen: nobody to tell
    [event] = translator.translate({**delete, "fullDocumentBeforeChange": {"owner_id": OWNER, "org_id": ORG}})
    assert event.owner_id == str(OWNER)


def test_an_update_whose_document_is_gone_and_unknown_is_dropped():
    change = update({"status_history": [entry("processing", "pending", T0)]}, document={"status_history": None})
    assert ChangeTranslator().translate(change) == []


def test_the_remembered_owners_are_bounded():
    translator = ChangeTranslator(remember=2)
    ids = [ObjectId() for _ in range(3)]
    for oid in ids:
        translator.translate({**update({"status_history": [entry("processing", "pending", T0)]}),
                              "documentKey": {"_id": oid}})
    deletes = [translator.translate({"operationType": "delete", "documentKey": {"_id": oid}, "wallTime": T0})
               for oid in ids]
    assert [len(d) for d in deletes] == [0, 1, 1]


def stored(history: list[dict], created: datetime = T0, **extra) -> dict:
    return {"_id": INVOICE, "owner_id": OWNER, "org_id": ORG, "status": history[-1]["status"] if history else "pending",
            "created_at": created, "status_history": history, **extra}


def test_replay_adds_the_unrecorded_creation_and_orders_by_time():
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
    other = ObjectId()
    documents = [
        stored([entry("processing", "pending", t1), entry("processed", "processing", t2)],
               extraction={"fields": {"total": {"value": Decimal128("5.00")}}}),
        {**stored([]), "_id": other, "created_at": t1},
    ]
    events = replay(documents, Since(T0 - timedelta(minutes=1)))
    assert [(e.payload["id"], e.payload["status"]) for e in events] == [
        (str(INVOICE), "pending"), (str(INVOICE), "processing"), (str(other), "pending"), (str(INVOICE), "processed")]
    assert events[-1].payload["summary"]["total"] == "5.00"
    assert Decimal(events[-1].payload["summary"]["total"]) == Decimal("5.00")


def test_replay_since_an_event_id_skips_that_event_but_keeps_its_millisecond_neighbours():
    history = [entry("processing", "pending", T0), entry("processed", "processing", T0)]
    seen = event_id(T0, str(INVOICE), "processing")
    events = replay([stored(history, created=T0 - timedelta(seconds=1))], parse_since(seen))
    assert [e.payload["status"] for e in events] == ["processed"]
