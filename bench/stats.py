"""GET /admin/stats?range=90d with 100,000 invoices of one organization over 90 days in the embedded database.

Loads the invoices with bulk inserts (as the watcher leaves them: processed, failed, a few pending; timings,
totals, review states, status history), then times the endpoint through a real API process:
- the first call, which starts counting the history in the background (an existing installation's first
  look), and how long until the answer says `complete`;
- 50 calls with nothing changing;
- 50 calls with 10 of today's invoices (spread over the day's hours) corrected through the API before each;
- 50 calls with 5 uploads arriving and 5 queued invoices finishing before each (written as the API and the
  watcher write them), the usual live situation.
Target: p95 < 300 ms. `--json OUT` writes the figures.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from bson import Decimal128, ObjectId
from pymongo import MongoClient

from bench.common import (
    api_process, embedded_database, percentile, print_table, signed_in_headers, write_json,
)

DAYS = 90
BATCH = 2_000
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "GBP"]
ERRORS = [("unreadable_file", "The image is damaged or truncated"), ("timeout", "The extraction ran too long"),
          ("empty_document", "No text was found on the page")]


def invoice(rng: random.Random, org_id: ObjectId, owners: list[ObjectId], now: datetime) -> dict:
    created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400 - 3600))
    queued_ms, extract_ms = rng.uniform(5, 3000), rng.lognormvariate(7.5, 0.6)
    roll = rng.random()
    status = "processed" if roll < 0.9 else "failed" if roll < 0.98 else "pending"
    finished = created + timedelta(milliseconds=queued_ms + extract_ms)
    document = {
        "_id": ObjectId(), "owner_id": rng.choice(owners), "org_id": org_id, "filename": f"scan-{rng.random():.8f}.jpg",
        "content_type": "image/jpeg", "size": rng.randint(50_000, 3_000_000), "sha256": uuid.uuid4().hex * 2,
        "pages": 1, "duplicate_of": None, "status": status, "previous_status": "processing", "attempts": 1,
        "file_id": ObjectId(), "created_at": created, "updated_at": finished if status != "pending" else created,
        "queued_at": created, "corrections": {}, "search_terms": ["scan", "acme"], "lease": None, "retry_at": None,
        "status_history": [
            {"status": "processing", "previous_status": "pending", "at": created + timedelta(milliseconds=queued_ms),
             "error": None},
        ],
        "extraction": None, "timings": None, "processed_at": None, "review": None, "error": None,
    }
    if status == "pending":
        return document
    document["timings"] = {"queued_ms": queued_ms, "extract_ms": extract_ms, "total_ms": queued_ms + extract_ms}
    document["processed_at"] = finished
    document["status_history"].append({"status": status, "previous_status": "processing", "at": finished,
                                       "error": None})
    if status == "failed":
        code, message = rng.choice(ERRORS)
        document["error"] = {"code": code, "message": message}
        document["review"] = {"state": "needs_review", "reasons": [{"code": "failed", "message": message}]}
        return document
    total = Decimal128(f"{rng.uniform(1, 2000):.2f}")
    confidence = rng.uniform(0.6, 1.0)
    document["extraction"] = {"ok": True, "warnings": [], "pages": 1, "method": "ocr", "fields": {
        "total": {"value": total, "confidence": confidence, "source": "ocr", "page": 1, "bbox": [1, 2, 3, 4]},
        "currency": {"value": rng.choice(CURRENCIES), "confidence": 0.95, "source": "ocr"},
        "vendor_name": {"value": "ACME GmbH", "confidence": 0.9, "source": "ocr"},
        "invoice_number": {"value": f"R-{rng.randint(1, 99999)}", "confidence": 0.9, "source": "ocr"},
    }, "line_items": []}
    state = "needs_review" if confidence < 0.8 else rng.choice(["not_needed", "not_needed", "confirmed"])
    document["review"] = {"state": state, "reasons": []}
    return document


def time_calls(client: httpx.Client, calls: int, between=None) -> list[float]:  # noqa: ANN001
    durations = []
    for _ in range(calls):
        if between is not None:
            between()
        started = time.perf_counter()
        response = client.get("/admin/stats", params={"range": "90d"})
        durations.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    rng = random.Random(11)

    # The load takes minutes: an access token that outlives the run.
    with embedded_database() as server, api_process(server.uri, ACCESS_TOKEN_MINUTES="240") as (url, _):
        headers = signed_in_headers(url)
        client = httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120)
        me = client.get("/auth/me").json()
        org_id = ObjectId(me["org_id"])
        owners = [ObjectId(me["id"])]
        for n in range(9):
            created = client.post("/users", json={"email": f"emp{n}-{uuid.uuid4().hex[:6]}@example.com",
                                                  "password": "benchmark password", "name": f"Employee {n}"})
            owners.append(ObjectId(created.json()["id"]))

        mongo = MongoClient(server.uri, tz_aware=True)
        invoices = mongo["bench"].invoices
        now = datetime.now(timezone.utc)
        # The organization is as old as its history.
        mongo["bench"].organizations.update_one({"_id": org_id}, {"$set": {"created_at": now - timedelta(days=DAYS)}})
        started = time.perf_counter()
        for offset in range(0, args.invoices, BATCH):
            count = min(BATCH, args.invoices - offset)
            invoices.insert_many([invoice(rng, org_id, owners, now) for _ in range(count)], ordered=False)
        load_s = time.perf_counter() - started

        started = time.perf_counter()
        first = client.get("/admin/stats", params={"range": "90d"})
        first.raise_for_status()
        cold_ms = (time.perf_counter() - started) * 1000
        while not client.get("/admin/stats", params={"range": "90d"}).json()["complete"]:
            time.sleep(1)
        history_s = time.perf_counter() - started
        idle = time_calls(client, args.calls)

        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        recent = [d["_id"] for d in invoices.find(
            {"org_id": org_id, "created_at": {"$gte": today}, "status": "processed"}, {"_id": 1}).limit(200)]

        def correct_some() -> None:
            for invoice_id in rng.sample(recent, min(10, len(recent))):
                client.patch(f"/invoices/{invoice_id}", json={"fields": {"total": f"{rng.uniform(1, 99):.2f}"}})

        active = time_calls(client, args.calls, correct_some)

        def arrive_and_finish() -> None:
            """What a busy watcher does between two looks: five uploads arrive, five queued ones finish."""
            moment = datetime.now(timezone.utc)
            invoices.insert_many([invoice(rng, org_id, owners, moment) | {
                "created_at": moment, "updated_at": moment, "status": "pending", "processed_at": None,
                "review": None, "timings": None} for _ in range(5)])
            for document in invoices.find({"org_id": org_id, "status": "pending"}, {"_id": 1}).limit(5):
                invoices.update_one({"_id": document["_id"]}, {"$set": {
                    "status": "processed", "processed_at": moment, "updated_at": moment,
                    "timings": {"queued_ms": 40.0, "extract_ms": 1800.0, "total_ms": 1840.0},
                    "review": {"state": "not_needed", "reasons": []}}})

        flowing = time_calls(client, args.calls, arrive_and_finish)
        body = client.get("/admin/stats", params={"range": "90d"}).json()
        mongo.close()

    rows = [
        ("load (bulk insert)", f"{args.invoices:,} invoices", f"{load_s:.1f} s", "", ""),
        ("first call (starts counting the history)", 1, f"{cold_ms:.0f} ms", "", ""),
        ("history counted (background, polled)", "", f"{history_s:.0f} s", "", ""),
        ("90d, nothing changing", len(idle), "", f"{percentile(idle, 50):.1f}", f"{percentile(idle, 95):.1f}"),
        ("90d, 10 corrections before each", len(active), "", f"{percentile(active, 50):.1f}",
         f"{percentile(active, 95):.1f}"),
        ("90d, 5 uploads + 5 finished before each", len(flowing), "", f"{percentile(flowing, 50):.1f}",
         f"{percentile(flowing, 95):.1f}"),
    ]
    print_table("GET /admin/stats?range=90d (target p95 < 300 ms)", ["case", "n", "total", "p50 ms", "p95 ms"], rows)
    print(f"cards: {body['cards']}")
    write_json(args.json_out, {
        "invoices": args.invoices, "load_s": load_s, "first_call_ms": cold_ms, "history_s": history_s,
        "idle": {"n": len(idle), "p50_ms": percentile(idle, 50), "p95_ms": percentile(idle, 95)},
        "active": {"n": len(active), "p50_ms": percentile(active, 50), "p95_ms": percentile(active, 95)},
        "flowing": {"n": len(flowing), "p50_ms": percentile(flowing, 50), "p95_ms": percentile(flowing, 95)},
        "cards": body["cards"],
    })


if __name__ == "__main__":
    main()
