"""The admin dashboard against a real API and watcher: numbers equal a recount of the raw invoices after
uploads, failures, a correction, a reprocess and deletes (today's and an older day's), per organization."""

from __future__ import annotations

import base64
import statistics
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from bson import ObjectId
from bson.decimal128 import Decimal128
from pymongo import MongoClient

from tests.factories import PASSWORD
from tests.api.test_review_support import running_stack, scripted_jpeg, wait_status


@pytest.fixture(scope="module")
def stack(mongo_uri, tmp_path_factory):  # noqa: ANN001, ANN201
    with running_stack(mongo_uri, tmp_path_factory.mktemp("admin")) as running:
        yield running


def signed_in(url: str, email: str) -> httpx.Client:
    tokens = httpx.post(f"{url}/api/v1/auth/login", data={"username": email, "password": PASSWORD}).json()
    return httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=30)


def new_admin(url: str, name: str = "Ada Admin") -> httpx.Client:
    email = f"adm-{uuid.uuid4().hex[:8]}@example.com"
    response = httpx.post(f"{url}/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "name": name, "organization": f"Org {name}"})
    assert response.status_code == 201, response.text
    return signed_in(url, email)


def new_employee(admin: httpx.Client, url: str, name: str) -> httpx.Client:
    email = f"emp-{uuid.uuid4().hex[:8]}@example.com"
    response = admin.post("/users", json={"email": email, "password": PASSWORD, "name": name})
    assert response.status_code == 201, response.text
    return signed_in(url, email)


def upload(client: httpx.Client, data: bytes) -> str:
    response = client.post("/invoices", json={"filename": "x.jpg", "content_base64": base64.b64encode(data).decode()})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def complete_stats(client: httpx.Client, range_: str = "7d", timeout: float = 60) -> dict:
    """The dashboard once the history from before its first look has been counted (in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/admin/stats", params={"range": range_})
        assert response.status_code == 200, response.text
        if response.json()["complete"]:
            return response.json()
        assert time.monotonic() < deadline, "the history was not counted in time"
        time.sleep(0.2)


def day(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).date().isoformat()


def recount(mongo_uri: str, db_name: str, org_id: str, start: str) -> dict:
    """The dashboard's numbers computed the slow, obvious way from every invoice of the organization."""
    with MongoClient(mongo_uri, tz_aware=True) as client:
        invoices = list(client[db_name].invoices.find({"org_id": ObjectId(org_id)}))
    uploads, processed, failed, by_owner = Counter(), Counter(), Counter(), Counter()
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    failures: Counter = Counter()
    durations: list[float] = []
    for invoice in invoices:
        created = day(invoice["created_at"])
        if created >= start:
            uploads[created] += 1
            by_owner[str(invoice["owner_id"])] += 1
        if invoice.get("processed_at") is None or day(invoice["processed_at"]) < start:
            continue
        finished = day(invoice["processed_at"])
        timings = invoice.get("timings") or {}
        durations.append(timings["total_ms"] - timings["queued_ms"])
        if invoice["status"] == "processed":
            processed[finished] += 1
            values = {name: ((invoice.get("corrections") or {}).get(name) or
                             invoice["extraction"]["fields"].get(name) or {}).get("value")
                      for name in ("total", "currency")}
            total = values["total"].to_decimal() if isinstance(values["total"], Decimal128) else Decimal(values["total"])
            amounts[(finished, values["currency"])] += total
        elif invoice["status"] == "failed":
            failed[finished] += 1
            failures[invoice["error"]["code"]] += 1
    return {
        "uploads": dict(uploads), "processed": dict(processed), "failed": dict(failed), "owners": dict(by_owner),
        "amounts": {key: str(value) for key, value in amounts.items()}, "failures": dict(failures),
        "needs_review": sum(1 for i in invoices if (i.get("review") or {}).get("state") == "needs_review"),
        "in_queue": sum(1 for i in invoices if i["status"] in ("pending", "processing")),
        "median_ms": statistics.median_low(durations) if durations else None,  # nearest rank, as the API
    }


def assert_matches(stats: dict, expected: dict) -> None:
    nonzero = lambda key: {d["day"]: d[key] for d in stats["days"] if d[key]}  # noqa: E731
    assert nonzero("uploads") == expected["uploads"]
    assert nonzero("processed") == expected["processed"]
    assert nonzero("failed") == expected["failed"]
    assert {u["user_id"]: u["uploads"] for u in stats["top_uploaders"]} == expected["owners"]
    assert {(a["day"], a["currency"]): str(Decimal(a["total"])) for a in stats["amounts"]} == \
        {key: str(Decimal(value)) for key, value in expected["amounts"].items()}
    assert {f["code"]: f["count"] for f in stats["failures"]} == expected["failures"]
    cards = stats["cards"]
    assert cards["needs_review"] == expected["needs_review"] and cards["in_queue"] == expected["in_queue"]
    assert cards["processed"] == sum(expected["processed"].values())
    assert cards["failed"] == sum(expected["failed"].values())
    today = datetime.now(timezone.utc).date().isoformat()
    assert cards["uploads_today"] == expected["uploads"].get(today, 0)
    if expected["median_ms"] is not None:  # histogram buckets are 10 % wide
        assert cards["median_processing_ms"] == pytest.approx(expected["median_ms"], rel=0.1, abs=2)


def insert_old_invoices(mongo_uri: str, db_name: str, owner: dict, days_ago: int) -> list[ObjectId]:
    """Invoices finished `days_ago` days back, written as the watcher leaves them (the history a dashboard
    finds when it first looks at an existing installation)."""
    moment = datetime.now(timezone.utc) - timedelta(days=days_ago)
    documents = []
    for n, (total, currency) in enumerate([("100.00", "EUR"), ("20.50", "EUR"), ("7.25", "USD")]):
        documents.append({
            "_id": ObjectId(), "owner_id": ObjectId(owner["id"]), "org_id": ObjectId(owner["org_id"]),
            "filename": f"old-{n}.jpg", "content_type": "image/jpeg", "size": 1, "sha256": uuid.uuid4().hex,
            "pages": 1, "status": "processed", "file_id": ObjectId(), "created_at": moment, "updated_at": moment,
            "queued_at": moment, "processed_at": moment + timedelta(seconds=2), "attempts": 1,
            "timings": {"queued_ms": 50.0, "extract_ms": 1500.0, "total_ms": 2000.0},
            "status_history": [], "corrections": {}, "search_terms": [],
            "extraction": {"ok": True, "fields": {"total": {"value": Decimal128(total), "confidence": 0.9},
                                                  "currency": {"value": currency, "confidence": 0.9}}},
            "review": {"state": "not_needed", "reasons": [], "by": None, "at": None},
        })
    with MongoClient(mongo_uri) as client:
        # The organization is as old as its history.
        client[db_name].organizations.update_one({"_id": ObjectId(owner["org_id"])}, {"$set": {"created_at": moment}})
        client[db_name].invoices.insert_many(documents)
    return [d["_id"] for d in documents]


def test_stats_equal_a_recount_after_uploads_failures_corrections_reprocess_and_deletes(stack, mongo_uri):
    admin = new_admin(stack.url)
    me = admin.get("/auth/me").json()
    old = insert_old_invoices(mongo_uri, stack.db_name, me, days_ago=3)
    first = admin.get("/admin/stats", params={"range": "7d"})
    assert first.status_code == 200, first.text
    assert len(first.json()["days"]) == 7  # zero-filled
    counted = complete_stats(admin)
    assert {d["day"]: d["uploads"] for d in counted["days"] if d["uploads"]} == \
        {day(datetime.now(timezone.utc) - timedelta(days=3)): 3}
    emma = new_employee(admin, stack.url, "Emma Employee")
    ids = [upload(admin, scripted_jpeg("ok", "10.00", "EUR")), upload(admin, scripted_jpeg("low", "5.50", "USD")),
           upload(emma, scripted_jpeg("ok", "3.00", "EUR")), upload(emma, scripted_jpeg("fail")),
           upload(emma, scripted_jpeg("warn", "8.00", "EUR"))]
    for invoice_id in ids:
        wait_status(admin, invoice_id, "processed", "failed")
    admin.get("/admin/stats")  # counted once before the changes below

    assert admin.patch(f"/invoices/{ids[0]}", json={"fields": {"total": "11.00"}}).status_code == 200
    assert admin.post(f"/invoices/{ids[1]}/confirm").status_code == 200
    assert admin.delete(f"/invoices/{ids[2]}").status_code == 204
    assert admin.delete(f"/invoices/{old[0]}").status_code == 204  # an older day's invoice
    assert admin.post(f"/invoices/{old[1]}/reprocess").status_code == 202  # leaves its old processing day
    wait_status(admin, str(old[1]), "processed", "failed")

    stats = complete_stats(admin)
    start = stats["start"]
    assert_matches(stats, recount(mongo_uri, stack.db_name, me["org_id"], start))
    three_days_ago = day(datetime.now(timezone.utc) - timedelta(days=3))
    assert {d["day"]: d["processed"] for d in stats["days"]}[three_days_ago] == 1  # only old[2] is left there
    assert [u["name"] for u in stats["top_uploaders"]] == ["Ada Admin", "Emma Employee"]
    failure = next(f for f in stats["failures"] if f["code"] == "unreadable_file")
    assert "could not read" in failure["message"]
    assert stats["processing"]["p95_ms"] >= stats["processing"]["p50_ms"]

    ninety = admin.get("/admin/stats", params={"range": "90d"}).json()
    assert len(ninety["days"]) == 90 and ninety["end"] == stats["end"]
    assert admin.get("/admin/stats", params={"range": "1y"}).status_code == 422


def test_employees_get_403_and_another_org_sees_nothing(stack):
    admin = new_admin(stack.url, "First Admin")
    invoice_id = upload(admin, scripted_jpeg("ok"))
    wait_status(admin, invoice_id, "processed")
    employee = new_employee(admin, stack.url, "Erin Employee")
    for path in ("/admin/stats", "/admin/watchers", "/admin/activity"):
        response = employee.get(path)
        assert response.status_code == 403 and "admin" in response.json()["detail"]

    other = new_admin(stack.url, "Other Admin")
    stats = other.get("/admin/stats", params={"range": "30d"}).json()
    assert sum(d["uploads"] for d in stats["days"]) == 0 and stats["top_uploaders"] == []
    assert stats["cards"]["processed"] == 0 and stats["amounts"] == []
    assert other.get("/admin/activity").json()["items"] == []


def test_activity_lists_the_orgs_status_changes_newest_first(stack):
    admin = new_admin(stack.url, "Active Admin")
    invoice_id = upload(admin, scripted_jpeg("ok"))
    wait_status(admin, invoice_id, "processed")
    items = admin.get("/admin/activity", params={"limit": 10}).json()["items"]
    assert [(i["status"], i["previous_status"]) for i in items][:2] == [("processed", "processing"),
                                                                     ("processing", "pending")]
    assert all(i["invoice_id"] == invoice_id and i["owner_name"] == "Active Admin" for i in items)
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    assert len(admin.get("/admin/activity", params={"limit": 1}).json()["items"]) == 1
    assert admin.get("/admin/activity", params={"limit": 0}).status_code == 422


def test_watchers_show_the_running_watcher_alive(stack):
    admin = new_admin(stack.url)
    watchers = admin.get("/admin/watchers").json()
    assert watchers, "the stack's watcher sent no heartbeat"
    alive = [w for w in watchers if w["pid"] == stack.watcher.pid]
    assert alive and alive[0]["alive"] is True and alive[0]["jobs_running"] >= 0


def test_a_watcher_whose_heartbeat_expired_shows_as_not_alive(stack, mongo_uri):
    admin = new_admin(stack.url)
    now = datetime.now(timezone.utc)
    stopped_beating = {"id": "w-gone", "host": "elsewhere", "pid": 4242, "started_at": now - timedelta(hours=1),
                       "last_seen": now - timedelta(minutes=5), "expires_at": now - timedelta(minutes=4)}
    with MongoClient(mongo_uri) as client:
        group = {"_id": f"group-{uuid.uuid4().hex}", "members": {"w-gone": stopped_beating}}
        client[stack.db_name].watchers.insert_one(group)
    watchers = {w["id"]: w for w in admin.get("/admin/watchers").json()}
    assert watchers["w-gone"]["alive"] is False
    assert any(w["pid"] == stack.watcher.pid and w["alive"] for w in watchers.values())
