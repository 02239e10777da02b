"""The queue primitives against a real database: one claim wins, stale writers are fenced off, failures
back off and give up, shutdown hand-backs cost no attempt."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

from bson.decimal128 import Decimal128

from core.bson_codec import from_bson
from core.models import Invoice, InvoiceStatus
from extraction.models import ExtractionResult, FieldValue, InvoiceFields
from watcher.queue import Failure, InvoiceQueue, now_ms
from watcher.worker import JobResult, summarise
from tests.watcher.support import queue_invoices

DONE = JobResult(ok=True, extract_ms=1.0, extraction={"ok": True}, search_terms=["acme"])


def make_queue(owner: str, **overrides: float) -> InvoiceQueue:
    options = {"lease_seconds": 30.0, "max_attempts": 3, "retry_base_seconds": 10.0, **overrides}
    return InvoiceQueue(Invoice.get_pymongo_collection(), owner, **options)  # type: ignore[arg-type]


async def document(invoice_id) -> dict:  # noqa: ANN001
    return await Invoice.get_pymongo_collection().find_one({"_id": invoice_id})


def history(doc: dict) -> list[str]:
    return [entry["status"] for entry in doc["status_history"]]


async def test_of_many_concurrent_claims_on_one_invoice_exactly_one_wins(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    queues = [make_queue(f"w{n}") for n in range(8)]
    claims = await asyncio.gather(*(queue.claim(invoice_id) for queue in queues))
    winners = [claim for claim in claims if claim is not None]
    assert len(winners) == 1
    doc = await document(invoice_id)
    assert doc["status"] == "processing" and doc["attempts"] == 1
    assert doc["lease"]["owner"] == winners[0].token
    assert history(doc) == ["processing"]


async def test_a_writer_whose_lease_passed_on_writes_nothing(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    first, second = make_queue("first"), make_queue("second")
    stale = await first.claim(invoice_id)
    await Invoice.get_pymongo_collection().update_one(
        {"_id": invoice_id}, {"$set": {"lease.until": now_ms() - timedelta(seconds=1)}})
    assert await second.expire_leases() == (1, 0)
    fresh = await second.claim(invoice_id)
    assert stale is not None and fresh is not None
    assert await first.finish(stale, DONE, now_ms()) is None
    assert await second.finish(fresh, DONE, now_ms()) == InvoiceStatus.processed
    doc = await document(invoice_id)
    assert history(doc) == ["processing", "pending", "processing", "processed"]
    assert doc["status_history"][1]["error"]["code"] == "lease_expired"
    # The lost lease was the dead watcher's doing, not the invoice's: it costs no attempt
    assert doc["attempts"] == 1 and doc["lease_expiries"] == 1 and doc["lease"] is None


async def test_transient_failures_back_off_exponentially_then_fail_for_good(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    queue = make_queue("w", max_attempts=2)
    claim = await queue.claim(invoice_id)
    assert claim is not None
    crashed = Failure("worker_crashed", "The extraction crashed its worker process.", transient=True)
    assert await queue.finish(claim, crashed, now_ms()) == InvoiceStatus.pending
    doc = await document(invoice_id)
    wait = (doc["retry_at"] - doc["updated_at"]).total_seconds()
    assert 9 <= wait <= 11  # retry_base_seconds * 2**0, ±10 % jitter
    assert doc["error"]["code"] == "worker_crashed" and doc["lease"] is None
    assert await queue.claim(invoice_id) is None  # not before its retry time
    assert await queue.next_retry_at() == doc["retry_at"]

    await Invoice.get_pymongo_collection().update_one({"_id": invoice_id}, {"$set": {"retry_at": now_ms()}})
    claim = await queue.claim(invoice_id)
    assert claim is not None and claim.attempts == 2
    assert await queue.finish(claim, crashed, now_ms()) == InvoiceStatus.failed
    doc = await document(invoice_id)
    assert doc["error"] == {"code": "worker_crashed",
                            "message": "The extraction crashed its worker process. Gave up after 2 attempts."}
    assert history(doc) == ["processing", "pending", "processing", "failed"]


async def test_a_permanent_failure_fails_at_the_first_attempt(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    queue = make_queue("w")
    claim = await queue.claim(invoice_id)
    unreadable = JobResult(ok=False, extract_ms=2.0, error_code="unreadable_file", error_message="Not an image.")
    assert await queue.finish(claim, unreadable, now_ms()) == InvoiceStatus.failed
    doc = await document(invoice_id)
    assert doc["error"] == {"code": "unreadable_file", "message": "Not an image."}
    assert doc["attempts"] == 1 and doc["timings"]["extract_ms"] == 2.0


async def test_a_handed_back_claim_costs_no_attempt(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    queue = make_queue("w")
    claim = await queue.claim(invoice_id)
    assert await queue.hand_back(claim)
    doc = await document(invoice_id)
    assert doc["status"] == "pending" and doc["attempts"] == 0 and doc["lease"] is None
    assert not await queue.hand_back(claim)  # fenced like every other write


async def test_leases_lost_too_often_fail_the_invoice(db):
    ids = await queue_invoices(db, [b"a", b"b"])
    queue = make_queue("w", max_lease_expiries=1, lease_seconds=0.001)
    for invoice_id in ids:
        assert await queue.claim(invoice_id) is not None
    await asyncio.sleep(0.01)
    assert await queue.expire_leases() == (0, 2)
    doc = await document(ids[0])
    assert doc["status"] == "failed" and doc["error"]["code"] == "lease_expired"


async def test_node_losses_cost_no_attempt_until_the_limit_of_lost_leases(db):
    [invoice_id] = await queue_invoices(db, [b"a"])
    queue = make_queue("w", max_attempts=3, max_lease_expiries=5, lease_seconds=0.001)
    for lost in range(1, 5):  # more node losses than attempts: a good invoice is not failed by them
        assert await queue.claim(invoice_id) is not None
        await asyncio.sleep(0.01)
        assert await queue.expire_leases() == (1, 0)
        doc = await document(invoice_id)
        assert doc["status"] == "pending" and doc["attempts"] == 0 and doc["lease_expiries"] == lost
    assert await queue.claim(invoice_id) is not None
    await asyncio.sleep(0.01)
    assert await queue.expire_leases() == (0, 1)
    assert (await document(invoice_id))["status"] == "failed"


async def test_renewal_extends_our_leases_and_reports_lost_ones(db):
    ids = await queue_invoices(db, [b"a", b"b"])
    queue = make_queue("w", lease_seconds=5)
    kept, lost = [await queue.claim(invoice_id) for invoice_id in ids]
    before = (await document(ids[0]))["lease"]["until"]
    await Invoice.get_pymongo_collection().update_one({"_id": ids[1]}, {"$set": {"status": "pending", "lease": None}})
    await asyncio.sleep(0.01)
    assert await queue.renew([kept.token, lost.token]) == {lost.token}
    assert (await document(ids[0]))["lease"]["until"] > before


async def test_a_final_write_retried_after_a_lost_reply_is_recognised_as_ours(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    queue = make_queue("w")
    claim = await queue.claim(invoice_id)
    now = now_ms()
    assert await queue.finish(claim, DONE, now) == InvoiceStatus.processed
    assert await queue.finish(claim, DONE, now, retried=True) == InvoiceStatus.processed
    assert await queue.finish(claim, DONE, now_ms() + timedelta(seconds=1), retried=True) is None


async def test_a_processed_result_keeps_money_exact_and_adds_to_the_search_terms(db):
    [invoice_id] = await queue_invoices(db, [b"one"])
    queue = make_queue("w")
    claim = await queue.claim(invoice_id)
    result = ExtractionResult(ok=True, text="Rechnung Nr. 2024/007 über 1.234,50 €", fields=InvoiceFields(
        invoice_number=FieldValue(value="2024/007", confidence=0.9, source="ocr"),
        vendor_name=FieldValue(value="Bäckerei Köhler", confidence=0.9, source="ocr"),
        invoice_date=FieldValue(value=date(2024, 3, 9), confidence=0.9, source="ocr"),
        total=FieldValue(value=Decimal("1234.50"), confidence=0.9, source="ocr"),
    ))
    assert await queue.finish(claim, summarise(result, 12.5), now_ms()) == InvoiceStatus.processed
    doc = await document(invoice_id)
    fields = doc["extraction"]["fields"]
    assert fields["total"]["value"] == Decimal128("1234.50")
    assert fields["invoice_date"]["value"] == "2024-03-09"
    assert "text" not in doc["extraction"]
    read_back = ExtractionResult.model_validate(from_bson(doc["extraction"]))
    assert read_back.fields.total.value == Decimal("1234.50")
    assert read_back.fields.invoice_date.value == date(2024, 3, 9)
    terms = doc["search_terms"]
    assert {"invoice", "txt"} <= set(terms)  # the filename's, set at upload, are kept
    assert {"backerei", "kohler", "2024", "007", "2024007", "rechnung", "uber"} <= set(terms)
    assert doc["timings"]["extract_ms"] == 12.5 and doc["processed_at"] is not None
