"""The invoice list answers light rows (`InvoiceSummary`); the whole invoice stays on GET /invoices/{id}."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from bson import ObjectId
from pymongo import MongoClient

from core.bson_codec import to_bson
from extraction.models import ExtractionResult, FieldValue, InvoiceFields, LineItem, PageSize
from tests.factories import invoice_jpeg, upload_json

HEAVY = {"extraction", "corrections", "status_history", "search_terms", "lease", "file_id", "summary"}


def _read_result() -> dict:
    """An extraction as the watcher stores it: boxes, page sizes and line items beside the scalar fields."""
    fields = InvoiceFields(
        vendor_name=FieldValue[str](value="Müller Bürobedarf", confidence=0.95, source="ocr", page=1,
                                    bbox=(10, 20, 300, 40)),
        invoice_date=FieldValue[date](value=date(2024, 3, 1), confidence=0.9, source="ocr", page=1,
                                      bbox=(400, 20, 500, 40)),
        total=FieldValue[Decimal](value=Decimal("118.00"), confidence=0.5, source="ocr", page=1,
                                  bbox=(400, 700, 500, 720)),
        currency=None,
        line_items=[LineItem(description=f"Line {n}", amount=Decimal("1.50"), bbox=(1, n, 2, n + 1))
                    for n in range(40)],
    )
    result = ExtractionResult(ok=True, fields=fields, pages=1, method="ocr", page_sizes=[PageSize(width=800, height=600)])
    return to_bson(result.model_dump(mode="python", exclude={"text"}))


def _store_as_processed(mongo_uri: str, invoice_id: str) -> None:
    with MongoClient(mongo_uri) as client:
        for name in client.list_database_names():
            updated = client[name].invoices.update_one({"_id": ObjectId(invoice_id)}, {"$set": {
                "status": "processed", "previous_status": "processing", "extraction": _read_result()}})
            if updated.matched_count:
                return
    raise AssertionError("the uploaded invoice is in no database")


def test_a_list_row_has_the_current_values_and_none_of_the_extraction(api_url, new_org, mongo_uri):
    admin = new_org()
    read = upload_json(admin, invoice_jpeg("read"), filename="read.jpg").json()
    waiting = upload_json(admin, invoice_jpeg("waiting"), filename="waiting.jpg").json()
    _store_as_processed(mongo_uri, read["id"])
    corrected = admin.client.patch(f"/invoices/{read['id']}", json={"fields": {"total": "119.00", "currency": "eur"}})
    assert corrected.status_code == 200, corrected.text

    rows = {row["id"]: row for row in admin.client.get("/invoices").json()["items"]}
    whole = admin.client.get(f"/invoices/{read['id']}").json()

    row = rows[read["id"]]
    assert not HEAVY & row.keys(), "a list row carries none of the extraction, corrections or bookkeeping"
    assert row["values"] == {
        name: value for name, value in whole["values"].items() if name != "line_items"
    }, "a row's values are the whole invoice's, but the line items"
    assert row["values"]["total"] == "119.00" and row["values"]["currency"] == "EUR"  # a person's value wins
    assert row["values"]["vendor_name"] == "Müller Bürobedarf" and row["values"]["invoice_date"] == "2024-03-01"
    assert row["values"]["subtotal"] is None
    assert {key: row[key] for key in ("status", "filename", "owner_id", "created_at", "updated_at", "review")} == {
        key: whole[key] for key in ("status", "filename", "owner_id", "created_at", "updated_at", "review")}
    assert len(whole["values"]["line_items"]) == 40 and whole["extraction"]["fields"]["total"]["bbox"]

    # Not read yet: no values, as on the whole invoice.
    assert rows[waiting["id"]]["values"] == {} and rows[waiting["id"]]["status"] == "pending"


def test_pages_of_rows_follow_the_cursor_without_gaps(api_url, new_org):
    admin = new_org()
    uploaded = [upload_json(admin, invoice_jpeg(f"n{n}"), filename=f"n{n}.jpg").json()["id"] for n in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        body = admin.client.get("/invoices", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(uploaded))


def _insert_invoices(mongo_uri: str, org_id: str, owner_id: str, moments: list[datetime]) -> list[dict]:
    """Invoices created at the given moments, written straight into the organization's database."""
    documents = [{
        "_id": ObjectId(), "org_id": ObjectId(org_id), "owner_id": ObjectId(owner_id), "filename": f"old-{n}.pdf",
        "content_type": "application/pdf", "size": 1, "sha256": f"{n:064x}", "status": "pending", "file_id": ObjectId(),
        "created_at": moment, "updated_at": moment + timedelta(seconds=n % 7), "corrections": {}, "search_terms": ["acme", f"old-{n}"],
    } for n, moment in enumerate(moments)]
    with MongoClient(mongo_uri) as client:
        [database] = [name for name in client.list_database_names()
                      if client[name].organizations.find_one({"_id": ObjectId(org_id)})]
        client[database].invoices.insert_many(documents)
    return documents


def _walk(admin, limit: int, **params: object) -> list[str]:  # noqa: ANN001
    seen, cursor = [], None
    for _ in range(200):
        response = admin.client.get("/invoices", params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        seen += [row["id"] for row in response.json()["items"]]
        if (cursor := response.json()["next_cursor"]) is None:
            return seen
    raise AssertionError("the pages never ended")


def test_every_sort_pages_through_dense_sparse_and_tied_moments_without_gaps(api_url, new_org, mongo_uri):
    admin = new_org()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    same_instant = now - timedelta(days=2)
    moments = ([now - timedelta(minutes=n) for n in range(7)] + [same_instant] * 6
               + [now - timedelta(days=days) for days in (3, 40, 100, 700, 3000, 9000, 20000)]
               + [now + timedelta(minutes=5)])  # a clock a little ahead
    documents = _insert_invoices(mongo_uri, admin.user["org_id"], admin.user["id"], moments)

    for sort in ("-created_at", "created_at", "-updated_at", "updated_at"):
        key = sort.lstrip("-")
        expected = [str(d["_id"]) for d in sorted(documents, key=lambda d: (d[key], d["_id"]),
                                                  reverse=sort.startswith("-"))]
        for limit in (1, 4, 50):
            assert _walk(admin, limit, sort=sort) == expected, (sort, limit)
        assert _walk(admin, 4, sort=sort, q="acm") == expected, sort  # a search reads its own way

    date_from, date_to = now - timedelta(days=800), now - timedelta(days=1)
    expected = [str(d["_id"]) for d in sorted(documents, key=lambda d: (d["created_at"], d["_id"]), reverse=True)
                if date_from <= d["created_at"] < date_to]
    assert expected and _walk(admin, 3, date_from=date_from.isoformat(), date_to=date_to.isoformat()) == expected
    # A moment written without a zone is UTC.
    naive_from = date_from.replace(tzinfo=None).isoformat()
    assert _walk(admin, 3, date_from=naive_from, date_to=date_to.isoformat()) == expected
    oldest_first = list(reversed(expected))
    assert _walk(admin, 2, sort="created_at", date_from=date_from.isoformat(), date_to=date_to.isoformat()) == oldest_first
